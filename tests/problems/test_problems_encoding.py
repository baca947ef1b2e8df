"""FixedPointEncoding: round trips, clipping, nearest-grid rounding, the matrix form, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hybridqnn.problems import FixedPointEncoding


@st.composite
def encodings(draw: st.DrawFn, max_bits: int = 12, max_size: int = 4) -> FixedPointEncoding:
    """A random encoding: scalar or per-coordinate ranges."""
    bits = draw(st.integers(1, max_bits))
    n = draw(st.integers(1, max_size))
    per_coord = draw(st.booleans())
    m = n if per_coord else 1
    low = np.array(draw(st.lists(st.floats(-100, 100), min_size=m, max_size=m)))
    width = np.array(draw(st.lists(st.floats(1e-2, 100), min_size=m, max_size=m)))
    if per_coord:
        return FixedPointEncoding(bits, low, low + width)
    return FixedPointEncoding(bits, float(low[0]), float(low[0] + width[0]), size=n)


def _random_bits(enc: FixedPointEncoding, rng: np.random.Generator, count: int) -> np.ndarray:
    return rng.integers(0, 2, size=(count, enc.num_variables)).astype(np.int8)


@given(encodings(), st.integers(0, 2**32 - 1))
def test_decode_encode_round_trip_on_grid(enc: FixedPointEncoding, seed: int) -> None:
    rng = np.random.default_rng(seed)
    b = _random_bits(enc, rng, 16)
    # the two extreme bit strings too
    b = np.vstack(
        [b, np.zeros((1, enc.num_variables), np.int8), np.ones((1, enc.num_variables), np.int8)]
    )
    x = enc.decode(b)
    assert x.shape == (18, enc.size)
    assert np.all(x >= enc.low - 1e-9 * np.abs(enc.low)) and np.all(
        x <= enc.high + 1e-9 * np.abs(enc.high)
    )
    np.testing.assert_allclose(x[-2], enc.low)
    np.testing.assert_allclose(x[-1], enc.high, rtol=1e-12, atol=1e-12 * np.abs(enc.low).max())
    back = enc.encode(x)
    assert back.dtype == np.int8
    np.testing.assert_array_equal(back, b)
    np.testing.assert_allclose(enc.round(x), x, rtol=0, atol=1e-9 * (1 + np.abs(enc.low).max()))


@given(encodings(), st.integers(0, 2**32 - 1))
def test_quantize_index_inverts_decode(enc: FixedPointEncoding, seed: int) -> None:
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, enc.levels, size=(5, enc.size))
    values = enc.low + enc.step * idx
    np.testing.assert_array_equal(enc.quantize_index(values), idx)
    # bit k of coordinate j sits at flat index j*K + k (little-endian per coordinate)
    bits = enc.encode(values).reshape(5, enc.size, enc.bits)
    np.testing.assert_array_equal(bits @ (1 << np.arange(enc.bits)), idx)


@given(encodings(max_bits=6), st.integers(0, 2**32 - 1))
def test_round_is_nearest_grid_point_brute_force(enc: FixedPointEncoding, seed: int) -> None:
    rng = np.random.default_rng(seed)
    width = enc.high - enc.low
    # values inside and well outside the box
    v = enc.low + width * rng.uniform(-0.5, 1.5, size=(20, enc.size))
    r = enc.round(v)
    levels = enc.low[:, None] + enc.step[:, None] * np.arange(enc.levels)[None, :]  # (n, 2^K)
    best = np.abs(v[:, :, None] - levels[None]).min(axis=2)
    tol = 1e-9 * (1 + np.abs(levels).max())
    assert np.all(np.abs(r - v) <= best + tol)
    # and r is itself a grid value
    assert np.all(np.abs(r[:, :, None] - levels[None]).min(axis=2) <= tol)


@given(encodings(), st.integers(0, 2**32 - 1))
def test_encode_clips_out_of_box_values(enc: FixedPointEncoding, seed: int) -> None:
    rng = np.random.default_rng(seed)
    width = enc.high - enc.low
    below = enc.low - width * rng.uniform(0.01, 10, size=enc.size)
    above = enc.high + width * rng.uniform(0.01, 10, size=enc.size)
    np.testing.assert_array_equal(enc.encode(below), np.zeros(enc.num_variables))
    np.testing.assert_array_equal(enc.encode(above), np.ones(enc.num_variables))
    np.testing.assert_allclose(enc.round(below), enc.low)
    np.testing.assert_allclose(
        enc.round(above), enc.high, rtol=1e-12, atol=1e-12 * (1 + np.abs(enc.low).max())
    )
    np.testing.assert_array_equal(
        enc.quantize_index(np.vstack([below, above])), [[0] * enc.size, [enc.levels - 1] * enc.size]
    )


@given(encodings(), st.integers(0, 2**32 - 1))
def test_matrix_consistent_with_decode(enc: FixedPointEncoding, seed: int) -> None:
    rng = np.random.default_rng(seed)
    e = enc.matrix()
    n, k = enc.size, enc.bits
    assert e.shape == (n, n * k)
    # block structure: row j is nonzero exactly on columns j*K .. j*K+K-1
    mask = np.kron(np.eye(n), np.ones((1, k))).astype(bool)
    assert np.all(e[~mask] == 0)
    np.testing.assert_allclose(e[mask], np.outer(enc.step, 2.0 ** np.arange(k)).ravel())
    b = _random_bits(enc, rng, 10)
    np.testing.assert_allclose(
        enc.low + b @ e.T, enc.decode(b), rtol=1e-12, atol=1e-12 * (1 + np.abs(enc.low).max())
    )


def test_properties_and_symmetric() -> None:
    enc = FixedPointEncoding.symmetric(3, [1.0, 2.0])
    assert enc.size == 2 and enc.bits == 3 and enc.num_variables == 6 and enc.levels == 8
    np.testing.assert_allclose(enc.low, [-1.0, -2.0])
    np.testing.assert_allclose(enc.high, [1.0, 2.0])
    np.testing.assert_allclose(enc.step, [2 / 7, 4 / 7])
    np.testing.assert_allclose(enc.powers, [1, 2, 4])
    # K = 1 on a symmetric range gives binary weights {-r, +r}
    one = FixedPointEncoding.symmetric(1, 0.5, size=3)
    np.testing.assert_allclose(one.decode([[0, 1, 0]]), [[-0.5, 0.5, -0.5]])
    # arrays are read-only: the encoding is immutable
    with pytest.raises(ValueError):
        enc.low[0] = 5.0


def test_bits_32_extremes_round_trip() -> None:
    enc = FixedPointEncoding(32, -1.0, 1.0, size=2)
    b = np.zeros((2, 64), np.int8)
    b[1, :] = 1
    np.testing.assert_array_equal(enc.encode(enc.decode(b)), b)
    assert enc.levels == 2**32


@pytest.mark.parametrize("bits", [0, 33, -1])
def test_invalid_bits_message(bits: int) -> None:
    with pytest.raises(ValueError) as info:
        FixedPointEncoding(bits, -1.0, 1.0, size=2)
    assert f"'bits' must be an integer in [1, 32], got {bits}" in str(info.value)


@pytest.mark.parametrize("bits", [1.5, "4", True, None])
def test_non_integer_bits_is_type_error(bits: object) -> None:
    with pytest.raises(TypeError, match="'bits' must be an integer"):
        FixedPointEncoding(bits, -1.0, 1.0, size=2)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("low", "high"),
    [(1.0, 1.0), (1.0, 0.0), ([0.0, 0.0], [1.0, 0.0]), ([0.0, 2.0], [1.0, 1.0])],
)
def test_high_must_exceed_low(low: object, high: object) -> None:
    with pytest.raises(ValueError, match="'high' must exceed 'low'"):
        FixedPointEncoding(4, low, high, size=2)  # type: ignore[arg-type]


def test_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="'low' and 'high' must be scalars or have length"):
        FixedPointEncoding(4, [0.0, 0.0], [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="'low' and 'high'"):
        FixedPointEncoding(4, [0.0, 0.0], [1.0, 1.0], size=3)


@pytest.mark.parametrize(
    ("low", "high"),
    [(np.nan, 1.0), (0.0, np.nan), ([0.0, np.nan], 1.0), (-np.inf, 1.0), (0.0, np.inf)],
)
def test_non_finite_range(low: object, high: object) -> None:
    with pytest.raises(ValueError, match="must be finite"):
        FixedPointEncoding(4, low, high, size=2)  # type: ignore[arg-type]


def test_decode_encode_shape_and_value_errors() -> None:
    enc = FixedPointEncoding(3, -1.0, 1.0, size=2)
    with pytest.raises(ValueError, match="'bits' must have last dimension 6"):
        enc.decode(np.zeros(5))
    with pytest.raises(ValueError, match="'values' must have last dimension 2"):
        enc.encode(np.zeros(3))
    with pytest.raises(ValueError, match="'values' must be finite"):
        enc.encode([0.0, np.nan])
    with pytest.raises(ValueError, match="'values' must be finite"):
        enc.round([np.inf, 0.0])
