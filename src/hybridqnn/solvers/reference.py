"""The classical reference for quadratics over a fixed-point grid: round, then polish.

Fixed-point least-squares QUBOs are hard for annealers because their coefficients span about
4^K; the continuous problem, in contrast, is a small convex QP. The reference solution of

    min_x 1/2 x^T H x + g^T x   over the grid {low + step * i}^n   (H positive definite)

is the continuous minimiser over the box [low, high]^n, rounded to the nearest grid point and
then polished by steepest descent on the BQM (dwave-samplers ``SteepestDescentSolver``), i.e. a
1-flip local minimum next to the continuous optimum. Every QUBO solve in hybridqnn is reported
next to this reference so users can see whether a sampler adds anything.
"""

from __future__ import annotations

import dimod
import numpy as np
import scipy.linalg
import scipy.optimize

from hybridqnn.problems.encoding import FixedPointEncoding


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


def polish(bqm: dimod.BinaryQuadraticModel, state: np.ndarray) -> tuple[np.ndarray, float]:
    """Steepest single-flip descent from ``state`` (``bqm.variables`` order) to a local minimum."""
    from dwave.samplers import SteepestDescentSolver

    ss = SteepestDescentSolver().sample(bqm, initial_states=(np.asarray(state).reshape(1, -1), list(bqm.variables)))
    best = ss.first
    return np.array([best.sample[v] for v in bqm.variables], dtype=np.int8), float(best.energy)


def grid_reference(
    hessian: np.ndarray,
    linear: np.ndarray,
    encoding: FixedPointEncoding,
    bqm: dimod.BinaryQuadraticModel,
    x_continuous: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """Reference bits and energy for the BQM of :func:`hybridqnn.problems.quadratic_to_bqm`.

    Args:
        hessian, linear: H and g of the quadratic (the BQM must encode exactly this quadratic).
        encoding: the grid.
        bqm: the BQM built from (H, g, encoding), labels 0..nK-1.
        x_continuous: the box minimiser if the caller already has it (batched callers do).
    """
    if x_continuous is None:
        x_continuous = box_qp_minimizer(hessian, linear, encoding.low, encoding.high)
    return polish(bqm, encoding.encode(x_continuous))
