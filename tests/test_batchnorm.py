"""BatchNorm2D / BatchNorm1D: training and inference, running statistics as PyTorch's,
gamma/beta as parameters, the running statistics as checkpointed buffers."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cyconv import Sequential, export, gradcheck, io, layers, reference, shapes

DTYPES = pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
TOLERANCE = {np.float32: 1e-4, np.float64: 1e-10}
KINDS = {"2d": (layers.BatchNorm2D, (4, 3, 5, 2)), "1d": (layers.BatchNorm1D, (6, 3))}


def _random_affine(layer, rng):
    layer.params["gamma"][:] = rng.uniform(0.5, 2.0, layer.num_features)
    layer.params["beta"][:] = rng.standard_normal(layer.num_features)


def test_reference_by_hand():
    x = np.array([[1.0], [3.0]])                     # one feature, values 1 and 3
    out, mean, var, xhat, _ = reference.batchnorm_forward(x, np.ones(1), np.zeros(1),
                                                          np.zeros(1), np.ones(1), eps=0.0)
    np.testing.assert_allclose(out, [[-1.0], [1.0]])
    # running: 0.9·0 + 0.1·2 = 0.2; 0.9·1 + 0.1·(unbiased var 2) = 1.1
    np.testing.assert_allclose(mean, [0.2])
    np.testing.assert_allclose(var, [1.1])


@DTYPES
@pytest.mark.parametrize("kind", KINDS, ids=KINDS.keys())
def test_kernel_matches_reference_in_training_and_inference(kind, dtype, threads, rng):
    make, shape = KINDS[kind]
    layer = make(shape[1], momentum=0.3, dtype=dtype)
    _random_affine(layer, rng)
    x = (2 + 3 * rng.standard_normal(shape)).astype(dtype)
    gamma, beta = layer.params["gamma"].copy(), layer.params["beta"].copy()
    want, want_mean, want_var, xhat, inv_std = reference.batchnorm_forward(
        x, gamma, beta, np.zeros(shape[1]), np.ones(shape[1]), momentum=0.3)
    tol = TOLERANCE[dtype]
    np.testing.assert_allclose(layer.forward(x), want, rtol=tol, atol=tol)
    np.testing.assert_allclose(layer.buffers["running_mean"], want_mean, rtol=tol, atol=tol)
    np.testing.assert_allclose(layer.buffers["running_var"], want_var, rtol=tol, atol=tol)
    dout = rng.standard_normal(shape).astype(dtype)
    dx = layer.backward(dout)
    want_dx, want_dgamma, want_dbeta = reference.batchnorm_backward(dout, xhat, gamma, inv_std)
    np.testing.assert_allclose(dx, want_dx, rtol=tol, atol=tol)
    np.testing.assert_allclose(layer.grads["gamma"], want_dgamma, rtol=tol, atol=tol)
    np.testing.assert_allclose(layer.grads["beta"], want_dbeta, rtol=tol, atol=tol)
    evaluated = layer.forward(x, training=False)
    want_eval = reference.batchnorm_forward(x, gamma, beta, want_mean, want_var,
                                            training=False)[0]
    np.testing.assert_allclose(evaluated, want_eval, rtol=tol, atol=tol)
    np.testing.assert_allclose(layer.buffers["running_mean"], want_mean, rtol=tol, atol=tol)


@pytest.mark.parametrize("kind", KINDS, ids=KINDS.keys())
def test_gradcheck(kind, rng):
    make, shape = KINDS[kind]
    layer = make(shape[1], dtype=np.float64)
    _random_affine(layer, rng)
    errors = gradcheck.check_layer(layer, shape[1:], rng=rng, batch=4)
    assert errors and max(errors.values()) < 1e-6, errors


@DTYPES
@pytest.mark.parametrize("kind", KINDS, ids=KINDS.keys())
def test_torch_parity_over_several_steps(kind, dtype, rng):
    torch = pytest.importorskip("torch")
    make, shape = KINDS[kind]
    layer = make(shape[1], eps=1e-3, momentum=0.2, dtype=dtype)
    _random_affine(layer, rng)
    module = (torch.nn.BatchNorm2d if kind == "2d" else torch.nn.BatchNorm1d)(
        shape[1], eps=1e-3, momentum=0.2).to(torch.float32 if dtype == np.float32
                                              else torch.float64)
    with torch.no_grad():
        module.weight.copy_(torch.tensor(layer.params["gamma"]))
        module.bias.copy_(torch.tensor(layer.params["beta"]))
    tol = TOLERANCE[dtype]
    for _ in range(3):
        x = (1 + 2 * rng.standard_normal(shape)).astype(dtype)
        xt = torch.tensor(x, requires_grad=True)
        expected = module.train()(xt)
        np.testing.assert_allclose(layer.forward(x), expected.detach().numpy(), rtol=tol,
                                   atol=tol)
        dout = rng.standard_normal(shape).astype(dtype)
        expected.backward(torch.tensor(dout))
        np.testing.assert_allclose(layer.backward(dout), xt.grad.numpy(), rtol=tol, atol=tol)
        np.testing.assert_allclose(layer.grads["gamma"], module.weight.grad.numpy(), rtol=tol,
                                   atol=tol)
        module.zero_grad()
    np.testing.assert_allclose(layer.buffers["running_mean"], module.running_mean.numpy(),
                               rtol=tol, atol=tol)
    np.testing.assert_allclose(layer.buffers["running_var"], module.running_var.numpy(),
                               rtol=tol, atol=tol)
    x = rng.standard_normal(shape).astype(dtype)
    with torch.no_grad():
        expected = module.eval()(torch.tensor(x)).numpy()
    np.testing.assert_allclose(layer.forward(x, training=False), expected, rtol=tol, atol=tol)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 4), c=st.integers(1, 4), hw=st.integers(1, 4), seed=st.integers(0, 2**16),
       dtype=st.sampled_from([np.float32, np.float64]), image=st.booleans())
def test_fuzz_against_reference_and_torch(n, c, hw, seed, dtype, image):
    rng = np.random.default_rng(seed)
    shape = (n, c, hw, hw + 1) if image else (n, c)
    x = (rng.standard_normal(shape) * rng.uniform(0.1, 10)).astype(dtype)
    layer = (layers.BatchNorm2D if image else layers.BatchNorm1D)(c, dtype=dtype)
    out = layer.forward(x)
    tol = TOLERANCE[dtype] * 10
    want = reference.batchnorm_forward(x, np.ones(c), np.zeros(c), np.zeros(c), np.ones(c))
    np.testing.assert_allclose(out, want[0], rtol=tol, atol=tol)
    dout = rng.standard_normal(shape).astype(dtype)
    want_dx = reference.batchnorm_backward(dout, want[3], np.ones(c), want[4])[0]
    np.testing.assert_allclose(layer.backward(dout), want_dx, rtol=tol, atol=tol)
    try:
        import torch
    except ImportError:
        return
    expected = torch.nn.functional.batch_norm(torch.tensor(x), None, None, training=True)
    np.testing.assert_allclose(out, expected.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("make, x, pattern", [
    (lambda: layers.BatchNorm2D(3, name="bn1"), np.ones((2, 3), np.float32),
     r"bn1: BatchNorm2D normalizes \(N, C, H, W\) input, got shape \(2, 3\)"),
    (lambda: layers.BatchNorm1D(4, name="bn1"), np.ones((2, 3), np.float32),
     r"bn1: x \(2, 3\) has 3 channels but num_features = 4"),
    (lambda: layers.BatchNorm1D(3, name="bn1"), np.ones((1, 3), np.float32),
     r"bn1: training needs more than 1 value per channel .* \(M = N·H·W = 1\)"),
], ids=["ndim", "channels", "one-value"])
def test_bad_input_names_the_layer_and_shapes(make, x, pattern):
    with pytest.raises(ValueError, match=pattern):
        make().forward(x)


@pytest.mark.parametrize("settings_, pattern", [
    ({"momentum": 1.5}, r"momentum must be in \[0, 1\]"), ({"eps": 0.0}, r"eps must be in"),
], ids=["momentum", "eps"])
def test_bad_settings_are_refused(settings_, pattern):
    with pytest.raises(ValueError, match=pattern):
        layers.BatchNorm2D(3, **settings_)


def test_shape_row_counts_gamma_and_beta_only():
    row = shapes.layer_row({"type": "BatchNorm2D"}, (16, 5, 5))
    assert (row.name, row.output_chw, row.params, row.params_formula) == \
        ("bn1", (16, 5, 5), 32, "16 + 16 = 32")
    with pytest.raises(ValueError, match="BatchNorm1D needs a flat vector"):
        shapes.layer_row({"type": "BatchNorm1D"}, (16, 5, 5))


def _bn_model(rng):
    return Sequential([layers.Conv2D(1, 3, 3, rng=rng), layers.BatchNorm2D(3), layers.ReLU(),
                       layers.Flatten(), layers.BatchNorm1D(48), layers.Dense(48, 2, rng=rng)],
                      input_shape=(1, 6, 6))


def test_checkpoints_save_and_load_the_running_statistics(tmp_path, rng):
    model = _bn_model(rng)
    for _ in range(2):
        model.forward(rng.standard_normal((5, 1, 6, 6)).astype(np.float32))
    assert model.count_params() == 30 + 6 + 96 + 98
    assert sum(row.params for row in model.summary()) == model.count_params()
    io.save(tmp_path / "bn.npz", model)
    loaded = io.load(tmp_path / "bn.npz").model
    for (name, array), (loaded_name, loaded_array) in zip(model.buffers(), loaded.buffers()):
        assert name == loaded_name and array.any()
        np.testing.assert_array_equal(array, loaded_array)
    x = rng.standard_normal((3, 1, 6, 6)).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert set(model.state_dict()) >= {"bn1.running_mean", "bn2.running_var", "bn1.gamma"}


def test_export_carries_the_running_statistics(rng):
    torch = pytest.importorskip("torch")
    model = _bn_model(rng)
    model.forward(rng.standard_normal((5, 1, 6, 6)).astype(np.float32))
    x = rng.standard_normal((3, 1, 6, 6)).astype(np.float32)
    with torch.no_grad():
        out = export.to_torch(model)(torch.tensor(x)).numpy()
    np.testing.assert_allclose(out, model.predict(x), rtol=1e-4, atol=1e-5)
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(export.onnx_model(model).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"input": x})[0], model.predict(x),
                               rtol=1e-4, atol=1e-5)
