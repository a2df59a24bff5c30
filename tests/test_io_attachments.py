"""Checkpoint attachments: named extra arrays saved with a model, read back, budget-checked."""
import io as pyio
import zipfile

import numpy as np
import pytest

from cyconv import io, presets
from cyconv.io import _attachments


@pytest.fixture
def model():
    return presets.build("mnist_cnn", seed=0)


def test_attachments_round_trip_read_only(tmp_path, model):
    path = tmp_path / "a.npz"
    filters = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    io.save(path, model, attachments={"history/filters/conv1": filters, "history/steps": np.array([1, 10])})
    loaded = io.load(path)
    assert set(loaded.attachments) == {"history/filters/conv1", "history/steps"}
    np.testing.assert_array_equal(loaded.attachments["history/filters/conv1"], filters)
    assert loaded.attachments["history/filters/conv1"].dtype == np.float32
    assert not loaded.attachments["history/steps"].flags.writeable


def test_a_checkpoint_without_attachments_has_an_empty_dict(tmp_path, model):
    path = tmp_path / "a.npz"
    io.save(path, model)
    assert io.load(path).attachments == {}


@pytest.mark.parametrize("name", ["", "../escape", "a//b", "/abs", "a b", "x/../y", 7])
def test_bad_names_are_refused_on_save(tmp_path, model, name):
    with pytest.raises((ValueError, TypeError), match="attachment"):
        io.save(tmp_path / "a.npz", model, attachments={name: np.zeros(2)})
    assert not (tmp_path / "a.npz").exists()


def test_object_arrays_are_refused_on_save(tmp_path, model):
    with pytest.raises(TypeError, match="numbers"):
        io.save(tmp_path / "a.npz", model, attachments={"x": np.array([{}, None], dtype=object)})


def test_attachments_must_be_a_dict(tmp_path, model):
    with pytest.raises(TypeError, match="dict"):
        io.save(tmp_path / "a.npz", model, attachments=[np.zeros(2)])


def test_attachments_over_budget_are_refused_before_reading(tmp_path, model, monkeypatch):
    path = tmp_path / "a.npz"
    io.save(path, model, attachments={"big": np.zeros(1000, np.float64)})
    monkeypatch.setattr(_attachments, "MAX_ATTACHMENT_BYTES", 7999)
    original, read = io._archive.read_array, []

    def reading(path, archive, info, key):
        read.append(key)
        return original(path, archive, info, key)
    monkeypatch.setattr(io._archive, "read_array", reading)
    with pytest.raises(io.CheckpointError, match="attachments declare 8000 bytes"):
        io.load(path)
    assert read == ["meta"]           # refused from the header: no array was inflated


def test_a_listed_attachment_that_is_missing_is_named(tmp_path, model):
    path = tmp_path / "a.npz"
    io.save(path, model, attachments={"ghost": np.zeros(2)})
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    del members["attach/ghost.npy"]
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(io.CheckpointError, match="attach/ghost"):
        io.load(path)


def test_a_pickled_attachment_is_refused(tmp_path, model):
    path = tmp_path / "a.npz"
    io.save(path, model, attachments={"x": np.zeros(2)})
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    buffer = pyio.BytesIO()
    np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    members["attach/x.npy"] = buffer.getvalue()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(io.CheckpointError, match="pickled"):
        io.load(path)
