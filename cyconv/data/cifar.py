"""CIFAR-10, "python version": pickled batches in a folder or inside the original .tar.gz.

Each batch (``data_batch_1`` .. ``data_batch_5``, ``test_batch``) is a pickled dict with
``data``, a uint8 array (N, 3072) whose rows hold the red, green and blue 32x32 planes one
after another, and ``labels``, a list of N ints in 0..9. The pickles are read with
``safe_pickle.safe_loads``, never ``pickle.load`` (see that module for why).
"""
import pickle
import tarfile
from pathlib import Path

import numpy as np

from .catalog import CIFAR10, CIFAR10_FOLDER
from .errors import DataError
from .limits import BYTES_PER_LOADED_PIXEL, check_memory
from .safe_pickle import safe_loads

IMAGE_SHAPE = (3, 32, 32)
_ROW_BYTES = 3 * 32 * 32
# A real batch is 10,000 images, about 31 MB; anything far bigger is not a CIFAR-10 batch and
# is refused before it is read into memory.
MAX_BATCH_BYTES = 64 << 20
# The archive holds a folder, 6 batches, batches.meta and a readme; tarfile keeps an entry in
# memory for every member it lists, so an archive of millions of tiny members is refused.
MAX_ARCHIVE_MEMBERS = 64


def is_archive(path):
    return Path(path).is_file() and Path(path).name.endswith((".tar.gz", ".tgz"))


def _check_batch_size(name, size, where):
    if size > MAX_BATCH_BYTES:
        raise DataError(
            f"{where}: {name} is {size} bytes, more than a CIFAR-10 batch can be "
            f"({MAX_BATCH_BYTES} bytes at most); refusing to read it. Is this the CIFAR-10 "
            "python version (cifar-10-python.tar.gz)?"
        )


def _read_folder_batch(folder, name):
    path = Path(folder) / name
    if not path.is_file():
        raise DataError(
            f"{folder}: the CIFAR-10 batch {name} is missing. A complete "
            f"{CIFAR10_FOLDER} folder holds {', '.join(CIFAR10.all_files)}."
        )
    _check_batch_size(name, path.stat().st_size, folder)
    return path.read_bytes()


class _ArchiveBatches:
    """Random access to the batches inside cifar-10-python.tar.gz, without extracting."""

    def __init__(self, archive):
        self.archive = Path(archive)
        try:
            self._tar = tarfile.open(self.archive, "r:gz")
            self._members = self._list_members()
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise DataError(
                f"{self.archive}: cannot read it as a .tar.gz archive ({exc}); it is damaged "
                "or incomplete. Download cifar-10-python.tar.gz again."
            ) from None

    def _list_members(self):
        members = {}
        for member in self._tar:
            if len(members) == MAX_ARCHIVE_MEMBERS:
                self._tar.close()
                raise DataError(
                    f"{self.archive}: the archive has more than {MAX_ARCHIVE_MEMBERS} members; "
                    "cifar-10-python.tar.gz has 9, so this is not it."
                )
            members[member.name] = member
        return members

    def close(self):
        self._tar.close()

    def read(self, name):
        member = self._members.get(f"{CIFAR10_FOLDER}/{name}")
        if member is None or not member.isfile():
            raise DataError(
                f"{self.archive}: the archive has no regular file {CIFAR10_FOLDER}/{name}; it "
                "is not the CIFAR-10 python version (cifar-10-python.tar.gz)."
            )
        _check_batch_size(name, member.size, self.archive)
        try:
            return self._tar.extractfile(member).read()
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise DataError(
                f"{self.archive}: reading {name} failed ({exc}); the archive is damaged. "
                "Download cifar-10-python.tar.gz again."
            ) from None


def _field(batch, key):
    for candidate in (key, key.encode()):
        if candidate in batch:
            return batch[candidate]
    return None


def parse_batch(payload, name, where):
    """Decode one pickled batch: uint8 images (N, 3, 32, 32) and int64 labels (N,)."""
    try:
        batch = safe_loads(payload)
    except pickle.UnpicklingError as exc:
        raise DataError(f"{where}: {name} is not a CIFAR-10 batch that can be read safely: {exc}.") from None
    if not isinstance(batch, dict):
        raise DataError(f"{where}: {name} holds a {type(batch).__name__}, but a CIFAR-10 batch is a dict.")
    data, labels = _field(batch, "data"), _field(batch, "labels")
    if data is None or labels is None:
        cifar100 = _field(batch, "fine_labels") is not None
        extra = " (it has fine_labels: this is CIFAR-100, not CIFAR-10)" if cifar100 else ""
        raise DataError(f"{where}: {name} lacks the 'data' or 'labels' entry of a CIFAR-10 batch{extra}.")
    is_uint8_rows = isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2
    if not is_uint8_rows or data.shape[1] != _ROW_BYTES:
        raise DataError(
            f"{where}: {name} has data of shape {getattr(data, 'shape', None)} and dtype "
            f"{getattr(data, 'dtype', type(data).__name__)}; CIFAR-10 stores uint8 (N, 3072)."
        )
    targets = np.asarray(labels)
    if targets.ndim != 1 or targets.shape[0] != data.shape[0] or not np.issubdtype(targets.dtype, np.integer):
        raise DataError(
            f"{where}: {name} has {data.shape[0]} images but labels of shape {targets.shape} "
            f"({targets.dtype}); each image needs one integer label."
        )
    if targets.size and (targets.min() < 0 or targets.max() >= len(CIFAR10.classes)):
        raise DataError(f"{where}: {name} has labels {targets.min()}..{targets.max()}; CIFAR-10 uses 0..9.")
    return data.reshape((-1,) + IMAGE_SHAPE), targets.astype(np.int64)


def read_cifar(location, split, n=None):
    """Read a split from a batches folder or the archive: uint8 (N, 3, 32, 32), int64 (N,).

    Batches are read in order until ``n`` images are collected (all if ``n`` is None), so a
    small ``n`` only touches ``data_batch_1``.
    """
    location = Path(location)
    archive = _ArchiveBatches(location) if is_archive(location) else None
    images, labels, total = [], [], 0
    try:
        for name in CIFAR10.split_files[split]:
            payload = archive.read(name) if archive else _read_folder_batch(location, name)
            x, y = parse_batch(payload, name, location)
            del payload
            total += len(y)
            kept = total if n is None else min(total, n)
            check_memory(location, f"{kept} CIFAR-10 images", kept * _ROW_BYTES * BYTES_PER_LOADED_PIXEL)
            images.append(x)
            labels.append(y)
            if n is not None and total >= n:
                break
    finally:
        if archive:
            archive.close()
    x = np.concatenate(images)[:n]
    y = np.concatenate(labels)[:n]
    return x, y


def check_batch_file(path):
    """Parse one batch file completely; returns the number of images (DataError if invalid)."""
    path = Path(path)
    _check_batch_size(path.name, path.stat().st_size, path.parent)
    _, labels = parse_batch(path.read_bytes(), path.name, path.parent)
    return len(labels)
