"""Tests of cyconv.reference, the plain-NumPy oracle every Cython kernel is compared against.

Sections, as for every kernel module:
1. the seeds' worked numbers (SEED-FACTS.md), as exact assertions;
2. forward and gradients against torch.nn.functional in float64;
3. gradient checks by central differences in float64;
4. special values: ties in max/min pooling, softmax cross-entropy of [1000, 0], dropout masks.
"""
import numpy as np
import pytest

from cyconv import reference as ref

FORWARD_TOL = dict(rtol=1e-12, atol=1e-12)
GRAD_TOL = dict(rtol=1e-10, atol=1e-12)
NUMERIC_REL_TOL = 1e-6
PAD_MODES = ["zeros", "replicate", "reflect", "circular"]


@pytest.fixture
def rng():
    return np.random.default_rng(20240531)


# --------------------------------------------------------------------------- helpers
def numerical_gradient(objective, array, eps=1e-6):
    """Central differences of the scalar ``objective()`` with respect to ``array`` (changed in place)."""
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        original = array[index]
        array[index] = original + eps
        plus = objective()
        array[index] = original - eps
        minus = objective()
        array[index] = original
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def relative_error(analytic, numeric):
    """||a - n|| / (||a|| + ||n||): one number for the whole gradient, 0 when both are zero."""
    scale = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    return 0.0 if scale == 0 else np.linalg.norm(analytic - numeric) / scale


def assert_gradient_matches(analytic, objective, array, what):
    numeric = numerical_gradient(objective, array)
    error = relative_error(analytic, numeric)
    assert error < NUMERIC_REL_TOL, f"{what}: relative error {error:.3e}"


def image(*rows):
    """A single-channel image (1, 1, H, W) in float64 from its rows."""
    return np.array(rows, dtype=np.float64)[None, None]


# --------------------------------------------------------------------------- 1. seed numbers
INPUT_4X4 = image([5, 1, 7, 13], [15, 5, 1, 13], [10, 6, 4, 6], [15, 3, 12, 4])
FILTER_2X2 = image([11, 4], [5, 2])
FEATURE_MAP_4X4 = image([2, 3, 2, 0], [5, -2, 2, 8], [-1, -6, 7, 3], [-4, -5, 4, 2])


def test_seed002_conv_stride1():
    out = ref.conv2d_forward(INPUT_4X4, FILTER_2X2)
    np.testing.assert_array_equal(out[0, 0], [[144, 66, 160], [247, 97, 95], [215, 121, 136]])


def test_seed002_conv_stride2():
    out = ref.conv2d_forward(INPUT_4X4, FILTER_2X2, stride=(2, 2))
    # The slide prints 316 for the last value: a typo, 4*11 + 6*4 + 12*5 + 4*2 = 136.
    np.testing.assert_array_equal(out[0, 0], [[144, 160], [215, 136]])


def test_seed002_conv_zero_padding1():
    out = ref.conv2d_forward(INPUT_4X4, FILTER_2X2, pads=(1, 1, 1, 1))
    np.testing.assert_array_equal(out[0, 0], [[10, 27, 19, 61, 65],
                                              [50, 144, 66, 160, 208],
                                              [80, 247, 97, 95, 173],
                                              [70, 215, 121, 136, 86],
                                              [60, 177, 81, 148, 44]])


def test_seed002_max_pooling():
    out, _ = ref.pool2d_forward(INPUT_4X4, "max", (2, 2), (2, 2))
    np.testing.assert_array_equal(out[0, 0], [[15, 13], [15, 12]])


@pytest.mark.parametrize("kind, expected", [("max", [[5, 8], [-1, 7]]), ("avg", [[2, 3], [-4, 4]])],
                         ids=["max", "avg"])
def test_seed002_feature_map_pooling(kind, expected):
    out, _ = ref.pool2d_forward(FEATURE_MAP_4X4, kind, (2, 2), (2, 2))
    np.testing.assert_array_equal(out[0, 0], expected)


def test_seed003_binary_image_conv():
    binary = image([1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 0], [0, 1, 1, 0, 0])
    cross = image([1, 0, 1], [0, 1, 0], [1, 0, 1])
    out = ref.conv2d_forward(binary, cross)
    np.testing.assert_array_equal(out[0, 0], [[4, 3, 4], [2, 4, 3], [2, 3, 4]])


def test_seed003_inner_product_is_a_one_position_conv():
    out = ref.conv2d_forward(image([1, 3], [2, 4]), image([5, 7], [6, 8]))
    assert out.shape == (1, 1, 1, 1)
    assert out[0, 0, 0, 0] == 70


# --------------------------------------------------------------------------- small hand checks
@pytest.mark.parametrize("mode, expected", [
    ("zeros", [0, 0, 0, 1, 2, 3, 0]),
    ("replicate", [0, 0, 0, 1, 2, 3, 3]),
    ("reflect", [2, 1, 0, 1, 2, 3, 2]),
    ("circular", [2, 3, 0, 1, 2, 3, 0]),
], ids=PAD_MODES)
def test_pad_one_row_by_hand(mode, expected):
    row = image([0, 1, 2, 3])
    np.testing.assert_array_equal(ref.pad(row, (0, 0, 2, 1), mode)[0, 0, 0], expected)


@pytest.mark.parametrize("mode, expected", [
    ("zeros", [1, 1, 1, 1]),
    ("replicate", [3, 1, 1, 2]),
    ("reflect", [1, 2, 3, 1]),
    ("circular", [2, 1, 2, 2]),
], ids=PAD_MODES)
def test_pad_backward_accumulates_into_source_pixels(mode, expected):
    # Ones flow back through pad(left=2, right=1): each input pixel collects one per copy of itself
    # (the padded rows are those of test_pad_one_row_by_hand).
    dxp = np.ones((1, 1, 1, 7))
    np.testing.assert_array_equal(ref.pad_backward(dxp, (0, 0, 2, 1), mode)[0, 0, 0], expected)


def test_max_pool_arg_indexes_the_unpadded_input():
    # Pad 1 with a 2x2 window, stride 2: each window holds exactly one real pixel.
    x = image([1, 2], [3, 4])
    out, arg = ref.pool2d_forward(x, "max", (2, 2), (2, 2), pads=(1, 1, 1, 1))
    np.testing.assert_array_equal(out[0, 0], [[1, 2], [3, 4]])
    np.testing.assert_array_equal(arg[0, 0], [[0, 1], [2, 3]])
    assert arg.dtype == np.int64


def test_avg_pool_counts_padding_in_the_divisor():
    x = image([4, 8], [12, 16])
    out, arg = ref.pool2d_forward(x, "avg", (2, 2), (2, 2), pads=(1, 1, 1, 1))
    np.testing.assert_array_equal(out[0, 0], [[1, 2], [3, 4]])
    assert arg is None


def test_pool_floor_drops_the_last_row_and_column(rng):
    x = rng.standard_normal((1, 2, 5, 5))
    out, arg = ref.pool2d_forward(x, "max", (2, 2), (2, 2))
    assert out.shape == (1, 2, 2, 2)
    dx = ref.pool2d_backward(np.ones_like(out), x.shape, "max", (2, 2), (2, 2), (0, 0, 0, 0), arg)
    assert np.all(dx[:, :, 4, :] == 0) and np.all(dx[:, :, :, 4] == 0)
    assert dx.sum() == out.size


# --------------------------------------------------------------------------- 4. special values
@pytest.mark.parametrize("kind", ["max", "min"])
def test_pool_tie_sends_whole_gradient_to_first_element(kind):
    x = np.full((1, 1, 2, 2), 7.0)
    out, arg = ref.pool2d_forward(x, kind, (2, 2), (2, 2))
    dx = ref.pool2d_backward(np.full_like(out, 5.0), x.shape, kind, (2, 2), (2, 2), (0, 0, 0, 0), arg)
    np.testing.assert_array_equal(dx[0, 0], [[5, 0], [0, 0]])


@pytest.mark.parametrize("kind, window", [("max", [[1, 3], [3, 2]]), ("min", [[4, 1], [1, 2]])],
                         ids=["max", "min"])
def test_pool_partial_tie_picks_first_in_row_major_order(kind, window):
    x = image(*window)
    _, arg = ref.pool2d_forward(x, kind, (2, 2), (2, 2))
    assert arg[0, 0, 0, 0] == 1  # (row 0, col 1) comes before (row 1, col 0)


@pytest.mark.parametrize("kind", ["max", "min"])
def test_pool_tie_overlapping_windows_accumulate(kind):
    # A constant 3x3 image, 2x2 windows with stride 1: each window's first element is its top-left.
    x = np.zeros((1, 1, 3, 3))
    out, arg = ref.pool2d_forward(x, kind, (2, 2), (1, 1))
    dx = ref.pool2d_backward(np.ones_like(out), x.shape, kind, (2, 2), (1, 1), (0, 0, 0, 0), arg)
    np.testing.assert_array_equal(dx[0, 0], [[1, 1, 0], [1, 1, 0], [0, 0, 0]])


@pytest.mark.parametrize("label, expected_loss", [(0, 0.0), (1, 1000.0)], ids=["label0", "label1"])
def test_softmax_cross_entropy_large_logits_are_stable(label, expected_loss):
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        loss, dlogits = ref.softmax_cross_entropy(np.array([[1000.0, 0.0]]), np.array([label]))
    assert np.isfinite(loss)
    assert loss == pytest.approx(expected_loss, abs=1e-12)
    assert not np.any(np.isnan(dlogits))
    expected_grad = [[0.0, 0.0]] if label == 0 else [[1.0, -1.0]]
    np.testing.assert_allclose(dlogits, expected_grad, atol=1e-12)


def test_softmax_large_logits_are_stable():
    out = ref.softmax_forward(np.array([[1000.0, 0.0], [-1000.0, -1000.0]]))
    np.testing.assert_allclose(out, [[1.0, 0.0], [0.5, 0.5]], atol=1e-12)


def test_sigmoid_extreme_inputs_do_not_overflow():
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        out = ref.sigmoid_forward(np.array([-1000.0, 0.0, 1000.0]))
    np.testing.assert_allclose(out, [0.0, 0.5, 1.0], atol=1e-12)


def test_dropout_same_seed_gives_same_mask():
    x = np.ones((4, 3, 5, 5))
    _, mask_a = ref.dropout_forward(x, 0.3, np.random.default_rng(7))
    _, mask_b = ref.dropout_forward(x, 0.3, np.random.default_rng(7))
    _, mask_c = ref.dropout_forward(x, 0.3, np.random.default_rng(8))
    np.testing.assert_array_equal(mask_a, mask_b)
    assert not np.array_equal(mask_a, mask_c)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_mask_keeps_the_expected_value(rng, p):
    x = rng.standard_normal((10, 10, 10, 10))
    out, mask = ref.dropout_forward(x, p, rng)
    assert set(np.unique(mask)) <= {0.0, 1 / (1 - p)}
    assert mask.mean() == pytest.approx(1.0, abs=0.06)
    assert np.mean(mask == 0) == pytest.approx(p, abs=0.03)
    np.testing.assert_array_equal(out, x * mask)


def test_dropout_p0_is_identity(rng):
    x = rng.standard_normal((2, 3, 4, 4))
    out, mask = ref.dropout_forward(x, 0.0, rng)
    np.testing.assert_array_equal(out, x)
    np.testing.assert_array_equal(mask, np.ones_like(x))
    np.testing.assert_array_equal(ref.dropout_backward(x, mask), x)


def test_dropout_p1_drops_everything(rng):
    out, mask = ref.dropout_forward(np.ones((3, 4)), 1.0, rng)
    assert not np.any(out) and not np.any(mask)


def test_float32_stays_float32(rng):
    x = rng.standard_normal((2, 3, 5, 5)).astype(np.float32)
    w = rng.standard_normal((2, 3, 3, 2)).astype(np.float32)
    b = rng.standard_normal(2).astype(np.float32)
    out = ref.conv2d_forward(x, w, b, stride=(1, 2), pads=(1, 0, 1, 1), padding_mode="reflect")
    results = [out, *ref.conv2d_backward(out, x, w, (1, 2), (1, 0, 1, 1), "reflect")]
    pooled, arg = ref.pool2d_forward(x, "max", (2, 2), (2, 2), (1, 1, 1, 1))
    results += [pooled, ref.pool2d_backward(pooled, x.shape, "max", (2, 2), (2, 2), (1, 1, 1, 1), arg)]
    flat = x.reshape(2, -1)
    dense_w = rng.standard_normal((4, flat.shape[1])).astype(np.float32)
    dense_out = ref.dense_forward(flat, dense_w, np.zeros(4, np.float32))
    results += [dense_out, *ref.dense_backward(dense_out, flat, dense_w)]
    results += [ref.relu_forward(x), ref.leaky_relu_backward(x, x), ref.sigmoid_forward(x),
                ref.tanh_forward(x), ref.softmax_forward(flat), ref.lrn_forward(x),
                ref.lrn_backward(x, x), ref.softmax_cross_entropy(dense_out, np.array([0, 3]))[1],
                ref.mse_loss(x, 0 * x)[1], ref.l1_loss(x, 0 * x)[1], ref.dropout_forward(x, 0.5, rng)[1]]
    assert [r.dtype for r in results] == [np.float32] * len(results)


# --------------------------------------------------------------------------- 3. numerical gradients
CONV_GRAD_CASES = [
    # (N, C, H, W, F, KH, KW, stride, pads, mode)
    pytest.param(2, 2, 5, 4, 3, 3, 2, (1, 2), (1, 2, 0, 1), "zeros", id="k3x2-s1x2-pads1201-zeros"),
    pytest.param(1, 3, 4, 5, 2, 2, 3, (2, 1), (1, 1, 1, 1), "replicate", id="k2x3-s2x1-pad1-replicate"),
    pytest.param(1, 1, 5, 5, 2, 3, 3, (1, 1), (2, 1, 1, 2), "reflect", id="k3x3-pads2112-reflect"),
    pytest.param(2, 1, 4, 3, 1, 2, 2, (2, 2), (1, 0, 2, 1), "circular", id="k2x2-s2-pads1021-circular"),
]


@pytest.mark.parametrize("n, c, h, w, f, kh, kw, stride, pads, mode", CONV_GRAD_CASES)
def test_conv2d_backward_numerically(rng, n, c, h, w, f, kh, kw, stride, pads, mode):
    x = rng.standard_normal((n, c, h, w))
    weight = rng.standard_normal((f, c, kh, kw))
    bias = rng.standard_normal(f)
    out = ref.conv2d_forward(x, weight, bias, stride, pads, mode)
    upstream = rng.standard_normal(out.shape)
    dx, dw, db = ref.conv2d_backward(upstream, x, weight, stride, pads, mode)

    def objective():
        return np.sum(ref.conv2d_forward(x, weight, bias, stride, pads, mode) * upstream)

    assert_gradient_matches(dx, objective, x, "dx")
    assert_gradient_matches(dw, objective, weight, "dw")
    assert_gradient_matches(db, objective, bias, "db")


def test_conv2d_backward_without_bias_returns_none(rng):
    x = rng.standard_normal((1, 2, 4, 4))
    weight = rng.standard_normal((3, 2, 2, 2))
    out = ref.conv2d_forward(x, weight)
    _, _, db = ref.conv2d_backward(out, x, weight, has_bias=False)
    assert db is None


@pytest.mark.parametrize("mode", PAD_MODES)
def test_pad_backward_numerically(rng, mode):
    x = rng.standard_normal((1, 2, 3, 4))
    pads = (2, 1, 0, 3)
    upstream = rng.standard_normal(ref.pad(x, pads, mode).shape)
    analytic = ref.pad_backward(upstream, pads, mode)
    assert_gradient_matches(analytic, lambda: np.sum(ref.pad(x, pads, mode) * upstream), x, "dx")


POOL_GRAD_CASES = [
    pytest.param((2, 2), (2, 2), (0, 0, 0, 0), id="k2-s2"),
    pytest.param((3, 3), (2, 2), (1, 1, 1, 1), id="k3-s2-pad1-overlapping"),
    pytest.param((3, 2), (1, 2), (1, 0, 0, 1), id="k3x2-s1x2-pads1001"),
]


@pytest.mark.parametrize("kind", ["max", "avg", "min"])
@pytest.mark.parametrize("kernel_size, stride, pads", POOL_GRAD_CASES)
def test_pool2d_backward_numerically(rng, kind, kernel_size, stride, pads):
    x = rng.standard_normal((2, 2, 5, 5))
    out, arg = ref.pool2d_forward(x, kind, kernel_size, stride, pads)
    upstream = rng.standard_normal(out.shape)
    analytic = ref.pool2d_backward(upstream, x.shape, kind, kernel_size, stride, pads, arg)

    def objective():
        return np.sum(ref.pool2d_forward(x, kind, kernel_size, stride, pads)[0] * upstream)

    assert_gradient_matches(analytic, objective, x, "dx")


@pytest.mark.parametrize("has_bias", [True, False], ids=["bias", "no-bias"])
def test_dense_backward_numerically(rng, has_bias):
    x = rng.standard_normal((3, 5))
    weight = rng.standard_normal((4, 5))
    bias = rng.standard_normal(4) if has_bias else None
    upstream = rng.standard_normal((3, 4))
    dx, dw, db = ref.dense_backward(upstream, x, weight, has_bias)

    def objective():
        return np.sum(ref.dense_forward(x, weight, bias) * upstream)

    assert_gradient_matches(dx, objective, x, "dx")
    assert_gradient_matches(dw, objective, weight, "dw")
    if has_bias:
        assert_gradient_matches(db, objective, bias, "db")
    else:
        assert db is None


def _away_from_zero(rng, shape):
    """Random values with |x| >= 0.1, so a kink at 0 is never inside the finite difference."""
    x = rng.standard_normal(shape)
    return x + np.sign(x) * 0.1


ACTIVATIONS = {
    # name: (forward(x), backward(dout, x, out))
    "relu": (ref.relu_forward, lambda dout, x, out: ref.relu_backward(dout, x)),
    "leaky_relu": (lambda x: ref.leaky_relu_forward(x, 0.2),
                   lambda dout, x, out: ref.leaky_relu_backward(dout, x, 0.2)),
    "elu": (lambda x: ref.elu_forward(x, 0.7),
            lambda dout, x, out: ref.elu_backward(dout, x, 0.7)),
    "sigmoid": (ref.sigmoid_forward, lambda dout, x, out: ref.sigmoid_backward(dout, out)),
    "tanh": (ref.tanh_forward, lambda dout, x, out: ref.tanh_backward(dout, out)),
    "softmax": (ref.softmax_forward, lambda dout, x, out: ref.softmax_backward(dout, out)),
}


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_backward_numerically(rng, name):
    forward, backward = ACTIVATIONS[name]
    x = _away_from_zero(rng, (3, 6))
    out = forward(x)
    upstream = rng.standard_normal(out.shape)
    analytic = backward(upstream, x, out)
    assert_gradient_matches(analytic, lambda: np.sum(forward(x) * upstream), x, "dx")


TARGET = np.linspace(-1, 1, 15).reshape(3, 5)
LOSSES = {
    "softmax_cross_entropy": lambda pred: ref.softmax_cross_entropy(pred, np.array([2, 0, 4])),
    "mse": lambda pred: ref.mse_loss(pred, TARGET),
    "l1": lambda pred: ref.l1_loss(pred, TARGET),
}


@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_gradient_numerically(rng, name):
    loss_fn = LOSSES[name]
    pred = TARGET + _away_from_zero(rng, TARGET.shape)  # keeps |pred - target| away from L1's kink
    _, analytic = loss_fn(pred)
    assert_gradient_matches(analytic, lambda: loss_fn(pred)[0], pred, "dpred")


@pytest.mark.parametrize("size", [1, 3, 4, 5, 9])
def test_lrn_backward_numerically(rng, size):
    x = rng.standard_normal((2, 6, 2, 3))
    params = dict(size=size, alpha=0.5, beta=0.75, k=2.0)  # a large alpha makes the cross terms matter
    upstream = rng.standard_normal(x.shape)
    analytic = ref.lrn_backward(upstream, x, **params)
    assert_gradient_matches(analytic, lambda: np.sum(ref.lrn_forward(x, **params) * upstream), x, "dx")


def test_dropout_backward_numerically(rng):
    x = rng.standard_normal((3, 4))
    upstream = rng.standard_normal(x.shape)
    _, mask = ref.dropout_forward(x, 0.5, np.random.default_rng(3))
    analytic = ref.dropout_backward(upstream, mask)

    def objective():
        return np.sum(ref.dropout_forward(x, 0.5, np.random.default_rng(3))[0] * upstream)

    assert_gradient_matches(analytic, objective, x, "dx")


# --------------------------------------------------------------------------- 2. against PyTorch
def _torch():
    return pytest.importorskip("torch")


def _leaf(torch, array):
    return torch.tensor(array, dtype=torch.float64, requires_grad=True)


def _torch_pad_args(pads, mode):
    """cyconv (top, bottom, left, right) + mode -> torch F.pad (left, right, top, bottom) + mode."""
    top, bottom, left, right = pads
    return (left, right, top, bottom), ("constant" if mode == "zeros" else mode)


def _grad(tensor):
    return tensor.grad.numpy()


@pytest.mark.torch
@pytest.mark.parametrize("mode", PAD_MODES)
@pytest.mark.parametrize("pads", [(1, 1, 1, 1), (1, 2, 0, 1), (0, 3, 2, 0)], ids=str)
def test_pad_matches_torch(rng, mode, pads):
    torch = _torch()
    F = torch.nn.functional
    x = rng.standard_normal((2, 2, 4, 5))
    xt = _leaf(torch, x)
    torch_pads, torch_mode = _torch_pad_args(pads, mode)
    expected = F.pad(xt, torch_pads, mode=torch_mode)
    upstream = rng.standard_normal(tuple(expected.shape))
    (expected * torch.from_numpy(upstream)).sum().backward()
    np.testing.assert_allclose(ref.pad(x, pads, mode), expected.detach().numpy(), **FORWARD_TOL)
    np.testing.assert_allclose(ref.pad_backward(upstream, pads, mode), _grad(xt), **GRAD_TOL)


CONV_TORCH_CASES = [
    # (N, C, H, W, F, KH, KW, stride, pads)
    pytest.param(2, 3, 7, 6, 4, 3, 2, (1, 1), (0, 0, 0, 0), id="k3x2"),
    pytest.param(2, 3, 6, 7, 4, 2, 3, (1, 1), (0, 0, 0, 0), id="k2x3"),
    pytest.param(1, 2, 7, 7, 3, 3, 2, (1, 2), (1, 1, 1, 1), id="k3x2-s1x2-pad1"),
    pytest.param(2, 2, 7, 5, 3, 2, 3, (2, 1), (1, 1, 1, 1), id="k2x3-s2x1-pad1"),
    pytest.param(1, 1, 5, 5, 1, 3, 3, (1, 1), (1, 2, 0, 1), id="N1-C1-F1-pads1201"),
    pytest.param(2, 1, 5, 7, 2, 2, 3, (2, 2), (2, 1, 1, 2), id="C1-s2-pads2112"),
    pytest.param(1, 3, 9, 7, 2, 5, 3, (3, 2), (2, 2, 1, 1), id="odd-k5x3-s3x2-pad2x1"),
]


@pytest.mark.torch
@pytest.mark.parametrize("mode", PAD_MODES)
@pytest.mark.parametrize("n, c, h, w, f, kh, kw, stride, pads", CONV_TORCH_CASES)
def test_conv2d_matches_torch(rng, mode, n, c, h, w, f, kh, kw, stride, pads):
    torch = _torch()
    F = torch.nn.functional
    x = rng.standard_normal((n, c, h, w))
    weight = rng.standard_normal((f, c, kh, kw))
    bias = rng.standard_normal(f)
    xt, wt, bt = _leaf(torch, x), _leaf(torch, weight), _leaf(torch, bias)
    torch_pads, torch_mode = _torch_pad_args(pads, mode)
    expected = F.conv2d(F.pad(xt, torch_pads, mode=torch_mode), wt, bt, stride=stride)
    upstream = rng.standard_normal(tuple(expected.shape))
    (expected * torch.from_numpy(upstream)).sum().backward()

    out = ref.conv2d_forward(x, weight, bias, stride, pads, mode)
    dx, dw, db = ref.conv2d_backward(upstream, x, weight, stride, pads, mode)
    np.testing.assert_allclose(out, expected.detach().numpy(), **FORWARD_TOL)
    np.testing.assert_allclose(dx, _grad(xt), **GRAD_TOL)
    np.testing.assert_allclose(dw, _grad(wt), **GRAD_TOL)
    np.testing.assert_allclose(db, _grad(bt), **GRAD_TOL)


def _torch_pool(torch, xt, kind, kernel_size, stride, padding):
    """torch's pooling with symmetric padding; min pooling is -maxpool(-x). Returns (out, indices)."""
    F = torch.nn.functional
    if kind == "avg":
        return F.avg_pool2d(xt, kernel_size, stride, padding, count_include_pad=True), None
    sign = 1.0 if kind == "max" else -1.0
    out, indices = F.max_pool2d(sign * xt, kernel_size, stride, padding, return_indices=True)
    return sign * out, indices


POOL_TORCH_CASES = [
    pytest.param((2, 2), (2, 2), (0, 0), id="k2-s2"),
    pytest.param((3, 3), (2, 2), (0, 0), id="k3-s2-overlapping"),
    pytest.param((3, 3), (2, 2), (1, 1), id="k3-s2-pad1-overlapping"),
    pytest.param((3, 2), (1, 2), (1, 0), id="k3x2-s1x2-pad1x0"),
    pytest.param((2, 3), (2, 1), (0, 1), id="k2x3-s2x1-pad0x1"),
    pytest.param((3, 3), (3, 3), (1, 1), id="k3-s3-pad1-odd"),
]


@pytest.mark.torch
@pytest.mark.parametrize("kind", ["max", "avg", "min"])
@pytest.mark.parametrize("kernel_size, stride, padding", POOL_TORCH_CASES)
def test_pool2d_matches_torch(rng, kind, kernel_size, stride, padding):
    torch = _torch()
    x = rng.standard_normal((2, 3, 7, 6))
    xt = _leaf(torch, x)
    expected, indices = _torch_pool(torch, xt, kind, kernel_size, stride, padding)
    upstream = rng.standard_normal(tuple(expected.shape))
    (expected * torch.from_numpy(upstream)).sum().backward()

    pads = (padding[0], padding[0], padding[1], padding[1])
    out, arg = ref.pool2d_forward(x, kind, kernel_size, stride, pads)
    dx = ref.pool2d_backward(upstream, x.shape, kind, kernel_size, stride, pads, arg)
    np.testing.assert_allclose(out, expected.detach().numpy(), **FORWARD_TOL)
    np.testing.assert_allclose(dx, _grad(xt), **GRAD_TOL)
    if indices is not None:  # both index the unpadded input as row * W + col
        np.testing.assert_array_equal(arg, indices.numpy())


@pytest.mark.torch
@pytest.mark.parametrize("kind", ["max", "avg", "min"])
def test_pool2d_asymmetric_pads_match_torch_after_explicit_pad(rng, kind):
    # torch's pooling pads symmetrically only; pad by hand with the value the kind ignores.
    torch = _torch()
    F = torch.nn.functional
    pads = (1, 2, 0, 1)
    x = rng.standard_normal((2, 2, 5, 6))
    xt = _leaf(torch, x)
    fill = {"max": -np.inf, "min": np.inf, "avg": 0.0}[kind]
    torch_pads, _ = _torch_pad_args(pads, "zeros")
    expected, _ = _torch_pool(torch, F.pad(xt, torch_pads, value=fill), kind, (3, 2), (2, 1), (0, 0))
    upstream = rng.standard_normal(tuple(expected.shape))
    (expected * torch.from_numpy(upstream)).sum().backward()

    out, arg = ref.pool2d_forward(x, kind, (3, 2), (2, 1), pads)
    dx = ref.pool2d_backward(upstream, x.shape, kind, (3, 2), (2, 1), pads, arg)
    np.testing.assert_allclose(out, expected.detach().numpy(), **FORWARD_TOL)
    np.testing.assert_allclose(dx, _grad(xt), **GRAD_TOL)


@pytest.mark.torch
@pytest.mark.parametrize("has_bias", [True, False], ids=["bias", "no-bias"])
def test_dense_matches_torch(rng, has_bias):
    torch = _torch()
    x = rng.standard_normal((4, 7))
    weight = rng.standard_normal((3, 7))
    bias = rng.standard_normal(3) if has_bias else None
    xt, wt = _leaf(torch, x), _leaf(torch, weight)
    bt = _leaf(torch, bias) if has_bias else None
    expected = torch.nn.functional.linear(xt, wt, bt)
    upstream = rng.standard_normal((4, 3))
    (expected * torch.from_numpy(upstream)).sum().backward()

    dx, dw, db = ref.dense_backward(upstream, x, weight, has_bias)
    np.testing.assert_allclose(ref.dense_forward(x, weight, bias), expected.detach().numpy(), **FORWARD_TOL)
    np.testing.assert_allclose(dx, _grad(xt), **GRAD_TOL)
    np.testing.assert_allclose(dw, _grad(wt), **GRAD_TOL)
    if has_bias:
        np.testing.assert_allclose(db, _grad(bt), **GRAD_TOL)


@pytest.mark.torch
@pytest.mark.parametrize("size", [3, 5, 4, 9], ids=lambda s: f"size{s}")
def test_lrn_matches_torch(rng, size):
    torch = _torch()
    params = dict(alpha=0.3, beta=0.75, k=2.0)  # a large alpha so the normalisation is visible
    x = rng.standard_normal((2, 7, 3, 4))
    xt = _leaf(torch, x)
    expected = torch.nn.functional.local_response_norm(xt, size, **params)
    upstream = rng.standard_normal(x.shape)
    (expected * torch.from_numpy(upstream)).sum().backward()

    np.testing.assert_allclose(ref.lrn_forward(x, size, **params), expected.detach().numpy(), **FORWARD_TOL)
    np.testing.assert_allclose(ref.lrn_backward(upstream, x, size, **params), _grad(xt), **GRAD_TOL)


@pytest.mark.torch
def test_lrn_default_parameters_match_torch(rng):
    torch = _torch()
    x = 10 * rng.standard_normal((1, 7, 2, 2))
    expected = torch.nn.functional.local_response_norm(torch.from_numpy(x), 5, alpha=1e-4, beta=0.75, k=2.0)
    np.testing.assert_allclose(ref.lrn_forward(x), expected.numpy(), **FORWARD_TOL)


@pytest.mark.torch
@pytest.mark.parametrize("logits_scale", [1.0, 50.0], ids=["moderate", "large"])
def test_softmax_cross_entropy_matches_torch(rng, logits_scale):
    torch = _torch()
    logits = logits_scale * rng.standard_normal((5, 4))
    labels = np.array([0, 3, 1, 3, 2])
    lt = _leaf(torch, logits)
    expected = torch.nn.functional.cross_entropy(lt, torch.from_numpy(labels))
    expected.backward()

    loss, dlogits = ref.softmax_cross_entropy(logits, labels)
    assert loss == pytest.approx(expected.item(), rel=1e-12)
    np.testing.assert_allclose(dlogits, _grad(lt), **GRAD_TOL)


@pytest.mark.torch
@pytest.mark.parametrize("name", ["mse", "l1"])
def test_regression_losses_match_torch(rng, name):
    torch = _torch()
    F = torch.nn.functional
    pred = rng.standard_normal((3, 2, 2))
    target = rng.standard_normal((3, 2, 2))
    target[0, 0, 0] = pred[0, 0, 0]  # an exact zero difference: L1's gradient there is sign(0) = 0
    pt = _leaf(torch, pred)
    torch_fn, ref_fn = {"mse": (F.mse_loss, ref.mse_loss), "l1": (F.l1_loss, ref.l1_loss)}[name]
    expected = torch_fn(pt, torch.from_numpy(target))
    expected.backward()

    loss, dpred = ref_fn(pred, target)
    assert loss == pytest.approx(expected.item(), rel=1e-12)
    np.testing.assert_allclose(dpred, _grad(pt), **GRAD_TOL)


def _torch_activation(torch, name, xt):
    F = torch.nn.functional
    return {
        "relu": lambda: F.relu(xt),
        "leaky_relu": lambda: F.leaky_relu(xt, 0.2),
        "elu": lambda: F.elu(xt, 0.7),
        "sigmoid": lambda: torch.sigmoid(xt),
        "tanh": lambda: torch.tanh(xt),
        "softmax": lambda: F.softmax(xt, dim=1),
    }[name]()


@pytest.mark.torch
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_matches_torch(rng, name):
    torch = _torch()
    forward, backward = ACTIVATIONS[name]
    x = 3 * rng.standard_normal((4, 6))
    x[0, :2] = 0.0  # the kink of ReLU and leaky ReLU: both take the x <= 0 branch, like torch
    xt = _leaf(torch, x)
    expected = _torch_activation(torch, name, xt)
    upstream = rng.standard_normal(x.shape)
    (expected * torch.from_numpy(upstream)).sum().backward()

    out = forward(x)
    np.testing.assert_allclose(out, expected.detach().numpy(), **FORWARD_TOL)
    np.testing.assert_allclose(backward(upstream, x, out), _grad(xt), **GRAD_TOL)
