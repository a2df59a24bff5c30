"""Two runs side by side: what each one learned, and what was different between them.

A :class:`RunRecord` is a finished (or stopped) run reduced to what a comparison shows: its
settings, its network, its loss curve, its first conv layer's filters and its final confusion
matrix. :func:`differences` finds what differs, from the settings and the networks themselves
(a changed learning rate, optimizer or batch size; a layer whose activation, initialisation or
size changed; a layer added or removed), so the line that names it cannot disagree with what ran.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from .. import schema
from .._arrays import read_only

__all__ = ["RunRecord", "Difference", "differences", "SETTING_NAMES"]

#: The settings compared, in the order a difference is named.
SETTING_NAMES = ("optimizer", "lr", "momentum", "batch_size", "epochs", "seed", "dataset", "n_train")


@dataclass(frozen=True)
class RunRecord:
    """``settings`` {name: value}, ``network`` (a model config), ``step_loss`` (one training
    loss per step), ``filters`` (the first conv layer's W, or None), ``confusion`` (K, K) of
    the last evaluation, ``accuracy`` on it, ``steps`` trained."""
    label: str
    settings: Mapping
    network: Mapping
    step_loss: np.ndarray
    filters: np.ndarray | None
    confusion: np.ndarray
    accuracy: float
    steps: int
    classes: tuple = field(default_factory=tuple)

    @classmethod
    def of(cls, label, settings, network, step_loss, filters, confusion, accuracy, steps, classes=()) -> RunRecord:
        """A record holding read-only copies."""
        return cls(label=str(label), settings=dict(settings), network=copy.deepcopy(dict(network)),
                   step_loss=read_only(np.asarray(step_loss, dtype=np.float64)),
                   filters=None if filters is None else read_only(filters),
                   confusion=read_only(np.asarray(confusion, dtype=np.int64)), accuracy=float(accuracy),
                   steps=int(steps), classes=tuple(classes))


@dataclass(frozen=True)
class Difference:
    """One thing that differed: ``what`` ("lr", or a layer's name and key like "relu1.type"),
    its value in the first run and in the second (None: the thing was not there)."""
    what: str
    before: object
    after: object


def _layer_rows(network: Mapping) -> list[tuple[str, dict]]:
    """(name, {key: value}) per layer with the schema's defaults filled in, the sizes the
    shape engine infers left out (so an editor's form and a saved form compare equal)."""
    from ..shapes.names import default_names

    layers = network["layers"]
    rows = []
    for name, config in zip(default_names(layers), layers):
        entry = schema.check_type(config, name)
        values = schema.check_config(config, name)
        kept = {key: value for key, value in values.items() if key not in entry.inferred_keys and key != "name"}
        rows.append((name, {"type": entry.type_name, **kept}))
    return rows


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


def _network_differences(a: Mapping, b: Mapping) -> list[Difference]:
    found = []
    if tuple(a["input_shape"]) != tuple(b["input_shape"]):
        found.append(Difference("input_shape", tuple(a["input_shape"]), tuple(b["input_shape"])))
    rows_a, rows_b = dict(_layer_rows(a)), dict(_layer_rows(b))
    for name in dict.fromkeys([*rows_a, *rows_b]):
        if name not in rows_b:
            found.append(Difference(name, rows_a[name]["type"], None))
        elif name not in rows_a:
            found.append(Difference(name, None, rows_b[name]["type"]))
        else:
            keys = dict.fromkeys([*rows_a[name], *rows_b[name]])
            found += [Difference(f"{name}.{key}", rows_a[name].get(key), rows_b[name].get(key)) for key in keys
                      if _plain(rows_a[name].get(key)) != _plain(rows_b[name].get(key))]
    return found


def differences(a: RunRecord, b: RunRecord) -> tuple:
    """Every setting and every part of the network that differs between ``a`` and ``b``,
    settings first (in SETTING_NAMES order), then the network's layers in order."""
    found = [Difference(name, a.settings.get(name), b.settings.get(name)) for name in SETTING_NAMES
             if a.settings.get(name) != b.settings.get(name)]
    return tuple(found + _network_differences(a.network, b.network))
