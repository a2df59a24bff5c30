"""A conv layer's filters, live while training, large enough to read each weight.

One layer at a time: on the left every filter (rows) against every input channel (columns);
on the right the chosen filter's channels, and below them the chosen (filter, channel) kernel
alone. All three share one diverging scale over the whole layer (negative blue, zero white,
positive red, symmetric levels), drawn with its numbers beside each picture, so a weight's
colour means the same value everywhere and across filters.
"""
from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtWidgets

from cyconv.lab import render
from cyconv.lab.i18n import tr
from .images import ImagePanel

MAX_FILTERS, MAX_CHANNELS = 64, 16          # the overview (AlexNet has 96x3 and 256x96)
MAX_DETAIL_CHANNELS = 64
MAX_NUMBERED_WEIGHTS = 49                   # kernels up to 7x7 also show each weight's number
_MAX_TICKS = 16
_COLORMAP = "diverging"
LABEL_GAP = 2                              # pixels between tiles that carry their numbers


def thinned_ticks(count: int, size: int, gap: int = 1) -> list[tuple[float, str]]:
    """Axis ticks at the centres of `count` tiles of `size` pixels: every one while they fit,
    else every k-th so that at most _MAX_TICKS labels are drawn."""
    every = max(1, -(-count // _MAX_TICKS))
    return [(i * (size + gap) + (size - 1) / 2, str(i)) for i in range(0, count, every)]


def same_weights(convs, others) -> bool:
    """Whether two tuples of ConvLayerView hold the same layers with equal weights."""
    return len(convs) == len(others) and all(
        a.name == b.name and (a.weights is b.weights or np.array_equal(a.weights, b.weights))
        for a, b in zip(convs, others))


def overview_gap(weights) -> int:
    """Pixels between the overview's tiles: 1 in the filter x channel matrix (its axes carry the
    indices), LABEL_GAP in a single-channel layer's grid (each tile's number sits above it)."""
    return 1 if weights.shape[1] > 1 else LABEL_GAP


class FiltersView(QtWidgets.QWidget):
    """Shows a tuple of introspect.ConvLayerView: the chosen layer, filter and channel."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.placeholder = QtWidgets.QLabel()
        self.layer_label, self.filter_label, self.channel_label = (QtWidgets.QLabel() for _ in range(3))
        self.layer_box = QtWidgets.QComboBox()
        self.filter_box, self.channel_box = QtWidgets.QSpinBox(), QtWidgets.QSpinBox()
        self.layer_box.currentIndexChanged.connect(self._layer_chosen)
        self.filter_box.valueChanged.connect(self._draw_selection)
        self.channel_box.valueChanged.connect(self._draw_selection)
        top = QtWidgets.QHBoxLayout()
        for label, box in ((self.layer_label, self.layer_box), (self.filter_label, self.filter_box),
                           (self.channel_label, self.channel_box)):
            top.addWidget(label)
            top.addWidget(box)
        top.addStretch(1)
        self.overview = ImagePanel(colormap=_COLORMAP, colorbar=True, axes=True, minimum_height=300)
        self.overview.clicked.connect(self._overview_clicked)
        self.channels = ImagePanel(colormap=_COLORMAP, colorbar=True, minimum_height=220)
        self.channels.clicked.connect(self._channel_clicked)
        self.kernel = ImagePanel(colormap=_COLORMAP, colorbar=True, minimum_height=220)
        self.overview.describe = self._describe_overview
        self.channels.describe = self._describe_channels
        self.kernel.describe = lambda row, col: self._describe_weight(self.filter_box.value(),
                                                                     self.channel_box.value(), row, col)
        right = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        right.addWidget(self.channels)
        right.addWidget(self.kernel)
        splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        splitter.addWidget(self.overview)
        splitter.addWidget(right)
        splitter.setSizes([450, 350])
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.placeholder)
        layout.addWidget(splitter, 1)
        self.convs = ()
        self.levels = (-1.0, 1.0)
        self.retranslate()

    # -- texts -------------------------------------------------------------------------------------
    def retranslate(self) -> None:
        self.placeholder.setText(tr("filters.none") if not self.convs else "")
        self.placeholder.setVisible(not self.convs)
        self.placeholder.setToolTip(tr("term.filter"))
        self.layer_label.setText(tr("filters.layer"))
        self.filter_label.setText(tr("filters.filter"))
        self.channel_label.setText(tr("filters.channel"))
        self.filter_box.setToolTip(tr("term.filter"))
        self.channel_box.setToolTip(tr("term.channel"))
        conv = self.conv
        if conv is not None:
            self.overview.caption.setText(self._caption(conv))
            f, c = self.filter_box.value(), self.channel_box.value()
            channels = conv.weights.shape[1]
            self.channels.caption.setText(tr("filters.channels", f=f, c=channels, shown=min(channels, MAX_DETAIL_CHANNELS)))
            self.kernel.caption.setText(tr("filters.kernel", f=f, c=c, kh=conv.weights.shape[2], kw=conv.weights.shape[3]))
            if channels > 1:
                self.overview.set_axis_labels(top=tr("filters.axis.channel"), left=tr("filters.axis.filter"))
            else:
                self.overview.set_axis_labels(top="", left="")

    def _caption(self, conv) -> str:
        f, c, kh, kw = conv.weights.shape
        extra = tr("filters.capped", f=min(f, MAX_FILTERS), c=min(c, MAX_CHANNELS)) if (
            f > MAX_FILTERS or c > MAX_CHANNELS) else ""
        return tr("filters.caption", name=conv.name, f=f, c=c, kh=kh, kw=kw, capped=extra)

    # -- data --------------------------------------------------------------------------------------
    @property
    def conv(self):
        """The ConvLayerView shown, or None."""
        index = self.layer_box.currentIndex()
        return self.convs[index] if 0 <= index < len(self.convs) else None

    def show_filters(self, convs) -> None:
        """Draw the chosen layer of `convs` (introspect.ConvLayerView); the choice survives new
        weights. The same weights as those drawn (a snapshot taken while paused, a tab shown
        again) draw nothing."""
        convs = tuple(convs)
        if convs and same_weights(convs, self.convs):
            return
        self.convs = convs
        names = [conv.name for conv in self.convs]
        current = self.layer_box.currentText()
        if names != [self.layer_box.itemText(i) for i in range(self.layer_box.count())]:
            self.layer_box.blockSignals(True)
            self.layer_box.clear()
            self.layer_box.addItems(names)
            self.layer_box.setCurrentIndex(names.index(current) if current in names else 0)
            self.layer_box.blockSignals(False)
            self._set_ranges()
        if not self.convs:
            for panel in (self.overview, self.channels, self.kernel):
                panel.clear()
            self.retranslate()
        else:
            self._draw()                        # its _draw_selection writes the captions

    def _layer_chosen(self) -> None:
        self._set_ranges()
        self._draw()
        self.retranslate()

    def _set_ranges(self) -> None:
        conv = self.conv
        f, c = (conv.weights.shape[:2]) if conv is not None else (1, 1)
        for box, count in ((self.filter_box, f), (self.channel_box, c)):
            box.blockSignals(True)
            box.setRange(0, count - 1)
            box.blockSignals(False)

    def _draw(self) -> None:
        conv = self.conv
        if conv is None:
            return
        weights = conv.weights
        f, c, kh, kw = weights.shape
        self.levels = render.symmetric_levels(weights)
        gap = overview_gap(weights)
        self.overview.headroom = 0 if c > 1 else LABEL_GAP
        self.overview.set_values(render.filter_overview(weights, max_filters=MAX_FILTERS, max_channels=MAX_CHANNELS,
                                                        gap=gap), self.levels, _COLORMAP)
        if c > 1:
            self.overview.set_tile_labels((), ())
            self.overview.set_ticks(top=thinned_ticks(min(c, MAX_CHANNELS), kw),
                                    left=thinned_ticks(min(f, MAX_FILTERS), kh))
        else:
            shown = min(f, MAX_FILTERS)
            self.overview.set_ticks(top=[], left=[])
            self.overview.set_tile_labels(render.tile_origins(shown, (kh, kw), gap=LABEL_GAP),
                                          (str(i) for i in range(shown)), above=True)
        self._draw_selection()

    def _draw_selection(self) -> None:
        """The chosen filter's channels and the chosen kernel, and the marks on the overview."""
        conv = self.conv
        if conv is None:
            return
        weights = conv.weights
        f, c = self.filter_box.value(), self.channel_box.value()
        channels, kh, kw = weights.shape[1:]
        shown = min(channels, MAX_DETAIL_CHANNELS)
        self.channels.set_values(render.filter_channels(weights, f, max_channels=MAX_DETAIL_CHANNELS,
                                                        gap=LABEL_GAP), self.levels, _COLORMAP)
        origins = render.tile_origins(shown, (kh, kw), gap=LABEL_GAP)
        several = shown > 1                       # one channel: the grid is the kernel itself
        self.channels.setVisible(several)
        self.channels.headroom = LABEL_GAP if several else 0
        self.channels.set_tile_labels(origins if several else (), (str(i) for i in range(shown if several else 0)),
                                      above=True)
        self.channels.mark((origins[c][1] - 0.5, origins[c][0] - 0.5, kw + 1, kh + 1) if several and c < shown
                           else None)
        self.kernel.set_values(weights[f, c], self.levels, _COLORMAP)
        self.kernel.set_cell_values(weights[f, c] if kh * kw <= MAX_NUMBERED_WEIGHTS else None, self.levels)
        self.overview.mark(self._overview_cell(f, c))
        self.retranslate()

    def _overview_cell(self, f: int, c: int):
        """The (left, top, width, height) of filter f, channel c in the overview, None if not drawn."""
        filters, channels, kh, kw = self.conv.weights.shape
        if f >= MAX_FILTERS or c >= MAX_CHANNELS:
            return None
        if channels == 1:
            top, left = render.tile_origins(min(filters, MAX_FILTERS), (kh, kw), gap=LABEL_GAP)[f]
        else:
            top, left = f * (kh + 1), c * (kw + 1)
        return left - 0.5, top - 0.5, kw + 1, kh + 1

    # -- clicks and tooltips ----------------------------------------------------------------------
    def _overview_hit(self, row: int, col: int):
        """(filter, channel, row, col) of the weight at overview pixel (row, col), or None."""
        filters, channels, kh, kw = self.conv.weights.shape
        if channels == 1:
            hit = render.tile_hit(row, col, count=min(filters, MAX_FILTERS), tile_hw=(kh, kw), gap=LABEL_GAP)
            return None if hit is None else (hit[0], 0, hit[1], hit[2])
        shown_c = min(channels, MAX_CHANNELS)
        hit = render.tile_hit(row, col, count=min(filters, MAX_FILTERS) * shown_c, tile_hw=(kh, kw), columns=shown_c)
        return None if hit is None else (*divmod(hit[0], shown_c), hit[1], hit[2])

    def _channels_hit(self, row: int, col: int):
        """(channel, row, col) of the weight at pixel (row, col) of the chosen filter's grid, or None."""
        channels, kh, kw = self.conv.weights.shape[1:]
        return render.tile_hit(row, col, count=min(channels, MAX_DETAIL_CHANNELS), tile_hw=(kh, kw), gap=LABEL_GAP)

    def _overview_clicked(self, row: int, col: int) -> None:
        hit = self._overview_hit(row, col)
        if hit is not None:
            self.select(hit[0], hit[1])

    def _channel_clicked(self, row: int, col: int) -> None:
        hit = self._channels_hit(row, col)
        if hit is not None:
            self.select(self.filter_box.value(), hit[0])

    def _describe_weight(self, f: int, c: int, row: int, col: int) -> str:
        value = float(self.conv.weights[f, c, row, col])
        return tr("filters.hover", f=f, c=c, row=row, col=col, value=f"{value:.3g}")

    def _describe_overview(self, row: int, col: int) -> str:
        hit = self._overview_hit(row, col) if self.conv is not None else None
        return "" if hit is None else self._describe_weight(*hit)

    def _describe_channels(self, row: int, col: int) -> str:
        hit = self._channels_hit(row, col) if self.conv is not None else None
        return "" if hit is None else self._describe_weight(self.filter_box.value(), *hit)

    def select(self, filter_index: int, channel: int) -> None:
        """Show filter `filter_index`, input channel `channel` of the current layer."""
        for box, value in ((self.filter_box, filter_index), (self.channel_box, channel)):
            box.blockSignals(True)
            box.setValue(value)
            box.blockSignals(False)
        self._draw_selection()
