"""The lab app's cost: training steps per second with the live views on, against headless.

    python -m benchmarks.lab_overhead                  # mnist_cnn, 900 steps, 3 runs each, threads 1 and 2
    python -m benchmarks.lab_overhead --steps 450 --repeats 3 --threads 1 --preset mnist_cnn

The issue's goal: "Training with the live views on runs at least 80 % as many steps per second
as training headless on the same model" (ratio lab / headless >= 0.80).

The same training (preset, synthetic data set, sample count, batch size, optimizer, seed,
thread count) runs twice, each time in a fresh process:

- **headless**: ``cyconv.train.Trainer.run()`` and nothing else;
- **lab**: the real ``gui.main_window.MainWindow`` on Qt's ``offscreen`` platform (or
  ``--qt-platform xcb`` under an X server), shown, its settings typed into the training
  controls and its Start button clicked, so the worker thread, the snapshots (every step's
  StepReport, sent to the window in batches at most 1/30 s apart; filters and activations
  every 0.5 s; an evaluation every 2 s and per epoch), the time machine's and the doctor's
  recorder and the 30 Hz repaint timer are all live. The visible tab cycles through curves, filters and activations, as a
  student clicking around would: the next view every ``--tab-steps`` steps (150, one to two
  seconds at these speeds), counted in steps rather than seconds so that each view is on
  screen for the same share of the timed steps whatever the speed (the views differ widely in
  cost, so a timed window that caught more of one view would measure that view). Every paint
  event of those views is counted to show they really were drawn.

Both time the same window of steps, measured where the worker hands each StepReport on (right
after ``Trainer.step`` returns): the clock starts when step ``warmup`` is done and stops when
step ``warmup + steps`` is done. The warm-up keeps data loading, the first allocations and the
window's first layout out of the figure. Runs are interleaved (headless, lab, then lab,
headless, ...) so drifts of a shared machine hit both; the medians are compared.

With one thread the two runs take bit-for-bit the same steps, so their losses must agree; the
report says whether they did (a check that both really trained the same thing).
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time

from . import _env, _timing, harness
from ._step_clock import StepClock

GOAL = 0.80
MODES = ("headless", "lab")
#: Views painted from the worker's snapshots, shown in turn during a lab run.
CYCLED_TABS = ("curves", "filters", "activations")
DEFAULT_JSON = os.path.join(harness.REPO_ROOT, "benchmarks", "results", "lab_overhead.json")
CHILD_TIMEOUT_S = 900
#: A lab run gives up (and says so) before the parent's timeout kills it.
LAB_TIMEOUT_S = 600
#: The app's validation share and optimizers (cyconv.lab.settings; not imported here, since a
#: child must set its thread counts before cyconv loads; a test checks they agree); momentum
#: (Adam's beta1) stays at the app's 0.9.
VAL_FRACTION = 0.1
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")
MOMENTUM = 0.9
#: The synthetic data set that fits a preset's input shape (C, H, W).
SYNTHETIC_FOR_SHAPE = {(1, 28, 28): "synthetic", (3, 32, 32): "synthetic_rgb"}


# ----------------------------------------------------------------------------- arguments

def _thread_list(text):
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--threads: expected comma-separated ints, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"--threads: values must be >= 1, got {text!r}")
    return values


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=900, help="timed steps per run (default 900)")
    parser.add_argument("--warmup", type=int, default=50, help="untimed steps first (default 50)")
    parser.add_argument("--tab-steps", type=int, default=150,
                        help="lab runs show the next view every this many steps (default 150, about 1 s)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each mode, interleaved (default 3)")
    parser.add_argument("--threads", type=_thread_list, default=[1, 2], help="comma-separated (default 1,2)")
    parser.add_argument("--preset", default="mnist_cnn", help="the network (default mnist_cnn)")
    parser.add_argument("--samples", type=int, default=6000, help="synthetic samples, 10 %% held out (default 6000)")
    parser.add_argument("--eval-samples", type=int, default=500,
                        help="the app's evaluation subset (default 500, the app's own)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--optimizer", default="adam", choices=OPTIMIZERS)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--qt-platform", default="offscreen",
                        help="QT_QPA_PLATFORM of the lab runs (default offscreen; xcb needs DISPLAY)")
    parser.add_argument("--json", default=DEFAULT_JSON, help="where to write the results")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for what in ("steps", "warmup", "tab_steps", "repeats", "batch"):
        _timing.check_count(getattr(args, what), what, "benchmarks.lab_overhead")
    _timing.check_count(args.samples, "samples", "benchmarks.lab_overhead", minimum=20)
    _timing.check_count(args.eval_samples, "eval_samples", "benchmarks.lab_overhead", minimum=10)
    _timing.check_count(args.seed, "seed", "benchmarks.lab_overhead", minimum=0)
    if not (math.isfinite(args.lr) and args.lr > 0):
        raise ValueError(f"benchmarks.lab_overhead: lr must be a positive number, got {args.lr!r}")
    if args.child is not None and len(args.threads) != 1:
        raise ValueError(f"benchmarks.lab_overhead: a child runs one thread count, got {args.threads}")
    return args


def epochs_needed(samples, batch, last_step):
    """Epochs for a run that must not end before step `last_step`: the training split holds
    samples - round(samples * VAL_FRACTION) images (Dataset.split), ceil(that / batch) batches
    per epoch. One epoch more than needed, so the run is always stopped by the clock, never by
    its end (which would add the final evaluation to the lab's last timed steps).
    """
    train_size = samples - int(round(samples * VAL_FRACTION))
    batches_per_epoch = -(-max(train_size, 1) // batch)
    return -(-last_step // batches_per_epoch) + 1


def dataset_for(preset):
    """The synthetic data set whose images fit `preset`'s input (ValueError otherwise)."""
    from cyconv import presets

    input_shape = tuple(presets.configs(preset)[0])
    if input_shape not in SYNTHETIC_FOR_SHAPE:
        raise ValueError(f"benchmarks.lab_overhead: preset {preset!r} takes inputs {input_shape}; the "
                         f"synthetic sets fit {sorted(SYNTHETIC_FOR_SHAPE)}")
    return SYNTHETIC_FOR_SHAPE[input_shape]


def network_config(preset):
    """{"input_shape", "layers"}: the model config both runs build (the app's editor gives it)."""
    from cyconv import presets

    input_shape, layers = presets.configs(preset)
    return {"input_shape": list(input_shape), "layers": [dict(layer) for layer in layers]}


# ----------------------------------------------------------------------------- the clock

# ----------------------------------------------------------------------------- the children

def load_data(args):
    """(train, val, eval) as the lab session loads them for the app's settings (its live views
    show the first ``eval_samples`` of the test split)."""
    from cyconv import data

    import numpy as np

    train, val, test = data.load_train_test(dataset_for(args.preset), path=None, seed=args.seed,
                                            n_train=args.samples, val_fraction=VAL_FRACTION, download=False,
                                            image_shape=None)
    return train, val, test.subset(np.arange(min(args.eval_samples, len(test))))


def run_headless(args):
    """Trainer.run() alone; the StepClock's result."""
    from cyconv.model import Sequential
    from cyconv.train import StepReport, Trainer

    train, val, _ = load_data(args)
    model = Sequential.from_config(network_config(args.preset), seed=args.seed)
    trainer = Trainer(model, train, val, optimizer=args.optimizer, lr=args.lr, momentum=MOMENTUM,
                      batch_size=args.batch, epochs=epochs_needed(args.samples, args.batch, args.warmup + args.steps),
                      seed=args.seed)
    clock = StepClock(args.warmup, args.steps)
    for report in trainer.run():
        if isinstance(report, StepReport) and clock.record(report.step, report.seconds, report.loss):
            break
    return clock.result()


def _fill_controls(controls, args):
    """Type the run's settings into the app's training controls, as a student would."""
    controls.select_dataset(dataset_for(args.preset))
    controls.n_train.setValue(args.samples)
    controls.n_eval.setValue(args.eval_samples)
    controls.optimizer.setCurrentText(args.optimizer)
    controls.lr.setText(repr(args.lr))
    controls.momentum.setText(repr(MOMENTUM))
    controls.batch.setValue(args.batch)
    controls.epochs.setValue(epochs_needed(args.samples, args.batch, args.warmup + args.steps))
    controls.seed.setValue(args.seed)


def _check_lab_setup(window, args):
    """The window will train what the headless run trains (RuntimeError otherwise)."""
    settings = window.controls.settings()
    typed = (settings.dataset, settings.n_train, settings.n_eval, settings.optimizer, settings.lr,
             settings.momentum, settings.batch_size, settings.seed)
    wanted = (dataset_for(args.preset), args.samples, args.eval_samples, args.optimizer, args.lr, MOMENTUM,
              args.batch, args.seed)
    if typed != wanted:
        raise RuntimeError(f"lab_overhead: the controls hold {typed}, expected {wanted}")
    import numpy as np
    from cyconv.model import Sequential

    # The editor leaves out what shapes infer (in_channels, ...): compare the built models.
    lab = Sequential.from_config(window.editor.network(), seed=args.seed)
    headless = Sequential.from_config(network_config(args.preset), seed=args.seed)
    same_weights = all(np.array_equal(array, headless.state_dict()[name]) for name, array in lab.state_dict().items())
    if lab.config() != headless.config() or not same_weights:
        raise RuntimeError(f"lab_overhead: the editor's network differs from preset {args.preset!r}")


def _paint_counter(views):
    """An event filter counting Paint events per view key, and `watch()` that installs it on
    every widget of every view (call again after a view has built new widgets)."""
    from PySide6 import QtCore, QtWidgets

    class PaintCounter(QtCore.QObject):
        def __init__(self):
            super().__init__()
            self.counts = {key: 0 for key in views}
            self._owner = {}

        def watch(self):
            for key, view in views.items():
                for widget in [view] + view.findChildren(QtWidgets.QWidget):
                    if widget not in self._owner:
                        self._owner[widget] = key
                        widget.installEventFilter(self)

        def eventFilter(self, watched, event):
            if event.type() == QtCore.QEvent.Type.Paint:
                key = self._owner.get(watched)
                if key is not None:
                    self.counts[key] += 1
            return False

    return PaintCounter()


def _window_watcher(clock, loop, show_view, tab_steps):
    """A GUI-thread QObject that sees the worker's snapshots as the window receives them.

    It counts them, moves the visible tab on every `tab_steps` timed steps (`show_view(key)`,
    curves first, from the first timed step on) and ends `loop` when the clock's last step
    arrives or the app reports a problem.
    """
    from PySide6 import QtCore

    class Watcher(QtCore.QObject):
        def __init__(self):
            super().__init__()
            self.received = {"step_reports": 0, "pictures": 0, "evaluations": 0}
            self.errors = []
            self.visible = None

        @QtCore.Slot(object)
        def steps(self, reports):
            """A batch of step reports, as the window gets them."""
            self.received["step_reports"] += len(reports)
            report = reports[-1]
            if report.step >= clock.last:
                loop.quit()
                return
            # Step report.step is done, so the view chosen now is on screen for the next one.
            turn = max(report.step - clock.first, 0) // tab_steps
            key = CYCLED_TABS[turn % len(CYCLED_TABS)]
            if key != self.visible:
                self.visible = key
                show_view(key)

        @QtCore.Slot(object)
        def pictures(self, _):
            self.received["pictures"] += 1

        @QtCore.Slot(object)
        def evaluation(self, _):
            self.received["evaluations"] += 1

        @QtCore.Slot(str)
        def fail(self, text):
            self.errors.append(text)
            loop.quit()

    return Watcher()


def run_lab(args):
    """The app, started with its Start button, views cycling; the StepClock's result plus
    what the window received and painted."""
    os.environ["QT_QPA_PLATFORM"] = args.qt_platform
    from PySide6 import QtWidgets

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["cyconv-lab-overhead"])
    from gui.main_window import MainWindow

    window = MainWindow(preset=args.preset)
    try:
        return _train_in_window(app, window, args)
    finally:
        window.close()                       # stops the worker and waits for its thread


def _train_in_window(app, window, args):
    from PySide6 import QtCore

    from gui.main_window import TABS

    _fill_controls(window.controls, args)
    _check_lab_setup(window, args)
    window.show()
    paints = _paint_counter({key: window.views[key] for key in CYCLED_TABS})
    shown = {key: 0 for key in CYCLED_TABS}

    def show_view(key):
        paints.watch()                       # views build panels as data arrives
        window.tabs.setCurrentIndex(TABS.index(key))
        shown[key] += 1

    clock = StepClock(args.warmup, args.steps)
    loop = QtCore.QEventLoop()
    watcher = _window_watcher(clock, loop, show_view, args.tab_steps)
    worker = window.controller.worker
    # The clock runs in the worker thread the moment a report is sent (a direct connection);
    # the watcher lives in the GUI thread, so it sees what the window sees (queued).
    worker.step_report.connect(clock.record_report, QtCore.Qt.ConnectionType.DirectConnection)
    worker.step_reports.connect(watcher.steps)
    worker.pictures.connect(watcher.pictures)
    worker.evaluation.connect(watcher.evaluation)
    worker.problem.connect(watcher.fail)
    worker.failed.connect(watcher.fail)
    QtCore.QTimer.singleShot(LAB_TIMEOUT_S * 1000,
                             lambda: watcher.fail(f"step {clock.last} was not reached within {LAB_TIMEOUT_S} s"))
    window.controls.buttons["start"].click()
    loop.exec()
    window.controls.buttons["stop"].click()
    if watcher.errors:
        raise RuntimeError(f"lab_overhead: the app reported: {watcher.errors[0].strip().splitlines()[-1]}")
    result = clock.result()
    result.update(platform=app.platformName(), received=watcher.received, paints=paints.counts, tabs_shown=shown,
                  repaint_interval_ms=window.timer.interval(),
                  picture_interval_s=worker.session.picture_interval)
    return result


def run_child(args):
    """One run in this process (threads already set in the environment by the parent)."""
    threads = args.threads[0]
    _env.set_library_threads("cyconv", threads)
    started = time.perf_counter()
    result = run_headless(args) if args.child == "headless" else run_lab(args)
    result.update(mode=args.child, threads=threads, library_threads=_env.library_threads("cyconv"),
                  wall_seconds=time.perf_counter() - started, peak_rss_mb=_env.peak_rss_mb())
    return result


# ----------------------------------------------------------------------------- the parent

def child_arguments(args, mode, threads):
    """The command line of one child: this run's settings, one mode, one thread count."""
    return ["--child", mode, "--threads", threads, "--steps", args.steps, "--warmup", args.warmup,
            "--tab-steps", args.tab_steps, "--preset", args.preset, "--samples", args.samples,
            "--eval-samples", args.eval_samples, "--batch", args.batch, "--seed", args.seed,
            "--optimizer", args.optimizer, "--lr", repr(args.lr), "--qt-platform", args.qt_platform]


def run_order(repeats):
    """The modes in the order they run: headless, lab, then lab, headless, ... (interleaved)."""
    order = []
    for repeat in range(repeats):
        order += [(repeat, mode) for mode in (MODES if repeat % 2 == 0 else MODES[::-1])]
    return order


def compare(threads, runs):
    """The summary row of one thread count from its runs (each a child's result dict)."""
    rates = {mode: [run["steps_per_s"] for run in runs if run["mode"] == mode] for mode in MODES}
    headless, lab = (statistics.median(rates[mode]) for mode in MODES)
    paired = [lab_rate / headless_rate for headless_rate, lab_rate in zip(rates["headless"], rates["lab"])]
    ratio = lab / headless
    per_step_ms = {}
    for mode in MODES:
        mine = [run for run in runs if run["mode"] == mode]
        steps = len(mine[0]["losses"])
        per_step_ms[mode] = {
            "in_step": statistics.median(run["compute_seconds"] for run in mine) / steps * 1e3,
            "between_steps": statistics.median(run["seconds"] - run["compute_seconds"] for run in mine) / steps * 1e3}
    losses = {mode: [run["losses"] for run in runs if run["mode"] == mode] for mode in MODES}
    reference = losses["headless"][0]
    same = all(candidate == reference for mode in MODES for candidate in losses[mode])
    return {"threads": threads, "headless_steps_per_s": headless, "lab_steps_per_s": lab, "ratio": ratio,
            "goal": GOAL, "verdict": "PASS" if ratio >= GOAL else "FAIL",
            "paired_ratios": paired, "headless_rates": rates["headless"], "lab_rates": rates["lab"],
            "same_losses": same, "ms_per_step": per_step_ms}


def format_report(meta, rows, runs):
    lines = [f"Lab overhead: {meta['preset']} on {meta['dataset']} n={meta['samples']}, batch {meta['batch']}, "
             f"{meta['optimizer']} lr {meta['lr']:g}, seed {meta['seed']}; steps {meta['warmup'] + 1}-"
             f"{meta['warmup'] + meta['steps']} timed, {meta['repeats']} runs of each mode interleaved; "
             f"lab: Qt platform {meta['qt_platform']}, the view shown moves on every {meta['tab_steps']} steps "
             f"({', '.join(meta['cycled_tabs'])}); load {meta['load_start']:.2f} -> {meta['load_end']:.2f}",
             "",
             f"{'threads':>7}  {'headless steps/s':>16}  {'lab steps/s':>11}  {'ratio':>5}  {'goal':>6}  "
             f"{'verdict':<7}  {'paired ratios':<17}  same losses"]
    for row in rows:
        paired = f"{min(row['paired_ratios']):.2f}-{max(row['paired_ratios']):.2f}"
        lines.append(f"{row['threads']:>7}  {row['headless_steps_per_s']:>16.1f}  {row['lab_steps_per_s']:>11.1f}  "
                     f"{row['ratio']:>5.2f}  {'>=' + format(row['goal'], '.2f'):>6}  {row['verdict']:<7}  "
                     f"{paired:<17}  {'yes' if row['same_losses'] else 'no'}")
    lines += ["", "where a step's time goes (median ms per step): in Trainer.step (forward, backward, update) "
                  "and between steps (reports, snapshots, evaluations, waiting for the GIL)",
              f"{'threads':>7}  {'headless in':>11}  {'lab in':>6}  {'headless between':>16}  {'lab between':>11}"]
    for row in rows:
        headless, lab = row["ms_per_step"]["headless"], row["ms_per_step"]["lab"]
        lines.append(f"{row['threads']:>7}  {headless['in_step']:>11.2f}  {lab['in_step']:>6.2f}  "
                     f"{headless['between_steps']:>16.2f}  {lab['between_steps']:>11.2f}")
    lab_runs = [run for run in runs if run["mode"] == "lab"]
    if lab_runs:
        last = lab_runs[-1]
        lines += ["", f"last lab run ({last['threads']} thread(s), platform {last['platform']}): received "
                      f"{last['received']}; paint events {last['paints']}; tab shown {last['tabs_shown']} times"]
    lines += ["", "ratio = median lab steps/s / median headless steps/s; 'paired ratios' spans each lab run over "
                  "the headless run next to it (the machine's noise). 'same losses': every run's losses over the "
                  "timed steps equal bit for bit (expected with 1 thread)."]
    return "\n".join(lines)


def write_json(path, report):
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=1)


def main(argv=None):
    """Run both modes at every thread count; returns the report that is also written as JSON."""
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.child is not None:
        print(json.dumps(run_child(args)), flush=True)
        return None
    dataset = dataset_for(args.preset)
    meta = {"command": " ".join(["python -m benchmarks.lab_overhead"] + [str(a) for a in argv]),
            "preset": args.preset, "dataset": dataset, "samples": args.samples, "eval_samples": args.eval_samples,
            "batch": args.batch, "seed": args.seed, "optimizer": args.optimizer, "lr": args.lr,
            "warmup": args.warmup, "steps": args.steps, "repeats": args.repeats, "threads": args.threads,
            "qt_platform": args.qt_platform, "cycled_tabs": list(CYCLED_TABS), "tab_steps": args.tab_steps,
            "goal": GOAL, "load_start": os.getloadavg()[0]}
    started = time.monotonic()
    runs, rows = [], []
    for threads in args.threads:
        mine = []
        for repeat, mode in run_order(args.repeats):
            run = harness.run_child("benchmarks.lab_overhead", child_arguments(args, mode, threads), "cyconv",
                                    threads, timeout=CHILD_TIMEOUT_S)
            run["repeat"] = repeat
            harness.log_to_stderr(f"t{threads} run {repeat + 1} {mode:<8}: {run['steps_per_s']:7.1f} steps/s")
            mine.append(run)
        rows.append(compare(threads, mine))
        for run in mine:                     # compared; keep the JSON short
            losses = run.pop("losses")
            run["loss_first"], run["loss_last"] = losses[0], losses[-1]
        runs += mine
    meta["load_end"] = os.getloadavg()[0]
    meta["wall_seconds"] = time.monotonic() - started
    report = {"meta": meta, "results": rows, "runs": runs}
    print(format_report(meta, rows, runs), flush=True)
    write_json(args.json, report)
    print(f"\nwritten: {args.json}", flush=True)
    return report


if __name__ == "__main__":
    try:
        main()
    except (ValueError, RuntimeError, subprocess.TimeoutExpired) as error:
        print(f"benchmarks.lab_overhead: {error}", file=sys.stderr)
        sys.exit(1)
