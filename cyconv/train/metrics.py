"""How good a model is on a dataset: confusion matrix, per-class accuracy and ``evaluate``,
plus the check that a dataset fits a model at all."""
import copy
import dataclasses

import numpy as np

from .. import losses as loss_module
from .. import presets
from .._arrays import read_only, softmax

__all__ = ["EvalReport", "confusion_matrix", "per_class_accuracy", "evaluate", "check_dataset",
           "model_classes", "plain_loss", "EVAL_BATCH_SIZE"]

EVAL_BATCH_SIZE = 256


@dataclasses.dataclass(frozen=True)
class EvalReport:
    """A model on a dataset in inference mode: mean ``loss``, ``accuracy``,
    ``per_class_accuracy`` (K,), ``confusion`` (K, K) [true, predicted], ``predictions`` (N,)
    int64 class indices and ``probabilities`` (N, K) float32 (softmax of the logits)."""

    loss: float
    accuracy: float
    per_class_accuracy: np.ndarray
    confusion: np.ndarray
    predictions: np.ndarray
    probabilities: np.ndarray


def confusion_matrix(labels, predictions, num_classes):
    """counts[true, predicted] (num_classes, num_classes) int64 for label/prediction arrays (N,)."""
    labels = np.asarray(labels, dtype=np.int64)
    predictions = np.asarray(predictions, dtype=np.int64)
    if labels.shape != predictions.shape or labels.ndim != 1:
        raise ValueError(f"confusion_matrix: labels {labels.shape} and predictions "
                         f"{predictions.shape} must be the same 1-D shape (N,)")
    flat = np.bincount(labels * num_classes + predictions, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes)


def per_class_accuracy(confusion):
    """Diagonal over row sums: the fraction of each true class predicted right (NaN if absent)."""
    confusion = np.asarray(confusion)
    totals = confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(confusion) / np.maximum(totals, 1), np.nan)


def model_classes(model):
    """How many class scores the model outputs; ValueError if its output is not a vector."""
    output = tuple(model.output_shape)
    if len(output) != 1:
        raise ValueError(f"the model's output has shape {output}; a classifier must end in a "
                         f"vector of class scores (end with Flatten and Dense)")
    return int(output[0])


def plain_loss(loss):
    """The loss to report on held-out data: cross-entropy without label smoothing when
    ``loss`` is a smoothed cross-entropy (smoothing is a training device; reporting it would
    make a test loss that ``evaluate`` contradicts), otherwise a copy of ``loss``."""
    if loss is None or isinstance(loss, loss_module.SoftmaxCrossEntropy):
        return loss_module.SoftmaxCrossEntropy()
    return copy.copy(loss)


def check_dataset(dataset, model, role="data"):
    """Raise a ValueError a student can act on if ``dataset`` does not fit ``model``.

    The images must have the model's input shape (C, H, W) and the dataset as many classes as
    the model has outputs; the message suggests presets that do fit the data.
    """
    images = getattr(dataset, "images", None)
    labels = getattr(dataset, "labels", None)
    if not isinstance(images, np.ndarray) or not isinstance(labels, np.ndarray):
        raise TypeError(f"the {role} set must be a cyconv.data.Dataset (images and labels "
                        f"arrays), got {type(dataset).__name__}")
    if len(labels) == 0:
        raise ValueError(f"the {role} set {getattr(dataset, 'name', '')!r} is empty")
    name = getattr(dataset, "name", role)
    shape = tuple(int(s) for s in images.shape[1:])
    if shape != tuple(model.input_shape):
        fitting = [p for p in presets.PRESET_NAMES if tuple(presets.configs(p)[0]) == shape]
        hint = (f"; presets for {shape}: {', '.join(fitting)}" if fitting else "")
        raise ValueError(f"the model takes inputs of shape {tuple(model.input_shape)} (C, H, W) "
                         f"but the {role} set {name!r} has images of shape {shape}: choose a "
                         f"model or a dataset that match{hint}")
    classes = getattr(dataset, "classes", None)
    num_classes = len(classes) if classes is not None else int(labels.max()) + 1
    outputs = model_classes(model)
    if outputs != num_classes:
        raise ValueError(f"the model has {outputs} outputs but the {role} set {name!r} has "
                         f"{num_classes} classes: the last Dense layer's out_features must "
                         f"equal the number of classes")


def evaluate(model, dataset, *, loss=None, batch_size=EVAL_BATCH_SIZE):
    """The model on ``dataset`` in inference mode (no dropout), in batches: an EvalReport.

    ``loss`` defaults to SoftmaxCrossEntropy; its value is the mean over all examples. A
    label-smoothed cross-entropy is reported without its smoothing (see ``plain_loss``).
    """
    check_dataset(dataset, model, "evaluation")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise ValueError(f"evaluate: batch_size must be a positive int, got {batch_size!r}")
    loss = plain_loss(loss)
    num_classes = model_classes(model)
    images, labels = dataset.images, dataset.labels
    total_loss = 0.0
    predictions = np.empty(len(labels), dtype=np.int64)
    probabilities = np.empty((len(labels), num_classes), dtype=np.float32)
    for start in range(0, len(labels), batch_size):
        stop = min(start + batch_size, len(labels))
        logits = model.forward(images[start:stop], training=False)
        total_loss += loss.forward(logits, labels[start:stop]) * (stop - start)
        predictions[start:stop] = logits.argmax(axis=1)
        probabilities[start:stop] = softmax(logits, axis=1)
    confusion = confusion_matrix(labels, predictions, num_classes)
    return EvalReport(loss=total_loss / len(labels),
                      accuracy=float(np.mean(predictions == labels)),
                      per_class_accuracy=read_only(per_class_accuracy(confusion)),
                      confusion=read_only(confusion), predictions=read_only(predictions),
                      probabilities=read_only(probabilities))
