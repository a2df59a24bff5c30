"""cyconv.introspect: read-only copies of weights and activations for the viewers."""
import numpy as np
import pytest

from cyconv import introspect, presets
from cyconv.model import Sequential


@pytest.fixture(scope="module")
def lenet():
    return presets.build("lenet5", seed=0)


def test_filters_are_read_only_copies(lenet):
    copies = introspect.filters(lenet)
    assert [name for name, _ in copies] == ["conv1", "conv2"]
    name, weights = copies[0]
    np.testing.assert_array_equal(weights, lenet["conv1"].params["W"])
    assert weights.shape == (6, 1, 5, 5) and not weights.flags.writeable
    assert not np.shares_memory(weights, lenet["conv1"].params["W"])


def test_conv_layers_resolve_the_geometry(lenet):
    conv1, conv2 = introspect.conv_layers(lenet)
    assert (conv1.stride, conv1.padding, conv1.padding_mode) == ((1, 1), (2, 2, 2, 2), "zeros")
    assert conv1.input_chw == (1, 28, 28) and conv1.output_chw == (6, 28, 28)
    assert conv2.input_chw == (6, 14, 14) and conv2.bias.shape == (16,)
    np.testing.assert_array_equal(conv2.bias, lenet["conv2"].params["b"])


def test_same_padding_is_resolved_to_sides():
    model = Sequential.from_config({"input_shape": [1, 7, 7], "layers": [
        {"type": "Conv2D", "out_channels": 2, "kernel_size": 4, "stride": 2, "padding": "same"},
        {"type": "Flatten"}, {"type": "Dense", "out_features": 3}]})
    (conv,) = introspect.conv_layers(model)
    assert conv.padding == (1, 2, 1, 2) and conv.output_chw == (2, 4, 4)


def test_activations_match_the_forward_trace(lenet, rng):
    x = rng.random((1, 28, 28)).astype(np.float32)
    outputs = introspect.activations(lenet, x)
    trace = lenet.forward_trace(x[np.newaxis])
    assert [name for name, _, _ in outputs] == [name for name, _ in trace]
    for (_, _, values), (_, expected) in zip(outputs, trace):
        np.testing.assert_array_equal(values, expected[0])
        assert not values.flags.writeable
    kinds = [kind for _, kind, _ in outputs]
    assert kinds[:3] == ["feature_map", "activation_map", "pooled"]
    assert kinds[-1] == "logits" and kinds[-2] == "activation"


def test_layer_kinds_for_sigmoid_and_softmax():
    model = Sequential.from_config({"input_shape": [1, 8, 8], "layers": [
        {"type": "Conv2D", "out_channels": 2, "kernel_size": 3}, {"type": "AvgPool2D", "kernel_size": 2},
        {"type": "Sigmoid"}, {"type": "Flatten"}, {"type": "Dense", "out_features": 4}, {"type": "Tanh"},
        {"type": "Dense", "out_features": 3}, {"type": "Softmax"}]})
    assert introspect.layer_kinds(model) == ["feature_map", "pooled", "activation_map", "vector", "vector",
                                             "activation", "logits", "probabilities"]


def test_activations_reject_a_batch(lenet):
    with pytest.raises(ValueError, match=r"input shape \(1, 28, 28\).*without the batch axis"):
        introspect.activations(lenet, np.zeros((2, 1, 28, 28), np.float32))
