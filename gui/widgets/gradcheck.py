"""Gradient check per layer: backprop's gradient against central differences, green or red."""
from __future__ import annotations

from PySide6 import QtGui, QtWidgets

from ..i18n import tr
from .run_table import RunTableView

#: Relative errors below this are "right" (float64, smooth points; ReLU/max kinks can exceed it
#: rarely, which is itself worth seeing).
TOLERANCE = 1e-5
_GREEN, _RED = QtGui.QColor(200, 240, 200), QtGui.QColor(255, 205, 205)


class GradcheckView(RunTableView):
    """`requested()` asks the worker to run the check; `show_results` draws its rows:
    [(layer_name, what, relative_error)], what = "x", "W", "b"."""

    text_keys = {"run": "gc.run", "explain": "gc.explain", "running": "gc.running"}

    def __init__(self, parent=None):
        super().__init__(4, parent)
        self.retranslate()

    def headers(self) -> list[str]:
        return [tr("shapes.col.layer"), tr("gc.col.param"), tr("gc.col.error"), tr("gc.col.verdict")]

    def explanation_text(self) -> str:
        return tr("gc.explain", tol=TOLERANCE)

    def row_items(self, result) -> list[QtWidgets.QTableWidgetItem]:
        layer, what, error = result
        ok = error < TOLERANCE
        items = [QtWidgets.QTableWidgetItem(text) for text in
                 (layer, what, f"{error:.2e}", tr("gc.ok") if ok else tr("gc.bad"))]
        for item in items:
            item.setBackground(_GREEN if ok else _RED)
        return items

    def verdicts(self) -> list[bool]:
        return [error < TOLERANCE for _, _, error in self.results]
