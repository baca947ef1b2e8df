"""Every registry sampler (and our own samplers directly) passes the conformance checks."""

from __future__ import annotations

import pytest

from hybridqnn.solvers import get_sampler
from hybridqnn.testing import CHECKS, check_sampler
from hybridqnn.testing.conformance import random_bqm

# (name, quick kwargs, generous ground-state kwargs, rejects unknown kwargs itself)
CASES = {
    "sa": ({"num_reads": 4, "num_sweeps": 100}, {"num_reads": 20, "num_sweeps": 1000}, False),
    "tabu": ({"num_reads": 2, "timeout": 20}, {"num_reads": 5, "timeout": 50}, False),
    "steepest": ({"num_reads": 4}, {"num_reads": 200}, False),
    "exact": ({}, {}, False),
    "milp": ({}, {}, True),
    "dense-sa": ({"num_reads": 4, "num_sweeps": 100}, {"num_reads": 20, "num_sweeps": 1000}, True),
    "sb": ({"num_reads": 4, "num_steps": 200}, {"num_reads": 20, "mode": "discrete"}, True),
    "cim": ({"num_reads": 4, "num_steps": 300}, {"num_reads": 20}, True),
}


@pytest.mark.parametrize("check", list(CHECKS))
@pytest.mark.parametrize("name", list(CASES))
def test_registry_sampler_conforms(name: str, check: str) -> None:
    quick, generous, strict = CASES[name]
    check_sampler(get_sampler(name), sample_kwargs=quick, ground_state_kwargs=generous, rejects_unknown_kwargs=strict, only=[check])


def test_check_sampler_catches_a_broken_sampler() -> None:
    import dimod

    class WrongEnergies(dimod.RandomSampler):
        def sample(self, bqm, **kwargs):
            ss = super().sample(bqm, **kwargs)
            ss.record.energy[:] += 1.0
            return ss

    with pytest.raises(AssertionError):
        check_sampler(WrongEnergies(), sample_kwargs={"num_reads": 3}, only=["energies"])
    with pytest.raises(ValueError, match="'only' must name checks"):
        check_sampler(dimod.RandomSampler(), only=["nope"])


def test_non_finite_check_catches_a_sampler_that_samples_anyway_and_can_be_skipped() -> None:
    import dimod

    with pytest.raises(AssertionError, match="non_finite: RandomSampler sampled a model with a non-finite"):
        check_sampler(dimod.RandomSampler(), only=["non_finite"])
    check_sampler(dimod.RandomSampler(), rejects_non_finite=False, only=["non_finite"])

    class Unnamed(dimod.RandomSampler):
        def sample(self, bqm, **kwargs):
            raise ValueError("bad model")

    with pytest.raises(AssertionError, match="non_finite: Unnamed's error does not name"):
        check_sampler(Unnamed(), only=["non_finite"])


@pytest.mark.parametrize("composite", ["limited-precision", "noisy-oracle", "time-budget"])
def test_composites_keep_the_info_convention_and_their_childs_info(composite: str) -> None:
    from hybridqnn.solvers import (
        LimitedPrecisionComposite,
        NoisyOracleComposite,
        TimeBudgetComposite,
    )

    child = get_sampler("sa")
    sampler = {
        "limited-precision": lambda: LimitedPrecisionComposite(child, bits=8),
        "noisy-oracle": lambda: NoisyOracleComposite(child, variance=0.01, seed=0),
        "time-budget": lambda: TimeBudgetComposite(child, time_limit=0.05, max_calls=2),
    }[composite]()
    check_sampler(sampler, sample_kwargs={"num_reads": 2, "num_sweeps": 50}, rejects_unknown_kwargs=True, only=["info"])
    info = sampler.sample(random_bqm(5, "SPIN", seed=0), num_reads=2, num_sweeps=50, seed=4).info
    assert "beta_range" in info["sa"]  # the child's own figures are kept
    assert info["seed"] == 4 and {composite.replace("-", "_")} <= set(info)


def test_check_info_catches_loose_figures_and_missing_timing() -> None:
    import dimod

    class Loose(dimod.RandomSampler):
        def sample(self, bqm, **kwargs):
            ss = super().sample(bqm, **kwargs)
            ss.info.update(timing={"preprocessing_ns": 0, "sampling_ns": 1, "postprocessing_ns": 0}, seed=kwargs.get("seed"), anneal_s=0.1)
            return ss

    with pytest.raises(AssertionError, match="namespaced key"):
        check_sampler(Loose(), only=["info"])
    with pytest.raises(AssertionError, match="no 'timing'"):
        check_sampler(dimod.RandomSampler(), only=["info"])
