"""A layer's vector output as a labelled bar chart (dense layers, scores, probabilities).

A vector drawn as a one-pixel strip of colours says nothing; bars say its values. A vector
with one entry per class is drawn as horizontal bars with the class names on the left axis
(names of any length stay readable); a longer vector as vertical bars over its indices.
Negative bars are blue and positive ones red, the colours of the maps' diverging scale.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtWidgets

from cyconv.lab import render
from .images import PageWheelView

_POSITIVE = tuple(int(v) for v in render.diverging_lut(255)[-1])
_NEGATIVE = tuple(int(v) for v in render.diverging_lut(255)[0])
_HIGHLIGHT = (90, 10, 20)
_ROW_PIXELS = 20                   # height of one class's bar
_MAX_INDEX_TICKS = 20


_BRUSHES: dict[tuple, object] = {}


def _brush(colour: tuple):
    """One QBrush per colour for every chart (pg.mkBrush parses the colour each time)."""
    if colour not in _BRUSHES:
        _BRUSHES[colour] = pg.mkBrush(colour)
    return _BRUSHES[colour]


class BarPanel(QtWidgets.QWidget):
    """A caption over a bar chart of one vector; `set_values(values, names)`."""

    def __init__(self, parent=None, *, height: int = 170):
        super().__init__(parent)
        self.caption = QtWidgets.QLabel()
        self.caption.setWordWrap(True)
        # A bare ViewBox and two axes, not a PlotWidget: a PlotItem builds its control menu's
        # widgets too, and creating one while training ran stalled the window for ~50 ms.
        self.view = PageWheelView(background="w")
        self.box = pg.ViewBox(enableMenu=False)
        self.box.setMouseEnabled(x=False, y=False)
        self.axes = {"left": pg.AxisItem("left"), "bottom": pg.AxisItem("bottom")}
        grid = pg.GraphicsLayout()
        grid.addItem(self.axes["left"], 0, 0)
        grid.addItem(self.box, 0, 1)
        grid.addItem(self.axes["bottom"], 1, 1)
        for axis in self.axes.values():
            axis.linkToView(self.box)
        self.view.setCentralItem(grid)
        self.bars: pg.BarGraphItem | None = None
        self.base_height = height
        self._zoom = 1.0
        self._layout = None
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self.view, 1)
        self.values = np.zeros(0)
        self.names: tuple = ()
        self.horizontal = False
        self.set_zoom(1.0)

    def set_zoom(self, zoom: float) -> None:
        """Scale the chart's height (class bars also grow with their number)."""
        self._zoom = zoom
        rows = self.values.size if self.horizontal else 0
        self.view.setFixedHeight(int(max(self.base_height, rows * _ROW_PIXELS + 50) * zoom))

    def set_values(self, values: np.ndarray, names=(), *, probabilities: bool = False, colour=None,
                   highlight: int | None = None) -> None:
        """Bars of `values` (D,); `names` (one per entry) turn them into labelled class bars.

        `probabilities` fixes the scale to 0..1; `colour` (r, g, b) paints every bar alike
        instead of by sign; `highlight` (an index) draws that bar darker (the prediction); NaN
        values (a class without samples) draw no bar.
        """
        values = np.asarray(values, dtype=np.float64).ravel()
        self.values, self.names = values, tuple(names)
        self.horizontal = len(self.names) == values.size > 0
        negative, positive = (_brush(colour), _brush(colour)) if colour else (_brush(_NEGATIVE), _brush(_POSITIVE))
        brushes = [negative if v < 0 else positive for v in values]      # two brushes, shared: cheap
        if highlight is not None and 0 <= highlight < values.size:
            brushes[highlight] = _brush(_HIGHLIGHT)
        values = np.nan_to_num(values)
        high = 1.0 if probabilities else max(float(np.max(np.abs(values), initial=0.0)), 1e-12)
        low = 0.0 if probabilities or values.size == 0 or values.min() >= 0 else -high
        layout = (self.horizontal, values.size, self.names)
        if layout != self._layout:              # a new vector: new bars, axes and height
            self._layout = layout
            self._new_bars(values, brushes)
        elif self.horizontal:                   # the next sample: only the lengths change
            self.bars.setOpts(width=values, brushes=brushes)
        else:
            self.bars.setOpts(height=values, brushes=brushes)
        if self.horizontal:
            self.box.setXRange(low, high, padding=0.05)
        else:
            self.box.setYRange(low, high, padding=0.05)

    def _new_bars(self, values: np.ndarray, brushes: list) -> None:
        if self.bars is not None:
            self.box.removeItem(self.bars)
        positions = np.arange(values.size)
        pen = pg.mkPen((90, 90, 90)) if values.size <= _MAX_INDEX_TICKS else None     # outlines fill thin bars
        if self.horizontal:
            self.bars = pg.BarGraphItem(x0=0, y=positions, width=values, height=0.7, brushes=brushes, pen=pen)
            self.axes["left"].setTicks([list(enumerate(self.names))])
            self.axes["bottom"].setTicks(None)
            self.box.setYRange(-0.6, values.size - 0.4, padding=0)
        else:
            self.bars = pg.BarGraphItem(x=positions, height=values, width=0.8, y0=0, brushes=brushes, pen=pen)
            every = max(1, -(-values.size // _MAX_INDEX_TICKS))
            self.axes["bottom"].setTicks([[(i, str(i)) for i in range(0, values.size, every)]])
            self.axes["left"].setTicks(None)
            self.box.setXRange(-0.6, values.size - 0.4, padding=0)
        self.box.invertY(self.horizontal)
        self.box.addItem(self.bars)
        self.set_zoom(self._zoom)

    @property
    def image(self) -> np.ndarray:
        """The vector drawn (the counterpart of ImagePanel.image, for tests and export)."""
        return self.values

    def tick_labels(self) -> list[str]:
        axis = self.axes["left" if self.horizontal else "bottom"]
        levels = axis._tickLevels or [[]]
        return [text for _, text in levels[0]]

    def clear(self) -> None:
        self.set_values(np.zeros(0))
