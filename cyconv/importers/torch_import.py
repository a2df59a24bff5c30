"""PyTorch → cyconv: ``from_torch(module, input_shape)`` and ``from_torch_file(path)``.

``from_torch`` reads an ``nn.Sequential`` (nested Sequentials are flattened), module by
module, and copies the weights:

- Conv2d (groups 1, dilation 1, any padding_mode) → Conv2D; a ZeroPad2d / ConstantPad2d(0) /
  ReflectionPad2d / ReplicationPad2d / CircularPad2d right before it becomes its padding;
- MaxPool2d / AvgPool2d (ceil_mode False; count_include_pad True when padded) → MaxPool2D /
  AvgPool2D; AdaptiveMaxPool2d / AdaptiveAvgPool2d whose output size divides the input →
  the same pools with window = stride = input/output; cyconv's own MinPool2d (from
  cyconv.export) → MinPool2D;
- Linear → Dense; Flatten(1, -1) → Flatten; ReLU, LeakyReLU, Sigmoid, Tanh, Softmax (over
  the class axis), Dropout, LocalResponseNorm → the same layers; Identity → nothing.

Anything else (BatchNorm2d, dilated or grouped convolutions, ceil_mode, ...) is refused with
one line naming the module. The module is only read: its forward is never called.

``from_torch`` also takes a TorchScript module of an nn.Sequential that the caller loaded
(its scripted classes are recognised by their qualified names; its code is never called).

``from_torch_file`` reads files without unpickling code, with
``torch.load(weights_only=True)`` (tensors and strings only): the file
``cyconv export --torch`` writes. TorchScript archives are refused: ``torch.jit.load`` is not
safe on untrusted files, and PyTorch itself refuses them under ``weights_only=True``.
"""
import json
import os
import warnings
import zipfile

from ._torch_modules import convert_modules
from .common import ModelImportError, build_sequential, check_input_shape

__all__ = ["from_torch", "from_torch_file"]


def _import_torch():
    try:
        import torch
    except ImportError:
        raise ImportError("importing PyTorch models needs the torch package, which is not "
                          "installed: pip install torch (the CPU build is enough)") from None
    return torch


def _children(torch, module, prefix=""):
    """(qualified name, module) of every leaf, nested Sequentials flattened."""
    for name, child in module.named_children():
        qualified = f"{prefix}{name}"
        if _is_sequential(torch, child):
            yield from _children(torch, child, f"{qualified}.")
        else:
            yield qualified, child


def _is_sequential(torch, module):
    if isinstance(module, torch.jit.ScriptModule):
        return module.original_name == "Sequential" and \
            module._c._type().qualified_name().startswith("__torch__.torch.nn.modules.")
    return type(module) is torch.nn.Sequential


def from_torch(module, input_shape):
    """A cyconv Sequential computing what ``module`` (an ``nn.Sequential``, in eval mode)
    computes on inputs (N,) + ``input_shape``, with copies of its weights (float32)."""
    torch = _import_torch()
    if not _is_sequential(torch, module):
        raise ModelImportError(f"from_torch: expected a torch.nn.Sequential, got "
                               f"{type(module).__name__}; for another nn.Module, export it "
                               f"with torch.onnx.export and use cyconv.importers.from_onnx")
    input_shape = check_input_shape(input_shape, "from_torch")
    leaves = list(_children(torch, module))
    layers = convert_modules(torch, leaves, input_shape, "from_torch")
    return build_sequential(layers, input_shape, where="from_torch")


# ----------------------------------------------------------------------------------------------
# Files
# ----------------------------------------------------------------------------------------------
_CYCONV_FORMAT = "cyconv-torch-state-dict"
_STATE_DICT_ONLY = ("holds only weights (a state_dict) without the layers they belong to: build "
                    "the nn.Sequential in Python, load_state_dict, then call "
                    "cyconv.importers.from_torch(module, input_shape), or export it to ONNX")


# torch.load(weights_only=True) could corrupt memory on a forged file before 2.10
# (CVE-2026-24747) and could be steered into torch.jit.load before 2.6 (CVE-2025-32434).
SAFE_TORCH = "2.10"


def _check_safe_torch(torch, path):
    if not torch.__version__ >= SAFE_TORCH:
        raise ModelImportError(f"{path}: torch {torch.__version__} cannot read files from others "
                               f"safely (its weights_only loader was fixed in {SAFE_TORCH}): "
                               f"pip install -U torch, or import the model as ONNX")


def _is_torchscript(path):
    try:
        with zipfile.ZipFile(path) as archive:
            return any(name.endswith("constants.pkl") for name in archive.namelist())
    except Exception:   # noqa: BLE001 - a damaged zip: torch.load refuses it next
        return False


def _load_payload(torch, path):
    import pickle

    try:
        with warnings.catch_warnings():
            # torch warns about pickle protocols its safe unpickler may not know; the
            # refusal below says what matters
            warnings.simplefilter("ignore", UserWarning)
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise ModelImportError(f"{path}: holds pickled Python objects (e.g. a whole nn.Module "
                               f"saved with torch.save(model)); cyconv loads only tensors, "
                               f"because unpickling can run code: save model.state_dict() "
                               f"with 'cyconv export --torch', or export the model to ONNX"
                               ) from None
    except Exception as error:   # noqa: BLE001 - torch.load fails on damaged files in any way
        raise ModelImportError(f"{path}: not a readable PyTorch file: the file is truncated or "
                               f"is not one ({type(error).__name__}: "
                               f"{' '.join(str(error).split())[:160]})") from None


def _from_cyconv_payload(torch, payload, path, input_shape):
    """A file of cyconv's export: rebuild its modules from the architecture, load the
    state_dict into them (strictly), and import those."""
    from ..export import to_torch
    from ..model import Sequential

    try:
        architecture = json.loads(payload["architecture"])
        skeleton = Sequential.from_config(architecture)
        module = to_torch(skeleton)
        module.load_state_dict(payload["state_dict"])
    except Exception as error:   # noqa: BLE001 - any part of a damaged payload can be wrong
        raise ModelImportError(f"{path}: a damaged cyconv PyTorch export: "
                               f"{' '.join(str(error).split())[:200]}") from None
    if input_shape is not None and check_input_shape(input_shape, path) != skeleton.input_shape:
        raise ModelImportError(f"{path}: input_shape {tuple(input_shape)} differs from the "
                               f"{skeleton.input_shape} the file was exported with")
    model = from_torch(module, skeleton.input_shape)
    model.name = skeleton.name
    return model


_TORCHSCRIPT_REFUSED = (
    "is a TorchScript archive; cyconv does not open TorchScript files, because torch.jit.load "
    "is not safe on a file from someone else (PyTorch itself refuses it under "
    "weights_only=True: it can run code). If you trust the file, load it yourself and pass "
    "the module: cyconv.importers.from_torch(torch.jit.load(path), input_shape); otherwise "
    "export the model to ONNX and import that")


def from_torch_file(path, input_shape=None):
    """The model in a file written by ``cyconv export --torch`` (input shape from the file;
    ``input_shape``, if given, must agree).

    A bare state_dict, a pickled nn.Module or a TorchScript archive is refused with one line
    saying what to do instead.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"from_torch_file: path must be a file path, got {type(path).__name__}")
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ModelImportError(f"{path}: no such file" if not os.path.exists(path)
                               else f"{path}: is not a file")
    torch = _import_torch()
    _check_safe_torch(torch, path)
    if _is_torchscript(path):
        raise ModelImportError(f"{path}: {_TORCHSCRIPT_REFUSED}")
    payload = _load_payload(torch, path)
    if isinstance(payload, dict) and payload.get("format") == _CYCONV_FORMAT:
        return _from_cyconv_payload(torch, payload, path, input_shape)
    if isinstance(payload, dict) and payload and all(
            isinstance(value, torch.Tensor) for value in payload.values()):
        raise ModelImportError(f"{path}: {_STATE_DICT_ONLY}")
    if isinstance(payload, dict) and "state_dict" in payload:
        raise ModelImportError(f"{path}: {_STATE_DICT_ONLY}")
    raise ModelImportError(f"{path}: holds a {type(payload).__name__}, not a model cyconv can "
                           f"import (a file of 'cyconv export --torch')")

