"""Promises of the package as a whole, checked in fresh interpreters."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_python(code, **env):
    full_env = dict(os.environ)
    full_env.pop("OMP_WAIT_POLICY", None)     # each test sets it or wants the default
    full_env.update(env)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=120)


def test_the_library_never_imports_qt():
    code = ("import sys, cyconv, cyconv.train, cyconv.data, cyconv.io, cyconv.export, "
            "cyconv.cli, cyconv.introspect, cyconv.gradcheck\n"
            "qt = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('PySide6', 'PyQt5', 'PyQt6', 'pyqtgraph', 'shiboken6'))\n"
            "print(qt)")
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("given, expected", [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")],
                         ids=["default", "user-choice-kept"])
def test_omp_wait_policy_is_passive_unless_the_user_chose(given, expected):
    env = {} if given is None else {"OMP_WAIT_POLICY": given}
    result = run_python("import os, cyconv; print(os.environ['OMP_WAIT_POLICY'])", **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_scipy_blas_runs_single_threaded_inside_the_kernels():
    code = ("import cyconv.functional, threadpoolctl\n"
            "libs = [i for i in threadpoolctl.threadpool_info() if 'scipy.libs' in i['filepath']"
            " or '/scipy/' in i['filepath']]\n"
            "print(sorted({i['num_threads'] for i in libs}))")
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[1]"
