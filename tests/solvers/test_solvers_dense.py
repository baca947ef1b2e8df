"""hybridqnn's dense simulated annealing: kernels, schedules, warm starts, the fast path."""

from __future__ import annotations

import dimod
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridqnn.problems import DenseIsing
from hybridqnn.solvers import DenseSimulatedAnnealingSampler, kernels
from hybridqnn.solvers.reference import polish_dense
from hybridqnn.solvers.sampling import beta_range_dense
from hybridqnn.testing.conformance import random_bqm


def _model(n: int, seed: int) -> DenseIsing:
    model, _ = DenseIsing.from_bqm(random_bqm(n, "SPIN", seed))
    return model


@pytest.mark.parametrize("moves", [{}, {"fixed_point_bits": 3}])
def test_sample_dense_and_sample_agree(moves: dict) -> None:
    """The kernels' own energies (sample_dense) equal the BQM's (sample), offset included."""
    bqm = random_bqm(30, "BINARY", 5)
    model, labels = DenseIsing.from_bqm(bqm)
    sampler = DenseSimulatedAnnealingSampler()
    spins, energies, info = sampler.sample_dense(model, num_reads=3, seed=7, num_sweeps=200, **moves)
    ss = sampler.sample(bqm, num_reads=3, seed=7, num_sweeps=200, **moves)
    np.testing.assert_array_equal(ss.record.sample, (spins + 1) // 2)
    np.testing.assert_allclose(ss.record.energy, energies)
    assert info["seed"] == 7 and "beta_range" in info["dense_sa"]
    assert set(ss.info["timing"]) == {"preprocessing_ns", "sampling_ns", "postprocessing_ns"}


def test_results_do_not_depend_on_how_reads_are_split_across_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    model = _model(40, 1)
    sampler = DenseSimulatedAnnealingSampler()
    parallel, _, _ = sampler.sample_dense(model, num_reads=5, seed=3, num_sweeps=100)
    monkeypatch.setattr(kernels, "default_workers", lambda: 1)
    serial, _, _ = sampler.sample_dense(model, num_reads=5, seed=3, num_sweeps=100)
    np.testing.assert_array_equal(parallel, serial)


@pytest.mark.parametrize("seed", range(5))
def test_warm_start_never_ends_above_its_start(seed: int) -> None:
    model = _model(60, seed)
    start = np.random.default_rng(seed).choice(np.array([-1, 1], dtype=np.int8), size=60)
    local, e_local = polish_dense(model, start)
    spins, energies, _ = DenseSimulatedAnnealingSampler().sample_dense(
        model, num_reads=4, seed=seed, initial_states=local, num_sweeps=50, beta_range=(0.01, 0.1)
    )
    assert np.all(energies <= e_local + 1e-9)


def test_returns_best_state_seen_not_last() -> None:
    # a very hot constant schedule wanders; the best state visited is still returned
    model = _model(50, 2)
    start = np.ones((1, 50), dtype=np.int8)
    e_start = model.energies(start)[0]
    _, energies, _ = DenseSimulatedAnnealingSampler().sample_dense(
        model, num_reads=3, seed=0, initial_states=start, num_sweeps=20, beta_range=(1e-3, 1e-3)
    )
    assert np.all(energies <= e_start + 1e-9)


def test_polish_reaches_a_one_flip_local_minimum() -> None:
    model = _model(25, 4)
    spins, energy = polish_dense(model, np.ones(25, dtype=np.int8))
    f = model.local_fields(spins[None])[0]
    assert np.all(-2 * spins * f >= -1e-9)
    assert energy == pytest.approx(model.energies(spins[None])[0])


def test_beta_range_cold_and_warm() -> None:
    model = _model(20, 0)
    hot, cold = beta_range_dense(model)
    assert 0 < hot < cold
    local, _ = polish_dense(model, np.ones(20, dtype=np.int8))
    warm_hot, warm_cold = beta_range_dense(model, local)
    assert warm_hot > hot  # a warm start is annealed from a colder start


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_sweeps": 0}, "'num_sweeps' must be an integer in \\[1, 10000000\\]"),
        ({"num_reads": 0}, "'num_reads' must be an integer in \\[1, 65536\\]"),
        ({"beta_schedule_type": "cubic"}, "'beta_schedule_type' must be one of geometric, linear"),
        ({"beta_range": (0.0, 1.0)}, "'beta_range\\[0\\]' must be"),
        ({"bogus": 1}, "unknown keyword"),
    ],
)
def test_bad_parameters_are_one_line_errors(kwargs: dict, message: str) -> None:
    bqm = random_bqm(5, "SPIN", 0)
    with pytest.raises((ValueError, TypeError), match=message):
        DenseSimulatedAnnealingSampler().sample(bqm, **kwargs)


def test_nan_coefficients_and_wrong_types_are_rejected() -> None:
    sampler = DenseSimulatedAnnealingSampler()
    bqm = dimod.BinaryQuadraticModel({"a": float("nan")}, {}, 0.0, "SPIN")
    with pytest.raises(ValueError, match="finite"):
        sampler.sample(bqm)
    with pytest.raises(TypeError, match="'bqm' must be a dimod.BinaryQuadraticModel"):
        sampler.sample({"a": 1.0})


def test_initial_states_checked_against_the_model() -> None:
    sampler = DenseSimulatedAnnealingSampler()
    bqm = dimod.BinaryQuadraticModel({"a": 1.0, "b": -1.0}, {("a", "b"): 0.5}, 0.0, "BINARY")
    with pytest.raises(ValueError, match="0/1"):
        sampler.sample(bqm, initial_states=({"a": -1, "b": 1}))
    with pytest.raises(ValueError, match="every variable"):
        sampler.sample(bqm, initial_states=({"a": 1}))
    ss = sampler.sample(bqm, initial_states=({"b": 0, "a": 1}), num_sweeps=10, seed=1)
    assert len(ss) == 1


def _grid_problem(target: float, bits: int) -> tuple[dimod.BinaryQuadraticModel, object]:
    """min (x - target)^2 over x in {0, 1, ..., 2^bits - 1}: a one-coordinate fixed-point QUBO."""
    from hybridqnn.problems import FixedPointEncoding, quadratic_to_bqm

    enc = FixedPointEncoding(bits, 0.0, 2.0**bits - 1.0, size=1)
    return quadratic_to_bqm(np.array([[2.0]]), np.array([-2.0 * target]), enc, target**2), enc


def test_fixed_point_moves_cross_carry_boundaries_that_single_flips_cannot() -> None:
    # From x = 127 (0111 1111) the optimum x = 128 (1000 0000) is one carry away; every single
    # flip from 127 raises the energy, so a zero-temperature single-flip run stays at 127.
    bqm, enc = _grid_problem(127.9, 8)
    start = {v: int(b) for v, b in zip(bqm.variables, enc.encode(np.array([127.0])), strict=True)}
    sampler = DenseSimulatedAnnealingSampler()
    frozen = {"num_sweeps": 20, "beta_range": (1e6, 1e6), "seed": 0}
    flips = sampler.sample(bqm, initial_states=start, **frozen).first
    moves = sampler.sample(bqm, initial_states=start, fixed_point_bits=8, **frozen).first
    decode = lambda s: float(enc.decode(np.array([[s[v] for v in bqm.variables]]))[0, 0])  # noqa: E731
    assert decode(flips.sample) == 127.0
    assert decode(moves.sample) == 128.0
    assert moves.energy == pytest.approx(0.01)


@pytest.mark.parametrize("seed", range(4))
def test_fixed_point_moves_find_the_ground_state_of_small_grid_problems(seed: int) -> None:
    from hybridqnn.problems import FixedPointEncoding, quadratic_to_bqm

    rng = np.random.default_rng(seed)
    a = rng.normal(size=(5, 3))
    enc = FixedPointEncoding(4, -1.0, 1.0, size=3)
    bqm = quadratic_to_bqm(a.T @ a + 0.1 * np.eye(3), rng.normal(size=3), enc, 0.5)
    ground = dimod.ExactSolver().sample(bqm).first.energy
    ss = DenseSimulatedAnnealingSampler().sample(bqm, num_reads=4, num_sweeps=300, seed=seed, fixed_point_bits=4)
    dimod.testing.assert_sampleset_energies(ss, bqm)
    assert ss.first.energy == pytest.approx(ground, abs=1e-9)


def test_fixed_point_bits_must_divide_the_variables() -> None:
    bqm = random_bqm(10, "SPIN", 0)
    with pytest.raises(ValueError, match=r"'fixed_point_bits' must divide the number of variables \(10\), got 4"):
        DenseSimulatedAnnealingSampler().sample(bqm, fixed_point_bits=4)
    with pytest.raises(ValueError, match="'fixed_point_bits'"):
        DenseSimulatedAnnealingSampler().sample(bqm, fixed_point_bits=0)


def _sk(n: int, seed: int) -> DenseIsing:
    rng = np.random.default_rng(seed)
    upper = np.triu(rng.normal(size=(n, n)), 1)
    return DenseIsing(rng.normal(size=n), upper + upper.T, 0.0)


def test_float32_sweeps_are_the_sweeps_where_float32_resolves_the_fields() -> None:
    sk = _sk(1000, 0)
    # couplings spanning 4^20 (the shape of a 20-bit fixed-point problem)
    scales = 4.0 ** np.arange(20)
    wide = DenseIsing(np.zeros(20), np.outer(scales, scales) * (1 - np.eye(20)), 0.0)
    hot = {}
    for name, model in (("sk", sk), ("wide", wide)):
        betas = np.geomspace(*beta_range_dense(model), 1000)
        hot[name] = kernels.float32_sweeps(kernels.coefficient_stats(model.J, model.h)[1], betas)
        bound = np.max(np.abs(model.h) + np.abs(model.J).sum(axis=1))
        rounding = 2.0**-24 * bound * betas  # one rounding of the largest field / temperature
        assert 0 < hot[name] < len(betas)  # the cold end, which decides the result, is float64
        assert rounding[hot[name] - 1] <= kernels.FLOAT32_RESOLUTION < rounding[hot[name]]
    sk_betas = np.geomspace(*beta_range_dense(sk), 1000)
    assert sk_betas[hot["sk"] - 1] > 1.0  # all of an SK anneal's busy part (T down to T_c / 30)
    assert hot["wide"] < hot["sk"]
    assert kernels.float32_sweeps(kernels.coefficient_stats(sk.J, sk.h)[1], np.full(10, 10.0)) == 0  # too cold throughout


def _anneal(
    model: DenseIsing, start: np.ndarray, betas: np.ndarray, J32: np.ndarray, hot: int, seed: int, scales: np.ndarray | None = None
) -> np.ndarray:
    spins = np.array(start, dtype=np.float64)
    energies = np.empty(spins.shape[0])
    scales = np.empty(0) if scales is None else scales
    kernels.anneal(model.J, model.h, spins, betas, J32, scales, hot, kernels.seed_states(seed, spins.shape[0]), energies)
    np.testing.assert_allclose(energies + model.offset, model.energies(spins), rtol=1e-12, atol=1e-9)
    return energies + model.offset


def test_float32_hot_sweeps_anneal_as_well_as_float64() -> None:
    """Best and median of 16 reads (n = 200, 2,000 sweeps) with the hot half in float32 are within
    0.5% of the float64 kernel's."""
    model = _sk(200, 1)
    betas = np.geomspace(*beta_range_dense(model), 2000)
    start = np.random.default_rng(2).choice([-1.0, 1.0], size=(16, 200))
    e64 = _anneal(model, start, betas, np.empty((0, 0), np.float32), 0, 3)
    e32 = _anneal(model, start, betas, model.J.astype(np.float32), 1000, 3)
    assert e32.min() <= e64.min() + 5e-3 * abs(e64.min())
    assert np.median(e32) <= np.median(e64) + 5e-3 * abs(np.median(e64))


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 40), magnitude=st.floats(1e-6, 1e6), seed=st.integers(0, 2**16))
def test_int16_rows_reconstruct_J_within_their_error_bound(n: int, magnitude: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    upper = np.triu(rng.standard_cauchy(size=(n, n)) * magnitude, 1)  # heavy tails: rows of any range
    J = upper + upper.T
    rows, scales, bound = kernels.int16_rows(J)
    assert rows.dtype == np.int16 and np.all(np.abs(rows.astype(np.int64)) <= 32767)
    np.testing.assert_array_equal(scales, scales.astype(np.float32))  # 2 scale is exact in float32
    error = np.abs(J - scales[:, None] * rows).sum(axis=0)  # a flip of i moves f_j by 2 s_i J_ij
    assert bound == pytest.approx(error.max(), rel=1e-9, abs=1e-300)
    assert np.all(np.abs(J - scales[:, None] * rows) <= 0.5 * scales[:, None] * (1 + 1e-6))


def test_int16_sweeps_are_the_float32_sweeps_where_int16_rows_change_no_flip_much() -> None:
    sk = _sk(1000, 0)
    stats = kernels.coefficient_stats(sk.J, sk.h)
    betas = np.geomspace(*beta_range_dense(sk, stats=stats), 1000)
    float32_limit = kernels.float32_sweeps(stats[1], betas)
    _, _, bound = kernels.int16_rows(sk.J)
    k = kernels.int16_sweeps(bound, betas, float32_limit)
    assert 0 < k < float32_limit
    assert 2 * betas[k - 1] * bound <= kernels.INT16_RESOLUTION < 2 * betas[k] * bound
    assert betas[k - 1] > 3.0 / np.sqrt(1000)  # through the spin-glass transition, where the flips are
    assert kernels.int16_sweeps(bound, betas, 5) == 5  # never past the float32 sweeps
    scales = 4.0 ** np.arange(20)
    wide = np.outer(scales, scales) * (1 - np.eye(20))
    assert kernels.int16_sweeps(kernels.int16_rows(wide)[2], np.geomspace(1e-12, 1.0, 100), 100) == 0


def test_int16_hot_sweeps_anneal_as_well_as_float64() -> None:
    """Best and median of 16 reads (n = 200, 2,000 sweeps) with the hot sweeps on int16 rows are
    within 0.5% of the float64 kernel's, and the kernel's energies are exact (``_anneal``)."""
    model = _sk(200, 1)
    betas = np.geomspace(*beta_range_dense(model), 2000)
    start = np.random.default_rng(2).choice([-1.0, 1.0], size=(16, 200))
    rows, scales, bound = kernels.int16_rows(model.J)
    hot = kernels.int16_sweeps(bound, betas, len(betas))
    assert hot > 0
    e64 = _anneal(model, start, betas, np.empty((0, 0), np.float32), 0, 3)
    e16 = _anneal(model, start, betas, rows, hot, 3, scales)
    assert e16.min() <= e64.min() + 5e-3 * abs(e64.min())
    assert np.median(e16) <= np.median(e64) + 5e-3 * abs(np.median(e64))


def test_float32_bookkeeping_cannot_make_a_warm_start_worse() -> None:
    """The hot sweeps' energies are checked exactly at the switch. With a wrong float32 copy of
    J (twice J), the bookkeeping of E = 0.5 s_1 + s_1 s_2 takes (1, -1) (E = -0.5) for better than
    the ground state (-1, 1) (E = -1.5); with every sweep hot, the exact check must still return
    the start."""
    model = DenseIsing(np.array([0.5, 0.0]), np.array([[0.0, 1.0], [1.0, 0.0]]), 0.0)
    start = np.tile([-1.0, 1.0], (16, 1))
    betas = np.full(20, 0.01)
    got = _anneal(model, start, betas, 2.0 * model.J.astype(np.float32), len(betas), 6)
    assert np.all(got == -1.5)


def test_local_fields_match_numpy() -> None:
    model = _sk(50, 3)
    s = np.random.default_rng(0).choice([-1.0, 1.0], size=50)
    np.testing.assert_allclose(kernels.local_fields(model.J, model.h, s), model.h + model.J @ s, rtol=1e-12, atol=1e-12)


def test_coefficient_stats_match_numpy() -> None:
    model = _sk(50, 7)
    J = model.J.copy()
    J[np.abs(J) < 0.5] = 0.0  # zeros are skipped by the smallest nonzero magnitude
    h = model.h.copy()
    h[:10] = 0.0
    squares, absolute, smallest = kernels.coefficient_stats(J, h)
    np.testing.assert_allclose(squares, h**2 + (J**2).sum(axis=1))
    np.testing.assert_allclose(absolute, np.abs(h) + np.abs(J).sum(axis=1))
    coefficients = np.abs(np.concatenate([h, J.ravel()]))
    assert smallest == coefficients[coefficients > 0].min()
    assert kernels.coefficient_stats(np.zeros((3, 3)), np.zeros(3))[2] == 0.0


def test_beta_range_from_given_coefficient_stats_is_the_same() -> None:
    model = _sk(60, 4)
    stats = kernels.coefficient_stats(model.J, model.h)
    assert beta_range_dense(model, stats=stats) == beta_range_dense(model)


def test_subclasses_get_one_dense_run_with_the_start() -> None:
    """DenseSampler hands _sample_spins one DenseRun: the model, the (tiled) start, a derived
    seed and whether the start is the caller's."""
    from hybridqnn.solvers.dense import DenseRun, DenseSampler

    seen: list[DenseRun] = []

    class Echo(DenseSampler):
        def _sample_spins(self, run: DenseRun, **params: object) -> tuple[np.ndarray, dict]:
            seen.append(run)
            return run.spins, {}

    model = _model(5, 2)
    start = np.array([[1, -1, 1, -1, 1]], dtype=np.int8)
    Echo().sample_dense(model, num_reads=3, seed=4, initial_states=start)
    Echo().sample_dense(model, num_reads=2, seed=4)
    warm, cold = seen
    assert warm.model is model and warm.warm and not cold.warm
    np.testing.assert_array_equal(warm.spins, np.tile(start, (3, 1)))
    assert cold.spins.shape == (2, 5) and cold.spins.dtype == np.int8


@pytest.mark.parametrize("which", ["x", "v", "g0"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_least_squares_path_rejects_non_finite_arrays(which: str, bad: float) -> None:
    """The least-squares fast path returned NaN energies for a NaN in X and divided by zero for
    an infinite target on the landed code."""
    arrays = {"x": np.ones((4, 3)), "v": np.ones((2, 4)), "g0": np.ones((2, 3))}
    arrays[which][0, 1] = bad
    with pytest.raises(ValueError, match=rf"^'{which}' must be finite, got 1 NaN or inf values$"):
        DenseSimulatedAnnealingSampler().sample_least_squares(arrays["x"], arrays["v"], arrays["g0"], seed=0)


def test_sampler_reports_which_rows_its_hot_sweeps_read() -> None:
    sampler = DenseSimulatedAnnealingSampler()
    _, _, info = sampler.sample_dense(_sk(200, 0), num_reads=2, seed=0, num_sweeps=500)
    assert info["dense_sa"]["hot_rows"] == "int16" and 0 < info["dense_sa"]["hot_sweeps"] < 500
    # a constant temperature too cold for int16 rows (int16_sweeps) but not for float32 rows
    model = _sk(200, 0)
    stats, (_, _, bound) = kernels.stats_and_int16_rows(model.J, model.h)
    beta = 0.5 * (kernels.INT16_RESOLUTION / (2 * bound) + kernels.FLOAT32_RESOLUTION / (2.0**-24 * stats[1].max()))
    _, _, info = sampler.sample_dense(model, num_reads=2, seed=0, num_sweeps=50, beta_range=(beta, beta))
    assert info["dense_sa"]["hot_rows"] == "float32" and info["dense_sa"]["hot_sweeps"] == 50
