"""Thread counts: refused or clamped with one clear line, never a libgomp abort."""
import os
import subprocess
import sys

import pytest

import cyconv
from cyconv import _threads


@pytest.fixture(autouse=True)
def _restore_thread_setting(monkeypatch):
    saved = _threads._num_threads
    monkeypatch.setattr(_threads, "_warned_env", set())
    yield
    _threads._num_threads = saved


def test_the_cap_is_four_per_cpu_but_at_least_64(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert _threads.max_threads() == 64
    monkeypatch.setattr(os, "cpu_count", lambda: 40)
    assert _threads.max_threads() == 160
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert _threads.max_threads() == 64


@pytest.mark.parametrize("n", [0, -1, 10**6])
def test_set_num_threads_refuses_counts_outside_the_range_and_names_it(n):
    with pytest.raises(ValueError, match=rf"n must be from 1 to {_threads.max_threads()} .*got {n}"):
        cyconv.set_num_threads(n)


@pytest.mark.parametrize("n", [2.0, "4", True, None])
def test_set_num_threads_refuses_non_ints(n):
    with pytest.raises(TypeError, match="n must be an int"):
        cyconv.set_num_threads(n)


def test_set_num_threads_accepts_the_cap_itself():
    cyconv.set_num_threads(_threads.max_threads())
    assert cyconv.get_num_threads() == _threads.max_threads()
    cyconv.set_num_threads(1)
    assert cyconv.get_num_threads() == 1


def test_absurd_cyconv_num_threads_is_clamped_with_one_warning(monkeypatch):
    monkeypatch.setattr(_threads, "_num_threads", None)
    monkeypatch.setenv("CYCONV_NUM_THREADS", "1000000")
    with pytest.warns(RuntimeWarning, match=rf"CYCONV_NUM_THREADS=1000000 is more than "
                                            rf"{_threads.max_threads()} threads"):
        assert cyconv.get_num_threads() == _threads.max_threads()


@pytest.mark.parametrize("text", ["many", "0", "-3", "2.5"])
def test_a_cyconv_num_threads_that_is_no_count_falls_back_to_all_cores(monkeypatch, text):
    monkeypatch.setattr(_threads, "_num_threads", None)
    monkeypatch.setenv("CYCONV_NUM_THREADS", text)
    with pytest.warns(RuntimeWarning, match="is not a positive whole number"):
        assert cyconv.get_num_threads() == _threads._available_cores()


@pytest.mark.parametrize("value, expected", [("100000", "CAP"), ("4,100000", "4,CAP"), ("3", "3"),
                                             ("2,1", "2,1")])
def test_omp_num_threads_is_clamped_to_the_cap(monkeypatch, value, expected):
    monkeypatch.setenv("OMP_NUM_THREADS", value)
    expected = expected.replace("CAP", str(_threads.max_threads()))
    if expected == value:
        _threads.clamp_omp_environment()
    else:
        with pytest.warns(RuntimeWarning, match=rf"OMP_NUM_THREADS={value} asks for more than"):
            _threads.clamp_omp_environment()
    assert os.environ["OMP_NUM_THREADS"] == expected


@pytest.mark.parametrize("value", ["lots", "", "4,,2", "0"])
def test_an_omp_num_threads_that_is_no_list_of_counts_is_removed(monkeypatch, value):
    monkeypatch.setenv("OMP_NUM_THREADS", value)
    with pytest.warns(RuntimeWarning, match="is not a list of positive whole numbers"):
        _threads.clamp_omp_environment()
    assert "OMP_NUM_THREADS" not in os.environ


def test_importing_cyconv_with_an_absurd_omp_num_threads_warns_and_computes():
    script = (
        "import os, numpy as np, cyconv\n"
        "from cyconv import functional as F\n"
        "x = np.ones((64, 3, 16, 16), np.float32); w = np.ones((8, 3, 3, 3), np.float32)\n"
        "out, _ = F.conv2d_forward(x, w, np.zeros(8, np.float32), stride=1, padding=0)\n"
        "print(os.environ['OMP_NUM_THREADS'], float(out[0, 0, 0, 0]))\n"
    )
    env = dict(os.environ, OMP_NUM_THREADS="2000000", CYCONV_NUM_THREADS="2")
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(_threads.max_threads()), "27.0"]
    assert "OMP_NUM_THREADS=2000000 asks for more than" in done.stderr
