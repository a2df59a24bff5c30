"""Where dataset files come from: the search order, the user cache, downloads, imports, checks.

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
import shutil
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlparse

from .._files import PendingFile
from . import cifar, idx
from .catalog import CIFAR10_ARCHIVE, CIFAR10_FOLDER, FILE_DATASETS, file_dataset
from .errors import DataError

ENV_DATA = "CYCONV_DATA"
ENV_OFFLINE = "CYCONV_OFFLINE"
SYSTEM_DATA_DIRS = (Path("/usr/share/datasets"),)
DOWNLOAD_TIMEOUT = 15.0               # seconds per network operation, not for the whole file
MAX_DOWNLOAD_BYTES = 256 << 20        # CIFAR-10 is 163 MB; more means a wrong response
_CHUNK = 1 << 16


@dataclass(frozen=True)
class Location:
    """Where a dataset's files were found: a folder (or the CIFAR-10 archive) and how."""

    path: Path
    origin: str  # "explicit path", "$CYCONV_DATA", "user cache", "system folder", "download"

    def describe(self):
        return f"{self.path} (found via {self.origin})"


class Check(NamedTuple):
    """One row of ``verify()``: is this file the one that was published?"""

    name: str
    file: str
    ok: bool
    message: str


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


class _HashingWriter:
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


class _Staging:
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
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                out.write(chunk)
                bar.update(len(chunk))


def _download_file(spec, filename, folder, downloader):
    """Fetch one file from its mirrors into ``folder``, MD5-checked, or raise."""
    expected = spec.md5[filename]
    reasons = []
    for url in spec.urls[filename]:
        with _Staging() as stage:
            writer = _HashingWriter(stage.new(folder / filename), MAX_DOWNLOAD_BYTES)
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


# ---------------------------------------------------------------------------- import

def _md5_owner(filename, digest):
    """The dataset whose published ``filename`` has this MD5, or None."""
    for spec in FILE_DATASETS.values():
        if spec.md5.get(filename) == digest:
            return spec
    return None


def _detect(src):
    """Guess which dataset the files in ``src`` belong to; DataError if it cannot tell."""
    if cifar.is_archive(src) or (src.is_dir() and (
            (src / CIFAR10_ARCHIVE).is_file() or (src / CIFAR10_FOLDER).is_dir()
            or (src / "data_batch_1").is_file() or (src / "test_batch").is_file())):
        return FILE_DATASETS["cifar10"]
    present = [p for f in FILE_DATASETS["mnist"].all_files if (p := idx_file(src, f))]
    if not present:
        raise DataError(
            f"{src}: found no dataset files to import (MNIST/Fashion-MNIST *-idx?-ubyte[.gz] "
            f"files, {CIFAR10_ARCHIVE}, or a {CIFAR10_FOLDER} folder)."
        )
    owners = {owner.name for p in present if (owner := _md5_owner(p.name, file_md5(p)))}
    if len(owners) == 1:
        return FILE_DATASETS[owners.pop()]
    # Only the folder's own name is a hint (its parent's for torchvision's .../raw folders).
    folder = src.resolve()
    hint = (folder.parent.name if folder.name == "raw" else folder.name).lower()
    if not owners and "fashion" in hint:
        return FILE_DATASETS["fashion_mnist"]
    if not owners and "mnist" in hint:
        return FILE_DATASETS["mnist"]
    raise DataError(
        f"{src}: MNIST and Fashion-MNIST use the same file names and these files do not match "
        "the published checksums of either, so the dataset cannot be told from the files; "
        "say which it is with name='mnist' or name='fashion_mnist'."
    )


def _idx_plan(spec, src):
    plan = []
    for filename in spec.all_files:
        source = idx_file(src, filename)
        if source is not None:
            checker = None if source.name in spec.md5 else idx.check_idx_file
            plan.append((source, source.name, spec.md5.get(source.name), checker))
    return plan


def _cifar_plan(spec, src):
    if cifar.is_archive(src):
        return [(src, CIFAR10_ARCHIVE, spec.md5[CIFAR10_ARCHIVE], None)]
    if (src / CIFAR10_ARCHIVE).is_file():
        return [(src / CIFAR10_ARCHIVE, CIFAR10_ARCHIVE, spec.md5[CIFAR10_ARCHIVE], None)]
    folder = src / CIFAR10_FOLDER if (src / CIFAR10_FOLDER).is_dir() else src
    missing = [f for f in spec.all_files if not (folder / f).is_file()]
    if missing:
        raise DataError(
            f"{folder}: the CIFAR-10 batches {', '.join(missing)} are missing; a complete "
            f"{CIFAR10_FOLDER} folder holds {', '.join(spec.all_files)}. Nothing was imported."
        )
    return [(folder / f, f"{CIFAR10_FOLDER}/{f}", None, cifar.check_batch_file) for f in spec.all_files]


def _copy_verified(spec, source, stage, destination, expected_md5, checker):
    if checker is not None:
        checker(source)
    writer = _HashingWriter(stage.new(destination))
    with open(source, "rb") as src_file:
        shutil.copyfileobj(src_file, writer, _CHUNK * 16)
    digest = writer.hexdigest()
    if expected_md5 is not None and digest != expected_md5:
        owner = _md5_owner(source.name, digest)
        hint = (f" It is {owner.title}'s {source.name}: import it with name='{owner.name}'."
                if owner is not None and owner is not spec else
                " It is damaged or not the original file; use the original download.")
        raise DataError(
            f"{source}: MD5 {digest} does not match the published {expected_md5} of "
            f"{spec.title} {source.name}.{hint} Nothing was imported."
        )


def import_files(src_path, name=None):
    """Copy a dataset's files from ``src_path`` into the user cache; returns the cache folder.

    ``name`` None detects the dataset: CIFAR-10 by its file names, MNIST vs Fashion-MNIST by
    the published MD5s (they share file names) or a folder name containing "fashion"/"mnist".
    Files with a published MD5 must match it; others (uncompressed IDX, extracted CIFAR
    batches) must pass the format check. All or nothing: on any error the cache is unchanged.
    """
    if not isinstance(src_path, (str, os.PathLike)):
        raise TypeError(f"import_files: src_path must be a path, got {type(src_path).__name__}")
    src = Path(src_path).expanduser()
    if not src.exists():
        raise DataError(f"{src}: no such file or folder to import from.")
    spec = file_dataset(name) if name is not None else _detect(src)
    if spec.kind == "idx" and not src.is_dir():
        raise DataError(f"{src}: give the folder that holds the {spec.title} files, not a file.")
    plan = _idx_plan(spec, src) if spec.kind == "idx" else _cifar_plan(spec, src)
    if not plan:
        raise DataError(f"{src}: none of the {spec.title} files ({', '.join(spec.all_files)}) are there.")
    target = cache_dir(spec.name)
    with _Staging() as stage:
        for source, relative, expected_md5, checker in plan:
            _copy_verified(spec, source, stage, target / relative, expected_md5, checker)
        stage.commit()
    return target


# ---------------------------------------------------------------------------- verify

def _verify_file(spec, path):
    expected = spec.md5.get(path.name)
    if expected is not None:
        digest = file_md5(path)
        if digest == expected:
            return Check(spec.name, str(path), True, f"MD5 {digest} matches the published file")
        return Check(spec.name, str(path), False,
                     f"MD5 {digest} differs from the published {expected}: damaged or not the original")
    try:
        if spec.kind == "idx":
            header = idx.check_idx_file(path)
            detail = f"header {header.dims} and size are consistent"
        else:
            detail = f"a valid batch of {cifar.check_batch_file(path)} images"
    except DataError as exc:
        return Check(spec.name, str(path), False, str(exc))
    return Check(spec.name, str(path), True, f"{detail} (no published MD5 for this form of the file)")


def verify(name=None):
    """Check the files ``locate`` finds: a list of ``Check(name, file, ok, message)`` rows.

    With ``name`` None every file dataset that is present is checked (absent ones are
    skipped); with a name, an absent dataset gives one row with ``file`` None and ok False.
    """
    names = list(FILE_DATASETS) if name is None else [file_dataset(name).name]
    rows = []
    for dataset in names:
        spec = FILE_DATASETS[dataset]
        location, looked = find(dataset)
        if location is None:
            if name is not None:
                rows.append(Check(dataset, None, False, f"not found (looked in {describe_places(looked)})"))
            continue
        if spec.kind == "idx":
            paths = [idx_file(location.path, f) for f in spec.all_files]
        elif cifar.is_archive(location.path):
            paths = [location.path]
        else:
            paths = [location.path / f for f in spec.all_files]
        rows.extend(_verify_file(spec, p) for p in paths)
    return rows
