"""The one command: cyconv against PyTorch and against the NumPy reference, side by side.

    python -m benchmarks.run                      # models A–D, threads 1 and 2, batch 64
    python -m benchmarks.run --quick --models A   # a fast look
    python -m benchmarks.run --per-layer A --scaling --mnist-epoch

Every cell (engine × model × threads × mode × batch) runs in its own process with the thread
variables set before the libraries load; the cells are timed in interleaved passes and the
median of all repetitions is reported. Goals are ratios measured in the same run, because
absolute times drift on shared machines. Prints the tables and writes JSON
(default benchmarks/results/latest.json). See benchmarks/README.md for the columns.
"""
import argparse
import datetime
import json
import os
import platform
import sys
import tempfile
import time

from . import harness, models, scaling

DEFAULT_JSON = os.path.join(harness.REPO_ROOT, "benchmarks", "results", "latest.json")

# The goals of the speed issue, as ratios measured side by side.
GOAL_BATCH = 64
TRAIN_RATIO_GOALS = {"A": 0.7, "B": 0.7, "C": 0.7, "D": 1.0}   # cyconv / torch, batch 64
SMALL_BATCHES = (1, 8)
SMALL_BATCH_RATIO_GOAL = 0.5                                   # the app's Step button
INFER_RATIO_GOAL = 1.0
REFERENCE_SPEEDUP_GOAL = 5.0                                   # reference / cyconv
RSS_RATIO_GOAL = 0.5                                           # cyconv / torch
MNIST_RATIO_GOAL = 1.0
NOISY_SPREAD = 0.25              # a ratio whose cells' IQR exceeds this share of the median
#                                  can flip its verdict between runs
ENGINES_AGREE_TOLERANCE = 1e-3   # largest |difference| after one step that still means
#                                  "the same network": float32 rounding is ~1e-5

QUICK = {"reps": 2, "passes": 1, "warmup": 1, "ref_reps": 1, "per_layer_reps": 3,
         "scaling_reps": 2}
FULL = {"reps": 7, "passes": 3, "warmup": 3, "ref_reps": 3, "per_layer_reps": 11,
        "scaling_reps": 3}


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
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help=f"fewer repetitions and one pass ({QUICK})")
    parser.add_argument("--models", type=_model_list, default=list(models.MODEL_NAMES),
                        help="comma-separated, e.g. A,B (default A,B,C,D)")
    parser.add_argument("--threads", type=lambda t: _int_list(t, "--threads"), default=[1, 2],
                        help="comma-separated thread counts (default 1,2)")
    parser.add_argument("--batch", type=lambda t: _int_list(t, "--batch"), default=[GOAL_BATCH],
                        help="batch size(s) of the training and inference cells (default 64)")
    parser.add_argument("--small-batches", type=lambda t: _int_list(t, "--small-batches"),
                        default=list(SMALL_BATCHES),
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
    parser.add_argument("--per-layer", nargs="?", const="", default=None, metavar="MODELS",
                        help="per-layer forward/backward times (of MODELS, default the "
                             "selected models)")
    parser.add_argument("--per-layer-reps", type=int, help="calls per layer (11)")
    parser.add_argument("--scaling", action="store_true",
                        help="time against batch size 1–256 and image size 28–128 (model A)")
    parser.add_argument("--scaling-threads", type=lambda t: _int_list(t, "--scaling-threads"),
                        default=[1], help="thread counts of the scaling runs (default 1)")
    parser.add_argument("--scaling-reps", type=int, help="repetitions per scaling cell (3)")
    parser.add_argument("--mnist-epoch", action="store_true",
                        help="one MNIST epoch of mnist_cnn, cyconv vs torch, per thread count")
    parser.add_argument("--mnist-images", type=int, default=None,
                        help="train the epoch on the first N images only (default all 60,000)")
    parser.add_argument("--data", default=os.environ.get("CYCONV_DATA"),
                        help="data folder holding mnist/ (default $CYCONV_DATA)")
    args = parser.parse_args(argv)
    preset = QUICK if args.quick else FULL
    for key, value in preset.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    for key in ("reps", "passes", "warmup", "ref_reps", "per_layer_reps", "scaling_reps"):
        if getattr(args, key) < 1:
            parser.error(f"--{key.replace('_', '-')} must be at least 1")
    if args.per_layer is not None:
        args.per_layer = _model_list(args.per_layer) if args.per_layer else list(args.models)
    if args.mnist_epoch and not args.data:
        parser.error("--mnist-epoch needs the data folder: set CYCONV_DATA or pass --data")
    return args


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


# ----------------------------------------------------------------------------- comparisons

def ratio_goal(mode, model, batch):
    """The issue's goal for cyconv / torch of a cell, or None where it sets none."""
    if mode == "infer":
        return INFER_RATIO_GOAL
    if batch in SMALL_BATCHES:
        return SMALL_BATCH_RATIO_GOAL
    if batch == GOAL_BATCH:
        return TRAIN_RATIO_GOALS[model]
    return None


def verdict(value, goal, higher_is_better=False):
    if value is None or goal is None:
        return "-"
    met = value >= goal if higher_is_better else value <= goal
    return "PASS" if met else "FAIL"


def _spread(*results):
    """The widest interquartile range relative to its median among the results: how far the
    noise of this machine could move the ratio."""
    spreads = [(r["p75_ms"] - r["p25_ms"]) / r["median_ms"] for r in results
               if r and r.get("median_ms")]
    return max(spreads) if spreads else None


def _divide(a, b):
    return a / b if a is not None and b else None


def torch_rows(results, args):
    """cyconv against torch for every training and inference cell of the main and small
    batches (the scaling cells have tables of their own)."""
    rows = []
    plans = [(mode, batch, model) for mode in ("train", "infer") for batch in args.batch
             for model in args.models]
    plans += [("train", batch, model) for batch in args.small_batches
              for model in args.small_models if batch not in args.batch]
    for mode, batch, model in plans:
        for threads in args.threads:
            mine = results.get(("cyconv", model, threads, mode, batch, None))
            theirs = results.get(("torch", model, threads, mode, batch, None))
            if mine is None:
                continue
            cyconv_ms = mine.get("median_ms")
            torch_ms = theirs.get("median_ms") if theirs else None
            ratio = _divide(cyconv_ms, torch_ms)
            goal = ratio_goal(mode, model, batch)
            rows.append({"mode": mode, "batch": batch, "model": model, "threads": threads,
                         "cyconv_ms": cyconv_ms, "torch_ms": torch_ms, "ratio": ratio,
                         "goal": goal, "verdict": verdict(ratio, goal),
                         "spread": _spread(mine, theirs)})
    return rows


def reference_rows(results, args):
    rows = []
    for model in args.models:
        for threads in args.threads:
            for batch in args.batch:
                reference = results.get(("reference", model, threads, "train", batch, None))
                mine = results.get(("cyconv", model, threads, "train", batch, None))
                if reference is None or mine is None:
                    continue
                speedup = _divide(reference.get("median_ms"), mine.get("median_ms"))
                rows.append({"model": model, "threads": threads, "batch": batch,
                             "reference_ms": reference.get("median_ms"),
                             "cyconv_ms": mine.get("median_ms"), "speedup": speedup,
                             "goal": REFERENCE_SPEEDUP_GOAL,
                             "verdict": verdict(speedup, REFERENCE_SPEEDUP_GOAL, True)})
    return rows


def rss_rows(results, args):
    rows = []
    for model in args.models:
        for threads in args.threads:
            for batch in args.batch:
                mine = results.get(("cyconv", model, threads, "train", batch, None))
                theirs = results.get(("torch", model, threads, "train", batch, None))
                if mine is None or "peak_rss_mb" not in mine:
                    continue
                torch_mb = theirs.get("peak_rss_mb") if theirs else None
                ratio = _divide(mine["peak_rss_mb"], torch_mb)
                rows.append({"model": model, "threads": threads, "batch": batch,
                             "cyconv_mb": mine["peak_rss_mb"], "torch_mb": torch_mb,
                             "ratio": ratio, "goal": RSS_RATIO_GOAL,
                             "verdict": verdict(ratio, RSS_RATIO_GOAL)})
    return rows


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


def per_layer_runs(args, engines, weights, log):
    runs = []
    for model in args.per_layer:
        for threads in args.threads:
            for engine in [e for e in engines if e in ("cyconv", "torch")]:
                arguments = ["--engine", engine, "--model", model, "--threads", threads,
                             "--batch", args.batch[0], "--reps", args.per_layer_reps,
                             "--warmup", 2, "--json"]
                path = weights(harness.Cell(engine, model, threads, "train", args.batch[0]))
                if path:
                    arguments += ["--weights", path]
                try:
                    result = harness.run_child("benchmarks.per_layer", arguments, engine,
                                               threads)
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
            path = weights(harness.Cell(engine, "A", threads, "train", 64))
            if path:
                arguments += ["--weights", path]
            try:
                by_engine[engine] = harness.run_child("benchmarks.mnist_epoch", arguments,
                                                      engine, threads)
            except (RuntimeError, ValueError) as err:
                log(f"MNIST epoch {engine} t{threads} FAILED: {err}")
                continue
            log(f"MNIST epoch {engine} t{threads}: {by_engine[engine]['seconds']:.2f} s")
        mine, theirs = by_engine.get("cyconv"), by_engine.get("torch")
        ratio = _divide(mine and mine["seconds"], theirs and theirs["seconds"])
        rows.append({"threads": threads, "cyconv": mine, "torch": theirs, "ratio": ratio,
                     "goal": MNIST_RATIO_GOAL, "verdict": verdict(ratio, MNIST_RATIO_GOAL)})
    return rows


# ----------------------------------------------------------------------------- printing

def _f(value, width, digits=3, suffix=""):
    if value is None:
        return f"{'-':>{width}}"
    return f"{value:{width - len(suffix)}.{digits}f}{suffix}"


def _pct(value, width=6):
    return f"{'-':>{width}}" if value is None else f"{100 * value:{width - 1}.0f}%"


def format_torch_table(rows):
    lines = ["cyconv vs PyTorch — median ms per step; ratio = cyconv / torch (lower is better);"
             " spread = widest IQR / median of the two",
             f"{'mode':<5} {'batch':>5} {'model':<5} {'thr':>3} {'cyconv ms':>10} "
             f"{'torch ms':>10} {'ratio':>6} {'goal':>5} {'verdict':<7} {'spread':>6}"]
    for r in rows:
        lines.append(f"{r['mode']:<5} {r['batch']:>5} {r['model']:<5} {r['threads']:>3} "
                     f"{_f(r['cyconv_ms'], 10)} {_f(r['torch_ms'], 10)} "
                     f"{_f(r['ratio'], 6, 2)} {_f(r['goal'], 5, 2)} {r['verdict']:<7} "
                     f"{_pct(r['spread'])}")
    return "\n".join(lines)


def format_reference_table(rows, ref_reps, passes):
    lines = [f"cyconv vs the NumPy reference (cyconv.reference, textbook loops) — training "
             f"step; speedup = reference / cyconv; the reference is timed {ref_reps} "
             f"rep(s) per pass × {passes} pass(es), same batch, no scaling",
             f"{'model':<5} {'thr':>3} {'batch':>5} {'reference ms':>13} {'cyconv ms':>10} "
             f"{'speedup':>8} {'goal':>5} {'verdict':<7}"]
    for r in rows:
        lines.append(f"{r['model']:<5} {r['threads']:>3} {r['batch']:>5} "
                     f"{_f(r['reference_ms'], 13)} {_f(r['cyconv_ms'], 10)} "
                     f"{_f(r['speedup'], 8, 1, '×')} {_f(r['goal'], 5, 1)} {r['verdict']:<7}")
    return "\n".join(lines)


def format_rss_table(rows):
    lines = ["Peak memory of a training process (ru_maxrss: interpreter, libraries, model, "
             "batch), MiB; ratio = cyconv / torch",
             f"{'model':<5} {'thr':>3} {'batch':>5} {'cyconv MiB':>11} {'torch MiB':>10} "
             f"{'ratio':>6} {'goal':>5} {'verdict':<7}"]
    for r in rows:
        lines.append(f"{r['model']:<5} {r['threads']:>3} {r['batch']:>5} "
                     f"{_f(r['cyconv_mb'], 11, 1)} {_f(r['torch_mb'], 10, 1)} "
                     f"{_f(r['ratio'], 6, 2)} {_f(r['goal'], 5, 2)} {r['verdict']:<7}")
    return "\n".join(lines)


def format_per_layer(runs, reps):
    """One table per (model, threads): both engines' rows side by side."""
    blocks = []
    keys = list(dict.fromkeys((run["model"], run["threads"], run["batch"]) for run in runs))
    for model, threads, batch in keys:
        by_engine = {run["engine"]: run for run in runs
                     if (run["model"], run["threads"], run["batch"]) == (model, threads, batch)}
        mine, theirs = by_engine.get("cyconv"), by_engine.get("torch")
        base = mine or theirs
        lines = [f"Per layer: model {model}, {threads} thread(s), batch {batch} — median ms of "
                 f"{reps} calls; share = of cyconv's summed time; ratio = cyconv / torch "
                 f"(fwd+bwd)",
                 f"{'layer':<9} {'output':<10} {'cy fwd':>8} {'cy bwd':>8} {'pt fwd':>8} "
                 f"{'pt bwd':>8} {'ratio':>6} {'share':>6}"]
        for index, row in enumerate(base["rows"]):
            other = theirs["rows"][index] if theirs else None
            own = mine["rows"][index] if mine else None
            shape = "×".join(str(v) for v in row["output_shape"])
            lines.append(
                f"{row['layer']:<9} {shape:<10} "
                f"{_f(own and own['forward_ms'], 8)} {_f(own and own['backward_ms'], 8)} "
                f"{_f(other and other['forward_ms'], 8)} {_f(other and other['backward_ms'], 8)} "
                f"{_f(_divide(own and own['total_ms'], other and other['total_ms']), 6, 2)} "
                f"{_pct(own and own['share'])}")
        lines.append(_per_layer_sum_row(mine, theirs))
        step_ratio = _divide(mine and mine["step_ms"], theirs and theirs["step_ms"])
        lines.append(f"whole training step measured at once: cyconv "
                     f"{_f(mine and mine['step_ms'], 1).strip()} ms, torch "
                     f"{_f(theirs and theirs['step_ms'], 1).strip()} ms, ratio "
                     f"{_f(step_ratio, 1, 2).strip()} (the gap to 'sum' is glue between "
                     f"layers and cache misses)")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _per_layer_sum_row(mine, theirs):
    def total(run, key):
        return sum(row[key] for row in run["rows"]) if run else None
    ratio = _divide(mine and mine["sum_ms"], theirs and theirs["sum_ms"])
    return (f"{'sum':<9} {'':<10} {_f(total(mine, 'forward_ms'), 8)} "
            f"{_f(total(mine, 'backward_ms'), 8)} {_f(total(theirs, 'forward_ms'), 8)} "
            f"{_f(total(theirs, 'backward_ms'), 8)} {_f(ratio, 6, 2)} "
            f"{_pct(1.0 if mine else None)}")


def format_mnist(rows):
    images = next((r[e]["images"] for r in rows for e in ("cyconv", "torch") if r[e]), 0)
    lines = [f"One MNIST epoch of mnist_cnn ({images:,} images, batch 64, the same batches in "
             f"both) — seconds; ratio = cyconv / torch",
             f"{'thr':>3} {'cyconv s':>9} {'torch s':>9} {'ratio':>6} {'goal':>5} "
             f"{'verdict':<7} {'cy acc':>7} {'pt acc':>7}"]
    for r in rows:
        mine, theirs = r["cyconv"], r["torch"]
        lines.append(f"{r['threads']:>3} {_f(mine and mine['seconds'], 9, 2)} "
                     f"{_f(theirs and theirs['seconds'], 9, 2)} {_f(r['ratio'], 6, 2)} "
                     f"{_f(r['goal'], 5, 2)} {r['verdict']:<7} "
                     f"{_pct(mine and mine['train_accuracy'], 7)} "
                     f"{_pct(theirs and theirs['train_accuracy'], 7)}")
    return "\n".join(lines)


def format_check(check):
    if not check:
        return "Engine check: skipped"
    if "error" in check:
        return f"Engine check: FAILED to run ({check['error'].splitlines()[0]})"
    parts = []
    for engine in ("torch", "reference"):
        diffs = [check[m][engine] for m in check if check[m].get(engine)]
        if diffs:
            worst = max(max(d.values()) for d in diffs)
            status = "agree" if worst <= ENGINES_AGREE_TOLERANCE else "DISAGREE"
            parts.append(f"cyconv–{engine} {status} (largest |Δ| of logits, loss and updated "
                         f"weights after one step: {worst:.1e})")
    return f"Engine check on {', '.join(check)}: " + "; ".join(parts)


def format_summary(sections):
    verdicts = [row["verdict"] for rows in sections for row in rows]
    passed, failed = verdicts.count("PASS"), verdicts.count("FAIL")
    unjudged = len(verdicts) - passed - failed
    noisy = sum(1 for rows in sections for row in rows
                if (row.get("spread") or 0) > NOISY_SPREAD and row["verdict"] != "-")
    text = (f"Goals: {passed} PASS, {failed} FAIL ({unjudged} not judged: no goal or nothing "
            f"to compare with)")
    if noisy:
        text += (f"; {noisy} verdict(s) with a spread above {100 * NOISY_SPREAD:.0f}%: the "
                 f"machine was noisy, rerun those before trusting them")
    return text


def format_header(meta):
    return (f"cyconv {meta['cyconv']} benchmarks — {meta['cores']} core(s), load average "
            f"{meta['load_start']:.2f} at start; numpy {meta['numpy']}, torch "
            f"{meta['torch'] or 'absent'}; {meta['reps']} reps × {meta['passes']} pass(es) "
            f"per cell after {meta['warmup']} warm-up step(s), median reported")


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


def main(argv=None):
    """Run the benchmark; returns the results dict that is also written as JSON."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    started = time.monotonic()
    log = harness.log_to_stderr
    with_torch = not args.no_torch and harness.torch_available()
    engines = ["cyconv"] + (["torch"] if with_torch else []) + \
              ([] if args.no_reference else ["reference"])
    meta = _meta(args, with_torch)
    print(format_header(meta), flush=True)
    check = None if args.no_check else check_engines(args, with_torch, log)
    cells = plan_cells(args, engines)
    log(f"{len(cells)} cells × {args.passes} pass(es)")
    with tempfile.TemporaryDirectory(prefix="cyconv-bench-") as folder:
        weights = harness.WeightFiles(folder)
        results = harness.run_passes(cells, args.passes, weights, log)
        per_layer = per_layer_runs(args, engines, weights, log) if args.per_layer else []
        mnist = mnist_runs(args, engines, weights, log) if args.mnist_epoch else []

    report = {"meta": meta, "check": check, "cells": list(results.values()),
              "torch": torch_rows(results, args),
              "reference": reference_rows(results, args), "rss": rss_rows(results, args),
              "per_layer": per_layer, "mnist_epoch": mnist,
              "scaling": scaling.scaling_tables(results, args.scaling_threads)
              if args.scaling else None}
    meta["load_end"] = os.getloadavg()[0]
    meta["wall_seconds"] = time.monotonic() - started

    blocks = [format_check(check) if check is not None else "Engine check: skipped"]
    if with_torch:
        blocks.append(format_torch_table(report["torch"]))
    else:
        blocks.append("PyTorch: not installed or --no-torch; cyconv against the NumPy "
                      "reference only")
    if report["reference"]:
        blocks.append(format_reference_table(report["reference"], args.ref_reps, args.passes))
    if with_torch:
        blocks.append(format_rss_table(report["rss"]))
    if per_layer:
        blocks.append(format_per_layer(per_layer, args.per_layer_reps))
    if report["scaling"]:
        blocks.append(scaling.format_scaling(report["scaling"]))
    if mnist:
        blocks.append(format_mnist(mnist))
    failures = [c for c in report["cells"] if c["errors"]]
    if failures:
        blocks.append("Failed cells:\n" + "\n".join(
            f"  {c['engine']} {c['model']} t{c['threads']} {c['mode']} b{c['batch']}: "
            f"{c['errors'][0].splitlines()[-1]}" for c in failures))
    blocks.append(format_summary([report["torch"], report["reference"], report["rss"], mnist])
                  + f"; wall time {meta['wall_seconds']:.0f} s, load average "
                    f"{meta['load_end']:.2f} at the end")
    print("\n\n".join(blocks), flush=True)

    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=1)
        print(f"JSON written to {args.json}", flush=True)
    return report


if __name__ == "__main__":
    main()
