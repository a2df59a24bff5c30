"""Batch normalization: learned gamma/beta per channel, running statistics as state."""
import numpy as np

from .. import functional as F
from .base import Layer


class _BatchNorm(Layer):
    """Normalize each channel over the batch (training) or with the running statistics
    (inference), then y = gamma·x̂ + beta. ``running_mean`` and ``running_var`` are
    buffers: saved in checkpoints and state dicts, but not parameters (no gradient, not in
    the parameter count)."""
    builds_with = ("dtype",)

    def __init__(self, num_features, eps=1e-5, momentum=0.1, *, name=None, dtype=np.float32):
        super().__init__(name)
        self._configure(num_features=num_features, eps=eps, momentum=momentum)
        channels = self.num_features
        self._new_param("gamma", np.ones(channels, dtype=dtype))
        self._new_param("beta", np.zeros(channels, dtype=dtype))
        self.buffers["running_mean"] = np.zeros(channels, dtype=dtype)
        self.buffers["running_var"] = np.ones(channels, dtype=dtype)

    def forward(self, x, training=True):
        out, cache = F.batchnorm_forward(
            x, self.params["gamma"], self.params["beta"], self.buffers["running_mean"],
            self.buffers["running_var"], training=training, momentum=self.momentum,
            eps=self.eps, type_name=self.type_name, layer=self.label)
        self._cache = cache
        return out

    def backward(self, dout, need_dx=True):
        dx, dgamma, dbeta = F.batchnorm_backward(dout, self._forward_cache(), layer=self.label)
        self._store_grad("gamma", dgamma)
        self._store_grad("beta", dbeta)
        return dx


class BatchNorm2D(_BatchNorm):
    """Batch norm of images (N, C, H, W): statistics over N·H·W values per channel."""
    type_name = "BatchNorm2D"


class BatchNorm1D(_BatchNorm):
    """Batch norm of vectors (N, C): statistics over the N values of each feature."""
    type_name = "BatchNorm1D"
