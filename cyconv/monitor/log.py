"""The doctor's checkups of one run over time, bounded like the history: when full, every
other checkup between the first and the last is dropped (so the doctor's charts span the whole
run), and saved as plain arrays with a checkpoint."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .._arrays import read_only
from .stats import ActivationStats, Checkup, Histogram, LayerStats

__all__ = ["CheckupLog"]

_LAYER_FIELDS = ("units", "weight_norm", "grad_norm", "update_ratio", "spread")


def _histogram(counts, edges) -> Histogram:
    return Histogram(read_only(np.asarray(counts, np.int64)), read_only(np.asarray(edges, np.float64)))


class CheckupLog:
    """Checkups oldest first, at most ``capacity`` (>= 2) of them."""

    def __init__(self, capacity: int = 1000):
        if not isinstance(capacity, int) or capacity < 2:
            raise ValueError(f"CheckupLog: capacity must be an int >= 2, got {capacity!r}")
        self.capacity = capacity
        self._checkups: list[Checkup] = []

    def __len__(self) -> int:
        return len(self._checkups)

    @property
    def checkups(self) -> tuple:
        return tuple(self._checkups)

    def clear(self) -> None:
        self._checkups.clear()

    def add(self, checkup: Checkup) -> None:
        self._checkups.append(checkup)
        if len(self._checkups) > self.capacity:
            self._checkups = self._checkups[:-1:2] + [self._checkups[-1]]

    def to_arrays(self, prefix: str = "doctor/") -> dict:
        """{name: array} of every checkup, stacked (one first axis entry per checkup)."""
        if not self._checkups:
            return {}
        items = self._checkups
        arrays = {f"{prefix}steps": np.array([c.step for c in items], np.int64),
                  f"{prefix}loss": np.array([c.loss for c in items], np.float64),
                  f"{prefix}probe": np.array([c.probe_size for c in items], np.int64)}
        for index, row in enumerate(items[0].layers):
            rows = [c.layers[index] for c in items]
            base = f"{prefix}layers/{row.layer}/"
            arrays[base + "values"] = np.array([[getattr(r, f) for f in _LAYER_FIELDS] for r in rows], np.float64)
            for kind in ("weights", "gradients"):
                arrays[base + f"{kind}_counts"] = np.stack([getattr(r, kind).counts for r in rows])
                arrays[base + f"{kind}_edges"] = np.stack([getattr(r, kind).edges for r in rows])
        for index, row in enumerate(items[0].activations):
            rows = [c.activations[index] for c in items]
            base = f"{prefix}activations/{row.layer}/"
            arrays[base + "values"] = np.array([[r.dead, r.saturated, r.gain] for r in rows], np.float64)
            arrays[base + "counts"] = np.stack([r.values.counts for r in rows])
            arrays[base + "edges"] = np.stack([r.values.edges for r in rows])
        return arrays

    @classmethod
    def from_arrays(cls, arrays: Mapping, type_names: Mapping, prefix: str = "doctor/",
                    capacity: int = 1000) -> CheckupLog | None:
        """The log ``to_arrays`` wrote (None if ``arrays`` holds none); ``type_names``
        {layer: type name} of the model. KeyError/ValueError when the arrays are incomplete."""
        if f"{prefix}steps" not in arrays:
            return None
        steps = np.asarray(arrays[f"{prefix}steps"])
        layers = _names(arrays, f"{prefix}layers/", type_names)
        acts = _names(arrays, f"{prefix}activations/", type_names)
        log = cls(max(capacity, len(steps)))
        for t, step in enumerate(steps):
            rows = tuple(_layer_row(arrays, f"{prefix}layers/{name}/", name, type_names[name], t) for name in layers)
            act_rows = tuple(_activation_row(arrays, f"{prefix}activations/{name}/", name, type_names[name], t)
                             for name in acts)
            log.add(Checkup(step=int(step), loss=float(arrays[f"{prefix}loss"][t]), layers=rows,
                            activations=act_rows, probe_size=int(arrays[f"{prefix}probe"][t])))
        return log


def _names(arrays, prefix, type_names) -> list[str]:
    """Layer names under ``prefix``, in the model's order."""
    found = {key[len(prefix):].split("/")[0] for key in arrays if key.startswith(prefix)}
    unknown = found - set(type_names)
    if unknown:
        raise KeyError(f"CheckupLog: the saved checkups name layers the model does not have: {sorted(unknown)}")
    return [name for name in type_names if name in found]


def _layer_row(arrays, base, name, type_name, t) -> LayerStats:
    values = dict(zip(_LAYER_FIELDS, arrays[base + "values"][t]))
    return LayerStats(layer=name, type_name=type_name, units=int(values.pop("units")), **{k: float(v) for k, v in
                      values.items()}, weights=_histogram(arrays[base + "weights_counts"][t], arrays[base + "weights_edges"][t]),
                      gradients=_histogram(arrays[base + "gradients_counts"][t], arrays[base + "gradients_edges"][t]))


def _activation_row(arrays, base, name, type_name, t) -> ActivationStats:
    dead, saturated, gain = arrays[base + "values"][t]
    return ActivationStats(layer=name, type_name=type_name, dead=float(dead), saturated=float(saturated),
                           values=_histogram(arrays[base + "counts"][t], arrays[base + "edges"][t]), gain=float(gain))
