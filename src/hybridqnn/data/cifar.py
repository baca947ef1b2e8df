"""Safe reading of the CIFAR-10 "python version" batch files.

The batches are pickles, and unpickling runs whatever callable a pickle names. They are read
with :class:`SafeUnpickler`, which resolves only the few globals needed to rebuild NumPy arrays
and refuses every other one with :class:`UnsafePickleError` (a :class:`pickle.UnpicklingError`),
before anything is called. The result is then checked to hold only dicts, lists, str, bytes,
ints and NumPy arrays without Python objects inside.
"""

from __future__ import annotations

import codecs
import io
import os
import pickle
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from hybridqnn.data.checksums import DataIntegrityError

__all__ = [
    "CIFAR10_CLASSES",
    "SafeUnpickler",
    "UnsafePickleError",
    "load_cifar_batch",
    "load_cifar_meta",
    "safe_load_pickle",
]

CIFAR10_CLASSES: tuple[str, ...] = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
"""CIFAR-10 class names, as in ``batches.meta``."""


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle named a global that is not on the allow list."""


def _numpy_reconstruct() -> Callable[..., Any]:
    try:
        from numpy._core.multiarray import _reconstruct  # NumPy >= 2 (and 1.26's shim)
    except ImportError:  # pragma: no cover - older NumPy
        from numpy.core.multiarray import _reconstruct
    return _reconstruct


def _latin1_encode(text: str, encoding: str = "utf-8") -> bytes:
    """Stand-in for ``_codecs.encode`` that only does what pickles of bytes need."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(
            f"refused _codecs.encode call: expected (str, 'latin1'), got "
            f"({type(text).__name__}, {encoding!r})"
        )
    return codecs.encode(text, "latin1")


class SafeUnpickler(pickle.Unpickler):
    """An unpickler that can only rebuild NumPy arrays, dtypes, and built-in containers.

    Allowed globals: ``numpy.core.multiarray._reconstruct`` and
    ``numpy._core.multiarray._reconstruct``, ``numpy.ndarray``, ``numpy.dtype``, and
    ``_codecs.encode`` restricted to latin-1 (Python 3 protocol-2 pickles store bytes that
    way). Anything else raises :class:`UnsafePickleError` naming the file and the global.

    Args:
        file: Binary file object to read from.
        source: Name used in error messages, usually the file path.
        **kwargs: Passed to :class:`pickle.Unpickler` (e.g. ``encoding="bytes"``).
    """

    def __init__(self, file: io.BufferedIOBase | io.BytesIO, *, source: str, **kwargs: Any):
        super().__init__(file, **kwargs)
        self._source = source

    def find_class(self, module: str, name: str) -> Any:
        """Return an allowed global, or refuse it.

        Raises:
            UnsafePickleError: For every global not on the allow list.
        """
        if name == "_reconstruct" and module in ("numpy.core.multiarray", "numpy._core.multiarray"):
            return _numpy_reconstruct()
        if module == "numpy" and name == "ndarray":
            return np.ndarray
        if module == "numpy" and name == "dtype":
            return np.dtype
        if module == "_codecs" and name == "encode":
            return _latin1_encode
        raise UnsafePickleError(
            f"refused to unpickle global {module}.{name} in {self._source}: "
            "only NumPy array reconstruction is allowed"
        )


_PLAIN_TYPES = (dict, list, str, bytes, int, np.ndarray)


def _check_plain(obj: Any, source: str) -> None:
    """Check iteratively that ``obj`` holds only plain data (no other types, no object arrays)."""
    stack = [obj]
    seen: set[int] = set()
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind not in _PLAIN_TYPES:
            raise DataIntegrityError(
                f"pickle {source} holds a {kind.__module__}.{kind.__qualname__}; expected only "
                "dict, list, str, bytes, int and numpy.ndarray"
            )
        if kind is np.ndarray and item.dtype.hasobject:
            raise DataIntegrityError(
                f"pickle {source} holds a numpy array of dtype {item.dtype}; expected plain numbers"
            )
        if kind in (dict, list):
            if id(item) in seen:
                continue
            seen.add(id(item))
            stack.extend(item.keys() if kind is dict else item)
            if kind is dict:
                stack.extend(item.values())


def safe_load_pickle(path: str | os.PathLike[str], encoding: str = "bytes") -> Any:
    """Unpickle a data file with :class:`SafeUnpickler` and check that it holds plain data.

    Args:
        path: The pickle file.
        encoding: How Python 2 ``str`` objects are decoded; ``"bytes"`` keeps them as bytes.

    Returns:
        The unpickled object (dicts, lists, str, bytes, ints and NumPy arrays only).

    Raises:
        UnsafePickleError: If the pickle names a global that is not allowed.
        DataIntegrityError: If the file is not a valid pickle or holds other types.
    """
    path = Path(path)
    with open(path, "rb") as handle:
        try:
            obj = SafeUnpickler(handle, source=str(path), encoding=encoding).load()
        except UnsafePickleError:
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
        ) as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise DataIntegrityError(f"pickle {path} is corrupt: {reason}") from None
    _check_plain(obj, str(path))
    return obj


def load_cifar_batch(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR-10 batch file (``data_batch_N`` or ``test_batch``).

    Args:
        path: The batch file.

    Returns:
        ``(data, labels)``: ``uint8`` of shape ``(N, 3072)`` (row-major R, G, B planes of
        32x32) and ``int64`` of shape ``(N,)`` with values in 0..9.

    Raises:
        UnsafePickleError: If the pickle names a global that is not allowed.
        DataIntegrityError: If the file does not have the CIFAR batch layout.
    """
    path = Path(path)
    batch = safe_load_pickle(path)
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise DataIntegrityError(
            f"CIFAR batch {path} must be a dict with keys b'data' and b'labels', "
            f"got {type(batch).__name__}"
            + (f" with keys {sorted(map(repr, batch))}" if isinstance(batch, dict) else "")
        )
    data, labels = batch[b"data"], batch[b"labels"]
    if (
        not isinstance(data, np.ndarray)
        or data.dtype != np.uint8
        or data.ndim != 2
        or (data.shape[1] != 3072)
    ):
        got = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DataIntegrityError(
            f"CIFAR batch {path}: b'data' must be a uint8 array of shape (N, 3072), got {got}"
        )
    if not isinstance(labels, list) or not all(type(v) is int for v in labels):
        raise DataIntegrityError(f"CIFAR batch {path}: b'labels' must be a list of int")
    y = np.asarray(labels, dtype=np.int64).reshape(-1)
    if len(y) != len(data):
        raise DataIntegrityError(f"CIFAR batch {path} has {len(data)} images but {len(y)} labels")
    if y.size and (y.min() < 0 or y.max() > 9):
        raise DataIntegrityError(
            f"CIFAR batch {path}: labels must lie in [0, 9], got [{y.min()}, {y.max()}]"
        )
    return data, y


def load_cifar_meta(path: str | os.PathLike[str]) -> tuple[str, ...]:
    """Read the class names from CIFAR-10's ``batches.meta``.

    Args:
        path: The ``batches.meta`` file.

    Returns:
        The 10 class names.

    Raises:
        UnsafePickleError: If the pickle names a global that is not allowed.
        DataIntegrityError: If the file lacks a list of 10 names under ``b'label_names'``.
    """
    path = Path(path)
    meta = safe_load_pickle(path)
    names = meta.get(b"label_names") if isinstance(meta, dict) else None
    if (
        not isinstance(names, list)
        or len(names) != 10
        or not all(isinstance(n, (bytes, str)) for n in names)
    ):
        raise DataIntegrityError(
            f"CIFAR meta file {path} must hold a list of 10 names under b'label_names'"
        )
    return tuple(n.decode("ascii", "replace") if isinstance(n, bytes) else n for n in names)
