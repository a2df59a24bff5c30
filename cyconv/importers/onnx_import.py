"""ONNX → cyconv: ``from_onnx(path_or_model, input_shape=None) -> Sequential``.

The graph must be one chain from the image input to the one output, each node reading the
previous node's output (plus weights). Walking it node by node, each operator (or the short
patterns cyconv's own export writes) becomes one cyconv layer:

- Conv (group 1, dilations 1, pads or auto_pad) → Conv2D, with a Pad before it folded into
  its padding (constant 0 → "zeros", edge → "replicate", reflect, wrap → "circular") and an
  Add of a per-channel constant after it folded into its bias;
- MaxPool / AveragePool (ceil_mode 0, symmetric pads; count_include_pad=1 when padded) →
  MaxPool2D / AvgPool2D; Neg, MaxPool, Neg → MinPool2D; GlobalAveragePool /
  GlobalMaxPool → a pool over the whole map;
- Gemm (transA 0) and MatMul (+ Add of a bias) → Dense; Flatten (axis 1) and a Reshape to
  (N, C·H·W) → Flatten;
- Relu, LeakyRelu, Sigmoid, Tanh, Softmax (over the class axis) → the same layers;
- LRN (odd size) → LRN; the even-size encoding export.py writes (x², a 1×1 convolution with
  a band of ones, ·alpha/size, +k, ^beta, x / that) → LRN of that size;
- Dropout and Identity → nothing (inference).

Anything else is refused with one line naming the operator and the node. onnx's checker is
not run: the walk itself checks every node, attribute and tensor it reads (a model the checker
would flag for unrelated metadata still imports, and nothing unchecked is ever used).
"""
from .. import shapes
from ._onnx_file import attributes_of, constants_of, graph_input, import_onnx, read_model
from ._onnx_ops import PATTERN_OPERATORS, OnnxLayers
from .common import ImportedLayer, ModelImportError, build_sequential, check_size, layer_label

__all__ = ["from_onnx", "SUPPORTED_OPERATORS"]

SUPPORTED_OPERATORS = ("Conv", "Pad", "MaxPool", "AveragePool", "GlobalAveragePool",
                       "GlobalMaxPool", "Gemm", "MatMul", "Flatten", "Reshape", "Relu",
                       "LeakyRelu", "Sigmoid", "Tanh", "Softmax", "LRN", "Dropout", "Identity",
                       "BatchNormalization")


# Operators asked for often enough to deserve their own reason.
_NOT_YET = {"LogSoftmax": "cyconv has no LogSoftmax layer: leave it out (cyconv's loss applies "
                          "the softmax itself, and the predicted class is the same)"}


def _check_operators(graph, where):
    """Refuse the first node cyconv has no mapping for, before anything else is read."""
    for node in graph.node:
        if node.domain not in ("", "ai.onnx"):
            raise ModelImportError(f"{where}: unsupported ONNX operator {node.domain}.{node.op_type}"
                                   f" (node {node.name!r}): only the standard ONNX domain is "
                                   f"imported")
        if not node.output or not node.output[0]:
            raise ModelImportError(f"{where}: {layer_label(node.op_type, node.name)} has no "
                                   f"output; the file is damaged")
        known = node.op_type in SUPPORTED_OPERATORS or node.op_type in PATTERN_OPERATORS
        if node.op_type in _NOT_YET:
            raise ModelImportError(f"{where}: unsupported ONNX operator {node.op_type} (node "
                                   f"{node.name!r}): {_NOT_YET[node.op_type]}")
        if not known and node.op_type != "Constant":
            raise ModelImportError(f"{where}: unsupported ONNX operator {node.op_type} (node "
                                   f"{node.name!r}); cyconv imports "
                                   f"{', '.join(SUPPORTED_OPERATORS)}")


def _graph_output(graph, current, where):
    outputs = [value.name for value in graph.output]
    if len(outputs) != 1:
        raise ModelImportError(f"{where}: the graph has {len(outputs)} outputs "
                               f"({', '.join(outputs)}); cyconv imports models with one output")
    if outputs[0] != current:
        raise ModelImportError(f"{where}: the graph's output {outputs[0]!r} is not the end of the "
                               f"chain of nodes (which ends in {current!r})")


class _Walk:
    """The chain walk: ``current`` is the tensor the next node must read."""

    def __init__(self, onnx, graph, constants, opset, where, current, shape):
        self.onnx, self.constants, self.opset, self.where = onnx, constants, opset, where
        self.nodes = [node for node in graph.node if node.op_type != "Constant"]
        self.index = 0
        self.current, self.shape = current, shape
        self.layers = []
        # Every tensor some node or the graph output reads: an extra output (MaxPool's
        # indices, Dropout's mask) is fine only when it is not among them.
        self.used = {name for node in graph.node for name in node.input}
        self.used.update(value.name for value in graph.output)

    # -- looking at nodes --------------------------------------------------------------------
    def peek(self, offset=0):
        position = self.index + offset
        return self.nodes[position] if position < len(self.nodes) else None

    def attributes(self, node):
        return attributes_of(self.onnx, node)

    def fail(self, node, message):
        raise ModelImportError(f"{self.where}: {layer_label(node.op_type, node.name)}: {message}")

    def constant(self, node, position, what):
        """The constant at input ``position`` of ``node`` (None when that input is absent)."""
        if position >= len(node.input) or not node.input[position]:
            return None
        name = node.input[position]
        if name not in self.constants:
            self.fail(node, f"its {what} ({name!r}) must be a constant (an initializer)")
        return self.constants[name]

    def data_inputs(self, node):
        return [name for name in node.input if name and name not in self.constants]

    def reads_current(self, node):
        """``node`` reads exactly the current tensor as its data input, else a clear error."""
        data = self.data_inputs(node)
        if data != [self.current] or node.input[0] != self.current:
            self.fail(node, f"reads {data or 'only constants'}, not the output of the node "
                            f"before it ({self.current!r}); cyconv imports a single chain of "
                            f"layers")

    def follows(self, node, tensor):
        """True when ``node`` exists and reads ``tensor`` as its first input."""
        return node is not None and len(node.input) > 0 and node.input[0] == tensor

    # -- moving on ---------------------------------------------------------------------------
    def advance(self, consumed, output):
        self.index += consumed
        self.current = output

    def add(self, node, config, params=None, name=None):
        """Append a layer made from ``node`` and follow its shape."""
        try:
            self.shape = shapes.output_shape(config, self.shape)
        except (ValueError, TypeError) as error:
            self.fail(node, f"as a cyconv {config['type']} on input {self.shape}: {error}")
        check_size(self.shape, f"{self.where}: {layer_label(node.op_type, node.name)}: its output")
        self.layers.append(ImportedLayer(config=config, params=params or {},
                                         source_name=name if name is not None else node.name))


def _walk(onnx, proto, opset, where, input_shape):
    graph = proto.graph
    constants = constants_of(onnx, graph, where)
    input_name, shape = graph_input(graph, constants, input_shape, where)
    walk = _Walk(onnx, graph, constants, opset, where, input_name, shape)
    operators = OnnxLayers(walk)
    while walk.index < len(walk.nodes):
        operators.take(walk.peek())
    _graph_output(graph, walk.current, where)
    return walk.layers, shape


def from_onnx(path_or_model, input_shape=None):
    """A cyconv Sequential (float32) computing what the ONNX model computes at inference.

    ``path_or_model``: an ``.onnx`` file path, its bytes, or an ``onnx.ModelProto``.
    ``input_shape``: (C, H, W) or (D,), needed only when the file leaves a size symbolic.
    Raises ModelImportError (a ValueError) with one line for a file or operator cyconv cannot
    import; weights are read only from the file itself, and nothing in it is executed.
    """
    proto, opset, where = read_model(path_or_model)
    onnx = import_onnx()
    _check_operators(proto.graph, where)
    layers, shape = _walk(onnx, proto, opset, where, input_shape)
    name = proto.graph.name if proto.graph.name and proto.graph.name != "cyconv_model" else None
    return build_sequential(layers, shape, where=where, name=name)
