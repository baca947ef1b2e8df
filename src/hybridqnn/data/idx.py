"""Reader and writer for the IDX format of MNIST-style data sets.

An IDX file is a 4-byte magic number ``0x0000TTNN`` (``TT`` the element type, ``NN`` the number
of dimensions), then ``NN`` big-endian unsigned 32-bit sizes, then the elements in big-endian
C order. MNIST images are ``0x00000803`` (unsigned bytes, 3 dimensions) and labels
``0x00000801``. Files whose name ends in ``.gz`` are gzip-compressed.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import struct
import zlib
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import BinaryIO

import numpy as np

from hybridqnn.data.checksums import DataIntegrityError
from hybridqnn.data.limits import DataLimits, check_limit, resolve_limits

__all__ = [
    "IDX_IMAGES_MAGIC",
    "IDX_LABELS_MAGIC",
    "encode_idx",
    "parse_idx",
    "read_idx",
    "write_idx",
]

IDX_IMAGES_MAGIC = 0x00000803
"""Magic number of an MNIST image file: unsigned bytes, 3 dimensions (N, H, W)."""
IDX_LABELS_MAGIC = 0x00000801
"""Magic number of an MNIST label file: unsigned bytes, 1 dimension (N,)."""

_TYPES: Mapping[int, np.dtype] = MappingProxyType(
    {
        0x08: np.dtype(">u1"),
        0x09: np.dtype(">i1"),
        0x0B: np.dtype(">i2"),
        0x0C: np.dtype(">i4"),
        0x0D: np.dtype(">f4"),
        0x0E: np.dtype(">f8"),
    }
)
_PIECE = 1 << 24
_CODES: Mapping[np.dtype, int] = MappingProxyType(
    {dtype.newbyteorder("="): code for code, dtype in _TYPES.items()}
)


def _header(head: bytes, source: str, expected_magic: int | None) -> tuple[int, int]:
    """Check the 4-byte magic number; return ``(type code, number of dimensions)``."""
    if len(head) < 4:
        raise DataIntegrityError(
            f"IDX file {source} is truncated: expected a 4-byte magic number, got {len(head)} bytes"
        )
    (magic,) = struct.unpack(">I", head[:4])
    if expected_magic is not None and magic != expected_magic:
        raise DataIntegrityError(
            f"IDX file {source} has magic number 0x{magic:08X}, expected 0x{expected_magic:08X}"
        )
    zero, code, ndim = magic >> 16, (magic >> 8) & 0xFF, magic & 0xFF
    if zero != 0 or code not in _TYPES:
        raise DataIntegrityError(
            f"IDX file {source} has an invalid magic number 0x{magic:08X} "
            "(expected 0x0000TTNN with type TT in 08, 09, 0B, 0C, 0D, 0E)"
        )
    return code, ndim


def _read_up_to(handle: BinaryIO, size: int) -> bytes:
    """Read at most ``size`` bytes in 16 MiB pieces: ``read(size)`` would allocate ``size``
    bytes up front, even when the (truncated) file holds far fewer."""
    pieces, left = [], size
    while left > 0 and (piece := handle.read(min(left, _PIECE))):
        pieces.append(piece)
        left -= len(piece)
    return b"".join(pieces)


def _read_idx_stream(
    handle: BinaryIO, source: str, expected_magic: int | None, limits: DataLimits
) -> np.ndarray:
    """Read an IDX file from a stream, checking the declared size before reading the payload.

    At most header + declared payload + 1 bytes are read, so a decompression bomb stops at the
    declared size (the one extra byte detects trailing data).
    """
    code, ndim = _header(handle.read(4), source, expected_magic)
    dims = handle.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise DataIntegrityError(
            f"IDX file {source} is truncated: expected a {4 + 4 * ndim}-byte header for {ndim} "
            f"dimensions, got {4 + len(dims)} bytes"
        )
    shape = struct.unpack(f">{ndim}I", dims)
    dtype = _TYPES[code]
    expected = math.prod(shape) * dtype.itemsize
    where = f"IDX file {source}"
    what = f"the data size of shape {tuple(shape)} in bytes"
    check_limit(where, what, expected, limits, "max_array_bytes")
    check_limit(where, "the declared row count", shape[0] if shape else 1, limits, "max_rows")
    payload = _read_up_to(handle, expected)
    got = len(payload)
    if got == expected and handle.read(1):
        got = expected + 1
    if got != expected:
        problem = "truncated" if got < expected else "followed by trailing bytes"
        shown = str(got) if got <= expected else f"more than {expected}"
        raise DataIntegrityError(
            f"IDX file {source} is {problem}: shape {tuple(shape)} needs {expected} data bytes, "
            f"got {shown}"
        )
    array = np.frombuffer(payload, dtype=dtype, count=math.prod(shape))
    return array.reshape(shape).astype(dtype.newbyteorder("="))


def parse_idx(
    data: bytes,
    source: str = "<bytes>",
    expected_magic: int | None = None,
    *,
    limits: DataLimits | None = None,
) -> np.ndarray:
    """Decode the (uncompressed) bytes of an IDX file.

    Args:
        data: The file content.
        source: The name used in error messages, usually the file path.
        expected_magic: If given, the magic number the data must start with, e.g.
            :data:`IDX_IMAGES_MAGIC`.
        limits: Size limits (default: :func:`~hybridqnn.data.limits.resolve_limits`).

    Returns:
        A new, writable array in native byte order with the stored shape.

    Raises:
        DataIntegrityError: If the header is invalid, the magic number is not the expected
            one, or the payload size does not match the dimensions (truncated or trailing data).
        InputFileError: If the declared shape is over a limit.
    """
    return _read_idx_stream(io.BytesIO(data), source, expected_magic, resolve_limits(limits))


def read_idx(
    path: str | os.PathLike[str],
    expected_magic: int | None = None,
    *,
    limits: DataLimits | None = None,
) -> np.ndarray:
    """Read an IDX file, gzip-compressed when its name ends in ``.gz``.

    The header is read first and the declared size checked against ``limits`` before the
    payload is read; decompression stops one byte after the declared size.

    Args:
        path: The file to read.
        expected_magic: If given, the magic number the file must have.
        limits: Size limits (default: :func:`~hybridqnn.data.limits.resolve_limits`).

    Returns:
        The stored array, writable and in native byte order.

    Raises:
        FileNotFoundError: If the file does not exist.
        DataIntegrityError: If the file is not valid gzip, is truncated, or is not a valid IDX
            file with the expected magic number; the message names the file.
        InputFileError: If the declared shape is over a limit.
    """
    path = Path(path)
    limits = resolve_limits(limits)
    with open(path, "rb") as raw:
        if path.suffix != ".gz":
            return _read_idx_stream(raw, str(path), expected_magic, limits)
        try:
            with gzip.GzipFile(fileobj=raw, mode="rb") as handle:
                return _read_idx_stream(handle, str(path), expected_magic, limits)
        except (OSError, EOFError, zlib.error) as exc:
            reason = str(exc).replace("\n", " ") or type(exc).__name__
            raise DataIntegrityError(
                f"gzip file {path} is corrupt or truncated: {reason}"
            ) from None


def encode_idx(array: np.ndarray) -> bytes:
    """Encode an array as the bytes of an (uncompressed) IDX file.

    Args:
        array: An array of dtype uint8, int8, int16, int32, float32 or float64 with 1 to 255
            dimensions, each smaller than 2**32.

    Returns:
        The IDX file content.

    Raises:
        TypeError: If ``array`` is not a NumPy array.
        ValueError: If its dtype or shape cannot be stored in IDX.
    """
    if not isinstance(array, np.ndarray):
        raise TypeError(f"'array' must be a numpy.ndarray, got {type(array).__name__}")
    native = array.dtype.newbyteorder("=")
    if native not in _CODES:
        raise ValueError(
            "'array' must have dtype uint8, int8, int16, int32, float32 or float64, "
            f"got {array.dtype}"
        )
    if not 1 <= array.ndim <= 255 or any(size >= 2**32 for size in array.shape):
        raise ValueError(
            f"'array' must have 1 to 255 dimensions each below 2**32, got shape {array.shape}"
        )
    magic = (_CODES[native] << 8) | array.ndim
    header = struct.pack(f">I{array.ndim}I", magic, *array.shape)
    return header + np.ascontiguousarray(array, dtype=_TYPES[_CODES[native]]).tobytes()


def write_idx(path: str | os.PathLike[str], array: np.ndarray) -> None:
    """Write an array as an IDX file, gzip-compressed when ``path`` ends in ``.gz``.

    Args:
        path: The file to write (overwritten if it exists).
        array: The array; see :func:`encode_idx` for the supported dtypes.
    """
    path = Path(path)
    data = encode_idx(array)
    if path.suffix == ".gz":
        with (
            open(path, "wb") as raw,
            gzip.GzipFile(filename=path.stem, mode="wb", fileobj=raw, mtime=0) as handle,
        ):
            handle.write(data)
    else:
        path.write_bytes(data)
