"""Naive NumPy loops (cyconv.reference) against the Cython kernels, on the current network's
conv layers and real activations: the same numbers, side by side with their times."""
from __future__ import annotations

from PySide6 import QtWidgets

from cyconv.lab.i18n import tr
from .run_table import RunTableView

COLUMNS = ("layer", "shape", "naive", "fast", "speedup", "difference")


class SpeedView(RunTableView):
    """`requested()` asks the worker to time every conv layer; `show_results` draws the rows:
    [(layer, input shape, naive seconds, fast seconds, max |difference|)]."""

    text_keys = {"run": "speed.run", "explain": "speed.explain", "running": "speed.running"}

    def __init__(self, parent=None):
        super().__init__(len(COLUMNS), parent)
        self.retranslate()

    def headers(self) -> list[str]:
        return [tr(f"speed.col.{key}") for key in COLUMNS]

    def row_items(self, result) -> list[QtWidgets.QTableWidgetItem]:
        layer, shape, naive, fast, difference = result
        cells = (layer, str(tuple(shape)), f"{naive * 1000:.2f} ms", f"{fast * 1000:.2f} ms",
                 f"{naive / fast:.1f}×" if fast > 0 else "—", f"{difference:.1e}")
        return [QtWidgets.QTableWidgetItem(text) for text in cells]
