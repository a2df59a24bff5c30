"""Filling a lesson text's ``{name.field}`` references with the computed values."""
from __future__ import annotations

import difflib
import re

__all__ = ["REFERENCE", "format_value", "lookup", "render"]

#: ``{name.field}``: a computed value; ``{{`` and ``}}`` are literal braces.
REFERENCE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z0-9_.]+)\}")


class UnknownReference(KeyError):
    """A text names a value no computation of the lesson gives."""


def lookup(values: dict, reference: str):
    """``values["s2"]["last"]`` for ``"s2.last"``; a field may itself contain dots
    (``table.conv3.output``)."""
    name, _, field = reference.partition(".")
    if name not in values:
        raise UnknownReference(f"{reference!r} is not a computed value: no computation is named "
                               f"{name!r} (computed: {', '.join(values) or 'none'})")
    if field not in values[name]:
        close = difflib.get_close_matches(field, list(values[name]), n=3)
        hint = f"; did you mean {', '.join(f'{name}.{c}' for c in close)}?" if close else ""
        raise UnknownReference(f"{reference!r} is not a computed value: {name!r} has no field "
                               f"{field!r}{hint}")
    return values[name][field]


def format_value(value) -> str:
    """How a student writes it: 64,620; [[144, 66], [247, 97]]; a table as its lines."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4g}"
    if isinstance(value, list) and value and isinstance(value[0], list):
        return "[" + ", ".join(format_value(row) for row in value) + "]"
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def render(text: str, values: dict) -> str:
    """The text with every ``{name.field}`` replaced by its formatted value."""
    filled = REFERENCE.sub(lambda m: format_value(lookup(values, f"{m.group(1)}.{m.group(2)}")),
                           text)
    return filled.replace("{{", "{").replace("}}", "}")
