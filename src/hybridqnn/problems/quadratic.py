"""Quadratic objectives over fixed-point-encoded variables, as binary quadratic models."""

from __future__ import annotations

import dimod
import numpy as np

from hybridqnn.problems.encoding import FixedPointEncoding


def quadratic_to_bqm(
    hessian: np.ndarray, linear: np.ndarray, encoding: FixedPointEncoding, offset: float = 0.0
) -> dimod.BinaryQuadraticModel:
    """Build the BQM of f(x) = 1/2 x^T H x + g^T x + c with x = low + E b encoded by ``encoding``.

    Substituting x = a + E b (a = ``encoding.low``) and using b_i^2 = b_i for bits:

        f = 1/2 b^T (E^T H E) b + (E^T (H a + g))^T b + 1/2 a^T H a + g^T a + c

    so the BINARY BQM has
        linear bias   h_i  = 1/2 Q_ii + [E^T (H a + g)]_i,      Q = E^T H E,
        quadratic     J_il = Q_il  (i < l; Q is symmetric so the pair counts once),
        offset             = 1/2 a^T H a + g^T a + c,
    and its energy equals f(x) exactly for every bit string, not only up to a constant. With
    bit (j, k) at index j*K + k, Q_{(j,k),(l,m)} = step_j step_l 2^{k+m} H_jl: every bit couples
    to every other bit whose coordinates interact, so the model is dense when H is.

    Args:
        hessian: H, symmetric (n, n). Only its symmetric part is used.
        linear: g, shape (n,).
        encoding: the fixed-point encoding of x (size n).
        offset: c, a constant added to the energy.

    Returns:
        A ``dimod.BinaryQuadraticModel`` over integer labels 0..nK-1 (vartype BINARY).
    """
    h = np.asarray(hessian, dtype=np.float64)
    g = np.asarray(linear, dtype=np.float64)
    n = encoding.size
    if h.shape != (n, n):
        raise ValueError(f"'hessian' must have shape ({n}, {n}) to match the encoding, got {h.shape}")
    if g.shape != (n,):
        raise ValueError(f"'linear' must have shape ({n},) to match the encoding, got {g.shape}")
    if not (np.all(np.isfinite(h)) and np.all(np.isfinite(g))):
        raise ValueError("'hessian' and 'linear' must be finite")
    h = 0.5 * (h + h.T)
    a = encoding.low
    w = encoding.bit_weights  # the nonzeros of E, flat
    k = encoding.bits
    q = np.repeat(np.repeat(h, k, axis=0), k, axis=1)
    q *= w[:, None]
    q *= w[None, :]
    lin = 0.5 * np.diag(q) + w * np.repeat(h @ a + g, k)
    const = 0.5 * a @ h @ a + g @ a + float(offset)
    np.fill_diagonal(q, 0.0)
    return dimod.BinaryQuadraticModel(lin, np.triu(q), const, dimod.BINARY)


def quadratic_objective(hessian: np.ndarray, linear: np.ndarray, x: np.ndarray, offset: float = 0.0) -> np.ndarray:
    """f(x) = 1/2 x^T H x + g^T x + c, for x of shape (..., n)."""
    x = np.asarray(x, dtype=np.float64)
    h = 0.5 * (np.asarray(hessian) + np.asarray(hessian).T)
    return 0.5 * np.einsum("...i,ij,...j->...", x, h, x) + x @ np.asarray(linear) + offset
