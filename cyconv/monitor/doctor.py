"""The network doctor: plain-language diagnoses, with the numbers behind them, from a run's
checkups (cyconv.monitor.stats).

Each rule reads measurements only, never how the run was set up:

- divergence: the run was stopped by a NaN/inf or an update larger than the weights, at some
  point the loss rose well above where it started or one update was as large as the weights, or
  the recent updates are over 50× CS231n's ~1e-3 of the weights (Adam's first few steps may be
  near that: they count only when they last);
- symmetry: every unit of a layer is the same (a constant start: they get the same gradient
  and stay the same);
- dead ReLUs: nearly all (90 %) of a ReLU layer's units never fired on the probe batch;
- vanishing gradients: the first weighted layer's gradient is 100× or more smaller than the
  last one's (with sigmoids or tanhs in the network the diagnosis gives their mean slope, the
  share of the gradient each passes back, and says to try ReLU);
- learning rate too low: the updates are under 1e-6 of the weights;
- otherwise healthy, with the ranges that say so.

A Diagnosis carries a text key of cyconv.lab's translations and its fields, so it is shown in
the language the user chose (``text()``).
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

__all__ = ["Diagnosis", "diagnose", "RATIO_RULE", "CODES"]

#: CS231n's rule of thumb for ‖ΔW‖/‖W‖ per update.
RATIO_RULE = 1e-3
TOO_FAST = 50 * RATIO_RULE
HUGE_UPDATE = 1.0              # one update as large as the weights themselves
TOO_SLOW = 1e-6
LOSS_RISE = 3.0                 # the peak loss over the first one that counts as blowing up
VANISHING_FACTOR = 100.0
DEAD_SHARE = 0.9             # nearly all: a healthy run can leave half a layer quiet on a small probe
SYMMETRY_SPREAD = 1e-4
RECENT = 3                      # checkups the rates and losses are taken over
SATURATING = ("Sigmoid", "Tanh")
#: Every diagnosis code, most urgent first.
CODES = ("divergence", "symmetry", "dead_relu", "vanishing", "lr_too_low", "healthy")


@dataclass(frozen=True)
class Diagnosis:
    """``code`` (one of CODES), the text ``key`` and its ``fields`` (the numbers), the
    ``layer`` it is about (or None)."""
    code: str
    key: str
    fields: Mapping = field(default_factory=dict)
    layer: str | None = None

    def text(self) -> str:
        from ..lab.i18n import tr       # the texts live with the lab's, in both languages
        return tr(self.key, **self.fields)


def _diagnosis(code: str, about=None, key=None, **fields) -> Diagnosis:
    return Diagnosis(code=code, key=key or f"doctor.{code}", fields=MappingProxyType(fields), layer=about)


def _ratios(checkups) -> dict[str, list[float]]:
    by_layer: dict[str, list[float]] = {}
    for checkup in checkups:
        for row in checkup.layers:
            if math.isfinite(row.update_ratio):
                by_layer.setdefault(row.layer, []).append(row.update_ratio)
    return by_layer


def _recent_ratio(checkups) -> tuple[float, str | None]:
    """The largest layer's median update ratio over the recent checkups, and that layer."""
    medians = {layer: float(np.median(values)) for layer, values in _ratios(checkups[-RECENT:]).items()}
    if not medians:
        return float("nan"), None
    layer = max(medians, key=medians.get)
    return medians[layer], layer


def _peak_ratio(checkups) -> tuple[float, str | None]:
    peaks = {layer: max(values) for layer, values in _ratios(checkups).items()}
    if not peaks:
        return float("nan"), None
    layer = max(peaks, key=peaks.get)
    return peaks[layer], layer


def _divergence(checkups, stopped: str | None) -> Diagnosis | None:
    """Judged over the whole run: a run that blew up and then died flat has still diverged."""
    ratio, layer = _peak_ratio(checkups)
    if stopped is not None:
        return _diagnosis("divergence", layer, key="doctor.divergence_stopped", reason=stopped)
    losses = [c.loss for c in checkups]
    if not all(math.isfinite(loss) for loss in losses):
        return _diagnosis("divergence", layer, key="doctor.divergence_stopped", reason="the loss is not finite")
    first, peak = losses[0], max(losses)
    recent, _ = _recent_ratio(checkups)
    if peak > LOSS_RISE * first or recent > TOO_FAST or ratio > HUGE_UPDATE:
        return _diagnosis("divergence", layer, first=first, peak=peak, ratio=ratio, rule=RATIO_RULE,
                          layer=layer or "-")
    return None


def _symmetry(latest) -> Diagnosis | None:
    for row in latest.layers:
        if row.units >= 2 and row.spread < SYMMETRY_SPREAD:
            return _diagnosis("symmetry", row.layer, layer=row.layer, units=row.units, spread=row.spread)
    return None


def _dead(latest) -> Diagnosis | None:
    worst = max((row for row in latest.activations if row.type_name == "ReLU"), key=lambda r: r.dead, default=None)
    if worst is not None and worst.dead > DEAD_SHARE:
        return _diagnosis("dead_relu", worst.layer, layer=worst.layer, share=worst.dead, probe=latest.probe_size)
    return None


def _vanishing(latest) -> Diagnosis | None:
    if len(latest.layers) < 2:
        return None
    first, last = latest.layers[0], latest.layers[-1]
    if last.grad_norm <= 0:
        return None
    factor = last.grad_norm / max(first.grad_norm, 1e-30)
    if factor < VANISHING_FACTOR:
        return None
    saturating = [row for row in latest.activations if row.type_name in SATURATING]
    fields = dict(first=first.layer, last=last.layer, factor=factor, first_norm=first.grad_norm,
                  last_norm=last.grad_norm)
    if saturating:
        return _diagnosis("vanishing", first.layer, key="doctor.vanishing_saturating",
                          activation=saturating[0].type_name.lower(), count=len(saturating),
                          gain=float(np.mean([row.gain for row in saturating])),
                          saturated=max(row.saturated for row in saturating), **fields)
    return _diagnosis("vanishing", first.layer, **fields)


def _too_slow(checkups) -> Diagnosis | None:
    ratio, layer = _recent_ratio(checkups)
    if math.isfinite(ratio) and ratio < TOO_SLOW:
        return _diagnosis("lr_too_low", layer, layer=layer, ratio=ratio, rule=RATIO_RULE)
    return None


def _healthy(checkups) -> Diagnosis:
    latest = checkups[-1]
    ratios = [row.update_ratio for row in latest.layers if math.isfinite(row.update_ratio)]
    norms = [row.grad_norm for row in latest.layers if row.grad_norm > 0]
    dead = max((row.dead for row in latest.activations if row.type_name == "ReLU"), default=0.0)
    return _diagnosis("healthy", low=min(ratios, default=float("nan")), high=max(ratios, default=float("nan")),
                      rule=RATIO_RULE, spread=max(norms, default=1.0) / min(norms, default=1.0), dead=dead)


def diagnose(checkups: Sequence, *, stopped: str | None = None) -> tuple:
    """Diagnoses of a run from its checkups (oldest first), most urgent first; ``stopped``:
    why training was stopped for divergence (None if it was not). Always at least one
    (``healthy`` when nothing is wrong); an empty tuple only without checkups."""
    if not checkups:
        return ()
    latest = checkups[-1]
    found = [_divergence(checkups, stopped), _symmetry(latest), _dead(latest)]
    if not any(found[1:]):          # a constant start or dead units explain small gradients themselves
        found += [_vanishing(latest), _too_slow(checkups)]
    found = [d for d in found if d is not None]
    return tuple(found) if found else (_healthy(checkups),)
