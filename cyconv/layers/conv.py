"""Conv2D: learned filters slid over the input."""
import numpy as np

from .. import functional as F
from .. import init as initializers
from .base import Layer


class Conv2D(Layer):
    """2-D convolution over NCHW input.

    ``W``: (out_channels, in_channels, KH, KW) — one filter per output channel, each spanning
    every input channel; ``b``: (out_channels,), one scalar per filter.
    Output size per axis: OH = (H + top + bottom − DH·(KH − 1) − 1)/SH + 1, floored;
    ``dilation`` D > 1 spreads the taps D pixels apart (a wider view, the same weights);
    ``groups`` G splits channels and filters into G groups, W (F, C/G, KH, KW) (G = C:
    depthwise, one filter per channel).
    """

    type_name = "Conv2D"
    builds_with = ("rng", "dtype")

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 padding_mode="zeros", bias=True, dilation=1, groups=1, *, name=None,
                 init=initializers.DEFAULT, rng=None, dtype=np.float32):
        super().__init__(name)
        self._configure(in_channels=in_channels, out_channels=out_channels,
                        kernel_size=kernel_size, stride=stride, padding=padding,
                        padding_mode=padding_mode, bias=bias, dilation=dilation, groups=groups)
        # Buffers reused from step to step (the im2col columns kept for backward): a layer's
        # cache only ever refers to its last forward pass, so one set is enough.
        self._workspace = {}
        rng = rng if rng is not None else np.random.default_rng(0)
        shape = (self.out_channels, self.in_channels // self.groups) + self.kernel_size
        self._new_param("W", initializers.initialize(init, shape, rng, dtype))
        if self.use_bias:
            self._new_param("b", initializers.initialize_bias(init, shape, rng, dtype))

    def forward(self, x, training=True):
        out, cache = F.conv2d_forward(
            x, self.params["W"], self.params.get("b"), stride=self.stride, padding=self.padding,
            padding_mode=self.padding_mode, workspace=self._workspace if training else None,
            layer=self.label, dilation=self.dilation, groups=self.groups)
        self._cache = cache if training else None
        return out

    def backward(self, dout, need_dx=True):
        dx, dw, db = F.conv2d_backward(dout, self._forward_cache(), need_dx=need_dx,
                                       layer=self.label)
        self._store_weight_grads(dw, db)
        return dx
