"""Loss and accuracy on one chart: train per step (smoothed, raw faint behind), validation per
epoch as points; loss on the left axis, accuracy (0..1) on the right axis.

The legend sits in its own row above the plot, so no curve is ever drawn over it. Dashed grey
lines mark where each epoch begins ("epoch 2"), dashed orange ones where the learning rate
changed ("lr 0.01 → 0.001").
"""
from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from .. import stats
from cyconv.lab.i18n import tr

_LOSS_COLOUR = (31, 119, 180)
_ACC_COLOUR = (214, 39, 40)
_EPOCH_COLOUR = (120, 120, 120)
_LR_COLOUR = (230, 120, 0)
_REDRAW_HZ = 2
_MAX_EPOCH_LABELS = 8           # beyond this many epochs, every k-th line is labelled
_LR_TOLERANCE = 1e-9            # relative: a float printed and parsed back is the same rate


def format_lr(lr: float) -> str:
    return f"{lr:.3g}"


class CurvesView(QtWidgets.QWidget):
    """Keeps the series; `add_step`/`add_epoch` only store, `refresh` (the GUI timer) draws."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground("w")
        self.legend = pg.LegendItem(colCount=2, labelTextColor=(40, 40, 40))
        self.canvas.addItem(self.legend, row=0, col=0)
        item = self.plot_item = self.canvas.addPlot(row=1, col=0)
        self.canvas.ci.layout.setRowStretchFactor(1, 10)
        self.loss_box = item.getViewBox()
        self.acc_box = pg.ViewBox()
        item.showAxis("right")
        item.scene().addItem(self.acc_box)
        item.getAxis("right").linkToView(self.acc_box)
        self.acc_box.setXLink(item)
        self.acc_box.setYRange(0.0, 1.0)
        self.acc_box.enableAutoRange(axis=pg.ViewBox.YAxis, enable=False)
        self.loss_box.sigResized.connect(self._sync_boxes)
        # No grid, thinned data and at most _REDRAW_HZ redraws a second: painting the axes of
        # an auto-ranging plot holds the GIL for ~4 ms per axis, and at 30 Hz it halved the
        # training thread's speed (benchmarks/lab_overhead.py); at 4 Hz the curves were still
        # the costliest view (lab/headless 0.81 with only them shown, 0.85 filters, 0.86 maps).
        item.setDownsampling(auto=True, mode="peak")
        item.setClipToView(True)
        self.raw_loss = item.plot(pen=pg.mkPen((*_LOSS_COLOUR, 60)))
        self.train_loss = item.plot(pen=pg.mkPen(_LOSS_COLOUR, width=2))
        self.val_loss = item.plot(pen=None, symbol="o", symbolBrush=_LOSS_COLOUR, symbolSize=9)
        self.train_acc = pg.PlotDataItem(pen=pg.mkPen(_ACC_COLOUR, width=2))
        self.val_acc = pg.PlotDataItem(pen=None, symbol="s", symbolBrush=_ACC_COLOUR, symbolSize=9)
        self.acc_box.addItem(self.train_acc)
        self.acc_box.addItem(self.val_acc)
        self.smoothing = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.smoothing.setRange(0, 99)
        self.smoothing.setValue(90)
        self.smoothing.valueChanged.connect(self._mark_dirty)
        self.smoothing_label = QtWidgets.QLabel()
        controls = QtWidgets.QHBoxLayout()
        controls.addWidget(self.smoothing_label)
        controls.addWidget(self.smoothing, 1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.canvas, 1)
        layout.addLayout(controls)
        self._last_draw = 0.0
        self.epoch_lines: list[pg.InfiniteLine] = []
        self.lr_lines: list[pg.InfiniteLine] = []
        self.clear()
        self.retranslate()

    def _sync_boxes(self) -> None:
        self.acc_box.setGeometry(self.loss_box.sceneBoundingRect())

    def retranslate(self) -> None:
        item = self.plot_item
        item.setLabel("left", tr("curves.loss"))
        item.setLabel("right", tr("curves.accuracy"))
        item.setLabel("bottom", tr("curves.step"))
        self.legend.clear()
        for curve, key in ((self.train_loss, "curves.train_loss"), (self.val_loss, "curves.val_loss"),
                           (self.train_acc, "curves.train_acc"), (self.val_acc, "curves.val_acc")):
            self.legend.addItem(curve, tr(key))
        self.smoothing_label.setText(tr("curves.smoothing"))
        self._drawn_marks = None                     # labels are texts: draw them again
        self._draw_marks()

    def clear(self) -> None:
        self.steps: list[int] = []
        self.losses: list[float] = []
        self.accuracies: list[float] = []
        self.val_steps: list[int] = []
        self.val_losses: list[float] = []
        self.val_accuracies: list[float] = []
        self.epoch_ends: list[int] = []                  # last step of each finished epoch
        self.lr_changes: list[tuple[int, float, float]] = []     # (first step at the new rate, old, new)
        self._lr: float | None = None
        self._drawn_marks = None
        self._drawn_val = -1                             # validation points drawn, -1: none yet
        self._dirty = True
        self.refresh(force=True)

    def _mark_dirty(self) -> None:
        self._dirty = True

    def add_step(self, step: int, loss: float, accuracy: float, lr: float | None = None) -> None:
        """One training step; `lr` (the rate it used) marks a change from the step before."""
        self.steps.append(step)
        self.losses.append(loss)
        self.accuracies.append(accuracy)
        if lr is not None:
            if self._lr is not None and abs(lr - self._lr) > _LR_TOLERANCE * max(abs(lr), abs(self._lr)):
                self.lr_changes.append((step, self._lr, lr))
            self._lr = lr
        self._dirty = True

    def restore(self, history, batches_per_epoch: int) -> None:
        """Start over with a run's recorded history (an opened checkpoint's), rate changes marked."""
        self.clear()
        losses, accuracies = history.get("step_loss", ()), history.get("step_accuracy", ())
        rates = history.get("step_lr", ()) or (None,) * len(losses)
        for step, (loss, accuracy, lr) in enumerate(zip(losses, accuracies, rates), start=1):
            self.add_step(step, loss, accuracy, lr)
        for epoch, (loss, accuracy) in enumerate(zip(history.get("epoch_val_loss", ()),
                                                     history.get("epoch_val_accuracy", ())), start=1):
            self.add_epoch(epoch * batches_per_epoch, loss, accuracy)

    def add_epoch(self, step: int, val_loss, val_accuracy) -> None:
        """Epoch end at global step `step`, with its validation point (None values, no
        validation set: the boundary is still marked)."""
        if not self.epoch_ends or step > self.epoch_ends[-1]:
            self.epoch_ends.append(step)
            self._dirty = True
        if val_loss is None or val_accuracy is None:
            return
        self.val_steps.append(step)
        self.val_losses.append(val_loss)
        self.val_accuracies.append(val_accuracy)
        self._dirty = True

    def refresh(self, force: bool = False) -> None:
        """Redraw if anything changed, at most _REDRAW_HZ times a second unless forced."""
        now = time.monotonic()
        if not self._dirty or (not force and now - self._last_draw < 1.0 / _REDRAW_HZ):
            return
        self._dirty = False
        self._last_draw = now
        weight = self.smoothing.value() / 100.0
        steps = np.asarray(self.steps, dtype=np.float64)
        self.raw_loss.setData(steps, np.asarray(self.losses, dtype=np.float64))
        self.train_loss.setData(steps, stats.smooth(self.losses, weight))
        self.train_acc.setData(steps, stats.smooth(self.accuracies, weight))
        if len(self.val_steps) != self._drawn_val:      # the validation points change once an epoch
            self._drawn_val = len(self.val_steps)
            self.val_loss.setData(np.asarray(self.val_steps, float), np.asarray(self.val_losses, float))
            self.val_acc.setData(np.asarray(self.val_steps, float), np.asarray(self.val_accuracies, float))
        self._draw_marks()

    # -- epoch and learning-rate marks --------------------------------------------------------------
    def epoch_marks(self) -> list[tuple[float, str]]:
        """(x, label) of each epoch start after the first, once a step of it has been drawn:
        the end of the last epoch is no boundary. Labels thin out past _MAX_EPOCH_LABELS."""
        last = self.steps[-1] if self.steps else 0
        starts = [end for end in self.epoch_ends if end < last]
        every = max(1, -(-len(starts) // _MAX_EPOCH_LABELS))
        return [(end + 0.5, tr("curves.epoch", n=i + 2) if i % every == 0 else "") for i, end in enumerate(starts)]

    def lr_marks(self) -> list[tuple[float, str]]:
        """(x, label) where the learning rate changed: between the last step at the old rate
        and the first at the new one."""
        return [(step - 0.5, tr("curves.lr", old=format_lr(old), new=format_lr(new)))
                for step, old, new in self.lr_changes]

    def _draw_marks(self) -> None:
        marks = (self.epoch_marks(), self.lr_marks())
        if marks == self._drawn_marks:
            return
        self._drawn_marks = marks
        self.epoch_lines = self._update_lines(self.epoch_lines, marks[0], _EPOCH_COLOUR, 0.97)
        self.lr_lines = self._update_lines(self.lr_lines, marks[1], _LR_COLOUR, 0.80)

    def _update_lines(self, lines, marks, colour, label_height: float) -> list[pg.InfiniteLine]:
        """The lines of `marks` [(x, label), ...]: a line already drawn at the same place with the
        same label stays (a new epoch adds one line, it does not draw them all again)."""
        kept = {(line.value(), line.mark_text): line for line in lines}
        fresh = []
        for x, text in marks:
            line = kept.pop((x, text), None)
            if line is None:
                line = self._new_line(x, text, colour, label_height)
            fresh.append(line)
        for line in kept.values():
            self.plot_item.removeItem(line)
        return fresh

    def _new_line(self, x: float, text: str, colour, label_height: float) -> pg.InfiniteLine:
        line = pg.InfiniteLine(pos=x, angle=90, movable=False,
                               pen=pg.mkPen(colour, width=1, style=QtCore.Qt.PenStyle.DashLine),
                               label=text or None,
                               labelOpts={"position": label_height, "color": colour, "anchors": [(0, 0), (0, 0)],
                                          "fill": (255, 255, 255, 220)})
        line.mark_text = text
        line.setZValue(-5)
        self.plot_item.addItem(line, ignoreBounds=True)
        return line
