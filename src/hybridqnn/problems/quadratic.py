"""Quadratic objectives over fixed-point-encoded variables, as binary quadratic models.

For f(x) = 1/2 x^T H x + g^T x + c with x = a + E b (:class:`FixedPointEncoding`, a = ``low``)
and bits b, using b_i^2 = b_i:

    f = 1/2 b^T Q b + (E^T (H a + g))^T b + 1/2 a^T H a + g^T a + c,     Q = E^T H E,

so the BINARY model has
    linear bias   q_i  = 1/2 Q_ii + [E^T (H a + g)]_i,
    quadratic     Q_il (i < l; Q is symmetric so each pair counts once),
    offset             1/2 a^T H a + g^T a + c,
and its energy equals f(x) exactly for every bit string, not only up to a constant. With bit
(j, k) at index j*K + k, Q_{(j,k),(l,m)} = step_j step_l 2^{k+m} H_jl: every bit couples to
every bit whose coordinates interact, so the model is dense when H is.

:func:`quadratic_to_bqm` returns it as a ``dimod.BinaryQuadraticModel`` for any dimod sampler;
:func:`quadratic_to_dense` returns the same model in spin form (:class:`DenseIsing`) for many
linear terms at once, sharing one coupling matrix (the head's C class problems differ only in g).
"""

from __future__ import annotations

import dimod
import numpy as np

from hybridqnn.problems.dense import DenseIsing
from hybridqnn.problems.encoding import FixedPointEncoding


def _check(h: np.ndarray, g: np.ndarray, encoding: FixedPointEncoding) -> None:
    n = encoding.size
    if h.shape != (n, n):
        raise ValueError(f"'hessian' must have shape ({n}, {n}) to match the encoding, got {h.shape}")
    if g.shape[-1:] != (n,):
        raise ValueError(f"'linear' must have shape ({n},) to match the encoding, got {g.shape}")
    if not (np.all(np.isfinite(h)) and np.all(np.isfinite(g))):
        raise ValueError("'hessian' and 'linear' must be finite")


def _coupling(h: np.ndarray, encoding: FixedPointEncoding) -> tuple[np.ndarray, np.ndarray]:
    """Q = E^T H E (full, symmetric, with its diagonal) and the flat bit weights w (E's nonzeros)."""
    w = encoding.bit_weights
    k = encoding.bits
    q = np.repeat(np.repeat(h, k, axis=0), k, axis=1)
    q *= w[:, None]
    q *= w[None, :]
    return q, w


def _linear_and_offset(
    h: np.ndarray, g: np.ndarray, encoding: FixedPointEncoding, q_diag: np.ndarray, w: np.ndarray, offset: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """BINARY linear biases (rows, one per g) and offsets."""
    a = encoding.low
    lin = 0.5 * q_diag + w * np.repeat(h @ a + g, encoding.bits, axis=-1)
    const = 0.5 * a @ h @ a + g @ a + offset
    return lin, const


def quadratic_to_bqm(
    hessian: np.ndarray, linear: np.ndarray, encoding: FixedPointEncoding, offset: float = 0.0
) -> dimod.BinaryQuadraticModel:
    """The BINARY BQM of f(x) = 1/2 x^T H x + g^T x + c over the encoded x (module docstring).

    Args:
        hessian: H, (n, n). Only its symmetric part is used.
        linear: g, shape (n,).
        encoding: the fixed-point encoding of x (size n).
        offset: c, a constant added to the energy.

    Returns:
        A ``dimod.BinaryQuadraticModel`` over integer labels 0..nK-1 (vartype BINARY).
    """
    h = np.asarray(hessian, dtype=np.float64)
    g = np.asarray(linear, dtype=np.float64)
    _check(h, g, encoding)
    if g.ndim != 1:
        raise ValueError(f"'linear' must have shape ({encoding.size},), got {g.shape}")
    h = 0.5 * (h + h.T)
    q, w = _coupling(h, encoding)
    lin, const = _linear_and_offset(h, g, encoding, np.diag(q).copy(), w, np.float64(offset))
    np.fill_diagonal(q, 0.0)
    return dimod.BinaryQuadraticModel(lin, np.triu(q), float(const), dimod.BINARY)


def quadratic_to_dense(
    hessian: np.ndarray, linear: np.ndarray, encoding: FixedPointEncoding, offset: float | np.ndarray = 0.0
) -> list[DenseIsing]:
    """The same models as :func:`quadratic_to_bqm`, in spin form, one per row of ``linear``.

    With b = (1 + s)/2 the BINARY model (q, Q, c) becomes J = Q_offdiag / 4,
    h = q/2 + Q_offdiag 1 / 4 and offset c + sum(q)/2 + sum_{i<l} Q_il / 4. All returned models
    share one J array (built once), so C class problems cost one coupling matrix.

    Args:
        hessian: H, (n, n).
        linear: g, shape (n,) or (m, n) for m problems sharing H.
        encoding: the fixed-point encoding of x (size n).
        offset: c, a scalar or one per row of ``linear``.
    """
    h = np.asarray(hessian, dtype=np.float64)
    g = np.atleast_2d(np.asarray(linear, dtype=np.float64))
    _check(h, g, encoding)
    h = 0.5 * (h + h.T)
    offsets = np.broadcast_to(np.asarray(offset, dtype=np.float64), (g.shape[0],))
    q, w = _coupling(h, encoding)
    q_diag = np.diag(q).copy()
    np.fill_diagonal(q, 0.0)
    row_sums = q.sum(axis=1)
    pair_sum = 0.5 * row_sums.sum()
    q *= 0.25
    lin, const = _linear_and_offset(h, g, encoding, q_diag, w, offsets)
    fields = 0.5 * lin + 0.25 * row_sums
    offs = const + 0.5 * lin.sum(axis=1) + 0.25 * pair_sum
    # H and g were checked finite above, so every model is; J (n^2 entries) is shared unchecked
    return [DenseIsing._from_checked(fields[i], q, float(offs[i])) for i in range(g.shape[0])]


def quadratic_objective(hessian: np.ndarray, linear: np.ndarray, x: np.ndarray, offset: float = 0.0) -> np.ndarray:
    """f(x) = 1/2 x^T H x + g^T x + c, for x of shape (..., n)."""
    x = np.asarray(x, dtype=np.float64)
    h = 0.5 * (np.asarray(hessian) + np.asarray(hessian).T)
    return 0.5 * np.einsum("...i,ij,...j->...", x, h, x) + x @ np.asarray(linear) + offset
