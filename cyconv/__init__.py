"""cyconv: a CNN engine for teaching, with Cython kernels and hand-written backprop.

>>> import cyconv
>>> model = cyconv.presets.build("mnist_cnn")
>>> model.count_params()
38390
"""
import os

# libgomp reads this once, when the first OpenMP extension loads. Its default spin-wait next
# to OpenBLAS made a convolution ~150x slower on 2 cores, so PASSIVE is the default here;
# a user who sets it explicitly keeps their value.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from ._memory import keep_freed_memory, malloc_tuning  # noqa: E402

keep_freed_memory()   # see _memory.py: a quarter of a small step was page faults without it

from ._threads import get_num_threads, set_num_threads  # noqa: E402
from . import functional, gradcheck, init, layers, losses, optim, presets, shapes  # noqa: E402
from .functional import debug_build  # noqa: E402
from .model import Sequential  # noqa: E402

__version__ = "0.1.0"
__all__ = ["Sequential", "debug_build", "functional", "get_num_threads", "gradcheck", "init", "layers",
           "losses", "malloc_tuning", "optim", "presets", "set_num_threads", "shapes",
           "__version__"]
