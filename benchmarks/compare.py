"""The comparisons of one run: rows of ratios with their goals and verdicts, built from the
harness results (key (engine, model, threads, mode, batch, image size) → aggregate).

Every function here is pure: no timing, no processes, so the tests feed it made-up results.
"""
from . import ceiling, flops, goals, models
from .mnist_epoch import MODEL as MNIST_MODEL


def _cell(results, engine, model, threads, mode, batch):
    return results.get((engine, model, threads, mode, batch, None))


def _median(result):
    return result.get("median_ms") if result else None


def spread(*results):
    """The widest interquartile range relative to its median among the results: how far the
    noise of this machine could move the ratio."""
    spreads = [(r["p75_ms"] - r["p25_ms"]) / r["median_ms"] for r in results
               if r and r.get("median_ms")]
    return max(spreads) if spreads else None


def compared_cells(args):
    """(mode, batch, model) of every training and inference cell of the main and small
    batches (the scaling cells have tables of their own)."""
    plans = [(mode, batch, model) for mode in ("train", "infer") for batch in args.batch
             for model in args.models]
    plans += [("train", batch, model) for batch in args.small_batches
              for model in args.small_models if batch not in args.batch]
    return plans


def torch_rows(results, args):
    """cyconv against torch for every compared cell and thread count."""
    rows = []
    for mode, batch, model in compared_cells(args):
        for threads in args.threads:
            mine = _cell(results, "cyconv", model, threads, mode, batch)
            theirs = _cell(results, "torch", model, threads, mode, batch)
            if mine is None:
                continue
            ratio = goals.divide(_median(mine), _median(theirs))
            goal = goals.ratio_goal(mode, model, batch, threads)
            rows.append({"mode": mode, "batch": batch, "model": model, "threads": threads,
                         "cyconv_ms": _median(mine), "torch_ms": _median(theirs),
                         "ratio": ratio, "goal": goal, "verdict": goals.verdict(ratio, goal),
                         "spread": spread(mine, theirs)})
    return rows


def torch_goal_group(row):
    """Which summary line a torch row counts in: torch_train, torch_small or torch_infer."""
    if row["mode"] == "infer":
        return "torch_infer"
    return "torch_small" if row["batch"] in goals.SMALL_BATCHES else "torch_train"


def reference_rows(results, args):
    rows = []
    for model in args.models:
        for threads in args.threads:
            for batch in args.batch:
                reference = _cell(results, "reference", model, threads, "train", batch)
                mine = _cell(results, "cyconv", model, threads, "train", batch)
                if reference is None or mine is None:
                    continue
                speedup = goals.divide(_median(reference), _median(mine))
                rows.append({"model": model, "threads": threads, "batch": batch,
                             "reference_ms": _median(reference), "cyconv_ms": _median(mine),
                             "speedup": speedup, "goal": goals.REFERENCE_SPEEDUP_GOAL,
                             "verdict": goals.verdict(speedup, goals.REFERENCE_SPEEDUP_GOAL,
                                                      True)})
    return rows


def rss_rows(results, args):
    rows = []
    for model in args.models:
        for threads in args.threads:
            for batch in args.batch:
                mine = _cell(results, "cyconv", model, threads, "train", batch)
                theirs = _cell(results, "torch", model, threads, "train", batch)
                if mine is None or "peak_rss_mb" not in mine:
                    continue
                torch_mb = theirs.get("peak_rss_mb") if theirs else None
                ratio = goals.divide(mine["peak_rss_mb"], torch_mb)
                rows.append({"model": model, "threads": threads, "batch": batch,
                             "cyconv_mb": mine["peak_rss_mb"], "torch_mb": torch_mb,
                             "ratio": ratio, "goal": goals.RSS_RATIO_GOAL,
                             "verdict": goals.verdict(ratio, goals.RSS_RATIO_GOAL)})
    return rows


def thread_rows(results, args, engines=("cyconv", "torch")):
    """For every model, batch and thread count: each engine's training-step time and its
    speedup over the lowest thread count of the run (1 thread when it was timed)."""
    base_threads = min(args.threads)
    rows = []
    for model in args.models:
        for batch in args.batch:
            for threads in args.threads:
                row = {"model": model, "batch": batch, "threads": threads,
                       "base_threads": base_threads}
                for engine in engines:
                    own = _median(_cell(results, engine, model, threads, "train", batch))
                    base = _median(_cell(results, engine, model, base_threads, "train",
                                         batch))
                    speedup = goals.divide(base, own)
                    row[f"{engine}_ms"] = own
                    row[f"{engine}_speedup"] = speedup
                    row[f"{engine}_efficiency"] = goals.divide(speedup,
                                                               threads / base_threads)
                goal = goals.thread_speedup_goal("cyconv", batch, threads, base_threads)
                row["goal"] = goal
                row["verdict"] = goals.verdict(row.get("cyconv_speedup"), goal, True)
                if row.get("cyconv_ms") is not None:
                    rows.append(row)
    return rows


def ceiling_rows(results, args, ceilings, engines=("cyconv", "torch")):
    """Achieved GFLOP/s and share of the ceiling of every compared cell of each engine;
    ``ceilings`` is {threads: GFLOP/s} (``ceiling.best_ceilings``)."""
    rows = []
    for mode, batch, model in compared_cells(args):
        step = flops.step_flops(models.model_config(model), batch, mode)
        for threads in args.threads:
            for engine in engines:
                result = _cell(results, engine, model, threads, mode, batch)
                if result is None:
                    continue
                achieved = flops.gflops_per_second(step, _median(result))
                share = ceiling.share_of_ceiling(achieved, ceilings.get(threads))
                goal = goals.ceiling_share_goal(engine, mode, batch, threads)
                rows.append({"engine": engine, "mode": mode, "batch": batch, "model": model,
                             "threads": threads, "mflop": step / 1e6,
                             "ms": _median(result), "gflops": achieved,
                             "ceiling_gflops": ceilings.get(threads), "share": share,
                             "goal": goal, "verdict": goals.verdict(share, goal, True)})
    return rows


def mnist_row(threads, mine, theirs):
    """One thread count's MNIST epoch: cyconv and torch results (or None) and the ratio."""
    ratio = goals.divide(mine and mine["seconds"], theirs and theirs["seconds"])
    goal = goals.mnist_goal(threads)
    return {"threads": threads, "cyconv": mine, "torch": theirs, "ratio": ratio,
            "goal": goal, "verdict": goals.verdict(ratio, goal)}


def missed_speed(report):
    """(model, threads) pairs with a missed speed goal (torch ratio, thread speedup, share
    of the ceiling, the MNIST epoch of model A), each once, by model and thread count:
    where the per-layer times must show the time going."""
    missed = {(row["model"], row["threads"]) for key in ("torch", "threads", "ceiling")
              for row in report.get(key) or [] if row["verdict"] == "FAIL"}
    missed |= {(MNIST_MODEL, row["threads"]) for row in report.get("mnist_epoch") or []
               if row["verdict"] == "FAIL"}
    return sorted(missed)


def summary_groups(report):
    """{summary line key: [{"label", "value", "verdict", "spread"}]}, one entry per row of
    the tables (judged or not)."""
    groups = {key: [] for key, _ in goals.GOAL_LINES}
    for row in report.get("torch") or []:
        label = f"{row['mode']} {row['model']} t{row['threads']} b{row['batch']}"
        groups[torch_goal_group(row)].append(_entry(label, row["ratio"], row))
    # summary key: (report key, the row's judged value, its label)
    simple = {"threads": ("threads", "cyconv_speedup", "{model} t{threads} b{batch}"),
              "ceiling": ("ceiling", "share", "{engine} {mode} {model} t{threads} b{batch}"),
              "rss": ("rss", "ratio", "{model} t{threads} b{batch}"),
              "reference": ("reference", "speedup", "{model} t{threads} b{batch}"),
              "mnist": ("mnist_epoch", "ratio", "t{threads}")}
    for key, (report_key, value_key, label) in simple.items():
        for row in report.get(report_key) or []:
            groups[key].append(_entry(label.format(**row), row.get(value_key), row))
    return groups


def _entry(label, value, row):
    return {"label": label, "value": value, "verdict": row["verdict"],
            "spread": row.get("spread")}
