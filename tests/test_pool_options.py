"""Pooling with dilation and ceil_mode (max, min) and ceil_mode, count_include_pad (avg)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cyconv import functional as F
from cyconv import gradcheck, layers, reference, shapes

DTYPES = pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
TOLERANCE = {np.float32: 1e-5, np.float64: 1e-12}
# (kind, kernel, stride, padding, options, input (H, W))
CASES = {
    "max-dilated": ("max", 3, 1, 1, {"dilation": 2}, (7, 8)),
    "max-dilated-rect-ceil": ("max", (2, 3), (2, 1), (1, 1), {"dilation": (3, 1),
                                                              "ceil_mode": True}, (8, 6)),
    "max-ceil": ("max", 2, 2, 0, {"ceil_mode": True}, (5, 7)),
    "max-2x2-ceil-odd": ("max", 2, 2, 1, {"ceil_mode": True}, (6, 5)),
    "min-dilated-ceil": ("min", 2, 2, 1, {"dilation": 2, "ceil_mode": True}, (7, 7)),
    "avg-ceil": ("avg", 3, 2, 1, {"ceil_mode": True}, (6, 6)),
    "avg-exclude-pad": ("avg", 3, 2, 1, {"count_include_pad": False}, (7, 5)),
    "avg-ceil-exclude-pad": ("avg", 2, 2, 1, {"ceil_mode": True, "count_include_pad": False},
                             (6, 7)),
}
LAYER_CLASSES = {"max": layers.MaxPool2D, "min": layers.MinPool2D, "avg": layers.AvgPool2D}


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def _reference(x, kind, kernel, stride, padding, options):
    ph, pw = _pair(padding)
    keys = {"dilation": _pair(options.get("dilation", 1)),
            "ceil_mode": options.get("ceil_mode", False),
            "count_include_pad": options.get("count_include_pad", True)}
    out, arg = reference.pool2d_forward(x, kind, _pair(kernel), _pair(stride), (ph, ph, pw, pw),
                                        **keys)
    del keys["ceil_mode"]
    return out, lambda dout: reference.pool2d_backward(
        dout, x.shape, kind, _pair(kernel), _pair(stride), (ph, ph, pw, pw), arg, **keys)


def _torch_pool(torch, xt, kind, kernel, stride, padding, options):
    functional = torch.nn.functional
    if kind == "avg":
        return functional.avg_pool2d(xt, kernel, stride, padding, **options)
    sign = -1 if kind == "min" else 1
    return sign * functional.max_pool2d(sign * xt, kernel, stride, padding, **options)


def test_ceil_mode_keeps_the_partial_last_window_by_hand():
    x = np.arange(5, dtype=np.float64).reshape(1, 1, 1, 5)
    out, _ = F.pool2d_forward(x, kind="max", kernel_size=(1, 2), stride=(1, 2), ceil_mode=True)
    np.testing.assert_array_equal(out, [[[[1, 3, 4]]]])
    avg, _ = F.pool2d_forward(x, kind="avg", kernel_size=(1, 2), stride=(1, 2), ceil_mode=True)
    np.testing.assert_array_equal(avg, [[[[0.5, 2.5, 4.0]]]])   # the last window holds 1 pixel
    dilated, _ = F.pool2d_forward(x, kind="max", kernel_size=(1, 2), stride=1, dilation=(1, 3))
    np.testing.assert_array_equal(dilated, [[[[3, 4]]]])         # taps (0, 3) and (1, 4)


@DTYPES
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_kernel_matches_reference(case, dtype, threads, rng):
    kind, kernel, stride, padding, options, hw = case
    x = rng.standard_normal((2, 3) + hw).astype(dtype)
    out, cache = F.pool2d_forward(x, kind=kind, kernel_size=kernel, stride=stride,
                                  padding=padding, **options)
    want, backward = _reference(x, kind, kernel, stride, padding, options)
    tol = TOLERANCE[dtype]
    np.testing.assert_allclose(out, want, rtol=tol, atol=tol)
    dout = rng.standard_normal(out.shape).astype(dtype)
    np.testing.assert_allclose(F.pool2d_backward(dout, cache), backward(dout), rtol=tol,
                               atol=tol)


@DTYPES
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_torch_parity(case, dtype, rng):
    torch = pytest.importorskip("torch")
    kind, kernel, stride, padding, options, hw = case
    x = rng.standard_normal((2, 3) + hw).astype(dtype)
    layer = LAYER_CLASSES[kind](kernel, stride, padding, **options)
    out = layer.forward(x)
    xt = torch.tensor(x, requires_grad=True)
    expected = _torch_pool(torch, xt, kind, kernel, stride, padding, options)
    tol = TOLERANCE[dtype]
    np.testing.assert_allclose(out, expected.detach().numpy(), rtol=tol, atol=tol)
    dout = rng.standard_normal(out.shape).astype(dtype)
    expected.backward(torch.tensor(dout))
    np.testing.assert_allclose(layer.backward(dout), xt.grad.numpy(), rtol=tol, atol=tol)
    assert layer.output_shape((3,) + hw) == out.shape[1:]


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_gradcheck(case, rng):
    kind, kernel, stride, padding, options, hw = case
    layer = LAYER_CLASSES[kind](kernel, stride, padding, **options)
    errors = gradcheck.check_layer(layer, (2,) + hw, rng=rng)
    assert errors and max(errors.values()) < 1e-6, errors


@settings(max_examples=80, deadline=None)
@given(kind=st.sampled_from(["max", "min", "avg"]), k=st.integers(1, 3), s=st.integers(1, 3),
       p=st.integers(0, 1), d=st.integers(1, 3), ceil=st.booleans(), include=st.booleans(),
       h=st.integers(3, 9), w=st.integers(3, 9), seed=st.integers(0, 2**16),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_fuzz_against_reference_and_torch(kind, k, s, p, d, ceil, include, h, w, seed, dtype):
    p = min(p, k // 2)
    d = 1 if kind == "avg" else d          # average pooling has no dilation (as PyTorch)
    options = ({"ceil_mode": ceil, "count_include_pad": include} if kind == "avg"
               else {"ceil_mode": ceil, "dilation": d})
    if d * (k - 1) + 1 > min(h, w) + 2 * p:
        with pytest.raises(ValueError, match="larger than the padded input"):
            F.pool2d_forward(np.ones((1, 1, h, w), dtype), kind=kind, kernel_size=k, stride=s,
                             padding=p, **options)
        return
    x = np.random.default_rng(seed).standard_normal((2, 2, h, w)).astype(dtype)
    out, cache = F.pool2d_forward(x, kind=kind, kernel_size=k, stride=s, padding=p, **options)
    want, backward = _reference(x, kind, k, s, p, options)
    tol = TOLERANCE[dtype]
    np.testing.assert_allclose(out, want, rtol=tol, atol=tol)
    dout = np.ones_like(out)
    np.testing.assert_allclose(F.pool2d_backward(dout, cache), backward(dout), rtol=tol, atol=tol)
    try:
        import torch
    except ImportError:
        return
    expected = _torch_pool(torch, torch.tensor(x), kind, k, s, p, options)
    np.testing.assert_allclose(out, expected.numpy(), rtol=tol, atol=tol)


def test_shape_table_shows_the_dilated_and_the_ceiling_formula():
    row = shapes.layer_row({"type": "MaxPool2D", "kernel_size": 3, "stride": 2, "dilation": 2},
                           (4, 28, 27))
    assert row.output_chw == (4, 12, 12)
    assert row.formula == ("OH = ⌊(28 + 2·0 − 2·(3 − 1) − 1)/2⌋ + 1 = ⌊11.5⌋ + 1 = 12; "
                           "OW = ⌊(27 + 2·0 − 2·(3 − 1) − 1)/2⌋ + 1 = 12")
    ceil = shapes.layer_row({"type": "AvgPool2D", "kernel_size": 2, "ceil_mode": True},
                            (1, 5, 4))
    assert ceil.output_chw == (1, 3, 2)
    assert ceil.formula.startswith("OH = ⌈(5 + 2·0 − 1·(2 − 1) − 1)/2⌉ + 1 = ⌈1.5⌉ + 1 = 3")
    dropped = shapes.layer_row({"type": "MaxPool2D", "kernel_size": 2, "stride": 3,
                                "padding": 1, "ceil_mode": True}, (1, 4, 4))
    assert dropped.output_chw == (1, 2, 2)
    assert dropped.formula.startswith(
        "OH = ⌈(4 + 2·1 − 1·(2 − 1) − 1)/3⌉ + 1 = ⌈4/3⌉ + 1 = 3 → 2 (the last window would "
        "start in the padding, so it is dropped)")


@pytest.mark.parametrize("config, pattern", [
    ({"type": "MaxPool2D", "kernel_size": 3, "dilation": 0}, "dilation must be"),
    ({"type": "AvgPool2D", "kernel_size": 2, "dilation": 2}, "AvgPool2D has no key"),
    ({"type": "MaxPool2D", "kernel_size": 3, "dilation": 4},
     r"pool1: OH = \(5 \+ 2·0 − 4·\(3 − 1\) − 1\)/3 \+ 1 < 1: the dilated window "
     r"\(4·\(3 − 1\) \+ 1 = 9\) is larger than the padded input \(5 \+ 2·0 = 5\)"),
    ({"type": "MinPool2D", "kernel_size": 2, "ceil_mode": "yes"}, "ceil_mode must be"),
], ids=["dilation-0", "avg-dilation", "too-dilated", "ceil-text"])
def test_bad_settings_name_the_layer_and_formula(config, pattern):
    with pytest.raises((ValueError, TypeError), match=pattern):
        shapes.layer_row(config, (1, 5, 5), name="pool1")
