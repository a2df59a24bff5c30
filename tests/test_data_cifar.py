"""CIFAR-10 from a fake batches folder or .tar.gz built in tmp_path, and the safe unpickler.

The real CIFAR-10 batches were written by Python 2's cPickle (protocol 2), which Python 3
cannot produce, so ``py2_batch`` writes those opcodes by hand, as cPickle lays them out.
"""
import gzip
import hashlib
import os
import pickle
import struct
import tarfile
import tracemalloc
import warnings

import numpy as np
import pytest

from cyconv import data
from cyconv.data import catalog, cifar, sources
from cyconv.data.safe_pickle import safe_loads

BATCHES = catalog.CIFAR10.all_files
ARCHIVE = catalog.CIFAR10_ARCHIVE


# No real cache, no $CYCONV_DATA, no system folders and no network (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("isolated_data")


# ----------------------------------------------------------------------------- fake files

def _string(value):
    """SHORT_BINSTRING / BINSTRING: a Python 2 str."""
    return (b"U" + bytes([len(value)]) + value) if len(value) < 256 else (
        b"T" + struct.pack("<I", len(value)) + value)


def _int(value):
    if 0 <= value < 256:
        return b"K" + bytes([value])
    if 0 <= value < 65536:
        return b"M" + struct.pack("<H", value)
    return b"J" + struct.pack("<i", value)


def _py2_uint8_array(array):
    """numpy.ndarray.__reduce__ in Python 2: _reconstruct(ndarray, (0,), 'b') + BUILD state."""
    shape = b"".join(_int(d) for d in array.shape) + {1: b"\x85", 2: b"\x86"}[array.ndim]
    dtype = (b"cnumpy\ndtype\n" + _string(b"u1") + _int(0) + _int(1) + b"\x87R"
             + b"(" + _int(3) + _string(b"|") + b"NNN" + _int(-1) + _int(-1) + _int(0) + b"tb")
    return (b"cnumpy.core.multiarray\n_reconstruct\n" + b"cnumpy\nndarray\n" + _int(0) + b"\x85"
            + _string(b"b") + b"\x87R" + b"(" + _int(1) + shape + dtype + b"\x89"
            + _string(array.tobytes()) + b"tb")


def py2_batch(images, labels, label=b"training batch 1 of 5"):
    """A CIFAR-10 batch pickled the way the published files are (cPickle, protocol 2)."""
    rows = np.ascontiguousarray(images, dtype=np.uint8).reshape(len(images), -1)
    items = (_string(b"batch_label") + _string(label)
             + _string(b"labels") + b"](" + b"".join(_int(int(v)) for v in labels) + b"e"
             + _string(b"data") + _py2_uint8_array(rows)
             + _string(b"filenames") + b"]("
             + b"".join(_string(b"img_%d.png" % i) for i in range(len(rows))) + b"e")
    return b"\x80\x02}(" + items + b"u."


def fake_images(n, offset):
    """(n, 3, 32, 32) uint8 where red = offset + i, green = 100, blue = 200 (layout check)."""
    images = np.empty((n, 3, 32, 32), dtype=np.uint8)
    images[:, 0] = (offset + np.arange(n))[:, None, None] % 100
    images[:, 1] = 100
    images[:, 2] = 200
    return images


def write_cifar_folder(parent, per_batch=4):
    folder = parent / catalog.CIFAR10_FOLDER
    folder.mkdir(parents=True)
    for b, name in enumerate(BATCHES):
        labels = [(b + i) % 10 for i in range(per_batch)]
        (folder / name).write_bytes(py2_batch(fake_images(per_batch, b * per_batch), labels))
    (folder / "batches.meta").write_bytes(b"not read")
    return folder


def write_cifar_archive(path, per_batch=4):
    source = write_cifar_folder(path.parent / "archive-src", per_batch)
    with tarfile.open(path, "w:gz") as tar:
        tar.add(source, arcname=catalog.CIFAR10_FOLDER)
    return path


# ----------------------------------------------------------------------------- the fake matches pickle

def test_handmade_py2_pickle_is_what_pickle_itself_reads():
    images, labels = fake_images(3, 0), [1, 2, 3]
    payload = py2_batch(images, labels)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # numpy.core is an alias in NumPy 2
        trusted = pickle.loads(payload, encoding="bytes")  # our own bytes: safe to use pickle here
    mine = safe_loads(payload)
    assert mine.keys() == trusted.keys() == {b"batch_label", b"labels", b"data", b"filenames"}
    np.testing.assert_array_equal(mine[b"data"], trusted[b"data"])
    assert mine[b"labels"] == trusted[b"labels"] == labels


@pytest.mark.parametrize("protocol", [2, 3, 4, 5], ids=lambda p: f"protocol{p}")
def test_numpy_pickles_from_python3_are_read(protocol):
    array = np.arange(24, dtype=np.uint8).reshape(2, 12)
    payload = pickle.dumps({"data": array, "labels": [0, 1]}, protocol=protocol)
    loaded = safe_loads(payload)
    np.testing.assert_array_equal(loaded["data"], array)
    assert loaded["labels"] == [0, 1]


def test_big_endian_and_fortran_arrays_keep_their_values():
    array = np.asfortranarray(np.arange(12, dtype=">i4").reshape(3, 4))
    np.testing.assert_array_equal(safe_loads(pickle.dumps(array, protocol=2)), array)


# ----------------------------------------------------------------------------- loading

def test_cifar_folder_loads_with_channel_planes_in_order(tmp_path):
    folder = write_cifar_folder(tmp_path / "c")
    ds = data.load("cifar10", path=folder)
    assert ds.images.shape == (20, 3, 32, 32) and ds.images.dtype == np.float32
    assert ds.labels.tolist()[:5] == [0, 1, 2, 3, 1]
    assert ds.classes[0] == "airplane" and ds.classes[9] == "truck"
    np.testing.assert_allclose(ds.images[5, 0], 5 / 255)
    np.testing.assert_allclose(ds.images[5, 1], 100 / 255)
    np.testing.assert_allclose(ds.images[5, 2], 200 / 255)
    test = data.load("cifar10", path=tmp_path / "c", split="test")  # the parent folder works too
    assert len(test) == 4 and test.labels.tolist() == [5, 6, 7, 8]


def test_cifar_from_cyconv_data_and_locate(tmp_path, monkeypatch):
    write_cifar_folder(tmp_path / "env" / "cifar-10")
    monkeypatch.setenv("CYCONV_DATA", str(tmp_path / "env"))
    assert data.locate("cifar10") == tmp_path / "env" / "cifar-10" / catalog.CIFAR10_FOLDER
    ds = data.load("cifar10", split="test")
    assert "$CYCONV_DATA" in ds.source
    assert {r.name: r.location for r in data.available()}["cifar10"] == str(data.locate("cifar10"))


def test_cifar_archive_loads_without_extracting(tmp_path):
    archive = write_cifar_archive(tmp_path / ARCHIVE)
    ds = data.load("cifar10", path=archive)
    assert len(ds) == 20
    assert not (tmp_path / catalog.CIFAR10_FOLDER).exists()
    folder_ds = data.load("cifar10", path=tmp_path / "archive-src")
    np.testing.assert_array_equal(ds.images, folder_ds.images)


def test_small_n_reads_only_the_first_batch(tmp_path):
    folder = write_cifar_folder(tmp_path / "c", per_batch=6)
    (folder / "data_batch_2").write_bytes(b"garbage")
    assert data.load("cifar10", path=folder, n=5).labels.tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(data.DataError, match="data_batch_2"):
        data.load("cifar10", path=folder)


def test_missing_batch_is_reported(tmp_path):
    folder = write_cifar_folder(tmp_path / "c")
    (folder / "data_batch_4").unlink()
    with pytest.raises(data.DataError, match="nowhere else is searched"):
        data.load("cifar10", path=folder)
    with pytest.raises(data.DataError, match="data_batch_4 is missing"):
        cifar.read_cifar(folder, "train")


# ----------------------------------------------------------------------------- refusing code

class _RunsShell:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def test_pickle_that_calls_os_system_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    folder = write_cifar_folder(tmp_path / "c")
    evil = pickle.dumps({b"data": _RunsShell(f"touch {marker}"), b"labels": [0]}, protocol=2)
    (folder / "data_batch_1").write_bytes(evil)
    with pytest.raises(data.DataError, match=r"refusing to load it") as info:
        data.load("cifar10", path=folder)
    assert "system" in str(info.value)
    assert not marker.exists()


@pytest.mark.parametrize("payload, match", [
    (b"cos\nsystem\n(S'echo hi'\ntR.", "os.system"),                       # protocol 0 text
    (b"cbuiltins\neval\n(S'1+1'\ntR.", "builtins.eval"),
    (b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x8c\x04exec\x93S'1'\n\x85R.",
     "builtins.exec"),
    (b"\x80\x02cnumpy\nndarray\nK\x00\x85R.", "not callable"),              # calling the stand-in
    (b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\ndtype\nK\x00\x85U\x01b\x87R.",
     "only rebuild a plain numpy.ndarray"),
    (b"\x80\x02cnumpy\ndtype\nU\x02O8K\x00K\x01\x87R.", "not a plain numeric dtype"),
    (b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00aX\x05\x00\x00\x00rot13\x86R.", "latin1"),
    (b"\x80\x02}q\x00(", "truncated"),                                 # truncated
], ids=["os-system-proto0", "builtins-eval", "exec-stack-global", "ndarray-called",
        "reconstruct-other-class", "object-dtype", "codecs-other-encoding", "truncated"])
def test_safe_loads_refuses_anything_executable_or_broken(payload, match):
    with pytest.raises(pickle.UnpicklingError, match=match):
        safe_loads(payload)


def test_array_with_wrong_byte_count_is_refused():
    payload = py2_batch(fake_images(2, 0), [0, 1]).replace(b"K\x02M\x00\x0c\x86", b"K\x03M\x00\x0c\x86")
    with pytest.raises(pickle.UnpicklingError, match="needs 9216 bytes"):
        safe_loads(payload)


# ----------------------------------------------------------------------------- format errors

@pytest.mark.parametrize("batch, match", [
    ([1, 2, 3], "holds a list"),
    ({b"data": np.zeros((2, 3072), np.uint8)}, "lacks the 'data' or 'labels'"),
    ({b"data": np.zeros((2, 3072), np.uint8), b"fine_labels": [0, 1], b"coarse_labels": [0, 1]}, "CIFAR-100"),
    ({b"data": np.zeros((2, 1000), np.uint8), b"labels": [0, 1]}, r"CIFAR-10 stores uint8 \(N, 3072\)"),
    ({b"data": np.zeros((2, 3072), np.float32), b"labels": [0, 1]}, "dtype float32"),
    ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 1, 2]}, "2 images but labels of shape"),
    ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}, "uses 0..9"),
    ({b"data": np.zeros((2, 3072), np.uint8), b"labels": ["a", "b"]}, "integer label"),
], ids=["not-a-dict", "no-labels", "cifar100", "wrong-width", "float-data", "label-count", "label-range",
        "string-labels"])
def test_malformed_batches_raise_data_error(tmp_path, batch, match):
    folder = write_cifar_folder(tmp_path / "c")
    (folder / "test_batch").write_bytes(pickle.dumps(batch, protocol=2))
    with pytest.raises(data.DataError, match=match):
        data.load("cifar10", path=folder, split="test")


def test_oversized_batch_is_refused_before_reading(tmp_path, monkeypatch):
    folder = write_cifar_folder(tmp_path / "c")
    monkeypatch.setattr(cifar, "MAX_BATCH_BYTES", 1000)
    with pytest.raises(data.DataError, match="more than a CIFAR-10 batch can be"):
        data.load("cifar10", path=folder, split="test")


def test_damaged_archive_is_reported(tmp_path):
    archive = write_cifar_archive(tmp_path / ARCHIVE)
    archive.write_bytes(archive.read_bytes()[:200])
    with pytest.raises(data.DataError, match="cannot read it as a .tar.gz"):
        data.load("cifar10", path=archive)


def test_archive_of_something_else_is_reported(tmp_path):
    archive = tmp_path / ARCHIVE
    (tmp_path / "x").write_text("hello")
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "x", arcname="x")
    with pytest.raises(data.DataError, match="not the CIFAR-10 python version"):
        data.load("cifar10", path=archive)


# ----------------------------------------------------------------------------- cache, import, download

def test_import_cifar_folder_then_load_and_verify(tmp_path):
    write_cifar_folder(tmp_path / "usb")
    target = data.import_files(tmp_path / "usb")  # detected by its file names
    assert target == tmp_path / "home" / ".cache" / "cyconv" / "cifar10"
    assert sorted(p.name for p in (target / catalog.CIFAR10_FOLDER).iterdir()) == sorted(BATCHES)
    assert "user cache" in data.load("cifar10", split="test").source
    checks = data.verify("cifar10")
    assert len(checks) == 6 and all(c.ok and "valid batch of 4 images" in c.message for c in checks)


def test_import_of_a_malicious_batch_leaves_nothing(tmp_path):
    folder = write_cifar_folder(tmp_path / "usb")
    (folder / "test_batch").write_bytes(pickle.dumps(_RunsShell("true"), protocol=2))
    with pytest.raises(data.DataError, match="refusing"):
        data.import_files(tmp_path / "usb")
    assert not (tmp_path / "home" / ".cache").exists()


def test_import_of_a_non_canonical_archive_is_refused(tmp_path):
    archive = write_cifar_archive(tmp_path / ARCHIVE)
    with pytest.raises(data.DataError, match="does not match the published c58f3010"):
        data.import_files(archive)
    assert not (tmp_path / "home" / ".cache").exists()


def test_download_of_the_archive_is_md5_checked(tmp_path, monkeypatch):
    archive = write_cifar_archive(tmp_path / ARCHIVE)
    payload = archive.read_bytes()

    def serve(url, out):
        assert url == "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
        out.write(payload)

    monkeypatch.setattr(sources, "default_downloader", serve)
    with pytest.raises(data.DataError, match="MD5"):
        data.load("cifar10", split="test")
    assert not (tmp_path / "home" / ".cache").exists()

    # With this fake archive's MD5 as the published one, the same download is accepted.
    monkeypatch.setitem(catalog.CIFAR10.md5, ARCHIVE, hashlib.md5(payload).hexdigest())
    ds = data.load("cifar10", split="test")
    assert len(ds) == 4 and "found via download" in ds.source
    assert data.locate("cifar10") == tmp_path / "home" / ".cache" / "cyconv" / "cifar10" / ARCHIVE
    (row,) = data.verify("cifar10")
    assert row.ok and "matches the published file" in row.message


def test_gzip_module_is_not_fooled_by_a_plain_tar(tmp_path):
    """A .tar.gz that is not gzip-compressed is reported, not silently mis-read."""
    archive = tmp_path / ARCHIVE
    archive.write_bytes(gzip.decompress(write_cifar_archive(tmp_path / "real.tar.gz").read_bytes()))
    with pytest.raises(data.DataError, match="cannot read it as a .tar.gz"):
        data.load("cifar10", path=archive)


# ----------------------------------------------------------------------------- hostile pickles

def _fails_if_called(*args, **kwargs):
    raise AssertionError("the refusal came too late: the result was being expanded")


def _shared_lists(width, levels):
    """A few hundred bytes that describe width**levels items: each level is `width` references
    to the one list below it (pickle's memo writes the repeats as 2-byte BINGETs)."""
    nested = [0]
    for _ in range(levels):
        nested = [nested] * width
    return nested


def _refused_quickly(payload, match, **budget):
    from cyconv.data import safe_pickle
    tracemalloc.start()
    try:
        with pytest.raises(pickle.UnpicklingError, match=match):
            safe_loads(payload, safe_pickle.PickleBudget(**budget)) if budget else safe_loads(payload)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, f"{peak} bytes were allocated before the refusal"


def test_nested_shared_references_are_refused_before_they_are_expanded(tmp_path, monkeypatch):
    from cyconv.data import safe_pickle
    payload = pickle.dumps({b"data": _shared_lists(60, 6), b"labels": [0]}, protocol=2)
    assert len(payload) < 3000  # 60**6 = 46 billion items in under 3 KB
    monkeypatch.setattr(safe_pickle, "_materialise", _fails_if_called)
    _refused_quickly(payload, r"more than 2000000 values \(each use of a shared object counted\)")
    folder = write_cifar_folder(tmp_path / "c")
    (folder / "test_batch").write_bytes(payload)
    with pytest.raises(data.DataError, match=r"test_batch is not a CIFAR-10 batch that can be read "
                                             r"safely: the pickle would build more than 2000000"):
        data.load("cifar10", path=folder, split="test")


def test_one_object_reused_deeper_than_the_depth_limit_is_refused():
    inner = _shared_lists(2, 3)                  # height 3
    wrapper = [[[[[[inner]]]]], inner]          # the same list again, six levels down
    _refused_quickly(pickle.dumps(wrapper, protocol=2), "nests containers more than 8 deep")


def test_a_cycle_is_refused():
    loop = []
    loop.append(loop)
    _refused_quickly(pickle.dumps(loop, protocol=2), "contains itself")


def test_a_long_opcode_stream_is_refused_before_it_runs():
    # a million EMPTY_LIST opcodes would leave a million lists on the unpickler's stack
    payload = b"\x80\x02" + b"]" * 1_000_001 + b"."
    _refused_quickly(payload, "more than 1000000 opcodes", max_items=1_000_000)


def test_a_shared_string_reused_through_codecs_is_copied_once_and_counted_per_use():
    text = 100_000
    # _codecs.encode(<100 KB str>, "latin1") 3000 times over memo references: 300 MB if copied
    payload = (b"\x80\x02c_codecs\nencode\nq\x000" + b"X" + struct.pack("<I", text) + b"a" * text
               + b"q\x010X\x06\x00\x00\x00latin1q\x020]("
               + b"h\x00h\x01h\x02\x86R" * 3000 + b"e.")
    _refused_quickly(payload, r"more than 268435456 bytes of data")


def test_a_budget_refusal_names_its_limit_and_a_real_batch_fits_the_default():
    payload = py2_batch(fake_images(4, 0), [0, 1, 2, 3])
    _refused_quickly(payload, r"12535 bytes, more than the 1000 bytes of data", max_bytes=1000)
    _refused_quickly(payload, r"more than 20000 bytes of data \(each use", max_bytes=20000)
    assert safe_loads(payload)[b"data"].shape == (4, 3072)


def test_cifar_images_over_the_memory_budget_are_refused(tmp_path, monkeypatch):
    folder = write_cifar_folder(tmp_path / "c", per_batch=4)
    monkeypatch.setenv("CYCONV_MAX_DATA_BYTES", str(10 * 3072 * 5))
    with pytest.raises(data.DataError, match=r"12 CIFAR-10 images would take 184,320 bytes of memory, "
                                             r"more than the 153,600 bytes"):
        data.load("cifar10", path=folder)
    assert len(data.load("cifar10", path=folder, n=10)) == 10


def test_an_archive_of_many_tiny_members_is_refused_after_the_cap(tmp_path, monkeypatch):
    archive = tmp_path / ARCHIVE
    with tarfile.open(archive, "w:gz") as tar:
        for i in range(10 * cifar.MAX_ARCHIVE_MEMBERS):
            tar.addfile(tarfile.TarInfo(f"junk/{i}"))
    listed = []
    real_next = tarfile.TarFile.next
    monkeypatch.setattr(tarfile.TarFile, "next", lambda self: listed.append(1) or real_next(self))
    with pytest.raises(data.DataError, match=rf"more than {cifar.MAX_ARCHIVE_MEMBERS} members"):
        data.load("cifar10", path=archive)
    # the cap and one more, plus the first member tarfile.open reads to check the format
    assert len(listed) <= cifar.MAX_ARCHIVE_MEMBERS + 2
