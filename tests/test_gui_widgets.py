"""The lab's widgets without a training run: shape table, model editor, explainers, views, i18n.

Runs offscreen (conftest sets QT_QPA_PLATFORM before Qt is imported).
"""
import numpy as np
import pytest

pytest.importorskip("pytestqt")

from cyconv import introspect, presets  # noqa: E402
from cyconv.model import Sequential  # noqa: E402
from cyconv.lab import i18n
from cyconv.lab import render  # noqa: E402
from gui import model_spec  # noqa: E402
from cyconv.lab.i18n import tr  # noqa: E402
from cyconv._arrays import read_only as frozen, softmax  # noqa: E402
from cyconv.lab.snapshots import SampleView  # noqa: E402
from gui.widgets.activations import ActivationsView, layer_images  # noqa: E402
from gui.widgets.draw import Canvas, qimage_to_array  # noqa: E402
from gui.widgets.explainers import ConvExplainer, PoolExplainer  # noqa: E402
from gui.widgets.filters import FiltersView, overview_gap  # noqa: E402
from gui.widgets.model_editor import ModelEditor  # noqa: E402
from gui.widgets.shape_table import ShapeTable, row_cells  # noqa: E402


pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def editor(qtbot):
    widget = ModelEditor()
    qtbot.addWidget(widget)
    return widget


def _set_cell(editor, row, key, text):
    from gui.widgets.model_editor import COLUMNS

    editor.table.cellWidget(row, COLUMNS.index(key)).setText(text)


# -- shape table ----------------------------------------------------------------------------
@pytest.mark.parametrize("preset", ["deepid", "mnist_cnn", "lenet5", "cifar_small"])
def test_shape_table_equals_model_summary(qtbot, editor, preset):
    table = ShapeTable()
    qtbot.addWidget(table)
    editor.changed.connect(table.show_summary)
    editor.load_preset(preset)
    model = Sequential.from_config(editor.network())
    expected = [row_cells(row) for row in model.summary()]
    assert table.cells() == expected
    assert [r.params for r in editor.summary] == [r.params for r in model.summary()]
    assert editor.summary.total_params == model.count_params()


def test_seed000_counts_and_dense_comparison(qtbot, editor):
    table = ShapeTable()
    qtbot.addWidget(table)
    editor.changed.connect(table.show_summary)
    editor.load_preset("deepid")
    assert table.cells()[0][4] == "4·4·1·20 + 20 = 340"
    assert "64,620" in table.totals.text()
    table.widths.setText("600, 300, 300, 150")
    # seed 000 section 5: 1209 -> 600 -> 300 -> 300 -> 150 -> 100 has 1,056,850 parameters
    assert "1,056,850" in table.comparison.text()


def test_alexnet_is_shown_for_its_shapes(editor):
    editor.load_preset("alexnet")
    assert editor.valid
    rows = {row.name: row for row in editor.summary}
    assert rows["conv2"].output_chw == (256, 27, 27)
    assert rows["pool3"].output_chw == (256, 6, 6)
    assert editor.summary.total_params == 62_378_344
    assert "shapes only" in editor.status.text()


def test_kernel_larger_than_input_turns_red_with_the_reason(editor):
    editor.load_preset("mnist_cnn")
    _set_cell(editor, 3, "kernel", "13")          # conv2 on a 12x12 input
    assert not editor.valid
    error_row = editor.summary[-1]
    assert error_row.name == "conv2" and "larger" in error_row.error
    assert "conv2" in editor.status.text()
    with pytest.raises(ValueError):
        editor.network()


def test_non_whole_output_is_flagged_in_words(qtbot, editor):
    table = ShapeTable()
    qtbot.addWidget(table)
    editor.changed.connect(table.show_summary)
    editor.load_preset("mnist_cnn")
    _set_cell(editor, 0, "stride", "2")           # (28 - 5)/2 + 1 = 12.5 -> 12
    assert editor.valid
    conv1 = table.cells()[0]
    assert "12.5 → 12" in conv1[3]
    assert "dropped" in conv1[7]
    assert table.table.item(0, 0).background().color().red() == 255


def test_unparsable_text_marks_the_cell(editor):
    from gui.widgets.model_editor import COLUMNS

    editor.load_preset("mnist_cnn")
    _set_cell(editor, 0, "kernel", "five")
    assert not editor.valid
    assert "kernel" in editor.status.text()
    assert "ffcdcd" in editor.table.cellWidget(0, COLUMNS.index("kernel")).styleSheet()


@pytest.mark.parametrize("key, text, column", [
    ("extra", "bias=1", "extra"),          # the schema's TypeError, not a crash of the slot
    ("stride", "0", "stride"),
    ("padding", "9", "padding"),           # the schema's pool rule: at most half the window
], ids=["bias-not-a-bool", "stride-zero", "pool-padding"])
def test_a_setting_the_schema_refuses_marks_its_cell(editor, key, text, column):
    from gui.widgets.model_editor import COLUMNS

    editor.load_preset("mnist_cnn")
    row = 0 if key != "padding" else 2                 # conv1, relu1, pool1
    _set_cell(editor, row, key, text)
    assert not editor.valid
    assert "ffcdcd" in editor.table.cellWidget(row, COLUMNS.index(column)).styleSheet()


def test_changing_filters_updates_next_layer_channels(editor):
    editor.load_preset("mnist_cnn")
    _set_cell(editor, 0, "units", "6")
    assert editor.valid
    assert editor.summary[3].input_chw == (6, 12, 12)
    assert editor.summary[3].params == 5 * 5 * 6 * 20 + 20


@pytest.mark.parametrize("text, expected", [("3x5", [3, 5]), ("4", [4, 4]), ("2, 3", [2, 3])],
                         ids=["x", "single", "comma"])
def test_parse_pair(text, expected):
    assert model_spec.parse_pair(text, "kernel") == expected


@pytest.mark.parametrize("text, expected", [("1", 1), ("1,2", [1, 2]), ("1,2,1,2", [1, 2, 1, 2]), ("same", "same")],
                         ids=["int", "pair", "sides", "same"])
def test_parse_padding(text, expected):
    assert model_spec.parse_padding(text) == expected


@pytest.mark.parametrize("preset", presets.PRESET_NAMES)
def test_config_round_trip_through_the_editor_texts(preset):
    _, configs = presets.configs(preset)
    for config in configs:
        back = model_spec.spec_to_config(model_spec.config_to_spec(config))
        for key, value in back.items():
            original = config[key]
            assert (list(original) if isinstance(original, (list, tuple)) else original) == \
                   (list(value) if isinstance(value, (list, tuple)) else value), (config["name"], key)


# -- explainers -----------------------------------------------------------------------------
@pytest.mark.parametrize("stride, padding, expected", [
    (1, 0, [[144, 66, 160], [247, 97, 95], [215, 121, 136]]),
    (2, 0, [[144, 160], [215, 136]]),
], ids=["stride1", "stride2"])
def test_conv_explainer_reproduces_seed002(qtbot, stride, padding, expected):
    widget = ConvExplainer()
    qtbot.addWidget(widget)
    widget.set_settings(stride=stride, padding=padding)
    np.testing.assert_array_equal(widget.output, expected)
    assert widget.formula_label.text() == "5×11 + 1×4 + 15×5 + 5×2 = 144"


def test_conv_explainer_steps_and_padding(qtbot):
    widget = ConvExplainer()
    qtbot.addWidget(widget)
    widget.stepper.next_button.click()
    assert widget.formula_label.text() == "1×11 + 7×4 + 5×5 + 1×2 = 66"
    assert np.isnan(widget.output_grid.values[0, 2]) and widget.output_grid.values[0, 1] == 66
    widget.set_settings(padding=1)
    np.testing.assert_array_equal(widget.output[0], [10, 27, 19, 61, 65])
    assert widget.output[1, 0] == 50
    assert widget.size_label.text().startswith("OH = (4 + 2·1 − 2)/1 + 1 = 5")
    assert widget.input_grid.values.shape == (6, 6)


def test_conv_explainer_replicate_padding(qtbot):
    widget = ConvExplainer()
    qtbot.addWidget(widget)
    widget.set_settings(padding=1, mode="replicate")
    assert widget.input_grid.values[0, 0] == 5
    assert widget.output[0, 0] == 5 * 22                 # every cell of the window is 5


def test_conv_explainer_bad_setting_shows_message(qtbot):
    widget = ConvExplainer()
    qtbot.addWidget(widget)
    widget.set_settings(example="binary_5x5_filter_3x3")
    np.testing.assert_array_equal(widget.output, [[4, 3, 4], [2, 4, 3], [2, 3, 4]])
    widget.set_settings(example="input_4x4_filter_2x2", padding=4, mode="reflect")   # a mirror needs pad < side (4)
    assert "reflect" in widget.error_label.text()
    assert widget.steps == [] and widget.formula_label.text() == ""
    widget.set_settings(padding=1)
    assert widget.error_label.text() == "" and widget.output.shape == (5, 5)


@pytest.mark.parametrize("example, kind, expected", [
    ("input_4x4", "max", [[15, 13], [15, 12]]),
    ("fmap_4x4", "max", [[5, 8], [-1, 7]]),
    ("fmap_4x4", "avg", [[2, 3], [-4, 4]]),
    ("fmap_4x4", "min", [[-2, 0], [-6, 2]]),
], ids=["input-max", "fmap-max", "fmap-avg", "fmap-min"])
def test_pool_explainer(qtbot, example, kind, expected):
    widget = PoolExplainer()
    qtbot.addWidget(widget)
    widget.set_settings(example=example, kind=kind)
    np.testing.assert_array_equal(widget.output, expected)
    widget.stepper.go(3)
    assert widget.formula_label.text().endswith(f"= {expected[1][1]}")


def test_pool_explainer_marks_the_max(qtbot):
    widget = PoolExplainer()
    qtbot.addWidget(widget)
    assert widget.formula_label.text() == "max(5, 1, 15, 5) = 15"
    assert widget.input_grid.picked == (1, 0)


# -- views draw real data -------------------------------------------------------------------
@pytest.fixture(scope="module")
def lenet():
    return presets.build("lenet5", seed=0)


def test_filters_view_shows_the_tiled_weights(qtbot, lenet):
    view = FiltersView()
    qtbot.addWidget(view)
    convs = introspect.conv_layers(lenet)
    view.show_filters(convs)
    assert [view.layer_box.itemText(i) for i in range(view.layer_box.count())] == [conv.name for conv in convs]
    for index, (conv, (name, weights)) in enumerate(zip(convs, introspect.filters(lenet))):
        view.layer_box.setCurrentIndex(index)
        assert conv.name == name
        colours = render.colorize(render.filter_overview(weights, gap=overview_gap(weights)), render.symmetric_levels(weights),
                                  render.diverging_lut())
        np.testing.assert_array_equal(view.overview.image, colours)
        np.testing.assert_array_equal(conv.weights, weights)
    view.layer_box.setCurrentIndex(0)
    assert "6 filters × 1 input channels" in view.overview.caption.text()


def _sample_view(model, rng):
    x = rng.random(model.input_shape).astype(np.float32)
    outputs = tuple(introspect.activations(model, x))
    return SampleView(source="eval", index=0, label=3, image=frozen(x), outputs=outputs,
                      probabilities=frozen(softmax(outputs[-1][2])))


def test_activations_view_draws_each_layer_and_explains_a_pixel(qtbot, lenet, rng):
    view = ActivationsView()
    qtbot.addWidget(view)
    sample = _sample_view(lenet, rng)
    view.set_sample_count(10, tuple(str(i) for i in range(10)))
    view.show_sample(sample, introspect.conv_layers(lenet))
    assert 0 < len(view.panels) < len(lenet.layers)        # the first panels at once, the rest later
    qtbot.waitUntil(lambda: len(view.panels) == len(lenet.layers), timeout=2000)
    for panel, image in zip(view.panels, layer_images(sample)):
        np.testing.assert_array_equal(panel.image, image)
    # conv1's feature map and relu1's activation map share one scale: negatives go dark
    assert [kind for _, kind, _ in sample.outputs[:2]] == ["feature_map", "activation_map"]
    view.explain_pixel(3, 5, 2, 7)                 # conv2, filter 5, output (2, 7)
    engine = float(sample.outputs[3][2][5, 2, 7])
    assert view.live.step.value == pytest.approx(engine, rel=1e-4, abs=1e-4)
    assert view.live.step.inputs.shape == (6, 5, 5)
    assert "conv2" in view.live.title.text()


def test_clicking_a_feature_map_tile_opens_that_pixel(qtbot, lenet, rng):
    view = ActivationsView()
    qtbot.addWidget(view)
    view.show_sample(_sample_view(lenet, rng), introspect.conv_layers(lenet))
    # conv1: 6 maps of 28x28 in 3 columns (gap 1); map 4 starts at row 29, column 29
    view._clicked(0, 29 + 3, 29 + 10)
    assert (view.live.step.row, view.live.step.col) == (3, 10)
    assert "filter 4" in view.live.title.text()


def test_canvas_to_network_input(qtbot):
    canvas = Canvas()
    qtbot.addWidget(canvas)
    canvas.stroke([(20, 112), (200, 112)])
    array = qimage_to_array(canvas.image, (1, 28, 28))
    assert array.shape == (1, 28, 28) and array.dtype == np.float32
    assert array[0, 14, 14] > 0.5 and array[0, 2, 14] == 0.0
    assert qimage_to_array(canvas.image, (3, 8, 8)).shape == (3, 8, 8)
    with pytest.raises(ValueError, match="channels"):
        qimage_to_array(canvas.image, (2, 8, 8))


# -- languages ------------------------------------------------------------------------------
def test_every_text_has_english_and_korean():
    for key, (english, korean) in i18n.TEXTS.items():
        assert english and korean, key
        if "{" in english:
            assert sorted(_fields(english)) == sorted(_fields(korean)), key


def _fields(text):
    import string

    return [name for _, name, _, _ in string.Formatter().parse(text) if name]


def test_korean_terms_come_from_the_seeds():
    i18n.set_language("ko")
    for key, term in (("term.channel", "채널"), ("term.filter", "커널"), ("term.stride", "스트라이드"),
                      ("term.padding", "패딩"), ("term.feature_map", "피처 맵"),
                      ("term.activation_map", "활성화 맵"), ("term.pooling", "풀링")):
        assert term in tr(key)


def test_unknown_key_and_language_fail_loudly():
    with pytest.raises(KeyError):
        tr("no.such.key")
    with pytest.raises(ValueError, match="language"):
        i18n.set_language("fr")


def test_a_mouse_click_on_an_image_reports_its_pixel(qtbot):
    from PySide6 import QtCore

    from gui.widgets.images import ImagePanel

    panel = ImagePanel(fixed_height=200)
    qtbot.addWidget(panel)
    panel.resize(300, 230)
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_image(np.linspace(0, 1, 8 * 10, dtype=np.float32).reshape(8, 10))
    qtbot.wait(20)
    scene_point = panel.item.mapToScene(QtCore.QPointF(7.5, 2.5))      # column 7, row 2
    view_point = panel.view.mapFromScene(scene_point)
    with qtbot.waitSignal(panel.clicked, timeout=2000) as blocker:
        qtbot.mouseClick(panel.view.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=view_point)
    assert blocker.args == [2, 7]
