"""Geometry of a network without arrays: output sizes, the formulas as text, parameters, MACs.

Everything here works on layer *configs* (the plain dicts of ``docs/design.md``) and on shapes
written as tuples, so the lab app can call it on every keystroke while a network is edited.
It is pure Python (standard library only), imports no NumPy, Qt or compiled kernel, and never
leaves a bad config unexplained: invalid geometry raises :class:`ShapeError` (a
``ValueError``) whose message names the layer, the shapes and the formula with the numbers
filled in. What each layer type is (keys, checks, shape rule) comes from :mod:`cyconv.schema`.

- :mod:`.geometry`: output sizes, padding normalisation, the formulas as text;
- :mod:`.rows`: one :class:`LayerRow` per layer (params, MACs, warnings), names;
- :mod:`.summary`: the printable table.

Shapes: an image is ``(C, H, W)`` (the engine's NCHW without N); a flat vector is ``(D,)``.
The table also shows ``(H, W, C)`` because that is how textbooks and Keras write shapes.

>>> rows = summarize([{"type": "Conv2D", "out_channels": 20, "kernel_size": 4}], (1, 39, 31))
>>> rows[0].output_hwc, rows[0].params
((36, 28, 20), 340)
>>> rows[0].formula
'OH = (39 + 2·0 − 4)/1 + 1 = 36; OW = (31 + 2·0 − 4)/1 + 1 = 28'
"""
from ..schema import LAYER_TYPES, ShapeError
from ..schema.checks import pair
from .geometry import PADDING_MODES, conv_output_size, formula_text, normalize_padding
from .names import default_names
from .rows import LayerRow, layer_row, layer_rows, output_shape
from .summary import Summary, summarize

__all__ = [
    "LAYER_TYPES",
    "PADDING_MODES",
    "LayerRow",
    "ShapeError",
    "Summary",
    "conv_output_size",
    "default_names",
    "formula_text",
    "layer_row",
    "layer_rows",
    "normalize_padding",
    "output_shape",
    "pair",
    "summarize",
]
