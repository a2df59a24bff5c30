"""``cyconv summary``, ``cyconv eval`` and ``cyconv export``: what a preset or a checkpoint is,
how well it does, and the same model for other tools. They read any checkpoint, of format 2
or of cyconv 0.1."""
import os
import sys

from .. import data, io, presets
from .. import train as training
from ._common import (
    UsageError,
    add_threads,
    apply_threads,
    format_confusion,
    format_per_class,
    percent,
    positive_int,
)

__all__ = ["add_parsers"]


def _looks_like_file(target):
    return os.path.exists(target) or target.endswith(".npz") or os.sep in target


def cmd_summary(args, session):
    target = args.target
    if _looks_like_file(target):
        model = io.load(target).model
        print(f"{target}: {model.name or 'model'} with input {model.input_shape}")
        print(model.summary())
        return 0
    print(f"{target}: {presets.describe(target)}")
    print(presets.summary(target))
    return 0


def _eval_dataset(args, checkpoint):
    """The split to evaluate on: the checkpoint's own data unless --data names another."""
    identity = checkpoint.dataset or {}
    name = args.data or identity.get("name")
    if name is None:
        raise ValueError(f"{args.model} does not record its dataset; pass --data")
    own = name == identity.get("name")
    count = identity.get("n_test" if args.split == "test" else "n_train") if own else None
    path = args.data_path or (identity.get("path") if own else None)
    image_shape = tuple(checkpoint.model.input_shape) if name == "folder" else None
    dataset = data.load(name, path=path, split=args.split, n=args.n or count,
                        seed=identity.get("seed", 0) if own else 0, image_shape=image_shape)
    normalization = checkpoint.normalization
    if normalization is None:
        print(f"cyconv: note: {args.model} records no normalisation; evaluating on images in "
              f"[0, 1]", file=sys.stderr)
        return name, dataset
    return name, dataset.normalized(normalization.mean, normalization.std)


def cmd_eval(args, session):
    apply_threads(args.threads)
    checkpoint = io.load(args.model)
    name, dataset = _eval_dataset(args, checkpoint)
    result = training.evaluate(checkpoint.model, dataset, batch_size=args.batch)
    print(f"{args.model} on {name} ({args.split}, {len(dataset)} images): accuracy "
          f"{percent(result.accuracy)}, cross-entropy loss {result.loss:.4f}")
    print(format_per_class(result.per_class_accuracy, result.confusion, dataset.classes))
    print(format_confusion(result.confusion, dataset.classes))
    return 0


def cmd_export(args, session):
    if not args.onnx and not args.torch:
        raise UsageError("export needs --onnx OUT.onnx and/or --torch OUT.pt "
                         "(see 'cyconv export --help')")
    from .. import export

    model = io.load(args.model).model
    if args.onnx:
        proto = export.to_onnx(model, args.onnx, opset=args.opset)
        print(f"wrote {args.onnx} (ONNX opset {proto.opset_import[0].version}, input "
              f"'{export.INPUT_NAME}' (N, {', '.join(map(str, model.input_shape))}), output "
              f"'{export.OUTPUT_NAME}')")
    if args.torch:
        export.save_torch(model, args.torch)
        print(f"wrote {args.torch} (PyTorch state_dict with the architecture; read it with "
              f"torch.load(path, weights_only=True))")
    return 0


def _add_eval_parser(commands):
    p = commands.add_parser(
        "eval", help="accuracy and confusion matrix of a checkpoint",
        description="Evaluate a checkpoint on the data it was trained on (the checkpoint "
                    "records the dataset, its subset and the normalisation), or on another "
                    "dataset with --data: prints the accuracy, the cross-entropy loss, the "
                    "per-class accuracy and the confusion matrix.")
    p.add_argument("model", metavar="MODEL.npz", help="a checkpoint (of cyconv train or the app)")
    p.add_argument("--data", choices=data.DATASETS, metavar="NAME",
                   help="dataset (default: the one the checkpoint was trained on)")
    p.add_argument("--data-path", metavar="PATH",
                   help="folder holding the dataset files (default: the checkpoint's)")
    p.add_argument("--split", choices=("train", "test"), default="test",
                   help="which split to evaluate on (default test; train includes the "
                        "validation images)")
    p.add_argument("--n", type=positive_int, metavar="N",
                   help="only the first N images of the split (default: as many as the run "
                        "used)")
    p.add_argument("--batch", type=positive_int, default=256, metavar="B",
                   help="batch size for inference (default 256)")
    add_threads(p)
    p.set_defaults(handler=cmd_eval)


def add_parsers(commands):
    p = commands.add_parser("summary", help="print the shape table of a preset or checkpoint",
                            description="Print the layer-by-layer shape table (output shapes, "
                                        "formulas, parameters) of a preset or a saved model.")
    p.add_argument("target", metavar="PRESET|MODEL.npz",
                   help=f"a preset ({', '.join(presets.PRESET_NAMES)}) or a checkpoint file")
    p.set_defaults(handler=cmd_summary)
    _add_eval_parser(commands)
    p = commands.add_parser(
        "export", help="export a checkpoint to ONNX and/or PyTorch",
        description="Export a checkpoint's model for inference. --onnx writes an ONNX file "
                    "(opset 13, or 19 with circular padding; input 'input' (N, C, H, W) "
                    "float32, output 'logits'; dropout left out) built with the onnx package. "
                    "--torch writes, with torch.save, a dict holding the nn.Sequential's "
                    "state_dict, the architecture (JSON) and a note; it is not TorchScript: "
                    "rebuild the modules with cyconv.export.to_torch and load_state_dict.")
    p.add_argument("model", metavar="MODEL.npz", help="a checkpoint")
    p.add_argument("--onnx", metavar="OUT.onnx", help="write an ONNX model here")
    p.add_argument("--opset", type=positive_int, metavar="N",
                   help="ONNX opset (default 13, or 19 when circular padding is used)")
    p.add_argument("--torch", metavar="OUT.pt",
                   help="write the PyTorch state_dict file here (needs torch)")
    p.set_defaults(handler=cmd_export)
