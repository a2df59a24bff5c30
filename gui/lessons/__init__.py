"""Lesson mode: a guided lesson (cyconv.lessons) docked in the lab window.

``open_lesson(window, lesson)`` configures the window for the lesson (network, data, locked
controls), docks a :class:`LessonPanel` and shows the first step; ``lesson_screenshots``
writes one PNG per step (``cyconv-lab --lesson NAME --screenshot DIR``).
"""
from __future__ import annotations

from PySide6 import QtCore

from . import mode
from .panel import LessonPanel

__all__ = ["LessonPanel", "open_lesson"]


def open_lesson(window, lesson) -> LessonPanel:
    mode.apply_lesson(window, lesson)
    panel = LessonPanel(window, lesson)
    window.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, panel)
    panel.attach()
    # The window re-translates every entry of window.views when the language switches.
    window.views["lesson"] = panel
    window.lesson_panel = panel
    panel.go(0)
    return panel
