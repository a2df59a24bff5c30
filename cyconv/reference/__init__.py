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
from . import pointwise, windows

# Every public function of the two modules, importable from here: a kernel's twin is added to
# its module (and its __all__) only.
__all__ = windows.__all__ + pointwise.__all__
globals().update({name: getattr(module, name) for module in (windows, pointwise)
                  for name in module.__all__})
