"""Loss and accuracy on one chart: train per step (smoothed, raw faint behind), validation per
epoch as points; loss on the left axis, accuracy (0..1) on the right axis."""
from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from .. import stats
from cyconv.lab.i18n import tr

_LOSS_COLOUR = (31, 119, 180)
_ACC_COLOUR = (214, 39, 40)
_REDRAW_HZ = 4


class CurvesView(QtWidgets.QWidget):
    """Keeps the series; `add_step`/`add_epoch` only store, `refresh` (the GUI timer) draws."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.plot = pg.PlotWidget(background="w")
        self.loss_box = self.plot.getPlotItem().getViewBox()
        self.acc_box = pg.ViewBox()
        item = self.plot.getPlotItem()
        item.showAxis("right")
        item.scene().addItem(self.acc_box)
        item.getAxis("right").linkToView(self.acc_box)
        self.acc_box.setXLink(item)
        self.acc_box.setYRange(0.0, 1.0)
        self.acc_box.enableAutoRange(axis=pg.ViewBox.YAxis, enable=False)
        self.loss_box.sigResized.connect(self._sync_boxes)
        # No grid, thinned data and at most _REDRAW_HZ redraws a second: painting the axes of
        # an auto-ranging plot holds the GIL for ~4 ms per axis, and at 30 Hz it halved the
        # training thread's speed (benchmarks/lab_overhead.py).
        item.setDownsampling(auto=True, mode="peak")
        item.setClipToView(True)
        self.legend = item.addLegend(offset=(-10, 10))
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
        layout.addWidget(self.plot, 1)
        layout.addLayout(controls)
        self._last_draw = 0.0
        self.clear()
        self.retranslate()

    def _sync_boxes(self) -> None:
        self.acc_box.setGeometry(self.loss_box.sceneBoundingRect())

    def retranslate(self) -> None:
        item = self.plot.getPlotItem()
        item.setLabel("left", tr("curves.loss"))
        item.setLabel("right", tr("curves.accuracy"))
        item.setLabel("bottom", tr("curves.step"))
        self.legend.clear()
        for curve, key in ((self.train_loss, "curves.train_loss"), (self.val_loss, "curves.val_loss"),
                           (self.train_acc, "curves.train_acc"), (self.val_acc, "curves.val_acc")):
            self.legend.addItem(curve, tr(key))
        self.smoothing_label.setText(tr("curves.smoothing"))

    def clear(self) -> None:
        self.steps: list[int] = []
        self.losses: list[float] = []
        self.accuracies: list[float] = []
        self.val_steps: list[int] = []
        self.val_losses: list[float] = []
        self.val_accuracies: list[float] = []
        self._dirty = True
        self.refresh(force=True)

    def _mark_dirty(self) -> None:
        self._dirty = True

    def add_step(self, step: int, loss: float, accuracy: float) -> None:
        self.steps.append(step)
        self.losses.append(loss)
        self.accuracies.append(accuracy)
        self._dirty = True

    def add_epoch(self, step: int, val_loss, val_accuracy) -> None:
        """A validation point at global step `step`; None values (no validation set) are skipped."""
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
        self.val_loss.setData(np.asarray(self.val_steps, float), np.asarray(self.val_losses, float))
        self.val_acc.setData(np.asarray(self.val_steps, float), np.asarray(self.val_accuracies, float))
