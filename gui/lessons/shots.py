"""``cyconv-lab --lesson NAME --screenshot DIR``: one PNG of the window per lesson step."""
from __future__ import annotations

import os

from . import mode


def lesson_screenshots(window, panel, folder: str, steps: int, samples: int) -> list[str]:
    """Train ``steps`` batches first when the lesson's network reads its data (so the live
    views have something to show), then write ``<lesson>-step-NN.png`` for every step."""
    from ..app import _exercise_views, _settle, _train_steps, TrainingProblem

    os.makedirs(folder, exist_ok=True)
    if steps > 0 and mode.can_train(window, panel.lesson):
        _train_steps(window, steps, samples, timeout=300)
        if window.session is None:
            reason = window.messages[-1] if window.messages else "no run was built"
            raise TrainingProblem(f"screenshot: the lesson's run could not train: {reason}")
        _settle(window)
        _exercise_views(window)
    paths = []
    for index in range(len(panel.lesson.steps)):
        panel.go(index)
        _settle(window, seconds=2)
        path = os.path.join(folder, f"{panel.lesson.name}-step-{index + 1:02d}.png")
        if not window.grab().save(path, "PNG"):
            raise OSError(f"screenshot: could not write {path}")
        paths.append(path)
    return paths
