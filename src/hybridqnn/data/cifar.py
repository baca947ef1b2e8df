"""Safe reading of the CIFAR-10 "python version" batch files.

The batches are pickles, read with :func:`hybridqnn.data.pickles.safe_load_pickle`: only NumPy
array reconstruction is allowed, every declared array size is checked against the bytes in the
file and the limits (:mod:`hybridqnn.data.limits`) before anything is allocated, and the result
must hold only dicts, lists, str, bytes, ints and NumPy arrays of plain numbers. The layout is
then checked: ``b'data'`` a ``uint8`` array ``(N, 3072)``, ``b'labels'`` N ints in 0..9.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from hybridqnn.data.checksums import DataIntegrityError
from hybridqnn.data.limits import DataLimits
from hybridqnn.data.pickles import safe_load_pickle

__all__ = ["CIFAR10_CLASSES", "load_cifar_batch", "load_cifar_meta"]

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


def load_cifar_batch(
    path: str | os.PathLike[str], *, limits: DataLimits | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR-10 batch file (``data_batch_N`` or ``test_batch``).

    Args:
        path: The batch file.
        limits: Size limits (default: :func:`~hybridqnn.data.limits.resolve_limits`).

    Returns:
        ``(data, labels)``: ``uint8`` of shape ``(N, 3072)`` (row-major R, G, B planes of
        32x32) and ``int64`` of shape ``(N,)`` with values in 0..9.

    Raises:
        UnsafePickleError: If the pickle names a global that is not allowed.
        DataIntegrityError: If the file does not have the CIFAR batch layout.
    """
    path = Path(path)
    batch = safe_load_pickle(path, limits=limits)
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
    if len(labels) != len(data):
        raise DataIntegrityError(
            f"CIFAR batch {path} has {len(data)} images but {len(labels)} labels"
        )
    if labels and (min(labels) < 0 or max(labels) > 9):
        low, high = (f"{v:.3g}" if abs(v) > 2**63 else str(v) for v in (min(labels), max(labels)))
        raise DataIntegrityError(f"CIFAR batch {path}: labels must lie in [0, 9], got [{low}, {high}]")
    return data, np.asarray(labels, dtype=np.int64)


def load_cifar_meta(
    path: str | os.PathLike[str], *, limits: DataLimits | None = None
) -> tuple[str, ...]:
    """Read the class names from CIFAR-10's ``batches.meta``.

    Args:
        path: The ``batches.meta`` file.
        limits: Size limits (default: :func:`~hybridqnn.data.limits.resolve_limits`).

    Returns:
        The 10 class names.

    Raises:
        UnsafePickleError: If the pickle names a global that is not allowed.
        DataIntegrityError: If the file lacks a list of 10 names under ``b'label_names'``.
    """
    path = Path(path)
    meta = safe_load_pickle(path, limits=limits)
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
