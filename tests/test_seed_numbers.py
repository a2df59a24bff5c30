"""The seeds' worked numbers (../shared/SEED-FACTS.md), computed by the Cython kernels and
the layers, not by the reference."""
import numpy as np
import pytest

import cyconv
from cyconv import functional as F
from cyconv import layers

INPUT_4X4 = np.array([[5, 1, 7, 13], [15, 5, 1, 13], [10, 6, 4, 6], [15, 3, 12, 4]],
                         dtype=np.float64)[None, None]
FILTER_2X2 = np.array([[11, 4], [5, 2]], dtype=np.float64)[None, None]


def conv(x, w, **kw):
    return F.conv2d_forward(x, w, None, **kw)[0][0, 0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_seed002_convolution_stride1(dtype):
    out = conv(INPUT_4X4.astype(dtype), FILTER_2X2.astype(dtype))
    np.testing.assert_array_equal(out, [[144, 66, 160], [247, 97, 95], [215, 121, 136]])
    assert 5 * 11 + 1 * 4 + 15 * 5 + 5 * 2 == out[0, 0] == 144


def test_seed002_convolution_stride2_last_value_is_136_not_316():
    out = conv(INPUT_4X4, FILTER_2X2, stride=2)
    # The slide prints 316 for the last value: a typo. 4·11 + 6·4 + 12·5 + 4·2 = 136.
    np.testing.assert_array_equal(out, [[144, 160], [215, 136]])


def test_seed002_zero_padding_1():
    out = conv(INPUT_4X4, FILTER_2X2, padding=1)
    np.testing.assert_array_equal(out, [[10, 27, 19, 61, 65], [50, 144, 66, 160, 208],
                                        [80, 247, 97, 95, 173], [70, 215, 121, 136, 86],
                                        [60, 177, 81, 148, 44]])


def test_seed002_max_pooling():
    out = layers.MaxPool2D(2, stride=2).forward(INPUT_4X4)
    np.testing.assert_array_equal(out[0, 0], [[15, 13], [15, 12]])


def test_seed002_feature_map_max_and_average_pooling():
    fmap = np.array([[2, 3, 2, 0], [5, -2, 2, 8], [-1, -6, 7, 3], [-4, -5, 4, 2]],
                    dtype=np.float64)[None, None]
    np.testing.assert_array_equal(layers.MaxPool2D(2).forward(fmap)[0, 0], [[5, 8], [-1, 7]])
    np.testing.assert_array_equal(layers.AvgPool2D(2).forward(fmap)[0, 0], [[2, 3], [-4, 4]])


def test_seed003_binary_image():
    image = np.array([[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 0],
                      [0, 1, 1, 0, 0]], dtype=np.float64)[None, None]
    kernel = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], dtype=np.float64)[None, None]
    np.testing.assert_array_equal(conv(image, kernel), [[4, 3, 4], [2, 4, 3], [2, 3, 4]])


def test_seed003_inner_product_is_70():
    a = np.array([[1, 3], [2, 4]], dtype=np.float64)[None, None]
    b = np.array([[5, 7], [6, 8]], dtype=np.float64)[None, None]
    assert conv(a, b)[0, 0] == 70


def test_seed004_same_padding_is_replicate():
    # Seed 004's "same padding" fills the border with the edge pixels: padding_mode="replicate".
    x = np.arange(9, dtype=np.float64).reshape(1, 1, 3, 3)
    ones = np.ones((1, 1, 3, 3))
    out = conv(x, ones, padding=1, padding_mode="replicate")
    assert out.shape == (3, 3)
    assert out[0, 0] == 0 + 0 + 1 + 0 + 0 + 1 + 3 + 3 + 4


def test_multichannel_filter_sums_every_channel():
    # One filter spans all input channels; the channel sums add up to one map (seed 000 §1.3).
    x = np.stack([INPUT_4X4[0, 0], 2 * INPUT_4X4[0, 0]])[None]
    w = np.stack([FILTER_2X2[0, 0], FILTER_2X2[0, 0]])[None]
    np.testing.assert_array_equal(conv(x, w), 3 * conv(INPUT_4X4, FILTER_2X2))


def test_bias_is_one_scalar_per_filter_added_everywhere():
    w = np.concatenate([FILTER_2X2, FILTER_2X2])
    out, _ = F.conv2d_forward(INPUT_4X4, w, np.array([1.0, -100.0]))
    np.testing.assert_array_equal(out[0, 1] - out[0, 0], np.full((3, 3), -101.0))


@pytest.mark.parametrize("name, params", [("deepid", 64_620), ("mnist_cnn", 38_390),
                                          ("deepid_dense", 1_056_850)])
def test_preset_parameter_counts_from_built_models(name, params):
    model = cyconv.presets.build(name)
    assert model.count_params() == params == model.summary().total_params


def test_seed000_summary_prints_formulas_and_total():
    text = str(cyconv.presets.build("deepid").summary())
    assert "OH = (39 + 2·0 − 4)/1 + 1 = 36" in text
    assert "4·4·1·20 + 20 = 340" in text and "64,620" in text


def test_seed000_layer_shapes_by_running_the_model():
    model = cyconv.presets.build("deepid")
    trace = model.forward_trace(np.zeros((1, 1, 39, 31), np.float32))
    shapes = {name: out.shape[1:] for name, out in trace}
    assert shapes["conv1"] == (20, 36, 28) and shapes["pool1"] == (20, 18, 14)
    assert shapes["conv2"] == (40, 16, 12) and shapes["pool3"] == (60, 3, 2)
    assert shapes["conv4"] == (80, 2, 1) and shapes["dense1"] == (100,)
    assert model["dense1"].params["W"].shape == (100, 160)   # seed 000 writes "(100, 160)"


def test_alexnet_runs_and_gives_the_tables_shapes():
    model = cyconv.presets.build("alexnet")
    trace = dict(model.forward_trace(np.zeros((1, 3, 224, 224), np.float32)))
    assert trace["conv1"].shape[1:] == (96, 55, 55)
    assert trace["pool1"].shape[1:] == (96, 27, 27) and trace["norm1"].shape[1:] == (96, 27, 27)
    assert trace["conv2"].shape[1:] == (256, 27, 27) and trace["pool2"].shape[1:] == (256, 13, 13)
    assert trace["conv5"].shape[1:] == (256, 13, 13) and trace["pool3"].shape[1:] == (256, 6, 6)
    assert trace["flatten1"].shape[1:] == (9216,)
    assert trace["fc8"].shape[1:] == (1000,)
