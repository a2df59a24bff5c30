"""cyconv.data on files: MNIST/Fashion-MNIST IDX parsing, the search order, the offline message,
downloads (always mocked: no test touches the network), import_files and verify.
"""
import gzip
import hashlib
import io
import os
import shutil
import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from cyconv import data
from cyconv.data import catalog, idx, sources



def _real_data_folder() -> Path:
    """The folder with the real MNIST files: the first $CYCONV_DATA entry holding mnist/ (read at
    import, before the fixtures hide the variable), else the data folder beside the checkout."""
    for entry in filter(None, os.environ.get("CYCONV_DATA", "").split(os.pathsep)):
        if (Path(entry) / "mnist").is_dir():
            return Path(entry)
    return Path(__file__).resolve().parents[2] / "shared" / "data"


SHARED = _real_data_folder()
#: On CI the real files must be there: a silent skip would hide that the tests did not run.
_MISSING = not (SHARED / "mnist").is_dir()
if _MISSING and os.environ.get("CI"):
    raise RuntimeError(f"CI: the real MNIST files are missing (looked in {SHARED}); set CYCONV_DATA to the "
                       f"folder holding mnist/ and fashion-mnist/")
needs_shared = pytest.mark.skipif(_MISSING, reason=f"no real MNIST files: set CYCONV_DATA to a folder holding "
                                                   f"mnist/ (looked in {SHARED})")

# Captured at import, before the fixture below replaces them for every test.
REAL_DOWNLOADER = sources.default_downloader
DEFAULT_SYSTEM_DIRS = sources.SYSTEM_DATA_DIRS
TRAIN_FILES = catalog.IDX_SPLIT_FILES["train"]
TEST_FILES = catalog.IDX_SPLIT_FILES["test"]


# No real cache, no $CYCONV_DATA, no system folders and no network (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("isolated_data")


@pytest.fixture
def shared_env(monkeypatch):
    monkeypatch.setenv("CYCONV_DATA", str(SHARED))


def idx_bytes(array, magic=None, dims=None):
    """An IDX file's bytes: magic, dims (default: the array's shape), then the uint8 payload."""
    array = np.asarray(array, dtype=np.uint8)
    magic = (idx.MAGIC_IMAGES if array.ndim == 3 else idx.MAGIC_LABELS) if magic is None else magic
    dims = array.shape if dims is None else dims
    return struct.pack(f">I{len(dims)}I", magic, *dims) + array.tobytes()


def write_pair(folder, split="train", n=6, first_label=0, images=None, labels=None, gz=True):
    """A small valid (or, with explicit bytes, broken) IDX image/label pair in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(n)
    images = idx_bytes(rng.integers(0, 256, (n, 28, 28))) if images is None else images
    labels = idx_bytes((np.arange(n) + first_label) % 10) if labels is None else labels
    names = catalog.IDX_SPLIT_FILES[split]
    for name, payload in zip(names, (images, labels)):
        path = folder / (name if gz else name.removesuffix(".gz"))
        path.write_bytes(gzip.compress(payload) if gz else payload)
    return folder


def write_dataset(folder, first_label=0, n=6):
    write_pair(folder, "train", n, first_label)
    write_pair(folder, "test", n, first_label)
    return folder


def files_under(folder):
    return sorted(p.relative_to(folder) for p in Path(folder).rglob("*")) if Path(folder).exists() else []


# ----------------------------------------------------------------------------- real files

@needs_shared
def test_mnist_small_n_from_cyconv_data(shared_env):
    ds = data.load("mnist", n=100)
    assert ds.images.shape == (100, 1, 28, 28) and ds.images.dtype == np.float32
    assert ds.labels[:5].tolist() == [5, 0, 4, 1, 9]  # the well-known first MNIST digits
    assert ds.classes == tuple("0123456789")
    assert 0.0 == ds.images.min() and ds.images.max() == 1.0
    assert str(SHARED / "mnist") in ds.source and "$CYCONV_DATA" in ds.source


@needs_shared
def test_mnist_whole_train_set(shared_env):
    ds = data.load("mnist")
    assert len(ds) == 60000
    assert np.bincount(ds.labels).tolist()[:2] == [5923, 6742]


@needs_shared
def test_fashion_mnist_test_split_and_class_names(shared_env):
    ds = data.load("fashion_mnist", split="test")
    assert len(ds) == 10000 and ds.labels[0] == 9
    assert ds.classes[0] == "T-shirt/top" and ds.classes[ds.labels[0]] == "Ankle boot"
    assert np.bincount(ds.labels).tolist() == [1000] * 10
    assert str(SHARED / "fashion-mnist") in ds.source


@needs_shared
def test_load_train_test_on_real_files(shared_env):
    train, val, test = data.load_train_test("fashion_mnist", n_train=1000, n_test=200, val_fraction=0.2)
    assert (len(train), len(val), len(test)) == (800, 200, 200)
    mean, std = train.mean_std()
    np.testing.assert_allclose(mean, 0.0, atol=1e-5)
    np.testing.assert_allclose(std, 1.0, atol=1e-5)


@needs_shared
def test_available_and_verify_with_shared_files(shared_env):
    rows = {r.name: r for r in data.available()}
    assert rows["mnist"].location == str(SHARED / "mnist")
    assert rows["fashion_mnist"].location == str(SHARED / "fashion-mnist")
    assert rows["cifar10"].location is None
    checks = data.verify()
    assert len(checks) == 8 and all(c.ok for c in checks)
    assert {c.name for c in checks} == {"mnist", "fashion_mnist"}


@needs_shared
def test_verify_flags_a_damaged_copy(tmp_path, monkeypatch):
    copy = tmp_path / "data" / "mnist"
    shutil.copytree(SHARED / "mnist", copy)
    damaged = copy / "t10k-labels-idx1-ubyte.gz"
    damaged.chmod(0o644)
    payload = bytearray(damaged.read_bytes())
    payload[100] ^= 0xFF
    damaged.write_bytes(bytes(payload))
    monkeypatch.setenv("CYCONV_DATA", str(tmp_path / "data"))
    checks = {Path(c.file).name: c for c in data.verify("mnist")}
    assert not checks["t10k-labels-idx1-ubyte.gz"].ok
    assert "differs from the published" in checks["t10k-labels-idx1-ubyte.gz"].message
    assert checks["train-images-idx3-ubyte.gz"].ok


def test_verify_a_missing_dataset_gives_one_row():
    (row,) = data.verify("cifar10")
    assert row.name == "cifar10" and row.file is None and not row.ok and "not found" in row.message
    assert data.verify() == []


# ----------------------------------------------------------------------------- IDX parsing

@pytest.mark.parametrize("gz", [True, False], ids=["gzip", "plain"])
def test_small_idx_pair_loads_from_explicit_path(tmp_path, gz):
    folder = write_pair(tmp_path / "m", n=7, first_label=3, gz=gz)
    ds = data.load("mnist", path=folder)
    assert ds.images.shape == (7, 1, 28, 28)
    assert ds.labels.tolist() == [3, 4, 5, 6, 7, 8, 9]
    assert "explicit path" in ds.source


def _broken(kind):
    """(images bytes, labels bytes, gzip?) for one kind of damage, and the expected message."""
    good_images = idx_bytes(np.zeros((6, 28, 28)))
    good_labels = idx_bytes(np.arange(6))
    cases = {
        "wrong-magic": (b"\x00\x00\x08\x04" + good_images[4:], good_labels, True, "wrong magic number"),
        "swapped-files": (good_labels, good_images, True, "swapped"),
        "html-page": (b"<html><body>404</body></html>", good_labels, True, "not an IDX file"),
        "double-gzip": (gzip.compress(good_images), good_labels, True, "compressed twice"),
        "float-elements": (b"\x00\x00\x0d\x03" + good_images[4:], good_labels, True, "not unsigned bytes"),
        "header-count-too-big": (idx_bytes(np.zeros((6, 28, 28)), dims=(9, 28, 28)), good_labels, True,
                                 "gzip trailer records"),
        "plain-header-count-too-big": (idx_bytes(np.zeros((6, 28, 28)), dims=(9, 28, 28)), good_labels, False,
                                       "truncated"),
        "plain-extra-bytes": (good_images + b"\x00" * 10, good_labels, False, "longer than its header"),
        "counts-differ": (good_images, idx_bytes(np.arange(5)), True, "6 images but"),
        "wrong-image-size": (idx_bytes(np.zeros((6, 32, 32))), good_labels, True, "expected 28x28"),
        "label-out-of-range": (good_images, idx_bytes([0, 1, 2, 3, 4, 12]), True, "found label 12"),
        "empty-file": (b"", good_labels, False, "before the IDX magic"),
    }
    return cases[kind]


@pytest.mark.parametrize("kind", [
    "wrong-magic", "swapped-files", "html-page", "double-gzip", "float-elements",
    "header-count-too-big", "plain-header-count-too-big", "plain-extra-bytes", "counts-differ",
    "wrong-image-size", "label-out-of-range", "empty-file",
])
def test_broken_idx_files_raise_data_error(tmp_path, kind):
    images, labels, gz, message = _broken(kind)
    folder = write_pair(tmp_path / "m", images=images, labels=labels, gz=gz)
    with pytest.raises(data.DataError, match=message) as info:
        data.load("mnist", path=folder)
    assert "\n" not in str(info.value)  # one paragraph


def test_truncated_gzip_is_reported(tmp_path):
    folder = write_pair(tmp_path / "m", n=50)
    path = folder / TRAIN_FILES[0]
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(data.DataError, match="truncated or damaged"):
        data.load("mnist", path=folder)


def test_corrupted_gzip_body_is_reported(tmp_path):
    """Same length and trailer, one byte flipped in the middle: zlib or the CRC catches it."""
    folder = write_pair(tmp_path / "m", n=50)
    path = folder / TRAIN_FILES[0]
    payload = bytearray(path.read_bytes())
    payload[len(payload) // 2] ^= 0x55
    path.write_bytes(bytes(payload))
    with pytest.raises(data.DataError, match="damaged"):
        data.load("mnist", path=folder)


def test_huge_header_is_refused_before_allocating(tmp_path):
    """A header claiming 100,000 x 1000 x 1000 images must not allocate anything big."""
    folder = write_pair(tmp_path / "m", images=idx_bytes(np.zeros((1, 28, 28)), dims=(100000, 1000, 1000)))
    tracemalloc.start()
    try:
        with pytest.raises(data.DataError, match="more than any real IDX file"):
            data.load("mnist", path=folder)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000


def test_size_mismatch_is_refused_before_allocating(tmp_path):
    claims_more = idx_bytes(np.zeros((2, 28, 28)), dims=(60000, 28, 28))
    folder = write_pair(tmp_path / "m", images=claims_more, gz=False)
    tracemalloc.start()
    try:
        with pytest.raises(data.DataError, match="47040000 bytes of data"):
            data.load("mnist", path=folder)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000


# ----------------------------------------------------------------------------- search order

def test_search_order_explicit_then_env_then_cache_then_system(tmp_path, monkeypatch):
    explicit = write_dataset(tmp_path / "explicit", first_label=1)
    write_dataset(tmp_path / "env" / "mnist", first_label=2)
    write_dataset(tmp_path / "xdg" / "cyconv" / "mnist", first_label=3)
    write_dataset(tmp_path / "system" / "mnist", first_label=4)
    monkeypatch.setenv("CYCONV_DATA", str(tmp_path / "env"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))

    def first_label(**kwargs):
        return int(data.load("mnist", n=1, **kwargs).labels[0])

    assert first_label(path=explicit) == 1
    assert first_label() == 2
    assert data.locate("mnist") == tmp_path / "env" / "mnist"
    monkeypatch.delenv("CYCONV_DATA")
    assert first_label() == 3
    assert "user cache" in data.load("mnist", n=1).source
    shutil.rmtree(tmp_path / "xdg")
    assert first_label() == 4
    assert "system folder" in data.load("mnist", n=1).source


def test_cache_uses_home_when_xdg_is_unset(tmp_path):
    write_dataset(tmp_path / "home" / ".cache" / "cyconv" / "mnist", first_label=5)
    assert data.load("mnist", n=1).labels[0] == 5
    assert data.cache_dir("mnist") == tmp_path / "home" / ".cache" / "cyconv" / "mnist"


def test_relative_xdg_cache_home_is_ignored(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")  # the XDG spec says: ignore it
    assert data.cache_dir("fashion_mnist") == tmp_path / "home" / ".cache" / "cyconv" / "fashion_mnist"


def test_fashion_found_under_its_hyphenated_folder_name(tmp_path, monkeypatch):
    write_dataset(tmp_path / "env" / "fashion-mnist", first_label=7)
    monkeypatch.setenv("CYCONV_DATA", str(tmp_path / "env"))
    ds = data.load("fashion_mnist", split="test")
    assert ds.labels[0] == 7 and ds.classes[7] == "Sneaker"
    assert data.locate("mnist") is None


def test_debian_system_folder_for_fashion_mnist():
    # Debian's dataset-fashion-mnist installs into /usr/share/datasets/fashion-mnist.
    assert DEFAULT_SYSTEM_DIRS == (Path("/usr/share/datasets"),)
    folder = write_dataset(Path(sources.SYSTEM_DATA_DIRS[0]) / "fashion-mnist", first_label=2)
    assert data.locate("fashion_mnist") == folder
    assert "system folder" in data.load("fashion_mnist", n=1).source


def test_explicit_path_without_files_does_not_fall_back(tmp_path, monkeypatch):
    write_dataset(tmp_path / "env" / "mnist")
    monkeypatch.setenv("CYCONV_DATA", str(tmp_path / "env"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(data.DataError, match="nowhere else is searched") as info:
        data.load("mnist", path=tmp_path / "empty")
    assert "train-images-idx3-ubyte.gz" in str(info.value)
    assert data.locate("mnist", path=tmp_path / "empty") is None


def test_locate_needs_both_splits_but_load_needs_one(tmp_path, monkeypatch):
    write_pair(tmp_path / "env" / "mnist", "train")
    monkeypatch.setenv("CYCONV_DATA", str(tmp_path / "env"))
    assert data.locate("mnist") is None
    assert len(data.load("mnist")) == 6
    with pytest.raises(data.DataError, match=r"MNIST \(test\) was not found"):
        data.load("mnist", split="test", download=False)


# ----------------------------------------------------------------------------- downloads (mocked)

def _offline(url, out):
    raise OSError("Temporary failure in name resolution")


def test_offline_message_says_where_to_put_the_files(tmp_path, monkeypatch):
    calls = []

    def offline(url, out):
        calls.append(url)
        _offline(url, out)

    monkeypatch.setattr(sources, "default_downloader", offline)
    with pytest.raises(data.DataError) as info:
        data.load("fashion_mnist")
    message = str(info.value)
    assert "\n" not in message
    assert str(tmp_path / "home" / ".cache" / "cyconv" / "fashion_mnist") in message
    assert "CYCONV_DATA" in message and "could not be downloaded" in message
    assert "Temporary failure in name resolution" in message
    assert calls == [catalog.FASHION_MNIST.urls[TRAIN_FILES[0]][0]]
    assert files_under(tmp_path / "home" / ".cache") == []


@pytest.mark.parametrize("how, reason", [
    (dict(download=False), "download=False"), ("env", "CYCONV_OFFLINE is set"),
], ids=["download-false", "cyconv-offline"])
def test_no_download_attempted_when_switched_off(monkeypatch, how, reason):
    if how == "env":
        monkeypatch.setenv("CYCONV_OFFLINE", "1")
        how = {}
    with pytest.raises(data.DataError, match=reason):
        data.load("mnist", **how)  # the isolated fixture fails the test on any download


def test_bad_download_is_rejected_and_leaves_nothing(tmp_path, monkeypatch):
    def wrong_bytes(url, out):
        out.write(b"<html>this is not the file you wanted</html>")

    monkeypatch.setattr(sources, "default_downloader", wrong_bytes)
    with pytest.raises(data.DataError, match="MD5") as info:
        data.load("mnist")
    assert "nothing was added to the cache" in str(info.value)
    assert files_under(tmp_path / "home" / ".cache") == []


def test_interrupted_download_leaves_nothing(tmp_path, monkeypatch):
    def interrupted(url, out):
        out.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(sources, "default_downloader", interrupted)
    with pytest.raises(KeyboardInterrupt):
        data.load("mnist")
    assert files_under(tmp_path / "home" / ".cache") == []


@needs_shared
def test_good_download_lands_in_the_cache_and_loads(tmp_path, monkeypatch):
    served = []

    def from_shared(url, out):
        served.append(url)
        out.write((SHARED / "mnist" / url.rsplit("/", 1)[1]).read_bytes())

    monkeypatch.setattr(sources, "default_downloader", from_shared)
    ds = data.load("mnist", split="test", n=10)
    assert ds.labels[0] == 7 and "found via download" in ds.source
    cache = tmp_path / "home" / ".cache" / "cyconv" / "mnist"
    assert sorted(p.name for p in cache.iterdir()) == sorted(TRAIN_FILES + TEST_FILES)
    assert len(served) == 4
    assert all(u.startswith("https://ossci-datasets.s3.amazonaws.com/mnist/") for u in served)
    assert "user cache" in data.load("mnist", n=1).source  # found offline the next time
    assert len(served) == 4


def test_default_downloader_streams_with_progress(monkeypatch):
    """The urllib downloader, with urlopen replaced by an in-memory response."""
    body = bytes(range(256)) * 1000
    seen = {}

    class Response(io.BytesIO):
        headers = {"Content-Length": str(len(body))}

    def fake_urlopen(request, timeout):
        seen["url"], seen["timeout"] = request.full_url, timeout
        return Response(body)

    monkeypatch.setattr(sources.urllib.request, "urlopen", fake_urlopen)
    out = io.BytesIO()
    REAL_DOWNLOADER("https://example.invalid/x.gz", out)
    assert out.getvalue() == body
    assert seen == {"url": "https://example.invalid/x.gz", "timeout": sources.DOWNLOAD_TIMEOUT}


def test_every_mirror_failing_lists_the_reasons(monkeypatch):
    monkeypatch.setattr(sources, "default_downloader", _offline)
    with pytest.raises(sources.DownloadFailed) as info:
        data.download_dataset("cifar10")
    url = catalog.CIFAR10.urls[catalog.CIFAR10_ARCHIVE][0]
    assert info.value.reasons == [f"{url}: Temporary failure in name resolution"]


# ----------------------------------------------------------------------------- import / verify

@needs_shared
@pytest.mark.parametrize("folder, name", [("mnist", "mnist"), ("fashion-mnist", "fashion_mnist")],
                         ids=["mnist", "fashion"])
def test_import_detects_the_dataset_by_checksum(tmp_path, folder, name):
    neutral = tmp_path / "usb"  # a folder name that gives no hint
    shutil.copytree(SHARED / folder, neutral)
    target = data.import_files(neutral)
    assert target == tmp_path / "home" / ".cache" / "cyconv" / name
    assert data.locate(name) == target
    assert all(c.ok for c in data.verify(name))
    assert not [p for p in target.iterdir() if p.name.startswith(".")]  # no temp files left


@needs_shared
def test_import_with_wrong_name_is_refused_and_leaves_nothing(tmp_path):
    with pytest.raises(data.DataError, match="name='fashion_mnist'"):
        data.import_files(SHARED / "fashion-mnist", name="mnist")
    assert files_under(tmp_path / "home" / ".cache") == []


@needs_shared
def test_failed_import_leaves_nothing_in_the_cache(tmp_path):
    source = tmp_path / "copy"
    shutil.copytree(SHARED / "mnist", source)
    damaged = source / TEST_FILES[1]  # the last file copied: the others are already staged
    damaged.chmod(0o644)
    damaged.write_bytes(damaged.read_bytes()[:-10])
    with pytest.raises(data.DataError, match="Nothing was imported"):
        data.import_files(source, name="mnist")
    assert files_under(tmp_path / "home" / ".cache") == []


def test_import_of_plain_idx_files_checks_their_format(tmp_path):
    good = write_dataset(tmp_path / "my-mnist-copy")
    for path in list(good.iterdir()):  # decompress: no published MD5 for these
        path.with_suffix("").write_bytes(gzip.decompress(path.read_bytes()))
        path.unlink()
    target = data.import_files(good)  # detected from the folder name
    assert target.name == "mnist" and len(data.load("mnist", n=2)) == 2
    checks = data.verify("mnist")
    assert all(c.ok and "no published MD5" in c.message for c in checks)

    bad = write_pair(tmp_path / "bad-mnist", images=b"\x00\x00\x08\x03" + b"\x00" * 20, gz=False)
    with pytest.raises(data.DataError, match="header says"):
        data.import_files(bad, name="fashion_mnist")
    assert not (tmp_path / "home" / ".cache" / "cyconv" / "fashion_mnist").exists()


def test_import_cannot_tell_mnist_from_fashion_without_hints(tmp_path):
    folder = write_dataset(tmp_path / "stick")
    with pytest.raises(data.DataError, match="name='mnist' or name='fashion_mnist'"):
        data.import_files(folder)


@pytest.mark.parametrize("setup, match", [
    ("missing", "no such file or folder"), ("empty", "found no dataset files"),
], ids=["missing", "empty"])
def test_import_reports_missing_sources(tmp_path, setup, match):
    folder = tmp_path / "src"
    if setup == "empty":
        folder.mkdir()
    with pytest.raises(data.DataError, match=match):
        data.import_files(folder)


def test_md5_table_matches_the_shared_md5sums():
    if not (SHARED / "MD5SUMS").is_file():
        pytest.skip(f"no MD5SUMS beside the real data files (looked in {SHARED})")
    folders = {"mnist": catalog.MNIST, "fashion-mnist": catalog.FASHION_MNIST}
    for line in (SHARED / "MD5SUMS").read_text().splitlines():
        digest, relative = line.split()
        folder, filename = relative.split("/")
        assert folders[folder].md5[filename] == digest


def test_file_md5_streams_correctly(tmp_path):
    path = tmp_path / "blob"
    path.write_bytes(b"cyconv" * 500000)
    assert sources.file_md5(path) == hashlib.md5(b"cyconv" * 500000).hexdigest()


# ----------------------------------------------------------------------------- declared sizes

def _forged_gzip(path, dims, payload_bytes, magic=idx.MAGIC_IMAGES):
    """A gzip IDX file whose header declares ``dims`` but which holds ``payload_bytes`` of
    random (incompressible) data, with the gzip trailer forged to agree with the header."""
    header = struct.pack(f">I{len(dims)}I", magic, *dims)
    body = np.random.default_rng(0).integers(0, 256, payload_bytes, dtype=np.uint8).tobytes()
    packed = bytearray(gzip.compress(header + body, compresslevel=1))
    declared = len(header) + int(np.prod(dims, dtype=np.int64))
    packed[-4:] = struct.pack("<I", declared % (1 << 32))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(packed))
    return path


def _no_big_allocation(monkeypatch, limit=8 << 20):
    real_empty = np.empty

    def guarded(shape, *args, **kwargs):
        size = int(np.prod(shape)) * np.dtype(kwargs.get("dtype", args[0] if args else float)).itemsize
        assert size <= limit, f"np.empty of {size} bytes before the refusal"
        return real_empty(shape, *args, **kwargs)

    monkeypatch.setattr(idx.np, "empty", guarded)


def test_a_small_gzip_declaring_millions_of_images_is_refused_before_reading(tmp_path, monkeypatch):
    images = _forged_gzip(tmp_path / "m" / TRAIN_FILES[0], (2_100_000, 28, 28), 1 << 20)
    assert images.stat().st_size < 1_100_000
    _no_big_allocation(monkeypatch)
    tracemalloc.start()
    try:
        with pytest.raises(data.DataError, match=r"train-images-idx3-ubyte.gz: the header says "
                                                 r"2100000 x 28 x 28 = 1646400000 bytes of data, "
                                                 r"but a gzip file of \d+ bytes inflates to at most"):
            idx.check_idx_file(images)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20


def test_a_declared_size_over_the_memory_budget_is_refused_before_allocating(tmp_path, monkeypatch):
    folder = write_pair(tmp_path / "m", n=1000)
    monkeypatch.setenv("CYCONV_MAX_DATA_BYTES", str(1 << 20))
    _no_big_allocation(monkeypatch, limit=1 << 20)
    with pytest.raises(data.DataError, match=r"train-images-idx3-ubyte.gz: 1000 images of 28x28 would "
                                             r"take 4 MiB of memory, more than the 1 MiB a dataset may "
                                             r"use; load fewer examples \(n=...\) or set "
                                             r"\$CYCONV_MAX_DATA_BYTES"):
        data.load("mnist", path=folder)
    assert len(data.load("mnist", path=folder, n=200)) == 200  # 200 * 784 * 5 bytes fit


@pytest.mark.parametrize("value", ["lots", "0", "-5"])
def test_a_memory_budget_that_is_no_size_is_one_clear_error(tmp_path, monkeypatch, value):
    folder = write_pair(tmp_path / "m")
    monkeypatch.setenv("CYCONV_MAX_DATA_BYTES", value)
    with pytest.raises(data.DataError, match=r"CYCONV_MAX_DATA_BYTES is .* positive number of bytes"):
        data.load("mnist", path=folder)


def test_the_default_budget_is_half_the_memory_at_most_4_gib(monkeypatch):
    from cyconv.data import limits
    monkeypatch.delenv("CYCONV_MAX_DATA_BYTES", raising=False)
    monkeypatch.setattr(limits, "_physical_memory", lambda: 2 << 30)
    assert limits.memory_budget() == 1 << 30
    monkeypatch.setattr(limits, "_physical_memory", lambda: 64 << 30)
    assert limits.memory_budget() == 4 << 30


def test_a_gzip_whose_trailer_lies_stops_at_the_real_end(tmp_path, monkeypatch):
    # the trailer agrees with the header and the ratio is plausible, but the data is short
    write_pair(tmp_path / "m", n=50)
    _forged_gzip(tmp_path / "m" / TRAIN_FILES[0], (50, 28, 28), 10 * 784)
    with pytest.raises(data.DataError, match=r"gzip stream is damaged or truncated while reading "
                                             r"50 entries"):
        data.load("mnist", path=tmp_path / "m")


def test_a_gzip_longer_than_its_header_is_read_only_one_byte_past_it(tmp_path):
    path = tmp_path / "labels.gz"
    packed = bytearray(gzip.compress(idx_bytes(np.arange(10) % 10, dims=(4,))))
    packed[-4:] = struct.pack("<I", 4 + 4 + 4)  # the trailer agrees with the header
    path.write_bytes(bytes(packed))
    reads = []
    with idx.IdxReader(path, idx.MAGIC_LABELS) as reader:
        real_read = reader._stream.read
        reader._stream.read = lambda size=-1: reads.append(size) or real_read(size)
        with pytest.raises(data.DataError, match="data after the 4 entries"):
            reader.read()
    assert sum(reads) == 4 + 1 and -1 not in reads  # the 4 declared bytes, then one more
