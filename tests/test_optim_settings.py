"""Every optimizer hyper-parameter is checked on every assignment, with one clear message."""
import math

import numpy as np
import pytest

from cyconv import optim


def _parameters():
    weight = np.ones((2, 3), np.float32)
    return [("dense.W", weight, np.zeros_like(weight))]


# (optimizer class, setting): every hyper-parameter each optimizer has, grouped by its rule.
_RATES = [(cls, "lr") for cls in (optim.SGD, optim.Momentum, optim.AdaGrad, optim.RMSprop, optim.Adam)]
_EPSILONS = [(cls, "eps") for cls in (optim.AdaGrad, optim.RMSprop, optim.Adam)]
_DECAYS = [(optim.Momentum, "momentum"), (optim.RMSprop, "rho"), (optim.Adam, "beta1"),
           (optim.Adam, "beta2"), (optim.Adam, "momentum")]
_POSITIVE_BAD = [0, 0.0, -1e-3, math.inf, -math.inf, math.nan]
_DECAY_BAD = [-1, -1e-9, 1, 1.0, 1.5, math.inf, math.nan]
_NOT_NUMBERS = [True, False, np.True_, "0.1", None, [0.1], 1j]


def _ids(cases):
    return [f"{cls.__name__}.{setting}" for cls, setting in cases]


@pytest.mark.parametrize("cls, setting", _RATES + _EPSILONS, ids=_ids(_RATES + _EPSILONS))
@pytest.mark.parametrize("bad", _POSITIVE_BAD, ids=repr)
def test_positive_settings_refuse_zero_negative_and_non_finite(cls, setting, bad):
    message = rf"{cls.__name__}: {setting} must be a finite number > 0, got {bad!r}"
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        cls(_parameters(), **{setting: bad})


@pytest.mark.parametrize("cls, setting", _DECAYS, ids=_ids(_DECAYS))
@pytest.mark.parametrize("bad", _DECAY_BAD, ids=repr)
def test_decay_rates_must_lie_in_zero_to_one(cls, setting, bad):
    label = "beta1" if setting == "momentum" and cls is optim.Adam else setting
    optimizer = cls(_parameters(), lr=0.1)
    with pytest.raises(ValueError, match=rf"{cls.__name__}: {label} must be in \[0, 1\), got "):
        setattr(optimizer, setting, bad)


@pytest.mark.parametrize("cls, setting", _RATES + _EPSILONS + _DECAYS,
                         ids=_ids(_RATES + _EPSILONS + _DECAYS))
@pytest.mark.parametrize("bad", _NOT_NUMBERS, ids=repr)
def test_non_numbers_and_bools_are_type_errors(cls, setting, bad):
    optimizer = cls(_parameters(), lr=0.1)
    with pytest.raises(TypeError, match=rf"{cls.__name__}: \w+ must be a number, got "):
        setattr(optimizer, setting, bad)


def test_the_reported_cases_are_refused():
    with pytest.raises(ValueError, match=r"Adam: eps must be a finite number > 0, got inf"):
        optim.Adam(_parameters(), eps=math.inf)
    with pytest.raises(ValueError, match=r"RMSprop: rho must be in \[0, 1\), got -1"):
        optim.RMSprop(_parameters(), rho=-1)


def test_a_refused_assignment_keeps_the_previous_value():
    optimizer = optim.Adam(_parameters(), lr=0.01, beta2=0.99)
    with pytest.raises(ValueError):
        optimizer.lr = -1
    with pytest.raises(ValueError):
        optimizer.beta2 = 1.0
    assert (optimizer.lr, optimizer.beta2) == (0.01, 0.99)


@pytest.mark.parametrize("cls, setting", _RATES + _EPSILONS + _DECAYS,
                         ids=_ids(_RATES + _EPSILONS + _DECAYS))
@pytest.mark.parametrize("good", [0.5, np.float32(0.25), np.float64(0.125)], ids=repr)
def test_numpy_and_python_numbers_in_range_are_accepted_as_floats(cls, setting, good):
    optimizer = cls(_parameters(), lr=0.1)
    setattr(optimizer, setting, good)
    assert getattr(optimizer, setting) == float(good)
    assert type(getattr(optimizer, setting)) is float


def test_whole_numbers_are_fine_where_the_range_allows_them():
    optimizer = optim.SGD(_parameters(), lr=1)
    assert optimizer.lr == 1.0
    assert optim.Momentum(_parameters(), momentum=0).momentum == 0.0


@pytest.mark.parametrize("bad", [1, "yes", None, 0.0], ids=repr)
def test_nesterov_must_be_a_bool(bad):
    with pytest.raises(TypeError, match=r"Momentum: nesterov must be True or False, got "):
        optim.Momentum(_parameters(), nesterov=bad)


def test_load_state_dict_checks_the_saved_settings_too():
    optimizer = optim.RMSprop(_parameters())
    state = optimizer.state_dict()
    state["hyperparameters"]["lr"] = math.nan
    with pytest.raises(ValueError, match=r"RMSprop: lr must be a finite number > 0, got nan"):
        optimizer.load_state_dict(state)


@pytest.mark.parametrize("bad", [None, 3, ["sgd"], "SGD"], ids=repr)
def test_make_names_the_optimizers_it_knows(bad):
    with pytest.raises(ValueError, match=r"unknown optimizer .* use one of \('sgd'"):
        optim.make(bad, _parameters(), lr=0.1)


def test_valid_settings_still_train():
    weight = np.ones((2,), np.float64)
    grad = np.full_like(weight, 0.5)
    optimizer = optim.Adam([("w", weight, grad)], lr=0.1, beta1=0.0, beta2=0.0, eps=1e-12)
    optimizer.step()
    # with both running means at the latest gradient, Adam's step is lr * sign(g)
    np.testing.assert_allclose(weight, 0.9, rtol=1e-9)
