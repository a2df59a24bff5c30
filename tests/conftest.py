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


@pytest.fixture(autouse=True)
def widgets_of_earlier_tests_deleted(request):
    """Before a Qt test: delete the widgets earlier tests closed, and collect the garbage, here
    where no Qt call is on the stack. Left to a later garbage collection, a window's wrapper
    could be freed inside a Qt call that holds a signal lock (a pyqtgraph item disconnecting
    from its view), and the window's destructor then waited on that lock for ever."""
    if "qtbot" in request.fixturenames:
        import gc

        from PySide6 import QtCore

        QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
        gc.collect()
    yield


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


#: The small network the lab-window tests train: conv 4@5×5, ReLU, pool, dense 10 (28×28 input).
TINY_LAYERS = [{"type": "Conv2D", "out_channels": 4, "kernel_size": [5, 5]}, {"type": "ReLU"},
               {"type": "MaxPool2D", "kernel_size": [2, 2]}, {"type": "Flatten"},
               {"type": "Dense", "out_features": 10}]


@pytest.fixture
def english():
    """The texts in English during the test and after it (a test may switch languages)."""
    from cyconv.lab import i18n

    i18n.set_language("en")
    yield
    i18n.set_language("en")


@pytest.fixture
def lab_window(qtbot, tmp_path):
    """make(**settings) -> a shown lab window with TINY_LAYERS and a small synthetic run typed
    into its controls (English, its own preferences file); every window made is closed after."""
    from PySide6 import QtCore

    from cyconv.lab import i18n
    from gui.main_window import MainWindow

    made = []

    def make(*, n_train=200, n_eval=40, batch=20, epochs=2, optimizer="momentum", lr="0.05"):
        i18n.set_language("en")
        preferences = QtCore.QSettings(str(tmp_path / "prefs.ini"), QtCore.QSettings.Format.IniFormat)
        window = MainWindow(preset="mnist_cnn", preferences=preferences)
        qtbot.addWidget(window)
        window.editor.set_network((1, 28, 28), TINY_LAYERS)
        controls = window.controls
        for box, value in ((controls.n_train, n_train), (controls.n_eval, n_eval), (controls.batch, batch),
                           (controls.epochs, epochs)):
            box.setValue(value)
        controls.optimizer.setCurrentText(optimizer)
        controls.lr.setText(lr)
        window.show()
        made.append(window)
        return window

    yield make
    for window in made:
        window.close()
    i18n.set_language("en")
