"""check_network tells the truth on a trained network: green in every row even where the loss
all but vanishes, and a wrong backward turns its own rows red and no other."""
import numpy as np
import pytest

from cyconv import data, gradcheck, layers as L
from cyconv._arrays import softmax
from cyconv.model import Sequential
from cyconv.train import Trainer



def small_net(seed=0):
    rng = np.random.default_rng(seed)
    return Sequential([L.Conv2D(1, 8, 3, padding=1, rng=rng), L.ReLU(), L.MaxPool2D(2),
                       L.Conv2D(8, 16, 3, padding=1, rng=rng), L.LeakyReLU(0.1),
                       L.AvgPool2D(2), L.Flatten(), L.Dropout(0.2, rng=rng),
                       L.Dense(16 * 2 * 2, 10, rng=rng)], input_shape=(1, 8, 8))


@pytest.fixture(scope="module")
def trained():
    """A small net trained to high accuracy on the 8x8 digits (540 steps, under a second),
    and the test images."""
    pytest.importorskip("sklearn")
    train, _, test = data.load_train_test("digits", val_fraction=0.0)
    trainer = Trainer(small_net(), train, None, optimizer="adam", lr=1e-2, batch_size=32,
                      epochs=12, seed=0)
    for _ in trainer.run():
        pass
    return trainer.model, test


def _most_confident_right(model, test, count=2):
    probabilities = softmax(model.predict(test.images), axis=1)
    right = probabilities.argmax(axis=1) == test.labels
    confidence = np.where(right, probabilities.max(axis=1), -1)
    chosen = np.argsort(confidence)[-count:]
    return test.images[chosen], test.labels[chosen], probabilities[chosen].max(axis=1)


def _expected_rows(model):
    rows = [("input", "x")]
    for index, layer in enumerate(model.layers):
        rows += [(layer.name, key) for key in layer.params]
        if index > 0:
            rows.append((layer.name, "x"))
    return rows + [("loss", "logits")]


def test_a_trained_net_is_green_in_every_row_where_the_loss_vanishes(trained):
    model, test = trained
    accuracy = np.mean(model.predict(test.images).argmax(axis=1) == test.labels)
    assert accuracy > 0.9
    x, y, confidence = _most_confident_right(model, test)
    assert confidence.min() > 0.999                   # the loss of these all but vanishes
    rows = gradcheck.check_network(model, x, y, rng=np.random.default_rng(1))
    assert [(row.layer, row.what) for row in rows] == _expected_rows(model)
    assert all(row.passed for row in rows), [r for r in rows if not r.passed]
    assert max(row.relative_error for row in rows) < gradcheck.THRESHOLD
    assert all(row.threshold == gradcheck.THRESHOLD for row in rows)


def test_an_overconfident_net_is_green_too(trained):
    model, test = trained
    model = _scaled_copy(model, factor=6.0)           # logits six times larger: loss ~ 0
    x, y, confidence = _most_confident_right(model, test)
    assert confidence.min() > 1 - 1e-9
    rows = gradcheck.check_network(model, x, y, rng=np.random.default_rng(2), max_elements=40)
    assert all(row.passed for row in rows), [r for r in rows if not r.passed]


def _scaled_copy(model, factor):
    import copy

    scaled = copy.deepcopy(model)
    scaled["dense1"].params["W"] *= factor
    return scaled


@pytest.mark.parametrize("broken, rows", [
    ("pool1", {("pool1", "x")}),
    ("relu1", {("relu1", "x")}),
    ("conv2", {("conv2", "x")}),
    ("dense1", {("dense1", "x")}),
], ids=["maxpool", "relu", "conv", "dense"])
def test_a_backward_one_percent_off_turns_its_row_red_and_only_its_row(trained, monkeypatch,
                                                                        broken, rows):
    model, test = trained
    x, y, _ = _most_confident_right(model, test)
    layer_type = type(model[broken])
    original = layer_type.backward

    def one_percent_off(self, dout, *args, **kwargs):
        dx = original(self, dout, *args, **kwargs)
        return dx * 1.01 if self.name == broken else dx

    monkeypatch.setattr(layer_type, "backward", one_percent_off)
    result = gradcheck.check_network(model, x, y, rng=np.random.default_rng(3))
    red = {(row.layer, row.what) for row in result if not row.passed}
    assert red == rows, result


def test_a_wrong_weight_gradient_turns_only_that_row_red(trained, monkeypatch):
    model, test = trained
    x, y, _ = _most_confident_right(model, test)
    original = L.Conv2D.backward

    def drop_a_term(self, dout, *args, **kwargs):
        dx = original(self, dout, *args, **kwargs)
        if self.name == "conv1":
            self.grads["b"][0] = 0.0                  # forget one filter's bias gradient
        return dx

    monkeypatch.setattr(L.Conv2D, "backward", drop_a_term)
    result = gradcheck.check_network(model, x, y, rng=np.random.default_rng(4),
                                     max_elements=None)
    red = {(row.layer, row.what) for row in result if not row.passed}
    assert red == {("conv1", "b")}, result


def test_a_wrong_loss_gradient_turns_the_loss_row_red(trained, monkeypatch):
    from cyconv import losses

    model, test = trained
    x, y, _ = _most_confident_right(model, test)
    original = losses.SoftmaxCrossEntropy.backward
    monkeypatch.setattr(losses.SoftmaxCrossEntropy, "backward", lambda self: 1.01 * original(self))
    red = {(r.layer, r.what) for r in gradcheck.check_network(model, x, y) if not r.passed}
    assert red == {("loss", "logits")}


def test_check_network_leaves_the_model_untouched(trained):
    model, test = trained
    before = model.state_dict()
    gradcheck.check_network(model, test.images[:2], test.labels[:2], max_elements=3)
    assert model.dtype == np.float32
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_check_network_names_a_wrong_input_shape(trained):
    model, _ = trained
    with pytest.raises(ValueError, match=r"check_network: x must be \(N,\) \+ \(1, 8, 8\)"):
        gradcheck.check_network(model, np.zeros((2, 1, 16, 16)), np.array([0, 1]))


def test_the_old_loss_only_check_is_noise_on_the_same_samples(trained):
    """Why check_network exists: check_model's relative errors on these samples are large."""
    model, test = trained
    x, y, _ = _most_confident_right(_scaled_copy(model, 6.0), test)
    errors = gradcheck.check_model(_scaled_copy(model, 6.0), x, y, max_elements=24,
                                   rng=np.random.default_rng(0))
    assert max(errors.values()) > 1e-3
