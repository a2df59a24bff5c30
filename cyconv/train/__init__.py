"""Training: one stepping API that the command line and the app share.

>>> trainer = Trainer(model, train, val, optimizer="adam", lr=1e-3, epochs=2)  # doctest: +SKIP
>>> for report in trainer.run():                                              # doctest: +SKIP
...     print(report)

Modules: ``trainer`` (Trainer: ``step()`` and the plain ``run()`` generator), ``settings``
(the rule for each setting, and the learning-rate schedules), ``metrics`` (evaluate,
confusion matrix, per-class accuracy), ``reports`` (StepReport, EpochReport,
TrainingDiverged), ``state`` (the epoch totals and history a checkpoint keeps) and ``safety``
(finite checks and the pre-update snapshot).
"""
from .metrics import EvalReport, check_dataset, confusion_matrix, evaluate, per_class_accuracy
from .reports import EpochReport, StepReport, TrainingDiverged
from .settings import SCHEDULES, scheduled_lr
from .state import HISTORY_KEYS
from .trainer import STATE_VERSION, Trainer

__all__ = ["Trainer", "StepReport", "EpochReport", "EvalReport", "TrainingDiverged", "fit",
           "evaluate", "confusion_matrix", "per_class_accuracy", "check_dataset", "SCHEDULES",
           "scheduled_lr", "HISTORY_KEYS", "STATE_VERSION"]


def fit(model, train, val=None, *, on_report=None, **kwargs):
    """Train to the end with a Trainer(model, train, val, **kwargs); returns its history.

    ``on_report(report)`` is called with every StepReport and EpochReport if given.
    """
    trainer = Trainer(model, train, val, **kwargs)
    for report in trainer.run():
        if on_report is not None:
            on_report(report)
    return trainer.history
