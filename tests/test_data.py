"""cyconv.data: the Dataset class, the synthetic set, batching, normalisation, load() and digits.

File formats, the search order and downloads are in test_data_files.py, CIFAR-10 in
test_data_cifar.py, image folders in test_data_folder.py.
"""
import sys
import time

import numpy as np
import pytest

from cyconv import data


# No real cache, no $CYCONV_DATA, no system folders and no network (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("isolated_data")


def make_dataset(n=10, channels=1, size=4, classes=("a", "b", "c")):
    """Images whose every pixel holds the example's index, so batches can be traced back."""
    images = np.repeat(np.arange(n, dtype=np.float32), channels * size * size)
    images = images.reshape(n, channels, size, size)
    labels = np.arange(n, dtype=np.int64) % len(classes)
    return data.Dataset(images=images, labels=labels, classes=classes, name="toy", source="test")


def ids(batch_x):
    return batch_x[:, 0, 0, 0].astype(int).tolist()


# ----------------------------------------------------------------------------- synthetic

@pytest.mark.parametrize("rgb, size, channels", [(False, 28, 1), (True, 32, 3), (False, 20, 1)],
                         ids=["gray28", "rgb32", "gray20"])
def test_synthetic_shapes_dtype_and_range(rgb, size, channels):
    ds = data.synthetic(50, size=size, rgb=rgb, seed=3)
    assert ds.images.shape == (50, channels, size, size)
    assert ds.images.dtype == np.float32 and ds.labels.dtype == np.int64
    assert ds.images.min() >= 0.0 and ds.images.max() <= 1.0
    assert ds.classes == data.SHAPE_CLASSES and len(ds.classes) == 10
    assert ds.name == ("synthetic_rgb" if rgb else "synthetic")


def test_synthetic_is_deterministic_per_seed():
    a, b = data.synthetic(200, seed=7), data.synthetic(200, seed=7)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.labels, b.labels)
    c = data.synthetic(200, seed=8)
    assert not np.array_equal(a.images, c.images)


@pytest.mark.parametrize("n", [10, 997, 1000], ids=["n10", "n997", "n1000"])
def test_synthetic_classes_are_balanced(n):
    counts = np.bincount(data.synthetic(n, seed=1).labels, minlength=10)
    assert counts.max() - counts.min() <= 1
    assert counts.sum() == n


def test_synthetic_shapes_stand_out_from_the_background():
    ds = data.synthetic(300, seed=2)
    # Every image has a bright shape well above its median (background) level.
    flat = ds.images.reshape(len(ds), -1)
    contrast = np.quantile(flat, 0.97, axis=1) - np.median(flat, axis=1)
    assert contrast.min() > 0.2


def test_synthetic_classes_differ_on_average():
    ds = data.synthetic(2000, seed=4)
    means = np.stack([ds.images[ds.labels == k].mean(axis=0).ravel() for k in range(10)])
    distances = np.linalg.norm(means[:, None] - means[None], axis=-1)
    assert distances[~np.eye(10, dtype=bool)].min() > 0.3


def test_synthetic_is_not_trivial_for_a_pixel_template_matcher():
    """Nearest class-mean on raw pixels (a linear, position-bound model) must do poorly."""
    train, test = data.synthetic(3000, seed=5), data.synthetic(1000, seed=6)
    means = np.stack([train.images[train.labels == k].mean(axis=0).ravel() for k in range(10)])
    flat = test.images.reshape(len(test), -1)
    predicted = np.argmin(((flat[:, None] - means[None]) ** 2).sum(-1), axis=1)
    accuracy = (predicted == test.labels).mean()
    assert 0.1 < accuracy < 0.7


def test_synthetic_generates_ten_thousand_images_quickly():
    data.synthetic(100, seed=0)  # warm-up: first call pays for imports
    start = time.perf_counter()
    data.synthetic(10000, seed=0)
    assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize("kwargs, error", [
    (dict(n=0), ValueError), (dict(n=10, size=8), ValueError), (dict(n=10, size=28.0), TypeError),
    (dict(n=10, rgb=1), TypeError), (dict(n=10, seed=-1), ValueError),
], ids=["n0", "size8", "size-float", "rgb-int", "seed-negative"])
def test_synthetic_validates_arguments(kwargs, error):
    n = kwargs.pop("n")
    with pytest.raises(error, match="synthetic"):
        data.synthetic(n, **kwargs)


def test_load_synthetic_train_and_test_do_not_overlap():
    train = data.load("synthetic", n=500, seed=0)
    test = data.load("synthetic", split="test", n=500, seed=0)
    flat_train = {row.tobytes() for row in train.images.reshape(len(train), -1)}
    assert not any(row.tobytes() in flat_train for row in test.images.reshape(len(test), -1))


def test_load_synthetic_defaults_and_rgb():
    train = data.load("synthetic")
    assert len(train) == 10000 and train.image_shape == (1, 28, 28)
    rgb = data.load("synthetic_rgb", split="test", n=20)
    assert rgb.image_shape == (3, 32, 32) and rgb.name == "synthetic_rgb"


# ----------------------------------------------------------------------------- Dataset

def test_dataset_basic_properties():
    ds = make_dataset(n=6, channels=3)
    assert len(ds) == 6 and ds.image_shape == (3, 4, 4) and ds.num_classes == 3
    assert "toy" in repr(ds) and "n=6" in repr(ds)
    with pytest.raises(AttributeError):
        ds.name = "other"  # frozen


@pytest.mark.parametrize("images, labels, classes, error, match", [
    (np.zeros((2, 4, 4), np.float32), np.zeros(2, np.int64), ("a",), TypeError, "4-D"),
    (np.zeros((2, 1, 4, 4), np.uint8), np.zeros(2, np.int64), ("a",), TypeError, "float32"),
    (np.zeros((2, 1, 4, 4), np.float32), np.zeros(2, np.int32), ("a",), TypeError, "int64"),
    (np.zeros((2, 1, 4, 4), np.float32), np.zeros(3, np.int64), ("a",), ValueError, r"\(2,\)"),
    (np.zeros((2, 1, 4, 4), np.float32), np.array([0, 2]), ("a", "b"), ValueError, "0..1"),
    (np.zeros((2, 1, 4, 4), np.float32), np.zeros(2, np.int64), (), TypeError, "classes"),
], ids=["3d-images", "uint8-images", "int32-labels", "count-mismatch", "label-range", "no-classes"])
def test_dataset_validates_fields(images, labels, classes, error, match):
    with pytest.raises(error, match=match):
        data.Dataset(images=images, labels=labels, classes=classes, name="x", source="y")


def test_subset_copies_the_chosen_examples_in_order():
    ds = make_dataset(n=8)
    sub = ds.subset([5, 1, 1])
    assert ids(sub.images) == [5, 1, 1]
    np.testing.assert_array_equal(sub.labels, ds.labels[[5, 1, 1]])
    sub.images[...] = -1
    assert ds.images.min() == 0  # the original is untouched
    with pytest.raises(IndexError, match="out of range"):
        ds.subset([8])
    with pytest.raises(TypeError, match="1-D"):
        ds.subset([[0, 1]])


@pytest.mark.parametrize("n, fraction, n_val", [(100, 0.1, 10), (101, 0.25, 25), (10, 0.0, 0)],
                         ids=["100x0.1", "101x0.25", "no-val"])
def test_split_sizes_disjoint_and_complete(n, fraction, n_val):
    ds = make_dataset(n=n)
    train, val = ds.split(fraction, np.random.default_rng(0))
    assert (len(train), len(val)) == (n - n_val, n_val)
    train_ids, val_ids = set(ids(train.images)), set(ids(val.images))
    assert not train_ids & val_ids
    assert train_ids | val_ids == set(range(n))


def test_split_is_seeded():
    ds = make_dataset(n=50)
    a = ds.split(0.2, np.random.default_rng(3))[1]
    b = ds.split(0.2, np.random.default_rng(3))[1]
    c = ds.split(0.2, np.random.default_rng(4))[1]
    assert ids(a.images) == ids(b.images) != ids(c.images)


@pytest.mark.parametrize("fraction, rng, error", [
    (1.0, np.random.default_rng(0), ValueError), (-0.1, np.random.default_rng(0), ValueError),
    (0.01, np.random.default_rng(0), ValueError), (0.1, 0, TypeError),
    ("0.1", np.random.default_rng(0), TypeError),
], ids=["one", "negative", "rounds-to-zero", "int-rng", "str-fraction"])
def test_split_validates(fraction, rng, error):
    with pytest.raises(error, match="split"):
        make_dataset(n=10).split(fraction, rng)


def test_mean_std_matches_numpy_per_channel():
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(9000, 3, 5, 5)).astype(np.float32)  # more than one stats chunk
    images[:, 1] *= 0.5
    ds = data.Dataset(images=images, labels=np.zeros(9000, np.int64), classes=("a",), name="x", source="y")
    mean, std = ds.mean_std()
    np.testing.assert_allclose(mean, images.astype(np.float64).mean(axis=(0, 2, 3)), rtol=1e-12)
    np.testing.assert_allclose(std, images.astype(np.float64).std(axis=(0, 2, 3)), rtol=1e-10)


def test_normalized_gives_zero_mean_unit_std_and_records_it():
    ds = data.synthetic(500, rgb=True, size=32, seed=1)
    mean, std = ds.mean_std()
    norm = ds.normalized(mean, std)
    new_mean, new_std = norm.mean_std()
    np.testing.assert_allclose(new_mean, 0.0, atol=1e-5)
    np.testing.assert_allclose(new_std, 1.0, atol=1e-5)
    assert norm.normalization == (tuple(mean), tuple(std))
    assert norm.images.dtype == np.float32
    with pytest.raises(ValueError, match="already normalised"):
        norm.normalized(mean, std)


@pytest.mark.parametrize("mean, std, match", [
    ((0.5, 0.5), (1.0,), "mean"), (0.5, 0.0, "std must be > 0"), (np.nan, 1.0, "finite"),
], ids=["wrong-length", "zero-std", "nan-mean"])
def test_normalized_validates(mean, std, match):
    with pytest.raises(ValueError, match=match):
        make_dataset(channels=3).normalized(mean, std)


# ----------------------------------------------------------------------------- batching

def test_batches_are_a_permutation_without_replacement():
    ds = make_dataset(n=23)
    seen = [i for x, _ in data.batches(ds, 5, np.random.default_rng(0)) for i in ids(x)]
    assert sorted(seen) == list(range(23))
    assert seen != list(range(23))  # actually shuffled


def test_batches_labels_follow_their_images():
    ds = make_dataset(n=30)
    for x, y in data.batches(ds, 7, np.random.default_rng(1)):
        np.testing.assert_array_equal(y, ds.labels[ids(x)])
        assert x.dtype == np.float32 and y.dtype == np.int64


def test_batches_are_reproducible_and_differ_between_epochs():
    ds = make_dataset(n=40)
    epoch = lambda rng: [ids(x) for x, _ in data.batches(ds, 8, rng)]  # noqa: E731
    rng_a, rng_b = np.random.default_rng(9), np.random.default_rng(9)
    first_a, first_b = epoch(rng_a), epoch(rng_b)
    assert first_a == first_b
    assert epoch(rng_a) != first_a  # the next epoch continues the generator: a new order


@pytest.mark.parametrize("n, size, drop_last, sizes", [
    (10, 4, False, [4, 4, 2]), (10, 4, True, [4, 4]), (8, 4, True, [4, 4]), (3, 5, False, [3]),
    (3, 5, True, []),
], ids=["keep-last", "drop-last", "exact", "one-short-batch", "drop-only-batch"])
def test_batches_sizes_and_drop_last(n, size, drop_last, sizes):
    ds = make_dataset(n=n)
    got = [len(y) for _, y in data.batches(ds, size, np.random.default_rng(0), drop_last=drop_last)]
    assert got == sizes
    assert data.batch_count(n, size, drop_last=drop_last) == len(sizes)


def test_batches_without_shuffle_keep_order_and_copy():
    ds = make_dataset(n=7)
    got = list(data.batches(ds, 3, None, shuffle=False))
    assert [ids(x) for x, _ in got] == [[0, 1, 2], [3, 4, 5], [6]]
    got[0][0][...] = -5
    assert ds.images.min() == 0


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(batch_size=0, rng=np.random.default_rng(0)), ValueError, "batch_size"),
    (dict(batch_size=2.5, rng=np.random.default_rng(0)), ValueError, "batch_size"),
    (dict(batch_size=2, rng=None), TypeError, "Generator"),
    (dict(batch_size=2, rng=np.random.RandomState(0)), TypeError, "Generator"),
], ids=["zero", "float", "no-rng", "legacy-rng"])
def test_batches_validate(kwargs, error, match):
    with pytest.raises(error, match=match):
        next(data.batches(make_dataset(), **kwargs))


# ----------------------------------------------------------------------------- load API

def test_load_train_test_normalises_with_train_statistics():
    train, val, test = data.load_train_test("synthetic", n_train=2000, n_test=400, val_fraction=0.2, seed=1)
    assert (len(train), len(val), len(test)) == (1600, 400, 400)
    mean, std = train.mean_std()
    np.testing.assert_allclose(mean, 0.0, atol=1e-5)
    np.testing.assert_allclose(std, 1.0, atol=1e-5)
    assert train.normalization == val.normalization == test.normalization
    raw = data.load("synthetic", n=2000, seed=1).split(0.2, np.random.default_rng(1))[0]
    expected_mean, expected_std = raw.mean_std()
    np.testing.assert_allclose(train.normalization[0], expected_mean, rtol=1e-12)
    np.testing.assert_allclose(train.normalization[1], expected_std, rtol=1e-12)


def test_load_train_test_without_normalisation_keeps_unit_range():
    train, val, test = data.load_train_test("synthetic_rgb", n_train=100, n_test=20, normalize=False)
    assert train.normalization is None
    assert 0.0 <= train.images.min() and train.images.max() <= 1.0
    assert train.image_shape == val.image_shape == test.image_shape == (3, 32, 32)


@pytest.mark.parametrize("kwargs, match", [
    (dict(name="imagenet"), "unknown dataset"), (dict(name="synthetic", split="valid"), "split"),
    (dict(name="synthetic", n=0), "n must be"), (dict(name="synthetic", seed=-3), "seed"),
    (dict(name="synthetic", download="yes"), "download"), (dict(name="folder"), "path"),
    (dict(name="mnist", image_shape=(1, 28, 28)), "image_shape"),
], ids=["unknown", "split", "n0", "seed", "download", "folder-needs-path", "shape-not-folder"])
def test_load_validates_arguments(kwargs, match):
    name = kwargs.pop("name")
    with pytest.raises(ValueError, match=match):
        data.load(name, **kwargs)


def test_available_lists_every_dataset_offline():
    rows = data.available()
    assert [r.name for r in rows] == list(data.DATASETS)
    by_name = {r.name: r for r in rows}
    assert by_name["synthetic"].location == "built-in"
    assert by_name["mnist"].location is None and "not on this computer" in by_name["mnist"].note
    assert by_name["folder"].location is None
    name, location, note = rows[0]  # rows unpack as plain tuples
    assert isinstance(note, str)


def test_locate_for_builtin_and_folder(tmp_path):
    assert data.locate("synthetic") is None
    assert data.locate("folder", tmp_path) == tmp_path
    assert data.locate("folder", tmp_path / "missing") is None
    with pytest.raises(ValueError, match="unknown dataset"):
        data.locate("nope")


# ----------------------------------------------------------------------------- digits

def test_digits_from_scikit_learn():
    pytest.importorskip("sklearn")
    train, test = data.load("digits"), data.load("digits", split="test")
    assert train.image_shape == (1, 8, 8) and train.images.dtype == np.float32
    assert len(train) + len(test) == 1797
    assert train.classes == tuple("0123456789")
    assert 0.0 <= train.images.min() and train.images.max() == pytest.approx(1.0)
    assert set(np.unique(test.labels)) == set(range(10))
    assert len(data.load("digits", n=50)) == 50
    assert data.locate("digits").name == "digits.csv.gz"


def test_digits_without_scikit_learn_says_how_to_install(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)  # makes the import fail
    with pytest.raises(data.MissingDependencyError, match="pip install scikit-learn"):
        data.load("digits")


def test_a_synthetic_set_too_big_for_memory_is_refused_before_generating(monkeypatch):
    generator = sys.modules["cyconv.data.synthetic"]  # the package's `synthetic` is the function
    monkeypatch.setattr(generator, "_draw_parameters", lambda *args: pytest.fail("generated"))
    with pytest.raises(data.DataError, match=r"synthetic: 1000000000 generated images of 1x28x28 "
                                             r"would take [\d,]+ MiB of memory, more than the"):
        data.load("synthetic", n=10**9)
    monkeypatch.setenv("CYCONV_MAX_DATA_BYTES", str(100 * 3 * 32 * 32 * 12))
    with pytest.raises(data.DataError, match=r"synthetic_rgb: 101 generated images of 3x32x32"):
        data.load("synthetic_rgb", n=101)
