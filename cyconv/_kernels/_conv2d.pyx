# Design: 2-D convolution (cross-correlation, as every CNN library computes it), forward and
# backward, by im2col + GEMM, one sample at a time.
#
#   out[n] (F, P)  = W (F, K) @ col[n] (K, P) + b        K = C·KH·KW, P = OH·OW
#   dW     (F, K) += dout[n] (F, P) @ col[n]^T (P, K)
#   dcol   (K, P)  = W^T (K, F) @ dout[n] (F, P)  ->  col2im  ->  dx[n]
#
# Padding of every mode is folded into two index tables made by the caller (functional.py):
# row_src[oh·KH + i] is the input row that padded row oh·SH + i reads, or -1 for a zero, and
# col_src[ow·KW + j] likewise for columns. One im2col therefore serves zeros, replicate,
# reflect and circular padding, and col2im sends each padded position's gradient back to the
# pixel it was copied from (a replicated edge pixel receives the gradient of all its copies).
#
# Parallelism: prange over the batch. Each thread owns one row of the scratch buffers
# (indexed by threadid()), writes only out[n] / dx[n] of its own samples, and accumulates
# dW and db into its own row of dw_acc / db_acc; the caller sums those rows in thread order
# afterwards, so there are no shared writes, and results are reproducible for a fixed thread
# count. BLAS is single-threaded inside (see _blas.pxd). Layout: NCHW, C-contiguous.
from cython.parallel cimport prange, threadid
from libc.string cimport memset

from cyconv._kernels._blas cimport floating, gemm


cdef void im2col(const floating *xn, Py_ssize_t C, Py_ssize_t H, Py_ssize_t W,
                 const Py_ssize_t *row_src, const Py_ssize_t *col_src,
                 Py_ssize_t KH, Py_ssize_t KW, Py_ssize_t OH, Py_ssize_t OW,
                 floating *col) noexcept nogil:
    cdef Py_ssize_t c, i, j, oh, ow, r, s
    cdef Py_ssize_t P = OH * OW
    cdef floating *dst
    cdef const floating *src_row
    for c in range(C):
        for i in range(KH):
            for j in range(KW):
                dst = col + ((c * KH + i) * KW + j) * P
                for oh in range(OH):
                    r = row_src[oh * KH + i]
                    if r < 0:
                        memset(dst + oh * OW, 0, OW * sizeof(floating))
                        continue
                    src_row = xn + (c * H + r) * W
                    for ow in range(OW):
                        s = col_src[ow * KW + j]
                        dst[oh * OW + ow] = src_row[s] if s >= 0 else 0


cdef void col2im_add(const floating *dcol, Py_ssize_t C, Py_ssize_t H, Py_ssize_t W,
                     const Py_ssize_t *row_src, const Py_ssize_t *col_src,
                     Py_ssize_t KH, Py_ssize_t KW, Py_ssize_t OH, Py_ssize_t OW,
                     floating *dxn) noexcept nogil:
    cdef Py_ssize_t c, i, j, oh, ow, r, s
    cdef Py_ssize_t P = OH * OW
    cdef const floating *src
    cdef floating *dst_row
    for c in range(C):
        for i in range(KH):
            for j in range(KW):
                src = dcol + ((c * KH + i) * KW + j) * P
                for oh in range(OH):
                    r = row_src[oh * KH + i]
                    if r < 0:
                        continue
                    dst_row = dxn + (c * H + r) * W
                    for ow in range(OW):
                        s = col_src[ow * KW + j]
                        if s >= 0:
                            dst_row[s] += src[oh * OW + ow]


cdef void add_bias_relu(floating *outn, const floating *b, bint has_bias, bint relu,
                        Py_ssize_t F, Py_ssize_t P) noexcept nogil:
    cdef Py_ssize_t f, p
    cdef floating v
    for f in range(F):
        for p in range(P):
            v = outn[f * P + p]
            if has_bias:
                v = v + b[f]
            if relu and v < 0:
                v = 0
            outn[f * P + p] = v


def conv2d_forward(const floating[:, :, :, ::1] x,       # IN  (N, C, H, W)
                   const floating[:, ::1] w,             # IN  (F, K)
                   const floating[::1] b,                # IN  (F,) (ignored unless has_bias)
                   bint has_bias, bint relu,
                   const Py_ssize_t[::1] row_src,        # IN  (OH·KH,)
                   const Py_ssize_t[::1] col_src,        # IN  (OW·KW,)
                   Py_ssize_t KH, Py_ssize_t KW,
                   floating[:, :, ::1] out,              # OUT (N, F, P)
                   floating[:, ::1] col_buf,             # scratch (threads, K·P)
                   int num_threads):
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t F = w.shape[0], K = w.shape[1]
    cdef Py_ssize_t OH = row_src.shape[0] // KH, OW = col_src.shape[0] // KW
    cdef Py_ssize_t P = OH * OW
    cdef Py_ssize_t n
    cdef floating *col
    for n in prange(N, nogil=True, num_threads=num_threads, schedule="static"):
        col = &col_buf[threadid(), 0]
        im2col(&x[n, 0, 0, 0], C, H, W, &row_src[0], &col_src[0], KH, KW, OH, OW, col)
        # out^T (P, F) = col^T (P, K) @ W^T (K, F), all column-major views of our buffers.
        gemm(c'N', c'N', <int> P, <int> F, <int> K, 1.0, col, <int> P, &w[0, 0], <int> K,
             0.0, &out[n, 0, 0], <int> P)
        add_bias_relu(&out[n, 0, 0], &b[0], has_bias, relu, F, P)


def conv2d_backward(const floating[:, :, ::1] dout,      # IN  (N, F, P)
                    const floating[:, :, :, ::1] x,      # IN  (N, C, H, W)
                    const floating[:, ::1] w,            # IN  (F, K)
                    const Py_ssize_t[::1] row_src,
                    const Py_ssize_t[::1] col_src,
                    Py_ssize_t KH, Py_ssize_t KW,
                    bint need_dx,
                    floating[:, :, :, ::1] dx,           # OUT (N, C, H, W), zeroed by the caller
                    floating[:, ::1] dw_acc,             # OUT (threads, F·K), zeroed
                    floating[:, ::1] db_acc,             # OUT (threads, F), zeroed
                    floating[:, ::1] col_buf,            # scratch (threads, K·P)
                    floating[:, ::1] dcol_buf,           # scratch (threads, K·P)
                    int num_threads):
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t F = w.shape[0], K = w.shape[1]
    cdef Py_ssize_t OH = row_src.shape[0] // KH, OW = col_src.shape[0] // KW
    cdef Py_ssize_t P = OH * OW
    cdef Py_ssize_t n, f, p
    cdef int tid
    cdef floating *col
    cdef floating *dcol
    cdef floating acc
    for n in prange(N, nogil=True, num_threads=num_threads, schedule="static"):
        tid = threadid()
        col = &col_buf[tid, 0]
        im2col(&x[n, 0, 0, 0], C, H, W, &row_src[0], &col_src[0], KH, KW, OH, OW, col)
        # dW^T (K, F) += col (K, P) @ dout^T (P, F)
        gemm(c'T', c'N', <int> K, <int> F, <int> P, 1.0, col, <int> P, &dout[n, 0, 0], <int> P,
             1.0, &dw_acc[tid, 0], <int> K)
        for f in range(F):
            acc = 0
            for p in range(P):
                acc = acc + dout[n, f, p]
            db_acc[tid, f] += acc
        if need_dx:
            dcol = &dcol_buf[tid, 0]
            # dcol^T (P, K) = dout^T (P, F) @ W (F, K)
            gemm(c'N', c'T', <int> P, <int> K, <int> F, 1.0, &dout[n, 0, 0], <int> P,
                 &w[0, 0], <int> K, 0.0, dcol, <int> P)
            col2im_add(dcol, C, H, W, &row_src[0], &col_src[0], KH, KW, OH, OW, &dx[n, 0, 0, 0])
