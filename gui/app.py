"""`cyconv-lab` / `python -m gui`: start the window, or train headless and write screenshots.

    cyconv-lab                              # the window (in the language chosen last time)
    cyconv-lab --lang ko --preset lenet5    # Korean, LeNet-5
    cyconv-lab run.npz                      # open a checkpoint (the app's or `cyconv train`'s)
    cyconv-lab --screenshot shots --steps 50
        trains 50 steps on the default (synthetic) data offscreen, writes a PNG of every
        view and the session it trained (shots/session.npz) into shots/ and exits 0.
    cyconv-lab run.npz --screenshot shots --steps 0
        writes the checkpoint's views without training.
    cyconv-lab --lesson stride --language ko --screenshot shots
        opens a guided lesson (a built-in name or a pack file) and writes one PNG per step.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

from cyconv.lab import i18n

_SCREENSHOT_TIMEOUT_SECONDS = 300


def parse_args(argv=None) -> argparse.Namespace:
    from cyconv import presets

    parser = argparse.ArgumentParser(prog="cyconv-lab", description="cyconv lab: watch a CNN learn.")
    parser.add_argument("checkpoint", nargs="?", metavar="FILE",
                        help="a checkpoint to open (.npz from the lab or from `cyconv train`)")
    parser.add_argument("--lang", "--language", dest="lang", choices=sorted(i18n.LANGUAGES), default=None,
                        help="interface language (default: the one chosen last time, else en)")
    parser.add_argument("--lesson", metavar="NAME|FILE",
                        help="open a guided lesson: a built-in name (`cyconv lessons list`) or a pack file")
    image_presets = [name for name in presets.PRESET_NAMES if len(presets.configs(name)[0]) == 3]
    parser.add_argument("--preset", choices=image_presets, default="mnist_cnn", help="network to start with")
    parser.add_argument("--screenshot", metavar="DIR",
                        help="train headless, write a PNG of every view and the session (session.npz) to DIR, exit")
    parser.add_argument("--steps", type=int, default=20,
                        help="steps to train in --screenshot mode (default 20; 0 with FILE: no training)")
    parser.add_argument("--samples", type=int, default=600, help="training samples in --screenshot mode")
    args = parser.parse_args(argv)
    if args.steps < (0 if args.checkpoint else 1):
        parser.error(f"--steps must be at least {0 if args.checkpoint else 1}, got {args.steps}"
                     + ("" if args.checkpoint else " (0 is for showing a checkpoint FILE without training)"))
    if args.checkpoint and not os.path.isfile(args.checkpoint):
        parser.error(f"{args.checkpoint}: no such checkpoint file")
    if args.samples < 20:
        parser.error(f"--samples must be at least 20, got {args.samples}")
    if args.lesson is not None:
        from cyconv import lessons

        try:
            args.lesson = lessons.open_lesson(args.lesson)
        except lessons.PackError as error:
            print(f"cyconv-lab: error: {error}", file=sys.stderr)    # one line, no usage block
            raise SystemExit(2) from None
    return args


def _no_display_message(screenshot: bool):
    """One clear line instead of Qt's abort when a window is asked for on a machine with no
    screen (a lab server, an ssh session); None when a window can open."""
    if screenshot or sys.platform != "linux" or os.environ.get("QT_QPA_PLATFORM"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return ("cyconv-lab: no display found (neither DISPLAY nor WAYLAND_DISPLAY is set). Run it on "
            "a desktop, or try 'cyconv-lab --screenshot DIR --steps 50' to train headless and "
            "save a picture of every view.")


def _application(screenshot: bool):
    """The QApplication; screenshot mode draws offscreen (no display needed)."""
    from PySide6 import QtWidgets

    app = QtWidgets.QApplication.instance()
    if app is None:
        if screenshot:
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
        app = QtWidgets.QApplication(sys.argv[:1])
        app.setApplicationName("cyconv lab")
    return app


class TrainingProblem(RuntimeError):
    """The settings could not train (e.g. a shapes-only preset on the default data)."""


def run_screenshots(window, folder: str, steps: int, samples: int, *, opened: bool = False,
                    timeout: float = _SCREENSHOT_TIMEOUT_SECONDS) -> list[str]:
    """Train `steps` batches in `window` (of the opened checkpoint's run when `opened`, else of
    a small run on the default data), export every view into `folder` and save the session as
    `folder/session.npz`. Returns the paths written.

    Raises TrainingProblem (after exporting the views that need no training) when the
    network cannot train, RuntimeError on a timeout.
    """
    os.makedirs(folder, exist_ok=True)
    if opened:
        _settle(window, wait_for=lambda: window.session is not None or bool(window.messages), seconds=timeout)
    if steps > 0:
        _train_steps(window, steps, samples, timeout, configure=not opened)
    if window.session is None:
        paths = window.export_views(folder)
        reason = window.messages[-1] if window.messages else "no run was built"
        raise TrainingProblem(f"screenshot: training could not run ({len(paths)} views written without it): {reason}")
    _settle(window)
    if len(window.session.eval_labels):
        _exercise_views(window)
    session_path = _save_session(window, os.path.join(folder, "session.npz"), timeout)
    return window.export_views(folder) + [session_path]


def _exercise_views(window) -> None:
    """A drawn square, the gradient check and the timings, so their views show answers."""
    draw = window.views["draw"]
    draw.canvas.stroke([(60, 60), (160, 60), (160, 160), (60, 160), (60, 60)])
    draw.request_prediction()
    window.views["gradcheck"].run_button.click()
    window.views["speed"].run_button.click()
    _settle(window, wait_for=lambda: bool(window.views["gradcheck"].results) and bool(window.views["speed"].results)
            and bool(draw.result.text()))
    window.controller.select_sample(0)        # the activations view shows a test image again
    _settle(window, wait_for=lambda: window.latest_pictures.sample.source == "eval")
    for view in window.views.values():        # the views that ask for their own answers
        done = view.exercise() if hasattr(view, "exercise") else None
        if done is not None:
            _settle(window, wait_for=done)


def _save_session(window, path: str, timeout: float) -> str:
    from PySide6 import QtWidgets

    saved, problems = len(window.saved_paths), len(window.messages)
    window.save_session(path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        QtWidgets.QApplication.processEvents()
        if len(window.saved_paths) > saved:
            return window.saved_paths[-1]
        if len(window.messages) > problems:
            break
        time.sleep(0.01)
    raise RuntimeError(f"screenshot: the session could not be saved to {path}"
                       + (f": {window.messages[-1]}" if window.messages else ""))


def _train_steps(window, steps: int, samples: int, timeout: float, *, configure: bool = True) -> None:
    """Press Step `steps` times, each once the previous step has reported (exactly N steps).
    `configure` sets a small run first (not for an opened checkpoint, which goes on as saved)."""
    from PySide6 import QtWidgets

    controls = window.controls
    if configure:
        controls.n_train.setValue(samples)
        controls.batch.setValue(32)
        controls.n_eval.setValue(max(20, samples // 4))
        batches_per_epoch = -(-int(samples * 0.9) // controls.batch.value())
        controls.epochs.setValue(max(1, -(-steps // batches_per_epoch)))
    deadline = time.monotonic() + timeout
    first = window.latest_step.step if window.latest_step is not None else 0
    requested = 0
    while time.monotonic() < deadline:
        QtWidgets.QApplication.processEvents()
        done = (window.latest_step.step if window.latest_step is not None else 0) - first
        if window.messages or done >= steps or controls.state in ("finished", "failed"):
            return
        if done == requested and controls.state in ("idle", "paused"):
            window.run_command("step")
            requested += 1
        time.sleep(0.002)
    raise RuntimeError(f"screenshot: {steps} steps did not finish within {timeout:.0f} s")


def _settle(window, wait_for=None, seconds: float = 60.0) -> None:
    """Let queued snapshots arrive (and `wait_for()` become true) before painting."""
    from PySide6 import QtWidgets

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        QtWidgets.QApplication.processEvents()
        if (wait_for is None or wait_for()) and window.latest_pictures is not None:
            break
        time.sleep(0.01)
    for _ in range(5):
        QtWidgets.QApplication.processEvents()
        time.sleep(0.02)


def _write_screenshots(window, write) -> int:
    """Run ``write()`` (which returns the paths it wrote), print them, close the window; one
    line and exit 1 when it cannot."""
    try:
        paths = write()
    except (RuntimeError, OSError) as error:
        print(f"cyconv-lab: {error}", file=sys.stderr)
        window.close()
        return 1
    window.close()
    print("\n".join(paths))
    return 0


def _lesson_screenshots(window, panel, args) -> int:
    from .lessons.shots import lesson_screenshots

    return _write_screenshots(window, lambda: lesson_screenshots(window, panel, args.screenshot, args.steps,
                                                                 args.samples))


def install_qt_translations(app, language: str):
    """Qt's own dialogs (file dialogs, message box buttons) in Korean when the lab is: the
    translations PySide6 ships. Returns the translator (kept by the app), or None."""
    if language != "ko":
        return None
    from PySide6 import QtCore

    translator = QtCore.QTranslator(app)
    folder = QtCore.QLibraryInfo.path(QtCore.QLibraryInfo.LibraryPath.TranslationsPath)
    if translator.load("qtbase_ko", folder):
        app.installTranslator(translator)
        return translator
    return None


def _preferences():
    from PySide6 import QtCore

    return QtCore.QSettings("cyconv", "lab")


def main(argv=None) -> int:
    args = parse_args(argv)
    problem = _no_display_message(args.screenshot is not None)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    app = _application(args.screenshot is not None)
    from .main_window import MainWindow

    # A screenshot run is a script's: it starts in English unless told, and changes no preference.
    preferences = None if args.screenshot is not None else _preferences()
    remembered = preferences.value("language", "en") if preferences is not None else "en"
    language = args.lang or str(remembered)
    if language not in i18n.LANGUAGES:
        language = "en"
    install_qt_translations(app, language)
    window = MainWindow(preset=args.preset, language=language, preferences=preferences)
    if language == "ko":
        window.set_language("ko")
    window.show()
    if args.checkpoint:
        window.open_checkpoint(args.checkpoint)
    panel = None
    if args.lesson is not None:
        from .lessons import open_lesson

        panel = open_lesson(window, args.lesson)
    if args.screenshot is None:
        return app.exec()
    if panel is not None:
        return _lesson_screenshots(window, panel, args)
    return _write_screenshots(window, lambda: run_screenshots(window, args.screenshot, args.steps, args.samples,
                                                              opened=bool(args.checkpoint)))
