"""The explainers' own NumPy step-through reproduces the seeds' worked numbers."""
import numpy as np
import pytest

from gui import explain
from gui.explain import FEATURE_MAP_4X4, FILTER_2X2, INPUT_4X4

SEED002_PAD1 = [[10, 27, 19, 61, 65], [50, 144, 66, 160, 208], [80, 247, 97, 95, 173],
                [70, 215, 121, 136, 86], [60, 177, 81, 148, 44]]


@pytest.mark.parametrize("stride, padding, expected", [
    (1, 0, [[144, 66, 160], [247, 97, 95], [215, 121, 136]]),
    (2, 0, [[144, 160], [215, 136]]),
    (1, 1, SEED002_PAD1),
], ids=["seed002-stride1", "seed002-stride2", "seed002-pad1"])
def test_seed002_convolution(stride, padding, expected):
    output, steps = explain.conv_steps(INPUT_4X4, FILTER_2X2, stride=stride, padding=padding)
    np.testing.assert_array_equal(output, expected)
    assert len(steps) == output.size


def test_first_step_shows_each_multiply_add():
    _, steps = explain.conv_steps(INPUT_4X4, FILTER_2X2)
    assert steps[0].formula() == "5×11 + 1×4 + 15×5 + 5×2 = 144"
    assert (steps[1].top, steps[1].left) == (0, 1)


def test_stride2_last_step_is_136_not_the_slides_316():
    _, steps = explain.conv_steps(INPUT_4X4, FILTER_2X2, stride=2)
    assert steps[-1].formula() == "4×11 + 6×4 + 12×5 + 4×2 = 136"


def test_seed003_binary_image():
    output, _ = explain.conv_steps(explain.BINARY_5X5_INPUT, explain.BINARY_5X5_FILTER)
    np.testing.assert_array_equal(output, [[4, 3, 4], [2, 4, 3], [2, 3, 4]])


def test_multichannel_partial_sums_add_up_with_bias(rng):
    x = rng.normal(size=(3, 5, 5))
    w = rng.normal(size=(3, 3, 3))
    step = explain.conv_step(x, w, 1, 2, bias=0.5, stride=1, padding=0)
    expected_parts = [(x[c, 1:4, 2:5] * w[c]).sum() for c in range(3)]
    np.testing.assert_allclose(step.partial_sums, expected_parts, rtol=1e-12)
    assert step.value == pytest.approx(sum(expected_parts) + 0.5, rel=1e-12)


@pytest.mark.parametrize("mode, corner", [("zeros", 0.0), ("replicate", 5.0), ("reflect", 5.0), ("circular", 4.0)],
                         ids=["zeros", "replicate", "reflect", "circular"])
def test_padding_modes_fill_the_corner(mode, corner):
    padded = explain.pad(INPUT_4X4, (1, 1, 1, 1), mode)
    assert padded.shape == (6, 6)
    assert padded[0, 0] == corner


@pytest.mark.parametrize("x, kind, expected", [
    (INPUT_4X4, "max", [[15, 13], [15, 12]]),
    (FEATURE_MAP_4X4, "max", [[5, 8], [-1, 7]]),
    (FEATURE_MAP_4X4, "avg", [[2, 3], [-4, 4]]),
    (FEATURE_MAP_4X4, "min", [[-2, 0], [-6, 2]]),
], ids=["seed002-input-max", "feature-map-max", "feature-map-avg", "feature-map-min"])
def test_seed002_pooling(x, kind, expected):
    output, steps = explain.pool_steps(x, kernel=2, kind=kind)
    np.testing.assert_array_equal(output, expected)
    assert len(steps) == 4


def test_max_pool_marks_the_winner_and_first_tie():
    _, steps = explain.pool_steps(np.array([[1.0, 3.0], [3.0, 0.0]]), kernel=2, kind="max")
    assert steps[0].picked == (0, 1)
    assert steps[0].formula("max") == "max(1, 3, 3, 0) = 3"


def test_overlapping_pool_alexnet_style():
    output, _ = explain.pool_steps(np.arange(25.0).reshape(5, 5), kernel=3, stride=2, kind="max")
    np.testing.assert_array_equal(output, [[12, 14], [22, 24]])


@pytest.mark.parametrize("call, message", [
    (lambda: explain.conv_steps(np.zeros((2, 2)), np.zeros((3, 3))), "larger than the padded input"),
    (lambda: explain.conv_steps(np.zeros((4, 4)), np.zeros((2, 2)), stride=0), "stride must be at least 1"),
    (lambda: explain.conv_step(np.zeros((2, 4, 4)), np.zeros((3, 2, 2)), 0, 0), "filter has 3 channels"),
    (lambda: explain.conv_step(np.zeros((4, 4)), np.zeros((2, 2)), 3, 0), "outside the 3x3 output"),
    (lambda: explain.pool_steps(np.zeros((4, 4)), kind="median"), "kind must be one of"),
    (lambda: explain.pad(np.zeros((2, 2)), (1, 1, 1, 1), "mirror"), "unknown padding_mode 'mirror'"),
    (lambda: explain.conv_steps(np.zeros((4, 4)), np.zeros((2, 2)), padding=-1), "padding cannot be negative"),
], ids=["kernel-too-big", "stride-zero", "channel-mismatch", "position-outside", "pool-kind", "pad-mode", "negative-pad"])
def test_bad_settings_raise_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
