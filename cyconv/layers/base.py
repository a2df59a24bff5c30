"""What every layer shares: params/grads dicts, names, configs, dtype changes."""
import numpy as np

from .. import shapes


class Layer:
    """A layer: ``forward(x, training=True) -> y``, ``backward(dout) -> dx``.

    ``params`` and ``grads`` hold the same keys. Parameters live only here: the model and the
    optimizers hold references to these very arrays. ``backward`` copies each gradient into
    the same ``grads`` array every step (their identity never changes) and never writes into
    ``dout``.
    """

    type_name = "Layer"

    def __init__(self, name=None):
        self.name = name
        self.params = {}
        self.grads = {}
        self._cache = None

    # -- what subclasses provide -------------------------------------------------------------
    def forward(self, x, training=True):
        raise NotImplementedError

    def backward(self, dout):
        raise NotImplementedError

    def _config_fields(self):
        return {}

    # -- shared ------------------------------------------------------------------------------
    @property
    def label(self):
        """How error messages name this layer, e.g. "conv1 (Conv2D)"."""
        return f"{self.name} ({self.type_name})" if self.name else self.type_name

    def config(self):
        """The plain-dict description of docs/design.md (JSON-ready)."""
        cfg = {"type": self.type_name}
        if self.name:
            cfg["name"] = self.name
        cfg.update(self._config_fields())
        return cfg

    def output_shape(self, input_shape):
        """Output shape (C, H, W) or (D,) for an input shape, from the config alone."""
        return shapes.output_shape(self.config(), tuple(input_shape))

    def _new_param(self, key, value):
        self.params[key] = value
        self.grads[key] = np.zeros_like(value)

    def _store_grad(self, key, value):
        np.copyto(self.grads[key], value)

    def _store_weight_grads(self, dw, db):
        """dW always; db when the layer has a bias."""
        self._store_grad("W", dw)
        if "b" in self.grads:
            self._store_grad("b", db)

    def _forward_cache(self):
        if self._cache is None:
            raise RuntimeError(f"{self.label}: backward() called before forward(training=True)")
        return self._cache

    def astype(self, dtype):
        """Convert parameters and gradients to ``dtype`` in place (new arrays, same keys)."""
        dtype = np.dtype(dtype)
        for key in self.params:
            self.params[key] = self.params[key].astype(dtype)
            self.grads[key] = self.grads[key].astype(dtype)
        self._cache = None
        return self

    @property
    def dtype(self):
        for value in self.params.values():
            return value.dtype
        return None

    def __repr__(self):
        fields = ", ".join(f"{k}={v!r}" for k, v in self._config_fields().items())
        name = f"name={self.name!r}, " if self.name else ""
        return f"{self.type_name}({name}{fields})"
