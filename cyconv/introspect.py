"""Read-only copies of what a network holds and computes, for any viewer (the lab app, notebooks).

Everything returned here is a *copy* marked read-only (``flags.writeable = False``): a viewer
in another thread can keep it while training goes on and cannot change the model through it.
No Qt here (cyconv never imports Qt).

Kinds of layer output (as the course material names them):

- ``"feature_map"``: the output of a Conv2D, before any activation function;
- ``"activation_map"``: the output of an activation function applied to a conv layer's feature
  map, possibly through pooling/LRN/dropout in between;
- ``"pooled"``, ``"normalized"`` (LRN), ``"dropout"``: maps after those layers;
- ``"vector"``: Flatten and hidden Dense outputs; ``"activation"``: an activation of a vector;
- ``"logits"``: the last Dense layer's class scores; ``"probabilities"``: a Softmax output.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import schema
from ._arrays import read_only

__all__ = ["ConvLayerView", "activations", "conv_layers", "filters", "layer_kinds"]

# The output kind of each schema role; "activation" and "dense" depend on the position.
_ROLE_KINDS = {"conv": "feature_map", "pool": "pooled", "norm": "normalized",
               "dropout": "dropout", "softmax": "probabilities", "flatten": "vector",
               "block": "feature_map"}
# Roles that keep a conv layer's maps "spatial" for the activation-map naming.
_KEEPS_MAPS = ("conv", "activation", "pool", "norm", "dropout", "block")


@dataclass(frozen=True)
class ConvLayerView:
    """A conv layer's parameters and geometry, copied.

    weights (F, C, KH, KW); bias (F,) or None; stride (SH, SW); padding (top, bottom, left,
    right) resolved for this layer's input; input_chw and output_chw (C, H, W).
    """
    name: str
    weights: np.ndarray
    bias: np.ndarray | None
    stride: tuple
    padding: tuple
    padding_mode: str
    input_chw: tuple
    output_chw: tuple


def filters(model) -> list[tuple[str, np.ndarray]]:
    """``(layer_name, W copy (F, C, KH, KW))`` for every Conv2D layer, in order."""
    return [(name, read_only(layer.params["W"])) for name, layer in model.named_layers()
            if schema.spec(layer.type_name).role == "conv"]


def conv_layers(model) -> list[ConvLayerView]:
    """Every Conv2D layer's weights, bias and resolved geometry (for step-through views)."""
    rows = {row.name: row for row in model.summary()}
    views = []
    for name, layer in model.named_layers():
        if schema.spec(layer.type_name).role != "conv":
            continue
        row = rows[name]
        bias = layer.params.get("b")
        views.append(ConvLayerView(
            name=name, weights=read_only(layer.params["W"]),
            bias=None if bias is None else read_only(bias),
            stride=tuple(row.stride_hw), padding=tuple(row.padding_tblr),
            padding_mode=layer.padding_mode, input_chw=tuple(row.input_chw),
            output_chw=tuple(row.output_chw)))
    return views


def _kind(role, index, last_dense, count, after_conv):
    if role == "activation":
        return "activation_map" if after_conv else "activation"
    if role == "dense":
        return "logits" if index == last_dense and index >= count - 2 else "vector"
    return _ROLE_KINDS[role]


def layer_kinds(model) -> list[str]:
    """The kind (see the module docstring) of every layer's output, in order."""
    roles = [schema.spec(layer.type_name).role for layer in model.layers]
    last_dense = max((i for i, role in enumerate(roles) if role == "dense"), default=None)
    kinds = []
    after_conv = False        # are we still on maps that came from a conv layer?
    for index, role in enumerate(roles):
        after_conv = role == "conv" or (after_conv and role in _KEEPS_MAPS)
        kinds.append(_kind(role, index, last_dense, len(roles), after_conv))
    return kinds


def activations(model, x1) -> list[tuple[str, str, np.ndarray]]:
    """Every layer's output for one sample ``x1`` (C, H, W), in inference mode.

    Returns ``(layer_name, kind, array)`` with array (C, H, W) for maps or (D,) for vectors.
    Runs the model's forward pass: call it from the thread that owns the model.
    """
    x1 = np.asarray(x1)
    if x1.shape != tuple(model.input_shape):
        raise ValueError(f"activations: the sample must have the model's input shape {tuple(model.input_shape)}, "
                         f"got {x1.shape} (pass one sample, without the batch axis)")
    trace = model.forward_trace(x1[np.newaxis])
    return [(name, kind, read_only(output[0])) for (name, output), kind in zip(trace, layer_kinds(model))]
