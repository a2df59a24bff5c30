"""The training thread: a TrainingWorker (QObject) living in a QThread owns the model, the
optimizer, the Trainer and the data for the whole session (ARCHITECTURE.md section 4).

The GUI thread never calls into the model. It talks to the worker in two ways:

- the worker's own run controls (`RunControl`: pause, resume, stop; thread-safe flags the
  worker reads between two steps): the driver of the loop owns control, the Trainer only steps;
- a command queue for everything that reads or changes the model (pick a sample, predict a
  drawing, gradient check, save, the learning rate), drained by the worker between steps, while
  paused, or, when no run is going on, from its event loop (a queued `wake` signal).

The worker loops over `trainer.step()`: while paused it waits on the command queue, so the
paused worker still serves a "Step" or shows another sample.

Everything sent out is immutable: frozen dataclasses holding read-only copies.
"""
from __future__ import annotations

import queue
import threading
import time
import traceback
from types import MappingProxyType

import numpy as np
from PySide6 import QtCore

from cyconv import data, functional, gradcheck, introspect, io, reference
from cyconv.data import Normalization, dataset_identity
from cyconv.model import Sequential
from cyconv.train import Trainer, TrainingDiverged

from .i18n import tr
from .run_control import RunControl
from .settings import TrainingSettings
from .snapshots import Evaluation, Pictures, SampleView, SessionInfo, frozen, softmax

_PAUSED_POLL_SECONDS = 0.05
#: Commands that replace the session: during a run they wait until the run has ended.
_SESSION_COMMANDS = ("start", "reset", "load")
_VAL_FRACTION = 0.1
_GRADCHECK_ELEMENTS = 24           # sampled elements per parameter array (keeps big layers fast)
_GRADCHECK_BATCH = 2
_SPEED_BATCH = 8


def dataset_availability() -> dict[str, bool]:
    """name -> can it be loaded now, from `cyconv.data.available()` (offline, no download).

    The image folder is always offered: its location is chosen in the app.
    """
    rows = {row.name: row.location is not None for row in data.available()}
    rows["folder"] = True
    return rows


def load_data(settings: TrainingSettings, input_shape: tuple):
    """(train, val, eval) Datasets for the settings; the eval set is the test split.

    An image folder is read at the network's input size (C, H, W); the other datasets have
    a fixed shape that the window checked against the network already.
    """
    image_shape = tuple(input_shape) if settings.dataset == "folder" else None
    return data.load_train_test(settings.dataset, path=settings.folder, seed=settings.seed,
                                n_train=settings.n_train, n_test=settings.n_eval, val_fraction=_VAL_FRACTION,
                                download=False, image_shape=image_shape)


class TrainingWorker(QtCore.QObject):
    """Owns one session; see the module docstring for the protocol."""

    state_changed = QtCore.Signal(str)          # idle, loading, running, paused, finished, stopped, failed
    session_ready = QtCore.Signal(object)       # SessionInfo
    step_report = QtCore.Signal(object)         # cyconv.train.StepReport
    epoch_report = QtCore.Signal(object)        # cyconv.train.EpochReport
    pictures = QtCore.Signal(object)            # Pictures
    evaluation = QtCore.Signal(object)          # Evaluation
    prediction = QtCore.Signal(object)          # probabilities (K,) of a drawn image
    gradcheck_done = QtCore.Signal(object)      # [(layer, what, relative error)]
    speed_done = QtCore.Signal(object)          # [(layer, input shape, naive s, fast s, max diff)]
    problem = QtCore.Signal(str)                # a user-facing message (bad settings, divergence)
    failed = QtCore.Signal(str)                 # a traceback: a bug, not a setting
    finished = QtCore.Signal()                  # a run() call ended, however it ended
    saved = QtCore.Signal(str)
    loaded = QtCore.Signal(object)              # {"model_config", "extra"} of a loaded checkpoint

    def __init__(self):
        super().__init__()
        self.commands: queue.SimpleQueue = queue.SimpleQueue()
        self.trainer = None
        self.control = RunControl()
        self.model = None
        self.settings: TrainingSettings | None = None
        self.session: SessionInfo | None = None
        self._eval_set = None
        self._checkpoint = None
        self._sample = ("eval", 0)                # or ("drawn", array)
        self._last_pictures = 0.0
        self._last_eval = 0.0
        self._looping = False
        self._deferred: list[tuple] = []
        self._shutdown = threading.Event()

    # -- entry points (run in the worker thread) ---------------------------------------------
    @QtCore.Slot()
    def drain(self) -> None:
        """Serve every queued command (the event loop calls this when no run is going on)."""
        while not self._shutdown.is_set():
            try:
                command = self.commands.get_nowait()
            except queue.Empty:
                return
            self._execute(*command)

    def request_shutdown(self) -> None:
        """Thread-safe: end the run and refuse further commands (the window is closing)."""
        self._shutdown.set()
        self.control.stop()
        self.commands.put(("noop",))

    def _execute(self, name: str, *args) -> None:
        """Run one command. Inside a run, session commands wait for its end; a failing
        command is reported and, inside a run, the run goes on."""
        if self._looping and name in _SESSION_COMMANDS:
            self._deferred.append((name,) + args)
            return
        handler = getattr(self, f"_do_{name}")
        try:
            handler(*args)
        except Exception:                          # noqa: BLE001 - every failure reaches the window
            self.failed.emit(traceback.format_exc())
            if self._looping and self.trainer is not None:
                self._set_state("paused" if self.control.paused else "running")
            else:
                self._set_state("failed")

    # -- session ----------------------------------------------------------------------------
    def _set_state(self, state: str) -> None:
        self.state_changed.emit(state)

    def _do_noop(self) -> None:
        """Wakes a paused wait (resume/stop) without doing anything."""

    def _setup(self, network: dict, settings: TrainingSettings) -> bool:
        """Load the data, build the model and the Trainer. A setting that does not fit is a
        `problem` (a message), not a failure."""
        self._set_state("loading")
        self.trainer = self.model = self.session = None
        self.control.reset()
        try:
            train, val, eval_set = load_data(settings, network["input_shape"])
            model = Sequential.from_config(network, seed=settings.seed)
            trainer = self._make_trainer(model, train, val, settings)
        except (ValueError, TypeError, OSError) as error:
            self.problem.emit(str(error))
            self._set_state("idle")
            return False
        self.model, self.trainer, self.settings, self._eval_set = trainer.model, trainer, settings, eval_set
        self.session = SessionInfo(
            classes=tuple(train.classes), dataset=settings.dataset, model_config=trainer.model.config(),
            input_shape=tuple(trainer.model.input_shape), eval_images=frozen(eval_set.images),
            eval_labels=frozen(eval_set.labels), batches_per_epoch=trainer.batches_per_epoch,
            epochs=trainer.epochs, normalization=train.normalization,
            history=MappingProxyType({key: tuple(values) for key, values in trainer.history.items()}),
            global_step=trainer.global_step)
        self._sample = ("eval", 0)
        self.session_ready.emit(self.session)
        self._publish_pictures(force=True)
        self._publish_evaluation(force=True)
        return True

    def _make_trainer(self, model, train, val, settings):
        """A fresh Trainer, or one continuing the loaded checkpoint (same network and data)."""
        checkpoint, self._checkpoint = self._checkpoint, None
        if checkpoint is not None and checkpoint.model.config()["layers"] == model.config()["layers"]:
            if checkpoint.trainer_state and checkpoint.optimizer_state and checkpoint.training:
                return Trainer.from_checkpoint(checkpoint, train, val, epochs=settings.epochs)
            model.load_state_dict(checkpoint.model.state_dict())
        return Trainer(model, train, val, optimizer=settings.optimizer, lr=settings.lr,
                             momentum=settings.momentum, batch_size=settings.batch_size,
                             epochs=settings.epochs, seed=settings.seed)

    def _do_reset(self) -> None:
        self.trainer = self.model = self.session = self._eval_set = None
        self._set_state("idle")

    # -- training loop ----------------------------------------------------------------------
    def _do_start(self, network: dict, settings: TrainingSettings) -> None:
        self._run_session(network, settings, paused=False)

    def _do_step(self, network: dict | None = None, settings: TrainingSettings | None = None) -> None:
        """One batch. Without a session, build one first and stay paused after the step."""
        if self.trainer is None or self.control.stopped:
            if network is not None and not self._looping:
                self._run_session(network, settings, paused=True)
        elif not self.trainer.finished:
            self._one_step()

    def _run_session(self, network: dict, settings: TrainingSettings, *, paused: bool) -> None:
        """Set up and train (the run() of ARCHITECTURE section 4): every exception becomes
        `failed(traceback)`, and `finished` is always emitted, last."""
        self._looping = True
        try:
            if self._setup(network, settings):
                if paused:
                    self.control.pause()
                    self._one_step()
                self._train_loop()
        except Exception:                     # noqa: BLE001 - the window shows the traceback
            self.failed.emit(traceback.format_exc())
            self._set_state("failed")
        finally:
            self._looping = False
            self.finished.emit()
        deferred, self._deferred = self._deferred, []
        for command in deferred:
            self._execute(*command)

    def _one_step(self) -> None:
        try:
            reports = self.trainer.step()
        except TrainingDiverged as error:
            self.control.pause()               # the weights from before the step were kept
            self.problem.emit(str(error))
            return
        for report in reports:
            if hasattr(report, "batch"):
                self.step_report.emit(report)
            else:
                self.epoch_report.emit(report)
                self._publish_evaluation(force=True)
        self._publish_pictures(force=self.control.paused)
        if self.control.paused:
            self._publish_evaluation(force=True)

    def _train_loop(self) -> None:
        """Run()'s loop with a serving pause (see the module docstring)."""
        trainer, control = self.trainer, self.control
        state = None
        while not trainer.finished and not control.stopped and not self._shutdown.is_set():
            if control.paused:
                self._set_state("paused")
                state = "paused"
                self._serve_while_paused(trainer)
                continue
            if state != "running":
                self._set_state("running")
                state = "running"
            self._one_step()
            self._serve_pending()
        if self._shutdown.is_set():
            return
        self._publish_pictures(force=True)
        self._publish_evaluation(force=True)
        self._set_state("finished" if trainer.finished else "stopped")

    def _serve_pending(self) -> None:
        """Commands that arrived during the last step (never blocks)."""
        while True:
            try:
                command = self.commands.get_nowait()
            except queue.Empty:
                return
            self._execute(*command)

    def _serve_while_paused(self, trainer) -> None:
        """Wait for commands until resumed or stopped; "step" runs one batch."""
        control = self.control
        while control.paused and not control.stopped and not self._shutdown.is_set():
            try:
                command = self.commands.get(timeout=_PAUSED_POLL_SECONDS)
            except queue.Empty:
                continue
            self._execute(*command)
            if trainer.finished:
                return

    # -- pictures ----------------------------------------------------------------------------
    def _sample_view(self) -> SampleView | None:
        source, value = self._sample
        if source == "eval":
            if self._eval_set is None or not 0 <= value < len(self._eval_set):
                return None
            image, label, index = self._eval_set.images[value], int(self._eval_set.labels[value]), value
        else:
            image, label, index = value, None, None
        outputs = introspect.activations(self.model, image)
        return SampleView(source=source, index=index, label=label, image=frozen(image), outputs=tuple(outputs),
                          probabilities=frozen(softmax(outputs[-1][2])))

    def _publish_pictures(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.model is None or (not force and now - self._last_pictures < self.settings.picture_interval):
            return
        self._last_pictures = now
        step = self.trainer.global_step if self.trainer else 0
        self.pictures.emit(Pictures(step=step, convs=tuple(introspect.conv_layers(self.model)),
                                    sample=self._sample_view()))

    def _publish_evaluation(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.trainer is None or (not force and now - self._last_eval < self.settings.eval_interval):
            return
        self._last_eval = now
        report = self.trainer.evaluate(self._eval_set)
        confidences = report.probabilities[np.arange(report.predictions.size), report.predictions]
        self.evaluation.emit(Evaluation(step=self.trainer.global_step, loss=float(report.loss),
                                        accuracy=float(report.accuracy), confusion=frozen(report.confusion),
                                        predictions=frozen(report.predictions), confidences=frozen(confidences)))

    def _do_sample(self, index: int) -> None:
        self._sample = ("eval", int(index))
        self._publish_pictures(force=True)

    def _do_predict(self, image: np.ndarray) -> None:
        """Run a drawn/loaded image (C, H, W) in [0, 1], normalized like the training data."""
        if self.model is None:
            return
        image = np.asarray(image, dtype=np.float32)
        normalization = self.session.normalization if self.session else None
        if normalization is not None:
            mean, std = (np.asarray(v, dtype=np.float32)[:, None, None] for v in normalization)
            image = (image - mean) / std
        self._sample = ("drawn", frozen(image))
        self._publish_pictures(force=True)
        logits = introspect.activations(self.model, image)[-1][2]
        self.prediction.emit(frozen(softmax(logits)))

    def _do_gradcheck(self) -> None:
        """cyconv.gradcheck.check_network on two test images: every layer alone at its real
        input, in float64 copies, under an upstream gradient that does not vanish."""
        if self.model is None or self._eval_set is None:
            self.problem.emit(tr("gc.no_model"))
            return
        rows = gradcheck.check_network(self.model, self._eval_set.images[:_GRADCHECK_BATCH],
                                       self._eval_set.labels[:_GRADCHECK_BATCH],
                                       max_elements=_GRADCHECK_ELEMENTS, rng=np.random.default_rng(0))
        self.gradcheck_done.emit(tuple((row.layer, row.what, row.relative_error) for row in rows))

    def _do_speed(self) -> None:
        """Time reference.conv2d_forward (NumPy loops) against functional.conv2d_forward
        (Cython) on every conv layer's real input for a few test images."""
        if self.model is None or self._eval_set is None:
            self.problem.emit(tr("gc.no_model"))
            return
        x = self._eval_set.images[:_SPEED_BATCH]
        inputs = [x] + [output for _, output in self.model.forward_trace(x)]
        names = [name for name, _ in self.model.named_layers()]
        rows = []
        for conv in introspect.conv_layers(self.model):
            layer_input = np.ascontiguousarray(inputs[names.index(conv.name)], dtype=conv.weights.dtype)
            naive_seconds, expected = _best_time(lambda: reference.conv2d_forward(
                layer_input, conv.weights, conv.bias, conv.stride, conv.padding, conv.padding_mode), repeats=1)
            fast_seconds, (fast, _) = _best_time(lambda: functional.conv2d_forward(
                layer_input, conv.weights, conv.bias, stride=conv.stride, padding=conv.padding,
                padding_mode=conv.padding_mode), repeats=3)
            rows.append((conv.name, layer_input.shape, naive_seconds, fast_seconds,
                         float(np.max(np.abs(fast - expected)))))
        if not rows:
            self.problem.emit(tr("speed.no_conv"))
            return
        self.speed_done.emit(tuple(rows))

    # -- files --------------------------------------------------------------------------------
    def _do_lr(self, lr: float) -> None:
        """The learning rate from the next step on (the controls checked it already)."""
        if self.trainer is not None:
            self.trainer.base_lr = lr

    def _do_save(self, path: str, extra: dict) -> None:
        """Write the one checkpoint contract: the normalisation and the dataset identity as
        their own blocks, the window's own state (settings, language) in extra."""
        if self.trainer is None:
            self.problem.emit(tr("io.no_model"))
            return
        extra = {key: value for key, value in extra.items() if key != "normalization"}
        normalization = self.session.normalization if self.session else None
        self.trainer.save(path, normalization=None if normalization is None else Normalization(*normalization),
                          dataset=self._dataset_identity(), extra=extra)
        self.saved.emit(path)

    def _dataset_identity(self) -> dict | None:
        trainer, settings = self.trainer, self.settings
        if settings is None or self._eval_set is None:
            return None
        val_size = len(trainer.val) if trainer.val is not None else 0
        return dataset_identity(settings.dataset, path=settings.folder,
                                n_train=len(trainer.train) + val_size, n_test=len(self._eval_set),
                                val_fraction=_VAL_FRACTION, seed=settings.seed,
                                classes=trainer.train.classes, image_shape=trainer.train.image_shape)

    def _do_load(self, path: str) -> None:
        try:
            checkpoint = io.load(path)
        except (ValueError, OSError) as error:
            self.problem.emit(str(error))
            return
        self._checkpoint = checkpoint
        self.trainer = self.model = self.session = None
        self.loaded.emit({"model_config": checkpoint.model.config(), "extra": checkpoint.extra or {}})
        self._set_state("idle")


def _best_time(call, repeats: int):
    """(fastest wall time of `repeats` calls, the last result)."""
    best, result = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        result = call()
        best = min(best, time.perf_counter() - started)
    return best, result


class TrainingController(QtCore.QObject):
    """The GUI thread's handle on the worker: owns the QThread, forwards controls.

    Every method returns at once; results arrive as the worker's signals (re-exported here).
    """

    _wake = QtCore.Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.thread = QtCore.QThread()
        self.thread.setObjectName("cyconv-training")
        self.worker = TrainingWorker()
        self.worker.moveToThread(self.thread)
        self._wake.connect(self.worker.drain)          # queued: the worker lives in the thread
        self.thread.start()
        self.state = "idle"
        self.worker.state_changed.connect(self._remember_state)

    def _remember_state(self, state: str) -> None:
        self.state = state

    def _send(self, *command) -> None:
        self.worker.commands.put(command)
        self._wake.emit()

    # -- controls --------------------------------------------------------------------------
    def start(self, network: dict, settings: TrainingSettings) -> None:
        self.state = "loading"
        self._send("start", network, settings)

    def step(self, network: dict, settings: TrainingSettings) -> None:
        """One batch; builds the session first when there is none."""
        self._send("step", network, settings)

    def pause(self) -> None:
        if self.worker.trainer is not None:
            self.worker.control.pause()

    def resume(self) -> None:
        if self.worker.trainer is not None:
            self.worker.control.resume()
            self._send("noop")

    def stop(self) -> None:
        if self.worker.trainer is not None:
            self.worker.control.stop()
            self._send("noop")

    def reset(self) -> None:
        self.stop()
        self._send("reset")

    def set_lr(self, lr: float) -> None:
        """The worker sets it between two steps (the controls checked it already)."""
        self._send("lr", lr)

    def select_sample(self, index: int) -> None:
        self._send("sample", index)

    def predict(self, image: np.ndarray) -> None:
        self._send("predict", frozen(image))

    def gradcheck(self) -> None:
        self._send("gradcheck")

    def speed(self) -> None:
        self._send("speed")

    def save(self, path: str, extra: dict) -> None:
        self._send("save", path, extra)

    def load(self, path: str) -> None:
        self._send("load", path)

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Stop the run, end the thread and wait for it (closeEvent). True if it ended."""
        self.worker.request_shutdown()
        self.thread.quit()
        return self.thread.wait(timeout_ms)
