"""Reading the zip of .npy members without trusting it: the file's kind first (os.stat, so a
FIFO cannot hang the reader), then every member's declared size against the budgets, then the
.npy headers (shape and dtype) of the arrays, and only then the data."""
import contextlib
import os
import stat
import zipfile
import zlib

import numpy as np

from ._layout import (
    COMPRESSION_CHECK_BYTES,
    MAX_COMPRESSION_RATIO,
    MAX_MEMBER_BYTES,
    MAX_MEMBERS,
    MAX_META_BYTES,
    MAX_TOTAL_BYTES,
    META_KEY,
    CheckpointError,
)

__all__ = ["open_archive", "members", "read_header", "read_array", "read_meta_text"]

_ZIP_MAGIC = b"PK"
_NPY_MAGIC = b"\x93NUMPY"
_READ_ERRORS = (OSError, EOFError, zipfile.BadZipFile, zlib.error, KeyError, ValueError,
                NotImplementedError, RuntimeError)


def _check_file_kind(path, info):
    if stat.S_ISDIR(info.st_mode):
        raise CheckpointError(f"{path}: is a folder, not a checkpoint file")
    if not stat.S_ISREG(info.st_mode):
        raise CheckpointError(f"{path}: is not a regular file (a pipe, device or socket); a "
                              f"checkpoint is an .npz file")


def _open_regular(path):
    """A binary file object on ``path``, which must be a regular file. os.stat decides before
    anything is opened, and the file is opened without blocking and checked again by fstat,
    so a pipe swapped in between cannot hang the reader either."""
    try:
        _check_file_kind(path, os.stat(path))
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint file") from None
    except OSError as error:
        raise CheckpointError(f"{path}: cannot be read ({error.strerror})") from None
    try:
        _check_file_kind(path, os.fstat(fd))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


@contextlib.contextmanager
def open_archive(path):
    """The checkpoint's zip archive (a context manager), after checking that it is a regular
    file holding a zip archive."""
    handle = _open_regular(path)
    with handle:
        try:
            magic = handle.read(len(_NPY_MAGIC))
            handle.seek(0)
        except OSError as error:
            raise CheckpointError(f"{path}: cannot be read ({error.strerror})") from None
        if magic.startswith(_NPY_MAGIC):
            raise CheckpointError(f"{path}: holds a single array (.npy), not a cyconv "
                                  f"checkpoint (.npz with a '{META_KEY}' entry)")
        if not magic.startswith(_ZIP_MAGIC):
            raise CheckpointError(f"{path}: not a readable checkpoint: it is not an .npz (zip) "
                                  f"archive")
        try:
            archive = zipfile.ZipFile(handle)
        except _READ_ERRORS as error:
            raise CheckpointError(f"{path}: not a readable checkpoint: the file is truncated "
                                  f"or is not an .npz archive ({type(error).__name__})") from None
        with archive:
            yield archive


def _check_member_size(path, info, key):
    limit = MAX_META_BYTES if key == META_KEY else MAX_MEMBER_BYTES
    if info.file_size > limit:
        raise CheckpointError(f"{path}: the entry '{key}' declares {info.file_size} bytes, "
                              f"more than the {limit} a checkpoint entry may hold")
    if info.file_size > COMPRESSION_CHECK_BYTES and \
            info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
        raise CheckpointError(f"{path}: the entry '{key}' would inflate from "
                              f"{info.compress_size} to {info.file_size} bytes; refusing it")


def members(path, archive):
    """{array name: ZipInfo} for every .npy member, each declared size within the budgets."""
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise CheckpointError(f"{path}: holds {len(infos)} entries, more than the "
                              f"{MAX_MEMBERS} a checkpoint may have")
    total = sum(info.file_size for info in infos)
    if total > MAX_TOTAL_BYTES:
        raise CheckpointError(f"{path}: its entries declare {total} bytes in all, more than "
                              f"the {MAX_TOTAL_BYTES} a checkpoint may hold")
    found = {}
    for info in infos:
        key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
        _check_member_size(path, info, key)
        found[key] = info
    if META_KEY not in found:
        raise CheckpointError(f"{path}: not a cyconv checkpoint (no '{META_KEY}' entry; it "
                              f"holds {sorted(found)[:5]})")
    return found


def _header(handle):
    version = np.lib.format.read_magic(handle)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(handle)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(handle)
    raise ValueError(f"unsupported .npy version {version}")


def read_header(path, archive, info, key):
    """(shape, dtype) from a member's .npy header, checked against its declared size."""
    try:
        with archive.open(info) as handle:
            shape, _, dtype = _header(handle)
    except _READ_ERRORS as error:
        raise CheckpointError(f"{path}: the entry '{key}' is damaged ({type(error).__name__}: "
                              f"{error})") from None
    if dtype.hasobject:
        raise CheckpointError(f"{path}: the entry '{key}' holds pickled Python objects; cyconv "
                              f"refuses to load them because unpickling can run code")
    if int(np.prod(shape, dtype=np.int64)) * dtype.itemsize > info.file_size:
        raise CheckpointError(f"{path}: the entry '{key}' declares an array {tuple(shape)} of "
                              f"{dtype} larger than the entry itself; the file is damaged")
    return tuple(shape), dtype


def read_array(path, archive, info, key):
    """The member's array (never unpickled)."""
    try:
        with archive.open(info) as handle:
            return np.lib.format.read_array(handle, allow_pickle=False)
    except _READ_ERRORS as error:
        raise CheckpointError(f"{path}: the entry '{key}' is damaged or truncated "
                              f"({type(error).__name__}: {error})") from None


def read_meta_text(path, archive, info):
    """The metadata JSON text (a 0-d unicode array)."""
    shape, dtype = read_header(path, archive, info, META_KEY)
    if shape != () or dtype.kind != "U":
        raise CheckpointError(f"{path}: the '{META_KEY}' entry is not JSON text")
    return str(read_array(path, archive, info, META_KEY))
