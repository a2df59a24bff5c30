"""Pure-NumPy rendering and statistics helpers of the lab app (no Qt needed)."""
import math

import numpy as np
import pytest

from cyconv.lab import render
from gui import stats


class TestNormalize:
    def test_minmax_spans_zero_to_one(self):
        out = render.normalize(np.array([[2.0, 4.0], [6.0, 10.0]]))
        np.testing.assert_allclose(out, [[0.0, 0.25], [0.5, 1.0]], atol=1e-7)
        assert out.dtype == np.float32

    def test_symmetric_keeps_zero_at_half(self):
        out = render.normalize(np.array([-2.0, 0.0, 1.0]), symmetric=True)
        np.testing.assert_allclose(out, [0.0, 0.5, 0.75], atol=1e-7)

    @pytest.mark.parametrize("symmetric", [False, True], ids=["minmax", "symmetric"])
    def test_constant_maps_to_half(self, symmetric):
        np.testing.assert_array_equal(render.normalize(np.zeros((2, 3)), symmetric=symmetric), 0.5)

    @pytest.mark.parametrize("bad", [np.array([]), np.array([1.0, np.nan])], ids=["empty", "nan"])
    def test_rejects_bad_input(self, bad):
        with pytest.raises(ValueError, match="normalize"):
            render.normalize(bad)


class TestTile:
    @pytest.mark.parametrize("count, columns, expected", [(1, None, (1, 1)), (4, None, (2, 2)),
                                                          (5, None, (2, 3)), (10, 4, (3, 4)), (3, 8, (1, 3))],
                             ids=["one", "four", "five", "ten-in-4", "columns-capped"])
    def test_grid_shape(self, count, columns, expected):
        assert render.grid_shape(count, columns) == expected

    def test_places_each_map_and_fills_gaps(self):
        maps = np.arange(5 * 2 * 3, dtype=np.float32).reshape(5, 2, 3)
        image = render.tile(maps, columns=3, gap=1, fill=-1.0)
        assert image.shape == (2 * 3 - 1, 3 * 4 - 1)
        np.testing.assert_array_equal(image[0:2, 0:3], maps[0])
        np.testing.assert_array_equal(image[0:2, 8:11], maps[2])
        np.testing.assert_array_equal(image[3:5, 4:7], maps[4])
        np.testing.assert_array_equal(image[2, :], -1.0)       # gap row
        np.testing.assert_array_equal(image[3:5, 8:11], -1.0)  # empty last cell

    def test_rgb_tiles_keep_colour_axis(self):
        maps = np.random.default_rng(0).random((2, 3, 3, 3))
        image = render.tile(maps, gap=0)
        assert image.shape == (3, 6, 3)
        np.testing.assert_allclose(image[:, 3:], maps[1], atol=1e-7)

    def test_rejects_wrong_rank(self):
        with pytest.raises(ValueError, match=r"tile: expected maps"):
            render.tile(np.zeros((2, 2)))


def test_input_image_rgb_moves_channels_last(rng):
    x = rng.random((3, 4, 5))
    assert render.input_image(x).shape == (4, 5, 3)
    assert render.input_image(x[:1]).shape == (4, 5)


class TestConfusion:
    confusion = np.array([[3, 1, 0], [0, 0, 0], [2, 0, 2]])

    def test_rates_are_row_shares(self):
        np.testing.assert_allclose(render.confusion_rates(self.confusion),
                                   [[0.75, 0.25, 0], [0, 0, 0], [0.5, 0, 0.5]], atol=1e-7)

    def test_per_class_accuracy_nan_for_empty_class(self):
        acc = render.per_class_accuracy(self.confusion)
        np.testing.assert_allclose(acc[[0, 2]], [0.75, 0.5])
        assert math.isnan(acc[1])

    def test_rejects_non_square(self):
        with pytest.raises(ValueError, match="square"):
            render.confusion_rates(np.zeros((2, 3)))


class TestStats:
    def test_smooth_bias_corrected_first_value(self):
        out = stats.smooth([4.0, 4.0, 4.0], weight=0.9)
        np.testing.assert_allclose(out, [4.0, 4.0, 4.0], rtol=1e-12)

    def test_smooth_matches_the_recurrence(self):
        values = [1.0, 3.0, 2.0]
        ema, expected = 0.0, []
        for t, v in enumerate(values, start=1):
            ema = 0.5 * ema + 0.5 * v
            expected.append(ema / (1 - 0.5 ** t))
        np.testing.assert_allclose(stats.smooth(values, weight=0.5), expected, rtol=1e-12)
        np.testing.assert_allclose(stats.smooth(values, weight=0.0), values)

    @pytest.mark.parametrize("values, weight, message", [([1.0], 1.0, "weight"), ([1.0, np.nan], 0.5, "NaN")],
                             ids=["weight-one", "nan"])
    def test_smooth_rejects_bad_input(self, values, weight, message):
        with pytest.raises(ValueError, match=message):
            stats.smooth(values, weight=weight)

    def test_rate_meter(self):
        meter = stats.RateMeter(window=5)
        for t in (0.0, 0.5, 1.0):
            meter.tick(t)
        assert meter.rate() == pytest.approx(2.0)

    def test_rate_meter_counts_the_steps_of_a_batch_and_forgets_old_arrivals(self):
        meter = stats.RateMeter(window=3)
        meter.tick(0.0, 5)
        assert meter.rate() == 0.0                       # one arrival: no speed yet
        meter.tick(1.0, 30)
        meter.tick(2.0, 30)
        assert meter.rate() == pytest.approx(30.0)       # the first arrival's 5 steps were done at 0
        meter.tick(3.0, 90)                              # (0, 5) ages out of the window
        assert meter.rate() == pytest.approx(60.0)
        with pytest.raises(ValueError, match="steps"):
            meter.tick(4.0, 0)
        meter.reset()
        assert meter.rate() == 0.0

    @pytest.mark.parametrize("done, total, speed, expected", [(10, 30, 4.0, 5.0), (30, 30, 0.0, 0.0),
                                                              (0, 5, 0.0, math.inf)],
                             ids=["running", "finished", "unknown-speed"])
    def test_eta(self, done, total, speed, expected):
        assert stats.eta_seconds(done, total, speed) == expected

    @pytest.mark.parametrize("seconds, text", [(0, "0:00"), (75.4, "1:15"), (3725, "1:02:05"),
                                               (math.inf, "--:--")], ids=["zero", "minutes", "hours", "inf"])
    def test_format_duration(self, seconds, text):
        assert stats.format_duration(seconds) == text

    def test_ranked_mistakes_most_confident_first(self):
        labels = np.array([0, 1, 2, 0, 1])
        predictions = np.array([0, 2, 1, 1, 1])
        probabilities = np.array([[.9, .05, .05], [.1, .2, .7], [.3, .4, .3], [.05, .9, .05], [.1, .8, .1]])
        np.testing.assert_array_equal(stats.ranked_mistakes(labels, predictions, probabilities), [3, 1, 2])
        np.testing.assert_array_equal(stats.ranked_mistakes(labels, predictions, probabilities, limit=1), [3])


@pytest.mark.parametrize("position, expected", [((0, 0), (0, 0, 0)), ((4, 5), (4, 1, 1)), ((2, 0), None),
                                                ((3, 12), None), ((0, 8), (2, 0, 0)), ((0, 7), None)],
                         ids=["first", "last-tile", "gap-row", "empty-cell", "third-tile", "gap-column"])
def test_tile_hit_inverts_tile(position, expected):
    # 5 maps of 2x3 in 3 columns with gap 1, as in TestTile.test_places_each_map_and_fills_gaps
    maps = np.arange(5 * 2 * 3, dtype=np.float32).reshape(5, 2, 3)
    image = render.tile(maps, columns=3, gap=1, fill=-1.0)
    hit = render.tile_hit(*position, count=5, tile_hw=(2, 3), columns=3, gap=1)
    assert hit == expected
    if hit is not None:
        assert image[position] == maps[hit]


def test_lab_without_a_display_says_so_in_one_line(monkeypatch, capsys):
    from gui import app

    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(app.sys, "platform", "linux")
    assert app.main([]) == 2
    err = capsys.readouterr().err
    assert "no display found" in err and "--screenshot" in err and err.count("\n") == 1


def test_every_dataset_the_app_offers_has_an_english_and_a_korean_name():
    from cyconv import data
    from cyconv.lab import i18n

    before = i18n._current
    try:
        for name in data.DATASETS:
            i18n.set_language("en")
            english = i18n.tr(f"dataset.{name}")
            i18n.set_language("ko")
            assert i18n.tr(f"dataset.{name}") != english
    finally:
        i18n.set_language(before)
