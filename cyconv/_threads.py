"""How many threads the kernels use, and keeping BLAS to one level of parallelism.

cyconv parallelises over the batch with OpenMP and calls BLAS from inside those threads, so the
BLAS that ``scipy.linalg.cython_blas`` links (SciPy's own OpenBLAS) must stay single-threaded:
two nested levels of threads on two cores oversubscribe and spin against each other.
NumPy's BLAS is a different library and is left alone.

Thread counts are capped (``max_threads()``): asking libgomp for tens of thousands of threads
makes it abort the whole process with no Python error. ``set_num_threads`` refuses more than
the cap; ``$CYCONV_NUM_THREADS`` and ``$OMP_NUM_THREADS`` above it are clamped with a warning
(the environment variable is fixed at import, before any OpenMP library reads it).
"""
import os
import warnings

import threadpoolctl

_num_threads = None
_blas_pinned = False
_warned_env = set()
# Below this, any count is plausible for a small machine; above it, a few threads per core.
_MIN_CAP = 64
_THREADS_PER_CORE = 4


def _available_cores():
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def max_threads():
    """The most threads cyconv will start: max(64, 4 x the CPUs of this machine)."""
    return max(_MIN_CAP, _THREADS_PER_CORE * (os.cpu_count() or 1))


def set_num_threads(n):
    """Use ``n`` OpenMP threads over the batch in every kernel (1 gives bit-reproducible runs).

    ``n`` is an int from 1 to ``max_threads()``; TypeError or ValueError otherwise.
    """
    global _num_threads
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"set_num_threads: n must be an int, got {type(n).__name__} {n!r}")
    if not 1 <= n <= max_threads():
        raise ValueError(f"set_num_threads: n must be from 1 to {max_threads()} (4 per CPU, at "
                         f"least 64), got {n}")
    _num_threads = n


def _warn_once(variable, message):
    if variable not in _warned_env:
        _warned_env.add(variable)
        warnings.warn(message, RuntimeWarning, stacklevel=3)


def _threads_from_env():
    """$CYCONV_NUM_THREADS as a count within the cap, or None when unset or not a count."""
    text = os.environ.get("CYCONV_NUM_THREADS", "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        _warn_once("CYCONV_NUM_THREADS", f"CYCONV_NUM_THREADS={text!r} is not a positive whole "
                   "number; using all cores")
        return None
    if int(text) > max_threads():
        _warn_once("CYCONV_NUM_THREADS", f"CYCONV_NUM_THREADS={text} is more than "
                   f"{max_threads()} threads; using {max_threads()}")
        return max_threads()
    return int(text)


def get_num_threads():
    """The thread count the kernels use: set_num_threads(), else $CYCONV_NUM_THREADS, else all cores."""
    if _num_threads is not None:
        return _num_threads
    from_env = _threads_from_env()
    return from_env if from_env is not None else _available_cores()


def clamp_omp_environment():
    """Rewrite an absurd $OMP_NUM_THREADS before libgomp reads it, with a warning.

    The value is a count or a comma-separated list of counts (one per nesting level). Counts
    above ``max_threads()`` become the cap; a value that is not such a list is removed (libgomp
    would reject it with its own message). Must run before the kernels are imported.
    """
    text = os.environ.get("OMP_NUM_THREADS")
    if text is None:
        return
    levels = [part.strip() for part in text.split(",")]
    if not all(part.isdigit() and int(part) >= 1 for part in levels):
        del os.environ["OMP_NUM_THREADS"]
        _warn_once("OMP_NUM_THREADS", f"OMP_NUM_THREADS={text!r} is not a list of positive "
                   "whole numbers; ignoring it")
        return
    clamped = ",".join(str(min(int(part), max_threads())) for part in levels)
    if clamped != ",".join(levels):
        os.environ["OMP_NUM_THREADS"] = clamped
        _warn_once("OMP_NUM_THREADS", f"OMP_NUM_THREADS={text} asks for more than "
                   f"{max_threads()} threads; using OMP_NUM_THREADS={clamped}")


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


clamp_omp_environment()
