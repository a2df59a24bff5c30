"""Residual blocks: out = f(x) + x, or f(x) + P(x) with a 1×1 projection."""
import numpy as np
import pytest

from cyconv import Sequential, export, gradcheck, io, layers, shapes

INNER_SAME = [{"type": "Conv2D", "out_channels": 3, "kernel_size": 3, "padding": 1},
              {"type": "ReLU"}]
# No conv bias before batch norm: its gradient is exactly 0 (the batch mean removes it), which
# a gradient check cannot compare in relative terms.
INNER_DOWN = [{"type": "Conv2D", "out_channels": 5, "kernel_size": 3, "stride": 2,
               "padding": 1, "bias": False}, {"type": "BatchNorm2D"}, {"type": "Tanh"}]


def _model(inner, rng, shape=(3, 6, 6)):
    return Sequential([layers.Residual(inner, rng=rng), layers.Flatten()], input_shape=shape)


def _filled(configs, channels):
    filled = []
    for config in configs:
        config = dict(config)
        if config["type"] == "Conv2D":
            config["in_channels"], channels = channels, config["out_channels"]
        if config["type"] == "BatchNorm2D":
            config["num_features"] = channels
        filled.append(config)
    return filled


def test_identity_shortcut_adds_the_input(rng):
    model = _model(_filled(INNER_SAME, 3), rng)
    block = model.layers[0]
    assert block.projection is None
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    f = block.body[1].forward(block.body[0].forward(x))
    np.testing.assert_allclose(block.forward(x), f + x, rtol=1e-6)


def test_projection_when_the_shape_changes(rng):
    model = _model(_filled(INNER_DOWN, 3), rng)
    block = model.layers[0]
    assert block.projection.stride == (2, 2) and block.projection.kernel_size == (1, 1)
    assert [name for name, _, _ in model.parameters()] == [
        "res1.conv1.W", "res1.bn1.gamma", "res1.bn1.beta",
        "res1.projection.W", "res1.projection.b"]
    assert model.count_params() == sum(row.params for row in model.summary())
    assert [name for name, _ in model.buffers()] == ["res1.bn1.running_mean",
                                                     "res1.bn1.running_var"]


@pytest.mark.parametrize("inner", [INNER_SAME, INNER_DOWN], ids=["identity", "projection"])
def test_gradcheck(inner, rng):
    block = layers.Residual(_filled(inner, 3), rng=rng, dtype=np.float64).build((3, 5, 5))
    errors = gradcheck.check_layer(block, (3, 5, 5), rng=rng, batch=3)
    assert errors and max(errors.values()) < 1e-6, errors


def test_shape_table_shows_the_block_and_its_inner_rows():
    row = shapes.layer_row({"type": "Residual", "layers": INNER_DOWN}, (3, 6, 6))
    assert (row.name, row.output_chw, row.stride_hw) == ("res1", (5, 3, 3), (2, 2))
    assert [inner.name for inner in row.inner] == ["conv1", "bn1", "tanh1"]
    assert row.params == 3 * 3 * 3 * 5 + 10 + (3 * 5 + 5)
    assert row.formula == "out = f(x) + P(x), P: 1×1 conv stride 2×2, 3 → 5 channels"
    text = str(shapes.summarize([{"type": "Residual", "layers": INNER_DOWN}], (3, 6, 6)))
    assert "│ conv1 (Conv2D)" in text and "│ bn1 (BatchNorm2D)" in text


def test_a_block_that_cannot_be_added_names_itself_and_the_shapes():
    inner = [{"type": "Flatten"}, {"type": "Dense", "out_features": 4}]
    with pytest.raises(ValueError, match=r"res1: the inner layers map \(3, 6, 6\) to \(4,\)"):
        shapes.layer_row({"type": "Residual", "layers": inner}, (3, 6, 6))
    with pytest.raises(ValueError, match=r"res1 › conv1: .* larger than the padded input"):
        shapes.layer_row({"type": "Residual", "layers": [
            {"type": "Conv2D", "out_channels": 3, "kernel_size": 9}]}, (3, 6, 6))
    with pytest.raises(TypeError, match="res1: layers must be a non-empty list"):
        shapes.layer_row({"type": "Residual", "layers": []}, (3, 6, 6))


def test_round_trip_through_config_and_checkpoint(tmp_path, rng):
    model = Sequential.from_config({"input_shape": [3, 6, 6], "layers": [
        {"type": "Residual", "layers": INNER_DOWN}, {"type": "Flatten"},
        {"type": "Dense", "out_features": 2}]}, seed=4)
    x = rng.standard_normal((4, 3, 6, 6)).astype(np.float32)
    model.forward(x)                     # moves the running statistics
    io.save(tmp_path / "res.npz", model)
    loaded = io.load(tmp_path / "res.npz").model
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_export_matches_in_torch_and_onnx(rng):
    torch = pytest.importorskip("torch")
    model = Sequential([layers.Residual(_filled(INNER_DOWN, 3), rng=rng),
                        layers.Residual([layers.Conv2D(5, 5, 3, padding=1, rng=rng)], rng=rng),
                        layers.GlobalAvgPool2D()], input_shape=(3, 6, 6))
    model.forward(rng.standard_normal((4, 3, 6, 6)).astype(np.float32))
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    with torch.no_grad():
        out = export.to_torch(model)(torch.tensor(x)).numpy()
    np.testing.assert_allclose(out, model.predict(x), rtol=1e-4, atol=1e-5)
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(export.onnx_model(model).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"input": x})[0], model.predict(x),
                               rtol=1e-4, atol=1e-5)


def test_circular_padding_inside_a_block_raises_the_onnx_opset(rng):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    model = Sequential([layers.Residual([layers.Conv2D(2, 2, 3, padding=1,
                                                       padding_mode="circular", rng=rng)])],
                       input_shape=(2, 5, 5))
    proto = export.onnx_model(model)
    assert proto.opset_import[0].version == export.CIRCULAR_OPSET
    x = rng.standard_normal((1, 2, 5, 5)).astype(np.float32)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"input": x})[0], model.predict(x),
                               rtol=1e-4, atol=1e-5)


def test_a_block_outside_a_model_asks_for_its_input_shape(rng):
    block = layers.Residual(_filled(INNER_SAME, 3), rng=rng)
    with pytest.raises(RuntimeError, match="Residual: the block does not know its input shape"):
        block.forward(np.ones((1, 3, 4, 4), np.float32))


def test_the_model_editor_carries_a_block_through_its_rows(qtbot):
    pytest.importorskip("PySide6")
    from cyconv import presets
    from gui.widgets.model_editor import ModelEditor

    editor = ModelEditor()
    qtbot.addWidget(editor)
    editor.load_preset("resnet_tiny")
    network = editor.network()
    blocks = [layer for layer in network["layers"] if layer["type"] == "Residual"]
    assert [len(block["layers"]) for block in blocks] == [5, 5]
    assert sum(row.params for row in editor.summary) == \
        presets.build("resnet_tiny").count_params()
