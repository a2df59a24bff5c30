"""Datasets for cyconv, offline first.

>>> from cyconv import data
>>> train, val, test = data.load_train_test("synthetic", n_train=2000, n_test=500)
>>> for x, y in data.batches(train, 64, np.random.default_rng(0)):   # doctest: +SKIP
...     ...

Names (``DATASETS``): "synthetic" and "synthetic_rgb" (built in, no files), "mnist",
"fashion_mnist" (IDX files), "cifar10" (python batches), "digits" (scikit-learn) and "folder"
(your own images). ``available()`` says which of them this computer can load right now.

Modules: ``dataset`` (the Dataset class), ``synthetic``, ``idx``, ``cifar`` and
``safe_pickle``, ``folder``, ``digits``, ``sources`` (search order, cache, download),
``importing`` (import_files, verify), ``batching``, ``identity`` (a run's dataset identity and
normalisation, reloaded exactly), ``loading`` (load, load_train_test, locate, available), ``catalog``
(file names, checksums, mirrors, class names), ``limits`` (the memory budget every loader
checks declared sizes against before allocating).
"""
from .batching import batch_count, batches
from .catalog import CIFAR10_CLASSES, DIGIT_CLASSES, FASHION_CLASSES
from .dataset import Dataset
from .errors import DataError, MissingDependencyError
from .identity import Normalization, dataset_identity, load_identity
from .loading import DATASETS, Availability, available, load, load_train_test, locate
from .importing import Check, import_files, verify
from .sources import cache_dir, cache_root, download_dataset
from .synthetic import SHAPE_CLASSES, synthetic

__all__ = [
    "DATASETS", "Dataset", "DataError", "MissingDependencyError",
    "load", "load_train_test", "batches", "batch_count",
    "available", "Availability", "locate", "import_files", "verify", "Check",
    "download_dataset", "cache_dir", "cache_root", "synthetic",
    "Normalization", "dataset_identity", "load_identity",
    "SHAPE_CLASSES", "DIGIT_CLASSES", "FASHION_CLASSES", "CIFAR10_CLASSES",
]
