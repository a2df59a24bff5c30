"""Guided lessons: packs a teacher writes (TOML or JSON), their checks, and class reports.

>>> from cyconv import lessons
>>> lesson = lessons.open_lesson("stride")          # a built-in name, or a pack file
>>> lesson.values["s2"]["output"]                    # computed by the engine
[[144, 160], [215, 136]]
>>> lesson.questions["last_value"].check("136").correct
True

Modules: ``pack`` (the format, loading, errors), ``computations`` (the engine calls behind
every worked number), ``checks`` (the questions), ``render`` (texts), ``report`` (a student's
HTML report) and ``classroom`` (merging a class's reports). Built-in lessons are the packs in
``cyconv/lessons/packs/``. No Qt here.
"""
from __future__ import annotations

import os

from .checks import Question, Verdict, parse_number
from .computations import COMPUTATIONS, compute
from .pack import FORMAT, VERSION, Lesson, PackError, load, pack_files, parse

__all__ = ["FORMAT", "VERSION", "COMPUTATIONS", "Lesson", "PackError", "Question", "Verdict",
           "builtin_lessons", "builtin_names", "compute", "load", "open_lesson", "parse",
           "parse_number", "PACK_FOLDER"]

PACK_FOLDER = os.path.join(os.path.dirname(__file__), "packs")


def builtin_lessons() -> list[Lesson]:
    """Every built-in lesson, in teaching order."""
    return sorted((load(path) for path in pack_files(PACK_FOLDER)), key=lambda lesson: (lesson.order, lesson.name))


def builtin_names() -> list[str]:
    return [lesson.name for lesson in builtin_lessons()]


def open_lesson(name_or_file: str) -> Lesson:
    """A built-in lesson by name, or the pack in a file (a path ending .toml or .json)."""
    if os.path.isfile(name_or_file):
        return load(name_or_file)
    for path in pack_files(PACK_FOLDER):
        if os.path.splitext(os.path.basename(path))[0] == name_or_file:
            return load(path)
    if name_or_file.endswith((".toml", ".json")):
        raise PackError(name_or_file, "file", "no such lesson pack file")
    raise PackError(name_or_file, "name", "no built-in lesson has this name; built-in: "
                    + ", ".join(builtin_names()))
