"""How a training step's time grows with the batch size (1 to 256) and with the image size
(28 to 128), for cyconv and torch, on model A (the image-size runs resize its first dense layer
to the new flattened size).

Run alone with ``python -m benchmarks.scaling`` or as part of ``python -m benchmarks.run
--scaling``; every point is a cell of its own process, timed in the interleaved passes.
"""
import argparse
import json
import sys
import tempfile

from . import _timing, harness, models

BATCH_SIZES = (1, 8, 32, 64, 128, 256)
IMAGE_SIZES = (28, 56, 84, 128)
SCALING_MODEL = "A"
NATIVE_SIZE = 28   # model A's own input side: that point is the ordinary cell


def scaling_cells(engines, threads_list, reps, warmup, batch=64):
    """Training-step cells: model A at every batch size, and at every image size with
    ``batch`` samples."""
    cells = []
    for threads in threads_list:
        for engine in engines:
            cells += [harness.Cell(engine, SCALING_MODEL, threads, "train", size, None,
                                   reps=reps, warmup=warmup) for size in BATCH_SIZES]
            cells += [harness.Cell(engine, SCALING_MODEL, threads, "train", batch,
                                   None if side == NATIVE_SIZE else side, reps=reps,
                                   warmup=warmup) for side in IMAGE_SIZES]
    return cells


def _point(results, engine, threads, batch, image_size):
    result = results.get((engine, SCALING_MODEL, threads, "train", batch, image_size))
    return result.get("median_ms") if result else None


def _row(results, threads, batch, image_size, what, value):
    cyconv_ms = _point(results, "cyconv", threads, batch, image_size)
    torch_ms = _point(results, "torch", threads, batch, image_size)
    side = image_size or NATIVE_SIZE
    ratio = cyconv_ms / torch_ms if cyconv_ms and torch_ms else None
    return {"threads": threads, what: value, "batch": batch, "image_size": side,
            "cyconv_ms": cyconv_ms, "torch_ms": torch_ms, "ratio": ratio,
            "cyconv_us_per_sample": 1e3 * cyconv_ms / batch if cyconv_ms else None,
            "mmacs_per_sample": models.macs_per_sample(
                models.model_config(SCALING_MODEL, image_size)) / 1e6}


def scaling_tables(results, threads_list, batch=64):
    """{"batch": rows, "image_size": rows} from the harness results (key → aggregate)."""
    by_batch = [_row(results, threads, size, None, "batch", size)
                for threads in threads_list for size in BATCH_SIZES]
    by_image = [_row(results, threads, batch, None if side == NATIVE_SIZE else side,
                     "image_size", side)
                for threads in threads_list for side in IMAGE_SIZES]
    return {"batch": by_batch, "image_size": by_image}


def _ms(value):
    return f"{value:10.3f}" if value is not None else f"{'-':>10}"


def _ratio(value):
    return f"{value:6.2f}" if value is not None else f"{'-':>6}"


def format_scaling(tables):
    """The two scaling tables as text."""
    lines = [f"Scaling: training step of model {SCALING_MODEL} against the batch size "
             f"(image {NATIVE_SIZE}×{NATIVE_SIZE})",
             f"{'thr':>3} {'batch':>6} {'cyconv ms':>10} {'torch ms':>10} {'ratio':>6} "
             f"{'cy µs/sample':>12}"]
    for row in tables["batch"]:
        per_sample = (f"{row['cyconv_us_per_sample']:12.1f}"
                      if row["cyconv_us_per_sample"] is not None else f"{'-':>12}")
        lines.append(f"{row['threads']:>3} {row['batch']:>6} {_ms(row['cyconv_ms'])} "
                     f"{_ms(row['torch_ms'])} {_ratio(row['ratio'])} {per_sample}")
    batch = tables["image_size"][0]["batch"] if tables["image_size"] else "-"
    lines += ["", f"Scaling: training step of model {SCALING_MODEL} against the image size "
                  f"(batch {batch}; first dense layer resized)",
              f"{'thr':>3} {'side':>6} {'MMAC/img':>9} {'cyconv ms':>10} {'torch ms':>10} "
              f"{'ratio':>6}"]
    for row in tables["image_size"]:
        lines.append(f"{row['threads']:>3} {row['image_size']:>6} "
                     f"{row['mmacs_per_sample']:9.2f} {_ms(row['cyconv_ms'])} "
                     f"{_ms(row['torch_ms'])} {_ratio(row['ratio'])}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1", help="comma-separated, e.g. 1,2")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--json", default=None, help="also write the tables to this file")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    threads_list = [_timing.check_count(int(t), "threads", "benchmarks.scaling")
                    for t in args.threads.split(",") if t]
    with_torch = not args.no_torch and harness.torch_available()
    engines = ["cyconv"] + (["torch"] if with_torch else [])
    cells = harness.unique_cells(scaling_cells(engines, threads_list, args.reps, args.warmup))
    with tempfile.TemporaryDirectory(prefix="cyconv-bench-") as folder:
        results = harness.run_passes(cells, args.passes, harness.WeightFiles(folder),
                                     harness.log_to_stderr)
    tables = scaling_tables(results, threads_list)
    print(format_scaling(tables))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(tables, handle, indent=1)


if __name__ == "__main__":
    main()
