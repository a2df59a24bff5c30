"""The training time machine: a slider (and Play) over the moments the session recorded, showing
a conv layer's filters, an activation layer's maps for the first probe image, the probe batch's
confusion matrix and the metrics at the chosen moment.

The moments are read-only snapshots (cyconv.monitor.Moment) the worker hands over whole, so
scrubbing is drawing only: no question goes to the worker while the slider moves.
"""
from __future__ import annotations

import os

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from cyconv.lab.i18n import tr

from cyconv.lab import render
from .images import ImagePanel

#: How often the view asks for the new moments while it is shown (ms), and Play's frame time.
REFRESH_MS, PLAY_MS = 2000, 150
TAG, GIF_TAG = "timeline", "timeline.gif"


def save_grab(widget, folder: str, name: str) -> list[str]:
    """Write ``widget`` as it is on screen to ``folder/name``; [that path] (a view's screenshots)."""
    path = os.path.join(folder, name)
    if not widget.grab().save(path, "PNG"):
        raise OSError(f"{type(widget).__name__}: could not write {path}")
    return [path]


class TimelineView(QtWidgets.QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.moments: tuple = ()
        self.index = -1
        self._ask = None
        self._midway = False
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.valueChanged.connect(self.show_moment)
        self.play_button, self.gif_button = QtWidgets.QPushButton(), QtWidgets.QPushButton()
        self.play_button.setCheckable(True)
        self.play_button.toggled.connect(self._play_toggled)
        self.gif_button.clicked.connect(self._gif_dialog)
        self.filter_choice, self.activation_choice = QtWidgets.QComboBox(), QtWidgets.QComboBox()
        self.filter_choice.currentIndexChanged.connect(lambda _: self._redraw())
        self.activation_choice.currentIndexChanged.connect(lambda _: self._redraw())
        self.moment_label, self.status_label = QtWidgets.QLabel(), QtWidgets.QLabel()
        self.moment_label.setWordWrap(True)
        self.filters_panel = ImagePanel(colormap="grey", minimum_height=200)
        self.activations_panel = ImagePanel(colormap="viridis", minimum_height=200)
        self.confusion_panel = ImagePanel(colormap="viridis", minimum_height=200)
        self.metrics_plot = pg.PlotWidget(background="w")
        self.metrics_plot.setMouseEnabled(x=False, y=False)
        self.accuracy_curve = self.metrics_plot.plot(pen=pg.mkPen((44, 160, 44), width=2))
        self.loss_curve = self.metrics_plot.plot(pen=pg.mkPen((31, 119, 180), width=2))
        self.cursor = pg.InfiniteLine(angle=90, pen=pg.mkPen((214, 39, 40), width=2))
        self.metrics_plot.addItem(self.cursor)
        self._build_layout()
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.request)
        self.player = QtCore.QTimer(self)
        self.player.setInterval(PLAY_MS)
        self.player.timeout.connect(self._next_frame)
        self.retranslate()

    def _build_layout(self) -> None:
        bar = QtWidgets.QHBoxLayout()
        bar.addWidget(self.play_button)
        bar.addWidget(self.slider, 1)
        bar.addWidget(self.gif_button)
        grid = QtWidgets.QGridLayout()
        grid.addWidget(self.filter_choice, 0, 0)
        grid.addWidget(self.activation_choice, 0, 1)
        grid.addWidget(self.filters_panel, 1, 0)
        grid.addWidget(self.activations_panel, 1, 1)
        grid.addWidget(self.confusion_panel, 2, 0)
        grid.addWidget(self.metrics_plot, 2, 1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.moment_label)
        layout.addLayout(grid, 1)
        layout.addWidget(self.status_label)

    # -- wiring -----------------------------------------------------------------------------------
    def attach(self, window) -> None:
        self._ask = window.controller.ask
        window.listen(TAG, self.show_history, self.show_error)
        window.listen(GIF_TAG, self._gif_saved, self.show_error)
        window.controller.worker.session_ready.connect(self.clear)

    def request(self) -> None:
        if self._ask is not None:
            self._ask(TAG, "timeline.history")

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.request()
        self.timer.start()

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self.timer.stop()

    def exercise(self):
        """Screenshot mode: show a moment half way through the run, not its end."""
        self._midway = True
        self.request()
        return lambda: bool(self.moments)

    def screenshots(self, folder: str) -> list[str]:
        return save_grab(self, folder, "timeline.png") if self.moments else []

    def retranslate(self) -> None:
        self.play_button.setText(tr("timeline.pause") if self.play_button.isChecked() else tr("timeline.play"))
        self.gif_button.setText(tr("timeline.gif"))
        self.confusion_panel.caption.setText(tr("timeline.confusion"))
        self._redraw()

    # -- answers ----------------------------------------------------------------------------------
    def clear(self, *_) -> None:
        self.moments, self.index = (), -1
        self.player.stop()
        self.play_button.setChecked(False)
        for panel in (self.filters_panel, self.activations_panel, self.confusion_panel):
            panel.clear()
        self.accuracy_curve.setData([], [])
        self.loss_curve.setData([], [])
        self.slider.setRange(0, 0)
        self._redraw()

    def show_error(self, message: str) -> None:
        self.status_label.setText(message)

    def show_history(self, moments) -> None:
        """Take the recorded moments; the slider stays where it was unless it was at the end."""
        at_end = self.index < 0 or self.index == len(self.moments) - 1
        step = self.moments[self.index].step if 0 <= self.index < len(self.moments) else None
        self.moments = tuple(moments)
        if not self.moments:
            self.clear()
            return
        self._fill_choices()
        steps = np.array([m.step for m in self.moments])
        self.accuracy_curve.setData(steps, [m.metrics.get("probe_accuracy", np.nan) for m in self.moments])
        self.loss_curve.setData(steps, [m.metrics.get("probe_loss", np.nan) for m in self.moments])
        target = len(self.moments) - 1 if at_end or step is None else max(int(np.searchsorted(steps, step)), 0)
        if self._midway:
            target, self._midway = len(self.moments) // 2, False
        self.slider.blockSignals(True)
        self.slider.setRange(0, len(self.moments) - 1)
        self.slider.setValue(min(target, len(self.moments) - 1))
        self.slider.blockSignals(False)
        self.show_moment(self.slider.value())

    def _fill_choices(self) -> None:
        first = self.moments[0]
        for combo, names in ((self.filter_choice, list(first.filters)),
                             (self.activation_choice, [n for n, a in first.activations.items() if a.ndim == 4])):
            if [combo.itemText(i) for i in range(combo.count())] != names:
                combo.blockSignals(True)
                combo.clear()
                combo.addItems(names)
                combo.blockSignals(False)

    # -- drawing ----------------------------------------------------------------------------------
    def show_moment(self, index: int) -> None:
        """Draw moment ``index`` (the slider's value) in every panel."""
        if not 0 <= index < len(self.moments):
            return
        self.index = int(index)
        self._redraw()

    @property
    def moment(self):
        return self.moments[self.index] if 0 <= self.index < len(self.moments) else None

    def _redraw(self) -> None:
        moment = self.moment
        if moment is None:
            self.moment_label.setText(tr("timeline.empty"))
            return
        metrics = moment.metrics
        self.moment_label.setText(tr("timeline.moment", step=moment.step, index=self.index + 1, count=len(self.moments),
                                     loss=metrics.get("loss", np.nan), accuracy=metrics.get("probe_accuracy", np.nan),
                                     probe=int(moment.confusion.sum())))
        layer = self.filter_choice.currentText()
        if layer in moment.filters:
            self.filters_panel.caption.setText(tr("timeline.filters", layer=layer))
            self.filters_panel.set_image(render.filter_picture(moment.filters[layer]))
        maps = self.activation_choice.currentText()
        if maps in moment.activations:
            self.activations_panel.caption.setText(tr("timeline.activations", layer=maps))
            self.activations_panel.set_image(render.maps_picture(np.asarray(moment.activations[maps][0], np.float32)))
        if moment.confusion.size:
            self.confusion_panel.set_image(render.confusion_rates(moment.confusion))
        self.cursor.setValue(moment.step)

    # -- play and export --------------------------------------------------------------------------
    def _play_toggled(self, playing: bool) -> None:
        if playing and self.index >= len(self.moments) - 1:
            self.slider.setValue(0)            # Play at the end starts again from the beginning
        (self.player.start if playing else self.player.stop)()
        self.retranslate()

    def _next_frame(self) -> None:
        if self.index >= len(self.moments) - 1:
            self.play_button.setChecked(False)
            return
        self.slider.setValue(self.index + 1)

    def _gif_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, tr("timeline.gif"), "filters.gif", "GIF (*.gif)")
        if path:
            self.save_gif(path)

    def save_gif(self, path: str) -> None:
        """Ask the worker to write the filters' evolution (of the chosen layer) to ``path``."""
        if self._ask is not None:
            self._ask(GIF_TAG, "timeline.gif", path, self.filter_choice.currentText() or None)

    def _gif_saved(self, answer) -> None:
        path, frames = answer
        self.status_label.setText(tr("timeline.gif_saved", path=path, frames=frames))
