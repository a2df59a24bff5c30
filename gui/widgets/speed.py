"""Naive NumPy loops (cyconv.reference) against the Cython kernels, on the current network's
conv layers and real activations: the same numbers, side by side with their times."""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from ..i18n import tr

COLUMNS = ("layer", "shape", "naive", "fast", "speedup", "difference")


class SpeedView(QtWidgets.QWidget):
    """`requested()` asks the worker to time every conv layer; `show_results` draws the rows."""

    requested = QtCore.Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.run_button = QtWidgets.QPushButton()
        self.run_button.clicked.connect(self._request)
        self.explanation, self.status = QtWidgets.QLabel(), QtWidgets.QLabel()
        self.explanation.setWordWrap(True)
        self.table = QtWidgets.QTableWidget(0, len(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.run_button)
        top.addWidget(self.status, 1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.explanation)
        layout.addWidget(self.table, 1)
        self.results: list = []
        self.retranslate()

    def retranslate(self) -> None:
        self.run_button.setText(tr("speed.run"))
        self.explanation.setText(tr("speed.explain"))
        self.table.setHorizontalHeaderLabels([tr(f"speed.col.{key}") for key in COLUMNS])
        if self.results:
            self.show_results(self.results)

    def _request(self) -> None:
        self.status.setText(tr("speed.running"))
        self.run_button.setEnabled(False)
        self.requested.emit()

    def show_error(self, message: str) -> None:
        self.run_button.setEnabled(True)
        self.status.setText(message)

    def show_results(self, results) -> None:
        """results: [(layer, input shape, naive seconds, fast seconds, max |difference|)]."""
        self.results = list(results)
        self.run_button.setEnabled(True)
        self.status.setText("")
        self.table.setRowCount(len(self.results))
        for index, (layer, shape, naive, fast, difference) in enumerate(self.results):
            cells = (layer, str(tuple(shape)), f"{naive * 1000:.2f} ms", f"{fast * 1000:.2f} ms",
                     f"{naive / fast:.1f}×" if fast > 0 else "—", f"{difference:.1e}")
            for column, text in enumerate(cells):
                self.table.setItem(index, column, QtWidgets.QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
