"""cyconv.io: checkpoints that round-trip, refuse pickles and bad files, survive crashes, and
resume training exactly."""
import json
import os
import zipfile

import numpy as np
import pytest

import cyconv
from cyconv import data, io, layers as L, optim
from cyconv.model import Sequential
from cyconv.train import Trainer

IMAGE_SIZE = 16


def tiny_model(seed=0, dropout=False, dtype=np.float32):
    layers = [L.Conv2D(1, 4, 3, padding=1, padding_mode="reflect",
                       rng=np.random.default_rng(seed)),
              L.ReLU(), L.MaxPool2D(2), L.Flatten()]
    if dropout:
        layers.append(L.Dropout(0.3, rng=np.random.default_rng(seed + 1)))
    layers.append(L.Dense(4 * 8 * 8, 10, rng=np.random.default_rng(seed + 2)))
    return Sequential(layers, input_shape=(1, IMAGE_SIZE, IMAGE_SIZE), dtype=dtype)


@pytest.fixture(scope="module")
def shapes_data():
    full = data.synthetic(300, size=IMAGE_SIZE, seed=4)
    train, val = full.split(0.2, np.random.default_rng(0))
    mean, std = train.mean_std()
    return train.normalized(mean, std), val.normalized(mean, std)


@pytest.fixture
def one_thread(monkeypatch):
    monkeypatch.setattr(cyconv._threads, "_num_threads", None)
    cyconv.set_num_threads(1)


@pytest.fixture
def trained(shapes_data):
    """A trainer 5 steps into its first epoch (Adam), so every part of a checkpoint is set."""
    train, val = shapes_data
    trainer = Trainer(tiny_model(), train, val, optimizer="adam", lr=1e-2, batch_size=32,
                      epochs=3, seed=1)
    for _ in range(5):
        trainer.step()
    return trainer


# ---------------------------------------------------------------------------------------------
# Round trip
# ---------------------------------------------------------------------------------------------
def test_round_trip_keeps_everything(trained, tmp_path, shapes_data):
    path = tmp_path / "model.npz"
    extra = {"normalization": {"mean": [0.5], "std": [0.25]}, "note": np.float32(2.5)}
    trained.save(path, extra=extra)
    saved = io.load(path)
    model = saved.model
    assert model.config() == trained.model.config()
    for name, value in trained.model.state_dict().items():
        np.testing.assert_array_equal(model.state_dict()[name], value, err_msg=name)
    x = shapes_data[1].images[:8]
    np.testing.assert_array_equal(model.predict(x), trained.model.predict(x))
    state = saved.optimizer_state
    original = trained.optimizer.state_dict()
    assert (state["name"], state["t"], state["hyperparameters"]) == \
        (original["name"], original["t"], original["hyperparameters"])
    for key, by_name in original["state"].items():
        for name, array in by_name.items():
            np.testing.assert_array_equal(state["state"][key][name], array)
    assert saved.history == json.loads(json.dumps(trained.history))
    assert saved.trainer_state["global_step"] == 5
    assert saved.extra == {"normalization": {"mean": [0.5], "std": [0.25]}, "note": 2.5}


def test_model_only_checkpoint(tmp_path):
    model = tiny_model(dtype=np.float64)
    io.save(tmp_path / "m.npz", model)
    saved = io.load(tmp_path / "m.npz")
    assert saved.model.dtype == np.float64
    assert saved.optimizer_state is None and saved.trainer_state is None
    assert saved.history is None and saved.extra is None


@pytest.mark.parametrize("name, kwargs, attributes", [
    ("nesterov", dict(lr=0.05, momentum=0.8), dict(nesterov=True, momentum=0.8)),
    ("rmsprop", dict(lr=0.01), dict(rho=0.9, eps=1e-8)),
    ("adam", dict(lr=0.002, momentum=0.7), dict(beta1=0.7, beta2=0.999)),
], ids=["nesterov", "rmsprop", "adam"])
def test_restore_optimizer_rebuilds_its_settings(tmp_path, name, kwargs, attributes):
    model = tiny_model()
    optimizer = optim.make(name, model.parameters(), **kwargs)
    io.save(tmp_path / "m.npz", model, optimizer=optimizer)
    saved = io.load(tmp_path / "m.npz")
    rebuilt = io.restore_optimizer(saved.model, saved.optimizer_state)
    assert type(rebuilt) is type(optimizer) and rebuilt.lr == kwargs["lr"]
    for attribute, value in attributes.items():
        assert getattr(rebuilt, attribute) == value, attribute


def test_file_loads_without_pickle(trained, tmp_path):
    path = tmp_path / "model.npz"
    trained.save(path)
    with np.load(path, allow_pickle=False) as archive:
        assert "meta" in archive.files
        assert all(archive[key].dtype != object for key in archive.files)


# ---------------------------------------------------------------------------------------------
# Bad files
# ---------------------------------------------------------------------------------------------
UNPICKLED = []


def _record_unpickling():
    UNPICKLED.append(True)
    return "payload"


class _Payload:
    def __reduce__(self):
        return (_record_unpickling, ())


def test_pickled_objects_are_refused_without_running_them(tmp_path):
    path = tmp_path / "evil.npz"
    meta = json.dumps({"format": io.FORMAT, "version": io.VERSION})
    np.savez(path, meta=np.array(meta), **{"param/conv1.W": np.array([_Payload()], dtype=object)})
    with pytest.raises(io.CheckpointError, match="evil.npz.*pickled"):
        io.load(path)
    assert UNPICKLED == []


def _write_checkpoint(path):
    io.save(path, tiny_model())
    return path


@pytest.mark.parametrize("spoil, match", [
    ("missing", "no such checkpoint file"),
    ("truncated", "truncated"),
    ("garbage", "not a readable checkpoint"),
    ("foreign-npz", "not a cyconv checkpoint"),
    ("single-npy", "single array"),
    ("newer-version", "version 99"),
    ("missing-weight", "incomplete"),
    ("folder", "is a folder"),
], ids=["missing", "truncated", "garbage", "foreign-npz", "single-npy", "newer-version",
        "missing-weight", "folder"])
def test_bad_files_give_a_value_error_naming_the_file(tmp_path, spoil, match):
    path = tmp_path / "bad.npz"
    if spoil == "truncated":
        _write_checkpoint(path)
        raw = path.read_bytes()
        path.write_bytes(raw[:len(raw) // 2])
    elif spoil == "garbage":
        path.write_bytes(b"this is not a zip file at all" * 10)
    elif spoil == "foreign-npz":
        np.savez(path, x=np.arange(3))
    elif spoil == "single-npy":
        with open(path, "wb") as handle:
            np.save(handle, np.arange(3))
    elif spoil == "newer-version":
        np.savez(path, meta=np.array(json.dumps({"format": io.FORMAT, "version": 99})))
    elif spoil == "missing-weight":
        _write_checkpoint(tmp_path / "good.npz")
        with zipfile.ZipFile(tmp_path / "good.npz") as good, zipfile.ZipFile(path, "w") as bad:
            for item in good.namelist():
                if "dense1.W" not in item:
                    bad.writestr(item, good.read(item))
    elif spoil == "folder":
        path.mkdir()
    with pytest.raises(ValueError, match=match) as caught:
        io.load(path)
    assert str(path) in str(caught.value)
    assert isinstance(caught.value, io.CheckpointError)


# ---------------------------------------------------------------------------------------------
# Atomic writes
# ---------------------------------------------------------------------------------------------
def test_failed_rename_keeps_the_old_file_and_no_temporary(trained, tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    _write_checkpoint(path)
    before = path.read_bytes()

    def crash(src, dst):
        raise OSError("disk vanished")

    monkeypatch.setattr(io.os, "replace", crash)
    with pytest.raises(OSError, match="disk vanished"):
        trained.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.npz"]


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt], ids=["error", "ctrl-c"])
def test_writer_dying_midway_keeps_the_old_file_and_no_temporary(tmp_path, error):
    path = tmp_path / "model.npz"
    _write_checkpoint(path)
    before = path.read_bytes()

    def half_then_die(handle):
        handle.write(before[:100])
        raise error("interrupted mid-write")

    with pytest.raises(error):
        io.atomic_write(path, half_then_die)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.npz"]
    io.load(path)


def test_save_into_a_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        io.save(tmp_path / "nope" / "m.npz", tiny_model())


def test_save_rejects_what_json_cannot_hold(tmp_path):
    with pytest.raises(TypeError, match="extra holds a set"):
        io.save(tmp_path / "m.npz", tiny_model(), extra={"bad": {1, 2}})
    assert not os.listdir(tmp_path)


# ---------------------------------------------------------------------------------------------
# Resuming
# ---------------------------------------------------------------------------------------------
def _new_trainer(shapes_data, optimizer, dropout, epochs=3, schedule="constant"):
    train, val = shapes_data
    return Trainer(tiny_model(dropout=dropout), train, val, optimizer=optimizer, lr=1e-2,
                   batch_size=32, epochs=epochs, seed=7, schedule=schedule)


@pytest.mark.parametrize("optimizer, dropout, k, schedule", [
    ("adam", False, 5, "constant"),      # saved mid-epoch (8 batches per epoch)
    ("nesterov", True, 8, "constant"),   # saved exactly at an epoch boundary, dropout on
    ("rmsprop", True, 11, "constant"),
    ("adam", False, 6, "linear"),        # the rate falls on from where it was
], ids=["adam-mid-epoch", "nesterov-dropout-epoch-end", "rmsprop-dropout-second-epoch",
        "adam-linear-schedule"])
def test_resume_continues_exactly(shapes_data, tmp_path, one_thread, optimizer, dropout, k,
                                  schedule):
    straight = _new_trainer(shapes_data, optimizer, dropout, schedule=schedule)
    for _ in range(2 * k):
        straight.step()

    first_half = _new_trainer(shapes_data, optimizer, dropout, schedule=schedule)
    for _ in range(k):
        first_half.step()
    first_half.save(tmp_path / "half.npz")
    del first_half
    train, val = shapes_data
    resumed = Trainer.from_checkpoint(tmp_path / "half.npz", train, val)
    assert resumed.global_step == k
    for _ in range(k):
        resumed.step()

    assert resumed.history["step_loss"] == straight.history["step_loss"]
    assert resumed.history["step_lr"] == straight.history["step_lr"]
    assert resumed.schedule == schedule
    assert resumed.history["epoch_val_loss"] == straight.history["epoch_val_loss"]
    assert (resumed.epoch, resumed.batch_in_epoch) == (straight.epoch, straight.batch_in_epoch)
    for (name, a, _), (_, b, _) in zip(resumed.model.parameters(), straight.model.parameters()):
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert resumed.optimizer.t == straight.optimizer.t


def test_resume_needs_a_trainer_checkpoint(shapes_data, tmp_path):
    io.save(tmp_path / "m.npz", tiny_model())
    with pytest.raises(ValueError, match="no training position"):
        Trainer.from_checkpoint(tmp_path / "m.npz", *shapes_data)


def test_resume_refuses_other_data(trained, shapes_data, tmp_path):
    trained.save(tmp_path / "m.npz")
    train, val = shapes_data
    with pytest.raises(ValueError, match="same data"):
        Trainer.from_checkpoint(tmp_path / "m.npz", train.subset(np.arange(100)), val)


def test_resume_can_extend_the_epochs(trained, shapes_data, tmp_path):
    trained.save(tmp_path / "m.npz")
    resumed = Trainer.from_checkpoint(tmp_path / "m.npz", *shapes_data, epochs=5)
    assert resumed.epochs == 5 and resumed.total_steps == 5 * 8
