"""The live views redraw only what changed: the same snapshot twice builds nothing new, a new
one is drawn; the progress line is throttled. Each test counts the work done (calls, items
made), never wall-clock time. Runs offscreen (conftest sets QT_QPA_PLATFORM).
"""
import numpy as np
import pytest

pytest.importorskip("pytestqt")

from cyconv import introspect, presets  # noqa: E402
from cyconv._arrays import read_only as frozen, softmax  # noqa: E402
from cyconv.lab import i18n  # noqa: E402
from cyconv.lab.snapshots import SampleView  # noqa: E402
from cyconv.train import StepReport  # noqa: E402
from gui.widgets.activations import ActivationsView, same_sample  # noqa: E402
from gui.widgets.filters import FiltersView, same_weights  # noqa: E402
from gui.widgets.images import ImagePanel  # noqa: E402


pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture(scope="module")
def mnist_cnn():
    return presets.build("mnist_cnn", seed=0)


def _copied_convs(model, scale=1.0):
    """ConvLayerViews of `model` whose weights are new arrays (a snapshot made again), times `scale`."""
    convs = introspect.conv_layers(model)
    return tuple(type(conv)(**{**conv.__dict__, "weights": frozen(np.array(conv.weights) * scale)})
                 for conv in convs)


def _count_calls(monkeypatch, owner, name):
    """Wrap owner.name so that every call is counted; returns the list of calls' first arguments."""
    calls = []
    original = getattr(owner, name)

    def counted(self, *args, **kwargs):
        calls.append(args[0] if args else None)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


# -- filters -------------------------------------------------------------------------------------
def test_the_same_weights_twice_draw_the_filters_once(qtbot, monkeypatch, mnist_cnn):
    view = FiltersView()
    qtbot.addWidget(view)
    drawn = _count_calls(monkeypatch, ImagePanel, "set_values")
    view.show_filters(_copied_convs(mnist_cnn))
    first = len(drawn)
    assert first == 3                               # overview, the filter's channels, the kernel
    view.show_filters(_copied_convs(mnist_cnn))     # equal weights in new arrays: nothing to draw
    assert len(drawn) == first
    view.show_filters(_copied_convs(mnist_cnn, scale=2.0))
    assert len(drawn) == 2 * first
    np.testing.assert_array_equal(view.kernel.values, np.array(mnist_cnn["conv1"].params["W"])[0, 0] * 2.0)


def test_same_weights_compares_names_and_values(mnist_cnn):
    convs = _copied_convs(mnist_cnn)
    assert same_weights(convs, _copied_convs(mnist_cnn))
    assert not same_weights(convs, _copied_convs(mnist_cnn, scale=1.5))
    assert not same_weights(convs, convs[:1])
    renamed = (type(convs[0])(**{**convs[0].__dict__, "name": "other"}),) + convs[1:]
    assert not same_weights(convs, renamed)


def test_the_kernels_numbers_are_one_item_that_follows_new_weights(qtbot, mnist_cnn):
    view = FiltersView()
    qtbot.addWidget(view)
    view.show_filters(_copied_convs(mnist_cnn))
    items = list(view.kernel.box.addedItems)
    assert len(view.kernel.cell_values) == 25
    view.show_filters(_copied_convs(mnist_cnn, scale=-3.0))
    assert view.kernel.box.addedItems == items          # no item made or removed: new texts only
    weights = np.array(mnist_cnn["conv1"].params["W"])[0, 0] * -3.0
    assert view.kernel.cell_values == [f"{w:.2g}" for w in weights.ravel()]
    view.kernel.set_cell_values(None)
    assert view.kernel.cell_values == [] and view.kernel.box.addedItems == items


def test_axis_ticks_and_titles_are_set_only_when_they_change(qtbot, monkeypatch, mnist_cnn):
    view = FiltersView()
    qtbot.addWidget(view)
    view.show_filters(_copied_convs(mnist_cnn))
    view.layer_box.setCurrentIndex(1)                # 10 channels: the overview has axes
    axis = view.overview.plot.getAxis("left")
    ticks = _count_calls(monkeypatch, type(axis), "setTicks")
    titles = _count_calls(monkeypatch, type(axis), "setLabel")
    view.show_filters(_copied_convs(mnist_cnn, scale=0.5))
    assert ticks == [] and titles == []
    assert [text for _, text in view.overview.plot.getAxis("left")._tickLevels[0]][:2] == ["0", "2"]   # 20 filters: every 2nd


# -- activations ---------------------------------------------------------------------------------
def _sample(model, seed=0, index=0):
    x = np.random.default_rng(seed).random(model.input_shape).astype(np.float32)
    outputs = tuple((name, kind, frozen(np.array(values))) for name, kind, values in introspect.activations(model, x))
    return SampleView(source="eval", index=index, label=3, image=frozen(x), outputs=outputs,
                      probabilities=frozen(softmax(outputs[-1][2])))


def test_the_same_sample_twice_draws_the_maps_once(qtbot, monkeypatch, mnist_cnn):
    view = ActivationsView()
    qtbot.addWidget(view)
    view.complete()
    convs = introspect.conv_layers(mnist_cnn)
    view.show_sample(_sample(mnist_cnn), convs)
    view.complete()
    drawn = _count_calls(monkeypatch, ImagePanel, "set_values")
    view.show_sample(_sample(mnist_cnn), convs)     # equal values in new arrays
    assert drawn == []
    view.show_sample(_sample(mnist_cnn, seed=1), convs)
    maps = sum(1 for _, _, values in view.sample.outputs if values.ndim == 3)
    assert len(drawn) == maps
    np.testing.assert_array_equal(view.sample.image, _sample(mnist_cnn, seed=1).image)


def test_same_sample_looks_at_every_value(mnist_cnn):
    sample = _sample(mnist_cnn)
    assert same_sample(sample, _sample(mnist_cnn))
    assert not same_sample(sample, _sample(mnist_cnn, seed=1))
    assert not same_sample(sample, _sample(mnist_cnn, index=1))
    outputs = list(sample.outputs)
    name, kind, values = outputs[-2]
    changed = np.array(values)
    changed.flat[0] += 1.0
    outputs[-2] = (name, kind, frozen(changed))
    assert not same_sample(sample, SampleView(**{**sample.__dict__, "outputs": tuple(outputs)}))


# -- the progress line ---------------------------------------------------------------------------
def test_progress_is_redrawn_at_most_four_times_a_second(lab_window, monkeypatch):
    import gui.main_window as main_window

    window = lab_window()
    window.timer.stop()                               # the test drives the timer
    clock = [1000.0]
    monkeypatch.setattr(main_window.time, "monotonic", lambda: clock[0])
    painted = []
    monkeypatch.setattr(window, "_paint_progress", lambda: painted.append(window.latest_step.step))
    window.session = type("Run", (), {"total_steps": 100, "epochs": 2})()
    for step in range(1, 21):                         # 20 steps, 1/64 s apart
        window.latest_step = StepReport(epoch=1, step=step, batch=step, batches_per_epoch=50, loss=1.0,
                                        accuracy=0.5, seconds=0.01, lr=0.1)
        window._dirty.add("progress")
        window.repaint_views()
        clock[0] += 1 / 64
    assert painted == [1, 17]                         # at 0 s and at 0.25 s
    clock[0] += 0.5
    window.repaint_views()                            # the last step is drawn once it is due
    assert painted == [1, 17, 20]
    window.repaint_views()
    assert painted == [1, 17, 20]                     # nothing new: nothing drawn


# -- colour bars and the progress bar ------------------------------------------------------------
def test_a_colour_bar_is_drawn_anew_only_for_a_new_scale_or_size(qtbot):
    from gui.widgets.colorbar import ColorBar
    from gui.widgets.images import lookup_table

    bar = ColorBar()
    qtbot.addWidget(bar)
    bar.resize(60, 300)
    bar.set_scale((-1.0, 1.0), lookup_table("diverging"))
    first = bar.grab().toImage()
    assert bar.renders == 1
    bar.repaint()
    bar.set_scale((-1.0, 1.0), lookup_table("diverging"))      # the same scale again
    assert bar.grab().toImage() == first and bar.renders == 1
    bar.set_scale((-2.0, 2.0), lookup_table("diverging"))
    changed = bar.grab().toImage()
    assert bar.renders == 2 and changed != first and bar.labels() == ["-2", "-1", "0", "1", "2"]
    bar.resize(60, 200)
    assert bar.grab().toImage().height() == 200 and bar.renders == 3
    top, bottom = changed.pixelColor(8, 10), changed.pixelColor(8, 289)    # high end red, low end blue
    assert top.red() > top.blue() and bottom.blue() > bottom.red()


def test_the_progress_bar_paints_with_the_next_frame_not_at_once(qtbot):
    from PySide6 import QtCore, QtWidgets

    from gui.widgets.controls import FrameProgressBar

    class Paints(QtCore.QObject):
        count = 0

        def eventFilter(self, watched, event):
            if event.type() == QtCore.QEvent.Type.Paint:
                Paints.count += 1
            return False

    bar = FrameProgressBar()
    qtbot.addWidget(bar)
    bar.setRange(0, 100)
    bar.show()
    qtbot.waitExposed(bar)
    QtWidgets.QApplication.processEvents()
    watcher = Paints()
    bar.installEventFilter(watcher)
    before = Paints.count
    for value in (10, 20, 30):
        bar.setValue(value)
    assert Paints.count == before                      # a plain QProgressBar paints three times here
    qtbot.waitUntil(lambda: Paints.count > before, timeout=2000)
    assert bar.value() == 30 and bar.text() == "30%"


def test_a_new_scale_never_narrows_the_colour_bar(qtbot):
    """Narrower numbers keep the bar's width: a bar that followed them laid its panel out again
    and resized the image beside it (which then painted twice)."""
    from gui.widgets.colorbar import ColorBar
    from gui.widgets.images import lookup_table

    bar = ColorBar()
    qtbot.addWidget(bar)
    bar.set_scale((-0.123, 0.123), lookup_table("diverging"))
    wide = bar.sizeHint().width()
    bar.set_scale((-1.0, 1.0), lookup_table("diverging"))
    assert bar.sizeHint().width() == wide
    bar.set_scale((-12345.0, 12345.0), lookup_table("diverging"))
    assert bar.sizeHint().width() > wide                      # wider numbers get their room


def test_a_new_picture_of_the_same_size_paints_its_view_once(qtbot, monkeypatch):
    from pyqtgraph.graphicsItems.ImageItem import ImageItem
    from PySide6 import QtWidgets

    paints = _count_calls(monkeypatch, ImageItem, "paint")     # before the item exists (Qt looks it up once)
    panel = ImagePanel(colormap="diverging", colorbar=True, fixed_height=240)
    qtbot.addWidget(panel)
    panel.resize(500, 300)
    panel.show()
    qtbot.waitExposed(panel)
    rng = np.random.default_rng(0)
    panel.set_values(rng.normal(size=(60, 60)), (-0.123, 0.123), "diverging")
    panel.set_tile_labels([(0, 0), (0, 30)], ["0", "1"])
    for _ in range(5):
        QtWidgets.QApplication.processEvents()
    for scale in (1.0, 2.0, 0.5):
        before = len(paints)
        panel.set_values(rng.normal(size=(60, 60)) * scale, (-0.1 * scale, 0.1 * scale), "diverging")
        for _ in range(5):
            QtWidgets.QApplication.processEvents()
        assert len(paints) - before == 1


# -- curves --------------------------------------------------------------------------------------
def test_epoch_and_rate_lines_are_added_once_and_kept(qtbot):
    from gui.widgets.curves import CurvesView

    view = CurvesView()
    qtbot.addWidget(view)
    lr = 0.01
    for step in range(1, 26):
        if step == 18:
            lr = 0.001
        view.add_step(step, 1.0 / step, 0.5, lr=lr)
        if step % 10 == 0:
            view.add_epoch(step, 0.5, 0.5)
        view.refresh(force=True)
        if step == 15:
            first_epoch_line = view.epoch_lines[0]
    assert [line.value() for line in view.epoch_lines] == [10.5, 20.5]
    assert view.epoch_lines[0] is first_epoch_line            # kept, not drawn again
    assert [line.value() for line in view.lr_lines] == [17.5]
    lr_line = view.lr_lines[0]
    for step in range(26, 32):
        view.add_step(step, 1.0 / step, 0.5, lr=lr)
        view.refresh(force=True)
    assert view.epoch_lines[:2] == [first_epoch_line, view.epoch_lines[1]] and view.lr_lines == [lr_line]
    i18n.set_language("ko")
    view.retranslate()                                          # new labels: new lines
    assert view.epoch_lines[0] is not first_epoch_line and view.epoch_lines[0].label.toPlainText() == "에폭 2"
    items = [item for item in view.plot_item.items if item.__class__.__name__ == "InfiniteLine"]
    assert len(items) == 3                                      # the old ones are gone from the plot
    view.clear()
    assert view.epoch_lines == [] and view.lr_lines == []


# -- images ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("colormap, rgb", [("grey", False), ("viridis", False), ("diverging", True)])
def test_a_picture_is_kept_in_the_format_painted_fastest_with_the_same_colours(qtbot, colormap, rgb):
    from PySide6 import QtGui

    from cyconv.lab import render
    from gui.widgets.images import lookup_table

    panel = ImagePanel(colormap=colormap)
    qtbot.addWidget(panel)
    values = np.random.default_rng(3).normal(size=(7, 9))
    if rgb:
        panel.set_values(values, (-2.0, 2.0), colormap)
        expected = np.rint(render.colorize(values, (-2.0, 2.0), lookup_table(colormap)) * 255)
    else:
        image = np.clip(values / 4 + 0.5, 0, 1)
        panel.set_image(image)
        expected = lookup_table(colormap)[np.clip((image * 256).astype(int), 0, 255)]
    panel.item.render()
    qimage = panel.item.qimage
    assert qimage.format() == QtGui.QImage.Format.Format_ARGB32_Premultiplied
    drawn = np.array([[qimage.pixelColor(col, row).getRgb()[:3] for col in range(9)] for row in range(7)])
    np.testing.assert_allclose(drawn, expected, atol=1)


def test_panels_built_while_hidden_are_drawn_not_built_again_when_shown(qtbot, monkeypatch, mnist_cnn):
    view = ActivationsView()
    qtbot.addWidget(view)
    drawn = _count_calls(monkeypatch, ImagePanel, "set_values")
    sample = _sample(mnist_cnn)
    view.prepare(sample)
    qtbot.waitUntil(lambda: len(view.panels) == len(sample.outputs), timeout=3000)
    assert drawn == [] and view.sample is None                 # built, nothing drawn
    panels = list(view.panels)
    view.prepare(_sample(mnist_cnn, seed=1))                   # the same layout: nothing to do
    assert view.panels == panels
    view.show_sample(sample, introspect.conv_layers(mnist_cnn))
    assert view.panels == panels                               # drawn in the panels already there
    maps = sum(1 for _, _, values in sample.outputs if values.ndim == 3)
    assert len(drawn) == maps
    np.testing.assert_array_equal(view.panels[0].values, view._pictures[0].values)
    shorter = SampleView(**{**sample.__dict__, "outputs": sample.outputs[:3]})
    view.prepare(shorter)                                      # another layout: its own panels
    qtbot.waitUntil(lambda: len(view.panels) == 3, timeout=3000)
    assert all(panel not in panels for panel in view.panels) and view.sample is None


def test_validation_points_are_set_only_when_an_epoch_adds_one(qtbot, monkeypatch):
    from gui.widgets.curves import CurvesView

    view = CurvesView()
    qtbot.addWidget(view)
    calls = []
    original = view.val_loss.setData
    monkeypatch.setattr(view.val_loss, "setData", lambda *a, **k: calls.append(a) or original(*a, **k))
    for step in range(1, 21):
        view.add_step(step, 1.0 / step, 0.5)
        if step in (10, 20):
            view.add_epoch(step, 0.4 if step == 10 else 0.3, 0.6)
        view.refresh(force=True)
    assert len(calls) == 2                                    # one per epoch, not one per redraw
    xs, ys = view.val_loss.getData()
    assert list(xs) == [10.0, 20.0] and list(ys) == [0.4, 0.3]
    view.clear()                                              # a new run starts with none drawn
    xs, _ = view.val_loss.getData()
    assert xs is None or len(xs) == 0
