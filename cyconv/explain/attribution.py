"""Which input pixels mattered for a class: saliency and occlusion sensitivity.

- saliency: |dL/dx| of the cross-entropy against the class, from the engine's own input
  gradient (``Sequential.input_gradient``), the largest over the channels;
- occlusion: a grey patch (0 after normalisation: the data's mean) slid over the image; each
  pixel gets the mean drop of the class's probability over the patches that covered it.

Both run a private copy of the model: the caller's caches and grads are not touched.
"""
from __future__ import annotations

import numpy as np

from .. import functional as F
from .._arrays import read_only, softmax
from . import _run


def checked_image(model, image, target, what: str) -> np.ndarray:
    """``image`` as the model's dtype, after checking its shape and the class index."""
    image = np.asarray(image)
    if image.shape != tuple(model.input_shape):
        raise ValueError(f"{what}: image must be {tuple(model.input_shape)} (C, H, W), got {image.shape}")
    classes = int(model.output_shape[0])
    if isinstance(target, bool) or not isinstance(target, (int, np.integer)) or not 0 <= target < classes:
        raise ValueError(f"{what}: class must be an index in [0, {classes - 1}], got {target!r}")
    return image.astype(model.dtype)


def loss_gradient(model, images, targets) -> tuple:
    """(mean cross-entropy, dL/dx) of ``images`` (N, C, H, W) against ``targets`` (N,)."""
    net = _run.private_copy(model)
    logits = _run.forward(net, np.ascontiguousarray(images, dtype=model.dtype))
    loss, dlogits = F.softmax_cross_entropy(logits, np.asarray(targets))
    return loss, _run.input_gradient(net, dlogits)


def saliency(model, image, target: int) -> np.ndarray:
    """|dL/dx| (H, W) for ``image`` (C, H, W) and class ``target``: max over channels."""
    image = checked_image(model, image, target, "saliency")
    _, gradient = loss_gradient(model, image[None], [target])
    return read_only(np.abs(gradient[0]).max(axis=0))


def occlusion(model, image, target: int, *, patch: int = 0, stride: int = 0, fill: float = 0.0,
              batch_size: int = 256) -> np.ndarray:
    """Drop in the probability of ``target`` (H, W) when a ``patch``×``patch`` square of value
    ``fill`` covers each pixel (mean over the patches that cover it; patches every ``stride``
    pixels). 0 for either picks a patch a quarter of the image and a stride half the patch."""
    image = checked_image(model, image, target, "occlusion")
    _, height, width = image.shape
    patch = patch or max(2, min(height, width) // 4)
    stride = stride or max(1, patch // 2)
    if not 1 <= patch <= min(height, width) or stride < 1:
        raise ValueError(f"occlusion: patch must be in [1, {min(height, width)}] and stride ≥ 1, "
                         f"got patch={patch}, stride={stride}")
    tops = sorted(set(range(0, height - patch + 1, stride)) | {height - patch})
    lefts = sorted(set(range(0, width - patch + 1, stride)) | {width - patch})
    corners = [(t, left) for t in tops for left in lefts]
    occluded = np.repeat(image[None], len(corners), axis=0)
    for n, (t, left) in enumerate(corners):
        occluded[n, :, t:t + patch, left:left + patch] = fill
    net = _run.private_copy(model)            # predict drops the caches: not the caller's
    base = softmax(net.predict(image[None]))[0, target]
    scores = softmax(net.predict(occluded, batch_size=batch_size))[:, target]
    drop, count = np.zeros((height, width)), np.zeros((height, width))
    for (t, left), score in zip(corners, scores):
        drop[t:t + patch, left:left + patch] += base - score
        count[t:t + patch, left:left + patch] += 1
    return read_only(drop / count)
