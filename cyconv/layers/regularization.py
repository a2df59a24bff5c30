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
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
            raise ValueError(f"{self.label}: size must be a positive int, got {size!r}")
        if not (k > 0 and alpha >= 0 and beta >= 0):
            raise ValueError(f"{self.label}: need k > 0, alpha ≥ 0, beta ≥ 0; got k={k}, "
                             f"alpha={alpha}, beta={beta}")
        self.size, self.alpha, self.beta, self.k = int(size), float(alpha), float(beta), float(k)

    def forward(self, x, training=True):
        out, cache = F.lrn_forward(x, size=self.size, alpha=self.alpha, beta=self.beta, k=self.k,
                                   layer=self.label)
        self._cache = cache if training else None
        return out

    def backward(self, dout):
        return F.lrn_backward(dout, self._forward_cache(), layer=self.label)

    def _config_fields(self):
        return {"size": self.size, "alpha": self.alpha, "beta": self.beta, "k": self.k}


class Dropout(Layer):
    """Inverted dropout: in training, zero each value with probability p and scale the rest by
    1/(1 − p); at test time (training=False) it passes x through unchanged."""
    type_name = "Dropout"

    def __init__(self, p=0.5, *, name=None, rng=None):
        super().__init__(name)
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p < 1:
            raise ValueError(f"{self.label}: p must be a probability in [0, 1), got {p!r}")
        self.p = float(p)
        self.rng = rng if rng is not None else np.random.default_rng(0)

    def forward(self, x, training=True):
        out, mask = F.dropout_forward(x, self.p, self.rng, training=training, layer=self.label)
        self._cache = (mask,) if training else None
        return out

    def backward(self, dout):
        (mask,) = self._forward_cache()
        return F.dropout_backward(dout, mask, layer=self.label)

    def _config_fields(self):
        return {"p": self.p}
