"""Conv2D(dilation): the kernel's taps D pixels apart, forward and backward as PyTorch."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cyconv import functional as F
from cyconv import gradcheck, layers, reference, shapes

DTYPES = pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
TOLERANCE = {np.float32: 1e-4, np.float64: 1e-10}
# (kernel, stride, padding (t, b, l, r), mode, dilation, input (H, W))
CASES = {
    "d2": (3, (1, 1), (0, 0, 0, 0), "zeros", (2, 2), (9, 8)),
    "d2x3-stride2-pad": ((2, 3), (2, 1), (1, 2, 3, 0), "zeros", (2, 3), (8, 11)),
    "d3-reflect": (2, (1, 2), (2, 2, 1, 1), "reflect", (3, 1), (7, 6)),
    "d2-circular": (3, (1, 1), (2, 2, 2, 2), "circular", (2, 2), (6, 6)),
}


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def test_by_hand():
    # A 1×2 kernel of ones with dilation 3 adds x[j] and x[j + 3].
    x = np.arange(6, dtype=np.float64).reshape(1, 1, 1, 6)
    out, _ = F.conv2d_forward(x, np.ones((1, 1, 1, 2)), dilation=(1, 3))
    np.testing.assert_array_equal(out, [[[[3, 5, 7]]]])


@DTYPES
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_kernel_matches_reference(case, dtype, threads, rng):
    kernel, stride, pads, mode, dilation, hw = case
    x = rng.standard_normal((3, 2) + hw).astype(dtype)
    w = rng.standard_normal((4, 2) + _pair(kernel)).astype(dtype)
    b = rng.standard_normal(4).astype(dtype)
    out, cache = F.conv2d_forward(x, w, b, stride=stride, padding=list(pads), padding_mode=mode,
                                  dilation=dilation)
    tol = TOLERANCE[dtype]
    want = reference.conv2d_forward(x, w, b, stride, pads, mode, dilation)
    np.testing.assert_allclose(out, want, rtol=tol, atol=tol)
    dout = rng.standard_normal(out.shape).astype(dtype)
    dx, dw, db = F.conv2d_backward(dout, cache)
    want_dx, want_dw, want_db = reference.conv2d_backward(dout, x, w, stride, pads, mode,
                                                          dilation=dilation)
    for got, expected in ((dx, want_dx), (dw, want_dw), (db, want_db)):
        np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_gradcheck(case, rng):
    kernel, stride, pads, mode, dilation, hw = case
    layer = layers.Conv2D(2, 3, kernel, stride=stride, padding=list(pads), padding_mode=mode,
                          dilation=dilation, dtype=np.float64)
    errors = gradcheck.check_layer(layer, (2,) + hw, rng=rng)
    assert errors and max(errors.values()) < 1e-6, errors


@DTYPES
def test_torch_parity(dtype, rng):
    torch = pytest.importorskip("torch")
    layer = layers.Conv2D(3, 4, 3, stride=2, padding=2, dilation=(2, 3), rng=rng, dtype=dtype)
    x = rng.standard_normal((2, 3, 11, 12)).astype(dtype)
    out = layer.forward(x)
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(layer.params["W"], requires_grad=True)
    expected = torch.nn.functional.conv2d(xt, wt, torch.tensor(layer.params["b"]), stride=2,
                                          padding=2, dilation=(2, 3))
    tol = TOLERANCE[dtype]
    np.testing.assert_allclose(out, expected.detach().numpy(), rtol=tol, atol=tol)
    dout = rng.standard_normal(out.shape).astype(dtype)
    expected.backward(torch.tensor(dout))
    np.testing.assert_allclose(layer.backward(dout), xt.grad.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(layer.grads["W"], wt.grad.numpy(), rtol=tol, atol=tol)


@settings(max_examples=40, deadline=None)
@given(k=st.integers(1, 3), s=st.integers(1, 2), p=st.integers(0, 2), d=st.integers(1, 3),
       h=st.integers(4, 9), w=st.integers(4, 9), seed=st.integers(0, 2**16),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_fuzz_against_reference_and_torch(k, s, p, d, h, w, seed, dtype):
    if d * (k - 1) + 1 > min(h, w) + 2 * p:
        with pytest.raises(ValueError, match="larger than the padded input"):
            F.conv2d_forward(np.ones((1, 1, h, w), dtype), np.ones((1, 1, k, k), dtype),
                             padding=p, dilation=d)
        return
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 2, h, w)).astype(dtype)
    wt = rng.standard_normal((3, 2, k, k)).astype(dtype)
    out, cache = F.conv2d_forward(x, wt, stride=s, padding=p, dilation=d)
    tol = TOLERANCE[dtype] * 10
    pads = (p, p, p, p)
    np.testing.assert_allclose(out, reference.conv2d_forward(x, wt, None, (s, s), pads,
                                                             dilation=(d, d)), rtol=tol, atol=tol)
    dx, _, _ = F.conv2d_backward(np.ones_like(out), cache)
    want_dx = reference.conv2d_backward(np.ones_like(out), x, wt, (s, s), pads, has_bias=False,
                                        dilation=(d, d))[0]
    np.testing.assert_allclose(dx, want_dx, rtol=tol, atol=tol)
    try:
        import torch
    except ImportError:
        return
    expected = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(wt), stride=s,
                                          padding=p, dilation=d)
    np.testing.assert_allclose(out, expected.numpy(), rtol=tol, atol=tol)


def test_shape_table_shows_the_dilated_kernel():
    row = shapes.layer_row({"type": "Conv2D", "in_channels": 1, "out_channels": 2,
                            "kernel_size": 3, "dilation": 2}, (1, 28, 28))
    assert row.output_chw == (2, 24, 24)
    assert row.formula.startswith("OH = (28 + 2·0 − 5)/1 + 1 = 24 (dilated kernel 2·(3 − 1) + 1"
                                  " = 5)")
    assert row.params == 3 * 3 * 2 + 2
    same = shapes.layer_row({"type": "Conv2D", "out_channels": 2, "kernel_size": 3,
                             "dilation": 2, "padding": "same"}, (1, 9, 9))
    assert same.output_chw == (2, 9, 9) and same.padding_tblr == (2, 2, 2, 2)


def test_too_dilated_a_kernel_names_the_layer_and_the_sizes():
    with pytest.raises(ValueError, match=r"conv1: OH = \(5 \+ 2·0 − 7\)/1 \+ 1 = -1 < 1"):
        shapes.layer_row({"type": "Conv2D", "out_channels": 2, "kernel_size": 3,
                          "dilation": 3}, (1, 5, 9), name="conv1")
    with pytest.raises(ValueError, match="dilation must be"):
        layers.Conv2D(1, 2, 3, dilation=0)
