"""CUDA kernels for dense simulated annealing (numba.cuda): one warp per replica.

The dynamics are those of :func:`hybridqnn.solvers.kernels.anneal` (Metropolis single flips in
index order, one sweep per inverse temperature) and, for fixed-point encoded problems, of
:func:`hybridqnn.solvers.kernels.anneal_fixed_point` (integer steps +-2^m on groups of K bits,
carries included), laid out for a GPU:

- each replica is one warp of 32 lanes; its local fields f = h + J s live in shared memory,
  its spins and best state in global memory;
- every lane runs the replica's xorshift32 stream and the accept test itself, so all lanes
  take the same decision without communicating (the branch is warp-uniform);
- each replica returns the lowest-energy state among its start and the ends of its sweeps
  (the CPU kernel checks after every flip; copying the state on every new low cost as much as
  the flips themselves here);
- an accepted flip of s_i updates f <- f + 2 s_i' J_i with lane l handling entries
  l, l + 32, ... (coalesced reads of row i of J, which stays in the L2 cache for n up to a
  few thousand);
- a block is one warp, so ``__syncthreads`` (a barrier of 32 threads) orders the lanes around
  each accepted flip: before it (every lane has read f_i and s_i) and after it (the next
  proposal reads the updated fields). One warp per block costs no occupancy here: an SM holds
  32 blocks, and shared memory limits it to fewer once n > 900 or so.

A proposal costs O(1) per lane and an accepted flip O(n / 32); thousands of replicas run at
once. With the same seed the result is deterministic (each replica has its own stream), but it
differs from the CPU kernel's, whose streams are split differently. The final energies are
computed on the device from the returned states, E = offset + sum_i b_i (h_i + 1/2 sum_k J_ki b_k),
so no (R, n) x (n, n) product is left for the host.

Tests run this kernel on the CPU through numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from numba import cuda, float64, uint32

WARP = 32
_SHARED_BYTES = 48 * 1024  # shared memory a block may take without opting in


@cuda.jit(device=True, inline=True)
def _xorshift(x):  # noqa: ANN001, ANN202 - numba device function
    """One xorshift32 step (Marsaglia 2003; period 2^32 - 1, far more than one replica draws):
    (new state, uniform in (0, 1)). 32-bit, since 64-bit integer arithmetic is emulated on GPUs."""
    # numba widens uint32 shifts to 64 bits: truncate after each step, or x leaves 32 bits
    x = uint32(x ^ (x << uint32(13)))
    x = uint32(x ^ (x >> uint32(17)))
    x = uint32(x ^ (x << uint32(5)))
    return x, float64(x) * 2.3283064365386963e-10


@cuda.jit(device=True, inline=True)
def _add_row(f, J, i, twice, lane, n):  # noqa: ANN001, ANN202 - numba device function
    """f[j] += twice * J[i, j] for this lane's j = lane, lane + 32, ...; four loads are issued
    before their updates, so their L2 latencies overlap instead of adding up (1.3x over a plain loop
    at 4,096 reads x 1,000 sweeps, n = 1000, on an H100)."""
    j = lane
    while j + 3 * WARP < n:
        a = J[i, j]
        b = J[i, j + WARP]
        c = J[i, j + 2 * WARP]
        d = J[i, j + 3 * WARP]
        f[j] += twice * a
        f[j + WARP] += twice * b
        f[j + 2 * WARP] += twice * c
        f[j + 3 * WARP] += twice * d
        j += 4 * WARP
    while j < n:
        f[j] += twice * J[i, j]
        j += WARP


@cuda.jit(device=True, inline=True)
def _metropolis(de, beta, x):  # noqa: ANN001, ANN202 - numba device function
    """(accept, new rng state): Metropolis at inverse temperature ``beta`` for energy change
    ``de``, drawing a uniform only for an uphill move that is not certainly rejected."""
    if de <= 0.0:
        return True, x
    t = beta * de
    if t > 40.0:
        return False, x
    x, u = _xorshift(x)
    # exp(-t) <= 1 / (1 + t): most rejections need no exp
    return u * (1.0 + t) < 1.0 and u < math.exp(-t), x


@cuda.jit(device=True, inline=True)
def _start_fields(f, J, h, spins, best, r, lane, n):  # noqa: ANN001, ANN202 - numba device function
    """f = h + J s for replica r's start, and best[r] = the start (this lane's entries)."""
    for j in range(lane, n, WARP):
        acc = h[j]
        for k in range(n):
            acc += J[k, j] * spins[r, k]  # J symmetric: row k is read coalesced across lanes
        f[j] = acc
        best[r, j] = spins[r, j]
    cuda.syncthreads()


@cuda.jit(device=True, inline=True)
def _keep_best(spins, best, r, lane, n):  # noqa: ANN001, ANN202 - numba device function
    for j in range(lane, n, WARP):
        best[r, j] = spins[r, j]


@cuda.jit(device=True, inline=True)
def _best_energy(f, J, h, offset, best, energies, r, lane, n):  # noqa: ANN001, ANN202 - numba device function
    """energies[r] = E(best[r]) = offset + sum_j b_j h_j + 1/2 sum_j b_j sum_k J_kj b_k, summed
    over the lanes (``f`` is reused as scratch)."""
    cuda.syncthreads()  # the best states are written and the fields are free
    part = 0.0
    for j in range(lane, n, WARP):
        acc = 0.0
        for k in range(n):
            acc += J[k, j] * best[r, k]
        part += best[r, j] * (h[j] + 0.5 * acc)
    f[lane] = part
    cuda.syncthreads()
    if lane == 0:
        for k in range(1, WARP):
            part += f[k]
        energies[r] = offset + part


@cuda.jit
def _anneal_replicas(J, h, offset, spins, best, betas, rng_state, energies):  # noqa: ANN001 - numba kernel
    """Anneal replica r = block index (one warp), in place on ``spins[r]`` (int8, +-1); the best
    state visited goes to ``best[r]`` and its energy to ``energies[r]``."""
    f = cuda.shared.array(0, dtype=float64)
    lane = cuda.threadIdx.x
    r = cuda.blockIdx.x
    n = spins.shape[1]
    _start_fields(f, J, h, spins, best, r, lane, n)
    x = rng_state[r]
    energy = 0.0
    best_energy = 0.0
    for step in range(betas.shape[0]):
        beta = betas[step]
        for i in range(n):
            si = spins[r, i]
            de = -2.0 * f[i] if si > 0 else 2.0 * f[i]  # -2 s_i f_i without an int-to-float conversion
            accept, x = _metropolis(de, beta, x)
            if accept:
                cuda.syncthreads()  # every lane has read f_i and s_i
                _add_row(f, J, i, -2.0 * si, lane, n)
                if lane == 0:
                    spins[r, i] = -si
                energy += de
                cuda.syncthreads()
        if energy < best_energy:  # the best state is kept at the end of each sweep
            best_energy = energy
            _keep_best(spins, best, r, lane, n)
    _best_energy(f, J, h, offset, best, energies, r, lane, n)


@cuda.jit
def _anneal_fixed_point_replicas(J, h, offset, spins, best, betas, bits, rng_state, energies):  # noqa: ANN001 - numba kernel
    """The integer-step moves of :func:`hybridqnn.solvers.kernels.anneal_fixed_point` for
    replica r = block index (one warp): for every group a of ``bits`` spins and level m, the
    move u_a -> u_a +- 2^m (sign drawn at random) flips the spins from bit m up to the first one
    that stops the carry (s = -1 for +, s = +1 for -), with

        dE = -2 sum_{i in F} s_i f_i + 4 sum_{i<j in F} s_i s_j J_ij.

    F is a run of consecutive spins whose signs are known without reading them again: every
    one but the last equals -stop, the last equals stop. Best state and energy as in
    :func:`_anneal_replicas`."""
    f = cuda.shared.array(0, dtype=float64)
    lane = cuda.threadIdx.x
    r = cuda.blockIdx.x
    n = spins.shape[1]
    _start_fields(f, J, h, spins, best, r, lane, n)
    x = rng_state[r]
    energy = 0.0
    best_energy = 0.0
    for step in range(betas.shape[0]):
        beta = betas[step]
        for base in range(0, n, bits):
            for m in range(bits):
                x, u = _xorshift(x)
                stop = -1 if u < 0.5 else 1
                last = -1
                for b in range(base + m, base + bits):
                    if spins[r, b] == stop:
                        last = b
                        break
                if last < 0:  # the move would leave [0, 2^bits - 1]
                    continue
                de = 0.0
                for p in range(base + m, last + 1):
                    sp = 1.0 if (p == last) == (stop > 0) else -1.0
                    de -= 2.0 * sp * f[p]
                    for q in range(base + m, p):  # q < p <= last: s_q = -stop
                        de -= 4.0 * sp * stop * J[p, q]
                accept, x = _metropolis(de, beta, x)
                if accept:
                    cuda.syncthreads()  # every lane has read the fields and spins of F
                    for p in range(base + m, last + 1):
                        sp = 1.0 if (p == last) == (stop > 0) else -1.0
                        _add_row(f, J, p, -2.0 * sp, lane, n)
                    if lane == 0:
                        for p in range(base + m, last + 1):
                            spins[r, p] = -spins[r, p]
                    energy += de
                    cuda.syncthreads()
        if energy < best_energy:
            best_energy = energy
            _keep_best(spins, best, r, lane, n)
    _best_energy(f, J, h, offset, best, energies, r, lane, n)


def available() -> bool:
    """Whether numba sees a CUDA GPU (or runs the CUDA simulator)."""
    return bool(cuda.is_available())


def _xorshift32_states(rng_state: np.ndarray) -> np.ndarray:
    """The low 32 bits of each uint64 seed state, never 0 (xorshift's one fixed point)."""
    states = (np.asarray(rng_state, dtype=np.uint64) & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    states[states == 0] = np.uint32(0x9E3779B9)
    return states


def max_variables() -> int:
    """The largest model one warp's fields fit (float64, in one block's shared memory)."""
    return _SHARED_BYTES // 8


def anneal(
    J: np.ndarray,
    h: np.ndarray,
    offset: float,
    spins: np.ndarray,
    betas: np.ndarray,
    rng_state: np.ndarray,
    fixed_point_bits: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Run :func:`_anneal_replicas` (or, with ``fixed_point_bits``,
    :func:`_anneal_fixed_point_replicas`) on the current CUDA device.

    Args:
        J: the couplings of the dense model E(s) = offset + h^T s + 1/2 s^T J s, (n, n),
            symmetric.
        h: the fields of that model, (n,).
        offset: its constant.
        spins: start states (R, n) of +-1.
        betas: one inverse temperature per sweep.
        rng_state: one uint64 seed state per replica (its low 32 bits seed the replica's
            xorshift32 stream).
        fixed_point_bits: K, dividing n: integer-step moves on consecutive groups of K spins.

    Returns:
        (best states (R, n) int8, their energies (R,) float64).
    """
    num_reads, n = spins.shape
    if n > max_variables():
        raise ValueError(f"the CUDA annealer holds at most {max_variables()} variables per replica, got {n}")
    d_spins = cuda.to_device(np.ascontiguousarray(spins, dtype=np.int8))
    d_best = cuda.device_array((num_reads, n), dtype=np.int8)
    d_energies = cuda.device_array(num_reads, dtype=np.float64)
    with warnings.catch_warnings():  # a few reads leave the GPU idle, which is the caller's choice
        # by message: numba-cuda raises its own NumbaPerformanceWarning class, not numba's
        warnings.filterwarnings("ignore", message=".*under-utilization")
        model = (
            cuda.to_device(np.ascontiguousarray(J, dtype=np.float64)),
            cuda.to_device(np.ascontiguousarray(h, dtype=np.float64)),
            float(offset),
            d_spins,
            d_best,
            cuda.to_device(np.ascontiguousarray(betas, dtype=np.float64)),
        )
        streams = (cuda.to_device(_xorshift32_states(rng_state)), d_energies)
        launch = (num_reads, WARP, 0, max(n, WARP) * 8)
        if fixed_point_bits is None:
            _anneal_replicas[launch](*model, *streams)
        else:
            _anneal_fixed_point_replicas[launch](*model, int(fixed_point_bits), *streams)
    cuda.synchronize()
    return d_best.copy_to_host(), d_energies.copy_to_host()
