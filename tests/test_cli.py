"""The cyconv command line: every command, and every error path in one line without traceback."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import cyconv
from cyconv import cli, io, presets
from cyconv.train import Trainer

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
QUICK = ["--data", "synthetic", "--n-train", "200", "--n-test", "60", "--batch", "32",
         "--threads", "1", "--no-progress"]


@pytest.fixture(autouse=True)
def isolated_data(monkeypatch, tmp_path):
    """No network, an empty user cache, no $CYCONV_DATA unless a test sets one; the thread
    count set by --threads is put back afterwards."""
    monkeypatch.setenv("CYCONV_OFFLINE", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("CYCONV_DATA", raising=False)
    monkeypatch.setattr(cyconv._threads, "_num_threads", None)


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(err, *fragments):
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("cyconv: error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def _accuracy(text, label):
    return float(re.search(label + r" ([0-9.]+)%", text).group(1))


@pytest.fixture
def checkpoint(tmp_path, capsys):
    path = tmp_path / "model.npz"
    code, out, err = run(capsys, "train", *QUICK, "--epochs", "1", "--out", path)
    assert code == 0, err
    return path, out


# ---------------------------------------------------------------------------------------------
# summary
# ---------------------------------------------------------------------------------------------
def test_summary_of_a_preset(capsys):
    code, out, _ = run(capsys, "summary", "mnist_cnn")
    assert code == 0
    assert "Total params: 38,390" in out and "conv1 (Conv2D)" in out


def test_summary_of_a_checkpoint(capsys, tmp_path):
    io.save(tmp_path / "lenet.npz", presets.build("lenet5"))
    code, out, _ = run(capsys, "summary", tmp_path / "lenet.npz")
    assert code == 0 and f"Total params: {presets.build('lenet5').count_params():,}" in out


# ---------------------------------------------------------------------------------------------
# Error paths
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("argv, code, fragments", [
    (["train", "--bogus"], 2, ["unrecognized arguments: --bogus"]),
    (["train", "--preset", "nope"], 2, ["invalid choice: 'nope'"]),
    (["train", "--epochs", "0"], 2, ["expected a positive integer"]),
    (["train", "--lr", "nan"], 2, ["finite number > 0"]),
    (["frobnicate"], 2, ["invalid choice"]),
    ([], 2, ["required: COMMAND"]),
    (["data"], 2, ["required: ACTION"]),
    (["data", "verify", "nope"], 2, ["invalid choice"]),
    (["summary", "mnist_cn"], 1, ["unknown preset 'mnist_cn'", "did you mean 'mnist_cnn'"]),
    (["eval", "missing.npz"], 1, ["missing.npz: no such checkpoint file"]),
    (["train", "--optimizer", "sgd", "--momentum", "0.5"], 1, ["--momentum has no effect"]),
    (["train", "--data", "mnist"], 1, ["MNIST", "CYCONV_OFFLINE"]),
    (["train", "--preset", "cifar_small", "--data", "synthetic", "--n-train", "20",
      "--n-test", "5"], 1, ["(3, 32, 32)", "(1, 28, 28)"]),
    (["data", "import", "no/such/folder"], 1, ["no such file or folder"]),
], ids=["unknown-flag", "unknown-preset", "epochs-0", "lr-nan", "unknown-command", "no-command",
        "no-data-action", "verify-unknown", "summary-unknown-preset", "eval-missing-file",
        "momentum-with-sgd", "missing-data-offline", "model-data-mismatch", "import-missing"])
def test_errors_are_one_line_without_traceback(capsys, argv, code, fragments):
    got, out, err = run(capsys, *argv)
    assert got == code
    assert_one_line_error(err, *fragments)


@pytest.mark.parametrize("command", [["summary"], ["eval"], ["export", "--onnx", "x.onnx"]],
                         ids=["summary", "eval", "export"])
def test_a_bad_checkpoint_is_one_line(capsys, tmp_path, command):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 broken")
    code, _, err = run(capsys, command[0], bad, *command[1:])
    assert code == 1
    assert_one_line_error(err, str(bad))


def test_export_needs_a_target(capsys, tmp_path):
    io.save(tmp_path / "m.npz", presets.build("mnist_cnn"))
    code, _, err = run(capsys, "export", tmp_path / "m.npz")
    assert code == 2
    assert_one_line_error(err, "--onnx")


def test_errors_in_a_real_process(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO), CYCONV_OFFLINE="1")
    done = subprocess.run([sys.executable, "-m", "cyconv", "train", "--bogus"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert_one_line_error(done.stderr, "--bogus")


def test_help_exits_cleanly_for_every_command(capsys):
    for argv in (["--help"], ["train", "--help"], ["eval", "--help"], ["data", "--help"],
                 ["data", "import", "--help"], ["export", "--help"], ["summary", "--help"]):
        code, out, _ = run(capsys, *argv)
        assert code == 0 and out.startswith("usage: cyconv")
    _, out, _ = run(capsys, "train", "--help")
    for flag in ("--preset", "--data", "--epochs", "--batch", "--optimizer", "--lr", "--seed",
                 "--out", "--threads", "--val-fraction", "--n-train", "--momentum",
                 "--data-path", "--resume"):
        assert flag in out
    _, out, _ = run(capsys, "export", "--help")
    assert "state_dict" in " ".join(out.split()) and "not TorchScript" in " ".join(out.split())


# ---------------------------------------------------------------------------------------------
# train, eval, resume
# ---------------------------------------------------------------------------------------------
def test_train_then_eval_reuses_the_normalisation(capsys, checkpoint):
    path, train_out = checkpoint
    assert "epoch 1/1: train loss" in train_out and "val loss" in train_out
    saved = io.load(path)
    assert saved["extra"]["run"]["data"] == "synthetic"
    assert len(saved["extra"]["normalization"]["mean"]) == 1
    code, out, err = run(capsys, "eval", path, "--n", "60", "--threads", "1")
    assert code == 0, err
    # The same test images with the stored mean/std give exactly the accuracy train printed.
    assert _accuracy(out, "accuracy") == _accuracy(train_out, "test accuracy:")
    assert "confusion matrix" in out and "per-class accuracy" in out and "circle" in out


def test_eval_without_stored_normalisation_says_so(capsys, tmp_path):
    io.save(tmp_path / "m.npz", presets.build("mnist_cnn"))
    code, out, err = run(capsys, "eval", tmp_path / "m.npz", "--data", "synthetic", "--n", "20")
    assert code == 0 and "accuracy" in out and "records no normalisation" in err


def _interrupt_after_first_epoch(monkeypatch):
    original_step = Trainer.step

    def step_then_interrupt(self):
        if self.global_step == self.batches_per_epoch:
            raise KeyboardInterrupt
        return original_step(self)

    monkeypatch.setattr(Trainer, "step", step_then_interrupt)
    return original_step


def _assert_same_run(a_path, b_path):
    a, b = io.load(a_path), io.load(b_path)
    assert b["trainer_state"]["epoch"] == 2
    for name, value in a["model"].state_dict().items():
        np.testing.assert_array_equal(b["model"].state_dict()[name], value, err_msg=name)
    assert a["history"]["step_loss"] == b["history"]["step_loss"]
    assert a["history"]["step_lr"] == b["history"]["step_lr"]


def test_interrupted_run_resumes_exactly(capsys, tmp_path, monkeypatch):
    # The default recipe's learning rate falls over the planned 2 epochs: the resumed run
    # must pick the fall up where the checkpoint left it.
    straight, half = tmp_path / "straight.npz", tmp_path / "half.npz"
    assert run(capsys, "train", *QUICK, "--epochs", "2", "--out", straight)[0] == 0
    original_step = _interrupt_after_first_epoch(monkeypatch)
    assert run(capsys, "train", *QUICK, "--epochs", "2", "--out", half)[0] == 130
    monkeypatch.setattr(Trainer, "step", original_step)
    code, out, err = run(capsys, "train", "--resume", half, "--threads", "1", "--no-progress",
                         "--out", half)
    assert code == 0, err
    assert "epoch 2/2" in out and "epoch 1/2" not in out
    assert "lr 0.001, falling linearly to 0, label smoothing 0.1" in out
    _assert_same_run(straight, half)


def test_a_constant_rate_run_extended_by_resume_matches_a_straight_run(capsys, tmp_path):
    plain = ["--schedule", "constant", "--label-smoothing", "0"]
    straight, half = tmp_path / "straight.npz", tmp_path / "half.npz"
    assert run(capsys, "train", *QUICK, *plain, "--epochs", "2", "--out", straight)[0] == 0
    assert run(capsys, "train", *QUICK, *plain, "--epochs", "1", "--out", half)[0] == 0
    code, out, err = run(capsys, "train", "--resume", half, "--epochs", "2", "--threads", "1",
                         "--no-progress", "--out", half)
    assert code == 0, err
    assert "lr 0.001, label smoothing 0," in out
    _assert_same_run(straight, half)


def test_a_checkpoint_from_before_the_recipe_flags_resumes_as_it_was_trained(capsys, tmp_path):
    # Runs saved before --schedule and --label-smoothing existed trained at a constant rate
    # on one-hot targets; resuming must not switch them to the new defaults.
    path = tmp_path / "old.npz"
    plain = ["--schedule", "constant", "--label-smoothing", "0"]
    assert run(capsys, "train", *QUICK, *plain, "--epochs", "1", "--out", path)[0] == 0
    saved = io.load(path)
    for key in ("schedule", "label_smoothing"):
        del saved["extra"]["run"][key]
    del saved["trainer_state"]["schedule"], saved["trainer_state"]["base_lr"]
    io.save(path, saved["model"], optimizer=io.restore_optimizer(saved["model"],
                                                                 saved["optimizer_state"]),
            history=saved["history"], trainer_state=saved["trainer_state"],
            extra=saved["extra"])
    code, out, err = run(capsys, "train", "--resume", path, "--epochs", "2", "--threads", "1",
                         "--no-progress")
    assert code == 0, err
    assert "lr 0.001, label smoothing 0," in out


@pytest.mark.parametrize("flags, fragment", [
    (["--batch", "16"], "--batch 16 differs"),
    (["--data", "mnist"], "--data mnist differs"),
    (["--schedule", "constant"], "--schedule constant differs"),
    (["--label-smoothing", "0.2"], "--label-smoothing 0.2 differs"),
    ([], "already finished its 1 epochs"),
], ids=["other-batch", "other-data", "other-schedule", "other-smoothing", "finished"])
def test_resume_refusals(capsys, checkpoint, flags, fragment):
    code, _, err = run(capsys, "train", "--resume", checkpoint[0], *flags)
    assert code == 1
    assert_one_line_error(err, fragment)


def test_ctrl_c_keeps_the_last_checkpoint(capsys, tmp_path, monkeypatch):
    original_step = Trainer.step

    def step_then_interrupt(self):
        if self.global_step == self.batches_per_epoch + 1:
            raise KeyboardInterrupt
        return original_step(self)

    monkeypatch.setattr(Trainer, "step", step_then_interrupt)
    path = tmp_path / "m.npz"
    code, _, err = run(capsys, "train", *QUICK, "--epochs", "3", "--out", path)
    assert code == 130
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "interrupted" in lines[0] and f"{path} from epoch 1" in lines[0]
    assert io.load(path)["trainer_state"]["epoch"] == 1


def test_ctrl_c_before_any_checkpoint(capsys, tmp_path, monkeypatch):
    def interrupt(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "step", interrupt)
    code, _, err = run(capsys, "train", *QUICK, "--out", tmp_path / "m.npz")
    assert code == 130 and "no checkpoint was written" in err
    assert not (tmp_path / "m.npz").exists()


# ---------------------------------------------------------------------------------------------
# export and data
# ---------------------------------------------------------------------------------------------
def test_export_writes_both_formats(capsys, tmp_path):
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("torch")
    io.save(tmp_path / "m.npz", presets.build("mnist_cnn"))
    code, out, err = run(capsys, "export", tmp_path / "m.npz", "--onnx", tmp_path / "m.onnx",
                         "--torch", tmp_path / "m.pt")
    assert code == 0, err
    assert "opset 13" in out
    onnx.checker.check_model(onnx.load(str(tmp_path / "m.onnx")))
    assert (tmp_path / "m.pt").stat().st_size > 38390 * 4


def test_data_list_shows_every_dataset(capsys):
    code, out, _ = run(capsys, "data", "list")
    assert code == 0
    for name in ("synthetic", "mnist", "fashion_mnist", "cifar10", "digits", "folder"):
        assert re.search(rf"^{name}\s", out, re.MULTILINE), name


@pytest.mark.skipif(not (SHARED_DATA / "mnist").is_dir(), reason="no shared MNIST files")
def test_data_verify_checks_the_published_checksums(capsys, monkeypatch):
    monkeypatch.setenv("CYCONV_DATA", str(SHARED_DATA))
    code, out, _ = run(capsys, "data", "verify", "mnist")
    assert code == 0
    assert len([line for line in out.splitlines() if line.startswith("OK")]) == 4


def test_data_verify_fails_for_a_missing_dataset(capsys):
    code, out, _ = run(capsys, "data", "verify", "mnist")
    assert code == 1 and out.startswith("FAIL")


@pytest.mark.skipif(not (SHARED_DATA / "mnist").is_dir(), reason="no shared MNIST files")
def test_data_import_copies_into_the_cache(capsys, tmp_path):
    source = tmp_path / "incoming"
    source.mkdir()
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(SHARED_DATA / "mnist" / name, source / name)
    code, out, err = run(capsys, "data", "import", source, "--name", "mnist")
    assert code == 0, err
    cached = tmp_path / "cache" / "cyconv" / "mnist"
    assert "imported" in out and (cached / "t10k-labels-idx1-ubyte.gz").is_file()
