"""Ready-made networks from the seeds and the classics, as plain layer configs.

:func:`configs` returns pure data (no engine import), so the shape table and the app can show
a preset before anything is built; :func:`build` turns it into a ``cyconv.model.Sequential``.
Every config dict is complete (all keys of the schema in docs/design.md) and named, so the
parameters read ``conv1.W``, ``fc6.b``, ... None of the presets ends with a Softmax layer: the
loss (:class:`cyconv.losses.SoftmaxCrossEntropy`) applies softmax and cross-entropy together,
which is numerically stable and has the simple gradient ``p - y``.

>>> input_shape, layers = configs("deepid")
>>> input_shape, layers[0]["name"], layers[-1]["out_features"]
((1, 39, 31), 'conv1', 100)
"""
from __future__ import annotations

import difflib

from . import shapes

__all__ = ["PRESET_NAMES", "build", "configs", "describe", "summary"]


# ----------------------------------------------------------------------------------------------
# Config builders: one function per layer type, every key of the schema filled in
# ----------------------------------------------------------------------------------------------
def _conv(name, in_channels, out_channels, kernel, *, stride=1, padding=0, bias=True):
    return {"type": "Conv2D", "name": name, "in_channels": in_channels,
            "out_channels": out_channels, "kernel_size": [kernel, kernel],
            "stride": [stride, stride], "padding": padding, "padding_mode": "zeros",
            "bias": bias, "dilation": [1, 1], "groups": 1}


def _batchnorm(name, channels):
    return {"type": "BatchNorm2D", "name": name, "num_features": channels, "eps": 1e-5,
            "momentum": 0.1}


def _maxpool(name, kernel, stride=None):
    stride = kernel if stride is None else stride
    return {"type": "MaxPool2D", "name": name, "kernel_size": [kernel, kernel],
            "stride": [stride, stride], "padding": 0, "dilation": [1, 1], "ceil_mode": False}


def _dense(name, in_features, out_features):
    return {"type": "Dense", "name": name, "in_features": in_features,
            "out_features": out_features, "bias": True}


def _relu(name):
    return {"type": "ReLU", "name": name}


def _flatten(name="flatten1"):
    return {"type": "Flatten", "name": name}


def _dropout(name, p):
    return {"type": "Dropout", "name": name, "p": p}


def _lrn(name):
    # AlexNet's values (Krizhevsky et al. 2012, section 3.3).
    return {"type": "LRN", "name": name, "size": 5, "alpha": 1e-4, "beta": 0.75, "k": 2.0}


def _conv_relu_pool_stack(spec, in_channels):
    """conv{i}, relu{i}, pool{i} for each (filters, kernel) in spec, 2×2 max pooling stride 2."""
    layers = []
    for index, (filters, kernel) in enumerate(spec, start=1):
        layers += [_conv(f"conv{index}", in_channels, filters, kernel), _relu(f"relu{index}"),
                   _maxpool(f"pool{index}", 2)]
        in_channels = filters
    return layers


# ----------------------------------------------------------------------------------------------
# The presets
# ----------------------------------------------------------------------------------------------
def _deepid():
    layers = _conv_relu_pool_stack([(20, 4), (40, 3), (60, 3)], in_channels=1)
    layers += [_conv("conv4", 60, 80, 2), _relu("relu4"), _flatten(),
               _dense("dense1", 160, 100)]
    return (1, 39, 31), layers


def _mnist_cnn():
    layers = _conv_relu_pool_stack([(10, 5), (20, 5)], in_channels=1)
    layers += [_flatten(), _dense("dense1", 320, 100), _relu("relu3"), _dense("dense2", 100, 10)]
    return (1, 28, 28), layers


def _lenet5():
    return (1, 28, 28), [
        _conv("conv1", 1, 6, 5, padding=2), _relu("relu1"), _maxpool("pool1", 2),
        _conv("conv2", 6, 16, 5), _relu("relu2"), _maxpool("pool2", 2),
        _flatten(),
        _dense("dense1", 400, 120), _relu("relu3"),
        _dense("dense2", 120, 84), _relu("relu4"),
        _dense("dense3", 84, 10),
    ]


def _cifar_small():
    return (3, 32, 32), [
        _conv("conv1", 3, 32, 3, padding=1), _relu("relu1"),
        _conv("conv2", 32, 32, 3, padding=1), _relu("relu2"), _maxpool("pool1", 2),
        _conv("conv3", 32, 64, 3, padding=1), _relu("relu3"), _maxpool("pool2", 2),
        _flatten(),
        _dense("dense1", 4096, 128), _relu("relu4"),
        _dense("dense2", 128, 10),
    ]


def _cifar_bn():
    # cifar_small with batch norm between each convolution and its ReLU; the convolutions
    # lose their bias, which the batch norm's beta replaces (a bias would be subtracted away
    # with the batch mean).
    def block(index, in_channels, out_channels):
        return [_conv(f"conv{index}", in_channels, out_channels, 3, padding=1, bias=False),
                _batchnorm(f"bn{index}", out_channels), _relu(f"relu{index}")]
    return (3, 32, 32), [
        *block(1, 3, 32), *block(2, 32, 32), _maxpool("pool1", 2),
        *block(3, 32, 64), _maxpool("pool2", 2),
        _flatten(),
        _dense("dense1", 4096, 128), _relu("relu4"),
        _dense("dense2", 128, 10),
    ]


def _residual(name, in_channels, out_channels, stride):
    # Two 3×3 convolutions with batch norm; the block's ReLU comes after the addition.
    return {"type": "Residual", "name": name, "layers": [
        _conv("conv1", in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
        _batchnorm("bn1", out_channels), _relu("relu1"),
        _conv("conv2", out_channels, out_channels, 3, padding=1, bias=False),
        _batchnorm("bn2", out_channels)]}


def _resnet_tiny():
    return (3, 32, 32), [
        _conv("conv1", 3, 16, 3, padding=1, bias=False), _batchnorm("bn1", 16), _relu("relu1"),
        _residual("res1", 16, 16, 1), _relu("relu2"),
        _residual("res2", 16, 32, 2), _relu("relu3"),
        {"type": "GlobalAvgPool2D", "name": "gap1"},
        _dense("dense1", 32, 10),
    ]


def _alexnet():
    # The taught "pad 1.5" on a 224 input: one pixel on top/left, two on bottom/right.
    conv1 = _conv("conv1", 3, 96, 11, stride=4, padding=[1, 2, 1, 2])
    return (3, 224, 224), [
        conv1, _relu("relu1"), _maxpool("pool1", 3, 2), _lrn("norm1"),
        _conv("conv2", 96, 256, 5, padding=2), _relu("relu2"), _maxpool("pool2", 3, 2),
        _lrn("norm2"),
        _conv("conv3", 256, 384, 3, padding=1), _relu("relu3"),
        _conv("conv4", 384, 384, 3, padding=1), _relu("relu4"),
        _conv("conv5", 384, 256, 3, padding=1), _relu("relu5"), _maxpool("pool3", 3, 2),
        _flatten(),
        _dense("fc6", 9216, 4096), _relu("relu6"), _dropout("drop6", 0.5),
        _dense("fc7", 4096, 4096), _relu("relu7"), _dropout("drop7", 0.5),
        _dense("fc8", 4096, 1000),
    ]


def _keras_sketch():
    layers = _conv_relu_pool_stack([(12, 5), (16, 5), (20, 4)], in_channels=1)
    layers += [_flatten(), _dense("dense1", 960, 128), _relu("relu4"), _dense("dense2", 128, 4)]
    return (1, 120, 60), layers


def _deepid_dense():
    widths = [1209, 600, 300, 300, 150, 100]
    layers = []
    for index, (n_in, n_out) in enumerate(zip(widths, widths[1:]), start=1):
        layers.append(_dense(f"dense{index}", n_in, n_out))
        if index < len(widths) - 1:
            layers.append(_relu(f"relu{index}"))
    return (1209,), layers


_PRESETS = {
    "deepid": (_deepid, "DeepID: 39×31 grayscale, 4 conv+ReLU (3 max pools), flatten 160, "
                          "dense 100 classes; 64,620 params (softmax is in the loss)"),
    "mnist_cnn": (_mnist_cnn, "MNIST CNN: 28×28, conv 10@5×5, pool, conv 20@5×5, pool, "
                          "dense 320→100→10; 38,390 params (softmax is in the loss)"),
    "lenet5": (_lenet5, "LeNet-5, modern form: ReLU and max pooling (the 1998 LeNet used "
                        "sigmoid/tanh and average pooling); 28×28 input, padding 2"),
    "cifar_small": (_cifar_small, "small CIFAR-10 CNN: 3×32×32, conv 32-32-64 3×3 padding 1, "
                                  "2 max pools, dense 4096→128→10"),
    "cifar_bn": (_cifar_bn, "cifar_small with batch norm: conv-BN-ReLU blocks 32-32-64 3×3 "
                            "padding 1 (no conv bias), 2 max pools, dense 4096→128→10"),
    "resnet_tiny": (_resnet_tiny, "a tiny ResNet: 3×32×32, conv 16 + BN, a residual block of "
                                  "16, one of 32 with stride 2 (1×1 projection), global "
                                  "average pooling, dense 32→10"),
    "alexnet": (_alexnet, "AlexNet, one tower as taught (one tower, 224 input padded 1/2, LRN, "
                          "overlapping pooling, dropout 0.5); 62,378,344 params"),
    "keras_sketch": (_keras_sketch,
                             "a Keras sketch repaired: 120×60, conv 12/16/20 + max "
                             "pools, the missing Flatten added, dense 128→4"),
    "deepid_dense": (_deepid_dense, "DeepID's fully connected comparison: the 39×31 image "
                                        "flattened to 1,209 pixels, 600-300-300-150-100; "
                                        "1,056,850 params"),
}
PRESET_NAMES = tuple(_PRESETS)


def _lookup(name):
    if name not in _PRESETS:
        hint = difflib.get_close_matches(str(name), PRESET_NAMES, n=1)
        did_you_mean = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise ValueError(f"unknown preset {name!r}{did_you_mean}; presets: "
                         f"{', '.join(PRESET_NAMES)}")
    return _PRESETS[name]


def describe(name):
    """One line about the preset, for the CLI and the app."""
    return _lookup(name)[1]


def configs(name):
    """``(input_shape, layer_configs)``: input ``(C, H, W)`` (or ``(D,)``) and fresh config dicts.

    Each call builds new dicts, so a caller may edit them freely.
    """
    return _lookup(name)[0]()


def summary(name):
    """The shape table (:class:`cyconv.shapes.Summary`) of a preset, without building it."""
    input_shape, layers = configs(name)
    return shapes.summarize(layers, input_shape)


def build(name, *, seed=0, dtype="float32"):
    """The preset as a ``cyconv.model.Sequential`` with weights initialized from ``seed``."""
    input_shape, layers = configs(name)
    # Imported here so that configs() and summary() work without the compiled engine.
    from .model import Sequential

    return Sequential.from_config({"input_shape": list(input_shape), "layers": layers},
                                  seed=seed, dtype=dtype)
