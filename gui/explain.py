"""Step-by-step convolution and pooling for the explainers, in plain NumPy loops.

This is deliberately separate from the engine: the explainer must show each multiply-add the
way a student writes it by hand (5x11 + 1x4 + 15x5 + 5x2 = 144), and it doubles as
an independent check of the engine's numbers on a live activation map.

Convolution here is cross-correlation (no kernel flip), as in every seed and in the engine.
Padding is `(top, bottom, left, right)`; modes follow the engine's names:
zeros, replicate (the edge-filling "same padding"), reflect, circular.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cyconv import schema
from cyconv.shapes import conv_output_size, normalize_padding, pair
from cyconv.shapes.geometry import check_padding_reach

#: The engine's padding modes and the matching `numpy.pad` modes.
PAD_MODES = {"zeros": "constant", "replicate": "edge", "reflect": "reflect", "circular": "wrap"}
POOL_KINDS = ("max", "avg", "min")

#: The worked example of a 4x4 input and a 2x2 filter.
INPUT_4X4 = np.array([[5, 1, 7, 13], [15, 5, 1, 13], [10, 6, 4, 6], [15, 3, 12, 4]], dtype=np.float64)
FILTER_2X2 = np.array([[11, 4], [5, 2]], dtype=np.float64)
#: The 4x4 feature map of the pooling example.
FEATURE_MAP_4X4 = np.array([[2, 3, 2, 0], [5, -2, 2, 8], [-1, -6, 7, 3], [-4, -5, 4, 2]], dtype=np.float64)
#: The 5x5 binary image and 3x3 filter example.
BINARY_5X5_INPUT = np.array([[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 0], [0, 1, 1, 0, 0]],
                         dtype=np.float64)
BINARY_5X5_FILTER = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], dtype=np.float64)


@dataclass(frozen=True)
class ConvStep:
    """One output value of a convolution, with every multiply-add that made it.

    row, col: output position; top, left: the window's corner in the *padded* input.
    inputs, weights: (C, KH, KW) the window and the filter; partial_sums: (C,) one per channel
    (the channel sums add up to one map); bias; value = sum + bias.
    """
    row: int
    col: int
    top: int
    left: int
    inputs: np.ndarray
    weights: np.ndarray
    partial_sums: np.ndarray
    bias: float
    value: float

    def formula(self, channel: int = 0, decimals: int = 2) -> str:
        """The multiply-adds of one channel as text: '5×11 + 1×4 + 15×5 + 5×2 = 144'."""
        if not 0 <= channel < self.inputs.shape[0]:
            raise ValueError(f"ConvStep.formula: channel {channel} outside 0..{self.inputs.shape[0] - 1}")
        terms = " + ".join(f"{_num(x, decimals)}×{_num(w, decimals)}"
                           for x, w in zip(self.inputs[channel].ravel(), self.weights[channel].ravel()))
        return f"{terms} = {_num(self.partial_sums[channel], decimals)}"


@dataclass(frozen=True)
class PoolStep:
    """One pooling output: the window (KH, KW) at (top, left) of the padded input, the picked
    position inside it (max/min; None for average) and the value."""
    row: int
    col: int
    top: int
    left: int
    window: np.ndarray
    picked: tuple[int, int] | None
    value: float

    def formula(self, kind: str, decimals: int = 2) -> str:
        """'max(5, 1, 15, 5) = 15' or '(5 + 1 + 15 + 5) / 4 = 6.50'."""
        if kind not in POOL_KINDS:
            raise ValueError(f"PoolStep.formula: kind must be one of {POOL_KINDS}, got {kind!r}")
        cells = [_num(v, decimals) for v in self.window.ravel()]
        if kind == "avg":
            return f"({' + '.join(cells)}) / {self.window.size} = {_num(self.value, decimals)}"
        return f"{kind}({', '.join(cells)}) = {_num(self.value, decimals)}"


def _num(value: float, decimals: int = 2) -> str:
    """A number as a student writes it: whole numbers without '.0', others with `decimals` digits."""
    value = float(value)
    if not np.isfinite(value):          # max/min pooling pads with -inf/+inf
        return "-∞" if value < 0 else "∞"
    if abs(value - round(value)) < 1e-9:
        return str(int(round(value)))
    return f"{value:.{decimals}f}"


def padding_sides(padding, where: str = "explain") -> tuple[int, int, int, int]:
    """int, (ph, pw) or (top, bottom, left, right) -> (top, bottom, left, right), all >= 0
    (the engine's rules and messages, :func:`cyconv.shapes.normalize_padding`)."""
    if isinstance(padding, str):
        raise ValueError(f"{where}: padding must be numbers here, got {padding!r}")
    return normalize_padding(padding, None, None, None, where)


def pad(x: np.ndarray, sides: tuple[int, int, int, int], mode: str = "zeros") -> np.ndarray:
    """Pad the last two axes of (..., H, W) by (top, bottom, left, right) in the engine's mode."""
    schema.spec("Conv2D").key("padding_mode").check(mode, "padding_mode", "pad")
    top, bottom, left, right = sides
    check_padding_reach(mode, sides, x.shape[-2:], "pad")
    widths = [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)]
    return np.pad(x, widths, mode=PAD_MODES[mode])


def _output_hw(size_hw, sides, kernel_hw, stride_hw, where: str) -> tuple[int, int]:
    """(OH, OW) by the engine's rule, :func:`cyconv.shapes.conv_output_size`."""
    return tuple(conv_output_size(int(size_hw[i]), sides[2 * i], sides[2 * i + 1], kernel_hw[i],
                                  stride_hw[i], axis="HW"[i], layer=where) for i in (0, 1))


def _as_chw(x: np.ndarray, where: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 2:
        return x[np.newaxis]
    if x.ndim != 3:
        raise ValueError(f"{where}: expected an (H, W) or (C, H, W) input, got shape {x.shape}")
    return x


def conv_step(x: np.ndarray, w: np.ndarray, row: int, col: int, *, bias: float = 0.0,
              stride=1, padding=0, padding_mode: str = "zeros") -> ConvStep:
    """The multiply-adds behind output (row, col) of one filter.

    x: (C, H, W) or (H, W); w: (C, KH, KW) or (KH, KW), one filter.
    """
    x = _as_chw(x, "conv_step")
    w = _as_chw(w, "conv_step")
    if w.shape[0] != x.shape[0]:
        raise ValueError(f"conv_step: the filter has {w.shape[0]} channels, the input {x.shape[0]} "
                         f"(input {x.shape}, filter {w.shape})")
    sh, sw = pair(stride, "stride", "conv_step")
    sides = padding_sides(padding, "conv_step")
    oh, ow = _output_hw(x.shape[1:], sides, w.shape[1:], (sh, sw), "conv_step")
    if not (0 <= row < oh and 0 <= col < ow):
        raise ValueError(f"conv_step: output position ({row}, {col}) outside the {oh}x{ow} output")
    padded = pad(x, sides, padding_mode)
    top, left = row * sh, col * sw
    window = padded[:, top:top + w.shape[1], left:left + w.shape[2]]
    partial = np.einsum("chw,chw->c", window, w)
    return ConvStep(row, col, top, left, window.copy(), w.copy(), partial, float(bias),
                    float(partial.sum() + bias))


def conv_steps(x: np.ndarray, w: np.ndarray, *, bias: float = 0.0, stride=1, padding=0,
               padding_mode: str = "zeros") -> tuple[np.ndarray, list[ConvStep]]:
    """Every step of one filter over the input, row-major: (output (OH, OW), steps)."""
    x = _as_chw(x, "conv_steps")
    w = _as_chw(w, "conv_steps")
    sh, sw = pair(stride, "stride", "conv_steps")
    sides = padding_sides(padding, "conv_steps")
    oh, ow = _output_hw(x.shape[1:], sides, w.shape[1:], (sh, sw), "conv_steps")
    steps = [conv_step(x, w, r, c, bias=bias, stride=(sh, sw), padding=sides, padding_mode=padding_mode)
             for r in range(oh) for c in range(ow)]
    output = np.array([s.value for s in steps]).reshape(oh, ow)
    return output, steps


def pool_steps(x: np.ndarray, *, kernel=2, stride=None, padding=0,
               kind: str = "max") -> tuple[np.ndarray, list[PoolStep]]:
    """Every step of 2-D pooling of one map (H, W): (output (OH, OW), steps).

    stride defaults to the kernel (pool size = stride). Max/min padding pads with
    -inf/+inf so a padded cell never wins; average counts padded zeros in the divisor (the
    engine's and PyTorch's default). Ties pick the first position in row-major order.
    """
    if kind not in POOL_KINDS:
        raise ValueError(f"pool_steps: kind must be one of {POOL_KINDS}, got {kind!r}")
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"pool_steps: expected one (H, W) map, got shape {x.shape}")
    kh, kw = pair(kernel, "kernel_size", "pool_steps")
    sh, sw = pair(kernel if stride is None else stride, "stride", "pool_steps")
    sides = padding_sides(padding, "pool_steps")
    oh, ow = _output_hw(x.shape, sides, (kh, kw), (sh, sw), "pool_steps")
    fill = {"max": -np.inf, "min": np.inf, "avg": 0.0}[kind]
    padded = np.pad(x, [(sides[0], sides[1]), (sides[2], sides[3])], constant_values=fill)
    steps = []
    for r in range(oh):
        for c in range(ow):
            top, left = r * sh, c * sw
            window = padded[top:top + kh, left:left + kw].copy()
            if kind == "avg":
                steps.append(PoolStep(r, c, top, left, window, None, float(window.mean())))
                continue
            flat = int(np.argmax(window) if kind == "max" else np.argmin(window))
            picked = divmod(flat, kw)
            steps.append(PoolStep(r, c, top, left, window, picked, float(window[picked])))
    output = np.array([s.value for s in steps]).reshape(oh, ow)
    return output, steps
