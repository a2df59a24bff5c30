"""The lesson panel, docked in the window: the step's text, "try this" tasks, check
questions, common mistakes, Back / Next and the progress; saving the student's report.

It reads the window (the editor's network, the epochs' accuracies from the worker) but never
touches the model: configuring the window for a step is gui.lessons.mode's job.
"""
from __future__ import annotations

import html

from PySide6 import QtCore, QtWidgets

from cyconv.lab.i18n import language, tr

from . import mode
from .questions import QuestionBox


class LessonPanel(QtWidgets.QDockWidget):
    step_changed = QtCore.Signal(int)

    def __init__(self, window, lesson, parent=None):
        super().__init__(parent or window)
        self.setObjectName("lesson_panel")
        self.window_, self.lesson = window, lesson
        self.index = 0
        self.verdicts: dict = {}                 # question id -> its latest Verdict
        self.epoch_accuracies: list[float] = []  # validation accuracy of each finished epoch
        self.pictures: dict[str, bytes] = {}     # chosen screenshots for the report
        self.steps_seen = 1
        self._build()
        self.setFeatures(QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable)

    # -- construction ---------------------------------------------------------------------------
    def _build(self) -> None:
        body = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(body)
        self.title, self.step_label, self.progress_label = QtWidgets.QLabel(), QtWidgets.QLabel(), QtWidgets.QLabel()
        self.title.setStyleSheet("font-size: 15pt; font-weight: bold;")
        self.title.setWordWrap(True)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, len(self.lesson.steps))
        self.text = QtWidgets.QTextBrowser()
        self.text.setOpenLinks(False)
        self.questions_area = QtWidgets.QVBoxLayout()
        self.back, self.next = QtWidgets.QPushButton(), QtWidgets.QPushButton()
        self.back.clicked.connect(lambda: self.go(self.index - 1))
        self.next.clicked.connect(lambda: self.go(self.index + 1))
        self.student = QtWidgets.QLineEdit()
        self.picture_button, self.save_button = QtWidgets.QPushButton(), QtWidgets.QPushButton()
        self.picture_button.clicked.connect(self.add_picture)
        self.save_button.clicked.connect(self._save_dialog)
        self.pictures_label = QtWidgets.QLabel()
        for widget in (self.title, self.step_label, self.progress):
            layout.addWidget(widget)
        layout.addWidget(self.text, 1)
        layout.addLayout(self.questions_area)
        layout.addWidget(self.progress_label)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.back)
        buttons.addWidget(self.next)
        layout.addLayout(buttons)
        report = QtWidgets.QFormLayout()
        self.student_label = QtWidgets.QLabel()
        report.addRow(self.student_label, self.student)
        layout.addLayout(report)
        layout.addWidget(self.picture_button)
        layout.addWidget(self.pictures_label)
        layout.addWidget(self.save_button)
        self.boxes = {qid: QuestionBox(q, self.network_response, lambda: list(self.epoch_accuracies))
                      for qid, q in self.lesson.questions.items()}
        for box in self.boxes.values():
            box.answered.connect(self._answered)
            box.setVisible(False)
            self.questions_area.addWidget(box)
        body.setMinimumWidth(380)
        self.setWidget(body)

    def attach(self) -> None:
        """Listen to the run: a new run starts the epoch list again, each epoch adds to it."""
        worker = self.window_.controller.worker
        worker.epoch_report.connect(self._epoch_done)
        worker.session_ready.connect(self._new_run)

    # -- moving through the steps -------------------------------------------------------------------
    def go(self, index: int) -> None:
        index = max(0, min(index, len(self.lesson.steps) - 1))
        self.index = index
        self.steps_seen = max(self.steps_seen, index + 1)
        mode.show_step(self.window_, self.lesson.steps[index])
        self.retranslate()
        self.step_changed.emit(index)

    def retranslate(self) -> None:
        code = language()
        step = self.lesson.steps[self.index]
        self.setWindowTitle(tr("lesson.panel"))
        self.title.setText(self.lesson.title[code])
        self.step_label.setText(tr("lesson.step", index=self.index + 1, count=len(self.lesson.steps)))
        self.progress.setValue(self.steps_seen)
        self.text.setHtml(self._step_html(step, code))
        for qid, box in self.boxes.items():
            box.setVisible(qid in step.questions)
            box.retranslate()
        self.back.setText(tr("lesson.back"))
        self.next.setText(tr("lesson.next"))
        self.back.setEnabled(self.index > 0)
        self.next.setEnabled(self.index < len(self.lesson.steps) - 1)
        self.student_label.setText(tr("lesson.student"))
        self.picture_button.setText(tr("lesson.add_picture"))
        self.save_button.setText(tr("lesson.save_report"))
        self.pictures_label.setText(tr("lesson.pictures", count=len(self.pictures)))
        self._show_progress()

    def _step_html(self, step, code: str) -> str:
        """The step's text; "try this" tasks; on the last step, the common mistakes."""
        parts = [f"<pre>{html.escape(p)}</pre>" if "  " in p     # a table keeps its columns
                 else f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>"
                 for p in step.text[code].split("\n\n")]
        if step.tasks[code]:
            items = "".join(f"<li>{html.escape(t)}</li>" for t in step.tasks[code])
            parts.append(f"<h4>{tr('lesson.tasks')}</h4><ul>{items}</ul>")
        if self.lesson.mistakes and self.index == len(self.lesson.steps) - 1:
            items = "".join(f"<li>{html.escape(tr('lesson.mistake', wrong=m.wrong, right=m.right, text=m.text[code]))}</li>"
                            for m in self.lesson.mistakes)
            parts.append(f"<h4>{tr('lesson.mistakes')}</h4><ul>{items}</ul>")
        return "".join(parts)

    def _show_progress(self) -> None:
        right = sum(1 for v in self.verdicts.values() if v.correct)
        self.progress_label.setText(tr("lesson.progress", right=right, total=len(self.lesson.questions)))

    # -- what the student did -------------------------------------------------------------------------
    def network_response(self):
        editor = self.window_.editor
        return tuple(editor.summary.input_shape), list(editor.configs)

    def _answered(self, qid: str, verdict) -> None:
        self.verdicts[qid] = verdict
        self._show_progress()

    def _epoch_done(self, report) -> None:
        self.epoch_accuracies.append(float(report.val_accuracy))

    def _new_run(self, session) -> None:
        self.epoch_accuracies = []

    def add_picture(self) -> None:
        """The window as it is now goes into the report (named after the step)."""
        self.pictures[f"{tr('lesson.step', index=self.index + 1, count=len(self.lesson.steps))}"
                      f" ({len(self.pictures) + 1})"] = picture_png(self.window_)
        self.pictures_label.setText(tr("lesson.pictures", count=len(self.pictures)))

    def _save_dialog(self) -> None:
        if not self.student.text().strip():
            self.window_.show_problem(tr("lesson.no_name"))
            return
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, tr("lesson.save_report"), f"{self.student.text().strip()}-{self.lesson.name}.html",
            tr("lesson.report_filter"), options=QtWidgets.QFileDialog.Option.DontUseNativeDialog)
        if path:
            self.save_report(path)

    def save_report(self, path: str) -> str:
        from .record import build_report
        from cyconv.lessons.report import write_report

        try:
            write_report(build_report(self), path)
        except OSError as error:
            self.window_.show_problem(str(error))
            return ""
        self.window_.statusBar().showMessage(tr("lesson.report_saved", path=path), 5000)
        return path


def picture_png(widget: QtWidgets.QWidget) -> bytes:
    """A widget's picture as PNG bytes."""
    buffer = QtCore.QBuffer()
    buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    widget.grab().save(buffer, "PNG")
    return bytes(buffer.data())
