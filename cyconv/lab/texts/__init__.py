"""Every text of the lab, gathered from one module per part: key -> (English, Korean).

A part adds its module to PARTS; a key defined by two parts is an error at import, so one
text never has two versions.
"""
from importlib import import_module

#: The modules that hold texts, in this package.
PARTS = ("app", "why", "learn", "lessons", "glossary")


def _gather() -> dict:
    texts: dict[str, tuple[str, str]] = {}
    for part in PARTS:
        for key, pair in import_module(f"{__name__}.{part}").TEXTS.items():
            if key in texts:
                raise RuntimeError(f"cyconv.lab.texts: {key!r} is defined in two parts ({part} and another)")
            texts[key] = pair
    return texts


TEXTS = _gather()
