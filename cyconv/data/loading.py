"""``load``, ``load_train_test``, ``locate`` and ``available``: one entry point per question."""
from pathlib import Path
from typing import NamedTuple

import numpy as np

from . import cifar, digits, folder, sources
from .catalog import FILE_DATASETS
from .dataset import Dataset
from .idx import read_idx_pair
from .limits import check_memory
from .synthetic import synthetic

DATASETS = ("synthetic", "synthetic_rgb", "mnist", "fashion_mnist", "cifar10", "digits", "folder")
SPLITS = ("train", "test")
# Sizes of the built-in set when load() is not told n: enough for a CNN to reach > 95 %.
SYNTHETIC_DEFAULT_N = {"train": 10000, "test": 2000}
_SYNTHETIC_SIZE = {"synthetic": (28, False), "synthetic_rgb": (32, True)}
# Generating peaks at about 8.5 bytes per pixel (float32 images and noise, float64 coverage).
_SYNTHETIC_BYTES_PER_PIXEL = 12


def _check_name(name, where):
    if name not in DATASETS:
        raise ValueError(f"{where}: unknown dataset {name!r}; choose one of {DATASETS}")


def _check_count(value, what, where):
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{where}: {what} must be None or a positive int, got {value!r}")


def _check_seed(seed, where):
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"{where}: seed must be a non-negative int, got {seed!r}")


def _split_seed(seed, split):
    """Different generator seeds for train and test, so the two sets never share an image."""
    return int(np.random.SeedSequence([seed, SPLITS.index(split)]).generate_state(1)[0])


def _pixels_to_dataset(pixels, labels, spec, source):
    """uint8 (N, H, W) or (N, C, H, W) -> float32 (N, C, H, W) in [0, 1], one allocation."""
    if pixels.ndim == 3:
        pixels = pixels[:, None]
    images = np.divide(pixels, np.float32(255), dtype=np.float32)
    return Dataset(images=images, labels=labels, classes=spec.classes, name=spec.name, source=source)


def _load_files(name, path, split, download, n):
    spec = FILE_DATASETS[name]
    location = sources.resolve(name, path=path, split=split, download=download)
    if spec.kind == "idx":
        images_file, labels_file = (sources.idx_file(location.path, f) for f in spec.split_files[split])
        pixels, labels = read_idx_pair(images_file, labels_file, n=n, image_hw=spec.image_shape[1:])
    else:
        pixels, labels = cifar.read_cifar(location.path, split, n)
    return _pixels_to_dataset(pixels, labels, spec, f"{split} split of {location.describe()}")


def load(name, *, path=None, split="train", download=None, n=None, seed=0, image_shape=None):
    """Load one split of a dataset as a ``Dataset`` (images float32 (N, C, H, W) in [0, 1]).

    name: one of ``DATASETS``. path: where the files are (required for "folder"; for the
    file datasets it replaces the search, see ``sources``). split: "train" or "test".
    download: None = download if not found (unless $CYCONV_OFFLINE), True, or False.
    n: keep n examples: how many to generate (synthetic; default 10,000 train / 2,000 test),
    the first n in file order (MNIST, Fashion-MNIST, CIFAR-10 and digits: those files are
    already shuffled), or a seeded random n (folder). seed: the synthetic generator's seed
    (train and test use different streams) and the folder's split and subset.
    image_shape: (C, H, W) for "folder" (None infers it from the images).
    """
    _check_name(name, "load")
    if split not in SPLITS:
        raise ValueError(f"load: split must be one of {SPLITS}, got {split!r}")
    _check_count(n, "n", "load")
    _check_seed(seed, "load")
    if download not in (None, True, False):
        raise ValueError(f"load: download must be None, True or False, got {download!r}")
    if image_shape is not None and name != "folder":
        raise ValueError(f"load: image_shape only applies to 'folder'; {name!r} has a fixed shape")
    if name in _SYNTHETIC_SIZE:
        size, rgb = _SYNTHETIC_SIZE[name]
        count = SYNTHETIC_DEFAULT_N[split] if n is None else n
        channels = 3 if rgb else 1
        check_memory(name, f"{count} generated images of {channels}x{size}x{size}",
                     count * channels * size * size * _SYNTHETIC_BYTES_PER_PIXEL)
        return synthetic(count, size=size, rgb=rgb, seed=_split_seed(seed, split))
    if name == "digits":
        return digits.load_digits(split, n)
    if name == "folder":
        if path is None:
            raise ValueError("load: 'folder' needs path= a folder with one sub-folder per class")
        return folder.load_folder(path, split=split, n=n, seed=seed, image_shape=image_shape)
    return _load_files(name, path, split, download, n)


def load_train_test(name, *, path=None, val_fraction=0.1, seed=0, n_train=None, n_test=None,
                    normalize=True, download=None, image_shape=None):
    """``(train, val, test)`` Datasets: val is split off train (seeded), all normalised alike.

    With ``normalize`` every split is transformed with the per-channel mean and std of the
    *train* part (after val is removed): the model must never see statistics of the data it
    is evaluated on.
    """
    _check_count(n_train, "n_train", "load_train_test")
    _check_count(n_test, "n_test", "load_train_test")
    common = dict(path=path, seed=seed, download=download, image_shape=image_shape)
    full = load(name, split="train", n=n_train, **common)
    test = load(name, split="test", n=n_test, **common)
    train, val = full.split(val_fraction, np.random.default_rng(seed))
    if not normalize:
        return train, val, test
    mean, std = train.mean_std()
    std = np.where(std > 0, std, 1.0)  # a constant channel carries no information; keep it
    return tuple(ds.normalized(mean, std) for ds in (train, val, test))


def locate(name, path=None):
    """Where ``name`` can be loaded from without network: a Path, or None.

    File datasets follow the search order (all files of both splits must be present);
    "digits" gives scikit-learn's data file; "folder" gives ``path`` if it is a folder;
    the synthetic sets have no files (None).
    """
    _check_name(name, "locate")
    if name in FILE_DATASETS:
        location, _ = sources.find(name, path)
        return None if location is None else location.path
    if name == "digits":
        return digits.data_file()
    if name == "folder" and path is not None:
        return Path(path) if Path(path).is_dir() else None
    return None


class Availability(NamedTuple):
    """One row of ``available()``: can ``name`` be loaded offline, and from where."""

    name: str
    location: str  # a path, "built-in", or None when it cannot be loaded right now
    note: str


def _file_dataset_row(name):
    spec = FILE_DATASETS[name]
    location, _ = sources.find(name)
    if location is not None:
        return Availability(name, str(location.path), f"{spec.title}, found via {location.origin}")
    return Availability(
        name, None,
        f"{spec.title}: not on this computer; downloaded on first use when online, or put the "
        f"files in {sources.cache_dir(name)} (or set CYCONV_DATA)",
    )


def available():
    """For every name in ``DATASETS``: ``Availability(name, location or None, note)``.

    Offline only (no download is tried): what a dataset picker can offer right now.
    """
    rows = [
        Availability("synthetic", "built-in", "shapes, 28x28 grayscale, 10 classes, no files needed"),
        Availability("synthetic_rgb", "built-in", "shapes, 32x32 RGB, 10 classes, no files needed"),
    ]
    rows.extend(_file_dataset_row(name) for name in ("mnist", "fashion_mnist", "cifar10"))
    digits_file = digits.data_file()
    rows.append(
        Availability("digits", str(digits_file), "8x8 digits bundled with scikit-learn")
        if digits_file is not None else
        Availability("digits", None, "needs scikit-learn: pip install scikit-learn")
    )
    rows.append(Availability(
        "folder", None, "your own images: load('folder', path=<folder with one sub-folder per class>)"
    ))
    return rows
