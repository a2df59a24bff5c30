"""One pyqtgraph image per tiled grid, with a caption, and click positions in image pixels.

ARCHITECTURE.md section 4: many maps are tiled into one array in NumPy (gui.render) and shown
with a single `ImageItem` with explicit levels, so pyqtgraph neither creates an item per map
nor scans for min/max on every frame.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

#: Colour tables, built once.
_LUTS: dict[str, np.ndarray] = {}


def lookup_table(name: str) -> np.ndarray:
    """A (256, 3) uint8 colour table from pyqtgraph's bundled maps ('grey' is a plain ramp)."""
    if name not in _LUTS:
        if name == "grey":
            ramp = np.arange(256, dtype=np.uint8)
            _LUTS[name] = np.stack([ramp] * 3, axis=1)
        else:
            _LUTS[name] = pg.colormap.get(name).getLookupTable(nPts=256)
    return _LUTS[name]


class ClickableImageItem(pg.ImageItem):
    """An ImageItem (row-major) that reports clicks as (row, column) of its image."""

    clicked = QtCore.Signal(int, int)

    def __init__(self):
        super().__init__(axisOrder="row-major")

    def mouseClickEvent(self, event):
        if event.button() != QtCore.Qt.MouseButton.LeftButton or self.image is None:
            return
        position = event.pos()
        row, col = int(np.floor(position.y())), int(np.floor(position.x()))
        if 0 <= row < self.image.shape[0] and 0 <= col < self.image.shape[1]:
            event.accept()
            self.clicked.emit(row, col)


class ImagePanel(QtWidgets.QWidget):
    """A caption over one image view; `set_image` draws a [0, 1] image (grey/colour map or RGB)."""

    clicked = QtCore.Signal(int, int)

    def __init__(self, parent=None, *, colormap: str = "grey", minimum_height: int = 140,
                 fixed_height: int | None = None):
        super().__init__(parent)
        self.caption = QtWidgets.QLabel()
        self.caption.setWordWrap(True)
        self.view = pg.GraphicsView(background="w")
        if fixed_height is None:
            self.view.setMinimumHeight(minimum_height)
        else:                                  # stacked panels keep their size in a scroll area
            self.view.setFixedHeight(fixed_height)
        # A bare GraphicsView + ViewBox without its context menu: a third of the cost of a
        # GraphicsLayoutWidget, which matters when a deep network needs a dozen panels.
        self.box = pg.ViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.view.setCentralItem(self.box)
        self.item = ClickableImageItem()
        self.item.clicked.connect(self.clicked)
        self.box.addItem(self.item)
        self.colormap = colormap
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self.view, 1)
        self._shape = None

    def set_image(self, image: np.ndarray, *, levels=(0.0, 1.0)) -> None:
        """Show `image` (H, W) through the colour map, or (H, W, 3) as RGB, with fixed levels."""
        image = np.asarray(image)
        lut = None if image.ndim == 3 else lookup_table(self.colormap)
        self.item.setImage(image, levels=levels, lut=lut, autoLevels=False)
        if image.shape[:2] != self._shape:       # refit only when the grid changes size
            self._shape = image.shape[:2]
            self.box.autoRange(padding=0.02)

    def clear(self) -> None:
        self.item.clear()
        self._shape = None

    @property
    def image(self) -> np.ndarray | None:
        """The array the item currently draws (for tests and export)."""
        return self.item.image
