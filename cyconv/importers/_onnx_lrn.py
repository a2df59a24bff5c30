"""The even-size LRN encoding of cyconv's ONNX export, read back as one LRN layer.

ONNX's LRN centres an even window one channel later than cyconv (and PyTorch) do, so export
writes an even size as x / (k + alpha/size · Σ_window x²)^beta with the window sum as a 1×1
convolution by a band of ones. This module recognises exactly that chain of six nodes.
"""
import numpy as np

from ._onnx_values import float32_value

__all__ = ["match_even_lrn", "band_of_ones"]

_STEPS = ("Conv", "Mul", "Add", "Pow", "Div")


def band_of_ones(channels, size):
    """The (C, C, 1, 1) weight summing channels c − size//2 .. c + (size−1)//2."""
    band = np.zeros((channels, channels, 1, 1), dtype=np.float32)
    for c in range(channels):
        band[c, max(c - size // 2, 0):min(c + (size - 1) // 2, channels - 1) + 1] = 1
    return band


def _scalar(walk, node):
    """The one constant operand of a binary node, as a float, or None."""
    values = [walk.constants[name] for name in node.input[1:] if name in walk.constants]
    if len(values) != 1 or np.size(values[0]) != 1 or values[0].dtype.kind != "f":
        return None
    value = float(np.asarray(values[0]).ravel()[0])
    return value if abs(value) < float(np.finfo(np.float32).max) else None   # NaN too


def _size_of_band(band):
    channels = band.shape[0]
    if band.shape != (channels, channels, 1, 1):
        return None
    for size in range(2, 2 * channels + 3, 2):
        if np.array_equal(band, band_of_ones(channels, size)):
            return size
    return None


def _chain(walk, node):
    """The five nodes after ``node``, each reading the one before, or None."""
    nodes, previous = [], node
    for offset, op in enumerate(_STEPS, start=1):
        step = walk.peek(offset)
        if step is None or step.op_type != op:
            return None
        reads = step.input[1] if op == "Div" else step.input[0]
        if reads != previous.output[0]:
            return None
        nodes.append(step)
        previous = step
    return nodes


def match_even_lrn(walk, node):
    """(LRN config, last node, nodes consumed) when ``node`` (a Mul of the current tensor by
    itself) starts the encoding, else None."""
    x = walk.current
    if list(node.input) != [x, x] or len(walk.shape) != 3:
        return None
    nodes = _chain(walk, node)
    if nodes is None:
        return None
    conv, scale, shift, power, divide = nodes
    band = walk.constants.get(conv.input[1]) if len(conv.input) > 1 else None
    if band is None or len(conv.input) > 2 or divide.input[0] != x:
        return None
    size = _size_of_band(band)
    values = [_scalar(walk, step) for step in (scale, shift, power)]
    if size is None or band.shape[0] != walk.shape[0] or None in values:
        return None
    alpha_over_size, k, beta = values
    config = {"type": "LRN", "size": size, "alpha": float32_value(alpha_over_size * size),
              "beta": float32_value(beta), "k": float32_value(k)}
    return config, divide, len(_STEPS) + 1
