"""The live shape table: every layer's input and output shape, the formula with numbers,
parameters written out with their share, multiply-adds; warnings and errors in red, in words.
Below it, the dense-only network of the same input and output.

A red row says why where the eye already is: the note column is shown second, next to the
layer's name (wrapped, never pushed off-screen by the wide formula columns), every cell of the
row carries the reason as its tooltip, and a line under the table repeats each problem."""
from __future__ import annotations

import html

from PySide6 import QtCore, QtGui, QtWidgets

from cyconv import explain, shapes

from .. import model_spec
from cyconv.lab.i18n import tr

COLUMNS = ("layer", "input", "output", "formula", "params", "share", "macs", "note")
#: The receptive-field column, after COLUMNS (cyconv.explain.receptive_fields of the rows).
RECEPTIVE = len(COLUMNS)
_RED = QtGui.QColor(255, 205, 205)
_DEFAULT_DENSE_WIDTHS = "600, 300, 300, 150"      # DeepID's comparison network
_NOTE = COLUMNS.index("note")
_NOTE_WIDTH = 280                                 # pixels; longer reasons wrap in the cell
_PROBLEM_STYLE = "color: rgb(170, 0, 0);"


def shape_text(shape) -> str:
    return "—" if shape is None else "(" + ", ".join(str(v) for v in shape) + ")"


def row_cells(row: shapes.LayerRow) -> list[str]:
    """The table's texts for one LayerRow, in COLUMNS order."""
    if row.error is not None:
        return [f"{row.name} ({row.kind})", shape_text(row.input_chw), "—", "", "—", "", "", row.error]
    share = "" if row.share is None else f"{100 * row.share:.1f}%"
    output = shape_text(row.output_chw)
    if row.output_hwc is not None and len(row.output_hwc) == 3:
        output += f"\n[H, W, C = {', '.join(str(v) for v in row.output_hwc)}]"
    formula = row.formula.replace("; ", "\n")          # OH and OW on two lines keep the column narrow
    return [f"{row.name} ({row.kind})", shape_text(row.input_chw), output, formula, row.params_formula,
            share, f"{row.macs:,}", "\n".join(row.warnings)]


def row_reason(row: shapes.LayerRow) -> str:
    """Why a row is red, in words ('' for a row without a problem), without the layer's name
    in front (the table says it once)."""
    reason = row.error if row.error is not None else "\n".join(row.warnings)
    prefix = f"{row.name}: "
    return reason[len(prefix):] if reason.startswith(prefix) else reason


class ShapeTable(QtWidgets.QWidget):
    """Shows a `shapes.Summary`; `show_summary` is called on every edit of the network."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.table = QtWidgets.QTableWidget(0, len(COLUMNS) + 1)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        header.moveSection(header.visualIndex(_NOTE), 1)     # presentation only: cells() keeps COLUMNS order
        self.problems = QtWidgets.QLabel()
        self.problems.setWordWrap(True)
        self.problems.setStyleSheet(_PROBLEM_STYLE)
        self.problems.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.totals = QtWidgets.QLabel()
        self.comparison = QtWidgets.QLabel()
        self.comparison.setWordWrap(True)
        self.widths_label = QtWidgets.QLabel()
        self.widths = QtWidgets.QLineEdit(_DEFAULT_DENSE_WIDTHS)
        self.widths.textChanged.connect(self._update_comparison)
        self.summary: shapes.Summary | None = None
        compare_row = QtWidgets.QHBoxLayout()
        compare_row.addWidget(self.widths_label)
        compare_row.addWidget(self.widths, 1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.problems)
        layout.addWidget(self.totals)
        layout.addLayout(compare_row)
        layout.addWidget(self.comparison)
        self.retranslate()

    def retranslate(self) -> None:
        self.table.setHorizontalHeaderLabels([tr(f"shapes.col.{key}") for key in COLUMNS] + [tr("shapes.col.receptive")])
        self.table.horizontalHeaderItem(RECEPTIVE).setToolTip(tr("shapes.receptive_tip"))
        tips = {"input": "term.channel", "output": "term.feature_map", "formula": "term.stride",
                "params": "term.filter"}
        for index, key in enumerate(COLUMNS):
            item = self.table.horizontalHeaderItem(index)
            item.setToolTip(tr(tips[key]) if key in tips else "")
        self.widths_label.setText(tr("shapes.compare.widths"))
        if self.summary is not None:
            self.show_summary(self.summary)

    def changeEvent(self, event) -> None:
        # A new application font (the Korean interface switches to a CJK family) arrives after
        # the rows were sized; size them again once every child has the new font.
        super().changeEvent(event)
        if event.type() == QtCore.QEvent.Type.FontChange:
            QtCore.QTimer.singleShot(0, self.table.resizeRowsToContents)

    def show_summary(self, summary: shapes.Summary) -> None:
        """Fill the table from `summary` (a shapes.Summary, possibly ending in an error row)."""
        self.summary = summary
        self.table.setRowCount(len(summary))
        problems = []
        for index, row in enumerate(summary):
            reason = row_reason(row)
            if reason:
                problems.append(f"<b>{html.escape(row.name)}</b>: {html.escape(reason)}".replace("\n", "; "))
            for column, text in enumerate(row_cells(row)):
                item = QtWidgets.QTableWidgetItem(text)
                if reason:
                    item.setBackground(_RED)
                    item.setToolTip(f"{row.name} ({row.kind}): {reason}")
                if column in (4, 5, 6):
                    item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(index, column, item)
        fields = explain.receptive_fields(summary)
        for index in range(len(summary)):
            field = fields[index] if index < len(fields) else None
            text = "" if field is None else "\n".join(part for part in (field.formula(), field.how) if part)
            self.table.setItem(index, RECEPTIVE, QtWidgets.QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.table.setColumnWidth(_NOTE, min(self.table.columnWidth(_NOTE), _NOTE_WIDTH))
        self.table.resizeRowsToContents()
        self.problems.setText("<br>".join(problems))
        self.problems.setVisible(bool(problems))
        self.totals.setText(f"{tr('shapes.total')}: {summary.total_params:,} = {summary.total_weights:,} + "
                            f"{summary.total_biases:,}; {tr('shapes.col.macs')}: {summary.total_macs:,}")
        self._update_comparison()

    def cells(self) -> list[list[str]]:
        """The table's texts (for tests and export)."""
        return [[self.table.item(r, c).text() for c in range(len(COLUMNS))] for r in range(self.table.rowCount())]

    def receptive_cells(self) -> list[str]:
        """The receptive-field column's texts, one per row."""
        return [self.table.item(r, RECEPTIVE).text() for r in range(self.table.rowCount())]

    def _update_comparison(self) -> None:
        summary = self.summary
        if summary is None or not summary.ok or summary.output_shape is None or len(summary.output_shape) != 1:
            self.comparison.setText("")
            return
        try:
            hidden = [model_spec.parse_int(part, "width") for part in self.widths.text().replace(",", " ").split()]
            dense = shapes.summarize(model_spec.dense_comparison(summary.input_shape, summary.output_shape[0], hidden),
                                     summary.input_shape)
        except ValueError as error:
            self.comparison.setText(str(error))
            return
        ratio = f"{summary.total_params / dense.total_params:.1%}" if dense.total_params else "—"
        self.comparison.setText(tr("shapes.compare", dense=f"{dense.total_params:,}",
                                   widths=" → ".join(str(w) for w in hidden) or "—",
                                   cnn=f"{summary.total_params:,}", ratio=ratio))
