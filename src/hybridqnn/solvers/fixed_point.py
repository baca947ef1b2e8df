"""Numba kernels on the grid itself: moves of :func:`hybridqnn.solvers.kernels.anneal_fixed_point`
and of :func:`hybridqnn.solvers.kernels.steepest_descent` on a :class:`FixedPointQuadratic`.

A state is one integer u_j in [0, 2^K - 1] per coordinate (x_j = low_j + step_j u_j; bit k of
u_j is the spin j*K + k, b = (1 + s)/2). The kernels keep the gradient G = H x + g, so a move
x_j -> x_j + delta changes the energy by

    dE = delta G_j + delta^2 H_jj / 2

(O(1)) and updates G by delta H_j (O(n)), where the dense spin model pays O(nK) per flipped bit
for its local fields and O((nK)^2) to build J. The Markov chains are those of the spin kernels,
move for move and random number for random number (the same xorshift streams, the same
proposal order, the same Metropolis test), so for a seed they visit the same states up to
floating-point rounding of dE. The kernels release the GIL and call no BLAS.
"""

from __future__ import annotations

import numba
import numpy as np

from hybridqnn.problems.quadratic import FixedPointQuadratic
from hybridqnn.solvers.kernels import _next_uniform, local_fields, metropolis_accepts
from hybridqnn.solvers.sampling import DEFAULT_BETA_RANGE, beta_range_from_fields


def spins_to_ints(spins: np.ndarray, bits: int) -> np.ndarray:
    """The integers u (R, n) int64 of spins (R, n*K)."""
    b = (np.asarray(spins, dtype=np.int64).reshape(spins.shape[0], -1, bits) + 1) // 2
    return b @ (np.int64(1) << np.arange(bits, dtype=np.int64))


def ints_to_spins(ints: np.ndarray, bits: int) -> np.ndarray:
    """The spins (R, n*K) int8 of integers u (R, n)."""
    b = (ints[..., None] >> np.arange(bits, dtype=np.int64)) & 1
    return (2 * b - 1).reshape(ints.shape[0], -1).astype(np.int8)


def flip_costs(model: FixedPointQuadratic, ints: np.ndarray) -> np.ndarray:
    """dE of flipping each single bit at one state u (n,): (n*K,), in the spin order (the
    ``uphill`` of :func:`hybridqnn.solvers.sampling.beta_range_from_fields`)."""
    enc = model.encoding
    x = enc.low + enc.step * ints
    grad = model.hessian @ x + model.linear
    bit = (ints[:, None] >> np.arange(enc.bits)) & 1
    delta = (1 - 2 * bit) * np.outer(enc.step, enc.powers)
    return (delta * grad[:, None] + 0.5 * delta**2 * np.diag(model.hessian)[:, None]).ravel()


def coefficient_stats(model: FixedPointQuadratic) -> tuple[np.ndarray, float]:
    """:func:`hybridqnn.solvers.kernels.coefficient_stats` of ``model.to_dense()`` (per spin
    h_i^2 + sum_l J_il^2, and the smallest nonzero |coefficient|) in closed form, O(n^2 + nK).

    With bit weights w_jk = step_j 2^k and the box midpoint c, the spin model of
    :func:`hybridqnn.problems.quadratic_to_dense` has h_jk = w_jk (H c + g)_j / 2 and
    J_(jk),(lm) = w_jk w_lm H_jl / 4, so sum_(lm) J^2 = (w_jk^2 / 16) (sum_l H_jl^2 step_l^2
    (4^K - 1) / 3 - H_jj^2 w_jk^2); the smallest |J| pairs the lowest bits (k = m = 0 across
    coordinates, k = 0 and m = 1 within one).
    """
    enc, hess = model.encoding, model.hessian
    w = np.outer(enc.step, enc.powers)
    diag = np.diag(hess)
    fields = 0.5 * w * (hess @ (0.5 * (enc.low + enc.high)) + model.linear)[:, None]
    rows = (hess**2) @ enc.step**2 * ((4.0**enc.bits - 1.0) / 3.0)
    couplings = np.maximum(w**2 / 16.0 * (rows[:, None] - (diag**2)[:, None] * w**2), 0.0)
    lowest = np.abs(hess) * np.outer(enc.step, enc.step) / 4.0
    np.fill_diagonal(lowest, np.abs(diag) * enc.step**2 / 2.0 if enc.bits > 1 else 0.0)
    candidates = np.concatenate([np.abs(fields[:, 0]), lowest.ravel()])
    candidates = candidates[candidates > 0]
    return (fields**2 + couplings).ravel(), float(candidates.min()) if candidates.size else 0.0


def beta_range(model: FixedPointQuadratic, ints: np.ndarray | None = None) -> tuple[float, float]:
    """:func:`hybridqnn.solvers.sampling.beta_range_dense` of ``model.to_dense()`` from the warm
    start ``ints`` (n,) or, if None, cold, without the dense model: the flip costs at a state
    are :func:`flip_costs`, the field statistics :func:`coefficient_stats`, and the local
    minimum comes from :func:`steepest_descent` on the grid from the same seeded random spins."""
    if ints is not None:
        return beta_range_from_fields(uphill=flip_costs(model, ints))
    squares, smallest = coefficient_stats(model)
    if smallest == 0.0:
        return DEFAULT_BETA_RANGE
    enc = model.encoding
    start = np.random.default_rng(0).choice(np.array([-1.0, 1.0]), size=(1, model.num_variables))
    local = spins_to_ints(start, enc.bits)
    steepest_descent(np.ascontiguousarray(model.hessian), model.linear, local, enc.low, enc.step, enc.bits)
    return beta_range_from_fields(
        typical_flips=2.0 * np.sqrt(squares), local_minimum_uphill=flip_costs(model, local[0]), min_coefficient=2.0 * smallest
    )


@numba.njit(cache=True, nogil=True, inline="always")
def _move(u: np.ndarray, x: np.ndarray, grad: np.ndarray, H: np.ndarray, low: np.ndarray, step: np.ndarray, j: int, du: int) -> None:
    """u_j += du, with x and G = H x + g updated (x_j recomputed from u_j: no drift)."""
    u[j] += du
    new = low[j] + step[j] * u[j]
    delta = new - x[j]
    x[j] = new
    row = H[j]
    for i in range(grad.shape[0]):
        grad[i] += delta * row[i]


@numba.njit(cache=True, nogil=True)
def anneal(
    H: np.ndarray,
    g: np.ndarray,
    ints: np.ndarray,
    low: np.ndarray,
    step: np.ndarray,
    betas: np.ndarray,
    bits: int,
    rng_state: np.ndarray,
) -> None:
    """Metropolis annealing with the integer moves u_j -> u_j +- 2^m, in place on ``ints``
    (R, n): each replica ends on the lowest-energy state it visited.

    A sweep proposes, for every coordinate j and level m in 0..K-1, the move +-2^m (the sign
    drawn first, one uniform); a move that leaves [0, 2^K - 1] is skipped (in spin terms, the
    carry found no bit to stop it). These are the proposals of
    :func:`hybridqnn.solvers.kernels.anneal_fixed_point` in its order.
    """
    num_reads, n = ints.shape
    top = (1 << bits) - 1
    diag = np.empty(n)
    for j in range(n):
        diag[j] = H[j, j]
    for r in range(num_reads):
        u = ints[r]
        best = u.copy()
        x = low + step * u
        grad = local_fields(H, g, x)  # H x + g: the fields' loop, without BLAS
        energy = 0.0
        best_energy = 0.0
        for k in range(betas.shape[0]):
            beta = betas[k]
            for j in range(n):
                for m in range(bits):
                    du = (1 << m) if _next_uniform(rng_state, r) < 0.5 else -(1 << m)
                    if u[j] + du < 0 or u[j] + du > top:
                        continue
                    delta = step[j] * du
                    de = delta * grad[j] + 0.5 * delta * delta * diag[j]
                    if not metropolis_accepts(de, beta, rng_state, r):
                        continue
                    _move(u, x, grad, H, low, step, j, du)
                    energy += de
                    if energy < best_energy:
                        best_energy = energy
                        best[:] = u
        u[:] = best


@numba.njit(cache=True, nogil=True)
def steepest_descent(H: np.ndarray, g: np.ndarray, ints: np.ndarray, low: np.ndarray, step: np.ndarray, bits: int) -> None:
    """Steepest single-bit descent to a 1-flip local minimum, in place on ``ints`` (R, n): the
    descent of :func:`hybridqnn.solvers.kernels.steepest_descent` on the bit model (each step
    flips the bit with the most negative dE, the lowest index on ties; it stops when no flip
    lowers the energy by more than 1e-12 of the largest spin field |dE| / 2 at the start)."""
    num_reads, n = ints.shape
    for r in range(num_reads):
        u = ints[r]
        x = low + step * u
        grad = local_fields(H, g, x)  # H x + g: the fields' loop, without BLAS
        scale = 0.0
        for j in range(n):
            for m in range(bits):
                delta = step[j] * (-(1 << m) if (u[j] >> m) & 1 else (1 << m))
                scale = max(scale, 0.5 * abs(delta * grad[j] + 0.5 * delta * delta * H[j, j]))
        tol = 1e-12 * max(scale, 1e-300)
        for _ in range(100 * n * bits + 100):
            best = -tol
            arg_j = -1
            arg_du = 0
            for j in range(n):
                for m in range(bits):
                    du = -(1 << m) if (u[j] >> m) & 1 else (1 << m)
                    delta = step[j] * du
                    de = delta * grad[j] + 0.5 * delta * delta * H[j, j]
                    if de < best:
                        best = de
                        arg_j = j
                        arg_du = du
            if arg_j < 0:
                break
            _move(u, x, grad, H, low, step, arg_j, arg_du)
