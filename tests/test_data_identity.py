"""cyconv.data.identity: a run's data reloaded exactly from what its checkpoint recorded."""
import numpy as np
import pytest

from cyconv import data
from cyconv.data import DataError, Normalization, dataset_identity, load_identity


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    monkeypatch.setenv("CYCONV_OFFLINE", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("CYCONV_DATA", raising=False)


def _identity(**changes):
    settings = dict(path=None, n_train=400, n_test=50, val_fraction=0.25, seed=3,
                    classes=data.SHAPE_CLASSES, image_shape=(1, 28, 28))
    settings.update(changes)
    return dataset_identity("synthetic", **settings)


def test_the_same_split_comes_back_normalised_with_the_given_statistics():
    train, val, test = data.load_train_test("synthetic", n_train=400, n_test=50,
                                            val_fraction=0.25, seed=3)
    normalization = Normalization.of(train)
    again = load_identity(_identity(), normalization)
    for before, after in zip((train, val, test), again):
        np.testing.assert_array_equal(after.images, before.images)
        np.testing.assert_array_equal(after.labels, before.labels)
        assert after.normalization == before.normalization


def test_the_statistics_are_the_checkpoints_not_recomputed():
    chosen = Normalization((0.5,), (2.0,))
    train, _, _ = load_identity(_identity(), chosen)
    raw, _, _ = load_identity(_identity())
    np.testing.assert_allclose(train.images, (raw.images - 0.5) / 2.0, rtol=1e-6)
    assert raw.normalization is None


def test_no_validation_gives_none():
    _, val, _ = load_identity(_identity(val_fraction=0.0))
    assert val is None


def test_identity_is_json_ready():
    identity = _identity()
    assert identity == {"name": "synthetic", "path": None, "n_train": 400, "n_test": 50,
                        "val_fraction": 0.25, "seed": 3, "image_shape": [1, 28, 28],
                        "classes": list(data.SHAPE_CLASSES)}


def test_missing_files_say_so_in_one_line():
    identity = dataset_identity("mnist", path=None, n_train=60000, n_test=10000,
                                val_fraction=0.1, seed=0, classes=[str(i) for i in range(10)],
                                image_shape=(1, 28, 28))
    with pytest.raises(DataError, match="not on this machine") as caught:
        load_identity(identity)
    assert "\n" not in str(caught.value)


def test_other_classes_are_not_the_same_dataset():
    identity = _identity(classes=[str(i) for i in range(10)])
    with pytest.raises(DataError, match="not the same dataset"):
        load_identity(identity)


@pytest.mark.parametrize("changes, match", [
    (dict(n_train=0), "n_train must be a positive int"),
    (dict(val_fraction=1.0), r"val_fraction must be in \[0, 1\)"),
], ids=["n-train-0", "fraction-1"])
def test_bad_identities_are_refused(changes, match):
    with pytest.raises(ValueError, match=match):
        _identity(**changes)


def test_an_incomplete_identity_is_refused():
    with pytest.raises(ValueError, match="needs the keys"):
        load_identity({"name": "synthetic"})
