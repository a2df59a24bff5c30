"""Checkpoints of cyconv 0.1 (format version 1), converted to the fields of version 2.

0.1 had two writers. The command stored its run in ``extra.run`` (preset, data, n_train,
n_test, val_fraction, seed, batch, optimizer, schedule, label_smoothing, data_path), the
normalisation in ``extra.normalization`` as {"mean", "std"} and the class names in
``extra.classes``. The app stored its TrainingSettings in ``extra.settings`` (dataset, folder,
n_train, n_eval, optimizer, lr, momentum, batch_size, epochs, seed, ...) and the normalisation
in ``extra.normalization`` as a [mean, std] list. Both kept the run's settings inside the
trainer state as well; version 2 keeps them once, in ``training``.
"""
import math

from ._layout import CheckpointError
from ._meta import as_number

__all__ = ["convert_v1"]

# The app of 0.1 always held out this fraction of the training images for validation.
APP_VAL_FRACTION = 0.1
# Settings version 1 kept in the trainer state; version 2 keeps them in "training" only.
_V1_STATE_SETTINGS = ("epochs", "batch_size", "seed", "schedule", "base_lr")


def _normalization(path, saved):
    from ..data.identity import Normalization

    if saved is None:
        return None
    try:
        if isinstance(saved, dict):
            return Normalization(saved["mean"], saved["std"])
        mean, std = saved
        return Normalization(mean, std)
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{path}: the saved normalisation is malformed ({error})") \
            from None


def _count_or_none(value):
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 \
        else None


def _dataset(extra, image_shape):
    run, app = extra.get("run"), extra.get("settings")
    if isinstance(run, dict) and run.get("data"):
        return {"name": run["data"], "path": run.get("data_path"),
                "n_train": _count_or_none(run.get("n_train")),
                "n_test": _count_or_none(run.get("n_test")),
                "val_fraction": as_number(run.get("val_fraction")) or 0.0,
                "seed": int(run.get("seed") or 0), "image_shape": list(image_shape),
                "classes": extra.get("classes")}
    if isinstance(app, dict) and app.get("dataset"):
        return {"name": app["dataset"], "path": app.get("folder"),
                "n_train": _count_or_none(app.get("n_train")),
                "n_test": _count_or_none(app.get("n_eval")),
                "val_fraction": APP_VAL_FRACTION, "seed": int(app.get("seed") or 0),
                "image_shape": list(image_shape), "classes": None}
    return None


def _training(extra, state, optimizer):
    run = extra.get("run") if isinstance(extra.get("run"), dict) else {}
    app = extra.get("settings") if isinstance(extra.get("settings"), dict) else {}
    state = state if isinstance(state, dict) else {}
    config = (optimizer or {}).get("config") or {}
    if not (run or app or state):
        return None
    name = run.get("optimizer") or app.get("optimizer") or \
        ("nesterov" if config.get("nesterov") else config.get("name"))
    momentum = config.get("momentum", config.get("beta1", app.get("momentum")))
    return {"optimizer": name,
            "lr": as_number(state.get("base_lr")) or as_number(app.get("lr"))
            or as_number(config.get("lr")),
            "momentum": as_number(momentum),
            "batch_size": state.get("batch_size", run.get("batch", app.get("batch_size"))),
            "epochs": state.get("epochs", app.get("epochs")),
            "seed": state.get("seed", run.get("seed", app.get("seed", 0))),
            # 0.1 wrote "schedule" only once it had one; older runs trained at a constant rate.
            "schedule": state.get("schedule", run.get("schedule", "constant")),
            "label_smoothing": as_number(run.get("label_smoothing")) or 0.0}


def _trainer_state(state):
    if not isinstance(state, dict):
        return None
    converted = {key: value for key, value in state.items() if key not in _V1_STATE_SETTINGS}
    batch_size, size = state.get("batch_size"), state.get("train_size")
    if isinstance(batch_size, int) and isinstance(size, int) and batch_size > 0:
        converted["batches_per_epoch"] = math.ceil(size / batch_size)
    converted["version"] = 2
    return converted


def _evaluation(extra, dataset):
    accuracy = as_number(extra.get("test_accuracy"))
    if accuracy is None:
        return None
    return {"split": "test", "n": (dataset or {}).get("n_test"), "loss": None,
            "accuracy": accuracy}


def convert_v1(path, meta):
    """The version-2 blocks (normalization, dataset, training, trainer_state, evaluation,
    extra) of a version-1 metadata dict. The app's own state stays in extra, its settings
    included: the app of this version still keeps its form's settings there."""
    extra = meta.get("extra") if isinstance(meta.get("extra"), dict) else {}
    dataset = _dataset(extra, meta["model"]["input_shape"])
    leftover = {key: value for key, value in extra.items()
                if key not in ("run", "normalization", "classes", "test_accuracy")}
    return {"normalization": _normalization(path, extra.get("normalization")),
            "dataset": dataset,
            "training": _training(extra, meta.get("trainer_state"), meta.get("optimizer")),
            "trainer_state": _trainer_state(meta.get("trainer_state")),
            "evaluation": _evaluation(extra, dataset), "extra": leftover or None}
