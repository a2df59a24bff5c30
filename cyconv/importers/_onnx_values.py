"""Reading ONNX values for the operator handlers: typed attributes, broadcasting checks,
float32 attribute values and "same" padding."""
import math

import numpy as np

__all__ = ["Attributes", "broadcasts_to", "float32_value", "same_pads"]


class Attributes:
    """A node's attributes, each read as the type ONNX defines for it: a damaged or forged
    file may give any attribute any type, and that must end in one clear line."""

    def __init__(self, walk, node):
        self.walk, self.node = walk, node
        self.values = walk.attributes(node)

    def __contains__(self, key):
        return key in self.values

    def __iter__(self):
        return iter(self.values)

    def _get(self, key, default, accept, what):
        if key not in self.values:
            return default
        value = self.values[key]
        if not accept(value):
            self.walk.fail(self.node, f"attribute {key} must be {what}, got {value!r:.60}")
        return value

    def integer(self, key, default):
        return self._get(key, default, lambda v: isinstance(v, int) and not isinstance(v, bool),
                         "an int")

    def integers(self, key, default):
        value = self._get(key, default, lambda v: isinstance(v, (list, tuple)) and all(
            isinstance(i, int) and abs(i) < 1 << 31 for i in v), "a list of ints")
        return None if value is None else list(value)

    def number(self, key, default):
        return float(self._get(key, default, lambda v: isinstance(v, (int, float)) and
                               not isinstance(v, bool) and math.isfinite(v), "a finite number"))

    def text(self, key, default):
        return self._get(key, default, lambda v: isinstance(v, str), "a string")


def broadcasts_to(shape, target):
    """True when an array of ``shape`` broadcast against ``target`` gives exactly ``target``."""
    try:
        return np.broadcast_shapes(tuple(shape), target) == target
    except ValueError:
        return False


def float32_value(value):
    """An ONNX float attribute as the shortest decimal that is the same float32, so that
    1e-4 written by an exporter reads back as 1e-4 and not 9.99999974738e-05."""
    if not abs(value) < float(np.finfo(np.float32).max):
        return float(value)            # not a float32 at all: the layer's own check speaks
    return float(str(np.float32(value)))


def same_pads(size, kernel, stride, upper):
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    small = total // 2
    return (small, total - small) if upper else (total - small, small)
