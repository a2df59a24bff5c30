"""What the kernels are told besides the arrays: geometry plans, thread counts, scratch buffers.

:mod:`cyconv.functional` validates its inputs, asks this module for a plan (the index tables
and sizes that depend only on shapes and settings, cached), allocates, and calls a kernel.
NumPy only: nothing here imports a compiled kernel.
"""
import functools
import math
import threading
from typing import NamedTuple

import numpy as np

from . import _threads, schema
from .shapes.geometry import check_padding_reach, conv_output_size, normalize_padding
from .shapes.geometry import pool_window_geometry

__all__ = ["ConvGeometry", "PoolGeometry", "check_generation", "check_pool_generation", "conv_blocks",
           "conv_chunk", "conv_geometry", "conv_threads", "dense_threads", "kept_columns", "num_threads",
           "pool_geometry", "pool_indices", "scratch", "source_index", "streaming_threads", "threads_for_chunks"]

# Below this many multiply-adds (or element visits) a kernel runs on one thread: waking a
# sleeping OpenMP thread (OMP_WAIT_POLICY=PASSIVE) costs tens of microseconds, more than the
# work itself at batch 1, where two threads made a training step 4x slower than one.
_WORK_PER_EXTRA_THREAD = 1 << 17

# From this many output pixels per sample on, the backward pass runs one GEMM per sample
# straight on dout; below it, copying dout into the chunk layout for one big GEMM is cheaper.
DIRECT_DOUT_MIN_PIXELS = 256

_KEPT_COLUMNS_BYTES = 64 << 20   # keep im2col columns for backward up to 64 MiB per layer

# im2col columns a thread fills before its GEMM reads them: K·chunk·P ≤ 32 Ki values (128 KiB
# in float32), so the columns are still in L2 when the GEMM packs them. A budget of 512 Ki
# values (the columns of the whole batch for the small nets) made bigger GEMMs but sent the
# columns through memory: forward + backward of LeNet-5's conv1 took 1.47 ms against 0.94,
# mnist_cnn's conv2 3.25 against 2.75 (1 thread, batch 64; `benchmarks/` per-layer timings).
_CHUNK_ELEMENTS = 1 << 15


def num_threads(work=None):
    """The thread count for a kernel call doing about ``work`` operations."""
    threads = _threads.get_num_threads()
    if work is None or threads == 1:
        return threads
    return max(1, min(threads, int(work) // _WORK_PER_EXTRA_THREAD))


# ----------------------------------------------------------------------------- scratch

_scratch_store = threading.local()


def scratch(role, rows, cols, dtype):
    """A (rows, cols) scratch array the kernels overwrite, reused from call to call.

    Allocating megabytes of im2col scratch every step cost a page fault per 4 KiB touched.
    The store is per Python thread, so the app's training thread and a caller in the GUI
    thread never share a buffer; an array returned to the caller is never scratch. Each shape's
    view is kept too: at batch 1, slicing and reshaping anew cost as much as a small kernel."""
    store = getattr(_scratch_store, "buffers", None)
    if store is None:
        store = _scratch_store.buffers = {}
    cols = max(cols, 1)
    view = store.get((role, dtype, rows, cols))
    if view is not None:
        return view
    key = (role, np.dtype(dtype).str)
    buffer = store.get(key)
    if buffer is None or buffer.size < rows * cols:
        buffer = store[key] = np.empty(rows * cols, dtype=dtype)
        # The views of the smaller buffer would keep it alive: forget them.
        for stale in [k for k in store if len(k) == 4 and k[0] == role]:
            del store[stale]
    view = store[(role, dtype, rows, cols)] = buffer[:rows * cols].reshape(rows, cols)
    return view


def kept_columns(workspace, chunks, width, dtype):
    """The (chunks, width) array a training forward pass keeps its columns in, reused from
    ``workspace`` (a dict the layer owns) step after step; None when it would exceed the
    budget, and the backward pass then recomputes them."""
    if workspace is None or chunks * width * np.dtype(dtype).itemsize > _KEPT_COLUMNS_BYTES:
        return None
    buffer = workspace.get("columns")
    if buffer is None or buffer.dtype != dtype or buffer.size < chunks * width:
        buffer = workspace["columns"] = np.empty(chunks * width, dtype=dtype)
    # Each forward pass that fills the columns gets a new generation: a backward pass of an
    # older one would read another pass's columns, so it checks its generation first.
    workspace["generation"] = workspace.get("generation", 0) + 1
    return buffer[:chunks * width].reshape(chunks, width)


def check_generation(workspace, generation, layer):
    """ValueError when a later forward pass has refilled ``workspace`` since ``generation``."""
    if workspace is not None and workspace.get("generation") != generation:
        raise ValueError(f"{layer}: this backward pass belongs to an earlier forward pass whose columns "
                         f"were overwritten by a later forward pass with the same workspace; run each "
                         f"backward before the next forward, or give each pass its own workspace")


def threads_for_chunks(threads, N, chunk):
    """No more threads than chunks of ``chunk`` samples: a thread with no chunk still has to be
    woken and waited for (at batch 1 on 2 threads that made a training step twice as slow)."""
    return max(1, min(threads, -(-N // chunk)))


# With more than one thread, a convolution's backward pass hands out blocks of consecutive
# chunks dynamically, each accumulating dW and db into a row of its own: up to this many
# blocks per thread, so a thread that starts late (its core busy with the app's GUI thread, or
# another program) leaves at most about a quarter of its share to the others, and up to
# this many accumulator values (4 MiB in float32) for all blocks together.
_BLOCKS_PER_THREAD = 4
_BLOCK_ACCUMULATOR_VALUES = 1 << 20


def conv_blocks(chunks, threads, accumulator_values):
    """Blocks of chunks a convolution's backward pass splits into (one dW/db row each): one
    on one thread; else up to ``_BLOCKS_PER_THREAD`` per thread while their accumulators of
    ``accumulator_values`` (K·F) each fit the budget, but never fewer than the threads."""
    if threads <= 1:
        return 1
    fits = _BLOCK_ACCUMULATOR_VALUES // max(1, accumulator_values)
    return max(1, min(chunks, max(threads, min(threads * _BLOCKS_PER_THREAD, fits))))


def conv_chunk(N, K, P, threads):
    """Samples per GEMM: as many as fit the scratch budget (at least one), but at least one
    chunk per thread."""
    fits = max(1, _CHUNK_ELEMENTS // max(1, K * P))
    per_thread_count = -(-N // threads)
    return max(1, min(fits, per_thread_count))


# ----------------------------------------------------------------------------- convolution

def source_index(size, before, after, mode):
    """For each position of a padded axis, the input index it copies, or -1 for a zero.

    ``size`` input pixels, ``before``/``after`` padded ones: positions ``-before .. size+after-1``.
    replicate repeats the edge (the edge-filling kind of "same padding"), reflect mirrors
    without repeating the edge (PyTorch's 'reflect'), circular wraps around.
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


def _window_table(src, out_size, kernel, stride, dilation=1):
    """table[o·kernel + k] = src[o·stride + k·dilation]: the input index under each tap."""
    positions = np.arange(out_size)[:, None] * stride + dilation * np.arange(kernel)[None, :]
    return np.ascontiguousarray(src[positions.ravel()], dtype=np.intp)


def _interior_columns(W, left, KW, SW, OW, DW=1):
    """For each kernel column j, the outputs [lo, hi) whose input column ow·SW + j·DW − left
    lies inside the image: there im2col copies directly, without the padding table."""
    ow = np.arange(OW)[None, :]
    source = ow * SW + DW * np.arange(KW)[:, None] - left
    inside = (source >= 0) & (source < W)
    lo = np.where(inside.any(axis=1), inside.argmax(axis=1), OW)
    hi = np.where(inside.any(axis=1), OW - inside[:, ::-1].argmax(axis=1), OW)
    return np.ascontiguousarray(lo, np.intp), np.ascontiguousarray(np.maximum(hi, lo), np.intp)


class ConvGeometry(NamedTuple):
    """Everything about a convolution that depends only on shapes and settings."""
    stride: tuple
    dilation: tuple
    pads: tuple          # (top, bottom, left, right)
    out_hw: tuple
    row_src: np.ndarray  # (OH·KH,) input row under each kernel row, -1 for a zero
    col_src: np.ndarray  # (OW·KW,) likewise for columns
    col_lo: np.ndarray   # (KW,) see _interior_columns
    col_hi: np.ndarray


def hashable(value):
    return tuple(value) if isinstance(value, list) else value


def conv_geometry(chw, w_shape, stride, padding, padding_mode, layer, dilation=1, groups=1):
    """The :class:`ConvGeometry` of x (N,) + ``chw`` and weights ``w_shape`` (F, C, KH, KW).

    Raises with the schema's and the shape engine's messages: these are the checks the
    kernels rely on for memory safety. The caller caches the result per layer shape.
    """
    C, H, W = chw
    F, CW, KH, KW = w_shape
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise ValueError(f"{layer}: groups must be an int of at least 1, got {groups!r}")
    if C != CW * groups:
        grouped = f" = groups·C/groups = {groups}·{CW}" if groups > 1 else ""
        layout = "(F, C/groups, KH, KW)" if groups > 1 else "(F, C, KH, KW)"
        raise ValueError(
            f"{layer}: the input has C={C} channels but the weights W {tuple(w_shape)} expect "
            f"C={CW * groups}{grouped} (W is {layout}); x is (N, {C}, {H}, {W})")
    values = schema.settings("Conv2D", layer, {
        "in_channels": C, "out_channels": F, "kernel_size": (KH, KW), "stride": stride,
        "padding": padding, "padding_mode": padding_mode, "dilation": dilation,
        "groups": groups})
    sh, sw = values["stride"]
    dh, dw = values["dilation"]
    # A dilated kernel spans D·(K − 1) + 1 pixels: the output size and "same" padding use it.
    span = (dh * (KH - 1) + 1, dw * (KW - 1) + 1)
    pads = normalize_padding(padding, span, (sh, sw), (H, W), layer)
    check_padding_reach(padding_mode, pads, (H, W), layer)
    top, bottom, left, right = pads
    OH = conv_output_size(H, top, bottom, span[0], sh, axis="H", layer=layer)
    OW = conv_output_size(W, left, right, span[1], sw, axis="W", layer=layer)
    row_src = _window_table(source_index(H, top, bottom, padding_mode), OH, KH, sh, dh)
    col_src = _window_table(source_index(W, left, right, padding_mode), OW, KW, sw, dw)
    col_lo, col_hi = _interior_columns(W, left, KW, sw, OW, dw)
    for table in (row_src, col_src, col_lo, col_hi):
        table.flags.writeable = False     # shared by every call with these shapes
    return ConvGeometry((sh, sw), (dh, dw), pads, (OH, OW), row_src, col_src, col_lo, col_hi)


# ----------------------------------------------------------------------------- dense, streaming

# Waking the second OpenMP thread costs ~100 µs on this 2-vCPU VM when the other core is
# idle (its vCPU has to be scheduled again; ~5 µs when the machine is busy), so a call must
# save more than that to use it. Measured with `_kernels` calls alone, 1 → 2 threads:
#   dense fwd 64×320→100 (2 Mi multiply-adds) 0.047 → 0.171 ms, 256×320→100 (8 Mi)
#   0.145 → 0.220, 64×800→500 (26 Mi) 0.503 → 0.523, 64×4096→128 (34 Mi) 0.721 → 0.652;
#   ReLU / fused ReLU-pool of 0.37 Mi values 0.128 → 0.161 / 0.206 → 0.212 ms, of 0.74 Mi
#   0.275 → 0.233 / 0.450 → 0.359.
# Hence: GEMMs split from 16 Mi multiply-adds per thread, memory-bound (streaming) kernels
# from 3 × 128 Ki = 384 Ki values per thread: two threads only where they were faster.
_GEMM_WORK_FACTOR = 128
_STREAMING_WORK_FACTOR = 3
# A convolution's multiply-adds cost more than a dense GEMM's (im2col, col2im, small GEMMs):
# mnist_cnn's conv2 runs ~20 M a millisecond on one thread, so from 4 Mi per thread (about
# 0.2 ms each) the second thread saves more than it costs to wake. At batch 8 every layer of
# mnist_cnn stays on one thread; at batch 64 both convolutions split.
_CONV_WORK_FACTOR = 32


def _threads_for(work, factor):
    threads = _threads.get_num_threads()
    per_thread = _WORK_PER_EXTRA_THREAD * factor
    return max(1, min(threads, int(work) // per_thread))


def dense_threads(multiply_adds):
    """The thread count for a dense kernel call doing ``multiply_adds`` multiply-adds."""
    return _threads_for(multiply_adds, _GEMM_WORK_FACTOR)


def conv_threads(multiply_adds):
    """The thread count for a convolution kernel call doing ``multiply_adds`` multiply-adds."""
    return _threads_for(multiply_adds, _CONV_WORK_FACTOR)


def streaming_threads(values):
    """The thread count for a memory-bound kernel (activations, pooling) over ``values``
    values (or window taps)."""
    return _threads_for(values, _STREAMING_WORK_FACTOR)


# ----------------------------------------------------------------------------- pooling

def pool_indices(workspace, shape):
    """The int32 array a max/min pooling forward pass records its picks in: a new one, or,
    with a ``workspace`` (a dict the layer owns), the same one step after step, each pass a
    new generation (``check_generation``) so a stale backward pass is refused."""
    if workspace is None:
        return np.empty(shape, dtype=np.intc)
    size = math.prod(shape)
    buffer = workspace.get("indices")
    if buffer is None or buffer.size < size:
        buffer = workspace["indices"] = np.empty(size, dtype=np.intc)
    workspace["generation"] = workspace.get("generation", 0) + 1
    return buffer[:size].reshape(shape)


def check_pool_generation(workspace, generation, layer):
    """ValueError when a later forward pass has refilled ``workspace``'s pooling indices."""
    if workspace is not None and workspace.get("generation") != generation:
        raise ValueError(f"{layer}: this backward pass belongs to an earlier forward pass whose pooling "
                         f"indices were overwritten by a later forward pass with the same workspace; run "
                         f"each backward before the next forward, or give each pass its own workspace")


POOL_TYPES = {"max": "MaxPool2D", "avg": "AvgPool2D", "min": "MinPool2D"}


class PoolGeometry(NamedTuple):
    kernel: tuple
    stride: tuple
    padding: tuple   # (PH, PW), the same before and after
    out_hw: tuple
    dilation: tuple = (1, 1)
    count_include_pad: bool = True

    def window(self):
        """The kernels' Window struct, as the dict Cython converts (built once per geometry:
        a batch-1 pooling call spends more time in Python than in the kernel)."""
        return _window_of(self)

    def disjoint_2x2(self, H, W):
        """Whether these are 2×2 windows with stride 2 and no padding or dilation, all inside
        an (H, W) plane: each pixel then lies in at most one window."""
        OH, OW = self.out_hw
        return (self.kernel == (2, 2) and self.stride == (2, 2) and self.padding == (0, 0)
                and self.dilation == (1, 1) and 2 * OH <= H and 2 * OW <= W)

    def _window(self):
        (KH, KW), (SH, SW), (PH, PW) = self.kernel, self.stride, self.padding
        DH, DW = self.dilation
        return {"KH": KH, "KW": KW, "SH": SH, "SW": SW, "PH": PH, "PW": PW, "DH": DH, "DW": DW,
                "INCLUDE_PAD": self.count_include_pad}


@functools.lru_cache(maxsize=256)
def _window_of(geometry):
    return geometry._window()


@functools.lru_cache(maxsize=256)
def pool_geometry(hw, kind, kernel_size, stride, padding, layer, options=()):
    """The :class:`PoolGeometry` of pooling an (H, W) plane; the schema's checks (padding at
    most half the window, symmetric) and the shape engine's output size. ``options`` are the
    type's other settings as (key, value) pairs: dilation and ceil_mode (max, min),
    ceil_mode and count_include_pad (avg). Cached: the Python checks cost more than the
    pooling itself on small batches; errors are not cached."""
    values = schema.settings(POOL_TYPES[kind], layer, {
        "kernel_size": kernel_size, "stride": stride, "padding": padding, **dict(options)})
    (KH, KW), (SH, SW), (PH, PW) = values["kernel_size"], values["stride"], values["padding"]
    dilation = values.get("dilation", (1, 1))
    H, W = hw
    if values["ceil_mode"] or dilation != (1, 1):
        (OH, OW), _ = pool_window_geometry(hw, (KH, KW), (SH, SW), (PH, PW), dilation,
                                           values["ceil_mode"], layer)
    else:
        OH = conv_output_size(H, PH, PH, KH, SH, axis="H", layer=layer)
        OW = conv_output_size(W, PW, PW, KW, SW, axis="W", layer=layer)
    return PoolGeometry((KH, KW), (SH, SW), (PH, PW), (OH, OW), dilation,
                        values.get("count_include_pad", True))
