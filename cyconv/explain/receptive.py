"""Receptive fields: which input pixels each unit of each layer can see.

Per axis a layer's units are described by three numbers, computed from the input upwards:
size r (pixels one unit sees), jump j (input pixels between neighbouring units) and start
(the input coordinate of the first pixel unit 0 sees; negative when it lies in the padding):

    r_out = r_in + (k − 1)·j_in      j_out = j_in·s      start_out = start_in − p·j_in

with k the kernel, s the stride and p the top (or left) padding of a conv or pooling layer.
Element-wise layers keep their input's field; after Flatten or Dense every unit sees the whole
input (``whole`` is True).
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import shapes


@dataclass(frozen=True)
class Field:
    """The receptive field of one layer's units; (height, width) pairs for size, jump, start."""
    name: str
    kind: str
    size: tuple
    jump: tuple
    start: tuple
    whole: bool = False
    how: str = ""            # the formulas with this layer's numbers, e.g. 'r = 5 + (2 − 1)·1 = 6; j = 1·2 = 2'

    def formula(self) -> str:
        """The field as text, e.g. 'r = 6, j = 2, start = 0'; a pair when the axes differ."""
        if self.whole:
            return "r = all"
        return ", ".join(f"{symbol} = {_pair_text(values)}" for symbol, values in
                         (("r", self.size), ("j", self.jump), ("start", self.start)))


def _pair_text(values) -> str:
    return str(values[0]) if values[0] == values[1] else f"{values[0]}×{values[1]}"


def _step(field: Field, row: shapes.LayerRow) -> Field:
    """The field of ``row``'s output from the field of its input."""
    if field.whole or row.output_chw is None or len(row.output_chw) != 3:
        return Field(row.name, row.kind, field.size, field.jump, field.start, whole=True)
    if row.kernel_hw is None:
        return Field(row.name, row.kind, field.size, field.jump, field.start)
    top, _, left, _ = row.padding_tblr
    size = tuple(r + (k - 1) * j for r, k, j in zip(field.size, row.kernel_hw, field.jump))
    jump = tuple(j * s for j, s in zip(field.jump, row.stride_hw))
    start = tuple(a - p * j for a, p, j in zip(field.start, (top, left), field.jump))
    axes = [f"r = {r} + ({k} − 1)·{j} = {r + (k - 1) * j}; j = {j}·{s} = {j * s}"
            for r, k, j, s in zip(field.size, row.kernel_hw, field.jump, row.stride_hw)]
    how = axes[0] if axes[0] == axes[1] else f"H: {axes[0]}\nW: {axes[1]}"
    return Field(row.name, row.kind, size, jump, start, how=how)


def receptive_fields(rows) -> tuple:
    """One Field per row of a shape table (``shapes.summarize(...)`` or ``model.summary()``);
    the table stops at its first error row, and so do the fields."""
    field = Field("input", "input", (1, 1), (1, 1), (0, 0))
    fields = []
    for row in rows:
        if row.error is not None:
            break
        field = _step(field, row)
        fields.append(field)
    return tuple(fields)


def model_fields(model) -> tuple:
    """receptive_fields of a Sequential, one per layer."""
    return receptive_fields(model.summary())


def input_window(field: Field, row: int, col: int, input_hw) -> tuple:
    """The input pixels unit (row, col) sees, clipped to the image: (top, bottom, left, right),
    inclusive bounds; the whole image for a field that is ``whole``."""
    height, width = input_hw
    if field.whole:
        return 0, height - 1, 0, width - 1
    top = field.start[0] + row * field.jump[0]
    left = field.start[1] + col * field.jump[1]
    return (max(top, 0), min(top + field.size[0] - 1, height - 1),
            max(left, 0), min(left + field.size[1] - 1, width - 1))


def units_seeing(field: Field, pixel_row: int, pixel_col: int, output_hw) -> tuple:
    """The (row_lo, row_hi, col_lo, col_hi) units (inclusive) whose field holds input pixel
    (pixel_row, pixel_col): the inverse of input_window, for highlighting a layer between."""
    if field.whole:
        return 0, output_hw[0] - 1, 0, output_hw[1] - 1
    bounds = []
    for pixel, start, jump, size, count in zip((pixel_row, pixel_col), field.start, field.jump, field.size, output_hw):
        low = max(0, -(-(pixel - start - size + 1) // jump))
        high = min(count - 1, (pixel - start) // jump)
        bounds += [low, high]
    return tuple(bounds)


def windows_below(rows, layer_index: int, row: int, col: int) -> tuple:
    """What unit (row, col) of layer ``layer_index`` sees in the input and in the output of
    every layer before it: ((top, bottom, left, right) of the input, then of layer 0, ...,
    layer_index − 1), each window computed with the fields of the layers in between."""
    rows = list(rows)
    windows = []
    for below in range(-1, layer_index):
        between = receptive_fields(rows[below + 1:layer_index + 1])
        source = rows[0].input_chw if below < 0 else rows[below].output_chw
        if len(between) != layer_index - below or source is None or len(source) != 3:
            windows.append(None)            # a flat vector below, or an error row on the way
            continue
        windows.append(input_window(between[-1], row, col, source[1:]))
    return tuple(windows)
