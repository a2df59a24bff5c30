"""The costs of "see it learn": the memory of a long run's history and how fast the timeline redraws.

    python -m benchmarks.see_it_learn memory      # a 10-epoch MNIST run of mnist_cnn, recorded
    python -m benchmarks.see_it_learn scrub       # the timeline redrawing each recorded moment

The training-speed figure (the app with the history and the doctor recording, against
headless) is benchmarks.lab_overhead's: the window it times installs the recorder.

**memory**: the recorder of the app (cyconv.lab.learn.LearnRecorder, its defaults) records a
real mnist_cnn on MNIST-shaped probe images at every step it would in a 10-epoch MNIST run
(54,000 training images in batches of 64: 8,440 steps). Only the recording is run, not the
training between (the weights do not change what a moment weighs). The peak is measured with
tracemalloc (every NumPy array and Python object the history and the checkups hold), against
the goal of 256 MiB.

**scrub**: the timeline view (offscreen Qt) is given moments of a trained mnist_cnn and
redraws each one in turn, as a slider dragged across them does; each redraw is timed up to
the image items holding their new pictures, the window painting them (`repaint()`) and
Qt's queued events served, against
the goal of 50 ms.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import tracemalloc

MIB = 1 << 20
GOALS = {"memory": 256 * MIB, "scrub": 0.050}
MNIST_TRAIN, BATCH, EPOCHS = 54_000, 64, 10


class _Report:
    """The parts of a StepReport the recorder reads."""

    def __init__(self, step):
        self.step, self.loss, self.accuracy, self.lr = step, 2.0, 0.5, 1e-3


class _Update:
    def __init__(self, step, final):
        self.reports, self.final = (_Report(step),), (object() if final else None)


class _Session:
    """What LearnRecorder.record reads of a LabSession: the model, its step, the eval subset."""

    def __init__(self, model, eval_set, total_steps):
        self.model, self._eval, self.step_count = model, eval_set, 0
        self.trainer = type("T", (), {"total_steps": total_steps})()


def measure_memory() -> dict:
    import numpy as np

    from cyconv import presets
    from cyconv.data import Dataset
    from cyconv.lab.learn import LearnRecorder

    steps = EPOCHS * -(-MNIST_TRAIN // BATCH)
    rng = np.random.default_rng(0)
    images = rng.random((500, 1, 28, 28), dtype=np.float32)
    eval_set = Dataset(images, rng.integers(0, 10, 500).astype(np.int64), classes=tuple(str(k) for k in range(10)),
                       name="mnist", source="random MNIST-shaped images (benchmarks.see_it_learn)")
    session = _Session(presets.build("mnist_cnn", seed=0), eval_set, steps)
    tracemalloc.start()
    baseline = tracemalloc.get_traced_memory()[0]
    recorder = LearnRecorder()
    for step in range(1, steps + 1):
        session.step_count = step
        recorder.record(session, _Update(step, final=step == steps))
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    moment = recorder.history.moments[-1].nbytes
    return {"steps": steps, "moments": len(recorder.history), "every_at_end": recorder.history.every,
            "checkups": len(recorder.log), "bytes_per_moment": moment, "history_bytes": recorder.history.nbytes,
            "history_cap": recorder.history.max_bytes, "held_bytes": current - baseline,
            "peak_bytes": peak - baseline, "goal_bytes": GOALS["memory"]}


def measure_scrub(moments_wanted: int = 40) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6 import QtWidgets

    from cyconv import presets
    from cyconv.lab import LabSession, TrainingSettings, learn
    from gui.widgets.timeline import TimelineView

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv)
    shape, layers = presets.configs("mnist_cnn")
    session = LabSession()
    recorder = learn.install(session, every=2)
    session.build({"input_shape": list(shape), "layers": layers},
                  TrainingSettings(dataset="synthetic", n_train=3000, batch_size=32, epochs=2))
    while len(recorder.history) < moments_wanted:
        session.advance()
    view = TimelineView()
    view.resize(840, 820)
    view.show()
    view.show_history(recorder.history.moments)
    app.processEvents()
    times = []
    for index in list(range(len(view.moments))) * 3:
        started = time.perf_counter()
        view.slider.setValue(index)
        view.repaint()
        app.processEvents()            # whatever the redraw queued is drawn inside the timing too
        times.append(time.perf_counter() - started)
    return {"moments": len(view.moments), "redraws": len(times), "median_s": statistics.median(times),
            "p95_s": sorted(times)[int(0.95 * len(times))], "max_s": max(times), "goal_s": GOALS["scrub"]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("memory", "scrub"))
    args = parser.parse_args(argv)
    if args.what == "memory":
        result = measure_memory()
        print(f"{result['steps']} steps recorded: {result['moments']} moments kept (every {result['every_at_end']} "
              f"steps at the end), {result['checkups']} checkups; {result['bytes_per_moment'] / 1024:.0f} KiB per "
              f"moment; history {result['history_bytes'] / MIB:.1f} MiB (cap {result['history_cap'] / MIB:.0f} MiB); "
              f"held {result['held_bytes'] / MIB:.1f} MiB, peak {result['peak_bytes'] / MIB:.1f} MiB "
              f"(goal < {result['goal_bytes'] / MIB:.0f} MiB)")
        return 0 if result["peak_bytes"] < result["goal_bytes"] else 1
    result = measure_scrub()
    print(f"{result['redraws']} redraws over {result['moments']} moments: median {result['median_s'] * 1e3:.1f} ms, "
          f"95th percentile {result['p95_s'] * 1e3:.1f} ms, max {result['max_s'] * 1e3:.1f} ms "
          f"(goal < {result['goal_s'] * 1e3:.0f} ms)")
    return 0 if result["p95_s"] < result["goal_s"] else 1


if __name__ == "__main__":
    sys.exit(main())
