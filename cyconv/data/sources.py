"""Where dataset files come from: the search order, the user cache, downloads.

``importing`` adds the files a user brings (``import_files``) and checks them (``verify``).

Search order for MNIST, Fashion-MNIST and CIFAR-10 (the first place holding the files wins):

1. an explicit ``path`` (then nothing else is searched: the caller said where the files are);
2. ``$CYCONV_DATA/<name>/`` (several folders may be given, separated by ``os.pathsep``);
3. the user cache ``$XDG_CACHE_HOME/cyconv/<name>`` (default ``~/.cache/cyconv/<name>``);
4. the system folders ``/usr/share/datasets/<name>`` (Debian's dataset-fashion-mnist);
5. a download into the user cache, from the canonical mirrors, checked against the published
   MD5 (only when nothing was found, downloading is allowed, and the network answers).

``<name>`` may be any of a dataset's folder names (``fashion-mnist`` and ``fashion_mnist``
both work, so ``CYCONV_DATA=/srv/data`` finds ``/srv/data/mnist`` and ``/srv/data/fashion-mnist``).

Nothing half-written ever appears in the cache: downloads and imports are written to a
temporary file beside the destination (``cyconv._files.PendingFile``, the one atomic write
every part of cyconv uses), verified, and only then renamed into place.
"""
import hashlib
import http.client
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from .._files import PendingFile
from . import cifar
from .catalog import CIFAR10_ARCHIVE, CIFAR10_FOLDER, file_dataset
from .errors import DataError

ENV_DATA = "CYCONV_DATA"
ENV_OFFLINE = "CYCONV_OFFLINE"
SYSTEM_DATA_DIRS = (Path("/usr/share/datasets"),)
DOWNLOAD_TIMEOUT = 15.0               # seconds per network operation, not for the whole file
MAX_DOWNLOAD_BYTES = 256 << 20        # CIFAR-10 is 163 MB; more means a wrong response
CHUNK = 1 << 16                       # bytes per read when streaming a download or a copy


@dataclass(frozen=True)
class Location:
    """Where a dataset's files were found: a folder (or the CIFAR-10 archive) and how."""

    path: Path
    origin: str  # "explicit path", "$CYCONV_DATA", "user cache", "system folder", "download"

    def describe(self):
        return f"{self.path} (found via {self.origin})"


class DownloadFailed(DataError):
    """Every mirror failed at the network level (the usual case: the machine is offline)."""

    def __init__(self, message, reasons):
        super().__init__(message)
        self.reasons = reasons


# ---------------------------------------------------------------------------- cache

def cache_root():
    """``$XDG_CACHE_HOME/cyconv`` if that is an absolute path, else ``~/.cache/cyconv``."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "cyconv"


def cache_dir(name):
    """The cache folder downloads and imports of dataset ``name`` are written to."""
    return cache_root() / file_dataset(name).folder_names[0]


def offline_requested():
    return os.environ.get(ENV_OFFLINE, "").strip().lower() in ("1", "true", "yes", "on")


# ---------------------------------------------------------------------------- search

def idx_file(folder, filename):
    """``folder/filename`` (gzip) or its uncompressed twin without ``.gz``, or None."""
    for candidate in (Path(folder) / filename, Path(folder) / filename.removesuffix(".gz")):
        if candidate.is_file():
            return candidate
    return None


def _holding(spec, candidate, files):
    """The folder/archive under ``candidate`` that holds every name in ``files``, or None."""
    if spec.kind == "idx":
        if candidate.is_dir() and all(idx_file(candidate, f) for f in files):
            return candidate
        return None
    if cifar.is_archive(candidate):
        return candidate
    if not candidate.is_dir():
        return None
    for folder in (candidate, candidate / CIFAR10_FOLDER):
        if all((folder / f).is_file() for f in files):
            return folder
    archive = candidate / CIFAR10_ARCHIVE
    return archive if archive.is_file() else None


def _env_roots():
    value = os.environ.get(ENV_DATA, "")
    return [Path(p).expanduser() for p in value.split(os.pathsep) if p.strip()]


def _candidates(spec, path):
    """(origin, root, sub-folder) in search order; an explicit path is the only place searched."""
    if path is not None:
        explicit = Path(path).expanduser()
        if explicit.is_file() and not cifar.is_archive(explicit):
            explicit = explicit.parent  # a path to one of the files means its folder
        yield "explicit path", explicit, ""
        for folder in spec.folder_names:
            yield "explicit path", explicit, folder
        return
    roots = [("$CYCONV_DATA", root) for root in _env_roots()]
    roots.append(("user cache", cache_root()))
    roots.extend(("system folder", root) for root in SYSTEM_DATA_DIRS)
    for origin, root in roots:
        for folder in spec.folder_names:
            yield origin, root, folder


def describe_places(looked):
    """Format (root, sub-folder) pairs compactly: ``/root/{a,b}; /other/{a,b}``."""
    grouped = {}
    for root, folder in looked:
        grouped.setdefault(str(root), []).append(folder)
    parts = []
    for root, folders in grouped.items():
        named = [f for f in folders if f]
        if "" in folders:
            parts.append(root)
        if len(named) == 1:
            parts.append(f"{root}/{named[0]}")
        elif named:
            parts.append(f"{root}/{{{','.join(named)}}}")
    return "; ".join(parts)


def find(name, path=None, split=None):
    """Search without network: ``(Location or None, [(root, sub-folder) looked at])``.

    ``split`` None asks for the files of both splits, "train"/"test" for that split only.
    """
    spec = file_dataset(name)
    files = spec.all_files if split is None else spec.split_files[split]
    looked = []
    for origin, root, folder in _candidates(spec, path):
        found = _holding(spec, root / folder if folder else root, files)
        if found is not None:
            return Location(found, origin), looked
        if (root, folder) not in looked:
            looked.append((root, folder))
    return None, looked


# ---------------------------------------------------------------------------- writing

def file_md5(path):
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class HashingWriter:
    """A write-only file wrapper that computes the MD5 of what passes through it."""

    def __init__(self, file, limit=None):
        self._file = file
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._limit = limit
        self.size = 0

    def write(self, data):
        self.size += len(data)
        if self._limit is not None and self.size > self._limit:
            raise DataError(
                f"the download is larger than {self._limit} bytes, far more than the dataset "
                "file; the server sent something else. Nothing was kept."
            )
        self._md5.update(data)
        return self._file.write(data)

    def hexdigest(self):
        return self._md5.hexdigest()


class Staging:
    """Temporary files beside their destinations, renamed into place only on ``commit``.

    Used as a context manager: leaving it by an exception (or without ``commit``) deletes the
    temporary files and every folder it created, so a failed download or import leaves the
    cache exactly as it was.
    """

    def __init__(self):
        self._pending = []
        self._created = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.discard()

    def new(self, final):
        """A binary file, open for writing, that becomes ``final`` on ``commit``."""
        final = Path(final)
        self._make_folders(final.parent)
        try:
            pending = PendingFile(final)
        except (OSError, ValueError) as error:
            raise DataError(f"cannot write into the dataset cache: {error}") from None
        self._pending.append(pending)
        return pending.file

    def _make_folders(self, folder):
        missing = []
        while not folder.exists():
            missing.append(folder)
            folder = folder.parent
        for path in reversed(missing):
            path.mkdir()
            self._created.append(path)

    def commit(self):
        for pending in self._pending:
            pending.commit()
        self._pending.clear()
        self._created.clear()

    def discard(self):
        for pending in self._pending:
            pending.discard()
        self._pending.clear()
        for folder in reversed(self._created):
            try:
                folder.rmdir()
            except OSError:  # not empty: something else lives there now
                pass
        self._created.clear()


# ---------------------------------------------------------------------------- download

def default_downloader(url, out):
    """Stream ``url`` into the binary file-like ``out``, with a tqdm progress bar.

    Raises ``OSError`` (``urllib.error.URLError``, timeouts) when the network is unreachable.
    Tests replace this function (``sources.default_downloader``) and never touch the network.
    """
    from tqdm import tqdm

    request = urllib.request.Request(url, headers={"User-Agent": "cyconv"})
    with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT) as response:
        length = response.headers.get("Content-Length", "")
        total = int(length) if length.isdigit() else None
        name = Path(urlparse(url).path).name
        with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=name,
                  disable=None, leave=False) as bar:
            for chunk in iter(lambda: response.read(CHUNK), b""):
                out.write(chunk)
                bar.update(len(chunk))


def _download_file(spec, filename, folder, downloader):
    """Fetch one file from its mirrors into ``folder``, MD5-checked, or raise."""
    expected = spec.md5[filename]
    reasons = []
    for url in spec.urls[filename]:
        with Staging() as stage:
            writer = HashingWriter(stage.new(folder / filename), MAX_DOWNLOAD_BYTES)
            try:
                downloader(url, writer)
            except (OSError, http.client.HTTPException) as exc:
                reasons.append(f"{url}: {exc}")
                continue
            if writer.hexdigest() != expected:
                raise DataError(
                    f"The download of {spec.title} {filename} from {url} is corrupt: its MD5 is "
                    f"{writer.hexdigest()} but the published file has {expected} ({writer.size} "
                    "bytes received). It was deleted and nothing was added to the cache; try "
                    "again later, or copy the original file in by hand."
                )
            stage.commit()
            return
    raise DownloadFailed(
        f"Could not download {spec.title} {filename}: " + "; ".join(reasons) + ".", reasons
    )


def download_dataset(name, *, downloader=None):
    """Download the missing files of ``name`` into its cache folder; returns that folder.

    Every file is MD5-checked before it is renamed into the cache. Raises ``DownloadFailed``
    (a ``DataError``) when no mirror can be reached, ``DataError`` on a bad checksum.
    """
    spec = file_dataset(name)
    fetch = downloader if downloader is not None else default_downloader
    folder = cache_dir(name)
    for filename in spec.urls:
        if spec.kind == "cifar":
            already = _holding(spec, folder, spec.all_files)  # the archive or extracted batches
        else:
            already = idx_file(folder, filename)
        if already is None:
            _download_file(spec, filename, folder, fetch)
    return folder


def _not_found(spec, split, looked, reason):
    files = ", ".join(spec.split_files[split]) if spec.kind == "idx" else (
        f"{CIFAR10_ARCHIVE} or a {CIFAR10_FOLDER} folder with {', '.join(spec.all_files)}")
    env = os.environ.get(ENV_DATA)
    env_note = f"$CYCONV_DATA is {env}" if env else "$CYCONV_DATA is not set"
    return DataError(
        f"{spec.title} ({split}) was not found on this computer and {reason}. Needed: {files}. "
        f"Looked in: {describe_places(looked)} ({env_note}). To use {spec.title} offline, copy the "
        f"files into {cache_dir(spec.name)}, or set CYCONV_DATA to a folder that has a "
        f"{spec.folder_names[0]}/ or {spec.folder_names[1]}/ sub-folder with them (for example "
        f"CYCONV_DATA=/srv/data with /srv/data/{spec.folder_names[0]}/), or run `cyconv data import <folder with the files>` "
        f"(cyconv.data.import_files), or pass path=<folder>. The built-in 'synthetic' dataset "
        "needs no files."
    )


def resolve(name, *, path=None, split="train", download=None, downloader=None):
    """Find the files of ``name``/``split`` in search order, downloading as a last resort.

    ``download``: None downloads when nothing is found unless ``$CYCONV_OFFLINE`` is set;
    True always may; False never does. Returns a ``Location``; raises ``DataError``.
    """
    spec = file_dataset(name)
    location, looked = find(name, path, split)
    if location is not None:
        return location
    if path is not None:
        raise DataError(
            f"{path}: the {spec.title} {split} files are not there (looked in "
            f"{describe_places(looked)}); needed: {', '.join(spec.split_files[split])}. With an "
            "explicit path nowhere else is searched; remove path= to use the normal search."
        )
    if download is False:
        raise _not_found(spec, split, looked, "downloading is switched off (download=False)")
    if download is None and offline_requested():
        raise _not_found(spec, split, looked, f"no download was tried (${ENV_OFFLINE} is set)")
    try:
        folder = download_dataset(name, downloader=downloader)
    except DownloadFailed as exc:
        raise _not_found(
            spec, split, looked, "it could not be downloaded (offline? " + "; ".join(exc.reasons) + ")"
        ) from None
    found = _holding(spec, folder, spec.split_files[split])
    if found is None:  # the mirrors only carry what catalog lists, so this means a bug there
        raise DataError(f"{folder}: the download finished but the {spec.title} {split} files are incomplete.")
    return Location(found, "download")
