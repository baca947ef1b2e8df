"""K-bit fixed-point encoding of real vectors by binary variables.

A real vector x in R^n is represented by n*K bits b (0/1), bit k of coordinate j at flat index
``j*K + k``:

    x_j = low_j + step_j * sum_{k=0}^{K-1} 2^k b_{jK+k},    step_j = (high_j - low_j) / (2^K - 1)

so x_j takes the 2^K evenly spaced values low_j, low_j + step_j, ..., high_j (both ends
included). In matrix form x = low + E b with E = diag(step) (x) (1, 2, 4, ..., 2^{K-1}), an
n x nK matrix. K = 1 with a symmetric range [-r, r] gives binary weights {-r, +r}.

This is the encoding of the per-class head QUBOs in Atallah & Herrman, "Layer-wise QUBO-Based
Training of CNN Classifiers for Quantum Annealing" (arXiv 2603.02958): (d+1) coordinates times
K bits. The paper does not give its exact fixed-point layout; this offset-binary layout with an
inclusive range is our choice (it has no sign bit, so every bit pattern is a valid value).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hybridqnn._checks import check_int

MAX_BITS = 32


@dataclass(frozen=True, eq=False)
class FixedPointEncoding:
    """K-bit fixed-point grid over a box [low, high] in R^n.

    Args:
        bits: K, bits per coordinate, in [1, 32].
        low: lower end of each coordinate's range (scalar or shape (n,)).
        high: upper end of each coordinate's range (scalar or shape (n,)); must exceed ``low``.
        size: n; needed only when ``low`` and ``high`` are both scalars.
    """

    bits: int
    low: np.ndarray
    high: np.ndarray

    def __init__(self, bits: int, low: float | np.ndarray, high: float | np.ndarray, size: int | None = None):
        bits = check_int("bits", bits, 1, MAX_BITS)
        low_arr = np.atleast_1d(np.asarray(low, dtype=np.float64))
        high_arr = np.atleast_1d(np.asarray(high, dtype=np.float64))
        if size is not None:
            size = check_int("size", size, 0)
        n = size if size is not None else max(low_arr.size, high_arr.size)
        try:
            low_arr = np.broadcast_to(low_arr, (n,)).copy()
            high_arr = np.broadcast_to(high_arr, (n,)).copy()
        except ValueError:
            raise ValueError(
                f"'low' and 'high' must be scalars or have length {n}, got lengths {low_arr.size} and {high_arr.size}"
            ) from None
        if not (np.all(np.isfinite(low_arr)) and np.all(np.isfinite(high_arr))):
            raise ValueError("'low' and 'high' must be finite")
        if np.any(high_arr <= low_arr):
            j = int(np.argmax(high_arr <= low_arr))
            raise ValueError(f"'high' must exceed 'low' in every coordinate, got low={low_arr[j]!r}, high={high_arr[j]!r} at index {j}")
        low_arr.flags.writeable = False
        high_arr.flags.writeable = False
        object.__setattr__(self, "bits", bits)
        object.__setattr__(self, "low", low_arr)
        object.__setattr__(self, "high", high_arr)

    @classmethod
    def symmetric(cls, bits: int, radius: float | np.ndarray, size: int | None = None) -> FixedPointEncoding:
        """The grid on [-radius, radius] (per coordinate if ``radius`` is an array)."""
        radius = np.asarray(radius, dtype=np.float64)
        return cls(bits, -radius, radius, size=size)

    @property
    def size(self) -> int:
        """n, the number of real coordinates."""
        return int(self.low.size)

    @property
    def num_variables(self) -> int:
        """n*K, the number of binary variables."""
        return self.size * self.bits

    @property
    def levels(self) -> int:
        """2^K, the number of values per coordinate."""
        return 1 << self.bits

    @property
    def step(self) -> np.ndarray:
        """Grid spacing per coordinate, (high - low) / (2^K - 1)."""
        return (self.high - self.low) / (self.levels - 1)

    @property
    def powers(self) -> np.ndarray:
        """(1, 2, ..., 2^{K-1}) as float64."""
        return np.ldexp(1.0, np.arange(self.bits))

    @property
    def bit_weights(self) -> np.ndarray:
        """The nonzero entries of E, flat: ``step_j * 2^k`` at index ``j*K + k``."""
        return np.outer(self.step, self.powers).ravel()

    def matrix(self) -> np.ndarray:
        """E, the dense n x nK matrix with x = low + E b."""
        n, k = self.size, self.bits
        e = np.zeros((n, n * k))
        rows = np.repeat(np.arange(n), k)
        e[rows, np.arange(n * k)] = self.bit_weights
        return e

    def decode(self, bits: np.ndarray) -> np.ndarray:
        """Values from bits; ``bits`` has shape (..., n*K) with entries in {0, 1}."""
        b = np.asarray(bits, dtype=np.float64)
        if b.shape[-1:] != (self.num_variables,):
            raise ValueError(f"'bits' must have last dimension {self.num_variables}, got shape {b.shape}")
        ints = b.reshape(*b.shape[:-1], self.size, self.bits) @ self.powers
        return self.low + self.step * ints

    def quantize_index(self, values: np.ndarray) -> np.ndarray:
        """Index in [0, 2^K - 1] of the nearest grid value (values outside the box are clipped)."""
        v = np.asarray(values, dtype=np.float64)
        if v.shape[-1:] != (self.size,):
            raise ValueError(f"'values' must have last dimension {self.size}, got shape {v.shape}")
        if not np.all(np.isfinite(v)):
            raise ValueError("'values' must be finite")
        idx = np.rint((v - self.low) / self.step)
        return np.clip(idx, 0, self.levels - 1).astype(np.int64)

    def encode(self, values: np.ndarray) -> np.ndarray:
        """Bits (int8, shape (..., n*K)) of the grid value nearest to ``values``."""
        idx = self.quantize_index(values)
        bits = (idx[..., None] >> np.arange(self.bits)) & 1
        return bits.reshape(*idx.shape[:-1], self.num_variables).astype(np.int8)

    def round(self, values: np.ndarray) -> np.ndarray:
        """The grid value nearest to ``values`` (clipped to the box)."""
        return self.low + self.step * self.quantize_index(values)
