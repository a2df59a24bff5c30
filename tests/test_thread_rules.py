"""When dense and memory-bound kernels split over threads, and that every split of the dense
kernels gives the reference; Flatten's cheap backward check."""
import numpy as np
import pytest

import cyconv
from cyconv import _plans
from cyconv import functional as F
from cyconv import reference as R


def test_small_dense_layers_stay_on_one_thread(monkeypatch):
    monkeypatch.setattr(cyconv._threads, "_num_threads", 2)
    per_thread = _plans._WORK_PER_EXTRA_THREAD * _plans._GEMM_WORK_FACTOR
    assert _plans.dense_threads(64 * 320 * 100) == 1          # mnist_cnn's dense1, batch 64
    assert _plans.dense_threads(2 * 64 * 120 * 84) == 1       # LeNet-5's dense2 backward
    assert _plans.dense_threads(per_thread - 1) == 1
    assert _plans.dense_threads(2 * per_thread) == 2
    assert _plans.dense_threads(64 * 4096 * 128) == 2         # the CIFAR net's dense1


def test_convolutions_split_only_where_a_second_thread_pays(monkeypatch):
    monkeypatch.setattr(cyconv._threads, "_num_threads", 2)
    conv1, conv2 = 10 * 24 * 24 * 25, 20 * 8 * 8 * 250      # mnist_cnn, per sample
    assert _plans.conv_threads(8 * conv1) == 1 and _plans.conv_threads(8 * conv2) == 1
    assert _plans.conv_threads(64 * conv1) == 2 and _plans.conv_threads(64 * conv2) == 2
    monkeypatch.setattr(cyconv._threads, "_num_threads", 1)
    assert _plans.conv_threads(10 ** 9) == 1


def test_convolution_backward_blocks():
    assert _plans.conv_blocks(32, 1, 5000) == 1                # one thread: one block, as before
    assert _plans.conv_blocks(32, 2, 5000) == 8                # mnist_cnn's conv2: four per thread
    assert _plans.conv_blocks(3, 2, 5000) == 3                 # never more blocks than chunks
    assert _plans.conv_blocks(32, 2, 576 * 512) == 3           # a wide layer: the budget decides
    assert _plans.conv_blocks(32, 2, 10 ** 7) == 2             # ... but never fewer than threads


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("N", [1, 5, 37])
def test_convolution_blocks_match_the_reference_and_repeat_bit_for_bit(N, dtype, threads, monkeypatch, rng):
    # Every chunk is one sample and every convolution splits, so on 2 threads 37 samples make
    # 8 blocks of 5 chunks but the last (2), handed out dynamically.
    monkeypatch.setattr(_plans, "_CHUNK_ELEMENTS", 1)
    x = rng.standard_normal((N, 2, 7, 6)).astype(dtype)
    w = rng.standard_normal((3, 2, 3, 2)).astype(dtype)
    b = rng.standard_normal(3).astype(dtype)
    runs = []
    for _ in range(5):
        out, cache = F.conv2d_forward(x, w, b, stride=(2, 1), padding=1)
        dout = np.linspace(-1, 1, out.size, dtype=dtype).reshape(out.shape)
        runs.append((out, *F.conv2d_backward(dout, cache)))
    pads = (1, 1, 1, 1)
    reference = (R.conv2d_forward(x, w, b, stride=(2, 1), pads=pads),
                 *R.conv2d_backward(dout, x, w, stride=(2, 1), pads=pads))
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    for got, want in zip(runs[0], reference):
        np.testing.assert_allclose(got, want, **tol)
    for later in runs[1:]:
        for got, first in zip(later, runs[0]):
            np.testing.assert_array_equal(got, first)


def test_memory_bound_kernels_split_only_large_arrays(monkeypatch):
    monkeypatch.setattr(cyconv._threads, "_num_threads", 2)
    assert _plans.streaming_threads(64 * 10 * 24 * 24) == 1   # mnist_cnn's relu1 / pool1
    assert _plans.streaming_threads(64 * 32 * 32 * 32) == 2   # the CIFAR net's relu1
    monkeypatch.setattr(cyconv._threads, "_num_threads", 1)
    assert _plans.streaming_threads(10 ** 9) == 1


@pytest.mark.parametrize("need_dx", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("shape", [(2, 9, 1), (1, 6, 5), (7, 3, 2), (2, 5, 9), (33, 17, 3)],
                         ids=["one-feature", "one-row", "rows>features", "features>rows", "odd"])
def test_one_region_backward_matches_reference_in_every_split(shape, dtype, need_dx, threads,
                                                              rng):
    n, fan_in, fan_out = shape
    x = rng.standard_normal((n, fan_in)).astype(dtype)
    w = rng.standard_normal((fan_out, fan_in)).astype(dtype)
    b = rng.standard_normal(fan_out).astype(dtype)
    y, cache = F.dense_forward(x, w, b)
    dout = rng.standard_normal(y.shape).astype(dtype)
    dx, dw, db = F.dense_backward(dout, cache, need_dx=need_dx)
    rdx, rdw, rdb = R.dense_backward(dout, x, w, True)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dw, rdw, **tol)
    np.testing.assert_allclose(db, rdb, **tol)
    if need_dx:
        np.testing.assert_allclose(dx, rdx, **tol)
    else:
        assert dx is None


def test_flatten_backward_checks_dout_against_its_forward():
    from cyconv.layers import Flatten
    flatten = Flatten()
    out = flatten.forward(np.zeros((2, 3, 4, 5)))
    assert flatten.backward(np.ones_like(out)).shape == (2, 3, 4, 5)
    with pytest.raises(ValueError, match=r"dout \(2, 59\) must be \(2, 60\)"):
        flatten.backward(np.ones((2, 59)))
