"""The lab's Qt-free session: every operation the app offers, driven directly."""
import subprocess
import sys

import numpy as np
import pytest

from cyconv import cli, io
from cyconv.lab import LabError, LabSession, TrainingSettings, i18n

TINY = {"input_shape": [1, 28, 28],
        "layers": [{"type": "Conv2D", "in_channels": 1, "out_channels": 4, "kernel_size": [5, 5]},
                   {"type": "ReLU"}, {"type": "MaxPool2D", "kernel_size": [2, 2]}, {"type": "Flatten"},
                   {"type": "Dense", "in_features": 576, "out_features": 10}]}
SMALL = TrainingSettings(dataset="synthetic", n_train=200, n_eval=40, optimizer="momentum", lr=0.05,
                         batch_size=20, epochs=2, seed=0)


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def session():
    return LabSession(clock=FakeClock())


def run_to_end(session, network=TINY, settings=SMALL):
    session.start(network, settings)
    updates = []
    while session.state == "running":
        updates.append(session.advance())
    return updates


def test_build_is_paused_before_the_first_step(session):
    info = session.build(TINY, SMALL)
    assert session.state == "paused" and session.step_count == 0
    assert info.batches_per_epoch == 9 and info.epochs == 2 and info.total_steps == 18
    assert info.eval_images.shape == (40, 1, 28, 28) and not info.eval_images.flags.writeable
    assert len(info.classes) == 10 and info.normalization is not None


def test_step_from_paused_trains_one_batch_and_stays_paused(session):
    session.build(TINY, SMALL)
    update = session.advance()
    assert session.state == "paused" and session.step_count == 1
    assert [type(r).__name__ for r in update.reports] == ["StepReport"]
    assert update.pictures is not None and update.evaluation is not None     # a single step shows everything


def test_a_run_trains_to_its_end_and_evaluates_the_whole_test_split(session):
    updates = run_to_end(session)
    assert session.state == "finished" and session.step_count == 18
    epoch_ends = [u for u in updates if len(u.reports) == 2]
    assert len(epoch_ends) == 2
    # An epoch's end waits for the evaluation interval like any step (this clock stands still,
    # so only the first step's evaluation fell due); the step that ends the run gets one.
    assert [u.evaluation is not None for u in updates] == [True] + [False] * 16 + [True]
    assert epoch_ends[-1] is updates[-1]
    final = updates[-1].final
    assert final is not None and final.whole_test and final.n == 2000       # the synthetic test split
    assert session.info.final is final and 0.0 <= final.accuracy <= 1.0


def test_snapshots_while_running_wait_for_their_interval(session):
    session.start(TINY, SMALL)
    session._clock.now = 10.0
    first = session.advance()
    second = session.advance()              # the clock did not move: nothing is due
    assert first.pictures is not None and second.pictures is None and second.evaluation is None
    session._clock.now += session.picture_interval
    assert session.advance().pictures is not None


def test_pause_resume_stop(session):
    session.start(TINY, SMALL)
    session.advance()
    session.pause()
    assert session.state == "paused"
    session.resume()
    assert session.state == "running"
    final = session.stop()
    assert session.state == "stopped" and final.whole_test
    assert session.stop() is None                          # stopping twice does nothing


def test_start_after_stop_builds_a_new_run(session):
    session.start(TINY, SMALL)
    session.advance()
    session.stop()
    assert session.start(TINY, SMALL) is not None and session.step_count == 0


def test_more_epochs_extend_a_finished_run(session):
    run_to_end(session)
    with pytest.raises(LabError, match="finished its 2 epochs"):
        session.start(TINY, SMALL)
    from dataclasses import replace
    assert session.start(TINY, replace(SMALL, epochs=3)) is None              # the same run goes on
    while session.state == "running":
        session.advance()
    assert session.step_count == 27


def test_set_lr_changes_the_next_step(session):
    session.start(TINY, SMALL)
    session.set_lr(0.01)
    report = session.advance().reports[0]
    assert report.lr == pytest.approx(0.01) and session.settings.lr == pytest.approx(0.01)
    with pytest.raises(ValueError):
        session.set_lr(-1.0)
    assert session.trainer.lr == pytest.approx(0.01)                          # the bad value changed nothing


def test_divergence_pauses_with_a_message_and_keeps_the_run(session):
    from dataclasses import replace
    session.start(TINY, replace(SMALL, optimizer="sgd", lr=1e30))
    with pytest.raises(LabError, match="diverged") as caught:
        for _ in range(18):
            session.advance()
    assert caught.value.key == "train.diverged" and session.state == "paused"
    session.set_lr(1e-3)
    session.advance()                                        # a lower rate trains on


def test_predict_normalises_like_the_training_data(session):
    session.build(TINY, SMALL)
    image = np.zeros((1, 28, 28), np.float32)
    pictures, probabilities = session.predict(image)
    mean = session.info.normalization[0][0]
    std = session.info.normalization[1][0]
    np.testing.assert_allclose(pictures.sample.image, (image - mean) / std, rtol=1e-6)
    assert probabilities.shape == (10,) and probabilities.sum() == pytest.approx(1.0)
    with pytest.raises(LabError, match="shape"):
        session.predict(np.zeros((28, 28)))


def test_select_sample_shows_that_test_image(session):
    session.build(TINY, SMALL)
    pictures = session.select_sample(7)
    assert pictures.sample.index == 7 and pictures.sample.label == int(session.info.eval_labels[7])
    np.testing.assert_array_equal(pictures.sample.image, session.info.eval_images[7])


def test_operations_without_a_run_say_what_to_do(session):
    for call in (lambda: session.advance(), lambda: session.save("x.npz"), lambda: session.gradient_check(),
                 lambda: session.predict(np.zeros((1, 28, 28))), lambda: session.set_lr(0.1)):
        with pytest.raises(LabError):
            call()


def test_gradient_check_is_green_on_a_trained_network(session):
    run_to_end(session)
    rows = session.gradient_check()
    assert {row.layer for row in rows} >= {"conv1", "relu1", "pool1", "dense1"}
    assert all(row.passed for row in rows), [(r.layer, r.what, r.relative_error) for r in rows if not r.passed]


def test_conv_timings_compare_the_kernels(session):
    session.build(TINY, SMALL)
    (name, shape, naive, fast, difference), = session.conv_timings()
    assert name == "conv1" and shape == (8, 1, 28, 28) and naive > 0 and fast > 0 and difference < 1e-4


def test_saved_session_is_the_commands_checkpoint(session, tmp_path, capsys):
    run_to_end(session)
    path = session.save(tmp_path / "app.npz", extra={"language": "ko"})
    checkpoint = io.load(path)
    assert checkpoint.dataset["name"] == "synthetic" and checkpoint.dataset["n_train"] == 200
    assert checkpoint.normalization is not None and checkpoint.training["lr"] == pytest.approx(0.05)
    assert checkpoint.evaluation["accuracy"] == pytest.approx(session.final.accuracy)
    assert checkpoint.extra["language"] == "ko"
    assert cli.main(["eval", str(path)]) == 0                     # no --data: the checkpoint knows its data
    out = capsys.readouterr().out
    assert f"{100 * session.final.accuracy:.2f}%" in out


def test_load_shows_a_run_at_once_and_start_resumes_it(session, tmp_path):
    session.start(TINY, SMALL)
    for _ in range(5):
        session.advance()
    session.pause()
    path = session.save(tmp_path / "half.npz")
    expected = session.model["conv1"].params["W"].copy()
    other = LabSession()
    info = other.load(path)
    assert other.state == "paused" and info.global_step == 5 and info.resumed_from == str(path)
    assert len(info.history["step_loss"]) == 5 and info.eval_images.shape[0] == 40
    np.testing.assert_array_equal(other.model["conv1"].params["W"], expected)
    assert other.evaluation_if_due() is not None and other.pictures_if_due() is not None
    assert other.continues(info.model_config, info.settings)
    assert other.start(info.model_config, info.settings) is None                # resumed, not rebuilt
    other.advance()
    assert other.step_count == 6


def test_load_of_a_command_line_checkpoint(session, tmp_path, monkeypatch):
    monkeypatch.setenv("CYCONV_OFFLINE", "1")
    out = tmp_path / "cli.npz"
    assert cli.main(["train", "--preset", "mnist_cnn", "--data", "synthetic", "--n-train", "300", "--n-test", "100",
                     "--epochs", "1", "--batch", "50", "--out", str(out), "--no-progress"]) == 0
    info = session.load(out)
    assert session.state == "finished" and info.final is not None and info.final.n == 100
    assert len(info.history["step_loss"]) == info.global_step > 0
    assert info.settings.n_train == 300 and info.settings.batch_size == 50
    _, probabilities = session.predict(np.zeros((1, 28, 28), np.float32))
    assert probabilities.shape == (10,)


def test_load_of_a_bad_file_keeps_the_run(session, tmp_path):
    session.build(TINY, SMALL)
    session.advance()
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="bad.npz"):
        session.load(bad)
    assert session.step_count == 1 and session.state == "paused"


def test_lab_session_imports_no_qt():
    code = ("import sys, cyconv.lab; from cyconv.lab import LabSession; "
            "sys.exit(1 if any(m.startswith(('PySide6', 'gui')) for m in sys.modules) else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_lab_errors_speak_the_current_language():
    error = LabError("train.no_run")
    english = str(error)
    i18n.set_language("ko")
    assert str(error) != english and "학습" in str(error)
    with pytest.raises(KeyError):
        LabError("no.such.message")


def test_the_editors_form_and_a_saved_models_form_are_the_same_network():
    from cyconv.lab.session import same_network
    from cyconv.model import Sequential

    edited = {"input_shape": [1, 28, 28], "layers": [
        {"type": "Conv2D", "out_channels": 4, "kernel_size": [5, 5], "padding": 0},
        {"type": "ReLU"}, {"type": "MaxPool2D", "kernel_size": [2, 2]}, {"type": "Flatten"},
        {"type": "Dense", "out_features": 10}]}
    saved = Sequential.from_config(edited).config()
    assert same_network(edited, saved)
    wider = {**edited, "layers": [{**edited["layers"][0], "out_channels": 5}] + edited["layers"][1:]}
    assert not same_network(wider, saved)
    assert not same_network({**edited, "input_shape": [1, 30, 30]}, saved)
    assert not same_network(edited, None)


def test_operations_answer_with_the_sessions_model(session):
    from cyconv.lab import operations

    name = "test.output_shape"
    if name not in operations.names():
        operations.operation(name)(lambda s, extra: (tuple(s.model.output_shape), extra))
    with pytest.raises(LabError):
        operations.run(name, session, 1)                    # no model yet
    session.build(TINY, SMALL)
    assert operations.run(name, session, 7) == ((10,), 7)
    with pytest.raises(RuntimeError, match="twice"):
        operations.operation(name)(lambda s: None)
    with pytest.raises(KeyError):
        operations.run("no.such.operation", session)


def test_every_text_has_both_languages_and_one_home():
    from cyconv.lab import texts

    for key, pair in texts.TEXTS.items():
        assert len(pair) == 2 and all(isinstance(text, str) and text for text in pair), key
    assert "app.title" in texts.TEXTS and texts.PARTS[0] == "app"


@pytest.mark.parametrize("kind", ["app", "command"])
def test_a_version_0_1_checkpoint_opens_and_resumes(session, tmp_path, kind):
    from test_checkpoint import _app_extra, _command_extra, _write_v1

    from cyconv import data
    from cyconv.model import Sequential
    from cyconv.train import Trainer

    train, val, _ = data.load_train_test("synthetic", n_train=300, n_test=60, val_fraction=0.1, seed=0)
    trainer = Trainer(Sequential.from_config(TINY), train, val, optimizer="momentum", lr=0.01, batch_size=30,
                      epochs=2)
    trainer.step()                                   # a 0.1 file written the old way, one step in
    normalization = data.Normalization.of(train)
    extra = _app_extra(normalization) if kind == "app" else _command_extra(normalization)
    if kind == "command":
        extra["run"].update(val_fraction=0.1, n_train=300, n_test=60)
    _write_v1(tmp_path / "old.npz", trainer, extra)
    info = session.load(tmp_path / "old.npz")
    assert session.state == "paused" and info.global_step == 1 and session.data_problem is None
    assert info.eval_images.shape[0] > 0
    session.advance()
    assert session.step_count == 2


def test_an_onnx_model_opens_and_trains_on_from_its_weights(session, tmp_path):
    pytest.importorskip("onnx")
    from cyconv import export
    from cyconv.model import Sequential

    source = Sequential.from_config(TINY, seed=5)
    export.to_onnx(source, tmp_path / "tiny.onnx")
    info = session.load(tmp_path / "tiny.onnx")
    assert session.state == "finished" and info.resumed_from == str(tmp_path / "tiny.onnx")
    assert info.settings.dataset == "synthetic" and info.input_shape == (1, 28, 28)
    _, probabilities = session.predict(np.zeros((1, 28, 28), np.float32))          # Draw works at once
    assert probabilities.shape == (10,)
    assert session.start(info.model_config, SMALL) is not None                    # a run on its weights
    np.testing.assert_array_equal(session.model["conv1"].params["W"], source["conv1"].params["W"])
    session.advance()
    assert session.step_count == 1


def test_a_model_file_without_an_input_size_says_how_to_import_it(session, tmp_path, monkeypatch):
    from cyconv import importers

    def needs_shape(path, input_shape=None):
        raise importers.InputShapeRequired("symbolic size")

    monkeypatch.setattr(importers, "load_model", needs_shape)
    with pytest.raises(LabError, match="--input-shape"):
        session.load(tmp_path / "any.onnx")
