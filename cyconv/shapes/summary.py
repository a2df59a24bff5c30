"""The printable shape table: :class:`Summary`, a list of rows with totals."""
from __future__ import annotations

import html

from .geometry import number_text as _num
from .rows import check_input_shape, hwc, layer_rows

__all__ = ["Summary", "summarize"]


def _shape_text(shape):
    if shape is None:
        return "—"
    # No thousands separators inside a tuple: "(9,216,)" would read as two numbers.
    return "(" + ", ".join(str(n) for n in shape) + (",)" if len(shape) == 1 else ")")


def _table(headers, rows, aligns):
    """Plain-text table; each cell may hold several lines."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max([widths[i]] + [len(line) for line in cell.split("\n")])

    def render(cells):
        split = [cell.split("\n") for cell in cells]
        height = max(len(lines) for lines in split)
        out = []
        for k in range(height):
            parts = []
            for i, lines in enumerate(split):
                text = lines[k] if k < len(lines) else ""
                parts.append(text.rjust(widths[i]) if aligns[i] == ">" else text.ljust(widths[i]))
            out.append("  ".join(parts).rstrip())
        return out

    rule_width = sum(widths) + 2 * (len(widths) - 1)
    lines = ["=" * rule_width] + render(headers) + ["-" * rule_width]
    for row in rows:
        lines.extend(render(row))
    lines.append("=" * rule_width)
    return lines


class Summary(list):
    """A list of :class:`LayerRow` with totals, printable as a Keras/torchinfo-like table.

    ``str(summary)`` shows per layer: the output as (H, W, C) and (C, H, W), the formula, the
    parameters written out, their share of the total and the MACs, then the totals and the
    warnings and errors.
    """

    def __init__(self, rows=(), input_shape=None):
        super().__init__(rows)
        self.input_shape = None if input_shape is None else tuple(input_shape)

    @property
    def total_params(self):
        return sum(row.params for row in self)

    @property
    def total_weights(self):
        return sum(row.weights for row in self)

    @property
    def total_biases(self):
        return sum(row.biases for row in self)

    @property
    def total_macs(self):
        return sum(row.macs for row in self)

    @property
    def ok(self):
        """True when no row is an error row."""
        return all(row.error is None for row in self)

    @property
    def output_shape(self):
        """The network's output (C, H, W) or (D,); None when a layer failed."""
        if not self.ok:
            return None
        return self[-1].output_chw if self else self.input_shape

    @property
    def warnings(self):
        """Every warning as 'layer: text'."""
        return [f"{row.name}: {text}" for row in self for text in row.warnings]

    @property
    def errors(self):
        return [row.error for row in self if row.error is not None]

    def __repr__(self):
        return (f"Summary({len(self)} layers, input {self.input_shape}, "
                f"{_num(self.total_params)} params, ok={self.ok})")

    _HEADERS = ("Layer (type)", "Output (H, W, C)", "Output (C, H, W)", "Formula", "Params", "Share", "MACs")

    def _cells(self):
        """(row, cell texts) per table line (the same for the text and the HTML table); a
        block's inner layers follow it, indented under "│ "."""
        cells = []
        for row in self:
            if row.error is not None:
                cells.append((row, [f"{row.name} ({row.kind})", "—", "—", "ERROR (see below)",
                                    "—", "", ""]))
                continue
            share = "" if row.share is None else f"{100 * row.share:.1f}%"
            cells.append((row, self._row_cells(row, "", share)))
            cells.extend((row, self._row_cells(inner, "│ ", "")) for inner in row.inner)
        return cells

    @staticmethod
    def _row_cells(row, indent, share):
        return [f"{indent}{row.name} ({row.kind})", _shape_text(row.output_hwc),
                _shape_text(row.output_chw), row.formula.replace("; ", "\n"),
                row.params_formula, share, _num(row.macs)]

    def _input_line(self):
        return (f"Input (C, H, W) = {_shape_text(self.input_shape)}, "
                f"(H, W, C) = {_shape_text(hwc(self.input_shape))}")

    def _footer_lines(self):
        lines = [f"Total params: {_num(self.total_params)} (weights "
                 f"{_num(self.total_weights)} + biases {_num(self.total_biases)})",
                 f"Multiply-adds per sample: {_num(self.total_macs)}"]
        if self.ok:
            lines.append(f"Output: {_shape_text(self.output_shape)}")
        return lines

    def __str__(self):
        lines = [self._input_line()] if self.input_shape is not None else []
        lines += _table(list(self._HEADERS), [cells for _, cells in self._cells()],
                        ["<", "<", "<", "<", "<", ">", ">"])
        lines += self._footer_lines()
        if self.warnings:
            lines.append("Warnings:")
            lines.extend(f"  {text}" for text in self.warnings)
        if self.errors:
            lines.append("Error (the table stops at the failing layer):")
            lines.extend(f"  {text}" for text in self.errors)
        return "\n".join(lines)

    def _repr_html_(self):
        """The table as HTML, for Jupyter: a failing row is red, warnings and errors follow."""
        def cell(text, tag="td"):
            return f"<{tag} style='text-align:left;vertical-align:top'>" + \
                "<br>".join(html.escape(line) for line in text.split("\n")) + f"</{tag}>"

        head = "".join(cell(h, "th") for h in self._HEADERS)
        body = []
        for row, cells in self._cells():
            style = " style='background:#ffd6d6'" if row.error is not None else ""
            body.append(f"<tr{style}>" + "".join(cell(c) for c in cells) + "</tr>")
        parts = [f"<p>{html.escape(self._input_line())}</p>"] if self.input_shape is not None else []
        parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")
        parts += [f"<p>{html.escape(line)}</p>" for line in self._footer_lines()]
        for title, texts, colour in (("Warnings", self.warnings, "#8a6d00"), ("Error", self.errors, "#c00000")):
            if texts:
                items = "".join(f"<li>{html.escape(text)}</li>" for text in texts)
                parts.append(f"<p style='color:{colour}'>{title}:</p><ul style='color:{colour}'>{items}</ul>")
        return "\n".join(parts)


def summarize(configs, input_shape):
    """A :class:`Summary` of the layer configs on ``input_shape``; a failing layer ends it with
    an error row (see :func:`layer_rows` with ``partial=True``)."""
    return Summary(layer_rows(configs, input_shape, partial=True),
                   check_input_shape(input_shape))
