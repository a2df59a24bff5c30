"""The Qt adapter around the lab's session: one worker thread, one command queue, signals that
carry read-only snapshots.

- `SessionWorker` (a QObject moved into a QThread) owns the `cyconv.lab.LabSession`. Only
  that thread ever calls the session, so nothing the session owns is shared.
- `SessionController` lives in the GUI thread. Each of its methods puts a command on the
  queue and wakes the worker with a queued signal; it returns at once, and the answers come
  back as the worker's signals, which Qt delivers in the GUI thread to the window's methods
  (never to a lambda: a lambda has no thread, so Qt would run it in the worker's).
- While the session runs, the worker trains one batch, then serves every queued command
  (pause, a new learning rate, a sample to show, save ...), then trains the next: control
  takes effect between steps. While it does not run, the worker returns to its event loop
  and sleeps until the next command.
- Every exception a command raises is reported: a user's mistake (LabError, ValueError,
  OSError) as `problem(message)`, anything else as `failed(traceback)`; `idle` follows each
  burst of work, however it ended.
- Step reports reach the window in batches (`step_reports`, a tuple, at most every
  REPORT_INTERVAL_S while training runs, and whatever is left before an epoch report and when
  a command or a burst of training ends): one report per step woke the GUI thread hundreds of
  times a second, and every wake-up took the GIL from training. `step_report` still carries
  each step as it ends, in the worker's thread, for a direct connection (a clock, a test).
"""
from __future__ import annotations

import queue
import sys
import threading
import time
import traceback

from PySide6 import QtCore

from cyconv._arrays import read_only
from cyconv.lab import LabSession, TrainingSettings, learn, operations
from cyconv.lab.i18n import tr

#: Commands the window waits on (its buttons are disabled until the worker answers with a state).
_CONTROL_COMMANDS = ("start", "step", "pause", "resume", "stop", "reset", "load")
#: The session's states as the window's controls know them.
_CONTROL_STATE = {"empty": "idle", "paused": "paused", "running": "running", "finished": "finished",
                  "stopped": "stopped"}


class SessionWorker(QtCore.QObject):
    """Runs the commands of the queue on its session, in its own thread (see the module docstring)."""

    state_changed = QtCore.Signal(str)          # idle, loading, running, paused, finished, stopped
    session_ready = QtCore.Signal(object)       # SessionInfo of a run built or opened
    step_report = QtCore.Signal(object)         # cyconv.train.StepReport, each as it ends (worker thread)
    step_reports = QtCore.Signal(object)        # a tuple of StepReports: the window's batches
    epoch_report = QtCore.Signal(object)        # cyconv.train.EpochReport
    pictures = QtCore.Signal(object)            # Pictures
    evaluation = QtCore.Signal(object)          # Evaluation on the live test subset
    final_evaluation = QtCore.Signal(object)    # Evaluation on the whole test split, once a run ends
    prediction = QtCore.Signal(object)          # probabilities (K,) of a drawn image
    gradcheck_done = QtCore.Signal(object)      # tuple of cyconv.gradcheck.GradcheckRow
    speed_done = QtCore.Signal(object)          # [(layer, input shape, naive s, fast s, max diff)]
    notice = QtCore.Signal(str)                 # a status line that is not a problem
    problem = QtCore.Signal(str)                # a user-facing message (bad settings, divergence)
    failed = QtCore.Signal(str)                 # a traceback: a bug, not a setting
    idle = QtCore.Signal()                      # the queue is served and no run is going on
    saved = QtCore.Signal(str)
    answered = QtCore.Signal(str, object)       # (tag, answer) of an operation a view asked for
    ask_failed = QtCore.Signal(str, str)        # (tag, message): that operation could not answer

    def __init__(self, session: LabSession | None = None):
        super().__init__()
        self.session = session if session is not None else LabSession()
        self.commands: queue.SimpleQueue = queue.SimpleQueue()
        self._shutdown = threading.Event()
        self._announced = "idle"                     # the last state the window was told
        self._unsent: list = []                      # step reports not yet in a batch
        self._sent_at = 0.0

    def _announce(self, state: str) -> None:
        self._announced = state
        self.state_changed.emit(state)

    # -- the loop (worker thread) ---------------------------------------------------------------
    @QtCore.Slot()
    def drain(self) -> None:
        """Serve the queue; while the session runs, train and serve between steps."""
        worked = False
        while not self._shutdown.is_set():
            worked |= self._serve_queued()
            if self._shutdown.is_set() or self.session.state != "running":
                break
            self._execute("advance")
            worked = True
        self._send_steps()
        if worked and not self._shutdown.is_set():
            self.idle.emit()

    def _serve_queued(self) -> bool:
        served = False
        while not self._shutdown.is_set():
            try:
                command = self.commands.get_nowait()
            except queue.Empty:
                break
            self._execute(*command)
            served = True
        return served

    def request_shutdown(self) -> None:
        """Thread-safe: stop after the current step and refuse further commands."""
        self._shutdown.set()

    def _execute(self, name: str, *args) -> None:
        try:
            getattr(self, f"_do_{name}")(*args)
        except (ValueError, TypeError, OSError) as error:   # LabError, DataError, CheckpointError too
            self.problem.emit(str(error))
        except Exception:                                   # noqa: BLE001 - every failure reaches the window
            self.session.pause()                            # a bug: the student reads it before anything goes on
            self.failed.emit(traceback.format_exc())
        if name != "advance" or self.session.state != "running":
            self._send_steps()                              # the window sees every step before the answer
        state = _CONTROL_STATE[self.session.state]
        if state != self._announced or name in _CONTROL_COMMANDS:
            self._announce(state)           # a control command always gets its answer

    # -- commands -------------------------------------------------------------------------------
    def _publish_run(self, info) -> None:
        self.session_ready.emit(info)
        self._emit_pictures(self.session.pictures_if_due(force=True))
        self._emit_evaluation(self.session.evaluation_if_due(force=True))
        if self.session.final is not None:
            self.final_evaluation.emit(self.session.final)

    def _add_step(self, report) -> None:
        self.step_report.emit(report)
        self._unsent.append(report)
        if time.monotonic() - self._sent_at >= REPORT_INTERVAL_S:
            self._send_steps()

    def _send_steps(self) -> None:
        """The step reports not yet sent, as one batch."""
        self._sent_at = time.monotonic()
        if self._unsent:
            batch, self._unsent = tuple(self._unsent), []
            self.step_reports.emit(batch)

    def _emit_pictures(self, pictures) -> None:
        if pictures is not None:
            self.pictures.emit(pictures)

    def _emit_evaluation(self, evaluation) -> None:
        if evaluation is not None:
            self.evaluation.emit(evaluation)

    def _do_start(self, network: dict, settings: TrainingSettings) -> None:
        if not self.session.continues(network, settings):
            self._announce("loading")
        resumed_from = self.session.info.resumed_from if self.session.info else None
        info = self.session.start(network, settings)
        if info is not None:
            self._publish_run(info)
        elif resumed_from and self.session.step_count > 0:
            self.notice.emit(tr("io.resumed", path=resumed_from, step=self.session.step_count))

    def _do_step(self, network: dict, settings: TrainingSettings) -> None:
        """One batch: of the run that is here, or of a new one built first (then paused)."""
        if self.session.state == "running":
            return
        if self.session.state in ("empty", "stopped") or not self.session.continues(network, settings):
            self._announce("loading")
            self._publish_run(self.session.build(network, settings))
        elif self.session.finished:
            self.session.start(network, settings)      # more epochs extend it; else LabError says so
            self.session.pause()
        self._do_advance()

    def _do_advance(self) -> None:
        update = self.session.advance()
        for report in update.reports:
            if hasattr(report, "batch"):
                self._add_step(report)
            else:
                self._send_steps()                   # the epoch's steps before its report
                self.epoch_report.emit(report)
        self._emit_pictures(update.pictures)
        self._emit_evaluation(update.evaluation)
        if update.final is not None:
            self.final_evaluation.emit(update.final)

    def _do_pause(self) -> None:
        self.session.pause()
        self._emit_pictures(self.session.pictures_if_due(force=True))
        self._emit_evaluation(self.session.evaluation_if_due(force=True))

    def _do_resume(self) -> None:
        self.session.resume()

    def _do_stop(self) -> None:
        final = self.session.stop()
        self._emit_pictures(self.session.pictures_if_due(force=True))
        if final is not None:
            self.final_evaluation.emit(final)

    def _do_reset(self) -> None:
        self.session.reset()

    def _do_set_lr(self, lr: float) -> None:
        self.session.set_lr(lr)

    def _do_sample(self, index: int) -> None:
        self._emit_pictures(self.session.select_sample(index))

    def _do_predict(self, image) -> None:
        pictures, probabilities = self.session.predict(image)
        self._emit_pictures(pictures)
        self.prediction.emit(probabilities)

    def _do_gradcheck(self) -> None:
        self.gradcheck_done.emit(self.session.gradient_check())

    def _do_speed(self) -> None:
        self.speed_done.emit(self.session.conv_timings())

    def _do_ask(self, tag: str, name: str, *args) -> None:
        """A view's question (cyconv.lab.operations): the answer goes back under its tag."""
        try:
            answer = operations.run(name, self.session, *args)
        except (ValueError, TypeError, OSError) as error:
            self.ask_failed.emit(tag, str(error))
            return
        except Exception as error:                      # noqa: BLE001 - the view says it failed, then _execute reports
            self.ask_failed.emit(tag, f"{type(error).__name__}: {error}")
            raise
        self.answered.emit(tag, answer)

    def _do_save(self, path: str, extra: dict) -> None:
        self.saved.emit(self.session.save(path, extra=extra))

    def _do_load(self, path: str) -> None:
        self._announce("loading")
        info = self.session.load(path)
        self._publish_run(info)
        self.notice.emit(_loaded_text(info, path))
        if self.session.data_problem:
            self.problem.emit(self.session.data_problem)


def _loaded_text(info, path: str) -> str:
    final = info.final
    accuracy = tr("io.loaded_accuracy", accuracy=final.accuracy, n=final.n) if final is not None else ""
    if info.global_step >= info.total_steps:
        return tr("io.loaded_done", path=path, epochs=info.epochs, accuracy=accuracy)
    return tr("io.loaded", path=path, step=info.global_step, total=info.total_steps, accuracy=accuracy)


SWITCH_INTERVAL_S = 0.0005
#: The most time between two batches of step reports while training runs (the window repaints
#: at 30 Hz, its curves at 2 Hz: a batch per frame loses nothing).
REPORT_INTERVAL_S = 1 / 30


class SessionController(QtCore.QObject):
    """The GUI thread's handle on the worker: owns the QThread and forwards commands.

    Every method returns at once; the answers arrive as the worker's signals.
    """

    _wake = QtCore.Signal()

    def __init__(self, parent=None, session: LabSession | None = None):
        super().__init__(parent)
        self.thread = QtCore.QThread()
        self.thread.setObjectName("cyconv-session")
        self.worker = SessionWorker(session)
        # The time machine and the doctor watch every run: their recorder joins the session
        # here, before the worker's thread starts, so no other thread ever touches the session.
        learn.install(self.worker.session)
        self.worker.moveToThread(self.thread)
        self._wake.connect(self.worker.drain)          # queued: the worker lives in the thread
        # Python hands the GIL to a waiting thread only after the holder has run this long.
        # The worker needs it for a moment between kernels, the GUI thread holds it while it
        # paints: at the default 5 ms a training step waited on every repaint.
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_S))
        self.thread.start()

    def _send(self, *command) -> None:
        self.worker.commands.put(command)
        self._wake.emit()

    def start(self, network: dict, settings: TrainingSettings) -> None:
        self._send("start", network, settings)

    def step(self, network: dict, settings: TrainingSettings) -> None:
        """One batch; builds the run first when there is none that fits."""
        self._send("step", network, settings)

    def pause(self) -> None:
        self._send("pause")

    def resume(self) -> None:
        self._send("resume")

    def stop(self) -> None:
        self._send("stop")

    def reset(self) -> None:
        self._send("reset")

    def set_lr(self, lr: float) -> None:
        self._send("set_lr", lr)

    def select_sample(self, index: int) -> None:
        self._send("sample", int(index))

    def predict(self, image) -> None:
        self._send("predict", read_only(image))

    def gradcheck(self) -> None:
        self._send("gradcheck")

    def speed(self) -> None:
        self._send("speed")

    def ask(self, tag: str, name: str, *args) -> None:
        """Ask operation ``name`` (cyconv.lab.operations) with ``args``; the answer arrives as
        ``worker.answered(tag, answer)`` (or ``ask_failed(tag, message)``)."""
        self._send("ask", tag, name, *args)

    def save(self, path: str, extra: dict | None = None) -> None:
        self._send("save", str(path), dict(extra or {}))

    def load(self, path: str) -> None:
        self._send("load", str(path))

    def shutdown(self) -> None:
        """Stop after the current step, end the thread and wait for it, however long the step
        takes (a QThread destroyed while it runs aborts the process)."""
        self.worker.request_shutdown()
        self.thread.quit()
        self.thread.wait()
