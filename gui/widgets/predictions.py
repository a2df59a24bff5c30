"""Confusion matrix, per-class accuracy and the misclassified images, most confident first.

Clicking a confusion cell shows the images of that cell; clicking an image opens its
activations (linked error analysis)."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from .. import render, stats
from cyconv.lab.i18n import tr
from cyconv.lab.snapshots import Evaluation, SessionInfo
from .images import ImagePanel

GALLERY_SIZE = 32
_MAX_CELL_TEXT_CLASSES = 12          # count labels in the cells only while they stay readable


class PredictionsView(QtWidgets.QWidget):
    """`sample_selected(index)` asks for the activations of eval sample `index`."""

    sample_selected = QtCore.Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.confusion_panel = ImagePanel(colormap="viridis", minimum_height=240)
        self.confusion_panel.clicked.connect(self._cell_clicked)
        self.accuracy_plot = pg.PlotWidget(background="w")
        self.accuracy_plot.setYRange(0.0, 1.0)
        self.accuracy_plot.setMouseEnabled(x=False, y=False)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.7, brush=(31, 119, 180))
        self.accuracy_plot.addItem(self.bars)
        self.accuracy_title = QtWidgets.QLabel()
        self.gallery = ImagePanel(colormap="grey", minimum_height=200)
        self.gallery.clicked.connect(self._image_clicked)
        self.gallery_list = QtWidgets.QLabel()
        self.gallery_list.setWordWrap(True)
        self.summary_label, self.placeholder = QtWidgets.QLabel(), QtWidgets.QLabel()
        left = QtWidgets.QVBoxLayout()
        left.addWidget(self.confusion_panel, 3)
        left.addWidget(self.accuracy_title)
        left.addWidget(self.accuracy_plot, 2)
        right = QtWidgets.QVBoxLayout()
        right.addWidget(self.gallery, 3)
        right.addWidget(self.gallery_list, 1)
        columns = QtWidgets.QHBoxLayout()
        columns.addLayout(left, 1)
        columns.addLayout(right, 1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.placeholder)
        layout.addWidget(self.summary_label)
        layout.addLayout(columns, 1)
        self.session: SessionInfo | None = None
        self.evaluation: Evaluation | None = None
        self.cell: tuple[int, int] | None = None
        self.gallery_indices = np.zeros(0, dtype=np.intp)
        self._cell_texts: list[pg.TextItem] = []
        self.retranslate()

    def retranslate(self) -> None:
        self.placeholder.setText("" if self.evaluation else tr("pred.none"))
        self.confusion_panel.caption.setText(tr("pred.confusion"))
        self.accuracy_title.setText(tr("pred.per_class"))
        if self.evaluation is not None:
            self._draw_gallery()
            self._draw_summary()

    def set_session(self, session: SessionInfo | None) -> None:
        self.session, self.evaluation, self.cell = session, None, None
        self.gallery_indices = np.zeros(0, dtype=np.intp)
        self.gallery.clear()
        self.confusion_panel.clear()
        self._draw_cell_counts(np.zeros((0, 0), dtype=np.int64))
        self.bars.setOpts(x=[], height=[], width=0.7)
        self.gallery_list.setText("")
        self.summary_label.setText("")
        self.retranslate()

    def clear(self) -> None:
        self.set_session(None)

    def show_evaluation(self, evaluation: Evaluation) -> None:
        self.evaluation = evaluation
        self.confusion_panel.set_image(render.confusion_rates(evaluation.confusion))
        self._draw_cell_counts(evaluation.confusion)
        accuracy = render.per_class_accuracy(evaluation.confusion)
        self.bars.setOpts(x=np.arange(accuracy.size), height=np.nan_to_num(accuracy), width=0.7)
        self.accuracy_plot.setXRange(-0.5, accuracy.size - 0.5)
        names = self.session.classes if self.session else tuple(str(i) for i in range(accuracy.size))
        if accuracy.size <= _MAX_CELL_TEXT_CLASSES:
            self.accuracy_plot.getAxis("bottom").setTicks([list(enumerate(names))])
        self.placeholder.setText("")
        self._draw_summary()
        self._draw_gallery()

    def _draw_summary(self) -> None:
        ev = self.evaluation
        self.summary_label.setText(tr("pred.accuracy", accuracy=ev.accuracy, n=int(ev.confusion.sum())))

    def _draw_cell_counts(self, confusion: np.ndarray) -> None:
        for text in self._cell_texts:
            self.confusion_panel.box.removeItem(text)
        self._cell_texts = []
        if confusion.shape[0] > _MAX_CELL_TEXT_CLASSES:
            return
        for (true, predicted), count in np.ndenumerate(confusion):
            if count:
                text = pg.TextItem(str(count), color="w" if true != predicted else "k", anchor=(0.5, 0.5))
                text.setPos(predicted + 0.5, true + 0.5)
                self.confusion_panel.box.addItem(text)
                self._cell_texts.append(text)

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
            self.gallery.caption.setText(tr("pred.mistakes"))
        else:
            true, predicted = self.cell
            count = int(self.evaluation.confusion[true, predicted])
            self.gallery.caption.setText(tr("pred.cell", true=self._name(true), pred=self._name(predicted), count=count))
        if self.gallery_indices.size == 0:
            self.gallery.clear()
            self.gallery_list.setText("")
            return
        images = self.session.eval_images[self.gallery_indices]
        tiles = np.stack([render.input_image(image) for image in images])
        self.gallery.set_image(render.tile(tiles, columns=8))
        ev = self.evaluation
        self.gallery_list.setText("; ".join(
            tr("pred.item", true=self._name(int(self._labels()[i])), pred=self._name(int(ev.predictions[i])),
               confidence=float(ev.confidences[i])) for i in self.gallery_indices[:8]))

    def _name(self, index: int) -> str:
        classes = self.session.classes if self.session else ()
        return classes[index] if 0 <= index < len(classes) else str(index)

    def _cell_clicked(self, row: int, col: int) -> None:
        self.cell = None if self.cell == (row, col) else (row, col)
        self._draw_gallery()

    def _image_clicked(self, row: int, col: int) -> None:
        if self.gallery_indices.size == 0:
            return
        tile_hw = self.session.eval_images.shape[2:]
        hit = render.tile_hit(row, col, count=self.gallery_indices.size, tile_hw=tile_hw, columns=8)
        if hit is not None:
            self.sample_selected.emit(int(self.gallery_indices[hit[0]]))


def _confidence_matrix(evaluation: Evaluation) -> np.ndarray:
    """A (N, K) matrix whose predicted-class column holds the confidence (what ranked_mistakes reads)."""
    classes = int(evaluation.confusion.shape[0])
    matrix = np.zeros((evaluation.predictions.size, classes))
    matrix[np.arange(evaluation.predictions.size), evaluation.predictions] = evaluation.confidences
    return matrix
