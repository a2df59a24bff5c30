"""The lab's pictures as images for a notebook or a report (Pillow, no Qt).

Each function returns a ``PIL.Image.Image`` (Jupyter shows one as it is; ``.save("x.png")``
writes it), drawn with the same NumPy tiling and colour scales as the app's views
(:mod:`cyconv.lab.render`):

    from cyconv.lab import pictures
    pictures.filters(model, "conv1")                   # blue < 0 < red, one row per filter
    pictures.activations(model, test.images[0])        # every map of the first conv layer
    pictures.curves(trainer.history)                   # loss and accuracy per step
    pictures.confusion(report.confusion, test.classes) # rows: true class, columns: predicted
    pictures.saliency(model, test.images[0], 3)        # which pixels moved class 3's loss most
"""
from __future__ import annotations

import numpy as np

from .. import introspect
from . import render

__all__ = ["filters", "activations", "curves", "confusion", "saliency"]

_WHITE, _INK, _GRID = (255, 255, 255), (30, 30, 30), (215, 215, 215)
_LOSS, _ACCURACY = (31, 119, 180), (214, 39, 40)


def _pil():
    try:
        from PIL import Image, ImageDraw
    except ImportError:
        raise ImportError("cyconv.lab.pictures needs Pillow: pip install 'cyconv[images]'") from None
    return Image, ImageDraw


def _image(rgb: np.ndarray, scale: int):
    """(H, W, 3) floats in [0, 1] -> an RGB image, each pixel a ``scale``×``scale`` block."""
    if not isinstance(scale, int) or isinstance(scale, bool) or scale < 1:
        raise ValueError(f"pictures: scale must be a positive int, got {scale!r}")
    Image, _ = _pil()
    pixels = np.rint(np.clip(rgb, 0.0, 1.0) * 255).astype(np.uint8)
    pixels = np.repeat(np.repeat(pixels, scale, axis=0), scale, axis=1)
    return Image.fromarray(pixels, mode="RGB")


def _conv_layer(model, layer: str | None):
    convs = introspect.conv_layers(model)
    if not convs:
        raise ValueError("pictures: the model has no Conv2D layer")
    if layer is None:
        return convs[0]
    for conv in convs:
        if conv.name == layer:
            return conv
    raise ValueError(f"pictures: no conv layer {layer!r}; the model has {[c.name for c in convs]}")


def filters(model, layer: str | None = None, *, scale: int = 8):
    """A conv layer's filters (the first by default): one row per filter, one column per input
    channel, on one symmetric blue-white-red scale (white is zero)."""
    weights = _conv_layer(model, layer).weights
    values = render.filter_overview(weights)
    rgb = render.colorize(values, render.symmetric_levels(weights), render.diverging_lut())
    return _image(rgb, scale)


def activations(model, image, layer: str | None = None, *, scale: int = 4, columns: int | None = None):
    """Every channel of one layer's output for one sample ``image`` (C, H, W), already
    normalised as the model's inputs were; the first conv layer's feature maps by default.
    Maps with negative values use the diverging scale, non-negative ones run white to red."""
    outputs = introspect.activations(model, np.asarray(image, dtype=model.dtype))
    names = [name for name, _, _ in outputs]
    wanted = layer if layer is not None else _conv_layer(model, None).name
    if wanted not in names:
        raise ValueError(f"pictures: no layer {wanted!r}; the model has {names}")
    maps = outputs[names.index(wanted)][2]
    if maps.ndim != 3:
        raise ValueError(f"pictures: {wanted} gives a vector {maps.shape}, not maps; choose a conv, "
                         f"activation or pooling layer")
    levels, diverging = render.value_levels(maps)
    lut = render.diverging_lut()
    if not diverging:
        lut = lut[lut.shape[0] // 2:]                      # white (zero) to red (the largest value)
    rgb = render.colorize(render.tile(maps, columns=columns, fill=np.nan), levels, lut)
    return _image(rgb, scale)


def _series(history, key):
    values = np.asarray([np.nan if v is None else v for v in history.get(key, ())], dtype=np.float64)
    return values


def curves(history, *, size: tuple = (640, 360)):
    """Training loss (blue, left scale) and accuracy (red, 0 to 1 on the right) per step, from a
    trainer's ``history`` (``Trainer.history`` or a checkpoint's)."""
    Image, ImageDraw = _pil()
    loss, accuracy = _series(history, "step_loss"), _series(history, "step_accuracy")
    if loss.size == 0:
        raise ValueError("pictures.curves: the history has no steps yet")
    width, height = size
    left, right, top, bottom = 56, width - 48, 24, height - 36
    canvas = Image.new("RGB", (width, height), _WHITE)
    draw = ImageDraw.Draw(canvas)
    finite = loss[np.isfinite(loss)]
    peak = float(finite.max()) if finite.size else 1.0
    for fraction in np.linspace(0, 1, 5):
        y = bottom - fraction * (bottom - top)
        draw.line([(left, y), (right, y)], fill=_GRID)
        draw.text((4, y - 6), f"{fraction * peak:.2f}", fill=_LOSS)
        draw.text((right + 4, y - 6), f"{fraction:.0%}", fill=_ACCURACY)
    draw.rectangle([left, top, right, bottom], outline=_INK)
    steps = np.arange(1, loss.size + 1)
    xs = left + (steps - 1) / max(loss.size - 1, 1) * (right - left)
    for values, scale, colour in ((loss, peak or 1.0, _LOSS), (accuracy, 1.0, _ACCURACY)):
        points = [(float(x), float(bottom - v / scale * (bottom - top))) for x, v in zip(xs, values) if np.isfinite(v)]
        if len(points) > 1:
            draw.line(points, fill=colour, width=2)
    draw.text((left, bottom + 8), f"step 1 … {loss.size}", fill=_INK)
    draw.text((left, 4), "loss", fill=_LOSS)
    draw.text((right - 50, 4), "accuracy", fill=_ACCURACY)
    return canvas


def confusion(matrix, classes=None, *, cell: int = 28):
    """A confusion matrix (``confusion[true, predicted]`` counts) as rates per true class, dark
    where most samples of that class went, with the class names along both edges."""
    Image, ImageDraw = _pil()
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] == 0:
        raise ValueError(f"pictures.confusion: expected a square (K, K) matrix, got shape {matrix.shape}")
    count = matrix.shape[0]
    names = [str(c) for c in (classes if classes is not None else range(count))]
    if len(names) != count:
        raise ValueError(f"pictures.confusion: {len(names)} class names for a {count}×{count} matrix")
    rates = render.confusion_rates(matrix)
    label = max(6 * max(len(n) for n in names) + 8, 24)
    canvas = Image.new("RGB", (label + count * cell + 1, label + count * cell + 1), _WHITE)
    draw = ImageDraw.Draw(canvas)
    for true in range(count):
        draw.text((2, label + true * cell + cell // 3), names[true], fill=_INK)
        draw.text((label + true * cell + 2, label - 14), names[true][:max(cell // 6, 1)], fill=_INK)
        for predicted in range(count):
            shade = int(round(255 * (1.0 - float(rates[true, predicted]))))
            box = [label + predicted * cell, label + true * cell, label + (predicted + 1) * cell,
                   label + (true + 1) * cell]
            draw.rectangle(box, fill=(shade, shade, 255 if true == predicted else shade), outline=_GRID)
            text_colour = _WHITE if shade < 128 else _INK
            draw.text((box[0] + 3, box[1] + cell // 3), str(int(matrix[true, predicted])), fill=text_colour)
    return canvas


def saliency(model, image, target: int, *, scale: int = 6):
    """|dL/dx| of class ``target`` for one sample ``image`` (C, H, W, normalised as the model's
    inputs were; cyconv.explain.saliency, from the engine's own input gradient), in red over
    the image in grey: the pixels whose change moves the loss most."""
    from ..explain import saliency as input_saliency

    heat = np.asarray(input_saliency(model, image, target), dtype=np.float64)
    grey = render.normalize(np.asarray(image, dtype=np.float64).mean(axis=0))
    weight = heat / heat.max() if heat.max() > 0 else heat
    rgb = np.stack([grey + (1 - grey) * weight, grey * (1 - weight), grey * (1 - weight)], axis=-1)
    return _image(rgb, scale)
