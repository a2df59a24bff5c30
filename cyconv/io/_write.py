"""Writing a checkpoint: JSON-ready metadata plus the arrays, atomically."""
import inspect
import json
import os

import numpy as np

from .. import optim
from .._files import atomic_write
from ..data.identity import Normalization
from ..model import Sequential
from . import _attachments
from ._layout import BUFFER_PREFIX, FORMAT, META_KEY, OPTIM_PREFIX, PARAM_PREFIX, VERSION

__all__ = ["atomic_write", "optimizer_config", "save", "to_json"]


def to_json(value, what):
    """``value`` as plain JSON data (numpy numbers and arrays, tuples converted)."""
    def convert(obj):
        if isinstance(obj, np.ndarray):
            return obj.tolist()
        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, tuple):
            return list(obj)
        raise TypeError(f"io.save: {what} holds a {type(obj).__name__}, which JSON cannot store "
                        f"(use numbers, strings, lists and dicts)")
    return json.loads(json.dumps(value, default=convert))


def optimizer_config(optimizer):
    """The constructor settings that rebuild ``optimizer``: {"name": ..., "lr": ..., ...}.

    Read from the attributes named like the constructor's arguments (momentum, nesterov,
    beta1, beta2, eps, rho), so a Nesterov momentum optimizer comes back as one.
    """
    signature = inspect.signature(type(optimizer).__init__)
    settings = {name: getattr(optimizer, name) for name in signature.parameters
                if name not in ("self", "parameters") and hasattr(optimizer, name)}
    return {"name": optimizer.name, **to_json(settings, "the optimizer settings")}


def _optimizer_entries(optimizer):
    state = optimizer.state_dict()
    arrays = {}
    names = {}
    for key, by_name in state["state"].items():
        names[key] = list(by_name)
        for name, array in by_name.items():
            arrays[f"{OPTIM_PREFIX}{key}/{name}"] = np.asarray(array)
    meta = {"name": state["name"], "t": int(state["t"]),
            "hyperparameters": to_json(state["hyperparameters"], "the hyperparameters"),
            "config": optimizer_config(optimizer), "state_names": names}
    return meta, arrays


def _dict_or_none(value, what):
    if value is not None and not isinstance(value, dict):
        raise TypeError(f"io.save: {what} must be a dict or None, got {type(value).__name__}")
    return to_json(value, what)


def _normalization_json(normalization):
    if normalization is None:
        return None
    if not isinstance(normalization, Normalization):
        raise TypeError(f"io.save: normalization must be a cyconv.data.Normalization or None, "
                        f"got {type(normalization).__name__}")
    return normalization.to_json()


def save(path, model, *, normalization=None, dataset=None, training=None, optimizer=None,
         trainer_state=None, history=None, evaluation=None, extra=None, attachments=None):
    """Write a checkpoint (format version 2) to ``path`` (``.npz`` is the usual suffix).

    model: a Sequential. normalization: the cyconv.data.Normalization its inputs went through.
    dataset: the dataset identity (cyconv.data.dataset_identity). training: Trainer.settings.
    optimizer: a cyconv.optim.Optimizer on the model's parameters. trainer_state:
    Trainer.state(). history: the Trainer's history. evaluation: {"split", "n", "loss",
    "accuracy"} of the last whole-test-set evaluation. extra: free JSON for a UI's own state.
    attachments: {name: array} of named extra arrays (numbers only; names like
    ``history/filters/conv1``), read back as ``Checkpoint.attachments``.
    Every one but the model may be None.
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"io.save: model must be a cyconv.Sequential, got {type(model).__name__}")
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"io.save: path must be a file path, got {type(path).__name__}")
    extras = _attachments.entries(attachments)
    parameters = model.parameters()
    arrays = {f"{PARAM_PREFIX}{name}": param for name, param, _ in parameters}
    arrays.update((f"{BUFFER_PREFIX}{name}", array) for name, array in model.buffers())
    meta = {"format": FORMAT, "version": VERSION, "model": model.config(),
            "dtype": str(model.dtype), "param_names": [name for name, _, _ in parameters],
            "param_shapes": [list(param.shape) for _, param, _ in parameters],
            "buffer_names": [name for name, _ in model.buffers()],
            "normalization": _normalization_json(normalization),
            "dataset": _dict_or_none(dataset, "dataset"),
            "training": _dict_or_none(training, "training"), "optimizer": None,
            "trainer_state": _dict_or_none(trainer_state, "trainer_state"),
            "history": _dict_or_none(history, "history"),
            "evaluation": _dict_or_none(evaluation, "evaluation"),
            "extra": _dict_or_none(extra, "extra"),
            "attachments": [key[len(_attachments.ATTACH_PREFIX):] for key in extras] or None}
    if optimizer is not None:
        if not isinstance(optimizer, optim.Optimizer):
            raise TypeError(f"io.save: optimizer must be a cyconv.optim.Optimizer, got "
                            f"{type(optimizer).__name__}")
        meta["optimizer"], optimizer_arrays = _optimizer_entries(optimizer)
        arrays.update(optimizer_arrays)
    arrays.update(extras)
    arrays[META_KEY] = np.array(json.dumps(meta))
    atomic_write(path, lambda handle: np.savez(handle, **arrays))
