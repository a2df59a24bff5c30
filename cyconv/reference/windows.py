"""Padding, convolution and pooling in plain NumPy loops (see the package docstring)."""
import numpy as np

__all__ = ["PADDING_MODES", "POOL_KINDS", "conv2d_backward", "conv2d_forward",
           "grouped_conv2d_backward", "grouped_conv2d_forward",
           "global_avg_pool_backward", "global_avg_pool_forward", "pad",
           "pad_backward", "pool2d_backward", "pool2d_forward"]

PADDING_MODES = ("zeros", "replicate", "reflect", "circular")
POOL_KINDS = ("max", "avg", "min")


# --------------------------------------------------------------------------- geometry helpers
def _pair(value):
    """``2 -> (2, 2)``; a pair is returned as a tuple of two ints."""
    if np.isscalar(value):
        return int(value), int(value)
    first, second = value
    return int(first), int(second)


def _output_size(size, pad_before, pad_after, kernel, stride):
    """OH = (H + top + bottom - KH) // SH + 1, floored as in PyTorch."""
    return (size + pad_before + pad_after - kernel) // stride + 1


def _source_index(padded_index, size, pad_before, mode):
    """Which input index the padded position ``padded_index`` copies, or -1 for a zero.

    With ``i = padded_index - pad_before`` (the position in input coordinates, possibly
    outside ``0 .. size-1``):

    * zeros:     -1 outside the input (the value there is 0);
    * replicate: the nearest edge, ``clip(i, 0, size-1)``;
    * reflect:   mirror at the edge without repeating it (PyTorch/NumPy 'reflect'):
                 for size 4, ``... 2 1 | 0 1 2 3 | 2 1 ...``; the pattern has period 2(size-1);
    * circular:  wrap around, ``i mod size``.
    """
    i = padded_index - pad_before
    if 0 <= i < size:
        return i
    if mode == "zeros":
        return -1
    if mode == "replicate":
        return min(max(i, 0), size - 1)
    if mode == "reflect":
        if size < 2:
            raise ValueError("reference.pad: reflect padding needs at least 2 pixels along the "
                             f"padded axis, got {size}")
        period = 2 * (size - 1)
        i = i % period
        return i if i < size else period - i
    if mode == "circular":
        return i % size
    raise ValueError(f"reference.pad: padding mode must be one of {PADDING_MODES}, got {mode!r}")


def _source_indices(size, pad_before, pad_after, mode):
    """``_source_index`` for every position of a padded axis of length size+before+after."""
    return [_source_index(p, size, pad_before, mode)
            for p in range(size + pad_before + pad_after)]


# --------------------------------------------------------------------------- padding
def pad(x, pads, mode="zeros"):
    """Pad the two spatial axes of ``x``.

    x: (N, C, H, W); pads: (top, bottom, left, right)
    -> xpad: (N, C, H + top + bottom, W + left + right), xpad[..., p, q] = x[..., src(p), src(q)]
    where src() is given per mode by ``_source_index`` (zeros, replicate, reflect, circular);
    with zeros, positions outside the input hold 0.
    """
    top, bottom, left, right = pads
    n, c, h, w = x.shape
    rows = _source_indices(h, top, bottom, mode)
    cols = _source_indices(w, left, right, mode)
    xpad = np.zeros((n, c, len(rows), len(cols)), dtype=x.dtype)
    for p, src_row in enumerate(rows):
        for q, src_col in enumerate(cols):
            if src_row >= 0 and src_col >= 0:
                xpad[:, :, p, q] = x[:, :, src_row, src_col]
    return xpad


def pad_backward(dxp, pads, mode):
    """Gradient of ``pad``: bring the gradient of the padded array back to the input.

    dxp: (N, C, HP, WP) with HP = H + top + bottom -> dx: (N, C, H, W)

    Each padded position is a copy of one input pixel (or a constant 0), so by the chain rule
    dx[..., i, j] = sum of dxp[..., p, q] over every (p, q) with src(p) = i and src(q) = j.
    For zeros only the interior contributes (it is a crop); for replicate, reflect and
    circular the border positions add into the pixel they copied.
    """
    top, bottom, left, right = pads
    n, c, hp, wp = dxp.shape
    h, w = hp - top - bottom, wp - left - right
    rows = _source_indices(h, top, bottom, mode)
    cols = _source_indices(w, left, right, mode)
    dx = np.zeros((n, c, h, w), dtype=dxp.dtype)
    for p, src_row in enumerate(rows):
        for q, src_col in enumerate(cols):
            if src_row >= 0 and src_col >= 0:
                dx[:, :, src_row, src_col] += dxp[:, :, p, q]
    return dx


# --------------------------------------------------------------------------- convolution
def conv2d_forward(x, w, b=None, stride=(1, 1), pads=(0, 0, 0, 0), padding_mode="zeros",
                   dilation=(1, 1)):
    """2-D convolution as deep learning defines it: a cross-correlation (the kernel is not flipped).

    x: (N, C, H, W); w: (F, C, KH, KW); b: (F,) or None
    -> out: (N, F, OH, OW), OH = (H + top + bottom - DH*(KH - 1) - 1) // SH + 1, OW likewise.

        xpad = pad(x, pads, padding_mode)
        out[n, f, oh, ow] = b[f] + sum_{c, i, j} xpad[n, c, oh*SH + i*DH, ow*SW + j*DW] * w[f, c, i, j]

    (dilation D = 1: adjacent taps; D > 1 reads every D-th pixel.)

    One filter spans all C input channels: the C partial sums add up into one output map,
    and there is one output map per filter.
    """
    sh, sw = _pair(stride)
    dh, dw = _pair(dilation)
    top, bottom, left, right = pads
    n, _, h, wid = x.shape
    f, _, kh, kw = w.shape
    oh_size = _output_size(h, top, bottom, dh * (kh - 1) + 1, sh)
    ow_size = _output_size(wid, left, right, dw * (kw - 1) + 1, sw)
    xpad = pad(x, pads, padding_mode)
    out = np.zeros((n, f, oh_size, ow_size), dtype=x.dtype)
    for oh in range(oh_size):
        for ow in range(ow_size):
            window = xpad[:, :, oh * sh:oh * sh + dh * (kh - 1) + 1:dh,
                          ow * sw:ow * sw + dw * (kw - 1) + 1:dw]  # (N, C, KH, KW)
            out[:, :, oh, ow] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3]))  # (N, F)
    if b is not None:
        out += b.reshape(1, f, 1, 1)
    return out


def grouped_conv2d_forward(x, w, b=None, stride=(1, 1), pads=(0, 0, 0, 0),
                           padding_mode="zeros", dilation=(1, 1), groups=1):
    """Grouped convolution: the C channels and F filters split into ``groups`` equal parts;
    filters of part g see only channels of part g, w: (F, C/groups, KH, KW):

        out[:, g·F/G:(g+1)·F/G] = conv2d_forward(x[:, g·C/G:(g+1)·C/G], w[g·F/G:(g+1)·F/G])
    """
    cg, fg = x.shape[1] // groups, w.shape[0] // groups
    parts = [conv2d_forward(x[:, g * cg:(g + 1) * cg], w[g * fg:(g + 1) * fg],
                            None if b is None else b[g * fg:(g + 1) * fg], stride, pads,
                            padding_mode, dilation) for g in range(groups)]
    return np.concatenate(parts, axis=1)


def grouped_conv2d_backward(dout, x, w, stride=(1, 1), pads=(0, 0, 0, 0),
                            padding_mode="zeros", has_bias=True, dilation=(1, 1), groups=1):
    """Gradients of ``grouped_conv2d_forward``: each part's conv2d_backward, joined again
    (dx by channel part, dw and db by filter part)."""
    cg, fg = x.shape[1] // groups, w.shape[0] // groups
    parts = [conv2d_backward(dout[:, g * fg:(g + 1) * fg], x[:, g * cg:(g + 1) * cg],
                             w[g * fg:(g + 1) * fg], stride, pads, padding_mode, has_bias,
                             dilation) for g in range(groups)]
    dx = np.concatenate([part[0] for part in parts], axis=1)
    dw = np.concatenate([part[1] for part in parts], axis=0)
    db = np.concatenate([part[2] for part in parts]) if has_bias else None
    return dx, dw, db


def conv2d_backward(dout, x, w, stride=(1, 1), pads=(0, 0, 0, 0), padding_mode="zeros",
                    has_bias=True, dilation=(1, 1)):
    """Gradients of ``conv2d_forward``.

    dout: (N, F, OH, OW); x: (N, C, H, W); w: (F, C, KH, KW)
    -> dx: (N, C, H, W), dw: (F, C, KH, KW), db: (F,) or None when ``has_bias`` is False.

    Each output element out[n, f, oh, ow] is a dot product of w[f] with one window of xpad, so
    its gradient flows back to both factors of every product:

        db[f]              = sum_{n, oh, ow} dout[n, f, oh, ow]
        dw[f, c, i, j]     = sum_{n, oh, ow} dout[n, f, oh, ow] * xpad[n, c, oh*SH + i, ow*SW + j]
        dxpad[n, c, oh*SH + i, ow*SW + j] += sum_f dout[n, f, oh, ow] * w[f, c, i, j]
        dx                 = pad_backward(dxpad, pads, padding_mode)

    Overlapping windows (stride smaller than the kernel) add their contributions to the same
    dxpad pixel; rows or columns the floored output never reaches get no gradient.
    """
    sh, sw = _pair(stride)
    dh, dil_w = _pair(dilation)
    f, _, kh, kw = w.shape
    _, _, oh_size, ow_size = dout.shape
    xpad = pad(x, pads, padding_mode)
    dxpad = np.zeros_like(xpad)
    dw = np.zeros(w.shape, dtype=x.dtype)
    for oh in range(oh_size):
        for ow in range(ow_size):
            rows = slice(oh * sh, oh * sh + dh * (kh - 1) + 1, dh)
            cols = slice(ow * sw, ow * sw + dil_w * (kw - 1) + 1, dil_w)
            upstream = dout[:, :, oh, ow]  # (N, F)
            dw += np.tensordot(upstream, xpad[:, :, rows, cols], axes=([0], [0]))
            dxpad[:, :, rows, cols] += np.tensordot(upstream, w, axes=([1], [0]))
    dx = pad_backward(dxpad, pads, padding_mode)
    db = dout.sum(axis=(0, 2, 3)).astype(x.dtype) if has_bias else None
    return dx, dw, db


# --------------------------------------------------------------------------- pooling
def _pool_output_size(size, pad_before, pad_after, kernel, stride, dilation, ceil_mode):
    """OH = (H + top + bottom − D·(K − 1) − 1)/S + 1, floored (or rounded up with ceil_mode).

    With ceil_mode the last window must still start inside the input or the top padding
    (PyTorch's rule): a window starting in the bottom padding is dropped.
    """
    span = dilation * (kernel - 1) + 1
    numerator = size + pad_before + pad_after - span
    out = (-(-numerator // stride) if ceil_mode else numerator // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + pad_before:
        out -= 1
    return out


def _window_taps(out_index, stride, pad_before, kernel, dilation, size):
    """The input rows (or columns) one window reads, and how many of its taps lie in the
    input or its padding (``padded_count``, what count_include_pad divides by).

    Tap i sits at out_index*stride − pad_before + i*dilation; taps outside 0 .. size-1 are
    padding, and taps past the padding (a ceil_mode window hanging over the edge) count
    for nothing.
    """
    taps = out_index * stride - pad_before + dilation * np.arange(kernel)
    return taps[(taps >= 0) & (taps < size)], taps


def pool2d_forward(x, kind, kernel_size, stride, pads=(0, 0, 0, 0), dilation=(1, 1),
                   ceil_mode=False, count_include_pad=True):
    """Max, average or min pooling over each channel separately (no parameters).

    x: (N, C, H, W); kernel_size (KH, KW); stride (SH, SW); pads (top, bottom, left, right);
    dilation (DH, DW): the window reads every D-th pixel
    -> out: (N, C, OH, OW), arg: int64 (N, C, OH, OW) for max/min, None for avg,
       with OH = (H + top + bottom − DH·(KH − 1) − 1) // SH + 1 (see _pool_output_size).

        max: out[n, c, oh, ow] = max over the window's taps of xpad, padding = -inf
        min: out[n, c, oh, ow] = min over the window's taps of xpad, padding = +inf
        avg: out[n, c, oh, ow] = (sum over the window of xpad, padding = 0) / divisor

    A -inf (or +inf) pad can never win, so max and min simply look at the taps that lie
    inside the input. Average pooling divides by the taps inside the padded input
    (count_include_pad=True, PyTorch's default: KH·KW except for a ceil_mode window hanging
    over the edge) or by the taps inside the input only (count_include_pad=False).

    ``arg`` records which input element won, as the flat index row*W + col into the
    *unpadded* input; backward routes the gradient there. On a tie the first element in
    row-major order within the window wins.
    """
    if kind not in POOL_KINDS:
        raise ValueError(f"reference.pool2d_forward: kind must be one of {POOL_KINDS}, got {kind!r}")
    (kh, kw), (sh, sw), (dh, dw) = _pair(kernel_size), _pair(stride), _pair(dilation)
    top, bottom, left, right = pads
    n, c, h, w = x.shape
    oh_size = _pool_output_size(h, top, bottom, kh, sh, dh, ceil_mode)
    ow_size = _pool_output_size(w, left, right, kw, sw, dw, ceil_mode)
    out = np.zeros((n, c, oh_size, ow_size), dtype=x.dtype)
    arg = None if kind == "avg" else np.zeros((n, c, oh_size, ow_size), dtype=np.int64)
    for oh in range(oh_size):
        rows, row_taps = _window_taps(oh, sh, top, kh, dh, h)
        for ow in range(ow_size):
            cols, col_taps = _window_taps(ow, sw, left, kw, dw, w)
            if rows.size == 0 or cols.size == 0:
                raise ValueError("reference.pool2d_forward: a window lies entirely in the padding "
                                 f"(kernel {kh}x{kw}, pads {tuple(pads)}); keep each pad below the kernel")
            window = x[:, :, rows][:, :, :, cols]
            if kind == "avg":
                out[:, :, oh, ow] = window.sum(axis=(2, 3)) / _avg_divisor(
                    rows, cols, row_taps, col_taps, (h + bottom, w + right), count_include_pad)
                continue
            flat = window.reshape(n, c, -1)  # row-major, so argmax/argmin return the first tie
            best = flat.argmax(axis=2) if kind == "max" else flat.argmin(axis=2)
            out[:, :, oh, ow] = np.take_along_axis(flat, best[:, :, None], axis=2)[:, :, 0]
            arg[:, :, oh, ow] = rows[best // cols.size] * w + cols[best % cols.size]
    return out, arg


def _avg_divisor(rows, cols, row_taps, col_taps, padded_end, count_include_pad):
    """What average pooling divides a window's sum by (see pool2d_forward)."""
    if not count_include_pad:
        return rows.size * cols.size
    return (int((row_taps < padded_end[0]).sum()) * int((col_taps < padded_end[1]).sum()))


def pool2d_backward(dout, x_shape, kind, kernel_size, stride, pads, arg, dilation=(1, 1),
                    count_include_pad=True):
    """Gradient of ``pool2d_forward``.

    dout: (N, C, OH, OW); x_shape = (N, C, H, W); arg from the forward pass (max/min)
    -> dx: (N, C, H, W)

        max/min: out = x[winner], so d out / d x is 1 at the winner and 0 elsewhere:
                 dx[n, c, arg[n, c, oh, ow]] += dout[n, c, oh, ow]
        avg:     out = sum(window) / divisor, so every input pixel of the window gets
                 dx[n, c, row, col] += dout[n, c, oh, ow] / divisor
                 (padded positions received their share too, but they are not inputs)

    With overlapping windows a pixel can win or belong to several windows: its gradients add.
    """
    (kh, kw), (sh, sw), (dh, dw) = _pair(kernel_size), _pair(stride), _pair(dilation)
    top, bottom, left, right = pads
    n, c, h, w = x_shape
    _, _, oh_size, ow_size = dout.shape
    if kind in ("max", "min"):
        dx_flat = np.zeros((n, c, h * w), dtype=dout.dtype)
        batch = np.arange(n)[:, None]
        channel = np.arange(c)[None, :]
        for oh in range(oh_size):
            for ow in range(ow_size):
                np.add.at(dx_flat, (batch, channel, arg[:, :, oh, ow]), dout[:, :, oh, ow])
        return dx_flat.reshape(n, c, h, w)
    if kind != "avg":
        raise ValueError(f"reference.pool2d_backward: kind must be one of {POOL_KINDS}, got {kind!r}")
    dx = np.zeros((n, c, h, w), dtype=dout.dtype)
    for oh in range(oh_size):
        rows, row_taps = _window_taps(oh, sh, top, kh, dh, h)
        for ow in range(ow_size):
            cols, col_taps = _window_taps(ow, sw, left, kw, dw, w)
            divisor = _avg_divisor(rows, cols, row_taps, col_taps, (h + bottom, w + right),
                                   count_include_pad)
            dx[:, :, rows[:, None], cols[None, :]] += dout[:, :, oh, ow, None, None] / divisor
    return dx


# --------------------------------------------------------------------------- dense


def global_avg_pool_forward(x):
    """y[n, c] = (1 / (H·W)) · Σ_h Σ_w x[n, c, h, w]: each (N, C, H, W) plane becomes its mean,
    (N, C)."""
    N, C, H, W = x.shape
    out = np.zeros((N, C), dtype=x.dtype)
    for h in range(H):
        for w in range(W):
            out += x[:, :, h, w]
    return (out / (H * W)).astype(x.dtype, copy=False)


def global_avg_pool_backward(dout, x_shape):
    """Every pixel of a plane took part in its mean with weight 1/(H·W), so
    dx[n, c, h, w] = dout[n, c] / (H·W)."""
    N, C, H, W = x_shape
    share = dout / (H * W)
    return np.broadcast_to(share[:, :, None, None], x_shape).astype(dout.dtype)
