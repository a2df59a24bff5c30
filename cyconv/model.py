"""Sequential: a stack of layers, its forward and backward passes, and its shape table."""
import threading

import numpy as np

from . import functional as F
from . import layers as layer_module
from . import schema, shapes
from .layers import fusion

__all__ = ["Sequential"]


def _skips_input_gradient(layer):
    """Layers with parameters can skip dL/dx: training never needs the images' gradient."""
    return schema.spec(layer.type_name).has_params


def _fill_inferred_keys(layer_configs, rows):
    """Missing in_channels / in_features (and a batch norm's num_features) from each row's
    input, inside blocks too (their "layers" are filled from the block's inner rows)."""
    for layer_config, row in zip(layer_configs, rows):
        for key in schema.spec(row.kind).inferred_keys:
            if layer_config.get(key) is None:
                layer_config[key] = row.input_chw[0]
        if row.inner:
            layer_config["layers"] = [dict(inner) for inner in layer_config["layers"]]
            _fill_inferred_keys(layer_config["layers"], row.inner)


#: Guards the check-and-set of a model's busy thread (held for a few instructions only).
_CLAIM_LOCK = threading.Lock()


class Sequential:
    """Layers applied in order to inputs of shape (N,) + input_shape.

    The shapes are checked when the model is built, from the configs alone, so a network that
    cannot run fails here with the layer and the formula, not in the middle of training.

    ``fuse`` (True by default; settable on a model or the class) lets :meth:`forward` run a
    ReLU directly followed by a MaxPool2D as one kernel pass, bit for bit the same outputs
    and gradients (:mod:`cyconv.layers.fusion`); False runs every layer on its own, as a
    lesson stepping through the layers or a test comparing the two wants.
    """

    fuse = True

    def __init__(self, layers, input_shape, *, name=None, dtype=np.float32):
        self.layers = list(layers)
        for layer in self.layers:
            if not isinstance(layer, layer_module.Layer):
                raise TypeError(f"Sequential takes cyconv layers, got {type(layer).__name__}")
        self.input_shape = tuple(int(v) for v in input_shape)
        self.name = name
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise TypeError(f"Sequential: dtype must be float32 or float64, got {self.dtype}")
        names = shapes.default_names([layer.config() for layer in self.layers])
        for layer, layer_name in zip(self.layers, names):
            layer.name = layer_name
            if layer.dtype is not None and layer.dtype != self.dtype:
                layer.astype(self.dtype)
        rows = shapes.layer_rows(self.configs(), self.input_shape, partial=False)
        for layer, row in zip(self.layers, rows):
            # A block (Residual) learns its input shape here, and makes its projection.
            if hasattr(layer, "build"):
                layer.build(row.input_chw, self.dtype)
        self.output_shape = rows[-1].output_chw if rows else self.input_shape

    # -- building ----------------------------------------------------------------------------
    @classmethod
    def from_config(cls, config, *, seed=0, dtype=np.float32):
        """Build from {"input_shape": [C, H, W], "layers": [...], "name": ...}; weights are
        drawn from ``numpy.random.default_rng(seed)``. Missing in_channels / in_features are
        filled in from the shape of the layer's input."""
        if not isinstance(config, dict) or "input_shape" not in config or "layers" not in config:
            raise ValueError("a model config needs 'input_shape' and 'layers'")
        input_shape = tuple(config["input_shape"])
        layer_configs = [dict(c) for c in config["layers"]]
        rows = shapes.layer_rows(layer_configs, input_shape, partial=False)
        _fill_inferred_keys(layer_configs, rows)
        rng = np.random.default_rng(seed)
        built = [layer_module.from_config(c, rng=rng, dtype=dtype) for c in layer_configs]
        return cls(built, input_shape, name=config.get("name"), dtype=dtype)

    def configs(self):
        return [layer.config() for layer in self.layers]

    def config(self):
        cfg = {"input_shape": list(self.input_shape), "layers": self.configs()}
        if self.name:
            cfg["name"] = self.name
        return cfg

    # -- running -----------------------------------------------------------------------------
    def _check_input(self, x):
        if not isinstance(x, np.ndarray):
            raise TypeError(f"model input must be a numpy array, got {type(x).__name__}")
        if x.shape[1:] != self.input_shape:
            raise ValueError(f"model input must be (N,) + {self.input_shape}, got {x.shape}")
        if np.issubdtype(x.dtype, np.floating) and x.dtype != self.dtype:
            x = x.astype(self.dtype)   # float64 data into a float32 model is the common case
        return x

    def _claim(self, what):
        """One thread at a time: the layers keep caches and gradients between the calls, so a
        second thread's pass would silently mix its numbers with the first's."""
        me = threading.get_ident()
        with _CLAIM_LOCK:
            busy = getattr(self, "_busy", None)
            if busy is not None and busy != me:
                raise RuntimeError(f"Sequential: {what} called from a second thread while another thread "
                                   f"is running this model; give each thread its own model (copy.deepcopy)")
            self._busy = me
        return me

    def forward(self, x, training=True):
        """Logits (N, classes) for x (N, C, H, W); ``training`` keeps caches for backward and
        turns dropout on."""
        me = self._claim("forward")
        try:
            x = self._check_input(x)
            steps = fusion.plan_steps(self.layers, self.fuse)
            for position, step in enumerate(steps):
                if position == 0:
                    x = self._forward_step(step, x, training)
                    continue
                with F.trusted_inputs():
                    x = self._forward_step(step, x, training)
            if training:
                self._trained_by = me
            return x
        finally:
            self._busy = None

    def _forward_step(self, step, x, training):
        if len(step) == 2:
            relu, pool = (self.layers[index] for index in step)
            return pool.forward_after_relu(x, relu, training=training)
        return self.layers[step[0]].forward(x, training=training)

    def _backward_layers(self, dout, first_needs_dx):
        """Backpropagate through the layers, a fused pair (its pooling layer says whether the
        last training pass fused it) as one kernel pass."""
        index = len(self.layers) - 1
        while index >= 0:
            layer = self.layers[index]
            if index > 0 and getattr(layer, "ran_fused", None) is not None and layer.ran_fused():
                dout = layer.backward_through_relu(dout)
                index -= 2
                continue
            if index == 0 and not first_needs_dx and _skips_input_gradient(layer):
                return layer.backward(dout, need_dx=False)
            dout = layer.backward(dout)
            index -= 1
        return dout

    def _check_backward_thread(self, me):
        if getattr(self, "_trained_by", me) != me:
            raise RuntimeError("Sequential: backward called from another thread than the training forward "
                               "pass it belongs to; run forward and backward in the same thread, or give "
                               "each thread its own model (copy.deepcopy)")

    def backward(self, dout):
        """Backpropagate dL/dlogits through every layer and fill each layer's grads.

        Returns dL/dx, except when the first layer is Conv2D or Dense: training never needs
        the gradient of the images, so that layer skips it and None is returned (use
        ``input_gradient`` when you want it)."""
        me = self._claim("backward")
        try:
            self._check_backward_thread(me)
            with F.trusted_inputs():
                return self._backward_layers(dout, first_needs_dx=False)
        finally:
            self._busy = None

    def input_gradient(self, dout):
        """Like backward, but also returns dL/dx of the first layer (gradient checks, saliency)."""
        return self._backward_layers(dout, first_needs_dx=True)

    def forward_trace(self, x):
        """Every layer's output for x, as (layer_name, copy) pairs; no caches are kept. Never
        fused: a fused ReLU's output is never written, and the app shows every layer's."""
        x = self._check_input(x)
        trace = []
        for layer in self.layers:
            x = layer.forward(x, training=False)
            trace.append((layer.name, np.array(x, copy=True)))
        return trace

    def predict(self, x, batch_size=256):
        """Logits for x in batches, in inference mode (no dropout, no caches)."""
        x = self._check_input(x)
        outputs = [self.forward(x[i:i + batch_size], training=False)
                   for i in range(0, len(x), batch_size)]
        return np.concatenate(outputs, axis=0)

    # -- parameters --------------------------------------------------------------------------
    def named_layers(self):
        return [(layer.name, layer) for layer in self.layers]

    def parameters(self):
        """(name, param, grad) triples, e.g. ("conv1.W", W, dW); the arrays are the layers'."""
        return [(f"{layer.name}.{key}", layer.params[key], layer.grads[key])
                for layer in self.layers for key in layer.params]

    def buffers(self):
        """(name, array) pairs of the layers' state that is not learned, e.g.
        ("bn1.running_mean", array): saved with the parameters, never counted among them."""
        return [(f"{layer.name}.{key}", layer.buffers[key])
                for layer in self.layers for key in layer.buffers]

    def count_params(self):
        return int(sum(param.size for _, param, _ in self.parameters()))

    def summary(self):
        """The shape table: a list of rows (shapes.LayerRow) that prints as a table."""
        return shapes.summarize(self.configs(), self.input_shape)

    def state_dict(self):
        """Copies of every parameter and buffer, by name."""
        state = {name: param.copy() for name, param, _ in self.parameters()}
        state.update((name, array.copy()) for name, array in self.buffers())
        return state

    def load_state_dict(self, state):
        """Copy arrays into the existing parameters and buffers (their identity is kept). Every
        name must match and every shape agree; nothing is changed unless all do."""
        params = {name: param for name, param, _ in self.parameters()}
        params.update(self.buffers())
        missing = sorted(set(params) - set(state))
        unexpected = sorted(set(state) - set(params))
        if missing or unexpected:
            raise ValueError(f"state does not match the model: missing {missing}, "
                             f"unexpected {unexpected}")
        for name, param in params.items():
            if np.shape(state[name]) != param.shape:
                raise ValueError(f"{name}: saved shape {np.shape(state[name])} differs from the "
                                 f"model's {param.shape}")
        for name, param in params.items():
            np.copyto(param, np.asarray(state[name], dtype=param.dtype))

    def __len__(self):
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)

    def __getitem__(self, key):
        if isinstance(key, str):
            for layer in self.layers:
                if layer.name == key:
                    return layer
            raise KeyError(f"no layer named {key!r}; layers: {[layer.name for layer in self.layers]}")
        return self.layers[key]

    def __repr__(self):
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return f"Sequential(input_shape={self.input_shape}, layers=[\n  {inner}\n])"
