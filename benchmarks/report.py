"""The text of a run's report: one table per comparison and the summary of every goal.

Pure formatting of the rows that :mod:`benchmarks.compare` builds; nothing here times
anything. The columns are described in benchmarks/README.md.
"""
from . import goals

ENGINES_AGREE_TOLERANCE = 1e-3   # largest |difference| after one step that still means
#                                  "the same network": float32 rounding is ~1e-5


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
                f"{_f(goals.divide(own and own['total_ms'], other and other['total_ms']), 6, 2)} "
                f"{_pct(own and own['share'])}")
        lines.append(_per_layer_sum_row(mine, theirs))
        step_ratio = goals.divide(mine and mine["step_ms"], theirs and theirs["step_ms"])
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
    ratio = goals.divide(mine and mine["sum_ms"], theirs and theirs["sum_ms"])
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


def format_header(meta):
    return (f"cyconv {meta['cyconv']} benchmarks — {meta['cores']} core(s), load average "
            f"{meta['load_start']:.2f} at start; numpy {meta['numpy']}, torch "
            f"{meta['torch'] or 'absent'}; {meta['reps']} reps × {meta['passes']} pass(es) "
            f"per cell after {meta['warmup']} warm-up step(s), median reported")


def format_ceilings(runs, ceilings):
    """The ceiling measurements: every run of each thread count and the best, used below."""
    lines = ["float32 matmul ceiling — numpy.matmul 1024³ (OpenBLAS sgemm), BLAS pinned to the "
             "thread count, own process, best of its reps; measured before every pass and after the "
             "last; ceiling = the best",
             f"{'thr':>3} {'runs GFLOP/s':<28} {'ceiling':>8}"]
    for threads in sorted(ceilings):
        measured = ", ".join(f"{run['gflops']:.1f}" for run in runs
                             if run["threads"] == threads)
        lines.append(f"{threads:>3} {measured:<28} {_f(ceilings[threads], 8, 1)}")
    return "\n".join(lines)


def format_ceiling_table(rows):
    lines = ["Share of the ceiling — achieved GFLOP/s = counted GEMM FLOPs / median step time "
             "(forward ×2 per multiply-add; training adds the dW and dx GEMMs, the first layer "
             "has no dx); share = achieved / ceiling at the same thread count",
             f"{'engine':<7} {'mode':<5} {'batch':>5} {'model':<5} {'thr':>3} {'MFLOP':>9} "
             f"{'ms':>9} {'GFLOP/s':>8} {'ceiling':>8} {'share':>6} {'goal':>5} {'verdict':<7}"]
    for r in rows:
        lines.append(f"{r['engine']:<7} {r['mode']:<5} {r['batch']:>5} {r['model']:<5} "
                     f"{r['threads']:>3} {_f(r['mflop'], 9, 1)} {_f(r['ms'], 9)} "
                     f"{_f(r['gflops'], 8, 1)} {_f(r['ceiling_gflops'], 8, 1)} "
                     f"{_pct(r['share'])} {_pct(r['goal'], 5)} {r['verdict']:<7}")
    return "\n".join(lines)


def format_thread_table(rows, cores):
    base = rows[0]["base_threads"] if rows else 1
    lines = [f"Thread scaling — training step; speedup = time at {base} thread(s) / time at "
             f"thr; efficiency = speedup / (thr / {base}); goal for cyconv at 2 threads"]
    if any(r["threads"] > cores for r in rows):
        lines.append(f"(this machine has {cores} core(s): counts above it are oversubscribed "
                     f"and show the cost of that, not the kernels' scaling)")
    lines.append(f"{'model':<5} {'batch':>5} {'thr':>3} {'cyconv ms':>10} {'cy ×':>6} "
                 f"{'cy eff':>6} {'torch ms':>10} {'pt ×':>6} {'pt eff':>6} {'goal':>5} "
                 f"{'verdict':<7}")
    for r in rows:
        lines.append(f"{r['model']:<5} {r['batch']:>5} {r['threads']:>3} "
                     f"{_f(r['cyconv_ms'], 10)} {_f(r['cyconv_speedup'], 6, 2)} "
                     f"{_pct(r['cyconv_efficiency'])} {_f(r.get('torch_ms'), 10)} "
                     f"{_f(r.get('torch_speedup'), 6, 2)} {_pct(r.get('torch_efficiency'))} "
                     f"{_f(r['goal'], 5, 2)} {r['verdict']:<7}")
    return "\n".join(lines)


def _value_text(key, value):
    if value is None:
        return "-"
    if key == "ceiling":
        return f"{100 * value:.0f}%"
    if key in ("threads", "reference"):
        return f"{value:.2f}×"
    return f"{value:.2f}"


def _worst(key, entries):
    judged = [e for e in entries if e["verdict"] in ("PASS", "FAIL")]
    if not judged:
        return None
    pick = min if key in goals.HIGHER_IS_BETTER else max
    return pick(judged, key=lambda e: e["value"])


def format_summary(groups, missed_layers=()):
    """Every goal of the issue with its PASS and FAIL counts and its worst row, the totals,
    and one line per missed goal; ``groups`` from ``compare.summary_groups``."""
    lines = ["Summary — issue #13's goals (counts of judged rows; worst = the row farthest "
             "from its goal)",
             f"{'goal':<82} {'PASS':>4} {'FAIL':>4}  worst"]
    failures = []
    totals = {"PASS": 0, "FAIL": 0, "-": 0}
    noisy = 0
    for key, text in goals.GOAL_LINES:
        entries = groups.get(key, [])
        counts = {v: sum(1 for e in entries if e["verdict"] == v) for v in totals}
        for name in totals:
            totals[name] += counts[name]
        worst = _worst(key, entries)
        worst_text = (f"{worst['label']}: {_value_text(key, worst['value'])}" if worst
                      else "not measured in this run" if not entries
                      else "nothing judged (no goal or nothing to compare with)")
        lines.append(f"{text:<82} {counts['PASS']:>4} {counts['FAIL']:>4}  {worst_text}")
        failures += [(key, e) for e in entries if e["verdict"] == "FAIL"]
        noisy += sum(1 for e in entries
                     if e["verdict"] != "-" and (e["spread"] or 0) > goals.NOISY_SPREAD)
    text = (f"Goals: {totals['PASS']} PASS, {totals['FAIL']} FAIL ({totals['-']} not judged: "
            f"no goal or nothing to compare with)")
    if noisy:
        text += (f"; {noisy} verdict(s) with a spread above {100 * goals.NOISY_SPREAD:.0f}%: "
                 f"the machine was noisy, rerun those before trusting them")
    lines += ["", text]
    if failures:
        lines.append("Missed:")
        lines += [f"  {key:<11} {e['label']}: {_value_text(key, e['value'])}"
                  for key, e in failures]
    if missed_layers:
        shown = ", ".join(f"{model} t{threads}" for model, threads in missed_layers)
        lines.append(f"Where the time goes for the missed speed goals: the per-layer tables "
                     f"above ({shown})")
    return "\n".join(lines)
