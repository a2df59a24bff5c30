"""One pyqtgraph image per tiled grid, with a caption, and click positions in image pixels.

ARCHITECTURE.md section 4: many maps are tiled into one array in NumPy (gui.render) and shown
with a single `ImageItem` with explicit levels, so pyqtgraph neither creates an item per map
nor scans for min/max on every frame.

A panel can carry a colour bar with the numbers of its scale (`colorbar=True`) and axes with
index ticks (`axes=True`). The image never zooms under the mouse wheel: the panels sit in
scroll areas, and a wheel that zoomed one map instead of scrolling the page also left that map
zoomed into an empty corner after the next sample (the view is fitted only when the grid
changes size). The wheel goes to the page; the views that zoom have their own control.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from cyconv.lab import render
from .colorbar import ColorBar
from .marks import TextMarks

#: Colour tables, built once.
_LUTS: dict[str, np.ndarray] = {}
_MARK_PEN = (255, 160, 0)
_LABEL_COLOUR = (20, 20, 20)
_STRONG_COLOUR = (255, 255, 255)             # a number on the strong colours at a scale's ends
_LABEL_FILL = (255, 255, 255, 190)
_PAINT_FORMAT = QtGui.QImage.Format.Format_ARGB32_Premultiplied


def lookup_table(name: str) -> np.ndarray:
    """A (256, 3) uint8 colour table: 'grey' (a ramp), 'diverging' (blue, white, red) or one of
    pyqtgraph's bundled maps ('viridis')."""
    if name not in _LUTS:
        if name == "grey":
            ramp = np.arange(256, dtype=np.uint8)
            _LUTS[name] = np.stack([ramp] * 3, axis=1)
        elif name == "diverging":
            _LUTS[name] = render.diverging_lut(256)
        else:
            _LUTS[name] = pg.colormap.get(name).getLookupTable(nPts=256)[:, :3]
    return _LUTS[name]


class ClickableImageItem(pg.ImageItem):
    """An ImageItem (row-major) that reports clicks as (row, column) of its image."""

    clicked = QtCore.Signal(int, int)
    hovered = QtCore.Signal(int, int)          # (-1, -1) when the mouse leaves the image

    def __init__(self):
        super().__init__(axisOrder="row-major")
        self.setAcceptHoverEvents(True)

    def render(self):
        """pyqtgraph's picture, converted once to the format QPainter draws without converting:
        an RGB888 image was converted again at every paint, nine times the cost of the blit."""
        super().render()
        if self.qimage is not None and self.qimage.format() != _PAINT_FORMAT:
            self.qimage = self.qimage.convertToFormat(_PAINT_FORMAT)

    def hoverEvent(self, event):
        if self.image is None or event.isExit():
            self.hovered.emit(-1, -1)
            return
        position = event.pos()
        row, col = int(np.floor(position.y())), int(np.floor(position.x()))
        inside = 0 <= row < self.image.shape[0] and 0 <= col < self.image.shape[1]
        self.hovered.emit(row if inside else -1, col if inside else -1)

    def mouseClickEvent(self, event):
        if event.button() != QtCore.Qt.MouseButton.LeftButton or self.image is None:
            return
        position = event.pos()
        row, col = int(np.floor(position.y())), int(np.floor(position.x()))
        if 0 <= row < self.image.shape[0] and 0 <= col < self.image.shape[1]:
            event.accept()
            self.clicked.emit(row, col)


def pass_wheel_to_page(widget: QtWidgets.QWidget, event: QtGui.QWheelEvent) -> None:
    """Hand a wheel event over `widget` to the nearest scroll area around it.

    Forwarded explicitly rather than ignored: Qt propagates only spontaneous wheel events to
    the parents, so this also holds for synthesized ones (touchpads, tests).
    """
    parent = widget.parentWidget()
    while parent is not None and not isinstance(parent, QtWidgets.QAbstractScrollArea):
        parent = parent.parentWidget()
    if parent is None:
        event.ignore()
        return
    QtWidgets.QApplication.sendEvent(parent.verticalScrollBar(), event)
    event.accept()


class UprightNamesAxis(pg.AxisItem):
    """A top axis whose tick names run upwards, one per column however long: names written
    across would overlap their neighbours as soon as a name is wider than its column."""

    def __init__(self):
        super().__init__("top")
        self.names: list[str] = []

    def set_names(self, ticks) -> None:
        """Ticks [(position, name), ...]. The axis lays out each tick's index, which is narrow
        enough never to be dropped as overlapping, and drawPicture writes the name upright."""
        ticks = list(ticks)
        self.names = [name for _, name in ticks]
        self.setTicks([[(position, str(i)) for i, (position, _) in enumerate(ticks)]])
        metrics = QtGui.QFontMetrics(self.style["tickFont"] or QtGui.QFont())
        longest = max((metrics.horizontalAdvance(name) for name in self.names), default=0)
        self.setHeight(longest + 14 + (metrics.height() + 6 if self.labelText else 0))

    def drawPicture(self, p, axisSpec, tickSpecs, textSpecs):
        super().drawPicture(p, axisSpec, tickSpecs, [])
        if self.style["tickFont"] is not None:
            p.setFont(self.style["tickFont"])
        p.setPen(self.textPen())
        metrics = QtGui.QFontMetrics(p.font())
        base = axisSpec[1].y() - 6                         # just above the tick marks
        for rect, _, index in textSpecs:
            text = self.names[int(index)] if index.isdigit() and int(index) < len(self.names) else index
            p.save()
            p.translate(rect.center().x(), base)
            p.rotate(-90)
            box = QtCore.QRectF(0, -metrics.height() / 2, metrics.horizontalAdvance(text) + 2, metrics.height())
            p.drawText(box, int(QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter), text)
            p.restore()


class PageWheelView(pg.GraphicsView):
    """A GraphicsView that leaves the mouse wheel to the scroll area around it."""

    def wheelEvent(self, event: QtGui.QWheelEvent) -> None:
        pass_wheel_to_page(self, event)


class ImagePanel(QtWidgets.QWidget):
    """A caption over one image view; `set_image` draws a [0, 1] image (grey/colour map or RGB)."""

    clicked = QtCore.Signal(int, int)
    hovered = QtCore.Signal(int, int)

    def __init__(self, parent=None, *, colormap: str = "grey", minimum_height: int = 140,
                 fixed_height: int | None = None, colorbar: bool = False, axes: bool = False,
                 square_pixels: bool = True, upright_top: bool = False):
        super().__init__(parent)
        self.caption = QtWidgets.QLabel()
        self.caption.setWordWrap(True)
        self.view = PageWheelView(background="w")
        if fixed_height is None:
            self.view.setMinimumHeight(minimum_height)
        else:                                  # stacked panels keep their size in a scroll area
            self.view.setFixedHeight(fixed_height)
        top_axis = {"top": UprightNamesAxis()} if upright_top else {}
        self.plot = pg.PlotItem(enableMenu=False, axisItems=top_axis) if axes else None
        # A bare ViewBox without its context menu when there are no axes: a third of the cost of
        # a PlotItem, which matters when a deep network needs a dozen panels.
        self.box = self.plot.getViewBox() if axes else pg.ViewBox(enableMenu=False)
        self.box.setAspectLocked(square_pixels)
        self.box.invertY(True)
        self.box.setMouseEnabled(x=False, y=False)
        if axes:
            self.plot.hideButtons()
            self.plot.showAxis("top")
            self.plot.hideAxis("bottom")
        self.view.setCentralItem(self.plot if axes else self.box)
        self.colorbar = ColorBar() if colorbar else None
        self.item = ClickableImageItem()
        self.item.clicked.connect(self.clicked)
        self.item.hovered.connect(self.hovered)
        self.item.hovered.connect(self._show_value)
        self.values: np.ndarray | None = None       # the raw values of set_values, for the tooltip
        #: describe(row, col) -> the tooltip for image pixel (row, col); by default its value
        self.describe: Callable[[int, int], str] | None = None
        self.box.addItem(self.item)
        self.colormap = colormap
        self.marker: QtWidgets.QGraphicsRectItem | None = None
        self.tile_marks, self.cell_marks = TextMarks(fill=_LABEL_FILL, z=5), TextMarks(z=6)
        for marks in (self.tile_marks, self.cell_marks):
            self.box.addItem(marks, ignoreBounds=True)
        self._axis_titles: dict[str, str] = {}
        self._axis_ticks: dict[str, list] = {}
        self._headroom = 0.0
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        row = QtWidgets.QHBoxLayout()
        row.setSpacing(2)
        row.addWidget(self.view, 1)
        if self.colorbar is not None:
            row.addWidget(self.colorbar)
        layout.addLayout(row, 1)
        self._shape = None

    def set_image(self, image: np.ndarray, *, levels=(0.0, 1.0)) -> None:
        """Show `image` (H, W) through the colour map, or (H, W, 3) as RGB, with fixed levels."""
        image = np.asarray(image)
        lut = None if image.ndim == 3 else lookup_table(self.colormap)
        self.item.setImage(image, levels=levels, lut=lut, autoLevels=False)
        if image.shape[:2] != self._shape:       # refit only when the grid changes size
            self._shape = image.shape[:2]
            self.fit()

    @property
    def headroom(self) -> float:
        """Image rows kept in view above the image, for labels over its first row."""
        return self._headroom

    @headroom.setter
    def headroom(self, rows: float) -> None:
        if rows != self._headroom:
            self._headroom = rows
            self.fit()

    def fit(self) -> None:
        """Show the whole image, and `headroom` rows above it for labels over the first row
        (with a pixel's margin on the sides, where the first column's labels and marks begin)."""
        if self._shape is None:
            return
        height, width = self._shape
        margin = 1.0 if self.headroom else 0.0
        self.box.setRange(xRange=(-margin, width + margin), yRange=(-self.headroom, height + margin), padding=0.02)

    def set_values(self, values: np.ndarray, levels: tuple[float, float], colormap: str) -> None:
        """Show raw `values` (H, W; NaN gaps grey) on `levels` through `colormap`, and the
        colour bar with the same scale."""
        self.colormap = colormap
        self.values = np.asarray(values)
        self.set_image(render.colorize(values, levels, lookup_table(colormap)))
        self.set_bar(levels)

    def _show_value(self, row: int, col: int) -> None:
        """The tooltip under the mouse: what `describe` says, or the value there."""
        if self.describe is None and self.values is None:
            return                                   # the owner writes its own tooltip
        text = ""
        if row >= 0 and self.describe is not None:
            text = self.describe(row, col)
        elif row >= 0 and self.values is not None and np.isfinite(self.values[row, col]):
            text = f"{float(self.values[row, col]):.3g}"
        self.view.setToolTip(text)

    def set_bar(self, levels: tuple[float, float]) -> None:
        """The colour bar's scale (the panel's colour map on `levels`)."""
        if self.colorbar is not None:
            self.colorbar.set_scale(levels, lookup_table(self.colormap))

    @property
    def levels(self) -> tuple[float, float] | None:
        """The colour bar's (low, high), None without a colour bar."""
        return None if self.colorbar is None else self.colorbar.levels

    def set_ticks(self, *, top=None, left=None) -> None:
        """Index ticks [(position, text), ...] on the top and left axes (panels made with axes=True)."""
        for name, ticks in (("top", top), ("left", left)):
            if ticks is not None:
                ticks = list(ticks)
                if self._axis_ticks.get(name) == ticks:      # the next picture: same ticks, no new axis layout
                    continue
                self._axis_ticks[name] = ticks
                axis = self.plot.getAxis(name)
                if isinstance(axis, UprightNamesAxis):
                    axis.set_names(ticks)
                else:
                    axis.setTicks([list(ticks)])

    def set_tick_font(self, points: float) -> None:
        """A smaller font for the tick labels (many class names along one axis)."""
        font = QtGui.QFont()
        font.setPointSizeF(points)
        for name in ("top", "left"):
            self.plot.getAxis(name).setStyle(tickFont=font)

    def set_axis_labels(self, *, top: str | None = None, left: str | None = None) -> None:
        """Titles of the top and left axes; a title already shown is left alone (setting it
        lays the axis out again)."""
        for name, text in (("top", top), ("left", left)):
            if text is not None and self._axis_titles.get(name) != text:
                self._axis_titles[name] = text
                self.plot.setLabel(name, text)

    def set_tile_labels(self, origins, texts, *, above: bool = False) -> None:
        """Small numbers at each tile's top-left corner (image positions (top, left)): over the
        corner, or `above` it in the gap (set `headroom` for the first row)."""
        anchor = (0, 1) if above else (0, 0)
        self.tile_marks.set_marks((left - 0.5 if above else left, top, text, anchor, _LABEL_COLOUR)
                                  for (top, left), text in zip(origins, texts))

    @property
    def tile_labels(self) -> list[str]:
        return self.tile_marks.texts

    def set_cell_values(self, values: np.ndarray | None, levels: tuple[float, float] = (-1.0, 1.0)) -> None:
        """Write each value of a small (H, W) image in its pixel (None removes them); white on
        the strong colours at either end of `levels`, black elsewhere."""
        if values is None:
            self.cell_marks.set_marks(())
            return
        peak = max(abs(levels[0]), abs(levels[1])) or 1.0
        self.cell_marks.set_marks(
            (col + 0.5, row + 0.5, f"{value:.2g}", (0.5, 0.5), _STRONG_COLOUR if abs(value) > 0.6 * peak else _LABEL_COLOUR)
            for (row, col), value in np.ndenumerate(np.asarray(values, dtype=np.float64)))

    @property
    def cell_values(self) -> list[str]:
        return self.cell_marks.texts

    def mark(self, rect: tuple[float, float, float, float] | None) -> None:
        """Outline `rect` (left, top, width, height) in image pixels, or remove the outline."""
        if rect is None:
            if self.marker is not None:
                self.box.removeItem(self.marker)
                self.marker = None
            return
        if self.marker is None:
            self.marker = QtWidgets.QGraphicsRectItem()
            pen = pg.mkPen(_MARK_PEN, width=3)
            pen.setCosmetic(True)
            self.marker.setPen(pen)
            self.marker.setZValue(10)
            self.box.addItem(self.marker)
        self.marker.setRect(QtCore.QRectF(*rect))

    def clear(self) -> None:
        self.item.clear()
        self.values = None
        self.set_tile_labels((), ())
        self.mark(None)
        self._shape = None

    @property
    def image(self) -> np.ndarray | None:
        """The array the item currently draws (for tests and export)."""
        return self.item.image

    def pixels_per_image_pixel(self) -> float:
        """How many screen pixels one image pixel covers now (for tests and zoom)."""
        width, _ = self.box.viewPixelSize()
        return 1.0 / width if width > 0 else 0.0
