"""One sample through the network: the input, then every layer's maps, the feature map (before
the activation function) next to the activation map (after it), on a shared scale per channel
so that what ReLU cuts away is visible. Clicking a pixel of a conv layer's feature map opens
its step-through with the current weights."""
from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtWidgets

from .. import render
from cyconv.lab.i18n import tr
from cyconv.lab.snapshots import SampleView
from .explainers import LiveConvPanel
from .images import ImagePanel

MAX_MAPS = 64
_PANELS_PER_PASS = 2
_MAP_KINDS = ("feature_map", "activation_map", "pooled", "normalized", "dropout")
_KIND_TIPS = {"feature_map": "term.feature_map", "activation_map": "term.activation_map", "pooled": "term.pooling"}


def layer_images(sample: SampleView) -> list[np.ndarray]:
    """The picture of every layer output of `sample`, in order.

    A feature map followed directly by its activation map (same shape) is scaled with it
    (render.shared_scale_pair); every other output is scaled per map (render.feature_grid).
    """
    outputs = sample.outputs
    images: list[np.ndarray | None] = [None] * len(outputs)
    for index, (_, kind, values) in enumerate(outputs):
        following = outputs[index + 1] if index + 1 < len(outputs) else None
        if (kind == "feature_map" and following is not None and following[1] == "activation_map"
                and following[2].shape == values.shape):
            before, after = render.shared_scale_pair(values[:MAX_MAPS], following[2][:MAX_MAPS])
            images[index] = render.tile(before)
            images[index + 1] = render.tile(after)
        elif images[index] is None:
            images[index] = render.feature_grid(values, max_maps=MAX_MAPS)
    return images


class ActivationsView(QtWidgets.QWidget):
    """`sample_requested(index)` asks the worker for another eval sample."""

    sample_requested = QtCore.Signal(int)
    unit_clicked = QtCore.Signal(int, int, int, int)      # (layer, channel, row, col) of a clicked map unit

    def __init__(self, parent=None):
        super().__init__(parent)
        self.sample_box = QtWidgets.QSpinBox()
        self.sample_box.setRange(0, 0)
        self.sample_box.valueChanged.connect(self.sample_requested)
        self.sample_label, self.prediction_label, self.placeholder = (QtWidgets.QLabel(), QtWidgets.QLabel(),
                                                                      QtWidgets.QLabel())
        self.input_panel = ImagePanel(colormap="grey", fixed_height=150)
        self.container = QtWidgets.QWidget()
        self.panel_layout = QtWidgets.QVBoxLayout(self.container)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.container)
        self.live = LiveConvPanel()
        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.sample_label)
        top.addWidget(self.sample_box)
        top.addWidget(self.prediction_label, 1)
        splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        splitter.addWidget(scroll)
        splitter.addWidget(self.live)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([600, 300])
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.placeholder)
        layout.addWidget(splitter, 1)
        self.panel_layout.addWidget(self.input_panel)
        self.panel_layout.addStretch(1)
        self.panels: list[ImagePanel] = []
        self._images: list = []
        self.sample: SampleView | None = None
        self.convs = ()
        self.classes: tuple = ()
        self._layout_key = None
        self.retranslate()

    def retranslate(self) -> None:
        self.sample_label.setText(tr("act.sample"))
        self.placeholder.setText("" if self.sample else tr("act.none"))
        self.input_panel.caption.setText(tr("act.kind.input"))
        self.live.retranslate()
        if self.sample is not None:
            self._captions()

    def clear(self) -> None:
        """Forget the sample (a new run or a reset)."""
        self.sample, self.convs, self._layout_key = None, (), None
        self.live.clear()
        self._remove_panels()
        self.input_panel.clear()
        self.prediction_label.setText("")
        self.retranslate()

    def set_sample_count(self, count: int, classes: tuple) -> None:
        self.classes = tuple(classes)
        self.sample_box.blockSignals(True)
        self.sample_box.setRange(0, max(count - 1, 0))
        self.sample_box.blockSignals(False)

    def select(self, index: int) -> None:
        """Pick eval sample `index` (from the predictions view); emits sample_requested."""
        if self.sample_box.value() == index:
            self.sample_requested.emit(index)
        else:
            self.sample_box.setValue(index)

    def _captions(self) -> None:
        for panel, (name, kind, values) in zip(self.panels, self.sample.outputs):
            panel.caption.setText(f"<b>{name}</b>: {tr('act.kind.' + kind)} {tuple(values.shape)}")
            panel.setToolTip(tr(_KIND_TIPS[kind]) if kind in _KIND_TIPS else "")
        probabilities = self.sample.probabilities
        predicted = int(np.argmax(probabilities))
        name = self._class_name(predicted)
        true = self._class_name(self.sample.label) if self.sample.label is not None else "—"
        self.prediction_label.setText(tr("act.prediction", label=name, confidence=float(probabilities[predicted]),
                                         true=true))

    def _class_name(self, index: int) -> str:
        return self.classes[index] if 0 <= index < len(self.classes) else str(index)

    def _remove_panels(self) -> None:
        for panel in self.panels:
            self.panel_layout.removeWidget(panel)
            panel.setParent(None)
            panel.deleteLater()
        self.panels = []

    def _add_panel(self) -> None:
        """One more layer panel, before the closing stretch."""
        index = len(self.panels)
        _, kind, values = self.sample.outputs[index]
        colormap = "viridis" if kind in _MAP_KINDS else "grey"
        panel = ImagePanel(colormap=colormap, fixed_height=220 if values.ndim == 3 else 50)
        panel.clicked.connect(lambda row, col, i=index: self._clicked(i, row, col))
        self.panel_layout.insertWidget(self.panel_layout.count() - 1, panel)
        self.panels.append(panel)

    def show_sample(self, sample: SampleView, convs) -> None:
        """Draw `sample` (a SampleView); `convs` are the ConvLayerViews of the same moment.
        Another sample than the one shown clears the explained pixel, which was the old one's."""
        previous = None if self.sample is None else (self.sample.source, self.sample.index)
        if previous is not None and previous != (sample.source, sample.index):
            self.live.clear()
        self.sample, self.convs = sample, tuple(convs)
        key = tuple((name, values.shape) for name, _, values in sample.outputs)
        if key != self._layout_key:
            self._remove_panels()
            self._layout_key = key
        self._images = layer_images(sample)
        self.input_panel.set_image(render.input_image(sample.image))
        self.placeholder.setText("")
        self._fill()

    def _fill(self) -> None:
        """Add at most _PANELS_PER_PASS new panels, draw every panel there is, and come back
        for the rest from the event loop: a deep network's first picture never freezes the
        window for the dozen panels it needs."""
        if self.sample is None:
            return
        for _ in range(min(_PANELS_PER_PASS, len(self.sample.outputs) - len(self.panels))):
            self._add_panel()
        for panel, image in zip(self.panels, self._images):
            panel.set_image(image)
        self._captions()
        if len(self.panels) < len(self.sample.outputs):
            QtCore.QTimer.singleShot(0, self._fill)

    def _clicked(self, layer_index: int, row: int, col: int) -> None:
        """A click on layer `layer_index`'s picture at image pixel (row, col)."""
        if self.sample is None:
            return
        name, kind, values = self.sample.outputs[layer_index]
        if values.ndim == 3:
            unit = render.tile_hit(row, col, count=min(values.shape[0], MAX_MAPS), tile_hw=values.shape[1:])
            if unit is not None:
                self.unit_clicked.emit(layer_index, *unit)
        conv_index = layer_index
        if kind == "activation_map" and layer_index > 0 and self.sample.outputs[layer_index - 1][1] == "feature_map":
            conv_index = layer_index - 1            # explain the feature map under the activation
        conv_name, conv_kind, conv_values = self.sample.outputs[conv_index]
        conv = next((c for c in self.convs if c.name == conv_name), None)
        if conv_kind != "feature_map" or conv is None:
            return
        shown = min(conv_values.shape[0], MAX_MAPS)
        hit = render.tile_hit(row, col, count=shown, tile_hw=conv_values.shape[1:])
        if hit is None:
            return
        self.explain_pixel(conv_index, *hit)

    def explain_pixel(self, layer_index: int, channel: int, row: int, col: int) -> None:
        """Step through output (channel, row, col) of the conv layer at `layer_index`."""
        conv_name, _, conv_values = self.sample.outputs[layer_index]
        conv = next(c for c in self.convs if c.name == conv_name)
        layer_input = self.sample.image if layer_index == 0 else self.sample.outputs[layer_index - 1][2]
        self.live.explain(conv, layer_input, channel, row, col, float(conv_values[channel, row, col]))
