"""Shared pytest fixtures for cyconv.

The Qt platform must be chosen before any Qt module is imported, so it is set here, at
import time: the GUI tests run headless ("offscreen") unless the caller chose a platform.
"""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

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
