"""``cyconv train``: the command's own training loop. It owns stopping: Ctrl-C asks the loop to
stop after the step in progress, and the run is saved exactly there (a second Ctrl-C stops at
once, keeping the last checkpoint written)."""
import contextlib
import dataclasses
import signal
import sys
import threading

from .. import data, io, presets
from ..data import Normalization
from ..train import EpochReport, Trainer
from ._common import apply_threads, percent
from .train_args import add_parser as _add_parser
from .train_args import check_out, run_settings

__all__ = ["add_parser", "cmd_train"]


@dataclasses.dataclass
class _Run:
    """What a run's checkpoints record besides the trainer: its data and normalisation."""
    trainer: Trainer
    identity: dict
    normalization: Normalization | None
    test: data.Dataset
    stop_requested: bool = False


def _load_new_data(settings):
    train, val, test = data.load_train_test(
        settings["data"], path=settings["data_path"], val_fraction=settings["val_fraction"],
        seed=settings["seed"], n_train=settings["n_train"], n_test=settings["n_test"],
        normalize=True)
    identity = data.dataset_identity(
        settings["data"], path=settings["data_path"], n_train=len(train) + len(val),
        n_test=len(test), val_fraction=settings["val_fraction"], seed=settings["seed"],
        classes=train.classes, image_shape=train.image_shape)
    return train, (val if len(val) > 0 else None), test, identity


def _new_run(settings):
    train, val, test, identity = _load_new_data(settings)
    model = presets.build(settings["preset"], seed=settings["seed"])
    trainer = Trainer(model, train, val, optimizer=settings["optimizer"], lr=settings["lr"],
                      momentum=settings["momentum"], batch_size=settings["batch"],
                      epochs=settings["epochs"], seed=settings["seed"],
                      schedule=settings["schedule"],
                      label_smoothing=settings["label_smoothing"])
    return _Run(trainer, identity, Normalization.of(train), test)


def _resumed_run(args, checkpoint, settings):
    if checkpoint.dataset is None:
        raise ValueError(f"{args.resume}: records no dataset, so its run cannot be resumed "
                         f"(start a new run)")
    identity = dict(checkpoint.dataset, path=settings["data_path"])
    train, val, test = data.load_identity(identity, checkpoint.normalization)
    trainer = Trainer.from_checkpoint(checkpoint, train, val, epochs=args.epochs)
    if trainer.finished:
        raise ValueError(f"{args.resume}: that run already finished its {trainer.epochs} "
                         f"epochs; pass --epochs with a larger total to train on")
    if args.lr is not None:
        trainer.base_lr = args.lr
    if args.momentum is not None:
        trainer.momentum = args.momentum
    return _Run(trainer, identity, checkpoint.normalization, test)


def _recipe(trainer):
    schedule = ", falling linearly to 0" if trainer.schedule == "linear" else ""
    return (f"{trainer.optimizer.name} lr {trainer.base_lr:g}{schedule}, label smoothing "
            f"{trainer.label_smoothing:g}, batch {trainer.batch_size}")


def _position(trainer):
    return (f"epoch {trainer.epoch + 1}, step {trainer.global_step} of "
            f"{trainer.total_steps}")


def _progress_bar(report, trainer, enabled):
    from tqdm import tqdm

    return tqdm(total=report.batches_per_epoch, initial=report.batch - 1, unit="batch",
                desc=f"epoch {report.epoch}/{trainer.epochs}", file=sys.stderr,
                disable=None if enabled else True, leave=False, dynamic_ncols=True)


def _epoch_line(report, trainer):
    smoothed = " (label-smoothed)" if trainer.label_smoothing else ""
    line = (f"epoch {report.epoch}/{trainer.epochs}: train loss{smoothed} "
            f"{report.train_loss:.4f} acc {percent(report.train_accuracy)}")
    if report.val_loss is not None:
        line += (f" | val cross-entropy {report.val_loss:.4f} acc "
                 f"{percent(report.val_accuracy)}")
    return line + f" | {report.seconds:.1f} s"


def _save(run, out, evaluation=None):
    run.trainer.save(out, normalization=run.normalization, dataset=run.identity,
                     evaluation=evaluation)


@contextlib.contextmanager
def _ctrl_c_asks_to_stop(run):
    """While training, the first Ctrl-C sets run.stop_requested; the second interrupts."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def request_stop(signum, frame):
        if run.stop_requested:
            raise KeyboardInterrupt
        run.stop_requested = True

    previous = signal.signal(signal.SIGINT, request_stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _train_loop(run, args, session):
    trainer, bar = run.trainer, None
    loss_sum = correct = seen = 0.0
    while not trainer.finished and not run.stop_requested:
        for report in trainer.step():
            if isinstance(report, EpochReport):
                bar.close()
                bar = None
                print(_epoch_line(report, trainer), flush=True)
                if args.out:
                    _save(run, args.out)
                    session.checkpoint, session.checkpoint_epoch = args.out, report.epoch
                continue
            if bar is None:
                bar = _progress_bar(report, trainer, not args.no_progress)
                loss_sum = correct = seen = 0.0
            loss_sum, correct, seen = loss_sum + report.loss, correct + report.accuracy, seen + 1
            bar.set_postfix(loss=f"{loss_sum / seen:.4f}", acc=f"{correct / seen:.1%}",
                            refresh=False)
            bar.update(1)
    if bar is not None:
        bar.close()


def _stopped(run, args):
    where = _position(run.trainer)
    if args.out:
        _save(run, args.out)
        note = f"saved {args.out} (continue with --resume {args.out})"
    else:
        note = "nothing was saved (give --out to keep a run)"
    print(f"cyconv: interrupted at {where}; {note}", file=sys.stderr)
    return 130


def cmd_train(args, session):
    apply_threads(args.threads)
    check_out(args.out)
    checkpoint = io.load(args.resume) if args.resume else None
    settings = run_settings(args, checkpoint)
    if checkpoint is None:
        run = _new_run(settings)
    else:
        run = _resumed_run(args, checkpoint, settings)
    trainer, test = run.trainer, run.test
    session.out = args.out
    val_size = len(trainer.val) if trainer.val is not None else 0
    what = settings["preset"] if checkpoint is None else args.resume
    print(f"training {what} on {run.identity['name']}: {len(trainer.train)} train, {val_size} "
          f"validation, {len(test)} test images; {_recipe(trainer)}, epochs "
          f"{trainer.epoch + 1}..{trainer.epochs}", flush=True)
    if checkpoint is not None:
        print(f"resuming at {_position(trainer)}", flush=True)
    with _ctrl_c_asks_to_stop(run):
        _train_loop(run, args, session)
    if run.stop_requested:
        return _stopped(run, args)
    result = trainer.evaluate(test)
    print(f"test accuracy: {percent(result.accuracy)} (cross-entropy loss {result.loss:.4f}, "
          f"{len(test)} images)")
    if args.out:
        _save(run, args.out, {"split": "test", "n": len(test), "loss": result.loss,
                              "accuracy": result.accuracy})
        print(f"saved {args.out}")
    return 0


def add_parser(commands):
    _add_parser(commands, cmd_train)
