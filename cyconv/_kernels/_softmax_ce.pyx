# Design: softmax and cross-entropy fused, the classifier's loss, as PyTorch's cross_entropy.
#
# With class weights w (all 1 when none are given), label smoothing ε and K classes, the loss
# of row n with label y is
#
#   loss_n = (1 − ε)·w_y·(−log p_ny) + (ε/K)·Σ_k w_k·(−log p_nk),   −log p_nk = L − s_nk
#
# where s_nk = z_nk − max_k z_nk and L = log Σ_k exp(s_nk) (log-sum-exp, shifted by the row
# maximum). Its gradient, scaled by the caller's `grad_scale` (1/Σ w_y of the kept rows for
# the weighted mean, 1 for the sum), is
#
#   dlogits_nj = scale·(p_nj·A_n − (ε/K)·w_j) − scale·(1 − ε)·w_y·[j = y],
#   A_n = (1 − ε)·w_y + (ε/K)·Σ_k w_k
#
# ε = 0 and w = 1 give the plain −log p_ny and (p − onehot)·scale. A row whose label is
# `ignore_index` has loss 0 and gradient 0, and its weight counts in no denominator.
#
# Fusing the two avoids log(softmax) → log(0) = −inf: logits [1000, 0] give loss 0 for label 0
# and 1000 for label 1, both finite. Per-sample losses are written to `losses`; the caller
# sums them in order, so the mean is reproducible whatever the thread count.
# Parallelism: prange over rows; each row writes only its own loss and gradient row.
from cython.parallel cimport prange
from libc.math cimport exp, log

from cyconv._kernels._blas cimport floating


def softmax_cross_entropy(const floating[:, ::1] logits,   # IN  (N, K)
                          const Py_ssize_t[::1] labels,     # IN  (N,), in [0, K) or ignored
                          const floating[::1] weight,       # IN  (K,) class weights, ≥ 0
                          Py_ssize_t ignore_index,          # label of rows that do not count
                          floating[::1] losses,             # OUT (N,)
                          floating[:, ::1] dlogits,         # OUT (N, K)
                          double smoothing,                 # ε in [0, 1) (checked)
                          double grad_scale,                # 1/denominator of the reduction
                          int num_threads):
    cdef Py_ssize_t N = logits.shape[0], K = logits.shape[1]
    cdef Py_ssize_t n, k, y
    cdef floating row_max, total, log_total, weighted_shift, w_y, a_n
    cdef floating scale = <floating> grad_scale
    cdef floating keep = <floating> (1.0 - smoothing)
    cdef floating per_class = <floating> (smoothing / K)
    cdef floating weight_sum = 0
    for k in range(K):
        weight_sum = weight_sum + weight[k]
    for n in prange(N, nogil=True, num_threads=num_threads, schedule="static"):
        y = labels[n]
        if y == ignore_index:
            losses[n] = 0
            for k in range(K):
                dlogits[n, k] = 0
            continue
        w_y = weight[y]
        row_max = logits[n, 0]
        for k in range(1, K):
            if logits[n, k] > row_max:
                row_max = logits[n, k]
        total = 0
        weighted_shift = 0
        for k in range(K):
            dlogits[n, k] = exp(logits[n, k] - row_max)
            total = total + dlogits[n, k]
            weighted_shift = weighted_shift + weight[k] * (logits[n, k] - row_max)
        log_total = log(total)
        a_n = keep * w_y + per_class * weight_sum
        losses[n] = (a_n * log_total - keep * w_y * (logits[n, y] - row_max)
                     - per_class * weighted_shift)
        for k in range(K):
            dlogits[n, k] = scale * (dlogits[n, k] / total * a_n - per_class * weight[k])
        dlogits[n, y] -= scale * keep * w_y
