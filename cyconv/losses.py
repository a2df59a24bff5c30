"""Loss functions: ``forward(pred, target) -> float`` and ``backward() -> dpred``.

Cross-entropy for classification, L2 (MSE) or L1 for regression. Every loss is by default
the mean over the batch, so the learning rate does not depend on the batch size.
"""
from . import functional as F

__all__ = ["Loss", "SoftmaxCrossEntropy", "MSE", "L1", "LOSSES"]


class Loss:
    name = "loss"

    def __init__(self):
        self._grad = None

    def backward(self):
        if self._grad is None:
            raise RuntimeError(f"{self.name}: backward() called before forward()")
        return self._grad.copy()


class SoftmaxCrossEntropy(Loss):
    """Softmax of the logits, then −log p[label], as PyTorch's ``CrossEntropyLoss``; fused so
    that logits such as [1000, 0] give finite losses. ``target`` holds integer class labels
    (N,).

    ``weight`` (K,) makes class k's mistakes cost w_k (for rare classes); ``reduction`` "mean"
    is then the weighted mean Σ w_y·loss / Σ w_y, "sum" the sum, "none" the (N,) losses
    (``backward()`` then gives the gradient of their sum). A row labelled ``ignore_index``
    costs nothing and counts in no mean. ``label_smoothing`` ε in [0, 1) replaces the one-hot
    target by (1 − ε)·onehot + ε/K (PyTorch's definition): the net is asked for a little
    probability on every class, which stops it from growing its logits without bound.
    """
    name = "SoftmaxCrossEntropy"

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__()
        self.weight = F.check_class_weight(weight, None, self.name)
        self.ignore_index = F.check_ignore_index(ignore_index, self.name)
        self.reduction = F.check_reduction(reduction, self.name)
        self.label_smoothing = F.check_label_smoothing(label_smoothing, self.name)

    def forward(self, pred, target):
        loss, self._grad = F.softmax_cross_entropy(
            pred, target, weight=self.weight, ignore_index=self.ignore_index,
            reduction=self.reduction, label_smoothing=self.label_smoothing, layer=self.name)
        return loss


class MSE(Loss):
    """Mean squared error (L2 loss), averaged over every element."""
    name = "MSE"

    def forward(self, pred, target):
        loss, self._grad = F.mse_loss(pred, target, layer=self.name)
        return loss


class L1(Loss):
    """Mean absolute error (L1 loss), averaged over every element."""
    name = "L1"

    def forward(self, pred, target):
        loss, self._grad = F.l1_loss(pred, target, layer=self.name)
        return loss


LOSSES = {"cross_entropy": SoftmaxCrossEntropy, "mse": MSE, "l1": L1}
