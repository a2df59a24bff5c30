"""A small matrix drawn as numbered cells, with a highlighted window: the explainers' canvas."""
from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

_PADDING_FILL = QtGui.QColor(225, 225, 225)
_CELL_FILL = QtGui.QColor(255, 255, 255)
_EMPTY_FILL = QtGui.QColor(245, 245, 245)
_WINDOW_FILL = QtGui.QColor(255, 214, 102)
_PICKED_FILL = QtGui.QColor(244, 128, 36)
_CURRENT_FILL = QtGui.QColor(120, 200, 120)


def format_cell(value: float) -> str:
    """Whole numbers without decimals, others with two; infinities as ±∞."""
    if not np.isfinite(value):
        return "−∞" if value < 0 else "∞"
    if abs(value - round(value)) < 1e-9:
        return str(int(round(value)))
    return f"{value:.2f}"


class NumberGrid(QtWidgets.QWidget):
    """Paints `values` (R, C) as a table of numbers.

    - cells in the padding border (the first/last `padding` rows/columns) are grey;
    - `window` (top, left, height, width) is highlighted, `picked` (row, col) stronger
      (the max of a pooling window), `current` (row, col) marks the output being computed;
    - NaN cells are drawn empty (outputs not computed yet).
    """

    def __init__(self, parent=None, *, cell: int = 36):
        super().__init__(parent)
        self.values = np.zeros((0, 0))
        self.padding = (0, 0, 0, 0)
        self.window = None
        self.picked = None
        self.current = None
        self.cell = cell
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Minimum, QtWidgets.QSizePolicy.Policy.Minimum)

    def set_values(self, values: np.ndarray, *, padding=(0, 0, 0, 0), window=None, picked=None,
                   current=None) -> None:
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 2:
            raise ValueError(f"NumberGrid.set_values: expected a 2-D matrix, got shape {values.shape}")
        self.values = values
        self.padding, self.window, self.picked, self.current = tuple(padding), window, picked, current
        self.updateGeometry()
        self.update()

    def sizeHint(self) -> QtCore.QSize:
        rows, cols = self.values.shape
        return QtCore.QSize(max(cols, 1) * self.cell + 2, max(rows, 1) * self.cell + 2)

    def minimumSizeHint(self) -> QtCore.QSize:
        return self.sizeHint()

    def _fill_for(self, row: int, col: int) -> QtGui.QColor:
        rows, cols = self.values.shape
        top, bottom, left, right = self.padding
        if self.picked is not None and (row, col) == tuple(self.picked):
            return _PICKED_FILL
        if self.current is not None and (row, col) == tuple(self.current):
            return _CURRENT_FILL
        if self.window is not None:
            w_top, w_left, w_height, w_width = self.window
            if w_top <= row < w_top + w_height and w_left <= col < w_left + w_width:
                return _WINDOW_FILL
        if row < top or row >= rows - bottom or col < left or col >= cols - right:
            return _PADDING_FILL
        if np.isnan(self.values[row, col]):
            return _EMPTY_FILL
        return _CELL_FILL

    def paintEvent(self, event) -> None:
        painter = QtGui.QPainter(self)
        font = painter.font()
        font.setPointSizeF(max(7.0, self.cell / 3.6))
        painter.setFont(font)
        rows, cols = self.values.shape
        for row in range(rows):
            for col in range(cols):
                rect = QtCore.QRect(col * self.cell + 1, row * self.cell + 1, self.cell, self.cell)
                painter.fillRect(rect, self._fill_for(row, col))
                painter.setPen(QtGui.QColor(150, 150, 150))
                painter.drawRect(rect)
                value = self.values[row, col]
                if not np.isnan(value):
                    painter.setPen(QtGui.QColor(0, 0, 0))
                    painter.drawText(rect, QtCore.Qt.AlignmentFlag.AlignCenter, format_cell(value))
        painter.end()
