"""Bit-packing of low-bit integer codes (the layout of the packed model file).

A tensor of ``count`` codes, each an integer in ``[0, 2**bits)``, ``bits`` in ``[1, 32]``, is
written as follows:

1. the codes are taken in C (row-major) order: ``c_0, c_1, ..., c_{count-1}``;
2. each code is written as ``bits`` bits, most-significant bit first, so the bit stream is
   ``b_0 ... b_{count*bits-1}`` with ``b_{i*bits + j} = (c_i >> (bits - 1 - j)) & 1``;
3. the stream is packed into bytes by ``numpy.packbits(stream, bitorder="big")``: byte ``k``
   holds bits ``8k .. 8k+7``, the first of them in its most-significant position, and the last
   byte is zero-padded, so the result has exactly ``ceil(count * bits / 8)`` bytes.

For example, the 2-bit codes ``[1, 2, 3]`` give the stream ``01 10 11`` and the single byte
``0b01101100`` (108); the 1-bit codes ``[1, 0, 1, 1, 0, 0, 0, 0, 1]`` give ``[176, 128]``.
A code written with ``bits = 8`` is simply its byte. The format is independent of the machine's
byte order.

This module imports numpy only (the NumPy reference forward pass depends on it).
"""

from __future__ import annotations

import numpy as np

from hybridqnn._checks import check_int

__all__ = ["pack_codes", "packed_size", "unpack_codes"]


def packed_size(count: int, bits: int) -> int:
    """``ceil(count * bits / 8)``: the number of bytes :func:`pack_codes` writes."""
    count = check_int("count", count, 0)
    bits = check_int("bits", bits, 1, 32)
    return -(-count * bits // 8)


def pack_codes(codes: np.ndarray, bits: int) -> np.ndarray:
    """Pack integer ``codes`` (any shape, taken in C order) into bytes, ``bits`` bits each.

    Args:
        codes: Integers in ``[0, 2**bits)`` (any integer dtype, or floats holding integers).
        bits: Bits per code, in ``[1, 32]``.

    Returns:
        A 1-D ``uint8`` array of ``ceil(codes.size * bits / 8)`` bytes (layout in the module
        docstring).

    Raises:
        ValueError: a code that is not an integer in ``[0, 2**bits)``.
    """
    bits = check_int("bits", bits, 1, 32)
    flat = np.asarray(codes).reshape(-1)
    if flat.size == 0:
        return np.zeros(0, dtype=np.uint8)
    if flat.dtype.kind not in "iuf" or (flat.dtype.kind == "f" and not np.all(flat == np.rint(flat))):
        raise ValueError(f"'codes' must be integers in [0, {2**bits - 1}], got dtype {flat.dtype}")
    bad = (flat < 0) | (flat > 2**bits - 1)
    if np.any(bad):
        raise ValueError(f"'codes' must be integers in [0, {2**bits - 1}], got {flat[bad][0]!r}")
    flat = flat.astype(np.uint64)
    if bits == 8:
        return flat.astype(np.uint8)
    shifts = np.arange(bits - 1, -1, -1, dtype=np.uint64)
    stream = ((flat[:, None] >> shifts) & np.uint64(1)).astype(np.uint8)
    return np.packbits(stream.reshape(-1), bitorder="big")


def unpack_codes(packed: np.ndarray, bits: int, count: int) -> np.ndarray:
    """The inverse of :func:`pack_codes`: ``count`` codes of ``bits`` bits each.

    Args:
        packed: The bytes, a 1-D ``uint8`` array of exactly ``ceil(count * bits / 8)`` entries.
        bits: Bits per code, in ``[1, 32]``.
        count: The number of codes, >= 0.

    Returns:
        The codes, a 1-D ``int64`` array of length ``count``.

    Raises:
        ValueError: ``packed`` is not 1-D ``uint8``, has the wrong length, or its padding bits
            are not zero.
    """
    size = packed_size(count, bits)
    packed = np.asarray(packed)
    if packed.dtype != np.uint8 or packed.ndim != 1:
        raise ValueError(
            f"'packed' must be a 1-D uint8 array, got dtype {packed.dtype} with shape {packed.shape}"
        )
    if packed.size != size:
        raise ValueError(
            f"'packed' must hold ceil({count} * {bits} / 8) = {size} bytes, got {packed.size}"
        )
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    if bits == 8:
        return packed.astype(np.int64)
    pad = size * 8 - count * bits
    if pad and int(packed[-1]) & ((1 << pad) - 1):
        raise ValueError("'packed' must have zero padding bits after the last code")
    stream = np.unpackbits(packed, count=count * bits, bitorder="big").reshape(count, bits)
    codes = np.zeros(count, dtype=np.int64)
    for j in range(bits):  # one pass per bit keeps the memory at count int64s
        codes <<= 1
        codes |= stream[:, j]
    return codes
