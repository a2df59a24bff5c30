"""The Trainer: one batch per ``step()``; ``run()`` is nothing but steps until the last epoch.

The trainer only steps. Whoever drives it (the command line's loop, the lab session) decides
when to pause, stop or change a setting, between two steps: to stop, stop iterating ``run()``
(or stop calling ``step()``); to change the learning rate, set ``trainer.base_lr``. There are
no locks, events or queues here, so a trainer belongs to one thread at a time.

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
import math
import time

import numpy as np

from .. import losses as loss_module
from .. import optim
from .._arrays import read_only
from . import settings as rules
from .metrics import EVAL_BATCH_SIZE, check_dataset, evaluate, model_classes, plain_loss
from .metrics import per_class_accuracy as per_class
from .reports import EpochReport, StepReport, TrainingDiverged
from .safety import MAX_UPDATE_RATIO, UpdateSnapshot, is_finite, reports_non_finite
from .state import EpochTotals, dropout_generators, json_floats, new_history

__all__ = ["Trainer", "STATE_VERSION"]

# 2: the position only; the settings it was trained with are Trainer.settings.
STATE_VERSION = 2


def _make_optimizer(optimizer, model, lr, momentum):
    if isinstance(optimizer, optim.Optimizer):
        own = {id(param) for _, param, _ in model.parameters()}
        if {id(param) for _, param, _ in optimizer.parameters} != own:
            raise ValueError("Trainer: the optimizer was built for other parameters; build it "
                             "with model.parameters() of this model")
        return optimizer
    if not isinstance(optimizer, str):
        raise TypeError(f"Trainer: optimizer must be a name {rules.OPTIMIZER_NAMES} or a "
                        f"cyconv.optim.Optimizer, got {type(optimizer).__name__}")
    return optim.make(rules.check_optimizer_name(optimizer), model.parameters(),
                      rules.check_lr(lr), rules.check_momentum(momentum))


def _make_loss(loss, label_smoothing):
    if loss is None:
        return loss_module.SoftmaxCrossEntropy(
            label_smoothing=rules.check_label_smoothing(label_smoothing))
    if label_smoothing:
        raise ValueError("Trainer: give label_smoothing to the loss or to the trainer, not both")
    if not (hasattr(loss, "forward") and hasattr(loss, "backward")):
        raise TypeError(f"Trainer: loss must be a cyconv.losses loss, got {type(loss).__name__}")
    return loss


def _optimizer_name(optimizer):
    return "nesterov" if getattr(optimizer, "nesterov", False) else optimizer.name


def _boundary(check, value):
    """Run a settings rule and name the Trainer in its message."""
    try:
        return check(value)
    except ValueError as error:
        message = str(error)
        raise ValueError(message if message.startswith("Trainer") else f"Trainer: {message}") \
            from None


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
            the fall, and setting ``base_lr`` changes the rate the fall starts from.
        batch_size, epochs: the last batch of an epoch is smaller when N is not a multiple.
        seed: seeds the batch shuffler (numpy.random.default_rng(seed)).
        label_smoothing: ε for the default cross-entropy (training only: validation and
            ``evaluate`` report the plain cross-entropy).

    Every setting is checked once, here or by its setter. The learning rate lives in the
    optimizer (``lr``: the last step's rate, after the schedule); the rate the schedule
    scales is ``base_lr``. ``settings`` is all of them as JSON-ready data.

    Attributes: ``history`` (dict of lists, see HISTORY_KEYS), ``global_step`` (steps done),
    ``epoch`` (epochs completed), ``batches_per_epoch``, ``total_steps``, ``finished``.
    """

    def __init__(self, model, train, val=None, *, loss=None, optimizer="sgd", lr=1e-3,
                 momentum=0.9, batch_size=64, epochs=1, seed=0, schedule="constant",
                 label_smoothing=0.0):
        if not all(hasattr(model, a) for a in ("forward", "backward", "parameters", "layers")):
            raise TypeError(f"Trainer: model must be a cyconv.Sequential, got "
                            f"{type(model).__name__}")
        check_dataset(train, model, "train")
        if val is not None:
            check_dataset(val, model, "validation")
        self.model, self.train, self.val = model, train, val
        self.loss = _boundary(lambda value: _make_loss(loss, value), label_smoothing)
        self.optimizer = _boundary(lambda name: _make_optimizer(name, model, lr, momentum),
                                   optimizer)
        self.schedule = schedule
        self._base_lr = self.optimizer.lr
        self.batch_size = _boundary(rules.check_batch_size, batch_size)
        self.epochs = epochs
        self.seed = _boundary(rules.check_seed, seed)
        self.num_classes = model_classes(model)
        self.batches_per_epoch = -(-len(train.labels) // self.batch_size)
        self.history = new_history()
        self.global_step = 0
        self.epoch = 0
        # The shuffler, its state when the epoch in progress began (to redraw the same order
        # on resume), that order, and how many of its batches are done.
        self._shuffler = np.random.default_rng(self.seed)
        self._epoch_start_state = None
        self._order = None
        self._batch = 0
        self._totals = EpochTotals(self.num_classes)
        self._snapshot = UpdateSnapshot(model, self.optimizer)

    # -- settings (each checked by its setter) -------------------------------------------------
    @property
    def epochs(self):
        return self._epochs

    @epochs.setter
    def epochs(self, value):
        """Settable, e.g. to train on after the run finished."""
        self._epochs = _boundary(rules.check_epochs, value)

    @property
    def schedule(self):
        return self._schedule

    @schedule.setter
    def schedule(self, value):
        self._schedule = _boundary(rules.check_schedule, value)

    @property
    def base_lr(self):
        """The learning rate the schedule starts from; set it to change the rate from the
        next step on (with the linear schedule the rest of the fall is scaled from it)."""
        return self._base_lr

    @base_lr.setter
    def base_lr(self, value):
        self._base_lr = _boundary(rules.check_lr, value)

    @property
    def lr(self):
        """The learning rate in the optimizer: the last step's (after the schedule), or
        the base rate before the first step."""
        return self.optimizer.lr

    @property
    def momentum(self):
        """The optimizer's momentum (Adam: beta1), or None if it has none; settable."""
        return getattr(self.optimizer, "momentum", None)

    @momentum.setter
    def momentum(self, value):
        if not hasattr(self.optimizer, "momentum"):
            raise ValueError(f"Trainer: the {self.optimizer.name} optimizer has no momentum; "
                             f"use one of {rules.MOMENTUM_OPTIMIZERS}")
        self.optimizer.momentum = _boundary(rules.check_momentum, value)

    @property
    def label_smoothing(self):
        return float(getattr(self.loss, "label_smoothing", 0.0))

    @property
    def settings(self):
        """The run's settings as JSON-ready data: what a checkpoint's "training" block holds."""
        return {"optimizer": _optimizer_name(self.optimizer), "lr": self.base_lr,
                "momentum": self.momentum, "batch_size": self.batch_size,
                "epochs": self.epochs, "seed": self.seed, "schedule": self.schedule,
                "label_smoothing": self.label_smoothing}

    # -- position --------------------------------------------------------------------------------
    @property
    def finished(self):
        return self.epoch >= self.epochs

    @property
    def total_steps(self):
        return self.epochs * self.batches_per_epoch

    @property
    def batch_in_epoch(self):
        """Batches done in the epoch in progress (0 between epochs)."""
        return self._batch

    # -- running ---------------------------------------------------------------------------------
    def run(self):
        """Step until the last epoch is done, yielding StepReports and EpochReports.

        A plain generator: stopping iterating it stops training between two steps."""
        while not self.finished:
            yield from self.step()

    def step(self):
        """Train on exactly one batch: [StepReport], plus an EpochReport when the batch ends
        an epoch. Raises TrainingDiverged (nothing updated) on NaN/inf."""
        if self.finished:
            raise RuntimeError(f"Trainer.step: training finished after {self.epochs} "
                               f"epochs; raise trainer.epochs to train on")
        self.optimizer.lr = rules.scheduled_lr(self.schedule, self._base_lr, self.global_step,
                                               self.total_steps)
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

    def _checked(self, call, stage, what):
        """call() with NaN/inf warnings silenced (its results are checked), turning the
        kernels' NaN/inf ValueError into TrainingDiverged."""
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                return call()
        except ValueError as error:
            if not reports_non_finite(error):
                raise
            raise self._diverged(f"the {stage} pass met NaN/inf values ({error})",
                                 self._too_high_cause(what)) from error

    def _train_on_batch(self, images, labels):
        """Forward, loss, backward and update, each result checked for NaN/inf before it is
        used: (loss, logits). Nothing is updated when it raises TrainingDiverged."""
        if not is_finite(images):
            raise self._diverged("the input batch holds NaN or infinite pixel values",
                                 "bad input data; check the dataset files and normalisation")

        def forward():
            logits = self.model.forward(images, training=True)
            return float(self.loss.forward(logits, labels)), logits

        loss, logits = self._checked(forward, "forward",
                                     "the gradients exploded or the input data is bad")
        if not math.isfinite(loss):
            raise self._diverged(f"the loss is {loss}", self._too_high_cause())
        self._checked(lambda: self.model.backward(self.loss.backward()), "backward",
                      "the gradients exploded")
        bad = [name for name, _, grad in self.model.parameters() if not is_finite(grad)]
        if bad:
            raise self._diverged(f"the gradients of {', '.join(bad)} hold NaN/inf",
                                 self._too_high_cause("the gradients exploded"))
        self._snapshot.take()
        with np.errstate(over="ignore", invalid="ignore"):   # checked just below
            self.optimizer.step()
        bad = [name for name, param, _ in self.model.parameters() if not is_finite(param)]
        if bad:
            self._snapshot.restore()
            raise self._diverged(f"the update made {', '.join(bad)} NaN/inf",
                                 self._too_high_cause("a weight overflowed float range"))
        ratio = self._snapshot.update_ratio()
        if not ratio <= MAX_UPDATE_RATIO:
            self._snapshot.restore()
            raise self._diverged(f"one update moved the weights {ratio:.3g}× their own size",
                                 self._too_high_cause("the gradients exploded"))
        return loss, logits

    def _end_epoch(self):
        totals = self._totals
        started = time.perf_counter()
        if self.val is not None:
            result = self.evaluate(self.val)
            val_loss, val_accuracy = result.loss, result.accuracy
            confusion, source = result.confusion, "validation"
        else:
            val_loss = val_accuracy = None
            confusion, source = totals.confusion, "training"
        seconds = totals.seconds + time.perf_counter() - started
        report = EpochReport(epoch=self.epoch + 1, train_loss=totals.loss_sum / totals.seen,
                             train_accuracy=totals.correct / totals.seen, val_loss=val_loss,
                             val_accuracy=val_accuracy,
                             per_class_accuracy=read_only(per_class(confusion)),
                             confusion=read_only(confusion), seconds=seconds,
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
        history["epoch_per_class_accuracy"].append(json_floats(report.per_class_accuracy))
        history["epoch_confusion"].append(report.confusion.tolist())
        history["epoch_seconds"].append(report.seconds)

    def evaluate(self, dataset, batch_size=EVAL_BATCH_SIZE):
        """EvalReport of the model on ``dataset`` with the plain loss (no label smoothing)."""
        return evaluate(self.model, dataset, loss=plain_loss(self.loss), batch_size=batch_size)

    # -- saving and resuming -----------------------------------------------------------------
    def state(self):
        """The trainer's position as JSON-ready data (a checkpoint's trainer_state)."""
        in_epoch = self._order is not None
        shuffler = self._epoch_start_state if in_epoch else self._shuffler.bit_generator.state
        return {
            "version": STATE_VERSION, "epoch": self.epoch, "global_step": self.global_step,
            "train_size": len(self.train.labels), "batches_per_epoch": self.batches_per_epoch,
            "batch_in_epoch": self._batch, "epoch_in_progress": in_epoch,
            "shuffler_state": copy.deepcopy(shuffler), "epoch_totals": self._totals.to_state(),
            "dropout_rng_states": {name: copy.deepcopy(rng.bit_generator.state)
                                   for name, rng in dropout_generators(self.model).items()},
        }

    def load_state(self, state, history=None):
        """Continue from a position made by state() (and its history), e.g. from a checkpoint.
        The trainer must have the run's settings (see from_checkpoint). A malformed state is
        one ValueError, and the trainer is left as it was."""
        if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
            raise ValueError(f"Trainer.load_state: not a trainer state of version "
                             f"{STATE_VERSION}")
        before = self.state(), self.history
        try:
            self._load_position(state, history)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            if isinstance(error, ValueError) and str(error).startswith("Trainer.load_state"):
                raise
            self._load_position(*before)
            raise ValueError(f"Trainer.load_state: the saved position is malformed "
                             f"({type(error).__name__}: {error})") from None

    def _load_position(self, state, history):
        if state["train_size"] != len(self.train.labels):
            raise ValueError(f"Trainer.load_state: the run was saved training on "
                             f"{state['train_size']} examples but this train set has "
                             f"{len(self.train.labels)}; resume with the same data "
                             f"(dataset, subset size, validation fraction and seed)")
        if state["batches_per_epoch"] != self.batches_per_epoch:
            raise ValueError(f"Trainer.load_state: the run took {state['batches_per_epoch']} "
                             f"batches per epoch, this trainer {self.batches_per_epoch}; "
                             f"resume with the run's batch size")
        self._shuffler.bit_generator.state = state["shuffler_state"]
        self._order = None
        if state["epoch_in_progress"]:
            self._begin_epoch()    # redraws the same permutation from the saved state
            self._batch = int(state["batch_in_epoch"])
        self._totals.load_state(state["epoch_totals"])
        generators = dropout_generators(self.model)
        for name, saved in state.get("dropout_rng_states", {}).items():
            if name in generators:
                generators[name].bit_generator.state = saved
        self.epoch, self.global_step = int(state["epoch"]), int(state["global_step"])
        self.history = new_history()
        for key, values in (history or {}).items():
            self.history[key] = list(values)

    def save(self, path, *, normalization=None, dataset=None, evaluation=None, extra=None,
             attachments=None):
        """Write the model, the settings, the optimizer state, the history and the position
        to one checkpoint (cyconv.io.save; atomically), with what the caller knows besides:
        the input ``normalization``, the ``dataset`` identity, the last test ``evaluation``
        and a UI's ``extra`` state and named ``attachments`` (arrays)."""
        from .. import io

        io.save(path, self.model, normalization=normalization, dataset=dataset,
                training=self.settings, optimizer=self.optimizer, trainer_state=self.state(),
                history=self.history, evaluation=evaluation, extra=extra,
                attachments=attachments)

    @classmethod
    def from_checkpoint(cls, checkpoint, train, val=None, *, epochs=None, loss=None):
        """A Trainer that continues a saved run exactly where it stopped.

        ``checkpoint``: a path, or the Checkpoint ``cyconv.io.load`` returned. ``train``/``val``
        must be the same data as when it was saved (same subset and order of examples;
        ``cyconv.data.load_identity(checkpoint.dataset, checkpoint.normalization)`` reloads
        it). ``epochs``: the total to train to (default: the saved run's). ``loss``: replaces
        the saved run's cross-entropy (and its label smoothing).
        """
        from .. import io

        saved = checkpoint if isinstance(checkpoint, io.Checkpoint) else io.load(checkpoint)
        if saved.trainer_state is None or saved.optimizer_state is None \
                or saved.training is None:
            raise ValueError(f"{saved.path}: holds a model but no training position or "
                             f"optimizer state, so training cannot resume from it (start a "
                             f"new run with its weights instead)")
        settings = saved.training
        missing = [key for key in ("batch_size", "epochs", "seed", "schedule", "lr",
                                   "label_smoothing") if key not in settings]
        if missing:
            raise ValueError(f"{saved.path}: the saved training settings lack {missing}")
        optimizer = io.restore_optimizer(saved.model, saved.optimizer_state)
        trainer = cls(saved.model, train, val, loss=loss, optimizer=optimizer,
                      batch_size=settings["batch_size"], epochs=epochs or settings["epochs"],
                      seed=settings["seed"], schedule=settings["schedule"],
                      label_smoothing=settings["label_smoothing"] if loss is None else 0.0)
        trainer.base_lr = settings["lr"]
        trainer.load_state(saved.trainer_state, saved.history)
        return trainer
