"""The bookkeeping a Trainer saves and restores: the epoch's running totals, the history and
the random generators of dropout layers."""
import math

import numpy as np

from .metrics import confusion_matrix

__all__ = ["HISTORY_KEYS", "EpochTotals", "new_history", "json_floats", "dropout_generators"]

HISTORY_KEYS = (
    "step_loss", "step_accuracy", "step_lr", "step_seconds",
    "epoch_train_loss", "epoch_train_accuracy", "epoch_val_loss", "epoch_val_accuracy",
    "epoch_per_class_accuracy", "epoch_confusion", "epoch_seconds",
)


def new_history():
    return {key: [] for key in HISTORY_KEYS}


def json_floats(values):
    """Floats for JSON, NaN as None."""
    return [None if not math.isfinite(v) else float(v) for v in np.asarray(values, float)]


def dropout_generators(model):
    """layer name -> the numpy Generator a dropout layer draws its masks from."""
    return {layer.name: layer.rng for layer in model.layers
            if isinstance(getattr(layer, "rng", None), np.random.Generator)}


class EpochTotals:
    """What the training batches of the epoch in progress add up to."""

    def __init__(self, num_classes):
        self.num_classes = num_classes
        self.reset()

    def reset(self):
        self.loss_sum = 0.0      # sum of batch mean loss x batch size
        self.correct = 0
        self.seen = 0
        self.seconds = 0.0
        self.confusion = np.zeros((self.num_classes, self.num_classes), dtype=np.int64)

    def add(self, loss, labels, predictions, seconds):
        self.loss_sum += loss * len(labels)
        self.correct += int(np.count_nonzero(predictions == labels))
        self.seen += len(labels)
        self.seconds += seconds
        self.confusion += confusion_matrix(labels, predictions, self.num_classes)

    def to_state(self):
        return {"loss_sum": self.loss_sum, "correct": self.correct, "seen": self.seen,
                "seconds": self.seconds, "confusion": self.confusion.tolist()}

    def load_state(self, state):
        confusion = np.asarray(state["confusion"], dtype=np.int64)
        if confusion.shape != (self.num_classes, self.num_classes):
            raise ValueError(f"saved epoch totals are for {confusion.shape[0]} classes, the "
                             f"model has {self.num_classes}")
        self.loss_sum, self.correct = float(state["loss_sum"]), int(state["correct"])
        self.seen, self.seconds = int(state["seen"]), float(state["seconds"])
        self.confusion = confusion
