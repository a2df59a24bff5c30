"""Shared pytest fixtures for cyconv.

The Qt platform must be chosen before any Qt module is imported, so it is set here, at
import time: the GUI tests run headless ("offscreen") unless the caller chose a platform.
"""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The app remembers the language in the user's Qt settings: the tests get their own, empty
# folder, so a test that chose Korean never changes the language another test starts in.
os.environ["XDG_CONFIG_HOME"] = __import__("tempfile").mkdtemp(prefix="cyconv-test-config-")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def seed():
    """The seed every random test starts from, so a failure reproduces."""
    return 0


@pytest.fixture
def rng(seed):
    """A fresh numpy Generator seeded with `seed`."""
    return np.random.default_rng(seed)


@pytest.fixture(params=[1, 2], ids=["1thread", "2threads"])
def threads(request, monkeypatch):
    """Run a kernel test on 1 and on 2 threads."""
    import cyconv
    from cyconv import _plans

    # Small calls normally run on one thread (waking a second costs more than it saves);
    # the tests want the parallel code paths on their small arrays too.
    monkeypatch.setattr(_plans, "_WORK_PER_EXTRA_THREAD", 1)
    before = cyconv.get_num_threads()
    cyconv.set_num_threads(request.param)
    yield request.param
    cyconv.set_num_threads(before)


@pytest.fixture
def isolated_data(tmp_path, monkeypatch):
    """No real cache, no $CYCONV_DATA, no system folders and no network for cyconv.data."""
    from cyconv.data import sources

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var in ("XDG_CACHE_HOME", "CYCONV_DATA", "CYCONV_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(sources, "SYSTEM_DATA_DIRS", (tmp_path / "system",))

    def no_network(url, out):
        raise AssertionError(f"a test tried to download {url}")

    monkeypatch.setattr(sources, "default_downloader", no_network)
