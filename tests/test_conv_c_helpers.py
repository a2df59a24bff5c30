"""The few lines of C in the convolution kernel (_conv2d.pyx): its GCC/Clang vector helpers and
the plain-C branch other compilers get, each built standalone and checked against NumPy."""
import ast
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

PYX = Path(__file__).resolve().parents[1] / "cyconv" / "_kernels" / "_conv2d.pyx"
COMPILER = shutil.which("cc") or shutil.which("gcc")

HARNESS = r"""
#include <stddef.h>
#include <stdio.h>
typedef ptrdiff_t Py_ssize_t;
%s
int main(void) {
    float f[40]; double d[40]; float fd[8]; double dd[8];
    for (int i = 0; i < 40; ++i) { f[i] = (float)(i * 0.5 - 3.0); d[i] = i * 0.25 - 2.0; }
    for (int m = 0; m <= 40; ++m) printf("%%d %%.9g %%.17g\n", m, cyconv_sumf(f, m), cyconv_sumd(d, m));
    for (int k = 0; k < 8; ++k) { fd[k] = (float)k; dd[k] = k; }
    cyconv_add8f(fd, f + 3); cyconv_add8d(dd, d + 5);
    for (int k = 0; k < 8; ++k) printf("add %%.9g %%.17g\n", fd[k], dd[k]);
    return 0;
}
"""


def _c_block():
    text = PYX.read_text(encoding="utf-8")
    body = re.search(r'cdef extern from \*:\n    """(.*?)\n    """', text, re.S).group(1)
    return ast.literal_eval('"""' + body + '"""')        # as Cython reads the string


@pytest.mark.skipif(COMPILER is None, reason="no C compiler")
@pytest.mark.parametrize("branch", ["vector", "plain"])
def test_the_c_helpers_sum_and_add_like_numpy(branch, tmp_path):
    source = tmp_path / "helpers.c"
    source.write_text(HARNESS % _c_block())
    program = tmp_path / "helpers"
    flags = ["-DCYCONV_PLAIN_C"] if branch == "plain" else []
    subprocess.run([COMPILER, "-O2", "-std=c99", *flags, str(source), "-o", str(program)], check=True)
    lines = subprocess.run([str(program)], check=True, capture_output=True, text=True).stdout.splitlines()
    f = (np.arange(40) * 0.5 - 3.0).astype(np.float32)
    d = np.arange(40) * 0.25 - 2.0
    for line in lines[:41]:
        m, total_f, total_d = line.split()
        m = int(m)
        np.testing.assert_allclose(float(total_f), f[:m].astype(np.float64).sum(), atol=1e-4)
        np.testing.assert_allclose(float(total_d), d[:m].sum(), atol=1e-12)
    added = np.array([[float(v) for v in line.split()[1:]] for line in lines[41:]])
    np.testing.assert_allclose(added[:, 0], np.arange(8) + f[3:11])
    np.testing.assert_allclose(added[:, 1], np.arange(8) + d[5:13])
