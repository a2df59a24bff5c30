"""Export a Sequential to PyTorch (``to_torch``, ``save_torch``) and to ONNX (``to_onnx``).

Both exports compute what ``model.forward(x, training=False)`` computes (dropout is the
identity; the Softmax layer, if any, is kept). torch and onnx are optional: each is imported
only when its export is used, with an ImportError that says what to install.

Mapping, cyconv → PyTorch | ONNX:

- Conv2D, padding_mode "zeros" → Conv2d(padding=(ph, pw)), or ZeroPad2d + Conv2d when
  top ≠ bottom or left ≠ right | Conv with its pads attribute.
- Conv2D, "replicate" / "reflect" / "circular" → ReplicationPad2d / ReflectionPad2d /
  CircularPad2d, then Conv2d(padding=0) | Pad (mode edge / reflect / wrap) + Conv; wrap
  needs opset 19.
- MaxPool2D / AvgPool2D → MaxPool2d / AvgPool2d(count_include_pad=True) | MaxPool /
  AveragePool(count_include_pad=1).
- MinPool2D → MinPool2d below, −maxpool(−x) | Neg, MaxPool, Neg.
- Dense → Linear (the same (out, in) weight layout) | Gemm(transB=1).
- LRN → LocalResponseNorm(size, alpha, beta, k) | LRN for an odd size; for an even size a
  band of ones as a 1×1 Conv over x² (see below).
- Flatten, ReLU, LeakyReLU, Sigmoid, Tanh, Softmax → the module and the op their schema
  entry (``cyconv.schema``) names, e.g. Softmax(dim=1) | Softmax(axis=1).
- Dropout → Dropout (the identity in eval mode) | left out.

ONNX's LRN sums channels c − ⌊(size−1)/2⌋ .. c + ⌈(size−1)/2⌉; PyTorch and cyconv sum
c − ⌊size/2⌋ .. c + ⌊(size−1)/2⌋. The two windows agree for odd sizes only, so an even size is
exported as an explicit band of ones over the squared input.
"""
import functools
import json
from collections import OrderedDict

import numpy as np

from . import schema, shapes
__all__ = ["to_torch", "save_torch", "torch_from_configs", "to_onnx", "onnx_model",
           "MIN_OPSET", "CIRCULAR_OPSET"]

MIN_OPSET = 13
CIRCULAR_OPSET = 19          # Pad mode "wrap" was added in opset 19
INPUT_NAME, OUTPUT_NAME = "input", "logits"


def _check_model(model, where):
    from .model import Sequential   # here, so that torch_from_configs loads no kernel

    if not isinstance(model, Sequential):
        raise TypeError(f"{where}: model must be a cyconv.Sequential, got {type(model).__name__}")


def _rows(model):
    """One shape-table row per layer: input shapes and the resolved padding (top, bottom,
    left, right) that "same" padding needs the input size for."""
    return shapes.layer_rows(model.configs(), model.input_shape, partial=False)


# ----------------------------------------------------------------------------------------------
# PyTorch
# ----------------------------------------------------------------------------------------------
def _import_torch():
    try:
        import torch
    except ImportError:
        raise ImportError("export to PyTorch needs the torch package, which is not installed: "
                          "pip install torch (CPU build is enough)") from None
    return torch


@functools.lru_cache(maxsize=None)
def _min_pool_class():
    torch = _import_torch()

    class MinPool2d(torch.nn.Module):
        """Min pooling as −maxpool(−x): padding then counts as +inf and never wins."""

        def __init__(self, kernel_size, stride, padding, dilation=1, ceil_mode=False):
            super().__init__()
            self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
            self.dilation, self.ceil_mode = dilation, ceil_mode

        def forward(self, x):
            return -torch.nn.functional.max_pool2d(-x, self.kernel_size, self.stride,
                                                   self.padding, self.dilation,
                                                   ceil_mode=self.ceil_mode)

        def extra_repr(self):
            return (f"kernel_size={self.kernel_size}, stride={self.stride}, "
                    f"padding={self.padding}, dilation={self.dilation}, "
                    f"ceil_mode={self.ceil_mode}")

    return MinPool2d


@functools.lru_cache(maxsize=None)
def _residual_class():
    torch = _import_torch()

    class ResidualBlock(torch.nn.Module):
        """out = body(x) + x, or body(x) + projection(x) when the body changes the shape."""

        def __init__(self, body, projection=None):
            super().__init__()
            self.body, self.projection = body, projection

        def forward(self, x):
            shortcut = x if self.projection is None else self.projection(x)
            return self.body(x) + shortcut

    return ResidualBlock


def _torch_residual(torch, values, row):
    body = torch_from_configs(values["layers"], row.input_chw)
    projection = None
    if row.stride_hw is not None:
        projection = torch.nn.Conv2d(row.input_chw[0], row.output_chw[0], 1,
                                     stride=row.stride_hw)
    return _residual_class()(body, projection)


def _torch_pad(nn, mode, pads):
    top, bottom, left, right = pads
    torch_order = (left, right, top, bottom)
    return {"zeros": nn.ZeroPad2d, "replicate": nn.ReplicationPad2d,
            "reflect": nn.ReflectionPad2d, "circular": nn.CircularPad2d}[mode](torch_order)


def _copy_into(torch, target, array):
    with torch.no_grad():
        target.copy_(torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)))


def _torch_conv(nn, name, values, row):
    pads = row.padding_tblr
    top, bottom, left, right = pads
    mode = values["padding_mode"]
    symmetric_zeros = mode == "zeros" and top == bottom and left == right
    conv = nn.Conv2d(row.input_chw[0], values["out_channels"], values["kernel_size"],
                     stride=values["stride"], padding=(top, left) if symmetric_zeros else 0,
                     bias=values["bias"], dilation=values["dilation"], groups=values["groups"])
    if symmetric_zeros or not any(pads):
        return [(name, conv)]
    return [(f"{name}_pad", _torch_pad(nn, mode, pads)), (name, conv)]


def _torch_pool(torch, kind, values):
    nn = torch.nn
    args = (values["kernel_size"], values["stride"], values["padding"])
    if kind == "AvgPool2D":
        return nn.AvgPool2d(*args, ceil_mode=values["ceil_mode"],
                            count_include_pad=values["count_include_pad"])
    extreme = {"dilation": values["dilation"], "ceil_mode": values["ceil_mode"]}
    if kind == "MinPool2D":
        return _min_pool_class()(*args, **extreme)
    return nn.MaxPool2d(*args, **extreme)


def _torch_modules(torch, row, values):
    """[(name, module)] of one layer (weights left as torch initialises them), from its
    schema entry's torch op; ``row`` is its shape-table row, ``values`` its checked settings."""
    nn = torch.nn
    op = schema.spec(row.kind).torch
    if op == "conv":
        return _torch_conv(nn, row.name, values, row)
    if op == "dense":
        return [(row.name, nn.Linear(row.input_chw[0], values["out_features"],
                                     bias=values["bias"]))]
    if op == "pool":
        return [(row.name, _torch_pool(torch, row.kind, values))]
    if op == "residual":
        return [(row.name, _torch_residual(torch, values, row))]
    if op == "batchnorm":
        module = nn.BatchNorm2d if row.kind == "BatchNorm2D" else nn.BatchNorm1d
        return [(row.name, module(row.input_chw[0], eps=values["eps"],
                                  momentum=values["momentum"]))]
    if op == "global_avg_pool":
        return [(row.name, nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1)))]
    if op == "lrn":
        return [(row.name, nn.LocalResponseNorm(values["size"], values["alpha"],
                                                values["beta"], values["k"]))]
    if isinstance(op, schema.Op):
        return [(row.name, getattr(nn, op.name)(**op.arguments(values)))]
    raise ValueError(f"to_torch: no PyTorch equivalent for layer {row.name} ({row.kind})")


def torch_from_configs(configs, input_shape):
    """A ``torch.nn.Sequential`` (eval mode, torch's own initial weights) of the layer
    ``configs`` on ``input_shape``: the modules :func:`to_torch` builds. Loads no cyconv
    kernel, so a process that only runs torch can call it."""
    torch = _import_torch()
    rows = shapes.layer_rows(configs, input_shape, partial=False)
    modules = OrderedDict()
    for config, row in zip(configs, rows):
        modules.update(_torch_modules(torch, row, schema.check_config(config, row.name)))
    return torch.nn.Sequential(modules).eval()


# The torch attribute of each cyconv parameter and buffer.
_TORCH_ATTRIBUTES = (("W", "weight"), ("b", "bias"), ("gamma", "weight"), ("beta", "bias"),
                     ("running_mean", "running_mean"), ("running_var", "running_var"))


def to_torch(model):
    """A ``torch.nn.Sequential`` in eval mode computing what ``model`` computes, same weights.

    Modules are named after the cyconv layers (``conv1``, ``dense1``, ...); a padding module
    that a convolution needs is called ``<conv>_pad``. Parameters are float32, as torch's.
    Conv2d and Linear keep cyconv's weight layouts, so W and b are copied as they are.
    """
    _check_model(model, "to_torch")
    torch = _import_torch()
    module = torch_from_configs(model.configs(), model.input_shape)
    _copy_layers(torch, model.layers, module)
    return module


def _copy_layers(torch, layers, module):
    """Copy each layer's parameters and buffers into its namesake child of ``module``."""
    targets = dict(module.named_children())
    for layer in layers:
        target = targets[layer.name]
        if layer.type_name == "Residual":
            _copy_layers(torch, layer.body, target.body)
            if layer.projection is not None:
                _copy_layers(torch, [layer.projection],
                             torch.nn.ModuleDict({"projection": target.projection}))
            continue
        for key, attribute in _TORCH_ATTRIBUTES:
            for arrays in (layer.params, layer.buffers):
                if key in arrays:
                    _copy_into(torch, getattr(target, attribute), arrays[key])


TORCH_NOTE = ("PyTorch state_dict exported by cyconv. Rebuild the modules with "
              "cyconv.export.to_torch(cyconv.io.load(<checkpoint>)['model']) or by hand from "
              "'architecture' (cyconv layer configs) and 'modules' (the nn.Sequential), then "
              "module.load_state_dict(saved['state_dict']). Load this file with "
              "torch.load(path, weights_only=True).")


def save_torch(model, path):
    """Write ``{"state_dict", "architecture", "modules", "note"}`` with torch.save (atomic).

    Only tensors and strings are stored, so ``torch.load(path, weights_only=True)`` reads it
    without unpickling code. Returns the nn.Sequential whose state_dict was written.
    """
    torch = _import_torch()
    module = to_torch(model)
    payload = {"format": "cyconv-torch-state-dict", "state_dict": module.state_dict(),
               "architecture": json.dumps(model.config()), "modules": repr(module),
               "note": TORCH_NOTE}
    from .io import atomic_write

    atomic_write(path, lambda handle: torch.save(payload, handle))
    return module


# ----------------------------------------------------------------------------------------------
# ONNX
# ----------------------------------------------------------------------------------------------
def _import_onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError("export to ONNX needs the onnx package, which is not installed: "
                          "pip install onnx (onnxruntime runs the exported file)") from None
    return onnx


_ONNX_PAD_MODES = {"zeros": "constant", "replicate": "edge", "reflect": "reflect",
                   "circular": "wrap"}


class _OnnxGraph:
    """Collects nodes and float32 initializers; each helper returns its output's name."""

    def __init__(self, onnx):
        self.onnx = onnx
        self.nodes = []
        self.initializers = []
        self.prefix = ""      # "res1." while a block's inner layers are added

    def constant(self, name, array):
        name = self.prefix + name
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def weight(self, name, array):
        return self.constant(name, np.ascontiguousarray(array, dtype=np.float32))

    def node(self, op, inputs, output, **attributes):
        output = self.prefix + output
        self.nodes.append(self.onnx.helper.make_node(op, list(inputs), [output], name=output,
                                                     **attributes))
        return output


def _onnx_conv(graph, x, layer, row):
    top, bottom, left, right = row.padding_tblr
    name = layer.name
    conv_pads = [0, 0, 0, 0]
    if layer.padding_mode == "zeros":
        conv_pads = [top, left, bottom, right]          # ONNX: begins of H, W, then ends
    elif any(row.padding_tblr):
        pads = graph.constant(f"{name}.pads",
                              np.array([0, 0, top, left, 0, 0, bottom, right], np.int64))
        x = graph.node("Pad", [x, pads], f"{name}_pad", mode=_ONNX_PAD_MODES[layer.padding_mode])
    inputs = [x, graph.weight(f"{name}.W", layer.params["W"])]
    if layer.use_bias:
        inputs.append(graph.weight(f"{name}.b", layer.params["b"]))
    return graph.node("Conv", inputs, name, kernel_shape=list(layer.kernel_size),
                      strides=list(layer.stride), pads=conv_pads,
                      dilations=list(layer.dilation), group=layer.groups)


def _onnx_pool(graph, x, layer):
    ph, pw = layer.padding
    attributes = dict(kernel_shape=list(layer.kernel_size), strides=list(layer.stride),
                      pads=[ph, pw, ph, pw], ceil_mode=int(layer.ceil_mode))
    name = layer.name
    if layer.type_name == "AvgPool2D":
        return graph.node("AveragePool", [x], name,
                          count_include_pad=int(layer.count_include_pad), **attributes)
    attributes["dilations"] = list(layer.dilation)
    if layer.type_name == "MaxPool2D":
        return graph.node("MaxPool", [x], name, **attributes)
    negated = graph.node("Neg", [x], f"{name}_neg")
    pooled = graph.node("MaxPool", [negated], f"{name}_maxpool", **attributes)
    return graph.node("Neg", [pooled], name)


def _onnx_dense(graph, x, layer):
    inputs = [x, graph.weight(f"{layer.name}.W", layer.params["W"])]
    if layer.use_bias:
        inputs.append(graph.weight(f"{layer.name}.b", layer.params["b"]))
    return graph.node("Gemm", inputs, layer.name, transB=1)


def _onnx_lrn(graph, x, layer, channels):
    name = layer.name
    if layer.size % 2 == 1:
        return graph.node("LRN", [x], name, size=layer.size, alpha=layer.alpha,
                          beta=layer.beta, bias=layer.k)
    # Even size: scale = k + alpha/size · Σ_{c' in window(c)} x[c']², window(c) being
    # c − size//2 .. c + (size−1)//2, as a 1×1 convolution with a band of ones.
    band = np.zeros((channels, channels, 1, 1), dtype=np.float32)
    for c in range(channels):
        band[c, max(c - layer.size // 2, 0):min(c + (layer.size - 1) // 2, channels - 1) + 1] = 1
    squares = graph.node("Mul", [x, x], f"{name}_squares")
    summed = graph.node("Conv", [squares, graph.constant(f"{name}.band", band)], f"{name}_sum",
                        kernel_shape=[1, 1])
    scaled = graph.node("Mul", [summed, graph.weight(f"{name}.alpha_over_size",
                                                     np.array(layer.alpha / layer.size))],
                        f"{name}_scaled")
    shifted = graph.node("Add", [scaled, graph.weight(f"{name}.k", np.array(layer.k))],
                         f"{name}_scale")
    powered = graph.node("Pow", [shifted, graph.weight(f"{name}.beta", np.array(layer.beta))],
                         f"{name}_power")
    return graph.node("Div", [x, powered], name)


def _onnx_residual(graph, x, layer, row):
    """The block's inner nodes (named "<block>.<inner>"), its projection, and their Add."""
    outer = graph.prefix
    graph.prefix = f"{outer}{layer.name}."
    out = x
    for inner, inner_row in zip(layer.body, row.inner):
        out = _onnx_layer(graph, out, inner, inner_row)
    shortcut = x
    if layer.projection is not None:
        projection_row = shapes.layer_row(layer.projection.config(), row.input_chw,
                                          name="projection")
        shortcut = _onnx_conv(graph, x, layer.projection, projection_row)
    graph.prefix = outer
    return graph.node("Add", [out, shortcut], layer.name)


def _onnx_layer(graph, x, layer, row):
    """The output name of one layer's nodes, from its schema entry's ONNX op."""
    op = schema.spec(layer.type_name).onnx
    if op == "residual":
        return _onnx_residual(graph, x, layer, row)
    if op == "conv":
        return _onnx_conv(graph, x, layer, row)
    if op == "pool":
        return _onnx_pool(graph, x, layer)
    if op == "dense":
        return _onnx_dense(graph, x, layer)
    if op == "lrn":
        return _onnx_lrn(graph, x, layer, row.input_chw[0])
    if op == "batchnorm":
        inputs = [x] + [graph.weight(f"{layer.name}.{key}", array) for key, array in (
            ("gamma", layer.params["gamma"]), ("beta", layer.params["beta"]),
            ("running_mean", layer.buffers["running_mean"]),
            ("running_var", layer.buffers["running_var"]))]
        return graph.node("BatchNormalization", inputs, layer.name, epsilon=layer.eps)
    if op == "global_avg_pool":
        pooled = graph.node("GlobalAveragePool", [x], f"{layer.name}_pool")
        return graph.node("Flatten", [pooled], layer.name, axis=1)
    if op == "identity":
        return x                                     # e.g. dropout at inference
    if isinstance(op, schema.Op):
        return graph.node(op.name, [x], layer.name, **op.arguments(layer.settings))
    raise ValueError(f"to_onnx: no ONNX equivalent for layer {layer.name} ({layer.type_name})")


def _all_layers(layers):
    """Every layer, a block's inner layers included."""
    for layer in layers:
        yield layer
        yield from _all_layers(getattr(layer, "body", ()))


def _choose_opset(onnx, model, opset):
    needs_wrap = any(layer.settings.get("padding_mode") == "circular"
                     for layer in _all_layers(model.layers))
    minimum = CIRCULAR_OPSET if needs_wrap else MIN_OPSET
    newest = onnx.defs.onnx_opset_version()
    if opset is None:
        return minimum
    if isinstance(opset, bool) or not isinstance(opset, int) or not minimum <= opset <= newest:
        reason = " (circular padding needs Pad mode 'wrap')" if needs_wrap else ""
        raise ValueError(f"to_onnx: opset must be an int from {minimum}{reason} to {newest} "
                         f"(the newest this onnx package knows), got {opset!r}")
    return opset


def onnx_model(model, opset=None):
    """The ONNX ModelProto of ``model`` (float32, batch axis named "N"), checked by onnx.

    ``opset`` defaults to 13, or 19 when a convolution uses circular padding.
    """
    _check_model(model, "to_onnx")
    onnx = _import_onnx()
    helper = onnx.helper
    opset = _choose_opset(onnx, model, opset)
    graph = _OnnxGraph(onnx)
    x = INPUT_NAME
    for layer, row in zip(model.layers, _rows(model)):
        x = _onnx_layer(graph, x, layer, row)
    if x == INPUT_NAME:
        x = graph.node("Identity", [x], OUTPUT_NAME)
    else:
        graph.nodes[-1].output[0] = OUTPUT_NAME
    float_type = onnx.TensorProto.FLOAT
    inputs = [helper.make_tensor_value_info(INPUT_NAME, float_type,
                                            ["N", *model.input_shape])]
    outputs = [helper.make_tensor_value_info(OUTPUT_NAME, float_type,
                                             ["N", *model.output_shape])]
    graph_proto = helper.make_graph(graph.nodes, model.name or "cyconv_model", inputs, outputs,
                                    graph.initializers)
    opsets = [helper.make_opsetid("", opset)]
    proto = helper.make_model(graph_proto, opset_imports=opsets, producer_name="cyconv",
                              ir_version=helper.find_min_ir_version_for(opsets))
    onnx.checker.check_model(proto)
    return proto


def to_onnx(model, path, opset=None):
    """Write ``model`` as an ONNX file at ``path`` (atomically); returns the ModelProto.

    Input "input" (N, C, H, W) float32, output "logits" (N, K). Dropout is left out
    (inference). Check it with onnxruntime:
    ``onnxruntime.InferenceSession(path).run(None, {"input": x})``.
    """
    from .io import atomic_write

    proto = onnx_model(model, opset)
    atomic_write(path, lambda handle: handle.write(proto.SerializeToString()))
    return proto
