"""The classical reference for quadratics over a fixed-point grid: round, then polish.

Fixed-point least-squares QUBOs are hard for annealers because their coefficients span about
4^K; the continuous problem, in contrast, is a small convex QP. The reference solution of

    min_x 1/2 x^T H x + g^T x   over the grid {low + step * i}^n   (H positive definite)

is the continuous minimiser over the box [low, high]^n, rounded to the nearest grid point and
then polished by steepest single-flip descent (:func:`polish_dense`, on the dense spin model), i.e. a
1-flip local minimum next to the continuous optimum. Every QUBO solve in hybridqnn is reported
next to this reference so users can see whether a sampler adds anything.
"""

from __future__ import annotations

import dimod
import numpy as np
import scipy.linalg
import scipy.optimize

from hybridqnn.problems import DenseIsing, FixedPointEncoding, quadratic_to_dense
from hybridqnn.solvers import kernels


def box_qp_minimizer(hessian: np.ndarray, linear: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """argmin over the box [low, high] of 1/2 x^T H x + g^T x, for H positive definite.

    ``linear`` may be (n,) or a batch (m, n) sharing H. The unconstrained minimiser -H^{-1} g is
    taken when it lies in the box; otherwise the problem is solved as the bounded least-squares
    problem min ||L^T x + L^{-1} g||^2 (H = L L^T) with ``scipy.optimize.lsq_linear``.
    """
    g = np.atleast_2d(np.asarray(linear, dtype=np.float64))
    chol = scipy.linalg.cho_factor(hessian, lower=True)
    x = -scipy.linalg.cho_solve(chol, g.T).T
    outside = np.any((x < low) | (x > high), axis=1)
    if np.any(outside):
        lower = np.tril(chol[0])
        a = lower.T
        for i in np.flatnonzero(outside):
            b = -scipy.linalg.solve_triangular(lower, g[i], lower=True)
            x[i] = scipy.optimize.lsq_linear(a, b, bounds=(low, high), method="bvls").x
    return x if np.ndim(linear) == 2 else x[0]


def polish_dense(model: DenseIsing, spins: np.ndarray) -> tuple[np.ndarray, float]:
    """Steepest single-flip descent from ``spins`` to a 1-flip local minimum: (spins, energy)."""
    work = np.ascontiguousarray(np.asarray(spins, dtype=np.float64).reshape(1, model.num_variables))
    if model.num_variables:
        kernels.steepest_descent(np.ascontiguousarray(model.J), np.ascontiguousarray(model.h), work)
    return work[0].astype(np.int8), float(model.energies(work)[0])


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
        hessian, linear, offset: H, g and c of the quadratic.
        encoding: the grid.
        x_continuous: the box minimiser if the caller already has it (batched callers do).
    """
    if x_continuous is None:
        x_continuous = box_qp_minimizer(hessian, linear, encoding.low, encoding.high)
    (model,) = quadratic_to_dense(hessian, linear, encoding, offset)
    spins, energy = polish_dense(model, 2 * encoding.encode(x_continuous) - 1)
    return ((spins + 1) // 2).astype(np.int8), energy
