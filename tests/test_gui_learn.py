"""The timeline, compare and doctor views in the window, driven as a student does: the slider
shows an earlier step's filters, the comparison names the changed setting, each "break it"
button makes the doctor name its failure."""
import os

import numpy as np
import pytest

pytest.importorskip("pytestqt")


from cyconv.lab import i18n, learn  # noqa: E402
from cyconv.monitor.experiments import EXPECTED, EXPERIMENTS  # noqa: E402
from cyconv.lab import render  # noqa: E402
from gui.main_window import TABS  # noqa: E402

TINY = [{"type": "Conv2D", "out_channels": 4, "kernel_size": [5, 5]}, {"type": "ReLU"},
        {"type": "MaxPool2D", "kernel_size": [2, 2]}, {"type": "Flatten"},
        {"type": "Dense", "out_features": 10}]
WAIT_MS = 60_000


@pytest.fixture
def window(lab_window):
    return lab_window(n_train=1000, epochs=1, optimizer="adam", lr="0.002")


def recorder(window):
    return learn.recorder_of(window.controller.worker.session)


def train(qtbot, window):
    with qtbot.waitSignal(window.run_finished, timeout=WAIT_MS):
        window.run_command("start")
    qtbot.waitUntil(lambda: window.controls.state == "finished", timeout=WAIT_MS)


def show(window, key):
    window.tabs.setCurrentIndex(TABS.index(key))
    return window.views[key]


def test_the_slider_shows_an_earlier_steps_recorded_filters(qtbot, window):
    train(qtbot, window)
    view = show(window, "timeline")
    moments = recorder(window).history.moments
    qtbot.waitUntil(lambda: len(view.moments) == len(moments), timeout=WAIT_MS)
    assert view.slider.value() == len(moments) - 1                 # it follows the run to its end
    view.slider.setValue(1)
    earlier = moments[1]
    assert view.moment.step == earlier.step < moments[-1].step
    np.testing.assert_array_equal(view.moment.filters["conv1"], earlier.filters["conv1"])
    np.testing.assert_array_equal(view.filters_panel.image, render.filter_picture(earlier.filters["conv1"]))
    assert not np.array_equal(view.filters_panel.image, render.filter_picture(moments[-1].filters["conv1"]))
    assert f"Step {earlier.step} " in view.moment_label.text()


def test_play_runs_the_slider_to_the_end(qtbot, window):
    train(qtbot, window)
    view = show(window, "timeline")
    qtbot.waitUntil(lambda: len(view.moments) > 2, timeout=WAIT_MS)
    view.play_button.setChecked(True)                  # at the end: starts again from the first
    assert view.slider.value() <= 1
    qtbot.waitUntil(lambda: not view.play_button.isChecked(), timeout=WAIT_MS)
    assert view.slider.value() == len(view.moments) - 1


def test_the_gif_of_the_filters_is_written(qtbot, window, tmp_path):
    train(qtbot, window)
    view = show(window, "timeline")
    qtbot.waitUntil(lambda: bool(view.moments), timeout=WAIT_MS)
    path = tmp_path / "filters.gif"
    view.save_gif(str(path))
    qtbot.waitUntil(lambda: "Wrote" in view.status_label.text(), timeout=WAIT_MS)
    assert path.stat().st_size > 0


def test_keep_change_one_thing_train_again_and_compare(qtbot, window):
    train(qtbot, window)
    view = show(window, "compare")
    view.keep_button.click()
    qtbot.waitUntil(lambda: view.kept is not None, timeout=WAIT_MS)
    window.controls.lr.setText("0.02")
    train(qtbot, window)
    view.compare_button.click()
    qtbot.waitUntil(lambda: view.comparison is not None, timeout=WAIT_MS)
    kept, current, differences = view.comparison
    assert [(d.what, d.before, d.after) for d in differences] == [("lr", 0.002, 0.02)]
    assert view.difference_label.text() == "What differed: lr 0.002 → 0.02"
    assert view.confusion_panels[0].image is not None and view.filter_panels[1].image is not None
    i18n.set_language("ko")
    window.retranslate()
    assert view.difference_label.text().startswith("달라진 점")


def test_the_doctor_examines_the_run(qtbot, window):
    train(qtbot, window)
    view = show(window, "doctor")
    view.examine_button.click()
    qtbot.waitUntil(lambda: bool(view.diagnoses), timeout=WAIT_MS)
    assert view.table.rowCount() == 2 + 1 and view.table.item(0, 0).text() == "conv1"
    assert view.report.text().startswith("• ")
    # each weighted layer's ratio over time, a dot on every checkup that measured one (a
    # single one shows too; a checkup without the weights of before has no ratio)
    items = view.ratio_plot.getPlotItem().listDataItems()
    assert len(items) == 2 and all(item.opts["symbol"] == "o" for item in items)
    assert all(1 <= len(item.getData()[0]) <= len(view.checkups) for item in items)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_each_break_it_button_makes_the_doctor_name_its_failure(qtbot, window, name):
    window.editor.load_preset("mnist_cnn")
    window.run_command("step")
    qtbot.waitUntil(lambda: window.controls.state == "paused", timeout=WAIT_MS)
    view = show(window, "doctor")
    view.break_buttons[name].click()
    qtbot.waitUntil(lambda: bool(view.diagnoses), timeout=WAIT_MS)
    assert view.diagnoses[0].code == EXPECTED[name]
    assert view.report.text().startswith(f"• {view.diagnoses[0].text()}")
    assert view.heading.text().startswith("Experiment")


def test_screenshots_write_the_named_pictures_once_there_is_something(qtbot, window, tmp_path):
    assert window.views["timeline"].screenshots(str(tmp_path)) == []
    train(qtbot, window)
    for key in ("timeline", "compare", "doctor"):
        done = window.views[key].exercise()
        qtbot.waitUntil(done, timeout=WAIT_MS)
    written = [path for key in ("timeline", "compare", "doctor")
               for path in window.views[key].screenshots(str(tmp_path))]
    assert sorted(os.path.basename(p) for p in written) == ["compare.png", "doctor.png", "timeline.png"]
    assert window.views["compare"].comparison[2][0].what == "lr"


def test_a_new_run_clears_the_views(qtbot, window):
    train(qtbot, window)
    view = show(window, "timeline")
    qtbot.waitUntil(lambda: bool(view.moments), timeout=WAIT_MS)
    window.run_command("reset")
    window.controls.lr.setText("0.003")
    window.run_command("step")
    qtbot.waitUntil(lambda: view.moments == () or len(view.moments) == 1, timeout=WAIT_MS)
