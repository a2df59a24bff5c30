"""AlexNet's extras: local response normalization ("NORM") and dropout."""
import numpy as np

from .. import functional as F
from .base import Layer


class LRN(Layer):
    """Local response normalization across channels, PyTorch's formula:
    b_c = a_c · (k + alpha/size · Σ_{c' near c} a_{c'}²)^(−beta)."""
    type_name = "LRN"

    def __init__(self, size=5, alpha=1e-4, beta=0.75, k=2.0, *, name=None):
        super().__init__(name)
        self._configure(size=size, alpha=alpha, beta=beta, k=k)

    def forward(self, x, training=True):
        out, cache = F.lrn_forward(x, size=self.size, alpha=self.alpha, beta=self.beta, k=self.k,
                                   layer=self.label)
        self._cache = cache if training else None
        return out

    def backward(self, dout):
        return F.lrn_backward(dout, self._forward_cache(), layer=self.label)


class Dropout(Layer):
    """Inverted dropout: in training, zero each value with probability p and scale the rest by
    1/(1 − p); at test time (training=False) it passes x through unchanged."""
    type_name = "Dropout"
    builds_with = ("rng",)

    def __init__(self, p=0.5, *, name=None, rng=None):
        super().__init__(name)
        self._configure(p=p)
        self.rng = rng if rng is not None else np.random.default_rng(0)

    def forward(self, x, training=True):
        out, mask = F.dropout_forward(x, self.p, self.rng, training=training, layer=self.label)
        self._cache = (mask,) if training else None
        return out

    def backward(self, dout):
        (mask,) = self._forward_cache()
        return F.dropout_backward(dout, mask, layer=self.label)
