"""Every cyconv kernel again, in plain NumPy with explicit loops.

``windows``: padding, convolution and pooling; ``pointwise``: dense, activations, softmax,
losses, LRN and dropout. Every function is importable from ``cyconv.reference``.

This module has two readers:

* a student, who reads it next to the formulas of the course material: each function loops over
  output positions exactly as the formula is written, and its docstring gives the formula,
  the shapes and, for a backward pass, the derivation;
* the test suite, which uses it as the oracle the Cython kernels are compared against.

So it favours clarity over speed. Inside one output position the work is vectorised over the
batch and the channels (a dot product or a max over a small window), which keeps the loops
readable without making the tests slow.

Conventions (see docs/design.md):

* images are ``(N, C, H, W)``; conv weights ``(F, C, KH, KW)``; dense weights ``(out, in)``;
* ``pads`` is always ``(top, bottom, left, right)``; ``stride`` is ``(SH, SW)``;
* every result has the dtype of the input (float32 or float64);
* nothing here validates its inputs beyond what correctness needs: the validation with
  helpful messages lives in ``cyconv/functional.py``.
"""
from .pointwise import (dense_backward, dense_forward, dropout_backward, dropout_forward,
                        l1_loss, leaky_relu_backward, leaky_relu_forward, lrn_backward,
                        lrn_forward, mse_loss, relu_backward, relu_forward, sigmoid_backward,
                        sigmoid_forward, softmax_backward, softmax_cross_entropy,
                        softmax_forward, tanh_backward, tanh_forward)
from .windows import (PADDING_MODES, POOL_KINDS, conv2d_backward, conv2d_forward, pad,
                      pad_backward, pool2d_backward, pool2d_forward)

__all__ = ["PADDING_MODES", "POOL_KINDS", "conv2d_backward", "conv2d_forward",
           "dense_backward", "dense_forward", "dropout_backward", "dropout_forward", "l1_loss",
           "leaky_relu_backward", "leaky_relu_forward", "lrn_backward", "lrn_forward",
           "mse_loss", "pad", "pad_backward", "pool2d_backward", "pool2d_forward",
           "relu_backward", "relu_forward", "sigmoid_backward", "sigmoid_forward",
           "softmax_backward", "softmax_cross_entropy", "softmax_forward", "tanh_backward",
           "tanh_forward"]
