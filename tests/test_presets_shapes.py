"""The presets' shapes and parameter counts against the worked numbers of SEED-FACTS.md.

Only configs() and summarize() are tested here (pure data, no engine); build() needs
cyconv.model and is tested with it.
"""
import json

import pytest

from cyconv import presets, schema, shapes
from cyconv.shapes import summarize


def rows_by_name(name):
    input_shape, layers = presets.configs(name)
    summary = summarize(layers, input_shape)
    assert summary.ok, summary.errors
    return summary, {row.name: row for row in summary}


# ----------------------------------------------------------------------------------------------
# Every preset
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", presets.PRESET_NAMES)
def test_every_config_is_complete_and_named(name):
    _, layers = presets.configs(name)
    for config in layers:
        expected_keys = {"type", "name", *schema.spec(config["type"]).key_names}
        assert set(config) == expected_keys, config
    names = [config["name"] for config in layers]
    assert len(set(names)) == len(names)
    assert shapes.default_names(layers) == names


@pytest.mark.parametrize("name", presets.PRESET_NAMES)
def test_every_preset_has_a_valid_table_ending_in_class_scores(name):
    input_shape, layers = presets.configs(name)
    summary = summarize(layers, input_shape)
    assert summary.ok, summary.errors
    assert len(summary.output_shape) == 1
    # The loss applies softmax (fused with cross-entropy), so the network ends with Dense.
    assert layers[-1]["type"] == "Dense"
    assert all(config["type"] != "Softmax" for config in layers)


@pytest.mark.parametrize("name", presets.PRESET_NAMES)
def test_configs_survive_a_json_round_trip(name):
    input_shape, layers = presets.configs(name)
    data = json.loads(json.dumps({"input_shape": list(input_shape), "layers": layers}))
    assert summarize(data["layers"], data["input_shape"]).total_params == \
        summarize(layers, input_shape).total_params


def test_configs_are_fresh_copies():
    _, first = presets.configs("deepid")
    first[0]["out_channels"] = 999
    first.pop()
    _, second = presets.configs("deepid")
    assert second[0]["out_channels"] == 20 and second[-1]["name"] == "dense1"


@pytest.mark.parametrize("name", presets.PRESET_NAMES)
def test_describe_is_one_line(name):
    text = presets.describe(name)
    assert text and "\n" not in text


def test_describe_mentions_what_the_user_must_know():
    assert "softmax is in the loss" in presets.describe("deepid")
    assert "sigmoid" in presets.describe("lenet5")
    assert "64,620" in presets.describe("deepid")


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown preset 'deepi'.*did you mean.*deepid"):
        presets.configs("deepi")
    with pytest.raises(ValueError, match="presets: deepid, mnist_cnn, lenet5"):
        presets.describe("resnet50")


def test_summary_helper_matches_summarize():
    assert presets.summary("mnist_cnn").total_params == 38_390


# ----------------------------------------------------------------------------------------------
# Seed 000: the per-layer table with the correct counts
# ----------------------------------------------------------------------------------------------
SEED000_OUTPUTS_HWC = {
    "conv1": (36, 28, 20), "pool1": (18, 14, 20), "conv2": (16, 12, 40), "pool2": (8, 6, 40),
    "conv3": (6, 4, 60), "pool3": (3, 2, 60), "conv4": (2, 1, 80), "flatten1": (160,),
    "dense1": (100,),
}
SEED000_PARAMS = {
    "conv1": (340, "4·4·1·20 + 20 = 340"),
    "conv2": (7_240, "3·3·20·40 + 40 = 7,240"),
    "conv3": (21_660, "3·3·40·60 + 60 = 21,660"),
    "conv4": (19_280, "2·2·60·80 + 80 = 19,280"),
    "dense1": (16_100, "160·100 + 100 = 16,100"),
}


@pytest.mark.parametrize("layer", SEED000_OUTPUTS_HWC)
def test_seed000_output_shapes(layer):
    _, rows = rows_by_name("deepid")
    assert rows[layer].output_hwc == SEED000_OUTPUTS_HWC[layer]


@pytest.mark.parametrize("layer", SEED000_PARAMS)
def test_seed000_parameter_counts(layer):
    _, rows = rows_by_name("deepid")
    params, written = SEED000_PARAMS[layer]
    assert rows[layer].params == params
    assert rows[layer].params_formula == written


def test_seed000_totals_and_formula():
    summary, rows = rows_by_name("deepid")
    assert summary.total_params == 64_620
    assert sum(params for params, _ in SEED000_PARAMS.values()) == 64_620
    assert rows["conv1"].formula.split("; ")[0] == "OH = (39 + 2·0 − 4)/1 + 1 = 36"
    assert all(row.params == 0 for row in summary if row.kind in ("MaxPool2D", "ReLU",
                                                                   "Flatten"))
    assert summary.warnings == []
    assert "Total params: 64,620" in str(summary)


def test_dense_baseline_has_far_more_parameters():
    summary, rows = rows_by_name("deepid_dense")
    assert summary.input_shape == (1209,) and 39 * 31 == 1209
    assert summary.total_weights == 1_055_400
    assert summary.total_params == 1_056_850
    assert [rows[f"dense{i}"].output_chw for i in range(1, 6)] == [(600,), (300,), (300,),
                                                                    (150,), (100,)]
    assert rows["dense1"].params_formula == "1,209·600 + 600 = 726,000"
    # Seed 000's point, with the right numbers: the CNN is ~16 times smaller.
    assert presets.summary("deepid").total_params * 16 < summary.total_params


# ----------------------------------------------------------------------------------------------
# Seed 003: MNIST network
# ----------------------------------------------------------------------------------------------
def test_seed003_shapes_and_counts():
    summary, rows = rows_by_name("mnist_cnn")
    assert [rows[n].output_hwc for n in ("conv1", "pool1", "conv2", "pool2")] == [
        (24, 24, 10), (12, 12, 10), (8, 8, 20), (4, 4, 20)]
    assert rows["flatten1"].output_chw == (320,)
    assert rows["dense2"].output_chw == (10,)
    assert [rows[n].weights for n in ("conv1", "conv2", "dense1", "dense2")] == [
        250, 5_000, 32_000, 1_000]
    assert [rows[n].params for n in ("conv1", "conv2", "dense1", "dense2")] == [
        260, 5_020, 32_100, 1_010]
    assert summary.total_weights == 38_250      # the seed's count, "plus intercepts"
    assert summary.total_params == 38_390


# ----------------------------------------------------------------------------------------------
# Seed 002: AlexNet
# ----------------------------------------------------------------------------------------------
ALEXNET_OUTPUTS_HWC = {
    "conv1": (55, 55, 96), "pool1": (27, 27, 96), "norm1": (27, 27, 96),
    "conv2": (27, 27, 256), "pool2": (13, 13, 256), "norm2": (13, 13, 256),
    "conv3": (13, 13, 384), "conv4": (13, 13, 384), "conv5": (13, 13, 256),
    "pool3": (6, 6, 256), "flatten1": (9216,), "fc6": (4096,), "fc7": (4096,), "fc8": (1000,),
}


@pytest.mark.parametrize("layer", ALEXNET_OUTPUTS_HWC)
def test_alexnet_output_shapes(layer):
    _, rows = rows_by_name("alexnet")
    assert rows[layer].output_hwc == ALEXNET_OUTPUTS_HWC[layer]


@pytest.mark.parametrize("layer, formula", [
    ("conv1", "OH = (224 + 1 + 2 − 11)/4 + 1 = 55"),
    ("pool1", "OH = (55 − 3)/2 + 1 = 27"),
    ("conv2", "OH = (27 + 2·2 − 5)/1 + 1 = 27"),
    ("pool2", "OH = (27 − 3)/2 + 1 = 13"),
    ("conv3", "OH = (13 + 2·1 − 3)/1 + 1 = 13"),
    ("pool3", "OH = (13 − 3)/2 + 1 = 6"),
    ("flatten1", "9,216 = 256·6·6"),
])
def test_alexnet_formulas(layer, formula):
    _, rows = rows_by_name("alexnet")
    assert rows[layer].formula.split("; ")[0] == formula


def test_alexnet_layers_and_total():
    summary, rows = rows_by_name("alexnet")
    assert summary.input_shape == (3, 224, 224)
    assert rows["conv1"].padding_tblr == (1, 2, 1, 2)
    assert rows["pool1"].kernel_hw == (3, 3) and rows["pool1"].stride_hw == (2, 2)
    assert [rows[n].kind for n in ("norm1", "norm2", "drop6", "drop7")] == [
        "LRN", "LRN", "Dropout", "Dropout"]
    _, layers = presets.configs("alexnet")
    lrn = next(c for c in layers if c["name"] == "norm1")
    assert (lrn["size"], lrn["alpha"], lrn["beta"], lrn["k"]) == (5, 1e-4, 0.75, 2.0)
    assert all(c["p"] == 0.5 for c in layers if c["type"] == "Dropout")
    expected = {"conv1": 11 * 11 * 3 * 96 + 96, "conv2": 5 * 5 * 96 * 256 + 256,
                "conv3": 3 * 3 * 256 * 384 + 384, "conv4": 3 * 3 * 384 * 384 + 384,
                "conv5": 3 * 3 * 384 * 256 + 256, "fc6": 9216 * 4096 + 4096,
                "fc7": 4096 * 4096 + 4096, "fc8": 4096 * 1000 + 1000}
    assert {n: rows[n].params for n in expected} == expected
    assert summary.total_params == 62_378_344 == sum(expected.values())
    assert summary.warnings == []


# ----------------------------------------------------------------------------------------------
# Seed 000's Keras sketch, LeNet-5 and the small CIFAR net
# ----------------------------------------------------------------------------------------------
def test_keras_sketch_shapes_and_the_dropped_column():
    summary, rows = rows_by_name("keras_sketch")
    assert summary.input_shape == (1, 120, 60)
    assert [rows[n].output_hwc for n in ("conv1", "pool1", "conv2", "pool2", "conv3", "pool3",
                                         "flatten1", "dense1", "dense2")] == [
        (116, 56, 12), (58, 28, 12), (54, 24, 16), (27, 12, 16), (24, 9, 20), (12, 4, 20),
        (960,), (128,), (4,)]
    assert rows["pool3"].formula == "OH = (24 − 2)/2 + 1 = 12; OW = (9 − 2)/2 + 1 = 4.5 → 4"
    assert summary.warnings == ["pool3: (9 − 2) is not divisible by 2: the last column is "
                                "dropped (output floors to 4)"]
    assert summary.total_params == 312 + 4_816 + 5_140 + 123_008 + 516


def test_keras_sketch_without_flatten_fails_where_the_seed_forgot_it():
    input_shape, layers = presets.configs("keras_sketch")
    layers = [c for c in layers if c["type"] != "Flatten"]
    summary = summarize(layers, input_shape)
    assert [row.name for row in summary][-1] == "dense1"
    assert "add a Flatten layer" in summary.errors[0]


def test_lenet5_shapes_and_count():
    summary, rows = rows_by_name("lenet5")
    assert [rows[n].output_hwc for n in ("conv1", "pool1", "conv2", "pool2", "flatten1",
                                         "dense1", "dense2", "dense3")] == [
        (28, 28, 6), (14, 14, 6), (10, 10, 16), (5, 5, 16), (400,), (120,), (84,), (10,)]
    assert rows["conv1"].formula.split("; ")[0] == "OH = (28 + 2·2 − 5)/1 + 1 = 28"
    assert summary.total_params == 156 + 2_416 + 48_120 + 10_164 + 850 == 61_706


def test_cifar_small_shapes_and_count():
    summary, rows = rows_by_name("cifar_small")
    assert [rows[n].output_hwc for n in ("conv1", "conv2", "pool1", "conv3", "pool2",
                                         "flatten1", "dense1", "dense2")] == [
        (32, 32, 32), (32, 32, 32), (16, 16, 32), (16, 16, 64), (8, 8, 64), (4096,), (128,),
        (10,)]
    assert summary.total_params == 896 + 9_248 + 18_496 + 524_416 + 1_290 == 554_346
