"""What a filter looks for, and what a class looks like to the network.

- top_activations: the test images that excite one channel of a layer most, with the unit
  that fired and the input patch it sees (its receptive field);
- class_model: an input made by gradient ascent on a class's score with L2 regularisation,
  argmax_x s_y(x) − λ‖x‖² (Simonyan et al. 2014, as in CS231n's assignment 3);
- fooling: the smallest step ε along sign(dL/dx) that changes the prediction (the fast
  gradient sign direction), found by a scan and then bisection.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._arrays import read_only, softmax
from . import _run
from .attribution import checked_image, loss_gradient
from .receptive import windows_below


@dataclass(frozen=True)
class TopImages:
    """``indices`` into the images searched, best first, with their ``scores`` (the channel's
    largest value in each), the ``units`` (row, col) where it was, and the ``windows``
    (top, bottom, left, right; inclusive) of input pixels those units see."""
    layer: str
    channel: int
    indices: np.ndarray
    scores: np.ndarray
    units: tuple
    windows: tuple


def _layer_index(model, layer: str) -> int:
    names = [name for name, _ in model.named_layers()]
    if layer not in names:
        raise ValueError(f"top_activations: no layer named {layer!r}; layers: {names}")
    return names.index(layer)


def top_activations(model, images, layer: str, channel: int, *, count: int = 9, batch_size: int = 128) -> TopImages:
    """The ``count`` images of ``images`` (N, C, H, W) whose map ``channel`` of ``layer``
    (an image-shaped output) has the largest value."""
    index = _layer_index(model, layer)
    rows = model.summary()
    shape = rows[index].output_chw
    if shape is None or len(shape) != 3:
        raise ValueError(f"top_activations: {layer} gives {shape}, not maps (C, H, W); pick a conv or pooling layer")
    if not 0 <= channel < shape[0]:
        raise ValueError(f"top_activations: {layer} has channels 0 to {shape[0] - 1}, got {channel}")
    net = _run.private_copy(model)
    best = []
    for start in range(0, len(images), batch_size):
        x = np.ascontiguousarray(images[start:start + batch_size], dtype=model.dtype)
        for layer_object in net.layers[:index + 1]:
            x = layer_object.forward(x, training=False)
        maps = x[:, channel].reshape(len(x), -1)
        best.append((maps.max(axis=1), maps.argmax(axis=1)))
    scores = np.concatenate([s for s, _ in best]) if best else np.zeros(0)
    where = np.concatenate([w for _, w in best]) if best else np.zeros(0, np.intp)
    order = np.argsort(-scores, kind="stable")[:count]
    units = tuple(divmod(int(where[i]), shape[2]) for i in order)
    windows = tuple(windows_below(rows, index, r, c)[0] for r, c in units)
    return TopImages(layer=layer, channel=int(channel), indices=read_only(order), scores=read_only(scores[order]),
                     units=units, windows=windows)


@dataclass(frozen=True)
class ClassModel:
    """The image made for class ``target`` and its score s_y after each step."""
    target: int
    image: np.ndarray
    scores: np.ndarray
    probability: float


def class_model(model, target: int, *, steps: int = 150, learning_rate: float = 0.05, l2: float = 0.01,
                bounds: tuple = (-3.0, 3.0), seed: int = 0) -> ClassModel:
    """Gradient ascent on x for the score (logit) of ``target`` minus l2·‖x‖², from small
    noise; x is kept within ``bounds`` (the range of normalised images). Each step moves the
    largest pixel by ``learning_rate``·(bounds' width): the gradient's size differs by orders
    of magnitude between a new and a trained network, its direction is what matters."""
    checked_image(model, np.zeros(model.input_shape), target, "class_model")
    if steps < 1 or learning_rate <= 0 or l2 < 0 or not bounds[0] < bounds[1]:
        raise ValueError(f"class_model: need steps ≥ 1, learning_rate > 0, l2 ≥ 0 and bounds low < high; got "
                         f"{steps}, {learning_rate}, {l2}, {bounds}")
    net = _run.private_copy(model)
    x = (np.random.default_rng(seed).standard_normal((1,) + tuple(model.input_shape)) * 0.01).astype(model.dtype)
    onehot = np.zeros((1, int(model.output_shape[0])), dtype=model.dtype)
    onehot[0, target] = 1
    scores = []
    for _ in range(steps):
        logits = _run.forward(net, x)
        scores.append(float(logits[0, target]))
        ascent = _run.input_gradient(net, onehot) - 2 * l2 * x          # d/dx (s_y − λ‖x‖²)
        step = learning_rate * (bounds[1] - bounds[0]) / max(float(np.max(np.abs(ascent))), 1e-12)
        x = np.clip(x + step * ascent, *bounds).astype(model.dtype)
    probability = float(softmax(net.predict(x))[0, target])
    return ClassModel(target=int(target), image=read_only(x[0]), scores=read_only(np.array(scores)),
                      probability=probability)


@dataclass(frozen=True)
class Fooling:
    """``adversarial`` = image + epsilon·sign(dL/dx); it is predicted ``to_class`` where the
    image was ``from_class`` (``flipped`` False when no ε up to the limit did it)."""
    image: np.ndarray
    adversarial: np.ndarray
    epsilon: float
    l2: float
    from_class: int
    to_class: int
    probability: float
    flipped: bool


def fooling(model, image, *, largest: float = 2.0, scan: int = 48, bisections: int = 20) -> Fooling:
    """The smallest ε ≤ ``largest`` for which image + ε·sign(dL/dx) (L the cross-entropy of
    the predicted class) is predicted differently."""
    image = checked_image(model, image, 0, "fooling")
    net = _run.private_copy(model)
    predicted = int(np.argmax(net.predict(image[None])[0]))
    _, gradient = loss_gradient(model, image[None], [predicted])
    direction = np.sign(gradient[0]).astype(model.dtype)

    def classes(epsilons):
        batch = image[None] + np.asarray(epsilons, dtype=model.dtype)[:, None, None, None] * direction[None]
        return np.argmax(net.predict(batch), axis=1)

    grid = np.geomspace(largest / 1e3, largest, scan)
    changed = np.flatnonzero(classes(grid) != predicted)
    if changed.size == 0:
        return _fooling(net, image, direction, largest, predicted, flipped=False)
    low, high = (grid[changed[0] - 1] if changed[0] else 0.0), grid[changed[0]]
    for _ in range(bisections):
        middle = (low + high) / 2
        low, high = (low, middle) if classes([middle])[0] != predicted else (middle, high)
    return _fooling(net, image, direction, high, predicted, flipped=True)


def _fooling(net, image, direction, epsilon, predicted, *, flipped) -> Fooling:
    adversarial = (image + epsilon * direction).astype(image.dtype)
    probabilities = softmax(net.predict(adversarial[None]))[0]
    to_class = int(np.argmax(probabilities))
    return Fooling(image=read_only(image), adversarial=read_only(adversarial), epsilon=float(epsilon),
                   l2=float(np.linalg.norm((adversarial - image).astype(np.float64))), from_class=predicted,
                   to_class=to_class, probability=float(probabilities[to_class]), flipped=flipped and to_class != predicted)
