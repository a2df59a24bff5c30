"""What a training run tells its driver: one report per batch, one per epoch, and the error
raised when a step turns NaN or infinite."""
import dataclasses

import numpy as np

__all__ = ["StepReport", "EpochReport", "TrainingDiverged"]


class TrainingDiverged(FloatingPointError):
    """A step produced a NaN or infinite loss, gradient or weight; nothing was updated.

    Attributes: ``step`` (the global step that failed, 1-based), ``epoch`` and ``batch``
    (1-based), ``cause`` (a short text: the likely cause and what to try).
    """

    def __init__(self, message, *, step, epoch, batch, cause):
        super().__init__(message)
        self.step, self.epoch, self.batch, self.cause = step, epoch, batch, cause


@dataclasses.dataclass(frozen=True)
class StepReport:
    """One batch: ``epoch`` (1-based, the epoch in progress), ``step`` (global, 1-based),
    ``batch`` (1-based within the epoch) of ``batches_per_epoch``, the batch's mean training
    ``loss`` (the loss the trainer minimises, label-smoothed if smoothing is on) and
    ``accuracy`` (train mode), the wall time in ``seconds`` and the ``lr`` it used."""

    epoch: int
    step: int
    batch: int
    batches_per_epoch: int
    loss: float
    accuracy: float
    seconds: float
    lr: float


@dataclasses.dataclass(frozen=True)
class EpochReport:
    """One finished epoch (``epoch`` 1-based).

    ``train_loss``/``train_accuracy`` average the epoch's training batches (train mode, the
    weights changing as they went; the loss is the training loss, label-smoothed if
    smoothing is on). ``val_loss``/``val_accuracy`` come from the validation set in inference
    mode with the plain loss (cross-entropy without smoothing), or are None without one.
    ``confusion[true, predicted]`` (K, K) counts and ``per_class_accuracy`` (K,) (NaN for a
    class with no examples) describe the validation set, or the epoch's training batches
    without one: ``confusion_source`` says which ("validation" or "training"). Arrays are
    read-only copies.
    """

    epoch: int
    train_loss: float
    train_accuracy: float
    val_loss: float | None
    val_accuracy: float | None
    per_class_accuracy: np.ndarray
    confusion: np.ndarray
    seconds: float
    confusion_source: str = "validation"
