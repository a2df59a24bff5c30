"""Max, average, min and global average pooling: no parameters, channels unchanged."""
from .. import functional as F
from .base import Layer


class _Pool2D(Layer):
    kind = None
    # The settings besides kernel_size, stride and padding, passed on to the kernel.
    option_keys = ()

    def forward(self, x, training=True):
        options = {key: self.settings[key] for key in self.option_keys}
        out, cache = F.pool2d_forward(x, kind=self.kind, kernel_size=self.kernel_size,
                                      stride=self.stride, padding=self.padding, layer=self.label,
                                      **options)
        self._cache = cache if training else None
        return out

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
