# Design: 2-D convolution (cross-correlation, as every CNN library computes it), forward and
# backward, by im2col + GEMM over chunks of samples.
#
# For a chunk of nb samples, im2col lays their patches side by side, col (K, L) with
# K = C·KH·KW and L = nb·OH·OW, so each chunk needs one large GEMM instead of nb tiny ones
# (on small networks the per-call overhead of BLAS was as large as the arithmetic):
#
#   out_chunk (F, L)  = W (F, K) @ col (K, L)            then + b, ReLU, and scatter to NCHW
#   dW        (F, K) += dout_chunk (F, L) @ col^T (L, K)  (accumulated transposed, (K, F))
#   dcol      (K, L)  = W^T (K, F) @ dout_chunk (F, L)   then col2im into dx
#
# Padding of every mode is folded into two index tables made by the caller (functional.py):
# row_src[oh·KH + i] is the input row that padded row oh·SH + i reads, or -1 for a zero, and
# col_src[ow·KW + j] likewise for columns. One im2col therefore serves zeros, replicate,
# reflect and circular padding, and col2im sends each padded position's gradient back to the
# pixel it was copied from (a replicated edge pixel receives the gradient of all its copies).
#
# When the caller can spare the memory, the forward pass keeps every chunk's columns (one row
# of col_buf per chunk instead of per thread) and the backward pass reuses them instead of
# running im2col again.
#
# Parallelism: prange over chunks. Each thread owns one row of every scratch buffer (indexed
# by threadid()), writes only out[n] / dx[n] of its own chunk's samples, and accumulates dW
# and db into its own row of dw_acc / db_acc; the caller sums those rows in thread order, so
# there are no shared writes, and results are reproducible for a fixed thread count and
# chunk size. BLAS is single-threaded inside (see _blas.pxd). Layout: NCHW, C-contiguous.

from cython.parallel cimport prange, threadid
from libc.string cimport memset

from cyconv._kernels._blas cimport floating, gemm


cdef void im2col(const floating *xn, Py_ssize_t C, Py_ssize_t H, Py_ssize_t W,
                 const Py_ssize_t *row_src, const Py_ssize_t *col_src,
                 const Py_ssize_t *col_lo, const Py_ssize_t *col_hi, Py_ssize_t SW,
                 Py_ssize_t left, Py_ssize_t KH, Py_ssize_t KW, Py_ssize_t OH, Py_ssize_t OW,
                 floating *col, Py_ssize_t ld) noexcept nogil:
    # One sample's patches into columns [0, OH·OW) of rows that are `ld` apart. For tap j the
    # outputs ow in [col_lo[j], col_hi[j]) read inside the row, at ow·SW + j − left: a plain
    # strided (for SW = 1, contiguous) copy. Only the few edge columns go through the table.
    cdef Py_ssize_t c, i, j, oh, ow, r, s, lo, hi, offset
    cdef floating *dst
    cdef const floating *src_row
    for c in range(C):
        for i in range(KH):
            for j in range(KW):
                lo = col_lo[j]
                hi = col_hi[j]
                offset = j - left
                dst = col + ((c * KH + i) * KW + j) * ld
                for oh in range(OH):
                    r = row_src[oh * KH + i]
                    if r < 0:
                        memset(dst + oh * OW, 0, OW * sizeof(floating))
                        continue
                    src_row = xn + (c * H + r) * W
                    for ow in range(lo):
                        s = col_src[ow * KW + j]
                        dst[oh * OW + ow] = src_row[s] if s >= 0 else 0
                    if SW == 1:
                        for ow in range(lo, hi):
                            dst[oh * OW + ow] = src_row[ow + offset]
                    else:
                        for ow in range(lo, hi):
                            dst[oh * OW + ow] = src_row[ow * SW + offset]
                    for ow in range(hi, OW):
                        s = col_src[ow * KW + j]
                        dst[oh * OW + ow] = src_row[s] if s >= 0 else 0


cdef void col2im_add(const floating *dcol, Py_ssize_t ld, Py_ssize_t C, Py_ssize_t H,
                     Py_ssize_t W, const Py_ssize_t *row_src, const Py_ssize_t *col_src,
                     const Py_ssize_t *col_lo, const Py_ssize_t *col_hi, Py_ssize_t SW,
                     Py_ssize_t left, Py_ssize_t KH, Py_ssize_t KW, Py_ssize_t OH,
                     Py_ssize_t OW, floating *dxn) noexcept nogil:
    # The transpose of im2col: every patch value goes back to the pixel it was read from.
    cdef Py_ssize_t c, i, j, oh, ow, r, s, lo, hi, offset
    cdef const floating *src
    cdef floating *dst_row
    for c in range(C):
        for i in range(KH):
            for j in range(KW):
                lo = col_lo[j]
                hi = col_hi[j]
                offset = j - left
                src = dcol + ((c * KH + i) * KW + j) * ld
                for oh in range(OH):
                    r = row_src[oh * KH + i]
                    if r < 0:
                        continue
                    dst_row = dxn + (c * H + r) * W
                    for ow in range(lo):
                        s = col_src[ow * KW + j]
                        if s >= 0:
                            dst_row[s] += src[oh * OW + ow]
                    if SW == 1:
                        for ow in range(lo, hi):
                            dst_row[ow + offset] += src[oh * OW + ow]
                    else:
                        for ow in range(lo, hi):
                            dst_row[ow * SW + offset] += src[oh * OW + ow]
                    for ow in range(hi, OW):
                        s = col_src[ow * KW + j]
                        if s >= 0:
                            dst_row[s] += src[oh * OW + ow]


cdef void scatter_output(const floating *chunk, Py_ssize_t ld, const floating *b,
                         bint has_bias, bint relu, Py_ssize_t F, Py_ssize_t P,
                         floating *outn) noexcept nogil:
    # (F, L) chunk columns of one sample -> out[n] (F, P), with bias and ReLU on the way.
    cdef Py_ssize_t f, p
    cdef floating v, bias
    for f in range(F):
        bias = b[f] if has_bias else 0
        for p in range(P):
            v = chunk[f * ld + p] + bias
            if relu and v < 0:
                v = 0
            outn[f * P + p] = v


cdef void gather_dout(const floating *doutn, Py_ssize_t F, Py_ssize_t P, floating *chunk,
                      Py_ssize_t ld, floating *db) noexcept nogil:
    # dout[n] (F, P) -> columns of the (F, L) chunk, summing db on the way.
    cdef Py_ssize_t f, p
    cdef floating v, acc
    for f in range(F):
        acc = 0
        for p in range(P):
            v = doutn[f * P + p]
            chunk[f * ld + p] = v
            acc = acc + v
        db[f] += acc


cdef void sum_db(const floating *doutn, Py_ssize_t F, Py_ssize_t P,
                 floating *db) noexcept nogil:
    cdef Py_ssize_t f, p
    cdef floating acc
    for f in range(F):
        acc = 0
        for p in range(P):
            acc = acc + doutn[f * P + p]
        db[f] += acc


def conv2d_forward(const floating[:, :, :, ::1] x,       # IN  (N, C, H, W)
                   const floating[:, ::1] w,             # IN  (F, K)
                   const floating[::1] b,                # IN  (F,) (ignored unless has_bias)
                   bint has_bias, bint relu,
                   const Py_ssize_t[::1] row_src,        # IN  (OH·KH,)
                   const Py_ssize_t[::1] col_src,        # IN  (OW·KW,)
                   const Py_ssize_t[::1] col_lo,         # IN  (KW,) first in-row output column
                   const Py_ssize_t[::1] col_hi,         # IN  (KW,) one past the last
                   Py_ssize_t SW, Py_ssize_t left,
                   Py_ssize_t KH, Py_ssize_t KW,
                   Py_ssize_t chunk,                     # samples per chunk
                   floating[:, :, ::1] out,              # OUT (N, F, P)
                   floating[:, ::1] col_buf,             # (threads, K·chunk·P) scratch, or
                                                         # (chunks, K·chunk·P) kept for backward
                   bint keep_columns,
                   floating[:, ::1] out_buf,             # scratch (threads, F·chunk·P)
                   int num_threads):
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t F = w.shape[0], K = w.shape[1]
    cdef Py_ssize_t OH = row_src.shape[0] // KH, OW = col_src.shape[0] // KW
    cdef Py_ssize_t P = OH * OW
    cdef Py_ssize_t chunks = (N + chunk - 1) // chunk
    cdef Py_ssize_t q, n, n0, nb, L
    cdef int tid
    cdef floating *col
    cdef floating *tmp
    for q in prange(chunks, nogil=True, num_threads=num_threads, schedule="static"):
        tid = threadid()
        col = &col_buf[q if keep_columns else tid, 0]
        tmp = &out_buf[tid, 0]
        n0 = q * chunk
        nb = min(chunk, N - n0)
        L = nb * P
        for n in range(n0, n0 + nb):
            im2col(&x[n, 0, 0, 0], C, H, W, &row_src[0], &col_src[0], &col_lo[0], &col_hi[0],
                   SW, left, KH, KW, OH, OW, col + (n - n0) * P, L)
        # tmp^T (L, F) = col^T (L, K) @ W^T (K, F), in column-major terms.
        gemm(c'N', c'N', <int> L, <int> F, <int> K, 1.0, col, <int> L, &w[0, 0], <int> K,
             0.0, tmp, <int> L)
        for n in range(n0, n0 + nb):
            scatter_output(tmp + (n - n0) * P, L, &b[0], has_bias, relu, F, P, &out[n, 0, 0])


def conv2d_backward(const floating[:, :, ::1] dout,      # IN  (N, F, P)
                    const floating[:, :, :, ::1] x,      # IN  (N, C, H, W)
                    const floating[:, ::1] w,            # IN  (F, K)
                    const Py_ssize_t[::1] row_src,
                    const Py_ssize_t[::1] col_src,
                    const Py_ssize_t[::1] col_lo,
                    const Py_ssize_t[::1] col_hi,
                    Py_ssize_t SW, Py_ssize_t left,
                    Py_ssize_t KH, Py_ssize_t KW,
                    Py_ssize_t chunk,
                    bint direct_dout,                    # per-sample GEMMs on dout itself
                    bint need_dx,
                    floating[:, :, :, ::1] dx,           # OUT (N, C, H, W), zeroed by the caller
                    floating[:, ::1] dw_acc,             # OUT (threads, K·F): dW^T, zeroed
                    floating[:, ::1] db_acc,             # OUT (threads, F), zeroed
                    floating[:, ::1] col_buf,            # (threads, K·chunk·P) scratch, or the
                                                         # forward's (chunks, K·chunk·P) columns
                    bint columns_kept,
                    floating[:, ::1] dcol_buf,           # scratch (threads, K·chunk·P)
                    floating[:, ::1] dout_buf,           # scratch (threads, F·chunk·P)
                    int num_threads):
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t F = w.shape[0], K = w.shape[1]
    cdef Py_ssize_t OH = row_src.shape[0] // KH, OW = col_src.shape[0] // KW
    cdef Py_ssize_t P = OH * OW
    cdef Py_ssize_t chunks = (N + chunk - 1) // chunk
    cdef Py_ssize_t q, n, n0, nb, L
    cdef int tid
    cdef floating *col
    cdef floating *dcol
    cdef floating *dchunk
    for q in prange(chunks, nogil=True, num_threads=num_threads, schedule="static"):
        tid = threadid()
        col = &col_buf[q if columns_kept else tid, 0]
        dchunk = &dout_buf[tid, 0]
        n0 = q * chunk
        nb = min(chunk, N - n0)
        L = nb * P
        for n in range(n0, n0 + nb):
            if not columns_kept:
                im2col(&x[n, 0, 0, 0], C, H, W, &row_src[0], &col_src[0], &col_lo[0],
                       &col_hi[0], SW, left, KH, KW, OH, OW, col + (n - n0) * P, L)
            if direct_dout:
                sum_db(&dout[n, 0, 0], F, P, &db_acc[tid, 0])
            else:
                gather_dout(&dout[n, 0, 0], F, P, dchunk + (n - n0) * P, L, &db_acc[tid, 0])
        # dW^T (K, F) += col (K, L) @ dchunk^T (L, F), computed as the column-major (F, K)
        # product dchunk (F, L) @ col^T (L, K): with the small F as BLAS's m this orientation
        # ran about twice as fast on these shapes. The caller transposes the (K, F) sum.
        # With many output pixels per sample, one GEMM per sample straight on dout is large
        # enough, and spares copying dout into the chunk layout.
        if direct_dout:
            for n in range(n0, n0 + nb):
                gemm(c'T', c'N', <int> F, <int> K, <int> P, 1.0, &dout[n, 0, 0], <int> P,
                     col + (n - n0) * P, <int> L, 1.0, &dw_acc[tid, 0], <int> F)
        else:
            gemm(c'T', c'N', <int> F, <int> K, <int> L, 1.0, dchunk, <int> L, col, <int> L,
                 1.0, &dw_acc[tid, 0], <int> F)
        if need_dx:
            dcol = &dcol_buf[tid, 0]
            # dcol^T (L, K) = dchunk^T (L, F) @ W (F, K)
            if direct_dout:
                for n in range(n0, n0 + nb):
                    gemm(c'N', c'T', <int> P, <int> K, <int> F, 1.0, &dout[n, 0, 0], <int> P,
                         &w[0, 0], <int> K, 0.0, dcol + (n - n0) * P, <int> L)
            else:
                gemm(c'N', c'T', <int> L, <int> K, <int> F, 1.0, dchunk, <int> L, &w[0, 0],
                     <int> K, 0.0, dcol, <int> L)
            for n in range(n0, n0 + nb):
                col2im_add(dcol + (n - n0) * P, L, C, H, W, &row_src[0], &col_src[0],
                           &col_lo[0], &col_hi[0], SW, left, KH, KW, OH, OW, &dx[n, 0, 0, 0])
