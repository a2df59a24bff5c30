"""What the "why" views share: the pictures (a heat map over the input, boxes on tiles) and a
base view that asks the session under its own tag and starts over when a run arrives."""
from __future__ import annotations

import os

import numpy as np
from PySide6 import QtWidgets

from cyconv.lab import render
from cyconv.lab.i18n import tr
from .images import lookup_table

_HEAT = np.array([1.0, 0.15, 0.0], np.float32)        # red-orange: visible on grey and on viridis
BOX = np.array([1.0, 0.85, 0.0], np.float32)


def grey_rgb(image_chw) -> np.ndarray:
    """A sample (C, H, W) as an (H, W, 3) picture in [0, 1]."""
    picture = render.input_image(np.asarray(image_chw))
    return np.repeat(picture[..., None], 3, axis=2) if picture.ndim == 2 else picture.astype(np.float32)


def overlay(image_chw, heat) -> np.ndarray:
    """The sample in grey with ``heat`` (H, W; larger = more) laid over it in red, scaled so the
    largest value is fully red; negative heat counts as none."""
    base = grey_rgb(image_chw)
    heat = np.clip(np.asarray(heat, np.float64), 0, None)
    peak = float(heat.max()) if heat.size else 0.0
    weight = (heat / peak if peak > 0 else np.zeros_like(heat))[..., None].astype(np.float32) * 0.75
    return base * (1 - weight) + _HEAT * weight


def coloured(grey) -> np.ndarray:
    """A [0, 1] (H, W) picture through the viridis colour table, as (H, W, 3)."""
    lut = lookup_table("viridis").astype(np.float32) / 255
    return lut[np.clip((np.asarray(grey) * 255).astype(int), 0, 255)]


def draw_box(rgb: np.ndarray, window, colour=BOX, *, offset=(0, 0)) -> np.ndarray:
    """Draw the outline of ``window`` (top, bottom, left, right; inclusive) on ``rgb`` in place,
    shifted by ``offset`` (the tile's corner in a tiled picture)."""
    top, bottom, left, right = (int(v) for v in window)
    top, bottom, left, right = top + offset[0], bottom + offset[0], left + offset[1], right + offset[1]
    rgb[top, left:right + 1] = rgb[bottom, left:right + 1] = colour
    rgb[top:bottom + 1, left] = rgb[top:bottom + 1, right] = colour
    return rgb


def tile_corners(count: int, tile_hw, gap: int = 1) -> list[tuple[int, int]]:
    """The top-left corner of each tile of render.tile's layout."""
    rows, cols = render.grid_shape(count)
    return [((i // cols) * (tile_hw[0] + gap), (i % cols) * (tile_hw[1] + gap)) for i in range(count)]


def number(value: float) -> str:
    """A gradient as the views print it: four significant digits."""
    if value is None or not np.isfinite(value):
        return "—"
    return f"{float(value) + 0.0:.4g}"          # + 0.0: no "-0" for a gradient that is zero


class WhyView(QtWidgets.QWidget):
    """A view that asks one operation of the session; subclasses set TAG and define
    ``show_answer(answer)``. ``classes`` and ``sample_count`` follow the run."""

    TAG = "why"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.lab_window = None
        self.classes: tuple = ()
        self.sample_count = 0
        self.answer = None
        self.status = QtWidgets.QLabel()
        self.status.setWordWrap(True)
        self.sample_label = QtWidgets.QLabel()
        self.sample_box = QtWidgets.QSpinBox()
        self.sample_box.setRange(0, 0)
        # Nothing is asked until the user asks (this button, or a change of a choice): the
        # questions cost a forward and backward pass each, and a new run should not queue them.
        self.show_button = QtWidgets.QPushButton()
        self.show_button.clicked.connect(self.request)

    def attach(self, window) -> None:
        self.lab_window = window
        window.listen(self.TAG, self.show_answer, self.show_error)
        window.controller.worker.session_ready.connect(self.new_run)

    def ask(self, name: str, *args, tag: str | None = None) -> None:
        if self.lab_window is None:
            return
        self.status.setText(tr("why.working"))
        self.lab_window.controller.ask(tag or self.TAG, name, *args)

    def new_run(self, info) -> None:
        """A run was built or opened: forget what was shown; its test images are the samples."""
        self.classes = tuple(info.classes)
        self.sample_count = len(info.eval_labels)
        self.sample_box.blockSignals(True)
        self.sample_box.setRange(0, max(self.sample_count - 1, 0))
        self.sample_box.blockSignals(False)
        self.clear()
        self.status.setText(tr("why.ready"))

    def clear(self) -> None:
        self.answer = None
        self.status.setText(tr("why.none"))

    def request(self, *_) -> None:
        """Ask for what the view shows (each view says what)."""
        raise NotImplementedError

    def retranslate(self) -> None:
        self.sample_label.setText(tr("why.sample"))
        self.show_button.setText(tr("why.show"))
        if self.answer is None:
            self.status.setText(tr("why.ready") if self.sample_count else tr("why.none"))

    def show_error(self, message: str) -> None:
        self.status.setText(message)

    def class_name(self, index: int) -> str:
        return self.classes[index] if 0 <= index < len(self.classes) else str(index)

    def save_widget(self, widget, folder: str, name: str) -> list[str]:
        """Write ``widget``'s picture as folder/name; [] when there is nothing to show yet."""
        if self.answer is None:
            return []
        path = os.path.join(folder, name)
        QtWidgets.QApplication.processEvents()
        if not widget.grab().save(path, "PNG"):
            raise OSError(f"{type(self).__name__}: could not write {path}")
        return [path]
