"""What every layer shares: params/grads dicts, settings checked by the schema, configs."""
import numpy as np

from .. import schema, shapes

# Every Layer subclass with a type_name, by type name (filled by Layer.__init_subclass__).
LAYER_CLASSES = {}


def _json_value(value):
    return list(value) if isinstance(value, tuple) else value


class RanFused:
    """A layer's cache after its forward pass ran fused into a neighbour's kernel (ReLU →
    MaxPool2D, see :mod:`cyconv.layers.fusion`): it names the pair, so a backward call on the
    layer alone raises instead of using a stale cache; ``cache`` is the pair's, kept by the
    layer whose kernel ran (None on the other)."""

    def __init__(self, pair, cache=None):
        self.pair = pair
        self.cache = cache


class Layer:
    """A layer: ``forward(x, training=True) -> y``, ``backward(dout) -> dx``.

    ``params`` and ``grads`` hold the same keys. Parameters live only here: the model and the
    optimizers hold references to these very arrays. ``backward`` copies each gradient into
    the same ``grads`` array every step (their identity never changes) and never writes into
    ``dout``.

    A subclass names its schema entry with ``type_name``; the constructor passes the settings
    to :meth:`_configure`, which checks them with the schema (the same checks and messages as
    the shape table) and stores each as an attribute of the same name (``bias`` as
    ``use_bias``). ``builds_with`` lists what :func:`cyconv.layers.from_config` passes
    besides the config ("rng", "dtype").
    """

    type_name = "Layer"
    builds_with = ()
    _ATTRIBUTE_NAMES = {"bias": "use_bias"}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "type_name" in cls.__dict__:
            LAYER_CLASSES[cls.type_name] = cls

    def __init__(self, name=None):
        self.name = name
        self.params = {}
        self.grads = {}
        self.buffers = {}       # state that is not learned (batch norm's running statistics)
        self.settings = {}
        self._cache = None

    def _configure(self, **values):
        self.settings = schema.settings(self.type_name, self.label, values, complete=True)
        for key, value in self.settings.items():
            setattr(self, self._ATTRIBUTE_NAMES.get(key, key), value)

    # -- what subclasses provide -------------------------------------------------------------
    def forward(self, x, training=True):
        raise NotImplementedError

    def backward(self, dout):
        raise NotImplementedError

    # -- shared ------------------------------------------------------------------------------
    @property
    def label(self):
        """How error messages name this layer: its name, or its type before it has one."""
        return schema.label(self.name, self.type_name)

    def config(self):
        """The plain-dict description of docs/design.md (JSON-ready)."""
        cfg = {"type": self.type_name}
        if self.name:
            cfg["name"] = self.name
        cfg.update({key: _json_value(value) for key, value in self.settings.items()})
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
        if isinstance(self._cache, RanFused):
            raise RuntimeError(f"{self.label}: its last forward pass ran fused as {self._cache.pair} in one "
                               f"kernel, so it has no cache of its own to run backward() alone; use the "
                               f"model's backward(), or set the model's fuse = False to run the layers one "
                               f"by one")
        return self._cache

    def astype(self, dtype):
        """Convert parameters and gradients to ``dtype`` in place (new arrays, same keys)."""
        dtype = np.dtype(dtype)
        for key in self.params:
            self.params[key] = self.params[key].astype(dtype)
            self.grads[key] = self.grads[key].astype(dtype)
        for key in self.buffers:
            self.buffers[key] = self.buffers[key].astype(dtype)
        self._cache = None
        return self

    @property
    def dtype(self):
        for value in self.params.values():
            return value.dtype
        return None

    def __repr__(self):
        fields = ", ".join(f"{k}={_json_value(v)!r}" for k, v in self.settings.items())
        name = f"name={self.name!r}, " if self.name else ""
        return f"{self.type_name}({name}{fields})"
