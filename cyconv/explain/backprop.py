"""The backward pass of one sample, layer by layer from the loss down, with real numbers.

Every gradient is the engine's own (each layer's compiled backward, and the fused softmax
cross-entropy of cyconv.functional); each step also holds

- ``differences``: the largest |engine − cyconv.reference| of each gradient array (the NumPy
  twin run in float64 on the same inputs), and
- ``checks``: a few single numbers worked out by hand from their formula, next to the
  engine's value (dL/dz = softmax(z) − onehot(y); dW = dout ⊗ x; a max-pooling window's
  winner; one pixel of a convolution's dx as a full convolution with the flipped filter).

The walk runs on a private copy of the model, so the caller's caches and grads stay as they
were; dropout is the identity here, as at test time.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from .. import functional as F
from .. import reference
from .._arrays import read_only, softmax
from . import _hand
from ._geometry import window

LOSS_KIND = "SoftmaxCrossEntropy"


@dataclass(frozen=True)
class Check:
    """One number: what it is (a formula with indices), the engine's value, the one by hand."""
    what: str
    engine: float
    by_hand: float


@dataclass(frozen=True)
class Step:
    """One layer of the backward pass (or the loss, ``kind`` = LOSS_KIND): its forward input
    ``x`` and output ``y``, the gradient ``dout`` arriving from above (None for the loss), the
    engine's ``dx`` it passes down, its parameter ``grads`` by name ('W', 'b'), ``differences``
    (name -> largest |engine − reference|, 'dx' included), ``detail`` (arrays and indices of
    the worked example, per kind) and ``checks``. The sample axis is dropped throughout."""
    layer: str
    kind: str
    x: np.ndarray
    y: np.ndarray
    dout: np.ndarray | None
    dx: np.ndarray
    grads: MappingProxyType
    differences: MappingProxyType
    detail: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    checks: tuple = ()

    @property
    def largest_difference(self) -> float:
        return max(self.differences.values(), default=0.0)


@dataclass(frozen=True)
class Walk:
    """The whole backward pass of one sample: ``steps[0]`` is the loss, then the layers from
    the last to the first."""
    label: int
    loss: float
    probabilities: np.ndarray
    steps: tuple


def backprop_walk(model, image, label: int) -> Walk:
    """Walk the backward pass of ``model`` for one ``image`` (C, H, W) of class ``label``."""
    image = np.asarray(image)
    if image.shape != tuple(model.input_shape):
        raise ValueError(f"backprop_walk: image must be {tuple(model.input_shape)} (C, H, W), got {image.shape}")
    classes = int(model.output_shape[0])
    if not isinstance(label, (int, np.integer)) or not 0 <= label < classes:
        raise ValueError(f"backprop_walk: label must be a class index in [0, {classes - 1}], got {label!r}")
    net = copy.deepcopy(model)
    inputs, outputs = _forward(net, image[None].astype(net.dtype))
    logits = outputs[-1]
    loss, dlogits = F.softmax_cross_entropy(logits, np.array([label]))
    steps = [_loss_step(logits, int(label), dlogits)]
    dout = dlogits
    for index in range(len(net.layers) - 1, -1, -1):
        layer = net.layers[index]
        step = _layer_step(layer, inputs[index], outputs[index], dout)
        steps.append(step)
        dout = step.dx[None]
    return Walk(label=int(label), loss=float(loss), probabilities=read_only(softmax(logits[0])), steps=tuple(steps))


def _forward(net, x):
    """Each layer's input and output for x (1, C, H, W), with caches kept for backward."""
    inputs, outputs = [], []
    for layer in net.layers:
        inputs.append(x)
        x = layer.forward(x, training=layer.type_name != "Dropout")
        outputs.append(x)
    return inputs, outputs


def _frozen(mapping: dict) -> MappingProxyType:
    return MappingProxyType({key: (read_only(value) if isinstance(value, np.ndarray) else value)
                             for key, value in mapping.items()})


def _largest(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)))) if np.size(a) else 0.0


def _loss_step(logits, label: int, dlogits) -> Step:
    z = logits.astype(np.float64)
    _, expected = reference.softmax_cross_entropy(z, np.array([label]))
    probabilities = softmax(z[0])
    onehot = np.eye(z.shape[1])[label]
    checks = tuple(Check(f"dL/dz[{k}] = p[{k}] − y[{k}] = {probabilities[k]:.4f} − {onehot[k]:.0f}",
                         float(dlogits[0, k]), float(probabilities[k] - onehot[k])) for k in range(z.shape[1]))
    return Step(layer="loss", kind=LOSS_KIND, x=read_only(logits[0]), y=read_only(probabilities), dout=None,
                dx=read_only(dlogits[0]), grads=_frozen({}), differences=_frozen({"dx": _largest(dlogits, expected)}),
                detail=_frozen({"probabilities": probabilities, "onehot": onehot, "label": label}), checks=checks)


def _layer_step(layer, x, y, dout) -> Step:
    kind = layer.type_name
    if kind == "Dropout":
        dx = dout                                # the identity at test time
    else:
        dx = layer.backward(dout) if kind not in ("Conv2D", "Dense") else layer.backward(dout, need_dx=True)
    grads = {key: value for key, value in layer.grads.items()}
    expected = _reference_backward(layer, x, y, dout)
    differences = {"dx": _largest(dx, expected["dx"])} if "dx" in expected else {}
    for key, value in grads.items():
        if key in expected:
            differences[key] = _largest(value, expected[key])
    detail, checks = _hand.explain(layer, x[0], y[0], dout[0], dx[0], grads)
    return Step(layer=layer.name, kind=kind, x=read_only(x[0]), y=read_only(y[0]), dout=read_only(dout[0]),
                dx=read_only(dx[0]), grads=_frozen(grads), differences=_frozen(differences),
                detail=_frozen(detail), checks=tuple(Check(*c) for c in checks))


def _reference_backward(layer, x, y, dout) -> dict:
    """The NumPy reference's gradients of ``layer`` in float64: {'dx': ..., 'W': ..., 'b': ...}."""
    x, y, dout = (np.asarray(a, np.float64) for a in (x, y, dout))
    kind = layer.type_name
    if kind == "Conv2D":
        w = layer.params["W"].astype(np.float64)
        _, stride, pads, _ = window(layer, x.shape[1:])
        dx, dw, db = reference.conv2d_backward(dout, x, w, stride, pads, layer.padding_mode, "b" in layer.params)
        return {"dx": dx, "W": dw, **({"b": db} if db is not None else {})}
    if kind == "Dense":
        dx, dw, db = reference.dense_backward(dout, x, layer.params["W"].astype(np.float64), "b" in layer.params)
        return {"dx": dx, "W": dw, **({"b": db} if db is not None else {})}
    if kind in ("MaxPool2D", "AvgPool2D", "MinPool2D"):
        pool = kind[:3].lower()
        kernel, stride, pads, _ = window(layer, x.shape[1:])
        _, arg = reference.pool2d_forward(x, pool, kernel, stride, pads)
        return {"dx": reference.pool2d_backward(dout, x.shape, pool, kernel, stride, pads, arg)}
    simple = {
        "ReLU": lambda: reference.relu_backward(dout, x),
        "LeakyReLU": lambda: reference.leaky_relu_backward(dout, x, layer.negative_slope),
        "Sigmoid": lambda: reference.sigmoid_backward(dout, y),
        "Tanh": lambda: reference.tanh_backward(dout, y),
        "Softmax": lambda: reference.softmax_backward(dout, y),
        "Flatten": lambda: dout.reshape(x.shape),
        "Dropout": lambda: dout,
        "LRN": lambda: reference.lrn_backward(dout, x, layer.size, layer.alpha, layer.beta, layer.k),
    }
    return {"dx": simple[kind]()} if kind in simple else {}
