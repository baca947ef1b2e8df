"""Reading LIBSVM / svmlight sparse text files into dense arrays, bounded and checked.

A file (plain, ``.gz`` or ``.bz2``) is decompressed in 1 MiB chunks and refused as soon as it
passes :attr:`~hybridqnn.data.limits.DataLimits.max_file_bytes` bytes or
:attr:`~hybridqnn.data.limits.DataLimits.max_rows` lines, so a small archive of newlines costs
milliseconds, not minutes. scikit-learn's parser then builds a sparse matrix (its memory is
proportional to the text), and before the dense ``(N, F)`` array is allocated the file must
hold at least one sample, every feature index must be at most ``max_features``, every label and
value must be finite in ``float32`` (NaN, ``inf`` and ``1e400`` are refused) and ``4 N F`` bytes
must fit ``max_array_bytes``.
"""

from __future__ import annotations

import bz2
import gzip
import io
import os
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from hybridqnn._checks import check_int
from hybridqnn.data.checksums import DataIntegrityError
from hybridqnn.data.limits import DataLimits, check_limit, resolve_limits
from hybridqnn.errors import InputFileError

__all__ = ["load_libsvm"]

_CHUNK = 1 << 20
_OPENERS = {".gz": gzip.open, ".bz2": bz2.open}


def _read_text(path: Path, limits: DataLimits) -> bytes:
    """The decompressed content, read in chunks and stopped at the byte and line limits."""
    source = f"LIBSVM file {path}"
    opener = _OPENERS.get(path.suffix, open)
    chunks, size, lines = [], 0, 0
    try:
        with opener(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                size += len(chunk)
                lines += chunk.count(b"\n")
                check_limit(source, "the size in bytes", size, limits, "max_file_bytes")
                check_limit(source, "the line count", lines - 1, limits, "max_rows")
                chunks.append(chunk)
    except (FileNotFoundError, InputFileError):
        raise
    except (OSError, EOFError, zlib.error, ValueError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise DataIntegrityError(f"{source} is corrupt or truncated: {reason}") from None
    return b"".join(chunks)


def _check_parsed(path: Path, x: Any, y: np.ndarray, limits: DataLimits) -> None:
    """Refuse empty files, non-finite labels or values and a dense array over the limits."""
    source = f"LIBSVM file {path}"
    if x.shape[0] == 0:
        raise DataIntegrityError(f"{source} is empty: it must hold at least one sample line")
    if not np.isfinite(y).all():
        bad = y[~np.isfinite(y)][0]
        raise DataIntegrityError(f"{source}: labels must be finite numbers, got {bad}")
    if not np.isfinite(x.data).all():
        bad = x.data[~np.isfinite(x.data)][0]
        raise DataIntegrityError(
            f"{source}: feature values must be finite float32 numbers (|v| < 3.4e38), got {bad}"
        )
    check_limit(source, "the largest feature index", x.shape[1], limits, "max_features")
    what = f"the size of a dense ({x.shape[0]}, {x.shape[1]}) float32 array in bytes"
    check_limit(source, what, 4 * x.shape[0] * x.shape[1], limits, "max_array_bytes")


def load_libsvm(
    path: str | os.PathLike[str],
    n_features: int | None = None,
    *,
    limits: DataLimits | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Read a LIBSVM file (``<label> <index>:<value> ...`` per line, 1-based indices).

    Args:
        path: The file, plain text, or gzip / bzip2 compressed when it ends in ``.gz`` /
            ``.bz2``.
        n_features: Number of features (columns); if ``None``, the largest index in the file
            (at most ``limits.max_features``). Give it when train and test files must have the
            same width.
        limits: Size limits (default: :func:`~hybridqnn.data.limits.resolve_limits`).

    Returns:
        ``(x, y)``: ``x`` dense ``float32`` of shape ``(N, n_features)`` and ``y`` the raw
        labels as ``float64`` of shape ``(N,)``.

    Raises:
        TypeError: If ``path`` or ``n_features`` has the wrong type.
        ValueError: If ``n_features`` < 1.
        FileNotFoundError: If the file does not exist.
        DataIntegrityError: If the content is malformed, empty, holds a non-finite label or
            value, or has more than ``n_features`` features; the message names the file.
        InputFileError: If the file is over a limit (of which the above is a subclass).
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"'path' must be a str or an os.PathLike, got {type(path).__name__}")
    if n_features is not None:
        n_features = check_int("n_features", n_features, 1)
    limits = resolve_limits(limits)
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"LIBSVM file {path} not found")
    from sklearn.datasets import load_svmlight_file  # slow to import: only when a file is read

    text = _read_text(path, limits)
    try:
        x, y = load_svmlight_file(
            io.BytesIO(text), n_features=n_features, dtype=np.float32, zero_based=False
        )
    except OverflowError:
        raise DataIntegrityError(
            f"LIBSVM file {path} is malformed: a feature index does not fit a 32-bit integer "
            f"(the limit is max_features={limits.max_features})"
        ) from None
    except (ValueError, TypeError, IndexError, UnicodeDecodeError, EOFError, OSError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise DataIntegrityError(f"LIBSVM file {path} is malformed: {reason}") from None
    _check_parsed(path, x, y, limits)
    return np.asarray(x.toarray(), dtype=np.float32), np.asarray(y, dtype=np.float64)
