"""Geometry of a network without arrays: output sizes, the formulas as text, parameters, MACs.

Everything here works on layer *configs* (the plain dicts of ``docs/design.md``) and on shapes
written as tuples, so the lab app can call it on every keystroke while a network is edited.
It is pure Python (standard library only), never imports NumPy or Qt, and never leaves a bad
config unexplained: invalid geometry raises :class:`ShapeError` (a ``ValueError``) whose message
names the layer, the shapes and the formula with the numbers filled in.

Shapes: an image is ``(C, H, W)`` (the engine's NCHW without N); a flat vector is ``(D,)``.
The table also shows ``(H, W, C)`` because that is how the seeds and Keras write shapes.

The output-size rule, per axis, as PyTorch computes it::

    OH = floor((H + pad_top + pad_bottom - KH) / SH) + 1

When the division is not whole the last rows are dropped; the table says so in a warning.

>>> rows = summarize([{"type": "Conv2D", "out_channels": 20, "kernel_size": 4}], (1, 39, 31))
>>> rows[0].output_hwc, rows[0].params
((36, 28, 20), 340)
>>> rows[0].formula
'OH = (39 + 2·0 − 4)/1 + 1 = 36; OW = (31 + 2·0 − 4)/1 + 1 = 28'
"""
from __future__ import annotations

import dataclasses
import difflib
import math
import numbers
from collections.abc import Mapping, Sequence
from fractions import Fraction

__all__ = [
    "LAYER_KEYS",
    "LAYER_TYPES",
    "PADDING_MODES",
    "LayerRow",
    "ShapeError",
    "Summary",
    "conv_output_size",
    "default_names",
    "formula_text",
    "layer_row",
    "layer_rows",
    "normalize_padding",
    "output_shape",
    "pair",
    "summarize",
]

# Typography of the formulas: a true minus sign and a middle dot, as printed in the seeds.
MINUS = "\u2212"
DOT = "\u00b7"
ARROW = "\u2192"

# The config schema of docs/design.md: the keys each layer type may have besides "type" and
# "name". Unknown keys are rejected so that a typo ("kernal_size") cannot silently fall back
# to a default.
LAYER_KEYS = {
    "Conv2D": ("in_channels", "out_channels", "kernel_size", "stride", "padding",
               "padding_mode", "bias"),
    "MaxPool2D": ("kernel_size", "stride", "padding"),
    "AvgPool2D": ("kernel_size", "stride", "padding"),
    "MinPool2D": ("kernel_size", "stride", "padding"),
    "Dense": ("in_features", "out_features", "bias"),
    "Flatten": (),
    "ReLU": (),
    "LeakyReLU": ("negative_slope",),
    "Sigmoid": (),
    "Tanh": (),
    "Softmax": (),
    "Dropout": ("p",),
    "LRN": ("size", "alpha", "beta", "k"),
}
LAYER_TYPES = tuple(LAYER_KEYS)
_REQUIRED_KEYS = {
    "Conv2D": ("out_channels", "kernel_size"),
    "MaxPool2D": ("kernel_size",),
    "AvgPool2D": ("kernel_size",),
    "MinPool2D": ("kernel_size",),
    "Dense": ("out_features",),
}
_POOL_TYPES = ("MaxPool2D", "AvgPool2D", "MinPool2D")
_NAME_PREFIX = {"Conv2D": "conv", "MaxPool2D": "pool", "AvgPool2D": "pool", "MinPool2D": "pool",
                "Dense": "dense", "LRN": "norm", "LeakyReLU": "lrelu"}
PADDING_MODES = ("zeros", "replicate", "reflect", "circular")
_PADDING_STRINGS = ("valid", "same")
_AXIS_WORDS = {"H": ("row", "rows", "height"), "W": ("column", "columns", "width")}


class ShapeError(ValueError):
    """A layer's geometry is invalid: the message names the layer, the shapes and the formula."""


# ----------------------------------------------------------------------------------------------
# Small validators
# ----------------------------------------------------------------------------------------------
def _is_int(value):
    # bool is an int subclass in Python, but True as a kernel size is always a mistake.
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value):
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(value))


def _describe(value):
    return f"{value!r} ({type(value).__name__})"


def _num(n):
    """An int with thousands separators: 16100 -> '16,100' (negative numbers keep '-')."""
    return f"{n:,}"


def _int_at_least(value, what, layer, minimum):
    if not _is_int(value):
        raise TypeError(f"{layer}: {what} must be an int, got {_describe(value)}")
    if value < minimum:
        raise ValueError(f"{layer}: {what} must be at least {minimum}, got {value}")
    return int(value)


def _real_in(value, what, layer, *, low=None, high=None, low_open=False, high_open=False):
    if not _is_real(value):
        raise TypeError(f"{layer}: {what} must be a finite number, got {_describe(value)}")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        low_text = "-inf" if low is None else f"{low:g}"
        high_text = "inf" if high is None else f"{high:g}"
        raise ValueError(f"{layer}: {what} must be in {left}{low_text}, {high_text}{right}, "
                         f"got {value!r}")
    return float(value)


def pair(value, what, layer, *, minimum=None):
    """``(a, b)`` from an int or a pair of ints (a list from JSON works too).

    ``minimum`` defaults to 1 for kernel sizes and strides (``what`` contains "kernel" or
    "stride") and to 0 otherwise. Raises ``TypeError`` for bools, floats, strings and other
    non-ints, ``ValueError`` for a wrong length or a value below the minimum; the message names
    ``layer`` and ``what``.
    """
    if minimum is None:
        minimum = 1 if ("kernel" in what or "stride" in what) else 0
    if _is_int(value):
        items = (value, value)
    elif isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{layer}: {what} must be an int or a pair (height, width), "
                             f"got {len(value)} values {tuple(value)!r}")
        items = tuple(value)
    else:
        raise TypeError(f"{layer}: {what} must be an int or a pair of ints, "
                        f"got {_describe(value)}")
    for item in items:
        if not _is_int(item):
            raise TypeError(f"{layer}: {what} must hold ints, got {_describe(item)} "
                            f"in {value!r}")
        if item < minimum:
            raise ValueError(f"{layer}: {what} must be at least {minimum}, got {value!r}")
    return int(items[0]), int(items[1])


# ----------------------------------------------------------------------------------------------
# Padding and output sizes
# ----------------------------------------------------------------------------------------------
def _same_padding_1d(size, kernel, stride):
    """(before, after) so that the output is ceil(size / stride); the odd pixel goes after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    before = total // 2
    return before, total - before


def _padding_from_string(padding, kernel_hw, stride_hw, input_hw, layer):
    mode = padding.strip().lower()
    if mode == "valid":
        return 0, 0, 0, 0
    if mode != "same":
        raise ValueError(f"{layer}: padding {padding!r} is not known; use one of "
                         f"{', '.join(repr(s) for s in _PADDING_STRINGS)}, an int, "
                         f"(ph, pw) or (top, bottom, left, right)")
    if input_hw is None:
        raise ValueError(f"{layer}: padding 'same' needs the input size (H, W) to be known")
    kh, kw = pair(kernel_hw, "kernel_size", layer)
    sh, sw = pair(stride_hw, "stride", layer)
    height, width = pair(input_hw, "input size (H, W)", layer, minimum=1)
    top, bottom = _same_padding_1d(height, kh, sh)
    left, right = _same_padding_1d(width, kw, sw)
    return top, bottom, left, right


def _check_padding_item(item, padding, layer):
    where = f" in {padding!r}" if item is not padding else ""
    if isinstance(item, float) and item >= 0 and not item.is_integer():
        raise TypeError(f"{layer}: padding must be whole numbers, got {item!r}{where}; for a "
                        f"half pixel (e.g. AlexNet's '1.5') pad one side less than the other: "
                        f"(top, bottom, left, right) = (1, 2, 1, 2)")
    if not _is_int(item):
        raise TypeError(f"{layer}: padding must be ints, got {_describe(item)}{where}")
    if item < 0:
        raise ValueError(f"{layer}: padding cannot be negative, got {padding!r}")
    return int(item)


def normalize_padding(padding, kernel_hw, stride_hw, input_hw, layer="Conv2D"):
    """Padding in any accepted form -> ``(top, bottom, left, right)``.

    ``p`` -> ``(p, p, p, p)``; ``(ph, pw)`` -> ``(ph, ph, pw, pw)``; ``(t, b, l, r)`` as is;
    ``"valid"`` -> zeros; ``"same"`` -> output ``ceil(H / SH)`` with total padding
    ``max((OH - 1)·SH + KH - H, 0)``, the extra pixel at the bottom/right (as TensorFlow).
    ``kernel_hw``, ``stride_hw`` and ``input_hw`` (ints or pairs) are only needed for "same".
    """
    if isinstance(padding, str):
        return _padding_from_string(padding, kernel_hw, stride_hw, input_hw, layer)
    if isinstance(padding, (tuple, list)):
        if len(padding) not in (2, 4):
            raise ValueError(f"{layer}: padding must be an int, (ph, pw) or "
                             f"(top, bottom, left, right), got {len(padding)} values "
                             f"{tuple(padding)!r}")
        items = [_check_padding_item(item, padding, layer) for item in padding]
        if len(items) == 2:
            return items[0], items[0], items[1], items[1]
        return tuple(items)
    p = _check_padding_item(padding, padding, layer)
    return p, p, p, p


def _fraction_text(value):
    """An exact rational as text: 12.5 when the decimal ends, 10/3 when it does not."""
    denominator = value.denominator
    for prime in (2, 5):
        while denominator % prime == 0:
            denominator //= prime
    if denominator != 1:
        return f"{value.numerator}/{value.denominator}"
    digits = 0
    while (value * 10 ** digits).denominator != 1:
        digits += 1
    return f"{float(value):.{digits}f}"


def _padding_terms(pad_before, pad_after, omit_zero_padding):
    if pad_before == pad_after:
        if pad_before == 0 and omit_zero_padding:
            return ""
        return f" + 2{DOT}{_num(pad_before)}"
    return f" + {_num(pad_before)} + {_num(pad_after)}"


def _numerator_text(size, pad_before, pad_after, kernel, omit_zero_padding):
    """The bracket of the formula, e.g. '(28 + 2·0 − 5)'."""
    pads = _padding_terms(pad_before, pad_after, omit_zero_padding)
    return f"({_num(size)}{pads} {MINUS} {_num(kernel)})"


def formula_text(size, pad_before, pad_after, kernel, stride, out, axis="H", *,
                 omit_zero_padding=False):
    """The output-size formula with the numbers filled in.

    >>> formula_text(39, 0, 0, 4, 1, 36)
    'OH = (39 + 2·0 − 4)/1 + 1 = 36'
    >>> formula_text(224, 1, 2, 11, 4, 55, "W")
    'OW = (224 + 1 + 2 − 11)/4 + 1 = 55'
    >>> formula_text(28, 0, 0, 5, 2, 12)
    'OH = (28 + 2·0 − 5)/2 + 1 = 12.5 → 12'
    >>> formula_text(27, 0, 0, 3, 2, 13, omit_zero_padding=True)
    'OH = (27 − 3)/2 + 1 = 13'

    ``out`` must be the floored value (what :func:`conv_output_size` returns); a mismatch is a
    ``ValueError`` because the text would then teach a wrong number.
    """
    for what, value in (("size", size), ("pad_before", pad_before), ("pad_after", pad_after),
                        ("kernel", kernel), ("stride", stride), ("out", out)):
        if not _is_int(value):
            raise TypeError(f"formula_text: {what} must be an int, got {_describe(value)}")
    if stride < 1:
        raise ValueError(f"formula_text: stride must be at least 1, got {stride}")
    exact = Fraction(size + pad_before + pad_after - kernel, stride) + 1
    floored = math.floor(exact)
    if out != floored:
        raise ValueError(f"formula_text: out = {out} but the formula gives {floored}")
    bracket = _numerator_text(size, pad_before, pad_after, kernel, omit_zero_padding)
    text = f"O{axis} = {bracket}/{_num(stride)} + 1 = "
    if exact.denominator == 1:
        return text + _num(out)
    return text + f"{_fraction_text(exact)} {ARROW} {_num(out)}"


def conv_output_size(size, pad_before, pad_after, kernel, stride, *, axis="H", layer="Conv2D",
                     omit_zero_padding=False):
    """``floor((size + pad_before + pad_after - kernel) / stride) + 1``, as PyTorch.

    Raises :class:`ShapeError` when the kernel is larger than the padded input (the only way
    the result drops below 1), with the formula filled in, e.g.
    ``conv3: OH = (5 + 2·0 − 7)/1 + 1 = -1 < 1: the kernel height (7) is larger than the
    padded input height (5 + 0 + 0 = 5)``.
    """
    size = _int_at_least(size, f"input size {axis}", layer, 1)
    pad_before = _int_at_least(pad_before, f"padding before {axis}", layer, 0)
    pad_after = _int_at_least(pad_after, f"padding after {axis}", layer, 0)
    kernel = _int_at_least(kernel, f"kernel size {axis}", layer, 1)
    stride = _int_at_least(stride, f"stride {axis}", layer, 1)
    padded = size + pad_before + pad_after
    out = (padded - kernel) // stride + 1
    if out < 1:
        dimension = _AXIS_WORDS.get(axis, ("", "", axis))[2]
        formula = formula_text(size, pad_before, pad_after, kernel, stride, out, axis,
                               omit_zero_padding=omit_zero_padding)
        raise ShapeError(f"{layer}: {formula} < 1: the kernel {dimension} ({kernel}) is larger "
                         f"than the padded input {dimension} ({size} + {pad_before} + "
                         f"{pad_after} = {padded})")
    return out


def _plural(count, singular, plural):
    return singular if count == 1 else f"{count} {plural}"


def _drop_warning(size, pad_before, pad_after, kernel, stride, out, axis, omit_zero_padding):
    """A warning when the windows do not tile the padded input exactly, else None.

    The remainder ``r`` of the division counts the padded rows at the end that no window
    reaches. Those rows may be padding only (no input is lost) or real input rows.
    """
    remainder = (size + pad_before + pad_after - kernel) % stride
    if remainder == 0:
        return None
    singular, plural, _ = _AXIS_WORDS.get(axis, ("row", "rows", ""))
    bracket = _numerator_text(size, pad_before, pad_after, kernel, omit_zero_padding)
    head = f"{bracket} is not divisible by {stride}"
    lost_input = remainder - pad_after
    if lost_input > 0:
        what = _plural(lost_input, singular, plural)
        verb = "is" if lost_input == 1 else "are"
        return f"{head}: the last {what} {verb} dropped (output floors to {_num(out)})"
    what = _plural(remainder, f"padding {singular}", f"padding {plural}")
    verb = "is" if remainder == 1 else "are"
    return (f"{head}: the last {what} {verb} never used (no input is lost; "
            f"output floors to {_num(out)})")


# ----------------------------------------------------------------------------------------------
# Rows
# ----------------------------------------------------------------------------------------------
def _hwc(shape):
    if shape is None:
        return None
    if len(shape) == 3:
        c, h, w = shape
        return h, w, c
    return tuple(shape)


@dataclasses.dataclass(frozen=True)
class LayerRow:
    """One line of the shape table.

    Shapes are tuples: ``(C, H, W)`` / ``(H, W, C)`` for images, ``(D,)`` for vectors; the
    outputs are None on an error row. ``formula`` holds the OH and OW formulas joined with
    "; " ("" for layers without one). ``macs`` counts multiply-adds per sample. ``share`` is
    this layer's fraction (0..1) of the table's total parameters, set by :func:`layer_rows`.
    ``kernel_hw``, ``stride_hw`` and ``padding_tblr`` are the normalized geometry of conv and
    pooling layers (None for the others).
    """

    name: str
    kind: str
    input_chw: tuple | None
    output_chw: tuple | None
    formula: str = ""
    weights: int = 0
    biases: int = 0
    params_formula: str = "0"
    macs: int = 0
    warnings: tuple = ()
    error: str | None = None
    share: float | None = None
    kernel_hw: tuple | None = None
    stride_hw: tuple | None = None
    padding_tblr: tuple | None = None
    # Derived, but stored as fields so that dataclasses.asdict() (the app, JSON) includes them.
    params: int = dataclasses.field(init=False)
    input_hwc: tuple | None = dataclasses.field(init=False)
    output_hwc: tuple | None = dataclasses.field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "params", self.weights + self.biases)
        object.__setattr__(self, "input_hwc", _hwc(self.input_chw))
        object.__setattr__(self, "output_hwc", _hwc(self.output_chw))

    @property
    def ok(self):
        return self.error is None


def _check_input_shape(shape, what="input_shape"):
    """A validated ``(C, H, W)`` or ``(D,)`` tuple of positive ints."""
    if not isinstance(shape, (tuple, list)):
        raise TypeError(f"{what} must be a tuple (C, H, W) or (D,), got {_describe(shape)}")
    if len(shape) == 2:
        raise ValueError(f"{what} must be (C, H, W) or (D,), got {tuple(shape)!r}; for a "
                         f"grayscale image add the channel: (1, {shape[0]}, {shape[1]})")
    if len(shape) not in (1, 3):
        raise ValueError(f"{what} must be (C, H, W) for images or (D,) for vectors, "
                         f"got {tuple(shape)!r}")
    for item in shape:
        if not _is_int(item):
            raise TypeError(f"{what} must hold ints, got {_describe(item)} in {shape!r}")
        if item < 1:
            raise ValueError(f"{what} must hold sizes of at least 1, got {tuple(shape)!r}")
    return tuple(int(item) for item in shape)


def _config_type(config, layer):
    if not isinstance(config, Mapping):
        raise TypeError(f"{layer}: a layer config must be a dict, got {_describe(config)}")
    kind = config.get("type")
    if kind is None:
        raise ValueError(f"{layer}: the config has no 'type'; known types: "
                         f"{', '.join(LAYER_TYPES)}")
    if not isinstance(kind, str):
        raise TypeError(f"{layer}: the layer 'type' must be a string such as 'Conv2D', got "
                        f"{_describe(kind)}")
    if kind not in LAYER_KEYS:
        hint = difflib.get_close_matches(str(kind), LAYER_TYPES, n=1)
        did_you_mean = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise ValueError(f"{layer}: unknown layer type {kind!r}{did_you_mean}; known types: "
                         f"{', '.join(LAYER_TYPES)}")
    return kind


def _check_keys(config, kind, layer):
    allowed = set(LAYER_KEYS[kind]) | {"type", "name"}
    unknown = sorted(str(key) for key in config if key not in allowed)
    if unknown:
        keys = ", ".join(LAYER_KEYS[kind]) or "none"
        raise ValueError(f"{layer}: {kind} has no key(s) {', '.join(unknown)}; its keys are "
                         f"{keys} (plus 'type' and 'name')")
    missing = [key for key in _REQUIRED_KEYS.get(kind, ()) if config.get(key) is None]
    if missing:
        raise ValueError(f"{layer}: {kind} needs {', '.join(missing)}")


def _require_image(shape, layer, kind):
    if len(shape) != 3:
        raise ShapeError(f"{layer}: {kind} needs an image input (C, H, W), got the flat "
                         f"vector {shape!r}; put it before the Flatten layer")
    return shape


def _require_vector(shape, layer, kind, advice):
    if len(shape) != 1:
        c, h, w = shape
        raise ShapeError(f"{layer}: {kind} needs a flat vector, got (C, H, W) = {shape!r}; "
                         f"{advice} (Flatten gives {_num(c * h * w)} = {c}{DOT}{h}{DOT}{w})")
    return shape[0]


def _check_bias(value, layer):
    if not isinstance(value, bool):
        raise TypeError(f"{layer}: bias must be True or False, got {_describe(value)}")
    return value


def _check_padding_mode(config, padding, size_hw, layer):
    """Reflect and circular padding copy input pixels, so they cannot pad more than exists."""
    mode = config.get("padding_mode", "zeros")
    if mode not in PADDING_MODES:
        raise ValueError(f"{layer}: padding_mode {mode!r} is not known; use one of "
                         f"{', '.join(repr(m) for m in PADDING_MODES)}")
    top, bottom, left, right = padding
    height, width = size_hw
    if mode == "reflect" and (max(top, bottom) >= height or max(left, right) >= width):
        raise ShapeError(f"{layer}: reflect padding {padding!r} must be smaller than the input "
                         f"(H, W) = {size_hw!r} on each side: a reflection can only mirror "
                         f"pixels that exist")
    if mode == "circular" and (max(top, bottom) > height or max(left, right) > width):
        raise ShapeError(f"{layer}: circular padding {padding!r} must be at most the input "
                         f"(H, W) = {size_hw!r} on each side")
    return mode


def _window_geometry(size_hw, kernel_hw, stride_hw, padding, layer, omit_zero_padding):
    """Output (OH, OW), the joined formulas and the drop warnings of a sliding window."""
    outs, formulas, warnings = [], [], []
    for axis, size, pads, kernel, stride in (("H", size_hw[0], padding[0:2], kernel_hw[0],
                                              stride_hw[0]),
                                             ("W", size_hw[1], padding[2:4], kernel_hw[1],
                                              stride_hw[1])):
        out = conv_output_size(size, pads[0], pads[1], kernel, stride, axis=axis, layer=layer,
                               omit_zero_padding=omit_zero_padding)
        outs.append(out)
        formulas.append(formula_text(size, pads[0], pads[1], kernel, stride, out, axis,
                                     omit_zero_padding=omit_zero_padding))
        warning = _drop_warning(size, pads[0], pads[1], kernel, stride, out, axis,
                                omit_zero_padding)
        if warning:
            warnings.append(warning)
    return tuple(outs), "; ".join(formulas), tuple(warnings)


def _params_formula(factors, bias_count, total):
    """'4·4·1·20 + 20 = 340' (or without the bias term)."""
    product = DOT.join(_num(f) for f in factors)
    bias = f" + {_num(bias_count)}" if bias_count else ""
    return f"{product}{bias} = {_num(total)}"


def _conv_row(config, shape, name):
    channels, height, width = _require_image(shape, name, "Conv2D")
    filters = _int_at_least(config["out_channels"], "out_channels", name, 1)
    in_channels = config.get("in_channels")
    if in_channels is not None:
        in_channels = _int_at_least(in_channels, "in_channels", name, 1)
        if in_channels != channels:
            raise ShapeError(f"{name}: in_channels = {in_channels} but the input (C, H, W) = "
                             f"{shape!r} has {channels} channel(s); it must equal the "
                             f"previous layer's output channels")
    kernel_hw = pair(config["kernel_size"], "kernel_size", name)
    stride_hw = pair(config.get("stride", 1), "stride", name)
    padding = normalize_padding(config.get("padding", 0), kernel_hw, stride_hw,
                                (height, width), name)
    _check_padding_mode(config, padding, (height, width), name)
    use_bias = _check_bias(config.get("bias", True), name)
    (out_h, out_w), formula, warnings = _window_geometry((height, width), kernel_hw, stride_hw,
                                                         padding, name, False)
    kh, kw = kernel_hw
    weights = kh * kw * channels * filters
    biases = filters if use_bias else 0
    return LayerRow(
        name=name, kind="Conv2D", input_chw=shape, output_chw=(filters, out_h, out_w),
        formula=formula, weights=weights, biases=biases,
        params_formula=_params_formula((kh, kw, channels, filters), biases, weights + biases),
        macs=out_h * out_w * filters * channels * kh * kw, warnings=warnings,
        kernel_hw=kernel_hw, stride_hw=stride_hw, padding_tblr=padding)


def _pool_row(config, shape, name, kind):
    channels, height, width = _require_image(shape, name, kind)
    kernel_hw = pair(config["kernel_size"], "kernel_size", name)
    stride = config.get("stride")
    stride_hw = kernel_hw if stride is None else pair(stride, "stride", name)
    padding = normalize_padding(config.get("padding", 0), kernel_hw, stride_hw,
                                (height, width), name)
    limits = (kernel_hw[0] // 2,) * 2 + (kernel_hw[1] // 2,) * 2
    if any(pad > limit for pad, limit in zip(padding, limits)):
        raise ShapeError(f"{name}: padding (top, bottom, left, right) = {padding!r} is more than "
                         f"half the kernel {kernel_hw!r} (at most {limits[0]} rows, {limits[2]} "
                         f"columns), as PyTorch requires: a window could cover padding only")
    (out_h, out_w), formula, warnings = _window_geometry((height, width), kernel_hw, stride_hw,
                                                         padding, name, True)
    return LayerRow(name=name, kind=kind, input_chw=shape, output_chw=(channels, out_h, out_w),
                    formula=formula, warnings=warnings, kernel_hw=kernel_hw,
                    stride_hw=stride_hw, padding_tblr=padding)


def _dense_row(config, shape, name):
    features = _require_vector(shape, name, "Dense", "add a Flatten layer before it")
    out_features = _int_at_least(config["out_features"], "out_features", name, 1)
    in_features = config.get("in_features")
    if in_features is not None:
        in_features = _int_at_least(in_features, "in_features", name, 1)
        if in_features != features:
            raise ShapeError(f"{name}: in_features = {_num(in_features)} but the input "
                             f"{shape!r} has {_num(features)} features; it must equal the "
                             f"flattened size of the previous layer's output")
    use_bias = _check_bias(config.get("bias", True), name)
    weights = features * out_features
    biases = out_features if use_bias else 0
    return LayerRow(
        name=name, kind="Dense", input_chw=shape, output_chw=(out_features,),
        weights=weights, biases=biases,
        params_formula=_params_formula((features, out_features), biases, weights + biases),
        macs=weights)


def _flatten_row(config, shape, name):
    if len(shape) == 1:
        return LayerRow(name=name, kind="Flatten", input_chw=shape, output_chw=shape)
    c, h, w = shape
    size = c * h * w
    return LayerRow(name=name, kind="Flatten", input_chw=shape, output_chw=(size,),
                    formula=f"{_num(size)} = {c}{DOT}{h}{DOT}{w}")


def _same_shape_row(config, shape, name, kind):
    """Activations, Dropout and LRN: output shape = input shape, no parameters."""
    if kind == "LeakyReLU" and "negative_slope" in config:
        _real_in(config["negative_slope"], "negative_slope", name)
    if kind == "Dropout" and "p" in config:
        _real_in(config["p"], "p", name, low=0.0, high=1.0, high_open=True)
    if kind == "Softmax":
        _require_vector(shape, name, "Softmax (over class scores)",
                        "add Flatten and a Dense layer with one output per class before it")
    if kind == "LRN":
        _require_image(shape, name, "LRN (normalizes across channels)")
        if "size" in config:
            _int_at_least(config["size"], "size", name, 1)
        if "alpha" in config:
            _real_in(config["alpha"], "alpha", name, low=0.0)
        if "beta" in config:
            _real_in(config["beta"], "beta", name)
        if "k" in config:
            _real_in(config["k"], "k", name, low=0.0, low_open=True)
    return LayerRow(name=name, kind=kind, input_chw=shape, output_chw=shape)


def _compute_row(config, shape, name):
    kind = _config_type(config, name)
    _check_keys(config, kind, name)
    if kind == "Conv2D":
        return _conv_row(config, shape, name)
    if kind in _POOL_TYPES:
        return _pool_row(config, shape, name, kind)
    if kind == "Dense":
        return _dense_row(config, shape, name)
    if kind == "Flatten":
        return _flatten_row(config, shape, name)
    return _same_shape_row(config, shape, name, kind)


# ----------------------------------------------------------------------------------------------
# Names
# ----------------------------------------------------------------------------------------------
def _name_prefix(config):
    kind = config.get("type") if isinstance(config, Mapping) else None
    if not isinstance(kind, str) or not kind:
        return "layer"
    return _NAME_PREFIX.get(kind, kind.lower())


def _explicit_name(config):
    return config.get("name") if isinstance(config, Mapping) else None


def _name_problem(name, taken):
    if not isinstance(name, str) or not name.strip():
        return f"a layer name must be a non-empty string, got {_describe(name)}"
    if "." in name:
        return (f"layer name {name!r} cannot contain '.': parameters are named "
                f"'<layer>.<key>', e.g. 'conv1.W'")
    if name in taken:
        return f"layer name {name!r} is used twice"
    return None


def _plan_names(configs):
    """[(name, problem or None)] per config: explicit names win, the others count per prefix.

    The counter of a prefix advances only for layers without a given name and skips names
    that are already taken, so names are always unique.
    """
    plan = [None] * len(configs)
    taken = set()
    for index, config in enumerate(configs):
        name = _explicit_name(config)
        if name is None:
            continue
        problem = _name_problem(name, taken)
        plan[index] = (str(name) if problem else name, problem)
        if not problem:
            taken.add(name)
    counters = {}
    for index, config in enumerate(configs):
        if plan[index] is not None:
            continue
        prefix = _name_prefix(config)
        while True:
            counters[prefix] = counters.get(prefix, 0) + 1
            candidate = f"{prefix}{counters[prefix]}"
            if candidate not in taken:
                break
        taken.add(candidate)
        plan[index] = (candidate, None)
    return plan


def _check_configs(configs):
    if isinstance(configs, (str, bytes, Mapping)) or not isinstance(configs, Sequence):
        raise TypeError(f"configs must be a list of layer config dicts, got {_describe(configs)}")
    return list(configs)


def default_names(configs):
    """The layer names of docs/design.md: explicit ``"name"`` wins, else type + counter.

    ``Conv2D`` -> conv, the pools -> pool, ``Dense`` -> dense, ``LRN`` -> norm,
    ``LeakyReLU`` -> lrelu, others lower-cased (relu, flatten, softmax, dropout, ...).

    >>> default_names([{"type": "Conv2D"}, {"type": "ReLU"}, {"type": "MaxPool2D"},
    ...                {"type": "Conv2D", "name": "last"}, {"type": "Conv2D"}])
    ['conv1', 'relu1', 'pool1', 'last', 'conv2']

    Raises ``ValueError`` for an empty, duplicated or dotted explicit name.
    """
    plan = _plan_names(_check_configs(configs))
    for index, (_, problem) in enumerate(plan):
        if problem:
            raise ValueError(f"layer {index}: {problem}")
    return [name for name, _ in plan]


# ----------------------------------------------------------------------------------------------
# Public row functions
# ----------------------------------------------------------------------------------------------
def layer_row(config, input_shape, name=None):
    """The :class:`LayerRow` of one layer config applied to ``input_shape`` ((C, H, W) or (D,)).

    ``name`` defaults to the config's "name", else the default name of a lone layer (conv1,
    ...). Raises :class:`ShapeError` on invalid geometry or a channel/feature mismatch,
    ``ValueError``/``TypeError`` on a malformed config.
    """
    shape = _check_input_shape(input_shape)
    if name is None:
        name = _explicit_name(config)
    if name is None:
        name = _plan_names([config])[0][0]
    return _compute_row(config, shape, name)


def output_shape(config, input_shape):
    """The output shape of one layer config: ``(C, OH, OW)`` or ``(D,)`` (raises like layer_row)."""
    return layer_row(config, input_shape).output_chw


def _error_row(config, name, shape, error):
    kind = config.get("type") if isinstance(config, Mapping) else None
    return LayerRow(name=name, kind=kind if isinstance(kind, str) else "?", input_chw=shape,
                    output_chw=None, error=str(error))


def _with_shares(rows):
    total = sum(row.params for row in rows)
    return [dataclasses.replace(row, share=(row.params / total if total else 0.0))
            for row in rows]


def layer_rows(configs, input_shape, *, partial=True):
    """A :class:`LayerRow` per config, each fed the previous layer's output shape.

    ``partial=True`` (for the app while a network is edited): stop at the first layer that
    fails and append an error row for it (``error`` set, outputs None), like torchinfo but with
    the formula. ``partial=False``: raise that layer's error instead. An invalid
    ``input_shape`` always raises ``ValueError``/``TypeError``.
    """
    shape = _check_input_shape(input_shape)
    configs = _check_configs(configs)
    rows = []
    for (name, name_problem), config in zip(_plan_names(configs), configs):
        try:
            if name_problem:
                raise ValueError(f"{name}: {name_problem}")
            row = _compute_row(config, shape, name)
        except (ValueError, TypeError) as error:
            if not partial:
                raise
            rows.append(_error_row(config, name, shape, error))
            break
        rows.append(row)
        shape = row.output_chw
    return _with_shares(rows)


# ----------------------------------------------------------------------------------------------
# Summary table
# ----------------------------------------------------------------------------------------------
def _shape_text(shape):
    if shape is None:
        return "—"
    # No thousands separators inside a tuple: "(9,216,)" would read as two numbers.
    return "(" + ", ".join(str(n) for n in shape) + (",)" if len(shape) == 1 else ")")


def _table(headers, rows, aligns):
    """Plain-text table; each cell may hold several lines."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max([widths[i]] + [len(line) for line in cell.split("\n")])

    def render(cells):
        split = [cell.split("\n") for cell in cells]
        height = max(len(lines) for lines in split)
        out = []
        for k in range(height):
            parts = []
            for i, lines in enumerate(split):
                text = lines[k] if k < len(lines) else ""
                parts.append(text.rjust(widths[i]) if aligns[i] == ">" else text.ljust(widths[i]))
            out.append("  ".join(parts).rstrip())
        return out

    rule_width = sum(widths) + 2 * (len(widths) - 1)
    lines = ["=" * rule_width] + render(headers) + ["-" * rule_width]
    for row in rows:
        lines.extend(render(row))
    lines.append("=" * rule_width)
    return lines


class Summary(list):
    """A list of :class:`LayerRow` with totals, printable as a Keras/torchinfo-like table.

    ``str(summary)`` shows per layer: the output as (H, W, C) and (C, H, W), the formula, the
    parameters written out, their share of the total and the MACs, then the totals and the
    warnings and errors.
    """

    def __init__(self, rows=(), input_shape=None):
        super().__init__(rows)
        self.input_shape = None if input_shape is None else tuple(input_shape)

    @property
    def total_params(self):
        return sum(row.params for row in self)

    @property
    def total_weights(self):
        return sum(row.weights for row in self)

    @property
    def total_biases(self):
        return sum(row.biases for row in self)

    @property
    def total_macs(self):
        return sum(row.macs for row in self)

    @property
    def ok(self):
        """True when no row is an error row."""
        return all(row.error is None for row in self)

    @property
    def output_shape(self):
        """The network's output (C, H, W) or (D,); None when a layer failed."""
        if not self.ok:
            return None
        return self[-1].output_chw if self else self.input_shape

    @property
    def warnings(self):
        """Every warning as 'layer: text'."""
        return [f"{row.name}: {text}" for row in self for text in row.warnings]

    @property
    def errors(self):
        return [row.error for row in self if row.error is not None]

    def __repr__(self):
        return (f"Summary({len(self)} layers, input {self.input_shape}, "
                f"{_num(self.total_params)} params, ok={self.ok})")

    def __str__(self):
        headers = ["Layer (type)", "Output (H, W, C)", "Output (C, H, W)", "Formula", "Params",
                   "Share", "MACs"]
        cells = []
        for row in self:
            if row.error is not None:
                cells.append([f"{row.name} ({row.kind})", "—", "—", "ERROR (see below)", "—",
                              "", ""])
                continue
            share = "" if row.share is None else f"{100 * row.share:.1f}%"
            cells.append([f"{row.name} ({row.kind})", _shape_text(row.output_hwc),
                          _shape_text(row.output_chw), row.formula.replace("; ", "\n"),
                          row.params_formula, share, _num(row.macs)])
        lines = []
        if self.input_shape is not None:
            lines.append(f"Input (C, H, W) = {_shape_text(self.input_shape)}, "
                         f"(H, W, C) = {_shape_text(_hwc(self.input_shape))}")
        lines += _table(headers, cells, ["<", "<", "<", "<", "<", ">", ">"])
        lines.append(f"Total params: {_num(self.total_params)} (weights "
                     f"{_num(self.total_weights)} + biases {_num(self.total_biases)})")
        lines.append(f"Multiply-adds per sample: {_num(self.total_macs)}")
        if self.ok:
            lines.append(f"Output: {_shape_text(self.output_shape)}")
        if self.warnings:
            lines.append("Warnings:")
            lines.extend(f"  {text}" for text in self.warnings)
        if self.errors:
            lines.append("Error (the table stops at the failing layer):")
            lines.extend(f"  {text}" for text in self.errors)
        return "\n".join(lines)


def summarize(configs, input_shape):
    """A :class:`Summary` of the layer configs on ``input_shape``; a failing layer ends it with
    an error row (see :func:`layer_rows` with ``partial=True``)."""
    return Summary(layer_rows(configs, input_shape, partial=True),
                   _check_input_shape(input_shape))
