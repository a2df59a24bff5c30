"""Gradient check per layer: backprop's gradient against central differences, green or red.

The verdict is the library's (`cyconv.gradcheck.GradcheckRow.passed`, against its own
threshold), so the app and a student's notebook never disagree about what counts as right.
"""
from __future__ import annotations

from PySide6 import QtGui, QtWidgets

from cyconv.lab.i18n import tr
from .run_table import RunTableView

_GREEN, _RED = QtGui.QColor(200, 240, 200), QtGui.QColor(255, 205, 205)


class GradcheckView(RunTableView):
    """`requested()` asks the worker to run the check; `show_results` draws its rows
    (cyconv.gradcheck.GradcheckRow: layer, what, relative_error, passed, threshold)."""

    text_keys = {"run": "gc.run", "explain": "gc.explain", "running": "gc.running"}

    def __init__(self, parent=None):
        super().__init__(5, parent)
        self.retranslate()

    def headers(self) -> list[str]:
        return [tr("shapes.col.layer"), tr("gc.col.param"), tr("gc.col.error"), tr("gc.col.threshold"),
                tr("gc.col.verdict")]

    def row_items(self, row) -> list[QtWidgets.QTableWidgetItem]:
        texts = (row.layer, row.what, f"{row.relative_error:.2e}", f"{row.threshold:.0e}",
                 tr("gc.ok") if row.passed else tr("gc.bad"))
        items = [QtWidgets.QTableWidgetItem(text) for text in texts]
        for item in items:
            item.setBackground(_GREEN if row.passed else _RED)
            item.setToolTip(tr("gc.ok_tip") if row.passed else tr("gc.bad_tip"))
        return items

    def verdicts(self) -> list[bool]:
        return [row.passed for row in self.results]
