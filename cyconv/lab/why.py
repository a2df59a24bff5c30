"""The lab's "why" questions, registered as operations (cyconv.lab.operations): each runs
cyconv.explain on the live network in the thread that owns it and answers with read-only
copies. A sample is an index into the live test subset (``session.info.eval_images``)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import explain
from .._arrays import read_only
from . import probes
from .errors import LabError
from .operations import operation


@dataclass(frozen=True)
class SampleAnswer:
    """An answer about one test sample: its ``index``, true ``label``, ``image`` and the
    explanation itself (``result``)."""
    index: int
    label: int
    image: np.ndarray
    result: object


def _sample(session, index) -> tuple:
    if session._eval is None or len(session._eval) == 0:
        raise LabError("why.no_data")
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < len(session._eval):
        raise LabError("why.bad_sample", index=index, last=len(session._eval) - 1)
    return session._eval.images[index], int(session._eval.labels[index])


def _class(session, target) -> int:
    classes = int(session.model.output_shape[0])
    if isinstance(target, bool) or not isinstance(target, (int, np.integer)) or not 0 <= target < classes:
        raise LabError("why.bad_class", target=target, last=classes - 1)
    return int(target)


def _answer(index, image, label, result) -> SampleAnswer:
    return SampleAnswer(index=int(index), label=label, image=read_only(image), result=result)


@operation("why.backprop")
def backprop(session, index: int) -> SampleAnswer:
    """The backward pass of test sample ``index`` against its true label (explain.Walk)."""
    image, label = _sample(session, index)
    return _answer(index, image, label, explain.backprop_walk(session.model, image, label))


@operation("why.saliency")
def saliency(session, index: int, target: int | None = None) -> SampleAnswer:
    """(saliency, occlusion) maps (H, W) of test sample ``index`` for class ``target`` (its
    true label when None)."""
    image, label = _sample(session, index)
    target = label if target is None else _class(session, target)
    maps = (explain.saliency(session.model, image, target), explain.occlusion(session.model, image, target))
    return _answer(index, image, label, (target,) + maps)


@operation("why.top_images")
def top_images(session, layer: str, channel: int):
    """The 9 test images that excite ``channel`` of ``layer`` most (explain.TopImages) and
    those images."""
    if session._eval is None or len(session._eval) == 0:
        raise LabError("why.no_data")
    try:
        top = explain.top_activations(session.model, session._eval.images, layer, channel)
    except ValueError as error:
        raise LabError("why.bad_filter", reason=str(error)) from error
    return top, read_only(session._eval.images[top.indices])


def _bounds(session) -> tuple:
    images = session._eval.images if session._eval is not None and len(session._eval) else None
    return (-3.0, 3.0) if images is None else (float(images.min()), float(images.max()))


@operation("why.class_model")
def class_model(session, target: int) -> explain.ClassModel:
    """An input that maximises class ``target``'s score, within the range of the test images."""
    return explain.class_model(session.model, _class(session, target), bounds=_bounds(session))


@operation("why.fooling")
def fooling(session, index: int) -> SampleAnswer:
    """The smallest signed-gradient change of test sample ``index`` that flips the prediction."""
    image, label = _sample(session, index)
    low, high = _bounds(session)
    return _answer(index, image, label, explain.fooling(session.model, image, largest=max(high - low, 1.0)))


@operation("why.maps")
def maps(session, index: int):
    """Test sample ``index`` through every layer (a SampleView), for the receptive-field view."""
    image, label = _sample(session, index)
    return probes.sample_view(session.model, image, source="eval", index=int(index), label=label)
