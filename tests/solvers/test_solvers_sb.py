"""Simulated bifurcation: dimod's sampler suite, conformance, the dynamics' options, errors."""

from __future__ import annotations

import unittest

import dimod
import dimod.testing
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from hybridqnn.problems import DenseIsing
from hybridqnn.solvers.bifurcation import SimulatedBifurcationSampler, default_c0, spectral_radius
from hybridqnn.testing import CHECKS, check_sampler
from hybridqnn.testing.conformance import awkward_labels, random_bqm

QUICK = {"num_reads": 4, "num_steps": 200}
# Plain bSB tends to send every read to the same state, and on some 10-12 variable models
# that state is a near-degenerate excited one (7 of 50 models, whatever the reads or steps).
# Heating restores variety between reads, so the ballistic ground-state check runs heated.
GENEROUS = {
    "discrete": {"num_reads": 20, "mode": "discrete"},
    "ballistic": {"num_reads": 20, "mode": "ballistic", "heated": True, "heat_coefficient": 0.2, "dt": 0.25},
}


def _couplings_only(n: int, seed: int) -> dimod.BinaryQuadraticModel:
    rng = np.random.default_rng(seed)
    return dimod.BinaryQuadraticModel(np.zeros(n), np.triu(rng.normal(size=(n, n)), 1), 0.0, "SPIN")


@dimod.testing.load_sampler_bqm_tests(SimulatedBifurcationSampler)
class TestDimodSuite(unittest.TestCase):
    def test_api(self) -> None:
        dimod.testing.assert_sampler_api(SimulatedBifurcationSampler())


@pytest.mark.parametrize("check", list(CHECKS))
@pytest.mark.parametrize("mode", ["ballistic", "discrete"])
def test_conformance(mode: str, check: str) -> None:
    check_sampler(
        SimulatedBifurcationSampler(),
        sample_kwargs={**QUICK, "mode": mode},
        ground_state_kwargs=GENEROUS[mode],
        only=[check],
    )


@pytest.mark.parametrize("mode", ["ballistic", "discrete"])
@pytest.mark.parametrize("seed", range(4))
def test_ground_state_of_pure_couplings(mode: str, seed: int) -> None:
    bqm = _couplings_only(8 + seed, 100 + seed)
    ground = dimod.ExactSolver().sample(bqm).first.energy
    found = SimulatedBifurcationSampler().sample(bqm, seed=seed, **GENEROUS[mode]).first.energy
    assert found <= ground + 1e-9


@pytest.mark.parametrize("vartype", ["BINARY", "SPIN"])
def test_energies_and_labels(vartype: str) -> None:
    labels = ["a", ("t", 1), "long label", (2, ("x",)), 7]
    bqm = random_bqm(5, vartype, seed=4, labels=labels)
    ss = SimulatedBifurcationSampler().sample(bqm, num_reads=6, seed=1)
    dimod.testing.assert_sampleset_energies(ss, bqm)
    assert set(ss.variables) == set(labels)
    assert ss.vartype is bqm.vartype
    assert len(ss) == 6


@pytest.mark.parametrize("mode", ["ballistic", "discrete"])
def test_seed_reproduces_and_different_seeds_differ(mode: str) -> None:
    # no fields: with strong random fields bSB follows one adiabatic branch from every start
    bqm = _couplings_only(40, 9)
    sampler = SimulatedBifurcationSampler()
    a = sampler.sample(bqm, num_reads=8, seed=5, mode=mode, num_steps=300)
    b = sampler.sample(bqm, num_reads=8, seed=5, mode=mode, num_steps=300)
    c = sampler.sample(bqm, num_reads=8, seed=6, mode=mode, num_steps=300)
    np.testing.assert_array_equal(a.record.sample, b.record.sample)
    assert not np.array_equal(a.record.sample, c.record.sample)
    assert a.info["seed"] == 5


def test_sample_dense_agrees_with_sample() -> None:
    bqm = random_bqm(12, "BINARY", seed=3)
    model, _ = DenseIsing.from_bqm(bqm)
    sampler = SimulatedBifurcationSampler()
    spins, energies, info = sampler.sample_dense(model, num_reads=5, seed=2, mode="discrete")
    ss = sampler.sample(bqm, num_reads=5, seed=2, mode="discrete")
    np.testing.assert_array_equal(ss.record.sample, (spins + 1) // 2)
    np.testing.assert_allclose(ss.record.energy, energies)
    assert spins.dtype == np.int8 and set(np.unique(spins)) <= {-1, 1}
    assert {"num_steps_run", "stopped_early", "c0", "dt", "mode", "heated", "device"} <= set(info["sb"])
    assert info["sb"]["device"] == "cpu" and info["sb"]["dt"] == 1.0


def test_early_stopping_stops_on_an_easy_problem() -> None:
    # a ferromagnetic chain with a field: every read settles into the all-down state at once
    n = 20
    bqm = dimod.BinaryQuadraticModel({i: 1.0 for i in range(n)}, {(i, i + 1): -1.0 for i in range(n - 1)}, 0.0, "SPIN")
    sampler = SimulatedBifurcationSampler()
    early = sampler.sample(bqm, num_reads=8, seed=0, num_steps=2000)
    assert early.info["sb"]["stopped_early"] and early.info["sb"]["num_steps_run"] < 2000
    assert early.first.energy == pytest.approx(-n - (n - 1))
    full = sampler.sample(bqm, num_reads=8, seed=0, num_steps=2000, early_stopping=False)
    assert not full.info["sb"]["stopped_early"] and full.info["sb"]["num_steps_run"] == 2000


def test_heated_changes_the_trajectories() -> None:
    bqm = random_bqm(30, "SPIN", seed=1)
    sampler = SimulatedBifurcationSampler()
    plain = sampler.sample(bqm, num_reads=8, seed=3, early_stopping=False)
    heated = sampler.sample(bqm, num_reads=8, seed=3, early_stopping=False, heated=True, heat_coefficient=0.2)
    assert heated.info["sb"]["heated"]
    assert not np.array_equal(plain.record.sample, heated.record.sample)


def test_warm_start_runs_and_is_reproducible() -> None:
    bqm = random_bqm(15, "BINARY", seed=2)
    start = {v: i % 2 for i, v in enumerate(bqm.variables)}
    sampler = SimulatedBifurcationSampler()
    a = sampler.sample(bqm, num_reads=3, seed=1, initial_states=start)
    b = sampler.sample(bqm, num_reads=3, seed=1, initial_states=start)
    np.testing.assert_array_equal(a.record.sample, b.record.sample)
    dimod.testing.assert_sampleset_energies(a, bqm)


def test_float64_and_explicit_c0() -> None:
    bqm = random_bqm(10, "SPIN", seed=6)
    ss = SimulatedBifurcationSampler(dtype=torch.float64).sample(bqm, num_reads=4, seed=0, c0=0.05)
    dimod.testing.assert_sampleset_energies(ss, bqm)
    assert ss.info["sb"]["c0"] == 0.05
    assert SimulatedBifurcationSampler(dtype=torch.float64).properties["dtype"] == "torch.float64"


def test_default_c0_is_gotos_on_dense_random_couplings() -> None:
    # Goto 2019: c0 = 0.5 / (sqrt(n) sigma_J); the stability cap does not bind here
    n = 200
    rng = np.random.default_rng(0)
    upper = np.triu(rng.normal(size=(n, n)), 1)
    J = torch.tensor(upper + upper.T)
    c0 = default_c0(J, torch.zeros(n), dt=0.5)
    sigma = float(upper[np.triu_indices(n, 1)].std())
    assert c0 == pytest.approx(0.5 / (np.sqrt(n) * sigma), rel=0.02)
    assert spectral_radius(J) == pytest.approx(np.abs(np.linalg.eigvalsh(J.numpy())).max(), rel=0.05)


def test_default_c0_is_capped_for_stiff_couplings() -> None:
    # a rank-one coupling (number partitioning): c0 * rho(J) stays within the Euler stability cap
    a = np.linspace(0.1, 1.0, 50)
    J = torch.tensor(np.outer(a, a) - np.diag(a * a))
    dt = 0.5
    c0 = default_c0(J, torch.zeros(50), dt=dt)
    assert c0 * spectral_radius(J) <= (1.9 / dt) ** 2 - 1 + 1e-9


@pytest.mark.parametrize(
    ("kwargs", "name", "error"),
    [
        ({"num_steps": -1}, "num_steps", ValueError),
        ({"num_steps": 0}, "num_steps", ValueError),
        ({"num_steps": 2.5}, "num_steps", TypeError),
        ({"mode": "adiabatic"}, "mode", ValueError),
        ({"dt": 0.0}, "dt", ValueError),
        ({"dt": -0.1}, "dt", ValueError),
        ({"c0": 0.0}, "c0", ValueError),
        ({"heated": "yes"}, "heated", TypeError),
        ({"heat_coefficient": -1.0}, "heat_coefficient", ValueError),
        ({"early_stopping": 1}, "early_stopping", TypeError),
        ({"stop_window": 0}, "stop_window", ValueError),
        ({"check_every": 0}, "check_every", ValueError),
        ({"num_sweeps": 10}, "num_sweeps", ValueError),
    ],
)
def test_bad_parameters_name_themselves(kwargs: dict, name: str, error: type) -> None:
    with pytest.raises(error, match=name):
        SimulatedBifurcationSampler().sample(random_bqm(3, "SPIN", seed=0), **kwargs)


def test_bad_constructor_arguments() -> None:
    with pytest.raises(ValueError, match="device"):
        SimulatedBifurcationSampler(device="not-a-device")
    with pytest.raises(TypeError, match="device"):
        SimulatedBifurcationSampler(device=3)
    with pytest.raises(TypeError, match="dtype"):
        SimulatedBifurcationSampler(dtype=torch.int32)


@given(st.integers(1, 6), st.sampled_from(["BINARY", "SPIN"]), st.sampled_from(["ballistic", "discrete"]), st.integers(0, 2**16))
def test_any_small_model_gives_valid_samples(n: int, vartype: str, mode: str, seed: int) -> None:
    bqm = random_bqm(n, vartype, seed=seed, labels=awkward_labels(n))
    ss = SimulatedBifurcationSampler().sample(bqm, num_reads=3, seed=seed, mode=mode, num_steps=100)
    dimod.testing.assert_sampleset_energies(ss, bqm)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
def test_cuda_without_a_device_fails_before_any_work() -> None:
    with pytest.raises(ValueError, match="device"):
        SimulatedBifurcationSampler(device="cuda").sample(random_bqm(3, "SPIN", seed=0))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_the_energies() -> None:
    bqm = random_bqm(50, "SPIN", seed=0)
    ss = SimulatedBifurcationSampler(device="cuda").sample(bqm, num_reads=8, seed=0)
    dimod.testing.assert_sampleset_energies(ss, bqm)
    assert ss.info["sb"]["device"].startswith("cuda")
