"""One check question on the lesson panel: its prompt, where the student answers, a Check
button and the verdict. The verdict comes from the question's own check
(cyconv.lessons.checks): the panel never judges an answer itself."""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from cyconv.lab.i18n import language, tr
from cyconv.lessons import parse_number


class QuestionBox(QtWidgets.QFrame):
    """``answered(question_id, verdict)`` after every check."""

    answered = QtCore.Signal(str, object)

    def __init__(self, question, network_source, training_source, parent=None):
        """``network_source()`` gives (input_shape, layer configs) of the editor;
        ``training_source()`` the validation accuracy of every finished epoch."""
        super().__init__(parent)
        self.setFrameShape(QtWidgets.QFrame.Shape.StyledPanel)
        self.question = question
        self._network_source, self._training_source = network_source, training_source
        self.prompt, self.verdict = QtWidgets.QLabel(), QtWidgets.QLabel()
        for label in (self.prompt, self.verdict):
            label.setWordWrap(True)
        self.entry = self._make_entry()
        self.check_button = QtWidgets.QPushButton()
        self.check_button.clicked.connect(self.check)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.prompt)
        row = QtWidgets.QHBoxLayout()
        if self.entry is not None:
            row.addWidget(self.entry, 1)
        row.addWidget(self.check_button)
        layout.addLayout(row)
        layout.addWidget(self.verdict)
        self.last_verdict = None
        self.retranslate()

    def _make_entry(self):
        if self.question.kind == "number":
            entry = QtWidgets.QLineEdit()
            entry.returnPressed.connect(self.check)
            return entry
        if self.question.kind == "choice":
            return QtWidgets.QComboBox()
        return None

    def retranslate(self) -> None:
        code = language()
        self.prompt.setText(self.question.prompt[code])
        kind = self.question.kind
        self.check_button.setText(tr({"network": "lesson.check_network",
                                      "training": "lesson.check_training"}.get(kind, "lesson.check")))
        if kind == "number":
            self.entry.setPlaceholderText(tr("lesson.answer_hint"))
        elif kind == "choice":
            index = self.entry.currentIndex()
            self.entry.clear()
            self.entry.addItems(self.question.options[code])
            self.entry.setCurrentIndex(max(index, 0))
        if self.last_verdict is not None:
            self._show(self.last_verdict)

    def response(self):
        """What the student gave, in the form the question's check takes."""
        kind = self.question.kind
        if kind == "number":
            return self.entry.text()
        if kind == "choice":
            return self.entry.currentIndex()
        if kind == "network":
            return self._network_source()
        return self._training_source()

    def check(self) -> None:
        if self.question.kind == "number" and parse_number(self.entry.text()) is None:
            self.verdict.setText(tr("lesson.not_a_number"))
            return
        self.last_verdict = self.question.check(self.response())
        self._show(self.last_verdict)
        self.answered.emit(self.question.id, self.last_verdict)

    def _show(self, verdict) -> None:
        given = verdict.given
        if self.question.kind == "choice" and verdict.given.isdigit():
            options = self.question.options[language()]
            given = options[int(verdict.given)] if int(verdict.given) < len(options) else given
        self.verdict.setText(tr("lesson.right" if verdict.correct else "lesson.wrong", given=given))
        self.verdict.setStyleSheet("color: #1a7f37;" if verdict.correct else "color: #b42318;")
