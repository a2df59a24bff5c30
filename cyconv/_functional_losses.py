"""The checked entry points of the losses (part of :mod:`cyconv.functional`): softmax
cross-entropy with class weights, an ignored label, a reduction and label smoothing (the
Cython kernel), and the regression losses MSE and L1."""
import math

import numpy as np

from . import _plans
from ._checks import check_float_array, check_same_shape, fmt
from ._kernels import _softmax_ce

REDUCTIONS = ("mean", "sum", "none")
_CE = "SoftmaxCrossEntropy"


def check_labels(labels, n_samples, n_classes, layer=_CE, ignore_index=None):
    """Integer class indices (N,), each in [0, K) or equal to ``ignore_index``."""
    if not isinstance(labels, np.ndarray):
        labels = np.asarray(labels)
    if labels.dtype == np.bool_ or not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"{layer}: labels must be integer class indices, got dtype {labels.dtype}")
    if labels.shape != (n_samples,):
        raise ValueError(f"{layer}: labels {fmt(labels.shape)} must be (N,) with N={n_samples} "
                         f"to match the logits")
    counted = labels if ignore_index is None else labels[labels != ignore_index]
    if counted.size and (counted.min() < 0 or counted.max() >= n_classes):
        ignored = "" if ignore_index is None else f" (or ignore_index={ignore_index})"
        raise ValueError(f"{layer}: labels must lie in [0, {n_classes - 1}] for K={n_classes} "
                         f"classes{ignored}; got values from {counted.min()} to "
                         f"{counted.max()}")
    return np.ascontiguousarray(labels, dtype=np.intp)


def check_label_smoothing(value, layer):
    """ε of label smoothing: a number in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
            or not math.isfinite(value) or not 0 <= value < 1:
        raise ValueError(f"{layer}: label_smoothing must be a number in [0, 1) (the target is "
                         f"(1 − ε)·onehot + ε/K), got {value!r}")
    return float(value)


def check_reduction(value, layer):
    """"mean", "sum" or "none"."""
    if not isinstance(value, str) or value not in REDUCTIONS:
        raise ValueError(f"{layer}: reduction must be one of {', '.join(REDUCTIONS)}, got "
                         f"{value!r}")
    return value


def check_ignore_index(value, layer):
    """The label whose rows do not count: an int (PyTorch's default is −100)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{layer}: ignore_index must be an int, got {value!r}")
    return int(value)


def check_class_weight(weight, n_classes, layer):
    """Class weights (K,): finite and ≥ 0, as float64 (None stays None)."""
    if weight is None:
        return None
    array = np.asarray(weight)
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.number):
        raise TypeError(f"{layer}: weight must be numbers, one per class, got dtype "
                        f"{array.dtype}")
    array = array.astype(np.float64)
    if n_classes is not None and array.shape != (n_classes,):
        raise ValueError(f"{layer}: weight {fmt(array.shape)} must be (K,) with one weight per "
                         f"class, K={n_classes}")
    if array.ndim != 1 or not np.isfinite(array).all() or (array < 0).any():
        raise ValueError(f"{layer}: weight must be a 1-D array of finite weights ≥ 0, got "
                         f"{fmt(array.shape)} {array.tolist()!r}")
    return array


def _denominator(labels, weight, ignore_index, reduction):
    """What the summed losses are divided by: Σ w_y of the rows that count for the weighted
    mean (their number without weights), 1 for "sum" and "none"; 0 when no row counts."""
    if reduction != "mean":
        return 1.0
    kept = labels[labels != ignore_index]
    return float(weight[kept].sum()) if weight is not None else float(kept.size)


def softmax_cross_entropy(logits, labels, *, weight=None, ignore_index=-100, reduction="mean",
                          label_smoothing=0.0, layer=_CE):
    """Cross-entropy of softmax(logits) (N, K) against integer labels: (loss, dlogits), as
    PyTorch's ``cross_entropy``.

    Row n with label y costs (1 − ε)·w_y·(−log p_ny) + (ε/K)·Σ_k w_k·(−log p_nk) (w = 1
    without ``weight``, ε = ``label_smoothing``); a row labelled ``ignore_index`` costs 0.
    ``reduction``: "mean" divides the sum by Σ w_y of the rows that count (the plain mean
    without weights), "sum" adds, "none" returns the (N,) losses. ``dlogits`` is the gradient
    of the returned loss ("none": of the losses' sum).
    """
    logits = check_float_array(logits, "logits", layer, ndim=2)
    N, K = logits.shape
    ignore_index = check_ignore_index(ignore_index, layer)
    labels = check_labels(labels, N, K, layer, ignore_index=ignore_index)
    smoothing = check_label_smoothing(label_smoothing, layer)
    reduction = check_reduction(reduction, layer)
    weight = check_class_weight(weight, K, layer)
    kernel_weight = np.ones(K, logits.dtype) if weight is None else weight.astype(logits.dtype)
    denominator = _denominator(labels, weight, ignore_index, reduction)
    # No row counts (all ignored, or of weight 0): PyTorch's mean is NaN, which would stop a
    # training run; here the loss and its gradient are 0, there is nothing to learn from it.
    scale = 1.0 / denominator if denominator else 0.0
    losses = np.empty(N, dtype=logits.dtype)
    dlogits = np.empty_like(logits)
    _softmax_ce.softmax_cross_entropy(logits, labels, kernel_weight, ignore_index, losses,
                                      dlogits, smoothing, scale, _plans.num_threads(logits.size))
    if reduction == "none":
        return losses, dlogits
    # The per-row losses are summed in order, so the result is the same on any thread count.
    return float(losses.sum()) * scale if reduction == "mean" else float(losses.sum()), dlogits


def _regression_inputs(pred, target, layer):
    pred = check_float_array(pred, "pred", layer)
    target = check_float_array(target, "target", layer)
    check_same_shape(pred, target, "pred", "target", layer)
    return pred, target.astype(pred.dtype, copy=False)


def mse_loss(pred, target, *, layer="MSE"):
    """Mean of (pred − target)² over every element (L2): (loss, dpred = 2(pred − target)/size)."""
    pred, target = _regression_inputs(pred, target, layer)
    diff = np.asarray(pred - target)
    return float(np.mean(diff * diff)), np.asarray((2.0 / diff.size) * diff)


def l1_loss(pred, target, *, layer="L1"):
    """Mean of |pred − target| (L1): (loss, dpred = sign(pred − target)/size)."""
    pred, target = _regression_inputs(pred, target, layer)
    diff = np.asarray(pred - target)
    return float(np.mean(np.abs(diff))), np.asarray(np.sign(diff) / diff.size)
