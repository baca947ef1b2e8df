"""The classical reference: the box-constrained QP minimiser, polish and grid_reference."""

from __future__ import annotations

import dimod
import numpy as np
import pytest
import scipy.optimize
from hypothesis import given
from hypothesis import strategies as st

from hybridqnn.problems import FixedPointEncoding, quadratic_to_bqm
from hybridqnn.solvers.reference import box_qp_minimizer, grid_reference, polish
from hybridqnn.solvers.sampling import flip_costs


def _pd_matrix(n: int, rng: np.random.Generator) -> np.ndarray:
    a = rng.normal(size=(n, n))
    return a @ a.T + 0.5 * np.eye(n)


def _kkt_residual(
    h: np.ndarray, g: np.ndarray, x: np.ndarray, low: np.ndarray, high: np.ndarray
) -> float:
    """Largest violation of the KKT conditions of min 1/2 x'Hx + g'x over [low, high]."""
    grad = h @ x + g
    viol = np.maximum(low - x, 0) + np.maximum(x - high, 0)
    tol = 1e-7 * (1 + np.abs(high - low))
    at_low = x <= low + tol
    at_high = x >= high - tol
    free = ~(at_low | at_high)
    # gradient zero on free coordinates, >= 0 at the lower bound, <= 0 at the upper bound
    r = np.where(free, np.abs(grad), 0.0)
    r = np.maximum(r, np.where(at_low & ~at_high, np.maximum(-grad, 0), 0.0))
    r = np.maximum(r, np.where(at_high & ~at_low, np.maximum(grad, 0), 0.0))
    return float(max(r.max(), viol.max()))


def test_unconstrained_minimiser_when_inside_box() -> None:
    rng = np.random.default_rng(0)
    h = _pd_matrix(4, rng)
    g = rng.normal(size=4)
    x_star = -np.linalg.solve(h, g)
    low, high = x_star - 1.0, x_star + 2.0
    x = box_qp_minimizer(h, g, low, high)
    assert x.shape == (4,)
    np.testing.assert_allclose(x, x_star, rtol=1e-10, atol=1e-10)


def _box_problem(n: int, seed: int, scale: float) -> tuple[np.ndarray, ...]:
    """A random positive definite H, g of size ``scale`` and a box that usually cuts it off."""
    rng = np.random.default_rng(seed)
    h = _pd_matrix(n, rng)
    g = rng.normal(size=n) * scale
    low = rng.uniform(-1.0, 0.0, size=n)
    return h, g, low, low + rng.uniform(0.1, 1.0, size=n)


@given(st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_box_minimiser_satisfies_kkt(n: int, seed: int) -> None:
    h, g, low, high = _box_problem(n, seed, 5.0)
    x = box_qp_minimizer(h, g, low, high)
    assert _kkt_residual(h, g, x, low, high) < 1e-6 * (1 + np.abs(g).max())


def test_matches_scipy_minimize_with_bounds() -> None:
    rng = np.random.default_rng(1)
    h = _pd_matrix(3, rng)
    g = np.array([4.0, -6.0, 1.0])
    low, high = np.full(3, -0.5), np.full(3, 0.5)
    x = box_qp_minimizer(h, g, low, high)
    assert np.any((x <= low + 1e-9) | (x >= high - 1e-9)), "the case must actually be constrained"
    res = scipy.optimize.minimize(
        lambda z: 0.5 * z @ h @ z + g @ z,
        np.zeros(3),
        jac=lambda z: h @ z + g,
        bounds=list(zip(low, high, strict=True)),
        method="L-BFGS-B",
        options={"ftol": 1e-15, "gtol": 1e-12},
    )
    np.testing.assert_allclose(x, res.x, atol=1e-5)
    assert 0.5 * x @ h @ x + g @ x <= res.fun + 1e-10


def test_batched_input_equals_rowwise() -> None:
    rng = np.random.default_rng(2)
    h = _pd_matrix(3, rng)
    low, high = np.full(3, -1.0), np.full(3, 1.0)
    g = rng.normal(size=(5, 3)) * 4
    g[0] = 0.1 * rng.normal(size=3)  # one row whose minimiser lies inside the box
    assert np.all(np.abs(np.linalg.solve(h, g[0])) < 1)
    x = box_qp_minimizer(h, g, low, high)
    assert x.shape == (5, 3)
    for i in range(5):
        np.testing.assert_allclose(x[i], box_qp_minimizer(h, g[i], low, high), atol=1e-12)
        assert _kkt_residual(h, g[i], x[i], low, high) < 1e-6
    np.testing.assert_allclose(x[0], -np.linalg.solve(h, g[0]), atol=1e-10)


def test_non_positive_definite_hessian_raises() -> None:
    with pytest.raises(np.linalg.LinAlgError):
        box_qp_minimizer(-np.eye(2), np.zeros(2), -np.ones(2), np.ones(2))


def _problem(n: int, bits: int, seed: int):
    rng = np.random.default_rng(seed)
    h = _pd_matrix(n, rng)
    g = rng.normal(size=n) * 3
    enc = FixedPointEncoding(bits, rng.uniform(-2, -0.5, size=n), rng.uniform(0.5, 2, size=n))
    return h, g, enc, quadratic_to_bqm(h, g, enc)


@pytest.mark.parametrize("seed", range(6))
def test_grid_reference_is_local_minimum_no_worse_than_rounding(seed: int) -> None:
    h, g, enc, bqm = _problem(3, 4, seed)
    bits, energy = grid_reference(h, g, enc)
    assert bits.dtype == np.int8 and bits.shape == (enc.num_variables,)
    assert set(np.unique(bits)) <= {0, 1}
    assert energy == pytest.approx(bqm.energy((bits, list(bqm.variables))))
    # 1-flip local minimum: no single flip lowers the energy
    for i in range(enc.num_variables):
        flipped = bits.copy()
        flipped[i] ^= 1
        assert bqm.energy((flipped, list(bqm.variables))) >= energy - 1e-9
    x_cont = box_qp_minimizer(h, g, enc.low, enc.high)
    rounded = enc.encode(x_cont)
    assert energy <= bqm.energy((rounded, list(bqm.variables))) + 1e-9
    # passing the continuous minimiser gives the same reference
    bits2, energy2 = grid_reference(h, g, enc, x_continuous=x_cont)
    np.testing.assert_array_equal(bits2, bits)
    assert energy2 == pytest.approx(energy)
    # and it is never below the true grid optimum (exhaustive: 12 variables)
    ground = dimod.ExactSolver().sample(bqm).first.energy
    assert energy >= ground - 1e-9


def test_polish_descends_to_local_minimum_from_any_state() -> None:
    h, g, enc, bqm = _problem(2, 5, 11)
    rng = np.random.default_rng(0)
    for _ in range(5):
        start = rng.integers(0, 2, size=enc.num_variables)
        bits, energy = polish(bqm, start)
        assert energy <= bqm.energy((start, list(bqm.variables))) + 1e-9
        assert np.all(flip_costs(bqm, bits) >= -1e-9)


# --------------------------------------------------------------------------------- on the grid


@given(st.integers(1, 6), st.integers(1, 8), st.integers(0, 2**32 - 1), st.booleans())
def test_polish_fixed_point_is_polish_dense_on_the_grid(n: int, bits: int, seed: int, from_box: bool) -> None:
    """The same steepest descent, step for step: the same local minimum and energy."""
    from hybridqnn.problems import FixedPointQuadratic
    from hybridqnn.solvers.reference import polish_dense, polish_fixed_point

    rng = np.random.default_rng(seed)
    h = _pd_matrix(n, rng)
    g = rng.normal(size=n) * 3
    enc = FixedPointEncoding.symmetric(bits, rng.uniform(0.5, 3.0, size=n))
    model = FixedPointQuadratic(h, g, enc, float(rng.normal()))
    if from_box:
        start = 2 * enc.encode(box_qp_minimizer(h, g, enc.low, enc.high)) - 1
    else:
        start = rng.choice(np.array([-1, 1], dtype=np.int8), size=model.num_variables)
    spins, energy = polish_fixed_point(model, start)
    dense_spins, dense_energy = polish_dense(model.to_dense(), start)
    np.testing.assert_array_equal(spins, dense_spins)
    assert energy == pytest.approx(dense_energy, rel=1e-9, abs=1e-9)


@given(st.integers(1, 8), st.integers(0, 2**32 - 1))
def test_active_set_agrees_with_bvls(n: int, seed: int) -> None:
    from hybridqnn.solvers.reference import _active_set

    h, g, low, high = _box_problem(n, seed, 10.0)
    x = _active_set(h, g, low, high, -np.linalg.solve(h, g))
    assert x is not None
    lower = np.linalg.cholesky(h)
    ref = scipy.optimize.lsq_linear(lower.T, -np.linalg.solve(lower, g), bounds=(low, high), method="bvls").x
    np.testing.assert_allclose(x, ref, rtol=1e-8, atol=1e-8 * (1 + np.abs(g).max()))
