"""Lesson packs: the built-in ones load and check, every question accepts its right answer
and rejects a wrong one, every worked number comes from the engine, a broken pack gets one
clear error naming the file, the key (or line) and what is expected."""
import json
import os
import tomllib

import pytest

from cyconv import cli, lessons, presets
from cyconv.lessons import computations, pack

PACKS = lessons.pack.pack_files(lessons.PACK_FOLDER)
NAMES = [os.path.splitext(os.path.basename(p))[0] for p in PACKS]


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_at_least_twelve_builtin_lessons_each_named_as_its_file():
    built = lessons.builtin_lessons()
    assert len(built) >= 12
    assert sorted(lesson.name for lesson in built) == sorted(NAMES)
    assert [lesson.order for lesson in built] == sorted(lesson.order for lesson in built)


@pytest.mark.parametrize("path", PACKS, ids=NAMES)
def test_every_builtin_pack_passes_lessons_check(capsys, path):
    code, out, err = run(capsys, "lessons", "check", path)
    assert (code, err) == (0, "")
    assert out.startswith("OK ")


def test_lessons_list_prints_one_lesson_a_line_name_first(capsys):
    code, out, _ = run(capsys, "lessons", "list")
    lines = out.splitlines()
    assert code == 0 and len(lines) == len(PACKS)
    assert [line.split()[0] for line in lines] == lessons.builtin_names()
    code, out, _ = run(capsys, "lessons", "list", "--language", "ko")
    assert "합성곱" in out


def _wrong_response(question):
    if question.kind == "number":
        return str(question.answer + 1)
    if question.kind == "choice":
        return (question.answer + 1) % len(question.options["en"])
    if question.kind == "training":
        return [question.accuracy - 0.05] * question.epochs
    return None


def _right_response(question, lesson):
    if question.kind == "number":
        return f"{question.answer:,}"
    if question.kind == "choice":
        return question.answer
    if question.kind == "training":
        return [0.1] * (question.epochs - 1) + [question.accuracy]
    return presets.configs(lesson.preset)


QUESTIONS = [(lesson.name, qid) for lesson in lessons.builtin_lessons() for qid in lesson.questions]


@pytest.mark.parametrize("name,qid", QUESTIONS, ids=[f"{n}-{q}" for n, q in QUESTIONS])
def test_every_question_accepts_the_right_answer_and_rejects_a_wrong_one(name, qid):
    lesson = lessons.open_lesson(name)
    question = lesson.questions[qid]
    assert question.check(_right_response(question, lesson)).correct
    wrong = _wrong_response(question)
    if wrong is None:       # network: break the network the question is about
        input_shape, layers = presets.configs(lesson.preset)
        layers = [layer for layer in layers if layer["type"] != "Flatten"] \
            if question.layer is None else layers
        for layer in layers:
            if layer.get("name") == question.layer:
                layer["kernel_size"] = 2
        wrong = (input_shape, layers)
    assert not question.check(wrong).correct


def test_a_number_may_be_typed_with_separators_but_not_as_words():
    question = lessons.open_lesson("deepid").questions["total"]
    assert question.check(" 64,620 ").correct and question.check("64620").correct
    assert not question.check("sixty").correct and not question.check("").correct


def test_a_training_goal_counts_only_the_allowed_epochs():
    goal = lessons.open_lesson("training").questions["goal"]
    assert goal.check([0.5, 0.7, 0.91]).correct
    assert not goal.check([0.5, 0.7, 0.8, 0.99]).correct     # reached in epoch 4: too late
    assert not goal.check([]).correct


def test_a_network_question_names_what_the_student_built():
    lesson = lessons.open_lesson("deepid")
    input_shape, layers = presets.configs("deepid")
    layers[6]["out_channels"] = 50       # conv3; conv4 still expects 60 channels
    verdict = lesson.questions["conv3_spec"].check((input_shape, layers))
    assert not verdict.correct
    assert verdict.given.startswith("conv3 output 6×4×50, conv4: in_channels = 60")
    assert verdict.expected == "conv3 output 6×4×60"


def test_worked_numbers_match_the_teaching_material():
    values = {name: lessons.open_lesson(name).values for name in NAMES}
    assert values["convolution"]["s1"]["output"] == [[144, 66, 160], [247, 97, 95], [215, 121, 136]]
    assert values["convolution"]["dot"]["value"] == 70
    assert values["convolution"]["binary"]["output"] == [[4, 3, 4], [2, 4, 3], [2, 3, 4]]
    assert values["stride"]["s2"]["output"] == [[144, 160], [215, 136]]
    assert values["padding"]["p1"]["output"] == [[10, 27, 19, 61, 65], [50, 144, 66, 160, 208],
                                                 [80, 247, 97, 95, 173], [70, 215, 121, 136, 86],
                                                 [60, 177, 81, 148, 44]]
    assert values["pooling"]["max4"]["output"] == [[15, 13], [15, 12]]
    assert values["pooling"]["fmax"]["output"] == [[5, 8], [-1, 7]]
    assert values["pooling"]["favg"]["output"] == [[2, 3], [-4, 4]]
    assert values["mnist_network"]["net"]["total_params"] == 38_390
    assert values["mnist_network"]["net"]["weights"] == 38_250
    deepid = values["deepid"]["net"]
    assert [deepid[f"{n}.output"] for n in ("conv1", "pool1", "conv2", "conv3", "conv4", "flatten1")] == \
        ["36×28×20", "18×14×20", "16×12×40", "6×4×60", "2×1×80", "160"]
    assert [deepid[f"conv{i}.params"] for i in (1, 2, 3, 4)] + [deepid["dense1.params"]] == \
        [340, 7_240, 21_660, 19_280, 16_100]
    assert deepid["total_params"] == 64_620
    assert values["deepid"]["slip"] == {"conv": 1_540, "dense": 16_000, "total": 17_540}
    assert values["cnn_vs_dense"]["dense"]["weights"] == 1_055_400
    assert values["cnn_vs_dense"]["dense"]["total_params"] == 1_056_850
    alex = values["alexnet"]["net"]
    assert [alex[f"{n}.output"] for n in ("conv1", "pool1", "conv2", "pool2", "conv5", "pool3", "flatten1")] == \
        ["55×55×96", "27×27×96", "27×27×256", "13×13×256", "13×13×256", "6×6×256", "9,216"]
    assert values["alexnet"]["half"]["exact"] == 54.75 and values["alexnet"]["conv1"]["size"] == 55


def test_rendered_texts_show_the_computed_numbers_in_both_languages():
    stride = lessons.open_lesson("stride")
    for language in ("en", "ko"):
        assert "[[144, 160], [215, 136]]" in stride.steps[0].text[language]
        assert "= 136" in stride.mistakes[0].text[language]
    deepid = lessons.open_lesson("deepid")
    assert "64,620" in deepid.steps[0].text["ko"] and "6×4×60" in deepid.steps[0].text["en"]
    assert "{" not in "".join(step.text["en"] + step.text["ko"] for step in deepid.steps)
    assert "층" in deepid.steps[0].text["ko"] and "파라미터" in deepid.steps[0].text["ko"]
    assert "layer" in deepid.steps[0].text["en"] and "파라미터" not in deepid.steps[0].text["en"]


def test_the_numbers_follow_the_engine_not_the_pack(monkeypatch):
    """Were the engine to compute differently, the lesson would show it: nothing is typed in."""
    real = computations.reference.conv2d_forward
    monkeypatch.setattr(computations.reference, "conv2d_forward",
                        lambda *a, **k: real(*a, **k) + 1000)
    stride = lessons.open_lesson("stride")
    assert stride.values["s2"]["last"] == 1136
    assert "1136]]" in stride.steps[0].text["en"] and stride.questions["last_value"].check("1136").correct


def test_a_pack_may_be_json(tmp_path):
    with open(os.path.join(lessons.PACK_FOLDER, "stride.toml"), "rb") as handle:
        document = tomllib.load(handle)
    path = tmp_path / "stride.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    assert lessons.open_lesson(str(path)).values["s2"]["last"] == 136


GOOD = """format = "cyconv-lesson"
version = 1
name = "tiny"
title.en = "Tiny"
title.ko = "작은"

[setup]
preset = "mnist_cnn"

[values.s2]
compute = "conv_output"
input = [[1, 2], [3, 4]]
kernel = [[1, 0], [0, 1]]

[[steps]]
view = "conv_explainer"
text.en = "value {s2.value}"
text.ko = "값 {s2.value}"
questions = ["q"]

[[questions]]
id = "q"
kind = "number"
answer = "s2.value"
prompt.en = "?"
prompt.ko = "?"
"""

BROKEN = [
    (GOOD.replace('version = 1', 'version = 2'), "line 2: version", "reads version 1"),
    (GOOD.replace('title.ko = "작은"\n', ''), "line 4: title.ko", "missing; expected a text"),
    (GOOD.replace('view = "conv_explainer"', 'view = "charts"'), "line 16: steps[0].view",
     "expected one of shapes"),
    (GOOD.replace('text.ko = "값 {s2.value}"', 'text.ko = "값 {s2.valu}"'), "line 18: steps[0].text.ko",
     "did you mean s2.value"),
    (GOOD.replace('questions = ["q"]', 'questions = ["q2"]'), "line 19: steps[0].questions[0]",
     "no question has the id 'q2'"),
    (GOOD.replace('preset = "mnist_cnn"', 'preset = "mnist_cnn"\nlocked = ["speed"]'),
     "line 9: setup.locked[0]", "expected one of preset"),
    (GOOD.replace('kind = "number"', 'kind = "essay"'), "line 23: questions[0].kind", "expected one of number"),
    (GOOD.replace('kernel = [[1, 0], [0, 1]]', 'kernel = [[1, 0], [0]]'), "line 10: values.s2",
     "must be a non-empty matrix"),
    (GOOD.replace('view = "conv_explainer"', 'view = "conv_explainer"\nsettings = { zoom = 2 }'),
     "line 17: steps[0].settings.zoom", "has no such setting"),
    (GOOD.replace('name = "tiny"', 'name = "tiny'), "line 3", "not valid TOML"),
    (GOOD.replace('answer = "s2.value"', 'answer = 5'), "line 24: questions[0].answer", "expected a text"),
]


@pytest.mark.parametrize("text,where,expected", BROKEN, ids=[b[1] for b in BROKEN])
def test_a_broken_pack_gets_one_clear_error(capsys, tmp_path, text, where, expected):
    path = tmp_path / "lesson.toml"
    path.write_text(text, encoding="utf-8")
    code, out, err = run(capsys, "lessons", "check", path)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"cyconv: error: {path}: {where}")
    assert expected in err


def test_the_good_pack_of_the_broken_ones_is_fine(tmp_path):
    path = tmp_path / "lesson.toml"
    path.write_text(GOOD, encoding="utf-8")
    assert lessons.load(str(path)).steps[0].text["ko"] == "값 5"


def test_a_json_mistake_names_its_line(tmp_path):
    path = tmp_path / "lesson.json"
    path.write_text('{\n "format": "cyconv-lesson",\n "version": 1,\n}', encoding="utf-8")
    with pytest.raises(lessons.PackError, match=r"lesson\.json: line 4: not valid JSON"):
        lessons.load(str(path))


def test_an_unknown_lesson_name_lists_the_builtin_ones():
    with pytest.raises(lessons.PackError, match="no built-in lesson has this name; built-in: images"):
        lessons.open_lesson("convolutoin")


def test_every_lock_and_view_of_the_builtin_packs_is_known():
    for lesson in lessons.builtin_lessons():
        assert set(lesson.locked) <= set(pack.LOCKABLE)
        assert all(step.view in pack.VIEWS for step in lesson.steps)


#: Results the lessons show; written into a pack's prose they would be typed-in numbers.
TYPED_RESULTS = ("[[144", "= 144", "= 136", "= 70", "64,620", "64620", "38,390", "38390", "9,216",
                 "1,056,850", "[[15, 13]", "[[5, 8]", "[[2, 3], [-4", "[[4, 3, 4]", "55×55", "13×13×256",
                 "6×4×60 output", "36×28×20")


@pytest.mark.parametrize("path", PACKS, ids=NAMES)
def test_no_pack_types_in_a_result_the_engine_computes(path):
    with open(path, "rb") as handle:
        document = tomllib.load(handle)
    prose = []
    for step in document["steps"]:
        prose += [step["text"]["en"], step["text"]["ko"]] + step.get("tasks", {}).get("en", [])
    prose += [m["text"][lang] for m in document.get("mistakes", []) for lang in ("en", "ko")]
    typed = [result for result in TYPED_RESULTS if any(result in text for text in prose)]
    assert not typed, f"{os.path.basename(path)} types {typed}; name a computation instead"
