"""Numba kernels for dense single-spin-flip dynamics (CPU).

Both kernels keep the local fields f = h + J s of each replica and update them incrementally:
flipping s_i changes the energy by dE_i = -2 s_i f_i, and after the flip f <- f + 2 s_i' J_i
(J_i the i-th row). A sweep therefore costs O(n) per proposal plus O(n) per *accepted* flip:
O(n^2) when hot, close to O(n) when cold or warm-started. Each replica has its own xorshift64*
stream, so results are deterministic for a seed however replicas are split across threads.

The kernels release the GIL (``nogil=True``) and are single-threaded: callers run replicas in
parallel with an ordinary thread pool. (Numba's ``parallel=True`` uses an OpenMP layer whose
spinning threads fought OpenBLAS for the two cores here and slowed the NumPy work between
solves several-fold.)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

from hybridqnn.parallel import default_workers

_TWO_POW_53 = 9007199254740992.0


@numba.njit(cache=True, nogil=True, inline="always")
def _next_uniform(state: np.ndarray, r: int) -> float:
    x = state[r]
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    state[r] = x
    return float((x * np.uint64(2685821657736338717)) >> np.uint64(11)) / _TWO_POW_53


@numba.njit(cache=True, nogil=True)
def anneal(J: np.ndarray, h: np.ndarray, spins: np.ndarray, betas: np.ndarray, rng_state: np.ndarray) -> None:
    """Metropolis simulated annealing, in place on ``spins`` (R, n) float64 of +-1.

    One sweep visits every variable in order at inverse temperature ``betas[k]``.
    ``rng_state`` holds one nonzero uint64 per replica. Each replica ends holding the
    lowest-energy state it visited (tracked through the accepted dE; with a warm start the
    result is therefore never worse than the start).
    """
    num_reads, n = spins.shape
    best_s = np.empty(n)
    for r in range(num_reads):
        s = spins[r]
        f = h + J @ s
        best_s[:] = s
        energy = 0.0
        best_energy = 0.0
        for k in range(betas.shape[0]):
            beta = betas[k]
            for i in range(n):
                de = -2.0 * s[i] * f[i]
                if de > 0.0:
                    if beta * de > 40.0 or _next_uniform(rng_state, r) >= math.exp(-beta * de):
                        continue
                s[i] = -s[i]
                energy += de
                twice = 2.0 * s[i]
                row = J[i]
                for j in range(n):
                    f[j] += twice * row[j]
                if energy < best_energy:
                    best_energy = energy
                    best_s[:] = s
        s[:] = best_s


@numba.njit(cache=True, nogil=True)
def steepest_descent(J: np.ndarray, h: np.ndarray, spins: np.ndarray) -> None:
    """Steepest single-flip descent to a 1-flip local minimum, in place on ``spins`` (R, n).

    Each step flips the variable with the most negative dE; it stops when no flip lowers the
    energy by more than 1e-12 of the largest field (a guard against rounding in the
    incrementally updated fields).
    """
    num_reads, n = spins.shape
    for r in range(num_reads):
        s = spins[r]
        f = h + J @ s
        scale = 0.0
        for i in range(n):
            scale = max(scale, abs(f[i]))
        tol = 1e-12 * max(scale, 1e-300)
        for _ in range(100 * n + 100):
            best = -tol
            arg = -1
            for i in range(n):
                de = -2.0 * s[i] * f[i]
                if de < best:
                    best = de
                    arg = i
            if arg < 0:
                break
            s[arg] = -s[arg]
            twice = 2.0 * s[arg]
            row = J[arg]
            for j in range(n):
                f[j] += twice * row[j]


def seed_states(seed: int, num_reads: int) -> np.ndarray:
    """Nonzero uint64 xorshift states, one per replica, from ``numpy.random.SeedSequence``."""
    states = np.random.SeedSequence(seed).generate_state(num_reads, dtype=np.uint64)
    states[states == 0] = np.uint64(0x9E3779B97F4A7C15)
    return states


def run_replicas(kernel: Callable[..., None], spins: np.ndarray, *args: np.ndarray, per_replica: tuple[np.ndarray, ...] = ()) -> None:
    """Run ``kernel(J, h, spins_chunk, *args, *per_replica_chunks)`` over chunks of replicas in
    parallel threads (the kernels release the GIL); ``per_replica`` arrays are split like
    ``spins`` along their first axis."""
    workers = min(default_workers(), spins.shape[0])
    if workers <= 1:
        kernel(*args[:2], spins, *args[2:], *per_replica)
        return
    bounds = np.linspace(0, spins.shape[0], workers + 1).astype(int)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [
            pool.submit(kernel, *args[:2], spins[lo:hi], *args[2:], *(a[lo:hi] for a in per_replica))
            for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)
        ]
        for f in futures:
            f.result()
