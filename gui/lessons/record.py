"""The student's report from the lesson panel: answers, curves, accuracy, confusions, pictures."""
from __future__ import annotations

from cyconv.lab.i18n import language
from cyconv.lessons.report import Answer, StudentReport


def _curve(panel) -> list:
    history = panel.window_.session.history if panel.window_.session is not None else {}
    losses = list(history.get("epoch_val_loss", ()))
    accuracies = list(panel.epoch_accuracies) or list(history.get("epoch_val_accuracy", ()))
    return [{"epoch": i + 1, "loss": losses[i] if i < len(losses) else None, "accuracy": a}
            for i, a in enumerate(accuracies)]


def build_report(panel) -> StudentReport:
    window, lesson, code = panel.window_, panel.lesson, language()
    evaluation = window.final_evaluation or window.latest_evaluation
    answers = [Answer(qid, lesson.questions[qid].prompt[code], v.given, v.expected, v.correct)
               for qid, v in panel.verdicts.items()]
    answers += [Answer(qid, q.prompt[code], "", "", False)
                for qid, q in lesson.questions.items() if qid not in panel.verdicts]
    return StudentReport(
        student=panel.student.text().strip(), lesson=lesson.name, title=lesson.title[code],
        language=code, steps_seen=panel.steps_seen, steps_total=len(lesson.steps), answers=answers,
        curve=_curve(panel),
        final_accuracy=None if evaluation is None else float(evaluation.accuracy),
        classes=list(window.session.classes) if window.session is not None else [],
        confusion=[] if evaluation is None else evaluation.confusion.astype(int).tolist(),
        screenshots=dict(panel.pictures))
