"""cyconv.monitor without Qt: the bounded history, the vital signs, the doctor's rules, the
comparison of two runs and the filters' GIF."""
import numpy as np
import pytest

from cyconv import data, presets
from cyconv.lab import i18n
from cyconv.monitor import compare, doctor, experiments, gif, stats
from cyconv.monitor.history import History, Moment
from cyconv.monitor.log import CheckupLog


def moment(step, value=0.0, size=10):
    return Moment.of(step, {"conv1": np.full((2, 1, 3, 3), value, np.float32)},
                     {"relu1": np.zeros((1, size), np.float32)}, {"loss": value}, np.eye(2, dtype=np.int64))


def test_a_moment_is_a_read_only_copy():
    weights = np.ones((2, 1, 3, 3), np.float32)
    m = Moment.of(3, {"conv1": weights}, {"relu1": np.ones((1, 4))}, {"loss": 1.5}, np.eye(2))
    weights[:] = 7
    assert m.filters["conv1"].max() == 1 and not m.filters["conv1"].flags.writeable
    assert m.activations["relu1"].dtype == np.float16 and m.metrics["loss"] == 1.5


def test_history_records_the_first_step_and_every_nth():
    history = History(every=10)
    assert [s for s in range(1, 35) if history.due(s)] == [1, 10, 20, 30]


def test_history_thins_when_full_keeping_first_and_last_and_doubling_the_spacing():
    one = moment(1).nbytes
    history = History(every=1, max_bytes=one * 5)
    for step in range(1, 8):
        history.add(moment(step))
    assert history.nbytes <= history.max_bytes
    assert history.steps[0] == 1 and history.steps[-1] == 7
    assert list(history.steps) == [1, 3, 5, 6, 7] and history.every == 2


def test_history_never_goes_over_its_budget_on_a_long_run():
    one = moment(1).nbytes
    history = History(every=1, max_bytes=one * 16)
    step = 0
    for _ in range(2000):
        step += 1
        if history.due(step):
            history.add(moment(step))
        assert history.nbytes <= history.max_bytes
    assert history.steps[0] == 1 and len(history) >= 8


def test_history_at_gives_the_last_moment_at_or_before_a_step():
    history = History(every=1)
    for step in (1, 10, 20):
        history.add(moment(step, value=step))
    assert history.at(15).step == 10 and history.at(20).step == 20 and history.at(0).step == 1
    with pytest.raises(ValueError, match="not after"):
        history.add(moment(20))


def test_history_refuses_a_moment_bigger_than_its_budget():
    with pytest.raises(ValueError, match="budget"):
        History(max_bytes=10).add(moment(1))


def test_history_round_trips_through_arrays():
    history = History(every=1)
    for step in (1, 5, 9):
        history.add(moment(step, value=step))
    back = History.from_arrays(history.to_arrays("h/"), "h/")
    assert list(back.steps) == [1, 5, 9]
    np.testing.assert_array_equal(back.at(5).filters["conv1"], history.at(5).filters["conv1"])
    assert back.at(9).metrics["loss"] == 9.0
    assert History.from_arrays({}, "h/") is None


@pytest.fixture(scope="module")
def trained():
    """mnist_cnn after a few Adam steps on the synthetic shapes, with the weights before its last step."""
    from cyconv.train import Trainer

    train, _, _ = data.load_train_test("synthetic", seed=0, n_train=600, val_fraction=0.1, download=False)
    model = presets.build("mnist_cnn", seed=0)
    trainer = Trainer(model, train, optimizer="adam", lr=2e-3, batch_size=32, epochs=5, seed=0)
    for _ in range(5):
        trainer.step()
    before = stats.weights_of(model)
    report = trainer.step()[0]
    return model, train, before, report


def test_checkup_measures_the_last_update_against_the_weights_before_it(trained):
    model, train, before, report = trained
    checkup = stats.checkup(model, report.step, report.loss, model.forward_trace(train.images[:16]), before)
    row = checkup.layer("conv1")
    expected = np.linalg.norm(model["conv1"].params["W"] - before["conv1"]) / np.linalg.norm(before["conv1"])
    assert row.update_ratio == pytest.approx(expected, rel=1e-6)
    assert row.grad_norm == pytest.approx(float(np.linalg.norm(model["conv1"].grads["W"])), rel=1e-5)
    assert [r.layer for r in checkup.layers] == ["conv1", "conv2", "dense1", "dense2"]
    assert [a.layer for a in checkup.activations] == ["relu1", "relu2", "relu3"]
    assert checkup.probe_size == 16 and row.weights.counts.sum() == model["conv1"].params["W"].size


def test_dead_share_counts_units_that_never_fired():
    model = presets.build("mnist_cnn", seed=0)
    trace = model.forward_trace(np.zeros((4, 1, 28, 28), np.float32))
    fake = [(name, np.zeros_like(out) if name == "relu3" else out) for name, out in trace]
    fake = [(name, out.copy()) for name, out in fake]
    fake[[n for n, _ in fake].index("relu3")][1][:, :25] = 1.0      # a quarter of the units fire once
    shares = {row.layer: row.dead for row in stats.activation_stats(model, fake)}
    assert shares["relu3"] == pytest.approx(0.75)


def test_histogram_of_constant_values_has_a_width():
    h = stats.histogram(np.zeros(5))
    assert h.counts.sum() == 5 and h.edges[-1] > h.edges[0]


def test_checkup_log_thins_and_round_trips(trained):
    model, train, before, report = trained
    trace = model.forward_trace(train.images[:8])
    log = CheckupLog(capacity=4)
    for step in range(1, 8):
        log.add(stats.checkup(model, step, 2.0 / step, trace, before))
    assert len(log) <= 4 and log.checkups[0].step == 1 and log.checkups[-1].step == 7
    types = {name: layer.type_name for name, layer in model.named_layers()}
    back = CheckupLog.from_arrays(log.to_arrays(), types)
    assert [c.step for c in back.checkups] == [c.step for c in log.checkups]
    assert back.checkups[-1].layer("dense1").grad_norm == log.checkups[-1].layer("dense1").grad_norm
    assert back.checkups[-1].activations[0].dead == log.checkups[-1].activations[0].dead


@pytest.fixture(scope="module")
def synthetic_train():
    train, _, _ = data.load_train_test("synthetic", seed=0, n_train=1200, val_fraction=0.1, download=False)
    return train


def mnist_cnn():
    shape, layers = presets.configs("mnist_cnn")
    return {"input_shape": list(shape), "layers": layers}


@pytest.mark.parametrize("name", experiments.EXPERIMENTS)
def test_each_break_it_experiment_makes_the_doctor_name_its_failure(name, synthetic_train):
    result = experiments.run_experiment(name, mnist_cnn(), synthetic_train, steps=30)
    assert result.diagnoses[0].code == experiments.EXPECTED[name], [d.text() for d in result.diagnoses]
    assert all(d.code != "healthy" for d in result.diagnoses)


def test_a_sensible_run_is_healthy(synthetic_train):
    from cyconv.train import Trainer

    model = presets.build("mnist_cnn", seed=0)
    trainer = Trainer(model, synthetic_train, optimizer="adam", lr=2e-3, batch_size=32, epochs=3, seed=0)
    checkups = []
    for _ in range(40):
        before = stats.weights_of(model)
        report = trainer.step()[0]
        checkups.append(stats.checkup(model, report.step, report.loss,
                                      model.forward_trace(synthetic_train.images[:64]), before))
    diagnoses = doctor.diagnose(checkups)
    assert [d.code for d in diagnoses] == ["healthy"], [d.text() for d in diagnoses]


def test_the_vanishing_diagnosis_gives_the_numbers_behind_it_in_both_languages(synthetic_train):
    result = experiments.run_experiment("deep_sigmoid", mnist_cnn(), synthetic_train, steps=5)
    found = result.diagnoses[0]
    first, last = result.checkups[-1].layers[0], result.checkups[-1].layers[-1]
    assert found.fields["factor"] == pytest.approx(last.grad_norm / first.grad_norm)
    i18n.set_language("en")
    english = found.text()
    assert "dense1" in english and "smaller than dense9" in english and "try ReLU" in english
    i18n.set_language("ko")
    try:
        assert "기울기 소실" in found.text() and "ReLU" in found.text()
    finally:
        i18n.set_language("en")


def test_the_doctor_says_nothing_without_checkups():
    assert doctor.diagnose([]) == ()


def record(settings=None, network=None):
    base = {"optimizer": "adam", "lr": 0.002, "batch_size": 64, "seed": 0}
    return compare.RunRecord.of("a", {**base, **(settings or {})}, network or mnist_cnn(), [1.0, 0.5],
                                None, np.eye(2), 0.5, 2)


def test_differences_name_a_changed_setting():
    found = compare.differences(record(), record({"lr": 0.02}))
    assert found == (compare.Difference("lr", 0.002, 0.02),)


def test_differences_name_a_changed_activation_and_ignore_the_editor_form():
    network = mnist_cnn()
    sigmoid = {**network, "layers": [dict(layer) for layer in network["layers"]]}
    sigmoid["layers"][1] = {"type": "Sigmoid", "name": "relu1"}
    bare = {**network, "layers": [{k: v for k, v in layer.items() if k not in ("in_channels", "in_features")}
                                  for layer in network["layers"]]}
    assert compare.differences(record(network=network), record(network=bare)) == ()
    found = compare.differences(record(network=network), record(network=sigmoid))
    assert found == (compare.Difference("relu1.type", "ReLU", "Sigmoid"),)


def test_filter_grid_puts_every_filter_in_a_tile():
    weights = np.zeros((5, 1, 3, 3))
    weights[2, 0, 1, 1] = -1.0
    grid = gif.filter_grid(weights)
    assert grid.shape == (2 * 3 + 1, 3 * 3 + 2) and grid.dtype == np.uint8      # 3 columns, 2 rows, 1-pixel gaps
    assert grid[1, 4 + 4 + 1] == 0 and grid[0, 0] == 128       # filter 3 at column 3: its centre is the darkest


def test_filters_gif_writes_one_frame_per_moment(tmp_path):
    from PIL import Image

    history, rng = History(every=1), np.random.default_rng(0)
    for step in (1, 2, 3):
        history.add(Moment.of(step, {"conv1": rng.normal(size=(4, 1, 3, 3))}, {}, {}, np.eye(2)))
    path = tmp_path / "filters.gif"
    assert gif.filters_gif(history, path) == 3
    with Image.open(path) as picture:
        assert picture.n_frames == 3
    with pytest.raises(ValueError, match="no conv layer"):
        gif.filters_gif(history, path, layer="conv9")


def test_the_command_line_reports_a_saved_session_and_runs_an_experiment(tmp_path, capsys):
    from cyconv.lab import LabSession, TrainingSettings, learn
    from cyconv.monitor.__main__ import main

    session = LabSession()
    learn.install(session, every=2)
    session.build(mnist_cnn(), TrainingSettings(dataset="synthetic", n_train=300, n_eval=40, batch_size=32))
    for _ in range(5):
        session.advance()
    session.save(tmp_path / "run.npz")
    assert main(["report", str(tmp_path / "run.npz"), "--gif", str(tmp_path / "f.gif")]) == 0
    out = capsys.readouterr().out
    assert "3 moments recorded, steps 1..4" in out and "wrote" in out and "\n- " in out
    assert (tmp_path / "f.gif").exists()
    assert main(["break", "zero_init", "--steps", "5", "--n-train", "300"]) == 0
    assert "Symmetry" in capsys.readouterr().out


def test_the_command_line_says_one_line_on_a_mistake(tmp_path, capsys):
    from cyconv.monitor.__main__ import main

    assert main(["report", str(tmp_path / "missing.npz")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("cyconv: error: ") and err.count("\n") == 1


def test_histogram_counts_as_numpy_does():
    values = np.random.default_rng(1).normal(size=5000)
    expected, edges = np.histogram(values, bins=stats.HISTOGRAM_BINS)
    found = stats.histogram(values)
    np.testing.assert_array_equal(found.counts, expected)
    np.testing.assert_allclose(found.edges, edges)
