"""Composites: limited coefficient precision, noisy oracle, wall-clock budget."""

from __future__ import annotations

import math
import time
from typing import Any

import dimod
import dimod.testing
import numpy as np
import pytest
from dwave.samplers import SimulatedAnnealingSampler

from hybridqnn.solvers.composites import (
    LimitedPrecisionComposite,
    NoisyOracleComposite,
    TimeBudgetComposite,
    perturb_bqm,
    round_coefficients,
)


def random_bqm(n: int = 8, seed: int = 0, vartype: str = "SPIN") -> dimod.BinaryQuadraticModel:
    rng = np.random.default_rng(seed)
    bqm = dimod.generators.gnp_random_bqm(n, 0.6, vartype, random_state=seed)
    # real-valued coefficients with spread, not the generator's near-uniform ones
    for v in bqm.variables:
        bqm.set_linear(v, rng.normal())
    for u, v in bqm.quadratic:
        bqm.set_quadratic(u, v, rng.normal())
    bqm.offset = 0.25
    return bqm


class Recorder(dimod.Sampler):
    """A child that records the BQM and keywords of each call, then defers to ``inner``."""

    def __init__(self, inner: dimod.Sampler, fail_on: int | None = None) -> None:
        self.inner = inner
        self.calls: list[tuple[dimod.BinaryQuadraticModel, dict[str, Any]]] = []
        self.returned: list[dimod.SampleSet] = []
        self.fail_on = fail_on

    @property
    def parameters(self) -> dict[str, list]:
        return dict(self.inner.parameters)

    @property
    def properties(self) -> dict[str, Any]:
        return {}

    def sample(self, bqm: dimod.BinaryQuadraticModel, **kwargs: Any) -> dimod.SampleSet:
        self.calls.append((bqm.copy(), dict(kwargs)))
        if self.fail_on is not None and len(self.calls) >= self.fail_on:
            raise KeyboardInterrupt
        ss = self.inner.sample(bqm, **kwargs)
        self.returned.append(ss)
        return ss


SA = SimulatedAnnealingSampler


def all_composites(child: dimod.Sampler) -> list[dimod.ComposedSampler]:
    return [
        LimitedPrecisionComposite(child, bits=8),
        NoisyOracleComposite(child, variance=0.01, seed=0),
        TimeBudgetComposite(child, time_limit=0.05),
    ]


# ------------------------------------------------------------------------------ shared contract


@pytest.mark.parametrize("index", range(3))
def test_dimod_composite_api(index: int) -> None:
    composite = all_composites(SA())[index]
    dimod.testing.assert_composite_api(composite)
    dimod.testing.assert_sampler_api(composite)
    assert composite.child is composite.children[0]
    assert set(SA().parameters) <= set(composite.parameters)
    assert "child_properties" in composite.properties


@pytest.mark.parametrize("index", range(3))
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_coefficients_rejected(index: int, bad: float) -> None:
    composite = all_composites(dimod.ExactSolver())[index]
    bqm = dimod.BinaryQuadraticModel({"a": 1.0, "b": bad}, {("a", "b"): 1.0}, 0.0, "SPIN")
    with pytest.raises(ValueError, match="'bqm' must have finite coefficients"):
        composite.sample(bqm)
    bqm = dimod.BinaryQuadraticModel({"a": 1.0}, {("a", "b"): bad}, 0.0, "BINARY")
    with pytest.raises(ValueError, match="'bqm' must have finite coefficients"):
        composite.sample(bqm)


@pytest.mark.parametrize("index", range(3))
def test_unknown_kwarg_and_wrong_types_rejected(index: int) -> None:
    composite = all_composites(SA())[index]
    with pytest.raises(ValueError, match="unknown keyword.*'n_reads'"):
        composite.sample(random_bqm(), n_reads=3)
    with pytest.raises(TypeError, match="'bqm' must be a dimod.BinaryQuadraticModel"):
        composite.sample({"a": 1.0})  # type: ignore[arg-type]


def test_constructor_validation() -> None:
    for bits in (1, 33, 0):
        with pytest.raises(ValueError, match=r"'bits' must be an integer in \[2, 32\]"):
            LimitedPrecisionComposite(SA(), bits=bits)
    with pytest.raises(TypeError, match="'bits'"):
        LimitedPrecisionComposite(SA(), bits=4.0)  # type: ignore[arg-type]
    for variance in (-0.1, math.nan, math.inf):
        with pytest.raises(ValueError, match="'variance'"):
            NoisyOracleComposite(SA(), variance=variance)
    with pytest.raises(ValueError, match="'seed'"):
        NoisyOracleComposite(SA(), variance=0.1, seed=-1)
    for limit in (0.0, -1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match="'time_limit'"):
            TimeBudgetComposite(SA(), time_limit=limit)
    with pytest.raises(ValueError, match="'max_calls'"):
        TimeBudgetComposite(SA(), time_limit=1.0, max_calls=0)
    with pytest.raises(TypeError, match="'child' must be a dimod.Sampler"):
        TimeBudgetComposite(object(), time_limit=1.0)  # type: ignore[arg-type]


@pytest.mark.parametrize("index", range(3))
def test_empty_one_variable_and_awkward_labels(index: int) -> None:
    composite = all_composites(dimod.ExactSolver())[index]
    empty = dimod.BinaryQuadraticModel({}, {}, 1.5, "SPIN")
    ss = composite.sample(empty)
    assert len(ss.variables) == 0 and np.allclose(
        ss.record.true_energy if index == 1 else ss.record.energy, 1.5
    )
    one = dimod.BinaryQuadraticModel({("t", 1): -1.0}, {}, 0.0, "BINARY")
    assert composite.sample(one).first.sample == {("t", 1): 1}
    awkward = dimod.BinaryQuadraticModel(
        {"x": 1.0, (0, "y"): -0.5, 3: 0.2}, {("x", (0, "y")): -2.0}, 0.0, "SPIN"
    )
    ss = composite.sample(awkward)
    assert set(ss.variables) == {"x", (0, "y"), 3}
    energy = ss.record.true_energy if index == 1 else ss.record.energy
    assert np.allclose(energy, awkward.energies(ss))


# ------------------------------------------------------------------------------ limited precision


@pytest.mark.parametrize("vartype", ["SPIN", "BINARY"])
@pytest.mark.parametrize("bits", [2, 3, 5, 8])
def test_round_coefficients_grid(vartype: str, bits: int) -> None:
    bqm = random_bqm(12, seed=bits, vartype=vartype)
    rounded, step = round_coefficients(bqm, bits)
    lin, (_, _, quad), _ = bqm.to_numpy_vectors(variable_order=list(bqm.variables))
    rlin, (_, _, rquad), roff = rounded.to_numpy_vectors(variable_order=list(bqm.variables))
    scale = max(np.abs(lin).max(), np.abs(quad).max())
    levels = 2 ** (bits - 1) - 1
    assert step == pytest.approx(scale / levels)
    for orig, new in ((lin, rlin), (quad, rquad)):
        k = new / step
        assert np.allclose(k, np.round(k))  # on the grid
        assert np.all(np.abs(np.round(k)) <= levels)  # within the signed b-bit range
        assert np.all(np.abs(new - orig) <= step / 2 + 1e-12)  # nearest multiple
    assert max(np.abs(rlin).max(), np.abs(rquad).max()) == pytest.approx(scale)  # largest kept
    assert roff == bqm.offset and rounded.vartype is bqm.vartype
    assert rounded.num_interactions == bqm.num_interactions


def test_round_coefficients_two_bits_and_zero_model() -> None:
    bqm = dimod.BinaryQuadraticModel(
        {"a": 1.0, "b": 0.49, "c": -0.51}, {("a", "b"): -0.2}, 0, "SPIN"
    )
    rounded, step = round_coefficients(bqm, 2)
    assert step == 1.0
    assert dict(rounded.linear) == {"a": 1.0, "b": 0.0, "c": -1.0}
    assert rounded.quadratic[("a", "b")] == 0.0
    zero = dimod.BinaryQuadraticModel({"a": 0.0}, {}, 2.0, "SPIN")
    same, step = round_coefficients(zero, 4)
    assert step == 0.0 and same == zero


@pytest.mark.parametrize("vartype", ["SPIN", "BINARY"])
@pytest.mark.parametrize("seed", range(4))
def test_limited_precision_many_bits_finds_exact_ground_state(vartype: str, seed: int) -> None:
    bqm = random_bqm(10, seed=seed, vartype=vartype)
    exact = dimod.ExactSolver().sample(bqm)
    ss = LimitedPrecisionComposite(dimod.ExactSolver(), bits=32).sample(bqm)
    dimod.testing.assert_sampleset_energies(ss, bqm)
    assert ss.first.energy == pytest.approx(exact.first.energy)
    assert ss.first.sample == exact.first.sample
    assert ss.info["limited_precision"]["bits"] == 32


def test_limited_precision_energies_are_original_and_rounded_kept() -> None:
    bqm = random_bqm(10, seed=7)
    ss = LimitedPrecisionComposite(SA(), bits=2).sample(bqm, num_reads=20, seed=3, num_sweeps=200)
    dimod.testing.assert_sampleset_energies(ss, bqm)  # energies of the original problem
    rounded, _ = round_coefficients(bqm, 2)
    assert np.allclose(ss.record.rounded_energy, rounded.energies(ss))
    assert len(ss) == 20 and np.all(np.isin(ss.record.sample, [-1, 1]))  # valid samples
    assert ss.vartype is dimod.SPIN


def test_limited_precision_child_gets_rounded_problem_and_kwargs() -> None:
    child = Recorder(SA())
    bqm = random_bqm(6, seed=1)
    LimitedPrecisionComposite(child, bits=3).sample(bqm, num_reads=2, seed=1)
    seen, kwargs = child.calls[0]
    assert seen == round_coefficients(bqm, 3)[0]
    assert kwargs == {"num_reads": 2, "seed": 1}


def test_limited_precision_same_seed_same_samples() -> None:
    bqm = random_bqm(10, seed=2)
    sampler = LimitedPrecisionComposite(SA(), bits=6)
    a = sampler.sample(bqm, num_reads=5, seed=11)
    b = sampler.sample(bqm, num_reads=5, seed=11)
    assert np.array_equal(a.record.sample, b.record.sample)


# ------------------------------------------------------------------------------ noisy oracle


@pytest.mark.parametrize("variance", [0.01, 0.25, 4.0])
def test_perturbation_has_stated_bounded_variance(variance: float) -> None:
    n = 4000
    rng = np.random.default_rng(0)
    bqm = dimod.BinaryQuadraticModel(
        rng.normal(size=n), {(i, i + 1): rng.normal() for i in range(n - 1)}, 0.5, "SPIN"
    )
    noisy = perturb_bqm(bqm, variance, seed=1)
    order = list(bqm.variables)
    lin, (_, _, quad), off = bqm.to_numpy_vectors(variable_order=order)
    nlin, (_, _, nquad), noff = noisy.to_numpy_vectors(variable_order=order)
    noise = np.concatenate([nlin - lin, nquad - quad])
    a = math.sqrt(3 * variance)
    assert np.all(np.abs(noise) <= a + 1e-12)  # bounded
    assert np.abs(noise).max() > 0.99 * a  # and the bound is the uniform's edge
    # 8000 draws: the sample variance of U[-a, a] has relative std sqrt(0.8/8000) = 1%
    assert noise.var() == pytest.approx(variance, rel=0.05)
    assert abs(noise.mean()) < 4 * math.sqrt(variance / noise.size)
    assert noff == off and noisy.num_interactions == bqm.num_interactions


def test_noisy_oracle_energy_noise_has_stated_variance() -> None:
    variance = 0.5
    bqm = random_bqm(8, seed=3)
    sampler = NoisyOracleComposite(SA(), variance=variance, seed=0)
    ss = sampler.sample(bqm, num_reads=3000, num_sweeps=10)
    true = ss.record.true_energy
    assert np.allclose(true, bqm.energies(ss))  # true energies kept, exact
    eta = ss.record.energy - true
    a = sampler.halfwidth
    assert a == pytest.approx(math.sqrt(1.5))
    assert np.all(np.abs(eta) <= a + 1e-12)
    assert eta.var() == pytest.approx(variance, rel=0.1)
    assert ss.info["noisy_oracle"]["variance"] == variance


def test_noisy_oracle_child_sees_perturbed_problem() -> None:
    child = Recorder(SA())
    bqm = random_bqm(8, seed=4)
    ss = NoisyOracleComposite(child, variance=0.1, seed=5).sample(bqm, num_reads=4)
    seen, kwargs = child.calls[0]
    diff = np.array([seen.linear[v] - bqm.linear[v] for v in bqm.variables])
    assert np.all(np.abs(diff) <= math.sqrt(0.3)) and np.any(diff != 0)
    assert set(seen.quadratic) == set(bqm.quadratic)
    assert "seed" in kwargs and 0 <= kwargs["seed"] < 2**31  # a derived child seed
    assert np.allclose(ss.record.perturbed_energy, seen.energies(ss))


def test_noisy_oracle_without_energy_noise_and_zero_variance() -> None:
    bqm = random_bqm(8, seed=6)
    ss = NoisyOracleComposite(SA(), variance=0.3, seed=1, energy_noise=False).sample(
        bqm, num_reads=5
    )
    dimod.testing.assert_sampleset_energies(ss, bqm)
    assert np.array_equal(ss.record.energy, ss.record.true_energy)
    exact = dimod.ExactSolver().sample(bqm)
    ss = NoisyOracleComposite(dimod.ExactSolver(), variance=0.0, seed=1).sample(bqm)
    assert ss.first.energy == pytest.approx(exact.first.energy)
    assert np.allclose(ss.record.energy, ss.record.true_energy)


def test_noisy_oracle_reproducible() -> None:
    bqm = random_bqm(10, seed=8)

    def run(sampler: NoisyOracleComposite, **kw: Any) -> np.ndarray:
        ss = sampler.sample(bqm, num_reads=6, **kw)
        return np.column_stack([ss.record.sample, ss.record.energy[:, None]])

    # the same seed keyword, repeated: the same result
    s = NoisyOracleComposite(SA(), variance=0.2)
    assert np.array_equal(run(s, seed=3), run(s, seed=3))
    assert not np.array_equal(run(s, seed=3), run(s, seed=4))
    # the same constructor seed: the same sequence of calls; successive calls differ
    s1, s2 = (
        NoisyOracleComposite(SA(), variance=0.2, seed=9),
        NoisyOracleComposite(SA(), variance=0.2, seed=9),
    )
    first, second = run(s1), run(s1)
    assert np.array_equal(first, run(s2)) and np.array_equal(second, run(s2))
    assert not np.array_equal(first, second)
    # the reported seed re-creates the stream
    info = NoisyOracleComposite(SA(), variance=0.2, seed=9).sample(bqm).info
    assert info["seed"] == 9 and info["noisy_oracle"]["spawn_key"] == [0]


def test_noisy_oracle_child_without_seed() -> None:
    bqm = random_bqm(6, seed=9)
    child = Recorder(dimod.ExactSolver())
    s = NoisyOracleComposite(child, variance=0.1)
    assert "seed" in s.parameters
    a, b = s.sample(bqm, seed=2), s.sample(bqm, seed=2)
    assert "seed" not in child.calls[0][1]
    assert np.array_equal(a.record.energy, b.record.energy)


# ------------------------------------------------------------------------------ time budget


def test_time_budget_respects_limit_and_keeps_best() -> None:
    bqm = random_bqm(12, seed=10)
    child = Recorder(SA())
    limit = 0.3
    start = time.perf_counter()
    ss = TimeBudgetComposite(child, time_limit=limit).sample(
        bqm, num_reads=3, num_sweeps=20, seed=1
    )
    elapsed = time.perf_counter() - start
    calls = ss.info["time_budget"]["calls"]
    assert calls == len(child.calls) >= 2
    assert limit <= ss.info["time_budget"]["elapsed_s"] <= elapsed < limit + 0.5
    assert len(ss) == 3
    dimod.testing.assert_sampleset_energies(ss, bqm)
    seen = np.sort(np.concatenate([r.record.energy for r in child.returned]))
    assert np.allclose(np.sort(ss.record.energy), seen[:3])  # the 3 best of everything seen
    # each call got a fresh seed and the caller's other keywords
    seeds = [kw["seed"] for _, kw in child.calls]
    assert len(set(seeds)) == len(seeds)
    assert all(kw["num_sweeps"] == 20 and kw["num_reads"] == 3 for _, kw in child.calls)
    assert ss.info["seed"] == 1 and ss.info["time_budget"]["interrupted"] is False


def test_time_budget_interrupts_a_long_child_call() -> None:
    """SA takes interrupt_function: one call that would take seconds stops at the deadline."""
    bqm = random_bqm(30, seed=11)
    start = time.perf_counter()
    ss = TimeBudgetComposite(SA(), time_limit=0.2).sample(
        bqm, num_reads=100000, num_sweeps=1000, seed=0
    )
    assert time.perf_counter() - start < 1.0
    assert ss.info["time_budget"]["calls"] == 1 and 1 <= len(ss) < 100000


def test_time_budget_same_seed_same_calls() -> None:
    bqm = random_bqm(10, seed=12)
    c1, c2 = Recorder(SA()), Recorder(SA())
    TimeBudgetComposite(c1, time_limit=10.0, max_calls=3).sample(bqm, num_reads=2, seed=5)
    TimeBudgetComposite(c2, time_limit=10.0, max_calls=3).sample(bqm, num_reads=2, seed=5)
    assert [kw["seed"] for _, kw in c1.calls] == [kw["seed"] for _, kw in c2.calls]
    for a, b in zip(c1.returned, c2.returned, strict=True):
        assert np.array_equal(a.record.sample, b.record.sample)


def test_time_budget_child_without_num_reads_or_seed() -> None:
    bqm = random_bqm(6, seed=13)
    sampler = TimeBudgetComposite(dimod.ExactSolver(), time_limit=0.05)
    assert "num_reads" in sampler.parameters
    ss = sampler.sample(bqm, num_reads=4)
    exact = dimod.ExactSolver().sample(bqm)
    assert len(ss) == 4
    assert ss.first.energy == pytest.approx(exact.first.energy)
    assert "seed" not in ss.info
    ss = TimeBudgetComposite(dimod.ExactSolver(), time_limit=10.0, max_calls=2).sample(bqm)
    assert ss.info["time_budget"]["calls"] == 2 and len(ss) == 2**6  # keeps as many as the first call gave


def test_time_budget_keyboard_interrupt_returns_best_so_far() -> None:
    bqm = random_bqm(8, seed=14)
    child = Recorder(SA(), fail_on=3)
    ss = TimeBudgetComposite(child, time_limit=30.0).sample(bqm, num_reads=2, seed=0)
    assert ss.info["time_budget"]["interrupted"] is True and ss.info["time_budget"]["calls"] == 2
    best = np.sort(np.concatenate([r.record.energy for r in child.returned]))[:2]
    assert np.allclose(np.sort(ss.record.energy), best)
    with pytest.raises(KeyboardInterrupt):
        TimeBudgetComposite(Recorder(SA(), fail_on=1), time_limit=30.0).sample(bqm)


# ------------------------------------------------------------------------------ composition


def test_composites_compose() -> None:
    bqm = random_bqm(10, seed=15)
    exact = dimod.ExactSolver().sample(bqm).first.energy
    sampler = TimeBudgetComposite(
        LimitedPrecisionComposite(
            NoisyOracleComposite(SA(), variance=1e-6, seed=0, energy_noise=False), bits=16
        ),
        time_limit=0.2,
    )
    ss = sampler.sample(bqm, num_reads=4, seed=2)
    dimod.testing.assert_sampleset_energies(ss, bqm)
    assert ss.first.energy == pytest.approx(exact)
    assert {"rounded_energy", "true_energy", "perturbed_energy"} <= set(ss.record.dtype.names)


# ------------------------------------------------------------------------------ conformance


@pytest.mark.parametrize(
    "make",
    [
        lambda: LimitedPrecisionComposite(SA(), bits=32),
        lambda: LimitedPrecisionComposite(dimod.ExactSolver(), bits=32),
        lambda: NoisyOracleComposite(SA(), variance=1e-12, seed=0, energy_noise=False),
        # a call cap instead of a short budget: the same seed must mean the same calls
        lambda: TimeBudgetComposite(SA(), time_limit=60.0, max_calls=3),
    ],
    ids=["limited-precision-sa", "limited-precision-exact", "noisy-oracle", "time-budget"],
)
@pytest.mark.filterwarnings("ignore:All bqm biases are zero:UserWarning")  # SA on the empty model
def test_conformance(make: Any) -> None:
    from hybridqnn.testing import CHECKS, check_sampler

    sampler = make()
    kwargs = {"num_reads": 4} if "num_reads" in sampler.parameters else {}
    generous = {"num_reads": 20, "num_sweeps": 1000} if "num_sweeps" in sampler.parameters else kwargs
    # "info": over a raw Ocean child a composite keeps the child's own info, which has loose
    # figures (SA's beta_range); composites over the registry's samplers are checked for the
    # info convention in test_solvers_conformance.py
    checks = [name for name in CHECKS if name != "info"]
    check_sampler(sampler, sample_kwargs=kwargs, ground_state_kwargs=generous, only=checks)
