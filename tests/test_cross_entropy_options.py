"""SoftmaxCrossEntropy(weight, ignore_index, reduction, label_smoothing), as PyTorch's."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cyconv import functional as F
from cyconv import gradcheck, losses, reference

DTYPES = pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
TOLERANCE = {np.float32: 2e-5, np.float64: 1e-10}
OPTIONS = {
    "plain": {},
    "weighted": {"weight": [0.5, 2.0, 1.0, 3.0]},
    "ignored": {"ignore_index": 1},
    "weighted-ignored-smoothed": {"weight": [0.5, 2.0, 1.0, 3.0], "ignore_index": 3,
                                  "label_smoothing": 0.2},
    "sum": {"reduction": "sum", "weight": [1.0, 0.0, 2.0, 1.0]},
    "none-smoothed": {"reduction": "none", "label_smoothing": 0.1},
    "ignore-default": {"ignore_index": -100},
}
LABELS = np.array([0, 1, 3, 2, 1, 3])


def test_weighted_mean_by_hand():
    # Two rows with uniform logits over 2 classes: each row costs w_y·log 2; the weighted
    # mean divides by w_0 + w_1, so it is log 2 whatever the weights.
    loss, dlogits = F.softmax_cross_entropy(np.zeros((2, 2)), np.array([0, 1]), weight=[1.0, 3.0])
    assert loss == pytest.approx(math.log(2))
    np.testing.assert_allclose(dlogits, [[-0.125, 0.125], [0.375, -0.375]])
    total, _ = F.softmax_cross_entropy(np.zeros((2, 2)), np.array([0, 1]), weight=[1.0, 3.0],
                                       reduction="sum")
    assert total == pytest.approx(4 * math.log(2))


def test_an_ignored_row_costs_nothing_and_gets_no_gradient():
    logits = np.array([[2.0, -1.0], [0.5, 0.5]])
    loss, dlogits = F.softmax_cross_entropy(logits, np.array([-100, 0]))
    assert loss == pytest.approx(math.log(2))          # the mean over the one counted row
    np.testing.assert_array_equal(dlogits[0], [0.0, 0.0])
    np.testing.assert_allclose(dlogits[1], [-0.5, 0.5])


def test_every_row_ignored_gives_zero_loss_and_gradient():
    loss, dlogits = F.softmax_cross_entropy(np.ones((2, 3)), np.array([5, 5]), ignore_index=5)
    assert loss == 0.0 and not dlogits.any()


@DTYPES
@pytest.mark.parametrize("options", OPTIONS.values(), ids=OPTIONS.keys())
def test_kernel_matches_reference(options, dtype, threads, rng):
    logits = (3 * rng.standard_normal((6, 4))).astype(dtype)
    loss, dlogits = F.softmax_cross_entropy(logits, LABELS, **options)
    want_loss, want_d = reference.softmax_cross_entropy(logits, LABELS, **options)
    tol = TOLERANCE[dtype]
    np.testing.assert_allclose(loss, want_loss, rtol=tol, atol=tol)
    np.testing.assert_allclose(dlogits, want_d, rtol=tol, atol=tol)
    assert dlogits.dtype == dtype


@DTYPES
@pytest.mark.parametrize("options", OPTIONS.values(), ids=OPTIONS.keys())
def test_torch_parity(options, dtype, rng):
    torch = pytest.importorskip("torch")
    logits = (3 * rng.standard_normal((6, 4))).astype(dtype)
    loss_fn = losses.SoftmaxCrossEntropy(**options)
    loss = loss_fn.forward(logits, LABELS)
    torch_options = dict(options)
    if "weight" in options:
        torch_options["weight"] = torch.tensor(options["weight"], dtype=logits_dtype(torch, dtype))
    zt = torch.tensor(logits, requires_grad=True)
    expected = torch.nn.functional.cross_entropy(zt, torch.tensor(LABELS), **torch_options)
    tol = TOLERANCE[dtype]
    np.testing.assert_allclose(loss, expected.detach().numpy(), rtol=tol, atol=tol)
    expected.sum().backward()
    np.testing.assert_allclose(loss_fn.backward(), zt.grad.numpy(), rtol=tol, atol=tol)


def logits_dtype(torch, dtype):
    return torch.float32 if dtype == np.float32 else torch.float64


@pytest.mark.parametrize("options", OPTIONS.values(), ids=OPTIONS.keys())
def test_gradcheck_of_the_reduced_loss(options, rng):
    logits = rng.standard_normal((6, 4))
    loss_fn = losses.SoftmaxCrossEntropy(**options)

    def scalar():
        return float(np.sum(loss_fn.forward(logits, LABELS)))

    scalar()
    analytic = loss_fn.backward()
    numerical = gradcheck.numerical_gradient(scalar, logits)
    assert gradcheck.relative_error(analytic, numerical) < 1e-7


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 6), k=st.integers(2, 5), seed=st.integers(0, 2**16),
       dtype=st.sampled_from([np.float32, np.float64]),
       reduction=st.sampled_from(["mean", "sum", "none"]),
       smoothing=st.sampled_from([0.0, 0.15]), weighted=st.booleans(), ignore=st.booleans())
def test_fuzz_against_reference_and_torch(n, k, seed, dtype, reduction, smoothing, weighted,
                                          ignore):
    rng = np.random.default_rng(seed)
    logits = (4 * rng.standard_normal((n, k))).astype(dtype)
    labels = rng.integers(0, k, n)
    options = {"reduction": reduction, "label_smoothing": smoothing,
               "ignore_index": 0 if ignore else -100}
    if weighted:
        options["weight"] = rng.uniform(0.1, 3.0, k)
    loss, dlogits = F.softmax_cross_entropy(logits, labels, **options)
    want_loss, want_d = reference.softmax_cross_entropy(logits, labels, **options)
    tol = TOLERANCE[dtype] * 10
    np.testing.assert_allclose(loss, want_loss, rtol=tol, atol=tol)
    np.testing.assert_allclose(dlogits, want_d, rtol=tol, atol=tol)
    try:
        import torch
    except ImportError:
        return
    if reduction == "mean" and ignore and not (labels != 0).any():
        return                    # PyTorch's mean over no row is NaN; cyconv's is 0
    torch_options = dict(options)
    if weighted:
        torch_options["weight"] = torch.tensor(options["weight"].astype(dtype))
    expected = torch.nn.functional.cross_entropy(torch.tensor(logits), torch.tensor(labels),
                                                 **torch_options)
    np.testing.assert_allclose(loss, expected.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("options, error, pattern", [
    ({"reduction": "avg"}, ValueError, "SoftmaxCrossEntropy: reduction must be one of mean, "
                                       "sum, none, got 'avg'"),
    ({"ignore_index": 1.5}, TypeError, "SoftmaxCrossEntropy: ignore_index must be an int"),
    ({"weight": [1.0, -1.0]}, ValueError, "SoftmaxCrossEntropy: weight must be a 1-D array of "
                                          "finite weights ≥ 0"),
    ({"weight": ["a"]}, TypeError, "SoftmaxCrossEntropy: weight must be numbers"),
], ids=["reduction", "ignore-index", "negative-weight", "text-weight"])
def test_bad_settings_are_refused_by_name(options, error, pattern):
    with pytest.raises(error, match=pattern):
        losses.SoftmaxCrossEntropy(**options)


def test_weight_of_the_wrong_length_names_shapes_and_classes():
    loss = losses.SoftmaxCrossEntropy(weight=[1.0, 2.0])
    with pytest.raises(ValueError, match=r"weight \(2\) must be \(K,\) with one weight per "
                                         r"class, K=3"):
        loss.forward(np.zeros((2, 3), np.float32), np.array([0, 1]))


def test_a_label_out_of_range_mentions_the_ignore_index():
    loss = losses.SoftmaxCrossEntropy(ignore_index=-1)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\] for K=3 classes \(or "
                                         r"ignore_index=-1\); got values from 0 to 3"):
        loss.forward(np.zeros((3, 3), np.float32), np.array([-1, 0, 3]))
