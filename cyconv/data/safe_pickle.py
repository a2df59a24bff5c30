"""Read CIFAR-10's pickled batches without letting the file run any code.

Why not ``pickle.load``: a pickle is a small program. Its GLOBAL/STACK_GLOBAL opcodes import
any callable by name and REDUCE calls it with arguments from the file, so a "dataset" found
on a USB stick or a web page can run ``os.system("...")`` the moment it is loaded.
``pickle.load`` is only safe on files you made yourself.

What this module does instead: ``pickle.Unpickler.find_class`` is the single place where a
pickle obtains a callable. ``SafeUnpickler.find_class`` never returns anything from the
named module. For the handful of names a NumPy array's pickle refers to, it returns inert
stand-ins defined below, which only *record* their arguments and check them; every other
name raises ``UnpicklingError``. The result is plain data (dict, list, str, bytes, int,
float, bool, None, tuple) plus ``_ArrayRecipe`` records, which ``safe_load`` turns into
arrays with ``numpy.frombuffer`` after checking dtype, shape and byte count. So nothing in
the file is ever executed: no numpy function, no builtin, no import.

Names handled (all that CIFAR-10's Python 2 pickles and NumPy's own pickles of plain arrays
use): ``numpy.core.multiarray._reconstruct`` / ``numpy._core.multiarray._reconstruct``
(ndarray, protocols 2-4), ``numpy.ndarray`` (its argument), ``numpy.dtype``,
``numpy.core.numeric._frombuffer`` / ``numpy._core.numeric._frombuffer`` (protocol 5) and
``_codecs.encode`` (how Python 3 writes bytes in protocol 2).
"""
import io
import pickle

import numpy as np

# Plain numeric dtypes only: no object arrays (they would need pickled Python objects).
_ALLOWED_DTYPES = frozenset(
    {"b1", "u1", "i1", "u2", "i2", "u4", "i4", "u8", "i8", "f2", "f4", "f8"}
)
_BYTE_ORDERS = {"|": "|", "=": "=", "<": "<", ">": ">"}
MAX_ARRAY_BYTES = 1 << 30


def _text(value, what):
    if isinstance(value, bytes):
        return value.decode("latin1")
    if isinstance(value, str):
        return value
    raise pickle.UnpicklingError(f"{what} must be a string, got {type(value).__name__}")


class _NdarrayMarker:
    """Stands for ``numpy.ndarray`` where a pickle passes the class as an argument."""


_NDARRAY = _NdarrayMarker()


class _DtypeRecipe:
    """Records ``numpy.dtype(code, align, copy)`` and its state; ``resolve()`` checks it."""

    def __init__(self, code, align=False, copy=True):
        code = _text(code, "dtype code")
        if code not in _ALLOWED_DTYPES:
            raise pickle.UnpicklingError(f"dtype {code!r} is not a plain numeric dtype")
        self.code = code
        self.byteorder = "|"

    def __setstate__(self, state):
        if not isinstance(state, tuple) or len(state) < 2:
            raise pickle.UnpicklingError("unexpected dtype state in the pickle")
        order = _text(state[1], "dtype byte order")
        if order not in _BYTE_ORDERS:
            raise pickle.UnpicklingError(f"unexpected dtype byte order {order!r}")
        if any(field is not None for field in state[2:5]):
            raise pickle.UnpicklingError("structured dtypes are not allowed")
        self.byteorder = order

    def resolve(self):
        order = "" if self.byteorder == "|" else self.byteorder
        return np.dtype(order + self.code)


class _ArrayRecipe:
    """Records an ndarray's shape, dtype and raw bytes; ``build()`` makes the array."""

    def __init__(self, shape=None, dtype=None, raw=None, fortran=False):
        self.shape, self.dtype, self.raw, self.fortran = shape, dtype, raw, fortran

    def __setstate__(self, state):
        # ndarray.__reduce__ state: (version, shape, dtype, is_fortran, raw bytes)
        if not isinstance(state, tuple) or len(state) != 5:
            raise pickle.UnpicklingError("unexpected ndarray state in the pickle")
        _version, self.shape, self.dtype, self.fortran, self.raw = state

    def build(self):
        if not isinstance(self.dtype, _DtypeRecipe):
            raise pickle.UnpicklingError("array without a plain numeric dtype")
        if not isinstance(self.raw, (bytes, bytearray)):
            raise pickle.UnpicklingError("array data must be raw bytes")
        shape = self.shape
        if not isinstance(shape, tuple) or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise pickle.UnpicklingError(f"invalid array shape {shape!r}")
        dtype = self.dtype.resolve()
        count = int(np.prod(shape, dtype=np.int64))
        if count * dtype.itemsize > MAX_ARRAY_BYTES or count * dtype.itemsize != len(self.raw):
            raise pickle.UnpicklingError(
                f"array shape {shape} of {dtype} needs {count * dtype.itemsize} bytes, "
                f"the pickle holds {len(self.raw)}"
            )
        order = "F" if self.fortran else "C"
        return np.frombuffer(self.raw, dtype=dtype).reshape(shape, order=order)


def _reconstruct(cls, shape, typecode):
    if cls is not _NDARRAY:
        raise pickle.UnpicklingError("_reconstruct may only rebuild a plain numpy.ndarray")
    return _ArrayRecipe()


def _frombuffer(buffer, dtype, shape, order):
    recipe = _ArrayRecipe(shape=tuple(shape), dtype=dtype, raw=bytes(buffer),
                          fortran=_text(order, "order") == "F")
    return recipe


def _codecs_encode(text, encoding="utf-8"):
    # Python 3 pickles bytes in protocol 2 as _codecs.encode(<latin-1 str>, "latin1").
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("only _codecs.encode(str, 'latin1') is allowed")
    return text.encode("latin1")


_STAND_INS = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _DtypeRecipe,
    ("_codecs", "encode"): _codecs_encode,
}


class SafeUnpickler(pickle.Unpickler):
    """An Unpickler whose ``find_class`` returns only this module's inert stand-ins."""

    def find_class(self, module, name):
        try:
            return _STAND_INS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"the pickle asks for {module}.{name}, which a data file has no reason to "
                "use; refusing to load it"
            ) from None

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("persistent references are not allowed")


def _materialise(value, depth=0):
    """Replace every _ArrayRecipe inside dicts/lists/tuples by its array."""
    if depth > 8:
        raise pickle.UnpicklingError("the pickle is nested too deeply for a data file")
    if isinstance(value, _ArrayRecipe):
        return value.build()
    if isinstance(value, dict):
        return {k: _materialise(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_materialise(v, depth + 1) for v in value]
    if isinstance(value, tuple):
        return tuple(_materialise(v, depth + 1) for v in value)
    if isinstance(value, (_DtypeRecipe, _NdarrayMarker)):
        raise pickle.UnpicklingError("a stray numpy dtype or class in the data")
    return value


def safe_loads(data):
    """Unpickle ``data`` (bytes) allowing plain data and numeric NumPy arrays only.

    Python 2 strings come back as ``bytes`` (``encoding="bytes"``), as in CIFAR-10's keys
    (``b"data"``, ``b"labels"``). Raises ``pickle.UnpicklingError`` on anything else.
    """
    unpickler = SafeUnpickler(io.BytesIO(data), encoding="bytes")
    try:
        return _materialise(unpickler.load())
    except pickle.UnpicklingError:
        raise
    except (EOFError, ValueError, TypeError, KeyError, IndexError, AttributeError,
            OverflowError, MemoryError, UnicodeDecodeError) as exc:
        raise pickle.UnpicklingError(f"malformed pickle ({type(exc).__name__}: {exc})") from None
