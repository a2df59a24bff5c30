"""Lesson mode in the window: the lesson's network and data, its locked controls (and the
training controls only when its network can train), and each step's view opened with its
settings. Only the window's public widgets are used."""
from __future__ import annotations

from cyconv.lab.i18n import tr
from cyconv.lab.settings import DATASET_SHAPES

from ..tabs import TABS


def lockable_widgets(window) -> dict:
    """Each control a pack may lock (cyconv.lessons.pack.LOCKABLE) -> the widgets it covers."""
    editor, controls = window.editor, window.controls
    return {
        "preset": [editor.preset],
        "data": [controls.dataset, controls.folder_button],
        "seed": [controls.seed],
        "optimizer": [controls.optimizer, controls.lr, controls.momentum],
        "layers": [editor.table, editor.input_shape, *editor.buttons.values()],
    }


def apply_lesson(window, lesson) -> None:
    """Load the lesson's data and network, then lock what it locks."""
    if window.controls.availability.get(lesson.dataset):
        window.controls.select_dataset(lesson.dataset)
    # After the data: a network that does not read it (a shapes-only lesson) keeps its input.
    window.editor.load_preset(lesson.preset)
    # A lesson whose network cannot read its data is about shapes only: no training controls.
    window.train_group.setVisible(can_train(window, lesson))
    for key, widgets in lockable_widgets(window).items():
        locked = key in lesson.locked
        for widget in widgets:
            widget.setEnabled(not locked)
            widget.setToolTip(tr("lesson.locked") if locked else "")


def can_train(window, lesson) -> bool:
    """True when the lesson's network reads its data (so Start and Step can run)."""
    shape = DATASET_SHAPES.get(lesson.dataset)
    summary = window.editor.summary
    return shape is not None and tuple(summary.input_shape) == shape and summary.output_shape == (10,)


def show_step(window, step) -> None:
    """Open the step's view and apply its settings (explainer example, stride ...)."""
    window.tabs.setCurrentIndex(TABS.index(step.view))
    view = window.views[step.view]
    if step.settings and hasattr(view, "set_settings"):
        view.set_settings(**step.settings)
