"""Bit-packing of low-bit codes: the documented numpy.packbits layout, round trips, sizes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hybridqnn.deploy.packing import pack_codes, packed_size, unpack_codes


@st.composite
def codes_and_bits(draw: st.DrawFn) -> tuple[np.ndarray, int]:
    bits = draw(st.integers(1, 32))
    count = draw(st.integers(0, 40))
    codes = draw(st.lists(st.integers(0, 2**bits - 1), min_size=count, max_size=count))
    return np.array(codes, dtype=np.int64), bits


@given(codes_and_bits())
def test_round_trip_and_size(case: tuple[np.ndarray, int]) -> None:
    codes, bits = case
    packed = pack_codes(codes, bits)
    assert packed.dtype == np.uint8 and packed.ndim == 1
    assert packed.size == packed_size(codes.size, bits) == -(-codes.size * bits // 8)
    out = unpack_codes(packed, bits, codes.size)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, codes)


@given(codes_and_bits())
def test_layout_is_the_msb_first_bit_stream(case: tuple[np.ndarray, int]) -> None:
    codes, bits = case
    stream = "".join(format(int(c), f"0{bits}b") for c in codes)
    stream += "0" * (-len(stream) % 8)
    want = [int(stream[i:i + 8], 2) for i in range(0, len(stream), 8)]
    assert pack_codes(codes, bits).tolist() == want


def test_hand_examples() -> None:
    assert pack_codes(np.array([1, 2, 3]), 2).tolist() == [0b01101100]
    assert pack_codes(np.array([1, 0, 1, 1, 0, 0, 0, 0, 1]), 1).tolist() == [176, 128]
    assert pack_codes(np.array([[5, 255], [0, 7]]), 8).tolist() == [5, 255, 0, 7]  # C order
    assert pack_codes(np.array([0x123]), 12).tolist() == [0x12, 0x30]
    assert pack_codes(np.array([2**32 - 1]), 32).tolist() == [255, 255, 255, 255]
    assert pack_codes(np.zeros(0), 3).size == 0


@pytest.mark.parametrize("codes, bits", [([4], 2), ([-1], 3), ([0.5], 4), ([np.nan], 1)])
def test_pack_rejects_codes_off_range(codes: list, bits: int) -> None:
    with pytest.raises(ValueError, match="'codes' must be integers in"):
        pack_codes(np.array(codes), bits)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"'bits' must be an integer in \[1, 32\], got 0"):
        pack_codes(np.array([0]), 0)
    with pytest.raises(ValueError, match="must hold ceil"):
        unpack_codes(np.zeros(2, dtype=np.uint8), 3, 6)
    with pytest.raises(ValueError, match="1-D uint8"):
        unpack_codes(np.zeros(2, dtype=np.int64), 8, 2)
    with pytest.raises(ValueError, match="zero padding bits"):
        unpack_codes(np.array([0b01101101], dtype=np.uint8), 2, 3)
    with pytest.raises(ValueError, match="'count' must be an integer >= 0"):
        unpack_codes(np.zeros(0, dtype=np.uint8), 1, -1)
