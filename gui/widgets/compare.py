"""Two runs side by side: keep a run, change one thing, train again from the same seed, and see
both: the loss curves overlaid, the first conv layer's filters and the confusion matrices next
to each other, and one line saying what differed (cyconv.monitor.compare works it out from the
two runs' settings and networks)."""
from __future__ import annotations


import numpy as np
import pyqtgraph as pg
from PySide6 import QtWidgets

from cyconv.lab.i18n import tr

from cyconv.lab import render
from .images import ImagePanel
from .timeline import save_grab

KEEP_TAG, SHOW_TAG = "compare.keep", "compare.show"
COLOURS = ((31, 119, 180), (214, 39, 40))
#: The "what if" button (and the screenshot mode): the same run with a ten times larger learning rate.
WHAT_IF_LR_FACTOR = 10.0
_LABEL_KEYS = {"kept": "compare.kept_label", "current": "compare.current_label", "what if": "compare.what_if_label"}


def _format(value) -> str:
    return "—" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def describe(differences) -> str:
    """One line naming what differed between two runs."""
    if not differences:
        return tr("compare.same")
    changes = ", ".join(tr("compare.change", what=d.what, before=_format(d.before), after=_format(d.after))
                        for d in differences)
    return tr("compare.differs", changes=changes)


class CompareView(QtWidgets.QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self._ask = self._window = None
        self.comparison: tuple | None = None        # (first RunRecord, second RunRecord, differences)
        self.kept = None
        self.problem: str | None = None             # the last question's failure, shown in the status line
        self.keep_button, self.compare_button = QtWidgets.QPushButton(), QtWidgets.QPushButton()
        self.keep_button.clicked.connect(self.keep)
        self.what_if_button = QtWidgets.QPushButton()
        self.what_if_button.clicked.connect(self._what_if_lr)
        self.compare_button.clicked.connect(self.compare)
        self.hint, self.status, self.difference_label = QtWidgets.QLabel(), QtWidgets.QLabel(), QtWidgets.QLabel()
        for label in (self.hint, self.status, self.difference_label):
            label.setWordWrap(True)
        font = self.difference_label.font()
        font.setBold(True)
        self.difference_label.setFont(font)
        self.plot = pg.PlotWidget(background="w")
        self.legend = self.plot.getPlotItem().addLegend(offset=(-10, 10))
        self.curves = [self.plot.plot(pen=pg.mkPen(colour, width=2), name=" ") for colour in COLOURS]
        self.plot.setMinimumHeight(220)
        self.filter_panels = [ImagePanel(colormap="grey", minimum_height=120) for _ in COLOURS]
        self.confusion_panels = [ImagePanel(colormap="viridis", minimum_height=120) for _ in COLOURS]
        self._build_layout()
        self.retranslate()

    def _build_layout(self) -> None:
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.keep_button)
        buttons.addWidget(self.compare_button)
        buttons.addWidget(self.what_if_button)
        buttons.addStretch(1)
        pictures = QtWidgets.QGridLayout()
        for column, (filters, confusion) in enumerate(zip(self.filter_panels, self.confusion_panels)):
            pictures.addWidget(filters, 0, column)
            pictures.addWidget(confusion, 1, column)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.hint)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(self.difference_label)
        layout.addWidget(self.plot, 2)
        layout.addLayout(pictures, 3)

    def attach(self, window) -> None:
        self._ask, self._window = window.controller.ask, window
        window.listen(KEEP_TAG, self.show_kept, self.show_error)
        window.listen(SHOW_TAG, self.show_comparison, self.show_error)

    def keep(self) -> None:
        if self._ask is not None:
            self._ask(KEEP_TAG, "compare.keep")

    def compare(self) -> None:
        if self._ask is not None:
            self._ask(SHOW_TAG, "compare.show")

    def what_if(self, change: dict) -> None:
        """Train the run again apart, from the same seed, with ``change``; show both."""
        if self._ask is not None:
            self._ask(SHOW_TAG, "compare.what_if", change)

    def _what_if_lr(self) -> None:
        if self._window is not None and self._window.session is not None:
            self.what_if({"lr": self._window.session.settings.lr * WHAT_IF_LR_FACTOR})

    def exercise(self):
        """Screenshot mode: the run beside itself with a ten times larger learning rate."""
        if self._ask is None or self._window.session is None:
            return None
        self.comparison = self.problem = None
        self._what_if_lr()
        return lambda: self.comparison is not None or self.problem is not None

    def screenshots(self, folder: str) -> list[str]:
        return save_grab(self, folder, "compare.png") if self.comparison is not None else []

    def retranslate(self) -> None:
        self.hint.setText(tr("compare.hint"))
        self.keep_button.setText(tr("compare.keep"))
        self.compare_button.setText(tr("compare.refresh"))
        self.what_if_button.setText(tr("compare.what_if"))
        self.plot.setLabel("left", tr("compare.loss"))
        self.plot.setLabel("bottom", tr("compare.step"))
        if self.kept is not None and self.comparison is None:
            self.show_kept(self.kept)
        if self.comparison is not None:
            self.show_comparison(self.comparison)

    def show_error(self, message: str) -> None:
        self.problem = message
        self.status.setText(message)

    def show_kept(self, record) -> None:
        self.kept = record
        self.status.setText(tr("compare.kept", label=tr("compare.kept_label"), steps=record.steps,
                               accuracy=record.accuracy))

    def show_comparison(self, comparison) -> None:
        self.comparison = comparison
        first, second, differences = comparison
        self.difference_label.setText(describe(differences))
        labels = tuple(tr(_LABEL_KEYS.get(record.label, "compare.current_label")) for record in (first, second))
        self.status.setText("   |   ".join(tr("compare.run", label=label, steps=record.steps, accuracy=record.accuracy)
                                           for label, record in zip(labels, (first, second))))
        self.legend.clear()
        for curve, record, label in zip(self.curves, (first, second), labels):
            curve.setData(np.arange(1, len(record.step_loss) + 1), record.step_loss)
            self.legend.addItem(curve, label)
        for index, record in enumerate((first, second)):
            if record.filters is not None:
                self.filter_panels[index].set_image(render.filter_picture(record.filters))
                self.filter_panels[index].caption.setText(labels[index])
            self.confusion_panels[index].set_image(render.confusion_rates(record.confusion))
            self.confusion_panels[index].caption.setText(f"{labels[index]}: {record.accuracy:.1%}")
