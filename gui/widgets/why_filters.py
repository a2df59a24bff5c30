"""What each filter looks for: the 9 test images that excite a chosen filter most, with the
patch its strongest unit sees; a class model (gradient ascent on a class's score with L2
regularisation); and a fooling image, the smallest signed-gradient change that flips the
prediction, with its size."""
from __future__ import annotations

import numpy as np
from PySide6 import QtWidgets

from cyconv import shapes
from cyconv.lab.i18n import tr
from cyconv.lab import render
from .images import ImagePanel
from .why_common import WhyView, draw_box, grey_rgb, tile_corners


class FilterSearchView(WhyView):
    TAG = "why.top_images"
    CLASS_TAG, FOOLING_TAG = "why.class_model", "why.fooling"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.class_answer = self.fooling_answer = None
        self.layer_label, self.filter_label, self.class_label = QtWidgets.QLabel(), QtWidgets.QLabel(), QtWidgets.QLabel()
        self.layer_box, self.class_box = QtWidgets.QComboBox(), QtWidgets.QComboBox()
        self.filter_box = QtWidgets.QSpinBox()
        self.layer_box.activated.connect(self._layer_chosen)
        self.filter_box.valueChanged.connect(self.request)
        self.make_class, self.make_fooling = QtWidgets.QPushButton(), QtWidgets.QPushButton()
        self.make_class.clicked.connect(self.request_class_model)
        self.make_fooling.clicked.connect(self.request_fooling)
        self.top_panel = ImagePanel(minimum_height=300)
        self.class_panel = ImagePanel(minimum_height=220)
        self.fooling_panels = (ImagePanel(minimum_height=220), ImagePanel(minimum_height=220))
        self.filter_group, self.class_group = QtWidgets.QGroupBox(), QtWidgets.QGroupBox()
        self._lay_out()
        self.channels: dict[str, int] = {}
        self.retranslate()

    def _lay_out(self) -> None:
        choose = QtWidgets.QHBoxLayout()
        for widget in (self.layer_label, self.layer_box, self.filter_label, self.filter_box, self.show_button):
            choose.addWidget(widget)
        choose.addStretch(1)
        filters = QtWidgets.QVBoxLayout(self.filter_group)
        filters.addLayout(choose)
        filters.addWidget(self.top_panel, 1)
        make = QtWidgets.QHBoxLayout()
        for widget in (self.class_label, self.class_box, self.make_class, self.sample_label, self.sample_box,
                       self.make_fooling):
            make.addWidget(widget)
        make.addStretch(1)
        pictures = QtWidgets.QHBoxLayout()
        for panel in (self.class_panel,) + self.fooling_panels:
            pictures.addWidget(panel, 1)
        classes = QtWidgets.QVBoxLayout(self.class_group)
        classes.addLayout(make)
        classes.addLayout(pictures, 1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.filter_group, 3)
        layout.addWidget(self.class_group, 2)

    def attach(self, window) -> None:
        super().attach(window)
        window.listen(self.CLASS_TAG, self.show_class_model, self.show_error)
        window.listen(self.FOOLING_TAG, self.show_fooling, self.show_error)

    def retranslate(self) -> None:
        super().retranslate()
        self.layer_label.setText(tr("why.layer"))
        self.filter_label.setText(tr("why.filter"))
        self.class_label.setText(tr("why.class"))
        self.show_button.setText(tr("why.show_filter"))
        self.make_class.setText(tr("why.make_class"))
        self.make_fooling.setText(tr("why.make_fooling"))
        self.filter_group.setTitle(tr("tab.why_filters"))
        self.class_group.setTitle(tr("why.make_class") + " / " + tr("why.make_fooling"))
        self._captions()

    def new_run(self, info) -> None:
        rows = shapes.summarize(info.model_config["layers"], tuple(info.input_shape))
        self.channels = {row.name: row.output_chw[0] for row in rows
                         if row.error is None and row.output_chw is not None and len(row.output_chw) == 3}
        self.layer_box.clear()
        self.layer_box.addItems(list(self.channels))
        self.class_box.clear()
        self.class_box.addItems([f"{index}: {name}" for index, name in enumerate(info.classes)])
        super().new_run(info)
        self._filter_range()

    def _filter_range(self) -> None:
        count = self.channels.get(self.layer_box.currentText(), 1)
        self.filter_box.blockSignals(True)
        self.filter_box.setRange(0, max(count - 1, 0))
        self.filter_box.blockSignals(False)

    def _layer_chosen(self, *_) -> None:
        self._filter_range()
        self.request()

    def request(self, *_) -> None:
        if self.layer_box.currentText():
            self.ask("why.top_images", self.layer_box.currentText(), self.filter_box.value())

    def request_class_model(self) -> None:
        self.ask("why.class_model", max(self.class_box.currentIndex(), 0), tag=self.CLASS_TAG)

    def request_fooling(self) -> None:
        self.ask("why.fooling", self.sample_box.value(), tag=self.FOOLING_TAG)

    def clear(self) -> None:
        super().clear()
        self.class_answer = self.fooling_answer = None
        for panel in (self.top_panel, self.class_panel) + self.fooling_panels:
            panel.clear()
            panel.caption.setText("")

    def show_answer(self, answer) -> None:
        self.answer = answer
        top, images = answer
        pictures = np.stack([grey_rgb(image) for image in images]) if len(images) else np.zeros((1, 1, 1, 3))
        picture = render.tile(pictures, columns=3, gap=2, fill=1.0)
        for corner, window in zip(tile_corners(len(images), images.shape[2:], gap=2), top.windows):
            draw_box(picture, window, offset=corner)
        self.top_panel.set_image(picture)
        self.status.setText("")
        self._captions()

    def show_class_model(self, made) -> None:
        self.class_answer = made
        self.class_panel.set_image(grey_rgb(made.image))
        self.status.setText("")
        self._captions()

    def show_fooling(self, answer) -> None:
        self.fooling_answer = answer
        fooled = answer.result
        self.fooling_panels[0].set_image(grey_rgb(fooled.image))
        self.fooling_panels[1].set_image(grey_rgb(fooled.adversarial))
        self.status.setText("")
        self._captions()

    def _captions(self) -> None:
        if self.answer is not None:
            top, _ = self.answer
            scores = ", ".join(f"{score:.2f}" for score in top.scores[:9])
            self.top_panel.caption.setText(tr("why.top_caption", layer=top.layer, channel=top.channel) + f" ({scores})")
        if self.class_answer is not None:
            made = self.class_answer
            self.class_panel.caption.setText(tr("why.class_model", target=self.class_name(made.target), p=made.probability))
        if self.fooling_answer is not None:
            fooled = self.fooling_answer.result
            self.fooling_panels[0].caption.setText(f"{tr('why.sample')} {self.fooling_answer.index}")
            key = "why.fooling" if fooled.flipped else "why.not_fooled"
            self.fooling_panels[1].caption.setText(tr(key, epsilon=fooled.epsilon, l2=fooled.l2, p=fooled.probability,
                                                      source=self.class_name(fooled.from_class),
                                                      target=self.class_name(fooled.to_class)))

    def exercise(self):
        self.answer = self.class_answer = self.fooling_answer = None
        self.request()
        self.request_class_model()
        self.request_fooling()
        return lambda: None not in (self.answer, self.class_answer, self.fooling_answer)

    def screenshots(self, folder: str) -> list[str]:
        paths = self.save_widget(self.filter_group, folder, "filter_search.png")
        if self.class_answer is not None:
            paths += self.save_widget(self.class_group, folder, "class_model.png")
        return paths
