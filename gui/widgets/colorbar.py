"""A colour bar with the numbers of its scale, drawn with QPainter beside an image panel.

Drawn rather than pyqtgraph's ColorBarItem: that is a whole PlotItem with four axes, and the
activations view needs one per layer; building a dozen of them stalled the window for a
quarter of a second while training ran (tests/test_gui_training.py's responsiveness check).
"""
from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

_BAR_WIDTH = 14
_TICKS = 5
_MARGIN = 8                      # room for half a label above the top and below the bottom


def scale_ticks(levels: tuple[float, float], count: int = _TICKS) -> list[tuple[float, str]]:
    """`count` evenly spaced (value, text) labels from low to high, three significant digits;
    an exact 0 (the middle of a symmetric scale) is written '0'."""
    low, high = levels
    values = np.linspace(low, high, count)
    return [(float(v), "0" if abs(v) < 1e-12 * max(abs(low), abs(high), 1e-300) else f"{v:.3g}") for v in values]


class ColorBar(QtWidgets.QWidget):
    """A vertical colour table from `low` (bottom) to `high` (top), with its numbers."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.levels: tuple[float, float] = (0.0, 1.0)
        self._image: QtGui.QImage | None = None
        self._lut = np.zeros((0, 3), np.uint8)
        self._scaled: QtGui.QImage | None = None        # the colour table at the bar's size
        self._pixmap: QtGui.QPixmap | None = None       # the whole bar with its numbers, as last drawn
        self._drawn_key = None
        self.renders = 0                                # how often the bar was drawn anew (tests)
        self._widest = self._label_widths()             # the widest numbers shown so far (pixels)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Fixed, QtWidgets.QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(_BAR_WIDTH + self._widest + 12, 80)

    def set_scale(self, levels: tuple[float, float], lut: np.ndarray) -> None:
        """Show `lut` (K, 3) uint8 on `levels` (low, high)."""
        levels = (float(levels[0]), float(levels[1]))
        if levels == self.levels and lut is self._lut:
            return
        self.levels = levels
        if lut is not self._lut:
            self._lut = lut
            column = np.ascontiguousarray(lut[::-1].reshape(-1, 1, 3))       # the top row is the high end
            self._image = QtGui.QImage(column.data, 1, column.shape[0], 3, QtGui.QImage.Format.Format_RGB888).copy()
            self._scaled, self._drawn_key = None, None
        # The bar only widens: narrowing and widening with every new scale laid the panel out
        # again and resized its image view, which then painted twice.
        if self._label_widths() > self._widest:
            self._widest = self._label_widths()
            self.updateGeometry()
        self.update()

    def changeEvent(self, event) -> None:
        if event.type() == QtCore.QEvent.Type.FontChange:      # other letters: measure again
            self._widest = self._label_widths()
            self.updateGeometry()
        super().changeEvent(event)

    def _label_widths(self) -> int:
        metrics = self.fontMetrics()
        return max((metrics.horizontalAdvance(text) for _, text in scale_ticks(self.levels)), default=0)

    def labels(self) -> list[str]:
        return [text for _, text in scale_ticks(self.levels)]

    def paintEvent(self, event) -> None:
        if self._image is None:
            return
        key = (self.width(), self.height(), self.levels, self.devicePixelRatioF(), self.font().key())
        if key != self._drawn_key:             # a new scale or size: draw it once, then reuse it
            self._drawn_key = key
            self._pixmap = self._render()
        painter = QtGui.QPainter(self)
        painter.drawPixmap(0, 0, self._pixmap)
        painter.end()

    def _render(self) -> QtGui.QPixmap:
        """The bar and its numbers at the widget's size: scaled from the colour table once per
        height (an image scaled on every paint cost more than the rest of the paint)."""
        ratio = self.devicePixelRatioF()
        pixmap = QtGui.QPixmap(int(round(self.width() * ratio)), int(round(self.height() * ratio)))
        pixmap.setDevicePixelRatio(ratio)
        pixmap.fill(QtCore.Qt.GlobalColor.transparent)
        self.renders += 1
        painter = QtGui.QPainter(pixmap)
        painter.setFont(self.font())
        bar = QtCore.QRect(2, _MARGIN, _BAR_WIDTH, max(self.height() - 2 * _MARGIN, 1))
        painter.drawImage(bar.topLeft(), self._scaled_column(bar.width(), bar.height()))
        painter.setPen(QtGui.QColor(110, 110, 110))
        painter.drawRect(bar)
        low, high = self.levels
        metrics = painter.fontMetrics()
        for value, text in scale_ticks(self.levels):
            y = bar.bottom() - (value - low) / (high - low) * bar.height() if high > low else bar.center().y()
            painter.drawLine(bar.right(), int(y), bar.right() + 4, int(y))
            painter.drawText(QtCore.QPointF(bar.right() + 7, y + metrics.ascent() / 2 - 1), text)
        painter.end()
        return pixmap

    def _scaled_column(self, width: int, height: int) -> QtGui.QImage:
        if self._scaled is None or self._scaled.size() != QtCore.QSize(width, height):
            self._scaled = self._image.scaled(width, height, QtCore.Qt.AspectRatioMode.IgnoreAspectRatio,
                                              QtCore.Qt.TransformationMode.FastTransformation)
        return self._scaled
