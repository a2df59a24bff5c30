"""A training time machine: what a network looked like at moments of its run, in a bounded
memory.

A :class:`Moment` holds, at one step, every conv layer's filters, the activations of a fixed
probe batch, the metrics and the confusion matrix on that batch. :class:`History` keeps them in
order within ``max_bytes``: when an addition goes over, every other moment between the first
and the last is dropped and the spacing between recordings doubles, so a long run keeps an
even view of all of it (its first moment, its last, and the same number in between).

Filters are kept exactly (float32, as trained); activations as float16, which is what a
picture needs and halves the biggest part of a moment.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from .._arrays import read_only

__all__ = ["Moment", "History", "DEFAULT_MAX_BYTES"]

#: 64 MiB: ~450 moments of mnist_cnn with a 8-image probe, far inside a laptop's memory.
DEFAULT_MAX_BYTES = 64 << 20


def _frozen_map(arrays: Mapping, dtype=None) -> Mapping:
    return MappingProxyType({name: read_only(np.asarray(array, dtype=dtype)) for name, array in arrays.items()})


@dataclass(frozen=True)
class Moment:
    """The network at ``step``: ``filters`` {conv layer: W (F, C, KH, KW)}, ``activations``
    {layer: probe outputs (P, ...) as float16}, ``metrics`` {name: float}, ``confusion``
    (K, K) counts [true, predicted] on the probe batch. Every array is a read-only copy."""
    step: int
    filters: Mapping = field(default_factory=dict)
    activations: Mapping = field(default_factory=dict)
    metrics: Mapping = field(default_factory=dict)
    confusion: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.int64))

    @classmethod
    def of(cls, step: int, filters: Mapping, activations: Mapping, metrics: Mapping, confusion) -> Moment:
        """A moment holding read-only copies of what it is given."""
        return cls(step=int(step), filters=_frozen_map(filters), activations=_frozen_map(activations, np.float16),
                   metrics=MappingProxyType({key: float(value) for key, value in metrics.items()}),
                   confusion=read_only(np.asarray(confusion, dtype=np.int64)))

    @property
    def nbytes(self) -> int:
        arrays = [*self.filters.values(), *self.activations.values(), self.confusion]
        return sum(array.nbytes for array in arrays) + 8 * (1 + len(self.metrics))


class History:
    """Moments of one run, oldest first, within ``max_bytes`` (see the module docstring).

    ``every``: record each ``every``-th step (and the first); it doubles at each thinning.
    """

    def __init__(self, *, every: int = 10, max_bytes: int = DEFAULT_MAX_BYTES):
        if not isinstance(every, int) or isinstance(every, bool) or every < 1:
            raise ValueError(f"History: every must be a whole number of steps >= 1, got {every!r}")
        if not isinstance(max_bytes, int) or max_bytes < 1:
            raise ValueError(f"History: max_bytes must be a positive int, got {max_bytes!r}")
        self.first_every, self.every, self.max_bytes = every, every, max_bytes
        self._moments: list[Moment] = []
        self.nbytes = 0

    def __len__(self) -> int:
        return len(self._moments)

    @property
    def moments(self) -> tuple:
        return tuple(self._moments)

    @property
    def steps(self) -> np.ndarray:
        return np.array([moment.step for moment in self._moments], dtype=np.int64)

    def clear(self) -> None:
        self._moments.clear()
        self.nbytes = 0
        self.every = self.first_every

    def due(self, step: int) -> bool:
        """Should the moment after ``step`` be recorded?"""
        return step == 1 or step % self.every == 0

    def add(self, moment: Moment) -> None:
        """Append ``moment`` (its step after the last one's), thinning if it overflows."""
        if self._moments and moment.step <= self._moments[-1].step:
            raise ValueError(f"History.add: step {moment.step} is not after the last recorded step "
                             f"{self._moments[-1].step}")
        if moment.nbytes > self.max_bytes:
            raise ValueError(f"History.add: one moment takes {moment.nbytes} bytes, more than the whole "
                             f"budget of {self.max_bytes}; record a smaller probe batch or raise max_bytes")
        self._moments.append(moment)
        self.nbytes += moment.nbytes
        while self.nbytes > self.max_bytes and len(self._moments) > 2:
            self._thin()

    def _thin(self) -> None:
        """Keep the first, the last and every second moment between them; record half as often."""
        kept = self._moments[:-1:2] + [self._moments[-1]]
        self._moments = kept
        self.nbytes = sum(moment.nbytes for moment in kept)
        self.every *= 2

    def index_at(self, step: int) -> int:
        """Index of the last moment at or before ``step`` (the first one if none is)."""
        if not self._moments:
            raise IndexError("History.index_at: nothing is recorded yet")
        return max(int(np.searchsorted(self.steps, step, side="right")) - 1, 0)

    def at(self, step: int) -> Moment:
        """The moment a slider at ``step`` shows: the last one recorded at or before it."""
        return self._moments[self.index_at(step)]

    # -- saving -------------------------------------------------------------------------------
    def to_arrays(self, prefix: str = "history/") -> dict:
        """{name: array} holding every moment (stacked along a first axis), for io.save's
        attachments; ``from_arrays`` reads it back."""
        if not self._moments:
            return {}
        first = self._moments[0]
        arrays = {f"{prefix}steps": self.steps,
                  f"{prefix}settings": np.array([self.first_every, self.every, self.max_bytes], np.int64),
                  f"{prefix}confusion": np.stack([m.confusion for m in self._moments])}
        for group in ("filters", "activations", "metrics"):
            for name in getattr(first, group):
                values = [getattr(m, group)[name] for m in self._moments]
                arrays[f"{prefix}{group}/{name}"] = np.stack(values) if group != "metrics" else np.array(values)
        return arrays

    @classmethod
    def from_arrays(cls, arrays: Mapping, prefix: str = "history/") -> History | None:
        """The History ``to_arrays`` wrote (None when ``arrays`` holds none); ValueError when
        the arrays do not fit together."""
        if f"{prefix}steps" not in arrays:
            return None
        steps = np.asarray(arrays[f"{prefix}steps"])
        first_every, every, max_bytes = (int(v) for v in arrays[f"{prefix}settings"])
        history = cls(every=first_every, max_bytes=max_bytes)
        groups = {group: {key[len(prefix) + len(group) + 1:]: np.asarray(value) for key, value in arrays.items()
                          if key.startswith(f"{prefix}{group}/")} for group in ("filters", "activations", "metrics")}
        confusion = np.asarray(arrays[f"{prefix}confusion"])
        for stacked in [confusion, *(a for group in groups.values() for a in group.values())]:
            if len(stacked) != len(steps):
                raise ValueError(f"History.from_arrays: {len(steps)} steps but an array of {len(stacked)} moments")
        for index, step in enumerate(steps):
            history.add(Moment.of(int(step), *({name: a[index] for name, a in groups[group].items()}
                                               for group in ("filters", "activations", "metrics")),
                                  confusion[index]))
        history.every = every
        return history
