"""See it learn, on a Qt-free LabSession: the recorder hook, the time machine saved with the
session, the doctor's operations and two runs compared."""
import dataclasses

import numpy as np
import pytest

from cyconv.lab import LabError, LabSession, TrainingSettings, learn, operations

TINY = {"input_shape": [1, 28, 28],
        "layers": [{"type": "Conv2D", "in_channels": 1, "out_channels": 4, "kernel_size": [5, 5]},
                   {"type": "ReLU"}, {"type": "MaxPool2D", "kernel_size": [2, 2]}, {"type": "Flatten"},
                   {"type": "Dense", "in_features": 576, "out_features": 10}]}
SMALL = TrainingSettings(dataset="synthetic", n_train=200, n_eval=40, optimizer="adam", lr=0.002,
                         batch_size=20, epochs=3, seed=0)


pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def session():
    session = LabSession()
    learn.install(session, every=2, probe_size=16, picture_probe=4)
    return session


def train(session, steps, network=TINY, settings=SMALL):
    session.build(network, settings)
    for _ in range(steps):
        session.advance()


def test_install_is_idempotent(session):
    assert learn.install(session) is learn.recorder_of(session) and len(session.recorders) == 1


def test_the_recorder_keeps_the_filters_of_each_recorded_step(session):
    session.build(TINY, SMALL)
    seen = {}
    for _ in range(6):
        session.advance()
        seen[session.step_count] = np.array(session.model["conv1"].params["W"])
    history = learn.recorder_of(session).history
    assert list(history.steps) == [1, 2, 4, 6]
    for step in history.steps:
        np.testing.assert_array_equal(history.at(step).filters["conv1"], seen[step])
    moment = history.at(4)
    assert moment.activations["relu1"].shape == (4, 4, 24, 24) and moment.confusion.sum() == 16
    assert set(moment.metrics) >= {"loss", "accuracy", "probe_loss", "probe_accuracy"}


def test_the_doctor_measures_each_recorded_update(session):
    train(session, 4)
    checkups = learn.recorder_of(session).log.checkups
    assert [c.step for c in checkups] == [1, 2, 4]
    assert all(np.isnan(row.update_ratio) for row in checkups[0].layers)       # the start was not seen
    assert all(np.isfinite(row.update_ratio) and row.update_ratio > 0 for c in checkups[1:] for row in c.layers)


def test_a_new_run_clears_the_history_but_keeps_the_kept_run(session):
    train(session, 4)
    operations.run("compare.keep", session)
    train(session, 1, settings=dataclasses.replace(SMALL, lr=0.01))
    recorder = learn.recorder_of(session)
    assert list(recorder.history.steps) == [1] and recorder.kept is not None


def test_the_history_is_saved_with_the_session_and_reopens_with_it(session, tmp_path):
    train(session, 6)
    path = tmp_path / "run.npz"
    session.save(path)
    before = learn.recorder_of(session).history
    opened = LabSession()
    learn.install(opened)
    opened.load(path)
    after = learn.recorder_of(opened).history
    assert list(after.steps) == list(before.steps)
    np.testing.assert_array_equal(after.at(4).filters["conv1"], before.at(4).filters["conv1"])
    assert len(learn.recorder_of(opened).log) == len(learn.recorder_of(session).log)
    opened.advance()
    opened.advance()                              # goes on recording where it stopped, as often
    assert list(learn.recorder_of(opened).history.steps) == [*before.steps, 8]


def test_a_damaged_history_does_not_stop_the_run_from_opening(session, tmp_path):
    train(session, 4)
    recorder = learn.recorder_of(session)
    recorder.attachments = lambda: {"learn/history/steps": np.array([1, 2]),
                                    "learn/history/settings": np.array([1, 1, 1 << 20]),
                                    "learn/history/confusion": np.zeros((1, 2, 2), np.int64)}
    path = tmp_path / "run.npz"
    session.save(path)
    opened = LabSession()
    learn.install(opened)
    opened.load(path)
    assert opened.model is not None and len(learn.recorder_of(opened).history) == 0


def test_timeline_operations(session, tmp_path):
    with pytest.raises(LabError):
        operations.run("timeline.history", session)            # no run yet
    train(session, 4)
    moments = operations.run("timeline.history", session)
    assert [m.step for m in moments] == [1, 2, 4]
    path, frames = operations.run("timeline.gif", session, str(tmp_path / "f.gif"))
    assert frames == 3 and (tmp_path / "f.gif").stat().st_size > 0


def test_the_gif_needs_a_conv_layer(session, tmp_path):
    dense = {"input_shape": [1, 28, 28], "layers": [{"type": "Flatten"}, {"type": "Dense", "out_features": 10}]}
    train(session, 2, network=dense)
    with pytest.raises(LabError) as error:
        operations.run("timeline.gif", session, str(tmp_path / "f.gif"))
    assert error.value.key == "timeline.no_filters"


def test_compare_names_the_changed_setting(session):
    train(session, 4)
    with pytest.raises(LabError) as error:
        operations.run("compare.show", session)
    assert error.value.key == "compare.nothing_kept"
    kept = operations.run("compare.keep", session)
    assert kept.steps == 4 and len(kept.step_loss) == 4 and kept.filters.shape == (4, 1, 5, 5)
    train(session, 4, settings=dataclasses.replace(SMALL, optimizer="sgd", lr=0.05))
    first, second, differences = operations.run("compare.show", session)
    assert [d.what for d in differences] == ["optimizer", "lr"]
    assert differences[0].before == "adam" and differences[0].after == "sgd"
    assert first.confusion.shape == second.confusion.shape == (10, 10)


def test_compare_names_a_changed_activation(session):
    train(session, 2)
    operations.run("compare.keep", session)
    tanh = {**TINY, "layers": [dict(layer) for layer in TINY["layers"]]}
    tanh["layers"][1] = {"type": "Tanh"}
    train(session, 2, network=tanh)
    _, _, differences = operations.run("compare.show", session)
    assert [(d.what, d.before, d.after) for d in differences] == [("relu1", "ReLU", None), ("tanh1", None, "Tanh")]


def test_doctor_operations(session):
    train(session, 4)
    checkups, diagnoses = operations.run("doctor.examine", session)
    assert len(checkups) == 3 and diagnoses and diagnoses[0].text()


def test_a_break_it_experiment_leaves_the_run_alone(session):
    train(session, 2)
    weights = np.array(session.model["conv1"].params["W"])
    result = operations.run("doctor.break", session, "zero_init")
    assert result.diagnoses[0].code == "symmetry"
    np.testing.assert_array_equal(session.model["conv1"].params["W"], weights)
    assert session.step_count == 2


def test_what_if_trains_the_run_again_with_one_change_from_the_same_seed(session):
    train(session, 5)
    current, other, differences = operations.run("compare.what_if", session, {"lr": 0.02})
    assert [(d.what, d.before, d.after) for d in differences] == [("lr", 0.002, 0.02)]
    assert other.steps == current.steps == 5
    assert other.step_loss[0] == pytest.approx(current.step_loss[0])     # same start, same first batch
    assert not np.allclose(other.step_loss[1:], current.step_loss[1:])
    same, again, nothing = operations.run("compare.what_if", session, {})
    np.testing.assert_allclose(again.step_loss, same.step_loss, rtol=1e-6)
    assert nothing == ()
