"""Every view of the lab readable: filters, activations, predictions, curves, shape table.

Each test checks what a reader sees (pixels per weight, symmetric colour levels, class names on
the axes, the wheel scrolling the page, the legend clear of the data, the epoch lines, a red
row's reason in view). Runs offscreen (conftest sets QT_QPA_PLATFORM before Qt is imported).
"""
import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6 import QtCore, QtGui, QtWidgets  # noqa: E402

from cyconv import introspect, presets  # noqa: E402
from cyconv.lab import i18n  # noqa: E402
from cyconv.lab import render  # noqa: E402
from cyconv._arrays import read_only as frozen, softmax  # noqa: E402
from cyconv.lab.snapshots import Evaluation, SampleView, SessionInfo  # noqa: E402
from gui.widgets.activations import ActivationsView, layer_images  # noqa: E402
from gui.widgets.bars import BarPanel  # noqa: E402
from gui.widgets.curves import CurvesView  # noqa: E402
from gui.widgets.filters import FiltersView  # noqa: E402
from gui.widgets.images import ImagePanel, lookup_table  # noqa: E402
from gui.widgets.predictions import PredictionsView  # noqa: E402


pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture(scope="module")
def mnist_cnn():
    return presets.build("mnist_cnn", seed=0)


def _settle(qtbot, widget, size=(830, 820)):
    widget.resize(*size)
    widget.show()
    qtbot.waitExposed(widget)
    for _ in range(3):
        QtWidgets.QApplication.processEvents()


# -- render: values on a colour scale ------------------------------------------------------------
def test_diverging_table_runs_blue_white_red():
    lut = render.diverging_lut(255)
    assert tuple(lut[0]) == (33, 102, 172) and tuple(lut[127]) == (255, 255, 255) and tuple(lut[-1]) == (178, 24, 43)
    assert lut[:127, 2].min() > lut[:127, 0].min()          # the negative half is blue


def test_colorize_puts_zero_on_white_and_gaps_on_grey():
    values = np.array([[-2.0, 0.0, 2.0, np.nan]])
    rgb = render.colorize(values, render.symmetric_levels(values), render.diverging_lut(255))
    np.testing.assert_allclose(rgb[0, 1], 1.0)
    np.testing.assert_allclose(rgb[0, 3], render.SEPARATOR_RGB)
    assert rgb[0, 0, 2] > rgb[0, 0, 0] and rgb[0, 2, 0] > rgb[0, 2, 2]       # blue, then red
    with pytest.raises(ValueError, match="levels must rise"):
        render.colorize(values, (1.0, 1.0), render.diverging_lut())


@pytest.mark.parametrize("values, expected", [([-3.0, 1.0], ((-3.0, 3.0), True)), ([0.0, 4.0], ((0.0, 4.0), False)),
                                              ([0.0, 0.0], ((0.0, 1.0), False))])
def test_value_levels(values, expected):
    assert render.value_levels(np.array(values)) == expected


def test_filter_overview_is_filters_by_channels_with_nan_gaps():
    weights = np.arange(2 * 3 * 2 * 2, dtype=np.float64).reshape(2, 3, 2, 2)
    image = render.filter_overview(weights)
    assert image.shape == (2 * 3 - 1, 3 * 3 - 1)
    np.testing.assert_array_equal(image[3:5, 6:8], weights[1, 2])
    assert np.isnan(image[2, 0]) and np.isnan(image[0, 2])
    np.testing.assert_array_equal(render.filter_channels(weights, 1, gap=0), render.tile(weights[1], gap=0, fill=np.nan))
    with pytest.raises(ValueError, match="filter 2 does not exist"):
        render.filter_channels(weights, 2)


# -- filters -------------------------------------------------------------------------------------
@pytest.fixture
def conv2_filters(qtbot, mnist_cnn):
    """A FiltersView on mnist_cnn's second conv layer (20 filters x 10 channels, 5x5)."""
    view = FiltersView()
    qtbot.addWidget(view)
    view.show_filters(introspect.conv_layers(mnist_cnn))
    view.layer_box.setCurrentIndex(1)
    return view


def test_filter_view_shows_the_chosen_kernel_large_on_a_symmetric_scale(qtbot, mnist_cnn, conv2_filters):
    view = conv2_filters
    view.select(3, 2)
    _settle(qtbot, view)
    weights = mnist_cnn["conv2"].params["W"]
    low, high = view.kernel.levels
    assert low == -high and high == pytest.approx(np.abs(weights).max())
    assert view.overview.levels == view.channels.levels == (low, high)
    expected = render.colorize(weights[3, 2], (low, high), lookup_table("diverging"))
    np.testing.assert_array_equal(view.kernel.image, expected)
    assert view.kernel.pixels_per_image_pixel() >= 30          # one weight is a readable square
    assert view.channels.pixels_per_image_pixel() >= 8
    assert view.channels.tile_labels == [str(i) for i in range(10)]
    assert view.kernel.cell_values == [f"{w:.2g}" for w in weights[3, 2].ravel()]      # and its numbers
    assert "Filter 3, input channel 2: 5×5" in view.kernel.caption.text()
    assert view.channels.isVisibleTo(view)
    view.layer_box.setCurrentIndex(0)                         # one input channel: the kernel is all there is
    assert not view.channels.isVisibleTo(view) and view.kernel.image.shape[:2] == (5, 5)
    view.layer_box.setCurrentIndex(1)
    top_ticks = [text for _, text in view.overview.plot.getAxis("top")._tickLevels[0]]
    assert top_ticks == [str(i) for i in range(10)]           # channel indices over the columns


def test_clicking_the_overview_picks_filter_and_channel(mnist_cnn, conv2_filters):
    view = conv2_filters
    view._overview_clicked(4 * 6 + 1, 7 * 6 + 3)              # 5x5 tiles, gap 1: filter 4, channel 7
    assert (view.filter_box.value(), view.channel_box.value()) == (4, 7)
    left, top, width, height = view.overview.marker.rect().getRect()
    assert (left, top, width, height) == (7 * 6 - 0.5, 4 * 6 - 0.5, 6, 6)
    np.testing.assert_array_equal(view.kernel.image,
                                  render.colorize(mnist_cnn["conv2"].params["W"][4, 7], view.levels,
                                                  lookup_table("diverging")))


def test_filter_choice_survives_new_weights_and_languages(mnist_cnn, conv2_filters):
    view = conv2_filters
    view.select(5, 1)
    view.show_filters(introspect.conv_layers(mnist_cnn))
    assert (view.layer_box.currentText(), view.filter_box.value(), view.channel_box.value()) == ("conv2", 5, 1)
    i18n.set_language("ko")
    view.retranslate()
    assert "필터 5, 입력 채널 1" in view.kernel.caption.text()
    view.show_filters(())
    assert view.overview.image is None and view.placeholder.isVisibleTo(view)


# -- activations ---------------------------------------------------------------------------------
CLASSES = ("circle", "ring", "square", "frame", "triangle", "cross", "line", "corner", "tee", "half-disk")


def _sample(model, seed=0, index=0):
    x = np.random.default_rng(seed).random(model.input_shape).astype(np.float32)
    outputs = tuple(introspect.activations(model, x))
    return SampleView(source="eval", index=index, label=3, image=frozen(x), outputs=outputs,
                      probabilities=frozen(softmax(outputs[-1][2])))


@pytest.fixture
def activations(qtbot, mnist_cnn):
    view = ActivationsView()
    qtbot.addWidget(view)
    view.set_sample_count(10, CLASSES)
    view.show_sample(_sample(mnist_cnn), introspect.conv_layers(mnist_cnn))
    qtbot.waitUntil(lambda: len(view.panels) == len(view.sample.outputs), timeout=2000)
    _settle(qtbot, view)
    return view


def _wheel(widget, steps=-3):
    """Turn the mouse wheel over the middle of `widget` (negative: towards the user, scrolls down)."""
    position = QtCore.QPointF(widget.width() / 2, widget.height() / 2)
    for _ in range(abs(steps)):
        event = QtGui.QWheelEvent(position, widget.mapToGlobal(position), QtCore.QPoint(0, 0),
                                  QtCore.QPoint(0, 120 if steps > 0 else -120), QtCore.Qt.MouseButton.NoButton,
                                  QtCore.Qt.KeyboardModifier.NoModifier, QtCore.Qt.ScrollPhase.NoScrollPhase, False)
        QtWidgets.QApplication.sendEvent(widget, event)
        QtWidgets.QApplication.processEvents()


def _image_in_view(panel) -> bool:
    (x0, x1), (y0, y1) = panel.box.viewRange()
    height, width = panel.image.shape[:2]
    return x0 <= 0 and y0 <= 0 and x1 >= width and y1 >= height


def test_the_wheel_over_a_map_scrolls_the_page_and_never_zooms_it(activations, mnist_cnn):
    panel = activations.panels[0]
    bar = activations.scroll.verticalScrollBar()
    assert bar.maximum() > 0 and bar.value() == 0
    before = panel.box.viewRange()
    _wheel(panel.view.viewport())
    assert bar.value() > 0                                   # the page moved
    assert panel.box.viewRange() == before                   # the map did not zoom
    _wheel(activations.panels[-1].view.viewport())           # a bar chart passes the wheel on too
    assert bar.value() > 0
    # the map that stayed blank: a wheel zoom used to leave it on an empty corner after a new sample
    activations.show_sample(_sample(mnist_cnn, seed=1, index=1), introspect.conv_layers(mnist_cnn))
    assert all(_image_in_view(p) for p in activations.panels if isinstance(p, ImagePanel))


def test_zoom_has_its_own_control_and_a_reset(activations):
    panel = activations.panels[0]
    height = panel.view.height()
    activations.zoom_box.setValue(200)
    assert panel.view.height() == 2 * height
    assert _image_in_view(panel)
    activations.reset_zoom.click()
    assert activations.zoom_box.value() == 100 and panel.view.height() == height


def test_maps_carry_a_colour_bar_and_their_channel_numbers(activations):
    conv1, relu1 = activations.panels[0], activations.panels[1]
    feature_map, activation_map = activations.sample.outputs[0][2], activations.sample.outputs[1][2]
    peak = float(np.abs(np.concatenate([feature_map, activation_map])).max())
    assert conv1.levels == relu1.levels == pytest.approx((-peak, peak))     # one symmetric scale for the pair
    assert conv1.tile_labels == [str(c) for c in range(10)]
    assert "channel" in conv1.caption.text()
    pool2 = activations.panels[5]
    assert activations.sample.outputs[5][1] == "pooled" and pool2.levels[0] == 0.0     # after ReLU: from 0


def test_vectors_are_bar_charts_and_the_class_outputs_name_their_classes(activations):
    kinds = [kind for _, kind, _ in activations.sample.outputs]
    bars = [panel for panel in activations.panels if isinstance(panel, BarPanel)]
    assert len(bars) == sum(values.ndim == 1 for _, _, values in activations.sample.outputs) > 0
    logits = activations.panels[kinds.index("logits")]
    assert isinstance(logits, BarPanel) and logits.horizontal and logits.tick_labels() == list(CLASSES)
    dense1 = activations.panels[[name for name, _, _ in activations.sample.outputs].index("dense1")]
    assert not dense1.horizontal and dense1.tick_labels()[:2] == ["0", "5"]      # indices, not class names
    softmax_panel = activations.softmax_panel
    np.testing.assert_allclose(softmax_panel.image, activations.sample.probabilities)
    assert softmax_panel.tick_labels() == list(CLASSES)
    brushes = softmax_panel.bars.opts["brushes"]
    predicted = int(np.argmax(activations.sample.probabilities))
    assert [b.color().getRgb()[:3] for b in brushes].count(brushes[predicted].color().getRgb()[:3]) == 1
    assert softmax_panel.box.viewRange()[0][1] >= 1.0                 # probabilities on 0..1


# -- predictions ---------------------------------------------------------------------------------
FASHION = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


@pytest.fixture
def predictions(qtbot):
    rng = np.random.default_rng(0)
    n = 200
    labels = rng.integers(0, 10, n)
    predicted = np.where(rng.random(n) < 0.7, labels, rng.integers(0, 10, n))
    confusion = np.zeros((10, 10), np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    session = SessionInfo(classes=FASHION, dataset="fashion", model_config={}, input_shape=(1, 28, 28),
                          eval_images=frozen(rng.random((n, 1, 28, 28)).astype(np.float32)),
                          eval_labels=frozen(labels), batches_per_epoch=1, epochs=1)
    evaluation = Evaluation(step=1, loss=1.0, accuracy=float((labels == predicted).mean()), confusion=frozen(confusion),
                            predictions=frozen(predicted), confidences=frozen(rng.random(n)))
    view = PredictionsView()
    qtbot.addWidget(view)
    view.set_session(session)
    view.show_evaluation(evaluation)
    _settle(qtbot, view)
    return view


def test_confusion_matrix_names_its_classes_on_both_axes(predictions):
    plot = predictions.confusion_panel.plot
    assert [text for _, text in plot.getAxis("left")._tickLevels[0]] == list(FASHION)
    top = plot.getAxis("top")
    assert top.names == list(FASHION)
    assert top.height() > QtGui.QFontMetrics(top.style["tickFont"]).horizontalAdvance("T-shirt/top")   # upright
    assert [position for position, _ in top._tickLevels[0]] == [i + 0.5 for i in range(10)]
    predictions._cell_hovered(6, 0)
    assert predictions.confusion_panel.view.toolTip().startswith("true Shirt → predicted T-shirt/top")


def test_the_chosen_cell_is_outlined_and_its_images_are_labelled(predictions):
    predictions._cell_clicked(6, 0)
    assert predictions.confusion_panel.marker.rect().getRect() == (0, 6, 1, 1)
    shown = predictions.gallery_texts()
    assert shown and len(shown) == predictions.gallery_indices.size
    confidences = predictions.evaluation.confidences[predictions.gallery_indices]
    assert shown == [f"Shirt → T-shirt/top, {c:.0%}" for c in confidences]
    predictions._cell_clicked(6, 0)                         # a second click: back to all mistakes
    assert predictions.confusion_panel.marker is None
    assert all(" → " in text for text in predictions.gallery_texts())


def test_per_class_accuracy_is_a_bar_per_named_class(predictions):
    bars = predictions.accuracy
    assert bars.horizontal and bars.tick_labels() == list(FASHION)
    np.testing.assert_allclose(bars.image, render.per_class_accuracy(predictions.evaluation.confusion))


def test_clicking_a_thumbnail_opens_that_sample(qtbot, predictions):
    with qtbot.waitSignal(predictions.sample_selected) as blocker:
        predictions.gallery.itemClicked.emit(predictions.gallery.item(2))
    assert blocker.args == [int(predictions.gallery_indices[2])]


# -- curves --------------------------------------------------------------------------------------
@pytest.fixture
def curves(qtbot):
    view = CurvesView()
    qtbot.addWidget(view)
    _settle(qtbot, view)
    return view


def _train(view, steps=40, epoch=10, lr_at=None, with_validation=True):
    for step in range(1, steps + 1):
        lr = 0.002 if lr_at is not None and step >= lr_at else 0.01
        view.add_step(step, 2.0 / step, step / steps, lr=lr)
        if step % epoch == 0:
            view.add_epoch(step, 1.5 / step if with_validation else None, step / steps if with_validation else None)
    view.refresh(force=True)
    QtWidgets.QApplication.processEvents()


def test_the_legend_sits_outside_the_plotted_data(curves):
    _train(curves)
    legend = curves.legend.sceneBoundingRect()
    data = curves.loss_box.sceneBoundingRect()
    assert legend.height() > 0 and len(curves.legend.items) == 4
    assert not legend.intersects(data)                  # no curve can be drawn over it


@pytest.mark.parametrize("with_validation", [True, False], ids=["validation", "no-validation"])
def test_epoch_boundaries_are_marked_and_labelled(curves, with_validation):
    _train(curves, with_validation=with_validation)
    assert [line.value() for line in curves.epoch_lines] == [10.5, 20.5, 30.5]     # not after the last step
    assert [line.label.toPlainText() for line in curves.epoch_lines] == ["epoch 2", "epoch 3", "epoch 4"]


def test_learning_rate_changes_are_marked_where_they_happen(curves):
    _train(curves)
    assert curves.lr_lines == []                        # a constant rate draws nothing
    curves.clear()
    _train(curves, lr_at=25)
    assert [line.value() for line in curves.lr_lines] == [24.5]
    assert curves.lr_lines[0].label.toPlainText() == "lr 0.01 → 0.002"
    i18n.set_language("ko")
    curves.retranslate()
    assert curves.epoch_lines[0].label.toPlainText() == "에폭 2"
    assert curves.lr_lines[0].label.toPlainText().startswith("학습률")


# -- shape table ---------------------------------------------------------------------------------
def _set_cell(editor, row, key, text):
    from gui.widgets.model_editor import COLUMNS

    editor.table.cellWidget(row, COLUMNS.index(key)).setText(text)


@pytest.mark.parametrize("key, text, words", [("kernel", "13", "larger"), ("stride", "2", "dropped")],
                         ids=["error", "warning"])
def test_a_red_rows_reason_is_in_view_in_its_tooltip_and_under_the_table(qtbot, key, text, words):
    from gui.widgets.model_editor import ModelEditor
    from gui.widgets.shape_table import COLUMNS, ShapeTable

    editor, table = ModelEditor(), ShapeTable()
    qtbot.addWidget(editor)
    qtbot.addWidget(table)
    editor.changed.connect(table.show_summary)
    editor.load_preset("mnist_cnn")
    row = 3 if key == "kernel" else 0
    _set_cell(editor, row, key, text)                # conv2 13x13 on 12x12 / conv1 stride 2: 12.5 -> 12
    _settle(qtbot, table, size=(830, 760))
    note = table.table.item(row, COLUMNS.index("note"))
    assert words in note.text()
    viewport = table.table.viewport().rect()
    assert viewport.contains(table.table.visualItemRect(note))            # visible without scrolling
    assert table.table.horizontalHeader().visualIndex(COLUMNS.index("note")) == 1
    for column in range(len(COLUMNS)):
        assert words in table.table.item(row, column).toolTip()
    assert table.problems.isVisibleTo(table) and words in table.problems.text()
    _set_cell(editor, row, key, "5" if key == "kernel" else "1")
    assert not table.problems.isVisibleTo(table) and table.table.item(row, 0).toolTip() == ""


def test_complete_builds_the_queued_panels_at_once(qtbot, mnist_cnn):
    view = ActivationsView()
    qtbot.addWidget(view)
    sample = _sample(mnist_cnn)
    view.show_sample(sample, introspect.conv_layers(mnist_cnn))
    assert len(view.panels) < len(sample.outputs)            # the rest waits for the event loop
    view.complete()
    assert len(view.panels) == len(sample.outputs)
    for panel, image in zip(view.panels, layer_images(sample)):
        np.testing.assert_array_equal(panel.image, image)


def test_hovering_a_weight_or_a_map_pixel_tells_its_value(activations, mnist_cnn, conv2_filters):
    weights = mnist_cnn["conv2"].params["W"]
    conv2_filters.overview.item.hovered.emit(4 * 6 + 1, 7 * 6 + 3)         # filter 4, channel 7, weight (1, 3)
    assert conv2_filters.overview.view.toolTip() == f"filter 4, input channel 7, weight (1, 3): {weights[4, 7, 1, 3]:.3g}"
    conv2_filters.overview.item.hovered.emit(-1, -1)
    assert conv2_filters.overview.view.toolTip() == ""
    conv1 = activations.panels[0]
    conv1.item.hovered.emit(25 + 2, 25 * 1 + 5)                             # 24x24 maps, gap 1: channel 5
    value = activations.sample.outputs[0][2][5, 2, 5]
    assert conv1.view.toolTip() == f"channel 5, pixel (2, 5): {value:.3g}"
