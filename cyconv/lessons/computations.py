"""The worked numbers of a lesson, computed by the engine, never typed in.

A pack names a computation and its inputs, ``{"compute": "conv_output", "input": [[...]],
"kernel": [[...]], "stride": 2}``, and :func:`compute` returns a dict of named results
(``output``, ``size``, ``params`` ...). Lesson texts show them as ``{name.field}``. Every
computation calls the engine (:mod:`cyconv.reference`, :mod:`cyconv.shapes`,
:mod:`cyconv.presets`), so a lesson can never teach a number the engine disagrees with.
"""
from __future__ import annotations

import numpy as np

from .. import presets, reference, shapes
from ..lab.texts.glossary import GLOSSARY
from ..schema.checks import pair

__all__ = ["COMPUTATIONS", "compute"]


class ComputeError(ValueError):
    """A computation's inputs are wrong; the message names the computation and the key."""


def _matrix(params, key, name):
    value = params.get(key)
    try:
        array = np.asarray(value, dtype=np.float64) if value is not None else None
    except (ValueError, TypeError):
        array = None              # ragged rows or text: explained below
    if array is None or array.ndim != 2 or array.size == 0:
        raise ComputeError(f"{name}: {key!r} must be a non-empty matrix (a list of equal rows), "
                           f"got {value!r}")
    return array


def _whole(array):
    """Integers stay integers (144, not 144.0) so the texts read as a student writes them."""
    rounded = np.rint(array)
    if np.allclose(array, rounded):
        return rounded.astype(int).tolist()
    return np.round(array, 4).tolist()


def _sides(padding, name):
    return shapes.normalize_padding(padding, None, None, None, name)


def conv_output(params):
    """One filter over one map, by :func:`cyconv.reference.conv2d_forward`."""
    x = _matrix(params, "input", "conv_output")
    w = _matrix(params, "kernel", "conv_output")
    stride = pair(params.get("stride", 1), "stride", "conv_output")
    sides = _sides(params.get("padding", 0), "conv_output")
    mode = params.get("padding_mode", "zeros")
    out = reference.conv2d_forward(x[None, None], w[None, None], None, stride, sides, mode)[0, 0]
    rows = _whole(out)
    return {"output": rows, "shape": "×".join(map(str, out.shape)), "value": rows[0][0],
            "last": rows[-1][-1], "centre": rows[len(rows) // 2][len(rows[0]) // 2],
            "rows": out.shape[0], "first_row": rows[0]}


def pool_output(params):
    """Max, average or min pooling of one map, by :func:`cyconv.reference.pool2d_forward`."""
    x = _matrix(params, "input", "pool_output")
    kind = params.get("kind", "max")
    if kind not in ("max", "avg", "min"):
        raise ComputeError(f"pool_output: 'kind' must be max, avg or min, got {kind!r}")
    size = pair(params.get("size", 2), "size", "pool_output")
    stride = pair(params.get("stride", params.get("size", 2)), "stride", "pool_output")
    out, _ = reference.pool2d_forward(x[None, None], kind, size, stride)
    return {"output": _whole(out[0, 0]), "shape": "×".join(map(str, out.shape[2:])),
            "value": _whole(out[0, 0])[0][0]}


def output_size(params):
    """OH = (H + 2P − F)/S + 1 by :func:`cyconv.shapes.conv_output_size`, with the formula."""
    size = params.get("size")
    if not isinstance(size, int):
        raise ComputeError(f"output_size: 'size' must be a whole number, got {size!r}")
    kernel = params.get("kernel")
    stride = params.get("stride", 1)
    before, after = params.get("pad_before", params.get("padding", 0)), params.get(
        "pad_after", params.get("padding", 0))
    out = shapes.conv_output_size(size, before, after, kernel, stride, layer="output_size")
    exact = (size + before + after - kernel) / stride + 1
    return {"size": out, "exact": _whole(np.array(exact)), "whole": float(exact).is_integer(),
            "formula": shapes.formula_text(size, before, after, kernel, stride, out)}


def inner_product(params):
    """The sum of the element-wise products of two equal matrices (one convolution step)."""
    a, b = _matrix(params, "a", "inner_product"), _matrix(params, "b", "inner_product")
    if a.shape != b.shape:
        raise ComputeError(f"inner_product: 'a' is {a.shape} but 'b' is {b.shape}")
    return {"value": _whole(np.array(np.sum(a * b)))}


def _network(params, name):
    if "preset" in params:
        return presets.configs(params["preset"])
    if "input_shape" not in params or "layers" not in params:
        raise ComputeError(f"{name}: give 'preset' or both 'input_shape' and 'layers'")
    return tuple(params["input_shape"]), [dict(layer) for layer in params["layers"]]


def _shape_text(hwc):
    return "×".join(f"{n:,}" for n in hwc)


def shape_table(params):
    """The shape engine's table of a network: per layer output (H×W×C), params, formula."""
    input_shape, layers = _network(params, "shape_table")
    summary = shapes.summarize(layers, input_shape)
    if not summary.ok:
        raise ComputeError(f"shape_table: {summary.errors[0]}")
    result = {"total_params": summary.total_params, "weights": summary.total_weights,
              "biases": summary.total_biases, "table": _table_text(summary, _HEADERS["en"]),
              "table_ko": _table_text(summary, _HEADERS["ko"]),
              "output": _shape_text(summary.output_shape)}
    for row in summary:
        result[f"{row.name}.output"] = _shape_text(row.output_hwc)
        result[f"{row.name}.params"] = row.params
        result[f"{row.name}.params_formula"] = row.params_formula
        result[f"{row.name}.formula"] = row.formula
    return result


#: The table's column names and total, per language (the glossary's words).
_HEADERS = {"en": ("layer", "output (H×W×C)", "params", "total"),
            "ko": (GLOSSARY["layer"][1], "출력 (H×W×C)", GLOSSARY["parameter"][1], "합계")}


def _table_text(summary, headers):
    layer, output, params, total = headers
    lines = [f"{layer:<10} {output:<16} {params}"]
    for row in summary:
        lines.append(f"{row.name:<10} {_shape_text(row.output_hwc):<16} {row.params:,}")
    lines.append(f"{total:<10} {'':<16} {summary.total_params:,}")
    return "\n".join(lines)


def forgotten_channels(params):
    """What a count gets when it forgets input channels and biases (filter area × filters for
    a conv, inputs × outputs for a dense layer): the slip the lesson explains."""
    input_shape, layers = _network(params, "forgotten_channels")
    summary = shapes.summarize(layers, input_shape)
    conv = sum(r.kernel_hw[0] * r.kernel_hw[1] * r.output_chw[0]
               for r in summary if r.kind == "Conv2D")
    dense = sum(r.weights for r in summary if r.kind == "Dense")
    return {"conv": conv, "dense": dense, "total": conv + dense}


def network_error(params):
    """What the shape engine says about a network that cannot be built (e.g. a Dense layer
    on a 3-D feature map because the Flatten is missing); "" when it can."""
    input_shape, layers = _network(params, "network_error")
    summary = shapes.summarize(layers, input_shape)
    return {"error": summary.errors[0] if summary.errors else "",
            "layer": next((row.name for row in summary if row.error), "")}


def dense_params(params):
    """Weights and biases of a chain of dense layers of the given widths."""
    widths = params.get("widths")
    if not isinstance(widths, list) or len(widths) < 2:
        raise ComputeError(f"dense_params: 'widths' must list at least two layer widths, got {widths!r}")
    layers = [{"type": "Dense", "in_features": a, "out_features": b}
              for a, b in zip(widths, widths[1:])]
    summary = shapes.summarize(layers, (widths[0],))
    return {"weights": summary.total_weights, "total_params": summary.total_params}


COMPUTATIONS = {"conv_output": conv_output, "pool_output": pool_output,
                "output_size": output_size, "inner_product": inner_product,
                "shape_table": shape_table, "forgotten_channels": forgotten_channels,
                "dense_params": dense_params, "network_error": network_error}


def compute(params: dict) -> dict:
    """The results of the computation ``params["compute"]`` names (see COMPUTATIONS)."""
    name = params.get("compute")
    if name not in COMPUTATIONS:
        raise ComputeError(f"'compute' must be one of {', '.join(COMPUTATIONS)}, got {name!r}")
    try:
        return COMPUTATIONS[name](params)
    except ComputeError:
        raise
    except (ValueError, TypeError) as error:
        raise ComputeError(f"{name}: {error}") from None
