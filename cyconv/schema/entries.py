"""The layer types, one entry each, in the model editor's order.

To add a layer type, add its entry here (keys with their checks and defaults, name prefix,
shape rule, role, formula, export ops), its class in ``cyconv/layers/`` and its kernel.
"""
from __future__ import annotations

from . import Key, LayerSpec, Op, ShapeError, register
from .checks import boolean, choice, count, layer_configs, optional_pair, padding_form
from .checks import pair_check, real

PADDING_MODES = ("zeros", "replicate", "reflect", "circular")


def _conv_params(values, input_shape):
    kh, kw = values["kernel_size"]
    filters = values["out_channels"]
    shapes = {"W": (filters, input_shape[0] // values.get("groups", 1), kh, kw)}
    if values["bias"]:
        shapes["b"] = (filters,)
    return shapes


def _conv_factors(values, input_shape):
    kh, kw = values["kernel_size"]
    return kh, kw, input_shape[0] // values.get("groups", 1), values["out_channels"]


def conv_groups_divide_channels(values, layer):
    """Grouped convolution: in_channels and out_channels must both split into the groups."""
    groups, filters, channels = values["groups"], values["out_channels"], values["in_channels"]
    if filters % groups or (channels is not None and channels % groups):
        raise ShapeError(f"{layer}: groups = {groups} must divide in_channels = {channels} and "
                         f"out_channels = {filters} (each filter sees C/groups channels; W is "
                         f"(F, C/groups, KH, KW))")


def _dense_params(values, input_shape):
    shapes = {"W": (values["out_features"], input_shape[0])}
    if values["bias"]:
        shapes["b"] = (values["out_features"],)
    return shapes


def _dense_factors(values, input_shape):
    return input_shape[0], values["out_features"]


def pool_padding_at_most_half(values, layer):
    """A pooling window must always hold an input pixel: padding ≤ ⌊window/2⌋, as PyTorch."""
    kernel = values["kernel_size"]
    padding = values["padding"]
    limits = (kernel[0] // 2, kernel[1] // 2)
    if padding[0] > limits[0] or padding[1] > limits[1]:
        raise ShapeError(f"{layer}: padding (ph, pw) = {padding!r} is more than half the kernel "
                         f"{kernel!r} (at most {limits[0]} rows, {limits[1]} columns), as "
                         f"PyTorch requires: a window could cover padding only")


def _pool_stride_defaults_to_kernel(values, layer):
    if values["stride"] is None:
        values["stride"] = values["kernel_size"]


_KERNEL = Key("kernel_size", pair_check(1), column="kernel", help="window height × width")
_STRIDE = Key("stride", pair_check(1), default=1, column="stride",
              help="step between windows")
_BIAS = Key("bias", boolean(), default=True, help="add one learned scalar per output")

register(LayerSpec(
    "Conv2D", "conv",
    keys=(Key("in_channels", count(1), inferred=True, column=None),
          Key("out_channels", count(1), column="units", help="number of filters F"),
          _KERNEL, _STRIDE,
          Key("padding", padding_form(), default=0, column="padding"),
          Key("padding_mode", choice(PADDING_MODES), default="zeros", column="mode",
              help="what the padded border holds"),
          _BIAS,
          Key("dilation", pair_check(1), default=1,
              help="distance between the kernel's taps (1: adjacent pixels)"),
          Key("groups", count(1), default=1,
              help="split channels and filters into groups; a filter sees its group only")),
    shape_rule="conv", needs="image", needs_text="Conv2D", role="conv",
    formula="OH = (H + top + bottom − DH·(KH − 1) − 1)/SH + 1 (floored), likewise OW; "
            "params = KH·KW·(C/groups)·F + F",
    summary="learned filters slid over the input",
    param_shapes=_conv_params, param_factors=_conv_factors, torch="conv", onnx="conv",
    rules=(conv_groups_divide_channels,)))

_DILATION = Key("dilation", pair_check(1), default=1,
                help="distance between the window's taps (1: adjacent pixels)")
_CEIL_MODE = Key("ceil_mode", boolean(), default=False,
                 help="round the number of windows up, so a partial last window is kept")
_COUNT_PAD = Key("count_include_pad", boolean(), default=True,
                 help="divide by the whole window, padded zeros included")
_POOL_FORMULA = ("OH = ⌊(H + 2·PH − D·(KH − 1) − 1)/SH⌋ + 1 (ceil_mode: ⌈…⌉), likewise OW; "
                 "no parameters")

for _type_name, _summary, _options in (
        ("MaxPool2D", "the largest value of each window", (_DILATION, _CEIL_MODE)),
        ("AvgPool2D", "the mean of each window (padding counts as zeros)",
         (_CEIL_MODE, _COUNT_PAD)),
        ("MinPool2D", "the smallest value of each window", (_DILATION, _CEIL_MODE))):
    register(LayerSpec(
        _type_name, "pool",
        keys=(_KERNEL,
              Key("stride", optional_pair(1), default=None, column="stride",
                  help="step between windows (default: the window, no overlap)"),
              Key("padding", padding_form(symmetric=True), default=0, column="padding"),
              *_options),
        shape_rule="pool", needs="image", needs_text=_type_name, role="pool",
        formula=_POOL_FORMULA.replace("D·(KH − 1) − 1", "KH") if _type_name == "AvgPool2D"
        else _POOL_FORMULA,
        summary=_summary, torch="pool", onnx="pool",
        rules=(_pool_stride_defaults_to_kernel, pool_padding_at_most_half)))

register(LayerSpec(
    "GlobalAvgPool2D", "gap", shape_rule="global_pool", needs="image",
    needs_text="GlobalAvgPool2D", role="flatten",
    formula="y_c = Σ_h Σ_w x_chw / (H·W): (C, H, W) → (C,); no parameters",
    summary="the mean of each channel's whole map, (C, H, W) into (C,)",
    torch="global_avg_pool", onnx="global_avg_pool"))

register(LayerSpec(
    "Dense", "dense",
    keys=(Key("in_features", count(1), inferred=True, column=None),
          Key("out_features", count(1), column="units", help="number of outputs"),
          _BIAS),
    shape_rule="dense", needs="vector", needs_text="Dense",
    needs_advice="add a Flatten layer before it", role="dense",
    formula="y = x·Wᵀ + b, W (out_features, in_features); params = in·out + out",
    summary="every input connected to every output",
    param_shapes=_dense_params, param_factors=_dense_factors, torch="dense", onnx="dense"))

register(LayerSpec(
    "Flatten", "flatten", shape_rule="flatten", role="flatten",
    formula="D = C·H·W", summary="(C, H, W) maps into one vector",
    torch=Op("Flatten", constants={"start_dim": 1}), onnx=Op("Flatten", constants={"axis": 1})))

register(LayerSpec(
    "ReLU", "relu", formula="max(0, x)", summary="the most used activation",
    torch=Op("ReLU"), onnx=Op("Relu")))

register(LayerSpec(
    "LeakyReLU", "lrelu",
    keys=(Key("negative_slope", real(), default=0.01, help="slope for x < 0"),),
    formula="x if x > 0 else negative_slope·x", summary="ReLU with a small slope below 0",
    torch=Op("LeakyReLU", {"negative_slope": "negative_slope"}),
    onnx=Op("LeakyRelu", {"alpha": "negative_slope"})))

register(LayerSpec(
    "ELU", "elu",
    keys=(Key("alpha", real(0.0), default=1.0, help="the value approached for x → −∞ is −alpha"),),
    formula="x if x > 0 else alpha·(eˣ − 1)", summary="a ReLU that bends smoothly below 0",
    torch=Op("ELU", {"alpha": "alpha"}), onnx=Op("Elu", {"alpha": "alpha"})))

register(LayerSpec(
    "Sigmoid", "sigmoid", formula="1/(1 + e^(−x))", summary="squashes into (0, 1)",
    torch=Op("Sigmoid"), onnx=Op("Sigmoid")))

register(LayerSpec(
    "Tanh", "tanh", formula="(eˣ − e^(−x))/(eˣ + e^(−x))", summary="squashes into (−1, 1)",
    torch=Op("Tanh"), onnx=Op("Tanh")))

register(LayerSpec(
    "Softmax", "softmax", needs="vector", needs_text="Softmax (over class scores)",
    needs_advice="add Flatten and a Dense layer with one output per class before it",
    role="softmax", formula="p_k = e^(z_k) / Σ_j e^(z_j)",
    summary="class scores into probabilities",
    torch=Op("Softmax", constants={"dim": 1}), onnx=Op("Softmax", constants={"axis": 1})))

register(LayerSpec(
    "Dropout", "dropout",
    keys=(Key("p", real(0.0, 1.0, high_open=True), default=0.5,
              help="probability of zeroing a value in training"),),
    role="dropout", formula="training: x·mask/(1 − p); inference: x",
    summary="zeroes random values while training", torch=Op("Dropout", {"p": "p"}),
    onnx="identity"))

def _batchnorm_params(values, input_shape):
    return {"gamma": (input_shape[0],), "beta": (input_shape[0],)}


def _batchnorm_factors(values, input_shape):
    return (input_shape[0],)


for _type_name, _needs, _over in (("BatchNorm2D", "image", "N·H·W"), ("BatchNorm1D", "vector", "N")):
    register(LayerSpec(
        _type_name, "bn",
        keys=(Key("num_features", count(1), inferred=True, column=None),
              Key("eps", real(0.0, low_open=True), default=1e-5,
                  help="added to the variance before the square root"),
              Key("momentum", real(0.0, 1.0), default=0.1,
                  help="weight of the new batch in the running statistics")),
        needs=_needs, needs_text=_type_name,
        needs_advice="use BatchNorm2D on images, BatchNorm1D after Flatten or Dense",
        role="norm",
        formula=f"y = gamma·(x − mean)/√(var + eps) + beta, statistics per channel over {_over} "
                f"(training) or running (inference); params = C + C",
        summary="normalizes each channel over the batch, then scales and shifts",
        param_shapes=_batchnorm_params, param_factors=_batchnorm_factors,
        torch="batchnorm", onnx="batchnorm"))

register(LayerSpec(
    "LRN", "norm",
    keys=(Key("size", count(1), default=5, help="channels in each window"),
          Key("alpha", real(0.0), default=1e-4),
          Key("beta", real(0.0), default=0.75),
          Key("k", real(0.0, low_open=True), default=2.0)),
    needs="image", needs_text="LRN (normalizes across channels)", role="norm",
    formula="b_c = a_c·(k + alpha/size·Σ_{c' near c} a_{c'}²)^(−beta)",
    summary="local response normalization across channels", torch="lrn", onnx="lrn"))


register(LayerSpec(
    "Residual", "res",
    keys=(Key("layers", layer_configs(), column=None, help="the inner layers f, in order"),),
    shape_rule="residual", needs="image", needs_text="Residual", role="block",
    formula="out = f(x) + x; when f changes the shape, out = f(x) + P(x) with P a 1×1 "
            "convolution of the matching stride; params = Σ f's + P's",
    summary="a block whose input skips ahead and is added to its output (ResNet)",
    torch="residual", onnx="residual"))
