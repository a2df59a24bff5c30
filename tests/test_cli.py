"""The cyconv command line: every command, and every error path in one line without traceback."""
import json
import os
import re
import signal
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
    (["train", "--epochs", "0"], 2, ["epochs must be a positive int"]),
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
def test_train_then_eval_needs_nothing_but_the_checkpoint(capsys, checkpoint):
    path, train_out = checkpoint
    assert "epoch 1/1: train loss (label-smoothed)" in train_out
    assert "val cross-entropy" in train_out
    saved = io.load(path)
    assert saved.dataset["name"] == "synthetic" and saved.dataset["n_test"] == 60
    assert saved.normalization.channels == 1
    assert saved.training["label_smoothing"] == 0.1
    assert saved.evaluation["split"] == "test" and saved.evaluation["n"] == 60
    code, out, err = run(capsys, "eval", path, "--threads", "1")
    assert code == 0, err
    # The same test images with the stored mean/std: exactly the accuracy and the plain
    # cross-entropy that train printed and saved.
    assert _accuracy(out, "accuracy") == _accuracy(train_out, "test accuracy:")
    test_loss = float(re.search(r"cross-entropy loss ([0-9.]+)", train_out).group(1))
    assert float(re.search(r"cross-entropy loss ([0-9.]+)", out).group(1)) == test_loss
    assert saved.evaluation["loss"] == pytest.approx(test_loss, abs=5e-5)
    assert "(test, 60 images)" in out
    assert "confusion matrix" in out and "per-class accuracy" in out and "circle" in out


def test_eval_data_flag_still_overrides(capsys, checkpoint):
    code, out, err = run(capsys, "eval", checkpoint[0], "--data", "synthetic", "--n", "20")
    assert code == 0, err
    assert "(test, 20 images)" in out


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
    assert b.trainer_state["epoch"] == 2
    for name, value in a.model.state_dict().items():
        np.testing.assert_array_equal(b.model.state_dict()[name], value, err_msg=name)
    assert a.history["step_loss"] == b.history["step_loss"]
    assert a.history["step_lr"] == b.history["step_lr"]


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
    assert "resuming at epoch 2, step 6 of 12" in out
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


def _as_0_1_command_file(path):
    """Rewrite a checkpoint the way cyconv 0.1's command wrote it (format version 1)."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    meta = json.loads(str(arrays["meta"]))
    identity, training, state = meta["dataset"], meta["training"], meta["trainer_state"]
    norm = meta["normalization"]
    state.pop("batches_per_epoch")
    state.update(version=1, epochs=training["epochs"], batch_size=training["batch_size"],
                 seed=training["seed"], schedule=training["schedule"], base_lr=training["lr"])
    run_flags = {"preset": "mnist_cnn", "data": identity["name"], "n_train": 200,
                 "n_test": 60, "val_fraction": identity["val_fraction"],
                 "seed": identity["seed"], "batch": training["batch_size"],
                 "optimizer": training["optimizer"], "schedule": training["schedule"],
                 "label_smoothing": training["label_smoothing"], "data_path": None}
    old = {"format": "cyconv-checkpoint", "version": 1, "model": meta["model"],
           "dtype": meta["dtype"], "param_names": meta["param_names"],
           "optimizer": meta["optimizer"], "history": meta["history"], "trainer_state": state,
           "extra": {"run": run_flags, "normalization": norm,
                     "classes": identity["classes"]}}
    arrays["meta"] = np.array(json.dumps(old))
    np.savez(path, **arrays)


def test_a_0_1_command_checkpoint_evaluates_and_resumes(capsys, tmp_path):
    # A constant rate, so that extending the 1-epoch run to 2 retraces the 2-epoch run.
    plain = ["--schedule", "constant", "--label-smoothing", "0"]
    straight, old = tmp_path / "straight.npz", tmp_path / "old.npz"
    assert run(capsys, "train", *QUICK, *plain, "--epochs", "2", "--out", straight)[0] == 0
    assert run(capsys, "train", *QUICK, *plain, "--epochs", "1", "--out", old)[0] == 0
    _, first_eval, _ = run(capsys, "eval", old, "--threads", "1")
    _as_0_1_command_file(old)
    assert io.load(old).version == 1
    code, out, err = run(capsys, "eval", old, "--threads", "1")
    assert code == 0, err
    assert out == first_eval
    for command in (["summary", old], ["export", old, "--onnx", tmp_path / "m.onnx"]):
        if command[0] == "export":
            pytest.importorskip("onnx")
        code, _, err = run(capsys, *command)
        assert code == 0, err
    code, out, err = run(capsys, "train", "--resume", old, "--epochs", "2", "--threads", "1",
                         "--no-progress", "--out", old)
    assert code == 0, err
    assert "resuming at epoch 2, step 6 of 12" in out
    _assert_same_run(straight, old)


def test_an_app_checkpoint_evaluates_without_data_flags(capsys, tmp_path):
    from cyconv.data import Normalization

    train, val, test = cyconv.data.load_train_test("synthetic", n_train=200, n_test=60)
    trainer = Trainer(presets.build("mnist_cnn"), train, val, batch_size=32)
    trainer.step()
    identity = cyconv.data.dataset_identity(
        "synthetic", path=None, n_train=200, n_test=60, val_fraction=0.1, seed=0,
        classes=train.classes, image_shape=train.image_shape)
    trainer.save(tmp_path / "app.npz", normalization=Normalization.of(train),
                 dataset=identity, extra={"language": "ko"})
    code, out, err = run(capsys, "eval", tmp_path / "app.npz")
    assert code == 0, err
    expected = trainer.evaluate(test)
    assert f"accuracy {expected.accuracy:.2%}" in out and "(test, 60 images)" in out


@pytest.mark.parametrize("flags, fragment", [
    (["--batch", "16"], "--batch 16 differs"),
    (["--data", "mnist"], "--data mnist differs"),
    (["--schedule", "constant"], "--schedule constant differs"),
    (["--label-smoothing", "0.2"], "--label-smoothing 0.2 differs"),
    (["--preset", "lenet5"], "--preset lenet5 differs from the resumed run's network"),
    ([], "already finished its 1 epochs"),
], ids=["other-batch", "other-data", "other-schedule", "other-smoothing", "other-preset",
        "finished"])
def test_resume_refusals(capsys, checkpoint, flags, fragment):
    code, _, err = run(capsys, "train", "--resume", checkpoint[0], *flags)
    assert code == 1
    assert_one_line_error(err, fragment)


def _ctrl_c_after_step(monkeypatch, step):
    """Press Ctrl-C (a real SIGINT) right after global step ``step``, as a user would."""
    original_step = Trainer.step

    def step_then_ctrl_c(self):
        reports = original_step(self)
        if self.global_step == step:
            signal.raise_signal(signal.SIGINT)
        return reports

    monkeypatch.setattr(Trainer, "step", step_then_ctrl_c)
    return original_step


def test_ctrl_c_saves_the_exact_position_and_resumes_it(capsys, tmp_path, monkeypatch):
    straight, half = tmp_path / "straight.npz", tmp_path / "half.npz"
    assert run(capsys, "train", *QUICK, "--epochs", "2", "--out", straight)[0] == 0
    original_step = _ctrl_c_after_step(monkeypatch, 10)      # mid-way through epoch 2
    code, out, err = run(capsys, "train", *QUICK, "--epochs", "2", "--out", half)
    assert code == 130
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "interrupted at epoch 2, step 10 of 12" in lines[0], err
    assert f"saved {half}" in lines[0] and "test accuracy" not in out
    assert io.load(half).trainer_state["global_step"] == 10
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler   # handler put back
    monkeypatch.setattr(Trainer, "step", original_step)
    code, out, err = run(capsys, "train", "--resume", half, "--threads", "1", "--no-progress",
                         "--out", half)
    assert code == 0, err
    assert "resuming at epoch 2, step 10 of 12" in out
    _assert_same_run(straight, half)


def test_ctrl_c_without_out_says_nothing_was_saved(capsys, tmp_path, monkeypatch):
    _ctrl_c_after_step(monkeypatch, 3)
    code, _, err = run(capsys, "train", *QUICK, "--epochs", "2")
    assert code == 130 and "nothing was saved" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("out, fragment", [
    ("missing/m.npz", "does not exist"),
    (".", "is a folder"),
], ids=["missing-folder", "a-folder"])
def test_out_is_checked_before_training(capsys, tmp_path, monkeypatch, out, fragment):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(Trainer, "step", lambda self: pytest.fail("trained before the check"))
    code, stdout, err = run(capsys, "train", *QUICK, "--out", out)
    assert code == 1 and stdout == ""
    assert_one_line_error(err, f"--out {out}", fragment)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into any folder")
def test_out_in_a_read_only_folder_is_refused_before_training(capsys, tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    code, stdout, err = run(capsys, "train", *QUICK, "--out", folder / "m.npz")
    folder.chmod(0o700)
    assert code == 1 and stdout == ""
    assert_one_line_error(err, "is not writable")


def test_resuming_a_checkpoint_without_its_data_identity_says_so(capsys, tmp_path):
    train, val, _ = cyconv.data.load_train_test("synthetic", n_train=100, n_test=20)
    trainer = Trainer(presets.build("mnist_cnn"), train, val, batch_size=50, epochs=2)
    trainer.step()
    trainer.save(tmp_path / "bare.npz")
    code, _, err = run(capsys, "train", "--resume", tmp_path / "bare.npz")
    assert code == 1
    assert_one_line_error(err, "records no dataset")


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
    assert io.load(path).trainer_state["epoch"] == 1


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
