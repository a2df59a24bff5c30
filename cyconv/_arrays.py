"""Small array helpers shared by every part that hands arrays to someone else.

Kept apart from the kernels so that any module (the shape engine, the lab session, a viewer)
can use them without loading compiled code.
"""
import numpy as np

__all__ = ["read_only", "softmax"]


def read_only(array) -> np.ndarray:
    """A C-contiguous copy that nobody can write to: what a viewer, a snapshot or a report
    receives, so the sender may go on changing its own array."""
    copy = np.array(array, copy=True, order="C")
    copy.flags.writeable = False
    return copy


def softmax(logits, axis=-1) -> np.ndarray:
    """Probabilities from class scores along ``axis``, in float64; stable for large scores
    (the largest score is subtracted before exp, so [1000, 0] gives [1, 0], not NaN)."""
    logits = np.asarray(logits, dtype=np.float64)
    shifted = logits - np.max(logits, axis=axis, keepdims=True)
    exp = np.exp(shifted)
    return exp / np.sum(exp, axis=axis, keepdims=True)
