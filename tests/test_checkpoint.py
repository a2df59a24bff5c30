"""The one checkpoint contract (format 2): every block round-trips, cyconv 0.1's two kinds of
file (the command's and the app's) still load and resume, and a hostile or damaged file is one
CheckpointError line, refused before anything is inflated or built."""
import json
import os
import zipfile

import numpy as np
import pytest

import cyconv
from cyconv import data, io, layers as L
from cyconv.data import Normalization
from cyconv.model import Sequential
from cyconv.train import Trainer

IMAGE_SIZE = 16


def tiny_model(seed=0):
    layers = [L.Conv2D(1, 4, 3, padding=1, rng=np.random.default_rng(seed)), L.ReLU(),
              L.MaxPool2D(2), L.Flatten(), L.Dense(4 * 8 * 8, 10, rng=np.random.default_rng(2))]
    return Sequential(layers, input_shape=(1, IMAGE_SIZE, IMAGE_SIZE))


@pytest.fixture(scope="module")
def splits():
    """train, val, test of 16x16 synthetic shapes and their normalisation."""
    full = data.synthetic(300, size=IMAGE_SIZE, seed=4)
    train, val = full.split(0.2, np.random.default_rng(0))
    test = data.synthetic(60, size=IMAGE_SIZE, seed=5)
    normalization = Normalization(*(tuple(v) for v in train.mean_std()))
    return ([ds.normalized(normalization.mean, normalization.std) for ds in (train, val, test)],
            normalization)


@pytest.fixture
def one_thread(monkeypatch):
    monkeypatch.setattr(cyconv._threads, "_num_threads", None)
    cyconv.set_num_threads(1)


def _trainer(splits, **kwargs):
    (train, val, _), _ = splits
    settings = dict(optimizer="adam", lr=1e-2, batch_size=32, epochs=3, seed=1,
                    schedule="linear", label_smoothing=0.1)
    settings.update(kwargs)
    return Trainer(tiny_model(), train, val, **settings)


IDENTITY = {"name": "synthetic", "path": None, "n_train": 300, "n_test": 60,
            "val_fraction": 0.2, "seed": 0, "image_shape": [1, 16, 16],
            "classes": list(data.SHAPE_CLASSES)}


# ---------------------------------------------------------------------------------------------
# Format 2
# ---------------------------------------------------------------------------------------------
def test_every_block_round_trips(splits, tmp_path):
    trainer = _trainer(splits)
    for _ in range(3):
        trainer.step()
    evaluation = {"split": "test", "n": 60, "loss": 0.5, "accuracy": 0.75}
    trainer.save(tmp_path / "m.npz", normalization=splits[1], dataset=IDENTITY,
                 evaluation=evaluation, extra={"language": "ko", "view": "filters"})
    saved = io.load(tmp_path / "m.npz")
    assert isinstance(saved, io.Checkpoint) and saved.version == io.VERSION == 2
    assert saved.path == str(tmp_path / "m.npz")
    assert saved.normalization == splits[1]
    assert saved.dataset == IDENTITY and saved.evaluation == evaluation
    assert saved.training == trainer.settings
    assert saved.extra == {"language": "ko", "view": "filters"}
    assert saved.trainer_state == json.loads(json.dumps(trainer.state()))
    assert saved.history == json.loads(json.dumps(trainer.history))
    # The settings are stored once: the trainer state holds the position only.
    assert not {"batch_size", "epochs", "seed", "schedule", "base_lr"} & set(saved.trainer_state)
    with pytest.raises(dataclass_error()):
        saved.version = 3


def dataclass_error():
    import dataclasses

    return dataclasses.FrozenInstanceError


def test_normalization_applies_like_the_dataset_transform(splits):
    normalization = splits[1]
    raw = data.synthetic(5, size=IMAGE_SIZE, seed=9)
    expected = raw.normalized(normalization.mean, normalization.std).images
    np.testing.assert_array_equal(normalization.apply(raw.images), expected)
    single = normalization.apply(raw.images[0])
    assert single.dtype == np.float32 and single.shape == (1, IMAGE_SIZE, IMAGE_SIZE)
    with pytest.raises(ValueError, match=r"\(N, 1, H, W\)"):
        normalization.apply(np.zeros((2, 3, 4, 4)))
    with pytest.raises(ValueError, match="std must be > 0"):
        Normalization((0.5,), (0.0,))
    with pytest.raises(ValueError, match="one of each per channel"):
        Normalization((0.5, 0.5), (1.0,))


@pytest.mark.parametrize("block", ["dataset", "training", "evaluation", "extra", "history"])
def test_save_refuses_a_block_that_is_not_a_dict(tmp_path, block):
    with pytest.raises(TypeError, match=f"{block} must be a dict"):
        io.save(tmp_path / "m.npz", tiny_model(), **{block: [1, 2]})
    assert not (tmp_path / "m.npz").exists()


def test_save_refuses_a_normalization_that_is_not_one(tmp_path):
    with pytest.raises(TypeError, match="cyconv.data.Normalization"):
        io.save(tmp_path / "m.npz", tiny_model(), normalization={"mean": [0], "std": [1]})


def test_mapping_access_of_0_1_code_still_works(tmp_path):
    io.save(tmp_path / "m.npz", tiny_model())
    saved = io.load(tmp_path / "m.npz")
    assert saved["model"] is saved.model and saved["extra"] is None
    with pytest.raises(KeyError):
        saved["nope"]


# ---------------------------------------------------------------------------------------------
# Format 1 (cyconv 0.1), written here the way 0.1's io.save wrote it
# ---------------------------------------------------------------------------------------------
def _v1_trainer_state(trainer):
    """0.1's Trainer.state(): the position plus the settings it kept there too."""
    state = trainer.state()
    del state["batches_per_epoch"]
    state.update(version=1, epochs=trainer.epochs, batch_size=trainer.batch_size,
                 seed=trainer.seed, schedule=trainer.schedule, base_lr=trainer.base_lr)
    return state


def _write_v1(path, trainer, extra):
    """np.savez of 0.1: meta JSON under "meta" with "version": 1, param/ and optim/ arrays."""
    model, optimizer = trainer.model, trainer.optimizer
    arrays = {f"param/{name}": param for name, param, _ in model.parameters()}
    state = optimizer.state_dict()
    names = {}
    for key, by_name in state["state"].items():
        names[key] = list(by_name)
        for name, array in by_name.items():
            arrays[f"optim/{key}/{name}"] = array
    meta = {"format": "cyconv-checkpoint", "version": 1, "model": model.config(),
            "dtype": str(model.dtype), "param_names": [n for n, _, _ in model.parameters()],
            "optimizer": {"name": state["name"], "t": state["t"],
                          "hyperparameters": state["hyperparameters"],
                          "config": io.optimizer_config(optimizer), "state_names": names},
            "history": json.loads(json.dumps(trainer.history)),
            "trainer_state": _v1_trainer_state(trainer), "extra": extra}
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)


def _command_extra(normalization):
    run = {"preset": "mnist_cnn", "data": "synthetic", "n_train": 300, "n_test": 60,
           "val_fraction": 0.2, "seed": 0, "batch": 32, "optimizer": "adam",
           "schedule": "linear", "label_smoothing": 0.1, "data_path": None}
    return {"run": run, "normalization": {"mean": list(normalization.mean),
                                          "std": list(normalization.std)},
            "classes": list(data.SHAPE_CLASSES), "test_accuracy": 0.5}


def _app_extra(normalization):
    settings = {"dataset": "synthetic", "folder": None, "n_train": 300, "n_eval": 60,
                "optimizer": "momentum", "lr": 0.01, "momentum": 0.8, "batch_size": 32,
                "epochs": 3, "seed": 0, "picture_interval": 0.25, "eval_interval": 2.0}
    return {"settings": settings, "language": "ko",
            "normalization": [list(normalization.mean), list(normalization.std)]}


def test_a_0_1_command_checkpoint_loads_converted(splits, tmp_path):
    trainer = _trainer(splits)
    for _ in range(4):
        trainer.step()
    _write_v1(tmp_path / "old.npz", trainer, _command_extra(splits[1]))
    saved = io.load(tmp_path / "old.npz")
    assert saved.version == 1
    assert saved.normalization == splits[1]
    assert saved.dataset == {**IDENTITY, "path": None}
    assert saved.training == trainer.settings
    assert saved.trainer_state == json.loads(json.dumps(trainer.state()))
    assert saved.evaluation == {"split": "test", "n": 60, "loss": None, "accuracy": 0.5}
    assert saved.extra is None


def test_a_0_1_app_checkpoint_loads_converted(splits, tmp_path):
    trainer = _trainer(splits, optimizer="momentum", lr=0.01, momentum=0.8,
                       schedule="constant", label_smoothing=0.0)
    trainer.step()
    _write_v1(tmp_path / "app.npz", trainer, _app_extra(splits[1]))
    saved = io.load(tmp_path / "app.npz")
    assert saved.version == 1 and saved.normalization == splits[1]
    assert saved.dataset == {"name": "synthetic", "path": None, "n_train": 300, "n_test": 60,
                             "val_fraction": 0.1, "seed": 0, "image_shape": [1, 16, 16],
                             "classes": None}
    assert saved.training == {"optimizer": "momentum", "lr": 0.01, "momentum": 0.8,
                              "batch_size": 32, "epochs": 3, "seed": 1,
                              "schedule": "constant", "label_smoothing": 0.0}
    # The app's own state stays, its form's settings included.
    assert saved.extra == {"language": "ko", "settings": _app_extra(splits[1])["settings"]}


def test_a_0_1_model_only_checkpoint_loads(tmp_path):
    model = tiny_model()
    meta = {"format": "cyconv-checkpoint", "version": 1, "model": model.config(),
            "dtype": "float32", "param_names": [n for n, _, _ in model.parameters()],
            "optimizer": None, "history": None, "trainer_state": None, "extra": None}
    arrays = {f"param/{name}": p for name, p, _ in model.parameters()}
    np.savez(tmp_path / "m.npz", meta=np.array(json.dumps(meta)), **arrays)
    saved = io.load(tmp_path / "m.npz")
    assert saved.version == 1 and saved.training is None and saved.dataset is None
    np.testing.assert_array_equal(saved.model["conv1"].params["W"], model["conv1"].params["W"])


def test_a_0_1_checkpoint_resumes_exactly(splits, tmp_path, one_thread):
    (train, val, _), _ = splits
    straight = _trainer(splits)
    for _ in range(12):
        straight.step()
    half = _trainer(splits)
    for _ in range(5):
        half.step()
    _write_v1(tmp_path / "old.npz", half, _command_extra(splits[1]))
    resumed = Trainer.from_checkpoint(tmp_path / "old.npz", train, val)
    assert resumed.settings == straight.settings
    for _ in range(7):
        resumed.step()
    assert resumed.history["step_loss"] == straight.history["step_loss"]
    assert resumed.history["step_lr"] == straight.history["step_lr"]
    for (name, a, _), (_, b, _) in zip(resumed.model.parameters(), straight.model.parameters()):
        np.testing.assert_array_equal(a, b, err_msg=name)


# ---------------------------------------------------------------------------------------------
# Reading a file without trusting it
# ---------------------------------------------------------------------------------------------
def _meta_of(source, **changes):
    """The format-2 metadata of model ``source``, with ``changes`` applied."""
    meta = {"format": io.FORMAT, "version": 2, "model": source.config(), "dtype": "float32",
            "param_names": [n for n, _, _ in source.parameters()],
            "param_shapes": [list(p.shape) for _, p, _ in source.parameters()]}
    meta.update(changes)
    return meta


def _write_raw(path, meta_text, arrays):
    np.savez(path, meta=np.array(meta_text), **arrays)


def _arrays(model):
    return {f"param/{name}": p for name, p, _ in model.parameters()}


def _assert_refused(path, *fragments):
    with pytest.raises(io.CheckpointError) as caught:
        io.load(path)
    message = str(caught.value)
    assert str(path) in message and "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_is_refused_without_opening_it(tmp_path):
    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)
    _assert_refused(fifo, "not a regular file")     # opening it would block forever


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_swapped_in_after_the_stat_is_refused_without_hanging(tmp_path, monkeypatch):
    from cyconv.io import _archive

    regular = tmp_path / "regular.npz"
    io.save(regular, tiny_model())
    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)
    real_stat = os.stat
    # The first look sees a regular file; by the time it is opened, it is a pipe.
    monkeypatch.setattr(_archive.os, "stat",
                        lambda path, *a, **k: real_stat(regular if str(path) == str(fifo)
                                                        else path, *a, **k))
    _assert_refused(fifo, "not a regular file")


def test_an_absurd_declared_member_size_is_refused_before_inflating(tmp_path, monkeypatch):
    from cyconv.io import _archive

    # The budget is lowered so the test needs a few MiB, not the gigabytes of a real case.
    monkeypatch.setattr(_archive, "MAX_MEMBER_BYTES", 1 << 20)
    path = tmp_path / "big.npz"
    io.save(path, tiny_model())
    noise = np.random.default_rng(0).integers(0, 256, 2 << 20, dtype=np.uint8).tobytes()
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("param/huge.npy", noise)
    read = []
    monkeypatch.setattr(_archive, "read_array", lambda *a: read.append(a))
    _assert_refused(path, "param/huge", "declares 2097152 bytes")
    assert read == []


def test_a_zip_bomb_within_the_size_budget_is_refused_by_its_ratio(tmp_path):
    path = tmp_path / "ratio.npz"
    io.save(path, tiny_model())
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("param/zeros.npy", bytes(64 << 20))
    _assert_refused(path, "param/zeros", "inflate")


def test_deeply_nested_json_is_one_line(tmp_path):
    deep = "[" * 100_000 + "]" * 100_000
    text = json.dumps(_meta_of(tiny_model(), extra=None)).replace('"extra": null',
                                                                  f'"extra": {deep}')
    _write_raw(tmp_path / "deep.npz", text, _arrays(tiny_model()))
    _assert_refused(tmp_path / "deep.npz", "nests deeper")


def test_nesting_a_little_too_deep_is_refused_too(tmp_path):
    extra = {}
    inner = extra
    for _ in range(40):
        inner["a"] = {}
        inner = inner["a"]
    _write_raw(tmp_path / "deep.npz", json.dumps(_meta_of(tiny_model(), extra=extra)),
               _arrays(tiny_model()))
    _assert_refused(tmp_path / "deep.npz", "nests deeper")


@pytest.mark.parametrize("change, fragment", [
    ({"model": [1, 2]}, "'model' is not a dict"),
    ({"model": {"input_shape": "big", "layers": []}}, "input shape"),
    ({"model": {"input_shape": [1, 16, 16], "layers": 7}}, "'model.layers' is not a list"),
    ({"model": {"input_shape": [1, 16, 16], "layers": [3]}}, "'type'"),
    ({"param_names": "conv1.W"}, "'param_names'"),
    ({"param_shapes": [[1]]}, "'param_shapes'"),
    ({"dtype": "object"}, "dtype"),
    ({"training": "fast"}, "'training' entry"),
    ({"dataset": ["mnist"]}, "'dataset' entry"),
    ({"optimizer": {"name": 3}}, "optimizer entry"),
    ({"normalization": {"mean": "x"}}, "normalisation is malformed"),
], ids=["model-list", "input-shape", "layers-int", "layer-not-dict", "names-str",
        "shapes-count", "dtype", "training-str", "dataset-list", "optimizer-name", "normalization"])
def test_wrong_json_types_are_one_line(tmp_path, change, fragment):
    model = tiny_model()
    _write_raw(tmp_path / "bad.npz", json.dumps(_meta_of(model, **change)), _arrays(model))
    _assert_refused(tmp_path / "bad.npz", fragment)


def test_a_huge_declared_model_is_refused_before_it_is_built(tmp_path, monkeypatch):
    config = {"input_shape": [1, 1, 1],
              "layers": [{"type": "Flatten"}, {"type": "Dense", "in_features": 1,
                                                "out_features": 10}]}
    huge = {"input_shape": [1, 100, 1000],
            "layers": [{"type": "Flatten"}, {"type": "Dense", "in_features": 100_000,
                                              "out_features": 100_000}]}
    model = Sequential.from_config(config)
    built = []
    monkeypatch.setattr(Sequential, "from_config",
                        classmethod(lambda cls, *a, **k: built.append(1)))
    meta = _meta_of(model, model=huge, param_shapes=None)
    _write_raw(tmp_path / "huge.npz", json.dumps(meta), _arrays(model))
    _assert_refused(tmp_path / "huge.npz", "10000100000 parameters")
    assert built == []


def test_too_many_layers_are_refused(tmp_path):
    model = tiny_model()
    config = {"input_shape": [1, 16, 16], "layers": [{"type": "ReLU"}] * 1000}
    _write_raw(tmp_path / "long.npz", json.dumps(_meta_of(model, model=config)), _arrays(model))
    _assert_refused(tmp_path / "long.npz", "1000 layers")


def test_declared_shapes_must_match_the_stored_arrays(tmp_path):
    model = tiny_model()
    arrays = _arrays(model)
    arrays["param/dense1.W"] = np.zeros((10, 7), np.float32)
    _write_raw(tmp_path / "shapes.npz", json.dumps(_meta_of(model)), arrays)
    _assert_refused(tmp_path / "shapes.npz", "dense1.W", "(10, 256)", "(10, 7)")


def test_stored_parameters_must_match_the_architecture(tmp_path):
    model = tiny_model()
    arrays = _arrays(model)
    arrays["param/dense1.W"] = np.zeros((10, 7), np.float32)
    meta = _meta_of(model, param_shapes=None)
    _write_raw(tmp_path / "count.npz", json.dumps(meta), arrays)
    _assert_refused(tmp_path / "count.npz", "need 2610 parameters", "stores 120")


def test_an_array_header_larger_than_its_member_is_refused(tmp_path):
    path = tmp_path / "lying.npz"
    io.save(path, tiny_model())
    with zipfile.ZipFile(path, "a") as archive:
        header = np.lib.format.header_data_from_array_1_0(np.zeros((4,), np.float32))
        header["shape"] = (1 << 28,)
        with archive.open("param/liar.npy", "w") as member:
            np.lib.format.write_array_header_1_0(member, header)
    _assert_refused(path, "param/liar", "larger than the entry")


@pytest.mark.parametrize("spoil", ["no-shuffler", "bad-shuffler", "bad-totals", "bad-history"])
def test_a_malformed_position_is_one_value_error_and_changes_nothing(splits, tmp_path, spoil):
    (train, val, _), _ = splits
    trainer = _trainer(splits)
    trainer.step()
    trainer.save(tmp_path / "m.npz")
    saved = io.load(tmp_path / "m.npz")
    state, history = dict(saved.trainer_state), saved.history
    if spoil == "no-shuffler":
        del state["shuffler_state"]
    elif spoil == "bad-shuffler":
        state["shuffler_state"] = {"bit_generator": "nonsense"}
    elif spoil == "bad-totals":
        state["epoch_totals"] = [1, 2]
    else:
        history = [1, 2]
    fresh = _trainer(splits)
    with pytest.raises(ValueError, match="the saved position is malformed") as caught:
        fresh.load_state(state, history)
    assert "\n" not in str(caught.value)
    assert fresh.global_step == 0 and fresh.history["step_loss"] == []
    assert [type(r).__name__ for r in fresh.step()] == ["StepReport"]


def test_training_settings_missing_a_key_are_named(splits, tmp_path):
    (train, val, _), _ = splits
    trainer = _trainer(splits)
    trainer.step()
    training = dict(trainer.settings)
    del training["batch_size"]
    io.save(tmp_path / "m.npz", trainer.model, training=training, optimizer=trainer.optimizer,
            trainer_state=trainer.state(), history=trainer.history)
    with pytest.raises(ValueError, match=r"training settings lack \['batch_size'\]"):
        Trainer.from_checkpoint(tmp_path / "m.npz", train, val)
