"""One row of the shape table per layer: output shape, formula, parameters, MACs, warnings.

Which rule a layer follows, its keys and their checks come from :mod:`cyconv.schema`; this
module only computes. Invalid geometry raises :class:`ShapeError` (a ``ValueError``) whose
message names the layer, the shapes and the formula with the numbers filled in.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

from .. import schema
from ..schema import ShapeError
from ..schema.checks import describe, is_int
from .geometry import DOT, check_padding_reach, normalize_padding, pool_window_geometry
from .geometry import window_geometry
from .geometry import number_text as _num
from .names import check_configs, explicit_name, plan_names

__all__ = ["LayerRow", "check_input_shape", "hwc", "layer_row", "layer_rows", "output_shape"]


def hwc(shape):
    if shape is None:
        return None
    if len(shape) == 3:
        c, h, w = shape
        return h, w, c
    return tuple(shape)


@dataclasses.dataclass(frozen=True)
class LayerRow:
    """One line of the shape table.

    Shapes are tuples: ``(C, H, W)`` / ``(H, W, C)`` for images, ``(D,)`` for vectors; the
    outputs are None on an error row. ``formula`` holds the OH and OW formulas joined with
    "; " ("" for layers without one). ``macs`` counts multiply-adds per sample. ``share`` is
    this layer's fraction (0..1) of the table's total parameters, set by :func:`layer_rows`.
    ``kernel_hw``, ``stride_hw`` and ``padding_tblr`` are the normalized geometry of conv and
    pooling layers (None for the others); a Residual block's ``stride_hw`` is its projection's
    stride (None without a projection) and ``inner`` holds its inner layers' rows.
    """

    name: str
    kind: str
    input_chw: tuple | None
    output_chw: tuple | None
    formula: str = ""
    weights: int = 0
    biases: int = 0
    params_formula: str = "0"
    macs: int = 0
    warnings: tuple = ()
    error: str | None = None
    share: float | None = None
    kernel_hw: tuple | None = None
    stride_hw: tuple | None = None
    padding_tblr: tuple | None = None
    inner: tuple = ()               # a block's (Residual's) rows of its inner layers
    # Derived, but stored as fields so that dataclasses.asdict() (the app, JSON) includes them.
    params: int = dataclasses.field(init=False)
    input_hwc: tuple | None = dataclasses.field(init=False)
    output_hwc: tuple | None = dataclasses.field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "params", self.weights + self.biases)
        object.__setattr__(self, "input_hwc", hwc(self.input_chw))
        object.__setattr__(self, "output_hwc", hwc(self.output_chw))

    @property
    def ok(self):
        return self.error is None


def check_input_shape(shape, what="input_shape"):
    """A validated ``(C, H, W)`` or ``(D,)`` tuple of positive ints."""
    if not isinstance(shape, (tuple, list)):
        raise TypeError(f"{what} must be a tuple (C, H, W) or (D,), got {describe(shape)}")
    if len(shape) == 2:
        raise ValueError(f"{what} must be (C, H, W) or (D,), got {tuple(shape)!r}; for a "
                         f"grayscale image add the channel: (1, {shape[0]}, {shape[1]})")
    if len(shape) not in (1, 3):
        raise ValueError(f"{what} must be (C, H, W) for images or (D,) for vectors, "
                         f"got {tuple(shape)!r}")
    for item in shape:
        if not is_int(item):
            raise TypeError(f"{what} must hold ints, got {describe(item)} in {shape!r}")
        if item < 1:
            raise ValueError(f"{what} must hold sizes of at least 1, got {tuple(shape)!r}")
    return tuple(int(item) for item in shape)



def _require_input(entry, shape, layer):
    """The input kind the schema entry needs: an image (C, H, W) or a flat vector (D,)."""
    if entry.needs == "image" and len(shape) != 3:
        raise ShapeError(f"{layer}: {entry.needs_text} needs an image input (C, H, W), got "
                         f"the flat vector {shape!r}; put it before the Flatten layer")
    if entry.needs == "vector" and len(shape) != 1:
        c, h, w = shape
        raise ShapeError(f"{layer}: {entry.needs_text} needs a flat vector, got (C, H, W) = "
                         f"{shape!r}; {entry.needs_advice} (Flatten gives "
                         f"{_num(c * h * w)} = {c}{DOT}{h}{DOT}{w})")


def _check_inferred(entry, values, shape, layer):
    """A given in_channels / in_features must equal what the input has."""
    for key in entry.inferred_keys:
        given = values[key]
        if given is None or given == shape[0]:
            continue
        if len(shape) == 3:
            raise ShapeError(f"{layer}: {key} = {given} but the input (C, H, W) = {shape!r} "
                             f"has {shape[0]} channel(s); it must equal the previous layer's "
                             f"output channels")
        raise ShapeError(f"{layer}: {key} = {_num(given)} but the input {shape!r} has "
                         f"{_num(shape[0])} features; it must equal the flattened size of the "
                         f"previous layer's output")


def _params_formula(factors, bias_count, total):
    """'4·4·1·20 + 20 = 340' (or without the bias term)."""
    product = DOT.join(_num(f) for f in factors)
    bias = f" + {_num(bias_count)}" if bias_count else ""
    return f"{product}{bias} = {_num(total)}"


def _param_fields(entry, values, shape, output):
    """weights, biases, their formula and the multiply-adds of a layer with parameters."""
    if not entry.has_params:
        return {}
    # The first array counts as the weights (W, gamma), the others as biases (b, beta).
    first, *others = entry.param_shapes(values, shape).values()
    weights = math.prod(first)
    biases = sum(math.prod(other) for other in others)
    positions = output[1] * output[2] if len(output) == 3 else 1
    return {"weights": weights, "biases": biases, "macs": weights * positions,
            "params_formula": _params_formula(entry.param_factors(values, shape), biases,
                                              weights + biases)}


def _window(entry, values, shape, name):
    """Conv and pooling: output (C', OH, OW), formulas, warnings and the resolved geometry."""
    channels, height, width = shape
    kernel_hw, stride_hw = values["kernel_size"], values["stride"]
    if entry.shape_rule == "conv":
        dilation = values.get("dilation", (1, 1))
        # The dilated kernel spans D·(K − 1) + 1 pixels: that is what the window rule sees.
        span = tuple(d * (k - 1) + 1 for d, k in zip(dilation, kernel_hw))
        padding = normalize_padding(values["padding"], span, stride_hw, (height, width),
                                    name)
        check_padding_reach(values["padding_mode"], padding, (height, width), name)
        channels = values["out_channels"]
        if dilation != (1, 1):
            (out_h, out_w), formula, warnings = window_geometry(
                (height, width), span, stride_hw, padding, name, omit_zero_padding=False)
            formula = "; ".join(f"{part} (dilated kernel {d}·({k} − 1) + 1 = {s})"
                                for part, d, k, s in zip(formula.split("; "), dilation,
                                                         kernel_hw, span))
            return (channels, out_h, out_w), {"formula": formula, "warnings": warnings,
                                              "kernel_hw": kernel_hw, "stride_hw": stride_hw,
                                              "padding_tblr": padding}
    else:
        ph, pw = values["padding"]
        padding = (ph, ph, pw, pw)
        if values.get("ceil_mode") or values.get("dilation", (1, 1)) != (1, 1):
            (out_h, out_w), formula = pool_window_geometry(
                (height, width), kernel_hw, stride_hw, (ph, pw), values.get("dilation", (1, 1)),
                values.get("ceil_mode", False), name)
            return (channels, out_h, out_w), {"formula": formula, "kernel_hw": kernel_hw,
                                              "stride_hw": stride_hw, "padding_tblr": padding}
    (out_h, out_w), formula, warnings = window_geometry(
        (height, width), kernel_hw, stride_hw, padding, name,
        omit_zero_padding=entry.shape_rule == "pool")
    return (channels, out_h, out_w), {"formula": formula, "warnings": warnings,
                                      "kernel_hw": kernel_hw, "stride_hw": stride_hw,
                                      "padding_tblr": padding}


def _output(entry, values, shape, name):
    if entry.shape_rule in ("conv", "pool"):
        return _window(entry, values, shape, name)
    if entry.shape_rule == "dense":
        return (values["out_features"],), {}
    if entry.shape_rule == "global_pool":
        c, h, w = shape
        return (c,), {"formula": f"{c} means of {h}{DOT}{w} = {_num(h * w)} values"}
    if entry.shape_rule == "flatten" and len(shape) == 3:
        c, h, w = shape
        return (c * h * w,), {"formula": f"{_num(c * h * w)} = {c}{DOT}{h}{DOT}{w}"}
    return shape, {}


def _projection_stride(size, out):
    """The stride s of a 1×1 convolution taking ``size`` to ``out``: (size − 1)//s + 1 = out."""
    for stride in range(1, size + 1):
        if (size - 1) // stride + 1 == out:
            return stride
    return None


def _residual_row(values, shape, name):
    """A Residual block: its inner rows, and the 1×1 projection when they change the shape."""
    try:
        inner = tuple(layer_rows(values["layers"], shape, partial=False))
    except ShapeError as error:
        raise ShapeError(f"{name} › {error}") from None
    except (ValueError, TypeError) as error:
        raise type(error)(f"{name} › {error}") from None
    out = inner[-1].output_chw
    fields = {"weights": sum(r.weights for r in inner), "biases": sum(r.biases for r in inner),
              "macs": sum(r.macs for r in inner), "inner": inner}
    inner_params = fields["weights"] + fields["biases"]
    if out == shape:
        return out, {**fields, "formula": "out = f(x) + x",
                     "params_formula": f"{_num(inner_params)} (the inner layers)"}
    stride = (tuple(_projection_stride(s, o) for s, o in zip(shape[1:], out[1:]))
              if len(out) == 3 else (None,))
    if None in stride:
        raise ShapeError(f"{name}: the inner layers map {shape!r} to {out!r}; the shortcut "
                         f"x must be added to f(x), and no 1×1 projection with a stride "
                         f"gives {out!r} (out = (H − 1)//S + 1 per axis)")
    weights, biases = shape[0] * out[0], out[0]
    fields.update(weights=fields["weights"] + weights, biases=fields["biases"] + biases,
                  macs=fields["macs"] + weights * out[1] * out[2], stride_hw=stride)
    formula = (f"out = f(x) + P(x), P: 1×1 conv stride {stride[0]}×{stride[1]}, "
               f"{shape[0]} → {out[0]} channels")
    total = inner_params + weights + biases
    return out, {**fields, "formula": formula,
                 "params_formula": f"{_num(inner_params)} + 1{DOT}1{DOT}{shape[0]}{DOT}"
                                   f"{out[0]} + {out[0]} = {_num(total)}"}


def _compute_row(config, shape, name):
    entry = schema.check_type(config, name)
    values = schema.check_config(config, name)
    _require_input(entry, shape, name)
    if entry.shape_rule == "residual":
        output, fields = _residual_row(values, shape, name)
        return LayerRow(name=name, kind=entry.type_name, input_chw=shape, output_chw=output,
                        **fields)
    _check_inferred(entry, values, shape, name)
    output, fields = _output(entry, values, shape, name)
    fields.update(_param_fields(entry, values, shape, output))
    return LayerRow(name=name, kind=entry.type_name, input_chw=shape, output_chw=output,
                    **fields)


def layer_row(config, input_shape, name=None):
    """The :class:`LayerRow` of one layer config applied to ``input_shape`` ((C, H, W) or (D,)).

    ``name`` defaults to the config's "name", else the default name of a lone layer (conv1,
    ...). Raises :class:`ShapeError` on invalid geometry or a channel/feature mismatch,
    ``ValueError``/``TypeError`` on a malformed config.
    """
    shape = check_input_shape(input_shape)
    if name is None:
        name = explicit_name(config)
    if name is None:
        name = plan_names([config])[0][0]
    return _compute_row(config, shape, name)


def output_shape(config, input_shape):
    """The output shape of one layer config: ``(C, OH, OW)`` or ``(D,)`` (raises like layer_row)."""
    return layer_row(config, input_shape).output_chw


def _error_row(config, name, shape, error):
    kind = config.get("type") if isinstance(config, Mapping) else None
    return LayerRow(name=name, kind=kind if isinstance(kind, str) else "?", input_chw=shape,
                    output_chw=None, error=str(error))


def _with_shares(rows):
    total = sum(row.params for row in rows)
    return [dataclasses.replace(row, share=(row.params / total if total else 0.0))
            for row in rows]


def layer_rows(configs, input_shape, *, partial=True):
    """A :class:`LayerRow` per config, each fed the previous layer's output shape.

    ``partial=True`` (for the app while a network is edited): stop at the first layer that
    fails and append an error row for it (``error`` set, outputs None), like torchinfo but with
    the formula. ``partial=False``: raise that layer's error instead. An invalid
    ``input_shape`` always raises ``ValueError``/``TypeError``.
    """
    shape = check_input_shape(input_shape)
    configs = check_configs(configs)
    rows = []
    for (name, name_problem), config in zip(plan_names(configs), configs):
        try:
            if name_problem:
                raise ValueError(f"{name}: {name_problem}")
            row = _compute_row(config, shape, name)
        except (ValueError, TypeError) as error:
            if not partial:
                raise
            rows.append(_error_row(config, name, shape, error))
            break
        rows.append(row)
        shape = row.output_chw
    return _with_shares(rows)
