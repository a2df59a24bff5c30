"""Where the time of a training step goes: each layer's forward and backward timed separately.

:func:`per_layer_times` takes any cyconv ``Sequential`` (the app may call it; this module
imports neither Qt nor torch at the top). :func:`torch_per_layer_times` does the same for the
torch twin, so the two can be read side by side. From the command line, in its own process
with the threads set before the libraries load:

    python -m benchmarks.per_layer --engine cyconv --model A --threads 1 --batch 64

Each layer is timed on realistic inputs: one forward pass records the input every layer
really sees, one backward pass the gradient every layer really receives. The first layer's
backward skips the input gradient, as a training step does. The model passed in is not
changed: the timing runs on a copy.
"""
import argparse
import json
import sys

from . import _env, _timing, models

LOSS_ROW = "loss"
UPDATE_ROW = "sgd"


def _row(name, kind, output_shape, forward_ms, backward_ms):
    return {"layer": name, "type": kind, "output_shape": list(output_shape),
            "forward_ms": forward_ms, "backward_ms": backward_ms,
            "total_ms": forward_ms + backward_ms}


def _add_shares(rows):
    """Each row's share of the summed time, so the table says where the time goes."""
    total = sum(row["total_ms"] for row in rows)
    for row in rows:
        row["share"] = row["total_ms"] / total if total > 0 else 0.0
    return rows


def _median(fn, reps, warmup):
    return _timing.summarize(_timing.time_calls(fn, reps, warmup))["median_ms"]


def _check_model(model):
    import cyconv

    if not isinstance(model, cyconv.Sequential):
        raise TypeError(f"per_layer_times: model must be a cyconv.Sequential, got "
                        f"{type(model).__name__}")
    if len(model.output_shape) != 1:
        raise ValueError(f"per_layer_times: the model must end in class scores (N, K) for "
                         f"softmax cross-entropy; its output shape is {model.output_shape}")


def _private_copy(model):
    """The same network and weights in new arrays, so timing never touches the caller's."""
    import cyconv

    twin = cyconv.Sequential.from_config(model.config(), dtype=model.dtype)
    twin.load_state_dict(model.state_dict())
    return twin


def _backward(layer, dout, is_first):
    # A training step never needs dL/dimages, so the first conv/dense layer skips it, as
    # Sequential.backward does; timing it here would charge the layer for work nobody does.
    from cyconv import layers

    if is_first and isinstance(layer, (layers.Conv2D, layers.Dense)):
        return layer.backward(dout, need_dx=False)
    return layer.backward(dout)


def per_layer_times(model, batch, reps=5, *, warmup=1, seed=0):
    """Median forward and backward milliseconds of every layer of a cyconv model.

    model: cyconv.Sequential ending in class scores (N, K); batch: samples per step;
    reps: timed calls per layer and direction (after ``warmup`` untimed ones).
    Returns a list of dicts, one per layer and then ``"loss"`` (softmax cross-entropy forward
    and backward) and ``"sgd"`` (the update, in the backward column): keys ``layer``, ``type``,
    ``output_shape``, ``forward_ms``, ``backward_ms``, ``total_ms`` and ``share`` (of the sum).
    """
    _check_model(model)
    _timing.check_count(batch, "batch", "per_layer_times")
    _timing.check_count(reps, "reps", "per_layer_times")
    _timing.check_count(warmup, "warmup", "per_layer_times", minimum=0)
    import numpy as np

    import cyconv

    model = _private_copy(model)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch,) + model.input_shape).astype(model.dtype)
    labels = rng.integers(0, model.output_shape[0], size=batch)

    inputs = []
    for layer in model.layers:
        inputs.append(x)
        x = layer.forward(x, training=True)
    loss_fn = cyconv.losses.SoftmaxCrossEntropy()
    loss_fn.forward(x, labels)
    upstream = [None] * len(model.layers)
    dout = loss_fn.backward()
    for index in range(len(model.layers) - 1, -1, -1):
        upstream[index] = dout
        dout = _backward(model.layers[index], dout, index == 0)

    rows = []
    for index, layer in enumerate(model.layers):
        forward_ms = _median(lambda: layer.forward(inputs[index], training=True), reps, warmup)
        backward_ms = _median(lambda: _backward(layer, upstream[index], index == 0),
                              reps, warmup)
        output_shape = upstream[index].shape[1:]
        rows.append(_row(layer.name, layer.type_name, output_shape, forward_ms, backward_ms))
    loss_forward = _median(lambda: loss_fn.forward(x, labels), reps, warmup)
    loss_backward = _median(loss_fn.backward, reps, warmup)
    rows.append(_row(LOSS_ROW, "SoftmaxCrossEntropy", (1,), loss_forward, loss_backward))
    optimizer = cyconv.optim.SGD(model.parameters(), lr=1e-6)
    rows.append(_row(UPDATE_ROW, "SGD", (model.count_params(),), 0.0,
                     _median(optimizer.step, reps, warmup)))
    return _add_shares(rows)


def torch_per_layer_times(net, input_shape, batch, reps=5, *, warmup=1, seed=0, names=None):
    """The same table for a torch ``nn.Sequential`` (same keys; ``names`` label the rows).

    Forward runs with autograd recording, as in training; backward is
    ``torch.autograd.grad`` of the layer's output with respect to its input (skipped for the
    first layer) and its parameters.
    """
    import numpy as np
    import torch

    _timing.check_count(batch, "batch", "torch_per_layer_times")
    _timing.check_count(reps, "reps", "torch_per_layer_times")
    modules = list(net)
    names = list(names) if names is not None else [f"layer{i}" for i in range(len(modules))]
    if len(names) != len(modules):
        raise ValueError(f"torch_per_layer_times: {len(names)} names for {len(modules)} layers")
    rng = np.random.default_rng(seed)
    x = torch.from_numpy(rng.standard_normal((batch,) + tuple(input_shape)).astype(np.float32))
    inputs = []
    with torch.no_grad():
        for module in modules:
            inputs.append(x)
            x = module(x)
    logits = x.clone().requires_grad_(True)
    labels = torch.from_numpy(rng.integers(0, x.shape[1], size=batch).astype(np.int64))
    loss = torch.nn.functional.cross_entropy(logits, labels)
    (dout,) = torch.autograd.grad(loss, [logits])

    rows = [None] * len(modules)
    for index in range(len(modules) - 1, -1, -1):
        module = modules[index]
        layer_input = inputs[index].detach().requires_grad_(index > 0)
        targets = ([layer_input] if index > 0 else []) + list(module.parameters())
        forward_ms = _median(lambda: module(layer_input), reps, warmup)
        output = module(layer_input)
        if targets:
            backward_ms = _median(lambda: torch.autograd.grad(output, targets, dout,
                                                              retain_graph=True), reps, warmup)
            grads = torch.autograd.grad(output, targets, dout, retain_graph=True)
            dout = grads[0] if index > 0 else None
        else:
            backward_ms = 0.0
        rows[index] = _row(names[index], type(module).__name__, tuple(output.shape[1:]),
                           forward_ms, backward_ms)

    def loss_forward():
        return torch.nn.functional.cross_entropy(logits, labels)
    loss_value = loss_forward()
    loss_backward_ms = _median(lambda: torch.autograd.grad(loss_value, [logits],
                                                           retain_graph=True), reps, warmup)
    rows.append(_row(LOSS_ROW, "cross_entropy", (1,), _median(loss_forward, reps, warmup),
                     loss_backward_ms))
    for param in net.parameters():
        param.grad = torch.zeros_like(param)
    optimizer = torch.optim.SGD(net.parameters(), lr=1e-6)
    count = sum(p.numel() for p in net.parameters())
    rows.append(_row(UPDATE_ROW, "SGD", (count,), 0.0, _median(optimizer.step, reps, warmup)))
    return _add_shares(rows)


def format_rows(rows, title=""):
    """A plain-text table of :func:`per_layer_times` rows."""
    lines = [title] if title else []
    lines.append(f"{'layer':<10} {'type':<20} {'output':<14} {'fwd ms':>8} {'bwd ms':>8} "
                 f"{'share':>6}")
    for row in rows:
        shape = "×".join(str(v) for v in row["output_shape"])
        lines.append(f"{row['layer']:<10} {row['type']:<20} {shape:<14} "
                     f"{row['forward_ms']:8.3f} {row['backward_ms']:8.3f} "
                     f"{100 * row['share']:5.1f}%")
    return "\n".join(lines)


def measure(engine, model_name, batch, reps, warmup=2, seed=0, weights=None):
    """Per-layer rows and the whole-step median for one engine and benchmark model
    (threads must already be set)."""
    from . import cell

    config = models.model_config(model_name)
    names = models.layer_names(config)
    if engine == "cyconv":
        rows = per_layer_times(models.cyconv_model(config, seed), batch, reps,
                               warmup=warmup, seed=seed)
    elif engine == "torch":
        net = cell.build_torch_net(config, weights)
        rows = torch_per_layer_times(net, config["input_shape"], batch, reps, warmup=warmup,
                                     seed=seed, names=names)
    else:
        raise ValueError(f"per_layer.measure: engine must be cyconv or torch, got {engine!r}")
    x, labels = cell.make_batch(config, batch, seed)
    step = cell.make_step(engine, config, "train", x, labels, seed=seed, weights=weights)
    step_ms = _median(step, reps, warmup)
    return {"engine": engine, "model": model_name, "batch": batch, "rows": rows,
            "step_ms": step_ms, "sum_ms": sum(row["total_ms"] for row in rows)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default="cyconv", choices=("cyconv", "torch"))
    parser.add_argument("--model", default="A", choices=models.MODEL_NAMES)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--weights", default=None, help=".npz of initial weights (torch)")
    parser.add_argument("--json", action="store_true", help="print one JSON line, no table")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    _timing.check_count(args.threads, "threads", "benchmarks.per_layer")
    _env.apply_thread_environment(args.engine, args.threads)
    _env.set_library_threads(args.engine, args.threads)
    weights = models.load_weights(args.weights) if args.weights else None
    result = measure(args.engine, args.model, args.batch, args.reps, args.warmup,
                     weights=weights)
    result["threads"] = args.threads
    if args.json:
        print(json.dumps(result), flush=True)
    else:
        print(format_rows(result["rows"], f"{args.engine}, model {args.model}, "
                                          f"{args.threads} thread(s), batch {args.batch}"))
        print(f"sum of rows {result['sum_ms']:.3f} ms; whole training step "
              f"{result['step_ms']:.3f} ms")


if __name__ == "__main__":
    main()
