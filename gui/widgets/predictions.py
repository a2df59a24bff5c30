"""Confusion matrix, per-class accuracy and the misclassified images, most confident first.

The matrix names its classes on both axes (predicted along the top, true down the left; long
names abbreviated, the full names in the tooltip of each cell) and outlines the chosen cell.
Per-class accuracy is a horizontal bar per class, so no name overlaps another. Each thumbnail
says "true → predicted, confidence". Clicking a confusion cell shows the images of that cell;
clicking an image opens its activations (linked error analysis)."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from cyconv.lab import render
from .. import stats
from cyconv.lab.i18n import tr
from cyconv.lab.snapshots import Evaluation, SessionInfo
from .bars import BarPanel
from .images import ImagePanel

GALLERY_SIZE = 32
THUMBNAIL_PIXELS = 64
_MAX_CELL_TEXT_CLASSES = 12          # count labels in the cells only while they stay readable
_SHORT_NAME = 12                     # characters of a class name on the top axis (upright)
_ACCURACY_COLOUR = (31, 119, 180)


def short_name(name: str, limit: int = _SHORT_NAME) -> str:
    """`name` cut to `limit` characters with an ellipsis (the tooltip has the full name)."""
    return name if len(name) <= limit else name[:limit - 1] + "…"




def thumbnail(image: np.ndarray, pixels: int = THUMBNAIL_PIXELS) -> QtGui.QPixmap:
    """A sample (C, H, W) as a `pixels`-wide pixmap, pixels kept square and sharp."""
    picture = np.ascontiguousarray(np.rint(render.input_image(image) * 255).astype(np.uint8))
    height, width = picture.shape[:2]
    if picture.ndim == 2:
        qimage = QtGui.QImage(picture.data, width, height, width, QtGui.QImage.Format.Format_Grayscale8)
    else:
        qimage = QtGui.QImage(picture.data, width, height, 3 * width, QtGui.QImage.Format.Format_RGB888)
    scaled = qimage.scaled(pixels, pixels, QtCore.Qt.AspectRatioMode.KeepAspectRatio,
                           QtCore.Qt.TransformationMode.FastTransformation)
    return QtGui.QPixmap.fromImage(scaled.copy())        # copy: `picture` goes when we return


class PredictionsView(QtWidgets.QWidget):
    """`sample_selected(index)` asks for the activations of eval sample `index`."""

    sample_selected = QtCore.Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        # cells need not be square: the matrix fills its plot, and its names sit next to it
        self.confusion_panel = ImagePanel(colormap="viridis", minimum_height=260, colorbar=True, axes=True,
                                          square_pixels=False, upright_top=True)
        self.confusion_panel.set_tick_font(8)
        self.confusion_panel.clicked.connect(self._cell_clicked)
        self.confusion_panel.hovered.connect(self._cell_hovered)
        self.accuracy = BarPanel(height=200)
        self.gallery_caption = QtWidgets.QLabel()
        self.gallery_caption.setWordWrap(True)
        self.gallery = QtWidgets.QListWidget()
        self.gallery.setViewMode(QtWidgets.QListView.ViewMode.IconMode)
        self.gallery.setIconSize(QtCore.QSize(THUMBNAIL_PIXELS, THUMBNAIL_PIXELS))
        self.gallery.setGridSize(QtCore.QSize(THUMBNAIL_PIXELS + 64, THUMBNAIL_PIXELS + 52))
        self.gallery.setResizeMode(QtWidgets.QListView.ResizeMode.Adjust)
        self.gallery.setMovement(QtWidgets.QListView.Movement.Static)
        self.gallery.setWordWrap(True)
        self.gallery.itemClicked.connect(lambda item: self.open_item(self.gallery.row(item)))
        self.summary_label, self.placeholder = QtWidgets.QLabel(), QtWidgets.QLabel()
        left = QtWidgets.QVBoxLayout()
        left.addWidget(self.confusion_panel, 3)
        left.addWidget(self.accuracy, 2)
        right = QtWidgets.QVBoxLayout()
        right.addWidget(self.gallery_caption)
        right.addWidget(self.gallery, 1)
        columns = QtWidgets.QHBoxLayout()
        columns.addLayout(left, 3)
        columns.addLayout(right, 2)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.placeholder)
        layout.addWidget(self.summary_label)
        layout.addLayout(columns, 1)
        self.session: SessionInfo | None = None
        self.evaluation: Evaluation | None = None
        self.cell: tuple[int, int] | None = None
        self.gallery_indices = np.zeros(0, dtype=np.intp)
        self._cell_texts: list = []
        self.retranslate()

    def retranslate(self) -> None:
        self.placeholder.setText("" if self.evaluation else tr("pred.none"))
        self.placeholder.setVisible(self.evaluation is None)
        self.confusion_panel.caption.setText(tr("pred.confusion"))
        self.confusion_panel.set_axis_labels(top=tr("pred.axis.predicted"), left=tr("pred.axis.true"))
        self.accuracy.caption.setText(tr("pred.per_class"))
        if self.evaluation is not None:
            self._draw_gallery()
            self._draw_summary()

    def set_session(self, session: SessionInfo | None) -> None:
        self.session, self.evaluation, self.cell = session, None, None
        self.gallery_indices = np.zeros(0, dtype=np.intp)
        self.gallery.clear()
        self.confusion_panel.clear()
        self._draw_cell_counts(np.zeros((0, 0), dtype=np.int64))
        self.accuracy.clear()
        self.summary_label.setText("")
        self.retranslate()

    def clear(self) -> None:
        self.set_session(None)

    def class_names(self, count: int) -> tuple:
        names = self.session.classes if self.session else ()
        return tuple(names) if len(names) == count else tuple(str(i) for i in range(count))

    def show_evaluation(self, evaluation: Evaluation) -> None:
        self.evaluation = evaluation
        count = evaluation.confusion.shape[0]
        names = self.class_names(count)
        self.confusion_panel.set_image(render.confusion_rates(evaluation.confusion))
        self.confusion_panel.set_bar((0.0, 1.0))
        self.confusion_panel.set_ticks(top=[(i + 0.5, short_name(name)) for i, name in enumerate(names)],
                                       left=[(i + 0.5, name) for i, name in enumerate(names)])
        self._draw_cell_counts(evaluation.confusion)
        self._mark_cell()
        self.accuracy.set_values(render.per_class_accuracy(evaluation.confusion), names, probabilities=True,
                                 colour=_ACCURACY_COLOUR)
        self.placeholder.setText("")
        self.retranslate()

    def _draw_summary(self) -> None:
        ev = self.evaluation
        self.summary_label.setText(tr("pred.accuracy", accuracy=ev.accuracy, n=int(ev.confusion.sum())))

    def _draw_cell_counts(self, confusion: np.ndarray) -> None:
        for text in self._cell_texts:
            self.confusion_panel.box.removeItem(text)
        self._cell_texts = []
        if confusion.shape[0] > _MAX_CELL_TEXT_CLASSES:
            return
        rates = render.confusion_rates(confusion) if confusion.size else confusion
        for (true, predicted), count in np.ndenumerate(confusion):
            if count:       # dark text on viridis' bright end, white on its dark end
                text = pg.TextItem(str(count), color="k" if rates[true, predicted] > 0.55 else "w", anchor=(0.5, 0.5))
                text.setPos(predicted + 0.5, true + 0.5)
                self.confusion_panel.box.addItem(text)
                self._cell_texts.append(text)

    def _mark_cell(self) -> None:
        self.confusion_panel.mark(None if self.cell is None else (self.cell[1], self.cell[0], 1, 1))

    def _labels(self) -> np.ndarray:
        return self.session.eval_labels

    def _gallery_candidates(self) -> np.ndarray:
        """Indices to show: the chosen cell's samples or all mistakes, most confident first."""
        ev, labels = self.evaluation, self._labels()
        if self.cell is None:
            return stats.ranked_mistakes(labels, ev.predictions, _confidence_matrix(ev), limit=GALLERY_SIZE)
        true, predicted = self.cell
        members = np.flatnonzero((labels == true) & (ev.predictions == predicted))
        order = np.argsort(-ev.confidences[members], kind="stable")
        return members[order][:GALLERY_SIZE]

    def _draw_gallery(self) -> None:
        if self.session is None or self.evaluation is None:
            return
        self.gallery_indices = self._gallery_candidates()
        if self.cell is None:
            self.gallery_caption.setText(tr("pred.mistakes"))
        else:
            true, predicted = self.cell
            count = int(self.evaluation.confusion[true, predicted])
            self.gallery_caption.setText(tr("pred.cell", true=self._name(true), pred=self._name(predicted),
                                            count=count))
        self.gallery.clear()
        ev = self.evaluation
        for index in self.gallery_indices:
            text = tr("pred.thumb", true=self._name(int(self._labels()[index])),
                      pred=self._name(int(ev.predictions[index])), confidence=float(ev.confidences[index]))
            item = QtWidgets.QListWidgetItem(QtGui.QIcon(thumbnail(self.session.eval_images[index])), text)
            item.setToolTip(text)
            self.gallery.addItem(item)

    def gallery_texts(self) -> list[str]:
        return [self.gallery.item(i).text() for i in range(self.gallery.count())]

    def _name(self, index: int) -> str:
        classes = self.session.classes if self.session else ()
        return classes[index] if 0 <= index < len(classes) else str(index)

    def _cell_clicked(self, row: int, col: int) -> None:
        self.cell = None if self.cell == (row, col) else (row, col)
        self._mark_cell()
        self._draw_gallery()

    def _cell_hovered(self, row: int, col: int) -> None:
        """The tooltip of the cell under the mouse names both classes in full."""
        if self.evaluation is None or row < 0:
            self.confusion_panel.view.setToolTip("")
            return
        count = int(self.evaluation.confusion[row, col])
        share = float(render.confusion_rates(self.evaluation.confusion)[row, col])
        self.confusion_panel.view.setToolTip(tr("pred.cell_tip", true=self._name(row), pred=self._name(col),
                                                count=count, share=share))

    def open_item(self, position: int) -> None:
        """Open the activations of the gallery's `position`-th image."""
        if 0 <= position < self.gallery_indices.size:
            self.sample_selected.emit(int(self.gallery_indices[position]))


def _confidence_matrix(evaluation: Evaluation) -> np.ndarray:
    """A (N, K) matrix whose predicted-class column holds the confidence (what ranked_mistakes reads)."""
    classes = int(evaluation.confusion.shape[0])
    matrix = np.zeros((evaluation.predictions.size, classes))
    matrix[np.arange(evaluation.predictions.size), evaluation.predictions] = evaluation.confidences
    return matrix
