"""One converter per torch.nn module type, for torch_import.

Modules are recognised by their exact class (a subclass may compute something else in its
forward) or, for TorchScript, by the qualified name of the scripted class.
"""
import numpy as np

from .. import shapes
from .common import ImportedLayer, ModelImportError, check_size, padding_value

__all__ = ["convert_modules", "module_kind", "SUPPORTED_MODULES"]

_PADS = {"ZeroPad2d": "zeros", "ConstantPad2d": "zeros", "ReflectionPad2d": "reflect",
         "ReplicationPad2d": "replicate", "CircularPad2d": "circular"}
SUPPORTED_MODULES = ("Conv2d", *_PADS, "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d",
                     "AdaptiveMaxPool2d", "Linear", "Flatten", "ReLU", "LeakyReLU", "Sigmoid",
                     "Tanh", "Softmax", "Dropout", "LocalResponseNorm", "Identity", "Sequential",
                     "BatchNorm1d", "BatchNorm2d")
_NOT_YET = {name: "cyconv has batch norm for images (BatchNorm2d) and vectors (BatchNorm1d) "
                  "only" for name in ("BatchNorm3d", "SyncBatchNorm")}
_NOT_YET["LogSoftmax"] = ("cyconv has no LogSoftmax layer: leave it out (cyconv's loss applies "
                          "the softmax itself, and the predicted class is the same)")
_SCRIPT_PREFIX = "__torch__.torch.nn.modules."
_CYCONV_MIN_POOL = ("cyconv.export", "_min_pool_class.<locals>.MinPool2d")


def module_kind(torch, module):
    """The torch.nn class name of ``module`` ("Conv2d", ...), "MinPool2d" for cyconv's own,
    or None for anything else (a custom or subclassed module)."""
    if isinstance(module, torch.jit.ScriptModule):
        qualified = module._c._type().qualified_name()
        if qualified.startswith(_SCRIPT_PREFIX):
            return module.original_name
        return "MinPool2d" if qualified == "__torch__.cyconv.export.MinPool2d" else None
    cls = type(module)
    if cls.__module__.startswith("torch.nn.modules.") and getattr(torch.nn, cls.__name__,
                                                                  None) is cls:
        return cls.__name__
    return "MinPool2d" if (cls.__module__, cls.__qualname__) == _CYCONV_MIN_POOL else None


def _pair(value):
    return (int(value), int(value)) if isinstance(value, (int, np.integer)) else \
        tuple(int(v) for v in value)


class _Converter:
    """Walks the leaf modules in order, tracking the shape between them."""

    def __init__(self, torch, input_shape, where):
        self.torch, self.shape, self.where = torch, input_shape, where
        self.layers = []
        self.pending_pad = None          # (name, mode, (top, bottom, left, right))
        self._handlers = {
            "Conv2d": self._conv, **{kind: self._pad for kind in _PADS},
            "MaxPool2d": self._pool, "AvgPool2d": self._pool, "MinPool2d": self._pool,
            "AdaptiveAvgPool2d": self._adaptive_pool, "AdaptiveMaxPool2d": self._adaptive_pool,
            "Linear": self._linear, "Flatten": self._flatten, "Softmax": self._softmax,
            "ReLU": self._simple, "Sigmoid": self._simple, "Tanh": self._simple,
            "LeakyReLU": self._leaky_relu, "Dropout": self._dropout,
            "LocalResponseNorm": self._lrn, "Identity": lambda name, module, kind: None,
            "BatchNorm1d": self._batchnorm, "BatchNorm2d": self._batchnorm,
        }

    def fail(self, name, kind, message):
        raise ModelImportError(f"{self.where}: module {name!r} ({kind}): {message}")

    def run(self, leaves):
        for name, module in leaves:
            kind = module_kind(self.torch, module)
            if self.pending_pad is not None and kind != "Conv2d":
                pad_name, _, _ = self.pending_pad
                self.fail(pad_name, "padding", "cyconv imports a padding module only right "
                                               "before the Conv2d it pads")
            handler = self._handlers.get(kind)
            if handler is None:
                shown = kind or type(module).__name__
                reason = _NOT_YET.get(shown, f"not supported; cyconv imports "
                                             f"{', '.join(SUPPORTED_MODULES)}")
                self.fail(name, shown, reason)
            handler(name, module, kind)
        if self.pending_pad is not None:
            self.fail(self.pending_pad[0], "padding", "the model ends in a padding module; "
                                                      "cyconv pads only before a Conv2d")
        return self.layers

    # -- helpers -----------------------------------------------------------------------------
    def _array(self, name, kind, tensor):
        if not tensor.is_floating_point():
            self.fail(name, kind, f"its weights are {tensor.dtype}; cyconv needs floats")
        array = tensor.detach().to("cpu", self.torch.float32).numpy().copy()
        if not np.all(np.isfinite(array)):
            self.fail(name, kind, "its weights hold NaN or infinite values")
        return array

    def _add(self, name, kind, config, params=None):
        try:
            self.shape = shapes.output_shape(config, self.shape)
        except (ValueError, TypeError) as error:
            self.fail(name, kind, f"as a cyconv {config['type']} on input {self.shape}: {error}")
        check_size(self.shape, f"{self.where}: module {name!r} ({kind}): its output")
        self.layers.append(ImportedLayer(config=config, params=params or {}, source_name=name))

    def _weights(self, name, kind, module):
        params = {"W": self._array(name, kind, module.weight)}
        if module.bias is not None:
            params["b"] = self._array(name, kind, module.bias)
        return params

    # -- convolution and padding -------------------------------------------------------------
    def _pad(self, name, module, kind):
        left, right, top, bottom = (int(v) for v in module.padding)    # torch's order
        if min(left, right, top, bottom) < 0:
            self.fail(name, kind, f"negative padding {module.padding} (cropping) is not supported")
        if kind == "ConstantPad2d" and float(module.value) != 0:
            self.fail(name, kind, f"pads with {module.value}; cyconv pads with zeros")
        self.pending_pad = (name, _PADS[kind], (top, bottom, left, right))

    def _conv_padding(self, name, kind, module):
        kernel = _pair(module.kernel_size)
        if module.padding == "valid":
            return (0, 0, 0, 0)
        if module.padding == "same":        # stride 1 only, extra pixel at the bottom/right
            # A dilated kernel spans D·(K − 1) + 1 pixels.
            (kh, kw) = (d * (k - 1) + 1 for d, k in zip(_pair(module.dilation), kernel))
            return ((kh - 1) // 2, kh - 1 - (kh - 1) // 2, (kw - 1) // 2, kw - 1 - (kw - 1) // 2)
        ph, pw = _pair(module.padding)
        return (ph, ph, pw, pw)

    def _conv(self, name, module, kind):
        tblr, mode = self._conv_padding(name, kind, module), module.padding_mode
        if self.pending_pad is not None:
            pad_name, pad_mode, pad_tblr = self.pending_pad
            self.pending_pad = None
            if any(tblr) and (pad_mode != "zeros" or mode != "zeros"):
                self.fail(name, kind, f"pads again after {pad_name!r} ({pad_mode}); cyconv has "
                                      f"one padding per convolution")
            mode = pad_mode if not any(tblr) else mode
            tblr = tuple(a + b for a, b in zip(tblr, pad_tblr))
        config = {"type": "Conv2D", "in_channels": module.in_channels,
                  "out_channels": module.out_channels, "kernel_size": list(_pair(module.kernel_size)),
                  "stride": list(_pair(module.stride)), "padding": padding_value(tblr),
                  "padding_mode": mode, "bias": module.bias is not None,
                  "dilation": list(_pair(module.dilation)), "groups": int(module.groups)}
        self._add(name, kind, config, self._weights(name, kind, module))

    # -- pooling -----------------------------------------------------------------------------
    def _pool(self, name, module, kind):
        if kind == "MaxPool2d" and module.return_indices:
            self.fail(name, kind, "return_indices is not supported")
        padding = _pair(module.padding)
        options = {"ceil_mode": bool(getattr(module, "ceil_mode", False))}
        if kind == "AvgPool2d":
            if module.divisor_override is not None:
                self.fail(name, kind, "divisor_override is not supported")
            options["count_include_pad"] = bool(module.count_include_pad)
        else:
            options["dilation"] = list(_pair(getattr(module, "dilation", 1)))
        kernel = _pair(module.kernel_size)
        stride = _pair(module.stride) if module.stride is not None else kernel
        cyconv_kind = {"MaxPool2d": "MaxPool2D", "AvgPool2d": "AvgPool2D",
                       "MinPool2d": "MinPool2D"}[kind]
        self._add(name, kind, {"type": cyconv_kind, "kernel_size": list(kernel),
                               "stride": list(stride), "padding": list(padding), **options})

    def _adaptive_pool(self, name, module, kind):
        """An adaptive pool whose output size divides the input is a plain pool with window
        and stride input/output; any other size has windows of varying size."""
        if len(self.shape) != 3:
            self.fail(name, kind, f"needs a (C, H, W) input, got {self.shape}")
        if getattr(module, "return_indices", False):
            self.fail(name, kind, "return_indices is not supported")
        wanted = module.output_size if isinstance(module.output_size, (tuple, list)) else \
            (module.output_size, module.output_size)
        sizes = self.shape[1:]
        outputs = [size if out is None else int(out) for size, out in zip(sizes, wanted)]
        if any(out < 1 or size % out for size, out in zip(sizes, outputs)):
            self.fail(name, kind, f"output size {tuple(outputs)} does not divide the input "
                                  f"{sizes}: cyconv's pools have one window size")
        window = [size // out for size, out in zip(sizes, outputs)]
        cyconv_kind = "AvgPool2D" if kind == "AdaptiveAvgPool2d" else "MaxPool2D"
        self._add(name, kind, {"type": cyconv_kind, "kernel_size": window, "stride": window,
                               "padding": [0, 0]})

    # -- the rest ----------------------------------------------------------------------------
    def _linear(self, name, module, kind):
        config = {"type": "Dense", "in_features": module.in_features,
                  "out_features": module.out_features, "bias": module.bias is not None}
        self._add(name, kind, config, self._weights(name, kind, module))

    def _flatten(self, name, module, kind):
        last = len(self.shape)
        if module.start_dim != 1 or module.end_dim not in (-1, last):
            self.fail(name, kind, f"Flatten({module.start_dim}, {module.end_dim}) is not "
                                  f"supported: cyconv flattens everything but the batch axis "
                                  f"(start_dim 1, end_dim -1)")
        self._add(name, kind, {"type": "Flatten"})

    def _softmax(self, name, module, kind):
        if len(self.shape) != 1 or module.dim not in (None, 1, -1):
            self.fail(name, kind, f"Softmax(dim={module.dim}) on (N, "
                                  f"{', '.join(map(str, self.shape))}): cyconv's Softmax runs "
                                  f"over the class scores of (N, K)")
        self._add(name, kind, {"type": "Softmax"})

    def _simple(self, name, module, kind):
        self._add(name, kind, {"type": kind})

    def _leaky_relu(self, name, module, kind):
        self._add(name, kind, {"type": "LeakyReLU", "negative_slope": float(module.negative_slope)})

    def _dropout(self, name, module, kind):
        if not 0 <= module.p < 1:
            self.fail(name, kind, f"p={module.p}: cyconv's Dropout needs 0 ≤ p < 1")
        self._add(name, kind, {"type": "Dropout", "p": float(module.p)})

    def _lrn(self, name, module, kind):
        self._add(name, kind, {"type": "LRN", "size": int(module.size), "alpha": float(module.alpha),
                               "beta": float(module.beta), "k": float(module.k)})


    def _batchnorm(self, name, module, kind):
        if not (module.affine and module.track_running_stats):
            self.fail(name, kind, "cyconv's batch norm has gamma/beta and running statistics "
                                  "(affine=True, track_running_stats=True)")
        momentum = 0.1 if module.momentum is None else float(module.momentum)
        params = {"gamma": self._array(name, kind, module.weight),
                  "beta": self._array(name, kind, module.bias),
                  "running_mean": self._array(name, kind, module.running_mean),
                  "running_var": self._array(name, kind, module.running_var)}
        self._add(name, kind, {"type": "BatchNorm2D" if kind == "BatchNorm2d" else "BatchNorm1D",
                               "num_features": int(module.num_features),
                               "eps": float(module.eps), "momentum": momentum}, params)


def convert_modules(torch, leaves, input_shape, where):
    """[ImportedLayer] for the (name, module) leaves of a Sequential on ``input_shape``."""
    return _Converter(torch, input_shape, where).run(leaves)
