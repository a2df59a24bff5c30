"""What a checkpoint remembers about its data: the dataset's identity (enough to load the very
same split again) and the per-channel normalisation the model's inputs went through.

>>> identity = dataset_identity("mnist", path=None, n_train=60000, n_test=10000,   # doctest: +SKIP
...                             val_fraction=0.1, seed=0, classes=train.classes,
...                             image_shape=(1, 28, 28))
>>> train, val, test = load_identity(identity, normalization)                      # doctest: +SKIP

``n_train`` and ``n_test`` are the numbers of images the run loaded (before the validation
images were split off the training images): reloading asks for exactly that many, so the same
subset comes back, and a machine whose files hold fewer images is told so. (Identities
converted from cyconv 0.1 files may hold None there, meaning "the whole split", and None for
``classes`` when the file did not record them.)
"""
import dataclasses
import math
import numbers

import numpy as np

from .errors import DataError
from .loading import DATASETS, load

__all__ = ["Normalization", "dataset_identity", "load_identity", "IDENTITY_KEYS"]

IDENTITY_KEYS = ("name", "path", "n_train", "n_test", "val_fraction", "seed", "image_shape",
                 "classes")


def _channel_values(values, what):
    if isinstance(values, numbers.Real):
        values = (values,)
    try:
        result = tuple(float(v) for v in values)
    except (TypeError, ValueError):
        raise ValueError(f"Normalization: {what} must be a sequence of numbers, one per "
                         f"channel, got {values!r}") from None
    if not result or not all(math.isfinite(v) for v in result):
        raise ValueError(f"Normalization: {what} must be finite numbers, one per channel, got "
                         f"{values!r}")
    return result


@dataclasses.dataclass(frozen=True)
class Normalization:
    """Per-channel ``mean`` and ``std`` (tuples of floats): ``(x − mean) / std``, the transform
    the model's inputs were trained with."""

    mean: tuple
    std: tuple

    def __post_init__(self):
        mean, std = _channel_values(self.mean, "mean"), _channel_values(self.std, "std")
        if len(mean) != len(std):
            raise ValueError(f"Normalization: {len(mean)} means but {len(std)} standard "
                             f"deviations; give one of each per channel")
        if min(std) <= 0:
            raise ValueError(f"Normalization: every std must be > 0, got {std}")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)

    @property
    def channels(self):
        return len(self.mean)

    @classmethod
    def of(cls, dataset):
        """The normalisation a normalised Dataset went through, or None if it is raw."""
        return None if dataset.normalization is None else cls(*dataset.normalization)

    def apply(self, images):
        """(images − mean) / std per channel as a new float32 array; images (N, C, H, W) or
        one image (C, H, W) with C = ``channels``."""
        images = np.asarray(images)
        axis = images.ndim - 3
        if images.ndim not in (3, 4) or images.shape[axis] != self.channels:
            raise ValueError(f"Normalization.apply: images must be (N, {self.channels}, H, W) "
                             f"or ({self.channels}, H, W), got shape {images.shape}")
        shape = (-1, 1, 1)
        mean = np.asarray(self.mean, dtype=np.float32).reshape(shape)
        std = np.asarray(self.std, dtype=np.float32).reshape(shape)
        return ((images.astype(np.float32) - mean) / std).astype(np.float32, copy=False)

    def to_json(self):
        return {"mean": list(self.mean), "std": list(self.std)}


def _count(value, what):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"dataset_identity: {what} must be a positive int (the number of "
                         f"images loaded), got {value!r}")
    return int(value)


def dataset_identity(name, *, path, n_train, n_test, val_fraction, seed, classes, image_shape):
    """The identity of a loaded train/validation/test split as JSON-ready data.

    ``n_train``: the training images loaded (validation included), ``n_test``: the test
    images; ``path``: the folder the files came from, or None for the usual search.
    """
    if name not in DATASETS:
        raise ValueError(f"dataset_identity: unknown dataset {name!r}; choose one of {DATASETS}")
    if not 0 <= val_fraction < 1:
        raise ValueError(f"dataset_identity: val_fraction must be in [0, 1), got {val_fraction!r}")
    return {"name": name, "path": None if path is None else str(path),
            "n_train": _count(n_train, "n_train"), "n_test": _count(n_test, "n_test"),
            "val_fraction": float(val_fraction), "seed": int(seed),
            "image_shape": [int(s) for s in image_shape], "classes": [str(c) for c in classes]}


def _check_identity(identity):
    if not isinstance(identity, dict) or any(key not in identity for key in IDENTITY_KEYS):
        keys = sorted(identity) if isinstance(identity, dict) else type(identity).__name__
        raise ValueError(f"load_identity: a dataset identity needs the keys {IDENTITY_KEYS}, "
                         f"got {keys}")


def _same_or_missing(identity, dataset, count, split):
    where = identity["path"] or "the usual places ($CYCONV_DATA, the user cache)"
    if count is not None and len(dataset) < count:
        raise DataError(f"{identity['name']}: the {split} split found in {where} has "
                        f"{len(dataset)} images, the checkpoint's run used {count}")
    classes = identity["classes"]
    if (classes is not None and list(dataset.classes) != list(classes)) or \
            list(dataset.image_shape) != list(identity["image_shape"]):
        raise DataError(f"{identity['name']}: the data found in {where} has classes "
                        f"{list(dataset.classes)[:4]}... and images {dataset.image_shape}, the "
                        f"checkpoint's run {(classes or [])[:4]}... and "
                        f"{tuple(identity['image_shape'])}: not the same dataset")


def load_identity(identity, normalization=None):
    """(train, val, test) exactly as the run that recorded ``identity`` had them.

    The same subset and validation split come back; every split is normalised with
    ``normalization`` (a Normalization, the run's, not recomputed) or left in [0, 1] without
    one. Nothing is downloaded: DataError says what is missing when the files are not on this
    machine. val is None when the run had no validation images.
    """
    _check_identity(identity)
    name = identity["name"]
    image_shape = tuple(identity["image_shape"]) if name == "folder" else None
    common = dict(path=identity["path"], seed=identity["seed"], download=False,
                  image_shape=image_shape)
    try:
        full = load(name, split="train", n=identity["n_train"], **common)
        test = load(name, split="test", n=identity["n_test"], **common)
    except DataError as error:
        raise DataError(f"the checkpoint's data is not on this machine: {error}") from None
    _same_or_missing(identity, full, identity["n_train"], "train")
    _same_or_missing(identity, test, identity["n_test"], "test")
    train, val = full.split(identity["val_fraction"], np.random.default_rng(identity["seed"]))
    splits = [train, val, test]
    if normalization is not None:
        splits = [ds.normalized(normalization.mean, normalization.std) for ds in splits]
    train, val, test = splits
    return train, (val if len(val) > 0 else None), test
