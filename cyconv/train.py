"""Training: one stepping API that the command line and the app share.

>>> trainer = Trainer(model, train, val, optimizer="adam", lr=1e-3, epochs=2)  # doctest: +SKIP
>>> for report in trainer.run():                                              # doctest: +SKIP
...     print(report)

``run()`` is a generator: it yields a :class:`StepReport` after every batch and an
:class:`EpochReport` after every epoch. ``step()`` runs exactly one batch, even while paused
(the app's "Step" button). ``pause()``, ``resume()``, ``stop()``, ``set_lr()`` and
``set_momentum()`` may be called from any thread; they take effect between two steps, never
in the middle of one.

Reproducibility: the batch order comes from ``numpy.random.default_rng(seed)``, one
permutation per epoch (the same order ``cyconv.data.batches`` gives for that generator). With
``cyconv.set_num_threads(1)`` the same seed gives the same loss curve bit for bit, and a run
saved with :meth:`Trainer.save` and continued with :meth:`Trainer.from_checkpoint` takes the
very steps the uninterrupted run would have taken.

Divergence: a NaN or infinite loss, gradient or weight raises :class:`TrainingDiverged` naming
the step and the likely cause, and the weights and optimizer state from before that step are
kept, so the run can go on with a lower learning rate.
"""
import copy
import dataclasses
import math
import queue
import threading
import time

import numpy as np

from . import losses as loss_module
from . import optim
from . import presets

__all__ = ["Trainer", "StepReport", "EpochReport", "EvalReport", "TrainingDiverged", "fit",
           "evaluate", "confusion_matrix", "per_class_accuracy", "check_dataset", "SCHEDULES",
           "scheduled_lr"]

# run() waits on an Event that pause()/resume()/stop() set, so it wakes at once; the timeout
# only bounds the wait should an event ever be missed.
_PAUSE_WAIT_SECONDS = 0.5
_EVAL_BATCH_SIZE = 256
STATE_VERSION = 1

HISTORY_KEYS = (
    "step_loss", "step_accuracy", "step_lr", "step_seconds",
    "epoch_train_loss", "epoch_train_accuracy", "epoch_val_loss", "epoch_val_accuracy",
    "epoch_per_class_accuracy", "epoch_confusion", "epoch_seconds",
)


# ----------------------------------------------------------------------------------------------
# Reports and the divergence error
# ----------------------------------------------------------------------------------------------
class TrainingDiverged(FloatingPointError):
    """A step produced a NaN or infinite loss, gradient or weight; nothing was updated.

    Attributes: ``step`` (the global step that failed, 1-based), ``epoch`` and ``batch``
    (1-based), ``cause`` (a short text: the likely cause and what to try).
    """

    def __init__(self, message, *, step, epoch, batch, cause):
        super().__init__(message)
        self.step, self.epoch, self.batch, self.cause = step, epoch, batch, cause


def _read_only(array):
    array = np.array(array, copy=True)
    array.flags.writeable = False
    return array


@dataclasses.dataclass(frozen=True)
class StepReport:
    """One batch: ``epoch`` (1-based, the epoch in progress), ``step`` (global, 1-based),
    ``batch`` (1-based within the epoch) of ``batches_per_epoch``, the batch's mean ``loss``
    and ``accuracy`` (train mode), the wall time in ``seconds`` and the ``lr`` it used."""

    epoch: int
    step: int
    batch: int
    batches_per_epoch: int
    loss: float
    accuracy: float
    seconds: float
    lr: float


@dataclasses.dataclass(frozen=True)
class EpochReport:
    """One finished epoch (``epoch`` 1-based).

    ``train_loss``/``train_accuracy`` average the epoch's training batches (train mode, the
    weights changing as they went). ``val_loss``/``val_accuracy`` come from the validation set
    in inference mode, or are None without one. ``confusion[true, predicted]`` (K, K) counts
    and ``per_class_accuracy`` (K,) (NaN for a class with no examples) describe the
    validation set, or the epoch's training batches without one: ``confusion_source`` says
    which ("validation" or "training"). Arrays are read-only copies.
    """

    epoch: int
    train_loss: float
    train_accuracy: float
    val_loss: float | None
    val_accuracy: float | None
    per_class_accuracy: np.ndarray
    confusion: np.ndarray
    seconds: float
    confusion_source: str = "validation"


@dataclasses.dataclass(frozen=True)
class EvalReport:
    """A model on a dataset in inference mode: mean ``loss``, ``accuracy``,
    ``per_class_accuracy`` (K,), ``confusion`` (K, K) [true, predicted], ``predictions`` (N,)
    int64 class indices and ``probabilities`` (N, K) float32 (softmax of the logits)."""

    loss: float
    accuracy: float
    per_class_accuracy: np.ndarray
    confusion: np.ndarray
    predictions: np.ndarray
    probabilities: np.ndarray


# ----------------------------------------------------------------------------------------------
# Metrics
# ----------------------------------------------------------------------------------------------
def confusion_matrix(labels, predictions, num_classes):
    """counts[true, predicted] (num_classes, num_classes) int64 for label/prediction arrays (N,)."""
    labels = np.asarray(labels, dtype=np.int64)
    predictions = np.asarray(predictions, dtype=np.int64)
    if labels.shape != predictions.shape or labels.ndim != 1:
        raise ValueError(f"confusion_matrix: labels {labels.shape} and predictions "
                         f"{predictions.shape} must be the same 1-D shape (N,)")
    flat = np.bincount(labels * num_classes + predictions, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes)


def per_class_accuracy(confusion):
    """Diagonal over row sums: the fraction of each true class predicted right (NaN if absent)."""
    confusion = np.asarray(confusion)
    totals = confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(confusion) / np.maximum(totals, 1), np.nan)


def _softmax(logits):
    shifted = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)


def _model_classes(model):
    output = tuple(model.output_shape)
    if len(output) != 1:
        raise ValueError(f"the model's output has shape {output}; a classifier must end in a "
                         f"vector of class scores (end with Flatten and Dense)")
    return int(output[0])


def check_dataset(dataset, model, role="data"):
    """Raise a ValueError a student can act on if ``dataset`` does not fit ``model``.

    The images must have the model's input shape (C, H, W) and the dataset as many classes as
    the model has outputs; the message suggests presets that do fit the data.
    """
    images = getattr(dataset, "images", None)
    labels = getattr(dataset, "labels", None)
    if not isinstance(images, np.ndarray) or not isinstance(labels, np.ndarray):
        raise TypeError(f"the {role} set must be a cyconv.data.Dataset (images and labels "
                        f"arrays), got {type(dataset).__name__}")
    if len(labels) == 0:
        raise ValueError(f"the {role} set {getattr(dataset, 'name', '')!r} is empty")
    name = getattr(dataset, "name", role)
    shape = tuple(int(s) for s in images.shape[1:])
    if shape != tuple(model.input_shape):
        fitting = [p for p in presets.PRESET_NAMES if tuple(presets.configs(p)[0]) == shape]
        hint = (f"; presets for {shape}: {', '.join(fitting)}" if fitting else "")
        raise ValueError(f"the model takes inputs of shape {tuple(model.input_shape)} (C, H, W) "
                         f"but the {role} set {name!r} has images of shape {shape}: choose a "
                         f"model or a dataset that match{hint}")
    classes = getattr(dataset, "classes", None)
    num_classes = len(classes) if classes is not None else int(labels.max()) + 1
    outputs = _model_classes(model)
    if outputs != num_classes:
        raise ValueError(f"the model has {outputs} outputs but the {role} set {name!r} has "
                         f"{num_classes} classes: the last Dense layer's out_features must "
                         f"equal the number of classes")


def evaluate(model, dataset, *, loss=None, batch_size=_EVAL_BATCH_SIZE):
    """The model on ``dataset`` in inference mode (no dropout), in batches: an EvalReport.

    ``loss`` defaults to SoftmaxCrossEntropy; its value is the mean over all examples.
    Do not call this while another thread trains the same model (use Trainer.evaluate).
    """
    check_dataset(dataset, model, "evaluation")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise ValueError(f"evaluate: batch_size must be a positive int, got {batch_size!r}")
    loss = loss_module.SoftmaxCrossEntropy() if loss is None else copy.copy(loss)
    num_classes = _model_classes(model)
    images, labels = dataset.images, dataset.labels
    total_loss = 0.0
    predictions = np.empty(len(labels), dtype=np.int64)
    probabilities = np.empty((len(labels), num_classes), dtype=np.float32)
    for start in range(0, len(labels), batch_size):
        stop = min(start + batch_size, len(labels))
        logits = model.forward(images[start:stop], training=False)
        total_loss += loss.forward(logits, labels[start:stop]) * (stop - start)
        predictions[start:stop] = logits.argmax(axis=1)
        probabilities[start:stop] = _softmax(logits)
    confusion = confusion_matrix(labels, predictions, num_classes)
    return EvalReport(loss=total_loss / len(labels),
                      accuracy=float(np.mean(predictions == labels)),
                      per_class_accuracy=_read_only(per_class_accuracy(confusion)),
                      confusion=_read_only(confusion), predictions=_read_only(predictions),
                      probabilities=_read_only(probabilities))


class _EpochTotals:
    """What the training batches of the epoch in progress add up to."""

    def __init__(self, num_classes):
        self.num_classes = num_classes
        self.reset()

    def reset(self):
        self.loss_sum = 0.0      # sum of batch mean loss x batch size
        self.correct = 0
        self.seen = 0
        self.seconds = 0.0
        self.confusion = np.zeros((self.num_classes, self.num_classes), dtype=np.int64)

    def add(self, loss, labels, predictions, seconds):
        self.loss_sum += loss * len(labels)
        self.correct += int(np.count_nonzero(predictions == labels))
        self.seen += len(labels)
        self.seconds += seconds
        self.confusion += confusion_matrix(labels, predictions, self.num_classes)

    def to_state(self):
        return {"loss_sum": self.loss_sum, "correct": self.correct, "seen": self.seen,
                "seconds": self.seconds, "confusion": self.confusion.tolist()}

    def load_state(self, state):
        confusion = np.asarray(state["confusion"], dtype=np.int64)
        if confusion.shape != (self.num_classes, self.num_classes):
            raise ValueError(f"saved epoch totals are for {confusion.shape[0]} classes, the "
                             f"model has {self.num_classes}")
        self.loss_sum, self.correct = float(state["loss_sum"]), int(state["correct"])
        self.seen, self.seconds = int(state["seen"]), float(state["seconds"])
        self.confusion = confusion


# ----------------------------------------------------------------------------------------------
# Finite checks and the pre-update snapshot
# ----------------------------------------------------------------------------------------------
def _is_finite(array):
    # A single sum catches NaN and inf; the element-wise test runs only if the sum overflowed.
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isfinite(array.sum())) or bool(np.isfinite(array).all())


def _reports_non_finite(error):
    """True for the ValueError functional.py raises when a layer meets NaN or inf values."""
    return "NaN or infinite" in str(error)


class _UpdateSnapshot:
    """Preallocated copies of the weights and optimizer state, refreshed before each update.

    The loss and the gradients are checked before the update, so the copy only matters when
    finite gradients still overflow the weights (a huge learning rate). Refreshing it is one
    memcpy of the parameters and optimizer arrays: for the presets trained here well under 1 %
    of a step, against a forward and backward pass that are O(batch x parameters).
    """

    def __init__(self, model, optimizer):
        self.optimizer = optimizer
        arrays = [param for _, param, _ in model.parameters()]
        for by_name in getattr(optimizer, "state", {}).values():
            arrays.extend(by_name.values())
        self._pairs = [(live, np.empty_like(live)) for live in arrays]
        self._t = None

    def take(self):
        for live, saved in self._pairs:
            np.copyto(saved, live)
        self._t = getattr(self.optimizer, "t", None)

    def restore(self):
        for live, saved in self._pairs:
            np.copyto(live, saved)
        if self._t is not None:
            self.optimizer.t = self._t


# ----------------------------------------------------------------------------------------------
# Building blocks of the Trainer
# ----------------------------------------------------------------------------------------------
def _positive_int(value, what):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"Trainer: {what} must be a positive int, got {value!r}")
    return int(value)


def _check_lr(value, where):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{where}: the learning rate must be a finite number > 0, got {value!r}")
    return float(value)


SCHEDULES = ("constant", "linear")


def _check_schedule(value, where):
    if value not in SCHEDULES:
        raise ValueError(f"{where}: schedule must be one of {SCHEDULES}, got {value!r}")
    return value


def scheduled_lr(schedule, base_lr, step, total_steps):
    """The learning rate of step ``step`` (0-based) of ``total_steps``.

    "constant" keeps ``base_lr``. "linear" falls in a straight line from ``base_lr`` at the
    first step towards 0 at the end of the run (the last step still uses base_lr/total_steps),
    the default of Hugging Face's Trainer: on short runs the final weights then come from
    small steps instead of Adam's full-size last jumps, which measured about +0.1 percentage
    point of MNIST test accuracy for mnist_cnn after 2 epochs, averaged over seeds.
    """
    if schedule == "constant":
        return base_lr
    remaining = max(total_steps - step, 1)
    return base_lr * (remaining / max(total_steps, 1))


def _check_momentum(value, where):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) \
            or not math.isfinite(value) or not 0 <= value < 1:
        raise ValueError(f"{where}: momentum must be a number in [0, 1), got {value!r}")
    return float(value)


def _make_optimizer(optimizer, model, lr, momentum):
    if isinstance(optimizer, optim.Optimizer):
        own = {id(param) for _, param, _ in model.parameters()}
        if {id(param) for _, param, _ in optimizer.parameters} != own:
            raise ValueError("Trainer: the optimizer was built for other parameters; build it "
                             "with model.parameters() of this model")
        return optimizer
    if not isinstance(optimizer, str):
        raise TypeError(f"Trainer: optimizer must be a name {tuple(optim.OPTIMIZERS)} or a "
                        f"cyconv.optim.Optimizer, got {type(optimizer).__name__}")
    return optim.make(optimizer, model.parameters(), _check_lr(lr, "Trainer"),
                      _check_momentum(momentum, "Trainer"))


def _dropout_generators(model):
    return {layer.name: layer.rng for layer in model.layers
            if isinstance(getattr(layer, "rng", None), np.random.Generator)}


def _new_history():
    return {key: [] for key in HISTORY_KEYS}


def _json_floats(values):
    """Floats for JSON, NaN as None."""
    return [None if not math.isfinite(v) else float(v) for v in np.asarray(values, float)]


# ----------------------------------------------------------------------------------------------
# The Trainer
# ----------------------------------------------------------------------------------------------
class Trainer:
    """Trains ``model`` on ``train`` (a cyconv.data.Dataset), validating on ``val`` each epoch.

    Args:
        model: a cyconv.Sequential whose input shape is the images' (C, H, W) and whose
            output has one score per class.
        train, val: Datasets; val may be None.
        loss: a cyconv.losses loss (default SoftmaxCrossEntropy on the logits).
        optimizer: "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", or an
            Optimizer built on ``model.parameters()`` (then ``lr`` and ``momentum`` are its own).
        lr, momentum: for a named optimizer (Adam takes ``momentum`` as beta1).
        schedule: "constant" (the default) keeps the learning rate; "linear" takes it from
            ``lr`` at the first step down towards 0 at the last (see scheduled_lr). The
            schedule follows ``total_steps``: raising ``epochs`` later stretches the rest of
            the fall, and set_lr() changes the rate the fall starts from.
        batch_size, epochs: the last batch of an epoch is smaller when N is not a multiple.
        seed: seeds the batch shuffler (numpy.random.default_rng(seed)).

    Attributes: ``history`` (dict of lists, see HISTORY_KEYS), ``global_step`` (steps done),
    ``epoch`` (epochs completed), ``batches_per_epoch``, ``total_steps``, ``finished``,
    ``paused``, ``stopped``, ``lr`` (the last step's rate, after the schedule), ``base_lr``
    (the rate the schedule scales), ``schedule``, ``momentum``.
    """

    def __init__(self, model, train, val=None, *, loss=None, optimizer="sgd", lr=1e-3,
                 momentum=0.9, batch_size=64, epochs=1, seed=0, schedule="constant"):
        if not all(hasattr(model, a) for a in ("forward", "backward", "parameters", "layers")):
            raise TypeError(f"Trainer: model must be a cyconv.Sequential, got "
                            f"{type(model).__name__}")
        check_dataset(train, model, "train")
        if val is not None:
            check_dataset(val, model, "validation")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"Trainer: seed must be a non-negative int, got {seed!r}")
        self.model, self.train, self.val = model, train, val
        self.loss = loss_module.SoftmaxCrossEntropy() if loss is None else loss
        if not (hasattr(self.loss, "forward") and hasattr(self.loss, "backward")):
            raise TypeError(f"Trainer: loss must be a cyconv.losses loss, got "
                            f"{type(self.loss).__name__}")
        self.optimizer = _make_optimizer(optimizer, model, lr, momentum)
        self.schedule = _check_schedule(schedule, "Trainer")
        self._base_lr = self.optimizer.lr
        self.batch_size = _positive_int(batch_size, "batch_size")
        self.epochs = _positive_int(epochs, "epochs")
        self.seed = int(seed)
        self.num_classes = _model_classes(model)
        self.batches_per_epoch = -(-len(train.labels) // self.batch_size)
        self.history = _new_history()
        self.global_step = 0
        self.epoch = 0
        # The shuffler, its state when the epoch in progress began (to redraw the same order
        # on resume), that order, and how many of its batches are done.
        self._shuffler = np.random.default_rng(self.seed)
        self._epoch_start_state = None
        self._order = None
        self._batch = 0
        self._totals = _EpochTotals(self.num_classes)
        self._snapshot = _UpdateSnapshot(model, self.optimizer)
        self._step_lock = threading.RLock()
        self._control_lock = threading.Lock()
        self._pause_requested = threading.Event()
        self._stop_requested = threading.Event()
        self._wake = threading.Event()
        self._wake.set()
        self._commands = queue.SimpleQueue()

    # -- properties --------------------------------------------------------------------------
    @property
    def epochs(self):
        return self._epochs

    @epochs.setter
    def epochs(self, value):
        """Settable, e.g. to train on after the run finished."""
        self._epochs = _positive_int(value, "epochs")

    @property
    def finished(self):
        return self.epoch >= self.epochs

    @property
    def paused(self):
        return self._pause_requested.is_set()

    @property
    def stopped(self):
        return self._stop_requested.is_set()

    @property
    def total_steps(self):
        return self.epochs * self.batches_per_epoch

    @property
    def batch_in_epoch(self):
        """Batches done in the epoch in progress (0 between epochs)."""
        return self._batch

    @property
    def lr(self):
        """The learning rate in the optimizer: the last step's (after the schedule), or
        the base rate before the first step."""
        return self.optimizer.lr

    @property
    def base_lr(self):
        """The learning rate the schedule starts from (the one set_lr sets)."""
        return self._base_lr

    @property
    def momentum(self):
        """The optimizer's momentum (Adam: beta1), or None if it has none."""
        return getattr(self.optimizer, "momentum", None)

    # -- control (any thread) ----------------------------------------------------------------
    def pause(self):
        """Make run() wait before its next step (the step in progress finishes)."""
        with self._control_lock:
            self._pause_requested.set()
            self._wake.clear()

    def resume(self):
        """Let a paused run() go on."""
        with self._control_lock:
            self._pause_requested.clear()
            self._wake.set()

    def stop(self):
        """Make run() return before its next step (also when paused). Final for run()."""
        with self._control_lock:
            self._stop_requested.set()
            self._wake.set()

    def set_lr(self, lr):
        """Use learning rate ``lr`` from the next step on (checked now, applied then). With
        the linear schedule, ``lr`` is the rate the fall is scaled from (base_lr)."""
        self._commands.put(("lr", _check_lr(lr, "set_lr")))

    def set_momentum(self, momentum):
        """Use ``momentum`` (Adam: beta1) from the next step on."""
        if not hasattr(self.optimizer, "momentum"):
            raise ValueError(f"set_momentum: the {self.optimizer.name} optimizer has no "
                             f"momentum; use momentum, nesterov or adam")
        self._commands.put(("momentum", _check_momentum(momentum, "set_momentum")))

    def _apply_commands(self):
        while True:
            try:
                attribute, value = self._commands.get_nowait()
            except queue.Empty:
                return
            if attribute == "lr":
                self._base_lr = value
            setattr(self.optimizer, attribute, value)

    def _apply_schedule(self):
        self.optimizer.lr = scheduled_lr(self.schedule, self._base_lr, self.global_step,
                                         self.total_steps)

    # -- running -----------------------------------------------------------------------------
    def run(self):
        """Train until finished or stopped, yielding StepReports and EpochReports.

        While paused it blocks (an Event wait, no busy loop) until resume() or stop().
        """
        while not self.finished and not self.stopped:
            if self.paused:
                self._wake.wait(_PAUSE_WAIT_SECONDS)
                continue
            yield from self.step()

    def step(self):
        """Train on exactly one batch, paused or not: [StepReport], plus an EpochReport when
        the batch ends an epoch. Raises TrainingDiverged (nothing updated) on NaN/inf."""
        with self._step_lock:
            if self.finished:
                raise RuntimeError(f"Trainer.step: training finished after {self.epochs} "
                                   f"epochs; raise trainer.epochs to train on")
            self._apply_commands()
            self._apply_schedule()
            if self._order is None:
                self._begin_epoch()
            images, labels = self._next_batch()
            started = time.perf_counter()
            loss, logits = self._train_on_batch(images, labels)
            predictions = logits.argmax(axis=1)
            seconds = time.perf_counter() - started
            self._batch += 1
            self.global_step += 1
            self._totals.add(loss, labels, predictions, seconds)
            report = StepReport(epoch=self.epoch + 1, step=self.global_step, batch=self._batch,
                                batches_per_epoch=self.batches_per_epoch, loss=loss,
                                accuracy=float(np.mean(predictions == labels)),
                                seconds=seconds, lr=self.optimizer.lr)
            self._record_step(report)
            if self._batch < self.batches_per_epoch:
                return [report]
            return [report, self._end_epoch()]

    def _begin_epoch(self):
        self._epoch_start_state = copy.deepcopy(self._shuffler.bit_generator.state)
        self._order = self._shuffler.permutation(len(self.train.labels))
        self._batch = 0
        self._totals.reset()

    def _next_batch(self):
        index = self._order[self._batch * self.batch_size:(self._batch + 1) * self.batch_size]
        return self.train.images[index], self.train.labels[index]

    def _diverged(self, what, cause):
        step, epoch, batch = self.global_step + 1, self.epoch + 1, self._batch + 1
        message = (f"training diverged at step {step} (epoch {epoch}, batch {batch} of "
                   f"{self.batches_per_epoch}): {what}. Likely cause: {cause}. The weights "
                   f"from before this step were kept.")
        return TrainingDiverged(message, step=step, epoch=epoch, batch=batch, cause=cause)

    def _too_high_cause(self, what="the gradients exploded or the input data is bad"):
        lr = self.optimizer.lr
        return f"the learning rate ({lr:g}) is too high, or {what}; try lr={lr / 10:g}"

    def _train_on_batch(self, images, labels):
        """Forward, loss, backward and update, each result checked for NaN/inf before it is
        used: (loss, logits). Nothing is updated when it raises TrainingDiverged."""
        if not _is_finite(images):
            raise self._diverged("the input batch holds NaN or infinite pixel values",
                                 "bad input data; check the dataset files and normalisation")
        try:
            with np.errstate(over="ignore", invalid="ignore"):    # the results are checked
                logits = self.model.forward(images, training=True)
                loss = float(self.loss.forward(logits, labels))
        except ValueError as error:
            if not _reports_non_finite(error):
                raise
            raise self._diverged(f"the forward pass met NaN/inf values ({error})",
                                 self._too_high_cause()) from error
        if not math.isfinite(loss):
            raise self._diverged(f"the loss is {loss}", self._too_high_cause())
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                self.model.backward(self.loss.backward())
        except ValueError as error:
            if not _reports_non_finite(error):
                raise
            raise self._diverged(f"the backward pass met NaN/inf values ({error})",
                                 self._too_high_cause("the gradients exploded")) from error
        bad = [name for name, _, grad in self.model.parameters() if not _is_finite(grad)]
        if bad:
            raise self._diverged(f"the gradients of {', '.join(bad)} hold NaN/inf",
                                 self._too_high_cause("the gradients exploded"))
        self._snapshot.take()
        with np.errstate(over="ignore", invalid="ignore"):   # checked just below
            self.optimizer.step()
        bad = [name for name, param, _ in self.model.parameters() if not _is_finite(param)]
        if bad:
            self._snapshot.restore()
            raise self._diverged(f"the update made {', '.join(bad)} NaN/inf",
                                 self._too_high_cause("a weight overflowed float range"))
        return loss, logits

    def _end_epoch(self):
        totals = self._totals
        started = time.perf_counter()
        if self.val is not None:
            result = evaluate(self.model, self.val, loss=self.loss)
            val_loss, val_accuracy = result.loss, result.accuracy
            confusion, source = result.confusion, "validation"
        else:
            val_loss = val_accuracy = None
            confusion, source = totals.confusion, "training"
        seconds = totals.seconds + time.perf_counter() - started
        report = EpochReport(epoch=self.epoch + 1, train_loss=totals.loss_sum / totals.seen,
                             train_accuracy=totals.correct / totals.seen, val_loss=val_loss,
                             val_accuracy=val_accuracy,
                             per_class_accuracy=_read_only(per_class_accuracy(confusion)),
                             confusion=_read_only(confusion), seconds=seconds,
                             confusion_source=source)
        self.epoch += 1
        self._order = None
        self._batch = 0
        self._record_epoch(report)
        return report

    def _record_step(self, report):
        history = self.history
        history["step_loss"].append(report.loss)
        history["step_accuracy"].append(report.accuracy)
        history["step_lr"].append(report.lr)
        history["step_seconds"].append(report.seconds)

    def _record_epoch(self, report):
        history = self.history
        history["epoch_train_loss"].append(report.train_loss)
        history["epoch_train_accuracy"].append(report.train_accuracy)
        history["epoch_val_loss"].append(report.val_loss)
        history["epoch_val_accuracy"].append(report.val_accuracy)
        history["epoch_per_class_accuracy"].append(_json_floats(report.per_class_accuracy))
        history["epoch_confusion"].append(report.confusion.tolist())
        history["epoch_seconds"].append(report.seconds)

    def evaluate(self, dataset, batch_size=_EVAL_BATCH_SIZE):
        """EvalReport of the model on ``dataset``, taken between two steps (any thread)."""
        with self._step_lock:
            return evaluate(self.model, dataset, loss=self.loss, batch_size=batch_size)

    # -- saving and resuming -----------------------------------------------------------------
    def state(self):
        """The trainer's position as JSON-ready data (see io.save's trainer_state)."""
        with self._step_lock:
            in_epoch = self._order is not None
            shuffler = self._epoch_start_state if in_epoch else self._shuffler.bit_generator.state
            return {
                "version": STATE_VERSION, "epoch": self.epoch, "global_step": self.global_step,
                "epochs": self.epochs, "batch_size": self.batch_size, "seed": self.seed,
                "schedule": self.schedule, "base_lr": self._base_lr,
                "train_size": len(self.train.labels), "batch_in_epoch": self._batch,
                "epoch_in_progress": in_epoch, "shuffler_state": copy.deepcopy(shuffler),
                "epoch_totals": self._totals.to_state(),
                "dropout_rng_states": {name: copy.deepcopy(rng.bit_generator.state)
                                       for name, rng in _dropout_generators(self.model).items()},
            }

    def load_state(self, state, history=None):
        """Continue from a position made by state() (and its history), e.g. from a checkpoint."""
        with self._step_lock:
            if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
                raise ValueError(f"Trainer.load_state: not a trainer state of version "
                                 f"{STATE_VERSION}")
            if state["train_size"] != len(self.train.labels):
                raise ValueError(f"Trainer.load_state: the run was saved training on "
                                 f"{state['train_size']} examples but this train set has "
                                 f"{len(self.train.labels)}; resume with the same data "
                                 f"(dataset, subset size, validation fraction and seed)")
            if state["batch_size"] != self.batch_size:
                raise ValueError(f"Trainer.load_state: the run used batch_size "
                                 f"{state['batch_size']}, this trainer {self.batch_size}")
            self._shuffler.bit_generator.state = state["shuffler_state"]
            self._order = None
            if state["epoch_in_progress"]:
                self._begin_epoch()    # redraws the same permutation from the saved state
                self._batch = int(state["batch_in_epoch"])
            self._totals.load_state(state["epoch_totals"])
            generators = _dropout_generators(self.model)
            for name, saved in state.get("dropout_rng_states", {}).items():
                if name in generators:
                    generators[name].bit_generator.state = saved
            self.epoch, self.global_step = int(state["epoch"]), int(state["global_step"])
            # States written before schedules existed trained at a constant rate.
            self.schedule = _check_schedule(state.get("schedule", "constant"),
                                            "Trainer.load_state")
            self._base_lr = _check_lr(state.get("base_lr", self.optimizer.lr),
                                      "Trainer.load_state")
            self.history = _new_history()
            for key, values in (history or {}).items():
                self.history[key] = list(values)

    def save(self, path, extra=None):
        """Write model, optimizer state, history and position to one .npz (atomically)."""
        from . import io

        with self._step_lock:
            io.save(path, self.model, optimizer=self.optimizer, history=self.history,
                    trainer_state=self.state(), extra=extra)

    @classmethod
    def from_checkpoint(cls, checkpoint, train, val=None, *, epochs=None, loss=None):
        """A Trainer that continues a saved run exactly where it stopped.

        ``checkpoint``: a path, or the dict ``cyconv.io.load`` returned. ``train``/``val``
        must be the same data as when it was saved (same subset and order of examples).
        ``epochs``: the total to train to (default: the saved run's).
        """
        from . import io

        saved = checkpoint if isinstance(checkpoint, dict) else io.load(checkpoint)
        where = saved.get("path", "the checkpoint")
        state = saved.get("trainer_state")
        if state is None or saved.get("optimizer_state") is None:
            raise ValueError(f"{where}: holds a model but no training position or optimizer "
                             f"state, so training cannot resume from it (start a new run with "
                             f"its weights instead)")
        optimizer = io.restore_optimizer(saved["model"], saved["optimizer_state"])
        trainer = cls(saved["model"], train, val, loss=loss, optimizer=optimizer,
                      batch_size=state["batch_size"], epochs=epochs or state["epochs"],
                      seed=state["seed"])
        trainer.load_state(state, saved.get("history"))
        return trainer


def fit(model, train, val=None, *, on_report=None, **kwargs):
    """Train to the end with a Trainer(model, train, val, **kwargs); returns its history.

    ``on_report(report)`` is called with every StepReport and EpochReport if given.
    """
    trainer = Trainer(model, train, val, **kwargs)
    for report in trainer.run():
        if on_report is not None:
            on_report(report)
    return trainer.history
