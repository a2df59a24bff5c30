"""A student's report (self-contained HTML with a JSON block) and the class report merge."""
import os
import re

import pytest

from cyconv import cli
from cyconv.lessons import classroom, report

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082")


def student(name, answers, accuracy, confusion, seen=2):
    return report.StudentReport(
        student=name, lesson="stride", title="Stride </script> & co", steps_seen=seen, steps_total=2,
        answers=[report.Answer(q, f"prompt {q}", given, "136", ok) for q, given, ok in answers],
        curve=[{"epoch": 1, "loss": 1.2, "accuracy": 0.5}, {"epoch": 2, "loss": 0.6, "accuracy": accuracy}],
        final_accuracy=accuracy, classes=["circle", "square", "triangle"], confusion=confusion,
        screenshots={"step 1": PNG})


@pytest.fixture
def class_folder(tmp_path):
    reports = [
        student("Ana", [("last_value", "136", True), ("size", "2", True)], 0.9,
                [[10, 2, 0], [0, 9, 1], [0, 0, 8]]),
        student("Bo", [("last_value", "316", False), ("size", "2", True)], 0.6,
                [[5, 5, 0], [1, 8, 1], [0, 0, 9]]),
        student("민지", [("last_value", "136", True), ("size", "3", False)], 0.75,
                [[9, 3, 0], [0, 10, 0], [2, 0, 6]], seen=1),
    ]
    for index, r in enumerate(reports):
        report.write_report(r, str(tmp_path / f"student{index}.html"))
    (tmp_path / "notes.html").write_text("<p>not a report</p>", encoding="utf-8")
    return tmp_path


def test_a_report_is_self_contained_and_carries_its_data(tmp_path):
    r = student("Ana", [("last_value", "316", False)], 0.9, [[1]])
    path = report.write_report(r, str(tmp_path / "ana.html"))
    text = open(path, encoding="utf-8").read()
    assert "data:image/png;base64," in text and "<svg" in text and "src=\"http" not in text
    assert "Stride &lt;/script&gt; &amp; co" in text
    data = report.read_report(path)
    assert data["student"] == "Ana" and data["answers"][0]["given"] == "316"
    assert data["title"] == "Stride </script> & co" and data["finished"] is False
    assert "screenshots" not in data


def test_reading_something_else_names_the_file(tmp_path):
    path = tmp_path / "x.html"
    path.write_text("<html></html>", encoding="utf-8")
    with pytest.raises(ValueError, match=r"x\.html: not a cyconv lab report"):
        report.read_report(str(path))


def test_a_class_report_merges_three_students_with_the_right_figures(class_folder):
    reports, skipped = classroom.read_folder(str(class_folder))
    assert len(reports) == 3 and [name for name, _ in skipped] == ["notes.html"]
    summary = classroom.merge(reports)
    assert summary.finished == ["Ana"]
    assert summary.share_right("stride", "last_value") == pytest.approx(2 / 3)
    assert summary.share_right("stride", "size") == pytest.approx(2 / 3)
    spread = summary.spread()
    assert spread["min"] == 0.6 and spread["max"] == 0.9 and spread["median"] == 0.75
    assert spread["mean"] == pytest.approx(0.75)
    # circle→square: 2 + 5 + 3 = 10; triangle→circle 2; square→triangle 1 + 1 = 2
    assert summary.confusions[0] == (("circle", "square"), 10)
    assert dict(summary.confusions)[("square", "triangle")] == 2


def test_cyconv_class_report_writes_one_page(capsys, class_folder):
    code = cli.main(["class-report", str(class_folder)])
    out = capsys.readouterr().out
    page = os.path.join(class_folder, "class-report.html")
    assert code == 0 and page in out
    text = open(page, encoding="utf-8").read()
    assert "3 reports, 1 finished" in text and "66.7%" in text and "notes.html" in text
    assert re.search(r"circle</td><td>square</td><td>10<", text)
    # run again: its own page is not read as a report
    assert cli.main(["class-report", str(class_folder)]) == 0


def test_an_empty_folder_is_one_line_error(capsys, tmp_path):
    code = cli.main(["class-report", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("cyconv: error: class-report: no cyconv lab reports in")
    assert cli.main(["class-report", str(tmp_path / "missing")]) == 1
