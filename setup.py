"""Build the Cython kernels; everything else about the package is in pyproject.toml.

Environment switches:
  CYCONV_DEBUG_CYTHON=1  bounds and wraparound checks on, -O0 -g: the suite runs on this build
                         in CI so that a shape bug shows as an IndexError, not as corrupt memory.
  CYCONV_NO_OPENMP=1     build without OpenMP even when the compiler supports it.
  CYCONV_EXTENSIONS=a,b  build only these kernel modules (handy while working on one kernel).
"""
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

KERNELS_DIR = Path("cyconv") / "_kernels"
DEBUG = os.environ.get("CYCONV_DEBUG_CYTHON", "") not in ("", "0")


def compiler_accepts_openmp():
    """Compile and link a tiny OpenMP program; only then add -fopenmp (clang on macOS lacks it)."""
    if os.environ.get("CYCONV_NO_OPENMP", "") not in ("", "0"):
        return False
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return False
    source = "#include <omp.h>\nint main(void){return omp_get_max_threads() > 0 ? 0 : 1;}\n"
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "omp_test.c"
        src.write_text(source)
        result = subprocess.run([cc, "-fopenmp", str(src), "-o", str(Path(tmp) / "omp_test")],
                                capture_output=True)
        return result.returncode == 0


def kernel_extensions(openmp):
    wanted = {name for name in os.environ.get("CYCONV_EXTENSIONS", "").split(",") if name}
    compile_args = ["-O0", "-g"] if DEBUG else ["-O3"]
    # Release builds link stripped (-s): Python's CFLAGS carry -g, and the debug info made each
    # kernel about 1.5 MB instead of 0.3 MB. The debug build keeps it for gdb. GNU ld only.
    link_args = ["-s"] if not DEBUG and sys.platform.startswith("linux") else []
    if openmp:
        compile_args.append("-fopenmp")
        link_args.append("-fopenmp")
    extensions = []
    for pyx in sorted(KERNELS_DIR.glob("*.pyx")):
        if wanted and pyx.stem not in wanted:
            continue
        extensions.append(Extension(
            f"cyconv._kernels.{pyx.stem}",
            [str(pyx)],
            include_dirs=[numpy.get_include()],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"),
                           ("CYCONV_DEBUG_BUILD", "1" if DEBUG else "0")],
            extra_compile_args=compile_args,
            extra_link_args=link_args,
        ))
    return extensions


# Directives live here, once, not in each .pyx file.
DIRECTIVES = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": not DEBUG,
    "nonecheck": DEBUG,
    "embedsignature": True,
}

OPENMP = compiler_accepts_openmp()
if not OPENMP:
    print("cyconv: building without OpenMP (kernels run on one thread)", file=sys.stderr)

setup(
    ext_modules=cythonize(
        kernel_extensions(OPENMP),
        compiler_directives=DIRECTIVES,
        # Separate folders: a debug build must never reuse C generated with checks off.
        build_dir=os.path.join("build", "cython-debug" if DEBUG else "cython-release"),
    ),
)
