"""Gradient checks, in float64, for every layer (several configurations each), every loss,
and whole models."""
import numpy as np
import pytest

import cyconv
from cyconv import gradcheck, layers, losses

LIMIT = 1e-6

LAYERS = {
    "conv-3x2-stride1x2-reflect": (lambda: layers.Conv2D(2, 3, (3, 2), stride=(1, 2), padding=(1, 2, 0, 1),
                                                         padding_mode="reflect"), (2, 6, 7)),
    "conv-2x3-stride2x1-circular": (lambda: layers.Conv2D(1, 2, (2, 3), stride=(2, 1), padding=1,
                                                          padding_mode="circular"), (1, 5, 6)),
    "conv-same-replicate": (lambda: layers.Conv2D(3, 2, 4, padding="same",
                                                  padding_mode="replicate"), (3, 5, 5)),
    "conv-nobias": (lambda: layers.Conv2D(2, 2, 3, bias=False), (2, 5, 4)),
    "maxpool-overlap": (lambda: layers.MaxPool2D(3, stride=2, padding=1), (2, 7, 7)),
    "avgpool-rect": (lambda: layers.AvgPool2D((3, 2), stride=(1, 2)), (2, 6, 6)),
    "minpool": (lambda: layers.MinPool2D(2), (2, 6, 5)),
    "dense": (lambda: layers.Dense(7, 4), (7,)),
    "dense-nobias": (lambda: layers.Dense(5, 3, bias=False), (5,)),
    "relu": (layers.ReLU, (3, 4, 4)),
    "leaky-relu": (lambda: layers.LeakyReLU(0.2), (3, 4, 4)),
    "elu": (lambda: layers.ELU(0.7), (3, 4, 4)),
    "sigmoid": (layers.Sigmoid, (3, 4)),
    "tanh": (layers.Tanh, (3, 4)),
    "softmax": (layers.Softmax, (6,)),
    "lrn-5": (lambda: layers.LRN(5, alpha=0.1), (7, 3, 3)),
    "lrn-2": (lambda: layers.LRN(2, alpha=0.5, beta=0.6, k=1.5), (4, 2, 3)),
    "dropout": (lambda: layers.Dropout(0.4), (3, 5)),
    "flatten": (layers.Flatten, (2, 3, 3)),
}


@pytest.mark.parametrize("make, input_shape", LAYERS.values(), ids=LAYERS.keys())
def test_layer_gradients(make, input_shape, rng):
    errors = gradcheck.check_layer(make(), input_shape, rng=rng)
    assert errors and max(errors.values()) < LIMIT, errors


def test_gradcheck_catches_a_wrong_backward(rng):
    class BrokenReLU(layers.ReLU):
        def backward(self, dout):
            return 0.5 * super().backward(dout)

    errors = gradcheck.check_layer(BrokenReLU(), (3, 4), rng=rng)
    assert errors["x"] > 0.1


@pytest.mark.parametrize("loss, target", [
    (losses.SoftmaxCrossEntropy(), np.array([0, 2, 1])),
    (losses.SoftmaxCrossEntropy(label_smoothing=0.1), np.array([0, 2, 1])),
    (losses.MSE(), np.linspace(-1, 1, 12).reshape(3, 4)),
    (losses.L1(), np.linspace(-1, 1, 12).reshape(3, 4) + 0.013),
], ids=["cross-entropy", "cross-entropy-smoothed", "mse", "l1"])
def test_loss_gradients(loss, target, rng):
    pred = rng.standard_normal((3, 4) if target.ndim == 2 else (3, 3))

    def value():
        return loss.forward(pred, target)

    value()
    analytic = loss.backward()
    numerical = gradcheck.numerical_gradient(value, pred)
    assert gradcheck.relative_error(analytic, numerical) < LIMIT


@pytest.mark.parametrize("preset", ["mnist_cnn", "lenet5"])
def test_model_gradients(preset, rng):
    model = cyconv.presets.build(preset)
    x = rng.standard_normal((2,) + model.input_shape)
    errors = gradcheck.check_model(model, x, np.array([3, 7]), max_elements=15, rng=rng)
    assert max(errors.values()) < LIMIT, errors


def test_small_model_with_every_layer_kind(rng):
    model = cyconv.Sequential([
        layers.Conv2D(2, 3, (3, 2), padding=(1, 1, 0, 1), padding_mode="replicate"),
        layers.LeakyReLU(0.1), layers.LRN(3, alpha=0.2), layers.AvgPool2D(2),
        layers.Conv2D(3, 4, 2, stride=(1, 2), padding_mode="circular", padding=1),
        layers.Tanh(), layers.MinPool2D(2, stride=1), layers.Flatten(), layers.Dropout(0.3),
        layers.Dense(12, 5), layers.Sigmoid(), layers.Dense(5, 3)], input_shape=(2, 6, 7))
    x = rng.standard_normal((2, 2, 6, 7))
    errors = gradcheck.check_model(model, x, np.array([0, 2]))
    assert max(errors.values()) < LIMIT, errors


def test_gradcheck_leaves_a_float32_model_untouched(rng):
    model = cyconv.presets.build("mnist_cnn")
    before = model.state_dict()
    gradcheck.check_model(model, rng.standard_normal((1, 1, 28, 28)), np.array([1]),
                          max_elements=3)
    assert model.dtype == np.float32
    for name, param, _ in model.parameters():
        assert param.dtype == np.float32
        np.testing.assert_array_equal(param, before[name])
