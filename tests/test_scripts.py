"""The shell helpers the set-up, build and lab-kit scripts share (scripts/system-packages.sh)."""
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def shell(command):
    result = subprocess.run(["bash", "-c", f"source scripts/system-packages.sh; {command}"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize("given, expected", [
    ("test,lab", "test,lab"),
    ("test,lab,lab", "test,lab"),
    ("lab,test,lab,test", "lab,test"),
    ("lab", "lab"),
], ids=["distinct", "repeat-at-end", "repeats-interleaved", "one"])
def test_unique_extras_keeps_each_extra_once_in_order(given, expected):
    assert shell(f"unique_extras {given}") == expected


def test_every_script_parses():
    for name in ("setup.sh", "system-packages.sh", "build-wheel", "make-lab-kit", "lab-kit-install"):
        path = os.path.join(ROOT, "scripts", name)
        result = subprocess.run(["bash", "-n", path], capture_output=True, text=True)
        assert result.returncode == 0, f"{name}: {result.stderr}"
