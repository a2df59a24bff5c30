"""Pause and stop for the app's training run: the worker that drives the loop owns them (the
Trainer only steps), so the window's buttons set these flags and the worker reads them."""
import threading


class RunControl:
    """Pause and stop requests for the run in progress: set from any thread, read by the
    worker between two steps."""

    def __init__(self):
        self._pause = threading.Event()
        self._stop = threading.Event()

    @property
    def paused(self) -> bool:
        return self._pause.is_set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def pause(self) -> None:
        self._pause.set()

    def resume(self) -> None:
        self._pause.clear()

    def stop(self) -> None:
        self._stop.set()

    def reset(self) -> None:
        self._pause.clear()
        self._stop.clear()
