"""Calling any ``dimod.Sampler`` the same way: seeds, warm starts and a derived beta schedule."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import dimod
import numpy as np

from hybridqnn.problems.dense import DenseIsing


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

    Cold start (no ``initial_state``): the hot end accepts the largest possible flip with
    probability 1/2, beta_hot = ln 2 / max_i Delta_i, where Delta_i is the bound of
    :func:`flip_costs`, and the cold end rejects the smallest nonzero flip with probability 99%,
    beta_cold = ln 100 / delta_min, with delta_min approximated (as dwave-samplers does) by the
    smallest nonzero coefficient magnitude |h_i| or |J_ij| (times 2 for SPIN). (min_i Delta_i,
    the smallest of the *largest* flips, is far too hot an end: annealing then stops before the
    samples reach a local minimum.) This is the rule dwave-samplers uses by default, computed here
    in O(#couplers) numpy instead of its per-call Python loop (about 5 s at n = 3000), and it
    scales with real-valued coefficients instead of assuming integer-like ones.

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
        return beta_range_from_fields(None, 0.0, uphill=flip_costs(bqm, initial_state))
    lin, (_, _, quad), _ = bqm.to_numpy_vectors(bqm.variables)
    coeffs = np.abs(np.concatenate([lin, quad]).astype(np.float64))
    coeffs = coeffs[coeffs > 0]
    min_coef = (2.0 if bqm.vartype is dimod.SPIN else 1.0) * float(coeffs.min()) if coeffs.size else 0.0
    return beta_range_from_fields(flip_costs(bqm), min_coef)


DEFAULT_BETA_RANGE = (0.1, 1.0)


def beta_range_from_fields(
    max_flips: np.ndarray | None, min_coefficient: float, *, uphill: np.ndarray | None = None
) -> tuple[float, float]:
    """The rule behind :func:`beta_range_for`, on arrays (shared by the dense samplers).

    Cold start: beta_hot = ln 2 / max(max_flips), beta_cold = ln 100 / min_coefficient.
    Warm start (``uphill`` = flip costs at the start state): beta_hot = ln 2 / (10th percentile
    of the positive costs), beta_cold = ln 100 / (smallest positive cost).
    A model with nothing to flip gets (0.1, 1.0).
    """
    if uphill is not None:
        positive = uphill[uphill > 0]
        if positive.size == 0:
            return DEFAULT_BETA_RANGE
        hot_delta, cold_delta = float(np.percentile(positive, 10)), float(positive.min())
    else:
        if max_flips is None or max_flips.size == 0 or min_coefficient <= 0:
            return DEFAULT_BETA_RANGE
        hot_delta, cold_delta = float(np.max(max_flips)), float(min_coefficient)
    if hot_delta <= 0 or cold_delta <= 0:
        return DEFAULT_BETA_RANGE
    beta_hot = math.log(2.0) / hot_delta
    beta_cold = math.log(100.0) / cold_delta
    return (beta_hot, max(beta_cold, beta_hot))


def beta_range_dense(model: DenseIsing, spins: np.ndarray | None = None) -> tuple[float, float]:
    """The rule of :func:`beta_range_for` on a dense spin model, from a warm start if ``spins``
    (one state) is given. The warm start needs only the flip costs at the start, O(n^2) once;
    the cold start needs the largest possible flip, 2 (|h_i| + sum_j |J_ij|), and the smallest
    nonzero coefficient (times 2 for spins)."""
    if spins is not None:
        s = np.asarray(spins, dtype=np.float64).reshape(-1, model.num_variables)[0]
        return beta_range_from_fields(None, 0.0, uphill=-2.0 * s * (model.h + model.J @ s))
    abs_j = np.abs(model.J)
    nonzero = np.concatenate([np.abs(model.h), abs_j[abs_j > 0]])
    nonzero = nonzero[nonzero > 0]
    min_coefficient = 2.0 * float(nonzero.min()) if nonzero.size else 0.0
    return beta_range_from_fields(2.0 * (np.abs(model.h) + abs_j.sum(axis=1)), min_coefficient)


def sample_bqm(
    sampler: dimod.Sampler,
    bqm: dimod.BinaryQuadraticModel,
    *,
    seed: int | None = None,
    initial_state: np.ndarray | None = None,
    sample_kwargs: Mapping[str, Any] | None = None,
) -> dimod.SampleSet:
    """Sample ``bqm`` with any dimod sampler, passing only what the sampler understands.

    - ``sample_kwargs`` are passed verbatim; a keyword the sampler does not list in
      ``sampler.parameters`` is an error (nothing is silently dropped).
    - ``seed`` is passed if the sampler takes ``seed``.
    - ``initial_state`` (one state, in ``bqm.variables`` order) is passed as ``initial_states``
      if the sampler takes it, making the solve a warm start.
    - ``beta_range`` is derived by :func:`beta_range_for` when the sampler takes one and the
      caller did not give it (dwave-samplers' own default is far too cold on real-valued
      coefficients and slow to compute).
    """
    params = getattr(sampler, "parameters", {}) or {}
    kwargs = dict(sample_kwargs or {})
    unknown = sorted(set(kwargs) - set(params))
    if unknown:
        raise ValueError(
            f"'sample_kwargs' has {', '.join(map(repr, unknown))}, which {type(sampler).__name__} does not take; "
            f"it takes: {', '.join(sorted(params)) or 'nothing'}"
        )
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
