"""Using the engine wrongly raises instead of answering wrong: a workspace refilled before its
backward pass, and one model driven by two threads."""
import threading

import numpy as np
import pytest

from cyconv import functional as F
from cyconv import presets


def test_a_backward_of_an_overwritten_workspace_is_refused(rng):
    x1, x2 = rng.standard_normal((2, 2, 3, 7, 6)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 2)).astype(np.float32)
    workspace = {}
    _, first = F.conv2d_forward(x1, w, None, workspace=workspace)
    out2, second = F.conv2d_forward(x2, w, None, workspace=workspace)
    dout = np.ones_like(out2)
    with pytest.raises(ValueError, match="overwritten by a later forward pass"):
        F.conv2d_backward(dout, first)
    dx, dw, _ = F.conv2d_backward(dout, second)                       # the latest pass is fine
    _, expected_dw, _ = F.conv2d_backward(dout, F.conv2d_forward(x2, w, None)[1])
    np.testing.assert_allclose(dw, expected_dw, rtol=1e-5)


def test_backward_from_another_thread_than_the_forward_is_refused():
    model = presets.build("mnist_cnn", seed=0)
    x = np.zeros((2, 1, 28, 28), np.float32)
    logits = []
    worker = threading.Thread(target=lambda: logits.append(model.forward(x, training=True)))
    worker.start()
    worker.join()
    with pytest.raises(RuntimeError, match="another thread than the training forward"):
        model.backward(np.ones_like(logits[0]))
    model.forward(x, training=True)                                   # the same thread: fine
    model.backward(np.ones_like(logits[0]))


def test_a_second_thread_while_one_runs_the_model_is_refused():
    model = presets.build("mnist_cnn", seed=0)
    x = np.zeros((1, 1, 28, 28), np.float32)
    started, release, errors = threading.Event(), threading.Event(), []
    first_layer = model.layers[0]
    original = first_layer.forward

    def slow_forward(*args, **kwargs):
        started.set()
        release.wait(10)
        return original(*args, **kwargs)

    first_layer.forward = slow_forward
    runner = threading.Thread(target=lambda: model.forward(x))
    runner.start()
    started.wait(10)
    try:
        model.forward(x)
    except RuntimeError as error:
        errors.append(str(error))
    finally:
        release.set()
        runner.join()
    assert errors and "second thread" in errors[0]
    first_layer.forward = original
    model.forward(x)                                                  # free again once it ended
