"""The one command: cyconv against PyTorch, against the machine's matmul ceiling and against
the NumPy reference, side by side, judged against issue #13's goals.

    python -m benchmarks.run                      # models A–D, threads 1 and 2, batch 64
    python -m benchmarks.run --quick --models A   # a fast look
    python -m benchmarks.run --threads 1,2,4,8    # a thread sweep, on a machine with more cores
    python -m benchmarks.run --per-layer A --scaling

Every cell (engine × model × threads × mode × batch) runs in its own process with the thread
variables set before the libraries load; the cells are timed in interleaved passes and the
median of all repetitions is reported. Goals are ratios measured in the same run, because
absolute times drift on shared machines. Prints the tables and the summary of every goal and
writes JSON (default benchmarks/results/latest.json). See benchmarks/README.md.

The default run takes about 10 minutes on 2 cores (under 12 on a busy machine): every cell at
1 and 2 threads, the float32 matmul ceiling per thread count, one MNIST epoch per thread count
when the data folder is known ($CYCONV_DATA or --data; about a minute of the run,
--no-mnist-epoch skips it), the per-layer times of every model that misses a speed goal, and
the summary of every goal. --quick --models A takes about a minute.
"""
import argparse
import datetime
import json
import os
import platform
import sys
import tempfile
import time

from . import ceiling, compare, goals, harness, models, report, scaling

DEFAULT_JSON = os.path.join(harness.REPO_ROOT, "benchmarks", "results", "latest.json")
ENGINES_AGREE_TOLERANCE = report.ENGINES_AGREE_TOLERANCE
REFERENCE_SPEEDUP_GOAL = goals.REFERENCE_SPEEDUP_GOAL

QUICK = {"reps": 2, "passes": 1, "warmup": 1, "ref_reps": 1, "per_layer_reps": 3,
         "scaling_reps": 2, "ceiling_reps": 3}
FULL = {"reps": 7, "passes": 3, "warmup": 3, "ref_reps": 3, "per_layer_reps": 11,
        "scaling_reps": 3, "ceiling_reps": 5}
PER_LAYER_MISSED = "missed"     # --per-layer's default: the models that miss a speed goal
PER_LAYER_NONE = "none"


# ----------------------------------------------------------------------------- arguments

def _int_list(text, what):
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what}: expected comma-separated ints, got "
                                         f"{text!r}") from None
    for value in values:
        if value < 1:
            raise argparse.ArgumentTypeError(f"{what}: values must be ≥ 1, got {value}")
    return values


def _thread_list(text):
    """--threads: the counts sorted, each once (a sweep's speedups are against the lowest)."""
    return sorted(set(_int_list(text, "--threads")))


def _model_list(text):
    names = [part.strip().upper() for part in text.split(",") if part.strip()]
    unknown = [n for n in names if n not in models.MODEL_NAMES]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown model(s) {unknown}; models are "
                                         f"{', '.join(models.MODEL_NAMES)}")
    return names


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.splitlines()[0],
        epilog=__doc__.split("\n\n")[-1].strip(),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help=f"fewer repetitions and one pass ({QUICK})")
    parser.add_argument("--models", type=_model_list, default=list(models.MODEL_NAMES),
                        help="comma-separated, e.g. A,B (default A,B,C,D)")
    parser.add_argument("--threads", type=_thread_list, default=list(goals.GOAL_THREADS),
                        help="comma-separated thread counts (default 1,2); a sweep such as "
                             "1,2,4,8 prints each count's speedup against the lowest (the "
                             "speed goals are judged at 1 and 2)")
    parser.add_argument("--batch", type=lambda t: _int_list(t, "--batch"),
                        default=[goals.GOAL_BATCH],
                        help="batch size(s) of the training and inference cells (default 64)")
    parser.add_argument("--small-batches", type=lambda t: _int_list(t, "--small-batches"),
                        default=list(goals.SMALL_BATCHES),
                        help="batch sizes of the extra training cells (default 1,8)")
    parser.add_argument("--small-models", type=_model_list, default=["A"],
                        help="models timed at the small batches (default A, the app's "
                             "mnist_cnn; '' for none)")
    parser.add_argument("--reps", type=int, help="timed repetitions per cell and pass (7)")
    parser.add_argument("--passes", type=int, help="interleaved passes (3)")
    parser.add_argument("--warmup", type=int, help="untimed steps per process (3)")
    parser.add_argument("--ref-reps", type=int,
                        help="repetitions per pass of the slow NumPy reference (3)")
    parser.add_argument("--no-reference", action="store_true", help="skip the NumPy reference")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch")
    parser.add_argument("--no-check", action="store_true",
                        help="skip checking that the engines compute the same step")
    parser.add_argument("--json", default=DEFAULT_JSON, help="where to write the results")
    parser.add_argument("--per-layer", nargs="?", const="", default=PER_LAYER_MISSED,
                        metavar="MODELS",
                        help="per-layer forward/backward times of MODELS (alone: every "
                             "selected model; default 'missed': the models and thread counts "
                             "that miss a speed goal; 'none' for none)")
    parser.add_argument("--per-layer-reps", type=int, help="calls per layer (11)")
    parser.add_argument("--scaling", action="store_true",
                        help="time against batch size 1–256 and image size 28–128 (model A)")
    parser.add_argument("--scaling-threads", type=lambda t: _int_list(t, "--scaling-threads"),
                        default=[1], help="thread counts of the scaling runs (default 1)")
    parser.add_argument("--scaling-reps", type=int, help="repetitions per scaling cell (3)")
    parser.add_argument("--ceiling-reps", type=int,
                        help="1024³ matmuls per ceiling measurement (5)")
    mnist = parser.add_mutually_exclusive_group()
    mnist.add_argument("--mnist-epoch", dest="mnist_epoch", action="store_const", const="yes",
                       default="auto",
                       help="one MNIST epoch of mnist_cnn, cyconv vs torch, per thread count "
                            "(default: run when the data folder is known, about a minute on "
                            "2 cores; with this flag a missing folder is an error)")
    mnist.add_argument("--no-mnist-epoch", dest="mnist_epoch", action="store_const",
                       const="no", help="skip the MNIST epoch")
    parser.add_argument("--mnist-images", type=int, default=None,
                        help="train the epoch on the first N images only (default all 60,000)")
    parser.add_argument("--data", default=os.environ.get("CYCONV_DATA"),
                        help="data folder holding mnist/ (default $CYCONV_DATA)")
    args = parser.parse_args(argv)
    preset = QUICK if args.quick else FULL
    for key, value in preset.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    for key in ("reps", "passes", "warmup", "ref_reps", "per_layer_reps", "scaling_reps",
                "ceiling_reps"):
        if getattr(args, key) < 1:
            parser.error(f"--{key.replace('_', '-')} must be at least 1")
    args.per_layer = _per_layer_choice(args.per_layer, args.models, parser)
    if args.mnist_epoch == "yes" and not args.data:
        parser.error("--mnist-epoch needs the data folder: set CYCONV_DATA or pass --data")
    args.mnist_epoch = args.mnist_epoch == "yes" or (args.mnist_epoch == "auto" and
                                                     bool(args.data))
    return args


def _per_layer_choice(text, selected, parser):
    """'missed', or the list of models whose per-layer times to measure ([] for none)."""
    if text == PER_LAYER_MISSED:
        return PER_LAYER_MISSED
    if text.strip().lower() == PER_LAYER_NONE:
        return []
    if not text:
        return list(selected)
    try:
        return _model_list(text)
    except argparse.ArgumentTypeError as err:
        parser.error(f"--per-layer: {err}")


# ----------------------------------------------------------------------------- planning

def plan_cells(args, engines):
    """Every cell of this run, twins (same model, threads, mode, batch) next to each other so
    the engines they compare are timed moments apart."""
    compared = [e for e in engines if e != "reference"]
    cells = []
    for model in args.models:
        for threads in args.threads:
            for batch in args.batch:
                for mode in ("train", "infer"):
                    cells += [harness.Cell(e, model, threads, mode, batch, reps=args.reps,
                                           warmup=args.warmup) for e in compared]
                if "reference" in engines:
                    cells.append(harness.Cell("reference", model, threads, "train", batch,
                                              reps=args.ref_reps, warmup=1))
    for model in args.small_models:
        for threads in args.threads:
            for batch in args.small_batches:
                cells += [harness.Cell(e, model, threads, "train", batch, reps=args.reps,
                                       warmup=args.warmup) for e in compared]
    if args.scaling:
        cells += scaling.scaling_cells(compared, args.scaling_threads, args.scaling_reps,
                                       args.warmup)
    return harness.unique_cells(cells)


# ----------------------------------------------------------------------------- extra runs

def check_engines(args, with_torch, log):
    """One training step of every model in every engine from the same weights: the largest
    differences from cyconv (they must be float32 rounding, or the timings compare different
    networks)."""
    arguments = ["--check", ",".join(args.models)] + ([] if with_torch else ["--no-torch"])
    try:
        return harness.run_child("benchmarks.models", arguments, "cyconv", 1)
    except (RuntimeError, ValueError) as err:
        log(f"engine check FAILED: {err}")
        return {"error": str(err)}


def measure_ceilings(args, log):
    """One ceiling measurement per thread count, each in its own process."""
    runs = []
    for threads in args.threads:
        try:
            run = harness.run_child("benchmarks.ceiling",
                                    ["--threads", threads, "--reps", args.ceiling_reps],
                                    ceiling.ENGINE_ENVIRONMENT, threads)
        except (RuntimeError, ValueError) as err:
            log(f"ceiling t{threads} FAILED: {err}")
            continue
        log(f"ceiling t{threads}: {run['gflops']:.1f} GFLOP/s")
        runs.append(run)
    return runs


def per_layer_pairs(args, tables):
    """(model, threads) pairs to time layer by layer: the missed ones by default."""
    if args.per_layer == PER_LAYER_MISSED:
        return compare.missed_speed(tables)
    return [(model, threads) for model in args.per_layer for threads in args.threads]


def per_layer_runs(pairs, args, engines, weights, log):
    runs = []
    for model, threads in pairs:
        for engine in [e for e in engines if e in ("cyconv", "torch")]:
            arguments = ["--engine", engine, "--model", model, "--threads", threads,
                         "--batch", args.batch[0], "--reps", args.per_layer_reps,
                         "--warmup", 2, "--json"]
            path = weights(harness.Cell(engine, model, threads, "train", args.batch[0]))
            if path:
                arguments += ["--weights", path]
            try:
                result = harness.run_child("benchmarks.per_layer", arguments, engine, threads)
            except (RuntimeError, ValueError) as err:
                log(f"per-layer {engine} {model} t{threads} FAILED: {err}")
                continue
            log(f"per-layer {engine} {model} t{threads}: step {result['step_ms']:.3f} ms")
            runs.append(result)
    return runs


def mnist_runs(args, engines, weights, log):
    rows = []
    for threads in args.threads:
        by_engine = {}
        for engine in [e for e in engines if e in ("cyconv", "torch")]:
            arguments = ["--engine", engine, "--threads", threads, "--data", args.data]
            if args.mnist_images:
                arguments += ["--limit", args.mnist_images]
            path = weights(harness.Cell(engine, "A", threads, "train", goals.GOAL_BATCH))
            if path:
                arguments += ["--weights", path]
            try:
                by_engine[engine] = harness.run_child("benchmarks.mnist_epoch", arguments,
                                                      engine, threads)
            except (RuntimeError, ValueError) as err:
                log(f"MNIST epoch {engine} t{threads} FAILED: {err}")
                continue
            log(f"MNIST epoch {engine} t{threads}: {by_engine[engine]['seconds']:.2f} s")
        rows.append(compare.mnist_row(threads, by_engine.get("cyconv"), by_engine.get("torch")))
    return rows


# ----------------------------------------------------------------------------- main

def _meta(args, with_torch):
    import importlib.metadata

    import numpy

    import cyconv

    try:
        torch_version = importlib.metadata.version("torch") if with_torch else None
    except importlib.metadata.PackageNotFoundError:
        torch_version = None
    return {"date": datetime.datetime.now().isoformat(timespec="seconds"),
            "python": platform.python_version(), "platform": platform.platform(),
            "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
            else os.cpu_count(),
            "load_start": os.getloadavg()[0], "cyconv": cyconv.__version__,
            "numpy": numpy.__version__, "torch": torch_version,
            "reps": args.reps, "passes": args.passes, "warmup": args.warmup,
            "ref_reps": args.ref_reps, "models": args.models, "threads": args.threads,
            "batch": args.batch, "command": " ".join(["python -m benchmarks.run"] +
                                                     sys.argv[1:])}


def comparison_tables(results, args, ceiling_runs, mnist):
    """Every table of the report, built from the measurements (no timing here)."""
    best = ceiling.best_ceilings(ceiling_runs)
    return {"torch": compare.torch_rows(results, args),
            "threads": compare.thread_rows(results, args),
            "ceilings": [{"threads": t, "gflops": g} for t, g in sorted(best.items())],
            "ceiling_runs": ceiling_runs,
            "ceiling": compare.ceiling_rows(results, args, best),
            "reference": compare.reference_rows(results, args),
            "rss": compare.rss_rows(results, args), "mnist_epoch": mnist,
            "scaling": scaling.scaling_tables(results, args.scaling_threads)
            if args.scaling else None}


def measure(args, engines, with_torch, log):
    """Every measurement of the run and the tables built from them."""
    check = None if args.no_check else check_engines(args, with_torch, log)
    cells = plan_cells(args, engines)
    log(f"{len(cells)} cells × {args.passes} pass(es)")
    with tempfile.TemporaryDirectory(prefix="cyconv-bench-") as folder:
        weights = harness.WeightFiles(folder)
        # The ceiling before every pass and after the last, so it samples the machine's
        # state as the cells do; its drift shows in the list of values.
        ceiling_runs = []
        results = harness.run_passes(cells, args.passes, weights, log,
                                     lambda _: ceiling_runs.extend(measure_ceilings(args, log)))
        ceiling_runs += measure_ceilings(args, log)
        mnist = mnist_runs(args, engines, weights, log) if args.mnist_epoch else []
        tables = comparison_tables(results, args, ceiling_runs, mnist)
        pairs = per_layer_pairs(args, tables)
        per_layer = per_layer_runs(pairs, args, engines, weights, log)
    return {"check": check, "cells": list(results.values()), **tables,
            "per_layer": per_layer, "per_layer_pairs": pairs}


def report_blocks(measured, args, with_torch, meta):
    """The printed report, one block per table, the summary last."""
    blocks = [report.format_check(measured["check"]) if measured["check"] is not None
              else "Engine check: skipped"]
    if with_torch:
        blocks.append(report.format_torch_table(measured["torch"]))
    else:
        blocks.append("PyTorch: not installed or --no-torch; cyconv against the ceiling and "
                      "the NumPy reference only")
    blocks.append(report.format_thread_table(measured["threads"], meta["cores"]))
    best = {row["threads"]: row["gflops"] for row in measured["ceilings"]}
    blocks.append(report.format_ceilings(measured["ceiling_runs"], best))
    blocks.append(report.format_ceiling_table(measured["ceiling"]))
    if measured["reference"]:
        blocks.append(report.format_reference_table(measured["reference"], args.ref_reps,
                                                    args.passes))
    if with_torch:
        blocks.append(report.format_rss_table(measured["rss"]))
    if measured["mnist_epoch"]:
        blocks.append(report.format_mnist(measured["mnist_epoch"]))
    else:
        blocks.append("MNIST epoch: skipped (--no-mnist-epoch, or no data folder: set "
                      "CYCONV_DATA or pass --data)")
    if measured["scaling"]:
        blocks.append(scaling.format_scaling(measured["scaling"]))
    if measured["per_layer"]:
        blocks.append(report.format_per_layer(measured["per_layer"], args.per_layer_reps))
    failures = [c for c in measured["cells"] if c["errors"]]
    if failures:
        blocks.append("Failed cells:\n" + "\n".join(
            f"  {c['engine']} {c['model']} t{c['threads']} {c['mode']} b{c['batch']}: "
            f"{c['errors'][0].splitlines()[-1]}" for c in failures))
    missed_layers = measured["per_layer_pairs"] if measured["per_layer"] else ()
    blocks.append(report.format_summary(measured["summary"], missed_layers)
                  + f"\nWall time {meta['wall_seconds']:.0f} s; load average "
                    f"{meta['load_start']:.2f} at the start, {meta['load_end']:.2f} at the end")
    return blocks


def main(argv=None):
    """Run the benchmark; returns the results dict that is also written as JSON."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    started = time.monotonic()
    log = harness.log_to_stderr
    with_torch = not args.no_torch and harness.torch_available()
    engines = ["cyconv"] + (["torch"] if with_torch else []) + \
              ([] if args.no_reference else ["reference"])
    meta = _meta(args, with_torch)
    print(report.format_header(meta), flush=True)
    measured = measure(args, engines, with_torch, log)
    measured["summary"] = compare.summary_groups(measured)
    meta["load_end"] = os.getloadavg()[0]
    meta["wall_seconds"] = time.monotonic() - started
    print("\n\n".join(report_blocks(measured, args, with_torch, meta)), flush=True)
    result = {"meta": meta, **measured}
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(result, handle, indent=1)
        print(f"JSON written to {args.json}", flush=True)
    return result


if __name__ == "__main__":
    main()
