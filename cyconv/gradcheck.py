"""Gradient checks: the analytic gradients of backward() against central differences.

    numerical dL/dθ ≈ (L(θ + h) − L(θ − h)) / 2h,     relative error = max|a − n| / max(|a| + |n|)

Everything runs in float64 on a copy, so a float32 model or layer is left untouched.

``check_network`` is the check to run on a real, even fully trained, network. It checks each
layer on its own, at the input it really receives from the images, against an upstream
gradient that cannot vanish: the loss's own gradient at the logits plus Σ logits·g for a
random g. (Checking the loss alone fails on a trained net: the loss of confidently right
samples rounds to 0, and central differences of a rounded 0 are noise.) So a row is red only
when that layer's backward is wrong, and a wrong layer turns its own rows red, not the rows of
the layers before it. The step h is scaled with each value's magnitude, and at a kink (ReLU at
0, a tie in max pooling) the one-sided difference the backward pass follows counts as right.

Students call it too: ``cyconv.gradcheck.check_layer(layers.Conv2D(2, 3, (3, 2)), (2, 5, 6))``.
"""
import copy
import dataclasses

import numpy as np

from .losses import SoftmaxCrossEntropy

__all__ = ["GradcheckRow", "THRESHOLD", "relative_error", "numerical_gradient", "check_layer",
           "check_model", "check_network"]

_DROPOUT_SEED = 12345
#: A correct float64 backward stays below ~1e-8 here; a gradient 1 % off gives ~5e-3.
THRESHOLD = 1e-5
#: Relative step: h = STEP · max(1, |value|).
STEP = 1e-6


@dataclasses.dataclass(frozen=True)
class GradcheckRow:
    """One checked array: ``layer`` (its name, "input" for the network's input, "loss"),
    ``what`` ("x" for the layer's input gradient, "W", "b", ... for a parameter, "logits" for
    the loss), the ``relative_error``, ``passed`` (below ``threshold``) and the threshold."""

    layer: str
    what: str
    relative_error: float
    passed: bool
    threshold: float


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

    This checks the loss as it is, so on a trained network whose loss rounds to 0 the numbers
    are noise: use ``check_network`` there. ``max_elements`` checks only that many randomly
    chosen elements of each array; the analytic gradient is compared at the same elements."""
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


def _sample(size, max_elements, rng):
    if max_elements is None or size <= max_elements:
        return np.arange(size)
    return rng.choice(size, size=max_elements, replace=False)


def _sampled_error(f, array, analytic, eps, max_elements, rng):
    flat, flat_analytic = array.reshape(-1), analytic.reshape(-1)
    indices = _sample(flat.size, max_elements, rng)
    return relative_error(flat_analytic[indices], _central_differences(f, flat, indices, eps))


# ----------------------------------------------------------------------------------------------
# check_network
# ----------------------------------------------------------------------------------------------
def _kink_aware_differences(f, flat, indices, analytic):
    """Per element the difference quotient closest to the analytic value among the central
    one and the two one-sided ones, with h scaled to the element's magnitude.

    At a smooth point the central quotient is within ~1e-10 and the one-sided ones within
    ~h·|f''|, so a wrong analytic value stays wrong. At a kink the central quotient averages
    two slopes; the backward pass follows one of them, and that one-sided quotient matches.
    """
    centre = f()
    values = np.empty(len(indices))
    for k, i in enumerate(indices):
        original = flat[i]
        step = STEP * max(1.0, abs(original))
        flat[i] = original + step
        plus = f()
        flat[i] = original - step
        minus = f()
        flat[i] = original
        candidates = np.array([(plus - minus) / (2 * step), (plus - centre) / step,
                               (centre - minus) / step])
        values[k] = candidates[np.argmin(np.abs(candidates - analytic[k]))]
    return values


def _row(layer, what, f, array, analytic, max_elements, rng):
    flat, flat_analytic = array.reshape(-1), analytic.reshape(-1)
    indices = _sample(flat.size, max_elements, rng)
    numerical = _kink_aware_differences(f, flat, indices, flat_analytic[indices])
    error = relative_error(flat_analytic[indices], numerical)
    return GradcheckRow(layer, what, error, bool(error < THRESHOLD), THRESHOLD)


def _forward_recording(model, layers, x):
    """Forward in training mode, keeping every layer's input: (inputs, logits)."""
    _reseed_dropout(layers)
    inputs, out = [], x
    for layer in layers:
        inputs.append(out)
        out = layer.forward(out, training=True)
    return inputs, out


def _upstream_gradients(layers, dlogits):
    """dObjective/d(output) of every layer, by backpropagating dlogits (caches from the
    recorded forward)."""
    upstream, dout = [None] * len(layers), dlogits
    for index in range(len(layers) - 1, -1, -1):
        upstream[index] = dout
        dout = layers[index].backward(dout)
    return upstream


def _layer_rows(name, layer, layer_input, upstream, max_elements, rng):
    """The rows of one layer, checked alone: Σ layer(a)·G at its real input a and upstream G."""
    a = np.array(layer_input, copy=True)

    def objective():
        _reseed_dropout([layer])
        return float(np.sum(layer.forward(a, training=True) * upstream))

    objective()
    analytic_x = layer.backward(upstream)
    grads = {key: grad.copy() for key, grad in layer.grads.items()}
    rows = [_row(name, key, objective, layer.params[key], grads[key], max_elements, rng)
            for key in layer.params]
    x_row = _row(name, "x", objective, a, analytic_x, max_elements, rng)
    return rows, x_row


def _loss_row(loss, logits, y, max_elements, rng):
    """The loss's gradient, checked at the logits rescaled to unit spread per sample: at a
    confident net's own logits its gradient all but vanishes and the check would be noise."""
    z = logits - logits.mean(axis=1, keepdims=True)
    if isinstance(loss, SoftmaxCrossEntropy):
        z = z / np.maximum(z.std(axis=1, keepdims=True), 1e-12)

    def objective():
        return float(loss.forward(z, y))

    objective()
    return _row("loss", "logits", objective, z, loss.backward(), max_elements, rng)


def check_network(model, x, y, *, loss=None, max_elements=24, rng=None):
    """Gradient check of a whole network, trained or not: a tuple of GradcheckRow in layer
    order.

    The rows: ("input", "x") the first layer's gradient with respect to the images; for every
    layer its parameters ("W", "b", ...) and, after the first layer, its input gradient "x",
    each checked at the layer's real input (``x`` run through the layers before it) under the
    upstream gradient of loss(logits, y) + Σ logits·g, g random; last ("loss", "logits").
    ``max_elements``: elements sampled per array (None: all). ``rng`` picks g and the samples.
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    model, layers = _float64_copy(model)
    loss = copy.copy(loss) if loss is not None else SoftmaxCrossEntropy()
    x = np.array(x, dtype=np.float64, copy=True)
    if x.shape[1:] != tuple(model.input_shape):
        raise ValueError(f"check_network: x must be (N,) + {tuple(model.input_shape)}, got "
                         f"{x.shape}")
    inputs, logits = _forward_recording(model, layers, x)
    loss.forward(logits, y)
    random_upstream = rng.standard_normal(logits.shape) / len(x)
    upstream = _upstream_gradients(layers, loss.backward() + random_upstream)
    rows = []
    for index, layer in enumerate(layers):
        param_rows, x_row = _layer_rows(layer.name, layer, inputs[index], upstream[index],
                                        max_elements, rng)
        if index == 0:
            rows.append(dataclasses.replace(x_row, layer="input"))
            rows.extend(param_rows)
        else:
            rows.extend(param_rows + [x_row])
    rows.append(_loss_row(loss, logits, y, max_elements, rng))
    return tuple(rows)
