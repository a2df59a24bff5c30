"""Backprop, step by step: the backward pass of one test image of the live network, from the
loss down to the input, each layer's rule with its real numbers, every number the engine's
and checked by hand and against the NumPy reference (cyconv.explain.backprop_walk)."""
from __future__ import annotations

from PySide6 import QtWidgets

from cyconv.explain import LOSS_KIND
from cyconv.lab.i18n import tr
from .why_common import WhyView
from .why_steps import step_html


class BackpropView(WhyView):
    TAG = "why.backprop"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.index = 0
        self.up, self.down = QtWidgets.QPushButton(), QtWidgets.QPushButton()
        self.up.clicked.connect(self.step_up)
        self.down.clicked.connect(self.step_down)
        self.sample_box.valueChanged.connect(self.request)
        self.layer_box = QtWidgets.QComboBox()           # jump straight to a layer's step
        self.layer_box.activated.connect(self.go)
        self.text = QtWidgets.QTextBrowser()
        top = QtWidgets.QHBoxLayout()
        for widget in (self.sample_label, self.sample_box, self.show_button, self.up, self.down, self.layer_box):
            top.addWidget(widget)
        top.addStretch(1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.status)
        layout.addWidget(self.text, 1)
        self.retranslate()

    def retranslate(self) -> None:
        super().retranslate()
        self.up.setText(tr("why.previous"))
        self.down.setText(tr("why.next"))
        self._show()

    def request(self, *_) -> None:
        self.ask("why.backprop", self.sample_box.value())

    def clear(self) -> None:
        super().clear()
        self.index = 0
        self.text.clear()
        self.layer_box.clear()
        self._buttons()

    def show_answer(self, answer) -> None:
        same_sample = self.answer is not None and self.answer.index == answer.index
        self.answer = answer
        self.index = min(self.index, len(answer.result.steps) - 1) if same_sample else 0
        self.layer_box.clear()
        self.layer_box.addItems([f"{step.layer} ({step.kind})" for step in answer.result.steps])
        self.status.setText("")
        self._show()

    def go(self, index: int) -> None:
        if self.answer is not None and 0 <= index < len(self.answer.result.steps):
            self.index = index
            self._show()

    def step_up(self) -> None:
        self.go(self.index - 1)

    def step_down(self) -> None:
        self.go(self.index + 1)

    def _buttons(self) -> None:
        count = 0 if self.answer is None else len(self.answer.result.steps)
        self.up.setEnabled(self.index > 0)
        self.down.setEnabled(self.index < count - 1)
        if self.layer_box.count() == count:
            self.layer_box.setCurrentIndex(self.index)

    def _show(self) -> None:
        self._buttons()
        if self.answer is None:
            return
        classes = self.classes or tuple(str(k) for k in range(len(self.answer.result.probabilities)))
        scroll = self.text.verticalScrollBar().value()
        self.text.setHtml(step_html(self.answer.result, self.index, classes))
        self.text.verticalScrollBar().setValue(scroll)

    # -- screenshot mode ---------------------------------------------------------------------
    def exercise(self):
        self.answer = None
        self.request()
        return lambda: self.answer is not None

    def screenshots(self, folder: str) -> list[str]:
        """backprop.png: the first convolution met on the way down (else the loss)."""
        if self.answer is None:
            return []
        kinds = [step.kind for step in self.answer.result.steps]
        shown = self.index
        self.go(kinds.index("Conv2D") if "Conv2D" in kinds else kinds.index(LOSS_KIND))
        paths = self.save_widget(self, folder, "backprop.png")
        self.go(shown)
        return paths
