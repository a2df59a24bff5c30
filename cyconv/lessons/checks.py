"""Check questions the app verifies: a number typed in, a network built to a spec (checked
by the shape engine), a training goal, or one choice of several.

``question.check(response)`` returns a :class:`Verdict`; the response is what the student
gave: the typed text (number), ``(input_shape, layer_configs)`` (network), the list of test
accuracies per epoch (training), the index chosen (choice).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from .. import shapes
from .render import format_value

__all__ = ["KINDS", "Question", "Verdict", "parse_number"]

KINDS = ("number", "network", "training", "choice")


@dataclass(frozen=True)
class Verdict:
    correct: bool
    given: str          # what the student gave, as text (for the report)
    expected: str       # the right answer, as text


def parse_number(text) -> float | None:
    """A typed number: '64,620', '64 620', ' 136 ' and '0.5' are read; anything else is None."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text)
    cleaned = str(text).strip().replace(",", "").replace(" ", "").replace("_", "")
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class Question:
    """One check question of a lesson (see docs/lessons.md for the pack keys)."""

    id: str
    kind: str
    prompt: dict                      # language -> text
    answer: object = None             # number: the computed value; choice: the index
    tolerance: float = 0.0
    layer: str | None = None          # network: the layer whose output is checked
    output: tuple | None = None       # network: the (H, W, C) it must have
    total_params: int | None = None   # network: the total it must have
    accuracy: float | None = None     # training: the test accuracy to reach ...
    epochs: int | None = None         # ... within this many epochs
    options: dict = field(default_factory=dict)   # choice: language -> list of texts

    def check(self, response) -> Verdict:
        return getattr(self, f"_check_{self.kind}")(response)

    def _check_number(self, response) -> Verdict:
        value = parse_number(response)
        right = value is not None and abs(value - float(self.answer)) <= self.tolerance
        return Verdict(right, str(response).strip(), format_value(self.answer))

    def _check_choice(self, response) -> Verdict:
        right = isinstance(response, int) and not isinstance(response, bool) and response == self.answer
        return Verdict(right, str(response), str(self.answer))

    def _network_target(self) -> str:
        parts = []
        if self.layer is not None:
            parts.append(f"{self.layer} output {'×'.join(map(str, self.output))}")
        if self.total_params is not None:
            parts.append(f"{self.total_params:,} parameters")
        return ", ".join(parts)

    def _check_network(self, response) -> Verdict:
        """Right when the whole network builds and meets every target; the verdict shows the
        target layer's output even when a later layer fails."""
        input_shape, layers = response
        summary = shapes.summarize(layers, input_shape)
        given, right = [], summary.ok
        if self.layer is not None:
            row = next((row for row in summary if row.name == self.layer and row.ok), None)
            got = row.output_hwc if row is not None else None
            given.append(f"{self.layer} output " + ("×".join(map(str, got)) if got else "missing"))
            right = right and got == self.output
        if self.total_params is not None and summary.ok:
            given.append(f"{summary.total_params:,} parameters")
            right = right and summary.total_params == self.total_params
        if not summary.ok:
            given.append(summary.errors[0])
        return Verdict(right, ", ".join(given), self._network_target())

    def _check_training(self, response) -> Verdict:
        accuracies = [float(a) for a in response][: self.epochs]
        best = max(accuracies, default=0.0)
        expected = f"{100 * self.accuracy:.0f}% within {self.epochs} epochs"
        given = f"{100 * best:.1f}% in {len(accuracies)} epochs" if accuracies else "no epoch finished"
        return Verdict(best >= self.accuracy, given, expected)
