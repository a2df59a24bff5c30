"""Sequential, the layers' contract (params/grads identity, backward not mutating dout) and
the optimizers."""
import copy
import json
import pickle

import numpy as np
import pytest

import cyconv
from cyconv import layers, optim
from cyconv.losses import SoftmaxCrossEntropy


def tiny_model(seed=0):
    return cyconv.Sequential.from_config({"input_shape": [1, 8, 8], "layers": [
        {"type": "Conv2D", "out_channels": 4, "kernel_size": 3, "padding": 1},
        {"type": "ReLU"}, {"type": "MaxPool2D", "kernel_size": 2}, {"type": "Flatten"},
        {"type": "Dense", "out_features": 3}]}, seed=seed)


def one_step(model, x, y, opt):
    loss = SoftmaxCrossEntropy()
    value = loss.forward(model.forward(x), y)
    model.backward(loss.backward())
    opt.step()
    return value


def test_public_api_from_the_issue(rng):
    conv = layers.Conv2D(in_channels=1, out_channels=20, kernel_size=4, stride=1, padding=0,
                         padding_mode="zeros", bias=True)
    assert conv.params["W"].shape == (20, 1, 4, 4) and conv.params["b"].shape == (20,)
    x = rng.standard_normal((2, 1, 39, 31)).astype(np.float32)
    y = conv.forward(x)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dy_before = dy.copy()
    dx = conv.backward(dy)
    assert dx.shape == x.shape and conv.grads["W"].shape == (20, 1, 4, 4)
    np.testing.assert_array_equal(dy, dy_before)
    assert layers.Dense(160, 100).params["W"].shape == (100, 160)


def test_parameter_names_and_identity():
    model = cyconv.presets.build("mnist_cnn")
    names = [name for name, _, _ in model.parameters()]
    assert names[:2] == ["conv1.W", "conv1.b"] and names[-1] == "dense2.b"
    conv1 = model["conv1"]
    params = model.parameters()
    assert params[0][1] is conv1.params["W"] and params[0][2] is conv1.grads["W"]


def test_grad_arrays_keep_their_identity_across_steps(rng):
    model = tiny_model()
    grads_before = [id(g) for _, _, g in model.parameters()]
    opt = optim.SGD(model.parameters(), lr=0.1)
    x = rng.standard_normal((4, 1, 8, 8)).astype(np.float32)
    y = np.array([0, 1, 2, 0])
    first = [g.copy() for _, _, g in model.parameters()]
    for _ in range(3):
        one_step(model, x, y, opt)
    assert [id(g) for _, _, g in model.parameters()] == grads_before
    assert any(not np.array_equal(a, g) for a, (_, _, g) in zip(first, model.parameters()))


def test_training_reduces_the_loss(rng):
    model = tiny_model()
    opt = optim.Adam(model.parameters(), lr=0.01)
    x = rng.standard_normal((16, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 3, 16)
    losses = [one_step(model, x, y, opt) for _ in range(40)]
    assert losses[-1] < 0.3 * losses[0]


def test_config_round_trip_is_json_and_rebuilds_the_same_model():
    model = tiny_model(seed=3)
    config = json.loads(json.dumps(model.config()))
    clone = cyconv.Sequential.from_config(config, seed=3)
    for (n1, p1, _), (n2, p2, _) in zip(model.parameters(), clone.parameters()):
        assert n1 == n2
        np.testing.assert_array_equal(p1, p2)


def test_state_dict_round_trip_keeps_identity():
    model, other = tiny_model(seed=1), tiny_model(seed=2)
    identity = [id(p) for _, p, _ in other.parameters()]
    other.load_state_dict(model.state_dict())
    assert [id(p) for _, p, _ in other.parameters()] == identity
    for (_, a, _), (_, b, _) in zip(model.parameters(), other.parameters()):
        np.testing.assert_array_equal(a, b)


def test_load_state_dict_refuses_a_mismatch_and_changes_nothing():
    model = tiny_model()
    state = model.state_dict()
    state["conv1.W"] = np.zeros((5, 1, 3, 3))
    before = model.state_dict()
    with pytest.raises(ValueError, match="conv1.W"):
        model.load_state_dict(state)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_float64_input_into_float32_model_is_converted(rng):
    model = tiny_model()
    out = model.forward(rng.standard_normal((2, 1, 8, 8)))
    assert out.dtype == np.float32


def test_forward_trace_has_every_layer_and_copies():
    model = tiny_model()
    trace = model.forward_trace(np.ones((1, 1, 8, 8), np.float32))
    assert [name for name, _ in trace] == ["conv1", "relu1", "pool1", "flatten1", "dense1"]
    assert np.all(trace[1][1] >= 0)
    assert trace[0][1].shape == (1, 4, 8, 8)


def test_predict_matches_forward_in_inference_mode(rng):
    model = cyconv.presets.build("mnist_cnn")
    x = rng.standard_normal((5, 1, 28, 28)).astype(np.float32)
    np.testing.assert_allclose(model.predict(x, batch_size=2), model.forward(x, training=False),
                               rtol=1e-5, atol=1e-6)


def test_summary_rows_are_readable_by_programs():
    rows = cyconv.presets.build("deepid").summary()
    conv1 = rows[0]
    assert conv1.name == "conv1" and conv1.output_hwc == (36, 28, 20)
    assert conv1.params == 340 and rows.total_params == 64_620


def test_input_gradient_matches_backward_without_skip(rng):
    model = tiny_model()
    x = rng.standard_normal((2, 1, 8, 8)).astype(np.float32)
    out = model.forward(x)
    assert model.backward(np.ones_like(out)) is None   # conv1 skips the image gradient
    model.forward(x)
    assert model.input_gradient(np.ones_like(out)).shape == x.shape


# ------------------------------------------------------------------------------ optimizers

def _single_param(value, grad):
    p, g = np.array(value, dtype=np.float64), np.array(grad, dtype=np.float64)
    return [("w", p, g)], p


def test_sgd_step_by_hand():
    params, p = _single_param([1.0, 2.0], [0.5, -1.0])
    optim.SGD(params, lr=0.1).step()
    np.testing.assert_allclose(p, [0.95, 2.1])


def test_momentum_and_nesterov_by_hand():
    params, p = _single_param([1.0], [1.0])
    opt = optim.Momentum(params, lr=0.1, momentum=0.9)
    opt.step()
    opt.step()                       # v = -0.1, then 0.9·(-0.1) − 0.1 = −0.19
    np.testing.assert_allclose(p, [1.0 - 0.1 - 0.19])
    params, p = _single_param([1.0], [1.0])
    optim.Momentum(params, lr=0.1, momentum=0.9, nesterov=True).step()
    np.testing.assert_allclose(p, [1.0 + 0.9 * -0.1 - 0.1])


def test_adagrad_rmsprop_adam_by_hand():
    params, p = _single_param([1.0], [2.0])
    optim.AdaGrad(params, lr=0.1, eps=1e-12).step()
    np.testing.assert_allclose(p, [0.9])                  # 1 − 0.1·2/√4
    params, p = _single_param([1.0], [2.0])
    optim.RMSprop(params, lr=0.1, rho=0.9, eps=1e-12).step()
    np.testing.assert_allclose(p, [1.0 - 0.1 * 2 / np.sqrt(0.1 * 4)])
    params, p = _single_param([1.0], [2.0])
    optim.Adam(params, lr=0.1, eps=1e-12).step()
    np.testing.assert_allclose(p, [0.9])                  # bias-corrected first step = lr·sign


def test_learning_rate_changes_between_steps():
    params, p = _single_param([0.0], [1.0])
    opt = optim.SGD(params, lr=0.1)
    opt.step()
    opt.lr = 1.0
    opt.step()
    np.testing.assert_allclose(p, [-1.1])


def test_optimizer_state_round_trip():
    params, p = _single_param([1.0, 2.0], [0.3, -0.2])
    opt = optim.Adam(params, lr=0.01)
    opt.step()
    saved = opt.state_dict()
    params2, p2 = _single_param(p.copy(), [0.3, -0.2])
    opt2 = optim.Adam(params2, lr=0.5)
    opt2.load_state_dict(saved)
    opt.step()
    opt2.step()
    np.testing.assert_array_equal(p, p2)
    assert opt2.lr == 0.01 and opt2.t == 2


def test_make_knows_every_optimizer():
    model = tiny_model()
    for name in optim.OPTIMIZERS:
        opt = optim.make(name, model.parameters(), lr=0.01, momentum=0.8)
        assert opt.lr == 0.01
    with pytest.raises(ValueError, match="unknown optimizer"):
        optim.make("lbfgs", model.parameters(), lr=0.1)


def test_initializers_take_a_generator_and_scale(rng):
    from cyconv import init
    w = init.he_normal((64, 32, 3, 3), rng)
    assert abs(w.std() - np.sqrt(2 / (32 * 9))) < 0.01
    w = init.xavier_uniform((100, 200), rng)
    assert np.abs(w).max() <= np.sqrt(6 / 300)
    assert init.gaussian((3, 3), np.random.default_rng(1)).tolist() == \
        init.gaussian((3, 3), np.random.default_rng(1)).tolist()
    with pytest.raises(TypeError, match="Generator"):
        init.he_normal((3, 3), 42)


def test_default_initializer_is_pytorchs(rng):
    from cyconv import init
    conv = layers.Conv2D(3, 8, 5, rng=rng)
    bound = 1 / np.sqrt(3 * 5 * 5)
    for key in ("W", "b"):
        values = conv.params[key]
        assert np.abs(values).max() <= bound and np.abs(values).max() > 0.8 * bound
    dense = layers.Dense(10, 4, init="he_normal", rng=rng)
    assert np.all(dense.params["b"] == 0)
    assert init.DEFAULT == "pytorch_default"


def test_a_model_with_forward_caches_can_be_copied_and_pickled():
    # The caches hold the kernels' typed plans: copies must rebuild them and still train.
    model = cyconv.presets.build("mnist_cnn", seed=2)
    x = np.random.default_rng(0).standard_normal((2, 1, 28, 28)).astype(np.float32)
    dout = np.ones((2, 10), np.float32)
    model.forward(x)
    model.backward(dout)
    for twin in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        twin.backward(dout)
        for (name, _, grad), (_, _, twin_grad) in zip(model.parameters(), twin.parameters()):
            np.testing.assert_array_equal(grad, twin_grad, err_msg=name)
