"""Activation functions and Flatten."""
import numpy as np

from .. import functional as F
from .base import Layer


class _Elementwise(Layer):
    """An element-wise activation run by the activation kernel's ``kind``; a subclass with a
    scalar setting names it in ``parameter_key``."""
    kind = None
    parameter_key = None

    def forward(self, x, training=True):
        parameter = self.settings[self.parameter_key] if self.parameter_key else 0.0
        out, cache = F.activation_forward(x, self.kind, parameter=parameter,
                                          layer=self.label)
        self._cache = cache if training else None
        return out

    def backward(self, dout):
        return F.activation_backward(dout, self._forward_cache(), layer=self.label)


class ReLU(_Elementwise):
    """max(0, x): the most used activation; its output is the "activation map"."""
    type_name = "ReLU"
    kind = "relu"


class LeakyReLU(_Elementwise):
    """x for x > 0, negative_slope·x otherwise."""
    type_name = "LeakyReLU"
    kind = "leaky_relu"
    parameter_key = "negative_slope"

    def __init__(self, negative_slope=0.01, *, name=None):
        super().__init__(name)
        self._configure(negative_slope=negative_slope)


class ELU(_Elementwise):
    """x for x > 0, alpha·(eˣ − 1) otherwise: ReLU for positive inputs, but smooth at 0 and
    with negative outputs down to −alpha, so a unit below 0 still passes a gradient."""
    type_name = "ELU"
    kind = "elu"
    parameter_key = "alpha"

    def __init__(self, alpha=1.0, *, name=None):
        super().__init__(name)
        self._configure(alpha=alpha)


class Sigmoid(_Elementwise):
    """1/(1 + e^(−x)): LeNet's activation and the binary classifier's output."""
    type_name = "Sigmoid"
    kind = "sigmoid"


class Tanh(_Elementwise):
    type_name = "Tanh"
    kind = "tanh"


class Softmax(Layer):
    """Row-wise softmax of (N, K) scores into probabilities. For training use the fused
    ``losses.SoftmaxCrossEntropy`` on the logits instead: it is exact for large logits."""
    type_name = "Softmax"

    def forward(self, x, training=True):
        out, cache = F.softmax_forward(x, layer=self.label)
        self._cache = cache if training else None
        return out

    def backward(self, dout):
        return F.softmax_backward(dout, self._forward_cache(), layer=self.label)


class Flatten(Layer):
    """(N, C, H, W) → (N, C·H·W): the bridge from feature extractor to classifier."""
    type_name = "Flatten"

    def forward(self, x, training=True):
        if not isinstance(x, np.ndarray) or x.ndim < 2:
            raise ValueError(f"{self.label}: x must be an array with a batch axis, got "
                             f"{getattr(x, 'shape', type(x).__name__)}")
        out = x.reshape(x.shape[0], -1)
        # The input shape and the output's, so backward checks dout without recomputing it.
        self._cache = (x.shape, out.shape) if training else None
        return out

    def backward(self, dout):
        shape, flat_shape = self._forward_cache()
        if getattr(dout, "shape", None) != flat_shape:
            raise ValueError(f"{self.label}: dout {getattr(dout, 'shape', type(dout).__name__)} "
                             f"must be {flat_shape}")
        return dout.reshape(shape)
