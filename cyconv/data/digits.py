"""The 8x8 handwritten digits bundled with scikit-learn (an optional extra: cyconv[digits]).

1,797 images, values 0..16, classes 0..9. The set has no official train/test split; cyconv
uses a fixed one (the first ``TRAIN_COUNT`` images for training, the rest for testing) so the
test set is the same whatever seed a lesson uses.
"""
import importlib.util
from pathlib import Path

import numpy as np

from .catalog import DIGIT_CLASSES
from .dataset import Dataset
from .errors import MissingDependencyError

TRAIN_COUNT = 1437          # 80 % of 1,797
_MAX_VALUE = 16.0           # the pixel scale of the UCI 8x8 digits


def is_installed():
    """True if scikit-learn can be imported (checked without importing it: that takes ~1 s)."""
    return importlib.util.find_spec("sklearn") is not None


def data_file():
    """Path of the digits file inside scikit-learn, or None if it is not installed."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / "digits.csv.gz"
    return path if path.is_file() else None


def load_digits(split="train", n=None):
    """The scikit-learn digits as a Dataset: images (N, 1, 8, 8) float32 in [0, 1]."""
    try:
        from sklearn.datasets import load_digits as sklearn_load_digits
    except ImportError:
        raise MissingDependencyError(
            "The 'digits' dataset comes with scikit-learn, which is not installed. Install it "
            "with `pip install scikit-learn` (or `pip install cyconv[digits]`), or use "
            "'synthetic' or 'mnist'."
        ) from None
    bunch = sklearn_load_digits()
    part = slice(0, TRAIN_COUNT) if split == "train" else slice(TRAIN_COUNT, None)
    pixels = np.asarray(bunch.data[part], dtype=np.float64)[:n]
    labels = np.asarray(bunch.target[part], dtype=np.int64)[:n]
    images = (pixels / _MAX_VALUE).astype(np.float32).reshape(-1, 1, 8, 8)
    return Dataset(
        images=images,
        labels=labels,
        classes=DIGIT_CLASSES,
        name="digits",
        source=f"scikit-learn load_digits() ({split}: images "
               f"{'0..' + str(TRAIN_COUNT - 1) if split == 'train' else str(TRAIN_COUNT) + '..1796'})",
    )
