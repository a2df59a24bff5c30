# Design: element-wise activations (ReLU, LeakyReLU, Sigmoid, Tanh) and the row-wise softmax,
# forward and backward.
#
# The element-wise kernels take flat (size,) views; the caller reshapes. Sigmoid and Tanh
# backward use the forward *output* (s' = s(1 - s), tanh' = 1 - t²), so the cache holds the
# output, not the input. ReLU and LeakyReLU backward use the input's sign; at exactly 0 the
# gradient is 0 for ReLU (PyTorch's choice).
# Softmax subtracts each row's maximum before exp, so logits like [1000, 0] do not overflow.
#
# Parallelism: prange over elements (static chunks) or over rows. Every output element is
# written by exactly one iteration, so nothing is shared.
from cython.parallel cimport prange
from libc.math cimport exp, tanh

from cyconv._kernels._blas cimport floating

cdef enum:
    ACT_RELU = 0
    ACT_LEAKY_RELU = 1
    ACT_SIGMOID = 2
    ACT_TANH = 3


cdef inline floating sigmoid(floating v) noexcept nogil:
    # Two branches keep exp's argument ≤ 0, so neither overflows for large |v|.
    cdef floating e
    if v >= 0:
        return 1 / (1 + exp(-v))
    e = exp(v)
    return e / (1 + e)


def activation_forward(const floating[::1] x, int kind, double negative_slope,
                       floating[::1] out, int num_threads):
    cdef Py_ssize_t i, size = x.shape[0]
    cdef floating v
    cdef floating slope = <floating> negative_slope
    for i in prange(size, nogil=True, num_threads=num_threads, schedule="static"):
        v = x[i]
        if kind == ACT_RELU:
            out[i] = v if v > 0 else 0
        elif kind == ACT_LEAKY_RELU:
            out[i] = v if v > 0 else slope * v
        elif kind == ACT_SIGMOID:
            out[i] = sigmoid(v)
        else:
            out[i] = tanh(v)


def activation_backward(const floating[::1] dout, const floating[::1] cached, int kind,
                        double negative_slope, floating[::1] dx, int num_threads):
    """`cached` is the input for (leaky) ReLU and the output for sigmoid and tanh."""
    cdef Py_ssize_t i, size = dout.shape[0]
    cdef floating c
    cdef floating slope = <floating> negative_slope
    for i in prange(size, nogil=True, num_threads=num_threads, schedule="static"):
        c = cached[i]
        if kind == ACT_RELU:
            dx[i] = dout[i] if c > 0 else 0
        elif kind == ACT_LEAKY_RELU:
            dx[i] = dout[i] if c > 0 else slope * dout[i]
        elif kind == ACT_SIGMOID:
            dx[i] = dout[i] * c * (1 - c)
        else:
            dx[i] = dout[i] * (1 - c * c)


def softmax_forward(const floating[:, ::1] x, floating[:, ::1] out, int num_threads):
    cdef Py_ssize_t N = x.shape[0], K = x.shape[1]
    cdef Py_ssize_t n, k
    cdef floating row_max, total
    for n in prange(N, nogil=True, num_threads=num_threads, schedule="static"):
        row_max = x[n, 0]
        for k in range(1, K):
            if x[n, k] > row_max:
                row_max = x[n, k]
        total = 0
        for k in range(K):
            out[n, k] = exp(x[n, k] - row_max)
            total = total + out[n, k]
        for k in range(K):
            out[n, k] = out[n, k] / total


def softmax_backward(const floating[:, ::1] dout, const floating[:, ::1] out,
                     floating[:, ::1] dx, int num_threads):
    # dx_k = s_k (dout_k − Σ_j dout_j s_j)
    cdef Py_ssize_t N = out.shape[0], K = out.shape[1]
    cdef Py_ssize_t n, k
    cdef floating dot
    for n in prange(N, nogil=True, num_threads=num_threads, schedule="static"):
        dot = 0
        for k in range(K):
            dot = dot + dout[n, k] * out[n, k]
        for k in range(K):
            dx[n, k] = out[n, k] * (dout[n, k] - dot)
