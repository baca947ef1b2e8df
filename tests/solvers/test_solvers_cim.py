"""Simulated coherent Ising machine: dimod's sampler suite, conformance, best-seen, errors."""

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
from hybridqnn.solvers.cim import CIMSampler, default_feedback_scale
from hybridqnn.solvers.reference import polish_dense
from hybridqnn.testing import CHECKS, check_sampler
from hybridqnn.testing.conformance import awkward_labels, random_bqm

QUICK = {"num_reads": 4, "num_steps": 300}
GENEROUS = {"num_reads": 20}  # the defaults: 2000 steps


def _couplings_only(n: int, seed: int) -> dimod.BinaryQuadraticModel:
    rng = np.random.default_rng(seed)
    return dimod.BinaryQuadraticModel(np.zeros(n), np.triu(rng.normal(size=(n, n)), 1), 0.0, "SPIN")


@dimod.testing.load_sampler_bqm_tests(CIMSampler)
class TestDimodSuite(unittest.TestCase):
    def test_api(self) -> None:
        dimod.testing.assert_sampler_api(CIMSampler())


@pytest.mark.parametrize("check", list(CHECKS))
def test_conformance(check: str) -> None:
    check_sampler(CIMSampler(), sample_kwargs=QUICK, ground_state_kwargs=GENEROUS, only=[check])


@pytest.mark.parametrize("seed", range(4))
def test_ground_state_of_pure_couplings(seed: int) -> None:
    bqm = _couplings_only(8 + seed, 100 + seed)
    ground = dimod.ExactSolver().sample(bqm).first.energy
    assert CIMSampler().sample(bqm, seed=seed, **GENEROUS).first.energy <= ground + 1e-9


def test_ground_state_without_amplitude_control() -> None:
    # the plain mean-field CIM (no error variables) still solves small models with enough reads
    for seed in range(3):
        bqm = random_bqm(8, "SPIN", seed=seed)
        ground = dimod.ExactSolver().sample(bqm).first.energy
        found = CIMSampler().sample(bqm, seed=seed, num_reads=40, amplitude_control=False).first.energy
        assert found <= ground + 1e-9


@pytest.mark.parametrize("vartype", ["BINARY", "SPIN"])
def test_energies_and_labels(vartype: str) -> None:
    labels = ["a", ("t", 1), "long label", (2, ("x",)), 7]
    bqm = random_bqm(5, vartype, seed=4, labels=labels)
    ss = CIMSampler().sample(bqm, num_reads=6, seed=1, num_steps=200)
    dimod.testing.assert_sampleset_energies(ss, bqm)
    assert set(ss.variables) == set(labels)
    assert ss.vartype is bqm.vartype
    assert len(ss) == 6


@pytest.mark.parametrize("noise", [0.0, 0.1])
def test_seed_reproduces_and_different_seeds_differ(noise: float) -> None:
    # no fields: with strong random fields and no noise, every start flows to the same state
    bqm = _couplings_only(40, 9)
    sampler = CIMSampler()
    a = sampler.sample(bqm, num_reads=8, seed=5, num_steps=300, noise=noise)
    b = sampler.sample(bqm, num_reads=8, seed=5, num_steps=300, noise=noise)
    c = sampler.sample(bqm, num_reads=8, seed=6, num_steps=300, noise=noise)
    np.testing.assert_array_equal(a.record.sample, b.record.sample)
    assert not np.array_equal(a.record.sample, c.record.sample)


def test_sample_dense_agrees_with_sample() -> None:
    bqm = random_bqm(12, "BINARY", seed=3)
    model, _ = DenseIsing.from_bqm(bqm)
    sampler = CIMSampler()
    spins, energies, info = sampler.sample_dense(model, num_reads=5, seed=2, num_steps=300)
    ss = sampler.sample(bqm, num_reads=5, seed=2, num_steps=300)
    np.testing.assert_array_equal(ss.record.sample, (spins + 1) // 2)
    np.testing.assert_allclose(ss.record.energy, energies)
    assert spins.dtype == np.int8 and set(np.unique(spins)) <= {-1, 1}
    assert {"feedback_scale", "max_error", "num_steps", "dt", "device"} <= set(info["cim"])


@pytest.mark.parametrize("seed", range(3))
def test_returns_the_best_state_seen_so_a_warm_start_never_ends_above_it(seed: int) -> None:
    model, _ = DenseIsing.from_bqm(random_bqm(60, "SPIN", seed=seed))
    start = np.random.default_rng(seed).choice(np.array([-1, 1], dtype=np.int8), size=60)
    local, e_local = polish_dense(model, start)
    # a short, very noisy run leaves the local minimum; the start is still among the scored states
    spins, energies, _ = CIMSampler().sample_dense(model, num_reads=4, seed=seed, initial_states=local, num_steps=20, noise=2.0)
    assert np.all(energies <= e_local + 1e-9)
    np.testing.assert_allclose(energies, model.energies(spins))


def test_scoring_more_often_never_does_worse() -> None:
    # scoring does not touch the dynamics, so check_every=1 scores a superset of the states
    bqm = random_bqm(30, "SPIN", seed=5)
    sampler = CIMSampler()
    every = sampler.sample(bqm, num_reads=4, seed=1, num_steps=400, check_every=1)
    tenth = sampler.sample(bqm, num_reads=4, seed=1, num_steps=400, check_every=10)
    assert np.all(every.record.energy <= tenth.record.energy + 1e-9)


def test_default_feedback_scale_is_the_inverse_spectral_radius() -> None:
    rng = np.random.default_rng(0)
    upper = np.triu(rng.normal(size=(100, 100)), 1)
    J = upper + upper.T
    eps = default_feedback_scale(torch.tensor(J), torch.zeros(100))
    assert eps == pytest.approx(1.0 / np.abs(np.linalg.eigvalsh(J)).max(), rel=0.05)
    # fields only: the scale comes from the largest field
    assert default_feedback_scale(torch.zeros(3, 3), torch.tensor([0.5, -4.0, 1.0])) == pytest.approx(0.25)


def test_float64_and_options() -> None:
    bqm = random_bqm(10, "SPIN", seed=6)
    ss = CIMSampler(dtype=torch.float64).sample(
        bqm, num_reads=4, seed=0, num_steps=300, feedback_scale=0.05, pump_range=[-0.5, 1.0], target_amplitude=0.7, error_rate=0.2
    )
    dimod.testing.assert_sampleset_energies(ss, bqm)
    assert ss.info["cim"]["feedback_scale"] == 0.05
    properties = CIMSampler(device=torch.device("cpu")).properties
    assert {k: v for k, v in properties.items() if k != "fast_paths"} == {"device": "cpu", "dtype": "torch.float32"}
    assert "dense" in properties["fast_paths"]


@pytest.mark.parametrize(
    ("kwargs", "name", "error"),
    [
        ({"num_steps": -1}, "num_steps", ValueError),
        ({"num_steps": 1.5}, "num_steps", TypeError),
        ({"dt": 0.0}, "dt", ValueError),
        ({"dt": -1.0}, "dt", ValueError),
        ({"pump_range": (0.0,)}, "pump_range", ValueError),
        ({"pump_range": 1.0}, "pump_range", ValueError),
        ({"pump_range": (0.0, float("nan"))}, "pump_range", ValueError),
        ({"noise": -0.1}, "noise", ValueError),
        ({"feedback_scale": 0.0}, "feedback_scale", ValueError),
        ({"amplitude_control": "on"}, "amplitude_control", TypeError),
        ({"target_amplitude": 0.0}, "target_amplitude", ValueError),
        ({"error_rate": -1.0}, "error_rate", ValueError),
        ({"check_every": 0}, "check_every", ValueError),
        ({"mode": "discrete"}, "mode", ValueError),
    ],
)
def test_bad_parameters_name_themselves(kwargs: dict, name: str, error: type) -> None:
    with pytest.raises(error, match=name):
        CIMSampler().sample(random_bqm(3, "SPIN", seed=0), **kwargs)


def test_bad_constructor_arguments() -> None:
    with pytest.raises(ValueError, match="device"):
        CIMSampler(device="not-a-device")
    with pytest.raises(TypeError, match="dtype"):
        CIMSampler(dtype="float32")


@given(st.integers(1, 6), st.sampled_from(["BINARY", "SPIN"]), st.integers(0, 2**16))
def test_any_small_model_gives_valid_samples(n: int, vartype: str, seed: int) -> None:
    bqm = random_bqm(n, vartype, seed=seed, labels=awkward_labels(n))
    ss = CIMSampler().sample(bqm, num_reads=3, seed=seed, num_steps=100)
    dimod.testing.assert_sampleset_energies(ss, bqm)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
def test_cuda_without_a_device_fails_before_any_work() -> None:
    with pytest.raises(ValueError, match="device"):
        CIMSampler(device="cuda").sample(random_bqm(3, "SPIN", seed=0))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_the_energies() -> None:
    bqm = random_bqm(50, "SPIN", seed=0)
    ss = CIMSampler(device="cuda").sample(bqm, num_reads=8, seed=0)
    dimod.testing.assert_sampleset_energies(ss, bqm)
    assert ss.info["cim"]["device"].startswith("cuda")
