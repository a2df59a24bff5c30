# Design: one fused-type GEMM so every kernel calls BLAS the same way.
#
# BLAS is column-major and our arrays are row-major (C-contiguous). A row-major (r, c) matrix
# read as column-major is its transpose, so each call site writes the product for the
# transposes (C^T = B^T A^T) and passes the buffers unchanged; each site says which product.
# SciPy's OpenBLAS is pinned to one thread (cyconv/_threads.py): these calls run inside
# OpenMP threads and must not start threads of their own.
from scipy.linalg.cython_blas cimport dgemm, sgemm

ctypedef fused floating:
    float
    double


cdef inline void gemm(char transa, char transb, int m, int n, int k, floating alpha,
                      const floating *a, int lda, const floating *b, int ldb,
                      floating beta, floating *c, int ldc) noexcept nogil:
    # cython_blas takes non-const pointers although it never writes A or B.
    if floating is float:
        sgemm(&transa, &transb, &m, &n, &k, &alpha, <float *> a, &lda, <float *> b, &ldb,
              &beta, c, &ldc)
    else:
        dgemm(&transa, &transb, &m, &n, &k, &alpha, <double *> a, &lda, <double *> b, &ldb,
              &beta, c, &ldc)
