"""The value checks of layer settings: one function per kind of value, one message each.

Every check takes the value and the layer's label ("conv1", or the type when the layer has no
name yet), returns the value in its normal form, and raises ``TypeError`` for a value of the
wrong kind or ``ValueError`` for one out of range, with a message that starts with the label.
Standard library only: the shape table calls these on every keystroke of the model editor.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Check", "boolean", "choice", "count", "describe", "int_at_least", "is_int",
           "optional_pair", "padding_form", "pair", "pair_check", "real", "real_in"]

PADDING_STRINGS = ("valid", "same")


def is_int(value):
    # bool is an int subclass in Python, but True as a kernel size is always a mistake.
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real(value):
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(value))


def describe(value):
    return f"{value!r} ({type(value).__name__})"


def int_at_least(value, what, layer, minimum):
    if not is_int(value):
        raise TypeError(f"{layer}: {what} must be an int, got {describe(value)}")
    if value < minimum:
        raise ValueError(f"{layer}: {what} must be at least {minimum}, got {value}")
    return int(value)


def _interval_text(low, high, low_open, high_open):
    left = "(" if low_open else "["
    right = ")" if high_open else "]"
    low_text = "-inf" if low is None else f"{low:g}"
    high_text = "inf" if high is None else f"{high:g}"
    return f"{left}{low_text}, {high_text}{right}"


def real_in(value, what, layer, *, low=None, high=None, low_open=False, high_open=False):
    if not is_real(value):
        raise TypeError(f"{layer}: {what} must be a finite number, got {describe(value)}")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        raise ValueError(f"{layer}: {what} must be in "
                         f"{_interval_text(low, high, low_open, high_open)}, got {value!r}")
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
    if is_int(value):
        items = (value, value)
    elif isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{layer}: {what} must be an int or a pair (height, width), "
                             f"got {len(value)} values {tuple(value)!r}")
        items = tuple(value)
    else:
        raise TypeError(f"{layer}: {what} must be an int or a pair of ints, "
                        f"got {describe(value)}")
    for item in items:
        if not is_int(item):
            raise TypeError(f"{layer}: {what} must hold ints, got {describe(item)} "
                            f"in {value!r}")
        if item < minimum:
            raise ValueError(f"{layer}: {what} must be at least {minimum}, got {value!r}")
    return int(items[0]), int(items[1])


def padding_item(item, padding, layer):
    """One side's padding: a whole number of at least 0."""
    where = f" in {padding!r}" if item is not padding else ""
    if isinstance(item, float) and item >= 0 and not item.is_integer():
        raise TypeError(f"{layer}: padding must be whole numbers, got {item!r}{where}; for a "
                        f"half pixel (e.g. AlexNet's '1.5') pad one side less than the other: "
                        f"(top, bottom, left, right) = (1, 2, 1, 2)")
    if not is_int(item):
        raise TypeError(f"{layer}: padding must be ints, got {describe(item)}{where}")
    if item < 0:
        raise ValueError(f"{layer}: padding cannot be negative, got {padding!r}")
    return int(item)


def unknown_padding_string(padding, layer):
    return ValueError(f"{layer}: padding {padding!r} is not known; use one of "
                      f"{', '.join(repr(s) for s in PADDING_STRINGS)}, an int, "
                      f"(ph, pw) or (top, bottom, left, right)")


def padding_sides(padding, layer):
    """A numeric padding -> (top, bottom, left, right); strings are left to the caller."""
    if isinstance(padding, (tuple, list)):
        if len(padding) not in (2, 4):
            raise ValueError(f"{layer}: padding must be an int, (ph, pw) or "
                             f"(top, bottom, left, right), got {len(padding)} values "
                             f"{tuple(padding)!r}")
        items = [padding_item(item, padding, layer) for item in padding]
        if len(items) == 2:
            return items[0], items[0], items[1], items[1]
        return tuple(items)
    p = padding_item(padding, padding, layer)
    return p, p, p, p


# ----------------------------------------------------------------------------------------------
# Checks as values: what a schema key holds
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Check:
    """A named check: ``check(value, what, layer) -> normal form``; ``text`` says what it
    accepts (shown by the model editor and the docs)."""

    function: object
    text: str

    def __call__(self, value, what, layer):
        return self.function(value, what, layer)


def count(minimum=1):
    """A whole number of at least ``minimum``."""
    return Check(lambda value, what, layer: int_at_least(value, what, layer, minimum),
                 f"int ≥ {minimum}")


def pair_check(minimum=1):
    """An int or (height, width), each at least ``minimum``; normal form: a tuple."""
    return Check(lambda value, what, layer: pair(value, what, layer, minimum=minimum),
                 f"int or (height, width), each ≥ {minimum}")


def optional_pair(minimum=1):
    """None (the layer picks, e.g. a pool's stride = its window) or a pair."""
    def check(value, what, layer):
        return None if value is None else pair(value, what, layer, minimum=minimum)
    return Check(check, f"none, an int or (height, width), each ≥ {minimum}")


def real(low=None, high=None, *, low_open=False, high_open=False):
    """A finite number in an interval; normal form: a float."""
    def check(value, what, layer):
        return real_in(value, what, layer, low=low, high=high, low_open=low_open,
                       high_open=high_open)
    return Check(check, f"number in {_interval_text(low, high, low_open, high_open)}")


def _boolean(value, what, layer):
    if not isinstance(value, bool):
        raise TypeError(f"{layer}: {what} must be True or False, got {describe(value)}")
    return value


def boolean():
    return Check(_boolean, "True or False")


def choice(options):
    options = tuple(options)

    def check(value, what, layer):
        if value not in options:
            raise ValueError(f"{layer}: unknown {what} {value!r}; use one of "
                             f"{', '.join(repr(o) for o in options)}")
        return value
    return Check(check, "one of " + ", ".join(options))


def _padding(value, what, layer):
    if isinstance(value, str):
        if value.strip().lower() not in PADDING_STRINGS:
            raise unknown_padding_string(value, layer)
        return value
    padding_sides(value, layer)
    return tuple(value) if isinstance(value, list) else value


def _symmetric_padding(value, what, layer):
    if isinstance(value, str):
        if value.strip().lower() == "valid":
            return 0, 0
        raise ValueError(f"{layer}: pooling padding must be an int or (ph, pw), got {value!r}")
    if isinstance(value, (tuple, list)) and len(value) == 4:
        top, bottom, left, right = padding_sides(value, layer)
        if top != bottom or left != right:
            raise ValueError(f"{layer}: pooling padding must be the same on both sides, got "
                             f"(top, bottom, left, right) = {tuple(value)!r}")
        return top, left
    return pair(value, what, layer, minimum=0)


def padding_form(symmetric=False):
    """Convolution: int, (ph, pw), (top, bottom, left, right), 'valid' or 'same' (kept as
    given: 'same' is resolved once the input size is known). Pooling (``symmetric``): an int
    or (ph, pw), normal form (ph, pw)."""
    if symmetric:
        return Check(_symmetric_padding, "int or (ph, pw), each ≥ 0")
    return Check(_padding, "int, (ph, pw), (top, bottom, left, right), 'valid' or 'same'")


def _layer_configs(value, what, layer):
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence) or not value:
        raise TypeError(f"{layer}: {what} must be a non-empty list of layer configs, got "
                        f"{describe(value)}")
    for item in value:
        if not isinstance(item, Mapping):
            raise TypeError(f"{layer}: {what} must hold layer config dicts, got "
                            f"{describe(item)}")
    return [dict(item) for item in value]


def layer_configs():
    """A non-empty list of layer config dicts (a block's inner layers; the shape rules check
    each one)."""
    return Check(_layer_configs, "a list of layer configs")
