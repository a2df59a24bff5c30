"""What every command shares: the one-line usage error, argument types that apply the
training settings' own rules, and the text formatting of results."""
import argparse
import math

import numpy as np

from .. import set_num_threads

__all__ = ["PROG", "UsageError", "Parser", "rule_type", "add_threads", "apply_threads",
           "percent", "format_confusion", "format_per_class"]

PROG = "cyconv"


class UsageError(Exception):
    """A command line argparse rejected; reported in one line with exit code 2."""


class Parser(argparse.ArgumentParser):
    """argparse, but a bad command line raises UsageError instead of printing the usage
    block and exiting, so main() can report it in one line."""

    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')")


def rule_type(convert, rule, description):
    """An argparse type: ``convert`` the text (int or float), then apply ``rule``, one of
    cyconv.train.settings' checks, so the command line and the Trainer share one rule and
    one message."""
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {description}, got {text!r}") from None
        try:
            return rule(value)
        except ValueError as error:
            message = str(error)
            message = message[len("Trainer: "):] if message.startswith("Trainer: ") else message
            raise argparse.ArgumentTypeError(message) from None
    return parse


def _positive_int(value):
    if value < 1:
        raise ValueError(f"expected a positive integer, got {value}")
    return value


positive_int = rule_type(int, _positive_int, "a positive integer")


def add_threads(parser):
    parser.add_argument("--threads", type=positive_int, metavar="N",
                        help="OpenMP threads for the kernels (default: $CYCONV_NUM_THREADS or "
                             "all cores; 1 gives bit-reproducible runs)")


def apply_threads(threads):
    if threads is not None:
        set_num_threads(threads)


def percent(value):
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.2%}"


def _class_label(classes, index, width=14):
    name = classes[index] if classes and index < len(classes) else ""
    if name == str(index):     # digits: the name would only repeat the index
        name = ""
    return f"{index:>3} {name[:width]:<{width}}"


def format_confusion(confusion, classes=None):
    """The confusion matrix as text: rows are true classes, columns predicted classes."""
    confusion = np.asarray(confusion)
    width = max(4, len(str(int(confusion.max()))) + 1)
    label_width = len(_class_label(classes, 0))
    header = " " * label_width + "".join(f"{j:>{width}}" for j in range(confusion.shape[1]))
    lines = ["confusion matrix (rows: true class, columns: predicted class)", header]
    for i, row in enumerate(confusion):
        lines.append(_class_label(classes, i) + "".join(f"{int(v):>{width}}" for v in row))
    return "\n".join(lines)


def format_per_class(per_class, confusion, classes=None):
    totals = np.asarray(confusion).sum(axis=1)
    lines = ["per-class accuracy"]
    for i, value in enumerate(per_class):
        lines.append(f"{_class_label(classes, i)} {percent(float(value)):>8}  "
                     f"({int(totals[i])} images)")
    return "\n".join(lines)
