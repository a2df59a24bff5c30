# Design: batch normalization (BatchNorm2D on (N, C, H·W), BatchNorm1D on (N, C, 1)),
# training forward, inference forward and backward, with PyTorch's formulas.
#
# Training, per channel c over its M = N·H·W values:
#   mean_c = Σ x / M,  var_c = Σ (x − mean_c)² / M  (biased: the one that normalizes),
#   x̂ = (x − mean_c)/√(var_c + eps),  out = gamma_c·x̂ + beta_c.
# Two passes (mean, then squared deviations) in double, so float32 inputs with a large mean
# do not lose the variance to cancellation. The caller updates the running statistics from
# mean and var (it owns the momentum and the unbiased M/(M − 1) factor).
# Inference: out = x·scale_c + shift_c, the caller folding gamma, beta and the running
# statistics into scale and shift.
# Backward, with x̂ kept from the forward pass:
#   dbeta_c = Σ dout,  dgamma_c = Σ dout·x̂,
#   dx = gamma_c/(M·√(var_c + eps)) · (M·dout − dbeta_c − x̂·dgamma_c)
#
# Parallelism: the statistics are sums over the batch, so training forward and backward run
# prange over the channels (each thread owns whole channels: no shared sums, no races);
# inference has nothing to reduce and runs prange over the batch.
from cython.parallel cimport prange
from libc.math cimport sqrt

from cyconv._kernels._blas cimport floating


def batchnorm_forward_train(const floating[:, :, ::1] x,     # IN  (N, C, P)
                            const floating[::1] gamma,       # IN  (C,)
                            const floating[::1] beta,        # IN  (C,)
                            double eps,
                            floating[:, :, ::1] xhat,        # OUT (N, C, P)
                            floating[:, :, ::1] out,         # OUT (N, C, P)
                            double[::1] mean,                # OUT (C,) batch mean
                            double[::1] var,                 # OUT (C,) biased batch variance
                            double[::1] inv_std,             # OUT (C,) 1/√(var + eps)
                            int num_threads):
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], P = x.shape[2]
    cdef Py_ssize_t n, c, p
    cdef double total, deviation, m, s
    for c in prange(C, nogil=True, num_threads=num_threads, schedule="static"):
        total = 0
        for n in range(N):
            for p in range(P):
                total = total + x[n, c, p]
        m = total / (N * P)
        total = 0
        for n in range(N):
            for p in range(P):
                deviation = x[n, c, p] - m
                total = total + deviation * deviation
        mean[c] = m
        var[c] = total / (N * P)
        s = 1.0 / sqrt(var[c] + eps)
        inv_std[c] = s
        for n in range(N):
            for p in range(P):
                xhat[n, c, p] = <floating> ((x[n, c, p] - m) * s)
                out[n, c, p] = gamma[c] * xhat[n, c, p] + beta[c]


def batchnorm_forward_eval(const floating[:, :, ::1] x,      # IN  (N, C, P)
                           const floating[::1] scale,        # IN  (C,) gamma/√(running_var + eps)
                           const floating[::1] shift,        # IN  (C,) beta − running_mean·scale
                           floating[:, :, ::1] out,          # OUT (N, C, P)
                           int num_threads):
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], P = x.shape[2]
    cdef Py_ssize_t n, c, p
    for n in prange(N, nogil=True, num_threads=num_threads, schedule="static"):
        for c in range(C):
            for p in range(P):
                out[n, c, p] = x[n, c, p] * scale[c] + shift[c]


def batchnorm_backward(const floating[:, :, ::1] dout,       # IN  (N, C, P)
                       const floating[:, :, ::1] xhat,       # IN  (N, C, P) from the forward
                       const floating[::1] gamma,            # IN  (C,)
                       const double[::1] inv_std,            # IN  (C,) from the forward
                       floating[:, :, ::1] dx,               # OUT (N, C, P)
                       floating[::1] dgamma,                 # OUT (C,)
                       floating[::1] dbeta,                  # OUT (C,)
                       int num_threads):
    cdef Py_ssize_t N = dout.shape[0], C = dout.shape[1], P = dout.shape[2]
    cdef Py_ssize_t n, c, p
    cdef double sum_dout, sum_dout_xhat, factor, count = N * P
    for c in prange(C, nogil=True, num_threads=num_threads, schedule="static"):
        sum_dout = 0
        sum_dout_xhat = 0
        for n in range(N):
            for p in range(P):
                sum_dout = sum_dout + dout[n, c, p]
                sum_dout_xhat = sum_dout_xhat + dout[n, c, p] * xhat[n, c, p]
        dbeta[c] = <floating> sum_dout
        dgamma[c] = <floating> sum_dout_xhat
        factor = gamma[c] * inv_std[c] / count
        for n in range(N):
            for p in range(P):
                dx[n, c, p] = <floating> (factor * (count * dout[n, c, p] - sum_dout
                                                    - xhat[n, c, p] * sum_dout_xhat))
