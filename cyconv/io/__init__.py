"""Checkpoints: one .npz file with everything needed to use a model, to reload its data or to
continue training it. The app and the command write and read the same file.

Layout of the file (a zip of .npy arrays, read without unpickling, so that a file from a
stranger cannot run code):

- ``meta``: a 0-d unicode array holding JSON: the format name and version (2), the
  architecture (``model.config()``), the dtype, the parameter names and shapes, and the blocks
  ``normalization`` {"mean", "std"}, ``dataset`` (cyconv.data.dataset_identity), ``training``
  (Trainer.settings), ``optimizer`` (name, step count, hyperparameters, constructor settings),
  ``trainer_state`` (Trainer.state()), ``history``, ``evaluation`` {"split", "n", "loss",
  "accuracy"}, ``extra`` (free JSON for a UI) and ``attachments`` (the names of the extra arrays);
- ``param/<name>``: every parameter, e.g. ``param/conv1.W``;
- ``buffer/<name>``: every buffer (state that is not a parameter), e.g.
  ``buffer/bn1.running_mean``;
- ``optim/<state key>/<name>``: the optimizer's per-parameter arrays, e.g. ``optim/m/conv1.W``;
- ``attach/<name>``: a caller's named extra arrays (numbers only), e.g.
  ``attach/history/filters/conv1``, within a budget of their own.

Files are written atomically (see atomic_write). Reading checks the file before trusting it:
a regular file (a pipe cannot hang the reader), every member's declared size within a budget,
the JSON's types and nesting, and the declared parameter count and shapes against the budget
and the stored arrays, all before any array is inflated or a model built. Version-1 files
(cyconv 0.1, written by the command or the app) load too, converted to the same fields.
"""
import dataclasses
import os

from .. import optim
from ..data.identity import Normalization
from ..model import Sequential
from . import _archive, _attachments, _legacy, _meta
from ._layout import BUFFER_PREFIX, FORMAT, META_KEY, OPTIM_PREFIX, PARAM_PREFIX, VERSION
from ._layout import CheckpointError
from ._write import atomic_write, optimizer_config, save

__all__ = ["Checkpoint", "save", "load", "restore_optimizer", "optimizer_config",
           "atomic_write", "CheckpointError", "Normalization", "FORMAT", "VERSION",
           "READABLE_VERSIONS"]

READABLE_VERSIONS = (1, 2)


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """What :func:`load` read. ``version`` is the file's format version (1 = cyconv 0.1,
    converted); every block but ``model`` is None when the file does not hold it.

    ``normalization``: the Normalization the model's inputs went through. ``dataset``: the
    dataset identity (cyconv.data.load_identity reloads it). ``training``: Trainer.settings.
    ``optimizer_state``: ``optimizer.state_dict()`` plus ``config`` (restore_optimizer turns
    it back into an optimizer). ``trainer_state``, ``history``: where the run was.
    ``evaluation``: the last whole-test-set evaluation. ``extra``: a UI's own state.
    ``attachments``: {name: read-only array} of the extra arrays save() was given ({} if none).
    """

    path: str
    version: int
    model: Sequential
    normalization: Normalization | None = None
    dataset: dict | None = None
    training: dict | None = None
    optimizer_state: dict | None = None
    trainer_state: dict | None = None
    history: dict | None = None
    evaluation: dict | None = None
    extra: dict | None = None
    attachments: dict = dataclasses.field(default_factory=dict)

    def __getitem__(self, key):
        """``checkpoint["model"]``: the mapping-style access of code written for 0.1's dict."""
        if key not in {field.name for field in dataclasses.fields(self)}:
            raise KeyError(key)
        return getattr(self, key)


def _build_model(path, meta, arrays):
    try:
        model = Sequential.from_config(meta["model"], dtype=meta.get("dtype", "float32"))
        state = {name: arrays[f"{PARAM_PREFIX}{name}"] for name in meta["param_names"]}
        state.update((name, arrays[f"{BUFFER_PREFIX}{name}"])
                     for name in meta.get("buffer_names") or ())
        model.load_state_dict(state)
    except (ValueError, TypeError, KeyError) as error:
        raise CheckpointError(f"{path}: the saved model cannot be rebuilt: {error}") from None
    return model


def _optimizer_state(path, saved, arrays):
    if saved is None:
        return None
    try:
        state = {key: {name: arrays[f"{OPTIM_PREFIX}{key}/{name}"] for name in names}
                 for key, names in saved["state_names"].items()}
    except KeyError as error:
        raise CheckpointError(f"{path}: the optimizer state is incomplete: {error} is missing") \
            from None
    return {"name": saved["name"], "t": saved["t"], "hyperparameters": saved["hyperparameters"],
            "state": state, "config": saved["config"]}


def _needed_members(meta, found):
    """The array members the metadata refers to: the parameters and the optimizer state."""
    keys = [f"{PARAM_PREFIX}{name}" for name in meta["param_names"]]
    keys += [f"{BUFFER_PREFIX}{name}" for name in meta.get("buffer_names") or ()]
    saved = meta.get("optimizer")
    if saved is not None:
        keys += [f"{OPTIM_PREFIX}{key}/{name}" for key, names in saved["state_names"].items()
                 for name in names]
    keys += _attachments.needed_members(meta.get("attachments") or [])
    missing = [key for key in keys if key not in found]
    if missing:
        raise KeyError(missing[0])
    return keys


def _read(path, archive):
    found = _archive.members(path, archive)
    # Every header first: a pickled member is refused before anything else is looked at.
    headers = {key: _archive.read_header(path, archive, info, key)
               for key, info in found.items() if key != META_KEY}
    meta = _meta.parse_meta(path, _archive.read_meta_text(path, archive, found[META_KEY]),
                            READABLE_VERSIONS)
    _meta.check_meta(path, meta)
    meta["attachments"] = _attachments.check_names(path, meta.get("attachments"))
    try:
        keys = _needed_members(meta, found)
    except KeyError as error:
        raise CheckpointError(f"{path}: the checkpoint is incomplete: {error} is missing") \
            from None
    _meta.check_arrays_fit(path, meta, headers)
    _attachments.check_fit(path, meta["attachments"], headers)
    arrays = {key: _archive.read_array(path, archive, found[key], key) for key in keys}
    return meta, arrays


def _blocks(path, meta):
    if meta["version"] == 1:
        return _legacy.convert_v1(path, meta)
    saved = meta.get("normalization")
    try:
        normalization = None if saved is None else Normalization(saved["mean"], saved["std"])
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{path}: the saved normalisation is malformed ({error})") \
            from None
    return {"normalization": normalization,
            **{key: meta.get(key) for key in ("dataset", "training", "trainer_state",
                                              "evaluation", "extra")}}


def load(path):
    """Read a checkpoint written by :func:`save` (or by cyconv 0.1): a :class:`Checkpoint`.

    Raises CheckpointError (a ValueError) naming the file, in one line, when it is missing,
    not a regular file, truncated, foreign, over budget or inconsistent.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"io.load: path must be a file path, got {type(path).__name__}")
    path = os.fspath(path)
    with _archive.open_archive(path) as archive:
        meta, arrays = _read(path, archive)
    return Checkpoint(path=path, version=meta["version"],
                      model=_build_model(path, meta, arrays),
                      optimizer_state=_optimizer_state(path, meta.get("optimizer"), arrays),
                      history=meta.get("history"),
                      attachments=_attachments.collect(meta["attachments"], arrays), **_blocks(path, meta))


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
