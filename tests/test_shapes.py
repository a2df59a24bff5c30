"""cyconv.shapes: padding forms, output sizes, formula text, warnings, rows, names, Summary.

Sections: pair / padding / output size and formula text / warnings / rows per layer type /
names / partial tables / Summary / agreement with PyTorch's shapes / fuzzing for the app.
"""
import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cyconv import shapes
from cyconv.shapes import (ShapeError, conv_output_size, default_names, formula_text,
                           layer_row, layer_rows, normalize_padding, pair, summarize)


def conv(out_channels, kernel, *, in_channels=None, stride=1, padding=0, name=None, **extra):
    config = {"type": "Conv2D", "out_channels": out_channels, "kernel_size": kernel,
              "stride": stride, "padding": padding, **extra}
    if in_channels is not None:
        config["in_channels"] = in_channels
    if name is not None:
        config["name"] = name
    return config


def pool(kernel, stride=None, padding=0, kind="MaxPool2D", name=None):
    config = {"type": kind, "kernel_size": kernel, "stride": stride, "padding": padding}
    if name is not None:
        config["name"] = name
    return config


def dense(out_features, in_features=None, **extra):
    config = {"type": "Dense", "out_features": out_features, **extra}
    if in_features is not None:
        config["in_features"] = in_features
    return config


def windows_1d(size, pad_before, pad_after, kernel, stride):
    """Brute force: count the window positions that fit in the padded input."""
    return len(range(0, size + pad_before + pad_after - kernel + 1, stride))


# ----------------------------------------------------------------------------------------------
# pair
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value, expected", [(3, (3, 3)), ((3, 5), (3, 5)), ([2, 1], (2, 1))],
                         ids=["int", "tuple", "json-list"])
def test_pair_accepts_int_and_pairs(value, expected):
    assert pair(value, "kernel_size", "conv1") == expected


@pytest.mark.parametrize("value, error", [
    (True, TypeError), ((3, False), TypeError), (2.0, TypeError), ("3", TypeError),
    (None, TypeError), ((1, 2, 3), ValueError), (0, ValueError), ((2, -1), ValueError),
], ids=["bool", "bool-inside", "float", "string", "none", "three-values", "zero", "negative"])
def test_pair_rejects(value, error):
    with pytest.raises(error, match="conv7: stride"):
        pair(value, "stride", "conv7")


def test_pair_allows_zero_for_padding_but_not_for_kernel():
    assert pair(0, "padding", "pool1") == (0, 0)
    with pytest.raises(ValueError, match="pool1: kernel_size must be at least 1"):
        pair(0, "kernel_size", "pool1")


# ----------------------------------------------------------------------------------------------
# normalize_padding
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("padding, expected", [
    (0, (0, 0, 0, 0)), (2, (2, 2, 2, 2)), ((1, 3), (1, 1, 3, 3)), ([1, 3], (1, 1, 3, 3)),
    ((1, 2, 3, 4), (1, 2, 3, 4)), ("valid", (0, 0, 0, 0)), ("VALID", (0, 0, 0, 0)),
], ids=["zero", "int", "pair", "json-pair", "per-side", "valid", "valid-upper-case"])
def test_normalize_padding_forms(padding, expected):
    assert normalize_padding(padding, (3, 3), (1, 1), (28, 28)) == expected


@pytest.mark.parametrize("kernel, stride, input_hw, expected", [
    (3, 1, (28, 28), (1, 1, 1, 1)),
    (4, 1, (28, 31), (1, 2, 1, 2)),        # even kernel: the extra pixel goes bottom/right
    (2, 1, (5, 5), (0, 1, 0, 1)),
    (3, 2, (28, 31), (0, 1, 1, 1)),        # OH = 14: total 13·2 + 3 − 28 = 1
    (4, 2, (7, 7), (1, 2, 1, 2)),          # OH = 4: total 3·2 + 4 − 7 = 3
    (2, 2, (28, 28), (0, 0, 0, 0)),        # already tiles exactly
    (1, 2, (5, 5), (0, 0, 0, 0)),          # total would be negative: clipped to 0
    ((5, 2), (1, 3), (10, 10), (2, 2, 0, 1)),
], ids=["k3-s1", "k4-s1-even", "k2-s1", "k3-s2", "k4-s2-even", "k2-s2-exact", "k1-s2",
        "non-square"])
def test_same_padding(kernel, stride, input_hw, expected):
    assert normalize_padding("same", kernel, stride, input_hw, "conv1") == expected


@pytest.mark.parametrize("size", range(1, 13))
@pytest.mark.parametrize("kernel", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_same_padding_gives_ceil_of_size_over_stride(size, kernel, stride):
    top, bottom, _, _ = normalize_padding("same", kernel, stride, (size, size))
    assert conv_output_size(size, top, bottom, kernel, stride) == math.ceil(size / stride)
    assert bottom - top in (0, 1)


@pytest.mark.parametrize("padding, error, fragment", [
    (-1, ValueError, "cannot be negative"),
    ((1, -2), ValueError, "cannot be negative"),
    ((1, 2, 3), ValueError, "3 values"),
    ((1, 2, 3, 4, 5), ValueError, "5 values"),
    ("full", ValueError, "'valid', 'same'"),
    (True, TypeError, "bool"),
    ((1, True), TypeError, "bool"),
    (1.5, TypeError, r"\(1, 2, 1, 2\)"),
    (None, TypeError, "NoneType"),
], ids=["negative", "negative-in-pair", "three-values", "five-values", "unknown-string", "bool",
        "bool-in-pair", "half-pixel", "none"])
def test_normalize_padding_errors_name_the_layer(padding, error, fragment):
    with pytest.raises(error, match=fragment) as info:
        normalize_padding(padding, (3, 3), (1, 1), (28, 28), layer="conv5")
    assert "conv5" in str(info.value)


def test_same_padding_needs_the_input_size():
    with pytest.raises(ValueError, match="conv1: padding 'same' needs the input size"):
        normalize_padding("same", (3, 3), (1, 1), None, layer="conv1")


# ----------------------------------------------------------------------------------------------
# conv_output_size and formula_text
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("args, expected", [
    ((39, 0, 0, 4, 1), 36), ((224, 1, 2, 11, 4), 55), ((27, 2, 2, 5, 1), 27),
    ((27, 0, 0, 3, 2), 13), ((28, 0, 0, 5, 2), 12), ((5, 0, 0, 5, 1), 1), ((5, 1, 0, 6, 3), 1),
], ids=["deepid-conv1", "alexnet-conv1", "alexnet-conv2", "alexnet-pool2", "floors",
        "kernel-equals-input", "kernel-equals-padded-input"])
def test_conv_output_size(args, expected):
    assert conv_output_size(*args) == expected
    assert conv_output_size(*args) == windows_1d(*args)


def test_kernel_larger_than_padded_input_raises_with_the_formula():
    with pytest.raises(ShapeError) as info:
        conv_output_size(5, 0, 0, 7, 1, axis="H", layer="conv3")
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert message.startswith("conv3: ")
    assert "OH = (5 + 2·0 − 7)/1 + 1 = -1 < 1" in message
    assert "kernel height (7) is larger than the padded input height (5 + 0 + 0 = 5)" in message


def test_output_below_one_on_the_width_axis_with_a_stride():
    with pytest.raises(ShapeError, match=r"pool9: OW = \(3 − 4\)/2 \+ 1 = 0\.5 → 0 < 1"):
        conv_output_size(3, 0, 0, 4, 2, axis="W", layer="pool9", omit_zero_padding=True)


@pytest.mark.parametrize("args, error, fragment", [
    ((5, 0, 0, 3, 0), ValueError, "stride H must be at least 1"),
    ((0, 0, 0, 3, 1), ValueError, "input size H must be at least 1"),
    ((5, -1, 0, 3, 1), ValueError, "padding before H"),
    ((5, 0, 0, True, 1), TypeError, "kernel size H must be an int"),
    ((5.0, 0, 0, 3, 1), TypeError, "input size H must be an int"),
], ids=["stride-0", "size-0", "negative-pad", "bool-kernel", "float-size"])
def test_conv_output_size_validates(args, error, fragment):
    with pytest.raises(error, match=fragment) as info:
        conv_output_size(*args, layer="conv2")
    assert "conv2" in str(info.value)


@pytest.mark.parametrize("args, kwargs, expected", [
    ((39, 0, 0, 4, 1, 36), {}, "OH = (39 + 2·0 − 4)/1 + 1 = 36"),
    ((31, 0, 0, 4, 1, 28, "W"), {}, "OW = (31 + 2·0 − 4)/1 + 1 = 28"),
    ((224, 1, 2, 11, 4, 55), {}, "OH = (224 + 1 + 2 − 11)/4 + 1 = 55"),
    ((28, 0, 0, 5, 2, 12), {}, "OH = (28 + 2·0 − 5)/2 + 1 = 12.5 → 12"),
    ((27, 0, 0, 3, 2, 13), {"omit_zero_padding": True}, "OH = (27 − 3)/2 + 1 = 13"),
    ((28, 1, 1, 3, 2, 14), {"omit_zero_padding": True},
     "OH = (28 + 2·1 − 3)/2 + 1 = 14.5 → 14"),
    ((10, 0, 0, 3, 3, 3), {}, "OH = (10 + 2·0 − 3)/3 + 1 = 10/3 → 3"),
    ((10, 0, 0, 3, 4, 2), {}, "OH = (10 + 2·0 − 3)/4 + 1 = 2.75 → 2"),
    ((1209, 0, 0, 9, 1, 1201), {}, "OH = (1,209 + 2·0 − 9)/1 + 1 = 1,201"),
], ids=["symmetric", "width", "asymmetric", "not-whole", "pool-no-padding", "pool-padding",
        "thirds", "quarters", "thousands"])
def test_formula_text_exact_strings(args, kwargs, expected):
    assert formula_text(*args, **kwargs) == expected


def test_formula_text_refuses_a_wrong_output():
    with pytest.raises(ValueError, match="out = 13 but the formula gives 12"):
        formula_text(28, 0, 0, 5, 2, 13)


# ----------------------------------------------------------------------------------------------
# Warnings for dropped rows and columns
# ----------------------------------------------------------------------------------------------
def test_conv_not_divisible_warns_with_the_formula():
    row = layer_row(conv(4, 5, stride=2), (1, 28, 28), name="conv1")
    assert row.output_chw == (4, 12, 12)
    assert row.warnings == (
        "(28 + 2·0 − 5) is not divisible by 2: the last row is dropped (output floors to 12)",
        "(28 + 2·0 − 5) is not divisible by 2: the last column is dropped (output floors to 12)",
    )


def test_several_rows_dropped_are_counted():
    row = layer_row(conv(1, 3, stride=4), (1, 10, 7), name="conv1")
    assert row.output_chw == (1, 2, 2)
    assert row.warnings == (
        "(10 + 2·0 − 3) is not divisible by 4: the last 3 rows are dropped (output floors to 2)",
    )


def test_only_padding_dropped_says_no_input_is_lost():
    row = layer_row(conv(1, 5, stride=2, padding=2), (1, 28, 28), name="conv1")
    assert row.output_chw == (1, 14, 14)
    assert row.warnings[0] == ("(28 + 2·2 − 5) is not divisible by 2: the last padding row is "
                               "never used (no input is lost; output floors to 14)")


def test_pooling_that_drops_rows_and_columns_warns():
    row = layer_row(pool(2), (20, 39, 31), name="pool1")
    assert row.output_chw == (20, 19, 15)
    assert row.warnings == (
        "(39 − 2) is not divisible by 2: the last row is dropped (output floors to 19)",
        "(31 − 2) is not divisible by 2: the last column is dropped (output floors to 15)",
    )


def test_exact_tiling_has_no_warning():
    assert layer_row(pool(2), (20, 36, 28)).warnings == ()
    assert layer_row(conv(4, 3, padding=1), (1, 28, 28)).warnings == ()


# ----------------------------------------------------------------------------------------------
# Rows per layer type
# ----------------------------------------------------------------------------------------------
def test_conv_row_fields():
    row = layer_row(conv(20, 4, in_channels=1), (1, 39, 31), name="conv1")
    assert (row.name, row.kind) == ("conv1", "Conv2D")
    assert (row.input_chw, row.output_chw) == ((1, 39, 31), (20, 36, 28))
    assert (row.input_hwc, row.output_hwc) == ((39, 31, 1), (36, 28, 20))
    assert row.formula == "OH = (39 + 2·0 − 4)/1 + 1 = 36; OW = (31 + 2·0 − 4)/1 + 1 = 28"
    assert (row.weights, row.biases, row.params) == (320, 20, 340)
    assert row.params_formula == "4·4·1·20 + 20 = 340"
    assert row.macs == 36 * 28 * 20 * 1 * 4 * 4
    assert (row.kernel_hw, row.stride_hw, row.padding_tblr) == ((4, 4), (1, 1), (0, 0, 0, 0))
    assert row.error is None and row.ok


def test_row_is_frozen_and_serializable():
    row = layer_row(conv(2, 3), (1, 5, 5))
    with pytest.raises(dataclasses.FrozenInstanceError):
        row.weights = 0
    as_dict = dataclasses.asdict(row)
    assert as_dict["params"] == row.params == 2 * 9 + 2
    assert as_dict["output_hwc"] == (3, 3, 2)


def test_conv_non_square_kernel_stride_and_padding():
    row = layer_row(conv(3, (5, 3), stride=(2, 1), padding=(1, 1, 0, 1)), (2, 11, 8))
    assert row.output_chw == (3, 5, 7)
    assert row.formula == "OH = (11 + 2·1 − 5)/2 + 1 = 5; OW = (8 + 0 + 1 − 3)/1 + 1 = 7"
    assert row.weights == 5 * 3 * 2 * 3
    assert row.macs == 5 * 7 * 3 * 2 * 5 * 3


def test_conv_without_bias():
    row = layer_row(conv(8, 3, bias=False), (1, 10, 10))
    assert (row.weights, row.biases, row.params_formula) == (72, 0, "3·3·1·8 = 72")


def test_conv_same_padding_keeps_the_size():
    row = layer_row(conv(8, 4, padding="same"), (3, 28, 31))
    assert row.output_chw == (8, 28, 31)
    assert row.padding_tblr == (1, 2, 1, 2)
    assert "OH = (28 + 1 + 2 − 4)/1 + 1 = 28" in row.formula


def test_conv_infers_missing_in_channels():
    assert layer_row(conv(4, 3), (7, 5, 5)).weights == 3 * 3 * 7 * 4


def test_channel_mismatch_is_an_error():
    with pytest.raises(ShapeError) as info:
        layer_row(conv(6, 5, in_channels=3), (1, 28, 28), name="conv1")
    message = str(info.value)
    assert "conv1: in_channels = 3" in message and "(1, 28, 28)" in message
    assert "1 channel" in message


@pytest.mark.parametrize("mode, padding, ok", [
    ("replicate", 5, True), ("reflect", 3, True), ("reflect", 4, False), ("circular", 4, True),
    ("circular", 5, False), ("mirror", 1, False),
], ids=["replicate-any", "reflect-below-size", "reflect-at-size", "circular-at-size",
        "circular-beyond", "unknown-mode"])
def test_padding_mode_limits(mode, padding, ok):
    config = conv(1, 3, padding=padding, padding_mode=mode)
    if ok:
        assert layer_row(config, (1, 4, 4), name="conv1").ok
    else:
        with pytest.raises(ValueError, match="conv1: "):
            layer_row(config, (1, 4, 4), name="conv1")


def test_conv_bias_must_be_a_bool():
    with pytest.raises(TypeError, match="conv1: bias must be True or False"):
        layer_row(conv(1, 3, bias=1), (1, 4, 4), name="conv1")


@pytest.mark.parametrize("kind", ["MaxPool2D", "AvgPool2D", "MinPool2D"])
def test_pool_row(kind):
    row = layer_row(pool(3, 2, kind=kind), (96, 55, 55), name="pool1")
    assert row.kind == kind
    assert row.output_chw == (96, 27, 27)
    assert row.formula == "OH = (55 − 3)/2 + 1 = 27; OW = (55 − 3)/2 + 1 = 27"
    assert (row.params, row.params_formula, row.macs) == (0, "0", 0)


def test_pool_stride_defaults_to_the_kernel():
    row = layer_row(pool((2, 3)), (4, 8, 9))
    assert row.stride_hw == (2, 3)
    assert row.output_chw == (4, 4, 3)


def test_pool_padding_up_to_half_the_kernel():
    row = layer_row(pool(3, 2, padding=1), (1, 28, 28), name="pool1")
    assert row.output_chw == (1, 14, 14)
    assert row.formula.startswith("OH = (28 + 2·1 − 3)/2 + 1 = 14.5 → 14")
    assert "padding row is never used" in row.warnings[0]


@pytest.mark.parametrize("kernel, padding", [(3, 2), (2, 2), ((3, 5), (1, 3))],
                         ids=["k3-p2", "k2-p2", "non-square"])
def test_pool_padding_beyond_half_the_kernel_is_an_error(kernel, padding):
    with pytest.raises(ShapeError, match="pool2: padding .* more than half the kernel"):
        layer_row(pool(kernel, 1, padding=padding), (1, 28, 28), name="pool2")


def test_pool_larger_than_input_is_an_error_with_the_formula():
    with pytest.raises(ShapeError, match=r"pool3: OH = \(1 − 2\)/2 \+ 1 = 0\.5 → 0 < 1"):
        layer_row(pool(2), (80, 1, 1), name="pool3")


def test_dense_row():
    row = layer_row(dense(100, 160), (160,), name="dense1")
    assert row.output_chw == row.output_hwc == (100,)
    assert (row.weights, row.biases, row.params) == (16_000, 100, 16_100)
    assert row.params_formula == "160·100 + 100 = 16,100"
    assert row.macs == 16_000
    assert row.formula == ""


def test_dense_without_bias():
    row = layer_row(dense(10, bias=False), (1209,))
    assert row.params_formula == "1,209·10 = 12,090"


def test_dense_on_an_image_asks_for_a_flatten():
    with pytest.raises(ShapeError) as info:
        layer_row(dense(100, 160), (80, 2, 1), name="dense1")
    message = str(info.value)
    assert message.startswith("dense1: Dense needs a flat vector")
    assert "(80, 2, 1)" in message and "Flatten" in message and "160 = 80·2·1" in message


def test_dense_in_features_mismatch():
    with pytest.raises(ShapeError, match=r"dense1: in_features = 150 but the input \(160,\) "
                                         r"has 160 features"):
        layer_row(dense(100, 150), (160,), name="dense1")


def test_flatten_row():
    row = layer_row({"type": "Flatten"}, (80, 2, 1))
    assert (row.name, row.output_chw, row.formula) == ("flatten1", (160,), "160 = 80·2·1")
    assert layer_row({"type": "Flatten"}, (160,)).output_chw == (160,)


@pytest.mark.parametrize("config", [
    {"type": "ReLU"}, {"type": "Sigmoid"}, {"type": "Tanh"},
    {"type": "LeakyReLU", "negative_slope": 0.1}, {"type": "Dropout", "p": 0.5},
    {"type": "LRN", "size": 5, "alpha": 1e-4, "beta": 0.75, "k": 2.0},
], ids=lambda c: c["type"])
def test_shape_keeping_layers(config):
    row = layer_row(config, (96, 27, 27))
    assert row.output_chw == (96, 27, 27)
    assert (row.params, row.macs, row.formula, row.warnings) == (0, 0, "", ())


def test_activations_also_work_on_vectors():
    assert layer_row({"type": "ReLU"}, (100,)).output_chw == (100,)
    assert layer_row({"type": "Softmax"}, (10,)).output_chw == (10,)


@pytest.mark.parametrize("config, shape, error, fragment", [
    ({"type": "Softmax"}, (10, 2, 2), ShapeError, "Softmax .* needs a flat vector"),
    ({"type": "LRN"}, (100,), ShapeError, "LRN .* needs an image input"),
    ({"type": "Conv2D", "out_channels": 2, "kernel_size": 3}, (160,), ShapeError,
     "Conv2D needs an image input"),
    ({"type": "MaxPool2D", "kernel_size": 2}, (160,), ShapeError, "MaxPool2D needs an image"),
    ({"type": "Dropout", "p": 1.0}, (10,), ValueError, r"p must be in \[0, 1\)"),
    ({"type": "Dropout", "p": "half"}, (10,), TypeError, "p must be a finite number"),
    ({"type": "LeakyReLU", "negative_slope": True}, (10,), TypeError, "negative_slope"),
    ({"type": "LRN", "k": 0.0}, (3, 4, 4), ValueError, r"k must be in \(0, inf\]"),
    ({"type": "LRN", "size": 0}, (3, 4, 4), ValueError, "size must be at least 1"),
], ids=["softmax-on-image", "lrn-on-vector", "conv-on-vector", "pool-on-vector", "dropout-p-1",
        "dropout-p-string", "leaky-bool", "lrn-k-zero", "lrn-size-zero"])
def test_layer_specific_errors(config, shape, error, fragment):
    with pytest.raises(error, match=fragment) as info:
        layer_row(config, shape, name="layerX")
    assert str(info.value).startswith("layerX: ")


@pytest.mark.parametrize("config, error, fragment", [
    ({"type": "Conv3D"}, ValueError, "unknown layer type 'Conv3D' .*did you mean 'Conv2D'"),
    ({"type": "Linear"}, ValueError, "known types: Conv2D, MaxPool2D"),
    ({"kernel_size": 3}, ValueError, "the config has no 'type'"),
    ({"type": ["Conv2D"]}, TypeError, "'type' must be a string"),
    ({"type": "Conv2D", "out_channels": 2, "kernal_size": 3}, ValueError, "no key.* kernal_size"),
    ({"type": "Conv2D", "out_channels": 2}, ValueError, "Conv2D needs kernel_size"),
    ({"type": "Dense"}, ValueError, "Dense needs out_features"),
    (["Conv2D"], TypeError, "must be a dict"),
], ids=["unknown-type", "lists-known-types", "no-type", "type-not-a-string", "unknown-key",
        "missing-kernel", "missing-out-features", "not-a-dict"])
def test_malformed_configs(config, error, fragment):
    with pytest.raises(error, match=fragment):
        layer_row(config, (1, 8, 8), name="conv1")


@pytest.mark.parametrize("shape, error, fragment", [
    ((28, 28), ValueError, r"add the channel: \(1, 28, 28\)"),
    ((1, 0, 5), ValueError, "at least 1"),
    ((1, 2, 3, 4), ValueError, r"\(C, H, W\) for images or \(D,\)"),
    ((1, 5.0, 5), TypeError, "must hold ints"),
    (784, TypeError, "must be a tuple"),
], ids=["2d", "zero-size", "4d", "float", "bare-int"])
def test_input_shape_validation(shape, error, fragment):
    with pytest.raises(error, match=fragment):
        layer_rows([{"type": "ReLU"}], shape)


def test_output_shape_helper():
    assert shapes.output_shape(conv(6, 5, padding=2), (1, 28, 28)) == (6, 28, 28)


# ----------------------------------------------------------------------------------------------
# Names
# ----------------------------------------------------------------------------------------------
def test_default_names_count_per_prefix():
    configs = [conv(1, 3), {"type": "ReLU"}, pool(2), {"type": "LRN"}, conv(1, 3),
               {"type": "LeakyReLU"}, pool(2, kind="AvgPool2D"), pool(2, kind="MinPool2D"),
               {"type": "Flatten"}, {"type": "Dropout"}, dense(3), {"type": "Sigmoid"},
               {"type": "Tanh"}, {"type": "Softmax"}, {"type": "ReLU"}]
    assert default_names(configs) == [
        "conv1", "relu1", "pool1", "norm1", "conv2", "lrelu1", "pool2", "pool3", "flatten1",
        "dropout1", "dense1", "sigmoid1", "tanh1", "softmax1", "relu2"]


def test_explicit_names_win_and_names_stay_unique():
    configs = [conv(1, 3), conv(1, 3, name="conv1"), conv(1, 3, name="stem"), conv(1, 3)]
    names = default_names(configs)
    assert names[1:3] == ["conv1", "stem"]
    assert len(set(names)) == 4
    assert names == ["conv2", "conv1", "stem", "conv3"]


@pytest.mark.parametrize("bad_name, fragment", [
    ("conv1", "used twice"), ("conv.1", "cannot contain '.'"), ("", "non-empty string"),
    (3, "non-empty string"),
], ids=["duplicate", "dot", "empty", "not-a-string"])
def test_bad_explicit_names(bad_name, fragment):
    with pytest.raises(ValueError, match=fragment):
        default_names([conv(1, 3, name="conv1"), conv(1, 3, name=bad_name)])


def test_layer_row_name_comes_from_the_config_or_the_type():
    assert layer_row(conv(1, 3, name="first"), (1, 5, 5)).name == "first"
    assert layer_row(pool(2), (1, 4, 4)).name == "pool1"
    assert layer_row(pool(2), (1, 4, 4), name="p").name == "p"


# ----------------------------------------------------------------------------------------------
# Partial tables
# ----------------------------------------------------------------------------------------------
FAILS_AT_CONV3 = [conv(4, 3), {"type": "ReLU"}, pool(2), conv(8, 3), conv(8, 7), dense(10)]


def test_partial_table_stops_at_the_failing_layer():
    rows = layer_rows(FAILS_AT_CONV3, (1, 16, 16))
    assert [row.name for row in rows] == ["conv1", "relu1", "pool1", "conv2", "conv3"]
    assert [row.output_chw for row in rows[:4]] == [(4, 14, 14), (4, 14, 14), (4, 7, 7),
                                                   (8, 5, 5)]
    failed = rows[-1]
    assert failed.output_chw is None and failed.output_hwc is None and not failed.ok
    assert failed.input_chw == (8, 5, 5)
    assert failed.kind == "Conv2D"
    assert failed.error.startswith("conv3: OH = (5 + 2·0 − 7)/1 + 1 = -1 < 1")
    assert all(row.error is None for row in rows[:4])


def test_non_partial_table_raises():
    with pytest.raises(ShapeError, match=r"conv3: OH = \(5 \+ 2·0 − 7\)/1 \+ 1 = -1 < 1"):
        layer_rows(FAILS_AT_CONV3, (1, 16, 16), partial=False)


@pytest.mark.parametrize("bad", [
    {"type": "Conv2D", "out_channels": 3, "kernel_size": "x"},
    {"type": "Nope"}, None, {"type": "ReLU", "name": "conv1"},
], ids=["bad-kernel", "unknown-type", "none", "duplicate-name"])
def test_partial_table_turns_malformed_configs_into_an_error_row(bad):
    first = conv(2, 3, name="conv1")
    rows = layer_rows([first, bad, {"type": "ReLU"}], (1, 8, 8))
    assert len(rows) == 2
    assert rows[0].ok and rows[1].error
    with pytest.raises((ValueError, TypeError)):
        layer_rows([first, bad], (1, 8, 8), partial=False)


def test_shares_add_up_to_one():
    rows = layer_rows([conv(4, 3), {"type": "Flatten"}, dense(10)], (1, 5, 5))
    assert rows[0].share == pytest.approx(40 / (40 + 370), abs=1e-12)
    assert rows[1].share == 0.0
    assert sum(row.share for row in rows) == pytest.approx(1.0, abs=1e-12)


# ----------------------------------------------------------------------------------------------
# Summary
# ----------------------------------------------------------------------------------------------
SEED000 = [conv(20, 4, in_channels=1), {"type": "ReLU"}, pool(2),
           conv(40, 3, in_channels=20), {"type": "ReLU"}, pool(2),
           conv(60, 3, in_channels=40), {"type": "ReLU"}, pool(2),
           conv(80, 2, in_channels=60), {"type": "ReLU"}, {"type": "Flatten"},
           dense(100, 160)]


def test_summary_totals_and_text():
    summary = summarize(SEED000, (1, 39, 31))
    assert isinstance(summary, list) and len(summary) == 13
    assert summary.ok and summary.input_shape == (1, 39, 31)
    assert summary.output_shape == (100,)
    assert summary.total_params == 64_620
    assert summary.total_weights + summary.total_biases == summary.total_params
    assert summary.total_biases == 20 + 40 + 60 + 80 + 100
    assert summary.total_macs == (36 * 28 * 20 * 16 + 16 * 12 * 40 * 20 * 9
                                  + 6 * 4 * 60 * 40 * 9 + 2 * 1 * 80 * 60 * 4 + 160 * 100)
    text = str(summary)
    for fragment in ["Total params: 64,620", "OH = (39 + 2·0 − 4)/1 + 1 = 36",
                     "4·4·1·20 + 20 = 340", "(36, 28, 20)", "(20, 36, 28)", "conv1 (Conv2D)",
                     "flatten1 (Flatten)", "(160,)", "24.9%", "322,560"]:
        assert fragment in text, fragment
    assert "Warnings" not in text and "Error" not in text


def test_summary_lists_warnings_and_errors_under_the_table():
    summary = summarize([pool(2), conv(3, 9)], (1, 9, 9))
    assert not summary.ok and summary.output_shape is None
    assert summary.warnings == [
        "pool1: (9 − 2) is not divisible by 2: the last row is dropped (output floors to 4)",
        "pool1: (9 − 2) is not divisible by 2: the last column is dropped (output floors to 4)"]
    assert len(summary.errors) == 1 and summary.errors[0].startswith("conv1: OH = (4 + 2·0 − 9)")
    text = str(summary)
    table_end = text.index("Total params")
    assert text.index("Warnings:") > table_end
    assert text.index(summary.errors[0]) > table_end
    assert "ERROR (see below)" in text[:table_end]


def test_empty_summary():
    summary = summarize([], (3, 4, 4))
    assert (summary.total_params, summary.ok, summary.output_shape) == (0, True, (3, 4, 4))
    assert "Total params: 0" in str(summary)


# ----------------------------------------------------------------------------------------------
# Agreement with PyTorch's own shape arithmetic
# ----------------------------------------------------------------------------------------------
@pytest.mark.torch
@pytest.mark.parametrize("kernel, stride, padding, size", [
    ((3, 3), (1, 1), (1, 1), (28, 28)), ((5, 3), (2, 1), (0, 1), (11, 8)),
    ((11, 11), (4, 4), (2, 2), (227, 227)), ((4, 2), (3, 2), (0, 0), (17, 9)),
], ids=["k3-p1", "non-square", "alexnet-227", "non-divisible"])
def test_conv_and_pool_sizes_match_torch(kernel, stride, padding, size):
    torch = pytest.importorskip("torch")
    x = torch.zeros(1, 2, *size)
    weight = torch.zeros(3, 2, *kernel)
    expected = tuple(torch.nn.functional.conv2d(x, weight, stride=stride, padding=padding).shape)
    row = layer_row(conv(3, kernel, stride=stride, padding=padding), (2, *size))
    assert (1, *row.output_chw) == expected
    pooled = torch.nn.functional.max_pool2d(x, kernel, stride=stride, padding=0)
    assert (1, *layer_row(pool(kernel, stride), (2, *size)).output_chw) == tuple(pooled.shape)


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("kernel, size", [(3, (10, 7)), (4, (10, 7)), ((2, 5), (6, 9))],
                         ids=["odd", "even", "non-square"])
def test_same_padding_matches_torch(kernel, size):
    torch = pytest.importorskip("torch")
    x = torch.arange(2 * size[0] * size[1], dtype=torch.float64).reshape(1, 2, *size)
    kh, kw = pair(kernel, "kernel_size", "test")
    weight = torch.linspace(-1, 1, 3 * 2 * kh * kw, dtype=torch.float64).reshape(3, 2, kh, kw)
    expected = torch.nn.functional.conv2d(x, weight, padding="same")
    top, bottom, left, right = normalize_padding("same", kernel, 1, size)
    padded = torch.nn.functional.pad(x, (left, right, top, bottom))
    ours = torch.nn.functional.conv2d(padded, weight)
    assert ours.shape == expected.shape
    assert torch.allclose(ours, expected, rtol=0, atol=1e-12)


# ----------------------------------------------------------------------------------------------
# The app calls the table on every edit: it must answer, never crash
# ----------------------------------------------------------------------------------------------
_values = st.one_of(st.none(), st.booleans(), st.integers(-3, 40), st.floats(-2, 5),
                    st.text(max_size=4), st.lists(st.integers(-2, 12), max_size=5))
_configs = st.fixed_dictionaries(
    {"type": st.one_of(st.sampled_from(shapes.LAYER_TYPES + ("Bogus",)), _values)},
    optional={key: _values for key in ("in_channels", "out_channels", "kernel_size", "stride",
                                       "padding", "padding_mode", "bias", "in_features",
                                       "out_features", "p", "size", "alpha", "beta", "k",
                                       "negative_slope", "name")})


@settings(max_examples=300, deadline=None)
@given(configs=st.lists(_configs, max_size=6),
       input_shape=st.sampled_from([(1, 12, 12), (3, 5, 7), (20,)]))
def test_partial_table_never_raises_on_garbage(configs, input_shape):
    rows = layer_rows(configs, input_shape)
    assert all(row.ok for row in rows[:-1])
    for row in rows:
        if row.ok:
            assert row.params == row.weights + row.biases >= 0
            assert all(n >= 1 for n in row.output_chw)
    str(shapes.Summary(rows, input_shape))


@settings(max_examples=200, deadline=None)
@given(size=st.integers(1, 40), pads=st.tuples(st.integers(0, 5), st.integers(0, 5)),
       kernel=st.integers(1, 12), stride=st.integers(1, 6))
def test_output_size_equals_the_number_of_window_positions(size, pads, kernel, stride):
    expected = windows_1d(size, pads[0], pads[1], kernel, stride)
    if expected < 1:
        with pytest.raises(ShapeError, match=" < 1: the kernel height"):
            conv_output_size(size, *pads, kernel, stride)
    else:
        out = conv_output_size(size, *pads, kernel, stride)
        assert out == expected
        assert formula_text(size, *pads, kernel, stride, out).endswith(f"{out:,}")
