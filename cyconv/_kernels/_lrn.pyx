# Design: local response normalization across channels (AlexNet's "NORM"), with PyTorch's
# formula:
#
#   scale[c] = k + alpha/size · Σ_{c' = c − size//2 .. c + (size−1)//2} x[c']²   (clipped to [0, C))
#   out[c]   = x[c] · scale[c]^(−beta)
#
# Backward, with t[c] = dout[c] · out[c] / scale[c]:
#   dx[j] = dout[j] · scale[j]^(−beta) − (2·alpha·beta/size) · x[j] · Σ_{c : j ∈ window(c)} t[c]
# and j ∈ window(c) exactly when c runs over j − (size−1)//2 .. j + size//2.
# The forward pass keeps `scale` for the backward pass.
#
# Parallelism: prange over the batch; sample n reads and writes only its own planes.
from cython.parallel cimport prange
from libc.math cimport pow

from cyconv._kernels._blas cimport floating


def lrn_forward(const floating[:, :, ::1] x,      # IN  (N, C, H·W)
                Py_ssize_t size, double alpha, double beta, double k,
                floating[:, :, ::1] out,          # OUT (N, C, H·W)
                floating[:, :, ::1] scale,        # OUT (N, C, H·W)
                int num_threads):
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], HW = x.shape[2]
    cdef Py_ssize_t n, c, cc, p, lo, hi
    cdef double a_over_size = alpha / size
    for n in prange(N, nogil=True, num_threads=num_threads, schedule="static"):
        for c in range(C):
            lo = c - size // 2
            hi = c + (size - 1) // 2
            if lo < 0:
                lo = 0
            if hi > C - 1:
                hi = C - 1
            for p in range(HW):
                scale[n, c, p] = 0
            for cc in range(lo, hi + 1):
                for p in range(HW):
                    scale[n, c, p] += x[n, cc, p] * x[n, cc, p]
            for p in range(HW):
                scale[n, c, p] = <floating> (k + a_over_size * scale[n, c, p])
                out[n, c, p] = <floating> (x[n, c, p] * pow(scale[n, c, p], -beta))


def lrn_backward(const floating[:, :, ::1] dout,  # IN  (N, C, H·W)
                 const floating[:, :, ::1] x,     # IN
                 const floating[:, :, ::1] out,   # IN  (the forward output)
                 const floating[:, :, ::1] scale, # IN  (kept by the forward pass)
                 Py_ssize_t size, double alpha, double beta,
                 floating[:, :, ::1] t,           # scratch (N, C, H·W)
                 floating[:, :, ::1] dx,          # OUT (N, C, H·W)
                 int num_threads):
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], HW = x.shape[2]
    cdef Py_ssize_t n, c, j, p, lo, hi
    cdef double coef = 2.0 * alpha * beta / size
    cdef double acc
    for n in prange(N, nogil=True, num_threads=num_threads, schedule="static"):
        for c in range(C):
            for p in range(HW):
                t[n, c, p] = dout[n, c, p] * out[n, c, p] / scale[n, c, p]
        for j in range(C):
            lo = j - (size - 1) // 2
            hi = j + size // 2
            if lo < 0:
                lo = 0
            if hi > C - 1:
                hi = C - 1
            for p in range(HW):
                acc = 0
                for c in range(lo, hi + 1):
                    acc = acc + t[n, c, p]
                dx[n, j, p] = <floating> (dout[n, j, p] * pow(scale[n, j, p], -beta)
                                          - coef * x[n, j, p] * acc)
