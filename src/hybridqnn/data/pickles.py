"""Bounded, allow-listed unpickling of data files (CIFAR-10 batches, Planetoid graphs).

Unpickling runs whatever callable a pickle names, and even NumPy's own reconstruction trusts
the pickle: ``numpy.ndarray(shape)`` allocates any declared shape uninitialised, and
``ndarray.__setstate__`` with an object dtype and a short list crashes the process. So
:class:`SafeUnpickler` never hands a pickle a NumPy callable. The globals a data pickle may name
resolve to stand-ins that only *record* what the pickle declares:

* ``numpy.core.multiarray._reconstruct(numpy.ndarray, shape, dtype)`` (and the
  ``numpy._core`` spelling) returns an :class:`_ArraySpec`, whose ``__setstate__`` (the
  pickle's ``BUILD``) checks the state ``(version, shape, dtype, fortran, raw bytes)``: a plain
  numeric dtype, a shape of non-negative integers, ``prod(shape) * itemsize`` equal to the bytes
  actually present (so no array can be bigger than the file) and within
  :attr:`~hybridqnn.data.limits.DataLimits.max_array_bytes`;
* ``numpy.dtype(spec, align, copy)`` accepts only ``b1``, ``i``/``u`` 1-8 and ``f`` 4/8 codes;
* ``numpy.ndarray`` is a marker that refuses to be called;
* ``_codecs.encode`` is restricted to latin-1 (Python 3 protocol-2 pickles store bytes so);
* a caller may allow more (Planetoid adds ``scipy.sparse.csr_matrix`` records and
  ``collections.defaultdict(list)``).

Every other global raises :class:`UnsafePickleError`. The file is read whole (its size checked
against ``max_file_bytes`` first) and unpickled from memory, so a declared 2^40-byte string
fails as "truncated" instead of allocating. After loading, :func:`materialize` walks the result
without recursion, checks every type against an allow-list and swaps each :class:`_ArraySpec`
for its array (a copy of the checked bytes).
"""

from __future__ import annotations

import codecs
import collections
import io
import math
import os
import pickle
import pickletools
import re
import struct
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from hybridqnn.data.checksums import DataIntegrityError
from hybridqnn.data.limits import DataLimits, check_limit, resolve_limits
from hybridqnn.errors import InputFileError

__all__ = [
    "SafeUnpickler",
    "UnsafePickleError",
    "defaultdict_of_lists",
    "materialize",
    "read_bounded",
    "safe_load_pickle",
    "unpickle_bytes",
]

_DTYPE_CODE = re.compile(r"[<>|=]?(b1|[iu][1248]|f[48])")


class UnsafePickleError(pickle.UnpicklingError, DataIntegrityError):
    """A pickle named a global that is not on the allow list (or called one the wrong way)."""


class _NdarrayMarker:
    """Stands for ``numpy.ndarray``; only the ``_reconstruct`` stand-in accepts it."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise pickle.UnpicklingError("refused a direct numpy.ndarray(...) call")


_NDARRAY = _NdarrayMarker()


def _dtype(spec: Any, align: Any = 0, copy: Any = 0) -> np.dtype:
    if isinstance(spec, bytes):
        spec = spec.decode("latin1")
    if not isinstance(spec, str) or not _DTYPE_CODE.fullmatch(spec):
        shown = (
            "object"
            if isinstance(spec, str) and spec.lstrip("<>|=")[:1] == "O"
            else repr(spec)[:40]
        )
        raise pickle.UnpicklingError(
            f"refused a numpy array of dtype {shown}: expected plain numbers"
        )
    return np.dtype(spec)


def _set_dtype_state(dtype: np.dtype, state: Any) -> np.dtype:
    """The byte order of a pickled dtype's state ``(3, order, None, None, None, -1, -1, 0)``."""
    order = state[1] if isinstance(state, tuple) and len(state) > 1 else None
    if isinstance(order, bytes):
        order = order.decode("latin1")
    if order not in ("<", ">", "|", "="):
        raise pickle.UnpicklingError(f"refused numpy.dtype state with byte order {order!r:.20}")
    return dtype.newbyteorder(order) if order in "<>" else dtype


class _DtypeSpec:
    """What ``numpy.dtype(...)`` plus ``BUILD`` declare; resolved by :class:`_ArraySpec`."""

    def __init__(self, spec: Any, align: Any = 0, copy: Any = 0) -> None:
        self.dtype = _dtype(spec, align, copy)

    def __setstate__(self, state: Any) -> None:
        self.dtype = _set_dtype_state(self.dtype, state)


class _ArraySpec:
    """What ``_reconstruct(ndarray, shape, dtype)`` plus ``BUILD`` declare, checked."""

    def __init__(self, limits: DataLimits, source: str) -> None:
        self.limits, self.source = limits, source
        self.array: np.ndarray | None = None

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise pickle.UnpicklingError("numpy array state must be a 4- or 5-tuple")
        shape, dtype, fortran, raw = state[-4:]
        dtype = dtype.dtype if isinstance(dtype, _DtypeSpec) else dtype
        if not isinstance(dtype, np.dtype) or dtype.hasobject:
            raise pickle.UnpicklingError(f"numpy array state has dtype {repr(dtype)[:40]}")
        if not isinstance(shape, tuple) or not all(type(n) is int and n >= 0 for n in shape):
            raise pickle.UnpicklingError(
                f"numpy array shape must hold integers >= 0, got {repr(shape)[:60]}"
            )
        raw = raw.encode("latin1") if isinstance(raw, str) else raw
        if not isinstance(raw, bytes):
            raise pickle.UnpicklingError(
                f"numpy array data must be bytes, got {type(raw).__name__}"
            )
        size = math.prod(shape) * dtype.itemsize
        what = f"the size of a pickled array of shape {repr(shape)[:60]} in bytes"
        check_limit(self.source, what, size, self.limits, "max_array_bytes")
        if size != len(raw):
            raise pickle.UnpicklingError(
                f"numpy array of shape {repr(shape)[:60]} and dtype {dtype} needs {size} bytes, "
                f"got {len(raw)}"
            )
        order = "F" if fortran else "C"
        self.array = np.frombuffer(raw, dtype=dtype).reshape(shape, order=order).copy(order=order)


def _check_reconstruct(cls: Any, shape: Any, dtype: Any) -> None:
    if cls is not _NDARRAY or shape != (0,) or not isinstance(dtype, (bytes, str)):
        raise pickle.UnpicklingError(
            "refused _reconstruct call: expected (numpy.ndarray, (0,), typecode)"
        )


def _latin1_encode(text: str, encoding: str = "utf-8") -> bytes:
    """Stand-in for ``_codecs.encode`` that only does what pickles of bytes need."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(
            f"refused _codecs.encode call: expected (str, 'latin1'), got "
            f"({type(text).__name__}, {encoding!r})"
        )
    return codecs.encode(text, "latin1")


_RECONSTRUCT = (
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
)
_BASE_GLOBALS: Mapping[tuple[str, str], Any] = {
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _DtypeSpec,
    ("_codecs", "encode"): _latin1_encode,
}


class SafeUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the stand-ins above (plus ``extra_globals``).

    Args:
        file: Binary file object to read from.
        source: Name used in error messages, usually the file path.
        limits: The limits for declared array sizes (default: :func:`resolve_limits`).
        extra_globals: More ``(module, name) -> object`` entries to allow.
        **kwargs: Passed to :class:`pickle.Unpickler` (e.g. ``encoding="bytes"``).
    """

    def __init__(
        self,
        file: io.BufferedIOBase | io.BytesIO,
        *,
        source: str,
        limits: DataLimits | None = None,
        extra_globals: Mapping[tuple[str, str], Any] | None = None,
        **kwargs: Any,
    ):
        super().__init__(file, **kwargs)
        self._source = source
        limits = resolve_limits(limits)

        def reconstruct(cls: Any, shape: Any, dtype: Any) -> _ArraySpec:
            _check_reconstruct(cls, shape, dtype)
            return _ArraySpec(limits, source)

        self._globals = {**_BASE_GLOBALS, **dict.fromkeys(_RECONSTRUCT, reconstruct)}
        self._globals.update(extra_globals or {})

    def find_class(self, module: str, name: str) -> Any:
        """Return an allowed stand-in, or refuse the global.

        Raises:
            UnsafePickleError: For every global not on the allow list.
        """
        try:
            return self._globals[(module, name)]
        except KeyError:
            pass
        raise UnsafePickleError(
            f"refused to unpickle global {module}.{name} in {self._source}: "
            "only NumPy array reconstruction is allowed"
        )


_PLAIN_TYPES = frozenset({dict, list, str, bytes, int, np.ndarray})


def _resolved(item: Any, source: str) -> Any:
    if isinstance(item, _ArraySpec):
        if item.array is None:
            raise DataIntegrityError(f"pickle {source} declares a numpy array but never fills it")
        return item.array
    return item


def materialize(
    obj: Any,
    source: str,
    allowed: frozenset[type] = _PLAIN_TYPES,
    children: Callable[[Any], Any] | None = None,
) -> Any:
    """Swap every :class:`_ArraySpec` in ``obj`` for its array and check every type, iteratively.

    Lists and dict values are updated in place (so shared and cyclic references stay shared).
    ``children`` may return the inner dict of another allowed container type.

    Raises:
        DataIntegrityError: For a type not in ``allowed`` or an array declared but not filled.
    """
    obj = _resolved(obj, source)
    stack, seen = [obj], set()
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind not in allowed:
            raise DataIntegrityError(
                f"pickle {source} holds a {kind.__module__}.{kind.__qualname__}; expected only "
                f"{', '.join(sorted(t.__name__ for t in allowed))}"
            )
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, list):
            item[:] = [_resolved(v, source) for v in item]
            stack.extend(item)
        elif isinstance(item, dict):
            for key, value in item.items():
                item[key] = _resolved(value, source)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, tuple):
            stack.extend(item)
        elif children is not None and (inner := children(item)) is not None:
            stack.append(inner)
    return obj


def read_bounded(path: Path, limits: DataLimits) -> bytes:
    """Read a (not compressed) file whole after checking its size against ``max_file_bytes``."""
    size = os.stat(path).st_size
    check_limit(str(path), "the file size in bytes", size, limits, "max_file_bytes")
    return path.read_bytes()


def _scan(data: bytes, source: str) -> None:
    """Walk the opcodes without executing them: a string or bytes object declared longer than
    the data left (``BINBYTES8`` of 2^40) fails here, where the C unpickler would allocate it."""
    try:
        for _ in pickletools.genops(data):
            pass
    except Exception as exc:  # noqa: BLE001 - pickletools raises ValueError and others
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise DataIntegrityError(f"pickle {source} is corrupt: {reason}") from None


def unpickle_bytes(
    data: bytes,
    source: str,
    encoding: str = "bytes",
    *,
    limits: DataLimits | None = None,
    extra_globals: Mapping[tuple[str, str], Any] | None = None,
    allowed: frozenset[type] = _PLAIN_TYPES,
    children: Callable[[Any], Any] | None = None,
) -> Any:
    """Unpickle ``data`` (the content of the file ``source``) as :func:`safe_load_pickle` does."""
    _scan(data, source)
    unpickler = SafeUnpickler(
        io.BytesIO(data),
        source=source,
        limits=limits,
        extra_globals=extra_globals,
        encoding=encoding,
    )
    try:
        obj = unpickler.load()
    except InputFileError:
        raise
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        IndexError,
        KeyError,
        AttributeError,
        struct.error,
        MemoryError,
        OverflowError,
        RecursionError,
    ) as exc:
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise DataIntegrityError(f"pickle {source} is corrupt: {reason}") from None
    return materialize(obj, source, allowed, children)


def safe_load_pickle(
    path: str | os.PathLike[str],
    encoding: str = "bytes",
    *,
    limits: DataLimits | None = None,
) -> Any:
    """Unpickle a data file with :class:`SafeUnpickler` and check that it holds plain data.

    Args:
        path: The pickle file.
        encoding: How Python 2 ``str`` objects are decoded; ``"bytes"`` keeps them as bytes.
        limits: Size limits (default: :func:`~hybridqnn.data.limits.resolve_limits`).

    Returns:
        The unpickled object: dicts, lists, str, bytes, ints and NumPy arrays of plain numbers.

    Raises:
        UnsafePickleError: If the pickle names a global that is not allowed.
        DataIntegrityError: If the file is over a limit, not a valid pickle, or holds other
            types (an :class:`~hybridqnn.errors.InputFileError`).
    """
    path = Path(path)
    limits = resolve_limits(limits)
    return unpickle_bytes(read_bounded(path, limits), str(path), encoding, limits=limits)


def defaultdict_of_lists(factory: Any) -> collections.defaultdict:
    """Stand-in for ``collections.defaultdict`` that only builds ``defaultdict(list)``."""
    if factory is not list:
        raise pickle.UnpicklingError(f"refused collections.defaultdict({factory!r:.40})")
    return collections.defaultdict(list)
