"""Convolution and pooling, one multiply-add at a time (worked 4×4 examples), and the same
step-through on a pixel of a live feature map with the current weights."""
from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtWidgets

from cyconv import shapes

from .. import explain
from cyconv.lab.i18n import tr
from .number_grid import NumberGrid, format_cell

_PLAY_INTERVAL_MS = 700


def _spin(low: int, high: int, value: int) -> QtWidgets.QSpinBox:
    box = QtWidgets.QSpinBox()
    box.setRange(low, high)
    box.setValue(value)
    return box


def size_formula(size_hw, sides, kernel_hw, stride_hw, out_hw) -> str:
    """'OH = (4 + 2·1 − 2)/1 + 1 = 5; OW = …' using the engine's own formula text."""
    parts = []
    for axis, size, before, after, kernel, stride, out in (
            ("H", size_hw[0], sides[0], sides[1], kernel_hw[0], stride_hw[0], out_hw[0]),
            ("W", size_hw[1], sides[2], sides[3], kernel_hw[1], stride_hw[1], out_hw[1])):
        parts.append(shapes.formula_text(size, before, after, kernel, stride, out, axis))
    return "; ".join(parts)


def _lay_out_explainer(owner, controls, grids, below) -> None:
    """The explainers' common layout: a row of labelled controls, the stepper, the grids side
    by side (each under its label, with an optional sign between them), then text labels."""
    row = QtWidgets.QHBoxLayout()
    for key, widget in controls:
        row.addWidget(owner.labels[key])
        row.addWidget(widget)
    row.addStretch(1)
    grid_row = QtWidgets.QHBoxLayout()
    for key, grid, sign in grids:
        column = QtWidgets.QVBoxLayout()
        column.addWidget(owner.labels[key])
        column.addWidget(grid)
        column.addStretch(1)
        grid_row.addLayout(column)
        if sign:
            grid_row.addWidget(QtWidgets.QLabel(f"<span style='font-size:20pt'>{sign}</span>"))
    grid_row.addStretch(1)
    layout = QtWidgets.QVBoxLayout(owner)
    layout.addLayout(row)
    layout.addWidget(owner.stepper)
    layout.addLayout(grid_row)
    for label in below:
        layout.addWidget(label)
    layout.addStretch(1)


class _Stepper(QtWidgets.QWidget):
    """Restart / previous / next / play buttons over an index 0..count-1."""

    moved = QtCore.Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.count, self.index = 0, 0
        self.first_button = QtWidgets.QPushButton()
        self.prev_button = QtWidgets.QPushButton()
        self.next_button = QtWidgets.QPushButton()
        self.play_button = QtWidgets.QPushButton()
        self.play_button.setCheckable(True)
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(_PLAY_INTERVAL_MS)
        self.timer.timeout.connect(self._advance_or_stop)
        self.first_button.clicked.connect(lambda: self.go(0))
        self.prev_button.clicked.connect(lambda: self.go(self.index - 1))
        self.next_button.clicked.connect(lambda: self.go(self.index + 1))
        self.play_button.toggled.connect(self._toggle_play)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for button in (self.first_button, self.prev_button, self.next_button, self.play_button):
            layout.addWidget(button)
        layout.addStretch(1)
        self.retranslate()

    def retranslate(self) -> None:
        self.first_button.setText(tr("ex.first"))
        self.prev_button.setText(tr("ex.prev"))
        self.next_button.setText(tr("ex.next"))
        self.play_button.setText(tr("ex.stop") if self.play_button.isChecked() else tr("ex.play"))

    def reset(self, count: int) -> None:
        self.count, self.index = count, 0
        self.moved.emit(0)

    def go(self, index: int) -> None:
        if self.count == 0:
            return
        self.index = min(max(index, 0), self.count - 1)
        self.moved.emit(self.index)

    def _advance_or_stop(self) -> None:
        if self.index >= self.count - 1:
            self.play_button.setChecked(False)
        else:
            self.go(self.index + 1)

    def _toggle_play(self, playing: bool) -> None:
        if playing:
            self.timer.start()
        else:
            self.timer.stop()
        self.retranslate()


class ConvExplainer(QtWidgets.QWidget):
    """Seed 002's (or 003's) input and filter: stride, padding and mode controls, each step."""

    EXAMPLES = {"input_4x4_filter_2x2": (explain.INPUT_4X4, explain.FILTER_2X2),
                "binary_5x5_filter_3x3": (explain.BINARY_5X5_INPUT, explain.BINARY_5X5_FILTER)}

    def __init__(self, parent=None):
        super().__init__(parent)
        self.example = QtWidgets.QComboBox()
        self.stride = _spin(1, 4, 1)
        self.padding = _spin(0, 4, 0)
        self.mode = QtWidgets.QComboBox()
        self.stepper = _Stepper()
        self.input_grid, self.filter_grid, self.output_grid = NumberGrid(), NumberGrid(), NumberGrid()
        self.labels = {key: QtWidgets.QLabel() for key in ("example", "stride", "padding", "mode",
                                                             "input", "filter", "output")}
        self.step_label, self.formula_label, self.size_label = QtWidgets.QLabel(), QtWidgets.QLabel(), QtWidgets.QLabel()
        self.note_label, self.error_label = QtWidgets.QLabel(), QtWidgets.QLabel()
        self.formula_label.setStyleSheet("font-size: 15pt; font-family: monospace;")
        self.error_label.setStyleSheet("color: #c00000;")
        for label in (self.note_label, self.size_label, self.error_label):
            label.setWordWrap(True)
        self.output = np.zeros((0, 0))
        self.steps: list[explain.ConvStep] = []
        self._padded = np.zeros((0, 0))
        self._sides = (0, 0, 0, 0)
        self._build_layout()
        for key in self.EXAMPLES:
            self.example.addItem("", key)
        for mode in explain.PAD_MODES:
            self.mode.addItem("", mode)
        self.retranslate()
        for signal in (self.example.currentIndexChanged, self.stride.valueChanged,
                       self.padding.valueChanged, self.mode.currentIndexChanged):
            signal.connect(self.recompute)
        self.stepper.moved.connect(self.show_step)
        self.recompute()

    def _build_layout(self) -> None:
        _lay_out_explainer(self, controls=(("example", self.example), ("stride", self.stride),
                                           ("padding", self.padding), ("mode", self.mode)),
                           grids=(("input", self.input_grid, "⊛"),
                                  ("filter", self.filter_grid, "="),
                                  ("output", self.output_grid, "")),
                           below=(self.step_label, self.formula_label, self.size_label,
                                  self.error_label, self.note_label))

    def retranslate(self) -> None:
        for key, text_key in (("example", "ex.example"), ("stride", "ex.stride"), ("padding", "ex.padding"),
                              ("mode", "ex.mode"), ("input", "ex.input"), ("filter", "ex.filter"),
                              ("output", "ex.output")):
            self.labels[key].setText(tr(text_key))
        self.example.setItemText(0, tr("ex.input_4x4_filter_2x2"))
        self.example.setItemText(1, tr("ex.binary_5x5_filter_3x3"))
        for index, mode in enumerate(explain.PAD_MODES):
            self.mode.setItemText(index, tr(f"ex.mode.{mode}"))
        self.stride.setToolTip(tr("term.stride"))
        self.padding.setToolTip(tr("term.padding"))
        self.mode.setToolTip(tr("term.padding_mode"))
        self.filter_grid.setToolTip(tr("term.filter"))
        self.output_grid.setToolTip(tr("term.feature_map"))
        self.note_label.setText(tr("ex.same_note"))
        self.stepper.retranslate()
        self.show_step(self.stepper.index)

    def set_settings(self, *, example: str = None, stride: int = None, padding: int = None,
                     mode: str = None) -> None:
        """Set the controls from code (tests, lessons); recomputes once per change."""
        if example is not None:
            self.example.setCurrentIndex(self.example.findData(example))
        if stride is not None:
            self.stride.setValue(stride)
        if padding is not None:
            self.padding.setValue(padding)
        if mode is not None:
            self.mode.setCurrentIndex(self.mode.findData(mode))

    def recompute(self) -> None:
        x, w = self.EXAMPLES[self.example.currentData() or "input_4x4_filter_2x2"]
        stride, sides = self.stride.value(), (self.padding.value(),) * 4
        mode = self.mode.currentData() or "zeros"
        try:
            self.output, self.steps = explain.conv_steps(x, w, stride=stride, padding=sides, padding_mode=mode)
            self._padded = explain.pad(x, sides, mode)
        except ValueError as error:
            self.output, self.steps = np.zeros((0, 0)), []
            self.error_label.setText(str(error))
            self.stepper.reset(0)
            return
        self.error_label.setText("")
        self._sides = sides
        self.size_label.setText(size_formula(x.shape, sides, w.shape, (stride, stride), self.output.shape))
        self.filter_grid.set_values(w)
        self.stepper.reset(len(self.steps))

    def show_step(self, index: int) -> None:
        if not self.steps:
            for grid in (self.input_grid, self.output_grid):
                grid.set_values(np.zeros((0, 0)))
            self.step_label.setText("")
            self.formula_label.setText("")
            return
        step = self.steps[index]
        kh, kw = step.weights.shape[1:]
        self.input_grid.set_values(self._padded, padding=self._sides, window=(step.top, step.left, kh, kw))
        shown = np.full(self.output.shape, np.nan)
        shown.flat[:index + 1] = self.output.flat[:index + 1]
        self.output_grid.set_values(shown, current=(step.row, step.col))
        self.step_label.setText(tr("ex.step", index=index + 1, total=len(self.steps), row=step.row, col=step.col))
        self.formula_label.setText(step.formula())


class PoolExplainer(QtWidgets.QWidget):
    """Max, average and min pooling of the worked 4×4 maps, window by window."""

    EXAMPLES = {"input_4x4": explain.INPUT_4X4, "fmap_4x4": explain.FEATURE_MAP_4X4}

    def __init__(self, parent=None):
        super().__init__(parent)
        self.example, self.kind = QtWidgets.QComboBox(), QtWidgets.QComboBox()
        self.size, self.stride = _spin(1, 4, 2), _spin(1, 4, 2)
        self.stepper = _Stepper()
        self.input_grid, self.output_grid = NumberGrid(), NumberGrid()
        self.labels = {key: QtWidgets.QLabel() for key in ("example", "kind", "size", "stride", "input", "output")}
        self.step_label, self.formula_label, self.size_label = QtWidgets.QLabel(), QtWidgets.QLabel(), QtWidgets.QLabel()
        self.error_label = QtWidgets.QLabel()
        self.formula_label.setStyleSheet("font-size: 15pt; font-family: monospace;")
        self.error_label.setStyleSheet("color: #c00000;")
        self.error_label.setWordWrap(True)
        self.output = np.zeros((0, 0))
        self.steps: list[explain.PoolStep] = []
        for key in self.EXAMPLES:
            self.example.addItem("", key)
        for kind in explain.POOL_KINDS:
            self.kind.addItem("", kind)
        self._build_layout()
        self.retranslate()
        for signal in (self.example.currentIndexChanged, self.kind.currentIndexChanged,
                       self.size.valueChanged, self.stride.valueChanged):
            signal.connect(self.recompute)
        self.stepper.moved.connect(self.show_step)
        self.recompute()

    def _build_layout(self) -> None:
        _lay_out_explainer(self, controls=(("example", self.example), ("kind", self.kind),
                                           ("size", self.size), ("stride", self.stride)),
                           grids=(("input", self.input_grid, ""),
                                  ("output", self.output_grid, "")),
                           below=(self.step_label, self.formula_label, self.size_label,
                                  self.error_label))

    def retranslate(self) -> None:
        for key, text_key in (("example", "ex.example"), ("kind", "ex.pool_kind"), ("size", "ex.pool_size"),
                              ("stride", "ex.stride"), ("input", "ex.input_plain"), ("output", "ex.output")):
            self.labels[key].setText(tr(text_key))
        self.example.setItemText(0, tr("ex.input_4x4"))
        self.example.setItemText(1, tr("ex.fmap_4x4"))
        for index, kind in enumerate(explain.POOL_KINDS):
            self.kind.setItemText(index, tr(f"ex.kind.{kind}"))
        self.kind.setToolTip(tr("term.pooling"))
        self.stride.setToolTip(tr("term.stride"))
        self.stepper.retranslate()
        self.show_step(self.stepper.index)

    def set_settings(self, *, example: str = None, kind: str = None, size: int = None, stride: int = None) -> None:
        if example is not None:
            self.example.setCurrentIndex(self.example.findData(example))
        if kind is not None:
            self.kind.setCurrentIndex(self.kind.findData(kind))
        if size is not None:
            self.size.setValue(size)
        if stride is not None:
            self.stride.setValue(stride)

    def recompute(self) -> None:
        x = self.EXAMPLES[self.example.currentData() or "input_4x4"]
        kernel, stride = self.size.value(), self.stride.value()
        try:
            self.output, self.steps = explain.pool_steps(x, kernel=kernel, stride=stride,
                                                         kind=self.kind.currentData() or "max")
        except ValueError as error:
            self.output, self.steps = np.zeros((0, 0)), []
            self.error_label.setText(str(error))
            self.stepper.reset(0)
            return
        self.error_label.setText("")
        self.size_label.setText(size_formula(x.shape, (0, 0, 0, 0), (kernel, kernel), (stride, stride),
                                             self.output.shape))
        self.stepper.reset(len(self.steps))

    def show_step(self, index: int) -> None:
        x = self.EXAMPLES[self.example.currentData() or "input_4x4"]
        if not self.steps:
            self.input_grid.set_values(x)
            self.output_grid.set_values(np.zeros((0, 0)))
            self.step_label.setText("")
            self.formula_label.setText("")
            return
        step = self.steps[index]
        kh, kw = step.window.shape
        picked = None if step.picked is None else (step.top + step.picked[0], step.left + step.picked[1])
        self.input_grid.set_values(x, window=(step.top, step.left, kh, kw), picked=picked)
        shown = np.full(self.output.shape, np.nan)
        shown.flat[:index + 1] = self.output.flat[:index + 1]
        self.output_grid.set_values(shown, current=(step.row, step.col))
        self.step_label.setText(tr("ex.step", index=index + 1, total=len(self.steps), row=step.row, col=step.col))
        self.formula_label.setText(step.formula(self.kind.currentData() or "max"))


class LiveConvPanel(QtWidgets.QWidget):
    """How the current weights computed one pixel of a live feature map, channel by channel."""

    _MAX_PARTIALS_SHOWN = 8

    def __init__(self, parent=None):
        super().__init__(parent)
        self.title = QtWidgets.QLabel()
        self.channel = QtWidgets.QSpinBox()
        self.channel_label = QtWidgets.QLabel()
        self.window_grid, self.filter_grid = NumberGrid(cell=44), NumberGrid(cell=44)
        self.formula_label, self.sum_label, self.check_label = QtWidgets.QLabel(), QtWidgets.QLabel(), QtWidgets.QLabel()
        for label in (self.formula_label, self.sum_label, self.check_label, self.title):
            label.setWordWrap(True)
            label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.formula_label.setStyleSheet("font-family: monospace;")
        self.step: explain.ConvStep | None = None
        self._context = None
        controls = QtWidgets.QHBoxLayout()
        controls.addWidget(self.channel_label)
        controls.addWidget(self.channel)
        controls.addStretch(1)
        grids = QtWidgets.QHBoxLayout()
        grids.addWidget(self.window_grid)
        grids.addWidget(QtWidgets.QLabel("⊙"))
        grids.addWidget(self.filter_grid)
        grids.addStretch(1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(controls)
        layout.addLayout(grids)
        for label in (self.formula_label, self.sum_label, self.check_label):
            layout.addWidget(label)
        self.channel.valueChanged.connect(self._show_channel)
        self.retranslate()

    def retranslate(self) -> None:
        self.channel_label.setText(tr("live.channel"))
        self.channel.setToolTip(tr("term.channel"))
        if self._context is None:
            self.title.setText(tr("act.click"))
        else:
            self.explain(*self._context)

    def clear(self) -> None:
        """Forget the explained pixel: it belonged to a sample, a network or a run that is gone."""
        self._context, self.step = None, None
        for label in (self.formula_label, self.sum_label, self.check_label):
            label.setText("")
        self.window_grid.set_values(np.zeros((0, 0)))
        self.filter_grid.set_values(np.zeros((0, 0)))
        self.retranslate()

    def explain(self, conv, layer_input: np.ndarray, f: int, row: int, col: int, engine_value: float) -> None:
        """Step through output (f, row, col) of `conv` (an introspect.ConvLayerView) on
        `layer_input` (C, H, W), and compare with the engine's `engine_value`."""
        self._context = (conv, layer_input, f, row, col, engine_value)
        bias = 0.0 if conv.bias is None else float(conv.bias[f])
        self.step = explain.conv_step(layer_input, conv.weights[f], row, col, bias=bias, stride=conv.stride,
                                      padding=conv.padding, padding_mode=conv.padding_mode)
        self.title.setText(tr("live.title", layer=conv.name, f=f, row=row, col=col))
        channels = self.step.inputs.shape[0]
        parts = [format_cell(p) for p in self.step.partial_sums[:self._MAX_PARTIALS_SHOWN]]
        if channels > self._MAX_PARTIALS_SHOWN:
            parts.append("…")
        self.sum_label.setText(tr("live.partials", c=channels, parts=" + ".join(parts), bias=format_cell(bias),
                                  value=f"{self.step.value:.4f}"))
        self.check_label.setText(tr("live.engine", engine=f"{engine_value:.4f}", manual=f"{self.step.value:.4f}"))
        self.channel.blockSignals(True)
        self.channel.setRange(0, channels - 1)
        self.channel.setValue(min(self.channel.value(), channels - 1))
        self.channel.blockSignals(False)
        self._show_channel(self.channel.value())

    def _show_channel(self, channel: int) -> None:
        if self.step is None:
            return
        self.window_grid.set_values(np.round(self.step.inputs[channel], 2))
        self.filter_grid.set_values(np.round(self.step.weights[channel], 2))
        self.formula_label.setText(self.step.formula(channel))
