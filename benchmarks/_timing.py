"""Timing helpers shared by the cell, per-layer and scaling benchmarks (standard library only)."""
import statistics
import time


def check_count(value, what, where, minimum=1):
    """``value`` as an int ≥ ``minimum``, or a ValueError naming ``where`` and ``what``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{where}: {what} must be an int ≥ {minimum}, got {value!r}")
    return value


def time_calls(fn, reps, warmup=1):
    """Call ``fn()`` ``warmup`` times untimed, then ``reps`` times; the times in milliseconds.

    The first calls pay for allocator growth, lazy initialisation and cold caches, which a
    training loop pays once, so they are not counted.
    """
    check_count(reps, "reps", "time_calls")
    check_count(warmup, "warmup", "time_calls", minimum=0)
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return times


def _quantile(sorted_values, q):
    """Linear-interpolated quantile of an already sorted, non-empty list."""
    position = q * (len(sorted_values) - 1)
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def summarize(times_ms):
    """{"median_ms", "p25_ms", "p75_ms", "min_ms", "n"} of a non-empty list of times."""
    if not times_ms:
        raise ValueError("summarize: no times to summarize")
    ordered = sorted(times_ms)
    return {"median_ms": statistics.median(ordered), "p25_ms": _quantile(ordered, 0.25),
            "p75_ms": _quantile(ordered, 0.75), "min_ms": ordered[0], "n": len(ordered)}
