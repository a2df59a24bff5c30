# Design: 2-D max, min and average pooling, forward and backward, with any window, stride,
# (symmetric) padding and dilation, overlapping windows included (AlexNet's 3×3, stride 2).
#
# Padding is never materialised: a window position outside the input is skipped. For max and
# min that is the same as padding with -inf / +inf (PyTorch's rule), and the caller ensures
# padding ≤ half the window, so every window holds at least one real pixel. Average pooling
# divides by the window's positions inside the padded input (PyTorch's default
# count_include_pad=True: KH·KW, except for a ceil_mode window hanging over the far edge) or,
# with count_include_pad=False, by its positions inside the input. ceil_mode only changes how
# many windows there are (the caller's OH, OW); the clipping below handles the last one.
#
# A dilated window (max and min, as PyTorch: DH, DW > 1) reads every D-th pixel; it has its
# own loop, which tests each tap against the input, so the common undilated loop keeps its
# clip-once form.
#
# Max and min record, in the forward pass, the flat index (row·W + col) of the chosen pixel
# as an int32 (the caller checks H·W < 2³¹): half the memory traffic of Py_ssize_t indices;
# on a tie the first in row-major order wins, because only a strictly better value replaces
# the current one. Backward routes each output gradient to exactly that pixel.
#
# ReLU fused into max pooling (relu_first): each value is clamped at 0 as it is loaded, so
# the kernel computes exactly what pooling the ReLU's output would (same values, same ties,
# padding still -inf), without writing that output. A window whose maximum is 0 records
# index -1: the ReLU's gradient is 0 at its argmax (x ≤ 0 there), so backward skips it.
#
# The most common window, 2×2 max with stride 2 and no padding, has its own branch-free loop,
# one output row at a time in C (its ternaries become maxps/cmpps selects, and gcc vectorises
# the row): the general loop's data-dependent branch mispredicts on about half of ReLU
# outputs. On pool1 of a 10-filter net on 28×28 digits (64×10×24×24, float32, kernel alone,
# 1 thread) the general loop took 0.45 ms, a scalar branch-free loop 0.19-0.30, this one
# 0.08 (0.14 with the ReLU fused in). It keeps the same tie rule.
#
# Backward of disjoint 2×2 windows (stride 2, no padding) writes every pixel of dx, the pick's
# gradient or 0, instead of zeroing dx and scattering into it: one pass over dx, not two
# (0.18 → 0.13 ms for the pool1 above, dx allocation included).
#
# The window (kernel, stride, padding, dilation, divisor rule) is one typed struct, Window,
# passed from Python as a dict {"KH", "KW", "SH", "SW", "PH", "PW", "DH", "DW", "INCLUDE_PAD"}.
#
# Global average pooling (GlobalAvgPool2D) is the window covering the whole plane: one mean
# per plane forward, and each plane's gradient spread evenly, g/(H·W), backward.
#
# Parallelism: prange over the N·C planes. A plane's outputs, indices and input gradients
# belong to that plane alone, so overlapping windows accumulate into dx without races.
from cython.parallel cimport prange

from cyconv._kernels._blas cimport floating

cdef struct Window:
    Py_ssize_t KH, KW       # window size
    Py_ssize_t SH, SW       # stride
    Py_ssize_t PH, PW       # padding on each side (the same before and after)
    Py_ssize_t DH, DW       # dilation: distance between the window's taps
    bint INCLUDE_PAD        # average pooling counts padded positions in its divisor


cdef enum:
    KIND_MAX = 0
    KIND_AVG = 1
    KIND_MIN = 2


cdef extern from *:
    """
    /* The 2x2 window in C: its ternaries compile to max and compare-select instructions.
       Cython writes a ternary as if/else, which gcc turned into branches that mispredict on
       about half of ReLU outputs (the fused pass ran 9x slower than plain pooling so). */
    #define CYCONV_PLAIN(v) (v)
    #define CYCONV_RELU(v) ((v) > 0 ? (v) : 0)
    #define CYCONV_TAKE(T, v, at) { T value_ = (v); int gt_ = value_ > best; \
                                    idx = gt_ ? (at) : idx; best = gt_ ? value_ : best; }
    /* One output row: rows `top` and `top + W` of the plane, the row's first index `base`.
       A plain loop over the row, so gcc can vectorise it across outputs. */
    #define CYCONV_MAX4_ROW(T, NAME, LOAD, DEAD) \
    static void NAME(const T *restrict top, Py_ssize_t W, Py_ssize_t OW, int base, \
                     T *restrict out, int *restrict arg) { \
        const T *restrict below = top + W; \
        int w = (int) W; \
        for (Py_ssize_t ow = 0; ow < OW; ow++) { \
            int at = base + 2 * (int) ow; \
            T best = LOAD(top[2 * ow]); \
            int idx = at; \
            CYCONV_TAKE(T, LOAD(top[2 * ow + 1]), at + 1) \
            CYCONV_TAKE(T, LOAD(below[2 * ow]), at + w) \
            CYCONV_TAKE(T, LOAD(below[2 * ow + 1]), at + w + 1) \
            out[ow] = best; \
            arg[ow] = DEAD ? (best > 0 ? idx : -1) : idx; \
        } \
    }
    CYCONV_MAX4_ROW(float, cyconv_max4_float, CYCONV_PLAIN, 0)
    CYCONV_MAX4_ROW(double, cyconv_max4_double, CYCONV_PLAIN, 0)
    CYCONV_MAX4_ROW(float, cyconv_relu_max4_float, CYCONV_RELU, 1)
    CYCONV_MAX4_ROW(double, cyconv_relu_max4_double, CYCONV_RELU, 1)
    /* Backward of one output row of disjoint 2x2 windows: every input pixel of the two rows
       is written (its window's gradient or 0, the columns past the last window 0), so dx
       need not be zeroed first. 0 + g, not g: the scatter into a zeroed dx gives +0 for a
       gradient of -0, and so must this. */
    #define CYCONV_UNPOOL2_ROW(T, NAME) \
    static void NAME(const T *restrict g, const int *restrict arg, Py_ssize_t W, \
                     Py_ssize_t OW, int base, T *restrict top) { \
        T *restrict below = top + W; \
        int w = (int) W; \
        for (Py_ssize_t ow = 0; ow < OW; ow++) { \
            int at = base + 2 * (int) ow, a = arg[ow]; \
            T v = (T) 0 + g[ow]; \
            top[2 * ow] = a == at ? v : 0; \
            top[2 * ow + 1] = a == at + 1 ? v : 0; \
            below[2 * ow] = a == at + w ? v : 0; \
            below[2 * ow + 1] = a == at + w + 1 ? v : 0; \
        } \
        for (Py_ssize_t col = 2 * OW; col < W; col++) { \
            top[col] = 0; \
            below[col] = 0; \
        } \
    }
    CYCONV_UNPOOL2_ROW(float, cyconv_unpool2_float)
    CYCONV_UNPOOL2_ROW(double, cyconv_unpool2_double)
    static inline float cyconv_relu_float(float v) { return CYCONV_RELU(v); }
    static inline double cyconv_relu_double(double v) { return CYCONV_RELU(v); }
    """
    void unpool2_float "cyconv_unpool2_float"(const float *g, const int *arg, Py_ssize_t W,
                                              Py_ssize_t OW, int base, float *top) noexcept nogil
    void unpool2_double "cyconv_unpool2_double"(const double *g, const int *arg, Py_ssize_t W,
                                                Py_ssize_t OW, int base,
                                                double *top) noexcept nogil
    float relu_float "cyconv_relu_float"(float v) noexcept nogil
    double relu_double "cyconv_relu_double"(double v) noexcept nogil
    void max4_float "cyconv_max4_float"(const float *top, Py_ssize_t W, Py_ssize_t OW,
                                        int base, float *out, int *arg) noexcept nogil
    void max4_double "cyconv_max4_double"(const double *top, Py_ssize_t W, Py_ssize_t OW,
                                          int base, double *out, int *arg) noexcept nogil
    void relu_max4_float "cyconv_relu_max4_float"(const float *top, Py_ssize_t W,
                                                  Py_ssize_t OW, int base, float *out,
                                                  int *arg) noexcept nogil
    void relu_max4_double "cyconv_relu_max4_double"(const double *top, Py_ssize_t W,
                                                    Py_ssize_t OW, int base, double *out,
                                                    int *arg) noexcept nogil


cdef inline floating relu_of(floating v, bint relu_first) noexcept nogil:
    # The ReLU kernel's own expression, x > 0 ? x : 0, so a fused pass clamps exactly as it
    # does (NaN → 0, −0 → +0).
    if not relu_first:
        return v
    if floating is float:
        return relu_float(v)
    return relu_double(v)


cdef inline void window_extreme(const floating *xp, Py_ssize_t W, Py_ssize_t r0,
                                Py_ssize_t r1, Py_ssize_t s0, Py_ssize_t s1, bint is_max,
                                floating *best_out, int *idx_out, bint relu_first) noexcept nogil:
    # Rows r0..r1-1 and columns s0..s1-1 lie inside the input. Only a strictly better value
    # replaces the current one, so a tie keeps the first pixel in row-major order.
    cdef Py_ssize_t r, s, best_idx = r0 * W + s0
    cdef floating v, best = relu_of(xp[best_idx], relu_first)
    for r in range(r0, r1):
        for s in range(s0, s1):
            v = relu_of(xp[r * W + s], relu_first)
            if (v > best) if is_max else (v < best):
                best = v
                best_idx = r * W + s
    best_out[0] = best
    idx_out[0] = <int> best_idx if not (relu_first and best == 0) else -1


cdef inline void dilated_extreme(const floating *xp, Py_ssize_t H, Py_ssize_t W,
                                 Py_ssize_t r0, Py_ssize_t s0, Window win, bint is_max,
                                 floating *best_out, int *idx_out,
                                 bint relu_first) noexcept nogil:
    # Taps r0 + i·DH, s0 + j·DW in row-major order; those outside the input are padding. The
    # caller's geometry guarantees at least one tap inside; the same strict-better tie rule.
    cdef Py_ssize_t i, j, r, s, best_idx = -1
    cdef floating v, best = 0
    for i in range(win.KH):
        r = r0 + i * win.DH
        if r < 0 or r >= H:
            continue
        for j in range(win.KW):
            s = s0 + j * win.DW
            if s < 0 or s >= W:
                continue
            v = relu_of(xp[r * W + s], relu_first)
            if best_idx < 0 or ((v > best) if is_max else (v < best)):
                best = v
                best_idx = r * W + s
    best_out[0] = best
    idx_out[0] = <int> best_idx if not (relu_first and best == 0) else -1


cdef inline Py_ssize_t avg_divisor(Py_ssize_t r0, Py_ssize_t s0, Py_ssize_t H, Py_ssize_t W,
                                   Window win) noexcept nogil:
    # r0, s0: the window's first row and column, padding included (may be negative).
    cdef Py_ssize_t r_end = r0 + win.KH, s_end = s0 + win.KW
    cdef Py_ssize_t r_lo = r0, s_lo = s0
    if win.INCLUDE_PAD:
        # The padded input ends at H + PH; a ceil_mode window may hang past it.
        if r_end > H + win.PH:
            r_end = H + win.PH
        if s_end > W + win.PW:
            s_end = W + win.PW
    else:
        if r_lo < 0:
            r_lo = 0
        if s_lo < 0:
            s_lo = 0
        if r_end > H:
            r_end = H
        if s_end > W:
            s_end = W
    return (r_end - r_lo) * (s_end - s_lo)


cdef inline floating window_sum(const floating *xp, Py_ssize_t W, Py_ssize_t r0,
                                Py_ssize_t r1, Py_ssize_t s0, Py_ssize_t s1) noexcept nogil:
    cdef Py_ssize_t r, s
    cdef floating total = 0
    for r in range(r0, r1):
        for s in range(s0, s1):
            total = total + xp[r * W + s]
    return total


cdef void max_pool_2x2_plane(const floating *xp, Py_ssize_t W, Py_ssize_t OH,
                             Py_ssize_t OW, floating *outp, int *argp,
                             bint relu_first) noexcept nogil:
    # Strict comparisons in row-major order, the same tie rule as window_extreme; with
    # relu_first a window whose maximum is 0 records -1.
    cdef Py_ssize_t oh, top
    for oh in range(OH):
        top = 2 * oh * W
        if floating is float:
            if relu_first:
                relu_max4_float(&xp[top], W, OW, <int> top, &outp[oh * OW], &argp[oh * OW])
            else:
                max4_float(&xp[top], W, OW, <int> top, &outp[oh * OW], &argp[oh * OW])
        else:
            if relu_first:
                relu_max4_double(&xp[top], W, OW, <int> top, &outp[oh * OW], &argp[oh * OW])
            else:
                max4_double(&xp[top], W, OW, <int> top, &outp[oh * OW], &argp[oh * OW])


cdef void pool_plane(const floating *xp, Py_ssize_t H, Py_ssize_t W, Window win,
                     Py_ssize_t OH, Py_ssize_t OW, int kind,
                     floating *outp, int *argp, bint relu_first) noexcept nogil:
    # Each window is clipped to the input once; padded positions are simply not visited.
    cdef Py_ssize_t KH = win.KH, KW = win.KW, SH = win.SH, SW = win.SW
    cdef Py_ssize_t PH = win.PH, PW = win.PW
    cdef Py_ssize_t oh, ow, r0, r1, s0, s1
    cdef bint dilated = win.DH > 1 or win.DW > 1
    if (kind == KIND_MAX and KH == 2 and KW == 2 and SH == 2 and SW == 2 and PH == 0
            and PW == 0 and not dilated and OH * 2 <= H and OW * 2 <= W):
        max_pool_2x2_plane(xp, W, OH, OW, outp, argp, relu_first)
        return
    if dilated:
        for oh in range(OH):
            for ow in range(OW):
                dilated_extreme(xp, H, W, oh * SH - PH, ow * SW - PW, win, kind == KIND_MAX,
                                &outp[oh * OW + ow], &argp[oh * OW + ow], relu_first)
        return
    for oh in range(OH):
        r0 = oh * SH - PH
        r1 = r0 + KH
        if r0 < 0:
            r0 = 0
        if r1 > H:
            r1 = H
        for ow in range(OW):
            s0 = ow * SW - PW
            s1 = s0 + KW
            if s0 < 0:
                s0 = 0
            if s1 > W:
                s1 = W
            if kind == KIND_AVG:
                outp[oh * OW + ow] = window_sum(xp, W, r0, r1, s0, s1) / avg_divisor(
                    oh * SH - PH, ow * SW - PW, H, W, win)
            else:
                window_extreme(xp, W, r0, r1, s0, s1, kind == KIND_MAX,
                               &outp[oh * OW + ow], &argp[oh * OW + ow], relu_first)


cdef void unpool_argmax_plane(const floating *doutp, const int *argp, Py_ssize_t P,
                              floating *dxp) noexcept nogil:
    # The recorded index is flat within the plane, so no division by W is needed; -1 (a
    # fused ReLU's dead window) receives nothing.
    cdef Py_ssize_t p
    cdef int a
    for p in range(P):
        a = argp[p]
        if a >= 0:
            dxp[a] += doutp[p]


cdef void unpool_avg_plane(const floating *doutp, Py_ssize_t H, Py_ssize_t W, Window win,
                           Py_ssize_t OH, Py_ssize_t OW, floating *dxp) noexcept nogil:
    cdef Py_ssize_t KH = win.KH, KW = win.KW, SH = win.SH, SW = win.SW
    cdef Py_ssize_t PH = win.PH, PW = win.PW
    cdef Py_ssize_t oh, ow, i, j, r, s
    cdef floating g
    for oh in range(OH):
        for ow in range(OW):
            g = doutp[oh * OW + ow] / avg_divisor(oh * SH - PH, ow * SW - PW, H, W, win)
            for i in range(KH):
                r = oh * SH - PH + i
                if r < 0 or r >= H:
                    continue
                for j in range(KW):
                    s = ow * SW - PW + j
                    if 0 <= s < W:
                        dxp[r * W + s] += g


def pool2d_forward(const floating[:, :, ::1] x,      # IN  (N·C, H, W)
                   int kind,                          # 0 max, 1 avg, 2 min
                   Window window,
                   floating[:, :, ::1] out,           # OUT (N·C, OH, OW)
                   int[:, :, ::1] arg,                # OUT (N·C, OH, OW); unused for avg
                   int num_threads,
                   bint relu_first=False):            # max only: pool ReLU(x), see above
    cdef Py_ssize_t planes = x.shape[0], H = x.shape[1], W = x.shape[2]
    cdef Py_ssize_t OH = out.shape[1], OW = out.shape[2]
    cdef Py_ssize_t q
    for q in prange(planes, nogil=True, num_threads=num_threads, schedule="static"):
        pool_plane(&x[q, 0, 0], H, W, window, OH, OW, kind,
                   &out[q, 0, 0], &arg[q, 0, 0] if kind != KIND_AVG else NULL,
                   relu_first and kind == KIND_MAX)


cdef void unpool_2x2_plane(const floating *doutp, const int *argp, Py_ssize_t H, Py_ssize_t W,
                           Py_ssize_t OH, Py_ssize_t OW, floating *dxp) noexcept nogil:
    # Disjoint 2×2 windows, stride 2: writes the whole plane, the rows past the last window 0.
    cdef Py_ssize_t oh, i
    for oh in range(OH):
        if floating is float:
            unpool2_float(&doutp[oh * OW], &argp[oh * OW], W, OW, <int> (2 * oh * W),
                          &dxp[2 * oh * W])
        else:
            unpool2_double(&doutp[oh * OW], &argp[oh * OW], W, OW, <int> (2 * oh * W),
                           &dxp[2 * oh * W])
    for i in range(2 * OH * W, H * W):
        dxp[i] = 0


def pool2d_backward_2x2(const floating[:, :, ::1] dout,      # IN  (N·C, OH, OW)
                        const int[:, :, ::1] arg,            # IN  (N·C, OH, OW)
                        floating[:, :, ::1] dx,              # OUT (N·C, H, W), any contents
                        int num_threads):
    """Backward of max or min pooling with 2×2 windows, stride 2, no padding, 2·OH ≤ H and
    2·OW ≤ W (the caller checks): the same numbers as pool2d_backward_argmax into zeros."""
    cdef Py_ssize_t planes = dout.shape[0], OH = dout.shape[1], OW = dout.shape[2]
    cdef Py_ssize_t H = dx.shape[1], W = dx.shape[2]
    cdef Py_ssize_t q
    for q in prange(planes, nogil=True, num_threads=num_threads, schedule="static"):
        unpool_2x2_plane(&dout[q, 0, 0], &arg[q, 0, 0], H, W, OH, OW, &dx[q, 0, 0])


def pool2d_backward_argmax(const floating[:, :, ::1] dout,   # IN  (N·C, OH, OW)
                           const int[:, :, ::1] arg,         # IN  (N·C, OH, OW)
                           floating[:, :, ::1] dx,           # OUT (N·C, H, W), zeroed
                           int num_threads):
    cdef Py_ssize_t planes = dout.shape[0], OH = dout.shape[1], OW = dout.shape[2]
    cdef Py_ssize_t q
    for q in prange(planes, nogil=True, num_threads=num_threads, schedule="static"):
        unpool_argmax_plane(&dout[q, 0, 0], &arg[q, 0, 0], OH * OW, &dx[q, 0, 0])


def pool2d_backward_avg(const floating[:, :, ::1] dout,      # IN  (N·C, OH, OW)
                        Window window,
                        floating[:, :, ::1] dx,              # OUT (N·C, H, W), zeroed
                        int num_threads):
    cdef Py_ssize_t planes = dout.shape[0], OH = dout.shape[1], OW = dout.shape[2]
    cdef Py_ssize_t H = dx.shape[1], W = dx.shape[2]
    cdef Py_ssize_t q
    for q in prange(planes, nogil=True, num_threads=num_threads, schedule="static"):
        unpool_avg_plane(&dout[q, 0, 0], H, W, window, OH, OW, &dx[q, 0, 0])


def global_avg_pool_forward(const floating[:, ::1] x,   # IN  (N·C, H·W)
                            floating[::1] out,          # OUT (N·C,)
                            int num_threads):
    cdef Py_ssize_t planes = x.shape[0], P = x.shape[1]
    cdef Py_ssize_t q, p
    cdef floating total
    for q in prange(planes, nogil=True, num_threads=num_threads, schedule="static"):
        total = 0
        for p in range(P):
            total = total + x[q, p]
        out[q] = total / P


def global_avg_pool_backward(const floating[::1] dout,  # IN  (N·C,)
                             floating[:, ::1] dx,       # OUT (N·C, H·W)
                             int num_threads):
    cdef Py_ssize_t planes = dx.shape[0], P = dx.shape[1]
    cdef Py_ssize_t q, p
    cdef floating g
    for q in prange(planes, nogil=True, num_threads=num_threads, schedule="static"):
        g = dout[q] / P
        for p in range(P):
            dx[q, p] = g
