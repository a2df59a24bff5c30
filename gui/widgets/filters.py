"""Every conv layer's filters as one tiled image per layer, live while training."""
from __future__ import annotations

from PySide6 import QtWidgets

from .. import render
from cyconv.lab.i18n import tr
from .images import ImagePanel

MAX_FILTERS, MAX_CHANNELS = 64, 16


class FiltersView(QtWidgets.QWidget):
    """Shows a tuple of introspect.ConvLayerView; panels are rebuilt only when layers change."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.placeholder = QtWidgets.QLabel()
        self.container = QtWidgets.QWidget()
        self.panel_layout = QtWidgets.QVBoxLayout(self.container)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.container)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.placeholder)
        layout.addWidget(scroll, 1)
        self.panels: dict[str, ImagePanel] = {}
        self.convs = ()
        self._layout_key = None
        self.retranslate()

    def retranslate(self) -> None:
        self.placeholder.setText(tr("filters.none") if not self.convs else "")
        self.placeholder.setToolTip(tr("term.filter"))
        for conv in self.convs:
            self.panels[conv.name].caption.setText(self._caption(conv))

    def _caption(self, conv) -> str:
        f, c, kh, kw = conv.weights.shape
        extra = tr("filters.rgb") if c == 3 else ""
        if f > MAX_FILTERS or (c != 3 and c > MAX_CHANNELS):
            extra += tr("filters.capped", f=min(f, MAX_FILTERS), c=min(c, MAX_CHANNELS))
        return tr("filters.caption", name=conv.name, f=f, c=c, kh=kh, kw=kw, capped=extra)

    def _rebuild(self) -> None:
        for panel in self.panels.values():
            panel.setParent(None)
            panel.deleteLater()
        self.panels = {}
        for conv in self.convs:
            panel = ImagePanel(colormap="grey", fixed_height=260)
            panel.setToolTip(tr("term.filter"))
            self.panel_layout.addWidget(panel)
            self.panels[conv.name] = panel
        self.panel_layout.addStretch(1)

    def show_filters(self, convs) -> None:
        """Draw every conv layer's weights with render.filter_grid."""
        self.convs = tuple(convs)
        key = tuple((conv.name, conv.weights.shape) for conv in self.convs)
        if key != self._layout_key:
            while self.panel_layout.count():
                self.panel_layout.takeAt(0)
            self._rebuild()
            self._layout_key = key
        for conv in self.convs:
            panel = self.panels[conv.name]
            panel.set_image(render.filter_grid(conv.weights, max_filters=MAX_FILTERS, max_channels=MAX_CHANNELS))
        self.retranslate()
