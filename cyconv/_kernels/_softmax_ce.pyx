# Design: softmax and cross-entropy fused, the classifier's loss.
#
#   loss_n   = log Σ_k exp(z_nk) − Σ_k q_nk z_nk     (log-sum-exp, shifted by the row maximum)
#   dlogits  = (softmax(z) − q) / N
#
# with the target distribution q = (1 − ε)·onehot(y) + ε/K. Label smoothing ε = 0 is the plain
# cross-entropy −log p_y; ε > 0 (PyTorch's label_smoothing) also asks a little probability for
# every class, which keeps the logits from growing without bound.
#
# Fusing the two avoids log(softmax) → log(0) = −inf: logits [1000, 0] give loss 0 for label 0
# and 1000 for label 1, both finite. Per-sample losses are written to `losses`; the caller
# sums them in order, so the mean is reproducible whatever the thread count.
# Parallelism: prange over rows; each row writes only its own loss and gradient row.
from cython.parallel cimport prange
from libc.math cimport exp, log

from cyconv._kernels._blas cimport floating


def softmax_cross_entropy(const floating[:, ::1] logits,   # IN  (N, K)
                          const Py_ssize_t[::1] labels,     # IN  (N,), 0 ≤ label < K (checked)
                          floating[::1] losses,             # OUT (N,)
                          floating[:, ::1] dlogits,         # OUT (N, K)
                          double smoothing,                 # ε in [0, 1) (checked)
                          int num_threads):
    cdef Py_ssize_t N = logits.shape[0], K = logits.shape[1]
    cdef Py_ssize_t n, k
    cdef floating row_max, total, log_total, shifted_sum
    cdef floating inv_n = <floating> 1.0 / N
    cdef floating on_label = <floating> (1.0 - smoothing)
    cdef floating per_class = <floating> (smoothing / K)
    for n in prange(N, nogil=True, num_threads=num_threads, schedule="static"):
        row_max = logits[n, 0]
        for k in range(1, K):
            if logits[n, k] > row_max:
                row_max = logits[n, k]
        total = 0
        shifted_sum = 0
        for k in range(K):
            dlogits[n, k] = exp(logits[n, k] - row_max)
            total = total + dlogits[n, k]
            shifted_sum = shifted_sum + (logits[n, k] - row_max)
        log_total = log(total)
        losses[n] = (log_total - on_label * (logits[n, labels[n]] - row_max)
                     - per_class * shifted_sum)
        for k in range(K):
            dlogits[n, k] = (dlogits[n, k] / total - per_class) * inv_n
        dlogits[n, labels[n]] -= on_label * inv_n
