"""The grid kernels of the fixed-point path: state conversions, flip costs and the descent."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hybridqnn.problems import FixedPointEncoding, FixedPointQuadratic
from hybridqnn.solvers import fixed_point, kernels


def _model(n: int, bits: int, seed: int) -> FixedPointQuadratic:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, n))
    low = rng.uniform(-2.0, 0.0, size=n)
    enc = FixedPointEncoding(bits, low, low + rng.uniform(0.5, 3.0, size=n))
    return FixedPointQuadratic(a @ a.T + 0.1 * np.eye(n), rng.normal(size=n), enc, float(rng.normal()))


@given(st.integers(1, 5), st.integers(1, 12), st.integers(0, 2**32 - 1))
def test_spins_and_integers_round_trip_in_the_encoding_layout(n: int, bits: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    spins = rng.choice(np.array([-1, 1], dtype=np.int8), size=(3, n * bits))
    ints = fixed_point.spins_to_ints(spins, bits)
    np.testing.assert_array_equal(fixed_point.ints_to_spins(ints, bits), spins)
    enc = FixedPointEncoding.symmetric(bits, 1.0, size=n)
    np.testing.assert_allclose(enc.low + enc.step * ints, enc.decode((spins + 1) // 2))


@given(st.integers(1, 5), st.integers(1, 8), st.integers(0, 2**32 - 1))
def test_flip_costs_are_the_dense_models_single_flip_costs(n: int, bits: int, seed: int) -> None:
    model = _model(n, bits, seed)
    dense = model.to_dense()
    spins = np.random.default_rng(seed).choice(np.array([-1, 1], dtype=np.int8), size=(1, model.num_variables))
    s = spins[0].astype(np.float64)
    expected = -2.0 * s * kernels.local_fields(np.ascontiguousarray(dense.J), dense.h, s)
    costs = fixed_point.flip_costs(model, fixed_point.spins_to_ints(spins, bits)[0])
    np.testing.assert_allclose(costs, expected, rtol=1e-9, atol=1e-9)


def test_steepest_descent_ends_at_a_one_flip_local_minimum() -> None:
    model = _model(6, 10, 3)
    enc = model.encoding
    ints = np.random.default_rng(0).integers(0, enc.levels, size=(2, enc.size))
    start_energy = model.energies(fixed_point.ints_to_spins(ints, enc.bits))
    fixed_point.steepest_descent(np.ascontiguousarray(model.hessian), model.linear, ints, enc.low, enc.step, enc.bits)
    end_energy = model.energies(fixed_point.ints_to_spins(ints, enc.bits))
    assert np.all(end_energy <= start_energy)
    for row in ints:
        assert fixed_point.flip_costs(model, row).min() >= -1e-9


def test_anneal_keeps_integers_on_the_grid_and_returns_the_best_state_visited() -> None:
    model = _model(4, 6, 1)
    enc = model.encoding
    ints = np.zeros((3, enc.size), dtype=np.int64)
    start = model.energies(fixed_point.ints_to_spins(ints, enc.bits))
    betas = np.geomspace(0.1, 50.0, 30)
    fixed_point.anneal(np.ascontiguousarray(model.hessian), model.linear, ints, enc.low, enc.step, betas, enc.bits, kernels.seed_states(0, 3))
    assert ints.min() >= 0 and ints.max() <= enc.levels - 1
    assert np.all(model.energies(fixed_point.ints_to_spins(ints, enc.bits)) <= start + 1e-12)


def test_sample_fixed_point_checks_its_keywords() -> None:
    from hybridqnn.solvers import get_sampler

    sampler = get_sampler("dense-sa")
    model = _model(2, 3, 0)
    with pytest.raises(ValueError, match="'num_sweeps' must be"):
        sampler.sample_fixed_point(model, seed=0, num_sweeps=0)
    with pytest.raises(ValueError, match="'beta_schedule_type' must be"):
        sampler.sample_fixed_point(model, seed=0, beta_schedule_type="cubic")
    spins, energies, info = sampler.sample_fixed_point(model, seed=4, num_reads=3, num_sweeps=10)
    assert spins.shape == (3, model.num_variables) and spins.dtype == np.int8
    np.testing.assert_allclose(energies, model.energies(spins))
    assert info["seed"] == 4 and set(info["dense_sa"]) == {"beta_range", "anneal_s", "relaxation_steps", "relaxation_s"}
    warm = sampler.sample_fixed_point(model, seed=4, num_reads=3, num_sweeps=10, initial_states=spins)[2]
    assert set(warm["dense_sa"]) == {"beta_range", "anneal_s"}  # a warm start is not relaxed


@given(st.integers(1, 5), st.integers(1, 9), st.integers(0, 2**32 - 1), st.booleans())
def test_grid_statistics_and_beta_ranges_are_the_dense_models(n: int, bits: int, seed: int, sparse: bool) -> None:
    """The closed-form field statistics and both beta ranges equal those of the dense model."""
    from hybridqnn.solvers.sampling import beta_range_dense

    model = _model(n, bits, seed)
    if sparse:  # zero couplings between some coordinates
        hess = model.hessian * (np.abs(np.subtract.outer(np.arange(n), np.arange(n))) != 1)
        model = FixedPointQuadratic(hess + n * np.eye(n), model.linear, model.encoding, model.offset)
    dense = model.to_dense()
    squares, _, smallest = kernels.coefficient_stats(np.ascontiguousarray(dense.J), dense.h)
    grid_squares, grid_smallest = fixed_point.coefficient_stats(model)
    np.testing.assert_allclose(grid_squares, squares, rtol=1e-9, atol=1e-12 * squares.max())
    assert grid_smallest == pytest.approx(smallest, rel=1e-9)
    np.testing.assert_allclose(fixed_point.beta_range(model), beta_range_dense(dense), rtol=1e-6)
    spins = np.random.default_rng(seed).choice(np.array([-1, 1], dtype=np.int8), size=(1, model.num_variables))
    warm = fixed_point.beta_range(model, fixed_point.spins_to_ints(spins, bits)[0])
    np.testing.assert_allclose(warm, beta_range_dense(dense, spins), rtol=1e-6)
