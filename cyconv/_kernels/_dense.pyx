# Design: the fully connected (dense, affine) layer, y = x W^T + b, and its backward, on BLAS.
#
#   forward   y  (N, O) = x (N, I) @ W^T (I, O) + b
#   backward  dx (N, I) = dout (N, O) @ W (O, I)
#             dW (O, I) = dout^T (O, N) @ x (N, I)       db (O,) = sum_n dout[n]
#
# W is (out_features, in_features), so "(100, 160)" maps 160 inputs to 100 outputs.
# Parallelism: the batch is cut into one contiguous block of rows per thread, and each thread
# runs a single-threaded GEMM on its block of y or dx. dW is cut the other way, into blocks of
# output features: each thread writes only its own rows of dW (and of db), so nothing is shared
# and no reduction is needed. Backward is one parallel region (each thread its dx rows, then
# its dW rows: they are independent), so a step wakes the other thread once, not twice. The
# caller keeps small layers on one thread (cyconv/_plans.py, dense_threads): waking a thread
# costs more than splitting a GEMM of a few million multiply-adds saves. Layout: C-contiguous.
from cython.parallel cimport prange

from cyconv._kernels._blas cimport floating, gemm_rowmajor


cdef inline Py_ssize_t block_start(Py_ssize_t total, Py_ssize_t blocks, Py_ssize_t i) noexcept nogil:
    return (total * i) // blocks


def dense_forward(const floating[:, ::1] x,     # IN  (N, I)
                  const floating[:, ::1] w,     # IN  (O, I)
                  const floating[::1] b,        # IN  (O,), read only when has_bias
                  bint has_bias,
                  floating[:, ::1] y,           # OUT (N, O)
                  int num_threads):
    cdef Py_ssize_t N = x.shape[0], I = x.shape[1], O = w.shape[0]
    cdef Py_ssize_t blocks = min(<Py_ssize_t> num_threads, N)
    cdef Py_ssize_t t, n0, n1, n, o
    for t in prange(blocks, nogil=True, num_threads=num_threads, schedule="static"):
        n0 = block_start(N, blocks, t)
        n1 = block_start(N, blocks, t + 1)
        if n1 > n0:
            # y[n0:n1] (nb, O) = x[n0:n1] (nb, I) @ Wᵀ (I, O)
            gemm_rowmajor(False, True, <int> (n1 - n0), <int> O, <int> I,
                          1.0, &x[n0, 0], <int> I, &w[0, 0], <int> I, 0.0, &y[n0, 0], <int> O)
            if has_bias:
                for n in range(n0, n1):
                    for o in range(O):
                        y[n, o] += b[o]


cdef void dense_backward_block(const floating *dout, const floating *x, const floating *w,
                               floating *dx, floating *dw, floating *db, Py_ssize_t N,
                               Py_ssize_t I, Py_ssize_t O, bint need_dx, bint has_bias,
                               Py_ssize_t t, Py_ssize_t blocks) noexcept nogil:
    # Thread t's share: rows block t of dx, output-feature block t of dW and db.
    cdef Py_ssize_t n0 = block_start(N, blocks, t), n1 = block_start(N, blocks, t + 1)
    cdef Py_ssize_t o0 = block_start(O, blocks, t), o1 = block_start(O, blocks, t + 1)
    cdef Py_ssize_t n, o
    cdef floating acc
    if need_dx and n1 > n0:
        # dx[n0:n1] (nb, I) = dout[n0:n1] (nb, O) @ W (O, I)
        gemm_rowmajor(False, False, <int> (n1 - n0), <int> I, <int> O,
                      1.0, &dout[n0 * O], <int> O, w, <int> I, 0.0, &dx[n0 * I], <int> I)
    if o1 > o0:
        # dW[o0:o1] (ob, I) = dout[:, o0:o1]ᵀ (ob, N) @ x (N, I)
        gemm_rowmajor(True, False, <int> (o1 - o0), <int> I, <int> N,
                      1.0, &dout[o0], <int> O, x, <int> I, 0.0, &dw[o0 * I], <int> I)
        if has_bias:
            for o in range(o0, o1):
                acc = 0
                for n in range(N):
                    acc = acc + dout[n * O + o]
                db[o] = acc


def dense_backward(const floating[:, ::1] dout,  # IN  (N, O)
                   const floating[:, ::1] x,     # IN  (N, I)
                   const floating[:, ::1] w,     # IN  (O, I)
                   bint need_dx,
                   floating[:, ::1] dx,          # OUT (N, I)
                   floating[:, ::1] dw,          # OUT (O, I)
                   floating[::1] db,             # OUT (O,), written only when has_bias
                   bint has_bias,
                   int num_threads):
    # Blocks never outnumber the rows nor the features, so each block has some of both.
    cdef Py_ssize_t blocks = min(<Py_ssize_t> num_threads, min(x.shape[0], w.shape[0]))
    cdef Py_ssize_t t
    if blocks < 1:
        blocks = 1
    # prange, not a bare parallel region: every block runs even if OpenMP grants fewer threads.
    for t in prange(blocks, nogil=True, num_threads=blocks, schedule="static", chunksize=1):
        dense_backward_block(&dout[0, 0], &x[0, 0], &w[0, 0], &dx[0, 0], &dw[0, 0], &db[0],
                             x.shape[0], x.shape[1], w.shape[0], need_dx, has_bias, t, blocks)
