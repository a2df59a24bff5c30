"""``cyconv import``: ONNX and PyTorch files become checkpoints; mistakes are one line."""
import numpy as np
import pytest

from cyconv import cli, export, io, presets

pytest.importorskip("onnx")


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _same_outputs(a, b):
    x = np.random.default_rng(0).standard_normal((2,) + a.input_shape).astype(np.float32)
    np.testing.assert_allclose(a.forward(x, training=False), b.forward(x, training=False),
                               rtol=1e-5, atol=1e-5)


def test_import_an_onnx_file_into_a_checkpoint(capsys, tmp_path):
    model = presets.build("lenet5", seed=7)
    export.to_onnx(model, tmp_path / "lenet.onnx")
    code, out, err = run(capsys, "import", tmp_path / "lenet.onnx", "--out", tmp_path / "m.npz")
    assert (code, err) == (0, "")
    assert "12 layers, 61,706 parameters, input (N, 1, 28, 28) -> output (N, 10)" in out
    saved = io.load(tmp_path / "m.npz")
    assert saved["extra"] == {"imported_from": "lenet.onnx"}
    _same_outputs(saved["model"], model)
    code, out, _ = run(capsys, "summary", tmp_path / "m.npz")
    assert code == 0 and "conv1" in out


def test_import_a_torch_export_into_a_checkpoint(capsys, tmp_path):
    pytest.importorskip("torch")
    model = presets.build("mnist_cnn", seed=7)
    export.save_torch(model, tmp_path / "m.pt")
    code, _, err = run(capsys, "import", tmp_path / "m.pt", "--out", tmp_path / "m.npz")
    assert (code, err) == (0, "")
    _same_outputs(io.load(tmp_path / "m.npz")["model"], model)


def test_a_symbolic_onnx_input_takes_the_input_shape_flag(capsys, tmp_path):
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="relu")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                             ["N", "C", "H", "W"])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    (tmp_path / "relu.onnx").write_bytes(proto.SerializeToString())
    code, _, err = run(capsys, "import", tmp_path / "relu.onnx", "--out", tmp_path / "r.npz")
    assert code == 1 and "--input-shape 1,28,28" in err
    code, _, err = run(capsys, "import", tmp_path / "relu.onnx", "--out", tmp_path / "r.npz",
                       "--input-shape", "3,8,8")
    assert (code, err) == (0, "")
    assert io.load(tmp_path / "r.npz")["model"].input_shape == (3, 8, 8)


@pytest.mark.parametrize("setup, extra, code, fragment", [
    (None, (), 1, "missing.onnx: no such file"),
    ("truncated", (), 1, "not a readable ONNX model"),
    ("good", ("--input-shape", "1,x"), 2, "argument --input-shape: must be C,H,W or D"),
    ("good", ("--input-shape", "3,28,28"), 1, "does not match the input"),
], ids=["missing", "truncated", "bad shape text", "wrong shape"])
def test_mistakes_are_one_line_and_leave_the_old_checkpoint(capsys, tmp_path, setup, extra,
                                                            code, fragment):
    source = tmp_path / "missing.onnx"
    if setup is not None:
        export.to_onnx(presets.build("lenet5"), source)
        if setup == "truncated":
            source.write_bytes(source.read_bytes()[:5000])
    out_path = tmp_path / "keep.npz"
    out_path.write_bytes(b"the user's old file")
    got, out, err = run(capsys, "import", source, "--out", out_path, *extra)
    assert got == code
    assert err.startswith("cyconv: error: ") and err.count("\n") == 1, err
    assert fragment in err and "Traceback" not in err
    assert out_path.read_bytes() == b"the user's old file"


def test_mean_and_std_are_stored_for_eval(capsys, tmp_path):
    export.to_onnx(presets.build("cifar_small"), tmp_path / "c.onnx")
    code, _, err = run(capsys, "import", tmp_path / "c.onnx", "--out", tmp_path / "c.npz",
                       "--mean", "0.5", "--std", "0.2,0.25,0.3")
    assert (code, err) == (0, "")
    normalization = io.load(tmp_path / "c.npz").normalization
    assert normalization.mean == (0.5, 0.5, 0.5) and normalization.std == (0.2, 0.25, 0.3)


@pytest.mark.parametrize("flags, fragment", [
    (("--mean", "0.5"), "--mean and --std go together"),
    (("--mean", "0.5", "--std", "0.2,0.3"), "--std needs 1 or 3 values"),
    (("--mean", "0.5", "--std", "0"), "--std must be > 0"),
    (("--mean", "a", "--std", "1"), "argument --mean: expected numbers"),
])
def test_bad_normalisation_flags_are_one_line(capsys, tmp_path, flags, fragment):
    export.to_onnx(presets.build("cifar_small"), tmp_path / "c.onnx")
    code, _, err = run(capsys, "import", tmp_path / "c.onnx", "--out", tmp_path / "c.npz",
                       *flags)
    assert code in (1, 2) and fragment in err and err.count("\n") == 1
    assert not (tmp_path / "c.npz").exists()


def test_the_model_is_never_overwritten_by_its_own_import(capsys, tmp_path):
    export.to_onnx(presets.build("lenet5"), tmp_path / "m.onnx")
    before = (tmp_path / "m.onnx").read_bytes()
    code, _, err = run(capsys, "import", tmp_path / "m.onnx", "--out", tmp_path / "m.onnx")
    assert code == 1 and "is the model being imported" in err
    assert (tmp_path / "m.onnx").read_bytes() == before


def test_out_is_required(capsys, tmp_path):
    code, _, err = run(capsys, "import", tmp_path / "m.onnx")
    assert code == 2 and "--out" in err


def test_load_model_tells_the_formats_apart_without_a_suffix(tmp_path):
    from cyconv.importers import load_model

    model = presets.build("mnist_cnn", seed=2)
    export.to_onnx(model, tmp_path / "onnx_model.bin")
    _same_outputs(load_model(tmp_path / "onnx_model.bin"), model)
    pytest.importorskip("torch")
    export.save_torch(model, tmp_path / "torch_model.bin")
    _same_outputs(load_model(tmp_path / "torch_model.bin"), model)
    with pytest.raises(TypeError, match=r"load_model: path must be a file path"):
        load_model(model)
    io.save(tmp_path / "checkpoint.npz", model)
    with pytest.raises(ValueError, match=r"is a cyconv checkpoint already"):
        load_model(tmp_path / "checkpoint.npz")
