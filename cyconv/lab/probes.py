"""What the lab's views read from a model, as read-only snapshots (no Qt, no state).

Each function runs the model, so it must be called by whoever owns the model: the session,
from the thread that trains it. What it returns can be handed to any other thread.
"""
from __future__ import annotations

import time

import numpy as np

from .. import functional, gradcheck, introspect, reference
from .._arrays import read_only, softmax
from ..train import evaluate
from .snapshots import Evaluation, Pictures, SampleView

#: Sampled elements per parameter array in the app's gradient check (keeps big layers quick).
GRADCHECK_ELEMENTS = 24
#: Samples the gradient check runs on.
GRADCHECK_SAMPLES = 2
#: Test images the naive-against-Cython timing runs on.
TIMING_SAMPLES = 8


def sample_view(model, image, *, source: str, index: int | None, label: int | None) -> SampleView:
    """One sample (C, H, W), already normalised, through every layer of ``model``."""
    outputs = introspect.activations(model, image)
    return SampleView(source=source, index=index, label=label, image=read_only(image),
                      outputs=tuple(outputs), probabilities=read_only(softmax(outputs[-1][2])))


def pictures(model, step: int, sample: SampleView | None) -> Pictures:
    """The conv layers' weights and geometry at ``step``, with the selected sample's maps."""
    return Pictures(step=step, convs=tuple(introspect.conv_layers(model)), sample=sample)


def evaluation(model, dataset, step: int, *, whole_test: bool = False) -> Evaluation:
    """The model on ``dataset`` with the plain cross-entropy (what ``cyconv eval`` reports)."""
    report = evaluate(model, dataset)
    confidences = report.probabilities[np.arange(report.predictions.size), report.predictions]
    return Evaluation(step=step, loss=float(report.loss), accuracy=float(report.accuracy),
                      confusion=read_only(report.confusion), predictions=read_only(report.predictions),
                      confidences=read_only(confidences), n=len(dataset), whole_test=whole_test)


def gradient_check(model, images, labels) -> tuple:
    """cyconv.gradcheck.check_network's rows on a few samples: every parameter array, the
    input and every parameter-free layer, in float64 copies (the model is not changed)."""
    return tuple(gradcheck.check_network(model, images[:GRADCHECK_SAMPLES], labels[:GRADCHECK_SAMPLES],
                                         max_elements=GRADCHECK_ELEMENTS, rng=np.random.default_rng(0)))


def _best_time(call, repeats: int):
    """(fastest wall time of ``repeats`` calls, the last result)."""
    best, result = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        result = call()
        best = min(best, time.perf_counter() - started)
    return best, result


def conv_timings(model, images) -> tuple:
    """Per conv layer on its real input: (layer, input shape, NumPy-loops seconds, Cython
    seconds, largest difference of their outputs)."""
    x = images[:TIMING_SAMPLES]
    inputs = [x] + [output for _, output in model.forward_trace(x)]
    names = [name for name, _ in model.named_layers()]
    rows = []
    for conv in introspect.conv_layers(model):
        layer_input = np.ascontiguousarray(inputs[names.index(conv.name)], dtype=conv.weights.dtype)
        naive_seconds, expected = _best_time(lambda: reference.conv2d_forward(
            layer_input, conv.weights, conv.bias, conv.stride, conv.padding, conv.padding_mode), repeats=1)
        fast_seconds, (fast, _) = _best_time(lambda: functional.conv2d_forward(
            layer_input, conv.weights, conv.bias, stride=conv.stride, padding=conv.padding,
            padding_mode=conv.padding_mode), repeats=3)
        rows.append((conv.name, layer_input.shape, naive_seconds, fast_seconds,
                     float(np.max(np.abs(fast - expected)))))
    return tuple(rows)
