"""The Cython kernels (through cyconv.functional) against the NumPy reference.

Each kernel is run on many geometries, in float32 and float64, with 1 and 2 threads, and on
read-only and non-contiguous inputs; the reference (cyconv.reference) is the oracle.
"""
import math

import numpy as np
import pytest

import cyconv
from cyconv import _plans
from cyconv import functional as F
from cyconv import reference as R
from cyconv.shapes import normalize_padding

TOL = {np.float32: dict(rtol=1e-4, atol=1e-4), np.float64: dict(rtol=1e-10, atol=1e-10)}

# (N, C, H, W), (F, KH, KW), stride, padding: every case names what it exercises.
CONV_CASES = {
    "square-3x3": ((2, 3, 7, 7), (4, 3, 3), 1, 0),
    "kernel-3x2": ((2, 2, 7, 6), (3, 3, 2), 1, 0),
    "kernel-2x3": ((2, 2, 6, 7), (3, 2, 3), 1, 0),
    "stride-1x2": ((2, 2, 8, 9), (3, 3, 3), (1, 2), 1),
    "stride-2x1": ((2, 2, 9, 8), (3, 3, 2), (2, 1), (1, 0)),
    "pad-pair": ((1, 2, 6, 5), (2, 3, 3), 1, (2, 1)),
    "pad-4-asym": ((2, 2, 7, 6), (3, 3, 2), (2, 1), (1, 2, 0, 1)),
    "pad-same": ((2, 3, 7, 6), (4, 4, 3), 1, "same"),
    "pad-same-stride2": ((2, 3, 9, 8), (2, 3, 3), 2, "same"),
    "pad-valid": ((2, 3, 7, 6), (2, 3, 3), 1, "valid"),
    "N1-C1": ((1, 1, 5, 5), (1, 3, 3), 1, 1),
    "odd-sizes": ((3, 1, 11, 13), (5, 5, 3), (3, 2), (2, 1)),
    "kernel-eq-input": ((2, 2, 4, 3), (2, 4, 3), 1, 0),
    "1x1": ((2, 5, 4, 4), (3, 1, 1), 1, 0),
    # Output rows at least one 8-value block long: im2col/col2im copy and add those in fixed
    # blocks, and the remainder one by one (8 exactly, 8 + 9 with padded edges, 3 × 8).
    "run-8": ((2, 2, 6, 12), (3, 3, 5), 1, 0),
    "run-17-pad": ((1, 1, 5, 19), (2, 3, 3), 1, 1),
    "run-24-C1": ((2, 1, 9, 28), (4, 5, 5), 1, 0),
    # 400 output pixels: the backward pass runs its GEMMs straight on dout (DIRECT_DOUT_MIN_PIXELS).
    "direct-dout": ((2, 2, 20, 20), (3, 3, 3), 1, 1),
}

POOL_CASES = {
    "2x2": ((2, 3, 8, 8), 2, None, 0),
    "odd-drop": ((2, 2, 7, 9), 2, None, 0),
    "overlap-3s2": ((2, 2, 9, 9), 3, 2, 0),
    "overlap-3s2-pad1": ((1, 2, 8, 7), 3, 2, 1),
    "rect-3x2-s1x2": ((2, 1, 7, 8), (3, 2), (1, 2), 0),
    "pad-pair": ((2, 2, 6, 6), (2, 4), (2, 2), (1, 2)),
    "N1-C1": ((1, 1, 5, 5), 2, 1, 0),
}


def _variant(a, how):
    """The same values, as a read-only or a non-contiguous array."""
    if how == "readonly":
        a = a.copy()
        a.flags.writeable = False
    elif how == "noncontiguous":
        wide = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), dtype=a.dtype)
        wide[..., ::2] = a
        a = wide[..., ::2]
        assert a.size == 1 or not a.flags.c_contiguous
    return a


def test_a_convolution_wakes_no_more_threads_than_it_has_chunks(monkeypatch, rng):
    # One sample is one chunk: a second thread would only be woken and waited for.
    from cyconv._kernels import _conv2d
    seen = []
    for name in ("conv2d_forward", "conv2d_backward"):
        kernel = getattr(_conv2d, name)
        monkeypatch.setattr(_conv2d, name, lambda plan, run, *arrays, _k=kernel:
                            seen.append(run["num_threads"]) or _k(plan, run, *arrays))
    before = cyconv.get_num_threads()
    cyconv.set_num_threads(2)
    try:
        for n in (1, 64):
            x = rng.standard_normal((n, 10, 12, 12)).astype(np.float32)
            w = rng.standard_normal((20, 10, 5, 5)).astype(np.float32)
            out, cache = F.conv2d_forward(x, w, None, workspace={})
            F.conv2d_backward(np.ones_like(out), cache)
    finally:
        cyconv.set_num_threads(before)
    assert seen == [1, 1, 2, 2]


def test_small_calls_stay_on_one_thread():
    before = cyconv.get_num_threads()
    cyconv.set_num_threads(2)
    try:
        assert F._num_threads(1000) == 1
        assert F._num_threads(10 ** 8) == 2
        assert F._num_threads() == 2
    finally:
        cyconv.set_num_threads(before)


@pytest.mark.parametrize("layout", ["contiguous", "readonly", "noncontiguous"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("mode", F.PADDING_MODES)
@pytest.mark.parametrize("case", CONV_CASES.values(), ids=CONV_CASES.keys())
def test_conv2d_matches_reference(case, mode, dtype, layout, threads, rng):
    x_shape, (nf, kh, kw), stride, padding = case
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal((nf, x_shape[1], kh, kw)).astype(dtype)
    b = rng.standard_normal(nf).astype(dtype)
    strides = stride if isinstance(stride, tuple) else (stride, stride)
    pads = normalize_padding(padding, (kh, kw), strides, x_shape[2:])
    if mode == "reflect" and max(pads) >= min(x_shape[2:]):
        pytest.skip("reflect padding needs pads smaller than the input")
    out, cache = F.conv2d_forward(_variant(x, layout), _variant(w, layout), _variant(b, layout),
                                  stride=stride, padding=padding, padding_mode=mode)
    expected = R.conv2d_forward(x, w, b, strides, pads, mode)
    np.testing.assert_allclose(out, expected, **TOL[dtype])
    dout = rng.standard_normal(out.shape).astype(dtype)
    dx, dw, db = F.conv2d_backward(_variant(dout, layout), cache)
    rdx, rdw, rdb = R.conv2d_backward(dout, x, w, strides, pads, mode, True)
    np.testing.assert_allclose(dx, rdx, **TOL[dtype])
    np.testing.assert_allclose(dw, rdw, **TOL[dtype])
    np.testing.assert_allclose(db, rdb, **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_conv2d_without_bias_and_without_dx(dtype, rng):
    x = rng.standard_normal((2, 2, 6, 5)).astype(dtype)
    w = rng.standard_normal((3, 2, 2, 3)).astype(dtype)
    out, cache = F.conv2d_forward(x, w, None, stride=(1, 2), padding=1)
    np.testing.assert_allclose(out, R.conv2d_forward(x, w, None, (1, 2), (1, 1, 1, 1)),
                               **TOL[dtype])
    dout = rng.standard_normal(out.shape).astype(dtype)
    dx, dw, db = F.conv2d_backward(dout, cache, need_dx=False)
    assert dx is None and db is None
    _, rdw, _ = R.conv2d_backward(dout, x, w, (1, 2), (1, 1, 1, 1), "zeros", False)
    np.testing.assert_allclose(dw, rdw, **TOL[dtype])


def test_backward_does_not_mutate_dout(rng):
    x = rng.standard_normal((2, 2, 5, 5))
    w = rng.standard_normal((3, 2, 3, 3))
    out, cache = F.conv2d_forward(x, w, None)
    dout = rng.standard_normal(out.shape)
    before = dout.copy()
    F.conv2d_backward(dout, cache)
    pooled, pcache = F.pool2d_forward(x, kind="max", kernel_size=2)
    dpool = rng.standard_normal(pooled.shape)
    dpool_before = dpool.copy()
    F.pool2d_backward(dpool, pcache)
    np.testing.assert_array_equal(dout, before)
    np.testing.assert_array_equal(dpool, dpool_before)


@pytest.mark.parametrize("layout", ["contiguous", "readonly", "noncontiguous"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("kind", ["max", "avg", "min"])
@pytest.mark.parametrize("case", POOL_CASES.values(), ids=POOL_CASES.keys())
def test_pool2d_matches_reference(case, kind, dtype, layout, threads, rng):
    x_shape, kernel, stride, padding = case
    x = rng.standard_normal(x_shape).astype(dtype)
    out, cache = F.pool2d_forward(_variant(x, layout), kind=kind, kernel_size=kernel,
                                  stride=stride, padding=padding)
    k = kernel if isinstance(kernel, tuple) else (kernel, kernel)
    s = k if stride is None else (stride if isinstance(stride, tuple) else (stride, stride))
    p = padding if isinstance(padding, tuple) else (padding, padding)
    pads = (p[0], p[0], p[1], p[1])
    expected, arg = R.pool2d_forward(x, kind, k, s, pads)
    np.testing.assert_allclose(out, expected, **TOL[dtype])
    dout = rng.standard_normal(out.shape).astype(dtype)
    dx = F.pool2d_backward(_variant(dout, layout), cache)
    np.testing.assert_allclose(dx, R.pool2d_backward(dout, x.shape, kind, k, s, pads, arg),
                               **TOL[dtype])


@pytest.mark.parametrize("kind, picks", [("max", 9.0), ("min", 1.0)])
def test_pool_ties_go_to_the_first_in_row_major_order(kind, picks):
    # Every window holds its extreme value twice; the gradient must reach only the first.
    x = np.array([[[[picks, picks, 5.0, 5.0],
                    [picks, 5.0, 5.0, 5.0]]]])
    out, cache = F.pool2d_forward(x, kind=kind, kernel_size=2)
    assert out[0, 0, 0, 0] == picks
    dx = F.pool2d_backward(np.ones_like(out), cache)
    np.testing.assert_array_equal(dx[0, 0], [[1, 0, 1, 0], [0, 0, 0, 0]])


@pytest.mark.parametrize("kind", ["max", "min"])
@pytest.mark.parametrize("kernel, stride, padding", [(2, None, 0), (2, 1, 0), (2, None, 1),
                                                     ((2, 3), None, 0)],
                         ids=["2x2-fast-path", "2x2-stride1", "2x2-padded", "2x3"])
def test_pool_many_ties_match_reference(kind, kernel, stride, padding, threads, rng):
    # Values from {0, 1, 2} tie in most windows, at every position of the window; an odd
    # height and width leave a row and column the windows never reach.
    x = rng.integers(0, 3, size=(3, 2, 7, 9)).astype(np.float32)
    out, cache = F.pool2d_forward(x, kind=kind, kernel_size=kernel, stride=stride,
                                  padding=padding)
    k = kernel if isinstance(kernel, tuple) else (kernel, kernel)
    s = k if stride is None else (stride, stride)
    pads = (padding,) * 4
    expected, arg = R.pool2d_forward(x, kind, k, s, pads)
    np.testing.assert_array_equal(out, expected)
    dout = rng.standard_normal(out.shape).astype(np.float32)
    np.testing.assert_array_equal(F.pool2d_backward(dout, cache),
                                  R.pool2d_backward(dout, x.shape, kind, k, s, pads, arg))


def test_overlapping_pool_accumulates_gradient_on_shared_pixel():
    # AlexNet's 3x3 stride 2: the centre pixel is the max of all four windows.
    x = np.zeros((1, 1, 5, 5))
    x[0, 0, 2, 2] = 10.0
    out, cache = F.pool2d_forward(x, kind="max", kernel_size=3, stride=2)
    assert out.shape == (1, 1, 2, 2) and np.all(out == 10.0)
    dx = F.pool2d_backward(np.ones_like(out), cache)
    assert dx[0, 0, 2, 2] == 4.0 and dx.sum() == 4.0


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("shape", [(1, 7, 3), (5, 160, 100), (3, 1, 1), (64, 20, 10)],
                         ids=["N1", "deepid-fc", "1x1", "batch64"])
def test_dense_matches_reference(shape, dtype, bias, threads, rng):
    n, fan_in, fan_out = shape
    x = rng.standard_normal((n, fan_in)).astype(dtype)
    w = rng.standard_normal((fan_out, fan_in)).astype(dtype)
    b = rng.standard_normal(fan_out).astype(dtype) if bias else None
    y, cache = F.dense_forward(x, w, b)
    np.testing.assert_allclose(y, R.dense_forward(x, w, b), **TOL[dtype])
    dout = rng.standard_normal(y.shape).astype(dtype)
    got = F.dense_backward(dout, cache)
    want = R.dense_backward(dout, x, w, bias)
    for g, w_ in zip(got, want):
        if w_ is None:
            assert g is None
        else:
            np.testing.assert_allclose(g, w_, **TOL[dtype])


ACTIVATIONS = {
    "relu": (R.relu_forward, lambda d, x, o: R.relu_backward(d, x)),
    "leaky_relu": (lambda x: R.leaky_relu_forward(x, 0.1),
                   lambda d, x, o: R.leaky_relu_backward(d, x, 0.1)),
    "elu": (lambda x: R.elu_forward(x, 0.1), lambda d, x, o: R.elu_backward(d, x, 0.1)),
    "sigmoid": (R.sigmoid_forward, lambda d, x, o: R.sigmoid_backward(d, o)),
    "tanh": (R.tanh_forward, lambda d, x, o: R.tanh_backward(d, o)),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_elu_hand_computed_values(dtype):
    # ELU(1): -1 -> e^-1 - 1, slope e^-1 there; 0 takes the x <= 0 branch (slope alpha = 1);
    # a tiny negative x keeps its digits (expm1, not exp - 1).
    x = np.array([-1.0, 0.0, 2.0, -1e-8], dtype=dtype)
    out, cache = F.activation_forward(x, "elu", parameter=1.0)
    np.testing.assert_allclose(out, [math.exp(-1) - 1, 0.0, 2.0, -1e-8], rtol=1e-6)
    dx = F.activation_backward(np.ones_like(x), cache)
    np.testing.assert_allclose(dx, [math.exp(-1), 1.0, 1.0, 1.0], rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("kind", ACTIVATIONS)
def test_activations_match_reference(kind, dtype, threads, rng):
    x = (rng.standard_normal((3, 4, 5, 6)) * 3).astype(dtype)
    forward, backward = ACTIVATIONS[kind]
    out, cache = F.activation_forward(_variant(x, "noncontiguous"), kind, parameter=0.1)
    np.testing.assert_allclose(out, forward(x), **TOL[dtype])
    dout = rng.standard_normal(x.shape).astype(dtype)
    np.testing.assert_allclose(F.activation_backward(dout, cache), backward(dout, x, out),
                               **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_softmax_and_cross_entropy_match_reference(dtype, threads, rng):
    logits = (rng.standard_normal((7, 5)) * 4).astype(dtype)
    labels = rng.integers(0, 5, size=7)
    out, cache = F.softmax_forward(logits)
    np.testing.assert_allclose(out, R.softmax_forward(logits), **TOL[dtype])
    dout = rng.standard_normal(out.shape).astype(dtype)
    np.testing.assert_allclose(F.softmax_backward(dout, cache), R.softmax_backward(dout, out),
                               **TOL[dtype])
    for smoothing in (0.0, 0.1, 0.5):
        loss, dlogits = F.softmax_cross_entropy(logits, labels, label_smoothing=smoothing)
        want_loss, want_d = R.softmax_cross_entropy(logits, labels, smoothing)
        assert loss == pytest.approx(want_loss, rel=1e-5)
        np.testing.assert_allclose(dlogits, want_d, **TOL[dtype])


def test_label_smoothing_worked_numbers():
    # Two classes, logits [0, 0]: p = [½, ½] whatever the target, so the loss is log 2 and
    # with ε = 0.2 the target is [0.9, 0.1]: dlogits = p − q = [−0.4, 0.4].
    loss, dlogits = F.softmax_cross_entropy(np.zeros((1, 2)), np.array([0]), label_smoothing=0.2)
    assert loss == pytest.approx(np.log(2))
    np.testing.assert_allclose(dlogits, [[-0.4, 0.4]])
    # Logits [1000, 0], label 1, ε = 0.1: −(0.95·(−1000) + 0.05·0) = 950, still finite.
    loss, _ = F.softmax_cross_entropy(np.array([[1000.0, 0.0]]), np.array([1]),
                                      label_smoothing=0.1)
    assert loss == pytest.approx(950.0)


@pytest.mark.parametrize("value", [-0.1, 1.0, float("nan"), "0.1", True])
def test_label_smoothing_must_be_in_the_unit_interval(value):
    with pytest.raises(ValueError, match=r"label_smoothing must be a number in \[0, 1\)"):
        F.softmax_cross_entropy(np.zeros((1, 2)), np.array([0]), label_smoothing=value)
    with pytest.raises(ValueError, match="SoftmaxCrossEntropy: label_smoothing"):
        cyconv.losses.SoftmaxCrossEntropy(label_smoothing=value)


def test_cross_entropy_is_stable_for_huge_logits():
    logits = np.array([[1000.0, 0.0], [1000.0, 0.0]])
    loss, dlogits = F.softmax_cross_entropy(logits, np.array([0, 1]))
    assert loss == pytest.approx(500.0)          # (0 + 1000) / 2
    assert np.all(np.isfinite(dlogits))
    np.testing.assert_allclose(dlogits, [[0, 0], [0.5, -0.5]], atol=1e-12)
    probabilities, _ = F.softmax_forward(np.array([[1000.0, 0.0]], dtype=np.float32))
    np.testing.assert_allclose(probabilities, [[1.0, 0.0]])


@pytest.mark.parametrize("loss", ["mse", "l1"])
def test_regression_losses_match_reference(loss, rng):
    pred, target = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    got = getattr(F, f"{loss}_loss")(pred, target)
    want = getattr(R, f"{loss}_loss")(pred, target)
    assert got[0] == pytest.approx(want[0])
    np.testing.assert_allclose(got[1], want[1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_lrn_matches_reference(size, dtype, threads, rng):
    x = rng.standard_normal((2, 7, 3, 4)).astype(dtype)
    out, cache = F.lrn_forward(x, size=size, alpha=0.1, beta=0.75, k=2.0)
    np.testing.assert_allclose(out, R.lrn_forward(x, size, 0.1, 0.75, 2.0), **TOL[dtype])
    dout = rng.standard_normal(x.shape).astype(dtype)
    np.testing.assert_allclose(F.lrn_backward(dout, cache),
                               R.lrn_backward(dout, x, size, 0.1, 0.75, 2.0), **TOL[dtype])


def test_dropout_is_inverted_and_seeded(rng):
    x = np.ones((1000, 50), dtype=np.float32)
    out1, mask1 = F.dropout_forward(x, 0.3, np.random.default_rng(7))
    out2, mask2 = F.dropout_forward(x, 0.3, np.random.default_rng(7))
    np.testing.assert_array_equal(mask1, mask2)
    assert abs(out1.mean() - 1.0) < 0.02                      # inverted: the mean is kept
    assert abs((mask1 == 0).mean() - 0.3) < 0.01
    assert set(np.unique(out1)) == {0.0, np.float32(1 / 0.7)}
    inference, none = F.dropout_forward(x, 0.3, rng, training=False)
    assert none is None and inference is x
    dout = rng.standard_normal(x.shape).astype(np.float32)
    np.testing.assert_array_equal(F.dropout_backward(dout, mask1), dout * mask1)


def test_two_threads_give_the_same_numbers_as_one(rng, monkeypatch):
    monkeypatch.setattr(_plans, "_WORK_PER_EXTRA_THREAD", 1)
    x = rng.standard_normal((9, 3, 12, 12)).astype(np.float32)
    w = rng.standard_normal((8, 3, 3, 3)).astype(np.float32)
    results = []
    for n in (1, 2):
        cyconv.set_num_threads(n)
        out, cache = F.conv2d_forward(x, w, None, padding=1)
        results.append((out, F.conv2d_backward(np.ones_like(out), cache)))
    cyconv.set_num_threads(2)
    # The split changes the GEMMs' shapes (chunks of 8 + 1 samples on one thread, 5 + 4 on
    # two), and BLAS may round another shape's sums differently: float32 rounding, no more.
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(results[0][1][1], results[1][1][1], rtol=1e-4, atol=1e-4)


def test_kernels_release_the_gil(rng):
    # A Python thread must keep running while a kernel works in another thread.
    import threading
    import time

    x = rng.standard_normal((64, 16, 32, 32)).astype(np.float32)
    w = rng.standard_normal((32, 16, 3, 3)).astype(np.float32)
    ticks = []
    done = threading.Event()

    def ticker():
        while not done.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    thread = threading.Thread(target=ticker)
    thread.start()
    start = time.perf_counter()
    while time.perf_counter() - start < 0.3:
        F.conv2d_forward(x, w, None, padding=1)
    done.set()
    thread.join()
    gaps = np.diff(ticks)
    assert len(ticks) > 20 and gaps.max() < 0.1


@pytest.mark.parametrize("forward_threads, backward_threads", [(1, 1), (2, 2), (2, 1), (1, 2)])
def test_columns_kept_for_backward_give_the_same_gradients(forward_threads, backward_threads,
                                                            rng, monkeypatch):
    monkeypatch.setattr(_plans, "_WORK_PER_EXTRA_THREAD", 1)
    # A training forward pass keeps its im2col columns in the layer's workspace; the backward
    # pass must give exactly what recomputing them gives, even if the thread count changed.
    x = rng.standard_normal((5, 3, 9, 8))
    w = rng.standard_normal((4, 3, 3, 2))
    b = rng.standard_normal(4)
    dout = None
    results = []
    for workspace in (None, {}):
        cyconv.set_num_threads(forward_threads)
        out, cache = F.conv2d_forward(x, w, b, stride=(1, 2), padding=1,
                                      padding_mode="reflect", workspace=workspace)
        assert (cache.columns is not None) == (workspace is not None)
        dout = rng.standard_normal(out.shape) if dout is None else dout
        cyconv.set_num_threads(backward_threads)
        results.append(F.conv2d_backward(dout, cache))
    cyconv.set_num_threads(2)
    for kept, recomputed in zip(results[1], results[0]):
        np.testing.assert_allclose(kept, recomputed, rtol=1e-12, atol=1e-12)


def test_columns_over_the_budget_are_recomputed(monkeypatch, rng):
    monkeypatch.setattr(_plans, "_KEPT_COLUMNS_BYTES", 16)
    x, w = rng.standard_normal((2, 1, 5, 5)), rng.standard_normal((1, 1, 2, 2))
    _, cache = F.conv2d_forward(x, w, workspace={})
    assert cache.columns is None


@pytest.mark.parametrize("budget", [1, 1 << 22], ids=["one-sample-chunks", "whole-batch-chunk"])
@pytest.mark.parametrize("kept", [False, True], ids=["recomputed", "kept-columns"])
@pytest.mark.parametrize("case", CONV_CASES.values(), ids=CONV_CASES.keys())
def test_conv2d_every_chunk_size_matches_reference(case, kept, budget, threads, rng,
                                                   monkeypatch):
    # The im2col budget decides how many samples share a GEMM; both extremes must agree.
    monkeypatch.setattr(_plans, "_CHUNK_ELEMENTS", budget)
    x_shape, (nf, kh, kw), stride, padding = case
    strides = stride if isinstance(stride, tuple) else (stride, stride)
    pads = normalize_padding(padding, (kh, kw), strides, x_shape[2:])
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal((nf, x_shape[1], kh, kw))
    b = rng.standard_normal(nf)
    out, cache = F.conv2d_forward(x, w, b, stride=stride, padding=padding,
                                  workspace={} if kept else None)
    assert cache.chunk == (1 if budget == 1 else -(-x_shape[0] // F._num_threads(
        out.size * x_shape[1] * kh * kw)))
    np.testing.assert_allclose(out, R.conv2d_forward(x, w, b, strides, pads), rtol=1e-10,
                               atol=1e-10)
    dout = rng.standard_normal(out.shape)
    got = F.conv2d_backward(dout, cache)
    want = R.conv2d_backward(dout, x, w, strides, pads, "zeros", True)
    for g, w_ in zip(got, want):
        np.testing.assert_allclose(g, w_, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("kept", [False, True], ids=["recomputed", "kept-columns"])
@pytest.mark.parametrize("mode", F.PADDING_MODES)
@pytest.mark.parametrize("case", CONV_CASES.values(), ids=CONV_CASES.keys())
def test_conv2d_backward_per_sample_gemms_match_reference(case, mode, kept, threads, rng,
                                                          monkeypatch):
    # Large feature maps take the backward path that runs GEMMs straight on dout; force it on
    # every small case too.
    monkeypatch.setattr(_plans, "DIRECT_DOUT_MIN_PIXELS", 1)
    x_shape, (nf, kh, kw), stride, padding = case
    strides = stride if isinstance(stride, tuple) else (stride, stride)
    pads = normalize_padding(padding, (kh, kw), strides, x_shape[2:])
    if mode == "reflect" and max(pads) >= min(x_shape[2:]):
        pytest.skip("reflect padding needs pads smaller than the input")
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal((nf, x_shape[1], kh, kw))
    b = rng.standard_normal(nf)
    out, cache = F.conv2d_forward(x, w, b, stride=stride, padding=padding, padding_mode=mode,
                                  workspace={} if kept else None)
    dout = rng.standard_normal(out.shape)
    got = F.conv2d_backward(dout, cache)
    want = R.conv2d_backward(dout, x, w, strides, pads, mode, True)
    for g, w_ in zip(got, want):
        np.testing.assert_allclose(g, w_, rtol=1e-10, atol=1e-10)
