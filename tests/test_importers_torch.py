"""cyconv.importers.from_torch / from_torch_file: torch → cyconv → torch on every preset, a
hand-written LeNet matched against torch's forward, files, and refusals."""
import pickle

import numpy as np
import pytest

from cyconv import export, presets

torch = pytest.importorskip("torch")
nn = torch.nn

from cyconv.importers import (ModelImportError, from_torch, from_torch_file,  # noqa: E402
                              load_model)

pytestmark = pytest.mark.torch
TOLERANCE = dict(rtol=1e-5, atol=1e-5)


def _batch(input_shape, n, seed=0):
    return np.random.default_rng(seed).standard_normal((n,) + tuple(input_shape)).astype(
        np.float32)


def _torch_forward(module, x):
    with torch.no_grad():
        return module.eval()(torch.from_numpy(x)).numpy()


def _assert_matches_torch(module, model, n=3):
    x = _batch(model.input_shape, n)
    np.testing.assert_allclose(model.forward(x, training=False), _torch_forward(module, x),
                               **TOLERANCE)


# ----------------------------------------------------------------------------------------------
# torch → cyconv → torch
# ----------------------------------------------------------------------------------------------
def _round_trip(name, n):
    model = presets.build(name, seed=5)
    module = export.to_torch(model)              # an nn.Sequential built by torch
    imported = from_torch(module, model.input_shape)
    assert imported.configs() == model.configs()
    for key, value in model.state_dict().items():
        assert np.array_equal(imported.state_dict()[key], value), key
    back = export.to_torch(imported)
    x = _batch(model.input_shape, n)
    np.testing.assert_array_equal(_torch_forward(back, x), _torch_forward(module, x))
    np.testing.assert_allclose(imported.forward(x, training=False), _torch_forward(module, x),
                               **TOLERANCE)


# Residual blocks are not imported (the importers read a single chain of layers).
@pytest.mark.parametrize("name", [name for name in presets.PRESET_NAMES
                                  if name not in ("alexnet", "resnet_tiny")])
def test_every_preset_round_trips_through_torch(name):
    _round_trip(name, n=3)


def test_a_residual_network_is_refused_in_one_line():
    module = export.to_torch(presets.build("resnet_tiny", seed=0))
    with pytest.raises(ModelImportError, match=r"module 'res1' \(ResidualBlock\): not "
                                               r"supported") as error:
        from_torch(module, (3, 32, 32))
    assert "\n" not in str(error.value)


@pytest.mark.slow
def test_alexnet_round_trips_through_torch():
    _round_trip("alexnet", n=1)


class _LeNet(nn.Module):
    """LeNet as a student writes it: a nested Sequential of the 1998 layers."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.ZeroPad2d(2), nn.Conv2d(1, 6, 5), nn.Tanh(), nn.AvgPool2d(2),
            nn.Conv2d(6, 16, 5), nn.Sigmoid(), nn.AvgPool2d(2, stride=2))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Dropout(0.25),
            nn.Linear(120, 84), nn.LeakyReLU(0.1), nn.Linear(84, 10), nn.Softmax(dim=1))

    def as_sequential(self):
        return nn.Sequential(self.features, self.classifier)


def test_a_hand_written_lenet_matches_torch():
    torch.manual_seed(0)
    module = _LeNet().as_sequential().eval()
    model = from_torch(module, (1, 28, 28))
    kinds = [c["type"] for c in model.configs()]
    assert kinds == ["Conv2D", "Tanh", "AvgPool2D", "Conv2D", "Sigmoid", "AvgPool2D", "Flatten",
                     "Dense", "ReLU", "Dropout", "Dense", "LeakyReLU", "Dense", "Softmax"]
    assert model.configs()[0]["padding"] == 2           # the ZeroPad2d became the padding
    _assert_matches_torch(module, model, n=4)


@pytest.mark.parametrize("modules, input_shape", [
    ([nn.ReflectionPad2d((1, 2, 0, 1)), nn.Conv2d(2, 3, (3, 2), stride=(2, 1))], (2, 7, 6)),
    ([nn.ReplicationPad2d(1), nn.Conv2d(1, 2, 3, bias=False)], (1, 5, 5)),
    ([nn.CircularPad2d(1), nn.Conv2d(1, 2, 3)], (1, 5, 5)),
    ([nn.ZeroPad2d((0, 1, 1, 0)), nn.Conv2d(1, 2, 3, padding=1)], (1, 5, 6)),
    ([nn.Conv2d(1, 2, 4, padding="same"), nn.MaxPool2d(3, 2, padding=1)], (1, 7, 7)),
    ([nn.Conv2d(1, 2, 3, padding=1, padding_mode="reflect"), nn.Identity()], (1, 5, 5)),
    ([nn.AvgPool2d(3, 1, padding=1), nn.LocalResponseNorm(3, 0.01, 0.5, 1.5)], (4, 5, 5)),
    ([nn.Conv2d(1, 3, 3), nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten()], (1, 6, 8)),
    ([nn.AdaptiveMaxPool2d((2, None)), nn.AdaptiveAvgPool2d(2)], (2, 6, 4)),
], ids=["reflect pad", "replicate pad", "circular pad", "zero pad + conv padding",
        "same padding", "conv padding_mode", "avg pool padded + LRN", "adaptive avg to 1x1",
        "adaptive max and avg"])
def test_padding_and_pooling_modules_match_torch(modules, input_shape):
    torch.manual_seed(1)
    module = nn.Sequential(*modules).eval()
    _assert_matches_torch(module, from_torch(module, input_shape))


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")
def test_a_model_exported_by_torch_onnx_imports(tmp_path):
    pytest.importorskip("onnx")
    from cyconv.importers import from_onnx

    torch.manual_seed(4)
    module = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5),
        nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.LeakyReLU(0.1),
        nn.Dropout(), nn.Linear(120, 10), nn.Softmax(dim=1)).eval()
    torch.onnx.export(module, (torch.zeros(1, 1, 28, 28),), str(tmp_path / "lenet.onnx"),
                      dynamo=False, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "N"}, "y": {0: "N"}})
    _assert_matches_torch(module, from_onnx(tmp_path / "lenet.onnx"), n=3)


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning",
                            "ignore::FutureWarning")
@pytest.mark.slow
def test_the_dynamo_onnx_exporter_output_imports():
    pytest.importorskip("onnxscript")          # torch's default exporter needs it
    from cyconv.importers import from_onnx

    torch.manual_seed(6)
    module = _LeNet().as_sequential().eval()
    program = torch.onnx.export(module, (torch.zeros(2, 1, 28, 28),), dynamo=True,
                                dynamic_shapes=({0: torch.export.Dim("N")},))
    _assert_matches_torch(module, from_onnx(program.model_proto), n=3)


# ----------------------------------------------------------------------------------------------
# Refusals
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("module, match", [
    (nn.Sequential(nn.Conv2d(2, 2, 3), nn.BatchNorm3d(2)),
     r"module '1' \(BatchNorm3d\): cyconv has batch norm for images \(BatchNorm2d\) and "
     r"vectors \(BatchNorm1d\) only"),
    (nn.Sequential(nn.MaxPool2d(2, return_indices=True)), r"return_indices is not supported"),
    (nn.Sequential(nn.ZeroPad2d(1), nn.ReLU()),
     r"module '0' \(padding\): cyconv imports a padding module only right before the Conv2d"),
    (nn.Sequential(nn.GELU()), r"module '0' \(GELU\): not supported; cyconv imports Conv2d"),
    (nn.Sequential(nn.Flatten(), nn.Linear(50, 3)),
     r"module '1' \(Linear\): as a cyconv Dense on input \(32,\)"),
    (nn.Sequential(nn.Softmax(dim=1)), r"Softmax\(dim=1\) on \(N, 2, 4, 4\)"),
    (nn.Sequential(nn.AdaptiveAvgPool2d(3)), r"output size \(3, 3\) does not divide the input"),
    (nn.Sequential(nn.Flatten(), nn.LogSoftmax(dim=1)), r"cyconv has no LogSoftmax layer"),
], ids=["batchnorm", "return_indices", "pad before relu",
        "gelu", "wrong width", "softmax on maps", "adaptive pool not dividing", "log softmax"])
def test_unsupported_modules_are_refused_in_one_line(module, match):
    with pytest.raises(ModelImportError, match=match) as error:
        from_torch(module, (2, 4, 4))
    assert "\n" not in str(error.value)


def test_dilated_grouped_and_ceil_mode_layers_import_and_match_torch():
    module = nn.Sequential(nn.Conv2d(2, 4, 3, dilation=2, padding="same"),
                           nn.Conv2d(4, 4, 3, groups=2, padding=1),
                           nn.MaxPool2d(2, ceil_mode=True, dilation=(1, 2)),
                           nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True,
                                        count_include_pad=False)).eval()
    model = from_torch(module, (2, 9, 9))
    assert [layer.settings.get("groups") for layer in model.layers[:2]] == [1, 2]
    x = np.random.default_rng(1).standard_normal((2, 2, 9, 9)).astype(np.float32)
    with torch.no_grad():
        expected = module(torch.tensor(x)).numpy()
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-4, atol=1e-5)


def test_batch_norm_imports_with_its_running_statistics():
    module = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3, eps=1e-3, momentum=0.2),
                           nn.Flatten(), nn.BatchNorm1d(12))
    module.train()
    module(torch.randn(8, 2, 4, 4))       # moves the running statistics away from 0 and 1
    module.eval()
    model = from_torch(module, (2, 4, 4))
    bn = model.layers[1]
    assert (bn.type_name, bn.eps, bn.momentum) == ("BatchNorm2D", pytest.approx(1e-3),
                                                   pytest.approx(0.2))
    x = np.random.default_rng(0).standard_normal((2, 2, 4, 4)).astype(np.float32)
    with torch.no_grad():
        expected = module(torch.tensor(x)).numpy()
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-4, atol=1e-5)


def test_a_subclass_with_its_own_forward_is_not_taken_for_its_parent():
    class DoubledConv(nn.Conv2d):
        def forward(self, x):
            return 2 * super().forward(x)

    with pytest.raises(ModelImportError, match=r"\(DoubledConv\): not supported"):
        from_torch(nn.Sequential(DoubledConv(1, 1, 3)), (1, 5, 5))


def test_only_an_nn_sequential_and_a_valid_input_shape():
    with pytest.raises(ModelImportError, match=r"expected a torch.nn.Sequential, got Linear"):
        from_torch(nn.Linear(2, 3), (2,))
    with pytest.raises(ModelImportError, match=r"input_shape must be \(C, H, W\) or \(D,\)"):
        from_torch(nn.Sequential(nn.ReLU()), (1, 28))


# ----------------------------------------------------------------------------------------------
# Files
# ----------------------------------------------------------------------------------------------
def test_a_cyconv_torch_export_reads_back(tmp_path):
    model = presets.build("lenet5", seed=2)
    export.save_torch(model, tmp_path / "m.pt")
    imported = from_torch_file(tmp_path / "m.pt")
    assert imported.configs() == model.configs()
    x = _batch(model.input_shape, 2)
    np.testing.assert_array_equal(imported.forward(x, training=False),
                                  model.forward(x, training=False))
    with pytest.raises(ModelImportError, match=r"differs from the \(1, 28, 28\)"):
        from_torch_file(tmp_path / "m.pt", (1, 32, 32))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_a_torchscript_file_is_refused_but_a_loaded_script_module_imports(tmp_path):
    torch.manual_seed(3)
    module = _LeNet().as_sequential().eval()
    torch.jit.save(torch.jit.script(module), tmp_path / "lenet.pt")
    with pytest.raises(ModelImportError, match=r"is a TorchScript archive; cyconv does not open "
                                               r"TorchScript files") as error:
        load_model(tmp_path / "lenet.pt", (1, 28, 28))
    assert "\n" not in str(error.value)
    scripted = torch.jit.load(tmp_path / "lenet.pt")     # the caller trusts this file
    _assert_matches_torch(module, from_torch(scripted, (1, 28, 28)), n=2)


def test_a_bare_state_dict_is_explained(tmp_path):
    torch.save(nn.Sequential(nn.Linear(3, 2)).state_dict(), tmp_path / "sd.pt")
    with pytest.raises(ModelImportError, match=r"holds only weights \(a state_dict\)"):
        from_torch_file(tmp_path / "sd.pt", (3,))


class _Payload:
    """Unpickling this would create a file: it must never happen."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_pickle_with_code_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "ran"
    torch.save({"model": _Payload(str(marker))}, tmp_path / "evil.pt")
    assert not marker.exists()
    with pytest.raises(ModelImportError, match=r"holds pickled Python objects"):
        from_torch_file(tmp_path / "evil.pt")
    assert not marker.exists()
    with open(tmp_path / "evil.pkl", "wb") as handle:      # a plain pickle, not a torch zip
        pickle.dump(_Payload(str(marker)), handle)
    with pytest.raises(ModelImportError):
        from_torch_file(tmp_path / "evil.pkl")
    assert not marker.exists()


def test_a_torch_with_a_known_loader_flaw_is_not_trusted_with_files(tmp_path, monkeypatch):
    export.save_torch(presets.build("mnist_cnn"), tmp_path / "m.pt")
    monkeypatch.setattr(torch, "__version__", torch.torch_version.TorchVersion("2.9.1"))
    with pytest.raises(ModelImportError, match=r"torch 2\.9\.1 cannot read files from others "
                                               r"safely"):
        from_torch_file(tmp_path / "m.pt")


def test_truncated_and_missing_torch_files(tmp_path):
    export.save_torch(presets.build("mnist_cnn"), tmp_path / "m.pt")
    data = (tmp_path / "m.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelImportError, match=r"cut\.pt: not a readable PyTorch file") as error:
        from_torch_file(tmp_path / "cut.pt")
    assert "\n" not in str(error.value)
    with pytest.raises(ModelImportError, match=r"no such file"):
        from_torch_file(tmp_path / "missing.pt")


def test_damaged_torch_files_end_in_one_line_or_a_model(tmp_path, rng):
    """Random byte changes in the pickle and the zip directory of an export: either a model
    or ModelImportError in one line (torch.load itself fails in many different ways)."""
    import zipfile

    export.save_torch(presets.build("lenet5"), tmp_path / "m.pt")
    data = (tmp_path / "m.pt").read_bytes()
    with zipfile.ZipFile(tmp_path / "m.pt") as archive:
        pickle_entry = next(i for i in archive.infolist() if i.filename.endswith("data.pkl"))
    start = pickle_entry.header_offset
    regions = [(start, start + 100 + pickle_entry.compress_size), (len(data) - 2000, len(data))]
    refused = 0
    for _ in range(150):
        damaged = bytearray(data)
        for _ in range(rng.integers(1, 4)):
            low, high = regions[rng.integers(0, 2)]
            damaged[rng.integers(low, high)] = rng.integers(0, 256)
        (tmp_path / "damaged.pt").write_bytes(damaged)
        try:
            from_torch_file(tmp_path / "damaged.pt")
        except ModelImportError as error:
            assert "\n" not in str(error)
            refused += 1
    assert refused > 0
