"""Output sizes, padding and the formulas as text: the arithmetic of a sliding window.

Pure Python (standard library only). The output-size rule, per axis, as PyTorch computes it::

    OH = floor((H + pad_top + pad_bottom - KH) / SH) + 1

When the division is not whole the last rows are dropped; :func:`drop_warning` says so.
"""
from __future__ import annotations

import math
from fractions import Fraction

from ..schema import ShapeError
from ..schema.checks import describe, int_at_least, is_int, pair, padding_sides
from ..schema.checks import unknown_padding_string

__all__ = ["ARROW", "DOT", "MINUS", "PADDING_MODES", "conv_output_size", "drop_warning",
           "formula_text", "normalize_padding", "number_text", "pool_output_size",
           "pool_window_geometry", "window_geometry", "check_padding_reach"]

# Typography of the formulas: a true minus sign and a middle dot, as printed in textbooks.
MINUS = "\u2212"
DOT = "\u00b7"
ARROW = "\u2192"
PADDING_MODES = ("zeros", "replicate", "reflect", "circular")
_AXIS_WORDS = {"H": ("row", "rows", "height"), "W": ("column", "columns", "width")}


def number_text(n):
    """An int with thousands separators: 16100 -> '16,100' (negative numbers keep '-')."""
    return f"{n:,}"


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
        raise unknown_padding_string(padding, layer)
    if input_hw is None:
        raise ValueError(f"{layer}: padding 'same' needs the input size (H, W) to be known")
    kh, kw = pair(kernel_hw, "kernel_size", layer)
    sh, sw = pair(stride_hw, "stride", layer)
    height, width = pair(input_hw, "input size (H, W)", layer, minimum=1)
    top, bottom = _same_padding_1d(height, kh, sh)
    left, right = _same_padding_1d(width, kw, sw)
    return top, bottom, left, right




def normalize_padding(padding, kernel_hw, stride_hw, input_hw, layer="Conv2D"):
    """Padding in any accepted form -> ``(top, bottom, left, right)``.

    ``p`` -> ``(p, p, p, p)``; ``(ph, pw)`` -> ``(ph, ph, pw, pw)``; ``(t, b, l, r)`` as is;
    ``"valid"`` -> zeros; ``"same"`` -> output ``ceil(H / SH)`` with total padding
    ``max((OH - 1)·SH + KH - H, 0)``, the extra pixel at the bottom/right (as TensorFlow).
    ``kernel_hw``, ``stride_hw`` and ``input_hw`` (ints or pairs) are only needed for "same".
    """
    if isinstance(padding, str):
        return _padding_from_string(padding, kernel_hw, stride_hw, input_hw, layer)
    return padding_sides(padding, layer)


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
        return f" + 2{DOT}{number_text(pad_before)}"
    return f" + {number_text(pad_before)} + {number_text(pad_after)}"


def _numerator_text(size, pad_before, pad_after, kernel, omit_zero_padding):
    """The bracket of the formula, e.g. '(28 + 2·0 − 5)'."""
    pads = _padding_terms(pad_before, pad_after, omit_zero_padding)
    return f"({number_text(size)}{pads} {MINUS} {number_text(kernel)})"


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
        if not is_int(value):
            raise TypeError(f"formula_text: {what} must be an int, got {describe(value)}")
    if stride < 1:
        raise ValueError(f"formula_text: stride must be at least 1, got {stride}")
    exact = Fraction(size + pad_before + pad_after - kernel, stride) + 1
    floored = math.floor(exact)
    if out != floored:
        raise ValueError(f"formula_text: out = {out} but the formula gives {floored}")
    bracket = _numerator_text(size, pad_before, pad_after, kernel, omit_zero_padding)
    text = f"O{axis} = {bracket}/{number_text(stride)} + 1 = "
    if exact.denominator == 1:
        return text + number_text(out)
    return text + f"{_fraction_text(exact)} {ARROW} {number_text(out)}"


def conv_output_size(size, pad_before, pad_after, kernel, stride, *, axis="H", layer="Conv2D",
                     omit_zero_padding=False):
    """``floor((size + pad_before + pad_after - kernel) / stride) + 1``, as PyTorch.

    Raises :class:`ShapeError` when the kernel is larger than the padded input (the only way
    the result drops below 1), with the formula filled in, e.g.
    ``conv3: OH = (5 + 2·0 − 7)/1 + 1 = -1 < 1: the kernel height (7) is larger than the
    padded input height (5 + 0 + 0 = 5)``.
    """
    size = int_at_least(size, f"input size {axis}", layer, 1)
    pad_before = int_at_least(pad_before, f"padding before {axis}", layer, 0)
    pad_after = int_at_least(pad_after, f"padding after {axis}", layer, 0)
    kernel = int_at_least(kernel, f"kernel size {axis}", layer, 1)
    stride = int_at_least(stride, f"stride {axis}", layer, 1)
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


def drop_warning(size, pad_before, pad_after, kernel, stride, out, axis, omit_zero_padding):
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
        return f"{head}: the last {what} {verb} dropped (output floors to {number_text(out)})"
    what = _plural(remainder, f"padding {singular}", f"padding {plural}")
    verb = "is" if remainder == 1 else "are"
    return (f"{head}: the last {what} {verb} never used (no input is lost; "
            f"output floors to {number_text(out)})")



def check_padding_reach(mode, padding, size_hw, layer):
    """Reflect and circular padding copy input pixels, so they cannot pad more than exists."""
    top, bottom, left, right = padding
    height, width = size_hw
    if mode == "reflect" and (max(top, bottom) >= height or max(left, right) >= width):
        raise ShapeError(f"{layer}: reflect padding {padding!r} must be smaller than the input "
                         f"(H, W) = {tuple(size_hw)!r} on each side: a reflection can only "
                         f"mirror pixels that exist")
    if mode == "circular" and (max(top, bottom) > height or max(left, right) > width):
        raise ShapeError(f"{layer}: circular padding {padding!r} must be at most the input "
                         f"(H, W) = {tuple(size_hw)!r} on each side")


def window_geometry(size_hw, kernel_hw, stride_hw, padding, layer, omit_zero_padding):
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
        warning = drop_warning(size, pads[0], pads[1], kernel, stride, out, axis,
                               omit_zero_padding)
        if warning:
            warnings.append(warning)
    return tuple(outs), "; ".join(formulas), tuple(warnings)


def pool_output_size(size, pad, kernel, stride, dilation=1, ceil_mode=False, *, axis="H",
                     layer="MaxPool2D"):
    """(OH, formula text) of a pooling window with dilation and ceil_mode, as PyTorch:

        OH = ⌊(H + 2P − D·(K − 1) − 1)/S⌋ + 1        (ceil_mode: ⌈…⌉, and a last window that
                                                       would start in the bottom padding is
                                                       dropped)
    """
    numerator = size + 2 * pad - dilation * (kernel - 1) - 1
    bracket = (f"({number_text(size)} + 2{DOT}{pad} {MINUS} {dilation}{DOT}({kernel} {MINUS} 1)"
               f" {MINUS} 1)/{stride}")
    exact = Fraction(numerator, stride)
    if numerator < 0:
        raise ShapeError(f"{layer}: O{axis} = {bracket} + 1 < 1: the dilated window "
                         f"({dilation}{DOT}({kernel} {MINUS} 1) + 1 = "
                         f"{dilation * (kernel - 1) + 1}) is larger than the padded input "
                         f"({size} + 2{DOT}{pad} = {size + 2 * pad})")
    rounded = math.ceil(exact) if ceil_mode else math.floor(exact)
    out = rounded + 1
    marks = ("⌈", "⌉") if ceil_mode else ("⌊", "⌋")
    text = f"O{axis} = {marks[0]}{bracket}{marks[1]} + 1 = "
    if exact.denominator != 1:
        text += f"{marks[0]}{_fraction_text(exact)}{marks[1]} + 1 = "
    text += number_text(out)
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
        text += (f" {ARROW} {number_text(out)} (the last window would start in the padding, "
                 f"so it is dropped)")
    return out, text


def pool_window_geometry(size_hw, kernel_hw, stride_hw, padding_hw, dilation_hw, ceil_mode,
                         layer):
    """Output (OH, OW) and the joined formulas of a pooling layer with dilation or ceil_mode."""
    outs, formulas = [], []
    for index, axis in enumerate("HW"):
        out, text = pool_output_size(size_hw[index], padding_hw[index], kernel_hw[index],
                                     stride_hw[index], dilation_hw[index], ceil_mode, axis=axis,
                                     layer=layer)
        outs.append(out)
        formulas.append(text)
    return tuple(outs), "; ".join(formulas)
