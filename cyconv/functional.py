"""The checked entry points to the Cython kernels: validate -> allocate -> call the kernel.

This module is the only importer of ``cyconv._kernels``. The kernels run with bounds checking
off, so every shape, dtype and value that could make them read or write out of bounds is
checked here first, and a bad input gets a ``ValueError`` or ``TypeError`` that names the
layer, the shapes and the formula.

Every forward function returns ``(out, cache)``; every backward function takes
``(dout, cache)`` and returns the input gradient (and parameter gradients), CS231n style.
Backward never writes into ``dout``.
"""
import contextlib
import functools
import math
import threading
from typing import NamedTuple, Optional

import numpy as np

from . import _threads
from ._kernels import _activations, _conv2d, _dense, _lrn, _pool2d, _softmax_ce
from ._kernels._build_info import debug_build
from .shapes import ShapeError, conv_output_size, normalize_padding, pair

_threads.pin_scipy_blas_to_one_thread()

PADDING_MODES = ("zeros", "replicate", "reflect", "circular")
POOL_KINDS = {"max": 0, "avg": 1, "min": 2}
ACTIVATION_KINDS = {"relu": 0, "leaky_relu": 1, "sigmoid": 2, "tanh": 3}
FLOAT_DTYPES = (np.float32, np.float64)

__all__ = [
    "PADDING_MODES", "ShapeError", "debug_build",
    "conv2d_forward", "conv2d_backward", "pool2d_forward", "pool2d_backward",
    "dense_forward", "dense_backward", "activation_forward", "activation_backward",
    "softmax_forward", "softmax_backward", "softmax_cross_entropy", "mse_loss", "l1_loss",
    "lrn_forward", "lrn_backward", "dropout_forward", "dropout_backward",
]


# ----------------------------------------------------------------------------- validation

def _fmt(shape):
    return "(" + ", ".join(str(s) for s in shape) + ")"


def _check_float_array(a, what, layer, ndim=None, dtype=None):
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
        raise ValueError(f"{layer}: {what} must have {ndim} dimensions, got shape {_fmt(a.shape)}")
    if a.size == 0:
        raise ValueError(f"{layer}: {what} is empty, shape {_fmt(a.shape)}")
    _check_finite(a, what, layer)
    return np.ascontiguousarray(a)


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


def _check_finite(a, what, layer):
    if getattr(_trust, "active", False):
        return
    # One reduction is far cheaper than isfinite(a).all(); NaN and inf survive a sum, and only
    # when the sum itself overflows do we pay for the full element-wise test.
    if np.isfinite(a.sum()) or np.isfinite(a).all():
        return
    bad = int(np.count_nonzero(~np.isfinite(a)))
    raise ValueError(f"{layer}: {what} contains {bad} NaN or infinite value(s), shape "
                     f"{_fmt(a.shape)}; a diverging loss or a bad input image is the usual cause")


def _check_same_shape(a, b, what_a, what_b, layer):
    if a.shape != b.shape:
        raise ValueError(f"{layer}: {what_a} {_fmt(a.shape)} and {what_b} {_fmt(b.shape)} "
                         f"must have the same shape")


# Below this many multiply-adds (or element visits) a kernel runs on one thread: waking a
# sleeping OpenMP thread (OMP_WAIT_POLICY=PASSIVE) costs tens of microseconds, more than the
# work itself at batch 1, where two threads made a training step 4x slower than one.
_WORK_PER_EXTRA_THREAD = 1 << 17


def _num_threads(work=None):
    """The thread count for a kernel call doing about ``work`` operations."""
    threads = _threads.get_num_threads()
    if work is None or threads == 1:
        return threads
    return max(1, min(threads, int(work) // _WORK_PER_EXTRA_THREAD))


_scratch_store = threading.local()


def _scratch(role, rows, cols, dtype):
    """A (rows, cols) scratch array the kernels overwrite, reused from call to call.

    Allocating megabytes of im2col scratch every step cost a page fault per 4 KiB touched.
    The store is per Python thread, so the app's training thread and a caller in the GUI
    thread never share a buffer; an array returned to the caller is never scratch."""
    store = getattr(_scratch_store, "buffers", None)
    if store is None:
        store = _scratch_store.buffers = {}
    key = (role, np.dtype(dtype).str)
    size = rows * max(cols, 1)
    buffer = store.get(key)
    if buffer is None or buffer.size < size:
        buffer = store[key] = np.empty(size, dtype=dtype)
    return buffer[:size].reshape(rows, max(cols, 1))


def _per_thread(role, rows, cols, dtype):
    """Zeroed per-thread accumulators (one row per OpenMP thread), from the scratch store."""
    array = _scratch(role, rows, cols, dtype)
    array.fill(0)
    return array


# ----------------------------------------------------------------------------- padding

def source_index(size, before, after, mode):
    """For each position of a padded axis, the input index it copies, or -1 for a zero.

    ``size`` input pixels, ``before``/``after`` padded ones: positions ``-before .. size+after-1``.
    replicate repeats the edge (the edge-filling kind of "same padding"), reflect mirrors without repeating
    the edge (PyTorch's 'reflect'), circular wraps around.
    """
    idx = np.arange(-before, size + after, dtype=np.intp)
    if mode == "zeros":
        idx[(idx < 0) | (idx >= size)] = -1
    elif mode == "replicate":
        idx = np.clip(idx, 0, size - 1)
    elif mode == "reflect":
        idx = np.abs(idx)
        idx = np.where(idx >= size, 2 * (size - 1) - idx, idx)
    else:  # circular
        idx = idx % size
    return idx


def _window_table(src, out_size, kernel, stride):
    """table[o·kernel + k] = src[o·stride + k]: the input index under each kernel tap."""
    positions = np.arange(out_size)[:, None] * stride + np.arange(kernel)[None, :]
    return np.ascontiguousarray(src[positions.ravel()], dtype=np.intp)


def _check_padding_mode(mode, pads, input_hw, layer):
    if mode not in PADDING_MODES:
        raise ValueError(f"{layer}: unknown padding_mode {mode!r}; use one of {PADDING_MODES}")
    top, bottom, left, right = pads
    H, W = input_hw
    if mode == "reflect" and (max(top, bottom) >= H or max(left, right) >= W):
        raise ValueError(f"{layer}: reflect padding {pads} needs each pad smaller than the input "
                         f"side (H={H}, W={W}): a reflection cannot reach past the far edge")
    if mode == "circular" and (max(top, bottom) > H or max(left, right) > W):
        raise ValueError(f"{layer}: circular padding {pads} cannot exceed the input side "
                         f"(H={H}, W={W})")


# ----------------------------------------------------------------------------- conv2d

def _interior_columns(W, left, KW, SW, OW):
    """For each kernel column j, the outputs [lo, hi) whose input column ow·SW + j − left lies
    inside the image: there im2col copies directly, without the padding table."""
    ow = np.arange(OW)[None, :]
    source = ow * SW + np.arange(KW)[:, None] - left
    inside = (source >= 0) & (source < W)
    lo = np.where(inside.any(axis=1), inside.argmax(axis=1), OW)
    hi = np.where(inside.any(axis=1), OW - inside[:, ::-1].argmax(axis=1), OW)
    return np.ascontiguousarray(lo, np.intp), np.ascontiguousarray(np.maximum(hi, lo), np.intp)


# From this many output pixels per sample on, the backward pass runs one GEMM per sample
# straight on dout; below it, copying dout into the chunk layout for one big GEMM is cheaper.
_DIRECT_DOUT_MIN_PIXELS = 256

_KEPT_COLUMNS_BYTES = 64 << 20   # keep im2col columns for backward up to 64 MiB per layer


def _kept_columns(workspace, chunks, width, dtype):
    """The (chunks, width) array a training forward pass keeps its columns in, reused from
    ``workspace`` (a dict the layer owns) step after step; None when it would exceed the
    budget, and the backward pass then recomputes them."""
    if workspace is None or chunks * width * np.dtype(dtype).itemsize > _KEPT_COLUMNS_BYTES:
        return None
    buffer = workspace.get("columns")
    if buffer is None or buffer.dtype != dtype or buffer.size < chunks * width:
        buffer = workspace["columns"] = np.empty(chunks * width, dtype=dtype)
    return buffer[:chunks * width].reshape(chunks, width)


class Conv2DCache(NamedTuple):
    x: np.ndarray
    w: np.ndarray
    has_bias: bool
    row_src: np.ndarray
    col_src: np.ndarray
    col_range: tuple     # (col_lo, col_hi, SW, left), see _interior_columns
    columns: Optional[np.ndarray]   # the forward's im2col columns, when kept
    chunk: int
    kernel: tuple
    out_hw: tuple
    relu_out: Optional[np.ndarray]


# im2col columns a thread fills before its GEMM reads them: K·chunk·P ≤ 32 Ki values (128 KiB
# in float32), so the columns are still in L2 when the GEMM packs them. A budget of 512 Ki
# values (the columns of the whole batch for the small nets) made bigger GEMMs but sent the
# columns through memory: forward + backward of LeNet-5's conv1 took 1.47 ms against 0.94,
# mnist_cnn's conv2 3.25 against 2.75 (1 thread, batch 64; `benchmarks/` per-layer timings).
_CHUNK_ELEMENTS = 1 << 15


def _conv_chunk(N, K, P, threads):
    """Samples per GEMM: as many as fit the scratch budget (at least one), but at least one
    chunk per thread."""
    fits = max(1, _CHUNK_ELEMENTS // max(1, K * P))
    per_thread = -(-N // threads)
    return max(1, min(fits, per_thread))


def conv2d_geometry(x_shape, w_shape, stride, padding, padding_mode, layer="Conv2D"):
    """Validated (stride, pads, (OH, OW)) for an input and weight shape; raises on bad input."""
    plan = _conv_plan(tuple(x_shape[1:]), tuple(w_shape), _hashable(stride), _hashable(padding),
                      padding_mode, layer)
    return plan.stride, plan.pads, plan.out_hw


class ConvPlan(NamedTuple):
    """Everything about a convolution that depends only on shapes and settings."""
    stride: tuple
    pads: tuple
    out_hw: tuple
    row_src: np.ndarray
    col_src: np.ndarray
    col_range: tuple     # (col_lo, col_hi, SW, left), see _interior_columns


def _hashable(value):
    return tuple(value) if isinstance(value, list) else value


@functools.lru_cache(maxsize=256)
def _conv_plan(chw, w_shape, stride, padding, padding_mode, layer):
    # Cached: a layer sees the same shapes every step, and rebuilding the index tables with
    # NumPy cost more than the whole convolution at batch 1. Errors are not cached.
    C, H, W = chw
    F, CW, KH, KW = w_shape
    if C != CW:
        raise ValueError(
            f"{layer}: the input has C={C} channels but the weights W {_fmt(w_shape)} expect "
            f"C={CW} (W is (F, C, KH, KW)); x is {_fmt(('N',) + chw)}")
    sh, sw = pair(stride, "stride", layer)
    pads = normalize_padding(padding, (KH, KW), (sh, sw), (H, W), layer)
    _check_padding_mode(padding_mode, pads, (H, W), layer)
    top, bottom, left, right = pads
    OH = conv_output_size(H, top, bottom, KH, sh, axis="H", layer=layer)
    OW = conv_output_size(W, left, right, KW, sw, axis="W", layer=layer)
    row_src = _window_table(source_index(H, top, bottom, padding_mode), OH, KH, sh)
    col_src = _window_table(source_index(W, left, right, padding_mode), OW, KW, sw)
    col_lo, col_hi = _interior_columns(W, left, KW, sw, OW)
    for table in (row_src, col_src, col_lo, col_hi):
        table.flags.writeable = False     # shared by every call with these shapes
    return ConvPlan((sh, sw), pads, (OH, OW), row_src, col_src, (col_lo, col_hi, sw, left))


def conv2d_forward(x, w, b=None, *, stride=1, padding=0, padding_mode="zeros", relu=False,
                   workspace=None, layer="Conv2D"):
    """Convolve x (N, C, H, W) with w (F, C, KH, KW), add b (F,): out (N, F, OH, OW).

    OH = (H + top + bottom − KH)/SH + 1 (floored), likewise OW. With ``relu=True`` the ReLU is
    applied in the same pass (the backward pass then also handles it). ``workspace``, a dict
    the caller keeps between calls, lets the forward pass keep its im2col columns there for
    the backward pass (a training step then runs im2col once instead of twice).
    """
    w = _check_float_array(w, "W", layer, ndim=4)
    x = _check_float_array(x, "x", layer, ndim=4, dtype=w.dtype)
    has_bias = b is not None
    if has_bias:
        b = _check_float_array(b, "b", layer, ndim=1, dtype=w.dtype)
        if b.shape[0] != w.shape[0]:
            raise ValueError(f"{layer}: bias b {_fmt(b.shape)} must have one value per filter, "
                             f"F={w.shape[0]} (W is {_fmt(w.shape)})")
    plan = _conv_plan(x.shape[1:], w.shape, _hashable(stride), _hashable(padding), padding_mode,
                      layer)
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    OH, OW = plan.out_hw
    P = OH * OW
    nt = _num_threads(N * F * P * C * KH * KW)
    chunk = _conv_chunk(N, C * KH * KW, P, nt)
    width = C * KH * KW * chunk * P
    out = np.empty((N, F, P), dtype=w.dtype)
    columns = _kept_columns(workspace, -(-N // chunk), width, w.dtype)
    col_buf = columns if columns is not None else _scratch("col", nt, width, w.dtype)
    out_buf = _scratch("gemm_out", nt, F * chunk * P, w.dtype)
    bias = b if has_bias else np.zeros(F, dtype=w.dtype)
    _conv2d.conv2d_forward(x, w.reshape(F, -1), bias, has_bias, relu, plan.row_src,
                           plan.col_src, *plan.col_range, KH, KW, chunk, out, col_buf,
                           columns is not None, out_buf, nt)
    out = out.reshape(N, F, OH, OW)
    cache = Conv2DCache(x, w, has_bias, plan.row_src, plan.col_src, plan.col_range, columns,
                        chunk, (KH, KW), (OH, OW), out if relu else None)
    return out, cache


def conv2d_backward(dout, cache, *, need_dx=True, layer="Conv2D"):
    """Gradients of a convolution: returns (dx, dw, db); db is None without bias.

    dW[f, c, i, j] = Σ_{n, oh, ow} dout[n, f, oh, ow] · xpad[n, c, oh·SH + i, ow·SW + j]
    db[f]          = Σ_{n, oh, ow} dout[n, f, oh, ow]
    dx             = the same products scattered back through the padding (col2im).
    """
    x, w = cache.x, cache.w
    N, C, H, W = x.shape
    F = w.shape[0]
    KH, KW = cache.kernel
    OH, OW = cache.out_hw
    dout = _check_float_array(dout, "dout", layer, ndim=4, dtype=w.dtype)
    if dout.shape != (N, F, OH, OW):
        raise ValueError(f"{layer}: dout {_fmt(dout.shape)} must match the forward output "
                         f"{_fmt((N, F, OH, OW))}")
    if cache.relu_out is not None:
        dout = np.where(cache.relu_out > 0, dout, 0).astype(w.dtype, copy=False)
    K, P = C * KH * KW, OH * OW
    nt = _num_threads(N * F * P * K)
    kept = cache.columns is not None
    # Kept columns fix the chunking the forward pass used; else the thread count may differ.
    chunk = cache.chunk if kept else _conv_chunk(N, K, P, nt)
    dx = np.zeros(x.shape, dtype=w.dtype) if need_dx else np.zeros((1, 1, 1, 1), dtype=w.dtype)
    dw_acc = _per_thread("dw_acc", nt, F * K, w.dtype)
    db_acc = _per_thread("db_acc", nt, F, w.dtype)
    col_buf = cache.columns if kept else _scratch("col", nt, K * chunk * P, w.dtype)
    dcol_buf = _scratch("dcol", nt, K * chunk * P, w.dtype) if need_dx else dw_acc
    direct_dout = P >= _DIRECT_DOUT_MIN_PIXELS
    dout_buf = dw_acc if direct_dout else _scratch("gemm_out", nt, F * chunk * P, w.dtype)
    _conv2d.conv2d_backward(dout.reshape(N, F, P), x, w.reshape(F, K), cache.row_src,
                            cache.col_src, *cache.col_range, KH, KW, chunk, direct_dout, need_dx,
                            dx, dw_acc, db_acc, col_buf, kept, dcol_buf, dout_buf, nt)
    dw = np.ascontiguousarray(dw_acc.sum(axis=0).reshape(K, F).T).reshape(w.shape)
    db = db_acc.sum(axis=0) if cache.has_bias else None
    return (dx if need_dx else None), dw, db


# ----------------------------------------------------------------------------- pooling

class Pool2DCache(NamedTuple):
    x_shape: tuple
    kind: str
    kernel: tuple
    stride: tuple
    padding: tuple
    out_hw: tuple
    arg: Optional[np.ndarray]
    dtype: np.dtype


def pool2d_geometry(x_shape, kernel_size, stride, padding, layer="Pool2D"):
    """Validated ((KH, KW), (SH, SW), (PH, PW), (OH, OW)); stride defaults to the kernel."""
    return _pool_plan(tuple(x_shape[2:]), _hashable(kernel_size), _hashable(stride),
                      _hashable(padding), layer)


@functools.lru_cache(maxsize=256)
def _pool_plan(hw, kernel_size, stride, padding, layer):
    # Cached for the same reason as _conv_plan: the Python checks cost more than the
    # pooling itself on small batches.
    H, W = hw
    KH, KW = pair(kernel_size, "kernel_size", layer)
    SH, SW = (KH, KW) if stride is None else pair(stride, "stride", layer)
    top, bottom, left, right = normalize_padding(padding, (KH, KW), (SH, SW), (H, W), layer)
    if top != bottom or left != right:
        raise ValueError(f"{layer}: pooling padding must be symmetric, got "
                         f"(top, bottom, left, right) = {(top, bottom, left, right)}")
    if 2 * top > KH or 2 * left > KW:
        raise ValueError(f"{layer}: padding ({top}, {left}) must be at most half the window "
                         f"{(KH, KW)}, or a window could hold no input pixel")
    OH = conv_output_size(H, top, bottom, KH, SH, axis="H", layer=layer)
    OW = conv_output_size(W, left, right, KW, SW, axis="W", layer=layer)
    return (KH, KW), (SH, SW), (top, left), (OH, OW)


def pool2d_forward(x, *, kind="max", kernel_size=2, stride=None, padding=0, layer="Pool2D"):
    """Max, average or min pooling of x (N, C, H, W) → (N, C, OH, OW); no parameters.

    OH = (H + 2·P − KH)/SH + 1 (floored). Max/min remember which pixel won (first on a tie).
    """
    if kind not in POOL_KINDS:
        raise ValueError(f"{layer}: unknown pooling kind {kind!r}; use one of {tuple(POOL_KINDS)}")
    x = _check_float_array(x, "x", layer, ndim=4)
    (KH, KW), (SH, SW), (PH, PW), (OH, OW) = pool2d_geometry(x.shape, kernel_size, stride,
                                                             padding, layer)
    N, C, H, W = x.shape
    out = np.empty((N * C, OH, OW), dtype=x.dtype)
    keeps_arg = kind != "avg"
    arg = np.empty((N * C, OH, OW) if keeps_arg else (1, 1, 1), dtype=np.intp)
    _pool2d.pool2d_forward(x.reshape(N * C, H, W), POOL_KINDS[kind], KH, KW, SH, SW, PH, PW,
                           out, arg, _num_threads(out.size * KH * KW))
    cache = Pool2DCache(x.shape, kind, (KH, KW), (SH, SW), (PH, PW), (OH, OW),
                        arg if keeps_arg else None, x.dtype)
    return out.reshape(N, C, OH, OW), cache


def pool2d_backward(dout, cache, layer="Pool2D"):
    """Input gradient of pooling: max/min send each gradient to the recorded pixel; average
    spreads dout/(KH·KW) over its window."""
    N, C, H, W = cache.x_shape
    dout = _check_float_array(dout, "dout", layer, ndim=4, dtype=cache.dtype)
    OH, OW = cache.out_hw
    expected = (N, C, OH, OW)
    if dout.shape != expected:
        raise ValueError(f"{layer}: dout {_fmt(dout.shape)} must match the forward output "
                         f"{_fmt(expected)}")
    dx = np.zeros((N * C, H, W), dtype=cache.dtype)
    flat = dout.reshape(N * C, OH, OW)
    if cache.arg is not None:
        _pool2d.pool2d_backward_argmax(flat, cache.arg, dx, _num_threads(dx.size))
    else:
        (KH, KW), (SH, SW), (PH, PW) = cache.kernel, cache.stride, cache.padding
        _pool2d.pool2d_backward_avg(flat, KH, KW, SH, SW, PH, PW, dx,
                                    _num_threads(flat.size * KH * KW))
    return dx.reshape(cache.x_shape)


# ----------------------------------------------------------------------------- dense

class DenseCache(NamedTuple):
    x: np.ndarray
    w: np.ndarray
    has_bias: bool


def dense_forward(x, w, b=None, *, layer="Dense"):
    """y = x Wᵀ + b for x (N, in_features), W (out_features, in_features), b (out_features,)."""
    w = _check_float_array(w, "W", layer, ndim=2)
    x = _check_float_array(x, "x", layer, dtype=w.dtype)
    if x.ndim != 2:
        hint = " (add a Flatten layer before it)" if x.ndim > 2 else ""
        raise ValueError(f"{layer}: x must be (N, in_features), got {_fmt(x.shape)}{hint}")
    if x.shape[1] != w.shape[1]:
        raise ValueError(f"{layer}: x {_fmt(x.shape)} has {x.shape[1]} features but W "
                         f"{_fmt(w.shape)} expects in_features={w.shape[1]} "
                         f"(W is (out_features, in_features))")
    has_bias = b is not None
    if has_bias:
        b = _check_float_array(b, "b", layer, ndim=1, dtype=w.dtype)
        if b.shape[0] != w.shape[0]:
            raise ValueError(f"{layer}: bias b {_fmt(b.shape)} must have out_features="
                             f"{w.shape[0]} values")
    y = np.empty((x.shape[0], w.shape[0]), dtype=w.dtype)
    _dense.dense_forward(x, w, b if has_bias else np.zeros(1, w.dtype), has_bias, y,
                         _num_threads(x.shape[0] * w.size))
    return y, DenseCache(x, w, has_bias)


def dense_backward(dout, cache, *, need_dx=True, layer="Dense"):
    """(dx, dW, db): dx = dout W, dW = doutᵀ x, db = Σₙ dout; db is None without bias."""
    x, w = cache.x, cache.w
    dout = _check_float_array(dout, "dout", layer, ndim=2, dtype=w.dtype)
    if dout.shape != (x.shape[0], w.shape[0]):
        raise ValueError(f"{layer}: dout {_fmt(dout.shape)} must match the forward output "
                         f"{_fmt((x.shape[0], w.shape[0]))}")
    dx = np.empty(x.shape, dtype=w.dtype) if need_dx else np.empty((1, 1), dtype=w.dtype)
    dw = np.empty(w.shape, dtype=w.dtype)
    db = np.empty(w.shape[0], dtype=w.dtype) if cache.has_bias else np.empty(1, w.dtype)
    _dense.dense_backward(dout, x, w, need_dx, dx, dw, db, cache.has_bias,
                          _num_threads(2 * x.shape[0] * w.size))
    return (dx if need_dx else None), dw, (db if cache.has_bias else None)


# ----------------------------------------------------------------------------- activations

class ActivationCache(NamedTuple):
    kind: str
    cached: np.ndarray   # the input for (leaky) ReLU, the output for sigmoid and tanh
    negative_slope: float


def activation_forward(x, kind, *, negative_slope=0.01, layer=None):
    """Element-wise relu, leaky_relu, sigmoid or tanh of an array of any shape."""
    if kind not in ACTIVATION_KINDS:
        raise ValueError(f"unknown activation {kind!r}; use one of {tuple(ACTIVATION_KINDS)}")
    layer = layer or kind
    x = _check_float_array(x, "x", layer)
    out = np.empty_like(x)
    _activations.activation_forward(x.reshape(-1), ACTIVATION_KINDS[kind], negative_slope,
                                    out.reshape(-1), _num_threads(x.size))
    cached = x if kind in ("relu", "leaky_relu") else out
    return out, ActivationCache(kind, cached, negative_slope)


def activation_backward(dout, cache, *, layer=None):
    layer = layer or cache.kind
    dout = _check_float_array(dout, "dout", layer, dtype=cache.cached.dtype)
    _check_same_shape(dout, cache.cached, "dout", "the forward input", layer)
    dx = np.empty_like(dout)
    _activations.activation_backward(dout.reshape(-1), cache.cached.reshape(-1),
                                     ACTIVATION_KINDS[cache.kind], cache.negative_slope,
                                     dx.reshape(-1), _num_threads(dx.size))
    return dx


def softmax_forward(x, *, layer="Softmax"):
    """Row-wise softmax of x (N, K), stable for large logits."""
    x = _check_float_array(x, "x", layer, ndim=2)
    out = np.empty_like(x)
    _activations.softmax_forward(x, out, _num_threads(x.size))
    return out, out


def softmax_backward(dout, out, *, layer="Softmax"):
    """dx = s ⊙ (dout − Σ dout ⊙ s), row by row."""
    dout = _check_float_array(dout, "dout", layer, ndim=2, dtype=out.dtype)
    _check_same_shape(dout, out, "dout", "the softmax output", layer)
    dx = np.empty_like(out)
    _activations.softmax_backward(dout, out, dx, _num_threads(dx.size))
    return dx


# ----------------------------------------------------------------------------- losses

def check_labels(labels, n_samples, n_classes, layer="SoftmaxCrossEntropy"):
    """Integer class indices (N,), each in [0, K)."""
    if not isinstance(labels, np.ndarray):
        labels = np.asarray(labels)
    if labels.dtype == np.bool_ or not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"{layer}: labels must be integer class indices, got dtype {labels.dtype}")
    if labels.shape != (n_samples,):
        raise ValueError(f"{layer}: labels {_fmt(labels.shape)} must be (N,) with N={n_samples} "
                         f"to match the logits")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"{layer}: labels must lie in [0, {n_classes - 1}] for K={n_classes} "
                         f"classes; got values from {labels.min()} to {labels.max()}")
    return np.ascontiguousarray(labels, dtype=np.intp)


def check_label_smoothing(value, layer):
    """ε of label smoothing: a number in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
            or not math.isfinite(value) or not 0 <= value < 1:
        raise ValueError(f"{layer}: label_smoothing must be a number in [0, 1) (the target is "
                         f"(1 − ε)·onehot + ε/K), got {value!r}")
    return float(value)


def softmax_cross_entropy(logits, labels, *, label_smoothing=0.0, layer="SoftmaxCrossEntropy"):
    """Mean cross-entropy of softmax(logits) (N, K) against integer labels: (loss, dlogits).

    With ``label_smoothing`` ε the target is (1 − ε)·onehot(label) + ε/K, as in PyTorch.
    """
    logits = _check_float_array(logits, "logits", layer, ndim=2)
    N, K = logits.shape
    labels = check_labels(labels, N, K, layer)
    smoothing = check_label_smoothing(label_smoothing, layer)
    losses = np.empty(N, dtype=logits.dtype)
    dlogits = np.empty_like(logits)
    _softmax_ce.softmax_cross_entropy(logits, labels, losses, dlogits, smoothing,
                                      _num_threads(logits.size))
    return float(losses.sum() / N), dlogits


def _regression_inputs(pred, target, layer):
    pred = _check_float_array(pred, "pred", layer)
    target = _check_float_array(target, "target", layer)
    _check_same_shape(pred, target, "pred", "target", layer)
    return pred, target.astype(pred.dtype, copy=False)


def mse_loss(pred, target, *, layer="MSE"):
    """Mean of (pred − target)² over every element (L2): (loss, dpred = 2(pred − target)/size)."""
    pred, target = _regression_inputs(pred, target, layer)
    diff = pred - target
    return float(np.mean(diff * diff)), (2.0 / diff.size) * diff


def l1_loss(pred, target, *, layer="L1"):
    """Mean of |pred − target| (L1): (loss, dpred = sign(pred − target)/size)."""
    pred, target = _regression_inputs(pred, target, layer)
    diff = pred - target
    return float(np.mean(np.abs(diff))), np.sign(diff) / diff.size


# ----------------------------------------------------------------------------- LRN, dropout

class LRNCache(NamedTuple):
    x: np.ndarray
    out: np.ndarray
    scale: np.ndarray
    size: int
    alpha: float
    beta: float


def lrn_forward(x, *, size=5, alpha=1e-4, beta=0.75, k=2.0, layer="LRN"):
    """Local response normalization across channels (PyTorch's formula), x (N, C, H, W)."""
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"{layer}: size must be a positive int, got {size!r}")
    if not (k > 0 and alpha >= 0 and beta >= 0):
        raise ValueError(f"{layer}: need k > 0, alpha ≥ 0, beta ≥ 0, got k={k}, alpha={alpha}, "
                         f"beta={beta}")
    x = _check_float_array(x, "x", layer, ndim=4)
    N, C, H, W = x.shape
    flat = x.reshape(N, C, H * W)
    out = np.empty_like(flat)
    scale = np.empty_like(flat)
    _lrn.lrn_forward(flat, int(size), float(alpha), float(beta), float(k), out, scale,
                     _num_threads(flat.size * size))
    return out.reshape(x.shape), LRNCache(x, out.reshape(x.shape), scale, int(size), alpha, beta)


def lrn_backward(dout, cache, *, layer="LRN"):
    x = cache.x
    dout = _check_float_array(dout, "dout", layer, ndim=4, dtype=x.dtype)
    _check_same_shape(dout, x, "dout", "the forward input", layer)
    N, C, H, W = x.shape
    shape3 = (N, C, H * W)
    t = _scratch("lrn_t", N, C * H * W, x.dtype).reshape(shape3)
    dx = np.empty(shape3, dtype=x.dtype)
    _lrn.lrn_backward(dout.reshape(shape3), x.reshape(shape3), cache.out.reshape(shape3),
                      cache.scale, cache.size, float(cache.alpha), float(cache.beta), t, dx,
                      _num_threads(dx.size * cache.size))
    return dx.reshape(x.shape)


def dropout_forward(x, p, rng, *, training=True, layer="Dropout"):
    """Inverted dropout: zero each element with probability p and scale the rest by 1/(1 − p),
    so nothing changes at test time. Returns (out, mask); the mask is None when not training."""
    if not 0 <= p < 1:
        raise ValueError(f"{layer}: p must be in [0, 1), got {p}")
    x = _check_float_array(x, "x", layer)
    if not training or p == 0:
        return x, None
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{layer}: rng must be a numpy.random.Generator, got {type(rng).__name__}")
    keep = rng.random(x.shape, dtype=np.float64) >= p
    mask = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - p))
    return x * mask, mask


def dropout_backward(dout, mask, *, layer="Dropout"):
    if mask is None:
        return np.array(dout, copy=True)
    dout = _check_float_array(dout, "dout", layer, dtype=mask.dtype)
    _check_same_shape(dout, mask, "dout", "the dropout mask", layer)
    return dout * mask
