"""A student's lab report: one self-contained HTML file (no network, opens from a USB stick).

It shows the name, the lesson, each answer right or wrong, the training curves (inline SVG),
the final accuracy and chosen screenshots (inline base64 PNGs). Everything the class report
needs is also in the page as one JSON block, ``<script type="application/json"
id="cyconv-report">``, so merging never parses prose (:func:`read_report`).
"""
from __future__ import annotations

import base64
import html
import json
import re
from dataclasses import asdict, dataclass, field

from .._files import atomic_write

__all__ = ["REPORT_FORMAT", "REPORT_VERSION", "Answer", "StudentReport", "render_html",
           "write_report", "read_report", "curve_svg"]

REPORT_FORMAT, REPORT_VERSION = "cyconv-lab-report", 1
_BLOCK = re.compile(r'<script type="application/json" id="cyconv-report">(.*?)</script>', re.S)


@dataclass(frozen=True)
class Answer:
    question: str         # the question id
    prompt: str
    given: str
    expected: str
    correct: bool


@dataclass
class StudentReport:
    student: str
    lesson: str                       # the lesson's name
    title: str
    language: str = "en"
    steps_seen: int = 0
    steps_total: int = 0
    answers: list = field(default_factory=list)         # of Answer
    curve: list = field(default_factory=list)           # of {"epoch", "loss", "accuracy"}
    final_accuracy: float | None = None
    classes: list = field(default_factory=list)
    confusion: list = field(default_factory=list)       # rows: true class, columns: predicted
    screenshots: dict = field(default_factory=dict)     # name -> PNG bytes

    @property
    def finished(self) -> bool:
        """Every step seen and every question answered right."""
        return self.steps_total > 0 and self.steps_seen >= self.steps_total and all(
            a.correct for a in self.answers)

    def data(self) -> dict:
        """The JSON block: everything except the pictures."""
        block = {key: value for key, value in asdict(self).items() if key != "screenshots"}
        block.update(format=REPORT_FORMAT, version=REPORT_VERSION, finished=self.finished)
        return block


def curve_svg(points: list, key: str, *, width: int = 360, height: int = 140, colour: str = "#1f77b4") -> str:
    """One curve (``key`` of each point against its epoch) as inline SVG; "" without points."""
    values = [float(p[key]) for p in points if p.get(key) is not None]
    if not values:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = (width - 20) / max(1, len(values) - 1)
    coords = " ".join(f"{10 + i * step:.1f},{height - 10 - (v - low) / span * (height - 20):.1f}"
                      for i, v in enumerate(values))
    return (f'<svg width="{width}" height="{height}" role="img" aria-label="{html.escape(key)}">'
            f'<rect width="100%" height="100%" fill="#fafafa" stroke="#ccc"/>'
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{coords}"/>'
            f'<text x="12" y="14" font-size="11">{html.escape(key)}: {values[0]:.3g} → {values[-1]:.3g}</text></svg>')


def _json_block(data: dict) -> str:
    # "</" inside a script block would end it early; JSON allows "<\/".
    return json.dumps(data, ensure_ascii=False).replace("</", "<\\/")


def _answer_rows(answers) -> str:
    rows = []
    for a in answers:
        mark = "✔" if a.correct else "✘"
        rows.append(f'<tr class="{"right" if a.correct else "wrong"}"><td>{mark}</td>'
                    f"<td>{html.escape(a.prompt)}</td><td>{html.escape(a.given)}</td>"
                    f"<td>{html.escape(a.expected)}</td></tr>")
    return "\n".join(rows)


def render_html(report: StudentReport) -> str:
    """The report as one HTML page with its JSON block."""
    e = html.escape
    accuracy = "—" if report.final_accuracy is None else f"{100 * report.final_accuracy:.1f}%"
    pictures = "\n".join(
        f'<figure><img alt="{e(name)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'
        f"<figcaption>{e(name)}</figcaption></figure>" for name, png in report.screenshots.items())
    return f"""<!DOCTYPE html>
<html lang="{e(report.language)}"><head><meta charset="utf-8">
<title>{e(report.student)}: {e(report.title)}</title>
<style>body{{font-family:sans-serif;margin:2em}} td,th{{border:1px solid #ccc;padding:4px}}
table{{border-collapse:collapse}} tr.wrong td{{background:#fde}} tr.right td{{background:#efe}}
img{{max-width:480px;border:1px solid #ccc}}</style></head><body>
<h1>{e(report.title)}</h1>
<p><b>{e(report.student)}</b> · lesson {e(report.lesson)} · steps {report.steps_seen}/{report.steps_total}
· final accuracy {accuracy}</p>
<h2>Answers</h2>
<table><tr><th></th><th>question</th><th>answer</th><th>expected</th></tr>
{_answer_rows(report.answers)}
</table>
<h2>Curves</h2>
{curve_svg(report.curve, "loss", colour="#d62728")} {curve_svg(report.curve, "accuracy")}
<h2>Screenshots</h2>
{pictures}
<script type="application/json" id="cyconv-report">{_json_block(report.data())}</script>
</body></html>
"""


def write_report(report: StudentReport, path: str) -> str:
    """Write the report to ``path`` all or nothing; returns the path."""
    text = render_html(report).encode("utf-8")
    atomic_write(path, lambda handle: handle.write(text))
    return path


def read_report(path: str) -> dict:
    """The JSON block of a report file; ValueError naming the file when it is not one."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        text = handle.read()
    found = _BLOCK.search(text)
    if found is None:
        raise ValueError(f"{path}: not a cyconv lab report (no cyconv-report block)")
    try:
        data = json.loads(found.group(1))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: the report's data block is damaged: {error.msg}") from None
    if not isinstance(data, dict) or data.get("format") != REPORT_FORMAT:
        raise ValueError(f"{path}: not a cyconv lab report (format is not {REPORT_FORMAT!r})")
    if data.get("version") != REPORT_VERSION:
        raise ValueError(f"{path}: report version {data.get('version')!r}; this cyconv reads "
                         f"version {REPORT_VERSION}")
    return data
