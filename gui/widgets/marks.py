"""Short texts pinned to image positions (tile numbers, a kernel's weights, confusion counts),
all drawn by one graphics item at the screen's own size.

One pyqtgraph TextItem per text was a scene item with a child text item of its own: a panel of
32 channel numbers made 64 items, whose making and per-frame bookkeeping (bounds, transforms,
all in Python) held the GIL longer than the maps they label. This item paints its texts in one
call, unscaled, whatever the zoom; an unchanged set is not redrawn.
"""
from __future__ import annotations

import pyqtgraph as pg
from PySide6 import QtCore, QtGui

#: Pixels between a text and the edge of its box (a TextItem's document margin).
PADDING = 4
_CENTRED = int(QtCore.Qt.AlignmentFlag.AlignCenter)


class TextMarks(pg.GraphicsObject):
    """`set_marks([(x, y, text, (anchor_x, anchor_y), colour), ...])`: each text's box is placed
    so that its point `anchor` (0..1 across, 0..1 down) sits on image position (x, y)."""

    def __init__(self, *, fill: tuple | None = None, z: float = 5):
        super().__init__()
        self.setZValue(z)
        self._fill = QtGui.QColor(*fill) if fill is not None else None
        self._font = QtGui.QFont()
        self._marks: list[tuple] = []
        self._colours: dict[tuple, QtGui.QColor] = {}

    def set_marks(self, marks) -> None:
        marks = [(float(x), float(y), str(text), (float(anchor[0]), float(anchor[1])), tuple(colour))
                 for x, y, text, anchor, colour in marks]
        if marks == self._marks:
            return
        self._marks = marks
        for colour in {mark[4] for mark in marks} - set(self._colours):
            self._colours[colour] = QtGui.QColor(*colour)
        self.update()

    @property
    def marks(self) -> list[tuple]:
        return list(self._marks)

    @property
    def texts(self) -> list[str]:
        return [mark[2] for mark in self._marks]

    def boundingRect(self) -> QtCore.QRectF:
        # The texts keep their screen size at any zoom, so they may reach anywhere in the view.
        rect = self.viewRect() if self._marks else None
        return QtCore.QRectF() if rect is None else rect

    def viewTransformChanged(self) -> None:
        self.prepareGeometryChange()

    def dataBounds(self, axis, frac=1.0, orthoRange=None):
        return None                    # never part of the view's auto-range

    def paint(self, painter: QtGui.QPainter, *args) -> None:
        if not self._marks:
            return
        to_screen = painter.transform()
        painter.save()
        painter.resetTransform()
        painter.setFont(self._font)
        metrics = painter.fontMetrics()
        height = metrics.height() + 2 * PADDING
        for x, y, text, (anchor_x, anchor_y), colour in self._marks:
            at = to_screen.map(QtCore.QPointF(x, y))
            width = metrics.horizontalAdvance(text) + 2 * PADDING
            box = QtCore.QRectF(at.x() - anchor_x * width, at.y() - anchor_y * height, width, height)
            if self._fill is not None:
                painter.fillRect(box, self._fill)
            painter.setPen(self._colours[colour])
            painter.drawText(box, _CENTRED, text)
        painter.restore()
