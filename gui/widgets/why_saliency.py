"""Which pixels mattered: the saliency |dL/dx| (the engine's own input gradient) and the
occlusion sensitivity (the drop of the class's probability under a grey patch), each laid
over the test image, for any test image and any class."""
from __future__ import annotations

from PySide6 import QtWidgets

from cyconv.lab.i18n import tr
from .images import ImagePanel
from .why_common import WhyView, grey_rgb, overlay


class SaliencyView(WhyView):
    TAG = "why.saliency"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.class_label = QtWidgets.QLabel()
        self.class_box = QtWidgets.QComboBox()
        self.sample_box.valueChanged.connect(self.request)
        self.class_box.activated.connect(self.request)
        self.panels = [ImagePanel(minimum_height=260) for _ in range(3)]
        top = QtWidgets.QHBoxLayout()
        for widget in (self.sample_label, self.sample_box, self.class_label, self.class_box, self.show_button):
            top.addWidget(widget)
        top.addStretch(1)
        row = QtWidgets.QHBoxLayout()
        for panel in self.panels:
            row.addWidget(panel, 1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.status)
        layout.addLayout(row, 1)
        self.retranslate()

    def retranslate(self) -> None:
        super().retranslate()
        self.class_label.setText(tr("why.class"))
        self._fill_classes()
        self._captions()

    def _fill_classes(self) -> None:
        chosen = max(self.class_box.currentIndex(), 0)
        self.class_box.clear()
        self.class_box.addItem(tr("why.true_class"))
        for index, name in enumerate(self.classes):
            self.class_box.addItem(f"{index}: {name}")
        self.class_box.setCurrentIndex(min(chosen, self.class_box.count() - 1))

    def new_run(self, info) -> None:
        super().new_run(info)
        self._fill_classes()

    def target(self):
        """The class asked about: None for the sample's own."""
        return None if self.class_box.currentIndex() <= 0 else self.class_box.currentIndex() - 1

    def request(self, *_) -> None:
        self.ask("why.saliency", self.sample_box.value(), self.target())

    def clear(self) -> None:
        super().clear()
        for panel in self.panels:
            panel.clear()
            panel.caption.setText("")

    def show_answer(self, answer) -> None:
        self.answer = answer
        target, saliency, occlusion = answer.result
        self.panels[0].set_image(grey_rgb(answer.image))
        self.panels[1].set_image(overlay(answer.image, saliency))
        self.panels[2].set_image(overlay(answer.image, occlusion))
        self.status.setText("")
        self._captions()

    def _captions(self) -> None:
        if self.answer is None:
            return
        target = self.class_name(self.answer.result[0])
        self.panels[0].caption.setText(f"{tr('why.sample')} {self.answer.index}: {self.class_name(self.answer.label)}")
        self.panels[1].caption.setText(tr("why.saliency", target=target))
        self.panels[2].caption.setText(tr("why.occlusion", target=target))

    def exercise(self):
        self.answer = None
        self.request()
        return lambda: self.answer is not None

    def screenshots(self, folder: str) -> list[str]:
        return self.save_widget(self, folder, "saliency.png")
