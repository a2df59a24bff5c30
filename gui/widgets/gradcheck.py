"""Gradient check per layer: backprop's gradient against central differences, green or red."""
from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from ..i18n import tr

#: Relative errors below this are "right" (float64, smooth points; ReLU/max kinks can exceed it
#: rarely, which is itself worth seeing).
TOLERANCE = 1e-5
_GREEN, _RED = QtGui.QColor(200, 240, 200), QtGui.QColor(255, 205, 205)


class GradcheckView(QtWidgets.QWidget):
    """`requested()` asks the worker to run the check; `show_results` draws its rows."""

    requested = QtCore.Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.run_button = QtWidgets.QPushButton()
        self.run_button.clicked.connect(self._request)
        self.explanation, self.status = QtWidgets.QLabel(), QtWidgets.QLabel()
        self.explanation.setWordWrap(True)
        self.status.setWordWrap(True)
        self.table = QtWidgets.QTableWidget(0, 4)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.run_button)
        top.addWidget(self.status, 1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.explanation)
        layout.addWidget(self.table, 1)
        self.results: list[tuple[str, str, float]] = []
        self.retranslate()

    def retranslate(self) -> None:
        self.run_button.setText(tr("gc.run"))
        self.explanation.setText(tr("gc.explain", tol=TOLERANCE))
        self.table.setHorizontalHeaderLabels([tr("shapes.col.layer"), tr("gc.col.param"), tr("gc.col.error"),
                                              tr("gc.col.verdict")])
        if self.results:
            self.show_results(self.results)

    def _request(self) -> None:
        self.status.setText(tr("gc.running"))
        self.run_button.setEnabled(False)
        self.requested.emit()

    def show_error(self, message: str) -> None:
        self.run_button.setEnabled(True)
        self.status.setText(message)

    def show_results(self, results) -> None:
        """results: [(layer_name, what, relative_error)], what = "x", "W", "b"."""
        self.results = list(results)
        self.run_button.setEnabled(True)
        self.status.setText("")
        self.table.setRowCount(len(self.results))
        for index, (layer, what, error) in enumerate(self.results):
            ok = error < TOLERANCE
            cells = (layer, what, f"{error:.2e}", tr("gc.ok") if ok else tr("gc.bad"))
            for column, text in enumerate(cells):
                item = QtWidgets.QTableWidgetItem(text)
                item.setBackground(_GREEN if ok else _RED)
                self.table.setItem(index, column, item)
        self.table.resizeColumnsToContents()

    def verdicts(self) -> list[bool]:
        return [error < TOLERANCE for _, _, error in self.results]
