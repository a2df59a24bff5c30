"""Smoke tests of the benchmark harness (benchmarks/): structure and correctness, never speed.

The harness itself is run once in its smallest form (one model, batch 2, one repetition, one
pass, no torch); the JSON it writes is checked for its structure. No test asserts on a time.
"""
import contextlib
import gzip
import io
import json
import struct

import numpy as np
import pytest

import cyconv
from benchmarks import _env, _timing, goals, harness, mnist_epoch, models, per_layer, run, scaling


# ----------------------------------------------------------------------------- the one command

@pytest.fixture(scope="module")
def tiny_report(tmp_path_factory):
    """The harness in its tiny mode: model A, 1 thread, batch 2, 1 rep, 1 pass, no torch."""
    path = tmp_path_factory.mktemp("bench") / "out.json"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        report = run.main(["--quick", "--models", "A", "--threads", "1", "--batch", "2",
                           "--reps", "1", "--passes", "1", "--no-torch", "--small-models", "",
                           "--no-mnist-epoch",
                           "--json", str(path)])
    with open(path, encoding="utf-8") as handle:
        return report, json.load(handle), printed.getvalue()


def test_tiny_run_writes_the_report_it_returns(tiny_report):
    report, written, _ = tiny_report
    assert set(written) == {"meta", "check", "cells", "torch", "threads", "ceilings",
                            "ceiling_runs", "ceiling", "reference", "rss", "per_layer",
                            "per_layer_pairs", "mnist_epoch", "scaling", "summary"}
    assert written["meta"]["models"] == ["A"] and written["meta"]["batch"] == [2]
    assert json.loads(json.dumps(report)) == written


def test_tiny_run_times_one_cell_per_engine_and_mode(tiny_report):
    cells = tiny_report[1]["cells"]
    keys = sorted((c["engine"], c["mode"]) for c in cells)
    assert keys == [("cyconv", "infer"), ("cyconv", "train"), ("reference", "train")]
    for cell in cells:
        assert cell["errors"] == []
        assert cell["model"] == "A" and cell["threads"] == 1 and cell["batch"] == 2
        assert cell["n"] == len(cell["times_ms"]) == 1
        assert cell["p25_ms"] <= cell["median_ms"] <= cell["p75_ms"]
        assert cell["peak_rss_mb"] > 0 and cell["input_shape"] == [1, 28, 28]


def test_tiny_run_trains_on_its_fixed_batch(tiny_report):
    trained = [c for c in tiny_report[1]["cells"] if c["mode"] == "train"]
    for cell in trained:
        assert cell["loss_last"] < cell["loss_first"], cell["engine"]


def test_tiny_run_compares_with_the_reference(tiny_report):
    written = tiny_report[1]
    (row,) = written["reference"]
    assert row["goal"] == run.REFERENCE_SPEEDUP_GOAL and row["verdict"] in ("PASS", "FAIL")
    assert row["speedup"] == pytest.approx(row["reference_ms"] / row["cyconv_ms"])
    assert all(r["torch_ms"] is None and r["verdict"] == "-" for r in written["torch"])
    assert written["check"]["A"]["torch"] is None
    assert max(written["check"]["A"]["reference"].values()) < run.ENGINES_AGREE_TOLERANCE


def test_tiny_run_prints_the_tables(tiny_report):
    printed = tiny_report[2]
    assert "PyTorch: not installed or --no-torch" in printed
    assert "cyconv vs the NumPy reference" in printed and "speedup" in printed
    assert "Thread scaling" in printed and "float32 matmul ceiling" in printed
    assert "Share of the ceiling" in printed and "MNIST epoch: skipped" in printed
    assert "Summary — issue #13's goals" in printed
    assert "Goals: " in printed and "JSON written to" in printed


def test_tiny_run_measures_the_ceiling_and_the_share(tiny_report):
    written = tiny_report[1]
    assert [run["threads"] for run in written["ceiling_runs"]] == [1, 1]   # before the pass, after it
    (best,) = written["ceilings"]
    assert best["threads"] == 1
    assert best["gflops"] == max(run["gflops"] for run in written["ceiling_runs"]) > 0
    rows = {row["mode"]: row for row in written["ceiling"]}
    train = rows["train"]
    assert train["engine"] == "cyconv" and train["mflop"] == pytest.approx(2 * 2.694)
    assert train["share"] == pytest.approx(train["gflops"] / best["gflops"])
    assert train["goal"] is None                 # the goal is for batch 64
    assert written["per_layer"] == [] and written["mnist_epoch"] == []


# ----------------------------------------------------------------------------- goals

@pytest.mark.parametrize("mode, model, batch, threads, goal", [
    ("train", "A", 64, 1, 0.5), ("train", "B", 64, 2, 0.5), ("train", "C", 64, 1, 0.5),
    ("train", "D", 64, 2, 0.8), ("train", "A", 1, 1, 0.3), ("train", "B", 8, 2, 0.3),
    ("train", "A", 32, 1, None), ("infer", "D", 64, 1, 0.4), ("infer", "A", 64, 2, 0.4),
    ("train", "A", 64, 4, None), ("infer", "A", 64, 8, None)], ids=lambda v: str(v))
def test_ratio_goals_follow_the_issue(mode, model, batch, threads, goal):
    assert goals.ratio_goal(mode, model, batch, threads) == goal


@pytest.mark.parametrize("value, goal, higher, expected", [
    (0.69, 0.7, False, "PASS"), (0.71, 0.7, False, "FAIL"), (5.1, 5.0, True, "PASS"),
    (4.9, 5.0, True, "FAIL"), (None, 0.7, False, "-"), (0.5, None, False, "-")],
    ids=["under", "over", "speedup-met", "speedup-missed", "no-value", "no-goal"])
def test_verdict(value, goal, higher, expected):
    assert goals.verdict(value, goal, higher) == expected


def test_bad_model_name_is_refused():
    with pytest.raises(SystemExit):
        run.parse_args(["--models", "A,Z"])


# ----------------------------------------------------------------------------- models

@pytest.mark.parametrize("name", models.MODEL_NAMES)
def test_geometry_and_names_agree_with_cyconv(name):
    config = models.model_config(name)
    model = cyconv.Sequential.from_config(config)
    x = np.zeros((1,) + model.input_shape, dtype=np.float32)
    traced = [output.shape[1:] for _, output in model.forward_trace(x)]
    assert models.layer_shapes(config) == traced
    assert models.layer_names(config) == [layer.name for layer in model.layers]


@pytest.mark.parametrize("side", scaling.IMAGE_SIZES, ids=lambda s: f"{s}px")
def test_image_size_variants_build(side):
    config = models.model_config("A", side)
    model = cyconv.Sequential.from_config(config)
    assert model.input_shape == (1, side, side) and model.output_shape == (10,)


@pytest.mark.parametrize("name", models.MODEL_NAMES)
def test_reference_step_matches_cyconv(name):
    diffs = models.compare_engines(name, batch=2, with_torch=False)["reference"]
    assert max(diffs.values()) < 1e-4, diffs


def test_torch_twin_matches_cyconv():
    pytest.importorskip("torch")
    diffs = models.compare_engines("A", batch=2)["torch"]
    assert max(diffs.values()) < 1e-4, diffs


def test_weights_round_trip_in_order(tmp_path):
    weights = models.initial_weights(models.model_config("B"))
    path = tmp_path / "w.npz"
    models.save_weights(path, weights)
    loaded = models.load_weights(path)
    assert [n for n, _ in loaded] == [n for n, _ in weights]
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(loaded, weights))


def test_unknown_model_and_bad_image_size_are_refused():
    with pytest.raises(ValueError, match="unknown model"):
        models.model_config("E")
    with pytest.raises(ValueError, match="image_size"):
        models.model_config("A", 0)
    with pytest.raises(ValueError, match=r"conv2: OH = .* < 1: the kernel height"):
        models.model_config("A", 8)


# ----------------------------------------------------------------------------- per layer

def test_per_layer_rows_cover_every_layer_and_leave_the_model_alone():
    model = cyconv.Sequential.from_config(models.model_config("A"))
    before = model.state_dict()
    rows = per_layer.per_layer_times(model, batch=2, reps=1, warmup=0)
    names = [layer.name for layer in model.layers] + [per_layer.LOSS_ROW, per_layer.UPDATE_ROW]
    assert [row["layer"] for row in rows] == names
    assert rows[0]["output_shape"] == [10, 24, 24]
    assert sum(row["share"] for row in rows) == pytest.approx(1.0)
    assert all(row["forward_ms"] >= 0 and row["backward_ms"] >= 0 for row in rows)
    after = model.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)
    assert "conv1" in per_layer.format_rows(rows)


def test_per_layer_refuses_bad_input():
    model = cyconv.Sequential.from_config(models.model_config("A"))
    with pytest.raises(ValueError, match="batch"):
        per_layer.per_layer_times(model, batch=0)
    with pytest.raises(TypeError, match="Sequential"):
        per_layer.per_layer_times("A", batch=2)


# ----------------------------------------------------------------------------- harness parts

def test_summarize_quartiles():
    stats = _timing.summarize([4.0, 1.0, 3.0, 2.0])
    assert stats == {"median_ms": 2.5, "p25_ms": 1.75, "p75_ms": 3.25, "min_ms": 1.0, "n": 4}
    with pytest.raises(ValueError):
        _timing.summarize([])


def test_thread_environment_caps_every_pool():
    env = _env.thread_environment("cyconv", 2, base={"PATH": "/bin"})
    assert env["OMP_NUM_THREADS"] == env["OPENBLAS_NUM_THREADS"] == "2"
    assert env["CYCONV_NUM_THREADS"] == "2" and env["PATH"] == "/bin"
    assert "CYCONV_NUM_THREADS" not in _env.thread_environment("torch", 1, base={})
    with pytest.raises(ValueError, match="threads"):
        _env.thread_environment("torch", 0)
    with pytest.raises(ValueError, match="engine"):
        _env.thread_environment("jax", 1)


def test_scaling_cells_share_the_native_size_with_the_batch_cells():
    cells = scaling.scaling_cells(["cyconv"], [1], reps=2, warmup=1)
    unique = harness.unique_cells(cells)
    assert len(cells) == len(scaling.BATCH_SIZES) + len(scaling.IMAGE_SIZES)
    assert len(unique) == len(cells) - 1   # batch 64 at 28×28 is one cell, timed once
    assert {c.image_size for c in unique} == {None, 56, 84, 128}


def _write_idx(path, magic, array):
    with gzip.open(path, "wb") as handle:
        handle.write(struct.pack(f">{array.ndim + 1}I", magic, *array.shape))
        handle.write(array.astype(np.uint8).tobytes())


def test_mnist_reader_and_batches(tmp_path, rng):
    folder = tmp_path / "mnist"
    folder.mkdir()
    images = rng.integers(0, 256, size=(10, 28, 28))
    _write_idx(folder / mnist_epoch.IMAGES_FILE, mnist_epoch.IMAGES_MAGIC, images)
    _write_idx(folder / mnist_epoch.LABELS_FILE, mnist_epoch.LABELS_MAGIC, np.arange(10))
    x, y = mnist_epoch.load_mnist_train(str(tmp_path), limit=6)
    assert x.shape == (6, 1, 28, 28) and x.dtype == np.float32
    expected = (images[:6, None] / 255.0 - mnist_epoch.MNIST_MEAN) / mnist_epoch.MNIST_STD
    np.testing.assert_allclose(x, expected, rtol=1e-6, atol=1e-6)
    assert y.tolist() == list(range(6))
    batches = mnist_epoch.batch_order(10, 4, seed=0)
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(np.concatenate(batches).tolist()) == list(range(10))
    _write_idx(folder / mnist_epoch.LABELS_FILE, mnist_epoch.IMAGES_MAGIC, np.arange(10))
    with pytest.raises(ValueError, match="magic"):
        mnist_epoch.load_mnist_train(str(tmp_path))
