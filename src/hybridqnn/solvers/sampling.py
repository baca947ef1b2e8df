"""Calling any ``dimod.Sampler`` the same way: seeds, warm starts, a derived beta schedule, and
the one place that chooses a sampler's fast path.

**Fast paths.** The library speaks dimod: every solve can go through ``sampler.sample(bqm)``.
Building a BQM costs O(#couplers) in Python objects, so a sampler may also advertise, in its
``properties``, fast paths that take the problem as arrays. ``properties["fast_paths"]`` is a
mapping from a path's name to the ``sample_kwargs`` keywords that path takes:

- ``"dense"``: ``sampler.sample_dense(model, *, seed, initial_states=None, **sample_kwargs)``
  takes a :class:`~hybridqnn.problems.DenseIsing` E(s) = offset + h^T s + 1/2 s^T J s and
  returns (spins (R, n) int8, energies (R,), info). Every
  :class:`~hybridqnn.solvers.dense.DenseSampler` has it.
- ``"least_squares"``: ``sampler.sample_least_squares(x, v, g0, *, seed, var_index=None,
  **sample_kwargs)`` minimises ||v_j - X g_j||^2 over g_j in {-1, +1}^n for every row v_j of
  ``v`` (m, B) at once, from the starts ``g0`` (m, n), moving only the columns ``var_index``,
  and returns (g (m, n) float64, energies (m,)). The dense SA has it
  (:func:`hybridqnn.solvers.batched.solve_least_squares_batch`).
- ``"fixed_point"``: ``sampler.sample_fixed_point(model, *, seed, initial_states=None,
  **sample_kwargs)`` takes a :class:`~hybridqnn.problems.FixedPointQuadratic` (H, g, c and the
  grid: no O((nK)^2) couplings) and returns what ``sample_dense`` returns for
  ``model.to_dense()``. The dense SA has it on the CPU (its fixed-point moves, on the grid).

:func:`fast_path` is the one test of whether a path applies (advertised, and every keyword of
``sample_kwargs`` is one the path takes); :func:`solve_dense` solves a dense model by the dense
path or, failing that, by ``sample(bqm)``. The optimizers and trainers call only these, so a new
fast sampler needs no edit to them. Composites do not inherit their child's fast paths (their
``properties`` hold the child's under ``child_properties``): a path that skipped the
composite's work, such as :class:`~hybridqnn.solvers.composites.LimitedPrecisionComposite`'s
rounding, would silently change the result.

**CQM solvers.** An object with ``sample_cqm(cqm, **parameters)`` and dimod's ``parameters``
(the keywords it takes) solves a constrained model: :class:`~hybridqnn.solvers.qcgd.QCGDSolver`,
:class:`~hybridqnn.solvers.penalty.PenaltyCQMSampler`,
:class:`~hybridqnn.solvers.milp.MILPSolver`, or a user's own. :func:`sample_cqm` calls any of
them the same way, passing each per-call hint (``seed``, a warm start ``x0``, an
``objective_range``, a ``repair`` map) only to a solver that declares it, so a trainer that
solves CQMs names no solver and a new CQM solver needs no edit to it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import dimod
import numpy as np

from hybridqnn._checks import check_finite_model
from hybridqnn.problems.dense import DenseIsing
from hybridqnn.problems.quadratic import FixedPointQuadratic
from hybridqnn.solvers import kernels


def flip_costs(bqm: dimod.BinaryQuadraticModel, state: np.ndarray | None = None) -> np.ndarray:
    """Energy change of flipping each variable: at ``state`` if given, else an upper bound.

    For a BINARY model with local field f_i = h_i + sum_j J_ij x_j, flipping x_i changes the
    energy by (1 - 2 x_i) f_i. Without a state this returns the bound |h_i| + sum_j |J_ij| (times
    2 for SPIN), the largest change any flip of i can make. Variables are in ``bqm.variables``
    order.
    """
    lin, (row, col, quad), _ = bqm.to_numpy_vectors(bqm.variables)
    n = len(lin)
    scale = 2.0 if bqm.vartype is dimod.SPIN else 1.0
    if state is None:
        bound = np.abs(lin).astype(np.float64)
        np.add.at(bound, row, np.abs(quad))
        np.add.at(bound, col, np.abs(quad))
        return scale * bound
    x = np.asarray(state, dtype=np.float64).reshape(n)
    field = lin.astype(np.float64).copy()
    np.add.at(field, row, quad * x[col])
    np.add.at(field, col, quad * x[row])
    if bqm.vartype is dimod.SPIN:
        return -2.0 * x * field
    return (1.0 - 2.0 * x) * field


def beta_range_for(bqm: dimod.BinaryQuadraticModel, initial_state: np.ndarray | None = None) -> tuple[float, float]:
    """A (hot, cold) inverse-temperature range derived from the model's own coefficients.

    Cold start (no ``initial_state``), in the model's SPIN form E = h^T s + sum_{i<j} J_ij s_i s_j:
    - the hot end accepts, with probability 1/4, the largest *typical* flip at a uniformly
      random state: flipping s_i costs 2 |f_i| with f_i = h_i + sum_j J_ij s_j, whose root mean
      square over random states is sigma_i = sqrt(h_i^2 + sum_j J_ij^2), so
      beta_hot = ln 4 / max_i 2 sigma_i, about 1 / (1.44 sigma). On a Sherrington-Kirkpatrick
      model (J_ij ~ N(0, 1)) sigma is the mean-field spin-glass temperature T_c = sqrt(n), so
      the anneal starts at 1.44 T_c, in the paramagnetic phase but not deep in it;
    - the cold end rejects, with probability 99%, a tenth of the smallest uphill flip delta_loc
      at a 1-flip local minimum (steepest descent from a seeded random state),
      beta_cold = ln 100 / max(delta_loc / 10, delta_coef), with delta_coef the smallest nonzero
      coefficient magnitude (times 2 in SPIN form) as a floor. The tenth is a margin: other
      low-energy states have smaller smallest uphill flips (the smallest of n varies several-fold
      between local minima), and the anneal must end frozen at a local minimum.

    This replaces dwave-samplers' default rule (hot: the largest *possible* flip, 2 (|h_i| +
    sum_j |J_ij|); cold: the smallest coefficient). On dense problems with real-valued
    coefficients that rule spans about ten decades: at n = 1000 with J_ij ~ N(0, 1) it gives
    (4e-4, 2e7), because the largest possible flip is about sqrt(n) times a typical one and the
    smallest of n^2/2 Gaussian coefficients is about 1e-6 of a typical one, while annealing
    happens between beta ~ 0.02 and ~ 1. The rule here gives beta_hot = 0.022 there and beta_cold
    between about 60 and 2000, depending on the instance; on the n = 1000 problem of
    ``hybridqnn bench solvers`` dense SA then reaches the old rule's median energy (best of 2
    reads, 10 seeds) in about 3x fewer sweeps and 3-4x less time. The hot end was first
    ln 2 / max 2 sigma (2.9 T_c on SK problems); ln 4 measured better on the random problems
    of the bench and no worse on the head problems: at n = 1000, 10,000 sweeps, 7.3% of dense-SA
    reads (14/192) reached the best known state against about 3% before, each in 0.20 s per core
    instead of 0.23 s; at n = 3000 the same sweeps reach a lower median energy in half the time
    (fewer flips are accepted in the hot phase); on digits and MNIST head problems (K = 10) the
    gaps at 300-3000 sweeps stayed within the seed-to-seed spread. On
    fixed-point (head, QCBO) problems delta_loc is about the least significant bit's
    coefficient, as before. Everything is O(#couplers) numpy plus one steepest descent.

    Warm start (``initial_state`` given, typically a local minimum): the schedule starts where
    the 10th-percentile uphill flip from that state is accepted with probability 1/2, so the
    anneal explores around the warm start instead of melting it, and ends as the cold start
    does with the smallest uphill flip. (Measured on head QUBOs with K = 10 and 20: starting at
    the median uphill flip already ends above the warm start's energy; the cold schedule ends
    far above it, at positive energies.)
    """
    if bqm.num_variables == 0:
        return DEFAULT_BETA_RANGE
    if initial_state is not None:
        return beta_range_from_fields(uphill=flip_costs(bqm, initial_state))
    from dwave.samplers import SteepestDescentSolver

    spin = bqm.change_vartype(dimod.SPIN, inplace=False)
    lin, (row, col, quad), _ = spin.to_numpy_vectors(spin.variables)
    squares = np.asarray(lin, dtype=np.float64) ** 2
    np.add.at(squares, row, quad**2)
    np.add.at(squares, col, quad**2)
    coeffs = np.abs(np.concatenate([lin, quad]).astype(np.float64))
    coeffs = coeffs[coeffs > 0]
    if coeffs.size == 0:
        return DEFAULT_BETA_RANGE
    start = np.random.default_rng(0).choice(np.array([-1, 1], dtype=np.int8), size=(1, spin.num_variables))
    descended = SteepestDescentSolver().sample(spin, initial_states=(start, list(spin.variables))).first.sample
    local = np.array([descended[v] for v in spin.variables], dtype=np.float64)
    return beta_range_from_fields(
        typical_flips=2.0 * np.sqrt(squares), local_minimum_uphill=flip_costs(spin, local), min_coefficient=2.0 * float(coeffs.min())
    )


DEFAULT_BETA_RANGE = (0.1, 1.0)


def beta_range_from_fields(
    *,
    typical_flips: np.ndarray | None = None,
    local_minimum_uphill: np.ndarray | None = None,
    min_coefficient: float = 0.0,
    uphill: np.ndarray | None = None,
) -> tuple[float, float]:
    """The rule behind :func:`beta_range_for`, on arrays (shared by the dense samplers).

    Cold start: beta_hot = ln 4 / max(typical_flips), beta_cold = ln 100 / max(a tenth of the
    smallest positive ``local_minimum_uphill``, ``min_coefficient``).
    Warm start (``uphill`` = flip costs at the start state): beta_hot = ln 2 / (10th percentile
    of the positive costs), beta_cold = ln 100 / (smallest positive cost).
    A model with nothing to flip gets (0.1, 1.0); beta_cold is never below beta_hot.
    """
    if uphill is not None:
        positive = uphill[uphill > 0]
        if positive.size == 0:
            return DEFAULT_BETA_RANGE
        hot_delta, cold_delta = float(np.percentile(positive, 10)), float(positive.min())
        hot_log_odds = math.log(2.0)  # accepted with probability 1/2
    else:
        if typical_flips is None or typical_flips.size == 0 or min_coefficient <= 0:
            return DEFAULT_BETA_RANGE
        positive = local_minimum_uphill[local_minimum_uphill > 0] if local_minimum_uphill is not None else np.empty(0)
        hot_delta = float(np.max(typical_flips))
        hot_log_odds = math.log(4.0)  # accepted with probability 1/4
        cold_delta = max(0.1 * float(positive.min()) if positive.size else 0.0, float(min_coefficient))
    if hot_delta <= 0 or cold_delta <= 0:
        return DEFAULT_BETA_RANGE
    beta_hot = hot_log_odds / hot_delta
    beta_cold = math.log(100.0) / cold_delta
    return (beta_hot, max(beta_cold, beta_hot))


def beta_range_dense(
    model: DenseIsing, spins: np.ndarray | None = None, *, stats: tuple[np.ndarray, np.ndarray, float] | None = None
) -> tuple[float, float]:
    """The rule of :func:`beta_range_for` on a dense spin model, from a warm start if ``spins``
    (one state) is given. The warm start needs only the flip costs at the start, O(n^2) once;
    the cold start needs the fields' root mean squares sqrt(h_i^2 + sum_j J_ij^2), the smallest
    nonzero coefficient (times 2 for spins) and one steepest descent from a seeded random state
    (:func:`hybridqnn.solvers.kernels.steepest_descent`). ``stats``, the model's
    :func:`~hybridqnn.solvers.kernels.coefficient_stats` if the caller has them, saves that pass."""
    J, h = np.ascontiguousarray(model.J), np.ascontiguousarray(model.h)

    def uphill(state: np.ndarray) -> np.ndarray:  # flip costs -2 s_i f_i at one state
        return -2.0 * state * kernels.local_fields(J, h, state)

    if spins is not None:
        return beta_range_from_fields(uphill=uphill(np.asarray(spins, dtype=np.float64).reshape(-1, model.num_variables)[0]))
    squares, _, smallest = kernels.coefficient_stats(J, h) if stats is None else stats
    if smallest == 0.0:
        return DEFAULT_BETA_RANGE
    local = np.random.default_rng(0).choice(np.array([-1.0, 1.0]), size=(1, model.num_variables))
    kernels.steepest_descent(J, h, local)
    return beta_range_from_fields(
        typical_flips=2.0 * np.sqrt(squares),
        local_minimum_uphill=uphill(local[0]),
        min_coefficient=2.0 * smallest,
    )


FAST_PATHS = "fast_paths"
#: The names of the fast paths (module docstring).
PATHS = ("dense", "least_squares", "fixed_point")


def fast_path(sampler: Any, path: str, sample_kwargs: Mapping[str, Any] | None = None) -> bool:
    """Whether ``sampler`` advertises the fast ``path`` (``properties["fast_paths"]``) and that
    path takes every keyword of ``sample_kwargs``."""
    if path not in PATHS:
        raise ValueError(f"'path' must be one of {', '.join(PATHS)}, got {path!r}")
    paths = (getattr(sampler, "properties", None) or {}).get(FAST_PATHS) or {}
    return path in paths and set(sample_kwargs or {}) <= set(paths[path])


def supports_dense(sampler: Any, sample_kwargs: Mapping[str, Any] | None = None) -> bool:
    """Whether :func:`solve_dense` gives ``sampler`` the model itself (the dense path)."""
    return fast_path(sampler, "dense", sample_kwargs)


def _no_samples(sampler: Any) -> ValueError:
    return ValueError(f"'sampler' ({type(sampler).__name__}) returned no samples; at least one is needed per problem")


def _lowest(sampler: Any, spins: np.ndarray, energies: np.ndarray) -> tuple[np.ndarray, float]:
    """The lowest-energy read of a fast path (spins (n,) int8, energy)."""
    if len(energies) == 0:
        raise _no_samples(sampler)
    best = int(np.argmin(energies))
    return np.asarray(spins[best], dtype=np.int8), float(energies[best])


def best_sample(sampleset: dimod.SampleSet, sampler: Any) -> dimod.SampleView:
    """The lowest-energy row, among the feasible ones when the sample set marks feasibility;
    a one-line ValueError if the sampler returned nothing."""
    if len(sampleset) == 0:
        raise _no_samples(sampler)
    if "is_feasible" in sampleset.record.dtype.names:
        feasible = sampleset.filter(lambda d: d.is_feasible)
        if len(feasible):
            return feasible.first
    return sampleset.first


def solve_dense(
    sampler: Any,
    model: DenseIsing,
    *,
    seed: int,
    initial_state: np.ndarray | None = None,
    sample_kwargs: Mapping[str, Any] | None = None,
    bqm: dimod.BinaryQuadraticModel | None = None,
) -> tuple[np.ndarray, float]:
    """The best state ``sampler`` finds for ``model``, as spins (n,) int8 in the model's order,
    and its energy.

    A sampler on the dense path (:func:`supports_dense`) gets the model through
    ``sample_dense(model, seed=seed, initial_states=initial_state, **sample_kwargs)``, and the
    lowest-energy read is returned. Any other sampler gets ``bqm`` (default
    ``model.to_bqm()``, SPIN; a caller that built the BQM already passes it; its variables must
    be the model's, in the model's order) through :func:`sample_bqm`, with ``initial_state``
    (spins) as the warm start in the BQM's vartype; the best row (:func:`best_sample`) is
    returned as spins with its energy on ``bqm``.
    """
    kwargs = dict(sample_kwargs or {})
    if supports_dense(sampler, kwargs):
        start = None if initial_state is None else np.asarray(initial_state, dtype=np.int8).reshape(1, -1)
        spins, energies, _ = sampler.sample_dense(model, seed=seed, initial_states=start, **kwargs)
        return _lowest(sampler, spins, energies)
    bqm = model.to_bqm() if bqm is None else bqm
    state = None
    if initial_state is not None:
        state = np.asarray(initial_state, dtype=np.int8).reshape(-1)
        state = (state + 1) // 2 if bqm.vartype is dimod.BINARY else state
    ss = sample_bqm(sampler, bqm, seed=seed, initial_state=state, sample_kwargs=kwargs)
    row = best_sample(ss, sampler).sample
    variables = list(bqm.variables)
    values = np.array([row[v] for v in variables], dtype=np.int8)
    if ss.vartype is not bqm.vartype:
        values = (values + 1) // 2 if bqm.vartype is dimod.BINARY else 2 * values - 1
    spins = 2 * values - 1 if bqm.vartype is dimod.BINARY else values
    return spins.astype(np.int8), float(bqm.energy((values, variables)))


def solve_fixed_point(
    sampler: Any,
    model: FixedPointQuadratic,
    *,
    seed: int,
    initial_state: np.ndarray | None = None,
    sample_kwargs: Mapping[str, Any] | None = None,
    dense: DenseIsing | None = None,
    bqm: dimod.BinaryQuadraticModel | None = None,
) -> tuple[np.ndarray, float]:
    """:func:`solve_dense` for a grid quadratic: by the fixed-point path when ``sampler`` has it
    for ``sample_kwargs`` (and their ``fixed_point_bits``, if any, is the grid's K), else by
    :func:`solve_dense` on ``dense`` (default ``model.to_dense()``) and ``bqm`` (callers that
    built them for many models at once pass them). Returns the best spins (nK,) int8 and their
    energy."""
    kwargs = dict(sample_kwargs or {})
    if fast_path(sampler, "fixed_point", kwargs) and kwargs.get("fixed_point_bits", model.encoding.bits) == model.encoding.bits:
        start = None if initial_state is None else np.asarray(initial_state, dtype=np.int8).reshape(1, -1)
        spins, energies, _ = sampler.sample_fixed_point(model, seed=seed, initial_states=start, **kwargs)
        return _lowest(sampler, spins, energies)
    dense = model.to_dense() if dense is None else dense
    return solve_dense(sampler, dense, seed=seed, initial_state=initial_state, sample_kwargs=kwargs, bqm=bqm)


def _declared(sampler: Any, sample_kwargs: Mapping[str, Any] | None) -> tuple[Mapping[str, Any], dict[str, Any]]:
    """``sampler.parameters`` and ``sample_kwargs`` as a dict; a keyword the sampler does not
    list is a one-line ValueError (nothing is silently dropped)."""
    params = getattr(sampler, "parameters", {}) or {}
    kwargs = dict(sample_kwargs or {})
    unknown = sorted(set(kwargs) - set(params))
    if unknown:
        raise ValueError(
            f"'sample_kwargs' has {', '.join(map(repr, unknown))}, which {type(sampler).__name__} does not take; "
            f"it takes: {', '.join(sorted(params)) or 'nothing'}"
        )
    return params, kwargs


def sample_bqm(
    sampler: dimod.Sampler,
    bqm: dimod.BinaryQuadraticModel,
    *,
    seed: int | None = None,
    initial_state: np.ndarray | None = None,
    sample_kwargs: Mapping[str, Any] | None = None,
) -> dimod.SampleSet:
    """Sample ``bqm`` with any dimod sampler, passing only what the sampler understands.

    - ``bqm`` must have finite coefficients whose magnitudes sum to a finite float64
      (:func:`hybridqnn._checks.check_finite_model`, a one-line ValueError naming the variable
      or interaction), checked before any sampler (a user's own dwave-samplers tabu search
      aborts the process on an infinite bias) sees it.
    - ``sample_kwargs`` are passed verbatim; a keyword the sampler does not list in
      ``sampler.parameters`` is an error (nothing is silently dropped).
    - ``seed`` is passed if the sampler takes ``seed``.
    - ``initial_state`` (one state, in ``bqm.variables`` order) is passed as ``initial_states``
      if the sampler takes it, making the solve a warm start.
    - ``beta_range`` is derived by :func:`beta_range_for` when the sampler takes one and the
      caller did not give it (dwave-samplers' own default is far too cold on real-valued
      coefficients and slow to compute).
    """
    params, kwargs = _declared(sampler, sample_kwargs)
    check_finite_model("bqm", bqm)
    if seed is not None and "seed" in params:
        kwargs.setdefault("seed", int(seed) % (2**31))
    if initial_state is not None and "initial_states" in params:
        state = np.asarray(initial_state).reshape(1, -1)
        if bqm.vartype is dimod.SPIN and np.all((state == 0) | (state == 1)):
            state = 2 * state - 1
        kwargs.setdefault("initial_states", (state, list(bqm.variables)))
    if "beta_range" in params and "beta_range" not in kwargs and "beta_schedule" not in kwargs:
        kwargs["beta_range"] = beta_range_for(bqm, initial_state if initial_state is not None and "initial_states" in params else None)
    return sampler.sample(bqm, **kwargs)


#: Per-call hints a CQM solver may declare in ``parameters`` (:func:`sample_cqm`).
CQM_HINTS = ("seed", "x0", "objective_range", "repair")


def sample_cqm(
    solver: Any,
    cqm: dimod.ConstrainedQuadraticModel,
    *,
    sample_kwargs: Mapping[str, Any] | None = None,
    **hints: Any,
) -> dimod.SampleSet:
    """Solve ``cqm`` with any CQM solver (an object with ``sample_cqm`` and ``parameters``).

    - ``sample_kwargs`` are passed verbatim; one the solver does not list in ``parameters`` is
      an error (nothing is silently dropped).
    - each of ``hints`` (names in :data:`CQM_HINTS`: ``seed``, ``x0`` a warm start over the
      CQM's variables, ``objective_range`` a bound on the objective's range over the feasible
      points, ``repair`` a map from a CQM sample to another) is passed if it is not None and
      the solver lists it in ``parameters``.
    """
    if not hasattr(solver, "sample_cqm"):
        raise TypeError(f"'solver' must have sample_cqm, got {type(solver).__name__}")
    bad = sorted(set(hints) - set(CQM_HINTS))
    if bad:
        raise ValueError(f"'hints' must be among {', '.join(CQM_HINTS)}, got {', '.join(map(repr, bad))}")
    params, kwargs = _declared(solver, sample_kwargs)
    kwargs.update({k: v for k, v in hints.items() if v is not None and k in params})
    return solver.sample_cqm(cqm, **kwargs)


def oracle_calls(sampleset: dimod.SampleSet) -> int:
    """The oracle calls a CQM solve made: ``oracle_calls`` under the solver's namespaced
    ``info`` key (:mod:`hybridqnn.solvers.info`; QCGD's iterations, the penalty method's
    rounds), or 1 for a solver that reports none (one solve)."""
    for value in sampleset.info.values():
        if isinstance(value, Mapping) and "oracle_calls" in value:
            return int(value["oracle_calls"])
    return 1
