"""One training epoch of mnist_cnn (model A) on the 60,000 MNIST training images: cyconv against
PyTorch, the same shuffled batches in the same order, wall time of the epoch loop.

    CYCONV_DATA=/work/shared/data python -m benchmarks.mnist_epoch --engine cyconv --threads 1

The images are read straight from the IDX files (``<data>/mnist/train-images-idx3-ubyte.gz``
and the labels beside them), scaled to [0, 1] and standardised with the usual MNIST mean and
standard deviation before the clock starts; what is timed is the loop a trainer runs: take
the batch, forward, loss, backward, SGD update, read the loss and the number correct.
"""
import argparse
import gzip
import json
import os
import struct
import sys
import time

from . import _env, _timing, models

MODEL = "A"                      # mnist_cnn's network
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
IMAGES_FILE = "train-images-idx3-ubyte.gz"
LABELS_FILE = "train-labels-idx1-ubyte.gz"
IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049
LEARNING_RATE = 0.02


def _find(data_dir, name):
    for candidate in (os.path.join(data_dir, "mnist", name), os.path.join(data_dir, name)):
        if os.path.isfile(candidate):
            return candidate
    raise FileNotFoundError(f"mnist_epoch: {name} is neither in {data_dir}/mnist nor in "
                            f"{data_dir}; set CYCONV_DATA (or --data) to the data folder")


def _read_idx(path, magic, header_ints):
    """The payload of a gzip IDX file as uint8, after checking its magic number and size."""
    import numpy as np

    with gzip.open(path, "rb") as handle:
        header = struct.unpack(f">{header_ints}I", handle.read(4 * header_ints))
        payload = handle.read()
    if header[0] != magic:
        raise ValueError(f"mnist_epoch: {path} has magic {header[0]}, expected {magic}")
    expected = 1
    for dim in header[1:]:
        expected *= dim
    if len(payload) != expected:
        raise ValueError(f"mnist_epoch: {path} holds {len(payload)} bytes after the header, "
                         f"the header promises {expected} ({header[1:]})")
    return np.frombuffer(payload, dtype=np.uint8).reshape(header[1:])


def load_mnist_train(data_dir, limit=None):
    """images float32 (N, 1, 28, 28) standardised, labels int64 (N,); the first ``limit``."""
    import numpy as np

    images = _read_idx(_find(data_dir, IMAGES_FILE), IMAGES_MAGIC, 4)
    labels = _read_idx(_find(data_dir, LABELS_FILE), LABELS_MAGIC, 2)
    if len(images) != len(labels):
        raise ValueError(f"mnist_epoch: {len(images)} images but {len(labels)} labels")
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    images = (images.astype(np.float32) / 255.0 - MNIST_MEAN) / MNIST_STD
    return np.ascontiguousarray(images[:, None]), labels.astype(np.int64)


def batch_order(n, batch, seed):
    """The shuffled index batches of one epoch, identical in every engine's process."""
    import numpy as np

    order = np.random.default_rng(seed).permutation(n)
    return [order[start:start + batch] for start in range(0, n, batch)]


def _cyconv_epoch(config, images, labels, batches, seed):
    import numpy as np

    import cyconv

    model = models.cyconv_model(config, seed)
    loss_fn = cyconv.losses.SoftmaxCrossEntropy()
    optimizer = cyconv.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    loss_sum, correct = 0.0, 0
    start = time.perf_counter()
    for index in batches:
        x, y = images[index], labels[index]
        logits = model.forward(x)
        loss_sum += loss_fn.forward(logits, y) * len(index)
        model.backward(loss_fn.backward())
        optimizer.step()
        correct += int(np.count_nonzero(logits.argmax(axis=1) == y))
    return time.perf_counter() - start, loss_sum, correct


def _torch_epoch(config, images, labels, batches, weights):
    import torch

    net = models.build_torch(config, weights if weights is not None
                             else models.initial_weights(config))
    optimizer = torch.optim.SGD(net.parameters(), lr=LEARNING_RATE)
    loss_sum, correct = 0.0, 0
    start = time.perf_counter()
    for index in batches:
        x, y = torch.from_numpy(images[index]), torch.from_numpy(labels[index])
        optimizer.zero_grad(set_to_none=True)
        logits = net(x)
        loss = torch.nn.functional.cross_entropy(logits, y)
        loss.backward()
        optimizer.step()
        loss_sum += loss.item() * len(index)
        correct += int((logits.argmax(dim=1) == y).sum())
    return time.perf_counter() - start, loss_sum, correct


def run_epoch(engine, data_dir, batch=64, seed=0, limit=None, weights=None):
    """Train one epoch; {"seconds", "steps", "train_loss", "train_accuracy", ...}."""
    if engine not in ("cyconv", "torch"):
        raise ValueError(f"mnist_epoch: engine must be cyconv or torch, got {engine!r}")
    _timing.check_count(batch, "batch", "mnist_epoch")
    images, labels = load_mnist_train(data_dir, limit)
    config = models.model_config(MODEL)
    batches = batch_order(len(images), batch, seed)
    if engine == "cyconv":
        seconds, loss_sum, correct = _cyconv_epoch(config, images, labels, batches, seed)
    else:
        seconds, loss_sum, correct = _torch_epoch(config, images, labels, batches, weights)
    return {"engine": engine, "model": MODEL, "images": len(images), "batch": batch,
            "steps": len(batches), "seconds": seconds, "train_loss": loss_sum / len(images),
            "train_accuracy": correct / len(images), "peak_rss_mb": _env.peak_rss_mb()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default="cyconv", choices=("cyconv", "torch"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="use only the first N images")
    parser.add_argument("--data", default=os.environ.get("CYCONV_DATA"),
                        help="data folder (default $CYCONV_DATA)")
    parser.add_argument("--weights", default=None, help=".npz of initial weights (torch)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    _timing.check_count(args.threads, "threads", "benchmarks.mnist_epoch")
    if not args.data:
        parser.error("no data folder: set CYCONV_DATA or pass --data")
    _env.apply_thread_environment(args.engine, args.threads)
    _env.set_library_threads(args.engine, args.threads)
    weights = models.load_weights(args.weights) if args.weights else None
    result = run_epoch(args.engine, args.data, args.batch, args.seed, args.limit, weights)
    result["threads"] = args.threads
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
