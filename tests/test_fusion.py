"""ReLU → MaxPool2D fused into one kernel pass: bit for bit the unfused pair, both ways.

The fused kernel must give exactly the two kernels' values and gradients (not merely close)
in every max-pooling geometry: square and non-square windows, unequal strides, padding,
dilation, ceil_mode, odd sizes, N=1, C=1, ties (many zeros after the ReLU) and NaN.
"""
import copy

import numpy as np
import pytest

from cyconv import functional as F
from cyconv import gradcheck
from cyconv.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU, Tanh
from cyconv.layers.fusion import fusable, plan_steps
from cyconv.losses import SoftmaxCrossEntropy
from cyconv.model import Sequential

# (N, C, H, W), MaxPool2D settings: every case names what it exercises.
CASES = {
    "2x2-fast-path": ((2, 3, 8, 8), dict(kernel_size=2)),
    "2x2-odd-sizes": ((2, 2, 7, 9), dict(kernel_size=2)),
    "N1-C1": ((1, 1, 5, 5), dict(kernel_size=2, stride=1)),
    "overlap-3s2": ((2, 2, 9, 9), dict(kernel_size=3, stride=2)),
    "overlap-3s2-pad1": ((1, 2, 8, 7), dict(kernel_size=3, stride=2, padding=1)),
    "rect-3x2-s1x2": ((2, 1, 7, 8), dict(kernel_size=(3, 2), stride=(1, 2))),
    "rect-2x3-s2x1": ((2, 2, 8, 7), dict(kernel_size=(2, 3), stride=(2, 1))),
    "pad-pair": ((2, 2, 6, 6), dict(kernel_size=(2, 4), stride=(2, 2), padding=(1, 2))),
    "2x2-padded": ((2, 2, 7, 7), dict(kernel_size=2, padding=1)),
    "dilated": ((2, 2, 9, 10), dict(kernel_size=3, stride=1, dilation=2)),
    "dilated-padded": ((1, 2, 8, 9), dict(kernel_size=(3, 2), stride=(2, 1), padding=1,
                                          dilation=(2, 3))),
    "ceil-mode": ((2, 2, 7, 8), dict(kernel_size=2, ceil_mode=True)),
    "ceil-mode-3s2-pad1": ((1, 3, 8, 9), dict(kernel_size=3, stride=2, padding=1,
                                              ceil_mode=True)),
}
DTYPES = [np.float32, np.float64]


def _inputs(shape, dtype, rng, how):
    if how == "normal":
        return rng.standard_normal(shape).astype(dtype)
    if how == "ties":          # {-1, 0, 1, 2}: after the ReLU most windows tie, at 0 often
        return rng.integers(-1, 3, size=shape).astype(dtype)
    x = rng.standard_normal(shape).astype(dtype)   # NaN and ±inf here and there
    flat = x.reshape(-1)
    flat[::7] = np.nan
    flat[3::11] = -np.inf
    flat[5::13] = np.inf
    flat[1::17] = -0.0
    return x


def _unfused(x, settings):
    relu_out, relu_cache = F.activation_forward(x, "relu")
    out, pool_cache = F.pool2d_forward(relu_out, kind="max", **settings)
    return out, (relu_cache, pool_cache)


def _unfused_backward(dout, caches):
    relu_cache, pool_cache = caches
    return F.activation_backward(F.pool2d_backward(dout, pool_cache), relu_cache)


def _assert_same_bits(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a.view(np.uint8), b.view(np.uint8))


@pytest.mark.parametrize("how", ["normal", "ties", "nonfinite"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_fused_kernel_is_bit_identical_to_relu_then_pool(case, dtype, how, threads, rng):
    shape, settings = case
    x = _inputs(shape, dtype, rng, how)
    with F.trusted_inputs():      # the NaN scan would refuse the non-finite inputs
        expected, caches = _unfused(x, settings)
        out, cache = F.relu_max_pool2d_forward(x, **settings)
        _assert_same_bits(out, expected)
        dout = rng.standard_normal(out.shape).astype(dtype)
        dout.reshape(-1)[::5] = -0.0
        _assert_same_bits(F.pool2d_backward(dout, cache), _unfused_backward(dout, caches))


def test_a_window_of_nonpositive_values_passes_no_gradient():
    x = np.array([[[[-1.0, -2.0, 3.0, -1.0],
                    [-3.0, 0.0, 0.0, 1.0]]]])
    out, cache = F.relu_max_pool2d_forward(x, kernel_size=2)
    np.testing.assert_array_equal(out, [[[[0.0, 3.0]]]])
    dx = F.pool2d_backward(np.ones_like(out), cache)
    np.testing.assert_array_equal(dx[0, 0], [[0, 0, 1, 0], [0, 0, 0, 0]])


def _net(dtype=np.float32, pool=None, first_relu=False, seed=0):
    rng = np.random.default_rng(seed)
    pool = pool or dict(kernel_size=2)
    layers = ([ReLU()] if first_relu else []) + [
        Conv2D(2, 4, 3, padding=1, rng=rng, dtype=dtype), ReLU(), MaxPool2D(**pool),
        Conv2D(4, 3, (2, 3), rng=rng, dtype=dtype), ReLU(), MaxPool2D(**pool),
        Flatten()]
    probe = Sequential(layers, (2, 10, 9), dtype=dtype)
    features = probe.output_shape[0]
    layers = [copy.deepcopy(layer) for layer in layers]
    return Sequential(layers + [Dense(features, 5, rng=rng, dtype=dtype), ReLU(),
                                Dense(5, 3, rng=rng, dtype=dtype)], (2, 10, 9), dtype=dtype)


@pytest.mark.parametrize("first_relu", [False, True], ids=["conv-first", "relu-first"])
@pytest.mark.parametrize("pool", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                  dict(kernel_size=2, ceil_mode=True)],
                         ids=["2x2", "3s2-pad1", "ceil"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_a_fused_training_step_is_bit_identical_to_the_unfused_one(dtype, pool, first_relu,
                                                                   threads, rng):
    fused = _net(dtype, pool, first_relu)
    unfused = copy.deepcopy(fused)
    unfused.fuse = False
    assert any(len(step) == 2 for step in plan_steps(fused.layers))
    x = rng.standard_normal((3, 2, 10, 9)).astype(dtype)
    labels = np.array([0, 2, 1])
    results = []
    for model in (fused, unfused):
        loss = SoftmaxCrossEntropy()
        value = loss.forward(model.forward(x), labels)
        dx = model.backward(loss.backward())
        grads = [grad.copy() for _, _, grad in model.parameters()]
        input_grad = model.input_gradient(loss.backward())
        results.append((value, dx, grads, model.forward(x, training=False), input_grad))
    (v1, dx1, g1, inf1, ig1), (v2, dx2, g2, inf2, ig2) = results
    assert v1 == v2
    if first_relu:
        _assert_same_bits(dx1, dx2)
    else:
        assert dx1 is None and dx2 is None
    for a, b in zip(g1, g2):
        _assert_same_bits(a, b)
    _assert_same_bits(inf1, inf2)
    _assert_same_bits(ig1, ig2)


def test_input_gradient_after_a_fused_forward_matches_the_unfused_one(rng):
    fused = _net(np.float64, first_relu=True)
    unfused = copy.deepcopy(fused)
    unfused.fuse = False
    x = rng.standard_normal((2, 2, 10, 9))
    dlogits = rng.standard_normal((2, 3))
    grads = []
    for model in (fused, unfused):
        model.forward(x)
        grads.append(model.input_gradient(dlogits))
    _assert_same_bits(*grads)


def test_fused_model_passes_the_gradient_check(rng):
    model = _net(np.float64, dict(kernel_size=3, stride=2, padding=1), first_relu=True)
    x = rng.standard_normal((2, 2, 10, 9))
    errors = gradcheck.check_model(model, x, np.array([1, 2]), rng=rng)
    assert max(errors.values()) < 1e-6, errors


def test_a_layer_alone_cannot_backpropagate_a_fused_forward(rng):
    model = _net()
    x = rng.standard_normal((2, 2, 10, 9)).astype(np.float32)
    out = model.forward(x)
    relu, pool = model.layers[1], model.layers[2]
    with pytest.raises(RuntimeError, match=r"ran fused as .*relu.* → .*pool.*fuse = False"):
        relu.backward(np.ones((2, 4, 10, 9), np.float32))
    with pytest.raises(RuntimeError, match="ran fused"):
        pool.backward(np.ones((2, 4, 5, 4), np.float32))
    model.backward(np.ones_like(out))          # the model still can


def test_running_a_layer_alone_afterwards_replaces_the_fused_cache(rng):
    model = _net()
    x = rng.standard_normal((2, 2, 10, 9)).astype(np.float32)
    model.forward(x)
    relu, pool = model.layers[1], model.layers[2]
    hidden = model.layers[0].forward(x)
    pooled = pool.forward(relu.forward(hidden))
    dx_pool = pool.backward(np.ones_like(pooled))
    np.testing.assert_array_equal(relu.backward(dx_pool), dx_pool * (hidden > 0))


def test_a_stale_fused_cache_is_refused_after_a_new_training_pass(rng):
    pool = MaxPool2D(2)
    relu = ReLU()
    x = rng.standard_normal((2, 2, 6, 6))
    pool.forward_after_relu(x, relu)
    stale = pool._cache.cache
    pool.forward_after_relu(-x, relu)
    with pytest.raises(ValueError, match="pooling indices were overwritten"):
        F.pool2d_backward(np.ones((2, 2, 3, 3)), stale)


def test_fuse_false_and_forward_trace_run_every_layer(rng, monkeypatch):
    model = _net()
    calls = []
    original = ReLU.forward

    def counting(self, x, training=True):
        calls.append(self.name)
        return original(self, x, training)

    monkeypatch.setattr(ReLU, "forward", counting)
    x = rng.standard_normal((2, 2, 10, 9)).astype(np.float32)
    model.forward(x)
    assert calls == ["relu3"]        # the ReLU after the first Dense is not before a pool
    calls.clear()
    model.fuse = False
    model.forward(x)
    assert len(calls) == 3
    calls.clear()
    model.fuse = True
    trace = dict(model.forward_trace(x))
    assert len(calls) == 3
    hidden = model.layers[0].forward(x, training=False)
    np.testing.assert_array_equal(trace["relu1"], np.maximum(hidden, 0))


def test_only_plain_relu_then_max_pool_is_fused():
    class MyReLU(ReLU):
        pass

    timed = ReLU()
    timed.forward = lambda x, training=True: x      # a timer or probe wrapping one layer
    assert fusable(ReLU(), MaxPool2D(2))
    assert not fusable(MyReLU(), MaxPool2D(2))
    assert not fusable(timed, MaxPool2D(2))
    assert not fusable(Tanh(), MaxPool2D(2))
    assert not fusable(MaxPool2D(2), ReLU())
    layers = [ReLU(), MaxPool2D(2), ReLU(), ReLU(), MaxPool2D(2), MaxPool2D(2)]
    assert plan_steps(layers) == [(0, 1), (2,), (3, 4), (5,)]
    assert plan_steps(layers, fuse=False) == [(i,) for i in range(6)]


def test_pool_indices_are_int32_and_reused_between_training_steps(rng):
    pool = MaxPool2D(2)
    x = rng.standard_normal((2, 3, 8, 8))
    pool.forward(x)
    first = pool._cache.arg
    assert first.dtype == np.int32
    pool.forward(x)
    assert np.shares_memory(first, pool._cache.arg)
    pool.forward(x, training=False)
    out, cache = F.pool2d_forward(x, kind="max", kernel_size=2)
    assert cache.workspace is None and not np.shares_memory(cache.arg, first)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("kind", ["max", "min"])
def test_the_vectorised_2x2_path_keeps_the_reference_picks_with_inf(kind, dtype, rng):
    # (Not NaN: the reference's argmax picks a NaN, the kernels' strict > skips it.)
    from cyconv import reference as R
    x = _inputs((2, 3, 9, 11), dtype, rng, "nonfinite")
    x[np.isnan(x)] = 0.5
    with F.trusted_inputs():
        out, cache = F.pool2d_forward(x, kind=kind, kernel_size=2)
        expected, arg = R.pool2d_forward(x, kind, (2, 2), (2, 2), (0, 0, 0, 0))
        _assert_same_bits(out, expected.astype(dtype))
        dout = rng.standard_normal(out.shape).astype(dtype)
        dx = F.pool2d_backward(dout, cache)
    np.testing.assert_array_equal(dx, R.pool2d_backward(dout, x.shape, kind, (2, 2), (2, 2),
                                                        (0, 0, 0, 0), arg))


@pytest.mark.parametrize("relu_first", [False, True], ids=["plain", "relu-fused"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("shape", [(2, 3, 8, 8), (2, 2, 7, 9), (1, 1, 2, 2), (1, 1, 3, 5)],
                         ids=["even", "odd-drop", "N1-C1-one-window", "N1-C1-odd"])
def test_the_2x2_backward_writes_what_the_scatter_into_zeros_writes(shape, dtype, relu_first,
                                                                   threads, rng):
    from cyconv._kernels import _pool2d
    x = _inputs(shape, dtype, rng, "ties")
    if relu_first:
        _, cache = F.relu_max_pool2d_forward(x, kernel_size=2)
    else:
        _, cache = F.pool2d_forward(x, kind="max", kernel_size=2)
    assert cache.geometry.disjoint_2x2(*shape[2:])
    OH, OW = cache.geometry.out_hw
    dout = rng.standard_normal((shape[0] * shape[1], OH, OW)).astype(dtype)
    dout.reshape(-1)[::3] = -0.0
    scattered = np.zeros((shape[0] * shape[1],) + shape[2:], dtype)
    _pool2d.pool2d_backward_argmax(dout, cache.arg, scattered, 2)
    written = np.full_like(scattered, np.nan)      # whatever was there must be overwritten
    _pool2d.pool2d_backward_2x2(dout, cache.arg, written, 2)
    _assert_same_bits(written, scattered)
