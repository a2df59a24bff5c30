"""IDX files (MNIST, Fashion-MNIST): header first, sizes checked, then one ``frombuffer``.

An IDX file is big-endian: a 4-byte magic number ``0x0000TTDD`` (TT = element type, 0x08 for
unsigned bytes; DD = number of dimensions), then one 4-byte size per dimension, then the
elements in C order. Labels are magic 2049 (0x801: bytes, 1 dimension), images 2051
(0x803: bytes, 3 dimensions: count, rows, columns).

Everything that can be checked before allocating is checked first: the magic number, the
dimension count, and the payload size the header implies against the real file size (for a
gzip file, the uncompressed size its trailer records, and the most that many compressed bytes
can inflate to), then against the memory budget (``limits``). A damaged or forged header
therefore gives a ``DataError`` instead of a multi-gigabyte allocation or a reshape error.
The payload is then read in chunks into one buffer, never more than the header declares
plus one byte (which shows whether the file is longer than declared).
"""
import gzip
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DataError
from .limits import BYTES_PER_LOADED_PIXEL, check_memory

MAGIC_LABELS = 2049
MAGIC_IMAGES = 2051
_UNSIGNED_BYTE = 0x08
_GZIP_SIGNATURE = b"\x1f\x8b"
# No IDX file cyconv reads comes close; a header claiming more is damaged, not big.
MAX_PAYLOAD_BYTES = 1 << 31
# Deflate's best case: one 258-byte match per ~2 bits, so no gzip inflates beyond 1032:1.
MAX_DEFLATE_RATIO = 1032
_CHUNK = 1 << 20

_KIND = {MAGIC_LABELS: "label", MAGIC_IMAGES: "image"}


@dataclass(frozen=True)
class IdxHeader:
    """The parsed header of one IDX file: ``dims`` e.g. (60000, 28, 28)."""

    path: Path
    magic: int
    dims: tuple

    @property
    def header_bytes(self):
        return 4 + 4 * len(self.dims)

    @property
    def payload_bytes(self):
        return int(np.prod(self.dims, dtype=np.int64))

    @property
    def count(self):
        return self.dims[0]


def is_gzip(path):
    with open(path, "rb") as f:
        return f.read(2) == _GZIP_SIGNATURE


def _gzip_recorded_size(path, file_size):
    """The uncompressed size (mod 2**32) stored in the last 4 bytes of a gzip file.

    This is the ISIZE field of the last gzip member; the MNIST files are single-member, as
    ``gzip`` writes them, so it is the size of the whole IDX file.
    """
    if file_size < 18:  # 10-byte header + 8-byte trailer is the smallest gzip file
        raise DataError(f"{path}: the gzip file is only {file_size} bytes long; it is truncated.")
    with open(path, "rb") as f:
        f.seek(-4, 2)
        return struct.unpack("<I", f.read(4))[0]


def _parse_magic(path, raw, expected_magic):
    if len(raw) < 4:
        raise DataError(
            f"{path}: the file ends after {len(raw)} bytes, before the IDX magic number; it is "
            "empty or truncated. Replace the file with the original download."
        )
    magic = struct.unpack(">I", raw)[0]
    if magic == expected_magic:
        return magic
    expected_kind = _KIND[expected_magic]
    if magic in _KIND:
        hint = (f"it is an IDX {_KIND[magic]} file where the {expected_kind} file was expected; "
                "the images and labels files are swapped or misnamed")
    elif raw[:2] == _GZIP_SIGNATURE:
        hint = "it is still gzip-compressed inside (compressed twice?)"
    elif raw[:2] == b"\x00\x00" and raw[2] != _UNSIGNED_BYTE:
        hint = f"element type 0x{raw[2]:02X} is not unsigned bytes (0x08), which MNIST uses"
    elif raw[:3] == b"\x00\x00\x08":
        hint = (f"it has {raw[3]} dimensions where an IDX {expected_kind} file has "
                f"{expected_magic & 0xFF}")
    else:
        hint = "it is not an IDX file, or its beginning is damaged (an HTML error page saved by a browser?)"
    raise DataError(
        f"{path}: wrong magic number {magic} (0x{magic:08X}); an IDX {expected_kind} file starts "
        f"with {expected_magic} (0x{expected_magic:08X}), and {hint}. Replace the file with "
        "the original download."
    )


class IdxReader:
    """Open an IDX file (plain or gzip), read and check its header; then ``read(rows)``.

    Use as a context manager. ``header`` is available as soon as it is opened, so two files
    (images and labels) can be compared before either payload is read.
    """

    def __init__(self, path, expected_magic):
        self.path = Path(path)
        self._file = open(self.path, "rb")
        try:
            self._stream, container_size = self._open_stream()
            self.header = self._read_header(expected_magic)
            self._check_size(container_size)
        except BaseException:
            self.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        stream = getattr(self, "_stream", None)
        if stream is not None and stream is not self._file:
            stream.close()
        self._file.close()

    def _open_stream(self):
        """(stream, (container, size)): container "plain" or "gzip"; size = the data size it records."""
        file_size = self.path.stat().st_size
        compressed = self._file.read(2) == _GZIP_SIGNATURE
        self._file.seek(0)
        if not compressed:
            return self._file, ("plain", file_size)
        recorded = _gzip_recorded_size(self.path, file_size)
        return gzip.GzipFile(fileobj=self._file, mode="rb"), ("gzip", recorded, file_size)

    def _read(self, count, what):
        try:
            data = self._stream.read(count)
        except (EOFError, OSError, zlib.error) as exc:
            raise DataError(
                f"{self.path}: the gzip stream is damaged or truncated while reading {what} "
                f"({exc}). Replace the file with the original download."
            ) from None
        if len(data) < count:
            raise DataError(
                f"{self.path}: the file ends after {len(data)} of the {count} bytes of {what}; "
                "it is truncated. Replace the file with the original download."
            )
        return data

    def _read_header(self, expected_magic):
        magic = _parse_magic(self.path, self._read_prefix(), expected_magic)
        ndim = magic & 0xFF
        dims = struct.unpack(f">{ndim}I", self._read(4 * ndim, "the header"))
        header = IdxHeader(self.path, magic, tuple(int(d) for d in dims))
        if header.payload_bytes > MAX_PAYLOAD_BYTES:
            raise DataError(
                f"{self.path}: the header claims dimensions {header.dims}, "
                f"{header.payload_bytes} bytes of data, which is more than any real IDX file; "
                "the header is damaged."
            )
        return header

    def _read_prefix(self):
        try:
            return self._stream.read(4)
        except (EOFError, OSError, zlib.error) as exc:
            raise DataError(f"{self.path}: cannot read the start of the file ({exc}).") from None

    def _check_size(self, container_size):
        container, size = container_size[:2]
        expected = self.header.header_bytes + self.header.payload_bytes
        dims = " x ".join(str(d) for d in self.header.dims)
        if container == "gzip" and expected > MAX_DEFLATE_RATIO * container_size[2]:
            raise DataError(
                f"{self.path}: the header says {dims} = {self.header.payload_bytes} bytes of data, "
                f"but a gzip file of {container_size[2]} bytes inflates to at most "
                f"{MAX_DEFLATE_RATIO * container_size[2]} bytes (deflate's limit is "
                f"{MAX_DEFLATE_RATIO}:1); the header is damaged or forged. Replace the file "
                "with the original download."
            )
        if container == "plain" and size != expected:
            raise DataError(
                f"{self.path}: the header says {dims} = {self.header.payload_bytes} bytes of data "
                f"({expected} bytes with the header), but the file has {size} bytes; it is "
                f"{'truncated' if size < expected else 'longer than its header says'}. "
                "Replace the file with the original download."
            )
        if container == "gzip" and size != expected % (1 << 32):
            raise DataError(
                f"{self.path}: the header says {dims} = {self.header.payload_bytes} bytes of data "
                f"({expected} bytes with the header), but the gzip trailer records {size} "
                "uncompressed bytes; the file is truncated or damaged. Replace it with the "
                "original download."
            )

    def rows(self, rows=None):
        """How many entries ``read(rows)`` returns."""
        return self.header.count if rows is None else min(rows, self.header.count)

    def read(self, rows=None):
        """The first ``rows`` entries (all if None) as a uint8 array (rows, *dims[1:])."""
        count = self.rows(rows)
        item_shape = self.header.dims[1:]
        item_bytes = int(np.prod(item_shape, dtype=np.int64))
        data = self._read_into(np.empty(count * item_bytes, dtype=np.uint8), f"{count} entries")
        if count == self.header.count and self._has_more():
            raise DataError(
                f"{self.path}: there is data after the {count} entries the header announces; "
                "the file is damaged."
            )
        return data.reshape((count,) + item_shape)

    def _read_into(self, buffer, what):
        """Fill ``buffer`` chunk by chunk: a stream shorter than declared stops at its end."""
        view, filled = memoryview(buffer), 0
        while filled < len(view):
            try:
                got = self._stream.readinto(view[filled:filled + _CHUNK])
            except (EOFError, OSError, zlib.error) as exc:
                raise DataError(
                    f"{self.path}: the gzip stream is damaged or truncated while reading {what} "
                    f"({exc}). Replace the file with the original download."
                ) from None
            if not got:
                raise DataError(
                    f"{self.path}: the file ends after {filled} of the {len(view)} bytes of "
                    f"{what}; it is truncated. Replace the file with the original download."
                )
            filled += got
        return buffer

    def _has_more(self):
        # Reading to the end also makes gzip check its CRC, so a corrupted body is caught.
        try:
            return self._stream.read(1) != b""
        except (EOFError, OSError, zlib.error) as exc:
            raise DataError(
                f"{self.path}: the gzip stream is damaged at its end ({exc}). Replace the file "
                "with the original download."
            ) from None


def check_idx_file(path):
    """Check one IDX file's header and size without reading its payload.

    Returns the ``IdxHeader``. The kind (images or labels) is read from the file name,
    as MNIST names its files (``...-images-idx3-...``, ``...-labels-idx1-...``).
    """
    magic = MAGIC_IMAGES if "images" in Path(path).name else MAGIC_LABELS
    with IdxReader(path, magic) as reader:
        return reader.header


def read_idx_pair(images_path, labels_path, *, n=None, image_hw=None, num_classes=10):
    """Read images and labels that belong together: uint8 (N, H, W) and int64 (N,).

    Both headers are read and compared before either payload: a count mismatch, a wrong
    image size (``image_hw``, e.g. (28, 28)) or a bad header raises ``DataError`` before the
    big allocation. ``n`` keeps the first n entries (files from the publishers are shuffled);
    only those are decompressed, so the gzip CRC at the end is checked only when all entries
    are read (``verify()`` checks the MD5 of the whole file).
    """
    with IdxReader(images_path, MAGIC_IMAGES) as images, IdxReader(labels_path, MAGIC_LABELS) as labels:
        if images.header.count != labels.header.count:
            raise DataError(
                f"{images_path.name} holds {images.header.count} images but {labels_path.name} "
                f"holds {labels.header.count} labels (in {Path(images_path).parent}); they must "
                "come from the same split (train-* with train-*, t10k-* with t10k-*)."
            )
        if image_hw is not None and images.header.dims[1:] != tuple(image_hw):
            raise DataError(
                f"{images_path}: images are {images.header.dims[1]}x{images.header.dims[2]}, "
                f"expected {image_hw[0]}x{image_hw[1]}; this is not the expected dataset."
            )
        count, (height, width) = images.rows(n), images.header.dims[1:]
        check_memory(images_path, f"{count} images of {height}x{width}",
                     count * height * width * BYTES_PER_LOADED_PIXEL)
        pixels = images.read(n)
        targets = labels.read(n)
    if targets.size and targets.max() >= num_classes:
        raise DataError(
            f"{labels_path}: found label {int(targets.max())}, but the dataset has "
            f"{num_classes} classes (0..{num_classes - 1}); the labels file is damaged or "
            "belongs to another dataset."
        )
    return pixels, targets.astype(np.int64)
