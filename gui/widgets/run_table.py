"""A view with a Run button that asks the training worker for a measurement and shows the
answer as table rows (the gradient check and the naive-vs-Cython timings)."""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from cyconv.lab.i18n import tr


class RunTableView(QtWidgets.QWidget):
    """`requested()` asks the worker to run; `show_results(rows)` draws them.

    Subclasses name their texts (`text_keys`: run, explain, running), their `headers()` and
    how one result becomes cells (`row_items`)."""

    requested = QtCore.Signal()
    text_keys = {"run": "", "explain": "", "running": ""}

    def __init__(self, columns: int, parent=None):
        super().__init__(parent)
        self.run_button = QtWidgets.QPushButton()
        self.run_button.clicked.connect(self._request)
        self.explanation, self.status = QtWidgets.QLabel(), QtWidgets.QLabel()
        self.explanation.setWordWrap(True)
        self.status.setWordWrap(True)
        self.table = QtWidgets.QTableWidget(0, columns)
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

    # -- what subclasses provide ------------------------------------------------------------
    def headers(self) -> list[str]:
        raise NotImplementedError

    def explanation_text(self) -> str:
        return tr(self.text_keys["explain"])

    def row_items(self, result) -> list[QtWidgets.QTableWidgetItem]:
        raise NotImplementedError

    # -- shared -----------------------------------------------------------------------------
    def retranslate(self) -> None:
        self.run_button.setText(tr(self.text_keys["run"]))
        self.explanation.setText(self.explanation_text())
        self.table.setHorizontalHeaderLabels(self.headers())
        if self.results:
            self.show_results(self.results)

    def _request(self) -> None:
        self.status.setText(tr(self.text_keys["running"]))
        self.run_button.setEnabled(False)
        self.requested.emit()

    def clear(self) -> None:
        """Forget the last answer (it belonged to a network or run that is gone)."""
        self.results = []
        self.table.setRowCount(0)
        self.status.setText("")
        self.run_button.setEnabled(True)

    def show_error(self, message: str) -> None:
        self.run_button.setEnabled(True)
        self.status.setText(message)

    def show_results(self, results) -> None:
        self.results = list(results)
        self.run_button.setEnabled(True)
        self.status.setText("")
        self.table.setRowCount(len(self.results))
        for index, result in enumerate(self.results):
            for column, item in enumerate(self.row_items(result)):
                self.table.setItem(index, column, item)
        self.table.resizeColumnsToContents()
