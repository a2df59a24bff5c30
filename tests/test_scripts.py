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


def make_fake_kit(folder):
    """A kit folder with the installer, one system package every Debian has, and no wheels."""
    (folder / "debs").mkdir(parents=True)
    (folder / "wheels").mkdir()
    (folder / "debs" / "WANTED").write_text("bash\n")
    install = folder / "install"
    install.write_bytes((open(os.path.join(ROOT, "scripts", "lab-kit-install"), "rb")).read())
    install.chmod(0o755)
    return install


def test_the_installer_leaves_a_folder_it_did_not_make_alone(tmp_path):
    install = make_fake_kit(tmp_path / "kit")
    home = tmp_path / "home"
    someone_elses = home / ".local" / "share" / "cyconv" / "venv"
    someone_elses.mkdir(parents=True)
    (someone_elses / "precious").write_text("keep me")
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    result = subprocess.run([str(install), "--user"], env=dict(env, HOME=str(home)),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"install: error: {someone_elses} exists and was not made by this installer; move it away first"]
    assert (someone_elses / "precious").read_text() == "keep me"


def test_the_installer_names_a_wrong_argument_in_one_line(tmp_path):
    install = make_fake_kit(tmp_path / "kit")
    result = subprocess.run([str(install), "--everything"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "install: error: unknown argument '--everything' (usage: install [--user])"]
