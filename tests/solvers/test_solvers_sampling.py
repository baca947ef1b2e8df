"""sample_bqm, beta_range_for and flip_costs, and conformance of every registry sampler."""

from __future__ import annotations

import itertools
import math
import unittest
from typing import Any

import dimod
import dimod.testing
import numpy as np
import pytest

from hybridqnn.problems import DenseIsing
from hybridqnn.solvers import get_sampler, sample_bqm
from hybridqnn.solvers.keywords import EXACT_MAX_VARIABLES
from hybridqnn.solvers.reference import polish
from hybridqnn.solvers.sampling import beta_range_dense, beta_range_for, flip_costs

AWKWARD_LABELS = ["b", ("t", 1), "a", 3, ("x", ("y",)), frozenset({1})]


def random_bqm(
    n: int,
    seed: int,
    vartype: dimod.Vartype = dimod.BINARY,
    labels: list | None = None,
    density: float = 0.7,
) -> dimod.BinaryQuadraticModel:
    rng = np.random.default_rng(seed)
    labels = list(range(n)) if labels is None else labels[:n]
    linear = {v: float(rng.normal()) for v in labels}
    quadratic = {
        (u, v): float(rng.normal())
        for u, v in itertools.combinations(labels, 2)
        if rng.random() < density
    }
    return dimod.BinaryQuadraticModel(linear, quadratic, float(rng.normal()), vartype)


def _state_array(sample: dict, bqm: dimod.BinaryQuadraticModel) -> np.ndarray:
    return np.array([sample[v] for v in bqm.variables])


class _ViaSampleBqm(dimod.Sampler):
    """A registry sampler called through sample_bqm, for dimod's own sampler test suite."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.inner = get_sampler(name)
        self._params = dict(self.inner.parameters)
        self._props: dict[str, Any] = {}

    @property
    def parameters(self) -> dict:
        return self._params

    @property
    def properties(self) -> dict:
        return self._props

    def sample(self, bqm: dimod.BinaryQuadraticModel, **kwargs: Any) -> dimod.SampleSet:
        return sample_bqm(self.inner, bqm, seed=1, sample_kwargs=kwargs)


def _factory(name: str):
    def make() -> _ViaSampleBqm:
        return _ViaSampleBqm(name)

    make.__name__ = f"via_sample_bqm_{name}"
    return make


@dimod.testing.load_sampler_bqm_tests(_factory("sa"))
class TestDimodSuiteSA(unittest.TestCase):
    def test_api(self) -> None:
        dimod.testing.assert_sampler_api(_ViaSampleBqm("sa"))


@dimod.testing.load_sampler_bqm_tests(_factory("tabu"))
class TestDimodSuiteTabu(unittest.TestCase):
    def test_api(self) -> None:
        dimod.testing.assert_sampler_api(_ViaSampleBqm("tabu"))


@dimod.testing.load_sampler_bqm_tests(_factory("steepest"))
class TestDimodSuiteSteepest(unittest.TestCase):
    def test_api(self) -> None:
        dimod.testing.assert_sampler_api(_ViaSampleBqm("steepest"))


@dimod.testing.load_sampler_bqm_tests(_factory("exact"))
class TestDimodSuiteExact(unittest.TestCase):
    def test_api(self) -> None:
        dimod.testing.assert_sampler_api(_ViaSampleBqm("exact"))


# --- sample_bqm ----------------------------------------------------------------------------


class _Recorder(dimod.Sampler):
    """Records the keywords sample_bqm passes; returns the all-zero state."""

    def __init__(self, parameters: dict) -> None:
        self._params = parameters
        self.kwargs: dict[str, Any] = {}

    @property
    def parameters(self) -> dict:
        return self._params

    @property
    def properties(self) -> dict:
        return {}

    def sample(self, bqm: dimod.BinaryQuadraticModel, **kwargs: Any) -> dimod.SampleSet:
        self.kwargs = kwargs
        low = 0 if bqm.vartype is dimod.BINARY else -1
        return dimod.SampleSet.from_samples_bqm(({v: low for v in bqm.variables}), bqm)


@pytest.mark.parametrize("name", ["sa", "tabu", "steepest", "exact"])
def test_unknown_sample_kwargs_name_keyword_and_sampler(name: str) -> None:
    sampler = get_sampler(name)
    bqm = random_bqm(4, 0)
    with pytest.raises(ValueError) as info:
        sample_bqm(sampler, bqm, sample_kwargs={"num_sweepz": 10})
    msg = str(info.value)
    assert "'num_sweepz'" in msg
    assert type(sampler).__name__ in msg
    assert "'sample_kwargs'" in msg


def test_exact_takes_nothing_and_refuses_large_models() -> None:
    exact = get_sampler("exact")
    with pytest.raises(ValueError, match="it takes: nothing"):
        sample_bqm(exact, random_bqm(3, 0), sample_kwargs={"num_reads": 1})
    big = dimod.BinaryQuadraticModel(
        {i: 1.0 for i in range(EXACT_MAX_VARIABLES + 1)}, {}, 0.0, dimod.BINARY
    )
    with pytest.raises(
        ValueError, match=f"at most {EXACT_MAX_VARIABLES} variables, got {EXACT_MAX_VARIABLES + 1}"
    ):
        sample_bqm(exact, big)
    # the guard is on the sampler itself, so direct calls are refused too (31 variables as well)
    with pytest.raises(ValueError, match="at most"):
        exact.sample(dimod.BinaryQuadraticModel({i: 1.0 for i in range(31)}, {}, 0.0, dimod.BINARY))
    # small ones work, and seed / initial_state are simply not passed
    ss = sample_bqm(exact, random_bqm(4, 1), seed=3, initial_state=np.zeros(4))
    assert len(ss) == 16


def test_keywords_passed_to_sampler() -> None:
    bqm = random_bqm(5, 2)
    rec = _Recorder({"seed": [], "initial_states": [], "beta_range": [], "num_reads": []})
    state = np.array([1, 0, 1, 1, 0])
    sample_bqm(rec, bqm, seed=2**31 + 7, initial_state=state, sample_kwargs={"num_reads": 3})
    kw = rec.kwargs
    assert kw["num_reads"] == 3
    assert kw["seed"] == 7  # reduced modulo 2^31
    states, labels = kw["initial_states"]
    np.testing.assert_array_equal(states, state.reshape(1, -1))
    assert labels == list(bqm.variables)
    assert kw["beta_range"] == pytest.approx(beta_range_for(bqm, state))

    # no seed / state: neither passed; cold beta range
    sample_bqm(rec, bqm)
    assert "seed" not in rec.kwargs and "initial_states" not in rec.kwargs
    assert rec.kwargs["beta_range"] == pytest.approx(beta_range_for(bqm))

    # an explicit beta_range or beta_schedule is left alone; an explicit seed wins
    rec2 = _Recorder({"seed": [], "beta_range": [], "beta_schedule": []})
    sample_bqm(rec2, bqm, seed=5, sample_kwargs={"beta_range": (1.0, 2.0), "seed": 11})
    assert rec2.kwargs["beta_range"] == (1.0, 2.0) and rec2.kwargs["seed"] == 11
    sample_bqm(rec2, bqm, sample_kwargs={"beta_schedule": [1.0]})
    assert "beta_range" not in rec2.kwargs

    # a sampler without these parameters receives none of them
    rec3 = _Recorder({})
    sample_bqm(rec3, bqm, seed=1, initial_state=state)
    assert rec3.kwargs == {}


def test_binary_initial_state_converted_for_spin_models() -> None:
    bqm = random_bqm(4, 3, dimod.SPIN)
    rec = _Recorder({"initial_states": []})
    sample_bqm(rec, bqm, initial_state=np.array([1, 0, 0, 1]))
    np.testing.assert_array_equal(rec.kwargs["initial_states"][0], [[1, -1, -1, 1]])


@pytest.mark.parametrize(
    ("name", "kwargs"), [("sa", {"num_reads": 4, "num_sweeps": 50}), ("steepest", {"num_reads": 4})]
)
def test_same_seed_same_samples(name: str, kwargs: dict) -> None:
    # a +-1 spin glass without fields has many local minima, so different seeds differ
    rng = np.random.default_rng(4)
    bqm = dimod.BinaryQuadraticModel(
        {i: 0.0 for i in range(30)},
        {(i, j): float(rng.choice([-1.0, 1.0])) for i, j in itertools.combinations(range(30), 2)},
        0.0,
        dimod.SPIN,
    )
    sampler = get_sampler(name)
    a = sample_bqm(sampler, bqm, seed=123, sample_kwargs=kwargs)
    b = sample_bqm(sampler, bqm, seed=123, sample_kwargs=kwargs)
    c = sample_bqm(sampler, bqm, seed=124, sample_kwargs=kwargs)
    va = a.record.sample[:, [a.variables.index(v) for v in bqm.variables]]
    vb = b.record.sample[:, [b.variables.index(v) for v in bqm.variables]]
    vc = c.record.sample[:, [c.variables.index(v) for v in bqm.variables]]
    np.testing.assert_array_equal(va, vb)
    assert not np.array_equal(va, vc)


@pytest.mark.parametrize("vartype", [dimod.BINARY, dimod.SPIN])
def test_steepest_warm_start_at_local_minimum_returns_it(vartype: dimod.Vartype) -> None:
    bqm = random_bqm(6, 5, vartype, labels=AWKWARD_LABELS)
    steepest = get_sampler("steepest")
    for seed in range(5):
        rng = np.random.default_rng(seed)
        start = rng.integers(0, 2, size=6)
        if vartype is dimod.SPIN:
            start = 2 * start - 1
        local = _state_array(
            steepest.sample(
                bqm, initial_states=(start.reshape(1, -1), list(bqm.variables))
            ).first.sample,
            bqm,
        )
        assert np.all(flip_costs(bqm, local) >= -1e-12)
        ss = sample_bqm(steepest, bqm, seed=seed, initial_state=local)
        np.testing.assert_array_equal(_state_array(ss.first.sample, bqm), local)
        if vartype is dimod.SPIN:  # also given as 0/1 bits
            ss = sample_bqm(steepest, bqm, seed=seed, initial_state=(local + 1) // 2)
            np.testing.assert_array_equal(_state_array(ss.first.sample, bqm), local)


# --- beta_range_for --------------------------------------------------------------------------


def _steepest_descent(bqm: dimod.BinaryQuadraticModel, state: np.ndarray) -> np.ndarray:
    """Steepest single-flip descent written out in numpy, for checking the cold rule."""
    state = state.copy()
    while True:
        costs = flip_costs(bqm, state)
        i = int(np.argmin(costs))
        if costs[i] >= -1e-12:
            return state
        state[i] = -state[i] if bqm.vartype is dimod.SPIN else 1 - state[i]


@pytest.mark.parametrize("vartype", [dimod.BINARY, dimod.SPIN])
def test_beta_range_cold(vartype: dimod.Vartype) -> None:
    bqm = random_bqm(8, 6, vartype)
    hot, cold = beta_range_for(bqm)
    assert 0 < hot < cold
    # the hot end: the root-mean-square flip over random spin states, from the SPIN form
    spin = bqm.change_vartype(dimod.SPIN, inplace=False)
    h = np.array([spin.linear[v] for v in spin.variables])
    J = np.array([[spin.quadratic.get((u, v), 0.0) if u != v else 0.0 for v in spin.variables] for u in spin.variables])
    assert hot == pytest.approx(math.log(4) / (2 * np.sqrt(h**2 + (J**2).sum(axis=1))).max())
    # the cold end: a tenth of the smallest uphill flip at the local minimum that steepest descent reaches
    # from the seeded random start, floored by the smallest nonzero coefficient (x2 for spins)
    start = np.random.default_rng(0).choice(np.array([-1, 1]), size=8)
    uphill = flip_costs(spin, _steepest_descent(spin, start))
    coeffs = np.abs(np.concatenate([h, J[J != 0]]))
    assert cold == pytest.approx(math.log(100) / max(0.1 * uphill[uphill > 0].min(), 2 * coeffs[coeffs > 0].min()))
    # the same model in either vartype gets the same range
    assert beta_range_for(spin) == pytest.approx((hot, cold))


def test_beta_range_cold_fits_dense_gaussian_problems() -> None:
    """Regression: dwave-samplers' rule (hot: the largest possible flip; cold: the smallest
    coefficient) spans about ten decades on a dense Gaussian model and wastes most sweeps; the
    derived range spans a few, and the same sweeps reach lower energies."""
    n = 300
    rng = np.random.default_rng(5)
    upper = np.triu(rng.normal(size=(n, n)), 1)
    model = DenseIsing(rng.normal(size=n), upper + upper.T, 0.0)
    hot, cold = beta_range_dense(model)
    assert (hot, cold) == pytest.approx(beta_range_for(model.to_bqm()))
    old = (math.log(2) / (2 * (np.abs(model.h) + np.abs(model.J).sum(axis=1))).max(), math.log(100) / (2 * np.abs(upper[upper != 0]).min()))
    assert math.log10(cold / hot) < 0.5 * math.log10(old[1] / old[0])
    sampler = get_sampler("dense-sa")
    ours = [sampler.sample_dense(model, seed=s, num_reads=2, num_sweeps=200)[1].min() for s in range(8)]
    theirs = [sampler.sample_dense(model, seed=s, num_reads=2, num_sweeps=200, beta_range=old)[1].min() for s in range(8)]
    assert np.median(ours) < np.median(theirs)


@pytest.mark.parametrize("vartype", [dimod.BINARY, dimod.SPIN])
def test_cold_started_sa_ends_at_local_minima(vartype: dimod.Vartype) -> None:
    """Regression: the cold end of the derived schedule must freeze the samples."""
    bqm = random_bqm(10, 77, vartype, density=1.0)
    ss = sample_bqm(
        get_sampler("sa"), bqm, seed=0, sample_kwargs={"num_reads": 20, "num_sweeps": 200}
    )
    for sample in ss.samples():
        assert np.all(flip_costs(bqm, _state_array(sample, bqm)) >= -1e-12)


def test_beta_range_warm_from_state() -> None:
    bqm = random_bqm(10, 7)
    state = polish(bqm, np.zeros(10))[0]
    hot, cold = beta_range_for(bqm, state)
    costs = flip_costs(bqm, state)
    uphill = costs[costs > 0]
    assert hot == pytest.approx(math.log(2) / np.percentile(uphill, 10))
    assert cold == pytest.approx(max(math.log(100) / uphill.min(), hot))
    assert 0 < hot <= cold
    # the warm start is hotter at the cold end than nothing, and differs from the cold range
    assert (hot, cold) != beta_range_for(bqm)


def test_beta_range_degenerate_models() -> None:
    assert beta_range_for(dimod.BinaryQuadraticModel(dimod.BINARY)) == (0.1, 1.0)
    flat = dimod.BinaryQuadraticModel({0: 0.0, 1: 0.0}, {}, 1.0, dimod.BINARY)
    assert beta_range_for(flat) == (0.1, 1.0)
    # at a state from which every flip is downhill there is no uphill flip either
    down = dimod.BinaryQuadraticModel({0: -1.0, 1: -2.0}, {}, 0.0, dimod.BINARY)
    assert beta_range_for(down, np.zeros(2)) == (0.1, 1.0)


# --- flip_costs ------------------------------------------------------------------------------


@pytest.mark.parametrize("vartype", [dimod.BINARY, dimod.SPIN])
@pytest.mark.parametrize("seed", range(4))
def test_flip_costs_equal_brute_force(vartype: dimod.Vartype, seed: int) -> None:
    bqm = random_bqm(6, seed, vartype, labels=AWKWARD_LABELS)
    # a non-trivial variable order: add a variable last and relabel nothing
    rng = np.random.default_rng(seed + 100)
    values = [0, 1] if vartype is dimod.BINARY else [-1, 1]
    for _ in range(5):
        state = rng.choice(values, size=len(bqm.variables))
        sample = dict(zip(bqm.variables, state, strict=True))
        base = bqm.energy(sample)
        expected = []
        for v in bqm.variables:
            flipped = dict(sample)
            flipped[v] = (1 - flipped[v]) if vartype is dimod.BINARY else -flipped[v]
            expected.append(bqm.energy(flipped) - base)
        np.testing.assert_allclose(flip_costs(bqm, state), expected, rtol=0, atol=1e-10)


@pytest.mark.parametrize("vartype", [dimod.BINARY, dimod.SPIN])
def test_flip_cost_bound_is_an_upper_bound(vartype: dimod.Vartype) -> None:
    bqm = random_bqm(5, 9, vartype, labels=AWKWARD_LABELS)
    bound = flip_costs(bqm)
    assert bound.shape == (5,) and np.all(bound >= 0)
    values = [0, 1] if vartype is dimod.BINARY else [-1, 1]
    worst = np.zeros(5)
    for state in itertools.product(values, repeat=5):
        worst = np.maximum(worst, np.abs(flip_costs(bqm, np.array(state))))
    assert np.all(worst <= bound + 1e-12)


# --- every registry sampler finds the ground state of small random BQMs ---------------------

SAMPLE_KWARGS = {
    "sa": {"num_reads": 20, "num_sweeps": 200},
    "tabu": {"num_reads": 4, "timeout": 5},
    "steepest": {"num_reads": 200},
}


@pytest.mark.parametrize("name", sorted(SAMPLE_KWARGS))
@pytest.mark.parametrize("vartype", [dimod.BINARY, dimod.SPIN])
def test_registry_samplers_find_exact_ground_state(name: str, vartype: dimod.Vartype) -> None:
    sampler = get_sampler(name)
    exact = dimod.ExactSolver()
    for seed in range(6):
        n = 3 + seed  # 3..8 variables
        labels = AWKWARD_LABELS + [f"v{i}" for i in range(10)] if seed % 2 else None
        bqm = random_bqm(n, 1000 + seed, vartype, labels=labels)
        ss = sample_bqm(sampler, bqm, seed=seed, sample_kwargs=SAMPLE_KWARGS[name])
        dimod.testing.assert_sampleset_energies(ss, bqm)
        assert set(ss.variables) == set(bqm.variables)
        ground = exact.sample(bqm).first.energy
        assert ss.first.energy == pytest.approx(ground, abs=1e-9), (name, seed)
    # and a 10-variable dense problem
    bqm = random_bqm(10, 77, vartype, density=1.0)
    ss = sample_bqm(sampler, bqm, seed=0, sample_kwargs=SAMPLE_KWARGS[name])
    dimod.testing.assert_sampleset_energies(ss, bqm)
    assert ss.first.energy == pytest.approx(exact.sample(bqm).first.energy, abs=1e-9)


@pytest.mark.parametrize("name", ["sa", "tabu", "steepest"])
def test_warm_started_samplers_do_not_end_above_a_local_minimum(name: str) -> None:
    bqm = random_bqm(10, 55, density=1.0)
    local, energy = polish(bqm, np.zeros(10))
    kwargs = {"num_reads": 1, "timeout": 5} if name == "tabu" else {"num_reads": 1}
    ss = sample_bqm(get_sampler(name), bqm, seed=0, initial_state=local, sample_kwargs=kwargs)
    dimod.testing.assert_sampleset_energies(ss, bqm)
    assert ss.first.energy <= energy + 1e-9


# ------------------------------------------------------------------------------ fast paths


def test_fast_paths_are_advertised_by_properties_only() -> None:
    from hybridqnn.solvers import LimitedPrecisionComposite, TimeBudgetComposite
    from hybridqnn.solvers.sampling import fast_path, supports_dense

    dense_sa = get_sampler("dense-sa")
    assert supports_dense(dense_sa) and fast_path(dense_sa, "least_squares", {"num_sweeps": 5})
    assert supports_dense(dense_sa, {"fixed_point_bits": 3}) and not fast_path(dense_sa, "least_squares", {"fixed_point_bits": 3})
    assert not supports_dense(dense_sa, {"not_a_keyword": 1})
    assert supports_dense(get_sampler("sb")) and not fast_path(get_sampler("sb"), "least_squares")
    for sampler in (get_sampler("sa"), get_sampler("exact"), get_sampler("milp")):
        assert not supports_dense(sampler) and not fast_path(sampler, "least_squares")
    # a composite must not hand its child's fast path on: that would skip the rounding
    assert not supports_dense(LimitedPrecisionComposite(dense_sa, bits=4))
    assert not fast_path(LimitedPrecisionComposite(dense_sa, bits=4), "least_squares")
    assert not supports_dense(TimeBudgetComposite(dense_sa, time_limit=1.0))
    assert fast_path(dense_sa, "fixed_point", {"num_sweeps": 5, "fixed_point_bits": 3})
    assert not fast_path(get_sampler("sb"), "fixed_point") and not fast_path(get_sampler("sa"), "fixed_point")
    assert not fast_path(LimitedPrecisionComposite(dense_sa, bits=4), "fixed_point")
    with pytest.raises(ValueError, match="'path' must be one of dense, least_squares, fixed_point, got 'sparse'"):
        fast_path(dense_sa, "sparse")


@pytest.mark.parametrize("vartype", ["SPIN", "BINARY"])
def test_solve_dense_gives_the_same_optimum_on_both_paths(vartype: str) -> None:
    from hybridqnn.solvers.sampling import solve_dense
    from hybridqnn.testing.conformance import EnumeratingDenseSampler

    model, _ = DenseIsing.from_bqm(random_bqm(8, seed=3, vartype=dimod.Vartype[vartype]))
    ground = dimod.ExactSolver().sample(model.to_bqm()).first.energy
    dense = EnumeratingDenseSampler()
    spins, energy = solve_dense(dense, model, seed=0)
    assert dense.calls["dense"] == 1 and energy == pytest.approx(ground)
    start = np.ones(8, dtype=np.int8)
    bqm = model.to_bqm(dimod.Vartype[vartype])
    spins2, energy2 = solve_dense(get_sampler("exact"), model, seed=0, initial_state=start, bqm=bqm)
    assert np.array_equal(spins, spins2) and energy2 == pytest.approx(ground)
    assert model.energies(spins2[None])[0] == pytest.approx(energy2)
    with pytest.raises(ValueError, match="returned no samples"):
        solve_dense(dense, model, seed=0, sample_kwargs={"num_reads": 0})


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 1e308 * 10])
def test_sample_bqm_guards_raw_ocean_samplers(bad: float) -> None:
    """A user's own dwave-samplers objects (which do not check, and whose tabu search aborts the
    process on an infinite bias) never see a non-finite model through sample_bqm."""
    from dwave.samplers import SimulatedAnnealingSampler, SteepestDescentSolver, TabuSampler

    bqm = dimod.BinaryQuadraticModel({"a": 1.0, "b": bad}, {("a", "b"): 1.0}, 0.0, "BINARY")
    for sampler in (SimulatedAnnealingSampler(), TabuSampler(), SteepestDescentSolver(), dimod.ExactSolver()):
        with pytest.raises(ValueError, match=r"'bqm' must have finite coefficients, got NaN or infinite: the linear bias of variable 'b'"):
            sample_bqm(sampler, bqm, seed=0)
    quad = dimod.BinaryQuadraticModel({"a": 1.0, "b": 1.0}, {("a", "b"): bad}, 0.0, "SPIN")
    with pytest.raises(ValueError, match=r"the quadratic bias of interaction \('(a|b)', '(b|a)'\)"):
        sample_bqm(TabuSampler(), quad, seed=0)


# ------------------------------------------------------------------------- the fixed-point path


def _grid_problem(n: int, bits: int, seed: int):
    from hybridqnn.problems import FixedPointEncoding, FixedPointQuadratic

    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, n))
    return FixedPointQuadratic(a @ a.T + 0.1 * np.eye(n), 3 * rng.normal(size=n), FixedPointEncoding.symmetric(bits, 2.0, size=n), 0.7)


@pytest.mark.parametrize(("n", "bits", "warm"), [(3, 4, False), (6, 8, True), (12, 10, False), (12, 10, True)])
def test_fixed_point_path_runs_the_dense_fixed_point_chain(n: int, bits: int, warm: bool) -> None:
    """The same seed gives the same states as the dense path with fixed_point_bits = K (the
    same random starts, schedule and moves; the energy changes differ only by rounding)."""
    model = _grid_problem(n, bits, n)
    sampler = get_sampler("dense-sa")
    start = np.random.default_rng(1).choice(np.array([-1, 1], dtype=np.int8), size=(1, model.num_variables)) if warm else None
    for seed in range(3):
        dense = sampler.sample_dense(model.to_dense(), seed=seed, initial_states=start, num_reads=3, num_sweeps=40, fixed_point_bits=bits)
        grid = sampler.sample_fixed_point(model, seed=seed, initial_states=start, num_reads=3, num_sweeps=40)
        np.testing.assert_array_equal(grid[0], dense[0])
        np.testing.assert_allclose(grid[1], dense[1], rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(grid[1], model.to_dense().energies(grid[0]), rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(grid[2]["dense_sa"]["beta_range"], dense[2]["dense_sa"]["beta_range"], rtol=1e-9)


def test_fixed_point_path_rejects_other_bits_and_is_chosen_by_solve_fixed_point() -> None:
    from hybridqnn.solvers.sampling import solve_dense, solve_fixed_point

    model = _grid_problem(4, 5, 0)
    sampler = get_sampler("dense-sa")
    with pytest.raises(ValueError, match=r"'fixed_point_bits' must equal the encoding's bits \(5\) on the fixed-point path, got 4"):
        sampler.sample_fixed_point(model, seed=0, fixed_point_bits=4)
    kwargs = {"num_sweeps": 30, "fixed_point_bits": 5}
    spins, energy = solve_fixed_point(sampler, model, seed=3, sample_kwargs=kwargs)
    dense = solve_dense(sampler, model.to_dense(), seed=3, sample_kwargs=kwargs)
    np.testing.assert_array_equal(spins, dense[0])
    assert energy == pytest.approx(dense[1], rel=1e-12)
    # other bits, or a sampler without the path: the dense model (or the BQM) is solved instead
    spins, energy = solve_fixed_point(sampler, model, seed=3, sample_kwargs={"num_sweeps": 30, "fixed_point_bits": 1})
    assert energy == pytest.approx(float(model.energies(spins)[0]), rel=1e-12)
    small = _grid_problem(2, 3, 1)
    spins, energy = solve_fixed_point(get_sampler("exact"), small, seed=0)
    assert energy == pytest.approx(float(small.energies(spins)[0]), rel=1e-12)
    assert energy == pytest.approx(dimod.ExactSolver().sample(small.to_bqm()).first.energy, rel=1e-12)
