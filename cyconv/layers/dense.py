"""Dense (fully connected, affine) layer: y = x Wᵀ + b."""
import numpy as np

from .. import functional as F
from .. import init as initializers
from .base import Layer


class Dense(Layer):
    """``W``: (out_features, in_features) — "(100, 160)" maps 160 inputs to 100 outputs."""

    type_name = "Dense"
    builds_with = ("rng", "dtype")

    def __init__(self, in_features, out_features, bias=True, *, name=None, init=initializers.DEFAULT,
                 rng=None, dtype=np.float32):
        super().__init__(name)
        self._configure(in_features=in_features, out_features=out_features, bias=bias)
        rng = rng if rng is not None else np.random.default_rng(0)
        shape = (self.out_features, self.in_features)
        self._new_param("W", initializers.initialize(init, shape, rng, dtype))
        if self.use_bias:
            self._new_param("b", initializers.initialize_bias(init, shape, rng, dtype))

    def forward(self, x, training=True):
        out, cache = F.dense_forward(x, self.params["W"], self.params.get("b"), layer=self.label)
        self._cache = cache if training else None
        return out

    def backward(self, dout, need_dx=True):
        dx, dw, db = F.dense_backward(dout, self._forward_cache(), need_dx=need_dx,
                                      layer=self.label)
        self._store_weight_grads(dw, db)
        return dx
