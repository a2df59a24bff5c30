"""Pick a preset or build a network layer by layer; every keystroke re-validates.

Each row is one layer: a type and short texts (filters, kernel "3x5", stride, padding "1" or
"same", padding mode, extras "p=0.5"). A text that does not parse turns its cell red and the
reason is shown in words; otherwise the configs go through `cyconv.shapes` and the shape table
updates, stopping at the first layer whose geometry fails.
"""
from __future__ import annotations

import json

from PySide6 import QtCore, QtWidgets

from cyconv import presets, shapes

from .. import model_spec
from cyconv.lab.i18n import tr

_TEXT_COLUMNS = ("units", "kernel", "stride", "padding", "extra")
COLUMNS = ("type", "units", "kernel", "stride", "padding", "mode", "extra")
_TOOLTIPS = {"units": "term.filter", "kernel": "term.kernel", "stride": "term.stride", "padding": "term.padding",
             "mode": "term.padding_mode"}
_BAD_STYLE = "background: #ffcdcd;"
#: Presets the editor offers: the image networks (the dense baseline is the comparison view's).
EDITOR_PRESETS = tuple(name for name in presets.PRESET_NAMES if len(presets.configs(name)[0]) == 3)
#: Presets shown for their shapes only: too large to train in a teaching session.
SHAPES_ONLY = ("alexnet",)


class ModelEditor(QtWidgets.QWidget):
    """Emits `changed(summary)` (a shapes.Summary) after every edit."""

    changed = QtCore.Signal(object)
    preset_chosen = QtCore.Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.preset = QtWidgets.QComboBox()
        self.preset.addItem("", None)
        for name in EDITOR_PRESETS:
            self.preset.addItem(name, name)
            self.preset.setItemData(self.preset.count() - 1, presets.describe(name), QtCore.Qt.ItemDataRole.ToolTipRole)
        self.input_shape = QtWidgets.QLineEdit("1, 28, 28")
        self.table = QtWidgets.QTableWidget(0, len(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setMinimumSectionSize(48)
        self.status = QtWidgets.QLabel()
        self.status.setWordWrap(True)
        self.buttons = {key: QtWidgets.QPushButton() for key in ("add", "remove", "up", "down")}
        self.labels = {key: QtWidgets.QLabel() for key in ("preset", "input")}
        self.summary: shapes.Summary | None = None
        self.configs: list[dict] = []
        self._loading = False
        self.valid = False
        self._build_layout()
        self.preset.currentIndexChanged.connect(self._preset_chosen)
        self.input_shape.textChanged.connect(self.revalidate)
        self.buttons["add"].clicked.connect(self._add_row)
        self.buttons["remove"].clicked.connect(self._remove_row)
        self.buttons["up"].clicked.connect(lambda: self._move_row(-1))
        self.buttons["down"].clicked.connect(lambda: self._move_row(1))
        self.retranslate()

    def _build_layout(self) -> None:
        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.labels["preset"])
        top.addWidget(self.preset, 1)
        top.addWidget(self.labels["input"])
        top.addWidget(self.input_shape)
        buttons = QtWidgets.QHBoxLayout()
        for button in self.buttons.values():
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.status)

    def retranslate(self) -> None:
        self.labels["preset"].setText(tr("model.preset"))
        self.labels["input"].setText(tr("model.input"))
        self.preset.setItemText(0, tr("model.custom"))
        for key, button in self.buttons.items():
            button.setText(tr(f"model.{key}"))
        self.table.setHorizontalHeaderLabels([tr(f"model.col.{key}") for key in COLUMNS])
        metrics = self.table.horizontalHeader().fontMetrics()
        minimum = {"type": 108, "mode": 90, "extra": 80}
        for column, key in enumerate(COLUMNS):      # as wide as the header, no wider
            width = metrics.horizontalAdvance(tr(f"model.col.{key}")) + 18
            self.table.setColumnWidth(column, max(width, minimum.get(key, 44)))
        for index, key in enumerate(COLUMNS):
            self.table.horizontalHeaderItem(index).setToolTip(tr(_TOOLTIPS[key]) if key in _TOOLTIPS else "")
        self.input_shape.setToolTip(tr("term.channel"))
        for row in range(self.table.rowCount()):
            mode_box = self.table.cellWidget(row, COLUMNS.index("mode"))
            for item in range(mode_box.count()):
                mode_box.setItemText(item, tr(f"ex.mode.{mode_box.itemData(item)}"))
        self.revalidate()

    # -- rows ------------------------------------------------------------------------------
    def load_preset(self, name: str) -> None:
        """Fill the editor with a preset's layers and input shape."""
        self.preset.setCurrentIndex(self.preset.findData(name))

    def _preset_chosen(self) -> None:
        name = self.preset.currentData()
        if name is None:
            return
        input_shape, configs = presets.configs(name)
        self.set_network(input_shape, configs, keep_preset=True)
        self.preset_chosen.emit(name)

    def set_network(self, input_shape, configs, *, keep_preset: bool = False) -> None:
        """Replace every row (e.g. a loaded model's config)."""
        self._loading = True
        if not keep_preset:
            self.preset.setCurrentIndex(0)
        self.input_shape.setText(", ".join(str(v) for v in input_shape))
        self.table.setRowCount(0)
        for config in configs:
            self._insert_row(self.table.rowCount(), model_spec.config_to_spec(config))
        self._loading = False
        self.revalidate()

    def set_input_shape(self, input_shape) -> None:
        self.input_shape.setText(", ".join(str(v) for v in input_shape))

    def _insert_row(self, index: int, spec: model_spec.RowSpec) -> None:
        self.table.insertRow(index)
        type_box = QtWidgets.QComboBox()
        type_box.addItems(model_spec.EDITOR_TYPES)
        type_box.setCurrentText(spec.type)
        type_box.setProperty("layer_name", spec.name)
        # A block's inner layers ride along as JSON text (Qt keeps plain strings intact).
        type_box.setProperty("inner_layers", json.dumps(spec.inner) if spec.inner else "")
        type_box.currentTextChanged.connect(self._type_changed)
        self.table.setCellWidget(index, 0, type_box)
        for key in _TEXT_COLUMNS:
            editor = QtWidgets.QLineEdit(getattr(spec, key))
            editor.textChanged.connect(self.revalidate)
            self.table.setCellWidget(index, COLUMNS.index(key), editor)
        mode_box = QtWidgets.QComboBox()
        for mode in shapes.PADDING_MODES:            # shown translated, read as the engine's name
            mode_box.addItem(tr(f"ex.mode.{mode}"), mode)
        mode_box.setCurrentIndex(max(0, mode_box.findData(spec.mode)))
        mode_box.currentIndexChanged.connect(self.revalidate)
        self.table.setCellWidget(index, COLUMNS.index("mode"), mode_box)
        self._enable_columns(index)

    def _enable_columns(self, index: int) -> None:
        type_box = self.table.cellWidget(index, 0)
        used = model_spec.columns_for(type_box.currentText())
        type_box.setToolTip(model_spec.describe(type_box.currentText()))
        for key in COLUMNS[1:]:
            self.table.cellWidget(index, COLUMNS.index(key)).setEnabled(key in used)

    def _row_of(self, widget) -> int:
        for index in range(self.table.rowCount()):
            if self.table.cellWidget(index, 0) is widget:
                return index
        return -1

    def _type_changed(self) -> None:
        index = self._row_of(self.sender())
        if index >= 0:
            self.sender().setProperty("layer_name", None)    # a new type gets a new default name
            self._fill_defaults(index)
            self._enable_columns(index)
        self.revalidate()

    def _fill_defaults(self, index: int) -> None:
        """Sensible starting texts for a freshly chosen type, so the row is valid at once."""
        layer_type = self.table.cellWidget(index, 0).currentText()
        defaults = {"Conv2D": ("8", "3", "1", "0"), "Dense": ("10", "", "", "")}
        defaults.update({pool: ("", "2", "", "0") for pool in model_spec.POOL_TYPES})
        units, kernel, stride, padding = defaults.get(layer_type, ("", "", "", ""))
        for key, text in (("units", units), ("kernel", kernel), ("stride", stride), ("padding", padding),
                          ("extra", "")):
            editor = self.table.cellWidget(index, COLUMNS.index(key))
            editor.blockSignals(True)
            editor.setText(text)
            editor.blockSignals(False)

    def _add_row(self) -> None:
        index = self.table.currentRow() + 1 if self.table.currentRow() >= 0 else self.table.rowCount()
        self._insert_row(index, model_spec.RowSpec(type="Conv2D", units="8", kernel="3", stride="1", padding="0"))
        self.preset.blockSignals(True)
        self.preset.setCurrentIndex(0)
        self.preset.blockSignals(False)
        self.revalidate()

    def _remove_row(self) -> None:
        if self.table.currentRow() >= 0:
            self.table.removeRow(self.table.currentRow())
            self.revalidate()

    def _move_row(self, offset: int) -> None:
        index = self.table.currentRow()
        target = index + offset
        if index < 0 or not 0 <= target < self.table.rowCount():
            return
        specs = self.row_specs()
        specs[index], specs[target] = specs[target], specs[index]
        self._loading = True
        self.table.setRowCount(0)
        for spec in specs:
            self._insert_row(self.table.rowCount(), spec)
        self._loading = False
        self.table.selectRow(target)
        self.revalidate()

    def row_specs(self) -> list[model_spec.RowSpec]:
        specs = []
        for index in range(self.table.rowCount()):
            type_box = self.table.cellWidget(index, 0)
            texts = {key: self.table.cellWidget(index, COLUMNS.index(key)).text() for key in _TEXT_COLUMNS}
            inner = type_box.property("inner_layers")
            specs.append(model_spec.RowSpec(type=type_box.currentText(), name=type_box.property("layer_name"),
                                            mode=self.table.cellWidget(index, COLUMNS.index("mode")).currentData(),
                                            inner=json.loads(inner) if inner else None,
                                            **texts))
        return specs

    # -- validation ------------------------------------------------------------------------
    def _mark(self, index: int, key: str, bad: bool) -> None:
        widget = self.table.cellWidget(index, COLUMNS.index(key))
        widget.setStyleSheet(_BAD_STYLE if bad else "")

    def _parse_rows(self) -> tuple[list[dict], str | None]:
        configs, problem = [], None
        for index, spec in enumerate(self.row_specs()):
            for key in _TEXT_COLUMNS:
                self._mark(index, key, False)
            try:
                config = model_spec.spec_to_config(spec)
                if problem is None:          # the table stops at the first bad row
                    configs.append(config)
            except (ValueError, TypeError) as error:
                self._mark(index, model_spec.error_column(spec, error), True)
                if problem is None:
                    problem = tr("model.invalid", index=index + 1, name=spec.name or spec.type, reason=str(error))
        return configs, problem

    def revalidate(self) -> None:
        """Parse every row, compute the shape table and emit `changed`."""
        if self._loading:
            return
        configs, problem = self._parse_rows()
        try:
            input_shape = model_spec.parse_input_shape(self.input_shape.text())
            self.input_shape.setStyleSheet("")
        except ValueError as error:
            self.input_shape.setStyleSheet(_BAD_STYLE)
            self._set_status(str(error), ok=False)
            return
        self.configs = configs
        self.summary = shapes.summarize(configs, input_shape)
        if problem is not None:
            self._set_status(problem, ok=False)
        elif not self.summary.ok:
            bad = len(self.summary) - 1
            self._set_status(tr("shapes.failed", index=bad + 1, reason=self.summary.errors[0]), ok=False)
        else:
            status = tr("model.valid", layers=len(configs), params=f"{self.summary.total_params:,}")
            if self.preset.currentData() in SHAPES_ONLY:
                status += " " + tr("model.for_shapes_only", name=self.preset.currentData())
            self._set_status(status, ok=True)
        self.changed.emit(self.summary)

    def _set_status(self, text: str, *, ok: bool) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("" if ok else "color: #c00000;")
        self.valid = ok

    def network(self) -> dict:
        """The model config for `Sequential.from_config`; ValueError when the network is invalid."""
        if not self.valid or self.summary is None or not self.summary.ok:
            raise ValueError(self.status.text())
        return {"input_shape": list(self.summary.input_shape), "layers": [dict(c) for c in self.configs]}
