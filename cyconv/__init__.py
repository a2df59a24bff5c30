"""cyconv: a CNN engine for teaching, with Cython kernels and hand-written backprop.

>>> import cyconv
>>> model = cyconv.presets.build("mnist_cnn")
>>> model.count_params()
38390

The submodules load when first used (``cyconv.layers``, ``cyconv.Sequential`` ...), so
``import cyconv.shapes`` or ``import cyconv.schema`` stays pure Python and loads no kernel.
"""
import importlib
import os

# libgomp reads this once, when the first OpenMP extension loads. Its default spin-wait next
# to OpenBLAS made a convolution ~150x slower on 2 cores, so PASSIVE is the default here;
# a user who sets it explicitly keeps their value.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from ._memory import keep_freed_memory, malloc_tuning  # noqa: E402

keep_freed_memory()   # see _memory.py: a quarter of a small step was page faults without it

from ._threads import get_num_threads, set_num_threads  # noqa: E402

__version__ = "0.2.0"
_SUBMODULES = ("functional", "gradcheck", "init", "layers", "losses", "optim", "presets",
               "schema", "shapes")
_FROM_SUBMODULES = {"Sequential": "model", "debug_build": "functional"}
__all__ = ["Sequential", "debug_build", "functional", "get_num_threads", "gradcheck", "init",
           "layers", "losses", "malloc_tuning", "optim", "presets", "schema",
           "set_num_threads", "shapes", "__version__"]


def __getattr__(name):
    # PEP 562: the kernels load with the first attribute that needs them, not with the package.
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _FROM_SUBMODULES:
        module = importlib.import_module(f"{__name__}.{_FROM_SUBMODULES[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
