"""See it learn, in a lab session: the time machine, the doctor and two runs side by side.

``install(session)`` adds a :class:`LearnRecorder` to ``session.recorders``; from then on,
every ``every`` steps (doubling as the history thins) and at the run's last step, it runs the
probe batch (the first ``probe_size`` images of the live test subset) through the network
once and keeps:

- a :class:`cyconv.monitor.Moment` (filters, probe activations of the first
  ``picture_probe`` images, metrics, probe confusion) in a bounded History;
- a :class:`cyconv.monitor.Checkup` (per-layer gradient norms, update-to-weight ratios
  measured against the weights of just before that step, dead ReLUs, histograms).

Both are saved with the session as checkpoint attachments and come back when it is opened.
A kept run (``compare.keep``) survives new runs, so the next one can be compared with it.
The operations registered here are what the app's timeline, compare and doctor views ask.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from .. import schema
from .._arrays import softmax
from ..monitor import compare, doctor, experiments, gif, stats
from ..monitor.history import DEFAULT_MAX_BYTES, History, Moment
from ..monitor.log import CheckupLog
from ..train.metrics import confusion_matrix
from . import probes
from .errors import LabError
from .operations import operation

__all__ = ["LearnRecorder", "install", "recorder_of", "record_of", "EXPERIMENT_STEPS"]

#: Steps a "break it" experiment trains, and the training images it draws its batches from.
EXPERIMENT_STEPS = 30
EXPERIMENT_IMAGES = 2000
#: The most steps a "what if" run trains (it runs in the session's thread, between steps).
WHAT_IF_MAX_STEPS = 1000


class LearnRecorder:
    """The session recorder of "see it learn" (see the module docstring). A recording costs
    about two thirds of a training step of mnist_cnn (a 16-image forward pass, eleven
    histograms, the copies); every 20 steps that is ~4 % of the training time."""

    def __init__(self, *, every: int = 20, max_bytes: int = DEFAULT_MAX_BYTES, probe_size: int = 16,
                 picture_probe: int = 8, max_checkups: int = 1000):
        self.history = History(every=every, max_bytes=max_bytes)
        self.log = CheckupLog(max_checkups)
        self.probe_size, self.picture_probe = probe_size, picture_probe
        self.kept: compare.RunRecord | None = None     # not cleared: it is there to outlive its run
        self._before: dict | None = None
        self._before_step = -1

    def clear(self) -> None:
        self.history.clear()
        self.log.clear()
        self._before, self._before_step = None, -1

    def record(self, session, update) -> None:
        step = session.step_count
        model = session.model
        due = self.history.due(step) or update.final is not None      # a run's last step is always kept
        if due and session._eval is not None and len(session._eval):
            self._take(session, step, update.reports[0])
        if self.history.due(step + 1) or step + 1 == session.trainer.total_steps:   # measure the next update
            self._before, self._before_step = stats.weights_of(model), step

    def _take(self, session, step: int, report) -> None:
        model = session.model
        images = session._eval.images[:self.probe_size]
        labels = session._eval.labels[:self.probe_size]
        trace = model.forward_trace(images)
        before = self._before if self._before_step == step - 1 else None
        self.log.add(stats.checkup(model, step, report.loss, trace, before))
        logits = trace[-1][1]
        probabilities = softmax(logits)
        predictions = probabilities.argmax(axis=1)
        probe_loss = float(-np.mean(np.log(np.maximum(probabilities[np.arange(len(labels)), labels], 1e-12))))
        types = {name: layer.type_name for name, layer in model.named_layers()}
        kept = {name: output[:self.picture_probe] for name, output in trace
                if _is_activation(types[name]) or name == trace[-1][0]}
        filters = {name: layer.params["W"] for name, layer in model.named_layers() if layer.type_name == "Conv2D"}
        metrics = {"loss": report.loss, "accuracy": report.accuracy, "probe_loss": probe_loss,
                   "probe_accuracy": float(np.mean(predictions == labels)), "lr": report.lr}
        self.history.add(Moment.of(step, filters, kept, metrics,
                                   confusion_matrix(labels, predictions, logits.shape[1])))

    def attachments(self) -> dict:
        return {**self.history.to_arrays("learn/history/"), **self.log.to_arrays("learn/doctor/")}

    def restore(self, session, attachments) -> None:
        """Take the history and checkups of an opened run (a damaged part is dropped, not fatal:
        the run itself opened)."""
        self.clear()
        try:
            history = History.from_arrays(attachments, "learn/history/")
            types = {name: layer.type_name for name, layer in session.model.named_layers()}
            log = CheckupLog.from_arrays(attachments, types, "learn/doctor/", self.log.capacity)
        except (KeyError, ValueError, TypeError, IndexError):
            return
        if history is not None:
            self.history = history
        if log is not None:
            self.log = log


def _is_activation(type_name: str) -> bool:
    return schema.spec(type_name).role == "activation"


def install(session, **options) -> LearnRecorder:
    """The session's LearnRecorder, added to ``session.recorders`` if it has none yet."""
    found = recorder_of(session, required=False)
    if found is None:
        found = LearnRecorder(**options)
        session.recorders.append(found)
    return found


def recorder_of(session, *, required: bool = True) -> LearnRecorder | None:
    for recorder in session.recorders:
        if isinstance(recorder, LearnRecorder):
            return recorder
    if required:
        raise LabError("timeline.no_history")
    return None


def record_of(session, label: str, *, final: bool = True) -> compare.RunRecord:
    """The session's run as a RunRecord: the final whole-test evaluation if the run ended (and
    ``final``), else one on the live subset now."""
    model = session.model
    ended = final and session.final is not None and session.final.confusion.size
    evaluation = session.final if ended else None
    if evaluation is None:
        session._require_eval("compare.nothing_kept")
        evaluation = session.evaluation_if_due(force=True)
    convs = [layer.params["W"] for _, layer in model.named_layers() if layer.type_name == "Conv2D"]
    settings = dataclasses.asdict(session.settings) if session.settings is not None else {}
    history = session.trainer.history if session.trainer is not None else session.info.history
    return compare.RunRecord.of(label, settings, session.network or model.config(), history.get("step_loss", ()),
                                convs[0] if convs else None, evaluation.confusion, evaluation.accuracy,
                                session.step_count, session.info.classes)


# -- operations --------------------------------------------------------------------------------
@operation("timeline.history")
def timeline_history(session) -> tuple:
    """Every recorded Moment, oldest first (read-only; the view scrubs them itself)."""
    return recorder_of(session).history.moments


@operation("timeline.gif")
def timeline_gif(session, path: str, layer: str | None = None) -> tuple:
    """Write the filters' evolution to ``path`` as a GIF: (path, frames)."""
    history = recorder_of(session).history
    if not len(history):
        raise LabError("timeline.no_history")
    if not history.moments[0].filters:
        raise LabError("timeline.no_filters")
    return str(path), gif.filters_gif(history, path, layer)


@operation("compare.keep")
def compare_keep(session) -> compare.RunRecord:
    """Keep the session's run to compare the next one with."""
    recorder = install(session)
    recorder.kept = record_of(session, "kept")
    return recorder.kept


@operation("compare.show")
def compare_show(session) -> tuple:
    """(kept RunRecord, current RunRecord, the differences between them)."""
    kept = install(session).kept
    if kept is None:
        raise LabError("compare.nothing_kept")
    current = record_of(session, "current")
    return kept, current, compare.differences(kept, current)


@operation("compare.what_if")
def compare_what_if(session, change: dict) -> tuple:
    """Train the session's run again from the same seed, for as many steps, with ``change``
    ({setting: value}, e.g. {"lr": 0.02}) applied, apart from the session: (this run's
    RunRecord, the other run's, the differences)."""
    if session.trainer is None or session.step_count == 0:
        raise LabError("compare.nothing_kept")
    settings = dataclasses.replace(session.settings, **change)
    other = _train_like(session, settings, min(session.step_count, WHAT_IF_MAX_STEPS))
    current = record_of(session, "current", final=False)      # both on the live subset
    return current, other, compare.differences(current, other)


def _train_like(session, settings, steps: int) -> compare.RunRecord:
    """A RunRecord of the session's network trained ``steps`` batches with ``settings`` on its data."""
    from ..model import Sequential
    from ..train import Trainer

    network = session.network or session.model.config()
    model = Sequential.from_config(network, seed=settings.seed)
    trainer = Trainer(model, session.trainer.train, optimizer=settings.optimizer, lr=settings.lr,
                      momentum=settings.momentum, batch_size=settings.batch_size, epochs=1 << 20, seed=settings.seed)
    for _ in range(steps):
        trainer.step()
    evaluation = probes.evaluation(model, session._eval, steps)
    convs = [layer.params["W"] for _, layer in model.named_layers() if layer.type_name == "Conv2D"]
    return compare.RunRecord.of("what if", dataclasses.asdict(settings), network, trainer.history["step_loss"],
                                convs[0] if convs else None, evaluation.confusion, evaluation.accuracy, steps,
                                session.info.classes)


@operation("doctor.examine")
def doctor_examine(session) -> tuple:
    """(the run's checkups, oldest first; the doctor's diagnoses of them)."""
    checkups = recorder_of(session).log.checkups
    return checkups, doctor.diagnose(checkups)


@operation("doctor.break")
def doctor_break(session, name: str) -> experiments.Experiment:
    """Run "break it" experiment ``name`` on the session's network and training images (its own
    model: the run is not touched)."""
    if session.trainer is None:
        raise LabError("doctor.nothing")
    train = session.trainer.train
    train = train.subset(np.arange(min(EXPERIMENT_IMAGES, len(train))))
    return experiments.run_experiment(name, session.network or session.model.config(), train,
                                      steps=EXPERIMENT_STEPS, seed=session.settings.seed)
