"""GlobalAvgPool2D: (N, C, H, W) -> (N, C), the mean of each plane."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cyconv import functional as F
from cyconv import gradcheck, layers, reference, schema, shapes

DTYPES = pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
TOLERANCE = {np.float32: 1e-5, np.float64: 1e-12}


def test_reference_by_hand():
    x = np.arange(8, dtype=np.float64).reshape(1, 2, 2, 2)     # planes 0..3 and 4..7
    np.testing.assert_allclose(reference.global_avg_pool_forward(x), [[1.5, 5.5]])
    dx = reference.global_avg_pool_backward(np.array([[4.0, -8.0]]), x.shape)
    np.testing.assert_allclose(dx, [[[[1, 1], [1, 1]], [[-2, -2], [-2, -2]]]])


@DTYPES
@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (2, 3, 4, 5), (5, 2, 7, 1)])
def test_kernel_matches_reference(shape, dtype, threads, rng):
    x = rng.standard_normal(shape).astype(dtype)
    out, cache = F.global_avg_pool_forward(x)
    assert out.shape == shape[:2] and out.dtype == dtype
    np.testing.assert_allclose(out, reference.global_avg_pool_forward(x),
                               rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])
    dout = rng.standard_normal(shape[:2]).astype(dtype)
    dx = F.global_avg_pool_backward(dout, cache)
    np.testing.assert_allclose(dx, reference.global_avg_pool_backward(dout, shape),
                               rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])


def test_layer_gradcheck(rng):
    errors = gradcheck.check_layer(layers.GlobalAvgPool2D(), (3, 4, 5), rng=rng)
    assert errors and max(errors.values()) < 1e-6, errors


@DTYPES
def test_torch_parity(dtype, rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((3, 4, 5, 6)).astype(dtype)
    layer = layers.GlobalAvgPool2D()
    out = layer.forward(x)
    xt = torch.tensor(x, requires_grad=True)
    expected = torch.nn.functional.adaptive_avg_pool2d(xt, 1).flatten(1)
    np.testing.assert_allclose(out, expected.detach().numpy(), rtol=TOLERANCE[dtype],
                               atol=TOLERANCE[dtype])
    dout = rng.standard_normal(out.shape).astype(dtype)
    expected.backward(torch.tensor(dout))
    np.testing.assert_allclose(layer.backward(dout), xt.grad.numpy(), rtol=TOLERANCE[dtype],
                               atol=TOLERANCE[dtype])


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 3), c=st.integers(1, 4), h=st.integers(1, 6), w=st.integers(1, 6),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**16))
def test_fuzz_against_reference_and_torch(n, c, h, w, dtype, seed):
    x = np.random.default_rng(seed).standard_normal((n, c, h, w)).astype(dtype)
    out, cache = F.global_avg_pool_forward(x)
    tol = TOLERANCE[dtype]
    np.testing.assert_allclose(out, reference.global_avg_pool_forward(x), rtol=tol, atol=tol)
    dx = F.global_avg_pool_backward(np.ones_like(out), cache)
    np.testing.assert_allclose(dx, np.full(x.shape, 1.0 / (h * w)), rtol=tol, atol=tol)
    try:
        import torch
    except ImportError:
        return
    expected = torch.nn.functional.adaptive_avg_pool2d(torch.tensor(x), 1).flatten(1)
    np.testing.assert_allclose(out, expected.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("x, pattern", [
    (np.ones((2, 3), np.float32), r"gap1: x must have 4 dimensions, got shape \(2, 3\)"),
    (np.ones((1, 1, 2, 2), np.int64), r"gap1: x has dtype int64"),
], ids=["vector", "int"])
def test_bad_input_names_the_layer(x, pattern):
    with pytest.raises((ValueError, TypeError), match=pattern):
        layers.GlobalAvgPool2D(name="gap1").forward(x)


def test_backward_refuses_a_dout_of_the_wrong_shape():
    layer = layers.GlobalAvgPool2D(name="gap1")
    layer.forward(np.ones((2, 3, 4, 4), np.float32))
    with pytest.raises(ValueError, match=r"gap1: dout \(2, 4\) must match the forward output "
                                         r"\(N, C\) = \(2, 3\)"):
        layer.backward(np.ones((2, 4), np.float32))


def test_shape_row_shows_the_means_and_no_parameters():
    row = shapes.layer_row({"type": "GlobalAvgPool2D"}, (16, 5, 7))
    assert (row.name, row.output_chw, row.params) == ("gap1", (16,), 0)
    assert row.formula == "16 means of 5·7 = 35 values"
    with pytest.raises(ValueError, match="GlobalAvgPool2D needs an image input"):
        shapes.layer_row({"type": "GlobalAvgPool2D"}, (16,))
    assert layers.GlobalAvgPool2D().config() == {"type": "GlobalAvgPool2D"}
    assert schema.spec("GlobalAvgPool2D").formula.startswith("y_c = ")


def test_a_network_ends_in_global_pooling_without_flatten(rng):
    from cyconv import Sequential
    model = Sequential([layers.Conv2D(1, 4, 3, rng=rng), layers.ReLU(), layers.GlobalAvgPool2D(),
                        layers.Dense(4, 2, rng=rng)], input_shape=(1, 6, 6))
    assert model.forward(rng.standard_normal((3, 1, 6, 6)).astype(np.float32)).shape == (3, 2)
