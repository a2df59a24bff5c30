"""``python -m cyconv.monitor``: the doctor and the time machine from the command line.

    python -m cyconv.monitor report run.npz [--gif filters.gif] [--layer conv1] [--lang ko]
    python -m cyconv.monitor break lr_x100 [--preset mnist_cnn] [--data synthetic] [--steps 30]

``report`` reads a session saved by the lab (its recorded history and checkups) and prints the
doctor's diagnoses, optionally writing the filters' evolution as a GIF. ``break`` runs one
"break it" experiment and prints what the doctor says. A mistake is one line on stderr.
"""
from __future__ import annotations

import argparse
import sys

__all__ = ["main"]

HISTORY_PREFIX, DOCTOR_PREFIX = "learn/history/", "learn/doctor/"


def _parser() -> argparse.ArgumentParser:
    from .experiments import EXPERIMENTS

    parser = argparse.ArgumentParser(prog="python -m cyconv.monitor", description=__doc__.splitlines()[0])
    parser.add_argument("--lang", choices=("en", "ko"), default="en", help="language of the diagnoses")
    commands = parser.add_subparsers(dest="command", required=True)
    report = commands.add_parser("report", help="diagnose a saved lab session")
    report.add_argument("checkpoint")
    report.add_argument("--gif", help="write the filters' evolution to this GIF")
    report.add_argument("--layer", help="the conv layer of the GIF (default: the first)")
    broken = commands.add_parser("break", help="run a break-it experiment")
    broken.add_argument("experiment", choices=EXPERIMENTS)
    broken.add_argument("--preset", default="mnist_cnn")
    broken.add_argument("--data", default="synthetic")
    broken.add_argument("--n-train", type=int, default=2000)
    broken.add_argument("--steps", type=int, default=30)
    broken.add_argument("--seed", type=int, default=0)
    return parser


def _report(args) -> list[str]:
    from .. import io
    from . import doctor, gif
    from .history import History
    from .log import CheckupLog

    checkpoint = io.load(args.checkpoint)
    types = {name: layer.type_name for name, layer in checkpoint.model.named_layers()}
    history = History.from_arrays(checkpoint.attachments, HISTORY_PREFIX)
    log = CheckupLog.from_arrays(checkpoint.attachments, types, DOCTOR_PREFIX)
    if history is None and log is None:
        raise ValueError(f"{args.checkpoint}: holds no recorded history (save a session from the lab after training)")
    lines = []
    if history is not None:
        lines.append(f"{len(history)} moments recorded, steps {history.steps[0]}..{history.steps[-1]}")
        if args.gif:
            frames = gif.filters_gif(history, args.gif, args.layer)
            lines.append(f"wrote {args.gif} ({frames} frames)")
    if log is not None and len(log):
        lines += [f"- {d.text()}" for d in doctor.diagnose(log.checkups)]
    return lines


def _break(args) -> list[str]:
    import numpy as np

    from .. import data, presets
    from .experiments import run_experiment

    shape, layers = presets.configs(args.preset)
    train, _, _ = data.load_train_test(args.data, seed=args.seed, n_train=args.n_train, val_fraction=0.1,
                                       download=False)
    train = train.subset(np.arange(min(len(train), args.n_train)))
    result = run_experiment(args.experiment, {"input_shape": list(shape), "layers": layers}, train,
                            steps=args.steps, seed=args.seed)
    return [f"{result.name}: {result.steps} steps at lr {result.lr:g}"] + [f"- {d.text()}" for d in result.diagnoses]


def main(argv=None) -> int:
    from ..lab import i18n

    args = _parser().parse_args(argv)
    i18n.set_language(args.lang)
    try:
        lines = _report(args) if args.command == "report" else _break(args)
    except (ValueError, TypeError, OSError, KeyError) as error:
        print(f"cyconv: error: {error}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
