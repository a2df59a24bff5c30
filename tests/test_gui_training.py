"""The lab window with a real training run in its worker thread (offscreen, tiny model/data)."""
import os
import time

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6 import QtCore  # noqa: E402

from cyconv.lab import render  # noqa: E402
from gui.main_window import TABS  # noqa: E402
from gui.widgets.activations import layer_images  # noqa: E402
from gui.widgets.filters import overview_gap  # noqa: E402

TINY = [{"type": "Conv2D", "out_channels": 4, "kernel_size": [5, 5]}, {"type": "ReLU"},
        {"type": "MaxPool2D", "kernel_size": [2, 2]}, {"type": "Flatten"},
        {"type": "Dense", "out_features": 10}]
WAIT_MS = 20_000


@pytest.fixture
def window(lab_window):
    return lab_window()


def _wait_state(qtbot, win, *states, timeout=WAIT_MS):
    qtbot.waitUntil(lambda: win.controls.state in states, timeout=timeout)


def _steps(win):
    return win.latest_step.step if win.latest_step is not None else 0


def test_event_loop_stays_responsive_while_training(qtbot, window):
    window.controls.n_train.setValue(400)
    window.controls.epochs.setValue(10)
    window.tabs.setCurrentIndex(TABS.index("activations"))      # repaint the heaviest view
    ticks = []
    timer = QtCore.QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    steps_at_tick = []
    timer.timeout.connect(lambda: steps_at_tick.append(_steps(window)))
    timer.start()
    with qtbot.waitSignal(window.run_finished, timeout=WAIT_MS):
        window.run_command("start")
    timer.stop()
    assert window.controls.state == "finished"
    assert _steps(window) == 10 * 18                 # 360 training samples / 20 per batch, 10 epochs
    # The GUI thread kept serving its timer all through the run: ticks fell between many
    # different steps (how long each gap was depends on the machine's load, and is measured in
    # benchmarks/lab_overhead.py instead).
    during = {steps for steps in steps_at_tick if 0 < steps < 10 * 18}
    assert len(during) >= 2, f"the event loop ran during only {len(during)} distinct steps"


def test_step_reports_reach_the_window_in_batches_every_step_in_order(qtbot, window):
    window.controls.n_train.setValue(400)
    window.controls.epochs.setValue(3)
    worker = window.controller.worker
    batches, order = [], []

    class Listener(QtCore.QObject):             # a GUI-thread slot, as the window's are
        @QtCore.Slot(object)
        def steps(self, reports):
            batches.append(tuple(report.step for report in reports))
            order.append(("steps", reports[-1].step))

        @QtCore.Slot(object)
        def epoch(self, report):
            order.append(("epoch", report.epoch))

    listener = Listener()
    worker.step_reports.connect(listener.steps)
    worker.epoch_report.connect(listener.epoch)
    with qtbot.waitSignal(window.run_finished, timeout=WAIT_MS):
        window.run_command("start")
    qtbot.waitUntil(lambda: len(order) >= 4, timeout=WAIT_MS)
    steps = [step for batch in batches for step in batch]
    assert steps == list(range(1, 3 * 18 + 1))             # every step once, in order
    assert _steps(window) == 3 * 18 and window.views["curves"].steps == steps
    assert all(batches)
    epochs = [i for i, (kind, _) in enumerate(order) if kind == "epoch"]
    assert [order[i - 1] for i in epochs] == [("steps", 18), ("steps", 36), ("steps", 54)]


def test_pause_resume_step_stop(qtbot, window):
    window.controls.epochs.setValue(50)
    window.run_command("start")
    qtbot.waitUntil(lambda: _steps(window) >= 3, timeout=WAIT_MS)
    window.run_command("pause")
    _wait_state(qtbot, window, "paused")
    qtbot.wait(50)
    paused_at = _steps(window)
    qtbot.wait(300)
    assert _steps(window) == paused_at                 # nothing trains while paused
    window.run_command("step")
    qtbot.waitUntil(lambda: _steps(window) == paused_at + 1, timeout=WAIT_MS)
    qtbot.wait(200)
    assert _steps(window) == paused_at + 1             # exactly one batch
    window.run_command("resume")
    qtbot.waitUntil(lambda: _steps(window) >= paused_at + 5, timeout=WAIT_MS)
    with qtbot.waitSignal(window.run_finished, timeout=WAIT_MS):
        window.run_command("stop")
    assert window.controls.state == "stopped"
    assert window.controls.buttons["start"].isEnabled()
    window.run_command("reset")
    _wait_state(qtbot, window, "idle")
    assert window.views["curves"].steps == []


def test_step_from_idle_builds_a_session_and_stays_paused(qtbot, window):
    window.run_command("step")
    _wait_state(qtbot, window, "paused")
    assert _steps(window) == 1
    assert window.session is not None and window.session.classes[0] == "circle"


def test_learning_rate_changes_while_training(qtbot, window):
    window.controls.epochs.setValue(50)
    window.run_command("start")
    qtbot.waitUntil(lambda: _steps(window) >= 2, timeout=WAIT_MS)
    window.controls.lr.setText("0.002")
    window.controls.lr.editingFinished.emit()
    qtbot.waitUntil(lambda: window.latest_step.lr == pytest.approx(0.002), timeout=WAIT_MS)
    window.run_command("stop")
    _wait_state(qtbot, window, "stopped")


@pytest.mark.parametrize("change, expected", [
    (lambda w: w.controls.batch.setValue(0), "batch_size must be a positive int, got 0"),
    (lambda w: w.controls.lr.setText("-0.1"), "the learning rate must be a finite number > 0"),
    (lambda w: w.controls.lr.setText("fast"), "Learning rate must be a positive number"),
    (lambda w: w.controls.epochs.setValue(0), "epochs must be a positive int, got 0"),
    (lambda w: w.editor.set_network((1, 28, 28), [{"type": "Conv2D", "out_channels": 2, "kernel_size": 29}]),
     "larger than the padded input"),
    (lambda w: w.editor.set_input_shape((1, 30, 30)), "the network expects (1, 30, 30)"),
    (lambda w: w.editor.set_network((1, 28, 28), TINY[:-1] + [{"type": "Dense", "out_features": 7}]),
     "the network outputs 7"),
], ids=["batch-0", "negative-lr", "lr-text", "epochs-0", "kernel-too-big", "wrong-input", "wrong-classes"])
def test_bad_settings_show_a_message_and_never_start(qtbot, window, change, expected):
    change(window)
    for command in ("start", "step"):
        count = len(window.messages)
        window.run_command(command)
        qtbot.waitUntil(lambda: len(window.messages) > count, timeout=WAIT_MS)    # checked in the worker
        _wait_state(qtbot, window, "idle")
        assert expected in window.messages[-1]
        assert expected in window.controls.status.text()
        assert window.message_box is not None and expected in window.message_box.text()
    assert window.controls.state == "idle" and window.controller.worker.session.trainer is None


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # the NaN the Trainer detects
def test_diverging_run_pauses_with_a_message(qtbot, window):
    window.controls.lr.setText("1e8")
    window.controls.optimizer.setCurrentText("sgd")
    window.run_command("start")
    qtbot.waitUntil(lambda: any("diverged" in m for m in window.messages), timeout=WAIT_MS)
    _wait_state(qtbot, window, "paused")
    with qtbot.waitSignal(window.run_finished, timeout=WAIT_MS):
        window.run_command("stop")


def test_closing_mid_training_stops_the_thread(qtbot, window):
    window.controls.epochs.setValue(200)
    window.run_command("start")
    qtbot.waitUntil(lambda: _steps(window) >= 2, timeout=WAIT_MS)
    started = time.perf_counter()
    window.close()
    assert window.controller.thread.isFinished()
    assert time.perf_counter() - started < 5.0


def test_a_crash_in_the_worker_is_reported_and_finished_is_emitted(qtbot, window, monkeypatch):
    from cyconv.lab import probes

    def broken(model):
        raise RuntimeError("introspection exploded")

    monkeypatch.setattr(probes.introspect, "conv_layers", broken)
    with qtbot.waitSignal(window.run_finished, timeout=WAIT_MS):
        window.run_command("start")
    trace = window.messages[-1]                      # failed(traceback) arrived before finished
    assert "RuntimeError: introspection exploded" in trace and "Traceback" in trace
    _wait_state(qtbot, window, "paused")               # a bug pauses the run, so the message is read first
    assert "introspection exploded" in window.controls.status.text()
    assert window.controls.buttons["reset"].isEnabled()


def _train_a_little(qtbot, win):
    with qtbot.waitSignal(win.run_finished, timeout=WAIT_MS):
        win.run_command("start")
    qtbot.waitUntil(lambda: win.latest_pictures is not None and win.latest_evaluation is not None, timeout=WAIT_MS)
    qtbot.wait(50)


def test_views_draw_the_real_weights_and_maps(qtbot, window):
    _train_a_little(qtbot, window)
    model = window.controller.worker.session.model    # the run is over: the worker is idle
    for key in ("filters", "activations", "predictions"):
        window.tabs.setCurrentIndex(TABS.index(key))
        window.repaint_views()
    filters, weights = window.views["filters"], model["conv1"].params["W"]
    assert filters.conv.name == "conv1"
    np.testing.assert_array_equal(filters.overview.image,
                                  render.colorize(render.filter_overview(weights, gap=overview_gap(weights)), render.symmetric_levels(weights),
                                                  render.diverging_lut()))
    sample = window.latest_pictures.sample
    qtbot.waitUntil(lambda: len(window.views["activations"].panels) == len(sample.outputs), timeout=WAIT_MS)
    np.testing.assert_array_equal(sample.image, window.session.eval_images[0])
    for shown, image in zip(window.views["activations"].panels, layer_images(sample)):
        np.testing.assert_array_equal(shown.image, image)
    expected_map = model.forward_trace(sample.image[np.newaxis])[0][1][0]
    np.testing.assert_allclose(sample.outputs[0][2], expected_map, rtol=1e-6)
    evaluation = window.latest_evaluation
    np.testing.assert_array_equal(window.views["predictions"].confusion_panel.image,
                                  render.confusion_rates(evaluation.confusion))
    assert evaluation.confusion.sum() == 40
    assert not sample.image.flags.writeable and not evaluation.confusion.flags.writeable


def test_clicking_a_mistake_shows_its_activations(qtbot, window):
    _train_a_little(qtbot, window)
    predictions = window.views["predictions"]
    window.tabs.setCurrentIndex(TABS.index("predictions"))
    window.repaint_views()
    assert predictions.gallery_indices.size > 0
    chosen = int(predictions.gallery_indices[1])
    predictions.gallery.itemClicked.emit(predictions.gallery.item(1))      # the second thumbnail
    qtbot.waitUntil(lambda: window.latest_pictures.sample.index == chosen, timeout=WAIT_MS)
    assert TABS[window.tabs.currentIndex()] == "activations"


def test_gradient_check_and_drawn_prediction_run_in_the_worker(qtbot, window):
    window.run_command("step")
    _wait_state(qtbot, window, "paused")
    view = window.views["gradcheck"]
    view.requested.emit()
    qtbot.waitUntil(lambda: bool(view.results), timeout=WAIT_MS)
    names = {(row.layer, row.what) for row in view.results}
    assert {("conv1", "W"), ("conv1", "b"), ("dense1", "W"), ("pool1", "x"), ("input", "x")} <= names
    assert all(view.verdicts()), view.results
    draw = window.views["draw"]
    draw.canvas.stroke([(40, 40), (180, 180)])
    draw.request_prediction()
    qtbot.waitUntil(lambda: "Prediction:" in draw.result.text(), timeout=WAIT_MS)
    assert draw.bars.opts["height"].sum() == pytest.approx(1.0, abs=1e-6)
    qtbot.waitUntil(lambda: window.latest_pictures.sample.source == "drawn", timeout=WAIT_MS)
    window.run_command("stop")
    _wait_state(qtbot, window, "stopped")


def test_save_and_load_a_session(qtbot, window, tmp_path):
    _train_a_little(qtbot, window)
    path = str(tmp_path / "run.npz")
    worker = window.controller.worker
    window.save_session(path)
    qtbot.waitUntil(lambda: os.path.exists(path), timeout=WAIT_MS)
    weights = worker.session.model["conv1"].params["W"].copy()
    window.editor.load_preset("lenet5")
    window.controls.batch.setValue(50)
    window.open_checkpoint(path)
    qtbot.waitUntil(lambda: window.controls.batch.value() == 20, timeout=WAIT_MS)
    assert [row.name for row in window.editor.summary] == ["conv1", "relu1", "pool1", "flatten1", "dense1"]
    assert window.controls.batch.value() == 20
    window.controls.epochs.setValue(3)                 # train on from the checkpoint
    window.run_command("start")
    qtbot.waitUntil(lambda: _steps(window) == 3 * 9 and window.controls.state == "finished", timeout=WAIT_MS)
    assert window.session.global_step == 2 * 9 and _steps(window) == 3 * 9
    assert not np.array_equal(worker.session.model["conv1"].params["W"], weights)


def test_language_switch_relabels_the_window(qtbot, window):
    window.set_language("ko")
    assert window.tabs.tabText(TABS.index("filters")) == "필터"
    assert window.controls.buttons["start"].text() == "시작"
    window.set_language("en")
    assert window.controls.buttons["start"].text() == "Start"


def test_screenshot_mode_writes_every_view(qtbot, tmp_path):
    from gui import app

    folder = tmp_path / "shots"
    assert app.main(["--screenshot", str(folder), "--steps", "3", "--samples", "60"]) == 0
    names = sorted(os.listdir(folder))
    own = ["backprop.png", "class_model.png", "compare.png", "doctor.png", "filter_search.png",
           "receptive_field.png", "saliency.png", "timeline.png"]          # the pictures views write themselves
    assert names == sorted([f"{index + 1:02d}-{key}.png" for index, key in enumerate(TABS)] + ["session.npz"] + own)
    assert all((folder / name).stat().st_size > 5000 for name in names)


def test_choosing_a_preset_offers_fitting_data(qtbot, window):
    window.editor.load_preset("cifar_small")
    assert window.controls.dataset.currentData() == "synthetic_rgb"
    window.editor.load_preset("lenet5")
    assert window.controls.dataset.currentData() == "synthetic"
    window.controls.select_dataset("digits")              # a dataset sets the network's input
    assert window.editor.summary.input_shape == (1, 8, 8)
    assert not window.editor.valid                         # LeNet's 5x5 convs do not fit 8x8


def test_reset_while_running_ends_idle(qtbot, window):
    window.controls.epochs.setValue(100)
    window.run_command("start")
    qtbot.waitUntil(lambda: _steps(window) >= 2, timeout=WAIT_MS)
    window.run_command("reset")
    _wait_state(qtbot, window, "idle")
    qtbot.wait(100)
    assert window.controls.state == "idle" and window.controller.worker.session.trainer is None
    assert window.latest_step is None and window.views["curves"].steps == []


def test_a_failing_command_keeps_the_paused_run(qtbot, window, monkeypatch):
    from cyconv.lab import probes

    def broken(*args, **kwargs):
        raise RuntimeError("gradcheck exploded")

    monkeypatch.setattr(probes.gradcheck, "check_network", broken)
    window.run_command("step")
    _wait_state(qtbot, window, "paused")
    window.views["gradcheck"].run_button.click()
    assert not window.views["gradcheck"].run_button.isEnabled()
    qtbot.waitUntil(lambda: any("gradcheck exploded" in m for m in window.messages), timeout=WAIT_MS)
    _wait_state(qtbot, window, "paused")
    assert window.views["gradcheck"].run_button.isEnabled()
    assert "gradcheck exploded" in window.views["gradcheck"].status.text()
    window.run_command("step")
    qtbot.waitUntil(lambda: _steps(window) == 2, timeout=WAIT_MS)


@pytest.mark.parametrize("argv, message", [(["--steps", "0"], "--steps must be at least 1"),
                                           (["missing.npz"], "missing.npz: no such checkpoint file"),
                                           (["--preset", "deepid_dense"], "invalid choice")],
                         ids=["zero-steps", "missing-checkpoint", "vector-preset"])
def test_command_line_rejects_bad_arguments(capsys, argv, message):
    from gui import app

    with pytest.raises(SystemExit) as exit_info:
        app.parse_args(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_naive_and_cython_convolutions_agree_and_are_timed(qtbot, window):
    window.run_command("step")
    _wait_state(qtbot, window, "paused")
    view = window.views["speed"]
    view.run_button.click()
    qtbot.waitUntil(lambda: bool(view.results), timeout=WAIT_MS)
    ((layer, shape, naive, fast, difference),) = view.results
    assert layer == "conv1" and tuple(shape) == (8, 1, 28, 28)
    assert naive > 0 and fast > 0
    assert difference < 1e-4
    assert view.table.item(0, 4).text().endswith("×")


def test_screenshot_mode_with_an_untrainable_preset_writes_views_and_fails(qtbot, tmp_path, capsys):
    from gui import app

    folder = tmp_path / "shots"
    assert app.main(["--screenshot", str(folder), "--steps", "2", "--preset", "deepid"]) == 1
    assert "the network expects (1, 39, 31)" in capsys.readouterr().err
    assert len(os.listdir(folder)) == len(TABS)
