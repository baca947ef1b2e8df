"""The classical reference for quadratics over a fixed-point grid: round, then polish.

Fixed-point least-squares QUBOs are hard for annealers because their coefficients span about
4^K; the continuous problem, in contrast, is a small convex QP. The reference solution of

    min_x 1/2 x^T H x + g^T x   over the grid {low + step * i}^n   (H positive definite)

is the continuous minimiser over the box [low, high]^n, rounded to the nearest grid point and
then polished by steepest single-flip descent (:func:`polish_dense` on the dense spin model, or
:func:`polish_fixed_point` on the grid, the same descent without the couplings), i.e. a 1-flip
local minimum next to the continuous optimum. Every QUBO solve in hybridqnn is reported
next to this reference so users can see whether a sampler adds anything.
"""

from __future__ import annotations

import dimod
import numpy as np
import scipy.linalg
import scipy.optimize

from hybridqnn.problems import DenseIsing, FixedPointEncoding, FixedPointQuadratic
from hybridqnn.solvers import fixed_point, kernels


def box_qp_minimizer(hessian: np.ndarray, linear: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """argmin over the box [low, high] of 1/2 x^T H x + g^T x, for H positive definite.

    ``linear`` may be (n,) or a batch (m, n) sharing H. The unconstrained minimiser -H^{-1} g is
    taken when it lies in the box; otherwise the primal-dual active-set method
    (:func:`_active_set`) starts from it, and should it not settle, the problem is solved as
    the bounded least-squares problem min ||L^T x + L^{-1} g||^2 (H = L L^T) with
    ``scipy.optimize.lsq_linear`` (BVLS).
    """
    g = np.atleast_2d(np.asarray(linear, dtype=np.float64))
    chol = scipy.linalg.cho_factor(hessian, lower=True)
    x = -scipy.linalg.cho_solve(chol, g.T).T
    outside = np.any((x < low) | (x > high), axis=1)
    for i in np.flatnonzero(outside):
        solved = _active_set(hessian, g[i], low, high, x[i])
        if solved is None:
            lower = np.tril(chol[0])
            b = -scipy.linalg.solve_triangular(lower, g[i], lower=True)
            solved = scipy.optimize.lsq_linear(lower.T, b, bounds=(low, high), method="bvls").x
        x[i] = solved
    return x if np.ndim(linear) == 2 else x[0]


def _active_set(
    hessian: np.ndarray, g: np.ndarray, low: np.ndarray, high: np.ndarray, x: np.ndarray, max_iter: int = 50
) -> np.ndarray | None:
    """The box-QP minimiser by the primal-dual active-set method (Hintermueller, Ito & Kunisch,
    SIAM J. Optim. 13 (2003) 865), or None if it has not settled after ``max_iter`` steps.

    With the multiplier mu = -(H x + g) (zero on free coordinates), a step fixes at ``high`` the
    coordinates with x_i + mu_i / H_ii > high_i, at ``low`` those with x_i + mu_i / H_ii < low_i,
    and solves H_FF x_F = -(g + H_{F,A} x_A)_F for the free rest. When the sets repeat, x and mu
    satisfy the KKT conditions: the unique minimiser. From the unconstrained minimiser ``x``
    it takes a few steps where BVLS takes about as many least-squares solves per active bound.
    """
    scale = np.diag(hessian)
    mu = np.zeros_like(x)
    previous = None
    for _ in range(max_iter):
        trial = x + mu / scale
        upper, lower = trial > high, trial < low
        key = (upper.tobytes(), lower.tobytes())
        if key == previous:
            return x
        previous = key
        free = ~(upper | lower)
        x = np.where(upper, high, np.where(lower, low, 0.0))
        if np.any(free):
            rhs = -(g[free] + hessian[np.ix_(free, ~free)] @ x[~free])
            try:
                x[free] = scipy.linalg.solve(hessian[np.ix_(free, free)], rhs, assume_a="pos")
            except np.linalg.LinAlgError:
                return None
        mu = -(hessian @ x + g)
        mu[free] = 0.0
    return None


def polish_dense(model: DenseIsing, spins: np.ndarray) -> tuple[np.ndarray, float]:
    """Steepest single-flip descent from ``spins`` to a 1-flip local minimum: (spins, energy)."""
    work = np.ascontiguousarray(np.asarray(spins, dtype=np.float64).reshape(1, model.num_variables))
    if model.num_variables:
        kernels.steepest_descent(np.ascontiguousarray(model.J), np.ascontiguousarray(model.h), work)
    return work[0].astype(np.int8), float(model.energies(work)[0])


def polish_fixed_point(model: FixedPointQuadratic, spins: np.ndarray) -> tuple[np.ndarray, float]:
    """:func:`polish_dense` on the grid: the same steepest single-flip descent (O(nK) per step
    and no O((nK)^2) couplings, :func:`hybridqnn.solvers.fixed_point.steepest_descent`) from
    ``spins`` (nK,) to a 1-flip local minimum: (spins, energy)."""
    enc = model.encoding
    ints = fixed_point.spins_to_ints(np.asarray(spins).reshape(1, model.num_variables), enc.bits)
    if model.num_variables:
        fixed_point.steepest_descent(np.ascontiguousarray(model.hessian), model.linear, ints, enc.low, enc.step, enc.bits)
    out = fixed_point.ints_to_spins(ints, enc.bits)
    return out[0], float(model.energies(out)[0])


def polish(bqm: dimod.BinaryQuadraticModel, state: np.ndarray) -> tuple[np.ndarray, float]:
    """Steepest single-flip descent on any BQM from ``state`` (``bqm.variables`` order, in the
    BQM's vartype) to a 1-flip local minimum: (state, energy recomputed from the BQM)."""
    model, labels = DenseIsing.from_bqm(bqm)
    x = np.asarray(state).reshape(len(labels))
    spins = 2 * x - 1 if bqm.vartype is dimod.BINARY else x
    out, _ = polish_dense(model, spins)
    result = ((out + 1) // 2).astype(np.int8) if bqm.vartype is dimod.BINARY else out
    return result, float(bqm.energy((result, labels))) if labels else float(bqm.offset)


def grid_reference(
    hessian: np.ndarray,
    linear: np.ndarray,
    encoding: FixedPointEncoding,
    offset: float = 0.0,
    x_continuous: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """Reference bits and energy for the grid QUBO of (H, g, c) (see
    :func:`hybridqnn.problems.quadratic_to_bqm`): the box minimiser rounded to the grid, then
    polished by steepest descent.

    Args:
        hessian: H of the quadratic.
        linear: g of the quadratic.
        encoding: the grid.
        offset: c of the quadratic.
        x_continuous: the box minimiser if the caller already has it (batched callers do).
    """
    if x_continuous is None:
        x_continuous = box_qp_minimizer(hessian, linear, encoding.low, encoding.high)
    model = FixedPointQuadratic(hessian, linear, encoding, offset)
    spins, energy = polish_fixed_point(model, 2 * encoding.encode(x_continuous) - 1)
    return ((spins + 1) // 2).astype(np.int8), energy
