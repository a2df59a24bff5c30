"""How each model's training step splits over more cores, on paper: for every convolution and
dense GEMM of a batch-64 step, how many threads cyconv starts, how many independent pieces
the work is cut into, and the speedup that split allows at most.

    python -m benchmarks.cores                    # 2, 8 and 16 cores, batch 64
    python -m benchmarks.cores --cores 4,8,16,32 --batch 8 --detail

Nothing is timed: the thread counts and chunk sizes come from cyconv's own planning rules
(``cyconv._plans.num_threads`` and ``conv_chunk``, asked with the thread count set to the
core count), so the table stays true when those rules change.

- A convolution's forward pass is cut into chunks of samples (``conv_chunk``: as many samples
  as fit the im2col scratch budget, at least one chunk per thread), handed out one at a time;
  with ``pieces`` equal chunks on ``t`` threads the slowest thread still runs ceil(pieces / t)
  of them, so the speedup is at most pieces / ceil(pieces / t). The backward pass hands out
  blocks of consecutive chunks (``conv_blocks``: up to four per thread, fewer for wide layers,
  whose per-block dW accumulators would not fit their budget), so its bound counts chunks in
  blocks: pieces / (chunks per block · ceil(blocks / t)).
- A dense layer's forward and input gradient cut the batch into one block of rows per thread
  (min(t, N) blocks); its weight gradient cuts the output features (min(t, O) blocks), so a
  10-class output layer never uses more than 10 threads for dW.
- A kernel whose work is below cyconv's per-thread threshold runs on fewer threads
  (``num_threads``): waking a thread costs more than such a small piece.

The step's bound weighs each GEMM by its FLOPs (``benchmarks.flops``) — Amdahl's law over
the split alone. Memory bandwidth, the shared L3 and the element-wise layers are not in it,
so real speedups are lower; the measured ones come from ``benchmarks.run --threads``.
"""
import argparse
import math
import sys

from . import flops, models

DEFAULT_CORES = (2, 8, 16)
_TAGS = {"fwd": "fwd", "bwd": "bwd", "bwd dx": "dx", "bwd dW": "dW"}


def _pieces_bound(pieces, threads):
    """The speedup over one thread of ``pieces`` equal pieces dealt statically to threads."""
    threads = max(1, min(threads, pieces))
    return pieces / math.ceil(pieces / threads)


def _conv_split(row, batch, plans):
    C = row.input_chw[0]
    F, OH, OW = row.output_chw
    KH, KW = row.kernel_hw
    K = row.weights // F          # C/G · KH · KW: one filter's weights
    groups = C * KH * KW // K     # the columns hold every channel's: G · K rows
    P = OH * OW
    threads = plans.num_threads(batch * F * P * K)
    chunk = plans.conv_chunk(batch, K * groups, P, threads)
    pieces = -(-batch // chunk)
    per_block = -(-pieces // plans.conv_blocks(pieces, threads, F * K))
    blocks = -(-pieces // per_block)
    return [{"pass": "fwd", "threads": threads, "pieces": pieces,
             "what": f"chunks of {chunk} sample(s)", "bound": _pieces_bound(pieces, threads)},
            {"pass": "bwd", "threads": threads, "pieces": blocks,
             "what": f"blocks of {per_block} chunk(s)",
             "bound": pieces / (per_block * math.ceil(blocks / max(1, min(threads, blocks))))}]


def _dense_split(row, batch, plans):
    in_features, out_features = row.input_chw[0], row.output_chw[0]
    work = batch * in_features * out_features
    forward_threads = plans.num_threads(work)
    backward_threads = plans.num_threads(2 * work)
    rows_forward = min(forward_threads, batch)
    rows_backward = min(backward_threads, batch)
    features = min(backward_threads, out_features)
    return [{"pass": "fwd", "threads": forward_threads, "pieces": rows_forward,
             "what": f"row blocks of ~{batch // rows_forward}",
             "bound": _pieces_bound(rows_forward, forward_threads)},
            {"pass": "bwd dx", "threads": backward_threads, "pieces": rows_backward,
             "what": f"row blocks of ~{batch // rows_backward}",
             "bound": _pieces_bound(rows_backward, backward_threads)},
            {"pass": "bwd dW", "threads": backward_threads, "pieces": features,
             "what": f"feature blocks of ~{out_features // features}",
             "bound": out_features / math.ceil(out_features / features)}]


def _flops_of_pass(entry, split_pass):
    if split_pass == "bwd":
        return entry["weight_grad"] + entry["input_grad"]
    key = {"fwd": "forward", "bwd dx": "input_grad", "bwd dW": "weight_grad"}[split_pass]
    return entry[key]


def model_split(name, cores, batch=64):
    """{"model", "cores", "batch", "rows": [...], "bound"} for one model and core count."""
    import cyconv
    from cyconv import _plans

    config = models.model_config(name)
    work = {entry["layer"]: entry for entry in flops.layer_flops(config)}
    names = models.layer_names(config)
    previous = cyconv.get_num_threads()
    cyconv.set_num_threads(cores)
    try:
        rows = []
        for layer, row, layer_name in zip(config["layers"], models.layer_rows(config), names):
            if layer["type"] not in flops.GEMM_TYPES:
                continue
            split = (_conv_split if layer["type"] == "Conv2D" else _dense_split)(
                row, batch, _plans)
            for part in split:
                part.update(layer=layer_name,
                            flops=_flops_of_pass(work[layer_name], part["pass"]) * batch)
                rows.append(part)
    finally:
        cyconv.set_num_threads(previous)
    total = sum(r["flops"] for r in rows)
    serial_share = sum(r["flops"] / r["bound"] for r in rows if r["flops"])
    return {"model": name, "cores": cores, "batch": batch, "rows": rows,
            "bound": total / serial_share if serial_share else 1.0}


def format_split(split):
    lines = [f"model {split['model']}, {split['cores']} cores, batch {split['batch']}: "
             f"step speedup at most {split['bound']:.1f}× (GEMM FLOPs weighed by their split)",
             f"  {'layer':<8} {'pass':<8} {'thr':>3} {'pieces':>6} {'split':<26} "
             f"{'GFLOP':>6} {'≤ ×':>5}"]
    for r in split["rows"]:
        lines.append(f"  {r['layer']:<8} {r['pass']:<8} {r['threads']:>3} {r['pieces']:>6} "
                     f"{r['what']:<26} {r['flops'] / 1e9:6.3f} {r['bound']:5.1f}")
    return "\n".join(lines)


def format_overview(splits):
    """One line per model and core count: each GEMM's threads/pieces and the step's bound."""
    lines = ["model cores batch  bound  per GEMM: threads started / pieces of work "
             "(conv: fwd sample chunks, bwd blocks of chunks; dense: fwd, dx, dW blocks)"]
    for split in splits:
        parts = []
        for r in split["rows"]:
            tag = f"{r['layer']}.{_TAGS[r['pass']]}"
            parts.append(f"{tag} {r['threads']}/{r['pieces']}")
        lines.append(f"{split['model']:<5} {split['cores']:>5} {split['batch']:>5} "
                     f"{split['bound']:5.1f}×  " + ", ".join(parts))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", default=",".join(map(str, DEFAULT_CORES)),
                        help="comma-separated core counts (default 2,8,16)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--models", default=",".join(models.MODEL_NAMES))
    parser.add_argument("--detail", action="store_true",
                        help="one table per model and core count, with each GEMM's FLOPs")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    cores = [int(c) for c in args.cores.split(",") if c.strip()]
    names = [n.strip().upper() for n in args.models.split(",") if n.strip()]
    splits = [model_split(name, count, args.batch) for name in names for count in cores]
    if args.detail:
        print("\n\n".join(format_split(split) for split in splits))
    else:
        print(format_overview(splits))


if __name__ == "__main__":
    main()
