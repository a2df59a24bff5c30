# Design: element-wise activations (ReLU, LeakyReLU, ELU, Sigmoid, Tanh) and the row-wise
# softmax, forward and backward.
#
# The element-wise kernels take flat (size,) views; the caller reshapes. Sigmoid and Tanh
# backward use the forward *output* (s' = s(1 - s), tanh' = 1 - t²), so the cache holds the
# output, not the input. ReLU and LeakyReLU backward use the input's sign; at exactly 0 the
# gradient is 0 for ReLU (PyTorch's choice).
# Softmax subtracts each row's maximum before exp, so logits like [1000, 0] do not overflow.
#
# Parallelism: the flat arrays are cut into one contiguous block per thread (small arrays stay
# on one thread: starting threads costs more than they save), softmax runs prange over rows.
# Every output element is written by exactly one block or row, so nothing is shared.
from cython.parallel cimport prange
from libc.math cimport exp, expm1, tanh

from cyconv._kernels._blas cimport floating

cdef enum:
    ACT_RELU = 0
    ACT_LEAKY_RELU = 1
    ACT_SIGMOID = 2
    ACT_TANH = 3
    ACT_ELU = 4

# What the Python side passes as `kind`, and which kinds' backward reads the forward output
# instead of the input (the facade keeps that array in the cache). `parameter` is the one
# scalar a kind may have (LeakyReLU's negative slope, ELU's alpha); the others ignore it.
KINDS = {"relu": ACT_RELU, "leaky_relu": ACT_LEAKY_RELU, "sigmoid": ACT_SIGMOID,
         "tanh": ACT_TANH, "elu": ACT_ELU}
BACKWARD_READS_OUTPUT = frozenset({"sigmoid", "tanh", "elu"})


cdef inline floating sigmoid(floating v) noexcept nogil:
    # Two branches keep exp's argument ≤ 0, so neither overflows for large |v|.
    cdef floating e
    if v >= 0:
        return 1 / (1 + exp(-v))
    e = exp(v)
    return e / (1 + e)


cdef void forward_block(const floating *x, floating *out, Py_ssize_t n, int kind,
                       floating slope) noexcept nogil:
    # One tight loop per kind, so the compiler can vectorise each; a branch on `kind` inside
    # a single loop made ReLU ~15x slower than numpy.maximum.
    cdef Py_ssize_t i
    if kind == ACT_RELU:
        for i in range(n):
            out[i] = x[i] if x[i] > 0 else 0
    elif kind == ACT_LEAKY_RELU:
        for i in range(n):
            out[i] = x[i] if x[i] > 0 else slope * x[i]
    elif kind == ACT_ELU:
        # expm1 keeps alpha·(eˣ − 1) exact near 0, where eˣ − 1 would cancel.
        for i in range(n):
            out[i] = x[i] if x[i] > 0 else slope * expm1(x[i])
    elif kind == ACT_SIGMOID:
        for i in range(n):
            out[i] = sigmoid(x[i])
    else:
        for i in range(n):
            out[i] = tanh(x[i])


cdef void backward_block(const floating *dout, const floating *cached, floating *dx,
                         Py_ssize_t n, int kind, floating slope) noexcept nogil:
    # Each gradient is loaded before the select: a load behind the condition kept gcc from
    # turning the branch into a vector blend, and ReLU backward ran 17x slower than forward.
    cdef Py_ssize_t i
    cdef floating g
    if kind == ACT_RELU:
        for i in range(n):
            g = dout[i]
            dx[i] = g if cached[i] > 0 else 0
    elif kind == ACT_LEAKY_RELU:
        for i in range(n):
            g = dout[i]
            dx[i] = g if cached[i] > 0 else slope * g
    elif kind == ACT_ELU:
        # cached is the output: > 0 exactly where x > 0, and alpha·eˣ = out + alpha elsewhere.
        for i in range(n):
            g = dout[i]
            dx[i] = g if cached[i] > 0 else g * (cached[i] + slope)
    elif kind == ACT_SIGMOID:
        for i in range(n):
            dx[i] = dout[i] * cached[i] * (1 - cached[i])
    else:
        for i in range(n):
            dx[i] = dout[i] * (1 - cached[i] * cached[i])


cdef inline Py_ssize_t block_start(Py_ssize_t total, Py_ssize_t blocks, Py_ssize_t i) noexcept nogil:
    return (total * i) // blocks


def activation_forward(const floating[::1] x, int kind, double parameter,
                       floating[::1] out, int num_threads):
    cdef Py_ssize_t size = x.shape[0]
    cdef Py_ssize_t blocks = max(1, min(<Py_ssize_t> num_threads, size // 16384))
    cdef Py_ssize_t t, lo, hi
    for t in prange(blocks, nogil=True, num_threads=num_threads, schedule="static"):
        lo = block_start(size, blocks, t)
        hi = block_start(size, blocks, t + 1)
        forward_block(&x[lo], &out[lo], hi - lo, kind, <floating> parameter)


def activation_backward(const floating[::1] dout, const floating[::1] cached, int kind,
                        double parameter, floating[::1] dx, int num_threads):
    """`cached` is the forward output for the kinds in BACKWARD_READS_OUTPUT, else the input."""
    cdef Py_ssize_t size = dout.shape[0]
    cdef Py_ssize_t blocks = max(1, min(<Py_ssize_t> num_threads, size // 16384))
    cdef Py_ssize_t t, lo, hi
    for t in prange(blocks, nogil=True, num_threads=num_threads, schedule="static"):
        lo = block_start(size, blocks, t)
        hi = block_start(size, blocks, t + 1)
        backward_block(&dout[lo], &cached[lo], &dx[lo], hi - lo, kind, <floating> parameter)


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
