"""Immutable data a lab session hands to a viewer (no Qt, no references to the model).

Every array is a copy marked read-only (`cyconv._arrays.read_only`): a Qt `Signal(object)`
passes the reference, so the session must never write to what it has sent, and the viewer
cannot write to it either.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class SessionInfo:
    """What a run is about, sent once when the session has built or loaded it.

    eval_images (N, C, H, W) and eval_labels (N,) are the fixed test subset the confusion
    matrix and the sample picker refer to (read-only, never changed by training); they are
    empty when a loaded checkpoint's data is not on this computer. ``settings`` are the run's
    (a loaded checkpoint's own), ``resumed_from`` the checkpoint it continues (or None),
    ``final`` the last whole-test-set Evaluation (a loaded run's, or None).
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
    settings: object = None                            # cyconv.lab.TrainingSettings
    resumed_from: str | None = None
    final: Evaluation | None = None

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
    """Predictions at `step` on `n` test samples: the live subset, or the whole test split
    when `whole_test`; confusion[true, predicted] counts, predictions (N,), confidences (N,) =
    probability of the predicted class; loss is the plain cross-entropy."""
    step: int
    loss: float
    accuracy: float
    confusion: np.ndarray
    predictions: np.ndarray
    confidences: np.ndarray
    n: int = 0
    whole_test: bool = False


@dataclass(frozen=True)
class Pictures:
    """Conv weights (introspect.ConvLayerView) and the selected sample, taken at one step."""
    step: int
    convs: tuple = field(default_factory=tuple)
    sample: SampleView | None = None
