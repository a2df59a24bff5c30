"""English and Korean texts of the lab, switchable at run time.

A plain dict instead of Qt's .ts/.qm toolchain: the app has a few hundred strings and two
languages, and a dict needs no build step. `tr(key)` raises KeyError for an unknown key, so a
missing text fails loudly in the tests rather than showing a key on screen.

The texts live in ``cyconv.lab.texts``, one module per part of the lab (the window, each
group of views, the lessons); each module is one dict key -> (English, Korean), and a key may
be defined once only (a test checks it).
"""
from __future__ import annotations

from .texts import TEXTS

LANGUAGES = {"en": "English", "ko": "한국어"}
_current = "en"



def set_language(code: str) -> None:
    """Switch every later `tr` call to `code` ('en' or 'ko')."""
    global _current
    if code not in LANGUAGES:
        raise ValueError(f"set_language: language must be one of {sorted(LANGUAGES)}, got {code!r}")
    _current = code


def language() -> str:
    """The current language code."""
    return _current


def tr(key: str, **values) -> str:
    """The text for `key` in the current language, with `{name}` fields filled from `values`."""
    english, korean = TEXTS[key]
    text = korean if _current == "ko" else english
    return text.format(**values) if values else text
