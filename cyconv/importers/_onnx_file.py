"""Reading an ONNX file safely: sizes checked before anything is allocated, no external data,
no code (an ONNX file is a protobuf message; nothing in it is ever executed).

This module turns the file into plain pieces for onnx_import: the graph, its constants as
numpy arrays (initializers and Constant nodes), the attributes of a node as Python values,
and the shape of the one image input.
"""
import os

import numpy as np

from .common import (InputShapeRequired, ModelImportError, check_input_shape, check_size,
                     layer_label)

__all__ = ["import_onnx", "read_model", "constants_of", "attributes_of", "graph_input", "MIN_OPSET",
           "MAX_FILE_BYTES", "MAX_TENSOR_ELEMENTS"]

MIN_OPSET = 7
MAX_FILE_BYTES = 2 * 1024 ** 3 - 1        # protobuf cannot hold a larger message
# A tensor larger than this (1 GiB of float32) is no network a teaching engine runs; the
# limit also keeps a forged shape from asking numpy for exabytes.
MAX_TENSOR_ELEMENTS = 1 << 28
_DEFAULT_DOMAINS = ("", "ai.onnx")


def import_onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError("importing ONNX models needs the onnx package, which is not "
                          "installed: pip install onnx") from None
    return onnx


def _read_bytes(path):
    if not os.path.exists(path):
        raise ModelImportError(f"{path}: no such file")
    if not os.path.isfile(path):
        raise ModelImportError(f"{path}: is not a file")
    size = os.path.getsize(path)
    if size > MAX_FILE_BYTES:
        raise ModelImportError(f"{path}: {size:,} bytes is more than an ONNX file can hold "
                               f"(2 GiB); models with external data are not imported")
    with open(path, "rb") as handle:
        return handle.read()


def _parse(onnx, data, where):
    from google.protobuf.message import DecodeError

    proto = onnx.ModelProto()
    try:
        proto.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as error:
        raise ModelImportError(f"{where}: not a readable ONNX model: the file is truncated or "
                               f"is not ONNX ({' '.join(str(error).split()) or 'decode error'})"
                               ) from None
    return proto


def _check_opset(onnx, proto, where):
    versions = [entry.version for entry in proto.opset_import if entry.domain in _DEFAULT_DOMAINS]
    if not proto.HasField("graph") or not versions:
        raise ModelImportError(f"{where}: not a complete ONNX model (no graph or no opset); "
                               f"the file may be truncated")
    newest = onnx.defs.onnx_opset_version()
    version = max(versions)
    if not MIN_OPSET <= version <= newest:
        raise ModelImportError(f"{where}: ONNX opset {version} is not imported; cyconv reads "
                               f"opsets {MIN_OPSET} to {newest} (the newest this onnx package "
                               f"knows)")
    return version


def read_model(path_or_model):
    """(ModelProto, opset, where) from a file path, raw bytes or a ModelProto.

    ``where`` is how messages name the source: the path, or "ONNX model".
    """
    onnx = import_onnx()
    if isinstance(path_or_model, onnx.ModelProto):
        proto, where = path_or_model, "ONNX model"
    elif isinstance(path_or_model, (bytes, bytearray)):
        where = "ONNX model"
        if len(path_or_model) > MAX_FILE_BYTES:
            raise ModelImportError(f"{where}: more than 2 GiB, more than ONNX can hold")
        proto = _parse(onnx, bytes(path_or_model), where)
    elif isinstance(path_or_model, (str, os.PathLike)):
        where = os.fspath(path_or_model)
        proto = _parse(onnx, _read_bytes(where), where)
    else:
        raise TypeError(f"from_onnx: expected a file path, bytes or an onnx.ModelProto, got "
                        f"{type(path_or_model).__name__}")
    return proto, _check_opset(onnx, proto, where), where


# ----------------------------------------------------------------------------------------------
# Tensors
# ----------------------------------------------------------------------------------------------
_STORED_FIELDS = ("float_data", "double_data", "int32_data", "int64_data", "uint64_data")
_NUMERIC_TYPES = {1: np.float32, 10: np.float16, 11: np.float64, 6: np.int32, 7: np.int64}


def _stored_count(tensor, dtype):
    if tensor.HasField("raw_data"):
        itemsize = np.dtype(dtype).itemsize
        if len(tensor.raw_data) % itemsize:
            return -1
        return len(tensor.raw_data) // itemsize
    return sum(len(getattr(tensor, name)) for name in _STORED_FIELDS)


def tensor_to_array(onnx, tensor, what, where):
    """A numpy copy of a TensorProto, after checking that it is numeric, stored in the file
    and exactly as large as its declared shape (so a forged shape allocates nothing)."""
    name = tensor.name or what
    if tensor.data_location == onnx.TensorProto.EXTERNAL or len(tensor.external_data):
        raise ModelImportError(f"{where}: tensor {name!r} is stored in an external file; cyconv "
                               f"imports only self-contained ONNX files (save it with "
                               f"onnx.save(model, path, save_as_external_data=False))")
    dtype = _NUMERIC_TYPES.get(tensor.data_type)
    if dtype is None:
        raise ModelImportError(f"{where}: tensor {name!r} has ONNX data type {tensor.data_type}; "
                               f"cyconv reads float32, float16, float64, int32 and int64 tensors")
    dims = list(tensor.dims)
    if any(d < 0 for d in dims):
        raise ModelImportError(f"{where}: tensor {name!r} declares a negative size {dims}")
    count = 1
    for d in dims:
        count *= d
        if count > MAX_TENSOR_ELEMENTS:
            raise ModelImportError(f"{where}: tensor {name!r} declares shape {dims}, more than "
                                   f"{MAX_TENSOR_ELEMENTS:,} values; refused before allocating")
    stored = _stored_count(tensor, dtype)
    if stored != count:
        raise ModelImportError(f"{where}: tensor {name!r} declares shape {dims} ({count:,} "
                               f"values) but the file stores {max(stored, 0):,}; the file is "
                               f"damaged or forged")
    return np.array(onnx.numpy_helper.to_array(tensor), copy=True)


def _constant_node_value(onnx, node, where):
    attributes = {a.name: a for a in node.attribute}
    if "value" in attributes:
        return tensor_to_array(onnx, attributes["value"].t, node.output[0], where)
    simple = {"value_float": np.float32, "value_floats": np.float32, "value_int": np.int64,
              "value_ints": np.int64}
    for key, dtype in simple.items():
        if key in attributes:
            value = onnx.helper.get_attribute_value(attributes[key])
            if np.size(value) > MAX_TENSOR_ELEMENTS:
                raise ModelImportError(f"{where}: Constant node {node.name!r} is too large")
            return np.asarray(value, dtype=dtype)
    raise ModelImportError(f"{where}: {layer_label('Constant', node.name)} holds a "
                           f"{', '.join(attributes) or 'missing'} value; cyconv reads numeric "
                           f"tensors only")


def constants_of(onnx, graph, where):
    """{tensor name: array} for every initializer and Constant node output."""
    constants = {}
    for tensor in graph.initializer:
        constants[tensor.name] = tensor_to_array(onnx, tensor, "initializer", where)
    for node in graph.node:
        if node.op_type == "Constant" and node.domain in _DEFAULT_DOMAINS:
            constants[node.output[0]] = _constant_node_value(onnx, node, where)
    return constants


def attributes_of(onnx, node):
    """{name: Python value}; strings decoded, tensors left as TensorProto."""
    values = {}
    for attribute in node.attribute:
        value = onnx.helper.get_attribute_value(attribute)
        values[attribute.name] = value.decode("utf-8", "replace") if isinstance(value, bytes) \
            else value
    return values


# ----------------------------------------------------------------------------------------------
# The image input
# ----------------------------------------------------------------------------------------------
_FLOAT_TYPES = (1, 10, 11)       # float32, float16, float64


def _declared_dims(value_info):
    shape = value_info.type.tensor_type.shape
    return [d.dim_value if d.HasField("dim_value") else None for d in shape.dim]


def graph_input(graph, constants, input_shape, where):
    """(input tensor name, (C, H, W) or (D,)) from the one graph input that is not a weight;
    ``input_shape`` (or None) fills in or must agree with the declared sizes."""
    inputs = [value for value in graph.input if value.name not in constants]
    if len(inputs) != 1:
        raise ModelImportError(f"{where}: the graph has {len(inputs)} data inputs "
                               f"({', '.join(v.name for v in inputs) or 'none'}); cyconv "
                               f"imports models with one image input")
    value = inputs[0]
    tensor_type = value.type.tensor_type
    if tensor_type.elem_type not in _FLOAT_TYPES:
        raise ModelImportError(f"{where}: input {value.name!r} has ONNX element type "
                               f"{tensor_type.elem_type}; cyconv takes float images")
    dims = _declared_dims(value) if tensor_type.HasField("shape") else None
    if dims is not None and len(dims) not in (2, 4):
        raise ModelImportError(f"{where}: input {value.name!r} has rank {len(dims)} "
                               f"({dims}); cyconv takes (N, C, H, W) images or (N, D) vectors")
    if input_shape is not None:
        shape = check_input_shape(input_shape, where)
        if dims is not None:
            declared = dims[1:]
            if len(declared) != len(shape) or any(d not in (None, 0, s)
                                                   for d, s in zip(declared, shape)):
                raise ModelImportError(f"{where}: input_shape {shape} does not match the "
                                       f"input {value.name!r} the file declares "
                                       f"(N, {', '.join(str(d or '?') for d in declared)})")
        return value.name, shape
    if dims is None or any(not d for d in dims[1:]):
        declared = "no shape" if dims is None else f"(N, {', '.join(str(d or '?') for d in dims[1:])})"
        raise InputShapeRequired(f"{where}: input {value.name!r} declares {declared}; give the "
                               f"sizes as input_shape (C, H, W), e.g. --input-shape 1,28,28")
    shape = tuple(dims[1:])
    check_size(shape, f"{where}: the input")
    return value.name, shape
