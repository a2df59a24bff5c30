"""The "why" views in the lab window: each asks the live session and shows real numbers; the
shape table's receptive-field column; the backprop text without Qt."""
import numpy as np
import pytest

pytest.importorskip("pytestqt")


from cyconv import explain, presets, shapes  # noqa: E402
from gui.widgets.shape_table import ShapeTable  # noqa: E402
from gui.widgets.why_common import draw_box, overlay, tile_corners  # noqa: E402
from gui.widgets.why_steps import step_html  # noqa: E402

TINY = [{"type": "Conv2D", "out_channels": 4, "kernel_size": [5, 5]}, {"type": "ReLU"},
        {"type": "MaxPool2D", "kernel_size": [2, 2]}, {"type": "Flatten"}, {"type": "Dense", "out_features": 10}]
WAIT_MS = 30_000


@pytest.fixture
def window(qtbot, lab_window):
    win = lab_window(n_train=200, n_eval=30, epochs=1, optimizer="adam", lr="0.002")
    win.run_command("step")
    qtbot.waitUntil(lambda: win.session is not None and win.latest_step is not None, timeout=WAIT_MS)
    return win


def test_backprop_view_steps_through_real_numbers(window, qtbot):
    view = window.views["why_backprop"]
    done = view.exercise()
    qtbot.waitUntil(done, timeout=WAIT_MS)
    assert "Step 1 of 6: loss" in view.text.toPlainText() and "by hand" in view.text.toPlainText()
    assert not view.up.isEnabled()
    view.step_down()
    assert "dense1 (Dense)" in view.text.toPlainText() and view.up.isEnabled()
    view.layer_box.activated.emit(5)            # the layer list jumps to conv1's step
    assert view.index == 5 and view.layer_box.currentText() == "conv1 (Conv2D)"
    text = view.text.toPlainText()
    assert "conv1 (Conv2D)" in text and "flipped" in text and not view.down.isEnabled()
    check = view.answer.result.steps[5].checks[0]
    assert f"engine {check.engine:.4g}; by hand {check.by_hand:.4g}" in text
    view.sample_box.setValue(3)
    qtbot.waitUntil(lambda: view.answer.index == 3, timeout=WAIT_MS)
    assert view.index == 0
    window.set_language("ko")
    assert "손 계산" in view.text.toPlainText()


def test_saliency_view_overlays_both_maps_for_another_class(window, qtbot):
    view = window.views["why_saliency"]
    qtbot.waitUntil(view.exercise(), timeout=WAIT_MS)
    assert view.answer.result[0] == view.answer.label
    view.class_box.setCurrentIndex(3)
    view.request()
    qtbot.waitUntil(lambda: view.answer.result[0] == 2, timeout=WAIT_MS)
    assert view.panels[1].image.shape == (28, 28, 3) and "class" in view.panels[1].caption.text()


def test_receptive_view_boxes_the_field_on_the_input(window, qtbot):
    view = window.views["why_receptive"]
    qtbot.waitUntil(view.exercise(), timeout=WAIT_MS)
    assert sorted(view.panels) == [0, 1, 2]
    view.highlight(2, 1, 3, 4)             # pool1 unit (3, 4): rows 6–11, columns 8–13 of the input
    assert "rows 6–11, columns 8–13" in view.status.text()
    picture = view.input_panel.image
    assert np.allclose(picture[6, 8], [1.0, 0.85, 0.0]) and np.allclose(picture[11, 13], [1.0, 0.85, 0.0])
    tile_h, tile_w = view._maps(2).shape[1:]
    corner = tile_corners(4, (tile_h, tile_w))[1]
    assert np.allclose(view.panels[2].image[corner[0] + 3, corner[1] + 4], [1.0, 0.85, 0.0])


def test_filter_view_finds_top_images_class_model_and_fooling(window, qtbot, tmp_path):
    view = window.views["why_filters"]
    qtbot.waitUntil(view.exercise(), timeout=WAIT_MS)
    top, images = view.answer
    assert top.layer == "conv1" and len(images) == 9
    assert "ε" in view.fooling_panels[1].caption.text() or "No ε" in view.fooling_panels[1].caption.text()
    paths = view.screenshots(str(tmp_path))
    assert [p.rsplit("/", 1)[1] for p in paths] == ["filter_search.png", "class_model.png"]


def test_shape_table_has_the_receptive_field_column(qtbot):
    table = ShapeTable()
    qtbot.addWidget(table)
    table.show_summary(presets.build("mnist_cnn").summary())
    cells = table.receptive_cells()
    assert cells[3] == "r = 14, j = 2, start = 0\nr = 6 + (5 − 1)·2 = 14; j = 2·1 = 2"
    assert cells[-1] == "r = all"


def test_step_html_has_every_check_without_qt():
    model = presets.build("mnist_cnn")
    walk = explain.backprop_walk(model, np.random.default_rng(0).standard_normal((1, 28, 28)).astype(np.float32), 1)
    classes = tuple(str(k) for k in range(10))
    for index, step in enumerate(walk.steps):
        text = step_html(walk, index, classes)
        assert text.count("by hand") == len(step.checks)
        assert text.count("NumPy reference") == len(step.differences)


def test_overlay_and_boxes():
    image = np.zeros((1, 4, 4))
    heat = np.zeros((4, 4))
    heat[1, 2] = 2.0
    picture = overlay(image, heat)
    assert picture[1, 2, 0] > 0.7 and picture[1, 2, 2] < 0.2        # the hot pixel is red
    assert len(set(picture[0, 0].tolist())) == 1                     # a cold one stays grey
    boxed = draw_box(np.zeros((6, 6, 3)), (1, 3, 1, 4))
    assert np.allclose(boxed[1, 4], [1.0, 0.85, 0.0]) and not boxed[2, 2].any()
    assert shapes  # the module the view reads its rows with


def test_a_new_run_asks_nothing_until_the_user_does(window, qtbot):
    qtbot.wait(200)
    for key in ("why_backprop", "why_receptive", "why_saliency", "why_filters"):
        view = window.views[key]
        assert view.answer is None and view.status.text() == "Pick a test image and press Show."
    view = window.views["why_saliency"]
    view.show_button.click()
    qtbot.waitUntil(lambda: view.answer is not None, timeout=WAIT_MS)


def test_a_click_on_the_activations_tab_boxes_the_field_there(window, qtbot):
    from gui.tabs import TABS
    window.tabs.setCurrentIndex(TABS.index("activations"))      # the window paints the tab on show
    window.controller.select_sample(0)
    view = window.views["activations"]
    qtbot.waitUntil(lambda: view.sample is not None and len(view.panels) == len(view.sample.outputs), timeout=WAIT_MS)
    tile_h, tile_w = view.sample.outputs[2][2].shape[1:]
    corners = tile_corners(4, (tile_h, tile_w))
    view._clicked(2, corners[1][0] + 3, corners[1][1] + 4)       # pool1, map 1, unit (3, 4)
    yellow = [1.0, 0.85, 0.0]
    assert np.allclose(view.input_panel.image[6, 8], yellow) and np.allclose(view.input_panel.image[11, 13], yellow)
    assert "rows 6–11, columns 8–13" in view.input_panel.caption.text()
    conv_corner = tile_corners(4, view.sample.outputs[0][2].shape[1:])[2]
    assert np.allclose(view.panels[0].image[conv_corner[0] + 6, conv_corner[1] + 8], yellow)    # conv1: rows 6–9
    assert np.allclose(view.panels[2].image[corners[1][0] + 3, corners[1][1] + 4], yellow)
