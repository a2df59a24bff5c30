"""Max, average, min and global average pooling: no parameters, channels unchanged."""
from .. import functional as F
from .base import Layer


class _Pool2D(Layer):
    kind = None

    def __init__(self, kernel_size, stride=None, padding=0, *, name=None):
        super().__init__(name)
        self._configure(kernel_size=kernel_size, stride=stride, padding=padding)

    def forward(self, x, training=True):
        out, cache = F.pool2d_forward(x, kind=self.kind, kernel_size=self.kernel_size,
                                      stride=self.stride, padding=self.padding, layer=self.label)
        self._cache = cache if training else None
        return out

    def backward(self, dout):
        return F.pool2d_backward(dout, self._forward_cache(), layer=self.label)


class MaxPool2D(_Pool2D):
    """The largest value of each window; backward sends the gradient to that pixel only
    (the first one in row-major order on a tie)."""
    type_name = "MaxPool2D"
    kind = "max"


class AvgPool2D(_Pool2D):
    """The mean of each window, dividing by the full window (padding counts as zeros)."""
    type_name = "AvgPool2D"
    kind = "avg"


class MinPool2D(_Pool2D):
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
