"""How many threads the kernels use, and keeping BLAS to one level of parallelism.

cyconv parallelises over the batch with OpenMP and calls BLAS from inside those threads, so the
BLAS that ``scipy.linalg.cython_blas`` links (SciPy's own OpenBLAS) must stay single-threaded:
two nested levels of threads on two cores oversubscribe and spin against each other.
NumPy's BLAS is a different library and is left alone.
"""
import os

import threadpoolctl

_num_threads = None
_blas_pinned = False


def _available_cores():
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def set_num_threads(n):
    """Use ``n`` OpenMP threads over the batch in every kernel (1 gives bit-reproducible runs)."""
    global _num_threads
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"set_num_threads: n must be an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"set_num_threads: n must be at least 1, got {n}")
    _num_threads = n


def get_num_threads():
    """The thread count the kernels use: set_num_threads(), else $CYCONV_NUM_THREADS, else all cores."""
    if _num_threads is not None:
        return _num_threads
    from_env = os.environ.get("CYCONV_NUM_THREADS", "")
    if from_env.isdigit() and int(from_env) > 0:
        return int(from_env)
    return _available_cores()


def pin_scipy_blas_to_one_thread():
    """Limit SciPy's OpenBLAS (the one cython_blas calls) to 1 thread, once per process."""
    global _blas_pinned
    if _blas_pinned:
        return
    import scipy.linalg.cython_blas  # noqa: F401  (loads the library so threadpoolctl can see it)

    controller = threadpoolctl.ThreadpoolController()
    scipy_blas = [lib for lib in controller.lib_controllers
                  if lib.user_api == "blas" and "scipy.libs" in lib.filepath.replace(os.sep, "/")
                  or (lib.user_api == "blas" and "/scipy/" in lib.filepath.replace(os.sep, "/"))]
    for lib in scipy_blas:
        lib.set_num_threads(1)
    _blas_pinned = True
