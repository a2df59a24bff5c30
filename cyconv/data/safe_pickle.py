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

Bounded, not only inert: a pickle can refer again and again to one object it built before
(the memo), so a few kilobytes of references to references describe a structure with more
elements than there are atoms. What a pickle may build is therefore budgeted
(``PickleBudget``): the opcodes are counted before anything is built (``pickletools.genops``,
about 0.2 s per million); the stand-ins that copy bytes copy each distinct object once, so
reusing one string a thousand times costs one copy; and the size of the plain-data result,
with every use of a shared object counted again, is measured in one pass over the distinct
objects before it is expanded. Past any limit: ``UnpicklingError``.
"""
import io
import pickle
import pickletools
from typing import NamedTuple

import numpy as np

# Plain numeric dtypes only: no object arrays (they would need pickled Python objects).
_ALLOWED_DTYPES = frozenset(
    {"b1", "u1", "i1", "u2", "i2", "u4", "i4", "u8", "i8", "f2", "f4", "f8"}
)
_BYTE_ORDERS = {"|": "|", "=": "=", "<": "<", ">": ">"}


class PickleBudget(NamedTuple):
    """What one pickle may build. A CIFAR-10 batch needs about 90,000 items and 31 MB."""

    max_items: int = 2_000_000       # opcodes; and values in the result, each use counted
    max_bytes: int = 256 << 20       # bytes of strings, bytes and arrays, each use counted
    max_depth: int = 8               # containers inside containers


DEFAULT_BUDGET = PickleBudget()


class _Meter:
    """Counts what one load builds against its budget; refuses the moment it is exceeded."""

    def __init__(self, budget):
        self.budget = budget
        self.bytes = 0
        self._copies = {}   # id(source) -> (source, its copy); the source is kept alive

    def copy_once(self, source, convert):
        """``convert(source)``, made once per distinct source however often it is reused."""
        known = self._copies.get(id(source))
        if known is not None:
            return known[1]
        self.spend_bytes(memoryview(source).nbytes if not isinstance(source, str) else len(source))
        copy = convert(source)
        self._copies[id(source)] = (source, copy)
        return copy

    def spend_bytes(self, count):
        self.bytes += count
        if self.bytes > self.budget.max_bytes:
            raise self.too_many_bytes()

    def too_many_bytes(self):
        return pickle.UnpicklingError(
            f"the pickle would build more than {self.budget.max_bytes} bytes of data (each use "
            "of a shared object counted); refusing it"
        )

    def too_many_items(self, what):
        return pickle.UnpicklingError(
            f"the pickle would build more than {self.budget.max_items} {what} (each use of a "
            "shared object counted); a data file never needs that many"
        )


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
        count = 1
        for d in shape:  # Python ints: np.prod would wrap around for a forged shape
            count *= d
        if count * dtype.itemsize != len(self.raw):
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


def _frombuffer(meter, buffer, dtype, shape, order):
    if not isinstance(buffer, (bytes, bytearray, pickle.PickleBuffer)):
        raise pickle.UnpicklingError("_frombuffer needs a bytes buffer")
    recipe = _ArrayRecipe(shape=tuple(shape), dtype=dtype, raw=meter.copy_once(buffer, bytes),
                          fortran=_text(order, "order") == "F")
    return recipe


def _codecs_encode(meter, text, encoding="utf-8"):
    # Python 3 pickles bytes in protocol 2 as _codecs.encode(<latin-1 str>, "latin1").
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("only _codecs.encode(str, 'latin1') is allowed")
    return meter.copy_once(text, lambda value: value.encode("latin1"))


_STAND_INS = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _DtypeRecipe,
}
# Stand-ins that copy data: they are handed the load's meter so every copy is counted.
_METERED_STAND_INS = {
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("_codecs", "encode"): _codecs_encode,
}


class SafeUnpickler(pickle.Unpickler):
    """An Unpickler whose ``find_class`` returns only this module's inert stand-ins."""

    def __init__(self, file, *, meter=None, **options):
        super().__init__(file, **options)
        self._meter = _Meter(DEFAULT_BUDGET) if meter is None else meter

    def find_class(self, module, name):
        metered = _METERED_STAND_INS.get((module, name))
        if metered is not None:
            return lambda *args: metered(self._meter, *args)
        try:
            return _STAND_INS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"the pickle asks for {module}.{name}, which a data file has no reason to "
                "use; refusing to load it"
            ) from None

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("persistent references are not allowed")


def _check_opcodes(data, meter):
    """Count the opcodes (each memo reuse among them) and the literal bytes, before any is run."""
    budget = meter.budget
    try:
        for count, (_, argument, _) in enumerate(pickletools.genops(data), start=1):
            if count > budget.max_items:
                raise meter.too_many_items("opcodes")
            if isinstance(argument, (bytes, str)):
                meter.spend_bytes(len(argument))
    except ValueError as exc:  # genops' word for an unknown opcode or a truncated file
        raise pickle.UnpicklingError(f"malformed pickle ({exc}; truncated or damaged?)") from None


def _children(value):
    if isinstance(value, dict):
        return [*value.keys(), *value.values()]
    if isinstance(value, (list, tuple)):
        return value
    return ()


def _leaf_bytes(value):
    if isinstance(value, _ArrayRecipe):
        return len(value.raw) if isinstance(value.raw, (bytes, bytearray)) else 0
    if isinstance(value, (bytes, bytearray, str)):
        return len(value)
    return 0


def _measure(root, meter):
    """Refuse ``root`` if expanding it (as ``_materialise`` does) would exceed the budget.

    Each distinct object is measured once and its size reused for every further reference
    to it, so the pass is linear in the pickle even when the expansion is astronomically big.
    """
    budget = meter.budget
    sizes = {}          # id(object) -> (items, bytes, height) of its expansion
    open_ids = set()    # containers being measured: meeting one again is a cycle

    def check_depth(depth):
        if depth > budget.max_depth:
            raise pickle.UnpicklingError(
                f"the pickle nests containers more than {budget.max_depth} deep; a data file "
                "is a few flat lists and arrays")

    def measure(value, depth):
        check_depth(depth)
        key = id(value)
        if key in sizes:
            items, nbytes, height = sizes[key]
            check_depth(depth + height)  # the same object may be reused deeper down
            return items, nbytes, height
        if key in open_ids:
            raise pickle.UnpicklingError("the pickle contains itself (a cycle); refusing it")
        open_ids.add(key)
        items, nbytes, height = 1, _leaf_bytes(value), 0
        for child in _children(value):
            child_items, child_bytes, child_height = measure(child, depth + 1)
            items, nbytes = items + child_items, nbytes + child_bytes
            height = max(height, child_height + 1)
            if items > budget.max_items:
                raise meter.too_many_items("values")
            if meter.bytes + nbytes > budget.max_bytes:
                raise meter.too_many_bytes()
        open_ids.discard(key)
        sizes[key] = (items, nbytes, height)
        return sizes[key]

    measure(root, 0)


def _materialise(value):
    """Replace every _ArrayRecipe inside dicts/lists/tuples by its array (``_measure`` first)."""
    if isinstance(value, _ArrayRecipe):
        return value.build()
    if isinstance(value, dict):
        return {k: _materialise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_materialise(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_materialise(v) for v in value)
    if isinstance(value, (_DtypeRecipe, _NdarrayMarker)):
        raise pickle.UnpicklingError("a stray numpy dtype or class in the data")
    return value


def safe_loads(data, budget=DEFAULT_BUDGET):
    """Unpickle ``data`` (bytes) allowing plain data and numeric NumPy arrays only.

    Python 2 strings come back as ``bytes`` (``encoding="bytes"``), as in CIFAR-10's keys
    (``b"data"``, ``b"labels"``). ``budget`` bounds what the pickle may build. Raises
    ``pickle.UnpicklingError`` on anything else and on anything over the budget.
    """
    meter = _Meter(budget)
    if len(data) > budget.max_bytes:
        raise pickle.UnpicklingError(
            f"the pickle is {len(data)} bytes, more than the {budget.max_bytes} bytes of data "
            "one load may build")
    unpickler = SafeUnpickler(io.BytesIO(data), meter=meter, encoding="bytes")
    try:
        _check_opcodes(data, meter)
        result = unpickler.load()
        _measure(result, meter)
        return _materialise(result)
    except pickle.UnpicklingError:
        raise
    except (EOFError, ValueError, TypeError, KeyError, IndexError, AttributeError,
            OverflowError, MemoryError, UnicodeDecodeError) as exc:
        raise pickle.UnpicklingError(f"malformed pickle ({type(exc).__name__}: {exc})") from None
