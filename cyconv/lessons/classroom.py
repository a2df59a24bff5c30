"""Merging a class's lab reports into one page for the teacher (``cyconv class-report``).

Only the reports' JSON blocks are read (:func:`cyconv.lessons.report.read_report`). The page
shows who finished, each question's share of right answers, the spread of the final
accuracies and the most common confusions (true class → predicted class, summed over the
students whose confusion tables have the same classes).
"""
from __future__ import annotations

import html
import os
import statistics
from collections import Counter
from dataclasses import dataclass, field

from .._files import atomic_write
from .report import read_report

__all__ = ["ClassSummary", "merge", "read_folder", "class_report_html", "write_class_report"]

DEFAULT_NAME = "class-report.html"


@dataclass
class ClassSummary:
    students: list = field(default_factory=list)        # (student, lesson, finished, accuracy)
    questions: dict = field(default_factory=dict)       # (lesson, question) -> (right, asked, prompt)
    accuracies: list = field(default_factory=list)      # the final accuracies given
    confusions: list = field(default_factory=list)      # ((true, predicted), count), most first
    skipped: list = field(default_factory=list)         # (file, reason)

    @property
    def finished(self) -> list:
        return [s[0] for s in self.students if s[2]]

    def share_right(self, lesson: str, question: str) -> float:
        right, asked, _ = self.questions[(lesson, question)]
        return right / asked

    def spread(self) -> dict:
        """min, median, mean and max of the final accuracies ({} when none was given)."""
        if not self.accuracies:
            return {}
        return {"min": min(self.accuracies), "median": statistics.median(self.accuracies),
                "mean": statistics.fmean(self.accuracies), "max": max(self.accuracies)}


def _add_confusion(counter: Counter, data: dict) -> None:
    classes, table = data.get("classes") or [], data.get("confusion") or []
    for i, row in enumerate(table):
        for j, count in enumerate(row):
            if i != j and count and i < len(classes) and j < len(classes):
                counter[(classes[i], classes[j])] += int(count)


def merge(reports: list) -> ClassSummary:
    """The class summary of report data blocks (dicts from read_report)."""
    summary = ClassSummary()
    confusions = Counter()
    for data in sorted(reports, key=lambda d: str(d.get("student", ""))):
        accuracy = data.get("final_accuracy")
        summary.students.append((str(data.get("student", "?")), str(data.get("lesson", "?")),
                                 bool(data.get("finished")), accuracy))
        if accuracy is not None:
            summary.accuracies.append(float(accuracy))
        for answer in data.get("answers", []):
            key = (str(data.get("lesson")), str(answer["question"]))
            right, asked, _ = summary.questions.get(key, (0, 0, answer.get("prompt", "")))
            summary.questions[key] = (right + bool(answer["correct"]), asked + 1, answer.get("prompt", ""))
        _add_confusion(confusions, data)
    summary.confusions = confusions.most_common(5)
    return summary


def read_folder(folder: str, *, skip: str | None = None) -> tuple[list, list]:
    """(report data blocks, [(file, reason) skipped]) of every .html file in ``folder``."""
    if not os.path.isdir(folder):
        raise ValueError(f"class-report: {folder} is not a folder")
    reports, skipped = [], []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if not name.lower().endswith(".html") or (skip and os.path.abspath(path) == os.path.abspath(skip)):
            continue
        try:
            reports.append(read_report(path))
        except (ValueError, OSError) as error:
            skipped.append((name, str(error)))
    return reports, skipped


def _percent(value) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def class_report_html(summary: ClassSummary) -> str:
    e = html.escape
    students = "\n".join(f"<tr><td>{e(s)}</td><td>{e(lesson)}</td><td>{'✔' if done else '—'}</td>"
                         f"<td>{_percent(acc)}</td></tr>" for s, lesson, done, acc in summary.students)
    questions = "\n".join(
        f"<tr><td>{e(lesson)}</td><td>{e(prompt)}</td><td>{right}/{asked}</td>"
        f"<td>{_percent(right / asked)}</td></tr>"
        for (lesson, _), (right, asked, prompt) in sorted(summary.questions.items()))
    spread = summary.spread()
    spread_text = " · ".join(f"{k} {_percent(v)}" for k, v in spread.items()) or "no accuracies reported"
    confusions = "\n".join(f"<tr><td>{e(str(t))}</td><td>{e(str(p))}</td><td>{n}</td></tr>"
                           for (t, p), n in summary.confusions)
    skipped = "".join(f"<li>{e(name)}: {e(reason)}</li>" for name, reason in summary.skipped)
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Class report</title>
<style>body{{font-family:sans-serif;margin:2em}} td,th{{border:1px solid #ccc;padding:4px}}
table{{border-collapse:collapse}}</style></head><body>
<h1>Class report: {len(summary.students)} reports, {len(summary.finished)} finished</h1>
<h2>Students</h2>
<table><tr><th>student</th><th>lesson</th><th>finished</th><th>final accuracy</th></tr>
{students}</table>
<h2>Questions: share of right answers</h2>
<table><tr><th>lesson</th><th>question</th><th>right</th><th>share</th></tr>
{questions}</table>
<h2>Final accuracy</h2><p>{spread_text}</p>
<h2>Most common confusions</h2>
<table><tr><th>true class</th><th>predicted</th><th>count</th></tr>
{confusions}</table>
{f"<h2>Files skipped</h2><ul>{skipped}</ul>" if skipped else ""}
</body></html>
"""


def write_class_report(folder: str, output: str | None = None) -> str:
    """Merge every report in ``folder`` into ``output`` (default FOLDER/class-report.html)."""
    output = output or os.path.join(folder, DEFAULT_NAME)
    reports, skipped = read_folder(folder, skip=output)
    if not reports:
        reasons = f" ({len(skipped)} .html files were not reports)" if skipped else ""
        raise ValueError(f"class-report: no cyconv lab reports in {folder}{reasons}")
    summary = merge(reports)
    summary.skipped = skipped
    text = class_report_html(summary).encode("utf-8")
    atomic_write(output, lambda handle: handle.write(text))
    return output
