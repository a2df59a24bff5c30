"""0-d arrays: element-wise layers and regression losses keep the shape they were given;
layers that need a batch axis refuse a 0-d input by name."""
import numpy as np
import pytest

from cyconv import layers, losses

ELEMENTWISE = {
    "relu": layers.ReLU, "leaky_relu": lambda: layers.LeakyReLU(0.1),
    "elu": lambda: layers.ELU(0.5), "sigmoid": layers.Sigmoid, "tanh": layers.Tanh,
    "dropout": lambda: layers.Dropout(0.5, rng=np.random.default_rng(3)),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("value", [-0.75, 1.5])
@pytest.mark.parametrize("make", ELEMENTWISE.values(), ids=ELEMENTWISE.keys())
def test_elementwise_layers_keep_a_0d_shape_forward_and_backward(make, value, dtype):
    layer = make()
    x = np.array(value, dtype=dtype)
    out = layer.forward(x, training=True)
    assert isinstance(out, np.ndarray) and out.shape == () and out.dtype == dtype
    dx = layer.backward(np.array(1.0, dtype=dtype))
    assert isinstance(dx, np.ndarray) and dx.shape == () and dx.dtype == dtype
    # The 0-d result is the same number as the 1-element result.
    twin = make()
    np.testing.assert_allclose(out, twin.forward(x.reshape(1), training=True)[0])
    np.testing.assert_allclose(dx, twin.backward(np.ones(1, dtype=dtype))[0])


@pytest.mark.parametrize("make", ELEMENTWISE.values(), ids=ELEMENTWISE.keys())
def test_elementwise_layers_keep_a_0d_shape_in_evaluation(make):
    out = make().forward(np.array(2.0, dtype=np.float32), training=False)
    assert isinstance(out, np.ndarray) and out.shape == ()


@pytest.mark.parametrize("loss_class, expected_loss, expected_grad",
                         [(losses.MSE, 0.25, -1.0), (losses.L1, 0.5, -1.0)],
                         ids=["mse", "l1"])
def test_regression_losses_of_0d_prediction_and_target_give_a_0d_gradient(
        loss_class, expected_loss, expected_grad):
    loss = loss_class()
    value = loss.forward(np.array(1.5, dtype=np.float32), np.array(2.0, dtype=np.float32))
    assert value == pytest.approx(expected_loss)
    grad = loss.backward()
    assert isinstance(grad, np.ndarray) and grad.shape == () and grad.dtype == np.float32
    assert float(grad) == pytest.approx(expected_grad)


@pytest.mark.parametrize("make, pattern", [
    (lambda: layers.Conv2D(1, 2, 3), r"Conv2D: x must have 4 dimensions, got shape \(\)"),
    (lambda: layers.MaxPool2D(2), r"MaxPool2D: x must have 4 dimensions, got shape \(\)"),
    (lambda: layers.Dense(3, 2), r"Dense: x must be \(N, in_features\), got \(\)"),
    (layers.Softmax, r"Softmax: x must have 2 dimensions, got shape \(\)"),
    (layers.Flatten, r"Flatten: x must be an array with a batch axis, got \(\)"),
    (lambda: layers.LRN(3), r"LRN: x must have 4 dimensions, got shape \(\)"),
], ids=["conv", "maxpool", "dense", "softmax", "flatten", "lrn"])
def test_layers_that_need_a_batch_axis_refuse_0d_input_by_name(make, pattern):
    with pytest.raises(ValueError, match=pattern):
        make().forward(np.array(1.0, dtype=np.float32))
