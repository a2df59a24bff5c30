"""Max, average, min and global average pooling: no parameters, channels unchanged."""
from .. import functional as F
from .base import Layer, RanFused


class _Pool2D(Layer):
    kind = None
    # The settings besides kernel_size, stride and padding, passed on to the kernel.
    option_keys = ()

    def forward(self, x, training=True):
        out, cache = F.pool2d_forward(x, kind=self.kind, **self._kernel_settings(training))
        self._cache = cache if training else None
        return out

    def _kernel_settings(self, training):
        # A training pass keeps its max/min indices in the layer's own buffer, step after
        # step; an inference pass (possibly another thread's) gets new ones.
        settings = self.settings
        options = {key: settings[key] for key in self.option_keys}
        workspace = self.__dict__.setdefault("_workspace", {}) if training else None
        return dict(kernel_size=self.kernel_size, stride=self.stride, padding=self.padding,
                    layer=self.label, workspace=workspace, **options)

    def backward(self, dout):
        return F.pool2d_backward(dout, self._forward_cache(), layer=self.label)


class _ExtremePool2D(_Pool2D):
    option_keys = ("dilation", "ceil_mode")

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, *,
                 name=None):
        super().__init__(name)
        self._configure(kernel_size=kernel_size, stride=stride, padding=padding,
                        dilation=dilation, ceil_mode=ceil_mode)


class MaxPool2D(_ExtremePool2D):
    """The largest value of each window; backward sends the gradient to that pixel only
    (the first one in row-major order on a tie). ``dilation`` D spreads the window's taps D
    pixels apart; ``ceil_mode`` keeps a partial last window."""
    type_name = "MaxPool2D"
    kind = "max"

    def forward_after_relu(self, x, relu, training=True):
        """This pooling of ``relu``'s output for its input x, in one kernel pass (see
        :mod:`cyconv.layers.fusion`); both layers' caches then name the pair."""
        settings = self._kernel_settings(training)
        out, cache = F.relu_max_pool2d_forward(x, **settings)
        pair = f"{relu.label} → {settings['layer']}"
        self._cache = RanFused(pair, cache) if training else None
        relu._cache = RanFused(pair) if training else None
        return out

    def ran_fused(self):
        """Whether the last training forward pass was :meth:`forward_after_relu`."""
        return isinstance(self._cache, RanFused) and self._cache.cache is not None

    def backward_through_relu(self, dout):
        """dL/dx of the fused pair for the ReLU's input x (after :meth:`forward_after_relu`)."""
        if not self.ran_fused():
            raise RuntimeError(f"{self.label}: backward_through_relu() needs a fused training forward "
                               f"pass (forward_after_relu) first")
        return F.pool2d_backward(dout, self._cache.cache, layer=self.label)


class AvgPool2D(_Pool2D):
    """The mean of each window, dividing by the full window (padding counts as zeros), or,
    with ``count_include_pad=False``, by the window's pixels inside the input."""
    type_name = "AvgPool2D"
    kind = "avg"
    option_keys = ("ceil_mode", "count_include_pad")

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, *, name=None):
        super().__init__(name)
        self._configure(kernel_size=kernel_size, stride=stride, padding=padding,
                        ceil_mode=ceil_mode, count_include_pad=count_include_pad)


class MinPool2D(_ExtremePool2D):
    """The smallest value of each window, the mirror image of max pooling."""
    type_name = "MinPool2D"
    kind = "min"


class GlobalAvgPool2D(Layer):
    """The mean of each channel's whole map, (N, C, H, W) → (N, C): a classifier head that
    needs no Flatten and no weights, whatever the image size (ResNet's last pooling)."""
    type_name = "GlobalAvgPool2D"

    def __init__(self, *, name=None):
        super().__init__(name)
        self._configure()

    def forward(self, x, training=True):
        out, cache = F.global_avg_pool_forward(x, layer=self.label)
        self._cache = cache if training else None
        return out

    def backward(self, dout):
        return F.global_avg_pool_backward(dout, self._forward_cache(), layer=self.label)
