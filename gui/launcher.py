"""The `cyconv-lab` command: check that the lab's libraries load, then start gui.app.

`pip install cyconv` leaves out the lab extra (PySide6, pyqtgraph), and a machine may lack the
system libraries Qt loads (libEGL, libxkbcommon ...). Either way the user gets one line that
says what to install and exit status 2, never an ImportError traceback. This module imports
nothing of the app until the check has passed, so the check itself cannot fail on Qt.
"""
from __future__ import annotations

import importlib
import sys

INSTALL_LAB = 'pip install "cyconv[lab]"'
QT_SYSTEM_PACKAGES = "libegl1 libgl1 libglib2.0-0 libfontconfig1 libdbus-1-3 libxkbcommon0 libxkbcommon-x11-0"
# In import order: PySide6 itself, then the Qt modules whose import loads Qt's shared libraries
# (where a missing system library shows), then pyqtgraph, which needs a working Qt binding.
_CHECKS = (("PySide6", "package"), ("PySide6.QtCore", "qt"), ("PySide6.QtGui", "qt"),
           ("PySide6.QtWidgets", "qt"), ("pyqtgraph", "package"))


def missing_lab_message() -> str | None:
    """One line naming what to install when the lab cannot start; None when it can."""
    for name, kind in _CHECKS:
        try:
            importlib.import_module(name)
        except ImportError as error:
            if kind == "qt":
                return (f"cyconv-lab: Qt cannot load a system library ({error}); on Debian or Ubuntu "
                        f"install them with: sudo apt-get install {QT_SYSTEM_PACKAGES}")
            return (f"cyconv-lab: the lab app needs {name}, which is not installed; "
                    f"install the lab extra with: {INSTALL_LAB}")
    return None


def main(argv=None) -> int:
    problem = missing_lab_message()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    from gui.app import main as app_main

    return app_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
