import numpy as np
import pytest

from cyconv._arrays import read_only, softmax


def test_read_only_is_a_frozen_copy():
    source = np.arange(6, dtype=np.float32).reshape(2, 3)[:, ::2]
    frozen = read_only(source)
    assert frozen.flags.c_contiguous and not frozen.flags.writeable
    source[0, 0] = 99
    assert frozen[0, 0] == 0
    with pytest.raises(ValueError):
        frozen[0, 0] = 1


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_sums_to_one_along_axis(axis):
    logits = np.random.default_rng(0).standard_normal((3, 4))
    np.testing.assert_allclose(softmax(logits, axis=axis).sum(axis=axis), 1.0, rtol=1e-12)


def test_softmax_is_stable_for_large_scores():
    np.testing.assert_array_equal(softmax([1000.0, 0.0]), [1.0, 0.0])
    assert softmax(np.zeros(4)).tolist() == [0.25] * 4
