"""How much memory one dataset may take, checked from the sizes a file declares, before allocating.

A loader knows from a header (an IDX header, an image's width and height) how big its arrays
will be before it reads any pixel; ``check_memory`` compares that against ``memory_budget()``
so a damaged or hostile file gives one ``DataError`` line instead of a MemoryError traceback
(or the machine swapping) after gigabytes were read.

The budget is half of this computer's memory, at most 4 GiB (a full CIFAR-10 training set in
float32 is 0.6 GB), unless ``$CYCONV_MAX_DATA_BYTES`` sets it.
"""
import os

from .errors import DataError

ENV_MAX_BYTES = "CYCONV_MAX_DATA_BYTES"
DEFAULT_MAX_BYTES = 4 << 30
# A loader keeps the decoded uint8 pixels and makes float32 images from them: 1 + 4 bytes.
BYTES_PER_LOADED_PIXEL = 5


def _physical_memory():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not a POSIX system that reports it
        return None


def memory_budget():
    """The most bytes one dataset load may allocate (see the module docstring)."""
    text = os.environ.get(ENV_MAX_BYTES, "").strip()
    if text:
        if not text.isdigit() or int(text) < 1:
            raise DataError(f"${ENV_MAX_BYTES} is {text!r}; it must be a positive number of bytes")
        return int(text)
    physical = _physical_memory()
    return DEFAULT_MAX_BYTES if physical is None else min(DEFAULT_MAX_BYTES, physical // 2)


def _mib(nbytes):
    return f"{nbytes / (1 << 20):,.0f} MiB" if nbytes >= 1 << 20 else f"{nbytes:,} bytes"


def check_memory(where, what, nbytes, advice="load fewer examples (n=...)"):
    """DataError naming ``where`` (a file or folder) and ``what`` it declares past the budget."""
    budget = memory_budget()
    if nbytes > budget:
        raise DataError(
            f"{where}: {what} would take {_mib(nbytes)} of memory, more than the {_mib(budget)} "
            f"a dataset may use; {advice} or set ${ENV_MAX_BYTES}"
        )
