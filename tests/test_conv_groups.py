"""Conv2D(groups): channels and filters split into groups, each filter sees its group only."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cyconv import functional as F
from cyconv import gradcheck, layers, reference, shapes

DTYPES = pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
TOLERANCE = {np.float32: 1e-4, np.float64: 1e-10}
# (C, F, groups, kernel, stride, padding, dilation, input (H, W)); the larger maps take the
# kernel's one-GEMM-per-sample backward path, the small ones the chunked path.
CASES = {
    "2-groups": (4, 6, 2, 3, 1, 1, 1, (6, 5)),
    "depthwise": (3, 3, 3, 3, 2, 1, 1, (7, 7)),
    "depthwise-multiplier-dilated": (2, 4, 2, 2, 1, 2, 2, (5, 6)),
    "4-groups-large": (4, 8, 4, 3, 1, 1, 1, (20, 20)),
}


def test_by_hand():
    # Two groups of one channel each: filter 0 sums channel 0, filter 1 doubles channel 1.
    x = np.stack([np.ones((2, 2)), 3 * np.ones((2, 2))])[None]
    w = np.array([1.0, 2.0]).reshape(2, 1, 1, 1)
    out, _ = F.conv2d_forward(x, w, groups=2)
    np.testing.assert_array_equal(out[0, :, 0, 0], [1.0, 6.0])


@DTYPES
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_kernel_matches_reference(case, dtype, threads, rng):
    C, Fn, G, k, s, p, d, hw = case
    x = rng.standard_normal((3, C) + hw).astype(dtype)
    w = rng.standard_normal((Fn, C // G, k, k)).astype(dtype)
    b = rng.standard_normal(Fn).astype(dtype)
    out, cache = F.conv2d_forward(x, w, b, stride=s, padding=p, dilation=d, groups=G)
    pads, tol = (p, p, p, p), TOLERANCE[dtype]
    want = reference.grouped_conv2d_forward(x, w, b, (s, s), pads, dilation=(d, d), groups=G)
    np.testing.assert_allclose(out, want, rtol=tol, atol=tol)
    dout = rng.standard_normal(out.shape).astype(dtype)
    got = F.conv2d_backward(dout, cache)
    expected = reference.grouped_conv2d_backward(dout, x, w, (s, s), pads, dilation=(d, d),
                                                 groups=G)
    for a, e in zip(got, expected):
        np.testing.assert_allclose(a, e, rtol=tol, atol=tol)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_gradcheck(case, rng):
    C, Fn, G, k, s, p, d, hw = case
    layer = layers.Conv2D(C, Fn, k, stride=s, padding=p, dilation=d, groups=G, dtype=np.float64)
    errors = gradcheck.check_layer(layer, (C,) + (min(hw[0], 7), min(hw[1], 7)), rng=rng)
    assert errors and max(errors.values()) < 1e-6, errors


@DTYPES
def test_torch_parity(dtype, rng):
    torch = pytest.importorskip("torch")
    layer = layers.Conv2D(6, 4, 3, padding=1, groups=2, rng=rng, dtype=dtype)
    x = rng.standard_normal((2, 6, 8, 7)).astype(dtype)
    out = layer.forward(x)
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(layer.params["W"], requires_grad=True)
    expected = torch.nn.functional.conv2d(xt, wt, torch.tensor(layer.params["b"]), padding=1,
                                          groups=2)
    tol = TOLERANCE[dtype]
    np.testing.assert_allclose(out, expected.detach().numpy(), rtol=tol, atol=tol)
    dout = rng.standard_normal(out.shape).astype(dtype)
    expected.backward(torch.tensor(dout))
    np.testing.assert_allclose(layer.backward(dout), xt.grad.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(layer.grads["W"], wt.grad.numpy(), rtol=tol, atol=tol)


@settings(max_examples=30, deadline=None)
@given(cg=st.integers(1, 3), fg=st.integers(1, 3), g=st.integers(1, 3), k=st.integers(1, 3),
       h=st.integers(3, 8), seed=st.integers(0, 2**16),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_fuzz_against_reference_and_torch(cg, fg, g, k, h, seed, dtype):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, cg * g, h, h + 1)).astype(dtype)
    w = rng.standard_normal((fg * g, cg, k, k)).astype(dtype)
    out, cache = F.conv2d_forward(x, w, groups=g)
    tol = TOLERANCE[dtype] * 10
    np.testing.assert_allclose(out, reference.grouped_conv2d_forward(x, w, groups=g),
                               rtol=tol, atol=tol)
    dx = F.conv2d_backward(np.ones_like(out), cache)[0]
    want = reference.grouped_conv2d_backward(np.ones_like(out), x, w, has_bias=False, groups=g)
    np.testing.assert_allclose(dx, want[0], rtol=tol, atol=tol)
    try:
        import torch
    except ImportError:
        return
    expected = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), groups=g)
    np.testing.assert_allclose(out, expected.numpy(), rtol=tol, atol=tol)


def test_shape_table_counts_the_grouped_weights():
    row = shapes.layer_row({"type": "Conv2D", "out_channels": 8, "kernel_size": 3,
                            "groups": 4}, (4, 10, 10))
    assert row.params == 3 * 3 * 1 * 8 + 8
    assert row.params_formula == "3·3·1·8 + 8 = 80"


@pytest.mark.parametrize("config, pattern", [
    ({"type": "Conv2D", "out_channels": 6, "kernel_size": 3, "groups": 4},
     r"conv1: groups = 4 must divide in_channels = 4 and out_channels = 6"),
    ({"type": "Conv2D", "out_channels": 4, "kernel_size": 3, "groups": 0}, "groups must be"),
], ids=["not-dividing", "zero"])
def test_bad_groups_name_the_layer_and_the_rule(config, pattern):
    with pytest.raises(ValueError, match=pattern):
        shapes.layer_row({**config, "in_channels": 4}, (4, 6, 6), name="conv1")


def test_functional_refuses_channels_that_do_not_match_the_groups():
    with pytest.raises(ValueError, match=r"the input has C=4 channels but the weights W "
                                         r"\(2, 1, 3, 3\) expect C=2 = groups·C/groups"):
        F.conv2d_forward(np.ones((1, 4, 5, 5), np.float32), np.ones((2, 1, 3, 3), np.float32),
                         groups=2)
