"""`cyconv-lab` without the lab's libraries: one line saying what to install, exit status 2."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Setting sys.modules[name] = None makes `import name` raise ImportError, as if not installed.
LAUNCH = """
import sys
for name in {blocked!r}:
    sys.modules[name] = None
from gui.launcher import main
sys.exit(main({argv!r}))
"""


def launch(blocked, argv=("--help",)):
    code = LAUNCH.format(blocked=list(blocked), argv=list(argv))
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("blocked, named", [
    (["PySide6"], "PySide6"),
    (["pyqtgraph"], "pyqtgraph"),
], ids=["no-pyside6", "no-pyqtgraph"])
def test_a_missing_lab_package_gives_one_line_and_status_2(blocked, named):
    result = launch(blocked)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert named in lines[0]
    assert 'pip install "cyconv[lab]"' in lines[0]
    assert "Traceback" not in result.stderr


def test_qt_that_cannot_load_names_the_system_packages():
    result = launch(["PySide6.QtGui"])
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "apt-get install" in lines[0] and "libegl1" in lines[0]


def test_with_the_lab_installed_the_app_starts():
    pytest.importorskip("PySide6")
    result = launch([], argv=["--help"])
    assert result.returncode == 0, result.stderr
    assert "usage: cyconv-lab" in result.stdout


def test_the_lab_check_imports_no_part_of_the_app():
    code = ("import sys; import gui.launcher; "
            "print(sorted(m for m in sys.modules if m.startswith('gui.') and m != 'gui.launcher'))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_entry_points_go_through_the_check():
    from importlib.metadata import entry_points

    scripts = {ep.name: ep.value for ep in entry_points(group="gui_scripts")}
    assert scripts.get("cyconv-lab") == "gui.launcher:main"
    with open(os.path.join(ROOT, "gui", "__main__.py"), encoding="utf-8") as main_module:
        assert "from gui.launcher import main" in main_module.read()
