"""Bringing dataset files in by hand (``import_files``) and checking the ones found (``verify``).

Both work on the places ``sources`` searches: ``import_files`` copies a dataset's files into
the user cache (all or nothing, through ``sources.Staging``), ``verify`` checks what
``sources.find`` finds against the published MD5s, or the format when none is published.
"""
import os
import shutil
from pathlib import Path
from typing import NamedTuple

from . import cifar, idx
from .catalog import CIFAR10_ARCHIVE, CIFAR10_FOLDER, FILE_DATASETS, file_dataset
from .errors import DataError
from .sources import (CHUNK, HashingWriter, Staging, cache_dir, describe_places, file_md5, find,
                      idx_file)


class Check(NamedTuple):
    """One row of ``verify()``: is this file the one that was published?"""

    name: str
    file: str
    ok: bool
    message: str


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
    writer = HashingWriter(stage.new(destination))
    with open(source, "rb") as src_file:
        shutil.copyfileobj(src_file, writer, CHUNK * 16)
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
    with Staging() as stage:
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
