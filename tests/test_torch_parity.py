"""The Cython kernels against torch.nn.functional: forward outputs and autograd gradients.
Skipped when torch is not installed (it is an optional test dependency)."""
import numpy as np
import pytest

from cyconv import functional as F
from cyconv.shapes import normalize_padding

torch = pytest.importorskip("torch")
tF = torch.nn.functional
pytestmark = pytest.mark.torch

TORCH_PAD_MODES = {"zeros": "constant", "replicate": "replicate", "reflect": "reflect",
                   "circular": "circular"}
TOL = dict(rtol=1e-9, atol=1e-9)


def _t(a):
    return torch.tensor(a, dtype=torch.float64, requires_grad=True)


CONV = {
    "3x2-stride1x2-asym": ((2, 3, 8, 7), (4, 3, 2), (1, 2), (1, 2, 0, 1)),
    "2x3-stride2x1": ((1, 2, 7, 8), (3, 2, 3), (2, 1), (1, 1)),
    "same-4x4": ((2, 1, 9, 9), (2, 4, 4), 1, "same"),
    "C1-N1-5x5": ((1, 1, 6, 6), (1, 5, 5), 1, 2),
}


@pytest.mark.parametrize("mode", F.PADDING_MODES)
@pytest.mark.parametrize("case", CONV.values(), ids=CONV.keys())
def test_conv2d_equals_torch(case, mode, rng):
    x_shape, (nf, kh, kw), stride, padding = case
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal((nf, x_shape[1], kh, kw))
    b = rng.standard_normal(nf)
    s = stride if isinstance(stride, tuple) else (stride, stride)
    top, bottom, left, right = normalize_padding(padding, (kh, kw), s, x_shape[2:])
    out, cache = F.conv2d_forward(x, w, b, stride=stride, padding=padding, padding_mode=mode)
    tx, tw, tb = _t(x), _t(w), _t(b)
    padded = tF.pad(tx, (left, right, top, bottom), mode=TORCH_PAD_MODES[mode])
    tout = tF.conv2d(padded, tw, tb, stride=s)
    np.testing.assert_allclose(out, tout.detach().numpy(), **TOL)
    g = rng.standard_normal(out.shape)
    tout.backward(torch.tensor(g))
    dx, dw, db = F.conv2d_backward(g, cache)
    np.testing.assert_allclose(dx, tx.grad.numpy(), **TOL)
    np.testing.assert_allclose(dw, tw.grad.numpy(), **TOL)
    np.testing.assert_allclose(db, tb.grad.numpy(), **TOL)


@pytest.mark.parametrize("kind", ["max", "avg", "min"])
@pytest.mark.parametrize("kernel, stride, padding", [
    (2, None, 0), (3, 2, 0), (3, 2, 1), ((3, 2), (1, 2), (1, 1)), ((2, 4), (2, 1), (1, 2))],
    ids=["2x2", "alexnet-3s2", "3s2p1", "rect", "rect-pad"])
def test_pool2d_equals_torch(kind, kernel, stride, padding, rng):
    x = rng.standard_normal((2, 3, 9, 8))
    out, cache = F.pool2d_forward(x, kind=kind, kernel_size=kernel, stride=stride, padding=padding)
    tx = _t(x)
    stride = stride if stride is not None else kernel
    if kind == "max":
        tout = tF.max_pool2d(tx, kernel, stride, padding)
    elif kind == "min":
        tout = -tF.max_pool2d(-tx, kernel, stride, padding)
    else:
        tout = tF.avg_pool2d(tx, kernel, stride, padding, count_include_pad=True)
    np.testing.assert_allclose(out, tout.detach().numpy(), **TOL)
    g = rng.standard_normal(out.shape)
    tout.backward(torch.tensor(g))
    np.testing.assert_allclose(F.pool2d_backward(g, cache), tx.grad.numpy(), **TOL)


@pytest.mark.parametrize("bias", [True, False])
def test_dense_equals_torch(bias, rng):
    x, w = rng.standard_normal((5, 160)), rng.standard_normal((100, 160))
    b = rng.standard_normal(100) if bias else None
    y, cache = F.dense_forward(x, w, b)
    tx, tw = _t(x), _t(w)
    tb = _t(b) if bias else None
    ty = tF.linear(tx, tw, tb)
    np.testing.assert_allclose(y, ty.detach().numpy(), **TOL)
    g = rng.standard_normal(y.shape)
    ty.backward(torch.tensor(g))
    dx, dw, db = F.dense_backward(g, cache)
    np.testing.assert_allclose(dx, tx.grad.numpy(), **TOL)
    np.testing.assert_allclose(dw, tw.grad.numpy(), **TOL)
    if bias:
        np.testing.assert_allclose(db, tb.grad.numpy(), **TOL)


@pytest.mark.parametrize("size", [2, 3, 5])
def test_lrn_equals_torch(size, rng):
    x = rng.standard_normal((2, 7, 4, 3)) * 3
    out, cache = F.lrn_forward(x, size=size, alpha=1e-2, beta=0.75, k=2.0)
    tx = _t(x)
    tout = tF.local_response_norm(tx, size, alpha=1e-2, beta=0.75, k=2.0)
    np.testing.assert_allclose(out, tout.detach().numpy(), **TOL)
    g = rng.standard_normal(out.shape)
    tout.backward(torch.tensor(g))
    np.testing.assert_allclose(F.lrn_backward(g, cache), tx.grad.numpy(), **TOL)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_equals_torch(rng, smoothing):
    logits, labels = rng.standard_normal((6, 4)) * 5, rng.integers(0, 4, 6)
    loss, dlogits = F.softmax_cross_entropy(logits, labels, label_smoothing=smoothing)
    tl = _t(logits)
    tloss = tF.cross_entropy(tl, torch.tensor(labels), label_smoothing=smoothing)
    tloss.backward()
    assert loss == pytest.approx(tloss.item(), rel=1e-12)
    np.testing.assert_allclose(dlogits, tl.grad.numpy(), **TOL)
