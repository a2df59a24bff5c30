"""One sample through the network: the input, then every layer's maps, the feature map (before
the activation function) next to the activation map (after it), on one scale so that what ReLU
cuts away is visible; each layer with its colour bar and channel numbers, vectors as labelled
bars. The mouse wheel scrolls the page; zoom has its own control. Clicking a pixel of a conv
layer's feature map opens its step-through with the current weights."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6 import QtCore, QtWidgets

from cyconv.lab import render
from cyconv.lab.i18n import tr
from cyconv.lab.snapshots import SampleView
from .bars import BarPanel
from .explainers import LiveConvPanel
from .images import ImagePanel, lookup_table

MAX_MAPS = 64
_PANELS_PER_PASS = 1
# Between two passes the event loop goes idle for this long: a zero-delay chain was served
# before the window's other timers and held the loop for the whole chain.
_PASS_PAUSE_MS = 12
_MAP_HEIGHT, _INPUT_HEIGHT = 240, 160           # panel heights at zoom 100%
ZOOMS = (50, 400, 25)                           # zoom control: minimum, maximum, step (percent)
_KIND_TIPS = {"feature_map": "term.feature_map", "activation_map": "term.activation_map", "pooled": "term.pooling"}


@dataclass(frozen=True)
class LayerPicture:
    """How one layer output is drawn: `values` are its maps tiled (NaN gaps) on `levels` through
    `colormap`, or, for a vector, the vector itself (`colormap` None: a bar chart)."""
    values: np.ndarray
    levels: tuple[float, float] | None = None
    colormap: str | None = None
    count: int = 0
    tile_hw: tuple[int, int] = (0, 0)

    @property
    def is_maps(self) -> bool:
        return self.colormap is not None

    def image(self) -> np.ndarray:
        """What the panel shows: the colours of the maps, or the vector."""
        if not self.is_maps:
            return self.values
        return render.colorize(self.values, self.levels, lookup_table(self.colormap))


def _maps_picture(maps: np.ndarray, levels_of: np.ndarray) -> LayerPicture:
    shown = maps[:MAX_MAPS]
    levels, diverging = render.value_levels(levels_of)
    return LayerPicture(render.tile(shown, fill=np.nan), levels, "diverging" if diverging else "viridis",
                        count=shown.shape[0], tile_hw=shown.shape[1:])


def layer_pictures(sample: SampleView) -> list[LayerPicture]:
    """The picture of every layer output of `sample`, in order.

    Each layer's maps share one scale, shown by its colour bar: values of both signs on the
    diverging scale (zero white), non-negative ones from 0 on viridis. A feature map followed
    directly by its activation map (same shape) shares one scale with it, so what ReLU cuts
    away (the blue) turns white. A vector is drawn as bars.
    """
    outputs = sample.outputs
    pictures: list[LayerPicture | None] = [None] * len(outputs)
    for index, (_, kind, values) in enumerate(outputs):
        following = outputs[index + 1] if index + 1 < len(outputs) else None
        if values.ndim != 3:
            pictures[index] = LayerPicture(np.asarray(values, dtype=np.float64).ravel())
        elif (kind == "feature_map" and following is not None and following[1] == "activation_map"
                and following[2].shape == values.shape):
            both = np.concatenate([values[:MAX_MAPS], following[2][:MAX_MAPS]])
            pictures[index] = _maps_picture(values, both)
            pictures[index + 1] = _maps_picture(following[2], both)
        elif pictures[index] is None:
            pictures[index] = _maps_picture(values, values[:MAX_MAPS])
    return pictures


def same_sample(sample: SampleView, other: SampleView) -> bool:
    """Whether two SampleViews show the same sample with the same values in every layer."""
    if sample is other:
        return True
    if (sample.source, sample.index, sample.label) != (other.source, other.index, other.label):
        return False
    arrays = [(sample.image, other.image), (sample.probabilities, other.probabilities)]
    if len(sample.outputs) != len(other.outputs):
        return False
    for (name, kind, values), (other_name, other_kind, other_values) in zip(sample.outputs, other.outputs):
        if (name, kind) != (other_name, other_kind):
            return False
        arrays.append((values, other_values))
    return all(a is b or (a.shape == b.shape and np.array_equal(a, b)) for a, b in arrays)


def _layout_of(sample: SampleView) -> tuple:
    """What decides the panels: each output's name and shape."""
    return tuple((name, values.shape) for name, _, values in sample.outputs)


def layer_images(sample: SampleView) -> list[np.ndarray]:
    """What each layer's panel shows (LayerPicture.image of layer_pictures)."""
    return [picture.image() for picture in layer_pictures(sample)]


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
        self.input_panel = ImagePanel(colormap="grey", fixed_height=_INPUT_HEIGHT)
        self.container = QtWidgets.QWidget()
        self.panel_layout = QtWidgets.QVBoxLayout(self.container)
        self.scroll = QtWidgets.QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(self.container)
        self.live = LiveConvPanel()
        self.zoom_label = QtWidgets.QLabel()
        self.zoom_box = QtWidgets.QSpinBox()
        self.zoom_box.setRange(ZOOMS[0], ZOOMS[1])
        self.zoom_box.setSingleStep(ZOOMS[2])
        self.zoom_box.setSuffix(" %")
        self.zoom_box.setValue(100)
        self.zoom_box.valueChanged.connect(self._apply_zoom)
        self.reset_zoom = QtWidgets.QPushButton()
        self.reset_zoom.clicked.connect(lambda: self.zoom_box.setValue(100))
        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.sample_label)
        top.addWidget(self.sample_box)
        top.addWidget(self.prediction_label, 1)
        top.addWidget(self.zoom_label)
        top.addWidget(self.zoom_box)
        top.addWidget(self.reset_zoom)
        splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        splitter.addWidget(self.scroll)
        splitter.addWidget(self.live)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([600, 300])
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.placeholder)
        layout.addWidget(splitter, 1)
        self.softmax_panel = BarPanel()            # the prediction, after every layer
        self.panel_layout.addWidget(self.input_panel)
        self.panel_layout.addWidget(self.softmax_panel)
        self.panel_layout.addStretch(1)
        self.panels: list[ImagePanel | BarPanel] = []
        self._pictures: list[LayerPicture] = []
        self.sample: SampleView | None = None
        self.convs = ()
        self.classes: tuple = ()
        self._layout_key = None
        self.retranslate()

    def retranslate(self) -> None:
        self.sample_label.setText(tr("act.sample"))
        self.zoom_label.setText(tr("act.zoom"))
        self.zoom_box.setToolTip(tr("act.zoom.tip"))
        self.reset_zoom.setText(tr("act.zoom.reset"))
        self.placeholder.setText("" if self.sample else tr("act.none"))
        self.input_panel.caption.setText(tr("act.kind.input"))
        self.softmax_panel.caption.setText(tr("act.softmax"))
        self.live.retranslate()
        if self.sample is not None:
            self._captions()

    def clear(self) -> None:
        """Forget the sample (a new run or a reset)."""
        self.sample, self.convs, self._layout_key = None, (), None
        self.live.clear()
        self._remove_panels()
        self.input_panel.clear()
        self.softmax_panel.clear()
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
            hint = tr("act.channels_hint") if values.ndim == 3 else ""
            panel.caption.setText(f"<b>{name}</b>: {tr('act.kind.' + kind)} {tuple(values.shape)}{hint}")
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
        if self._pictures[index].is_maps:
            panel = ImagePanel(colormap=self._pictures[index].colormap, colorbar=True,
                               fixed_height=self._height(_MAP_HEIGHT))
            panel.clicked.connect(lambda row, col, i=index: self._clicked(i, row, col))
            panel.describe = lambda row, col, i=index: self._describe(i, row, col)
        else:
            panel = BarPanel()
            panel.set_zoom(self.zoom)
        self.panel_layout.insertWidget(self.panel_layout.indexOf(self.softmax_panel), panel)
        self.panels.append(panel)

    @property
    def zoom(self) -> float:
        return self.zoom_box.value() / 100.0

    def _height(self, base: int) -> int:
        return int(round(base * self.zoom))

    def _apply_zoom(self) -> None:
        """Grow or shrink every panel; the maps refit to the new size, the page scrolls."""
        self.input_panel.view.setFixedHeight(self._height(_INPUT_HEIGHT))
        self.softmax_panel.set_zoom(self.zoom)
        for panel in self.panels:
            if isinstance(panel, BarPanel):
                panel.set_zoom(self.zoom)
            else:
                panel.view.setFixedHeight(self._height(_MAP_HEIGHT))

    def _draw_panel(self, index: int) -> None:
        panel, picture = self.panels[index], self._pictures[index]
        if isinstance(panel, BarPanel):
            kind = self.sample.outputs[index][1]
            panel.set_values(picture.values, self._names_for(index), probabilities=kind == "probabilities")
            return
        panel.set_values(picture.values, picture.levels, picture.colormap)
        panel.set_tile_labels(render.tile_origins(picture.count, picture.tile_hw),
                              (str(i) for i in range(picture.count)))

    def _names_for(self, index: int) -> tuple:
        """The class names for output `index` if it and every later output has one entry per class."""
        k = len(self.classes)
        later = self.sample.outputs[index:]
        return self.classes if k and all(values.shape == (k,) for _, _, values in later) else ()

    def show_sample(self, sample: SampleView, convs) -> None:
        """Draw `sample` (a SampleView); `convs` are the ConvLayerViews of the same moment.
        Another sample than the one shown clears the explained pixel, which was the old one's."""
        previous = None if self.sample is None else (self.sample.source, self.sample.index)
        if previous is not None and previous != (sample.source, sample.index):
            self.live.clear()
        unchanged = self.sample is not None and same_sample(sample, self.sample)
        self.convs = tuple(convs)
        if unchanged:                       # the same maps again (paused, a tab shown again): nothing to draw
            return
        self.sample = sample
        key = _layout_of(sample)
        if key != self._layout_key:
            self._remove_panels()
            self._layout_key = key
        self._pictures = layer_pictures(sample)
        self.input_panel.set_image(render.input_image(sample.image))
        probabilities = np.asarray(sample.probabilities)
        names = self.classes if len(self.classes) == probabilities.size else ()
        self.softmax_panel.set_values(probabilities, names, probabilities=True,
                                      highlight=int(np.argmax(probabilities)))
        self.placeholder.setText("")
        for index in range(len(self.panels)):
            self._draw_panel(index)
        self._fill()

    def prepare(self, sample: SampleView) -> None:
        """Build, without drawing, the panels `sample`'s layers need, one per idle pass: the
        window calls this while the view is hidden, so that showing it first costs a draw, not
        a dozen new plots in the middle of training. Nothing to do once they exist."""
        key = _layout_of(sample)
        if key == self._layout_key:
            return
        self._remove_panels()
        self.sample, self._layout_key = None, key
        self._pictures = layer_pictures(sample)
        self._build_ahead()

    def _build_ahead(self) -> None:
        # A bound method, not a lambda: Qt drops the timer with the view. show_sample's _fill
        # takes over once a sample is shown; a new layout removed these panels and starts anew.
        if self.sample is None and self._layout_key is not None and len(self.panels) < len(self._pictures):
            self._add_panel()
            QtCore.QTimer.singleShot(_PASS_PAUSE_MS, self._build_ahead)

    def _fill(self) -> None:
        """Add and draw at most _PANELS_PER_PASS new panels, and come back for the rest from the
        event loop: a deep network's first picture never freezes the window for the dozen
        panels it needs (show_sample draws the panels that exist already)."""
        if self.sample is None:
            return
        for _ in range(min(_PANELS_PER_PASS, len(self.sample.outputs) - len(self.panels))):
            self._add_panel()
            self._draw_panel(len(self.panels) - 1)
        self._captions()
        if len(self.panels) < len(self.sample.outputs):
            QtCore.QTimer.singleShot(_PASS_PAUSE_MS, self._fill)

    def _describe(self, index: int, row: int, col: int) -> str:
        """The tooltip of image pixel (row, col) of layer `index`: its channel, place and value."""
        picture = self._pictures[index]
        hit = render.tile_hit(row, col, count=picture.count, tile_hw=picture.tile_hw)
        if self.sample is None or hit is None:
            return ""
        channel, y, x = hit
        value = float(self.sample.outputs[index][2][channel, y, x])
        return tr("act.hover", channel=channel, row=y, col=x, value=f"{value:.3g}")

    def complete(self) -> None:
        """Build and draw every panel still queued for the event loop now (before an export)."""
        while self.sample is not None and len(self.panels) < len(self.sample.outputs):
            self._add_panel()
            self._draw_panel(len(self.panels) - 1)
        if self.sample is not None:
            self._captions()

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
