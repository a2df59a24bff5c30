"""Smoke tests of benchmarks/lab_overhead.py: that both runs train the same thing and that the
lab run really drives the app. No test asserts on a speed."""
import json

import numpy as np
import pytest

from benchmarks import lab_overhead


# ----------------------------------------------------------------------------- arguments

@pytest.mark.parametrize("argv, message", [
    (["--steps", "0"], "steps"),
    (["--warmup", "0"], "warmup"),
    (["--tab-steps", "0"], "tab_steps"),
    (["--samples", "19"], "samples"),
    (["--lr", "-1"], "lr"),
    (["--child", "lab", "--threads", "1,2"], "one thread count"),
], ids=["no-steps", "no-warmup", "no-tab-steps", "too-few-samples", "negative-lr", "child-two-thread-counts"])
def test_bad_arguments_are_refused_with_their_name(argv, message):
    with pytest.raises(ValueError, match=message):
        lab_overhead.parse_args(argv)


@pytest.mark.parametrize("threads", ["0", "1,x", ""], ids=["zero", "not-a-number", "empty"])
def test_bad_thread_lists_stop_argparse(threads):
    with pytest.raises(SystemExit):
        lab_overhead.parse_args(["--threads", threads])


def test_a_preset_without_a_synthetic_set_is_refused():
    with pytest.raises(ValueError, match="synthetic sets fit"):
        lab_overhead.dataset_for("deepid")          # 1x39x31 input: no synthetic set of that shape


# ----------------------------------------------------------------------------- same training

def _args(**overrides):
    argv = []
    for key, value in overrides.items():
        argv += [f"--{key.replace('_', '-')}", str(value)]
    return lab_overhead.parse_args(argv)


def test_headless_data_is_the_apps_data():
    """The headless run trains on exactly what the lab session gives the app."""
    from cyconv.lab import LabSession, TrainingSettings

    args = _args(samples=200, eval_samples=30, seed=3)
    settings = TrainingSettings(dataset="synthetic", n_train=200, n_eval=30, seed=3)
    mine = lab_overhead.load_data(args)
    theirs = LabSession()._load_data(settings, (1, 28, 28))
    for split, (a, b) in zip(("train", "val"), zip(mine, theirs)):
        assert np.array_equal(a.images, b.images), split
        assert np.array_equal(a.labels, b.labels), split
    assert np.array_equal(mine[2].images, theirs[2].images[:30])          # the live views' test subset


def test_the_benchmark_offers_the_apps_choices():
    from cyconv.lab import settings

    assert lab_overhead.VAL_FRACTION == settings.VAL_FRACTION and lab_overhead.OPTIMIZERS == settings.OPTIMIZERS


@pytest.mark.parametrize("samples, batch, last_step", [(6000, 32, 950), (200, 32, 7), (200, 7, 500)],
                         ids=["default", "one-epoch", "many-epochs"])
def test_runs_have_epochs_to_spare(samples, batch, last_step):
    """The run is still training one epoch after the last timed step (the clock ends it)."""
    train, _, _ = lab_overhead.load_data(_args(samples=samples, eval_samples=10))
    batches_per_epoch = -(-len(train) // batch)
    epochs = lab_overhead.epochs_needed(samples, batch, last_step)
    assert (epochs - 1) * batches_per_epoch >= last_step > (epochs - 2) * batches_per_epoch


# ----------------------------------------------------------------------------- clock and summary

def test_step_clock_times_only_the_window():
    clock = lab_overhead.StepClock(warmup=2, steps=3)
    finished = [clock.record(step, 0.25, loss=step, now=10.0 * step) for step in range(1, 6)]
    assert finished == [False, False, False, False, True]
    result = clock.result()
    assert result["seconds"] == pytest.approx(30.0, abs=1e-12)          # step 5 done at 50, step 2 at 20
    assert result["steps_per_s"] == pytest.approx(0.1, abs=1e-12)
    assert result["compute_seconds"] == pytest.approx(0.75, abs=1e-12)
    assert result["losses"] == [3.0, 4.0, 5.0]


def test_step_clock_refuses_an_unfinished_window():
    clock = lab_overhead.StepClock(warmup=2, steps=3)
    clock.record(2, 0.1, 1.0, now=0.0)
    with pytest.raises(RuntimeError, match="steps 3..5"):
        clock.result()


def test_runs_are_interleaved():
    assert lab_overhead.run_order(3) == [(0, "headless"), (0, "lab"), (1, "lab"), (1, "headless"),
                                         (2, "headless"), (2, "lab")]


def _run(mode, rate, losses, seconds=1.0, compute=0.5):
    return {"mode": mode, "steps_per_s": rate, "losses": losses, "seconds": seconds, "compute_seconds": compute}


@pytest.mark.parametrize("lab_rates, verdict", [((90.0, 80.0), "PASS"), ((70.0, 79.0), "FAIL")],
                         ids=["pass", "fail"])
def test_compare_takes_the_ratio_of_the_medians(lab_rates, verdict):
    runs = [_run("headless", 100.0, [1.0]), _run("lab", lab_rates[0], [1.0]),
            _run("lab", lab_rates[1], [1.0]), _run("headless", 100.0, [1.0])]
    row = lab_overhead.compare(1, runs)
    assert row["ratio"] == pytest.approx(sum(lab_rates) / 2 / 100.0, abs=1e-12)
    assert row["verdict"] == verdict and row["same_losses"]
    assert row["paired_ratios"] == pytest.approx([rate / 100.0 for rate in lab_rates], abs=1e-12)


def test_compare_notices_different_losses():
    row = lab_overhead.compare(2, [_run("headless", 100.0, [1.0, 0.5]), _run("lab", 90.0, [1.0, 0.25])])
    assert not row["same_losses"]


# ----------------------------------------------------------------------------- the whole thing

@pytest.fixture(scope="module")
def tiny_report(tmp_path_factory):
    """Both runs in their own processes, tiny: 30 timed steps on 300 samples, 1 thread."""
    path = tmp_path_factory.mktemp("lab") / "lab_overhead.json"
    report = lab_overhead.main(["--steps", "30", "--warmup", "5", "--tab-steps", "10", "--repeats", "1",
                                "--threads", "1", "--samples", "300", "--eval-samples", "20", "--json", str(path)])
    with open(path, encoding="utf-8") as handle:
        return report, json.load(handle)


def test_tiny_run_writes_the_report_it_returns(tiny_report):
    report, written = tiny_report
    assert json.loads(json.dumps(report)) == written
    assert [(run["mode"], run["threads"]) for run in written["runs"]] == [("headless", 1), ("lab", 1)]
    row, = written["results"]
    assert row["threads"] == 1 and row["ratio"] > 0 and row["verdict"] in ("PASS", "FAIL")


def test_tiny_run_trains_the_same_steps_in_both(tiny_report):
    """One thread: the app's worker and the bare Trainer take bit-for-bit the same steps."""
    row, = tiny_report[1]["results"]
    assert row["same_losses"]


def test_tiny_lab_run_drives_the_real_window(tiny_report):
    lab, = [run for run in tiny_report[1]["runs"] if run["mode"] == "lab"]
    assert lab["platform"] == "offscreen" and lab["library_threads"] == 1
    assert lab["received"]["step_reports"] >= 35 and lab["received"]["pictures"] >= 1
    assert lab["tabs_shown"] == {"curves": 1, "filters": 1, "activations": 1}
    assert sum(lab["paints"].values()) > 0
