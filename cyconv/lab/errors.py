"""The one error a lab session raises for a user's request it cannot do.

It carries a message key of :mod:`cyconv.lab.i18n` and its fields, so the text is in the
language the user chose when it is shown, not when it was raised.
"""
from __future__ import annotations

from .i18n import tr


class LabError(ValueError):
    """``LabError("io.no_model")``: str() gives the text in the current language."""

    def __init__(self, key: str, **fields):
        tr(key, **fields)                 # an unknown key or a missing field fails here, loudly
        super().__init__(key)
        self.key, self.fields = key, fields

    def __str__(self) -> str:
        return tr(self.key, **self.fields)
