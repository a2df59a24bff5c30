"""The network doctor: per layer and over time, the gradient norm, the update-to-weight ratio
(CS231n's ~1e-3), the share of ReLUs that never fire and histograms of weights, gradients and
activations, with the doctor's plain-language diagnoses; and four "break it" experiments, each
showing its failure and the doctor naming it (cyconv.monitor.experiments)."""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from cyconv.lab.i18n import tr
from cyconv.monitor import doctor as rules
from cyconv.monitor.experiments import EXPERIMENTS

from .timeline import save_grab

EXAMINE_TAG, BREAK_TAG = "doctor.examine", "doctor.break"
_PENS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
         (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]


def _number(value: float) -> str:
    return "—" if not math.isfinite(value) else f"{value:.2e}"


class DoctorView(QtWidgets.QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self._ask = None
        self.problem: str | None = None             # the last question's failure, shown in the report
        self.checkups: tuple = ()
        self.diagnoses: tuple = ()
        self.heading_key: tuple | None = None          # (text key, fields) of the line over the diagnoses
        self.examine_button = QtWidgets.QPushButton()
        self.examine_button.clicked.connect(self.examine)
        self.break_label = QtWidgets.QLabel()
        self.break_buttons = {name: QtWidgets.QPushButton() for name in EXPERIMENTS}
        for name, button in self.break_buttons.items():
            button.clicked.connect(self._break_clicked)
            button.setProperty("experiment", name)
        self.heading, self.report = QtWidgets.QLabel(), QtWidgets.QLabel()
        self.report.setWordWrap(True)
        self.report.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table = QtWidgets.QTableWidget(0, 4)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._draw_histograms)
        self.ratio_plot = pg.PlotWidget(background="w")
        self.ratio_plot.setLogMode(y=True)
        self.ratio_plot.addItem(pg.InfiniteLine(pos=math.log10(rules.RATIO_RULE), angle=0,
                                                pen=pg.mkPen((0, 0, 0), style=QtCore.Qt.PenStyle.DashLine)))
        self.ratio_legend = self.ratio_plot.getPlotItem().addLegend(offset=(-10, 10))
        self.series_choice = QtWidgets.QComboBox()            # which measure the chart follows over time
        self.series_choice.currentIndexChanged.connect(self._draw_ratios)
        self.histograms = {kind: pg.PlotWidget(background="w") for kind in ("weights", "gradients", "activations")}
        self._build_layout()
        self.retranslate()

    def _build_layout(self) -> None:
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.examine_button)
        buttons.addSpacing(24)
        buttons.addWidget(self.break_label)
        for button in self.break_buttons.values():
            buttons.addWidget(button)
        buttons.addStretch(1)
        chart = QtWidgets.QVBoxLayout()
        chart.addWidget(self.series_choice)
        chart.addWidget(self.ratio_plot, 1)
        middle = QtWidgets.QHBoxLayout()
        middle.addWidget(self.table, 1)
        middle.addLayout(chart, 1)
        bottom = QtWidgets.QHBoxLayout()
        for plot in self.histograms.values():
            bottom.addWidget(plot, 1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.heading)
        layout.addWidget(self.report)
        layout.addLayout(middle, 2)
        layout.addLayout(bottom, 1)

    # -- wiring -----------------------------------------------------------------------------------
    def attach(self, window) -> None:
        self._ask = window.controller.ask
        window.listen(EXAMINE_TAG, self.show_examination, self.show_error)
        window.listen(BREAK_TAG, self.show_experiment, self.show_error)
        window.controller.worker.session_ready.connect(self.clear)

    def examine(self) -> None:
        if self._ask is not None:
            self._ask(EXAMINE_TAG, "doctor.examine")

    def break_it(self, name: str) -> None:
        """Run "break it" experiment ``name`` in the worker (the run is not touched)."""
        if self._ask is not None:
            self.report.setText("…")
            self._ask(BREAK_TAG, "doctor.break", name)

    def _break_clicked(self) -> None:
        self.break_it(self.sender().property("experiment"))

    def exercise(self):
        self.problem = None
        self.examine()
        return lambda: bool(self.checkups) or self.problem is not None

    def screenshots(self, folder: str) -> list[str]:
        return save_grab(self, folder, "doctor.png") if self.checkups else []

    def retranslate(self) -> None:
        self.examine_button.setText(tr("doctor.refresh"))
        self.break_label.setText(tr("doctor.break"))
        for name, button in self.break_buttons.items():
            button.setText(tr(f"doctor.break.{name}"))
        self.table.setHorizontalHeaderLabels([tr(f"doctor.table.{key}") for key in ("layer", "grad", "ratio", "dead")])
        index = max(self.series_choice.currentIndex(), 0)
        self.series_choice.blockSignals(True)
        self.series_choice.clear()
        self.series_choice.addItems([tr("doctor.over_time"), tr("doctor.over_time_grad")])
        self.series_choice.setCurrentIndex(index)
        self.series_choice.blockSignals(False)
        self._draw()

    # -- answers ----------------------------------------------------------------------------------
    def clear(self, *_) -> None:
        self.checkups, self.diagnoses, self.heading_key = (), (), None
        self._draw()

    def show_error(self, message: str) -> None:
        self.problem = message
        self.report.setText(message)

    def show_examination(self, answer) -> None:
        self.checkups, self.diagnoses = answer
        step = self.checkups[-1].step if self.checkups else 0
        self.heading_key = ("doctor.current", {"step": step}) if self.checkups else None
        self._draw()

    def show_experiment(self, experiment) -> None:
        self.checkups, self.diagnoses = experiment.checkups, experiment.diagnoses
        self.heading_key = ("doctor.experiment", {"name": tr(f"doctor.break.{experiment.name}"),
                                                  "steps": experiment.steps, "lr": experiment.lr})
        self._draw()

    # -- drawing ----------------------------------------------------------------------------------
    def _draw(self) -> None:
        self.heading.setText(tr(self.heading_key[0], **self.heading_key[1]) if self.heading_key else "")
        if not self.checkups and not self.diagnoses:
            self.report.setText(tr("doctor.nothing"))
        else:
            self.report.setText("\n".join(f"• {d.text()}" for d in self.diagnoses))
        self._draw_table()
        self._draw_ratios()
        self._draw_histograms()

    def _draw_table(self) -> None:
        latest = self.checkups[-1] if self.checkups else None
        layers = latest.layers if latest else ()
        dead = {row.layer: row.dead for row in latest.activations} if latest else {}
        self.table.setRowCount(len(layers) + len(dead))
        for index, row in enumerate(layers):
            for column, text in enumerate((row.layer, _number(row.grad_norm), _number(row.update_ratio), "")):
                self.table.setItem(index, column, QtWidgets.QTableWidgetItem(text))
        for index, (layer, share) in enumerate(dead.items(), start=len(layers)):
            for column, text in enumerate((layer, "", "", f"{share:.0%}")):
                self.table.setItem(index, column, QtWidgets.QTableWidgetItem(text))
        if layers and not self.table.selectedItems():
            self.table.selectRow(0)

    def _draw_ratios(self, *_) -> None:
        """Each weighted layer's update-to-weight ratio (or gradient norm) over the checkups."""
        field = "grad_norm" if self.series_choice.currentIndex() == 1 else "update_ratio"
        plot = self.ratio_plot.getPlotItem()
        for item in list(plot.listDataItems()):
            plot.removeItem(item)
        self.ratio_legend.clear()
        if not self.checkups:
            return
        steps = np.array([c.step for c in self.checkups])
        for index, row in enumerate(self.checkups[-1].layers):
            ratios = np.array([getattr(c.layers[index], field) if index < len(c.layers) else np.nan
                               for c in self.checkups])
            keep = np.isfinite(ratios) & (ratios > 0)
            if keep.any():
                # a dot on every checkup: the first one is a single point, which a line alone
                # would not draw
                colour = _PENS[index % len(_PENS)]
                plot.plot(steps[keep], ratios[keep], pen=pg.mkPen(colour, width=2), name=row.layer,
                          symbol="o", symbolSize=6, symbolPen=None, symbolBrush=colour)

    def _selected_layer(self) -> str | None:
        items = self.table.selectedItems()
        return self.table.item(items[0].row(), 0).text() if items else None

    def _draw_histograms(self) -> None:
        """The selected layer's weights and gradients and the activations after it (or the
        selected activation layer's values), at the latest checkup."""
        for plot in self.histograms.values():
            plot.clear()
            plot.setTitle("")
        latest = self.checkups[-1] if self.checkups else None
        name = self._selected_layer()
        if latest is None or name is None:
            return
        weighted = [row.layer for row in latest.layers]
        activation = next((row for row in latest.activations if row.layer == name), None)
        shown = []
        if name in weighted:
            row = latest.layers[weighted.index(name)]
            shown = [("weights", name, row.weights), ("gradients", name, row.gradients)]
            index = weighted.index(name)
            activation = latest.activations[index] if index < len(latest.activations) else None
        if activation is not None:
            shown.append(("activations", activation.layer, activation.values))
        for kind, layer, histogram in shown:
            plot = self.histograms[kind]
            plot.setTitle(tr(f"doctor.hist.{kind}", layer=layer))
            plot.plot(histogram.edges, histogram.counts, stepMode="center", fillLevel=0, brush=(31, 119, 180, 120))
