"""cyconv.train: the stepping API, settings checked once, determinism and divergence handling."""
import numpy as np
import pytest

import cyconv
from cyconv import data, layers as L
from cyconv.model import Sequential
from cyconv.optim import Adam
from cyconv.train import (EpochReport, StepReport, Trainer, TrainingDiverged, check_dataset,
                          evaluate, fit, scheduled_lr)

IMAGE_SIZE = 16


def tiny_model(seed=0, dropout=False):
    """conv 4@3x3 -> pool -> dense 10 on 1x16x16: a few hundred microseconds per step."""
    layers = [L.Conv2D(1, 4, 3, rng=np.random.default_rng(seed)), L.ReLU(), L.MaxPool2D(2),
              L.Flatten()]
    if dropout:
        layers.append(L.Dropout(0.2, rng=np.random.default_rng(seed + 1)))
    layers.append(L.Dense(4 * 7 * 7, 10, rng=np.random.default_rng(seed + 2)))
    return Sequential(layers, input_shape=(1, IMAGE_SIZE, IMAGE_SIZE))


@pytest.fixture(scope="module")
def shapes_data():
    """(train, val): 16x16 synthetic shapes, normalised with the train statistics."""
    full = data.synthetic(360, size=IMAGE_SIZE, seed=3)
    train, val = full.split(1 / 6, np.random.default_rng(0))
    mean, std = train.mean_std()
    return train.normalized(mean, std), val.normalized(mean, std)


@pytest.fixture
def one_thread(monkeypatch):
    """Kernels on one thread (bit-reproducible); the previous setting comes back afterwards."""
    monkeypatch.setattr(cyconv._threads, "_num_threads", None)
    cyconv.set_num_threads(1)


def run_all(trainer):
    return list(trainer.run())


# ---------------------------------------------------------------------------------------------
# Training runs and reports
# ---------------------------------------------------------------------------------------------
def test_loss_falls_and_reports_cover_every_step(shapes_data):
    train, val = shapes_data
    trainer = Trainer(tiny_model(), train, val, optimizer="adam", lr=1e-2, batch_size=30,
                      epochs=4, seed=0)
    reports = run_all(trainer)
    steps = [r for r in reports if isinstance(r, StepReport)]
    epochs = [r for r in reports if isinstance(r, EpochReport)]
    assert len(steps) == trainer.total_steps == 4 * 10
    assert [r.step for r in steps] == list(range(1, 41))
    assert [(r.epoch, r.batch) for r in steps[9:11]] == [(1, 10), (2, 1)]
    assert [r.epoch for r in epochs] == [1, 2, 3, 4]
    losses = trainer.history["step_loss"]
    first, last = np.mean(losses[:5]), np.mean(losses[-5:])
    assert last < 0.7 * first
    assert epochs[-1].val_loss < epochs[0].val_loss
    assert trainer.finished and trainer.epoch == 4


def test_epoch_report_holds_validation_metrics(shapes_data):
    train, val = shapes_data
    trainer = Trainer(tiny_model(), train, val, optimizer="adam", lr=1e-2, batch_size=50)
    report = run_all(trainer)[-1]
    assert isinstance(report, EpochReport) and report.confusion_source == "validation"
    assert report.confusion.shape == (10, 10) and report.confusion.sum() == len(val)
    assert not report.confusion.flags.writeable
    counts = np.bincount(val.labels, minlength=10)
    expected = np.diag(report.confusion) / np.maximum(counts, 1)
    np.testing.assert_allclose(report.per_class_accuracy[counts > 0], expected[counts > 0],
                               rtol=0, atol=1e-12)
    assert report.val_accuracy == pytest.approx(np.trace(report.confusion) / len(val), abs=1e-12)
    steps = trainer.history["step_loss"]
    sizes = [50] * 6
    assert report.train_loss == pytest.approx(np.dot(steps, sizes) / 300, rel=1e-12)
    assert report.seconds > 0


def test_without_validation_the_confusion_comes_from_training_batches(shapes_data):
    train, _ = shapes_data
    trainer = Trainer(tiny_model(), train, None, batch_size=64)
    report = run_all(trainer)[-1]
    assert report.val_loss is None and report.val_accuracy is None
    assert report.confusion_source == "training" and report.confusion.sum() == len(train)
    assert trainer.history["epoch_val_loss"] == [None]


def test_history_lengths(shapes_data):
    train, val = shapes_data
    history = fit(tiny_model(), train, val, batch_size=100, epochs=2)
    assert {len(history[k]) for k in ("step_loss", "step_accuracy", "step_lr",
                                      "step_seconds")} == {6}
    assert {len(history[k]) for k in ("epoch_train_loss", "epoch_val_accuracy",
                                      "epoch_confusion", "epoch_per_class_accuracy")} == {2}


def test_fit_calls_back_with_every_report(shapes_data):
    train, val = shapes_data
    seen = []
    fit(tiny_model(), train, val, batch_size=100, epochs=1, on_report=seen.append)
    assert [type(r).__name__ for r in seen] == ["StepReport"] * 3 + ["EpochReport"]


def test_evaluate_report(shapes_data):
    train, val = shapes_data
    model = tiny_model()
    result = evaluate(model, val, batch_size=7)
    assert result.predictions.shape == (len(val),) and result.probabilities.shape == (len(val), 10)
    np.testing.assert_allclose(result.probabilities.sum(axis=1), 1, rtol=0, atol=1e-5)
    assert result.accuracy == pytest.approx(np.mean(result.predictions == val.labels), abs=0)
    np.testing.assert_array_equal(result.predictions, model.predict(val.images).argmax(axis=1))
    trainer = Trainer(model, train, val)
    assert trainer.evaluate(val).loss == pytest.approx(result.loss, rel=1e-6)


# ---------------------------------------------------------------------------------------------
# The driver owns control: run() is plain steps, settings change between two steps
# ---------------------------------------------------------------------------------------------
def test_run_is_a_plain_generator_the_driver_stops_by_not_iterating(shapes_data):
    train, _ = shapes_data
    trainer = Trainer(tiny_model(), train, None, batch_size=10, epochs=1000)
    for report in trainer.run():
        if report.step == 5:
            break
    assert trainer.global_step == 5 and not trainer.finished
    assert not any(hasattr(trainer, name) for name in ("pause", "resume", "stop", "paused"))
    # A new run() goes on from the same position: the trainer keeps no "stopped" state.
    report = next(trainer.run())
    assert report.step == 6


def test_step_ends_epochs(shapes_data):
    train, _ = shapes_data
    trainer = Trainer(tiny_model(), train, None, batch_size=200, epochs=2)
    first = trainer.step()
    assert [type(r) for r in first] == [StepReport] and trainer.global_step == 1
    second = trainer.step()
    assert [type(r) for r in second] == [StepReport, EpochReport] and trainer.epoch == 1
    assert trainer.global_step == 2


def test_step_after_the_last_epoch_raises_until_epochs_grow(shapes_data):
    train, _ = shapes_data
    trainer = Trainer(tiny_model(), train, None, batch_size=300, epochs=1)
    run_all(trainer)
    with pytest.raises(RuntimeError, match="finished after 1 epochs"):
        trainer.step()
    trainer.epochs = 2
    assert [type(r) for r in trainer.step()] == [StepReport, EpochReport]


def test_base_lr_set_between_steps_applies_to_the_next_step(shapes_data):
    train, _ = shapes_data
    model = tiny_model()
    trainer = Trainer(model, train, None, optimizer="sgd", lr=0.01, batch_size=30)
    trainer.step()
    trainer.base_lr = 0.5
    assert trainer.lr == 0.01                 # the optimizer holds the last step's rate
    before = model.state_dict()
    (report,) = trainer.step()
    assert report.lr == 0.5 and trainer.lr == 0.5 and trainer.optimizer.lr == 0.5
    for name, param, grad in model.parameters():
        np.testing.assert_allclose(param - before[name], -0.5 * grad, rtol=1e-5, atol=1e-7)


def test_scheduled_lr():
    assert [scheduled_lr("constant", 0.1, step, 4) for step in range(4)] == [0.1] * 4
    linear = [scheduled_lr("linear", 0.1, step, 4) for step in range(4)]
    np.testing.assert_allclose(linear, [0.1, 0.075, 0.05, 0.025])


def test_linear_schedule_falls_to_the_end_of_the_run(shapes_data):
    train, _ = shapes_data
    model = tiny_model()
    trainer = Trainer(model, train, None, optimizer="sgd", lr=0.1, batch_size=100, epochs=2,
                      schedule="linear")
    total = trainer.total_steps                       # 3 batches per epoch, 2 epochs
    before = model.state_dict()
    (first,) = trainer.step()
    assert first.lr == 0.1
    for name, param, grad in model.parameters():      # the step really used that rate
        np.testing.assert_allclose(param - before[name], -0.1 * grad, rtol=1e-5, atol=1e-7)
    run_all(trainer)
    np.testing.assert_allclose(trainer.history["step_lr"],
                               [0.1 * (total - step) / total for step in range(total)])
    assert trainer.history["step_lr"][-1] > 0


def test_base_lr_rescales_the_linear_schedule(shapes_data):
    train, _ = shapes_data
    trainer = Trainer(tiny_model(), train, None, optimizer="adam", lr=0.1, batch_size=100,
                      epochs=2, schedule="linear")
    trainer.step()
    trainer.base_lr = 0.6
    (report,) = trainer.step()
    assert report.lr == pytest.approx(0.6 * 5 / 6) and trainer.base_lr == 0.6


def test_momentum_lives_in_the_optimizer(shapes_data):
    train, _ = shapes_data
    trainer = Trainer(tiny_model(), train, None, optimizer="momentum", momentum=0.9)
    trainer.momentum = 0.5
    assert trainer.optimizer.momentum == 0.5 and trainer.momentum == 0.5
    assert trainer.settings["momentum"] == 0.5


@pytest.mark.parametrize("attribute, value, match", [
    ("base_lr", -1.0, "Trainer: the learning rate must be a finite number > 0"),
    ("base_lr", float("nan"), "Trainer: the learning rate must be a finite number > 0"),
    ("momentum", 1.0, r"Trainer: momentum must be a number in \[0, 1\)"),
    ("epochs", 0, "Trainer: epochs must be a positive int"),
    ("schedule", "cosine", "Trainer: schedule must be one of"),
], ids=["negative-lr", "nan-lr", "momentum-one", "epochs-0", "schedule"])
def test_bad_setting_values_raise_at_once_and_change_nothing(shapes_data, attribute, value,
                                                             match):
    trainer = Trainer(tiny_model(), shapes_data[0], None, optimizer="adam")
    before = trainer.settings
    with pytest.raises(ValueError, match=match):
        setattr(trainer, attribute, value)
    assert trainer.settings == before


def test_momentum_without_momentum_says_so(shapes_data):
    trainer = Trainer(tiny_model(), shapes_data[0], None, optimizer="sgd")
    with pytest.raises(ValueError, match="sgd optimizer has no momentum"):
        trainer.momentum = 0.9


def test_settings_hold_every_setting_once(shapes_data):
    trainer = Trainer(tiny_model(), shapes_data[0], None, optimizer="nesterov", lr=0.02,
                      momentum=0.8, batch_size=16, epochs=3, seed=4, schedule="linear",
                      label_smoothing=0.1)
    assert trainer.settings == {"optimizer": "nesterov", "lr": 0.02, "momentum": 0.8,
                                "batch_size": 16, "epochs": 3, "seed": 4,
                                "schedule": "linear", "label_smoothing": 0.1}
    trainer.step()
    # The optimizer holds the scheduled rate, the trainer the base it is scaled from.
    assert trainer.settings["lr"] == 0.02 and trainer.optimizer.lr == 0.02
    trainer.step()
    assert trainer.settings["lr"] == 0.02 and trainer.optimizer.lr < 0.02
    assert not any(k.startswith("_lr") or k == "_momentum" for k in vars(trainer))


def test_label_smoothing_trains_but_validation_reports_plain_cross_entropy(shapes_data):
    train, val = shapes_data
    smoothed = Trainer(tiny_model(), train, val, optimizer="adam", lr=1e-2, batch_size=30,
                       label_smoothing=0.2)
    report = run_all(smoothed)[-1]
    plain = evaluate(smoothed.model, val)
    assert report.val_loss == pytest.approx(plain.loss, rel=1e-6)
    assert smoothed.evaluate(val).loss == pytest.approx(plain.loss, rel=1e-6)
    smoothed_loss = evaluate(smoothed.model, val, loss=smoothed.loss).loss
    assert smoothed_loss == pytest.approx(plain.loss, rel=1e-6)     # evaluate drops it too
    assert smoothed.loss.label_smoothing == 0.2


def test_label_smoothing_and_a_loss_together_are_refused(shapes_data):
    from cyconv import losses

    with pytest.raises(ValueError, match="not both"):
        Trainer(tiny_model(), shapes_data[0], loss=losses.SoftmaxCrossEntropy(),
                label_smoothing=0.1)
    with pytest.raises(ValueError, match=r"Trainer: label_smoothing must be a number in \[0, 1\)"):
        Trainer(tiny_model(), shapes_data[0], label_smoothing=1.5)


# ---------------------------------------------------------------------------------------------
# Determinism
# ---------------------------------------------------------------------------------------------
def _curve(shapes_data, seed, model_seed=0):
    train, val = shapes_data
    trainer = Trainer(tiny_model(model_seed, dropout=True), train, val, optimizer="adam",
                      lr=1e-2, batch_size=32, epochs=2, seed=seed)
    run_all(trainer)
    return trainer


def test_same_seed_one_thread_gives_the_same_curve_bit_for_bit(shapes_data, one_thread):
    a, b = _curve(shapes_data, seed=5), _curve(shapes_data, seed=5)
    assert a.history["step_loss"] == b.history["step_loss"]          # exact float equality
    assert a.history["epoch_val_loss"] == b.history["epoch_val_loss"]
    for (name, pa, _), (_, pb, _) in zip(a.model.parameters(), b.model.parameters()):
        np.testing.assert_array_equal(pa, pb, err_msg=name)


def test_another_seed_gives_another_batch_order(shapes_data, one_thread):
    a, b = _curve(shapes_data, seed=5), _curve(shapes_data, seed=6)
    assert a.history["step_loss"] != b.history["step_loss"]


# ---------------------------------------------------------------------------------------------
# Divergence
# ---------------------------------------------------------------------------------------------
def _step_until_diverged(trainer, max_steps=50):
    for _ in range(max_steps):
        weights = trainer.model.state_dict()
        step = trainer.global_step
        try:
            trainer.step()
        except TrainingDiverged as error:
            return error, weights, step
    pytest.fail(f"no TrainingDiverged within {max_steps} steps")


def test_huge_learning_rate_stops_with_the_step_named_and_weights_kept(shapes_data):
    train, _ = shapes_data
    trainer = Trainer(tiny_model(), train, None, optimizer="sgd", lr=1e30, batch_size=30,
                      epochs=5)
    error, weights, steps_before = _step_until_diverged(trainer)
    assert error.step == steps_before + 1
    assert f"step {error.step}" in str(error) and "learning rate (1e+30) is too high" in str(error)
    assert trainer.global_step == steps_before
    for name, value in trainer.model.state_dict().items():
        np.testing.assert_array_equal(value, weights[name], err_msg=name)


def test_a_huge_but_finite_update_is_caught_at_the_first_step_and_a_lower_rate_goes_on(shapes_data):
    train, _ = shapes_data
    trainer = Trainer(tiny_model(), train, None, optimizer="sgd", lr=1e30, batch_size=30, epochs=5)
    weights = trainer.model.state_dict()
    with pytest.raises(TrainingDiverged, match="step 1 .*moved the weights .*their own size"):
        trainer.step()
    for name, value in trainer.model.state_dict().items():     # the weights of before the step,
        np.testing.assert_array_equal(value, weights[name], err_msg=name)    # not ones near 1e30
    trainer.base_lr = 0.05
    losses = [trainer.step()[0].loss for _ in range(10)]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0] + 0.5


def test_an_ordinary_large_step_is_not_divergence(shapes_data):
    train, _ = shapes_data
    trainer = Trainer(tiny_model(), train, None, optimizer="sgd", lr=1.0, batch_size=30, epochs=1)
    trainer.step()                                     # big, but within 100× the weights' size
    assert trainer.global_step == 1


def test_overflowing_update_is_undone_with_the_optimizer_state(shapes_data):
    train, _ = shapes_data
    model = tiny_model()
    optimizer = Adam(model.parameters(), lr=1e-3)
    optimizer.lr = 1e39           # finite as a Python float, infinite once cast to float32
    trainer = Trainer(model, train, None, optimizer=optimizer, batch_size=30)
    weights = model.state_dict()
    with pytest.raises(TrainingDiverged, match="step 1 .*the update made") as caught:
        with np.errstate(over="ignore", invalid="ignore"):
            trainer.step()
    assert caught.value.step == 1 and caught.value.epoch == 1 and caught.value.batch == 1
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, weights[name], err_msg=name)
    assert optimizer.t == 0 and all(not m.any() for m in optimizer.state["m"].values())
    trainer.base_lr = 1e-3        # the run goes on from the kept weights
    (report,) = trainer.step()
    assert report.step == 1 and np.isfinite(report.loss)


def test_poisoned_input_is_reported_as_bad_input(shapes_data):
    train, _ = shapes_data
    images = train.images.copy()
    images[7, 0, 3, 3] = np.nan
    poisoned = data.Dataset(images=images, labels=train.labels, classes=train.classes,
                            name="poisoned", source="test")
    trainer = Trainer(tiny_model(), poisoned, None, batch_size=len(train))
    weights = trainer.model.state_dict()
    with pytest.raises(TrainingDiverged, match="step 1 .*bad input") as caught:
        trainer.step()
    assert caught.value.cause.startswith("bad input")
    for name, value in trainer.model.state_dict().items():
        np.testing.assert_array_equal(value, weights[name], err_msg=name)


# ---------------------------------------------------------------------------------------------
# Validation of the arguments
# ---------------------------------------------------------------------------------------------
def test_model_and_data_shapes_must_agree():
    rgb = data.synthetic(20, size=32, rgb=True, seed=0)
    model = cyconv.presets.build("mnist_cnn")
    with pytest.raises(ValueError, match=r"\(1, 28, 28\).*\(3, 32, 32\).*cifar_small"):
        Trainer(model, rgb)
    with pytest.raises(ValueError, match=r"\(3, 32, 32\)"):
        check_dataset(rgb, model)


def test_class_count_must_match_the_outputs(shapes_data):
    model = Sequential([L.Flatten(), L.Dense(IMAGE_SIZE * IMAGE_SIZE, 4)],
                       input_shape=(1, IMAGE_SIZE, IMAGE_SIZE))
    with pytest.raises(ValueError, match="4 outputs .* 10 classes"):
        Trainer(model, shapes_data[0])


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(batch_size=0), ValueError, "batch_size"),
    (dict(epochs=0), ValueError, "epochs"),
    (dict(seed=-1), ValueError, "seed"),
    (dict(optimizer="bogus"), ValueError, "Trainer: optimizer must be one of"),
    (dict(optimizer=3), TypeError, "optimizer must be"),
    (dict(lr=0.0), ValueError, "learning rate"),
    (dict(schedule="cosine"), ValueError, "schedule must be one of"),
], ids=["batch-0", "epochs-0", "seed-negative", "optimizer-name", "optimizer-type", "lr-0",
        "schedule"])
def test_bad_arguments(shapes_data, kwargs, error, match):
    with pytest.raises(error, match=match):
        Trainer(tiny_model(), shapes_data[0], **kwargs)


def test_optimizer_of_another_model_is_refused(shapes_data):
    other = Adam(tiny_model(1).parameters())
    with pytest.raises(ValueError, match="other parameters"):
        Trainer(tiny_model(), shapes_data[0], optimizer=other)
