"""Dense simulated annealing on CUDA (numba.cuda): the kernel's logic through numba's CUDA
simulator on any machine, and the real kernel where numba sees a GPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from numba import cuda

from hybridqnn.problems import DenseIsing
from hybridqnn.solvers import get_sampler
from hybridqnn.testing import check_sampler

GPU = cuda.is_available() and not os.environ.get("NUMBA_ENABLE_CUDASIM")


def _random_model(n: int, seed: int) -> DenseIsing:
    rng = np.random.default_rng(seed)
    upper = np.triu(rng.normal(size=(n, n)), 1)
    return DenseIsing(rng.normal(size=n), upper + upper.T, 0.5)


SIMULATED = textwrap.dedent(
    """
    import json, warnings
    import dimod, numpy as np
    warnings.simplefilter("ignore")  # the simulator's uint64 arithmetic warns on (intended) overflow
    from hybridqnn.problems import DenseIsing
    from hybridqnn.solvers import get_sampler
    rng = np.random.default_rng(3)
    upper = np.triu(rng.normal(size=(6, 6)), 1)
    model = DenseIsing(rng.normal(size=6), upper + upper.T, 0.5)
    bqm = model.to_bqm(dimod.BINARY).relabel_variables({i: "abcdef"[i] for i in range(6)}, inplace=False)
    sampler = get_sampler("dense-sa", device="cuda")
    ss = sampler.sample(bqm, num_reads=2, num_sweeps=10, seed=7)
    spins, energies, _ = sampler.sample_dense(model, num_reads=2, num_sweeps=10, seed=7)
    again, _, _ = sampler.sample_dense(model, num_reads=2, num_sweeps=10, seed=7)
    start = np.ones((1, 6), dtype=np.int8)
    warm, warm_e, _ = sampler.sample_dense(model, num_reads=1, num_sweeps=2, seed=1, initial_states=start, beta_range=(50.0, 100.0))
    # frozen (every uphill flip rejected without a draw): two greedy sweeps in index order,
    # the same on both kernels; n = 150 runs the four-rows-at-a-time update path
    big = np.random.default_rng(4)
    upper = np.triu(big.normal(size=(150, 150)), 1)
    wide = DenseIsing(big.normal(size=150), upper + upper.T, 0.0)
    start150 = big.choice(np.array([-1, 1], dtype=np.int8), size=(1, 150))
    frozen = dict(num_reads=1, num_sweeps=2, seed=2, initial_states=start150, beta_range=(1e9, 1e9))
    gpu_greedy, gpu_greedy_e, _ = sampler.sample_dense(wide, **frozen)
    cpu_greedy, _, _ = get_sampler("dense-sa").sample_dense(wide, **frozen)
    try:
        sampler.sample_dense(model, num_sweeps=2, fixed_point_bits=2)
        fixed = ""
    except ValueError as exc:
        fixed = str(exc)
    print(json.dumps({
        "ground": dimod.ExactSolver().sample(bqm).first.energy,
        "bqm_energies": ss.record.energy.tolist(),
        "bqm_recomputed": bqm.energies(ss).tolist(),
        "vartype": ss.vartype.name,
        "labels": sorted(ss.variables),
        "kernel_energies": energies.tolist(),
        "host_energies": model.energies(spins).tolist(),
        "deterministic": bool((spins == again).all()),
        "warm_start_energy": float(model.energies(start)[0]),
        "warm_energy": float(warm_e[0]),
        "fixed_point_error": fixed,
        "greedy_equal": bool((gpu_greedy == cpu_greedy).all()),
        "greedy_moved": int((gpu_greedy != start150).sum()),
        "greedy_energy_ok": bool(abs(gpu_greedy_e[0] - wide.energies(gpu_greedy)[0]) < 1e-9),
    }))
    """
)


def test_cuda_kernel_under_the_simulator() -> None:
    """The CUDA kernel, run by numba's CUDA simulator (Python threads for the 32 lanes): it
    finds the ground state of a 6-variable problem, its device-side energies equal the model's,
    a seed fixes the result, a warm start is never made worse, labels and BINARY survive, and
    frozen sweeps of a 150-variable problem flip exactly what the CPU kernel flips."""
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    out = subprocess.run([sys.executable, "-c", SIMULATED], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert min(got["bqm_energies"]) == pytest.approx(got["ground"], abs=1e-9)
    assert got["bqm_energies"] == pytest.approx(got["bqm_recomputed"], abs=1e-9)
    assert got["vartype"] == "BINARY" and got["labels"] == list("abcdef")
    assert got["kernel_energies"] == pytest.approx(got["host_energies"], abs=1e-9)
    assert got["deterministic"]
    assert got["warm_energy"] <= got["warm_start_energy"] + 1e-12
    assert "fixed_point_bits" in got["fixed_point_error"] and "CPU" in got["fixed_point_error"]
    assert got["greedy_equal"] and got["greedy_moved"] > 10 and got["greedy_energy_ok"]


@pytest.mark.skipif(GPU, reason="a CUDA GPU is present")
def test_cuda_without_a_gpu_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="numba sees no CUDA GPU.*numba-cuda"):
        get_sampler("dense-sa", device="cuda")


@pytest.mark.parametrize("device", ["mps", "tpu", 3])
def test_bad_device_is_a_clear_error(device: object) -> None:
    with pytest.raises((ValueError, TypeError), match="'device'"):
        get_sampler("dense-sa", device=device)


def test_too_many_variables_for_one_warp_is_a_clear_error() -> None:
    from hybridqnn.solvers import cuda_kernels

    n = cuda_kernels.max_variables() + 1
    with pytest.raises(ValueError, match=f"at most {n - 1} variables per replica, got {n}"):
        cuda_kernels.anneal(np.zeros((n, n)), np.zeros(n), 0.0, np.ones((1, n)), np.ones(1), np.ones(1, dtype=np.uint64))


@pytest.mark.skipif(not GPU, reason="needs a CUDA GPU")
def test_cuda_sampler_conforms() -> None:
    check_sampler(
        get_sampler("dense-sa", device="cuda"),
        sample_kwargs={"num_reads": 4, "num_sweeps": 100},
        ground_state_kwargs={"num_reads": 64, "num_sweeps": 1000},
        rejects_unknown_kwargs=True,
    )


@pytest.mark.skipif(not GPU, reason="needs a CUDA GPU")
def test_cuda_matches_cpu_quality_and_its_own_energies() -> None:
    """On a 300-variable dense problem the GPU kernel's energies are the model's, and its best
    of 64 reads is as good as the CPU kernel's best of 64 at the same sweeps (within 0.2%)."""
    model = _random_model(300, 0)
    gpu_spins, gpu_e, info = get_sampler("dense-sa", device="cuda").sample_dense(model, num_reads=64, num_sweeps=1000, seed=1)
    np.testing.assert_allclose(gpu_e, model.energies(gpu_spins), rtol=1e-10, atol=1e-8)
    _, cpu_e, _ = get_sampler("dense-sa").sample_dense(model, num_reads=64, num_sweeps=1000, seed=1)
    assert gpu_e.min() <= cpu_e.min() + 2e-3 * abs(cpu_e.min())
    assert set(info) >= {"beta_range", "anneal_s", "seed"} and "energies" not in info
