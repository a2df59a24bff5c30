"""Reading and checking a lesson pack (TOML or JSON, format "cyconv-lesson", version 1).

The format is described in docs/lessons.md. :func:`load` returns a :class:`Lesson` whose
worked numbers are already computed by the engine and whose texts are already rendered in
both languages, or raises :class:`PackError` naming the file, the key (or the line, for a
syntax error) and what was expected. Nothing here imports Qt.
"""
from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass

from .checks import KINDS, Question
from .computations import ComputeError, compute
from .render import UnknownReference, lookup, render

__all__ = ["FORMAT", "VERSION", "LANGUAGES", "VIEWS", "LOCKABLE", "Lesson", "Step",
           "Mistake", "PackError", "load", "parse"]

FORMAT, VERSION = "cyconv-lesson", 1
LANGUAGES = ("en", "ko")
#: The lab's tabs a lesson may open (gui/tabs.py).
VIEWS = ("shapes", "curves", "filters", "activations", "predictions", "conv_explainer",
         "pool_explainer", "gradcheck", "speed", "draw")
#: The controls a lesson may lock.
LOCKABLE = ("preset", "data", "seed", "optimizer", "layers")
#: What a step may set on its view: key -> the values allowed (a tuple) or the type.
VIEW_SETTINGS = {
    "conv_explainer": {"example": ("input_4x4_filter_2x2", "binary_5x5_filter_3x3"),
                       "stride": int, "padding": int, "mode": ("zeros", "replicate", "reflect")},
    "pool_explainer": {"example": ("input_4x4", "fmap_4x4"), "kind": ("max", "avg", "min"),
                       "size": int, "stride": int},
}
DATASETS = ("synthetic", "synthetic_rgb", "mnist", "fashion_mnist", "cifar10")


class PackError(ValueError):
    """A mistake in a pack: ``file: key: what is expected``."""

    def __init__(self, source: str, where: str, message: str):
        super().__init__(f"{source}: {where}: {message}")
        self.source, self.where = source, where


@dataclass(frozen=True)
class Step:
    text: dict              # language -> rendered text
    view: str
    settings: dict          # the view's settings (explainer example, stride ...)
    tasks: dict             # language -> list of rendered "try this" tasks
    questions: tuple        # question ids


@dataclass(frozen=True)
class Mistake:
    wrong: str
    right: str              # the engine's value, formatted
    text: dict              # language -> rendered explanation


@dataclass(frozen=True)
class Lesson:
    name: str
    source: str
    order: int
    title: dict
    concepts: tuple
    preset: str
    dataset: str
    locked: tuple
    steps: tuple
    questions: dict         # id -> Question
    mistakes: tuple
    values: dict            # computation name -> its results

    def title_in(self, language: str) -> str:
        return self.title[language]


def line_of(text: str, where: str) -> int | None:
    """The line (1-based) of the TOML text where the key path ``where`` (``steps[1].view``)
    is written, found by walking the path's segments in order; None when it is not written
    (a missing key) or cannot be found."""
    position = 0
    for segment in filter(None, re.split(r"\.(?![^\[]*\])", where)):
        name, _, index = segment.partition("[")
        if index:
            inline = re.search(rf"^\s*{re.escape(name)}\s*=", text[position:], re.M)
            headers = [m.end() for m in re.finditer(rf"^\s*\[\[\s*{re.escape(name)}\s*\]\]",
                                                    text[position:], re.M)]
            count = int(index.rstrip("]"))
            table_end = re.search(r"^\s*\[", text[position:], re.M)
            inline_here = inline is not None and (table_end is None or inline.start() < table_end.start())
            if inline_here:
                position += inline.start()       # an inline list: show its line
                break
            if count >= len(headers):
                return None
            position += headers[count]
            continue
        found = re.search(rf"(^|[\s.\[{{,])({re.escape(name)})\s*[=.\]]", text[position:], re.M)
        if found is None:
            return None
        position += found.start(2)
    return text.count("\n", 0, position) + 1 if where else None


class _Reader:
    """Walks the parsed document, naming the key path (and its line) in every error."""

    def __init__(self, source: str, text: str = ""):
        self.source, self.text = source, text

    def fail(self, where: str, message: str, *, line_of_key: str | None = None):
        """Raise the error; the line shown is the one of ``line_of_key`` (default: the key
        itself; a missing key shows the line of the table that lacks it)."""
        key = where if line_of_key is None else line_of_key
        line = line_of(self.text, key) if key and not self.source.endswith(".json") else None
        raise PackError(self.source, f"line {line}: {where}" if line else where, message)

    def get(self, table: dict, key: str, where: str, kind, *, default=..., choices=None):
        path = f"{where}.{key}" if where else key
        if key not in table:
            if default is ...:
                self.fail(path, f"missing; expected {_describe(kind, choices)}", line_of_key=where)
            return default
        value = table[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.fail(path, f"expected {_describe(kind, choices)}, got {value!r}")
        if choices is not None and value not in choices:
            self.fail(path, f"expected one of {', '.join(map(str, choices))}, got {value!r}")
        return value

    def languages(self, table: dict, key: str, where: str, kind=str) -> dict:
        block = self.get(table, key, where, dict)
        path = f"{where}.{key}" if where else key
        for language in LANGUAGES:
            value = self.get(block, language, path, kind)
            if kind is list and not all(isinstance(v, str) for v in value):
                self.fail(f"{path}.{language}", "expected a list of texts")
        extra = set(block) - set(LANGUAGES)
        if extra:
            self.fail(path, f"unknown language {sorted(extra)[0]!r}; expected en and ko")
        return block

    def only(self, table: dict, allowed: tuple, where: str):
        for key in table:
            if key not in allowed:
                self.fail(f"{where}.{key}" if where else key,
                          f"unknown key; expected one of {', '.join(allowed)}")


def _describe(kind, choices):
    if choices is not None:
        return "one of " + ", ".join(map(str, choices))
    return {str: "a text", int: "a whole number", list: "a list", dict: "a table",
            float: "a number", (int, float): "a number"}.get(kind, kind.__name__)


def _parse_text(text: str, source: str) -> dict:
    if source.endswith(".json"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise PackError(source, f"line {error.lineno}", f"not valid JSON: {error.msg}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        found = re.search(r"at line (\d+)", str(error))
        raise PackError(source, f"line {found.group(1)}" if found else "file",
                        f"not valid TOML: {error}") from None


def load(path: str) -> Lesson:
    """The lesson in the pack file ``path`` (.toml or .json)."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except UnicodeDecodeError:
        raise PackError(path, "file", "not UTF-8 text; save the pack as UTF-8") from None
    return parse(text, path)


_TOP = ("format", "version", "name", "order", "title", "concepts", "setup", "values", "steps",
        "questions", "mistakes")


def parse(text: str, source: str = "<pack>") -> Lesson:
    """The lesson in the pack text; ``source`` names it in errors (its extension picks JSON)."""
    doc = _parse_text(text, source)
    if not isinstance(doc, dict):
        raise PackError(source, "file", "expected a table (a JSON object) at the top")
    r = _Reader(source, text)
    r.only(doc, _TOP, "")
    r.get(doc, "format", "", str, choices=(FORMAT,))
    version = r.get(doc, "version", "", int)
    if version != VERSION:
        r.fail("version", f"this cyconv reads version {VERSION}, got {version}")
    values = _values(r, r.get(doc, "values", "", dict, default={}))
    questions = _questions(r, r.get(doc, "questions", "", list, default=[]), values)
    setup = r.get(doc, "setup", "", dict)
    r.only(setup, ("preset", "dataset", "locked"), "setup")
    locked = r.get(setup, "locked", "setup", list, default=[])
    for index, item in enumerate(locked):
        if item not in LOCKABLE:
            r.fail(f"setup.locked[{index}]", f"expected one of {', '.join(LOCKABLE)}, got {item!r}")
    from .. import presets
    steps = tuple(_step(r, step, f"steps[{i}]", values, questions)
                  for i, step in enumerate(_non_empty(r, doc, "steps")))
    return Lesson(
        name=r.get(doc, "name", "", str), source=source, order=r.get(doc, "order", "", int, default=999),
        title=r.languages(doc, "title", ""),
        concepts=tuple(r.get(doc, "concepts", "", list, default=[])),
        preset=r.get(setup, "preset", "setup", str, choices=presets.PRESET_NAMES),
        dataset=r.get(setup, "dataset", "setup", str, default="synthetic", choices=DATASETS),
        locked=tuple(locked), steps=steps, questions=questions,
        mistakes=tuple(_mistake(r, m, f"mistakes[{i}]", values)
                       for i, m in enumerate(r.get(doc, "mistakes", "", list, default=[]))),
        values=values)


def _non_empty(r, doc, key):
    items = r.get(doc, key, "", list)
    if not items:
        r.fail(key, "expected at least one entry")
    return items


def _values(r, table: dict) -> dict:
    values = {}
    for name, params in table.items():
        if not isinstance(params, dict):
            r.fail(f"values.{name}", f"expected a table with a 'compute' key, got {params!r}")
        try:
            values[name] = compute(params)
        except ComputeError as error:
            r.fail(f"values.{name}", str(error))
    return values


def _render(r, text: str, where: str, values: dict) -> str:
    try:
        return render(text, values)
    except UnknownReference as error:
        r.fail(where, error.args[0])


def _rendered(r, table, key, where, values, kind=str) -> dict:
    block = r.languages(table, key, where, kind)
    path = f"{where}.{key}"
    if kind is list:
        return {lang: [_render(r, t, f"{path}.{lang}", values) for t in block[lang]] for lang in LANGUAGES}
    return {lang: _render(r, block[lang], f"{path}.{lang}", values) for lang in LANGUAGES}


def _step(r, step, where, values, questions) -> Step:
    if not isinstance(step, dict):
        r.fail(where, "expected a table")
    r.only(step, ("text", "view", "settings", "tasks", "questions"), where)
    asked = r.get(step, "questions", where, list, default=[])
    for index, qid in enumerate(asked):
        if qid not in questions:
            r.fail(f"{where}.questions[{index}]", f"no question has the id {qid!r} "
                   f"(ids: {', '.join(questions) or 'none'})")
    tasks = _rendered(r, step, "tasks", where, values, list) if "tasks" in step else {"en": [], "ko": []}
    view = r.get(step, "view", where, str, choices=VIEWS)
    return Step(text=_rendered(r, step, "text", where, values), view=view,
                settings=_settings(r, step, f"{where}.settings", view),
                tasks=tasks, questions=tuple(asked))


def _settings(r, step, where, view) -> dict:
    settings = step.get("settings", {})
    if not isinstance(settings, dict):
        r.fail(where, f"expected a table, got {settings!r}")
    allowed = VIEW_SETTINGS.get(view, {})
    for key, value in settings.items():
        if key not in allowed:
            r.fail(f"{where}.{key}", f"the {view} view has no such setting; it has "
                   + (", ".join(allowed) or "none"))
        rule = allowed[key]
        if isinstance(rule, tuple):
            r.get(settings, key, where, str, choices=rule)
        elif not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 4:
            r.fail(f"{where}.{key}", f"expected a whole number 0..4, got {value!r}")
    return dict(settings)


def _answer_value(r, q, where, values):
    reference = r.get(q, "answer", where, str)
    try:
        value = lookup(values, reference)
    except UnknownReference as error:
        r.fail(f"{where}.answer", error.args[0])
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        r.fail(f"{where}.answer", f"{reference!r} is {value!r}, expected a computed number")
    return value


def _question(r, q, where, values) -> Question:
    if not isinstance(q, dict):
        r.fail(where, "expected a table")
    kind = r.get(q, "kind", where, str, choices=KINDS)
    fields = {"id": r.get(q, "id", where, str), "kind": kind, "prompt": r.languages(q, "prompt", where)}
    if kind == "number":
        r.only(q, ("id", "kind", "prompt", "answer", "tolerance"), where)
        fields["answer"] = _answer_value(r, q, where, values)
        fields["tolerance"] = float(r.get(q, "tolerance", where, (int, float), default=0))
    elif kind == "choice":
        r.only(q, ("id", "kind", "prompt", "options", "answer"), where)
        options = r.languages(q, "options", where, list)
        fields["options"] = options
        answer = r.get(q, "answer", where, int)
        if not 0 <= answer < len(options["en"]) or len(options["en"]) != len(options["ko"]):
            r.fail(f"{where}.answer", f"expected an index 0..{len(options['en']) - 1} into options "
                   "(the same number of options in en and ko)")
        fields["answer"] = answer
    elif kind == "network":
        r.only(q, ("id", "kind", "prompt", "layer", "output", "total_params"), where)
        if "layer" in q:
            fields["layer"] = r.get(q, "layer", where, str)
            output = r.get(q, "output", where, list)
            if len(output) not in (1, 3) or not all(isinstance(n, int) and n > 0 for n in output):
                r.fail(f"{where}.output", f"expected [H, W, C] (or [D]) of positive whole numbers, got {output!r}")
            fields["output"] = tuple(output)
        if "total_params" in q:
            fields["total_params"] = _answer_value(r, {"answer": q["total_params"]}, where, values)
        if "layer" not in q and "total_params" not in q:
            r.fail(where, "a network question needs 'layer' and 'output', or 'total_params'")
    else:
        r.only(q, ("id", "kind", "prompt", "accuracy", "epochs"), where)
        accuracy = float(r.get(q, "accuracy", where, (int, float)))
        if not 0 < accuracy <= 1:
            r.fail(f"{where}.accuracy", f"expected a fraction in (0, 1], got {accuracy}")
        fields["accuracy"], fields["epochs"] = accuracy, r.get(q, "epochs", where, int)
    return Question(**fields)


def _questions(r, items, values) -> dict:
    questions = {}
    for index, q in enumerate(items):
        question = _question(r, q, f"questions[{index}]", values)
        if question.id in questions:
            r.fail(f"questions[{index}].id", f"{question.id!r} is used twice")
        questions[question.id] = question
    return questions


def _mistake(r, m, where, values) -> Mistake:
    if not isinstance(m, dict):
        r.fail(where, "expected a table")
    r.only(m, ("wrong", "right", "text"), where)
    right = _render(r, "{" + r.get(m, "right", where, str) + "}", f"{where}.right", values)
    return Mistake(wrong=r.get(m, "wrong", where, str), right=right,
                   text=_rendered(r, m, "text", where, values))


def pack_files(folder: str) -> list[str]:
    """The pack files (.toml, .json) in ``folder``, sorted."""
    return sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith((".toml", ".json")))
