"""Gradient checks: the analytic gradients of backward() against central differences.

    numerical dL/dθ ≈ (L(θ + ε) − L(θ − ε)) / 2ε,     relative error = max|a − n| / max(|a| + |n|)

Everything runs in float64 on a copy, so a float32 model or layer is left untouched. A
relative error below ~1e-6 means the backward pass is right; ~1e-2 or more means it is wrong.
Students call it too: ``cyconv.gradcheck.check_layer(layers.Conv2D(2, 3, (3, 2)), (2, 5, 6))``.
"""
import copy

import numpy as np

from .losses import SoftmaxCrossEntropy

__all__ = ["relative_error", "numerical_gradient", "check_layer", "check_model"]

_DROPOUT_SEED = 12345


def relative_error(analytic, numerical):
    """max |a − n| / max(|a| + |n|), 0 when both are all zeros."""
    analytic, numerical = np.asarray(analytic), np.asarray(numerical)
    denominator = np.max(np.abs(analytic) + np.abs(numerical))
    return 0.0 if denominator == 0 else float(np.max(np.abs(analytic - numerical)) / denominator)


def _central_differences(f, flat, indices, eps):
    """(f(θ + ε) − f(θ − ε)) / 2ε for each listed element of the flat view (restored after)."""
    values = np.empty(len(indices))
    for k, i in enumerate(indices):
        original = flat[i]
        flat[i] = original + eps
        plus = f()
        flat[i] = original - eps
        minus = f()
        flat[i] = original
        values[k] = (plus - minus) / (2 * eps)
    return values


def numerical_gradient(f, array, eps=1e-6):
    """Central differences of the scalar f() with respect to every element of ``array``
    (changed in place and restored)."""
    flat = array.reshape(-1)
    values = _central_differences(f, flat, range(flat.size), eps)
    return values.reshape(array.shape).astype(array.dtype, copy=False)


def _float64_copy(obj):
    obj = copy.deepcopy(obj)
    layers = obj.layers if hasattr(obj, "layers") else [obj]
    for layer in layers:
        layer.astype(np.float64)
    if hasattr(obj, "dtype") and hasattr(obj, "layers"):
        obj.dtype = np.dtype(np.float64)
    return obj, layers


def _reseed_dropout(layers):
    # Dropout draws a new mask every forward pass; each evaluation must see the same one.
    for layer in layers:
        if hasattr(layer, "rng"):
            layer.rng = np.random.default_rng(_DROPOUT_SEED)


def check_layer(layer, input_shape, *, rng=None, batch=2, eps=1e-6):
    """Relative errors of a layer's gradients: {"x": …, "W": …, "b": …} (the keys it has).

    ``input_shape`` is one sample's shape, (C, H, W) or (D,). The loss is Σ out·g for a random
    upstream gradient g, so every output element takes part."""
    rng = rng if rng is not None else np.random.default_rng(0)
    layer, layers = _float64_copy(layer)
    x = rng.standard_normal((batch,) + tuple(input_shape))
    _reseed_dropout(layers)
    upstream = rng.standard_normal(layer.forward(x, training=True).shape)

    def loss():
        _reseed_dropout(layers)
        return float(np.sum(layer.forward(x, training=True) * upstream))

    loss()
    analytic_dx = layer.backward(upstream)
    analytic = {"x": analytic_dx, **{key: grad.copy() for key, grad in layer.grads.items()}}
    errors = {"x": relative_error(analytic["x"], numerical_gradient(loss, x, eps))}
    for key, param in layer.params.items():
        errors[key] = relative_error(analytic[key], numerical_gradient(loss, param, eps))
    return errors


def check_model(model, x, y, *, loss=None, eps=1e-6, max_elements=None, rng=None):
    """Relative errors of every parameter of a model (and of its input) under ``loss``
    (softmax cross-entropy by default): {"x": …, "conv1.W": …, …}.

    ``max_elements`` checks only that many randomly chosen elements of each array, which keeps
    large models fast; the analytic gradient is compared at the same elements."""
    model, layers = _float64_copy(model)
    loss = loss or SoftmaxCrossEntropy()
    x = np.array(x, dtype=np.float64, copy=True)
    rng = rng if rng is not None else np.random.default_rng(0)

    def value():
        _reseed_dropout(layers)
        return loss.forward(model.forward(x, training=True), y)

    value()
    analytic_x = model.input_gradient(loss.backward())
    arrays = {"x": (x, analytic_x)}
    for name, param, grad in model.parameters():
        arrays[name] = (param, grad.copy())
    return {name: _sampled_error(value, array, analytic, eps, max_elements, rng)
            for name, (array, analytic) in arrays.items()}


def _sampled_error(f, array, analytic, eps, max_elements, rng):
    flat, flat_analytic = array.reshape(-1), analytic.reshape(-1)
    if max_elements is None or flat.size <= max_elements:
        indices = np.arange(flat.size)
    else:
        indices = rng.choice(flat.size, size=max_elements, replace=False)
    return relative_error(flat_analytic[indices], _central_differences(f, flat, indices, eps))
