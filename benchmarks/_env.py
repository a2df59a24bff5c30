"""Thread settings for a benchmark child, applied before numpy, cyconv or torch is imported.

OpenMP runtimes and OpenBLAS read their thread counts once, when the library loads, so a child
process must set these variables before its first heavy import. This module imports nothing
heavy for that reason: only ``os``.
"""
import os

ENGINES = ("cyconv", "torch", "reference")

# Every pool that could start threads is capped at the cell's count, so "1 thread" means one
# thread in every library the process loads. cyconv additionally pins SciPy's OpenBLAS (the
# one its kernels call from inside OpenMP threads) to 1 thread itself, by design.
_CAPPED_POOLS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def thread_environment(engine, threads, base=None):
    """The environment for a child that runs ``engine`` on ``threads`` threads.

    ``base`` (default ``os.environ``) is copied, never modified.
    """
    if engine not in ENGINES:
        raise ValueError(f"thread_environment: engine must be one of {ENGINES}, got {engine!r}")
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"thread_environment: threads must be a positive int, got {threads!r}")
    env = dict(os.environ if base is None else base)
    for name in _CAPPED_POOLS:
        env[name] = str(threads)
    if engine == "cyconv":
        env["CYCONV_NUM_THREADS"] = str(threads)
    return env


def apply_thread_environment(engine, threads):
    """Set the variables of :func:`thread_environment` in this process (call before imports)."""
    os.environ.update(thread_environment(engine, threads, base={}))


def set_library_threads(engine, threads):
    """After import: tell the engine's own API how many threads to use.

    torch gets ``set_num_threads(n)`` and a single inter-op thread (eager mode runs one op at a
    time, so a second inter-op pool would only sit idle or compete).
    """
    if engine == "torch":
        import torch

        torch.set_num_threads(threads)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass  # already fixed once any parallel work ran in this process; it defaults to 1 here
    elif engine == "cyconv":
        import cyconv

        cyconv.set_num_threads(threads)
    # the NumPy reference has no thread API: OPENBLAS_NUM_THREADS, set before import, is it


def library_threads(engine):
    """The thread count the engine reports, recorded so a result shows what actually ran
    (None for the NumPy reference, which has no such setting of its own)."""
    if engine == "torch":
        import torch

        return torch.get_num_threads()
    if engine == "cyconv":
        import cyconv

        return cyconv.get_num_threads()
    return None


def peak_rss_mb():
    """Peak resident set size of this process so far, in MiB (Linux reports KiB, macOS bytes)."""
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0
