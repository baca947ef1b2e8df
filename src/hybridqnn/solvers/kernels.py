"""Numba kernels for dense single-spin-flip dynamics (CPU).

Both kernels keep the local fields f = h + J s of each replica and update them incrementally:
flipping s_i changes the energy by dE_i = -2 s_i f_i, and after the flip f <- f + 2 s_i' J_i
(J_i the i-th row). A sweep therefore costs O(1) per proposal plus O(n) per *accepted* flip:
O(n^2) when hot, close to O(n) when cold or warm-started. Where flips are frequent the row
updates dominate, so the hot sweeps of :func:`anneal` read J in a smaller form (int16 rows with
per-row scales, or float32) where that changes no decision beyond a set fraction of the
temperature. Each replica has its own xorshift64*
stream, so results are deterministic for a seed however replicas are split across threads.

The kernels release the GIL (``nogil=True``) and are single-threaded: callers run replicas in
parallel with an ordinary thread pool. (Numba's ``parallel=True`` uses an OpenMP layer whose
spinning threads fought OpenBLAS for the two cores here and slowed the NumPy work between
solves several-fold.) Nothing in them calls BLAS either (:func:`local_fields`).
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


@numba.njit(cache=True, nogil=True, inline="always")
def metropolis_accepts(de: float, beta: float, rng_state: np.ndarray, r: int) -> bool:
    """Metropolis: accept a move of energy change ``de`` at inverse temperature ``beta`` with
    probability min(1, exp(-beta de)). As exp(-x) <= 1/(1 + x), a uniform u >= 1/(1 + x) rejects
    without evaluating exp."""
    if de <= 0.0:
        return True
    x = beta * de
    if x > 40.0:
        return False
    u = _next_uniform(rng_state, r)
    if u * (1.0 + x) >= 1.0:
        return False
    return u < math.exp(-x)


@numba.njit(cache=True, nogil=True, inline="always")
def _flip(s: np.ndarray, f: np.ndarray, J: np.ndarray, i: int) -> None:
    """Flip s_i and update the local fields f = h + J s (float64, or float32 fields and J: +-2 is
    exact in float32, so the float64 update is unchanged and the float32 one stays float32)."""
    s[i] = -s[i]
    twice = np.float32(2.0 * s[i])
    row = J[i]
    for j in range(f.shape[0]):
        f[j] += twice * row[j]


@numba.njit(cache=True, nogil=True, inline="always")
def _flip_int16(s: np.ndarray, f: np.ndarray, rows: np.ndarray, scales: np.ndarray, i: int) -> None:
    """Flip s_i and update the float32 fields with row i of J as int16 ``rows[i]`` times
    ``scales[i]`` (:func:`int16_rows`; 2 scales[i] is exact in float32)."""
    s[i] = -s[i]
    twice = np.float32(2.0 * s[i] * scales[i])
    row = rows[i]
    for j in range(f.shape[0]):
        f[j] += twice * np.float32(row[j])


@numba.njit(cache=True, nogil=True)
def local_fields(J: np.ndarray, h: np.ndarray, s: np.ndarray) -> np.ndarray:
    """f = h + J s for one state ``s`` of +-1 (float64), as h + sum_j s_j J_j over the rows J_j of
    the symmetric J: one pass of vectorised row updates.

    The kernels compute their fields here rather than with ``J @ s``, which numba hands to
    OpenBLAS: with the replicas in two threads, OpenBLAS's own threads made each call of a
    2-read, n = 1000 anneal 50-60 ms slower (205 against 147 ms at 10,000 sweeps, 113 against
    65 ms at 3,000; the same with OPENBLAS_NUM_THREADS=1 as without BLAS)."""
    f = h.copy()
    for j in range(s.shape[0]):
        sj = s[j]
        row = J[j]
        for i in range(f.shape[0]):
            f[i] += sj * row[i]
    return f


@numba.njit(cache=True, nogil=True, inline="always")
def _energy(s: np.ndarray, h: np.ndarray, f: np.ndarray) -> float:
    """E(s) - offset = h.s + s.J.s / 2 = s.(h + f) / 2, from the fields f = h + J s."""
    total = 0.0
    for i in range(s.shape[0]):
        total += s[i] * (h[i] + f[i])
    return 0.5 * total


@numba.njit(cache=True, nogil=True, inline="always")
def _sweeps(
    s: np.ndarray,
    f: np.ndarray,
    J: np.ndarray,
    scales: np.ndarray,
    betas: np.ndarray,
    rng_state: np.ndarray,
    r: int,
    energy: float,
    best_energy: float,
    best_s: np.ndarray,
) -> tuple[float, float]:
    """One Metropolis sweep per beta over replica r's spins ``s`` with fields ``f`` (float64, or
    float32 with J in float32, or float32 with int16 rows of J times ``scales``, which is empty
    otherwise), keeping the lowest-energy state in ``best_s``; ``energy`` and ``best_energy``
    are relative to the start. Returns them updated."""
    for k in range(betas.shape[0]):
        beta = betas[k]
        for i in range(s.shape[0]):
            de = -2.0 * s[i] * f[i]
            if not metropolis_accepts(de, beta, rng_state, r):
                continue
            if scales.shape[0]:
                _flip_int16(s, f, J, scales, i)
            else:
                _flip(s, f, J, i)
            energy += de
            if energy < best_energy:
                best_energy = energy
                best_s[:] = s
    return energy, best_energy


@numba.njit(cache=True, nogil=True, inline="always")
def _start_from(J: np.ndarray, h: np.ndarray, s: np.ndarray, best_s: np.ndarray) -> np.ndarray:
    """A replica's start ``s``: its fields f = h + J s, and the start as its best state so far."""
    best_s[:] = s
    return local_fields(J, h, s)


@numba.njit(cache=True, nogil=True, inline="always")
def _end_on_best(J: np.ndarray, h: np.ndarray, s: np.ndarray, best_s: np.ndarray, energies: np.ndarray, r: int) -> None:
    """Replica r ends on the best state it visited, ``energies[r]`` = E(best) - offset recomputed
    from J and h (not the sum of the accepted dE, which carries rounding)."""
    s[:] = best_s
    energies[r] = _energy(s, h, local_fields(J, h, s))


@numba.njit(cache=True, nogil=True, inline="always")
def _resync(
    J: np.ndarray, h: np.ndarray, s: np.ndarray, best_s: np.ndarray, start_s: np.ndarray, start_energy: float
) -> tuple[np.ndarray, float, float]:
    """After sweeps with inexact fields: the exact float64 fields of ``s``, and its energy and the
    best state's relative to the start (the start is restored as the best if the inexact
    bookkeeping took a worse state for better)."""
    f = local_fields(J, h, s)
    energy = _energy(s, h, f) - start_energy
    best_energy = _energy(best_s, h, local_fields(J, h, best_s)) - start_energy
    if best_energy > 0.0:
        best_s[:] = start_s
        best_energy = 0.0
    return f, energy, best_energy


@numba.njit(cache=True, nogil=True)
def anneal(
    J: np.ndarray,
    h: np.ndarray,
    spins: np.ndarray,
    betas: np.ndarray,
    hot_rows: np.ndarray,
    hot_scales: np.ndarray,
    hot_sweeps: int,
    rng_state: np.ndarray,
    energies: np.ndarray,
) -> None:
    """Metropolis simulated annealing, in place on ``spins`` (R, n) float64 of +-1.

    One sweep visits every variable in order at inverse temperature ``betas[k]``.
    ``rng_state`` holds one nonzero uint64 per replica. Each replica ends holding the
    lowest-energy state it visited (tracked through the accepted dE; with a warm start the
    result is therefore never worse than the start), and ``energies[r]`` its energy E - offset,
    recomputed from J and h.

    The first ``hot_sweeps`` sweeps keep the fields in float32 and read smaller rows of J: an
    accepted flip (a row update), which dominates the time there, then moves fewer bytes.
    ``hot_rows`` is either

    - J as int16 rows times the per-row ``hot_scales`` (:func:`int16_rows`, :func:`int16_sweeps`):
      2 bytes per coupling, so J fits the 4 MiB L2 cache of the benchmarks' CPU at n = 1000
      (a 3,000-sweep read 0.83x the float32 rows' time at n = 1000 and at n = 3000); or
    - J in float32 with ``hot_scales`` empty (:func:`float32_sweeps`): 0.4x float64's time per
      row update at n = 1000 (149 against 358 ns), where int16 rows are too coarse.

    After them the fields are recomputed from J in float64 and the energy bookkeeping is made
    exact (:func:`_resync`), so the cold sweeps, which decide the result, run exactly.
    """
    num_reads, n = spins.shape
    best_s = np.empty(n)
    start_s = np.empty(n)
    f32 = np.empty(n, dtype=np.float32)
    plain = np.empty(0)
    for r in range(num_reads):
        s = spins[r]
        f = _start_from(J, h, s, best_s)
        energy = 0.0
        best_energy = 0.0
        if hot_sweeps > 0:
            start_s[:] = s
            start_energy = _energy(s, h, f)
            f32[:] = f
            energy, best_energy = _sweeps(s, f32, hot_rows, hot_scales, betas[:hot_sweeps], rng_state, r, energy, best_energy, best_s)
            f, energy, best_energy = _resync(J, h, s, best_s, start_s, start_energy)
        _sweeps(s, f, J, plain, betas[hot_sweeps:], rng_state, r, energy, best_energy, best_s)
        _end_on_best(J, h, s, best_s, energies, r)


FLOAT32_RESOLUTION = 1e-4
"""The most that one float32 rounding of the largest possible field may be, as a fraction of the
temperature, in a sweep that :func:`anneal` runs in float32 (:func:`float32_sweeps`)."""


def float32_sweeps(row_magnitudes: np.ndarray, betas: np.ndarray) -> int:
    """How many of the first sweeps :func:`anneal` runs with float32 fields: the leading sweeps
    hot enough that float32 resolves every field far below the temperature,

        2^-24 F beta_k <= FLOAT32_RESOLUTION (1e-4),  F = max_i (|h_i| + sum_j |J_ij|) >= |f_i|,

    from ``row_magnitudes`` = |h_i| + sum_j |J_ij| (the second output of
    :func:`coefficient_stats`, which the sampler computes once for this and the beta range).

    Betas rise along a schedule, so these are its hot part. On a Sherrington-Kirkpatrick problem
    (J_ij ~ N(0, 1), n = 1000, F about 830) that is every beta up to about 2, i.e. temperatures
    down to 1/60 of the spin-glass T_c = sqrt(n), where nearly all accepted flips happen
    (measured: all but 10 of 494,926 flips of a 10,000-sweep read came before beta = 0.9).
    Problems whose coefficients span many decades (the fixed-point head and QCBO problems, which
    the methods solve with :func:`anneal_fixed_point` anyway) get float32 only in their hottest
    sweeps, where the largest couplings decide every flip.
    """
    if row_magnitudes.size == 0:
        return 0
    field_bound = float(np.max(row_magnitudes))
    limit = FLOAT32_RESOLUTION / (2.0**-24 * max(field_bound, 1e-300))
    hot = 0
    while hot < betas.shape[0] and betas[hot] <= limit:
        hot += 1
    return hot


INT16_RESOLUTION = 1e-2
"""The most that replacing J by :func:`int16_rows` may change any flip's energy, times beta, in a
sweep that :func:`anneal` runs on int16 rows (:func:`int16_sweeps`): every acceptance
probability is then within a factor exp(+-0.01) of the exact model's."""


def int16_sweeps(error_bound: float, betas: np.ndarray, float32_limit: int) -> int:
    """How many of the first sweeps :func:`anneal` runs on int16 rows: the leading sweeps, among
    the first ``float32_limit`` (:func:`float32_sweeps`; the fields are float32 there too), where

        2 beta_k E <= INT16_RESOLUTION (1e-2),  E = max_j sum_i |J_ij - scales_i rows_ij|

    (``error_bound``, from :func:`int16_rows`), i.e. where the quantisation changes no flip's
    energy by more than 1/200 of the temperature. On a Sherrington-Kirkpatrick problem
    (J_ij ~ N(0, 1)) E is about n 2^-17 max|J_ij| (0.04 at n = 1000), so the tier reaches
    beta = 0.13, about 4 T_c: some 97% of a 3,000-sweep anneal's flips. Problems whose
    coefficients span many decades get no int16 sweeps.
    """
    limit = INT16_RESOLUTION / (2.0 * max(error_bound, 1e-300))
    hot = 0
    while hot < min(float32_limit, betas.shape[0]) and betas[hot] <= limit:
        hot += 1
    return hot


@numba.njit(cache=True, nogil=True, inline="always")
def _fixed_point_sweeps(
    s: np.ndarray,
    f: np.ndarray,
    J: np.ndarray,
    betas: np.ndarray,
    bits: int,
    flips: np.ndarray,
    rng_state: np.ndarray,
    r: int,
    best_s: np.ndarray,
) -> None:
    """The integer-step sweeps of :func:`anneal_fixed_point` over replica r's spins ``s`` with
    fields ``f``, one per beta, keeping the lowest-energy state in ``best_s`` (``flips``: scratch
    for one move's spin indices, ``bits`` long)."""
    energy = 0.0
    best_energy = 0.0
    for k in range(betas.shape[0]):
        beta = betas[k]
        for a in range(s.shape[0] // bits):
            base = a * bits
            for m in range(bits):
                # adding 2^m flips 1-bits (s = +1) to 0 until the first 0-bit; subtracting
                # flips 0-bits to 1 until the first 1-bit
                stop = -1.0 if _next_uniform(rng_state, r) < 0.5 else 1.0
                count = 0
                closed = False
                for b in range(m, bits):
                    i = base + b
                    flips[count] = i
                    count += 1
                    if s[i] == stop:
                        closed = True
                        break
                if not closed:
                    continue
                de = 0.0
                for x in range(count):
                    i = flips[x]
                    de -= 2.0 * s[i] * f[i]
                    for y in range(x):
                        j = flips[y]
                        de += 4.0 * s[i] * s[j] * J[i, j]
                if not metropolis_accepts(de, beta, rng_state, r):
                    continue
                for x in range(count):
                    _flip(s, f, J, flips[x])
                energy += de
                if energy < best_energy:
                    best_energy = energy
                    best_s[:] = s


@numba.njit(cache=True, nogil=True)
def anneal_fixed_point(
    J: np.ndarray, h: np.ndarray, spins: np.ndarray, betas: np.ndarray, bits: int, rng_state: np.ndarray, energies: np.ndarray
) -> None:
    """Metropolis simulated annealing with integer-step moves on fixed-point groups, in place.

    The n spins form n / ``bits`` consecutive groups; group a holds the offset-binary integer
    u_a = sum_k 2^k b_{a*bits+k} with b = (1 + s)/2, least-significant bit first (the layout of
    :class:`hybridqnn.problems.FixedPointEncoding`). A sweep proposes, for every group a and
    every level m in 0..bits-1, the move u_a -> u_a +- 2^m (sign drawn at random): the spins
    from bit m up to the first bit that stops the carry (or borrow) flip together, and a move
    that would leave [0, 2^bits - 1] is skipped. A set F of flipped spins changes the energy by

        dE = -2 sum_{i in F} s_i f_i + 4 sum_{i<j in F} s_i s_j J_ij,

    with f = h + J s the local fields, which are then updated for each flipped spin. Without
    carries these are the single flips of :func:`anneal`; with them, a coordinate can move by
    one grid step across a carry boundary (0111 -> 1000) in one move instead of climbing over
    the energy barrier that single flips face on problems whose coefficients span 4^bits.
    Each replica ends holding the lowest-energy state it visited, and ``energies[r]`` its energy
    E - offset, recomputed from J and h.
    """
    num_reads, n = spins.shape
    best_s = np.empty(n)
    flips = np.empty(bits, dtype=np.int64)
    for r in range(num_reads):
        s = spins[r]
        f = _start_from(J, h, s, best_s)
        _fixed_point_sweeps(s, f, J, betas, bits, flips, rng_state, r, best_s)
        _end_on_best(J, h, s, best_s, energies, r)


_ABS_BITS = np.int64(0x7FFFFFFFFFFFFFFF)
_INF_BITS = np.int64(0x7FF0000000000000)


@numba.njit(cache=True, nogil=True, inline="always")
def _from_bits(bits: np.int64) -> float:
    return np.array([bits]).view(np.float64)[0]


@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract", "nsz"})
def _row_pass(
    J: np.ndarray, h: np.ndarray, quantize: bool
) -> tuple[np.ndarray, np.ndarray, float, np.ndarray, np.ndarray, float]:
    """The pass behind :func:`coefficient_stats` and :func:`int16_rows`: each row of J is read
    from memory once (then quantised, if ``quantize``, from the L1 cache).

    Written to vectorise: the sums may be reassociated (``fastmath``: they differ from a
    sequential sum in the last bits), and the largest and smallest nonzero magnitudes are taken
    on the magnitudes' bit patterns, which order like the magnitudes and need no floating-point
    compare (with one, LLVM keeps the loop scalar: 30 against 7 ms at n = 3000)."""
    n = h.shape[0]
    squares = np.empty(n)
    absolute = np.empty(n)
    smallest_bits = _INF_BITS
    rows = np.empty((n if quantize else 0, n if quantize else 0), dtype=np.int16)
    scales = np.empty(n if quantize else 0)
    errors = np.zeros(n)
    for i in range(n):
        a = abs(h[i])
        sq = a * a
        total = a
        a_bits = np.array([a]).view(np.int64)[0]
        low = a_bits if a_bits != 0 else _INF_BITS
        top = np.int64(0)
        row = J[i]
        bits = row.view(np.int64)
        for j in range(n):
            b = abs(row[j])
            sq += b * b
            total += b
            magnitude = bits[j] & _ABS_BITS
            top = max(top, magnitude)
            low = min(low, magnitude if magnitude != 0 else _INF_BITS)
        smallest_bits = min(smallest_bits, low)
        squares[i] = sq
        absolute[i] = total
        if quantize:
            scale = float(np.float32(_from_bits(top) / 32767.0))
            inverse = 1.0 / scale if scale > 0.0 else 0.0
            out = rows[i]
            for j in range(n):
                q = min(max(np.rint(row[j] * inverse), -32767.0), 32767.0)
                out[j] = np.int16(q)
                errors[j] += abs(row[j] - scale * q)
            scales[i] = scale
    smallest = _from_bits(smallest_bits)
    return squares, absolute, (smallest if smallest < np.inf else 0.0), rows, scales, (errors.max() if n else 0.0)


def coefficient_stats(J: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """One pass over the model: per row, h_i^2 + sum_j J_ij^2 and |h_i| + sum_j |J_ij|, and the
    smallest nonzero |coefficient| (0.0 if there is none). Numpy needs a temporary n x n array
    and several passes for these (about 15 ms at n = 1000, against 1-2 ms here)."""
    return stats_and_int16_rows(J, h, quantize=False)[0]


def int16_rows(J: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """J as int16 rows times per-row scales, J_ij ~ scales_i rows_ij with scales_i =
    max_j |J_ij| / 32767 (rounded to float32, so 2 scales_i is exact there), and the largest
    field error that can cause, max_j sum_i |J_ij - scales_i rows_ij| (a flip of i changes f_j
    by 2 s_i J_ij)."""
    return stats_and_int16_rows(J, np.zeros(J.shape[0]))[1]


def stats_and_int16_rows(
    J: np.ndarray, h: np.ndarray, *, quantize: bool = True
) -> tuple[tuple[np.ndarray, np.ndarray, float], tuple[np.ndarray, np.ndarray, float]]:
    """(:func:`coefficient_stats`, :func:`int16_rows`) from one pass over J (about 1.2 ms at
    n = 1000 against 1.1 + 1.4 ms for two); the second is empty arrays and 0.0 without
    ``quantize``."""
    squares, absolute, smallest, rows, scales, error = _row_pass(J, h, quantize)
    return (squares, absolute, smallest), (rows, scales, error)


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
        f = local_fields(J, h, s)
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
            _flip(s, f, J, arg)


def seed_states(seed: int, num_reads: int) -> np.ndarray:
    """Nonzero uint64 xorshift states, one per replica, from ``numpy.random.SeedSequence``."""
    states = np.random.SeedSequence(seed).generate_state(num_reads, dtype=np.uint64)
    states[states == 0] = np.uint64(0x9E3779B97F4A7C15)
    return states


def run_replicas(kernel: Callable[..., None], spins: np.ndarray, *args: np.ndarray, per_replica: tuple[np.ndarray, ...] = ()) -> None:
    """Run ``kernel(J, h, spins_chunk, *args, *per_replica_chunks)`` over chunks of replicas in
    parallel (the kernels release the GIL): the first chunk in the calling thread, the others in
    new threads; ``per_replica`` arrays are split like ``spins`` along their first axis."""
    workers = min(default_workers(), spins.shape[0])
    if workers <= 1:
        kernel(*args[:2], spins, *args[2:], *per_replica)
        return
    bounds = np.linspace(0, spins.shape[0], workers + 1).astype(int)
    chunks = [(spins[lo:hi], *(a[lo:hi] for a in per_replica)) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]
    with ThreadPoolExecutor(max_workers=workers - 1) as pool:
        futures = [pool.submit(kernel, *args[:2], chunk[0], *args[2:], *chunk[1:]) for chunk in chunks[1:]]
        kernel(*args[:2], chunks[0][0], *args[2:], *chunks[0][1:])
        for f in futures:
            f.result()
