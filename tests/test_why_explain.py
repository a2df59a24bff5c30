"""cyconv.explain: the backward walk against the NumPy reference, by-hand sums and torch
autograd; saliency, occlusion, receptive fields (against a brute-force perturbation), top
images, class models and fooling images."""
import numpy as np
import pytest

from cyconv import explain, presets
from cyconv.model import Sequential

POOLED = {"input_shape": [2, 11, 10], "layers": [
    {"type": "Conv2D", "out_channels": 3, "kernel_size": [3, 3], "stride": 2, "padding": 1},
    {"type": "AvgPool2D", "kernel_size": [2, 2], "stride": 1},
    {"type": "Conv2D", "out_channels": 2, "kernel_size": [2, 3], "padding": [0, 1]},
    {"type": "Flatten"}, {"type": "Dense", "out_features": 4}]}
NONLINEAR = {"input_shape": [1, 12, 12], "layers": [
    {"type": "Conv2D", "out_channels": 3, "kernel_size": [3, 3], "padding": 1}, {"type": "ReLU"},
    {"type": "MaxPool2D", "kernel_size": [3, 3], "stride": 2}, {"type": "Conv2D", "out_channels": 4, "kernel_size": [3, 3]},
    {"type": "Tanh"}, {"type": "Flatten"}, {"type": "Dense", "out_features": 5}]}


def build(config, dtype=np.float64, seed=1):
    return Sequential.from_config(config, seed=seed, dtype=dtype)


@pytest.fixture
def rng():
    return np.random.default_rng(7)


# -- the backward walk ------------------------------------------------------------------------
@pytest.mark.parametrize("config", [POOLED, NONLINEAR])
def test_walk_agrees_with_the_reference_and_by_hand(config, rng):
    model = build(config)
    image = rng.standard_normal(model.input_shape)
    walk = explain.backprop_walk(model, image, 2)
    assert [s.layer for s in walk.steps] == ["loss"] + [name for name, _ in reversed(model.named_layers())]
    for step in walk.steps:
        assert step.largest_difference < 1e-10, (step.layer, dict(step.differences))
        for check in step.checks:
            assert check.engine == pytest.approx(check.by_hand, rel=1e-9, abs=1e-12), (step.layer, check.what)
    kinds = {s.kind: s for s in walk.steps}
    assert len(kinds["Conv2D"].checks) == 3 and kinds["Dense"].checks
    assert walk.loss == pytest.approx(-np.log(walk.probabilities[2]))


def test_walk_loss_step_is_softmax_minus_onehot(rng):
    model = build(NONLINEAR)
    walk = explain.backprop_walk(model, rng.standard_normal(model.input_shape), 4)
    loss = walk.steps[0]
    expected = walk.probabilities - np.eye(5)[4]
    np.testing.assert_allclose(loss.dx, expected, atol=1e-12)
    assert len(loss.checks) == 5


def test_walk_max_pool_routes_to_the_winner(rng):
    model = build(NONLINEAR)
    walk = explain.backprop_walk(model, rng.standard_normal(model.input_shape), 0)
    pool = next(s for s in walk.steps if s.kind == "MaxPool2D")
    c = pool.detail["channel"]
    r, q = pool.detail["winner"]
    top, left, kh, kw = pool.detail["window"]
    window = pool.x[c, max(top, 0):top + kh, max(left, 0):left + kw]
    assert pool.x[c, r, q] == window.max()
    # every pixel that won no window gets nothing
    assert np.count_nonzero(pool.dx) <= pool.dout.size


def test_walk_leaves_the_model_untouched(rng):
    model = build(NONLINEAR)
    before = model.state_dict()
    grads = [g.copy() for _, _, g in model.parameters()]
    explain.backprop_walk(model, rng.standard_normal(model.input_shape), 1)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])
    for (_, _, g), old in zip(model.parameters(), grads):
        np.testing.assert_array_equal(g, old)


def test_walk_of_float32_mnist_cnn_stays_close_to_the_reference(rng):
    model = presets.build("mnist_cnn")
    walk = explain.backprop_walk(model, rng.standard_normal((1, 28, 28)).astype(np.float32), 3)
    assert max(s.largest_difference for s in walk.steps) < 1e-5
    for step in walk.steps:
        for check in step.checks:
            assert check.engine == pytest.approx(check.by_hand, rel=1e-4, abs=1e-6)


def test_walk_rejects_bad_input():
    model = build(NONLINEAR)
    with pytest.raises(ValueError, match=r"backprop_walk: image must be \(1, 12, 12\)"):
        explain.backprop_walk(model, np.zeros((12, 12)), 0)
    with pytest.raises(ValueError, match=r"label must be a class index in \[0, 4\]"):
        explain.backprop_walk(model, np.zeros((1, 12, 12)), 5)


def test_walk_and_saliency_match_torch_autograd(rng):
    torch = pytest.importorskip("torch")
    from cyconv.export import to_torch
    model = presets.build("mnist_cnn", dtype="float64")
    # weights a float32 export keeps exactly, so both sides compute with the same numbers
    model.load_state_dict({k: v.astype(np.float32).astype(np.float64) for k, v in model.state_dict().items()})
    image = rng.standard_normal((1, 28, 28))
    net = to_torch(model).double()
    x = torch.tensor(image[None], requires_grad=True)
    activations, h = [], x
    for module in net:
        h = module(h)
        h.retain_grad()
        activations.append(h)
    torch.nn.functional.cross_entropy(h, torch.tensor([6])).backward()
    walk = explain.backprop_walk(model, image, 6)
    steps = {s.layer: s for s in walk.steps}
    names = [name for name, _ in model.named_layers()]
    for index, name in enumerate(names):
        arriving = activations[index].grad.numpy()[0]
        np.testing.assert_allclose(steps[name].dout, arriving, atol=1e-12, err_msg=name)
    torch_params = dict(net.named_parameters())
    for name, step in steps.items():
        for key, grad in step.grads.items():
            expected = torch_params[f"{name}.{'weight' if key == 'W' else 'bias'}"].grad.numpy()
            np.testing.assert_allclose(grad, expected, atol=1e-12, err_msg=f"{name}.{key}")
    np.testing.assert_allclose(steps["conv1"].dx, x.grad.numpy()[0], atol=1e-12)
    np.testing.assert_allclose(explain.saliency(model, image, 6), np.abs(x.grad.numpy()[0]).max(axis=0), atol=1e-12)


# -- saliency and occlusion ----------------------------------------------------------------------
def test_saliency_matches_finite_differences(rng):
    model = build(POOLED)
    image = rng.standard_normal(model.input_shape)
    loss, gradient = explain.loss_gradient(model, image[None], [1])
    for c, r, q in [(0, 0, 0), (1, 5, 4), (0, 10, 9)]:
        bumped = image.copy()
        bumped[c, r, q] += 1e-6
        higher, _ = explain.loss_gradient(model, bumped[None], [1])
        assert (higher - loss) / 1e-6 == pytest.approx(gradient[0, c, r, q], rel=1e-4, abs=1e-8)
    np.testing.assert_allclose(explain.saliency(model, image, 1), np.abs(gradient[0]).max(axis=0))


def one_pixel_model(pixel):
    """Class 1's score is 5·x[pixel]; class 0's is 0: only that pixel matters."""
    model = Sequential.from_config({"input_shape": [1, 8, 8], "layers": [
        {"type": "Flatten"}, {"type": "Dense", "in_features": 64, "out_features": 2}]}, dtype=np.float64)
    dense = model[1]
    dense.params["W"][:] = 0
    dense.params["b"][:] = 0
    dense.params["W"][1, pixel[0] * 8 + pixel[1]] = 5
    return model


def test_occlusion_drops_only_where_the_deciding_pixel_is_covered():
    model = one_pixel_model((2, 5))
    image = np.zeros((1, 8, 8))
    image[0, 2, 5] = 1
    drop = explain.occlusion(model, image, 1, patch=2, stride=1)
    assert drop[2, 5] > 0.4
    assert np.all(drop[5:, :] == 0) and np.all(drop[:, :3] == 0)
    saliency = explain.saliency(model, image, 1)
    assert np.unravel_index(np.argmax(saliency), saliency.shape) == (2, 5)
    assert np.count_nonzero(saliency) == 1


def test_occlusion_with_the_image_own_value_changes_nothing(rng):
    model = build(POOLED)
    image = np.full(model.input_shape, 0.25)
    np.testing.assert_allclose(explain.occlusion(model, image, 0, fill=0.25), 0, atol=1e-12)


def test_occlusion_rejects_a_patch_larger_than_the_image():
    model = build(POOLED)
    with pytest.raises(ValueError, match="occlusion: patch must be in"):
        explain.occlusion(model, np.zeros(model.input_shape), 0, patch=11)
    with pytest.raises(ValueError, match=r"saliency: class must be an index in \[0, 3\]"):
        explain.saliency(model, np.zeros(model.input_shape), 4)


# -- receptive fields ----------------------------------------------------------------------------
def influence(model, image, pixel):
    """Per layer, the boolean map of units that change when input ``pixel`` changes."""
    base = model.forward_trace(image[None])
    bumped = image.copy()
    bumped[(slice(None),) + pixel] += 1.0
    changed = model.forward_trace(bumped[None])
    return [np.abs(a[1][0] - b[1][0]) > 1e-12 for a, b in zip(base, changed)]


@pytest.mark.parametrize("config, exact", [(POOLED, True), (NONLINEAR, False)])
def test_receptive_fields_match_brute_force(config, exact, rng):
    model = build(config)
    image = rng.standard_normal(model.input_shape)
    fields = explain.model_fields(model)
    height, width = model.input_shape[1:]
    for pixel in [(r, q) for r in range(height) for q in range(width)]:
        for field, moved in zip(fields, influence(model, image, pixel)):
            if field.whole or moved.ndim != 3:
                continue
            seen = np.zeros(moved.shape[1:], bool)
            for row in range(seen.shape[0]):
                for col in range(seen.shape[1]):
                    top, bottom, left, right = explain.input_window(field, row, col, (height, width))
                    seen[row, col] = top <= pixel[0] <= bottom and left <= pixel[1] <= right
            reached = moved.any(axis=0)
            assert not np.any(reached & ~seen), (field.name, pixel)        # nothing outside the field
            if exact:
                np.testing.assert_array_equal(reached, seen, err_msg=f"{field.name} {pixel}")
            low_r, high_r, low_c, high_c = explain.units_seeing(field, *pixel, seen.shape)
            expected = np.zeros_like(seen)
            expected[low_r:high_r + 1, low_c:high_c + 1] = True
            np.testing.assert_array_equal(expected, seen)


def test_receptive_field_formula_of_mnist_cnn():
    fields = explain.model_fields(presets.build("mnist_cnn"))
    assert [f.size[0] for f in fields[:6]] == [5, 5, 6, 14, 14, 16]
    assert [f.jump[0] for f in fields[:6]] == [1, 1, 2, 2, 2, 4]
    assert fields[2].formula() == "r = 6, j = 2, start = 0" and fields[6].whole


def test_padding_makes_the_start_negative():
    fields = explain.model_fields(build(POOLED))
    assert fields[0].start == (-1, -1) and fields[0].jump == (2, 2) and fields[0].size == (3, 3)
    assert fields[2].formula() == "r = 7×9, j = 2, start = -1×-3"


def test_windows_below_covers_each_layer_between():
    model = presets.build("mnist_cnn")
    windows = explain.windows_below(model.summary(), 3, 0, 0)      # conv2's unit (0, 0)
    assert windows[0] == (0, 13, 0, 13)          # the input
    assert windows[3] == (0, 4, 0, 4)            # pool1's output: conv2's 5×5 window
    assert windows[1] == (0, 9, 0, 9)            # conv1's output: what pool1 (2×2) covers


# -- what a filter looks for -------------------------------------------------------------------
def test_top_activations_are_the_largest_by_brute_force(rng):
    model = build(NONLINEAR)
    images = rng.standard_normal((30,) + model.input_shape)
    top = explain.top_activations(model, images, "relu1", 2, count=5, batch_size=7)
    values = np.array([model.forward_trace(im[None])[1][1][0, 2].max() for im in images])
    np.testing.assert_array_equal(top.indices, np.argsort(-values, kind="stable")[:5])
    np.testing.assert_allclose(top.scores, values[top.indices])
    first = model.forward_trace(images[top.indices[0]][None])[1][1][0, 2]
    assert first[top.units[0]] == first.max()
    assert top.windows[0] == explain.input_window(explain.model_fields(model)[1], *top.units[0], (12, 12))


def test_top_activations_reject_a_flat_layer_and_a_bad_channel(rng):
    model = build(NONLINEAR)
    images = rng.standard_normal((3,) + model.input_shape)
    with pytest.raises(ValueError, match="not maps"):
        explain.top_activations(model, images, "dense1", 0)
    with pytest.raises(ValueError, match="channels 0 to 2"):
        explain.top_activations(model, images, "conv1", 3)
    with pytest.raises(ValueError, match="no layer named 'nope'"):
        explain.top_activations(model, images, "nope", 0)


def test_class_model_raises_the_class_score_within_bounds():
    model = build(NONLINEAR)
    made = explain.class_model(model, 3, steps=40, bounds=(-1.0, 2.0))
    assert made.scores[-1] > made.scores[0] + 0.1
    assert made.image.min() >= -1.0 and made.image.max() <= 2.0
    with pytest.raises(ValueError, match="class_model: need steps"):
        explain.class_model(model, 3, steps=0)


def test_fooling_finds_the_smallest_flip_along_the_sign(rng):
    model = build(NONLINEAR)
    image = rng.standard_normal(model.input_shape)
    fooled = explain.fooling(model, image, largest=20.0)
    assert fooled.flipped and fooled.to_class != fooled.from_class
    change = fooled.adversarial - fooled.image
    assert np.max(np.abs(change)) == pytest.approx(fooled.epsilon)
    slightly_less = image + 0.98 * change
    assert int(np.argmax(model.predict(slightly_less[None])[0])) == fooled.from_class
    assert fooled.l2 == pytest.approx(np.linalg.norm(change))


def test_fooling_reports_when_nothing_flips():
    model = one_pixel_model((0, 0))
    model[1].params["b"][0] = 10.0          # class 0 leads by 10; ε ≤ 1 moves class 1 by 5 at most
    fooled = explain.fooling(model, np.zeros((1, 8, 8)), largest=1.0)
    assert not fooled.flipped and fooled.to_class == fooled.from_class


def test_fields_show_their_formula_with_numbers():
    fields = explain.model_fields(presets.build("mnist_cnn"))
    assert fields[3].how == "r = 6 + (5 − 1)·2 = 14; j = 2·1 = 2"
    assert fields[1].how == "" and fields[2].how == "r = 5 + (2 − 1)·1 = 6; j = 1·2 = 2"


def reference_input_gradient(model, image, label):
    """dL/dx of NONLINEAR's layers by cyconv.reference alone (float64, no engine code)."""
    from cyconv import reference as R
    x, saved = image[None], []
    for layer in model.layers:
        saved.append(x)
        kind = layer.type_name
        if kind == "Conv2D":
            x = R.conv2d_forward(x, layer.params["W"], layer.params["b"], layer.stride, (layer.padding,) * 4
                                 if isinstance(layer.padding, int) else tuple(layer.padding) * 2)
        elif kind == "MaxPool2D":
            x, arg = R.pool2d_forward(x, "max", layer.kernel_size, layer.stride)
            saved[-1] = (saved[-1], arg)
        elif kind == "ReLU":
            x = R.relu_forward(x)
        elif kind == "Tanh":
            x = R.tanh_forward(x)
            saved[-1] = (saved[-1], x)
        elif kind == "Flatten":
            x = x.reshape(1, -1)
        elif kind == "Dense":
            x = R.dense_forward(x, layer.params["W"], layer.params["b"])
    _, dout = R.softmax_cross_entropy(x, np.array([label]))
    for layer, kept in zip(reversed(model.layers), reversed(saved)):
        kind = layer.type_name
        if kind == "Conv2D":
            pads = (layer.padding,) * 4 if isinstance(layer.padding, int) else tuple(layer.padding) * 2
            dout, _, _ = R.conv2d_backward(dout, kept, layer.params["W"], layer.stride, pads)
        elif kind == "MaxPool2D":
            x_in, arg = kept
            dout = R.pool2d_backward(dout, x_in.shape, "max", layer.kernel_size, layer.stride, (0, 0, 0, 0), arg)
        elif kind == "ReLU":
            dout = R.relu_backward(dout, kept)
        elif kind == "Tanh":
            dout = R.tanh_backward(dout, kept[1])
        elif kind == "Flatten":
            dout = dout.reshape(kept.shape)
        elif kind == "Dense":
            dout, _, _ = R.dense_backward(dout, kept, layer.params["W"])
    return dout[0]


def test_saliency_and_the_walk_match_a_reference_only_chain(rng):
    model = build(NONLINEAR)
    image = rng.standard_normal(model.input_shape)
    expected = reference_input_gradient(model, image, 3)
    np.testing.assert_allclose(explain.backprop_walk(model, image, 3).steps[-1].dx, expected, atol=1e-12)
    np.testing.assert_allclose(explain.saliency(model, image, 3), np.abs(expected).max(axis=0), atol=1e-12)
