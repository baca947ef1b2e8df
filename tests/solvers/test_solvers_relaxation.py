"""The box-relaxation starts of dense SA's cold fixed-point anneals."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridqnn.problems import (
    DenseIsing,
    FixedPointEncoding,
    quadratic_objective,
    quadratic_to_dense,
)
from hybridqnn.solvers import DenseSimulatedAnnealingSampler, relaxation
from hybridqnn.solvers.reference import box_qp_minimizer


def _problem(m: int, bits: int, seed: int) -> tuple[np.ndarray, np.ndarray, FixedPointEncoding, DenseIsing]:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(2 * m, m))
    hess, lin = a.T @ a + 0.1 * np.eye(m), rng.normal(size=m)
    enc = FixedPointEncoding(bits, -1.0, 1.0, size=m)
    (model,) = quadratic_to_dense(hess, lin, enc, 0.25)
    return hess, lin, enc, model


def _spin_integers(spins: np.ndarray, bits: int) -> np.ndarray:
    return spins.reshape(spins.shape[0], -1, bits).astype(np.float64) @ (2.0 ** np.arange(bits))


@settings(max_examples=25, deadline=None)
@given(m=st.integers(1, 6), bits=st.integers(2, 12), seed=st.integers(0, 2**16))
def test_quadratic_read_off_a_fixed_point_model_gives_its_energies(m: int, bits: int, seed: int) -> None:
    """E(s) = c + g^T v + 1/2 v^T M v with v the groups' spin integers, for (M, g) read off J, h."""
    _, _, _, model = _problem(m, bits, seed)
    quadratic = relaxation.fixed_point_quadratic(model.J, model.h, bits)
    assert quadratic is not None
    M, g = quadratic
    spins = np.random.default_rng(seed).choice(np.array([-1, 1], dtype=np.int8), size=(8, m * bits))
    v = _spin_integers(spins, bits)
    quad = v @ g + 0.5 * np.einsum("ra,ab,rb->r", v, M, v)
    energies = model.energies(spins)
    constant = energies - quad
    np.testing.assert_allclose(constant, constant[0], rtol=1e-9, atol=1e-9 * np.abs(energies).max())


@pytest.mark.parametrize("bits", [1, 3])
def test_models_that_are_not_fixed_point_quadratics_are_recognised(bits: int) -> None:
    rng = np.random.default_rng(0)
    upper = np.triu(rng.normal(size=(12, 12)), 1)
    assert relaxation.fixed_point_quadratic(upper + upper.T, rng.normal(size=12), bits) is None
    _, _, _, model = _problem(4, 3, 1)
    J = model.J.copy()
    J[0, 4] *= 1.0 + 1e-6  # one coupling off the quadratic's form
    J[4, 0] = J[0, 4]
    assert relaxation.fixed_point_quadratic(J, model.h, 3) is None
    assert relaxation.fixed_point_quadratic(model.J, model.h, 2) is None  # groups misread


def test_relaxed_starts_round_the_relaxation_to_the_grid() -> None:
    """Enough FISTA steps reach the box minimiser: the start is its nearest grid point."""
    hess, lin, enc, model = _problem(5, 6, 3)
    M, g = relaxation.fixed_point_quadratic(model.J, model.h, 6)
    spins = np.random.default_rng(3).choice(np.array([-1, 1], dtype=np.int8), size=(3, 30))
    starts = relaxation.relaxed_starts(M, g, 6, spins, steps=3000)
    assert starts.dtype == np.int8 and starts.shape == spins.shape and set(np.unique(starts)) <= {-1, 1}
    x = box_qp_minimizer(hess, lin, enc.low, enc.high)
    expected = 2 * enc.encode(x) - 1
    np.testing.assert_array_equal(starts, np.tile(expected, (3, 1)))
    np.testing.assert_array_equal(relaxation.relaxed_starts(M, g, 6, spins, steps=0), spins)


def test_relaxed_starts_lower_the_energy_of_random_states() -> None:
    _, _, _, model = _problem(8, 10, 4)
    M, g = relaxation.fixed_point_quadratic(model.J, model.h, 10)
    spins = np.random.default_rng(4).choice(np.array([-1, 1], dtype=np.int8), size=(4, 80))
    starts = relaxation.relaxed_starts(M, g, 10, spins, steps=50)
    assert np.all(model.energies(starts) < model.energies(spins))


def test_cold_fixed_point_anneal_starts_from_the_relaxation() -> None:
    hess, lin, enc, model = _problem(6, 8, 5)
    sampler = DenseSimulatedAnnealingSampler()
    spins, energies, info = sampler.sample_dense(model, num_reads=2, seed=5, num_sweeps=20, fixed_point_bits=8)
    assert info["dense_sa"]["relaxation_steps"] == relaxation.RELAXATION_STEPS
    x = box_qp_minimizer(hess, lin, enc.low, enc.high)
    reference = model.energies((2 * enc.encode(x) - 1)[None])[0]
    assert energies.min() <= reference + 1e-9 * abs(reference)
    np.testing.assert_allclose(energies, quadratic_objective(hess, lin, enc.decode(((spins + 1) // 2).astype(np.int8)), 0.25))
    again, _, _ = sampler.sample_dense(model, num_reads=2, seed=5, num_sweeps=20, fixed_point_bits=8)
    np.testing.assert_array_equal(spins, again)
    # warm starts and models without the structure anneal from their own starts
    _, _, warm = sampler.sample_dense(model, num_reads=2, seed=5, num_sweeps=20, fixed_point_bits=8, initial_states=spins[:1])
    _, _, single = sampler.sample_dense(model, num_reads=2, seed=5, num_sweeps=20)
    assert "relaxation_steps" not in warm["dense_sa"] and "relaxation_steps" not in single["dense_sa"]


def test_grid_quadratic_equals_the_one_read_off_the_dense_model() -> None:
    """The fixed-point path's cold start relaxes the same quadratic as the dense path's."""
    from hybridqnn.problems import FixedPointQuadratic

    rng = np.random.default_rng(5)
    n, bits = 4, 3
    a = rng.normal(size=(n, n))
    model = FixedPointQuadratic(a @ a.T + np.eye(n), rng.normal(size=n), FixedPointEncoding(bits, np.full(n, -2.0), np.linspace(1.0, 3.0, n)), 0.3)
    dense = model.to_dense()
    M, g = relaxation.grid_quadratic(model)
    M_dense, g_dense = relaxation.fixed_point_quadratic(dense.J, dense.h, bits)
    np.testing.assert_allclose(M, M_dense, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(g, g_dense, rtol=1e-9, atol=1e-12)
