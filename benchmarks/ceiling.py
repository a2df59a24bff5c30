"""The machine's float32 matmul ceiling: a 1024³ ``numpy.matmul`` (OpenBLAS sgemm) with the
BLAS pinned to a thread count, in its own process like the cells, best of a few repetitions.

    python -m benchmarks.ceiling --threads 1        # prints one JSON line

A CNN's training step is mostly GEMMs, so the GFLOP/s a step achieves (``benchmarks.flops``
counts its FLOPs) over this ceiling says how much of the machine the step uses. numpy's
OpenBLAS is the same library family (OpenBLAS, the same CPU kernels) as the SciPy one
cyconv's kernels call.
"""
import argparse
import json
import sys
import time

from . import _env, _timing

SIZE = 1024
REPS = 5
# numpy has no thread API of its own: the child gets the "reference" engine's environment,
# every pool capped at the count, which is what pins OpenBLAS.
ENGINE_ENVIRONMENT = "reference"


def matmul_flops(size):
    """FLOPs of a size³ matrix product: one multiply and one add per inner-product term."""
    return 2 * size ** 3


def measure(size=SIZE, reps=REPS, seed=0):
    """{"size", "reps", "best_ms", "median_ms", "gflops"}: the best of ``reps`` timed
    products after one untimed warm-up (which also starts the BLAS threads)."""
    import numpy as np

    _timing.check_count(size, "size", "ceiling")
    _timing.check_count(reps, "reps", "ceiling")
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((size, size)).astype(np.float32)
    b = rng.standard_normal((size, size)).astype(np.float32)
    out = np.empty((size, size), dtype=np.float32)
    np.matmul(a, b, out=out)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        np.matmul(a, b, out=out)
        times.append((time.perf_counter() - start) * 1e3)
    best = min(times)
    return {"size": size, "reps": reps, "best_ms": best,
            "median_ms": _timing.summarize(times)["median_ms"],
            "gflops": matmul_flops(size) / (best * 1e-3) / 1e9}


def best_ceilings(runs):
    """{threads: best GFLOP/s} over every measurement of each thread count."""
    best = {}
    for run in runs:
        threads = run["threads"]
        best[threads] = max(best.get(threads, 0.0), run["gflops"])
    return best


def share_of_ceiling(gflops, ceiling):
    """Achieved / ceiling GFLOP/s (a fraction); None when either is missing."""
    if gflops is None or not ceiling:
        return None
    return gflops / ceiling


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--size", type=int, default=SIZE)
    parser.add_argument("--reps", type=int, default=REPS)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    _timing.check_count(args.threads, "threads", "benchmarks.ceiling")
    _env.apply_thread_environment(ENGINE_ENVIRONMENT, args.threads)
    result = measure(args.size, args.reps)
    result["threads"] = args.threads
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
