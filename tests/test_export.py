"""cyconv.export: PyTorch and ONNX exports compute what cyconv computes."""
import sys

import numpy as np
import pytest

from cyconv import export, io, layers as L, presets
from cyconv.model import Sequential

RTOL = 1e-4          # float32, as the issue asks
ATOL_OF_SCALE = 1e-5  # plus this fraction of the largest |output|, for outputs near zero

CHEAP_PRESETS = ("deepid", "mnist_cnn", "lenet5", "cifar_small")


def every_layer_model():
    """Every padding mode (asymmetric too), every pool kind with padding, LRN with an odd and
    an even size, strides that differ per axis, dropout, and a final softmax."""
    rng = np.random.default_rng(11)
    return Sequential([
        L.Conv2D(3, 4, (3, 2), padding=[1, 2, 0, 1], padding_mode="zeros", rng=rng), L.ReLU(),
        L.Conv2D(4, 5, 3, padding=1, padding_mode="reflect", rng=rng), L.LeakyReLU(0.1),
        L.MaxPool2D(2, padding=1), L.LRN(size=4, alpha=1e-2, beta=0.75, k=1.0),
        L.Conv2D(5, 6, 3, padding="same", padding_mode="replicate", rng=rng), L.Tanh(),
        L.AvgPool2D(3, stride=2, padding=1), L.LRN(size=3, alpha=1e-1, beta=0.5, k=2.0),
        L.Conv2D(6, 6, 2, stride=(1, 2), padding=[0, 1, 1, 0], padding_mode="circular",
                 rng=rng), L.Sigmoid(),
        L.MinPool2D(2, stride=1, padding=1),
        L.Flatten(), L.Dropout(0.3, rng=rng), L.Dense(90, 7, rng=rng), L.ELU(0.7), L.Softmax(),
    ], input_shape=(3, 13, 11))


def new_blocks_model():
    """The layer types and settings added for deeper networks: batch norm (with running
    statistics that have moved), dilated and ceil-mode pooling, average pooling that leaves
    padding out, and global average pooling as the head."""
    rng = np.random.default_rng(12)
    model = Sequential([
        L.Conv2D(3, 4, 3, padding=2, dilation=2, rng=rng), L.BatchNorm2D(4), L.ReLU(),
        L.Conv2D(4, 4, 3, padding=1, groups=2, rng=rng),
        L.MaxPool2D(2, stride=1, padding=1, dilation=(2, 1), ceil_mode=True),
        L.MinPool2D(2, stride=2, dilation=2, ceil_mode=True),
        L.AvgPool2D(2, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
        L.GlobalAvgPool2D(),
        L.BatchNorm1D(4), L.Dense(4, 5, rng=rng),
    ], input_shape=(3, 9, 7))
    model.forward(rng.standard_normal((4, 3, 9, 7)).astype(np.float32))
    return model


MODELS = {name: (lambda name=name: presets.build(name, seed=3)) for name in CHEAP_PRESETS}
MODELS["every_layer"] = every_layer_model
MODELS["new_blocks"] = new_blocks_model


@pytest.fixture(params=sorted(MODELS), ids=sorted(MODELS))
def model_and_input(request):
    model = MODELS[request.param]()
    x = np.random.default_rng(5).standard_normal((3,) + model.input_shape).astype(np.float32)
    return model, x


def assert_same_outputs(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=RTOL,
                               atol=ATOL_OF_SCALE * float(np.abs(expected).max()))


# ---------------------------------------------------------------------------------------------
# PyTorch
# ---------------------------------------------------------------------------------------------
def test_to_torch_computes_the_same(model_and_input):
    torch = pytest.importorskip("torch")
    model, x = model_and_input
    module = export.to_torch(model)
    assert not module.training
    with torch.no_grad():
        out = module(torch.from_numpy(x)).numpy()
    assert_same_outputs(out, model.forward(x, training=False))


def test_to_torch_names_modules_after_layers():
    pytest.importorskip("torch")
    module = export.to_torch(every_layer_model())
    names = [name for name, _ in module.named_children()]
    assert names[:3] == ["conv1_pad", "conv1", "relu1"]
    assert {"pool3", "dropout1", "dense1", "norm2", "conv4_pad"} <= set(names)
    assert "conv1.weight" in module.state_dict()


def test_save_torch_loads_with_weights_only(tmp_path):
    torch = pytest.importorskip("torch")
    model = presets.build("mnist_cnn", seed=1)
    export.save_torch(model, tmp_path / "m.pt")
    saved = torch.load(tmp_path / "m.pt", weights_only=True)
    assert saved["format"] == "cyconv-torch-state-dict" and "to_torch" in saved["note"]
    rebuilt = export.to_torch(presets.build("mnist_cnn", seed=2))
    rebuilt.load_state_dict(saved["state_dict"])
    x = np.random.default_rng(0).standard_normal((2, 1, 28, 28)).astype(np.float32)
    with torch.no_grad():
        assert_same_outputs(rebuilt(torch.from_numpy(x)).numpy(), model.predict(x))


# ---------------------------------------------------------------------------------------------
# ONNX
# ---------------------------------------------------------------------------------------------
def test_to_onnx_runs_the_same_in_onnxruntime(model_and_input, tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    model, x = model_and_input
    path = tmp_path / "model.onnx"
    export.to_onnx(model, path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    expected = model.forward(x, training=False)
    assert_same_outputs(session.run(None, {"input": x})[0], expected)
    # The batch axis is free: one image gives the first row.
    assert_same_outputs(session.run(None, {"input": x[:1]})[0], expected[:1])


@pytest.mark.parametrize("model_factory, opset", [
    (lambda: presets.build("mnist_cnn"), 13), (every_layer_model, 19),
], ids=["plain-13", "circular-19"])
def test_opset_is_13_unless_circular_padding_needs_19(tmp_path, model_factory, opset):
    onnx = pytest.importorskip("onnx")
    export.to_onnx(model_factory(), tmp_path / "m.onnx")
    proto = onnx.load(str(tmp_path / "m.onnx"))
    assert [o.version for o in proto.opset_import] == [opset]
    assert [i.name for i in proto.graph.input] == ["input"]
    assert [o.name for o in proto.graph.output] == ["logits"]
    assert "Dropout" not in {node.op_type for node in proto.graph.node}


@pytest.mark.parametrize("model_factory, opset, match", [
    (lambda: presets.build("mnist_cnn"), 12, "from 13 to"),
    (every_layer_model, 13, "from 19 .*circular"),
    (lambda: presets.build("mnist_cnn"), 999, "newest this onnx package knows"),
], ids=["below-13", "circular-needs-19", "above-the-newest"])
def test_too_low_an_opset_is_refused(tmp_path, model_factory, opset, match):
    pytest.importorskip("onnx")
    with pytest.raises(ValueError, match=match):
        export.to_onnx(model_factory(), tmp_path / "m.onnx", opset=opset)
    assert not (tmp_path / "m.onnx").exists()


def test_odd_lrn_uses_the_onnx_lrn_node_and_even_a_band():
    pytest.importorskip("onnx")
    ops = [node.op_type for node in export.onnx_model(every_layer_model()).graph.node]
    assert ops.count("LRN") == 1 and "Pow" in ops


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("module, call", [
    ("torch", lambda model, tmp: export.to_torch(model)),
    ("onnx", lambda model, tmp: export.to_onnx(model, tmp / "m.onnx")),
], ids=["torch", "onnx"])
def test_missing_package_gives_an_install_hint(monkeypatch, tmp_path, module, call):
    monkeypatch.setitem(sys.modules, module, None)     # makes `import module` fail
    with pytest.raises(ImportError, match=f"pip install {module}"):
        call(presets.build("mnist_cnn"), tmp_path)


@pytest.mark.parametrize("call", [export.to_torch, export.onnx_model], ids=["torch", "onnx"])
def test_only_sequential_models(call):
    with pytest.raises(TypeError, match="cyconv.Sequential"):
        call("not a model")


def test_export_of_a_loaded_checkpoint(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    model = presets.build("lenet5", seed=4)
    io.save(tmp_path / "m.npz", model)
    export.to_onnx(io.load(tmp_path / "m.npz")["model"], tmp_path / "m.onnx")
    x = np.random.default_rng(1).standard_normal((2, 1, 28, 28)).astype(np.float32)
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    assert_same_outputs(session.run(None, {"input": x})[0], model.predict(x))


def test_elu_exports_to_torch_elu_and_onnx_elu_with_its_alpha():
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    model = every_layer_model()
    elu = dict(export.to_torch(model).named_children())["elu1"]
    assert isinstance(elu, torch.nn.ELU) and elu.alpha == pytest.approx(0.7)
    node = next(n for n in export.onnx_model(model).graph.node if n.op_type == "Elu")
    assert node.attribute[0].name == "alpha" and node.attribute[0].f == pytest.approx(0.7)
