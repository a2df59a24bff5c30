"""Receptive fields: one test image through every layer of the live network; click any unit
of any map and the input pixels it sees light up on the input, and on the maps of every
layer between (cyconv.explain.windows_below, from the shape table's geometry)."""
from __future__ import annotations

import numpy as np
from PySide6 import QtWidgets

from cyconv import explain, shapes
from cyconv.lab.i18n import tr
from cyconv.lab import render
from .activations import MAX_MAPS as ACTIVATION_MAPS
from .activations import layer_images
from .images import ImagePanel
from .why_common import WhyView, coloured, draw_box, grey_rgb, tile_corners

MAX_MAPS = 16


class ReceptiveFieldView(WhyView):
    TAG = "why.maps"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list = []
        self.unit = None                 # (layer, channel, row, col) last clicked
        self.sample_box.valueChanged.connect(self.request)
        self.hint = QtWidgets.QLabel()
        self.hint.setWordWrap(True)
        self.input_panel = ImagePanel(fixed_height=220)
        self.container = QtWidgets.QWidget()
        self.panel_layout = QtWidgets.QVBoxLayout(self.container)
        self.panel_layout.addWidget(self.input_panel)
        self.panel_layout.addStretch(1)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.container)
        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.sample_label)
        top.addWidget(self.sample_box)
        top.addWidget(self.show_button)
        top.addWidget(self.hint, 1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.status)
        layout.addWidget(scroll, 1)
        self.panels: dict[int, ImagePanel] = {}
        self.retranslate()

    def retranslate(self) -> None:
        super().retranslate()
        self.hint.setText(tr("why.rf_hint"))
        self.input_panel.caption.setText(tr("why.input"))
        if self.unit is not None:
            self.highlight(*self.unit)

    def attach(self, window) -> None:
        super().attach(window)
        window.views["activations"].unit_clicked.connect(self.highlight_in_activations)

    def highlight_in_activations(self, layer: int, channel: int, row: int, col: int) -> None:
        """The same boxes on the activations tab's own pictures, for a unit clicked there; its
        next sample draws them afresh."""
        view = self.lab_window.views["activations"] if self.lab_window is not None else None
        if view is None or view.sample is None or not self.rows:
            return
        windows = explain.windows_below(self.rows, layer, row, col)
        picture = grey_rgb(view.sample.image)
        if windows[0] is not None:
            draw_box(picture, windows[0])
        view.input_panel.set_image(picture)
        for below, (panel, image) in enumerate(zip(view.panels[:layer + 1], layer_images(view.sample))):
            values = view.sample.outputs[below][2]
            if values.ndim != 3:
                continue
            shown = min(values.shape[0], ACTIVATION_MAPS)
            picture, corners = coloured(image), tile_corners(shown, values.shape[1:])
            window, tiles = ((row, row, col, col), [channel]) if below == layer else (windows[below + 1], range(shown))
            for index in tiles if window is not None else ():
                draw_box(picture, window, offset=corners[index])
            panel.set_image(picture)
        field = explain.receptive_fields(self.rows)[layer]
        top, bottom, left, right = windows[0]
        view.input_panel.caption.setText(tr("why.rf_unit", layer=self.rows[layer].name, row=row, col=col, channel=channel,
                                         top=top, bottom=bottom, left=left, right=right, field=field.formula()))

    def new_run(self, info) -> None:
        self.rows = list(shapes.summarize(info.model_config["layers"], tuple(info.input_shape)))
        super().new_run(info)

    def request(self, *_) -> None:
        self.ask("why.maps", self.sample_box.value())

    def clear(self) -> None:
        super().clear()
        self.unit = None
        for panel in self.panels.values():
            self.panel_layout.removeWidget(panel)
            panel.setParent(None)
            panel.deleteLater()
        self.panels = {}
        self.input_panel.clear()

    def _maps(self, layer: int) -> np.ndarray:
        return self.answer.outputs[layer][2][:MAX_MAPS]

    def show_answer(self, sample) -> None:
        if self.answer is None or len(self.answer.outputs) != len(sample.outputs):
            self.clear()
        self.answer = sample
        self.status.setText("")
        for layer, (name, _, values) in enumerate(sample.outputs):
            if values.ndim != 3:
                continue
            if layer not in self.panels:
                panel = ImagePanel(fixed_height=200)
                panel.clicked.connect(lambda row, col, i=layer: self.clicked(i, row, col))
                self.panel_layout.insertWidget(self.panel_layout.count() - 1, panel)
                self.panels[layer] = panel
            self.panels[layer].caption.setText(f"<b>{name}</b> {tuple(values.shape)}")
        if self.unit is not None and self.unit[0] in self.panels:
            self.highlight(*self.unit)
        else:
            self._draw({})

    def _draw(self, boxes: dict) -> None:
        """Every picture again, with ``boxes``: layer (−1 = input) -> [(channel or None, window)]."""
        picture = grey_rgb(self.answer.image)
        for _, window in boxes.get(-1, ()):
            draw_box(picture, window)
        self.input_panel.set_image(picture)
        for layer, panel in self.panels.items():
            maps = self._maps(layer)
            picture = coloured(render.tile(np.stack([render.normalize(m) for m in maps])))   # each map its own contrast
            corners = tile_corners(len(maps), maps.shape[1:])
            for channel, window in boxes.get(layer, ()):
                for index in (range(len(maps)) if channel is None else [channel]):
                    draw_box(picture, window, offset=corners[index])
            panel.set_image(picture)

    def clicked(self, layer: int, row: int, col: int) -> None:
        """A click at picture pixel (row, col) of layer ``layer``'s tiled maps."""
        if self.answer is None:
            return
        maps = self._maps(layer)
        hit = render.tile_hit(row, col, count=len(maps), tile_hw=maps.shape[1:])
        if hit is not None:
            self.highlight(layer, *hit)

    def highlight(self, layer: int, channel: int, row: int, col: int) -> None:
        """Show what unit (row, col) of map ``channel`` of ``layer`` sees, on every picture below it."""
        if self.answer is None or not self.rows:
            return
        self.unit = (layer, channel, row, col)
        windows = explain.windows_below(self.rows, layer, row, col)
        boxes = {below: [(None, window)] for below, window in zip(range(-1, layer), windows) if window is not None}
        boxes[layer] = [(channel, (row, row, col, col))]
        self._draw(boxes)
        field = explain.receptive_fields(self.rows)[layer]
        top, bottom, left, right = windows[0]
        self.status.setText(tr("why.rf_unit", layer=self.rows[layer].name, row=row, col=col, channel=channel, top=top,
                               bottom=bottom, left=left, right=right, field=field.formula()))

    def exercise(self):
        self.answer, self.unit = None, None
        self.request()
        return lambda: self.answer is not None

    def screenshots(self, folder: str) -> list[str]:
        """receptive_field.png: the centre unit of the deepest map, its field on every layer."""
        if self.answer is None or not self.panels:
            return []
        if self.unit is None:
            deepest = max(self.panels)
            height, width = self._maps(deepest).shape[1:]
            self.highlight(deepest, 0, height // 2, width // 2)
        return self.save_widget(self, folder, "receptive_field.png")
