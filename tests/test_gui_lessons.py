"""Lesson mode in the lab window: the lesson sets the network and data and locks controls,
Next / Back move through the steps, the questions are checked, the language can switch, a
report is saved, and --lesson --screenshot writes one PNG per step."""
import os
from types import SimpleNamespace

import pytest

pytest.importorskip("pytestqt")

from PySide6 import QtCore  # noqa: E402

from cyconv import lessons  # noqa: E402
from cyconv.lab import i18n  # noqa: E402
from cyconv.lessons.report import read_report  # noqa: E402
from gui import app  # noqa: E402
from gui.lessons import mode, open_lesson  # noqa: E402
from gui.main_window import TABS, MainWindow  # noqa: E402


@pytest.fixture(autouse=True)
def own_preferences(monkeypatch, tmp_path):
    """app.main remembers the language in QSettings: keep it in the test's folder."""
    settings = QtCore.QSettings(str(tmp_path / "app-prefs.ini"), QtCore.QSettings.Format.IniFormat)
    monkeypatch.setattr(app, "_preferences", lambda: settings)
    return settings


@pytest.fixture
def window(qtbot, tmp_path):
    i18n.set_language("en")
    preferences = QtCore.QSettings(str(tmp_path / "prefs.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(preset="mnist_cnn", preferences=preferences)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()
    i18n.set_language("en")


def test_a_lesson_sets_the_network_and_locks_its_controls(window):
    panel = open_lesson(window, lessons.open_lesson("deepid"))
    assert window.editor.preset.currentText() == "deepid"
    assert tuple(window.editor.summary.input_shape) == (1, 39, 31)
    widgets = mode.lockable_widgets(window)
    for key in ("preset", "data", "seed", "optimizer"):
        assert not any(w.isEnabled() for w in widgets[key]), key
    assert all(w.isEnabled() for w in widgets["layers"])
    assert not window.train_group.isVisibleTo(window)       # 39×31 does not read 28×28 shapes
    assert TABS[window.tabs.currentIndex()] == "shapes"
    assert "64,620" in panel.text.toPlainText()


def test_next_and_back_move_through_the_steps_and_show_progress(window):
    panel = open_lesson(window, lessons.open_lesson("padding"))
    assert panel.step_label.text() == "Step 1 of 2" and not panel.back.isEnabled()
    assert window.views["conv_explainer"].padding.value() == 1
    panel.next.click()
    assert panel.step_label.text() == "Step 2 of 2" and not panel.next.isEnabled()
    assert window.views["conv_explainer"].mode.currentData() == "replicate"
    assert panel.boxes["same_meaning"].isVisibleTo(panel) and not panel.boxes["corner"].isVisibleTo(panel)
    assert "Common mistakes" in panel.text.toPlainText()
    panel.back.click()
    assert panel.index == 0 and panel.progress.value() == 2


def test_a_typed_answer_is_checked_and_counted(window):
    panel = open_lesson(window, lessons.open_lesson("stride"))
    assert window.views["conv_explainer"].stride.value() == 2
    box = panel.boxes["last_value"]
    box.entry.setText("316")
    box.check_button.click()
    assert not panel.verdicts["last_value"].correct and "Not yet" in box.verdict.text()
    box.entry.setText("136")
    box.check_button.click()
    assert panel.verdicts["last_value"].correct
    assert panel.progress_label.text() == "1 of 2 questions answered right"
    box.entry.setText("a lot")
    box.check_button.click()
    assert "Type a number" in box.verdict.text() and panel.verdicts["last_value"].correct


def test_a_network_question_reads_the_editor(window):
    panel = open_lesson(window, lessons.open_lesson("deepid"))
    box = panel.boxes["conv3_spec"]
    box.check_button.click()
    assert panel.verdicts["conv3_spec"].correct
    input_shape, layers = panel.network_response()
    layers[6] = dict(layers[6], kernel_size=2)
    window.editor.set_network(input_shape, layers)
    box.check_button.click()
    assert not panel.verdicts["conv3_spec"].correct
    assert "conv3 output 7×5×60" in box.verdict.text()


def test_a_training_goal_uses_the_epochs_of_the_run(window):
    panel = open_lesson(window, lessons.open_lesson("training"))
    assert window.train_group.isVisibleTo(window)
    assert not window.controls.dataset.isEnabled() and window.controls.optimizer.isEnabled()
    panel.go(1)
    for accuracy in (0.5, 0.8):
        panel._epoch_done(SimpleNamespace(val_accuracy=accuracy))
    panel.boxes["goal"].check_button.click()
    assert not panel.verdicts["goal"].correct
    panel._epoch_done(SimpleNamespace(val_accuracy=0.93))
    panel.boxes["goal"].check_button.click()
    assert panel.verdicts["goal"].correct


def test_the_panel_switches_language_with_the_window(window):
    panel = open_lesson(window, lessons.open_lesson("pooling"))
    window.set_language("ko")
    assert panel.title.text() == "풀링: 가장 큰 값, 또는 평균만 남기기"
    assert panel.step_label.text() == "2단계 중 1단계" and "최대 풀링" in panel.text.toPlainText()
    assert panel.next.text() == "다음 ▶"


def test_the_student_report_holds_answers_and_pictures(window, tmp_path):
    panel = open_lesson(window, lessons.open_lesson("stride"))
    panel.student.setText("민지")
    panel.boxes["size"].entry.setText("2")
    panel.boxes["size"].check_button.click()
    panel.add_picture()
    path = panel.save_report(str(tmp_path / "minji.html"))
    data = read_report(path)
    assert data["student"] == "민지" and data["lesson"] == "stride"
    answers = {a["question"]: a for a in data["answers"]}
    assert answers["size"]["correct"] and not answers["last_value"]["correct"]
    assert open(path, encoding="utf-8").read().count("data:image/png;base64,") == 1


@pytest.mark.parametrize("language", ["en", "ko"])
def test_lesson_screenshots_write_one_png_per_step(tmp_path, capsys, language, own_preferences):
    folder = tmp_path / "shots"
    code = app.main(["--lesson", "padding", "--language", language, "--screenshot", str(folder), "--steps", "1"])
    assert code == 0
    assert sorted(os.listdir(folder)) == ["padding-step-01.png", "padding-step-02.png"]
    assert own_preferences.value("language") is None          # a scripted run changes no preference
    i18n.set_language("en")


def test_a_shapes_only_lesson_writes_its_steps_without_training(tmp_path):
    folder = tmp_path / "shots"
    assert app.main(["--lesson", "alexnet", "--screenshot", str(folder), "--steps", "5"]) == 0
    assert sorted(os.listdir(folder)) == ["alexnet-step-01.png", "alexnet-step-02.png"]


def test_a_broken_lesson_pack_is_a_usage_error_naming_the_file(tmp_path, capsys):
    path = tmp_path / "mine.toml"
    path.write_text('format = "cyconv-lesson"\nversion = 1\n', encoding="utf-8")
    with pytest.raises(SystemExit) as stop:
        app.parse_args(["--lesson", str(path)])
    assert stop.value.code == 2
    assert capsys.readouterr().err == f"cyconv-lab: error: {path}: setup: missing; expected a table\n"
    with pytest.raises(SystemExit):
        app.parse_args(["--lesson", "no_such_lesson"])
    assert "no built-in lesson has this name" in capsys.readouterr().err


def test_qt_dialogs_speak_korean_when_the_lab_does(qtbot):
    from PySide6 import QtWidgets

    application = QtWidgets.QApplication.instance()
    assert app.install_qt_translations(application, "en") is None
    translator = app.install_qt_translations(application, "ko")
    try:
        assert translator is not None
        assert QtCore.QCoreApplication.translate("QFileDialog", "&Open") != "&Open"
    finally:
        application.removeTranslator(translator)


def test_a_report_after_training_has_the_curve_accuracy_and_confusions(qtbot, window, tmp_path):
    panel = open_lesson(window, lessons.open_lesson("training"))
    controls = window.controls
    controls.n_train.setValue(200)
    controls.n_eval.setValue(40)
    controls.batch.setValue(50)
    controls.epochs.setValue(2)
    window.run_command("start")
    qtbot.waitUntil(lambda: controls.state == "finished" and window.final_evaluation is not None, timeout=120_000)
    assert len(panel.epoch_accuracies) == 2
    panel.student.setText("Ana")
    data = read_report(panel.save_report(str(tmp_path / "ana.html")))
    assert [point["epoch"] for point in data["curve"]] == [1, 2]
    assert data["final_accuracy"] == pytest.approx(window.final_evaluation.accuracy)
    assert len(data["classes"]) == 10 and len(data["confusion"]) == 10
    assert sum(map(sum, data["confusion"])) == window.final_evaluation.n
