"""Dense simulated annealing: hybridqnn's own ``dimod.Sampler`` for dense problems.

It runs the numba kernel of :mod:`hybridqnn.solvers.kernels` on a dense
:class:`~hybridqnn.problems.DenseIsing` model: many replicas at once (one per read, in
parallel), incremental local-field updates, and a geometric beta schedule derived
from the problem's own coefficients (:func:`~hybridqnn.solvers.sampling.beta_range_dense`: hot enough to accept the
largest root-mean-square flip at random states a quarter of the time, cold enough to freeze a tenth of
the smallest uphill flip at a local minimum; from a warm start, hot enough only for the
10th-percentile uphill flip).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from hybridqnn._checks import check_choice, check_float, check_int
from hybridqnn.problems.quadratic import FixedPointQuadratic
from hybridqnn.solvers import fixed_point, kernels, relaxation
from hybridqnn.solvers.dense import DenseRun, DenseSampler
from hybridqnn.solvers.keywords import MAX_READS, MAX_SWEEPS
from hybridqnn.solvers.sampling import beta_range_dense
from hybridqnn.solvers.torch_device import as_device

SCHEDULES = ("geometric", "linear")
#: Annealing sweeps of the batched least-squares path when the caller gives none (QP-SBGD's
#: steps are warm started from signSGD, so few sweeps are needed).
LEAST_SQUARES_NUM_SWEEPS = 30
#: The keywords :meth:`DenseSimulatedAnnealingSampler.sample_least_squares` takes.
LEAST_SQUARES_PARAMETERS = ("num_reads", "num_sweeps", "beta_range")


def beta_schedule(beta_range: tuple[float, float], num_sweeps: int, kind: str = "geometric") -> np.ndarray:
    """``num_sweeps`` inverse temperatures from hot to cold."""
    hot, cold = (check_float("beta_range[0]", beta_range[0], 0.0, low_open=True), check_float("beta_range[1]", beta_range[1], 0.0, low_open=True))
    if kind == "geometric":
        return np.geomspace(hot, cold, num_sweeps)
    return np.linspace(hot, cold, num_sweeps)


class DenseSimulatedAnnealingSampler(DenseSampler):
    """Simulated annealing on dense models: numba on the CPU (one replica per read, reads in
    parallel threads) or, with ``device="cuda"``, on an NVIDIA GPU (one warp per read, thousands
    at once; :mod:`hybridqnn.solvers.cuda_kernels`, which needs ``pip install numba-cuda``).

    Keywords of ``sample``: ``num_reads``, ``seed``, ``initial_states``, ``num_sweeps``
    (default 1000), ``beta_range`` (default derived from the coefficients, or from the warm
    start's uphill flips when ``initial_states`` is given), ``beta_schedule_type``
    (``geometric`` or ``linear``), ``fixed_point_bits``. Each read returns the lowest-energy
    state it visited; ``info["dense_sa"]`` holds ``beta_range`` and ``anneal_s`` (the kernel's
    seconds). On the CPU, single-flip anneals run their hot sweeps with float32 fields and J
    as int16 rows times per-row scales (:func:`kernels.int16_sweeps`: where the quantisation
    changes no flip's energy by more than 1/200 of the temperature), or, where int16 is too
    coarse, J in float32 (:func:`kernels.float32_sweeps`: where one rounding of the largest
    possible field is at most 1e-4 of the temperature), and the rest in float64 from exactly
    recomputed fields; ``info["dense_sa"]["hot_sweeps"]`` and ``["hot_rows"]`` say which.

    ``fixed_point_bits=K`` tells the sampler that the variables (in ``bqm.variables`` order, or
    the model's order for :meth:`sample_dense`) are consecutive groups of K bits, least
    significant first, each encoding one coordinate of a fixed-point vector (the layout of
    :class:`hybridqnn.problems.FixedPointEncoding`, built by
    :func:`hybridqnn.problems.quadratic_to_bqm` and the head and QCBO builders). Moves then add
    +-2^m to one coordinate's integer, carries included (:func:`kernels.anneal_fixed_point`),
    instead of flipping single spins. On those problems, whose coefficients span about 4^K,
    single flips stall at carry boundaries; the integer moves reach the rounded-continuous
    reference in a few hundred sweeps (``hybridqnn bench solvers``). Any labelling is valid,
    so on other problems the option is merely a different move set. A cold start (no
    ``initial_states``) on a model that is a quadratic in its groups' integers (what those
    builders make; :func:`hybridqnn.solvers.relaxation.fixed_point_quadratic` checks every
    coefficient) first moves each read's random state by
    :data:`~hybridqnn.solvers.relaxation.RELAXATION_STEPS` accelerated projected-gradient steps on
    the box relaxation, rounded to the grid (:func:`~hybridqnn.solvers.relaxation.relaxed_starts`),
    and anneals from there with the warm-start beta range; ``info["dense_sa"]`` then holds
    ``relaxation_steps`` and ``relaxation_s``. Coordinate moves alone crawl along the valleys of
    an ill-conditioned quadratic: on the MNIST head problem at K = 20 (2,580 variables) they
    ended 6.5% above the rounded-continuous reference after 3 s, the relaxed start is within
    0.01% of it after 0.07 s.
    """

    _own_parameters = {"num_sweeps": [], "beta_range": [], "beta_schedule_type": ["schedules"], "fixed_point_bits": []}
    info_key = "dense_sa"

    def __init__(self, device: Any = "cpu") -> None:
        self.device = as_device(device)
        if self.device.type not in ("cpu", "cuda"):
            raise ValueError(f"'device' must be 'cpu' or 'cuda[:N]', got {str(self.device)!r}")
        if self.device.type == "cuda":
            from hybridqnn.solvers import cuda_kernels

            if not cuda_kernels.available():
                raise ValueError(
                    f"'device' is {str(self.device)!r} but numba sees no CUDA GPU "
                    "(dense-sa on CUDA needs an NVIDIA driver and pip install numba-cuda); use device='cpu'"
                )

    @property
    def properties(self) -> dict[str, Any]:
        """The dense path, the batched least-squares path (:meth:`sample_least_squares`) and, on
        the CPU, the fixed-point path (:meth:`sample_fixed_point`)."""
        paths = {**super().properties["fast_paths"], "least_squares": LEAST_SQUARES_PARAMETERS}
        if self.device.type == "cpu":
            paths["fixed_point"] = ("num_reads", *self._own_parameters)
        return {"fast_paths": paths, "schedules": SCHEDULES, "device": str(self.device)}

    def sample_fixed_point(
        self,
        model: FixedPointQuadratic,
        *,
        seed: int,
        initial_states: np.ndarray | None = None,
        num_reads: int = 1,
        num_sweeps: int = 1000,
        beta_range: tuple[float, float] | None = None,
        beta_schedule_type: str = "geometric",
        fixed_point_bits: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """The anneal of ``sample_dense(model.to_dense(), fixed_point_bits=K)`` run on the grid
        (:func:`hybridqnn.solvers.fixed_point.anneal`: O(1) per proposal and O(n) per accepted
        move, and no O((nK)^2) couplings), the fixed-point path of
        :mod:`hybridqnn.solvers.sampling`. The same seed draws the same random starts, schedule
        and moves, so it returns the dense path's states up to floating-point rounding of the
        energy changes; the beta range is :func:`beta_range_dense`'s, computed on the grid
        (:func:`hybridqnn.solvers.fixed_point.beta_range`). Returns (spins (R, nK) int8, energies (R,), info), like ``sample_dense``."""
        bits = model.encoding.bits
        if fixed_point_bits is not None and check_int("fixed_point_bits", fixed_point_bits, 1, 32) != bits:
            raise ValueError(f"'fixed_point_bits' must equal the encoding's bits ({bits}) on the fixed-point path, got {fixed_point_bits}")
        num_reads = check_int("num_reads", num_reads, 1, MAX_READS)
        num_sweeps = check_int("num_sweeps", num_sweeps, 1, MAX_SWEEPS)
        check_choice("beta_schedule_type", beta_schedule_type, SCHEDULES)
        rng = np.random.default_rng(check_int("seed", seed, 0))
        n = model.num_variables
        if initial_states is None:
            spins = rng.choice(np.array([-1, 1], dtype=np.int8), size=(num_reads, n))
        else:
            given = np.asarray(initial_states, dtype=np.int8).reshape(-1, n)
            spins = np.tile(given, (-(-num_reads // given.shape[0]), 1))[:num_reads]
        warm, start_info = initial_states is not None, {}
        if not warm:  # the dense path's cold start (_relaxed_start), on the grid's own quadratic
            spins, start_info = _relaxed_start(relaxation.grid_quadratic(model), bits, spins)
            warm = "relaxation_s" in start_info
        ints = fixed_point.spins_to_ints(spins, bits)
        if beta_range is None:
            beta_range = fixed_point.beta_range(model, ints[0] if warm else None)
        betas = beta_schedule(beta_range, num_sweeps, beta_schedule_type)
        enc = model.encoding
        start = time.perf_counter()
        kernels.run_replicas(
            fixed_point.anneal, ints, np.ascontiguousarray(model.hessian), model.linear, enc.low, enc.step, betas, bits,
            per_replica=(kernels.seed_states(int(rng.integers(2**31 - 1)), num_reads),),
        )
        info = {"beta_range": tuple(float(b) for b in beta_range), "anneal_s": time.perf_counter() - start, **start_info}
        out = fixed_point.ints_to_spins(ints, bits)
        return out, model.energies(out), {"seed": seed, self.info_key: info}

    def sample_least_squares(
        self,
        x: np.ndarray,
        v: np.ndarray,
        g0: np.ndarray,
        *,
        seed: int,
        var_index: np.ndarray | None = None,
        num_reads: int = 1,
        num_sweeps: int = LEAST_SQUARES_NUM_SWEEPS,
        beta_range: tuple[float, float] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """min_{g_j in {-1,+1}^n} ||v_j - X g_j||^2 for every row v_j of ``v`` (m, B), sharing
        X (B, n), from the starts ``g0`` (m, n): the least-squares fast path of
        :mod:`hybridqnn.solvers.sampling`, one numba call that never forms the n x n couplings
        (:func:`hybridqnn.solvers.batched.solve_least_squares_batch`, on the CPU whatever
        ``device`` is). Returns (g (m, n) float64, energies (m,))."""
        from hybridqnn.solvers.batched import solve_least_squares_batch

        return solve_least_squares_batch(
            x, v, g0, var_index=var_index, num_sweeps=num_sweeps, num_reads=num_reads, beta_range=beta_range, seed=seed
        )

    def _sample_spins(
        self,
        run: DenseRun,
        *,
        num_sweeps: int = 1000,
        beta_range: tuple[float, float] | None = None,
        beta_schedule_type: str = "geometric",
        fixed_point_bits: int | None = None,
    ) -> tuple[np.ndarray, dict[str, Any]]:
        model, spins, seed = run.model, run.spins, run.seed
        num_sweeps = check_int("num_sweeps", num_sweeps, 1, MAX_SWEEPS)
        check_choice("beta_schedule_type", beta_schedule_type, SCHEDULES)
        if fixed_point_bits is not None:
            fixed_point_bits = check_int("fixed_point_bits", fixed_point_bits, 1, 32)
            if model.num_variables % fixed_point_bits:
                raise ValueError(
                    f"'fixed_point_bits' must divide the number of variables ({model.num_variables}), got {fixed_point_bits}"
                )
        if beta_range is not None and len(beta_range) != 2:
            raise ValueError(f"'beta_range' must be a pair (hot, cold), got {beta_range!r}")
        J, h = np.ascontiguousarray(model.J), np.ascontiguousarray(model.h)
        warm, start_info = run.warm, {}
        if fixed_point_bits is not None and not warm:
            t = time.perf_counter()
            quadratic = relaxation.fixed_point_quadratic(J, h, fixed_point_bits)
            spins, start_info = _relaxed_start(quadratic, fixed_point_bits, spins, t)
            warm = "relaxation_s" in start_info
        # one O(n^2) pass serves the cold-start beta range and the CPU's int16 and float32 rules
        single_flips_on_cpu = fixed_point_bits is None and self.device.type == "cpu"
        stats, rows16 = None, None
        if single_flips_on_cpu or (beta_range is None and not warm):
            stats, rows16 = kernels.stats_and_int16_rows(J, h, quantize=single_flips_on_cpu)
        if beta_range is None:
            beta_range = beta_range_dense(model, spins[:1] if warm else None, stats=stats)
        betas = beta_schedule(beta_range, num_sweeps, beta_schedule_type)
        start = time.perf_counter()
        if self.device.type == "cuda":
            from numba import cuda

            from hybridqnn.solvers import cuda_kernels

            with cuda.gpus[self.device.index or 0]:
                best, energies = cuda_kernels.anneal(
                    J, h, model.offset, spins, betas, kernels.seed_states(seed, spins.shape[0]), fixed_point_bits
                )
            info = {"beta_range": tuple(float(b) for b in beta_range), "anneal_s": time.perf_counter() - start, **start_info}
            return best, {**info, "energies": energies}
        work = np.ascontiguousarray(spins, dtype=np.float64)
        energies = np.empty(work.shape[0])
        per_replica = (kernels.seed_states(seed, work.shape[0]), energies)
        if single_flips_on_cpu:
            hot = _hot_rows(J, betas, stats[1], rows16)
            kernels.run_replicas(kernels.anneal, work, J, h, betas, *hot, per_replica=per_replica)
            start_info = {**start_info, "hot_sweeps": hot[2], "hot_rows": str(hot[0].dtype)}
        else:
            kernels.run_replicas(kernels.anneal_fixed_point, work, J, h, betas, fixed_point_bits, per_replica=per_replica)
        info = {"beta_range": tuple(float(b) for b in beta_range), "anneal_s": time.perf_counter() - start, **start_info}
        return work.astype(np.int8), {**info, "energies": energies + model.offset}


def _relaxed_start(
    quadratic: tuple[np.ndarray, np.ndarray] | None, bits: int, spins: np.ndarray, t: float | None = None
) -> tuple[np.ndarray, dict[str, Any]]:
    """The cold start of a fixed-point anneal: each read's random state moved by
    :func:`~hybridqnn.solvers.relaxation.relaxed_starts` on the model's quadratic (M, g) in its
    K-bit groups (:func:`~hybridqnn.solvers.relaxation.fixed_point_quadratic` on the dense model,
    :func:`~hybridqnn.solvers.relaxation.grid_quadratic` on the grid), with the seconds that took
    (from ``t``) as ``relaxation_s``; if there is no such quadratic, the random states unchanged
    and no figures."""
    t = time.perf_counter() if t is None else t
    if quadratic is None:
        return spins, {}
    starts = relaxation.relaxed_starts(*quadratic, bits, spins)
    return starts, {"relaxation_steps": relaxation.RELAXATION_STEPS, "relaxation_s": time.perf_counter() - t}


def _hot_rows(
    J: np.ndarray, betas: np.ndarray, row_magnitudes: np.ndarray, rows16: tuple[np.ndarray, np.ndarray, float]
) -> tuple[np.ndarray, np.ndarray, int]:
    """The hot sweeps of :func:`kernels.anneal` and the rows they read: the int16 rows and scales
    of ``rows16`` (:func:`kernels.int16_rows`) for the leading sweeps that
    :func:`kernels.int16_sweeps` allows, else J in float32 for those that
    :func:`kernels.float32_sweeps` allows (no scales), else none. Measured on random dense
    problems, float64 rows after the int16 sweeps beat a float32 tier between them (n = 1000 and
    3000, 1,000-3,000 sweeps: the tier's switch costs more than its flips save)."""
    float32_limit = kernels.float32_sweeps(row_magnitudes, betas)
    if float32_limit == 0:
        return np.empty((0, 0), dtype=np.float32), np.empty(0), 0
    rows, scales, error = rows16
    sweeps = kernels.int16_sweeps(error, betas, float32_limit)
    if sweeps:
        return rows, scales, sweeps
    return J.astype(np.float32), np.empty(0), float32_limit
