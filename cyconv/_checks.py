"""Validation shared by the checked entry points (:mod:`cyconv.functional` and its parts):
every array a kernel reads is checked here first, with a message naming the layer."""
import contextlib
import threading

import numpy as np

FLOAT_DTYPES = (np.float32, np.float64)


def fmt(shape):
    return "(" + ", ".join(str(s) for s in shape) + ")"


def check_float_array(a, what, layer, ndim=None, dtype=None):
    """Return ``a`` as a C-contiguous float array, or raise a message a student can act on."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{layer}: {what} must be a numpy array, got {type(a).__name__}")
    if a.dtype not in FLOAT_DTYPES:
        raise TypeError(
            f"{layer}: {what} has dtype {a.dtype}; cyconv computes in float32 or float64 "
            f"(convert with {what}.astype(np.float32))")
    if dtype is not None and a.dtype != dtype:
        raise TypeError(f"{layer}: {what} is {a.dtype} but the weights are {np.dtype(dtype)}; "
                        f"use one dtype for inputs and parameters")
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{layer}: {what} must have {ndim} dimensions, got shape {fmt(a.shape)}")
    if a.size == 0:
        raise ValueError(f"{layer}: {what} is empty, shape {fmt(a.shape)}")
    check_finite(a, what, layer)
    # Not np.ascontiguousarray: it turns a 0-d array into shape (1,), and an element-wise
    # layer or loss must give back the shape it was given.
    return a if a.flags.c_contiguous else a.copy(order="C")


_trust = threading.local()


@contextlib.contextmanager
def trusted_inputs():
    """Skip the NaN/inf scan (only that: shapes and dtypes are always checked) in this thread.

    Sequential uses it for the layers after the first, whose inputs are the previous layer's
    outputs: scanning every activation again cost about a fifth of a small network's step.
    A NaN still cannot corrupt memory; the trainer catches a non-finite loss instead."""
    previous = getattr(_trust, "active", False)
    _trust.active = True
    try:
        yield
    finally:
        _trust.active = previous


def check_finite(a, what, layer):
    if getattr(_trust, "active", False):
        return
    # One reduction is far cheaper than isfinite(a).all(); NaN and inf survive a sum, and only
    # when the sum itself overflows do we pay for the full element-wise test.
    if np.isfinite(a.sum()) or np.isfinite(a).all():
        return
    bad = int(np.count_nonzero(~np.isfinite(a)))
    raise ValueError(f"{layer}: {what} contains {bad} NaN or infinite value(s), shape "
                     f"{fmt(a.shape)}; a diverging loss or a bad input image is the usual cause")


def check_same_shape(a, b, what_a, what_b, layer):
    if a.shape != b.shape:
        raise ValueError(f"{layer}: {what_a} {fmt(a.shape)} and {what_b} {fmt(b.shape)} "
                         f"must have the same shape")
