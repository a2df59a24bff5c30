"""Residual: out = f(x) + x, the building block of ResNets."""
import numpy as np

from .. import shapes
from .base import Layer
from .conv import Conv2D


class Residual(Layer):
    """``Residual([layer, ...])``: out = f(x) + x, where f runs the inner layers in order.

    When f changes the shape (more channels, a stride), the shortcut is a learned 1×1
    convolution P with the stride that matches: out = f(x) + P(x). The gradient reaches x
    along both paths, dx = df + dshortcut, so a deep stack of blocks still passes gradients
    back even where f's are small. The block learns its input shape when a Sequential is
    built (or by ``build((C, H, W))``); its parameters are the inner layers' (named
    ``<inner>.<key>``, e.g. ``res1.conv1.W`` in the model) and the projection's
    (``projection.W``, ``projection.b``).
    """
    type_name = "Residual"
    builds_with = ("rng", "dtype")
    # Not "layers": code that walks a model's .layers must not mistake a block for a model.
    _ATTRIBUTE_NAMES = {"layers": "layer_configs"}

    def __init__(self, layers, *, name=None, rng=None, dtype=np.float32):
        super().__init__(name)
        self.body = self._inner_layers(layers, rng, dtype)
        self._configure(layers=[layer.config() for layer in self.body])
        for layer, inner_name in zip(self.body, shapes.default_names(self.layer_configs)):
            layer.name = inner_name
        self.layer_configs = [layer.config() for layer in self.body]
        self.settings["layers"] = self.layer_configs
        self.projection = None
        self.input_shape = None
        self._rng = rng if rng is not None else np.random.default_rng(0)
        self._dtype = np.dtype(dtype)

    @staticmethod
    def _inner_layers(items, rng, dtype):
        from . import from_config
        if not isinstance(items, (list, tuple)) or not items:
            raise TypeError(f"Residual: layers must be a non-empty list of layers or layer "
                            f"configs, got {items!r}")
        return [item if isinstance(item, Layer) else from_config(dict(item), rng=rng,
                                                                   dtype=dtype)
                for item in items]

    def build(self, input_shape, dtype=None):
        """Fix the input shape (C, H, W): check the block and create the projection if the
        inner layers change the shape."""
        row = shapes.layer_row(self.config(), tuple(input_shape), name=self.label)
        self.input_shape = tuple(input_shape)
        dtype = np.dtype(dtype) if dtype is not None else self._dtype
        stride = row.stride_hw
        if stride is not None and self.projection is None:
            self.projection = Conv2D(input_shape[0], row.output_chw[0], 1, stride=stride,
                                     name="projection", rng=self._rng, dtype=dtype)
        self._collect_params()
        return self

    def _collect_params(self):
        # The block's dicts hold the inner layers' very arrays, so the optimizer updates them.
        self.params, self.grads = {}, {}
        inner = self.body + ([self.projection] if self.projection is not None else [])
        for layer in inner:
            for key in layer.params:
                self.params[f"{layer.name}.{key}"] = layer.params[key]
                self.grads[f"{layer.name}.{key}"] = layer.grads[key]
        self.buffers = {f"{layer.name}.{key}": layer.buffers[key]
                        for layer in inner for key in layer.buffers}

    def forward(self, x, training=True):
        if self.input_shape is None:
            raise RuntimeError(f"{self.label}: the block does not know its input shape yet: "
                               f"put it in a Sequential or call build((C, H, W))")
        if not isinstance(x, np.ndarray) or x.shape[1:] != self.input_shape:
            raise ValueError(f"{self.label}: x must be (N,) + {self.input_shape}, got "
                             f"{getattr(x, 'shape', type(x).__name__)}")
        out = x
        for layer in self.body:
            out = layer.forward(out, training=training)
        shortcut = self.projection.forward(x, training) if self.projection is not None else x
        self._cache = True if training else None
        return out + shortcut

    def backward(self, dout, need_dx=True):
        self._forward_cache()
        d_body = dout
        for layer in reversed(self.body):
            d_body = layer.backward(d_body)
        d_shortcut = self.projection.backward(dout) if self.projection is not None else dout
        return d_body + d_shortcut

    def astype(self, dtype):
        for layer in self.body + ([self.projection] if self.projection is not None else []):
            layer.astype(dtype)
        self._dtype = np.dtype(dtype)
        self._collect_params()
        self._cache = None
        return self

    @property
    def dtype(self):
        for layer in self.body:
            if layer.dtype is not None:
                return layer.dtype
        return None
