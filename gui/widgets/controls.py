"""Dataset and hyper-parameters, the Start/Pause/Resume/Step/Stop/Reset buttons, progress."""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from cyconv.lab.i18n import tr
from cyconv.lab import OPTIMIZERS, TrainingSettings, parse_float

_DEFAULTS = TrainingSettings()

BUTTONS = ("start", "pause", "resume", "step", "stop", "reset")
#: Which buttons are enabled in each state of the run.
ENABLED = {
    "idle": {"start", "step", "reset"},
    "loading": set(),
    "running": {"pause", "stop"},
    "paused": {"resume", "step", "stop", "reset"},
    "finished": {"start", "reset"},
    "stopped": {"start", "reset"},
    "failed": {"start", "reset"},
}


class FrameProgressBar(QtWidgets.QProgressBar):
    """A progress bar painted with the window's next frame: QProgressBar.setValue repaints at
    once, and the controls behind the bar with it (it is not opaque), while the training thread
    waits for the GIL."""

    def setValue(self, value: int) -> None:
        if value == self.value():
            return
        self.setUpdatesEnabled(False)          # repaint() does nothing meanwhile
        try:
            super().setValue(value)
        finally:
            self.setUpdatesEnabled(True)       # and this schedules the bar's update()


class TrainingControls(QtWidgets.QWidget):
    """Emits `command(name)` for the buttons and `lr_changed(value)` when a valid lr is typed."""

    command = QtCore.Signal(str)
    lr_changed = QtCore.Signal(float)
    dataset_changed = QtCore.Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.dataset = QtWidgets.QComboBox()
        self.folder_button = QtWidgets.QPushButton()
        self.folder: str | None = None
        self.n_train = QtWidgets.QSpinBox()
        self.n_train.setRange(10, 1_000_000)
        self.n_train.setValue(_DEFAULTS.n_train)
        self.n_eval = QtWidgets.QSpinBox()
        self.n_eval.setRange(10, 100_000)
        self.n_eval.setValue(_DEFAULTS.n_eval)
        self.optimizer = QtWidgets.QComboBox()
        self.optimizer.addItems(OPTIMIZERS)
        self.optimizer.setCurrentText(_DEFAULTS.optimizer)
        self.lr = QtWidgets.QLineEdit(f"{_DEFAULTS.lr:g}")
        self.momentum = QtWidgets.QLineEdit(f"{_DEFAULTS.momentum:g}")
        self.batch = QtWidgets.QSpinBox()
        self.batch.setRange(0, 4096)       # 0 is allowed on purpose: the message teaches why not
        self.batch.setValue(_DEFAULTS.batch_size)
        self.epochs = QtWidgets.QSpinBox()
        self.epochs.setRange(0, 1000)      # 0 too
        self.epochs.setValue(_DEFAULTS.epochs)
        self.seed = QtWidgets.QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setValue(_DEFAULTS.seed)
        self.buttons = {key: QtWidgets.QPushButton() for key in BUTTONS}
        for key, button in self.buttons.items():
            button.clicked.connect(lambda _=False, k=key: self.command.emit(k))
        self.progress = FrameProgressBar()
        self.progress_label, self.metrics_label, self.status = QtWidgets.QLabel(), QtWidgets.QLabel(), QtWidgets.QLabel()
        self.status.setWordWrap(True)
        self.lr.editingFinished.connect(self._lr_edited)
        self.dataset.currentIndexChanged.connect(self._dataset_chosen)
        self.folder_button.clicked.connect(self._choose_folder)
        self.form = QtWidgets.QFormLayout()
        self._rows = {}
        folder_row = QtWidgets.QHBoxLayout()
        folder_row.addWidget(self.dataset, 1)
        folder_row.addWidget(self.folder_button)
        for key, field in (("train.dataset", folder_row), ("train.samples", self.n_train),
                           ("train.eval_samples", self.n_eval), ("train.optimizer", self.optimizer),
                           ("train.lr", self.lr), ("train.momentum", self.momentum), ("train.batch", self.batch),
                           ("train.epochs", self.epochs), ("train.seed", self.seed)):
            label = QtWidgets.QLabel()
            self._rows[key] = label
            self.form.addRow(label, field)
        grid = QtWidgets.QGridLayout()
        for index, key in enumerate(BUTTONS):
            grid.addWidget(self.buttons[key], index // 3, index % 3)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self.form)
        layout.addLayout(grid)
        layout.addWidget(self.progress)
        layout.addWidget(self.progress_label)
        layout.addWidget(self.metrics_label)
        layout.addWidget(self.status)
        self.availability: dict[str, bool] = {}
        self.state = "idle"
        self.retranslate()
        self.set_state("idle")

    def retranslate(self) -> None:
        for key, label in self._rows.items():
            label.setText(tr(key))
        for key, button in self.buttons.items():
            button.setText(tr(f"train.{key}"))
        self.folder_button.setText(tr("train.choose_folder"))
        self.lr.setToolTip(tr("term.lr"))
        self.batch.setToolTip(tr("term.batch"))
        self.n_train.setToolTip(tr("train.samples_tip"))
        self.n_eval.setToolTip(tr("train.eval_samples_tip"))
        self._fill_datasets()

    def set_datasets(self, availability: dict[str, bool]) -> None:
        """Offer every dataset; the ones `cyconv.data.available()` cannot load are greyed out."""
        self.availability = dict(availability)
        self._fill_datasets()

    def _fill_datasets(self) -> None:
        current = self.dataset.currentData() or "synthetic"
        self.dataset.blockSignals(True)
        self.dataset.clear()
        for name, present in self.availability.items():
            title = tr(f"dataset.{name}")
            self.dataset.addItem(title if present else tr("train.unavailable", name=title), name)
            item = self.dataset.model().item(self.dataset.count() - 1)
            item.setEnabled(present)
        index = self.dataset.findData(current)
        self.dataset.setCurrentIndex(max(index, 0))
        self.dataset.blockSignals(False)
        self.folder_button.setVisible(self.dataset.currentData() == "folder")

    def _dataset_chosen(self) -> None:
        name = self.dataset.currentData()
        self.folder_button.setVisible(name == "folder")
        if name == "folder" and not self.folder:
            self._choose_folder()
        self.dataset_changed.emit(name or "")

    def _choose_folder(self) -> None:
        path = QtWidgets.QFileDialog.getExistingDirectory(self, tr("train.choose_folder"))
        if path:
            self.folder = path
            self.folder_button.setToolTip(path)

    def select_dataset(self, name: str) -> None:
        index = self.dataset.findData(name)
        if index >= 0:
            self.dataset.setCurrentIndex(index)

    def settings(self) -> TrainingSettings:
        """The typed settings; ValueError with the user-facing message for a field that is not a
        number or a folder not chosen (the values themselves are checked by the trainer)."""
        settings = TrainingSettings(
            dataset=self.dataset.currentData() or "synthetic", folder=self.folder,
            n_train=self.n_train.value(), n_eval=self.n_eval.value(), optimizer=self.optimizer.currentText(),
            lr=parse_float(self.lr.text(), "bad.lr"), momentum=parse_float(self.momentum.text(), "bad.momentum"),
            batch_size=self.batch.value(), epochs=self.epochs.value(), seed=self.seed.value())
        settings.check_data_choice()
        return settings

    def apply_settings(self, settings: TrainingSettings) -> None:
        """Show a run's own settings (an opened checkpoint's)."""
        self.select_dataset(settings.dataset)
        if settings.folder:
            self.folder = settings.folder
        for box, value in ((self.n_train, settings.n_train), (self.n_eval, settings.n_eval),
                           (self.batch, settings.batch_size), (self.epochs, settings.epochs), (self.seed, settings.seed)):
            box.setValue(int(value))
        self.optimizer.setCurrentText(settings.optimizer)
        self.lr.setText(f"{settings.lr:g}")
        self.momentum.setText(f"{settings.momentum:g}")

    def _lr_edited(self) -> None:
        if self.state not in ("running", "paused"):
            return
        try:
            value = parse_float(self.lr.text(), "bad.lr")
            if not value > 0:
                raise ValueError(tr("bad.lr", value=self.lr.text()))
        except ValueError as error:
            self.show_status(str(error), error=True)
            return
        self.lr_changed.emit(value)

    def set_state(self, state: str) -> None:
        """Enable the buttons that make sense in `state` (see ENABLED)."""
        self.state = state
        for key, button in self.buttons.items():
            button.setEnabled(key in ENABLED[state])
        editing = state in ("idle", "finished", "stopped", "failed")
        for widget in (self.dataset, self.folder_button, self.n_train, self.n_eval, self.optimizer, self.momentum,
                       self.batch, self.epochs, self.seed):
            widget.setEnabled(editing)
        self.lr.setEnabled(state != "loading")

    def show_status(self, text: str, *, error: bool = False) -> None:
        self.status.setText(text)
        style = "color: #c00000;" if error else ""
        if self.status.styleSheet() != style:       # a new style sheet re-polishes the label
            self.status.setStyleSheet(style)
