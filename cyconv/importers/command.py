"""``cyconv import MODEL --out MODEL.npz [--input-shape C,H,W]``: a foreign model as a cyconv
checkpoint. The command line registers it with :func:`add_parser` and runs :func:`run`."""
import argparse
import math
import os

__all__ = ["add_parser", "run"]

DESCRIPTION = (
    "Import a model trained elsewhere and write it as a cyconv checkpoint (the lab and "
    "'cyconv summary' / 'cyconv eval' read it). MODEL is an ONNX file (.onnx; the operators "
    "cyconv's own export writes, from PyTorch or elsewhere) or a PyTorch file (.pt/.pth) "
    "written by 'cyconv export --torch'. Files are read without running any code from them, "
    "so TorchScript archives are refused (loading one can run code): export such a model to "
    "ONNX. An operator or module cyconv has no layer for is named in one line.")


def _input_shape(text):
    from .common import ModelImportError, parse_input_shape

    try:
        return parse_input_shape(text)
    except ModelImportError as error:
        raise argparse.ArgumentTypeError(str(error).removeprefix("--input-shape ")) from None


def _values(text):
    try:
        values = [float(part) for part in str(text).split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got "
                                         f"{text!r}") from None
    if not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(f"expected finite numbers, got {text!r}")
    return values


def _normalization(args, model):
    """{"mean", "std"} per channel for the checkpoint, from --mean/--std, or None."""
    if (args.mean is None) != (args.std is None):
        raise ValueError("--mean and --std go together (the normalisation the model was "
                         "trained with, e.g. --mean 0.1307 --std 0.3081 for MNIST)")
    if args.mean is None:
        return None
    channels = model.input_shape[0] if len(model.input_shape) == 3 else 1
    result = {}
    for key in ("mean", "std"):
        values = getattr(args, key)
        if len(values) == 1:
            values = values * channels
        if len(values) != channels:
            raise ValueError(f"--{key} needs 1 or {channels} values (one per input channel), "
                             f"got {len(values)}")
        result[key] = values
    if min(result["std"]) <= 0:
        raise ValueError(f"--std must be > 0, got {result['std']}")
    return result


def add_parser(subparsers):
    """Add the ``import`` command to an argparse subparsers object; returns its parser."""
    parser = subparsers.add_parser("import", help="import an ONNX or PyTorch model as a "
                                                  "checkpoint", description=DESCRIPTION)
    parser.add_argument("model", metavar="MODEL", help="the .onnx or .pt/.pth file to import")
    parser.add_argument("--out", required=True, metavar="OUT.npz",
                        help="write the cyconv checkpoint here")
    parser.add_argument("--input-shape", type=_input_shape, metavar="C,H,W",
                        help="input size without the batch axis, e.g. 1,28,28 (needed when the "
                             "ONNX file leaves a size symbolic)")
    parser.add_argument("--mean", type=_values, metavar="M[,M,M]",
                        help="the per-channel mean the model's inputs were normalised with "
                             "(with --std; stored in the checkpoint for 'cyconv eval' and the lab)")
    parser.add_argument("--std", type=_values, metavar="S[,S,S]",
                        help="the per-channel standard deviation, with --mean")
    parser.set_defaults(handler=run)
    return parser


def _same_file(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def run(args, session=None):
    """Import ``args.model``, write ``args.out`` with cyconv.io.save; returns the exit code 0.

    Errors are raised (ModelImportError and the like, all ValueError/OSError/ImportError), for
    the command line to print as one line.
    """
    from .. import io
    from ..data import Normalization
    from . import load_model
    from .common import ModelImportError

    if _same_file(args.model, args.out):
        raise ModelImportError(f"--out {args.out} is the model being imported; choose another "
                               f"file so that it is not overwritten")
    if session is not None:
        session.out = args.out          # what a Ctrl-C reports as left unchanged
    model = load_model(args.model, args.input_shape)
    normalization = _normalization(args, model)
    io.save(args.out, model, extra={"imported_from": os.path.basename(args.model)},
            normalization=None if normalization is None else Normalization(**normalization))
    shape = ", ".join(map(str, model.input_shape))
    print(f"imported {args.model}: {len(model)} layers, {model.count_params():,} parameters, "
          f"input (N, {shape}) -> output (N, {', '.join(map(str, model.output_shape))})")
    print(f"wrote {args.out}")
    return 0
