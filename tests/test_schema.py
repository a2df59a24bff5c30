"""cyconv.schema: one entry per layer type, read by the layers, the shape table and the editor.

Sections: the registry agrees with the layer classes / one message wherever a bad setting
comes from / defaults / configs round-trip / importing the shape engine loads no kernel.
"""
import inspect
import subprocess
import sys

import pytest

from cyconv import layers, schema, shapes
from gui import model_spec

# (type, good settings besides the bad one, the bad key, its bad value, error, fragment)
BAD_SETTINGS = [
    ("Conv2D", {"in_channels": 1, "out_channels": 2, "kernel_size": 3}, "stride", 0,
     ValueError, "stride must be at least 1"),
    ("Conv2D", {"in_channels": 1, "out_channels": 2, "kernel_size": 3}, "padding_mode",
     "mirror", ValueError, "unknown padding_mode 'mirror'"),
    ("Conv2D", {"in_channels": 1, "out_channels": 2, "kernel_size": 3}, "bias", 1,
     TypeError, "bias must be True or False"),
    ("MaxPool2D", {"kernel_size": 2}, "padding", 2, ValueError, "more than half the kernel"),
    ("AvgPool2D", {"kernel_size": 3}, "stride", (1, 0), ValueError, "stride must be at least 1"),
    ("Dense", {"in_features": 4}, "out_features", 0, ValueError, "out_features must be at least"),
    ("LeakyReLU", {}, "negative_slope", True, TypeError, "negative_slope must be a finite"),
    ("Dropout", {}, "p", 1.0, ValueError, r"p must be in \[0, 1\)"),
    ("ELU", {}, "alpha", -1.0, ValueError, r"alpha must be in \[0, inf\]"),
    ("LRN", {}, "k", 0.0, ValueError, r"k must be in \(0, inf\]"),
    ("LRN", {}, "beta", -1.0, ValueError, r"beta must be in \[0, inf\]"),
]
IDS = [f"{kind}-{key}" for kind, _, key, *_ in BAD_SETTINGS]


def test_every_schema_type_has_exactly_one_layer_class():
    assert set(layers.LAYER_CLASSES) == set(schema.LAYER_TYPES)
    for type_name, cls in layers.LAYER_CLASSES.items():
        assert cls.type_name == type_name


def test_the_editor_offers_every_schema_type():
    assert model_spec.EDITOR_TYPES == schema.LAYER_TYPES


@pytest.mark.parametrize("kind, good, key, value, error, fragment", BAD_SETTINGS, ids=IDS)
def test_a_bad_setting_gets_one_message_wherever_it_comes_from(kind, good, key, value, error,
                                                                fragment):
    settings = {**good, key: value}
    with pytest.raises(error, match=fragment) as from_layer:
        layers.LAYER_CLASSES[kind](**settings, name="layer1")
    with pytest.raises(error) as from_table:
        shapes.layer_row({"type": kind, **settings}, (4, 8, 8) if kind != "Dense" else (4,),
                         name="layer1")
    with pytest.raises(error) as from_config:
        layers.from_config({"type": kind, "name": "layer1", **settings})
    assert str(from_layer.value) == str(from_table.value) == str(from_config.value)
    assert str(from_layer.value).startswith("layer1: ")


def test_the_editor_reports_a_bad_mode_with_the_schema_message():
    row = model_spec.RowSpec(type="Conv2D", units="2", kernel="3", mode="mirror", name="conv1")
    with pytest.raises(ValueError) as from_editor:
        model_spec.spec_to_config(row)
    with pytest.raises(ValueError) as from_layer:
        layers.Conv2D(1, 2, 3, padding_mode="mirror", name="conv1")
    assert str(from_editor.value) == str(from_layer.value)


@pytest.mark.parametrize("type_name", schema.LAYER_TYPES)
def test_constructor_defaults_are_the_schema_defaults(type_name):
    parameters = inspect.signature(layers.LAYER_CLASSES[type_name]).parameters
    for key in schema.spec(type_name).keys:
        if key.default is schema.REQUIRED:
            continue
        assert parameters[key.name].default == key.default, key.name


@pytest.mark.parametrize("config", [
    {"type": "Conv2D", "in_channels": 3, "out_channels": 4, "kernel_size": [3, 5],
     "stride": [1, 2], "padding": "same", "padding_mode": "reflect", "bias": False,
     "dilation": [2, 1], "groups": 1},
    {"type": "MinPool2D", "kernel_size": [3, 3], "stride": [2, 2], "padding": [1, 1],
     "dilation": [1, 2], "ceil_mode": True},
    {"type": "AvgPool2D", "kernel_size": [2, 2], "stride": [2, 2], "padding": [1, 0],
     "ceil_mode": False, "count_include_pad": False},
    {"type": "BatchNorm2D", "num_features": 3, "eps": 1e-3, "momentum": 0.2},
    {"type": "GlobalAvgPool2D"},
    {"type": "Dense", "in_features": 7, "out_features": 3, "bias": True},
    {"type": "LRN", "size": 4, "alpha": 0.01, "beta": 0.5, "k": 1.0},
    {"type": "LeakyReLU", "negative_slope": 0.2},
    {"type": "ELU", "alpha": 0.5},
    {"type": "Dropout", "p": 0.25},
    {"type": "Softmax"},
], ids=lambda config: config["type"])
def test_configs_round_trip_through_the_layer(config):
    assert layers.from_config(config).config() == config


def test_a_layer_without_input_size_is_refused_with_the_key():
    with pytest.raises(ValueError, match="conv1: Conv2D needs in_channels"):
        layers.from_config({"type": "Conv2D", "name": "conv1", "out_channels": 2,
                            "kernel_size": 3})


def test_register_refuses_a_type_twice():
    with pytest.raises(ValueError, match="already in the schema"):
        schema.register(schema.spec("ReLU"))


def test_key_text_names_the_accepted_values_and_the_default():
    assert schema.spec("Dropout").key("p").text == "p: number in [0, 1) (default 0.5)"


@pytest.mark.parametrize("module", ["cyconv.shapes", "cyconv.schema"])
def test_importing_the_shape_engine_loads_no_compiled_kernel(module):
    code = (f"import sys, {module}\n"
            "loaded = sorted(m for m in sys.modules if m.startswith('cyconv._kernels'))\n"
            "print(','.join(loaded))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == ""


def test_the_editor_describes_a_type_from_its_schema_entry():
    text = model_spec.describe("Dropout")
    assert text.splitlines()[:2] == ["Dropout: zeroes random values while training",
                                    "training: x·mask/(1 − p); inference: x"]
    assert "p: number in [0, 1) (default 0.5)" in text


def test_a_new_element_wise_type_gets_a_shape_row_and_a_default_name():
    row = shapes.layer_row({"type": "ELU", "alpha": 0.5}, (3, 4, 4))
    assert (row.name, row.output_chw, row.params) == ("elu1", (3, 4, 4), 0)
