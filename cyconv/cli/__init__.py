"""The ``cyconv`` command: summary, train, eval, data and export.

Every expected problem (a wrong flag, an unknown preset, missing data, a damaged checkpoint)
ends with one line on stderr, ``cyconv: error: ...``, and a non-zero exit code: 2 for a usage
error, 1 for the others, 130 after Ctrl-C. No traceback is shown for them.

Modules: ``train_cmd`` and ``train_args`` (train), ``model_cmds`` (summary, eval, export),
``data_cmd`` (data list/import/verify), ``_common`` (the parser, argument types, formatting).
"""
import os
import sys

from .. import data
from ..shapes import ShapeError
from ..train import TrainingDiverged
from ..importers import command as import_command
from . import data_cmd, lessons_cmd, model_cmds, train_cmd
from ._common import PROG, Parser, UsageError, format_confusion, format_per_class
from .train_args import TRAIN_DEFAULTS

__all__ = ["main", "build_parser", "UsageError", "format_confusion", "format_per_class",
           "TRAIN_DEFAULTS"]


class _Session:
    """What a Ctrl-C that interrupts at once should report: the last checkpoint written."""

    def __init__(self):
        self.checkpoint = None
        self.checkpoint_epoch = None
        self.out = None

    def interrupted_note(self):
        if self.checkpoint is not None:
            return (f"the checkpoint {self.checkpoint} from epoch {self.checkpoint_epoch} was "
                    f"kept (continue with --resume {self.checkpoint})")
        if self.out is not None:
            return f"no checkpoint was written; {self.out} was not changed"
        return "nothing was saved"


def build_parser():
    parser = Parser(prog=PROG, description="cyconv: a CNN engine for teaching. Train, "
                                           "evaluate and export small convolutional networks.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                     parser_class=Parser)
    model_cmds.add_parsers(commands)
    train_cmd.add_parser(commands)
    data_cmd.add_parser(commands)
    import_command.add_parser(commands)
    lessons_cmd.add_parsers(commands)
    return parser


_REPORTED_ERRORS = (data.DataError, ShapeError, ValueError, TypeError, OSError, ImportError,
                    TrainingDiverged)


def _report(message):
    print(f"{PROG}: error: {' '.join(str(message).split())}", file=sys.stderr)


def main(argv=None):
    """Run the command line ``argv`` (default sys.argv[1:]); returns the exit code."""
    session = _Session()
    try:
        args = build_parser().parse_args(argv)
        return args.handler(args, session)
    except UsageError as error:
        _report(error)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; {session.interrupted_note()}", file=sys.stderr)
        return 130
    except SystemExit as done:        # --help and --version print, then exit
        return done.code if isinstance(done.code, int) else 0
    except BrokenPipeError:
        # The reader went away (`cyconv eval ... | head`): stop quietly, as other tools do,
        # and keep Python from complaining again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except _REPORTED_ERRORS as error:
        _report(error)
        return 1
