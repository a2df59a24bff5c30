"""The lab's pictures for notebooks: real images of the model's own numbers, made headless."""
import numpy as np
import pytest

pytest.importorskip("PIL")

from cyconv import presets  # noqa: E402
from cyconv.lab import pictures, render  # noqa: E402


@pytest.fixture(scope="module")
def model():
    return presets.build("mnist_cnn", seed=0)


def test_filters_show_each_weight_on_the_symmetric_scale(model):
    image = pictures.filters(model, "conv1", scale=4)
    weights = model["conv1"].params["W"]                   # (10, 1, 5, 5): a near-square grid of 10
    rows, cols = render.grid_shape(10)
    assert image.size == ((cols * 6 - 1) * 4, (rows * 6 - 1) * 4)
    pixels = np.asarray(image)
    strongest = np.unravel_index(np.argmax(np.abs(weights[0, 0])), (5, 5))
    colour = pixels[strongest[0] * 4, strongest[1] * 4]
    assert (colour[2] > colour[0]) == (weights[0, 0][strongest] < 0)       # blue below zero, red above


def test_filters_of_a_deeper_layer_have_one_column_per_input_channel(model):
    image = pictures.filters(model, "conv2", scale=1)
    assert image.size == (10 * 6 - 1, 20 * 6 - 1)          # 20 filters × 10 channels of 5×5


def test_activations_tile_every_map_of_the_layer(model):
    x = np.random.default_rng(0).random((1, 28, 28), dtype=np.float32)
    image = pictures.activations(model, x, "relu1", scale=2, columns=5)
    assert image.size == ((5 * 25 - 1) * 2, (2 * 25 - 1) * 2)             # 10 maps of 24×24 in 2 rows
    with pytest.raises(ValueError, match="vector"):
        pictures.activations(model, x, "dense1")
    with pytest.raises(ValueError, match="no layer"):
        pictures.activations(model, x, "conv9")


def test_curves_draw_a_history():
    history = {"step_loss": [2.3, 1.5, 0.9, 0.6], "step_accuracy": [0.1, 0.4, 0.7, 0.8]}
    image = pictures.curves(history, size=(400, 240))
    pixels = np.asarray(image)
    assert image.size == (400, 240)
    blue = np.all(pixels == (31, 119, 180), axis=-1)
    red = np.all(pixels == (214, 39, 40), axis=-1)
    assert blue.sum() > 50 and red.sum() > 50
    with pytest.raises(ValueError, match="no steps"):
        pictures.curves({"step_loss": []})


def test_confusion_is_darkest_where_a_class_went():
    matrix = np.array([[8, 2], [0, 10]])
    image = pictures.confusion(matrix, ["cat", "dog"], cell=20)
    pixels = np.asarray(image)
    label = image.size[0] - 2 * 20 - 1
    assert pixels[label + 30, label + 30].sum() < pixels[label + 10, label + 30].sum()   # 10/10 darker than 2/10
    with pytest.raises(ValueError, match="square"):
        pictures.confusion(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="class names"):
        pictures.confusion(matrix, ["one"])


def test_bad_scale_is_refused(model):
    with pytest.raises(ValueError, match="scale"):
        pictures.filters(model, scale=0)


def test_the_shape_table_renders_as_html_in_a_notebook():
    import re

    from cyconv import shapes

    summary = presets.summary("deepid")
    page = summary._repr_html_()
    assert page.count("<tr>") == len(summary) + 1 and "64,620" in page
    assert str(summary).splitlines()[0].split(" = ")[1].split(",")[0] in page      # the input line
    broken = shapes.summarize([{"type": "Conv2D", "in_channels": 1, "out_channels": 2, "kernel_size": 9}],
                              (1, 4, 4))
    page = broken._repr_html_()
    assert "background:#ffd6d6" in page and "Error" in page
    assert not re.search(r"<(?!/?(p|table|thead|tbody|tr|th|td|br|ul|li)\b)", page)   # nothing unescaped


def test_saliency_is_red_where_the_gradient_is_largest(model):
    from cyconv.explain import saliency

    x = np.random.default_rng(1).standard_normal((1, 28, 28)).astype(np.float32)
    image = pictures.saliency(model, x, 3, scale=1)
    pixels = np.asarray(image).astype(int)
    peak = np.unravel_index(np.argmax(saliency(model, x, 3)), (28, 28))
    red, green = pixels[peak][0], pixels[peak][1]
    assert image.size == (28, 28) and red == 255 and green == 0
