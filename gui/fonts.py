"""Fonts: the Korean interface needs a family that carries Hangul."""
from __future__ import annotations

from PySide6 import QtGui

#: Font families that carry Hangul, tried in order (Debian's fonts-noto-cjk first).
CJK_FAMILIES = ("Noto Sans CJK KR", "Noto Sans KR", "Noto Sans CJK JP", "NanumGothic", "UnDotum", "Baekmuk Gulim")


def cjk_family() -> str | None:
    """The first installed family from CJK_FAMILIES, or None."""
    installed = set(QtGui.QFontDatabase.families())
    return next((family for family in CJK_FAMILIES if family in installed), None)
