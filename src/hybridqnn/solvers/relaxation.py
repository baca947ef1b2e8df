"""Starts from the box relaxation, for dense SA's cold starts on fixed-point problems.

A dense spin model E(s) = offset + h^T s + 1/2 s^T J s whose n variables are m consecutive
groups of K bits (``fixed_point_bits``, least significant first; the layout of
:class:`hybridqnn.problems.FixedPointEncoding`) is, when :func:`hybridqnn.problems.quadratic_to_dense`
or :func:`~hybridqnn.problems.quadratic_to_bqm` built it (the head and QCBO problems), a quadratic
in the groups' spin integers v_a = sum_k 2^k s_{a,k}, odd integers in [-L, L] with L = 2^K - 1:

    E(s) = c + g^T v + 1/2 v^T M v,  J_{(a,k),(b,l)} = 2^(k+l) M_ab for (a,k) != (b,l),
    h_{(a,k)} = 2^k g_a

(the within-group diagonal terms 4^k M_aa s_{a,k}^2 are constants on spins, in c).
:func:`fixed_point_quadratic` reads M and g off J and h and checks that every coefficient has
that form. On such a model the integer problem min_v E has the box relaxation

    min_{y in [-1, 1]^m} (L g)^T y + 1/2 y^T (L^2 M) y,  v = L y,

which :func:`relaxed_starts` approaches with a fixed number of accelerated projected-gradient
steps (FISTA, Beck and Teboulle 2009) from each read's own random state, then rounds to the grid.
Single flips and the integer moves of :func:`hybridqnn.solvers.kernels.anneal_fixed_point`
are coordinate moves; on an ill-conditioned M (MNIST head problems: condition number about
2e4) they need thousands of sweeps to travel along the valley of E that gradient steps follow
in a few hundred. The start is approximate, and not the classical reference (that one solves
the relaxation to optimality, rounds and polishes); the anneal then works from it.
"""

from __future__ import annotations

import numba
import numpy as np

from hybridqnn.problems.quadratic import FixedPointQuadratic

#: Accelerated projected-gradient steps per read (:func:`relaxed_starts`). On the MNIST head
#: problem at K = 20 (m = 129, condition number 1.7e4) the rounded start is then about 0.01%
#: above the rounded-continuous reference (300 steps: 0.4%; 100: 22%).
RELAXATION_STEPS = 1000
#: Relative tolerance of :func:`fixed_point_quadratic`'s check of each coefficient.
STRUCTURE_RTOL = 1e-9


@numba.njit(cache=True, nogil=True)
def _read_quadratic(J: np.ndarray, h: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """M, g read off the first bits of each group, and whether every coefficient matches them."""
    m = h.shape[0] // bits
    M = np.empty((m, m))
    g = np.empty(m)
    for a in range(m):
        g[a] = h[a * bits]
        for b in range(m):
            M[a, b] = J[a * bits, b * bits] if a != b else 0.5 * J[a * bits, a * bits + 1]
    for a in range(m):
        row_scale = abs(g[a])
        for b in range(m):
            row_scale += abs(M[a, b]) * (2.0**bits)
        for k in range(bits):
            i = a * bits + k
            wk = 2.0**k
            if abs(h[i] - wk * g[a]) > STRUCTURE_RTOL * wk * row_scale:
                return M, g, False
            for b in range(m):
                for q in range(bits):
                    j = b * bits + q
                    expected = 0.0 if i == j else wk * (2.0**q) * M[a, b]
                    if abs(J[i, j] - expected) > STRUCTURE_RTOL * abs(expected):
                        return M, g, False
    return M, g, True


def fixed_point_quadratic(J: np.ndarray, h: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(M, g) of the module docstring if the spin model (h, J) is a quadratic in its K-bit
    groups' integers (every coefficient within :data:`STRUCTURE_RTOL` of that form), else None.
    One pass over J; ``bits`` must divide n, and K = 1 (no within-group coupling to read M_aa
    from) gives None."""
    if bits < 2 or h.shape[0] == 0 or h.shape[0] % bits:
        return None
    M, g, ok = _read_quadratic(np.ascontiguousarray(J, dtype=np.float64), np.ascontiguousarray(h, dtype=np.float64), int(bits))
    return (M, g) if ok else None


def grid_quadratic(model: FixedPointQuadratic) -> tuple[np.ndarray, np.ndarray] | None:
    """(M, g) of the module docstring for a :class:`~hybridqnn.problems.FixedPointQuadratic`
    f(x) = 1/2 x^T H x + g_x^T x + c on the grid x = low + step u, u in [0, L]: with
    u = (v + L) / 2, x = a + D v (a = low + step L / 2, D = diag(step / 2)), so

        M = D H D,  g = D (H a + g_x),

    the same quadratic :func:`fixed_point_quadratic` reads off the dense model, without it.
    None for K = 1, as there."""
    bits = model.encoding.bits
    if bits < 2 or model.num_variables == 0:
        return None
    top = 2.0**bits - 1.0
    step = np.asarray(model.encoding.step, dtype=np.float64) / 2.0
    centre = np.asarray(model.encoding.low, dtype=np.float64) + np.asarray(model.encoding.step) * top / 2.0
    M = step[:, None] * model.hessian * step[None, :]
    return M, step * (model.hessian @ centre + model.linear)


def _largest_eigenvalue(A: np.ndarray, iters: int = 100) -> float:
    """|lambda|_max of the symmetric A by power iteration from a fixed start, raised by 10% so
    that it bounds the true value in practice (a step of 1 / that is then safe)."""
    x = np.random.default_rng(0).normal(size=A.shape[0])
    value = 0.0
    for _ in range(iters):
        y = A @ x
        value = float(np.linalg.norm(y))
        if value == 0.0:
            return 0.0
        x = y / value
    return 1.1 * value


def relaxed_starts(M: np.ndarray, g: np.ndarray, bits: int, spins: np.ndarray, steps: int = RELAXATION_STEPS) -> np.ndarray:
    """Each read's start after ``steps`` FISTA steps on the box relaxation (module docstring):

        y_{t+1} = clip(z_t - grad(z_t) / lambda, -1, 1),  z_{t+1} = y_{t+1} + (theta_t - 1) / theta_{t+1} (y_{t+1} - y_t),

    with grad(y) = L g + L^2 M y, lambda >= |eig|_max(L^2 M) and theta_{t+1} = (1 + sqrt(1 + 4 theta_t^2)) / 2,
    from y_0 = v(spins_r) / L (a random state is uniform in the box); then v = L y is rounded to
    the nearest odd integer in [-L, L] and written back as K bits per group.

    Args:
        M: the (m, m) quadratic of :func:`fixed_point_quadratic`'s output (m groups).
        g: the (m,) linear term of :func:`fixed_point_quadratic`'s output.
        bits: K.
        spins: (R, m K) +-1 starts, one row per read.
        steps: FISTA steps (0 returns ``spins`` unchanged).

    Returns:
        (R, m K) int8 spins.
    """
    reads = np.asarray(spins, dtype=np.float64).reshape(spins.shape[0], -1, bits)
    if steps <= 0:
        return np.asarray(spins, dtype=np.int8)
    top = 2.0**bits - 1.0
    weights = 2.0 ** np.arange(bits)
    y = reads @ weights / top
    curvature = (top * top) * M
    linear = top * g
    lam = _largest_eigenvalue(curvature)
    if lam > 0.0:
        z, theta = y.copy(), 1.0
        for _ in range(steps):
            y_next = np.clip(z - (linear + z @ curvature) / lam, -1.0, 1.0)
            theta_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * theta * theta))
            z = y_next + ((theta - 1.0) / theta_next) * (y_next - y)
            y, theta = y_next, theta_next
    levels = np.clip(np.rint((top * y + top) / 2.0), 0.0, top).astype(np.int64)  # u = (v + L) / 2
    out = 2 * ((levels[..., None] >> np.arange(bits)) & 1) - 1
    return out.reshape(spins.shape[0], -1).astype(np.int8)
