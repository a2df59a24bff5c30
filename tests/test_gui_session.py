"""The lab window over its session: save, load and close as a student does them, many times,
with Qt's own warnings watched (a widget built in the worker thread shows up there first)."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6 import QtCore  # noqa: E402

from cyconv import cli, io  # noqa: E402
from cyconv.lab import i18n  # noqa: E402
from gui.main_window import TABS  # noqa: E402

TINY = [{"type": "Conv2D", "out_channels": 4, "kernel_size": [5, 5]}, {"type": "ReLU"},
        {"type": "MaxPool2D", "kernel_size": [2, 2]}, {"type": "Flatten"},
        {"type": "Dense", "out_features": 10}]
WAIT_MS = 30_000
#: Qt's words when an object is used from the wrong thread.
THREAD_WARNINGS = ("QObject::setParent", "Cannot create children", "QThread", "different thread",
                   "QObject::startTimer", "QBasicTimer", "QPixmap: It is not safe")


@pytest.fixture
def qt_messages():
    """Every message Qt logs while the test runs."""
    messages = []

    def handler(kind, context, text):
        messages.append(text)

    previous = QtCore.qInstallMessageHandler(handler)
    yield messages
    QtCore.qInstallMessageHandler(previous)


@pytest.fixture
def window(lab_window):
    return lab_window()


def _steps(win):
    return win.latest_step.step if win.latest_step is not None else 0


def _wait_state(qtbot, win, *states):
    qtbot.waitUntil(lambda: win.controls.state in states, timeout=WAIT_MS)


def _save(qtbot, win, path):
    count = len(win.saved_paths)
    win.save_session(str(path))
    qtbot.waitUntil(lambda: len(win.saved_paths) > count, timeout=WAIT_MS)


def _assert_no_thread_warnings(messages):
    bad = [m for m in messages if any(word in m for word in THREAD_WARNINGS)]
    assert not bad, bad


def _visible_top_levels():
    from PySide6 import QtWidgets

    return {w for w in QtWidgets.QApplication.topLevelWidgets() if w.isVisible()}


def test_step_save_stop_load_twenty_times(qtbot, window, tmp_path, qt_messages):
    path = tmp_path / "loop.npz"
    window.controls.epochs.setValue(3)                 # 27 steps: the run is not over after 20
    windows_before = _visible_top_levels()
    for round_ in range(20):
        window.run_command("step")                     # the loaded run goes on: step round_ + 1
        qtbot.waitUntil(lambda: _steps(window) == round_ + 1, timeout=WAIT_MS)
        _wait_state(qtbot, window, "paused")
        _save(qtbot, window, path)
        window.run_command("stop")
        _wait_state(qtbot, window, "stopped")
        window.open_checkpoint(str(path))
        qtbot.waitUntil(lambda: window.session is not None and window.session.resumed_from == str(path)
                        and window.controls.state == "paused", timeout=WAIT_MS)
        assert window.session.global_step == round_ + 1, round_     # each load continues the saved run
    assert not window.messages, window.messages
    _assert_no_thread_warnings(qt_messages)
    assert _visible_top_levels() == windows_before            # no stray window appeared


def test_save_export_load(qtbot, window, tmp_path, qt_messages):
    window.run_command("step")
    _wait_state(qtbot, window, "paused")
    _save(qtbot, window, tmp_path / "run.npz")
    written = window.export_views(str(tmp_path / "views"))
    numbered = [path for path in written if os.path.basename(path)[:2].isdigit()]
    assert len(numbered) == len(TABS)                  # plus the pictures views write themselves
    window.run_command("stop")
    _wait_state(qtbot, window, "stopped")
    window.open_checkpoint(str(tmp_path / "run.npz"))
    qtbot.waitUntil(lambda: window.session is not None and window.session.resumed_from is not None, timeout=WAIT_MS)
    assert not window.messages
    _assert_no_thread_warnings(qt_messages)


def test_a_command_line_checkpoint_opens_with_its_curves_and_accuracy(qtbot, window, tmp_path, monkeypatch):
    monkeypatch.setenv("CYCONV_OFFLINE", "1")
    out = tmp_path / "cli.npz"
    assert cli.main(["train", "--preset", "mnist_cnn", "--data", "synthetic", "--n-train", "300", "--n-test", "100",
                     "--epochs", "1", "--batch", "50", "--out", str(out), "--no-progress"]) == 0
    window.open_checkpoint(str(out))
    qtbot.waitUntil(lambda: window.latest_evaluation is not None and window.final_evaluation is not None,
                    timeout=WAIT_MS)
    saved = io.load(out)
    assert window.views["curves"].steps == list(range(1, len(saved.history["step_loss"]) + 1))
    assert window.final_evaluation.accuracy == pytest.approx(saved.evaluation["accuracy"])
    assert [row.name for row in window.editor.summary][:2] == ["conv1", "relu1"]
    assert window.controls.batch.value() == 50 and window.controls.state == "finished"
    assert f"{saved.evaluation['accuracy']:.2%}" in window.notices[-1]
    draw = window.views["draw"]
    draw.canvas.stroke([(40, 40), (180, 180)])
    draw.request_prediction()                      # Draw works without training first
    qtbot.waitUntil(lambda: "Prediction:" in draw.result.text(), timeout=WAIT_MS)
    window.tabs.setCurrentIndex(TABS.index("predictions"))
    window.repaint_views()
    assert window.views["predictions"].confusion_panel.image is not None


def test_an_app_checkpoint_evaluates_on_the_command_line_like_the_app(qtbot, window, tmp_path, capsys):
    with qtbot.waitSignal(window.run_finished, timeout=WAIT_MS):
        window.run_command("start")
    qtbot.waitUntil(lambda: window.final_evaluation is not None, timeout=WAIT_MS)
    _save(qtbot, window, tmp_path / "app.npz")
    assert f"{window.final_evaluation.accuracy:.2%}" in window.controls.status.text()
    capsys.readouterr()
    assert cli.main(["eval", str(tmp_path / "app.npz")]) == 0
    assert f"{100 * window.final_evaluation.accuracy:.2f}%" in capsys.readouterr().out


def test_the_language_is_remembered_and_the_status_line_follows_it(qtbot, window, tmp_path):
    window.run_command("step")
    _wait_state(qtbot, window, "paused")
    window.set_language("ko")
    assert window.controls.status.text() == i18n.tr("train.paused")
    assert window.preferences.value("language") == "ko"
    window.set_language("en")
    assert window.controls.status.text() == "Paused."


def test_old_answers_go_when_the_run_or_network_changes(qtbot, window):
    window.run_command("step")
    _wait_state(qtbot, window, "paused")
    view = window.views["gradcheck"]
    view.run_button.click()
    qtbot.waitUntil(lambda: bool(view.results), timeout=WAIT_MS)
    window.run_command("reset")
    _wait_state(qtbot, window, "idle")
    assert view.results == [] and view.table.rowCount() == 0
    window.run_command("step")
    _wait_state(qtbot, window, "paused")
    view.run_button.click()
    qtbot.waitUntil(lambda: bool(view.results), timeout=WAIT_MS)
    window.editor.set_network((1, 28, 28), TINY[:2] + TINY[3:4] + [{"type": "Dense", "out_features": 10}])
    assert view.results == []


def test_screenshot_of_an_opened_checkpoint_without_training(qtbot, tmp_path, capsys):
    from gui import app

    first = tmp_path / "first"
    assert app.main(["--screenshot", str(first), "--steps", "3", "--samples", "60"]) == 0
    session_file = first / "session.npz"
    assert io.load(session_file).trainer_state["global_step"] == 3
    capsys.readouterr()
    assert cli.main(["eval", str(session_file)]) == 0               # the checkpoint knows its data
    again = tmp_path / "again"
    assert app.main([str(session_file), "--screenshot", str(again), "--steps", "0"]) == 0
    assert io.load(again / "session.npz").trainer_state["global_step"] == 3      # nothing trained
    assert (again / "03-filters.png").stat().st_size > 5000


CLOSE_WHILE_TRAINING = textwrap.dedent("""
    import os, sys
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6 import QtCore, QtWidgets
    app = QtWidgets.QApplication([])
    from gui.main_window import MainWindow
    window = MainWindow(preset="mnist_cnn")
    window.controls.n_train.setValue(2000)
    window.controls.epochs.setValue(100)
    window.show()
    window.run_command("start")
    def close_when_training():
        if window.latest_step is not None:
            window.close()
        else:
            QtCore.QTimer.singleShot(20, close_when_training)
    QtCore.QTimer.singleShot(20, close_when_training)
    sys.exit(app.exec())
""")


def test_closing_the_window_mid_run_ends_the_process(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    result = subprocess.run([sys.executable, "-c", CLOSE_WHILE_TRAINING], capture_output=True, text=True,
                            timeout=300, env=env, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert result.returncode == 0, result.stderr
    assert not any(word in result.stderr for word in THREAD_WARNINGS), result.stderr


def test_snapshots_sent_to_the_window_are_read_only(qtbot, window):
    window.run_command("step")
    qtbot.waitUntil(lambda: window.latest_pictures is not None and window.latest_evaluation is not None,
                    timeout=WAIT_MS)
    conv = window.latest_pictures.convs[0]
    for array in (conv.weights, window.latest_pictures.sample.image, window.latest_evaluation.confusion):
        assert not array.flags.writeable
        with pytest.raises(ValueError):
            array.reshape(-1)[0] = np.float32(1)


def test_a_view_question_is_answered_in_the_gui_thread(qtbot, window):
    from cyconv.lab import operations

    name = "test.gui.step_count"
    if name not in operations.names():
        operations.operation(name)(lambda session: (session.step_count, QtCore.QThread.currentThread()))
    answers, errors = [], []
    window.listen("probe", lambda answer: answers.append((answer, QtCore.QThread.currentThread())), errors.append)
    window.controller.ask("probe", name)                    # no run yet: the view hears why
    qtbot.waitUntil(lambda: bool(errors), timeout=WAIT_MS)
    window.run_command("step")
    _wait_state(qtbot, window, "paused")
    window.controller.ask("probe", name)
    qtbot.waitUntil(lambda: bool(answers), timeout=WAIT_MS)
    (count, worker_thread), gui_thread = answers[0]
    assert count == 1 and worker_thread is window.controller.thread and gui_thread is window.thread()


def test_the_worker_gets_the_gil_back_quickly_while_the_window_paints(window):
    # The GUI thread holding the GIL for Python's default 5 ms switch interval made each
    # training step wait on the repaints; the controller shortens it when it starts the worker.
    import gui.worker

    assert window.controller.thread.isRunning()
    assert sys.getswitchinterval() <= gui.worker.SWITCH_INTERVAL_S + 1e-9
