# Design: one fused-type, row-major GEMM so every kernel calls BLAS the same way, and each
# call site reads like the math it computes.
#
#   gemm_rowmajor(trans_a, trans_b, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc)
#   computes C (m, n) = alpha · op(A) (m, k) @ op(B) (k, n) + beta · C, where op(X) is X or
#   Xᵀ, and A, B, C are row-major (C-contiguous) with row strides lda, ldb, ldc.
#
# BLAS is column-major. A row-major (r, c) matrix read as column-major is its transpose, so
# the helper asks BLAS for Cᵀ = op(B)ᵀ op(A)ᵀ with the operands swapped: the same single BLAS
# call a hand-transposed call site would make, at no cost.
# SciPy's OpenBLAS is pinned to one thread (cyconv/_threads.py): these calls run inside
# OpenMP threads and must not start threads of their own.
from scipy.linalg.cython_blas cimport dgemm, sgemm

ctypedef fused floating:
    float
    double


cdef inline void gemm_rowmajor(bint trans_a, bint trans_b, int m, int n, int k,
                               floating alpha, const floating *a, int lda,
                               const floating *b, int ldb, floating beta,
                               floating *c, int ldc) noexcept nogil:
    cdef char op_a = c'T' if trans_a else c'N'
    cdef char op_b = c'T' if trans_b else c'N'
    # cython_blas takes non-const pointers although it never writes A or B.
    if floating is float:
        sgemm(&op_b, &op_a, &n, &m, &k, &alpha, <float *> b, &ldb, <float *> a, &lda,
              &beta, c, &ldc)
    else:
        dgemm(&op_b, &op_a, &n, &m, &k, &alpha, <double *> b, &ldb, <double *> a, &lda,
              &beta, c, &ldc)
