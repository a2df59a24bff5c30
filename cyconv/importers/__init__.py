"""Bring your own model: networks from ONNX files and PyTorch modules as cyconv Sequentials.

- :func:`from_onnx` (path, bytes or ``onnx.ModelProto``) and :func:`from_torch`
  (an ``nn.Sequential`` and its input shape), :func:`from_torch_file` (a file written by
  ``cyconv export --torch``, read without unpickling code);
- :func:`load_model` picks by file: what ``cyconv import`` and the lab's File → Open call.

onnx and torch are optional: each is imported only when its importer runs. Every refusal is a
:class:`ModelImportError` (a ValueError) with one line naming what cannot be imported;
:class:`InputShapeRequired`, its subclass, when the file does not say the input size.
"""
import os

from .common import InputShapeRequired, ModelImportError

__all__ = ["ModelImportError", "InputShapeRequired", "from_onnx", "from_torch", "from_torch_file", "load_model",
           "TORCH_SUFFIXES", "ONNX_SUFFIXES"]

ONNX_SUFFIXES = (".onnx",)
TORCH_SUFFIXES = (".pt", ".pth", ".ts")
_ZIP_MAGIC = b"PK\x03\x04"


def from_onnx(path_or_model, input_shape=None):
    """An ONNX model (file path, bytes or ``onnx.ModelProto``) as a Sequential; ``input_shape``
    (C, H, W) only when the file leaves a size open. See :mod:`cyconv.importers.onnx_import`."""
    from .onnx_import import from_onnx as read

    return read(path_or_model, input_shape)


def from_torch(module, input_shape):
    """A ``torch.nn.Sequential`` on inputs (N,) + ``input_shape`` as a Sequential with the same
    weights. See :mod:`cyconv.importers.torch_import`."""
    from .torch_import import from_torch as convert

    return convert(module, input_shape)


def from_torch_file(path, input_shape=None):
    """A file written by ``cyconv export --torch`` as a Sequential, read without unpickling
    code (TorchScript files are refused). See :mod:`cyconv.importers.torch_import`."""
    from .torch_import import from_torch_file as read

    return read(path, input_shape)


def _is_torch_file(path):
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    if suffix in TORCH_SUFFIXES:
        return True
    if suffix in ONNX_SUFFIXES:
        return False
    try:
        with open(path, "rb") as handle:
            return handle.read(len(_ZIP_MAGIC)) == _ZIP_MAGIC    # torch.save writes a zip
    except OSError:
        return False


def load_model(path, input_shape=None):
    """The model in an ``.onnx`` or PyTorch (``.pt``/``.pth``/``.ts``) file as a Sequential.

    Other suffixes are told apart by content (torch files are zip archives). ``input_shape``
    (C, H, W) is needed only when the file does not say it: without it such a file raises
    InputShapeRequired (a ModelImportError), which an app can catch to ask for the size.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"load_model: path must be a file path, got {type(path).__name__}")
    if os.fspath(path).lower().endswith(".npz"):
        raise ModelImportError(f"{os.fspath(path)}: is a cyconv checkpoint already; open it "
                               f"directly (cyconv.io.load, 'cyconv summary', the lab)")
    if _is_torch_file(path):
        return from_torch_file(path, input_shape)
    return from_onnx(path, input_shape)

