"""Running benchmark children: one process per cell, interleaved passes, results collected.

A *cell* is one (engine, model, threads, mode, batch, image size). Each pass starts a fresh
process for every cell in turn (pass 1: every cell once, pass 2: every cell again, in reverse
order, ...), so slow drifts of a shared machine spread over all cells instead of landing on
one engine. The times of all passes are pooled and their median reported.
"""
import dataclasses
import json
import os
import statistics
import subprocess
import sys
from typing import Optional

from . import _env, _timing

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHILD_TIMEOUT_S = 900


@dataclasses.dataclass(frozen=True)
class Cell:
    """One thing to time in its own process; ``reps`` timed repetitions per pass."""
    engine: str
    model: str
    threads: int
    mode: str
    batch: int
    image_size: Optional[int] = None
    reps: int = dataclasses.field(default=7, compare=False)
    warmup: int = dataclasses.field(default=3, compare=False)

    @property
    def key(self):
        return (self.engine, self.model, self.threads, self.mode, self.batch, self.image_size)

    def label(self):
        size = f" {self.image_size}px" if self.image_size else ""
        return (f"{self.engine:<9} {self.model}{size} t{self.threads} {self.mode:<5} "
                f"b{self.batch}")


def unique_cells(cells):
    """Cells without duplicate keys (the first wins; later duplicates only raise ``reps``)."""
    by_key = {}
    for cell in cells:
        kept = by_key.get(cell.key)
        if kept is None:
            by_key[cell.key] = cell
        elif cell.reps > kept.reps:
            by_key[cell.key] = dataclasses.replace(kept, reps=cell.reps)
    return list(by_key.values())


def child_environment(engine, threads):
    """The cell's thread variables, and the repository on the path so ``cyconv`` imports."""
    env = _env.thread_environment(engine, threads)
    paths = [REPO_ROOT] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return env


def run_child(module, arguments, engine, threads, timeout=CHILD_TIMEOUT_S):
    """Run ``python -m module arguments`` with the cell's environment; its last stdout line
    parsed as JSON. Raises RuntimeError with the child's stderr tail if it fails."""
    command = [sys.executable, "-m", module] + [str(a) for a in arguments]
    completed = subprocess.run(command, cwd=REPO_ROOT, env=child_environment(engine, threads),
                               capture_output=True, text=True, timeout=timeout)
    lines = [line for line in completed.stdout.splitlines() if line.strip()]
    if completed.returncode != 0 or not lines:
        output = completed.stderr.strip() or completed.stdout.strip() or "(no output)"
        tail = "\n".join(output.splitlines()[-8:])
        raise RuntimeError(f"{' '.join(command[2:])} failed (exit {completed.returncode}):\n"
                           f"{tail}")
    return json.loads(lines[-1])


def cell_arguments(cell, weights_path=None):
    arguments = ["--engine", cell.engine, "--model", cell.model, "--threads", cell.threads,
                 "--mode", cell.mode, "--batch", cell.batch, "--reps", cell.reps,
                 "--warmup", cell.warmup]
    if cell.image_size is not None:
        arguments += ["--image-size", cell.image_size]
    if weights_path is not None:
        arguments += ["--weights", weights_path]
    return arguments


def run_passes(cells, passes, weights_for=None, log=None, before_pass=None):
    """Time every cell once per pass, interleaved; a dict key → aggregated result.

    ``weights_for(cell)`` gives the .npz path of the cell's initial weights (or None);
    ``log(text)`` receives one progress line per child; ``before_pass(index)`` runs before
    each pass (the matmul ceiling is measured there, so it samples the machine as the cells
    do). A failing child is recorded in the cell's ``errors`` and the run goes on.
    """
    _timing.check_count(passes, "passes", "run_passes")
    log = log or (lambda text: None)
    collected = {cell.key: {"cell": cell, "runs": [], "errors": []} for cell in cells}
    total = passes * len(cells)
    done = 0
    for pass_index in range(passes):
        if before_pass is not None:
            before_pass(pass_index)
        ordered = cells if pass_index % 2 == 0 else list(reversed(cells))
        for cell in ordered:
            done += 1
            weights = weights_for(cell) if weights_for else None
            try:
                run = run_child("benchmarks.cell", cell_arguments(cell, weights), cell.engine,
                                cell.threads)
            except (RuntimeError, subprocess.TimeoutExpired, json.JSONDecodeError) as err:
                collected[cell.key]["errors"].append(str(err))
                log(f"[{done}/{total}] pass {pass_index + 1} {cell.label()}: FAILED {err}")
                continue
            collected[cell.key]["runs"].append(run)
            median = _timing.summarize(run["times_ms"])["median_ms"]
            log(f"[{done}/{total}] pass {pass_index + 1} {cell.label()}: {median:9.3f} ms")
    return {key: aggregate(entry) for key, entry in collected.items()}


def aggregate(entry):
    """Pool the times of every pass: median, quartiles, minimum, count; peak RSS (median
    over the passes' processes); the losses of the last run."""
    cell = entry["cell"]
    result = {"engine": cell.engine, "model": cell.model, "threads": cell.threads,
              "mode": cell.mode, "batch": cell.batch, "image_size": cell.image_size,
              "passes": len(entry["runs"]), "errors": entry["errors"]}
    if not entry["runs"]:
        return result
    times = [t for run in entry["runs"] for t in run["times_ms"]]
    last = entry["runs"][-1]
    result.update(_timing.summarize(times))
    peak_rss = statistics.median(run["peak_rss_mb"] for run in entry["runs"])
    result.update({"times_ms": times, "peak_rss_mb": peak_rss,
                   "library_threads": last.get("library_threads"),
                   "input_shape": last.get("input_shape")})
    if "loss_first" in last:
        result["loss_first"], result["loss_last"] = last["loss_first"], last["loss_last"]
    return result


class WeightFiles:
    """Initial weights of each (model, image size), drawn once by cyconv in this (parent)
    process and saved as .npz in ``folder``, so a torch child starts from the same weights
    without importing cyconv (which would add cyconv's memory to torch's peak RSS)."""

    def __init__(self, folder, seed=0):
        self.folder = folder
        self.seed = seed
        self._paths = {}

    def __call__(self, cell):
        """The weights file for a torch cell; None for the others (they draw their own)."""
        if cell.engine != "torch":
            return None
        key = (cell.model, cell.image_size)
        if key not in self._paths:
            from . import models

            config = models.model_config(cell.model, cell.image_size)
            path = os.path.join(self.folder, f"weights-{cell.model}-{cell.image_size}.npz")
            models.save_weights(path, models.initial_weights(config, self.seed))
            self._paths[key] = path
        return self._paths[key]


def log_to_stderr(text):
    print(text, file=sys.stderr, flush=True)


def torch_available():
    """Whether torch can be imported, found without importing it (that takes seconds)."""
    import importlib.util

    return importlib.util.find_spec("torch") is not None
