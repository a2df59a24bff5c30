"""The lab's session: one network, its data, its trainer and everything the app can do with
them, with no Qt in sight (the napari seam: the model apart from the view).

The app drives a session from one worker thread; tests and notebooks drive it directly:

    session = LabSession()
    info = session.start(network, TrainingSettings(dataset="synthetic", epochs=1))
    while session.state == "running":
        update = session.advance()          # one batch, with the snapshots that are due
    session.save("run.npz")

Control belongs here, not to the trainer: ``state`` is one of ``empty`` (nothing built),
``paused`` (built, or stopped between steps, and able to go on), ``running``, ``finished``
(every planned epoch done) and ``stopped``. The trainer only steps. Every snapshot the
session returns is a read-only copy, so a viewer in another thread can keep it.

``recorders`` is the one hook for parts that watch a run (cyconv.lab.learn's time machine and
doctor): objects with ``record(session, update)`` (after each step), ``clear()`` (a run is
forgotten), ``attachments()`` -> {name: array} (saved with the run) and
``restore(session, attachments)`` (a run was opened).
"""
from __future__ import annotations

import dataclasses
import math
import time
from types import MappingProxyType

import numpy as np

from .. import data, io, schema
from ..shapes.names import default_names
from .._arrays import read_only, softmax
from ..model import Sequential
from ..train import Trainer, TrainingDiverged
from . import probes
from .errors import LabError
from .settings import DATASET_SHAPES, VAL_FRACTION, TrainingSettings
from .snapshots import Evaluation, Pictures, SessionInfo


@dataclasses.dataclass(frozen=True)
class StepUpdate:
    """What one ``advance()`` produced: the trainer's reports (StepReport, then EpochReport
    at an epoch's end), and the snapshots that fell due (None when not due)."""
    reports: tuple
    pictures: Pictures | None = None
    evaluation: Evaluation | None = None
    final: Evaluation | None = None


def dataset_availability() -> dict[str, bool]:
    """name -> can it be loaded now, offline (an image folder is chosen in the app)."""
    rows = {row.name: row.location is not None for row in data.available()}
    rows["folder"] = True
    return rows


class LabSession:
    """See the module docstring. ``picture_interval`` and ``eval_interval`` (seconds) space the
    snapshots taken while running (a stepped, paused or stopped run always gets fresh ones);
    ``clock`` is injectable for tests. Pictures come twice a second: each is a repaint
    of the filters or activations in the GUI thread, which holds the GIL the training thread
    needs, and maps that change twice a second still show the filters forming."""

    def __init__(self, *, picture_interval: float = 0.5, eval_interval: float = 2.0, clock=time.monotonic):
        self.picture_interval, self.eval_interval, self._clock = picture_interval, eval_interval, clock
        self.recorders: list = []
        self._clear()

    def _clear(self) -> None:
        self.trainer: Trainer | None = None
        self._view_only_model: Sequential | None = None     # a checkpoint opened without its data
        self.data_problem: str | None = None
        self.settings: TrainingSettings | None = None
        self.network: dict | None = None
        self.info: SessionInfo | None = None
        self.final: Evaluation | None = None
        self.state = "empty"
        self._identity = self._normalization = self._test = self._eval = None
        self._resumed_from: str | None = None
        self._sample: tuple = ("eval", 0)
        self._last_pictures = self._last_eval = -math.inf
        for recorder in self.recorders:
            recorder.clear()

    @property
    def model(self) -> Sequential | None:
        return self._view_only_model if self.trainer is None else self.trainer.model

    @property
    def step_count(self) -> int:
        return 0 if self.trainer is None else self.trainer.global_step

    # -- building -------------------------------------------------------------------------------
    def _load_data(self, settings: TrainingSettings, input_shape):
        image_shape = tuple(input_shape) if settings.dataset == "folder" else None
        train, val, test = data.load_train_test(
            settings.dataset, path=settings.folder, seed=settings.seed, n_train=settings.n_train,
            val_fraction=VAL_FRACTION, download=False, image_shape=image_shape)
        identity = data.dataset_identity(
            settings.dataset, path=settings.folder, n_train=len(train) + len(val), n_test=len(test),
            val_fraction=VAL_FRACTION, seed=settings.seed, classes=tuple(train.classes),
            image_shape=tuple(train.image_shape))
        return train, val, test, identity

    def _adopt(self, trainer, settings, network, test, identity, normalization, *, model=None,
               history=None) -> SessionInfo:
        """Make ``trainer`` (or, without data, just ``model``) the session's; describe it."""
        self.trainer, self.settings, self.network = trainer, settings, network
        if trainer is None:
            self._view_only_model = model
        model = self.model
        self._test, self._identity, self._normalization = test, identity, normalization
        self._eval = None if test is None else test.subset(np.arange(min(settings.n_eval, len(test))))
        self._sample = ("eval", 0)
        self._last_pictures = self._last_eval = -math.inf
        eval_images = self._eval.images if self._eval is not None else np.zeros((0, *model.input_shape), np.float32)
        eval_labels = self._eval.labels if self._eval is not None else np.zeros(0, np.int64)
        history = trainer.history if trainer is not None else (history or {})
        batches = trainer.batches_per_epoch if trainer is not None else max(len(history.get("step_loss", ())), 1)
        self.info = SessionInfo(
            classes=_class_names(identity, model), dataset=settings.dataset, model_config=model.config(),
            input_shape=tuple(model.input_shape), eval_images=read_only(eval_images),
            eval_labels=read_only(eval_labels), batches_per_epoch=batches,
            epochs=settings.epochs if trainer is None else trainer.epochs,
            normalization=None if normalization is None else (tuple(normalization.mean), tuple(normalization.std)),
            history=MappingProxyType({key: tuple(values) for key, values in history.items()}),
            global_step=self.step_count, settings=settings, resumed_from=self._resumed_from, final=self.final)
        return self.info

    def build(self, network: dict, settings: TrainingSettings) -> SessionInfo:
        """A fresh run of ``network`` (a model config) on the data the settings name, paused
        before its first step. Raises LabError, or ValueError/DataError naming the problem;
        the session is left as it was then."""
        settings.check_data_choice()
        train, val, test, identity = self._load_data(settings, network["input_shape"])
        model = Sequential.from_config(network, seed=settings.seed)
        opened = self._view_only_model
        if opened is not None and same_network(network, opened.config()):
            model.load_state_dict(opened.state_dict())       # an opened model trains on from its weights
        trainer = Trainer(model, train, val, optimizer=settings.optimizer, lr=settings.lr,
                          momentum=settings.momentum, batch_size=settings.batch_size, epochs=settings.epochs,
                          seed=settings.seed)
        self._clear()
        info = self._adopt(trainer, settings, network, test, identity, data.Normalization.of(train))
        self.state = "paused"
        return info

    def continues(self, network: dict, settings: TrainingSettings) -> bool:
        """Do ``network`` and ``settings`` ask for the run that is here (epochs may grow)?"""
        if self.trainer is None or self.state == "stopped" or not same_network(network, self.network):
            return False
        same = dataclasses.replace(settings, epochs=self.settings.epochs, n_eval=self.settings.n_eval)
        return same == self.settings and settings.epochs >= self.trainer.epoch

    def start(self, network: dict, settings: TrainingSettings) -> SessionInfo | None:
        """Train: go on with the run that is here when the network and settings are its own
        (a loaded checkpoint resumes; more epochs extend a finished run), else build a new one.
        Returns the new SessionInfo when one was built, None when the run went on."""
        info = None
        if self.continues(network, settings):
            self._extend(settings)
        else:
            info = self.build(network, settings)
        if self.trainer.finished:
            self.state = "finished"
            raise LabError("train.already_done", epochs=self.trainer.epochs)
        self.state = "running"
        return info

    def _extend(self, settings: TrainingSettings) -> None:
        if settings.epochs != self.trainer.epochs:
            self.trainer.epochs = settings.epochs
            self.info = dataclasses.replace(self.info, epochs=settings.epochs)
        self.settings = dataclasses.replace(self.settings, epochs=settings.epochs, n_eval=self.settings.n_eval)

    def reset(self) -> None:
        """Forget the run (nothing is written)."""
        self._clear()

    # -- control ------------------------------------------------------------------------------
    def pause(self) -> None:
        if self.state == "running":
            self.state = "paused"

    def resume(self) -> None:
        if self.state == "paused":
            self.state = "running"

    def stop(self) -> Evaluation | None:
        """End the run for good (Start then begins a new one); the whole test split is
        evaluated once, as at the end of a run. Returns that evaluation."""
        if self.state not in ("running", "paused"):
            return None
        self.state = "stopped"
        return self._final_evaluation()

    def set_lr(self, lr: float) -> None:
        """The learning rate from the next step on (the trainer checks the value)."""
        if self.trainer is None:
            raise LabError("train.no_run")
        self.trainer.base_lr = lr
        self.settings = dataclasses.replace(self.settings, lr=float(lr))

    @property
    def finished(self) -> bool:
        return self.trainer is not None and self.trainer.finished

    def advance(self, *, force_snapshots: bool = False) -> StepUpdate:
        """Train one batch (from ``paused`` too: that is the Step button). On divergence the
        run pauses with the weights of before the step and a LabError says what to change."""
        if self.trainer is None:
            raise LabError("train.no_run")
        if self.trainer.finished:
            raise LabError("train.already_done", epochs=self.trainer.epochs)
        single = self.state != "running"
        try:
            reports = tuple(self.trainer.step())
        except TrainingDiverged as error:
            self.state = "paused"
            raise LabError("train.diverged", reason=str(error)) from None
        final = None
        if self.trainer.finished:
            self.state = "finished"
            final = self._final_evaluation()
        force = force_snapshots or single or final is not None
        # An epoch's end does not bring the live evaluation forward: with short epochs (6,000
        # images are half a second of mnist_cnn) that evaluated the live subset twice a second
        # instead of once every eval_interval (2 s), the training waiting each time.
        update = StepUpdate(reports=reports, pictures=self.pictures_if_due(force),
                            evaluation=self.evaluation_if_due(force), final=final)
        for recorder in self.recorders:
            recorder.record(self, update)
        return update

    def _final_evaluation(self) -> Evaluation | None:
        if self._test is None or self.trainer is None:
            return None
        self.final = probes.evaluation(self.model, self._test, self.step_count, whole_test=True)
        self.info = dataclasses.replace(self.info, final=self.final)
        return self.final

    # -- snapshots ------------------------------------------------------------------------------
    def _due(self, last: float, interval: float, force: bool) -> bool:
        return force or self._clock() - last >= interval

    def pictures_if_due(self, force: bool = True) -> Pictures | None:
        if self.model is None or not self._due(self._last_pictures, self.picture_interval, force):
            return None
        self._last_pictures = self._clock()
        return probes.pictures(self.model, self.step_count, self._sample_view())

    def evaluation_if_due(self, force: bool = True) -> Evaluation | None:
        if self.model is None or self._eval is None or not self._due(self._last_eval, self.eval_interval, force):
            return None
        self._last_eval = self._clock()
        return probes.evaluation(self.model, self._eval, self.step_count)

    def _sample_view(self):
        source, value = self._sample
        if source == "drawn":
            return probes.sample_view(self.model, value, source="drawn", index=None, label=None)
        if self._eval is None or not 0 <= value < len(self._eval):
            return None
        return probes.sample_view(self.model, self._eval.images[value], source="eval", index=value,
                                  label=int(self._eval.labels[value]))

    def select_sample(self, index: int) -> Pictures | None:
        """Show test sample ``index`` of the live subset in the views."""
        self._sample = ("eval", int(index))
        return self.pictures_if_due(force=True)

    def predict(self, image) -> tuple[Pictures, np.ndarray]:
        """A drawn or opened image (C, H, W) in [0, 1], normalised as the training data was:
        (the pictures with it as the sample, its class probabilities)."""
        if self.model is None:
            raise LabError("draw.no_model")
        image = np.asarray(image, dtype=np.float32)
        if image.shape != tuple(self.model.input_shape):
            raise LabError("draw.bad_shape", got=image.shape, expected=tuple(self.model.input_shape))
        if self._normalization is not None:
            image = self._normalization.apply(image)
        self._sample = ("drawn", read_only(image))
        pictures = self.pictures_if_due(force=True)
        return pictures, read_only(softmax(pictures.sample.outputs[-1][2]))

    # -- checks -----------------------------------------------------------------------------------
    def _require_eval(self, key: str) -> None:
        if self.model is None or self._eval is None or len(self._eval) == 0:
            raise LabError(key)

    def gradient_check(self) -> tuple:
        self._require_eval("gc.no_model")
        return probes.gradient_check(self.model, self._eval.images, self._eval.labels)

    def conv_timings(self) -> tuple:
        self._require_eval("gc.no_model")
        rows = probes.conv_timings(self.model, self._eval.images)
        if not rows:
            raise LabError("speed.no_conv")
        return rows

    # -- files ------------------------------------------------------------------------------------
    def save(self, path, *, extra: dict | None = None) -> str:
        """Write the run as one checkpoint (the same contract as ``cyconv train``)."""
        if self.trainer is None:
            raise LabError("io.no_model")
        evaluation = None if self.final is None else {
            "split": "test", "n": self.final.n, "loss": self.final.loss, "accuracy": self.final.accuracy,
            "step": self.final.step}
        lab = {"n_eval": self.settings.n_eval, "dataset": self.settings.dataset}
        attachments = {name: array for recorder in self.recorders for name, array in recorder.attachments().items()}
        self.trainer.save(path, normalization=self._normalization, dataset=self._identity,
                          evaluation=evaluation, extra={"lab": lab, **(extra or {})}, attachments=attachments)
        return str(path)

    def _import(self, path) -> SessionInfo:
        """An ONNX or PyTorch model (cyconv.importers) with the default settings of its input."""
        from ..importers import InputShapeRequired, load_model

        try:
            model = load_model(path)
        except InputShapeRequired:
            raise LabError("io.import_shape", path=str(path)) from None
        shape = tuple(model.input_shape)
        dataset = next((name for name, fixed in DATASET_SHAPES.items() if fixed == shape), "synthetic")
        settings = dataclasses.replace(TrainingSettings(), dataset=dataset)
        self._clear()
        self._resumed_from = str(path)
        info = self._adopt(None, settings, model.config(), None, None, None, model=model, history={})
        self.state = "finished"
        self.data_problem = None
        return info

    def load(self, path) -> SessionInfo:
        """Open a checkpoint (the app's or the command's): its model, history and position,
        and its data when this computer has it; paused, so Start resumes it. An ONNX or
        PyTorch model file opens as a model without a run: Start trains on from its weights."""
        if _is_model_file(path):
            return self._import(path)
        checkpoint = io.load(path)
        settings = _settings_of(checkpoint)
        train = val = test = None
        data_problem = None
        if checkpoint.dataset is not None:
            try:
                train, val, test = data.load_identity(checkpoint.dataset, normalization=checkpoint.normalization)
            except (data.DataError, ValueError, OSError) as error:
                data_problem = str(error)
        elif checkpoint.dataset is None:
            data_problem = str(LabError("io.no_data", path=str(path)))
        trainer = None if train is None else _trainer_of(checkpoint, train, val, settings)
        self._clear()
        self._resumed_from = str(path)
        self.final = _final_of(checkpoint)
        info = self._adopt(trainer, settings, checkpoint.model.config(), test, checkpoint.dataset,
                           checkpoint.normalization, model=checkpoint.model, history=checkpoint.history)
        self.state = "paused" if trainer is not None and not trainer.finished else "finished"
        self.data_problem = data_problem
        for recorder in self.recorders:
            recorder.restore(self, checkpoint.attachments)
        return info


def _canonical(network: dict) -> tuple:
    """A network config in one normal form: every layer's name and settings with the defaults
    filled in and the sizes the shape engine infers (in_channels, in_features) left out, so the
    editor's form and a saved model's form of the same network compare equal."""
    layers = network["layers"]
    rows = []
    for name, config in zip(default_names(layers), layers):
        entry = schema.check_type(config, name)
        values = schema.check_config(config, name)
        rows.append((entry.type_name, name, tuple(sorted(
            (key, repr(value)) for key, value in values.items() if key not in entry.inferred_keys))))
    return tuple(int(size) for size in network["input_shape"]), tuple(rows)


def same_network(a: dict | None, b: dict | None) -> bool:
    """Do two model configs describe the same network (see _canonical)?"""
    if a is None or b is None:
        return a is b
    try:
        return _canonical(a) == _canonical(b)
    except (ValueError, TypeError, KeyError):
        return False


def _is_model_file(path) -> bool:
    return str(path).lower().endswith((".onnx", ".pt", ".pth", ".ts"))


def _class_names(identity, model) -> tuple:
    if identity and identity.get("classes"):
        return tuple(identity["classes"])
    return tuple(str(k) for k in range(int(model.output_shape[0])))


def _settings_of(checkpoint) -> TrainingSettings:
    """The run's settings as the app shows them, from the checkpoint's training and dataset blocks."""
    defaults = TrainingSettings()
    training = checkpoint.training or {}
    dataset = checkpoint.dataset or {}
    lab = (checkpoint.extra or {}).get("lab") or {}
    fields = {key: training[key] for key in ("optimizer", "lr", "momentum", "batch_size", "epochs", "seed")
              if training.get(key) is not None}
    n_train = dataset.get("n_train")
    return dataclasses.replace(defaults, dataset=dataset.get("name", defaults.dataset), folder=dataset.get("path"),
                               n_train=defaults.n_train if n_train is None else int(n_train),
                               n_eval=int(lab.get("n_eval", defaults.n_eval)), **fields)


def _trainer_of(checkpoint, train, val, settings) -> Trainer:
    """A trainer at the checkpoint's position (a checkpoint of weights only starts afresh on them)."""
    if checkpoint.trainer_state and checkpoint.optimizer_state:
        return Trainer.from_checkpoint(checkpoint, train, val)
    return Trainer(checkpoint.model, train, val, optimizer=settings.optimizer, lr=settings.lr,
                   momentum=settings.momentum, batch_size=settings.batch_size, epochs=settings.epochs,
                   seed=settings.seed)


def _final_of(checkpoint) -> Evaluation | None:
    saved = checkpoint.evaluation
    if not saved:
        return None
    empty = read_only(np.zeros(0, np.int64))
    loss, n = saved.get("loss"), saved.get("n")        # a 0.1 file recorded only the accuracy
    return Evaluation(step=int(saved.get("step") or 0), loss=math.nan if loss is None else float(loss),
                      accuracy=float(saved["accuracy"]), confusion=read_only(np.zeros((0, 0), np.int64)),
                      predictions=empty, confidences=read_only(np.zeros(0, np.float32)), n=int(n or 0),
                      whole_test=True)
