"""Reading LIBSVM / svmlight sparse text files into dense arrays."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from sklearn.datasets import load_svmlight_file

from hybridqnn._checks import check_int
from hybridqnn.data.checksums import DataIntegrityError

__all__ = ["load_libsvm"]


def load_libsvm(
    path: str | os.PathLike[str], n_features: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Read a LIBSVM file (``<label> <index>:<value> ...`` per line, 1-based indices).

    Args:
        path: The file, plain text (``.gz`` and ``.bz2`` are decompressed by scikit-learn).
        n_features: Number of features (columns); if ``None``, the largest index in the file.
            Give it when train and test files must have the same width.

    Returns:
        ``(x, y)``: ``x`` dense ``float32`` of shape ``(N, n_features)`` and ``y`` the raw
        labels as ``float64`` of shape ``(N,)``.

    Raises:
        TypeError: If ``path`` or ``n_features`` has the wrong type.
        ValueError: If ``n_features`` < 1.
        FileNotFoundError: If the file does not exist.
        DataIntegrityError: If the content is malformed or has more than ``n_features``
            features; the message names the file.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"'path' must be a str or an os.PathLike, got {type(path).__name__}")
    if n_features is not None:
        n_features = check_int("n_features", n_features, 1)
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"LIBSVM file {path} not found")
    try:
        x, y = load_svmlight_file(
            str(path), n_features=n_features, dtype=np.float32, zero_based=False
        )
    except (ValueError, TypeError, IndexError, UnicodeDecodeError, EOFError, OSError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise DataIntegrityError(f"LIBSVM file {path} is malformed: {reason}") from None
    return np.asarray(x.toarray(), dtype=np.float32), np.asarray(y, dtype=np.float64)
