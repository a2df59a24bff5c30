"""What the ONNX and PyTorch importers share: the error type, the layer list they produce and
the one place where that list becomes a :class:`cyconv.model.Sequential`."""
import math
import re
from dataclasses import dataclass, field

import numpy as np

from .. import layers as layer_module
from .. import shapes
from ..model import Sequential

__all__ = ["ModelImportError", "InputShapeRequired", "ImportedLayer", "build_sequential", "check_input_shape",
           "check_size", "padding_value", "MAX_VALUES_PER_IMAGE",
           "parse_input_shape", "layer_label"]

# Names a layer may keep from the source model: short identifiers such as "conv1" or
# "features_0". Anything else (ONNX's "/features/features.0/Conv") is renamed conv1, ...
_KEEPABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]{0,63}")
_WITH_WEIGHTS = ("Conv2D", "Dense")


class ModelImportError(ValueError):
    """A model file or module that cyconv cannot import: the message is one line naming the
    operator or module, where it is, and what cyconv supports instead."""

    MAX_LENGTH = 1000

    def __init__(self, message):
        # Names in the message come from the file: a damaged or hostile one may hold line
        # breaks, control characters or megabytes in a node name.
        text = "".join(ch if ch.isprintable() else "?" for ch in str(message))
        if len(text) > self.MAX_LENGTH:
            text = text[:self.MAX_LENGTH - 1] + "…"
        super().__init__(text)


class InputShapeRequired(ModelImportError):
    """The file does not say the input size (a symbolic ONNX size): call again
    with ``input_shape`` (C, H, W). An app catches this one to ask the user for the size."""


@dataclass
class ImportedLayer:
    """One cyconv layer found in a foreign model: its config (docs/design.md keys, without
    "name"), its parameters by cyconv key ("W", "b"), and the name it had there."""
    config: dict
    params: dict = field(default_factory=dict)
    source_name: str = ""


def layer_label(kind, name):
    """How messages name a foreign node or module: "Conv node 'conv1'"."""
    return f"{kind} node {name!r}" if name else f"{kind} node"


# Values in one image's input or in any layer's output. A forged size or padding could
# otherwise describe a model whose first forward pass asks for terabytes; 2**26 float32
# values (256 MiB per image) is far beyond any network a teaching lab trains.
MAX_VALUES_PER_IMAGE = 1 << 26


def check_size(shape, what):
    """ModelImportError when one image's ``shape`` holds more than MAX_VALUES_PER_IMAGE."""
    # Python ints: a forged size can pass int64, which np.prod would overflow on.
    count = math.prod(int(value) for value in shape)
    if count > MAX_VALUES_PER_IMAGE:
        raise ModelImportError(f"{what}: {tuple(shape)} is {count:,} values per image, more "
                               f"than cyconv takes ({MAX_VALUES_PER_IMAGE:,}); the file may be "
                               f"forged")


def check_input_shape(input_shape, where):
    """(C, H, W) or (D,) as a tuple of positive ints, else ModelImportError."""
    try:
        shape = tuple(input_shape)
    except TypeError:
        raise ModelImportError(f"{where}: input_shape must be (C, H, W) or (D,), got "
                               f"{input_shape!r}") from None
    good = len(shape) in (1, 3) and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 for v in shape)
    if not good:
        raise ModelImportError(f"{where}: input_shape must be (C, H, W) or (D,) of positive "
                               f"ints (the batch axis left out), got {input_shape!r}")
    shape = tuple(int(v) for v in shape)
    check_size(shape, f"{where}: the input")
    return shape


_SHAPE_TEXT = re.compile(r"\s*\d+(\s*[,x×]\s*\d+)*\s*")


def parse_input_shape(text):
    """"1,28,28", "1x28x28" or "784" → (1, 28, 28) / (784,)."""
    values = ()
    if _SHAPE_TEXT.fullmatch(str(text)):
        values = tuple(int(part) for part in re.split(r"[,x×]", str(text)))
    if len(values) not in (1, 3) or min(values) < 1:
        raise ModelImportError(f"--input-shape must be C,H,W or D (positive integers, the batch "
                               f"axis left out), got {text!r}")
    return values


def padding_value(tblr):
    """The shortest cyconv padding for (top, bottom, left, right): p, [ph, pw] or all four."""
    top, bottom, left, right = (int(v) for v in tblr)
    if top == bottom == left == right:
        return top
    if top == bottom and left == right:
        return [top, left]
    return [top, bottom, left, right]


def _keepable_names(imported):
    """The source names that are safe and unique as cyconv layer names, else None each."""
    seen, names = set(), []
    for layer in imported:
        name = layer.source_name
        if isinstance(name, str) and _KEEPABLE_NAME.fullmatch(name) and name not in seen:
            seen.add(name)
            names.append(name)
        else:
            names.append(None)
    return names


def _make_layer(imported, name, where):
    config = dict(imported.config)
    kind = config.pop("type")
    if kind in _WITH_WEIGHTS:
        config["init"] = "zeros"      # the weights are copied in next: skip the random draw
    try:
        layer = layer_module.LAYER_CLASSES[kind](name=name, **config)
    except (TypeError, ValueError) as error:
        raise ModelImportError(f"{where}: {imported.source_name or kind} cannot be a cyconv "
                               f"{kind}: {error}") from None
    for key, value in imported.params.items():
        # Parameters, or state such as batch norm's running statistics.
        target = layer.params[key] if key in layer.params else layer.buffers[key]
        if np.shape(value) != target.shape:
            raise ModelImportError(f"{where}: {imported.source_name or kind}: parameter {key} "
                                   f"has shape {np.shape(value)}, the {kind} needs "
                                   f"{target.shape}")
        np.copyto(target, np.asarray(value, dtype=target.dtype))
    return layer


def build_sequential(imported, input_shape, *, where, name=None):
    """The Sequential of the imported layers on inputs (N,) + input_shape, float32.

    Every shape is checked by the model itself; a mismatch becomes one ModelImportError line
    that starts with ``where`` (the file or module imported).
    """
    input_shape = check_input_shape(input_shape, where)
    names = _keepable_names(imported)
    built = [_make_layer(layer, layer_name, where) for layer, layer_name in zip(imported, names)]
    try:
        return Sequential(built, input_shape, name=name)
    except (shapes.ShapeError, ValueError, TypeError) as error:
        raise ModelImportError(f"{where}: the imported layers do not fit together on input "
                               f"{input_shape}: {error}") from None
