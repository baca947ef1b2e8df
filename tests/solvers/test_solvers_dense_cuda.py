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
    # fixed-point moves: from x = 127 the optimum 128 is one carry away (every single flip
    # from 127 is uphill), and a 12-variable grid problem's ground state
    from hybridqnn.problems import FixedPointEncoding, quadratic_to_bqm
    enc = FixedPointEncoding(8, 0.0, 255.0, size=1)
    grid = quadratic_to_bqm(np.array([[2.0]]), np.array([-2.0 * 127.9]), enc, 127.9**2)
    start127 = {v: int(b) for v, b in zip(grid.variables, enc.encode(np.array([127.0])))}
    frozen127 = dict(initial_states=start127, num_sweeps=8, beta_range=(1e6, 1e6), seed=0)
    decode = lambda ss: float(enc.decode(np.array([[ss.first.sample[v] for v in grid.variables]]))[0, 0])
    carry = decode(sampler.sample(grid, fixed_point_bits=8, **frozen127))
    no_carry = decode(sampler.sample(grid, **frozen127))
    a = rng.normal(size=(5, 3))
    enc3 = FixedPointEncoding(4, -1.0, 1.0, size=3)
    small = quadratic_to_bqm(a.T @ a + 0.1 * np.eye(3), rng.normal(size=3), enc3, 0.5)
    fp = sampler.sample(small, num_reads=1, num_sweeps=30, seed=3, fixed_point_bits=4)
    # frozen fixed-point sweeps from a random start end at a local minimum of the integer moves
    # (12 sweeps: each (group, level) pair draws each sign with probability 1 - 2^-12)
    fp_model, _ = DenseIsing.from_bqm(small)
    start12 = rng.choice(np.array([-1, 1], dtype=np.int8), size=(1, 12))
    local, local_e, _ = sampler.sample_dense(fp_model, initial_states=start12, num_sweeps=12, beta_range=(1e6, 1e6), seed=5, fixed_point_bits=4)
    improving = 0
    for base in range(0, 12, 4):
        for m in range(4):
            for stop in (-1, 1):  # +2^m ends at the first s = -1 from bit m, -2^m at the first +1
                ends = [b for b in range(m, 4) if local[0, base + b] == stop]
                if ends:
                    moved = local.copy()
                    moved[0, base + m : base + ends[0] + 1] *= -1
                    improving += int(fp_model.energies(moved)[0] < local_e[0] - 1e-9)
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
        "carry": carry,
        "no_carry": no_carry,
        "fixed_point_ground": dimod.ExactSolver().sample(small).first.energy,
        "fixed_point_energies": fp.record.energy.tolist(),
        "fixed_point_recomputed": small.energies(fp).tolist(),
        "fixed_point_start_energy": float(fp_model.energies(start12)[0]),
        "fixed_point_local_energy": float(local_e[0]),
        "fixed_point_local_recomputed": float(fp_model.energies(local)[0]),
        "improving_moves_left": improving,
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
    frozen sweeps of a 150-variable problem flip exactly what the CPU kernel flips. The
    fixed-point kernel crosses a carry boundary that single flips cannot, finds a 12-variable
    grid problem's ground state, and frozen sweeps end where no integer move improves."""
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
    # fixed-point moves (the head and QCBO problems' move set) on the GPU kernel too
    assert got["carry"] == 128.0 and got["no_carry"] == 127.0
    assert min(got["fixed_point_energies"]) == pytest.approx(got["fixed_point_ground"], abs=1e-9)
    assert got["fixed_point_energies"] == pytest.approx(got["fixed_point_recomputed"], abs=1e-9)
    assert got["fixed_point_local_energy"] == pytest.approx(got["fixed_point_local_recomputed"], abs=1e-9)
    assert got["fixed_point_local_energy"] < got["fixed_point_start_energy"]
    assert got["improving_moves_left"] == 0
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
    assert set(info["dense_sa"]) >= {"beta_range", "anneal_s"} and "seed" in info and "energies" not in info["dense_sa"]


@pytest.mark.skipif(not GPU, reason="needs a CUDA GPU")
def test_cuda_fixed_point_moves_match_cpu_quality() -> None:
    """A 240-variable fixed-point least-squares problem (30 coordinates x 8 bits, coefficients
    spanning 4^8, the shape of the head problems): the GPU kernel's integer-step moves reach the
    CPU kernel's best of 64 reads (within 0.1%) and report the model's energies."""
    from hybridqnn.problems import FixedPointEncoding, quadratic_to_bqm

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(200, 30)), rng.normal(size=200)
    enc = FixedPointEncoding(8, -1.0, 1.0, size=30)
    model, _ = DenseIsing.from_bqm(quadratic_to_bqm(a.T @ a, -2.0 * a.T @ b, enc, float(b @ b)))
    kw = {"num_reads": 64, "num_sweeps": 300, "seed": 1, "fixed_point_bits": 8}
    gpu_spins, gpu_e, _ = get_sampler("dense-sa", device="cuda").sample_dense(model, **kw)
    np.testing.assert_allclose(gpu_e, model.energies(gpu_spins), rtol=1e-10, atol=1e-8)
    _, cpu_e, _ = get_sampler("dense-sa").sample_dense(model, **kw)
    assert gpu_e.min() <= cpu_e.min() * (1 + 1e-3)
