"""Bad input at the public boundary: a ValueError or TypeError that names the layer, the
shapes and the formula — never a crash, never a silent wrong answer."""
import numpy as np
import pytest

import cyconv
from cyconv import functional as F
from cyconv import layers, losses

X = np.zeros((2, 1, 6, 6), dtype=np.float32)


def conv(**kw):
    return layers.Conv2D(**{"in_channels": 1, "out_channels": 2, "kernel_size": 3, "name": "conv1",
                            **kw})


@pytest.mark.parametrize("x, error, words", [
    (np.zeros((1, 6, 6), np.float32), ValueError, ["conv1", "4 dimensions", "(1, 6, 6)"]),
    (np.zeros((2, 3, 6, 6), np.float32), ValueError, ["conv1", "C=3", "(2, 1, 3, 3)", "(F, C, KH, KW)"]),
    (np.zeros((2, 1, 6, 6), np.int64), TypeError, ["conv1", "int64", "float32"]),
    (np.zeros((2, 1, 6, 6), bool), TypeError, ["conv1", "bool"]),
    (np.full((2, 1, 6, 6), np.nan, np.float32), ValueError, ["conv1", "NaN"]),
    (np.full((2, 1, 6, 6), np.inf, np.float32), ValueError, ["conv1", "infinite"]),
    ([[1.0]], TypeError, ["conv1", "numpy array"]),
    (np.zeros((2, 1, 6, 6), np.float64), TypeError, ["conv1", "float64", "float32"]),
    (np.zeros((0, 1, 6, 6), np.float32), ValueError, ["conv1", "empty"]),
], ids=["ndim", "channels", "int", "bool", "nan", "inf", "list", "dtype-mix", "empty"])
def test_conv_rejects_bad_arrays(x, error, words):
    with pytest.raises(error) as info:
        conv().forward(x)
    for word in words:
        assert word in str(info.value)


def test_kernel_larger_than_padded_input_names_the_formula():
    with pytest.raises(ValueError) as info:
        conv(kernel_size=7).forward(X)
    message = str(info.value)
    assert "conv1" in message and "OH = (6 + 2·0 − 7)/1 + 1" in message and "< 1" in message


def test_output_below_one_with_stride():
    with pytest.raises(ValueError, match=r"conv1.*OW = "):
        F.conv2d_forward(np.zeros((1, 1, 8, 2), np.float32), np.zeros((1, 1, 2, 3), np.float32),
                         stride=1, layer="conv1")


@pytest.mark.parametrize("kw, error, pattern", [
    ({"stride": 0}, ValueError, "stride must be at least 1"),
    ({"stride": (1, -2)}, ValueError, "stride"),
    ({"padding": -1}, ValueError, "negative"),
    ({"padding": (1, 2, 3)}, ValueError, "3 values"),
    ({"padding": "full"}, ValueError, "not known"),
    ({"padding": 1.5}, TypeError, r"\(1, 2, 1, 2\)"),
    ({"padding_mode": "mirror"}, ValueError, "unknown padding_mode 'mirror'"),
    ({"kernel_size": 0}, ValueError, "kernel_size"),
    ({"kernel_size": True}, TypeError, "kernel_size"),
    ({"out_channels": 0}, ValueError, "out_channels"),
], ids=["stride0", "stride-neg", "pad-neg", "pad-len3", "pad-str", "pad-half", "mode",
        "kernel0", "kernel-bool", "filters0"])
def test_conv_rejects_bad_configuration(kw, error, pattern):
    with pytest.raises(error, match=pattern) as info:
        conv(**kw)
    assert "conv1" in str(info.value)


def test_reflect_padding_wider_than_input_is_refused():
    with pytest.raises(ValueError, match="reflect"):
        conv(padding=6, padding_mode="reflect").forward(X)


def test_pool_rejects_padding_over_half_the_window():
    with pytest.raises(ValueError, match="more than half the kernel"):
        layers.MaxPool2D(2, padding=2, name="pool1")


def test_pool_output_below_one():
    with pytest.raises(ValueError, match=r"pool1.*OH"):
        layers.MaxPool2D(8, name="pool1").forward(X)


def test_dense_on_images_asks_for_flatten():
    with pytest.raises(ValueError, match="Flatten"):
        layers.Dense(36, 3, name="dense1").forward(X)


def test_dense_feature_mismatch_names_shapes():
    with pytest.raises(ValueError) as info:
        layers.Dense(10, 3, name="dense1").forward(np.zeros((2, 9), np.float32))
    message = str(info.value)
    assert "dense1" in message and "(2, 9)" in message and "in_features=10" in message


@pytest.mark.parametrize("labels, error, pattern", [
    (np.array([0, 3]), ValueError, r"\[0, 2\]"),
    (np.array([-1, 0]), ValueError, r"\[0, 2\]"),
    (np.array([0.0, 1.0]), TypeError, "integer"),
    (np.array([True, False]), TypeError, "integer"),
    (np.array([0, 1, 2]), ValueError, "N=2"),
], ids=["too-big", "negative", "float", "bool", "count"])
def test_cross_entropy_rejects_bad_labels(labels, error, pattern):
    with pytest.raises(error, match=pattern):
        losses.SoftmaxCrossEntropy().forward(np.zeros((2, 3), np.float32), labels)


def test_backward_before_forward_is_a_clear_error():
    with pytest.raises(RuntimeError, match="before forward"):
        conv().backward(np.zeros((2, 2, 4, 4), np.float32))


def test_dout_of_the_wrong_shape():
    layer = conv()
    layer.forward(X)
    with pytest.raises(ValueError, match=r"dout \(2, 2, 3, 3\) must match the forward output \(2, 2, 4, 4\)"):
        layer.backward(np.zeros((2, 2, 3, 3), np.float32))


def test_model_rejects_a_network_that_cannot_run():
    with pytest.raises(ValueError, match=r"conv2.*OH = \(2 \+ 2·0 − 3\)/1 \+ 1"):
        cyconv.Sequential([layers.Conv2D(1, 2, 3), layers.MaxPool2D(2),
                           layers.Conv2D(2, 2, 3)], input_shape=(1, 6, 6))


def test_model_rejects_wrong_input_shape():
    model = cyconv.presets.build("mnist_cnn")
    with pytest.raises(ValueError, match=r"\(1, 28, 28\)"):
        model.forward(np.zeros((2, 1, 27, 28), np.float32))


@pytest.mark.parametrize("n", [0, -1])
def test_thread_count_must_be_positive(n):
    with pytest.raises(ValueError):
        cyconv.set_num_threads(n)


def test_optimizer_rejects_bad_learning_rate():
    model = cyconv.presets.build("mnist_cnn")
    for bad in (0, -1e-3, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="lr"):
            cyconv.optim.SGD(model.parameters(), lr=bad)


def test_model_checks_its_input_for_nan_even_though_inner_layers_trust_theirs():
    model = cyconv.presets.build("mnist_cnn")
    x = np.zeros((2, 1, 28, 28), np.float32)
    x[1, 0, 3, 3] = np.nan
    with pytest.raises(ValueError, match=r"conv1: .*NaN"):
        model.forward(x)


@pytest.mark.parametrize("kind", ["max", "avg", "min"])
def test_pool_backward_checks_dout_shape(kind):
    from cyconv import functional as F
    out, cache = F.pool2d_forward(np.zeros((2, 3, 6, 6), np.float32), kind=kind, kernel_size=2)
    with pytest.raises(ValueError, match=r"dout \(2, 3, 2, 2\) must match the forward output \(2, 3, 3, 3\)"):
        F.pool2d_backward(np.zeros((2, 3, 2, 2), np.float32), cache)
