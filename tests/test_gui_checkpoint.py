"""The app writes the same checkpoint as the command: `cyconv eval` reads an app session with
no --data and finds the app's own numbers."""
import os
import re

import pytest

pytest.importorskip("pytestqt")

from cyconv import cli, io  # noqa: E402
from gui import i18n  # noqa: E402
from gui.main_window import MainWindow  # noqa: E402

TINY = [{"type": "Conv2D", "out_channels": 4, "kernel_size": [5, 5]}, {"type": "ReLU"},
        {"type": "MaxPool2D", "kernel_size": [2, 2]}, {"type": "Flatten"},
        {"type": "Dense", "out_features": 10}]
WAIT_MS = 20_000


@pytest.fixture
def window(qtbot, monkeypatch):
    monkeypatch.setenv("CYCONV_OFFLINE", "1")
    i18n.set_language("en")
    win = MainWindow(preset="mnist_cnn")
    qtbot.addWidget(win)
    win.editor.set_network((1, 28, 28), TINY)
    win.controls.n_train.setValue(200)
    win.controls.n_eval.setValue(40)
    win.controls.batch.setValue(20)
    win.controls.epochs.setValue(1)
    win.show()
    yield win
    win.close()


def test_an_app_session_evaluates_with_the_command_alone(qtbot, window, tmp_path, capsys):
    with qtbot.waitSignal(window.run_finished, timeout=WAIT_MS):
        window.run_command("start")
    qtbot.waitUntil(lambda: window.latest_evaluation is not None, timeout=WAIT_MS)
    path = str(tmp_path / "app.npz")
    window.save_session(path)
    qtbot.waitUntil(lambda: os.path.exists(path), timeout=WAIT_MS)
    saved = io.load(path)
    assert saved.version == 2 and saved.normalization is not None
    assert saved.dataset["name"] == "synthetic" and saved.dataset["n_test"] == 40
    assert saved.training["batch_size"] == 20 and saved.extra["language"] == "en"
    assert "normalization" not in saved.extra            # a block of its own now
    expected = window.controller.worker.trainer.evaluate(window.controller.worker._eval_set)
    assert cli.main(["eval", path, "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "(test, 40 images)" in out
    assert float(re.search(r"accuracy ([0-9.]+)%", out).group(1)) == \
        pytest.approx(100 * expected.accuracy, abs=0.005)
