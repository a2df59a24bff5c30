# Design: reports how the kernels were compiled, so CI can prove that its second run really
# uses the bounds-checked build. Computes nothing; no parallelism.
cdef extern from *:
    """
    #ifndef CYCONV_DEBUG_BUILD
    #define CYCONV_DEBUG_BUILD 0
    #endif
    """
    int CYCONV_DEBUG_BUILD


def debug_build():
    """True when built with CYCONV_DEBUG_CYTHON=1 (bounds and wraparound checks on)."""
    return bool(CYCONV_DEBUG_BUILD)
