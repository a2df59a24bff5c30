"""The lab's window: model editor and training controls on the left, the views in tabs.

Slots that receive the worker's snapshots only store them; a ~30 Hz timer draws the tab that
is visible (ARCHITECTURE.md section 4: the GUI coalesces).
"""
from __future__ import annotations

import os
import time

from PySide6 import QtCore, QtGui, QtWidgets

from cyconv.lab import DATASET_SHAPES, TrainingSettings, dataset_availability, i18n
from cyconv.lab.i18n import tr
from .stats import RateMeter, eta_seconds, format_duration
from .fonts import cjk_family
from .tabs import TAB_SPECS, TABS
from .widgets.controls import TrainingControls
from .widgets.model_editor import ModelEditor
from .worker import SessionController

REPAINT_INTERVAL_MS = 33
#: The progress bar and its labels change a little with every step; redrawn at most this often.
#: QProgressBar.setValue repaints at once (not on the next frame) and the bar is not opaque,
#: so at the timer's 30 Hz it repainted the controls behind it too, holding the GIL the
#: training thread needs.
PROGRESS_INTERVAL_S = 0.25


class MainWindow(QtWidgets.QMainWindow):
    """`run_finished` is emitted in the GUI thread each time the worker has served its queue and
    no run is going on (tests and the screenshot mode wait on it)."""

    run_finished = QtCore.Signal()

    def __init__(self, *, preset: str = "mnist_cnn", language: str = "en", preferences=None):
        """``preferences``: a QSettings where the language choice is remembered (None: not kept)."""
        super().__init__()
        self.preferences = preferences
        i18n.set_language(language)
        self.controller = SessionController(self)
        self.editor, self.controls = ModelEditor(), TrainingControls()
        self.views = {spec.key: spec.view() for spec in TAB_SPECS}
        self._answers: dict = {}                 # tag -> (on_answer, on_error) of the views' questions
        self.tabs = QtWidgets.QTabWidget()
        for key in TABS:
            self.tabs.addTab(self.views[key], "")
        self.session = None
        self.latest_pictures = None
        self.latest_evaluation = None
        self.latest_step = None
        self.final_evaluation = None
        self._status: tuple | None = None          # (key, fields, error) of the status line, re-translated
        self.messages: list[str] = []            # problems shown to the user, oldest first
        self.notices: list[str] = []             # status lines that were not problems
        self.saved_paths: list[str] = []         # checkpoints the session wrote, in order
        self.message_box: QtWidgets.QMessageBox | None = None
        self.rate = RateMeter()
        self._dirty: set[str] = set()
        self._progress_drawn_at = -PROGRESS_INTERVAL_S
        self._build_layout()
        self._build_menus()
        self._connect()
        self.controls.set_datasets(dataset_availability())
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(REPAINT_INTERVAL_MS)
        self.timer.timeout.connect(self.repaint_views)
        self.timer.start()
        self.retranslate()
        self.editor.load_preset(preset)
        self.resize(1400, 900)

    # -- construction -------------------------------------------------------------------------
    def _build_layout(self) -> None:
        self.model_group, self.train_group = QtWidgets.QGroupBox(), QtWidgets.QGroupBox()
        QtWidgets.QVBoxLayout(self.model_group).addWidget(self.editor)
        QtWidgets.QVBoxLayout(self.train_group).addWidget(self.controls)
        left = QtWidgets.QWidget()
        left_layout = QtWidgets.QVBoxLayout(left)
        left_layout.addWidget(self.model_group, 3)
        left_layout.addWidget(self.train_group, 2)
        splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([560, 840])
        self.setCentralWidget(splitter)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        self.file_menu, self.language_menu = bar.addMenu(""), bar.addMenu("")
        self.actions = {key: QtGui.QAction(self) for key in ("save_model", "load_model", "export_png", "quit")}
        for key in ("save_model", "load_model", "export_png"):
            self.file_menu.addAction(self.actions[key])
        self.file_menu.addSeparator()
        self.file_menu.addAction(self.actions["quit"])
        self.actions["save_model"].triggered.connect(self._save_dialog)
        self.actions["load_model"].triggered.connect(self._load_dialog)
        self.actions["export_png"].triggered.connect(self._export_dialog)
        self.actions["quit"].triggered.connect(self.close)
        group = QtGui.QActionGroup(self)
        for code, name in i18n.LANGUAGES.items():
            action = QtGui.QAction(name, self, checkable=True)
            action.setChecked(code == i18n.language())
            action.triggered.connect(lambda _=False, c=code: self.set_language(c))
            group.addAction(action)
            self.language_menu.addAction(action)

    def _connect(self) -> None:
        worker = self.controller.worker
        self.editor.changed.connect(self._network_edited)
        self.editor.preset_chosen.connect(self._preset_chosen)
        self.controls.command.connect(self.run_command)
        self.controls.lr_changed.connect(self.controller.set_lr)
        self.controls.dataset_changed.connect(self._dataset_chosen)
        self.tabs.currentChanged.connect(lambda _: self.repaint_views())
        self.views["activations"].sample_requested.connect(self.controller.select_sample)
        self.views["predictions"].sample_selected.connect(self._show_sample)
        self.views["gradcheck"].requested.connect(self.controller.gradcheck)
        self.views["speed"].requested.connect(self.controller.speed)
        self.views["draw"].predict_requested.connect(self.controller.predict)
        worker.state_changed.connect(self._state_changed)
        worker.session_ready.connect(self._session_ready)
        worker.step_reports.connect(self._step_reports)
        worker.epoch_report.connect(self._epoch_report)
        worker.pictures.connect(self._store_pictures)
        worker.evaluation.connect(self._store_evaluation)
        worker.prediction.connect(self.views["draw"].show_prediction)
        worker.gradcheck_done.connect(self.views["gradcheck"].show_results)
        worker.speed_done.connect(self.views["speed"].show_results)
        worker.problem.connect(self.show_problem)
        worker.failed.connect(self._failed)
        worker.final_evaluation.connect(self._final_evaluation)
        worker.notice.connect(self._notice)
        worker.saved.connect(self._saved)
        worker.idle.connect(self._worker_idle)
        worker.answered.connect(self._answered)
        worker.ask_failed.connect(self._ask_failed)
        for view in self.views.values():
            if hasattr(view, "attach"):
                view.attach(self)

    # -- the views' own questions (cyconv.lab.operations) ---------------------------------------
    def listen(self, tag: str, on_answer, on_error=None) -> None:
        """Deliver the answers asked under ``tag`` to ``on_answer`` (and failures to ``on_error``),
        in the GUI thread: the worker's signals arrive here, at a method of the window."""
        self._answers[tag] = (on_answer, on_error)

    def _answered(self, tag: str, answer) -> None:
        on_answer, _ = self._answers.get(tag, (None, None))
        if on_answer is not None:
            on_answer(answer)

    def _ask_failed(self, tag: str, message: str) -> None:
        _, on_error = self._answers.get(tag, (None, None))
        if on_error is not None:
            on_error(message)
        else:
            self.show_problem(message)

    # -- language -------------------------------------------------------------------------------
    def set_language(self, code: str) -> None:
        """Switch every text on screen, and remember the choice for the next start."""
        i18n.set_language(code)
        if self.preferences is not None:
            self.preferences.setValue("language", code)
        family = cjk_family() if code == "ko" else None
        font = QtWidgets.QApplication.font()
        if family:
            font.setFamily(family)
            QtWidgets.QApplication.setFont(font)
        self.retranslate()

    def retranslate(self) -> None:
        self.setWindowTitle(tr("app.title"))
        self.model_group.setTitle(tr("model.group"))
        self.train_group.setTitle(tr("train.group"))
        self.file_menu.setTitle(tr("menu.file"))
        self.language_menu.setTitle(tr("menu.language"))
        for key, action in self.actions.items():
            action.setText(tr(f"action.{key}"))
        for index, key in enumerate(TABS):
            self.tabs.setTabText(index, tr(f"tab.{key}"))
        for index, spec in enumerate(TAB_SPECS):
            self.tabs.setTabToolTip(index, tr(spec.tip) if spec.tip else "")
        self.editor.retranslate()
        self.controls.retranslate()
        for view in self.views.values():
            view.retranslate()
        self._show_status_again()
        self._paint_progress()

    # -- commands --------------------------------------------------------------------------------
    def _network_edited(self, summary) -> None:
        self.views["shapes"].show_summary(summary)
        self._clear_checks()

    def _clear_checks(self) -> None:
        """The gradient check's and the timing's rows belonged to the network that was there."""
        self.views["gradcheck"].clear()
        self.views["speed"].clear()

    def _preset_chosen(self, name: str) -> None:
        """Offer data that fits the preset: cifar_small switches to 3x32x32 images, etc."""
        shape = tuple(self.editor.summary.input_shape)
        current = self.controls.dataset.currentData()
        if DATASET_SHAPES.get(current) == shape:
            return
        for candidate, candidate_shape in DATASET_SHAPES.items():
            if candidate_shape == shape and self.controls.availability.get(candidate):
                self.controls.select_dataset(candidate)
                return

    def _dataset_chosen(self, name: str) -> None:
        """A dataset with a fixed image shape sets the network's input to it (the rest follows)."""
        if name in DATASET_SHAPES and self.controls.state in ("idle", "finished", "stopped", "failed"):
            self.editor.set_input_shape(DATASET_SHAPES[name])

    def _checked_request(self) -> tuple[dict, TrainingSettings] | None:
        """The network and settings, or None after showing what is wrong."""
        try:
            settings = self.controls.settings()
        except ValueError as error:
            self.show_problem(str(error))
            return None
        try:
            network = self.editor.network()
        except ValueError as error:
            self.show_problem(tr("bad.model", reason=str(error)))
            return None
        expected = DATASET_SHAPES.get(settings.dataset)
        if expected is not None and tuple(network["input_shape"]) != expected:
            self.show_problem(tr("bad.data_shape", data=expected, model=tuple(network["input_shape"])))
            return None
        output = self.editor.summary.output_shape
        if settings.dataset in DATASET_SHAPES and output != (10,):
            self.show_problem(tr("bad.classes", data=10, model=output[0] if output and len(output) == 1 else output))
            return None
        return network, settings

    def run_command(self, name: str) -> None:
        """A training button: start, pause, resume, step, stop or reset."""
        if self._status is not None and self._status[2]:
            self._set_status(None)      # the user acted on the problem shown
        if name in ("start", "step"):
            request = self._checked_request()
            if request is None:
                return
            getattr(self.controller, name)(*request)
            self.controls.set_state("loading")     # busy until the worker says what it did
        elif name == "reset":
            self.controller.reset()
            self.session = None
            self._clear_views()
            self._clear_checks()
        else:
            getattr(self.controller, name)()

    def _clear_views(self) -> None:
        self.views["curves"].clear()
        self.views["filters"].show_filters(())
        self.views["activations"].clear()
        self.views["predictions"].clear()
        self.latest_pictures = self.latest_evaluation = self.latest_step = self.final_evaluation = None
        self.rate.reset()
        self.controls.progress.setValue(0)
        self.controls.progress_label.setText("")
        self.controls.metrics_label.setText("")
        self._set_status(None)

    def _show_sample(self, index: int) -> None:
        self.views["activations"].select(index)
        self.tabs.setCurrentIndex(TABS.index("activations"))

    # -- worker signals: store only ------------------------------------------------------------
    def _state_text(self, state: str) -> str:
        return tr({"idle": "train.idle", "loading": "train.loading", "running": "train.running",
                   "paused": "train.paused", "finished": "train.done", "stopped": "train.stopped",
                   "failed": "train.idle"}[state])

    def _state_changed(self, state: str) -> None:
        self.controls.set_state(state)
        self.editor.setEnabled(state in ("idle", "finished", "stopped", "failed"))
        if state == "finished" and self.final_evaluation is not None:
            return                      # the final accuracy stays on the status line
        if self._status is not None and self._status[2]:
            return                      # a problem stays on the status line until the next command
        self._set_status(("state", {"state": state}, False))

    def _worker_idle(self) -> None:
        self.run_finished.emit()

    # -- the status line: kept as (key, fields) so that a language switch re-translates it ----
    def _set_status(self, status: tuple | None) -> None:
        self._status = status
        self._show_status_again()

    def _show_status_again(self) -> None:
        if self._status is None:
            self.controls.show_status("")
            return
        key, fields, error = self._status
        if key == "state":
            text = self._state_text(fields["state"])
        elif key == "text":
            text = fields["text"]
        else:
            text = tr(key, **fields)
        self.controls.show_status(text, error=error)

    def _notice(self, text: str) -> None:
        self.notices.append(text)
        self._set_status(("text", {"text": text}, False))

    def _final_evaluation(self, evaluation) -> None:
        """The whole test split at the end of a run: on the status line, in the predictions view's title."""
        self.final_evaluation = evaluation
        self._set_status(("train.final", {"accuracy": evaluation.accuracy, "n": evaluation.n,
                                          "loss": evaluation.loss}, False))

    def _saved(self, path: str) -> None:
        self.saved_paths.append(path)
        self.statusBar().showMessage(tr("dialog.saved", path=path), 5000)

    def _session_ready(self, session) -> None:
        """A run was built or opened: the views start over with it."""
        self._clear_views()
        self._clear_checks()
        self.session = session
        if session.resumed_from:
            self.editor.set_network(session.model_config["input_shape"], session.model_config["layers"])
            self.controls.apply_settings(session.settings)
        self.final_evaluation = session.final
        self.views["activations"].set_sample_count(len(session.eval_labels), session.classes)
        self.views["predictions"].set_session(session)
        self.views["draw"].set_network(session.input_shape, session.classes)
        self.views["curves"].restore(session.history, session.batches_per_epoch)
        self.controls.progress.setRange(0, max(session.total_steps, 1))

    def _step_reports(self, reports) -> None:
        """A batch of StepReports (the worker sends them at most 30 times a second)."""
        if self.session is None or not reports:     # reports still queued from a run that was reset
            return
        self.latest_step = reports[-1]
        self.rate.tick(time.monotonic(), len(reports))
        curves = self.views["curves"]
        for report in reports:
            curves.add_step(report.step, report.loss, report.accuracy, lr=report.lr)
        self._dirty.add("progress")

    def _epoch_report(self, report) -> None:
        if self.session is None:
            return
        step = self.latest_step.step if self.latest_step is not None else 0
        self.views["curves"].add_epoch(step, report.val_loss, report.val_accuracy)

    def _store_pictures(self, pictures) -> None:
        if self.session is None:
            return
        self.latest_pictures = pictures
        self._dirty.update(("filters", "activations"))
        if pictures.sample is not None and TABS[self.tabs.currentIndex()] != "activations":
            self.views["activations"].prepare(pictures.sample)      # its panels, built while hidden

    def _store_evaluation(self, evaluation) -> None:
        if self.session is None:
            return
        self.latest_evaluation = evaluation
        self._dirty.add("predictions")

    def show_problem(self, text: str) -> None:
        """A message for the user (bad setting, diverged run): status line and a non-blocking box."""
        self.messages.append(text)
        self._set_status(("text", {"text": text}, True))
        self._release_gradcheck(text)
        self._message(QtWidgets.QMessageBox.Icon.Warning, text)

    def _release_gradcheck(self, text: str) -> None:
        """A gradient check or timing that was waiting will not get its answer: let it be asked again."""
        for key in ("gradcheck", "speed"):
            view = self.views[key]
            if not view.run_button.isEnabled():
                view.show_error(text)

    def _failed(self, trace: str) -> None:
        last_line = trace.strip().splitlines()[-1] if trace.strip() else trace
        self.messages.append(trace)
        self._set_status(("train.failed", {"reason": last_line}, True))
        self._release_gradcheck(tr("train.failed", reason=last_line))
        self._message(QtWidgets.QMessageBox.Icon.Critical, tr("train.failed", reason=last_line), details=trace)

    def _message(self, icon, text: str, details: str | None = None) -> None:
        if self.message_box is not None:
            self.message_box.close()
        box = QtWidgets.QMessageBox(icon, tr("dialog.error"), text, QtWidgets.QMessageBox.StandardButton.Ok, self)
        if details:
            box.setDetailedText(details)
        box.open()                  # window-modal but non-blocking: training goes on
        self.message_box = box

    # -- drawing ----------------------------------------------------------------------------------
    def repaint_views(self) -> None:
        """The timer: draw what changed, on the visible tab only (the others on showing)."""
        current = TABS[self.tabs.currentIndex()]
        now = time.monotonic()
        if "progress" in self._dirty and now - self._progress_drawn_at >= PROGRESS_INTERVAL_S:
            self._dirty.discard("progress")
            self._progress_drawn_at = now
            self._paint_progress()
        if current == "curves":
            self.views["curves"].refresh()
        if current in self._dirty:
            self._dirty.discard(current)
            self._paint(current)

    def _paint(self, key: str) -> None:
        pictures, evaluation = self.latest_pictures, self.latest_evaluation
        if key == "filters" and pictures is not None:
            self.views["filters"].show_filters(pictures.convs)
        elif key == "activations" and pictures is not None and pictures.sample is not None:
            self.views["activations"].show_sample(pictures.sample, pictures.convs)
        elif key == "predictions" and evaluation is not None and self.session is not None:
            self.views["predictions"].show_evaluation(evaluation)

    def _paint_progress(self) -> None:
        report = self.latest_step
        if report is None or self.session is None:
            return
        total = self.session.total_steps
        speed = self.rate.rate()
        controls = self.controls
        if controls.progress.value() != min(report.step, total):
            controls.progress.setValue(min(report.step, total))
        controls.progress_label.setText(tr(
            "train.progress", epoch=report.epoch, epochs=self.session.epochs, step=report.step, total=total,
            rate=speed, eta=format_duration(eta_seconds(report.step, total, speed))))
        controls.metrics_label.setText(tr("train.metrics", loss=report.loss, accuracy=report.accuracy, lr=report.lr))

    # -- files ------------------------------------------------------------------------------------
    def _save_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, tr("action.save_model"), "cyconv-session.npz",
                                                        "cyconv checkpoint (*.npz)")
        if path:
            self.save_session(path)

    def save_session(self, path: str) -> None:
        """The session writes the run (model, normalisation, data, settings, history); the window
        adds only what is its own."""
        self.controller.save(path, {"language": i18n.language()})

    def _load_dialog(self) -> None:
        if self.controls.state in ("running", "paused", "loading"):
            self.show_problem(tr("io.busy"))
            return
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, tr("action.load_model"), "", tr("dialog.open_filter"))
        if path:
            self.open_checkpoint(path)

    def open_checkpoint(self, path: str) -> None:
        """Show the checkpoint's run at once (curves, accuracy, predictions, Draw); Start resumes it.
        A file that cannot be read leaves the run on screen as it was, with the reason."""
        self.controller.load(path)
        self.controls.set_state("loading")

    def _export_dialog(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, tr("action.export_png"))
        if folder:
            written = self.export_views(folder)
            self.statusBar().showMessage(tr("dialog.exported", count=len(written), path=folder), 5000)

    def export_views(self, folder: str) -> list[str]:
        """Write a PNG of the window with each tab shown: NN-<tab>.png. Returns the paths."""
        os.makedirs(folder, exist_ok=True)
        current = self.tabs.currentIndex()
        paths = []
        for index, key in enumerate(TABS):
            self.tabs.setCurrentIndex(index)
            self._dirty.add(key)
            self.repaint_views()
            if key == "activations":
                self.views[key].complete()        # the panels still queued for the event loop
            QtWidgets.QApplication.processEvents()
            path = os.path.join(folder, f"{index + 1:02d}-{key}.png")
            if not self.grab().save(path, "PNG"):
                raise OSError(f"export_views: could not write {path}")
            paths.append(path)
            if hasattr(self.views[key], "screenshots"):
                paths.extend(self.views[key].screenshots(folder))
        self.tabs.setCurrentIndex(current)
        return paths

    # -- closing ------------------------------------------------------------------------------------
    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        """Stop the worker and wait for its thread before the window goes."""
        self.timer.stop()
        self.controller.shutdown()
        super().closeEvent(event)
