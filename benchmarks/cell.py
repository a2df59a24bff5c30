"""One benchmark cell in its own process: one engine, one model, one thread count, one mode
(a full training step, or inference), one batch size. Prints a single JSON line.

    python -m benchmarks.cell --engine cyconv --model A --threads 1 --mode train --batch 64

The thread variables are set from the arguments before numpy, cyconv or torch is imported,
because OpenMP and OpenBLAS read them once, when they load.

A training step is what a training loop does per batch: forward, softmax cross-entropy,
backward, SGD update (no momentum). Inference is a forward pass without caches (torch under
``inference_mode``). Every step reuses one fixed random batch, so data loading is not timed.
"""
import argparse
import json
import sys

from . import _env, _timing, models

MODES = ("train", "infer")
LEARNING_RATE = 0.01


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", required=True, choices=_env.ENGINES)
    parser.add_argument("--model", required=True, choices=models.MODEL_NAMES)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--mode", default="train", choices=MODES)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--reps", type=int, default=7, help="timed repetitions")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (at least 1)")
    parser.add_argument("--image-size", type=int, default=None,
                        help="square input side; the first dense layer is resized to fit")
    parser.add_argument("--weights", default=None,
                        help=".npz of initial weights (benchmarks.models.save_weights); "
                             "without it they are drawn by cyconv from --seed")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for what in ("threads", "batch", "reps"):
        _timing.check_count(getattr(args, what), what, "benchmarks.cell")
    _timing.check_count(args.warmup, "warmup", "benchmarks.cell")
    return args


def make_batch(config, batch, seed):
    """A fixed float32 batch (N, C, H, W) of standard-normal pixels and integer labels (N,)."""
    import numpy as np

    rng = np.random.default_rng(seed + 1)
    x = rng.standard_normal((batch,) + tuple(config["input_shape"])).astype(np.float32)
    classes = models.layer_shapes(config)[-1][0]
    labels = rng.integers(0, classes, size=batch).astype(np.int64)
    return x, labels


def _cyconv_step(config, mode, x, labels, seed):
    import cyconv

    model = models.cyconv_model(config, seed)
    if mode == "infer":
        return lambda: model.forward(x, training=False)
    loss_fn = cyconv.losses.SoftmaxCrossEntropy()
    optimizer = cyconv.optim.SGD(model.parameters(), lr=LEARNING_RATE)

    def train_step():
        loss = loss_fn.forward(model.forward(x), labels)
        model.backward(loss_fn.backward())
        optimizer.step()
        return loss
    return train_step


def _torch_step(config, mode, x, labels, weights):
    import torch

    net = build_torch_net(config, weights)
    inputs, targets = torch.from_numpy(x), torch.from_numpy(labels)
    if mode == "infer":
        net.eval()

        def infer_step():
            with torch.inference_mode():
                return net(inputs)
        return infer_step
    optimizer = torch.optim.SGD(net.parameters(), lr=LEARNING_RATE)

    def train_step():
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(net(inputs), targets)
        loss.backward()
        optimizer.step()
        return loss
    return train_step


def build_torch_net(config, weights):
    """The torch twin of ``config``; ``weights`` [(name, array)] or None (drawn by cyconv)."""
    if weights is None:
        weights = models.initial_weights(config)
    return models.build_torch(config, weights)


def _reference_step(config, mode, x, labels, seed):
    net = models.ReferenceNet(config, models.initial_weights(config, seed))
    if mode == "infer":
        return lambda: net.forward(x)
    return lambda: net.train_step(x, labels, LEARNING_RATE)


def make_step(engine, config, mode, x, labels, *, seed=0, weights=None):
    """A no-argument function that runs one step of ``mode`` on the fixed batch."""
    if engine == "cyconv":
        return _cyconv_step(config, mode, x, labels, seed)
    if engine == "torch":
        return _torch_step(config, mode, x, labels, weights)
    return _reference_step(config, mode, x, labels, seed)


def _loss_value(result):
    """The float loss of a training step's result (a float or a 0-d torch tensor)."""
    return float(result.item()) if hasattr(result, "item") else float(result)


def run_cell(args):
    """Build, warm up, time; the result dict that the parent aggregates."""
    _env.set_library_threads(args.engine, args.threads)
    config = models.model_config(args.model, args.image_size)
    x, labels = make_batch(config, args.batch, args.seed)
    weights = models.load_weights(args.weights) if args.weights else None
    step = make_step(args.engine, config, args.mode, x, labels, seed=args.seed, weights=weights)
    first = step()
    times = _timing.time_calls(step, args.reps, warmup=max(args.warmup - 1, 0))
    last = step()
    result = {
        "engine": args.engine, "model": args.model, "threads": args.threads,
        "mode": args.mode, "batch": args.batch, "image_size": args.image_size,
        "input_shape": config["input_shape"], "times_ms": times,
        "peak_rss_mb": _env.peak_rss_mb(), "library_threads": _env.library_threads(args.engine),
        "warmup": args.warmup,
    }
    if args.mode == "train":
        # A falling loss on the fixed batch shows the step really trains (no silent no-op).
        result["loss_first"], result["loss_last"] = _loss_value(first), _loss_value(last)
    return result


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    _env.apply_thread_environment(args.engine, args.threads)
    print(json.dumps(run_cell(args)), flush=True)


if __name__ == "__main__":
    main()
