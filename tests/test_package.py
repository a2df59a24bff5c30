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


STEP_FAULTS = """
import resource, numpy as np, cyconv
from cyconv import losses, optim, presets
cyconv.set_num_threads(1)
model = presets.build("mnist_cnn")
# Unfused: the fused ReLU → MaxPool2D allocates so much less that glibc's own adaptive
# threshold sometimes keeps a step fault-free too, and the "off" case would measure nothing.
model.fuse = False
x = np.random.default_rng(0).standard_normal((64, 1, 28, 28)).astype(np.float32)
y = np.arange(64) % 10
loss, sgd = losses.SoftmaxCrossEntropy(), optim.SGD(model.parameters(), lr=0.01)
def step():
    loss.forward(model.forward(x), y); model.backward(loss.backward()); sgd.step()
def faults_of_one_step():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    step()
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
for _ in range(10):
    step()
print(int(np.median([faults_of_one_step() for _ in range(10)])), cyconv.malloc_tuning()[1])
"""


def _glibc():
    import ctypes
    try:
        return hasattr(ctypes.CDLL(None), "gnu_get_libc_version")
    except OSError:
        return False


@pytest.mark.skipif(not (sys.platform.startswith("linux") and _glibc()),
                    reason="the malloc settings exist only on glibc")
@pytest.mark.parametrize("setting, expected", [(None, "on"), ("0", "off")], ids=["default", "off"])
def test_training_steps_reuse_the_heap_instead_of_faulting_pages_in(setting, expected):
    # With glibc's defaults each mnist_cnn step at batch 64 faulted ~700 fresh pages in (about
    # a quarter of its time); with cyconv's settings a warm step faults none.
    env = {} if setting is None else {"CYCONV_MALLOC_TUNING": setting}
    result = run_python(STEP_FAULTS, **env)
    assert result.returncode == 0, result.stderr
    faults, reason = result.stdout.split(maxsplit=1)
    assert reason.startswith(expected)
    if expected == "on":
        assert int(faults) < 20
    else:
        assert int(faults) > 200    # the cost the setting removes is real on this libc
