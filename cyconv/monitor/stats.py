"""A network's vital signs at one step, per layer: what the doctor reads.

- gradient norm ‖∂L/∂W‖ of each weighted layer (the last backward pass's);
- update-to-weight ratio ‖ΔW‖/‖W‖ of the last update (CS231n's rule of thumb: about 1e-3;
  far above, the learning rate is too high; far below, too low);
- the spread of a layer's units (how far its filters or rows are from their mean, relative to
  their size): zero means every unit is the same, the symmetry a constant start never breaks;
- per activation layer, the share of units that never fired on the probe batch (ReLU: output
  0 for every probe image: "dead") and the share saturated (sigmoid near 0 or 1, tanh near ±1);
- histograms of weights, gradients and activations.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import schema
from .._arrays import read_only

__all__ = ["LayerStats", "ActivationStats", "Checkup", "HISTOGRAM_BINS", "histogram", "weight_stats",
           "activation_stats", "checkup", "weights_of"]

HISTOGRAM_BINS = 30
#: A histogram is drawn from at most this many values, evenly strided: the picture is the same
#: and a probe batch's first activation maps (32 × 5,760 values in mnist_cnn) cost a tenth.
HISTOGRAM_VALUES = 16384
#: A sigmoid output this close to 0 or 1 (a tanh's to ±1) passes almost no gradient (σ' < 0.01).
SATURATION_MARGIN = 0.01


@dataclass(frozen=True)
class Histogram:
    counts: np.ndarray        # (bins,) int64
    edges: np.ndarray         # (bins + 1,) float64


def histogram(values, bins: int = HISTOGRAM_BINS) -> Histogram:
    """Counts of the finite ``values`` (at most HISTOGRAM_VALUES of them, evenly strided) in
    ``bins`` equal bins over their own range (the last bin includes its right edge)."""
    flat = np.asarray(values).ravel()
    flat = flat[::max(1, -(-flat.size // HISTOGRAM_VALUES))]
    flat = flat[np.isfinite(flat)].astype(np.float64)
    low, high = (float(flat.min()), float(flat.max())) if flat.size else (0.0, 0.0)
    if high <= low:
        low, high = low - 0.5, high + 0.5
    # bincount of the bin indices: what np.histogram does for equal bins, without its checks,
    # which cost more than the counting on these small samples
    index = np.minimum(((flat - low) * (bins / (high - low))).astype(np.int64), bins - 1)
    counts = np.bincount(index, minlength=bins)
    return Histogram(read_only(counts.astype(np.int64)), read_only(np.linspace(low, high, bins + 1)))


@dataclass(frozen=True)
class LayerStats:
    """One weighted layer (Conv2D or Dense) at one step; ``update_ratio`` is NaN when the
    weights before the step are not known."""
    layer: str
    type_name: str
    units: int
    weight_norm: float
    grad_norm: float
    update_ratio: float
    spread: float
    weights: Histogram
    gradients: Histogram


@dataclass(frozen=True)
class ActivationStats:
    """One activation layer's output on the probe batch: ``dead`` = share of its units (a unit
    is one channel at one position, or one feature) that never fired, ``saturated`` = share of
    outputs in the flat part of a sigmoid or tanh, ``gain`` = the mean slope of the activation at
    its inputs (the share of the gradient it passes on: ReLU 0 or 1, sigmoid y(1 − y) ≤ 0.25,
    tanh 1 − y²)."""
    layer: str
    type_name: str
    dead: float
    saturated: float
    values: Histogram
    gain: float = 1.0


@dataclass(frozen=True)
class Checkup:
    """Every layer's vital signs at ``step``, with the training loss of that step."""
    step: int
    loss: float
    layers: tuple
    activations: tuple
    probe_size: int = 0

    def layer(self, name: str) -> LayerStats:
        return next(row for row in self.layers if row.layer == name)


def weights_of(model) -> dict:
    """{layer: copy of W} of every weighted layer (to measure the next update against)."""
    return {name: np.array(layer.params["W"], copy=True) for name, layer in model.named_layers()
            if "W" in layer.params}


def _norm(array) -> float:
    return float(np.sqrt(np.sum(np.square(array, dtype=np.float64))))


def _spread(weights) -> float:
    """max over units of ‖w_u − mean‖, over the largest ‖w_u‖ (0 when every unit is the same)."""
    rows = np.asarray(weights, dtype=np.float64).reshape(weights.shape[0], -1)
    size = float(np.max(np.linalg.norm(rows, axis=1)))
    if rows.shape[0] < 2:
        return float("nan")
    distance = float(np.max(np.linalg.norm(rows - rows.mean(axis=0), axis=1)))
    return distance / size if size > 0 else 0.0


def weight_stats(model, before: dict | None = None) -> tuple:
    """LayerStats of every layer with a weight ``W``; ``before`` = weights_of(model) taken
    just before the last update (or None)."""
    rows = []
    for name, layer in model.named_layers():
        if "W" not in layer.params:
            continue
        weights, grads = layer.params["W"], layer.grads["W"]
        ratio = float("nan")
        if before is not None and name in before:
            ratio = _norm(weights - before[name]) / max(_norm(before[name]), 1e-12)
        rows.append(LayerStats(layer=name, type_name=layer.type_name, units=int(weights.shape[0]),
                               weight_norm=_norm(weights), grad_norm=_norm(grads), update_ratio=ratio,
                               spread=_spread(weights), weights=histogram(weights), gradients=histogram(grads)))
    return tuple(rows)


def _activation_shares(type_name: str, output: np.ndarray) -> tuple[float, float, float]:
    """(dead, saturated, gain) of an activation's probe output (see ActivationStats)."""
    if type_name == "ReLU":
        positive = output > 0
        return float(1.0 - np.any(positive, axis=0).mean()), 0.0, float(positive.mean())
    output = np.asarray(output, dtype=np.float64)
    if type_name == "Sigmoid":
        saturated = float(np.mean((output < SATURATION_MARGIN) | (output > 1 - SATURATION_MARGIN)))
        return 0.0, saturated, float(np.mean(output * (1 - output)))
    if type_name == "Tanh":
        return 0.0, float(np.mean(np.abs(output) > 1 - SATURATION_MARGIN)), float(np.mean(1 - output ** 2))
    return 0.0, 0.0, 1.0


def activation_stats(model, trace) -> tuple:
    """ActivationStats of every activation layer, from ``model.forward_trace(probe)``."""
    types = {name: layer.type_name for name, layer in model.named_layers()}
    rows = []
    for name, output in trace:
        if schema.spec(types[name]).role != "activation":
            continue
        dead, saturated, gain = _activation_shares(types[name], output)
        rows.append(ActivationStats(layer=name, type_name=types[name], dead=dead, saturated=saturated,
                                    values=histogram(output), gain=gain))
    return tuple(rows)


def checkup(model, step: int, loss: float, trace, before: dict | None = None) -> Checkup:
    """Every vital sign of ``model`` after step ``step``: the last backward pass's gradients,
    the update measured against ``before``, the activations in ``trace`` (a probe batch's
    forward_trace)."""
    probe = len(trace[0][1]) if trace else 0
    return Checkup(step=int(step), loss=float(loss), layers=weight_stats(model, before),
                   activations=activation_stats(model, trace), probe_size=probe)
