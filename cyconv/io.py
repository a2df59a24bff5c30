"""Checkpoints: one .npz file with everything needed to use a model or to continue training it.

Layout of the file (a zip of .npy arrays, read with ``np.load(allow_pickle=False)`` so that a
file from a stranger cannot run code):

- ``meta``: a 0-d unicode array holding JSON: the format name and version, the architecture
  (``model.config()``), the dtype, the optimizer's name, step count, hyperparameters and
  constructor settings, the training history, the trainer's position and ``extra`` (free
  JSON, e.g. the normalisation mean/std the model was trained with);
- ``param/<name>``: every parameter, e.g. ``param/conv1.W``;
- ``optim/<state key>/<name>``: the optimizer's per-parameter arrays, e.g. ``optim/m/conv1.W``.

Files are written atomically: to a temporary file in the same folder, flushed and fsynced,
then renamed over the target, so a crash mid-save leaves the old file as it was.
"""
import inspect
import json
import os
import zipfile

import numpy as np

from . import optim
from ._files import atomic_write
from .model import Sequential

__all__ = ["save", "load", "restore_optimizer", "optimizer_config", "atomic_write",
           "CheckpointError", "FORMAT", "VERSION"]

FORMAT = "cyconv-checkpoint"
VERSION = 1
META_KEY = "meta"
PARAM_PREFIX = "param/"
OPTIM_PREFIX = "optim/"
_ZIP_MAGIC = b"PK"
_NPY_MAGIC = b"\x93NUMPY"


class CheckpointError(ValueError):
    """A checkpoint file is missing, damaged, foreign or does not fit the model."""


# ----------------------------------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------------------------------
def _to_json(value, what):
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
    return {"name": optimizer.name, **_to_json(settings, "the optimizer settings")}


def _optimizer_entries(optimizer):
    state = optimizer.state_dict()
    arrays = {}
    names = {}
    for key, by_name in state["state"].items():
        names[key] = list(by_name)
        for name, array in by_name.items():
            arrays[f"{OPTIM_PREFIX}{key}/{name}"] = np.asarray(array)
    meta = {"name": state["name"], "t": int(state["t"]),
            "hyperparameters": _to_json(state["hyperparameters"], "the hyperparameters"),
            "config": optimizer_config(optimizer), "state_names": names}
    return meta, arrays


def save(path, model, optimizer=None, history=None, trainer_state=None, extra=None):
    """Write a checkpoint to ``path`` (used as given; ``.npz`` is the usual suffix).

    model: a Sequential; optimizer: a cyconv.optim.Optimizer on its parameters, or None;
    history, trainer_state, extra: JSON-ready dicts (numpy numbers and arrays are converted).
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"io.save: model must be a cyconv.Sequential, got {type(model).__name__}")
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"io.save: path must be a file path, got {type(path).__name__}")
    arrays = {f"{PARAM_PREFIX}{name}": param for name, param, _ in model.parameters()}
    meta = {"format": FORMAT, "version": VERSION, "model": model.config(),
            "dtype": str(model.dtype), "param_names": [name for name, _, _ in model.parameters()],
            "optimizer": None, "history": _to_json(history, "history"),
            "trainer_state": _to_json(trainer_state, "trainer_state"),
            "extra": _to_json(extra, "extra")}
    if optimizer is not None:
        if not isinstance(optimizer, optim.Optimizer):
            raise TypeError(f"io.save: optimizer must be a cyconv.optim.Optimizer, got "
                            f"{type(optimizer).__name__}")
        meta["optimizer"], optimizer_arrays = _optimizer_entries(optimizer)
        arrays.update(optimizer_arrays)
    arrays[META_KEY] = np.array(json.dumps(meta))
    atomic_write(path, lambda handle: np.savez(handle, **arrays))


# ----------------------------------------------------------------------------------------------
# Reading
# ----------------------------------------------------------------------------------------------
def _read_entries(path):
    """Every array in the file, read without unpickling; CheckpointError naming the file."""
    if not os.path.exists(path):
        raise CheckpointError(f"{path}: no such checkpoint file")
    if os.path.isdir(path):
        raise CheckpointError(f"{path}: is a folder, not a checkpoint file")
    with open(path, "rb") as handle:
        magic = handle.read(len(_NPY_MAGIC))
    if magic.startswith(_NPY_MAGIC):
        raise CheckpointError(f"{path}: holds a single array (.npy), not a cyconv checkpoint "
                              f"(.npz with a '{META_KEY}' entry)")
    if not magic.startswith(_ZIP_MAGIC):
        # np.load would take such a file for a pickle; say what it really is not.
        raise CheckpointError(f"{path}: not a readable checkpoint: it is not an .npz (zip) "
                              f"archive")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except CheckpointError:
        raise
    except ValueError as error:
        if "allow_pickle" in str(error):
            raise CheckpointError(f"{path}: holds pickled Python objects; cyconv refuses to "
                                  f"load them because unpickling can run code") from None
        raise CheckpointError(f"{path}: not a readable checkpoint ({error})") from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as error:
        raise CheckpointError(f"{path}: not a readable checkpoint: the file is truncated or "
                              f"is not an .npz archive ({type(error).__name__}: {error})") from None


def _read_meta(path, entries):
    if META_KEY not in entries:
        raise CheckpointError(f"{path}: not a cyconv checkpoint (no '{META_KEY}' entry; it "
                              f"holds {sorted(entries)[:5]})")
    raw = entries[META_KEY]
    if raw.shape != () or raw.dtype.kind != "U":
        raise CheckpointError(f"{path}: the '{META_KEY}' entry is not JSON text")
    try:
        meta = json.loads(str(raw))
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{path}: the '{META_KEY}' entry is not valid JSON ({error})") \
            from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a cyconv checkpoint (format "
                              f"{meta.get('format') if isinstance(meta, dict) else None!r})")
    if meta.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint version {meta.get('version')!r}; this cyconv "
                              f"reads version {VERSION}")
    return meta


def _build_model(path, meta, entries):
    try:
        model = Sequential.from_config(meta["model"], dtype=meta.get("dtype", "float32"))
        params = {name: entries[f"{PARAM_PREFIX}{name}"] for name in meta["param_names"]}
        model.load_state_dict(params)
    except KeyError as error:
        raise CheckpointError(f"{path}: the checkpoint is incomplete: {error} is missing") \
            from None
    except (ValueError, TypeError) as error:
        raise CheckpointError(f"{path}: the saved model cannot be rebuilt: {error}") from None
    return model


def _optimizer_state(path, meta, entries):
    saved = meta.get("optimizer")
    if saved is None:
        return None
    try:
        state = {key: {name: entries[f"{OPTIM_PREFIX}{key}/{name}"] for name in names}
                 for key, names in saved["state_names"].items()}
    except KeyError as error:
        raise CheckpointError(f"{path}: the optimizer state is incomplete: {error} is missing") \
            from None
    return {"name": saved["name"], "t": saved["t"], "hyperparameters": saved["hyperparameters"],
            "state": state, "config": saved["config"]}


def load(path):
    """Read a checkpoint written by :func:`save`.

    Returns a dict: ``model`` (a Sequential with the saved weights), ``optimizer_state``
    (``optimizer.state_dict()`` plus ``config``, or None; :func:`restore_optimizer` turns it
    back into an optimizer), ``history``, ``trainer_state``, ``extra`` (None when not saved)
    and ``path``. Raises CheckpointError (a ValueError) naming the file when it is missing,
    truncated, foreign or inconsistent.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"io.load: path must be a file path, got {type(path).__name__}")
    path = os.fspath(path)
    entries = _read_entries(path)
    meta = _read_meta(path, entries)
    return {"model": _build_model(path, meta, entries),
            "optimizer_state": _optimizer_state(path, meta, entries),
            "history": meta.get("history"), "trainer_state": meta.get("trainer_state"),
            "extra": meta.get("extra"), "path": path}


def restore_optimizer(model, optimizer_state):
    """An optimizer on ``model.parameters()`` in the saved state (from ``load``)."""
    config = dict(optimizer_state.get("config") or {"name": optimizer_state["name"]})
    name = config.pop("name")
    if name not in optim.OPTIMIZERS:
        raise ValueError(f"restore_optimizer: unknown optimizer {name!r}; cyconv knows "
                         f"{tuple(optim.OPTIMIZERS)}")
    try:
        optimizer = optim.OPTIMIZERS[name](model.parameters(), **config)
        optimizer.load_state_dict(optimizer_state)
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"restore_optimizer: the saved {name} state does not fit the model: "
                         f"{error}") from None
    return optimizer
