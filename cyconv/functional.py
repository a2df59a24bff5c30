"""The checked entry points to the Cython kernels: validate -> plan -> allocate -> call.

This module is the only importer of ``cyconv._kernels``; the plans (index tables, thread
counts, scratch buffers) come from :mod:`cyconv._plans`, the settings' rules from
:mod:`cyconv.schema`. The kernels run with bounds checking
off, so every shape, dtype and value that could make them read or write out of bounds is
checked here first, and a bad input gets a ``ValueError`` or ``TypeError`` that names the
layer, the shapes and the formula.

Every forward function returns ``(out, cache)``; every backward function takes
``(dout, cache)`` and returns the input gradient (and parameter gradients), CS231n style.
Backward never writes into ``dout``.
"""
import functools
from typing import NamedTuple, Optional

import numpy as np

from . import _plans, _threads, schema
from ._checks import FLOAT_DTYPES, trusted_inputs  # noqa: F401  (part of this API)
from ._checks import check_float_array as _check_float_array
from ._checks import check_same_shape as _check_same_shape
from ._checks import fmt as _fmt
from ._kernels import _activations, _conv2d, _dense, _lrn, _pool2d
from ._kernels._build_info import debug_build
from ._plans import num_threads as _num_threads
from ._plans import streaming_threads as _streaming_threads
from ._plans import scratch as _scratch
from .shapes import PADDING_MODES, ShapeError

_threads.pin_scipy_blas_to_one_thread()

POOL_KINDS = {"max": 0, "avg": 1, "min": 2}
ACTIVATION_KINDS = _activations.KINDS

__all__ = [
    "PADDING_MODES", "ShapeError", "debug_build",
    "conv2d_forward", "conv2d_backward", "pool2d_forward", "pool2d_backward",
    "relu_max_pool2d_forward",
    "global_avg_pool_forward", "global_avg_pool_backward",
    "dense_forward", "dense_backward", "activation_forward", "activation_backward",
    "softmax_forward", "softmax_backward", "softmax_cross_entropy", "mse_loss", "l1_loss",
    "lrn_forward", "lrn_backward", "dropout_forward", "dropout_backward",
    "batchnorm_forward", "batchnorm_backward",
]


# ----------------------------------------------------------------------------- conv2d

class Conv2DCache(NamedTuple):
    x: np.ndarray
    w: np.ndarray
    has_bias: bool
    geometry: _plans.ConvGeometry
    plan: _conv2d.ConvPlan
    columns: Optional[np.ndarray]   # the forward's im2col columns, when kept
    chunk: int
    groups: int = 1
    workspace: Optional[dict] = None   # where the kept columns live, and their generation
    generation: int = 0


@functools.lru_cache(maxsize=256)
def _conv_plan(chw, w_shape, stride, padding, padding_mode, layer, dilation=1, groups=1):
    # Cached per layer shape: the index tables and the kernel's typed plan are built once.
    geometry = _plans.conv_geometry(chw, w_shape, stride, padding, padding_mode, layer,
                                    dilation, groups)
    C, H, W = chw
    plan = _conv2d.ConvPlan(C, H, W, w_shape[2], w_shape[3], geometry.stride[1],
                            geometry.dilation[1], geometry.pads[2], geometry.row_src, geometry.col_src,
                            geometry.col_lo, geometry.col_hi)
    return geometry, plan


def _conv_run(chunk, threads, *, blocks=1, has_bias=False, keep_columns=False, direct_dout=False,
              need_dx=False, groups=1):
    """The kernels' ConvRun struct, as the dict Cython converts."""
    return {"chunk": chunk, "blocks": blocks, "num_threads": threads, "has_bias": has_bias,
            "keep_columns": keep_columns, "direct_dout": direct_dout, "need_dx": need_dx,
            "groups": groups}


def conv2d_forward(x, w, b=None, *, stride=1, padding=0, padding_mode="zeros", workspace=None,
                   layer="Conv2D", dilation=1, groups=1):
    """Convolve x (N, C, H, W) with w (F, C, KH, KW), add b (F,): out (N, F, OH, OW).

    OH = (H + top + bottom − DH·(KH − 1) − 1)/SH + 1 (floored), likewise OW; ``dilation``
    (DH, DW) spreads the kernel's taps apart; with ``groups`` G, w is (F, C/G, KH, KW) and
    filter f sees only the C/G channels of its group. ``workspace``, a dict the
    caller keeps between calls, lets the forward pass keep its im2col columns there for the
    backward pass (a training step then runs im2col once instead of twice).
    """
    w = _check_float_array(w, "W", layer, ndim=4)
    x = _check_float_array(x, "x", layer, ndim=4, dtype=w.dtype)
    has_bias = b is not None
    if has_bias:
        b = _check_float_array(b, "b", layer, ndim=1, dtype=w.dtype)
        if b.shape[0] != w.shape[0]:
            raise ValueError(f"{layer}: bias b {_fmt(b.shape)} must have one value per filter, "
                             f"F={w.shape[0]} (W is {_fmt(w.shape)})")
    geometry, plan = _conv_plan(x.shape[1:], w.shape, _plans.hashable(stride),
                                _plans.hashable(padding), padding_mode, layer,
                                _plans.hashable(dilation), groups)
    N = x.shape[0]
    F, Cg, KH, KW = w.shape
    OH, OW = geometry.out_hw
    # K: one filter's weights (its group's channels); the columns hold every channel's, G·K.
    P, K = OH * OW, Cg * KH * KW
    nt = _plans.conv_threads(N * F * P * K)
    chunk = _plans.conv_chunk(N, K * groups, P, nt)
    nt = _plans.threads_for_chunks(nt, N, chunk)
    width = K * groups * chunk * P
    out = np.empty((N, F, P), dtype=w.dtype)
    columns = _plans.kept_columns(workspace, -(-N // chunk), width, w.dtype)
    col_buf = columns if columns is not None else _scratch("col", nt, width, w.dtype)
    out_buf = _scratch("gemm_out", nt, F * chunk * P, w.dtype)
    bias = b if has_bias else np.zeros(F, dtype=w.dtype)
    run = _conv_run(chunk, nt, has_bias=has_bias, keep_columns=columns is not None,
                    groups=groups)
    _conv2d.conv2d_forward(plan, run, x, w.reshape(F, K), bias, out, col_buf, out_buf)
    kept = columns is not None
    cache = Conv2DCache(x, w, has_bias, geometry, plan, columns, chunk, groups,
                        workspace if kept else None, workspace["generation"] if kept else 0)
    return out.reshape(N, F, OH, OW), cache


def conv2d_backward(dout, cache, *, need_dx=True, layer="Conv2D"):
    """Gradients of a convolution: returns (dx, dw, db); db is None without bias.

    dW[f, c, i, j] = Σ_{n, oh, ow} dout[n, f, oh, ow] · xpad[n, c, oh·SH + i, ow·SW + j]
    db[f]          = Σ_{n, oh, ow} dout[n, f, oh, ow]
    dx             = the same products scattered back through the padding (col2im).
    """
    x, w = cache.x, cache.w
    N = x.shape[0]
    F, C, KH, KW = w.shape
    OH, OW = cache.geometry.out_hw
    dout = _check_float_array(dout, "dout", layer, ndim=4, dtype=w.dtype)
    if dout.shape != (N, F, OH, OW):
        raise ValueError(f"{layer}: dout {_fmt(dout.shape)} must match the forward output "
                         f"{_fmt((N, F, OH, OW))}")
    K, P = C * KH * KW, OH * OW
    G = cache.groups
    nt = _plans.conv_threads(N * F * P * K * (2 if need_dx else 1))
    kept = cache.columns is not None
    if kept:
        _plans.check_generation(cache.workspace, cache.generation, layer)
    # Kept columns fix the chunking the forward pass used; else the thread count may differ.
    chunk = cache.chunk if kept else _plans.conv_chunk(N, K * G, P, nt)
    nt = _plans.threads_for_chunks(nt, N, chunk)
    dx = np.empty(x.shape, dtype=w.dtype) if need_dx else np.empty((1, 1, 1, 1), dtype=w.dtype)
    blocks = _plans.conv_blocks(-(-N // chunk), nt, F * K)
    dw_acc = _scratch("dw_acc", blocks, F * K, w.dtype)
    db_acc = _scratch("db_acc", blocks, F, w.dtype)
    col_buf = cache.columns if kept else _scratch("col", nt, K * G * chunk * P, w.dtype)
    dcol_buf = _scratch("dcol", nt, K * G * chunk * P, w.dtype) if need_dx else dw_acc
    direct_dout = P >= _plans.DIRECT_DOUT_MIN_PIXELS
    dout_buf = dw_acc if direct_dout else _scratch("gemm_out", nt, F * chunk * P, w.dtype)
    run = _conv_run(chunk, nt, blocks=blocks, keep_columns=kept, direct_dout=direct_dout,
                    need_dx=need_dx, groups=G)
    dw = np.empty(w.shape, dtype=w.dtype)
    db = np.empty(F, dtype=w.dtype)
    _conv2d.conv2d_backward(cache.plan, run, dout.reshape(N, F, P), x, w.reshape(F, K), dx,
                            dw.reshape(F, K), db, dw_acc, db_acc, col_buf, dcol_buf, dout_buf)
    return (dx if need_dx else None), dw, (db if cache.has_bias else None)


# ----------------------------------------------------------------------------- pooling

class Pool2DCache(NamedTuple):
    x_shape: tuple
    kind: str
    geometry: _plans.PoolGeometry
    arg: Optional[np.ndarray]       # int32 flat index in the plane of each window's pick
    dtype: np.dtype
    relu_first: bool = False        # the ReLU before this max pooling ran fused into it
    workspace: Optional[dict] = None   # where arg lives, and its generation
    generation: int = 0


def _pool_plan(x, kind, kernel_size, stride, padding, layer, options):
    return _plans.pool_geometry(x.shape[2:], kind, _plans.hashable(kernel_size),
                                _plans.hashable(stride), _plans.hashable(padding), layer,
                                tuple((key, _plans.hashable(value))
                                      for key, value in sorted(options.items())))


def pool2d_forward(x, *, kind="max", kernel_size=2, stride=None, padding=0, layer="Pool2D",
                   workspace=None, **options):
    """Max, average or min pooling of x (N, C, H, W) → (N, C, OH, OW); no parameters.

    OH = ⌊(H + 2·P − D·(KH − 1) − 1)/SH⌋ + 1 (⌈…⌉ with ceil_mode). ``options``: dilation and
    ceil_mode (max, min), ceil_mode and count_include_pad (avg), as the layers' settings.
    Max/min remember which pixel won (first on a tie). ``workspace``, a dict the caller keeps
    between calls, holds those indices from step to step instead of a new array each time.
    """
    if kind not in POOL_KINDS:
        raise ValueError(f"{layer}: unknown pooling kind {kind!r}; use one of {tuple(POOL_KINDS)}")
    return _pool_run(x, kind, kernel_size, stride, padding, layer, workspace, False, options)


def relu_max_pool2d_forward(x, *, kernel_size=2, stride=None, padding=0, layer="MaxPool2D",
                            workspace=None, **options):
    """max_pool(relu(x)) in one pass, bit for bit what the two kernels give one after the
    other, without writing relu(x); ``pool2d_backward`` of its cache is the gradient of the
    pair with respect to x. The options are MaxPool2D's (dilation, ceil_mode)."""
    return _pool_run(x, "max", kernel_size, stride, padding, layer, workspace, True, options)


def _pool_run(x, kind, kernel_size, stride, padding, layer, workspace, relu_first, options):
    x = _check_float_array(x, "x", layer, ndim=4)
    geometry = _pool_plan(x, kind, kernel_size, stride, padding, layer, options)
    N, C, H, W = x.shape
    if H * W >= 2 ** 31:
        raise ValueError(f"{layer}: an input plane of H·W = {H}·{W} pixels is too large: the "
                         f"pooling indices are int32 (H·W < 2³¹)")
    (KH, KW), (OH, OW) = geometry.kernel, geometry.out_hw
    out = np.empty((N * C, OH, OW), dtype=x.dtype)
    keeps_arg = kind != "avg"
    arg = (_plans.pool_indices(workspace, (N * C, OH, OW)) if keeps_arg
           else np.empty((1, 1, 1), dtype=np.intc))
    _pool2d.pool2d_forward(x.reshape(N * C, H, W), POOL_KINDS[kind], geometry.window(), out,
                           arg, _streaming_threads(out.size * KH * KW), relu_first)
    kept = keeps_arg and workspace is not None
    cache = Pool2DCache(x.shape, kind, geometry, arg if keeps_arg else None, x.dtype, relu_first,
                        workspace if kept else None, workspace["generation"] if kept else 0)
    return out.reshape(N, C, OH, OW), cache


def pool2d_backward(dout, cache, layer="Pool2D"):
    """Input gradient of pooling: max/min send each gradient to the recorded pixel; average
    spreads dout/(KH·KW) over its window. After ``relu_max_pool2d_forward`` the gradient is
    the fused pair's: only windows whose maximum is > 0 pass theirs on."""
    N, C, H, W = cache.x_shape
    dout = _check_float_array(dout, "dout", layer, ndim=4, dtype=cache.dtype)
    OH, OW = cache.geometry.out_hw
    expected = (N, C, OH, OW)
    if dout.shape != expected:
        raise ValueError(f"{layer}: dout {_fmt(dout.shape)} must match the forward output "
                         f"{_fmt(expected)}")
    flat = dout.reshape(N * C, OH, OW)
    if cache.arg is not None and cache.geometry.disjoint_2x2(H, W):
        # Each input pixel is in at most one window: the kernel writes every one of dx.
        _plans.check_pool_generation(cache.workspace, cache.generation, layer)
        dx = np.empty((N * C, H, W), dtype=cache.dtype)
        _pool2d.pool2d_backward_2x2(flat, cache.arg, dx, _streaming_threads(dx.size))
        return dx.reshape(cache.x_shape)
    dx = np.zeros((N * C, H, W), dtype=cache.dtype)
    if cache.arg is not None:
        _plans.check_pool_generation(cache.workspace, cache.generation, layer)
        _pool2d.pool2d_backward_argmax(flat, cache.arg, dx, _streaming_threads(dx.size))
    else:
        KH, KW = cache.geometry.kernel
        _pool2d.pool2d_backward_avg(flat, cache.geometry.window(), dx,
                                    _streaming_threads(flat.size * KH * KW))
    return dx.reshape(cache.x_shape)


def global_avg_pool_forward(x, *, layer="GlobalAvgPool2D"):
    """The mean of each (H, W) plane: x (N, C, H, W) → (N, C). Returns (out, cache)."""
    x = _check_float_array(x, "x", layer, ndim=4)
    N, C, H, W = x.shape
    out = np.empty(N * C, dtype=x.dtype)
    _pool2d.global_avg_pool_forward(x.reshape(N * C, H * W), out, _streaming_threads(x.size))
    return out.reshape(N, C), (x.shape, x.dtype)


def global_avg_pool_backward(dout, cache, *, layer="GlobalAvgPool2D"):
    """dx[n, c, h, w] = dout[n, c] / (H·W)."""
    x_shape, dtype = cache
    N, C, H, W = x_shape
    dout = _check_float_array(dout, "dout", layer, ndim=2, dtype=dtype)
    if dout.shape != (N, C):
        raise ValueError(f"{layer}: dout {_fmt(dout.shape)} must match the forward output "
                         f"(N, C) = {_fmt((N, C))}")
    dx = np.empty((N * C, H * W), dtype=dtype)
    _pool2d.global_avg_pool_backward(dout.reshape(N * C), dx, _streaming_threads(dx.size))
    return dx.reshape(x_shape)


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
                         _plans.dense_threads(x.shape[0] * w.size))
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
                          _plans.dense_threads(2 * x.shape[0] * w.size))
    return (dx if need_dx else None), dw, (db if cache.has_bias else None)


# ----------------------------------------------------------------------------- activations

class ActivationCache(NamedTuple):
    kind: str
    cached: np.ndarray   # the forward output for the kernel's BACKWARD_READS_OUTPUT kinds,
                         # else the input
    parameter: float


def activation_forward(x, kind, *, parameter=0.0, layer=None):
    """Element-wise activation ``kind`` (one of ``ACTIVATION_KINDS``) of an array of any
    shape; ``parameter`` is the kind's scalar setting (LeakyReLU's negative slope)."""
    if kind not in ACTIVATION_KINDS:
        raise ValueError(f"unknown activation {kind!r}; use one of {tuple(ACTIVATION_KINDS)}")
    layer = layer or kind
    x = _check_float_array(x, "x", layer)
    out = np.empty_like(x)
    _activations.activation_forward(x.reshape(-1), ACTIVATION_KINDS[kind], parameter,
                                    out.reshape(-1), _streaming_threads(x.size))
    cached = out if kind in _activations.BACKWARD_READS_OUTPUT else x
    return out, ActivationCache(kind, cached, parameter)


def activation_backward(dout, cache, *, layer=None):
    layer = layer or cache.kind
    dout = _check_float_array(dout, "dout", layer, dtype=cache.cached.dtype)
    _check_same_shape(dout, cache.cached, "dout", "the forward input", layer)
    dx = np.empty_like(dout)
    _activations.activation_backward(dout.reshape(-1), cache.cached.reshape(-1),
                                     ACTIVATION_KINDS[cache.kind], cache.parameter,
                                     dx.reshape(-1), _streaming_threads(dx.size))
    return dx


def softmax_forward(x, *, layer="Softmax"):
    """Row-wise softmax of x (N, K), stable for large logits."""
    x = _check_float_array(x, "x", layer, ndim=2)
    out = np.empty_like(x)
    _activations.softmax_forward(x, out, _streaming_threads(x.size))
    return out, out


def softmax_backward(dout, out, *, layer="Softmax"):
    """dx = s ⊙ (dout − Σ dout ⊙ s), row by row."""
    dout = _check_float_array(dout, "dout", layer, ndim=2, dtype=out.dtype)
    _check_same_shape(dout, out, "dout", "the softmax output", layer)
    dx = np.empty_like(out)
    _activations.softmax_backward(dout, out, dx, _streaming_threads(dx.size))
    return dx


# ----------------------------------------------------------------------------- losses
# In their own module (this one would pass 500 lines); importable from here as before.
from ._functional_losses import (check_class_weight, check_ignore_index,  # noqa: E402,F401
                                 check_label_smoothing, check_labels, check_reduction, l1_loss,
                                 mse_loss, softmax_cross_entropy)
from ._functional_norm import batchnorm_backward, batchnorm_forward  # noqa: E402,F401


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
    values = schema.settings("LRN", layer, {"size": size, "alpha": alpha, "beta": beta, "k": k})
    size, alpha, beta, k = (values[key] for key in ("size", "alpha", "beta", "k"))
    x = _check_float_array(x, "x", layer, ndim=4)
    N, C, H, W = x.shape
    flat = x.reshape(N, C, H * W)
    out = np.empty_like(flat)
    scale = np.empty_like(flat)
    _lrn.lrn_forward(flat, size, alpha, beta, k, out, scale, _num_threads(flat.size * size))
    return out.reshape(x.shape), LRNCache(x, out.reshape(x.shape), scale, size, alpha, beta)


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
    p = schema.settings("Dropout", layer, {"p": p})["p"]
    x = _check_float_array(x, "x", layer)
    if not training or p == 0:
        return x, None
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{layer}: rng must be a numpy.random.Generator, got {type(rng).__name__}")
    # np.asarray: for a 0-d x the generator and the products give NumPy scalars, not arrays.
    keep = np.asarray(rng.random(x.shape, dtype=np.float64) >= p)
    mask = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - p))
    return np.asarray(x * mask), np.asarray(mask)


def dropout_backward(dout, mask, *, layer="Dropout"):
    if mask is None:
        return np.array(dout, copy=True)
    dout = _check_float_array(dout, "dout", layer, dtype=mask.dtype)
    _check_same_shape(dout, mask, "dout", "the dropout mask", layer)
    return np.asarray(dout * mask)
