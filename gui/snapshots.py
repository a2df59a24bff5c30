"""Immutable data the training thread sends to the window (no Qt, no references to the model).

Every array is a copy marked read-only: a `Signal(object)` passes the reference, so the
worker must never write to what it has sent, and the window cannot write to it either.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np


def frozen(array) -> np.ndarray:
    """A C-contiguous read-only copy of `array`."""
    copy = np.array(array, copy=True, order="C")
    copy.flags.writeable = False
    return copy


def softmax(logits: np.ndarray) -> np.ndarray:
    """Probabilities from class scores (K,), stable for large scores."""
    shifted = np.asarray(logits, dtype=np.float64) - np.max(logits)
    exp = np.exp(shifted)
    return exp / exp.sum()


@dataclass(frozen=True)
class SessionInfo:
    """What a run is about, sent once when the worker has built it.

    eval_images (N, C, H, W) and eval_labels (N,) are the evaluation subset the confusion
    matrix and the sample picker refer to (read-only, never changed by training).
    """
    classes: tuple
    dataset: str
    model_config: dict
    input_shape: tuple
    eval_images: np.ndarray
    eval_labels: np.ndarray
    batches_per_epoch: int
    epochs: int
    normalization: tuple | None = None
    history: Mapping = field(default_factory=dict)     # the Trainer's history (a loaded run's)
    global_step: int = 0

    @property
    def total_steps(self) -> int:
        return self.batches_per_epoch * self.epochs


@dataclass(frozen=True)
class SampleView:
    """One sample through the network: `outputs` are introspect.activations' tuples
    (layer_name, kind, array); `source` is "eval" (index into the eval subset) or "drawn"."""
    source: str
    index: int | None
    label: int | None
    image: np.ndarray
    outputs: tuple
    probabilities: np.ndarray


@dataclass(frozen=True)
class Evaluation:
    """Predictions on the eval subset at `step`: confusion[true, predicted] counts,
    predictions (N,), confidences (N,) = probability of the predicted class."""
    step: int
    loss: float
    accuracy: float
    confusion: np.ndarray
    predictions: np.ndarray
    confidences: np.ndarray


@dataclass(frozen=True)
class Pictures:
    """Conv weights (introspect.ConvLayerView) and the selected sample, taken at one step."""
    step: int
    convs: tuple = field(default_factory=tuple)
    sample: SampleView | None = None
