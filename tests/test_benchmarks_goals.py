"""The judging half of the benchmark harness (issue #13, "Speed 2"): the goals, the FLOP count,
the share of the matmul ceiling, the thread sweep, the summary and the core split on paper.

Everything here is fed made-up timings: no test asserts on a measured time.
"""
import argparse
import types

import pytest

from benchmarks import ceiling, compare, cores, flops, goals, models, report, run


def _result(median_ms, spread=0.0, rss=None):
    """A harness aggregate with the fields the comparisons read."""
    half = median_ms * spread / 2
    result = {"median_ms": median_ms, "p25_ms": median_ms - half, "p75_ms": median_ms + half}
    if rss is not None:
        result["peak_rss_mb"] = rss
    return result


def _args(**overrides):
    values = {"models": ["A"], "threads": [1, 2], "batch": [64], "small_batches": [1, 8],
              "small_models": ["A"], "scaling": False, "scaling_threads": [1]}
    values.update(overrides)
    return types.SimpleNamespace(**values)


# ----------------------------------------------------------------------------- FLOPs

def test_model_a_training_flops_match_a_hand_count():
    # Multiply-adds per sample, weights × output positions:
    conv1 = 10 * (1 * 5 * 5) * (24 * 24)      # 144,000
    conv2 = 20 * (10 * 5 * 5) * (8 * 8)       # 320,000
    dense1, dense2 = 320 * 100, 100 * 10
    forward_macs = conv1 + conv2 + dense1 + dense2
    assert forward_macs == 497_000 == models.macs_per_sample(models.model_config("A"))
    # forward + dW everywhere, dx everywhere but the first layer; 2 FLOPs per multiply-add.
    train = 2 * (3 * forward_macs - conv1)
    config = models.model_config("A")
    assert flops.step_flops(config, 1, "train") == train == 2_694_000
    assert flops.step_flops(config, 64, "train") == 64 * train == 172_416_000
    assert flops.step_flops(config, 64, "infer") == 64 * 2 * forward_macs


def test_layer_flops_skip_only_the_first_layers_input_gradient():
    rows = flops.layer_flops(models.model_config("D"))
    assert [r["layer"] for r in rows] == ["conv1", "conv2", "conv3", "dense1", "dense2"]
    assert rows[0]["input_grad"] == 0
    for row in rows:
        assert row["forward"] == row["weight_grad"] == 2 * row["macs"]
    assert all(r["input_grad"] == r["forward"] for r in rows[1:])


def test_step_flops_refuses_bad_arguments():
    config = models.model_config("A")
    with pytest.raises(ValueError, match="mode"):
        flops.step_flops(config, 64, "eval")
    with pytest.raises(ValueError, match="batch"):
        flops.step_flops(config, 0, "train")


def test_gflops_per_second():
    assert flops.gflops_per_second(2e9, 1000.0) == pytest.approx(2.0)
    assert flops.gflops_per_second(172_416_000, 2.0) == pytest.approx(86.208)
    assert flops.gflops_per_second(1e9, None) is None


# ----------------------------------------------------------------------------- goals

def test_the_goals_are_issue_13s():
    assert goals.TRAIN_RATIO_GOALS == {"A": 0.5, "B": 0.5, "C": 0.5, "D": 0.8}
    assert (goals.INFER_RATIO_GOAL, goals.SMALL_BATCH_RATIO_GOAL) == (0.4, 0.3)
    assert (goals.THREAD_SPEEDUP_GOAL, goals.CEILING_SHARE_GOAL) == (1.7, 0.5)
    assert (goals.MNIST_RATIO_GOAL, goals.RSS_RATIO_GOAL) == (0.6, 0.5)
    assert [key for key, _ in goals.GOAL_LINES] == [
        "torch_train", "torch_infer", "torch_small", "threads", "ceiling", "mnist", "rss",
        "reference"]


@pytest.mark.parametrize("engine, batch, threads, base, goal", [
    ("cyconv", 64, 2, 1, 1.7), ("torch", 64, 2, 1, None), ("cyconv", 64, 1, 1, None),
    ("cyconv", 64, 4, 1, None), ("cyconv", 8, 2, 1, None), ("cyconv", 64, 4, 2, None)],
    ids=lambda v: str(v))
def test_thread_speedup_goal(engine, batch, threads, base, goal):
    assert goals.thread_speedup_goal(engine, batch, threads, base) == goal


@pytest.mark.parametrize("engine, mode, batch, threads, goal", [
    ("cyconv", "train", 64, 1, 0.5), ("cyconv", "train", 64, 2, None),
    ("torch", "train", 64, 1, None), ("cyconv", "infer", 64, 1, None),
    ("cyconv", "train", 8, 1, None)], ids=lambda v: str(v))
def test_ceiling_share_goal(engine, mode, batch, threads, goal):
    assert goals.ceiling_share_goal(engine, mode, batch, threads) == goal


def test_mnist_goal_at_the_issues_thread_counts_only():
    assert goals.mnist_goal(1) == goals.mnist_goal(2) == 0.6
    assert goals.mnist_goal(8) is None


def test_torch_rows_judge_each_cell_against_its_goal():
    results = {("cyconv", "A", t, m, b, None): _result(ms) for t, m, b, ms in [
        (1, "train", 64, 4.0), (2, "train", 64, 3.0), (1, "infer", 64, 1.0),
        (2, "infer", 64, 1.0), (1, "train", 1, 0.2), (1, "train", 8, 0.5)]}
    results.update({("torch", "A", t, m, b, None): _result(ms) for t, m, b, ms in [
        (1, "train", 64, 10.0), (2, "train", 64, 5.0), (1, "infer", 64, 2.0),
        (2, "infer", 64, 5.0), (1, "train", 1, 1.0), (1, "train", 8, 1.0)]})
    rows = {(r["mode"], r["batch"], r["threads"]): r
            for r in compare.torch_rows(results, _args())}
    assert rows[("train", 64, 1)]["ratio"] == pytest.approx(0.4)
    assert rows[("train", 64, 1)]["verdict"] == "PASS"
    assert rows[("train", 64, 2)]["verdict"] == "FAIL"          # 0.6 > 0.5
    assert rows[("infer", 64, 1)]["verdict"] == "FAIL"          # 0.5 > 0.4
    assert rows[("infer", 64, 2)]["verdict"] == "PASS"          # 0.2
    assert rows[("train", 1, 1)]["verdict"] == "PASS"           # 0.2 ≤ 0.3
    assert rows[("train", 8, 1)]["verdict"] == "FAIL"           # 0.5 > 0.3
    assert ("train", 8, 2) not in rows                          # no cyconv cell


# ----------------------------------------------------------------------------- the ceiling

def test_ceiling_measurement_reports_the_best_repetition():
    result = ceiling.measure(size=64, reps=2)
    assert result["size"] == 64 and result["reps"] == 2
    assert result["best_ms"] <= result["median_ms"]
    assert result["gflops"] == pytest.approx(ceiling.matmul_flops(64) / result["best_ms"] / 1e6)
    assert ceiling.matmul_flops(1024) == 2 * 1024 ** 3


def test_best_ceilings_and_share():
    runs = [{"threads": 1, "gflops": 100.0}, {"threads": 2, "gflops": 150.0},
            {"threads": 1, "gflops": 120.0}]
    assert ceiling.best_ceilings(runs) == {1: 120.0, 2: 150.0}
    assert ceiling.share_of_ceiling(60.0, 120.0) == pytest.approx(0.5)
    assert ceiling.share_of_ceiling(None, 120.0) is None
    assert ceiling.share_of_ceiling(60.0, None) is None


def test_ceiling_rows_compute_the_share_of_every_cell():
    step = flops.step_flops(models.model_config("A"), 64, "train")   # 172.416 MFLOP
    results = {("cyconv", "A", 1, "train", 64, None): _result(step / 80e9 * 1e3),   # 80 GFLOP/s
               ("torch", "A", 1, "train", 64, None): _result(step / 20e9 * 1e3),
               ("cyconv", "A", 2, "train", 64, None): _result(step / 90e9 * 1e3)}
    rows = compare.ceiling_rows(results, _args(small_models=[]), {1: 100.0, 2: 200.0})
    by_cell = {(r["engine"], r["threads"], r["mode"]): r for r in rows}
    mine = by_cell[("cyconv", 1, "train")]
    assert mine["mflop"] == pytest.approx(172.416)
    assert mine["gflops"] == pytest.approx(80.0) and mine["share"] == pytest.approx(0.8)
    assert mine["goal"] == 0.5 and mine["verdict"] == "PASS"
    theirs = by_cell[("torch", 1, "train")]
    assert theirs["share"] == pytest.approx(0.2) and theirs["verdict"] == "-"
    two = by_cell[("cyconv", 2, "train")]
    assert two["share"] == pytest.approx(0.45) and two["goal"] is None
    assert len(rows) == 3                         # no inference cells were timed
    slow = {("cyconv", "A", 1, "train", 64, None): _result(step / 40e9 * 1e3)}
    (row,) = compare.ceiling_rows(slow, _args(small_models=[], threads=[1]), {1: 100.0})
    assert row["share"] == pytest.approx(0.4) and row["verdict"] == "FAIL"


# ----------------------------------------------------------------------------- the sweep

def test_threads_sweep_is_parsed_sorted_and_once():
    args = run.parse_args(["--threads", "4,1,8,2,2", "--no-mnist-epoch"])
    assert args.threads == [1, 2, 4, 8]
    assert run.parse_args(["--no-mnist-epoch"]).threads == [1, 2]
    for bad in ("0,1", "1,two", "-2"):
        with pytest.raises(SystemExit):
            run.parse_args(["--threads", bad])


def test_per_layer_and_mnist_choices(monkeypatch):
    monkeypatch.delenv("CYCONV_DATA", raising=False)
    args = run.parse_args(["--models", "A,B"])
    assert args.per_layer == run.PER_LAYER_MISSED and args.mnist_epoch is False
    assert run.parse_args(["--models", "A,B", "--per-layer"]).per_layer == ["A", "B"]
    assert run.parse_args(["--per-layer", "d"]).per_layer == ["D"]
    assert run.parse_args(["--per-layer", "none"]).per_layer == []
    with pytest.raises(SystemExit):
        run.parse_args(["--per-layer", "Z"])
    with pytest.raises(SystemExit):          # forced, but no data folder
        run.parse_args(["--mnist-epoch"])
    assert run.parse_args(["--data", "/somewhere"]).mnist_epoch is True
    assert run.parse_args(["--data", "/somewhere", "--no-mnist-epoch"]).mnist_epoch is False
    with pytest.raises(SystemExit):
        run.parse_args(["--mnist-epoch", "--no-mnist-epoch", "--data", "/somewhere"])


def test_thread_rows_give_each_counts_speedup_against_one_thread():
    times = {1: (8.0, 12.0), 2: (4.5, 8.0), 4: (2.5, 5.0), 8: (2.0, 4.0)}
    results = {}
    for threads, (mine, theirs) in times.items():
        results[("cyconv", "A", threads, "train", 64, None)] = _result(mine)
        results[("torch", "A", threads, "train", 64, None)] = _result(theirs)
    rows = {r["threads"]: r for r in compare.thread_rows(results, _args(threads=[1, 2, 4, 8]))}
    assert rows[1]["cyconv_speedup"] == pytest.approx(1.0) and rows[1]["goal"] is None
    assert rows[2]["cyconv_speedup"] == pytest.approx(8.0 / 4.5)
    assert rows[2]["goal"] == 1.7 and rows[2]["verdict"] == "PASS"
    assert rows[4]["cyconv_speedup"] == pytest.approx(3.2)
    assert rows[4]["cyconv_efficiency"] == pytest.approx(0.8) and rows[4]["verdict"] == "-"
    assert rows[8]["torch_speedup"] == pytest.approx(3.0)
    assert rows[8]["torch_efficiency"] == pytest.approx(3.0 / 8)
    slow = dict(results)
    slow[("cyconv", "A", 2, "train", 64, None)] = _result(5.0)            # 1.6×
    (row,) = [r for r in compare.thread_rows(slow, _args(threads=[1, 2])) if r["threads"] == 2]
    assert row["verdict"] == "FAIL"


def test_a_sweep_without_one_thread_has_no_speedup_goal():
    results = {("cyconv", "A", t, "train", 64, None): _result(10.0 / t) for t in (2, 4)}
    rows = compare.thread_rows(results, _args(threads=[2, 4]), engines=("cyconv",))
    assert [r["base_threads"] for r in rows] == [2, 2]
    assert rows[1]["cyconv_speedup"] == pytest.approx(2.0)
    assert all(r["goal"] is None for r in rows)
    text = report.format_thread_table(rows, cores=2)
    assert "time at 2 thread(s)" in text and "oversubscribed" in text


# ----------------------------------------------------------------------------- the summary

def _tables():
    return {"torch": [
                {"mode": "train", "batch": 64, "model": "A", "threads": 1, "ratio": 0.4,
                 "verdict": "PASS", "spread": 0.05},
                {"mode": "train", "batch": 64, "model": "A", "threads": 2, "ratio": 0.6,
                 "verdict": "FAIL", "spread": 0.40},
                {"mode": "infer", "batch": 64, "model": "A", "threads": 1, "ratio": 0.3,
                 "verdict": "PASS", "spread": 0.0},
                {"mode": "train", "batch": 8, "model": "A", "threads": 4, "ratio": 0.2,
                 "verdict": "-", "spread": 0.0}],
            "threads": [{"model": "A", "batch": 64, "threads": 2, "cyconv_speedup": 1.5,
                         "verdict": "FAIL"}],
            "ceiling": [{"engine": "cyconv", "mode": "train", "model": "A", "threads": 1,
                         "batch": 64, "share": 0.62, "verdict": "PASS"},
                        {"engine": "torch", "mode": "train", "model": "A", "threads": 1,
                         "batch": 64, "share": 0.2, "verdict": "-"}],
            "rss": [{"model": "A", "threads": 1, "batch": 64, "ratio": 0.3, "verdict": "PASS"}],
            "reference": [], "mnist_epoch": [{"threads": 1, "ratio": 0.7, "verdict": "FAIL"}]}


def test_summary_counts_every_goal_and_lists_the_missed():
    groups = compare.summary_groups(_tables())
    assert [e["label"] for e in groups["torch_train"]] == ["train A t1 b64", "train A t2 b64"]
    assert [e["verdict"] for e in groups["torch_small"]] == ["-"]
    text = report.format_summary(groups, missed_layers=[("A", 2)])
    train = next(line for line in text.splitlines() if line.startswith("training step ≤"))
    # one PASS, one FAIL (the "-" row is not counted); the worst is the largest ratio
    assert train.split()[-7:] == ["1", "1", "train", "A", "t2", "b64:", "0.60"]
    threads = next(line for line in text.splitlines() if line.startswith("2 threads"))
    assert "A t2 b64: 1.50×" in threads                      # higher is better: the lowest
    ceiling_line = next(line for line in text.splitlines() if "matmul ceiling" in line)
    assert "cyconv train A t1 b64: 62%" in ceiling_line
    assert "Goals: 4 PASS, 3 FAIL (2 not judged" in text
    assert "1 verdict(s) with a spread above 25%" in text
    missed = text.split("Missed:")[1]
    assert "torch_train train A t2 b64: 0.60" in missed
    assert "threads     A t2 b64: 1.50×" in missed and "mnist       t1: 0.70" in missed
    assert "(A t2)" in text
    reference = next(line for line in text.splitlines() if "NumPy reference" in line)
    assert reference.endswith("not measured in this run")


def test_missed_speed_pairs_point_the_per_layer_times_at_the_misses():
    # torch A t2 and the thread speedup of A t2 (once), the MNIST epoch (model A) at t1
    assert compare.missed_speed(_tables()) == [("A", 1), ("A", 2)]
    tables = _tables()
    tables["mnist_epoch"][0]["verdict"] = "PASS"
    assert compare.missed_speed(tables) == [("A", 2)]
    tables["threads"][0]["model"] = "B"
    tables["ceiling"][0]["verdict"] = "FAIL"
    assert compare.missed_speed(tables) == [("A", 1), ("A", 2), ("B", 2)]
    args = argparse.Namespace(per_layer=["B"], threads=[1, 2])
    assert run.per_layer_pairs(args, tables) == [("B", 1), ("B", 2)]
    args.per_layer = run.PER_LAYER_MISSED
    assert run.per_layer_pairs(args, tables) == [("A", 1), ("A", 2), ("B", 2)]


# ----------------------------------------------------------------------------- more cores

def test_core_split_follows_cyconvs_chunking():
    from cyconv import _plans

    split = cores.model_split("A", 16, batch=64)
    conv1 = next(r for r in split["rows"] if r["layer"] == "conv1" and r["pass"] == "fwd")
    chunk = _plans.conv_chunk(64, 25, 24 * 24, 16)
    assert conv1["pieces"] == -(-64 // chunk) and conv1["threads"] == 16
    conv1_bwd = next(r for r in split["rows"] if r["layer"] == "conv1" and r["pass"] == "bwd")
    assert conv1_bwd["pieces"] == _plans.conv_blocks(conv1["pieces"], 16, 20 * 25)
    assert 1.0 <= split["bound"] <= 16
    assert sum(r["flops"] for r in split["rows"]) == flops.step_flops(
        models.model_config("A"), 64, "train")
    dense2_dw = next(r for r in split["rows"] if r["layer"] == "dense2" and r["pass"] == "bwd dW")
    assert dense2_dw["pieces"] <= 10                 # ten classes: at most ten blocks
    small = cores.model_split("A", 16, batch=8)
    assert all(r["pieces"] <= 8 for r in small["rows"] if r["pass"] in ("fwd", "bwd"))
    assert small["bound"] <= 8                       # 8 samples cannot keep 16 cores busy
    assert cores.model_split("D", 1)["bound"] == pytest.approx(1.0)
    assert "conv1" in cores.format_overview([split]) and "GFLOP" in cores.format_split(split)


def test_pieces_bound():
    assert cores._pieces_bound(32, 16) == pytest.approx(16.0)
    assert cores._pieces_bound(22, 16) == pytest.approx(11.0)      # 6 threads run two pieces
    assert cores._pieces_bound(8, 16) == pytest.approx(8.0)        # 8 threads idle


def test_a_wide_layers_backward_is_bounded_by_its_blocks():
    class Row:                           # 22 chunks of a layer with 128 × 3·3·64 weights
        input_chw, output_chw, kernel_hw, weights = (64, 8, 8), (128, 8, 8), (3, 3), 128 * 576

    class Plans:
        num_threads = staticmethod(lambda work: 8)
        conv_chunk = staticmethod(lambda N, K, P, threads: 3)
        conv_blocks = staticmethod(lambda chunks, threads, values: 14)

    forward, backward = cores._conv_split(Row, 64, Plans)
    assert forward["pieces"] == 22 and forward["bound"] == pytest.approx(22 / 3)
    assert backward["pieces"] == 11 and backward["what"] == "blocks of 2 chunk(s)"
    assert backward["bound"] == pytest.approx(22 / (2 * 2))     # two blocks of two chunks each


def test_help_says_what_the_default_run_includes(capsys):
    with pytest.raises(SystemExit):
        run.parse_args(["--help"])
    text = capsys.readouterr().out
    assert "--threads" in text and "1,2,4,8" in text
    assert "MNIST epoch" in text and "--no-mnist-epoch skips it" in text
    assert "minutes on 2 cores" in text
