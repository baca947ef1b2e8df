"""Constrained binary problems through penalties: CQM -> BQM with automatic penalty scaling.

This is the baseline that Li et al. (arXiv 2506.18240) argue against with QCGD: fold every
constraint into the objective with a weight and hand the BQM to any sampler. The same reduction
(:func:`hybridqnn.problems.penalty.penalty_parts`) feeds QCGD (:mod:`hybridqnn.solvers.qcgd`), which adapts the weights
instead of fixing them.

The reduction (products, normalisation, slack encoding) is a builder; its module docstring,
:mod:`hybridqnn.problems.penalty`, gives steps 1-3.

The penalty BQM is f + P sum_i v_i. **Automatic scaling** (our rule; the paper gives none):
P_0 = ``scale`` * Delta_f with Delta_f = sum |linear| + sum |quadratic| of f (an upper bound on
max f - min f over binary points), so any violation of size >= 1/``scale`` costs at least as
much as any objective gain: for integer data (violations >= 1) and ``scale`` > 1 the BQM's
ground state is then a feasible optimum; for real data the unit is the normalised coefficient
(a heuristic: real-data violations can be arbitrarily small). If the sampler's lowest-energy
sample is infeasible, P is doubled and the problem re-sampled, up to ``max_rounds`` times. The reported samples are always
scored on the CQM: ``energy`` is the CQM objective and ``is_feasible``/``is_satisfied`` are
dimod's (``SampleSet.from_samples_cqm``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import dimod
import numpy as np

from hybridqnn._checks import check_float, check_int
from hybridqnn.problems.penalty import PenaltyParts, penalty_parts

__all__ = ["PenaltyCQMSampler", "cqm_sampleset"]


def cqm_sampleset(
    cqm: dimod.ConstrainedQuadraticModel,
    parts: PenaltyParts,
    sampleset: dimod.SampleSet,
    info: dict[str, Any] | None = None,
    **vectors: Any,
) -> dimod.SampleSet:
    """A child's BQM samples as CQM samples (objective energy, is_feasible, is_satisfied)."""
    if sampleset.vartype is dimod.SPIN:
        sampleset = sampleset.change_vartype(dimod.BINARY, inplace=False)
    rows, labels = parts.to_cqm_samples(sampleset.record.sample, list(sampleset.variables))
    extra = (
        {"num_occurrences": sampleset.record.num_occurrences}
        if "num_occurrences" in sampleset.record.dtype.names
        else {}
    )
    extra.update(vectors)
    return dimod.SampleSet.from_samples_cqm((rows, labels), cqm, info=info or {}, **extra)


class PenaltyCQMSampler:
    """Solve a CQM with any dimod sampler through a penalty BQM with automatic scaling.

    ``sample_cqm(cqm, **parameters)`` builds :func:`penalty_parts`, samples f + P sum v with
    the child (``parameters`` go to the child), and returns the samples as CQM samples sorted
    by objective (``SampleSet.from_samples_cqm``), with the data vector ``penalty_energy``.
    With ``penalty=None`` (auto) P starts at ``scale`` * Delta_f and doubles while the child's
    lowest-energy sample is infeasible, at most ``max_rounds`` rounds. ``info`` follows
    dwave-samplers: ``timing`` (``preprocessing_ns``: the reduction; ``sampling_ns``: the
    child's calls, all rounds; ``postprocessing_ns``: scoring the last round on the CQM),
    ``seed`` (the master seed given, or None), and ``penalty``: ``penalty`` (the final P),
    ``rounds`` (= ``oracle_calls``), ``num_slack``, ``num_aux``, ``num_variables`` (of the BQM) and ``child_info``.

    Args:
        child: Any dimod sampler.
        penalty: A fixed P > 0, or None for automatic scaling.
        scale: Initial multiple of Delta_f for automatic scaling.
        max_rounds: Most sampling rounds (automatic scaling only).
        slack_bits: Slack bits per real-coefficient inequality.
        repair: Optional map from a CQM sample (dict) to another, e.g.
            :meth:`hybridqnn.problems.qcbo.QCBOModel.complete`; the repaired samples are
            appended to the result (data vector ``repaired`` True, ``penalty_energy`` NaN).
    """

    def __init__(
        self,
        child: dimod.Sampler,
        penalty: float | None = None,
        *,
        scale: float = 1.0,
        max_rounds: int = 6,
        slack_bits: int = 3,
        repair: Callable[[dict], Mapping] | None = None,
    ) -> None:
        if not (hasattr(child, "sample") and hasattr(child, "parameters")):
            raise TypeError(f"'child' must be a dimod.Sampler, got {type(child).__name__}")
        self.child = child
        self.penalty = (
            None if penalty is None else check_float("penalty", penalty, 0.0, low_open=True)
        )
        self.scale = check_float("scale", scale, 0.0, low_open=True)
        self.max_rounds = check_int("max_rounds", max_rounds, 1)
        self.slack_bits = check_int("slack_bits", slack_bits, 1, 24)
        if repair is not None and not callable(repair):
            raise TypeError(f"'repair' must be callable or None, got {type(repair).__name__}")
        self.repair = repair

    @property
    def parameters(self) -> dict[str, list]:
        """The child's sample parameters plus ``repair`` (per call, in place of the
        constructor's)."""
        return {**self.child.parameters, "repair": []}

    @property
    def properties(self) -> dict[str, Any]:
        return {
            "child_properties": dict(self.child.properties),
            "penalty": self.penalty,
            "scale": self.scale,
            "max_rounds": self.max_rounds,
        }

    def sample_cqm(
        self,
        cqm: dimod.ConstrainedQuadraticModel,
        *,
        repair: Callable[[dict], Mapping] | None = None,
        **parameters: Any,
    ) -> dimod.SampleSet:
        """Sample ``cqm`` (see the class docstring); ``repair``, if given, replaces the
        constructor's for this call."""
        if repair is not None and not callable(repair):
            raise TypeError(f"'repair' must be callable or None, got {type(repair).__name__}")
        repair = self.repair if repair is None else repair
        unknown = sorted(set(parameters) - set(self.child.parameters))
        if unknown:
            raise ValueError(
                f"PenaltyCQMSampler.sample_cqm got unknown keyword(s) {', '.join(map(repr, unknown))}; the child takes: {', '.join(sorted(self.child.parameters)) or 'nothing'}"
            )
        t_start = time.perf_counter_ns()
        parts = penalty_parts(cqm, slack_bits=self.slack_bits)
        penalty = (
            self.penalty
            if self.penalty is not None
            else self.scale * max(parts.objective_range, 1e-12)
        )
        rounds = 1 if self.penalty is not None else self.max_rounds
        seed = parameters.pop("seed", None)
        seq = np.random.SeedSequence(seed) if "seed" in self.child.parameters else None
        pre_ns = time.perf_counter_ns() - t_start
        sampling_ns = 0
        for r in range(rounds):
            t0 = time.perf_counter_ns()
            bqm = parts.bqm(penalty)
            params = dict(parameters)
            if seq is not None:
                params["seed"] = int(seq.spawn(1)[0].generate_state(1)[0]) % 2**31
            child_set = self.child.sample(bqm, **params)
            child_set.resolve()
            t1 = time.perf_counter_ns()
            sampling_ns += t1 - t0
            info = {
                "timing": {
                    "preprocessing_ns": pre_ns,
                    "sampling_ns": sampling_ns,
                    "postprocessing_ns": 0,
                },
                "penalty": {
                    "penalty": penalty,
                    "rounds": r + 1,
                    "oracle_calls": r + 1,
                    "num_slack": parts.num_slack,
                    "num_aux": parts.num_aux,
                    "num_variables": bqm.num_variables,
                    "child_info": dict(child_set.info),
                },
                "seed": seed,
            }
            out = cqm_sampleset(
                cqm,
                parts,
                child_set,
                info,
                penalty_energy=child_set.record.energy,
                repaired=np.zeros(len(child_set), bool),
            )
            info["timing"]["postprocessing_ns"] = time.perf_counter_ns() - t1
            lowest = int(np.argmin(out.record.penalty_energy))
            if out.record.is_feasible[lowest] or r == rounds - 1:
                return out if repair is None else _with_repairs(cqm, out, repair)
            penalty *= 2.0
        raise AssertionError("unreachable")



def _with_repairs(
    cqm: dimod.ConstrainedQuadraticModel, out: dimod.SampleSet, repair: Callable[[dict], Mapping]
) -> dimod.SampleSet:
    """``out`` with every row's repaired version appended (``repaired`` True)."""
    variables = list(out.variables)
    fixed = [dict(repair(dict(zip(variables, row, strict=True)))) for row in out.record.sample]
    rows = np.array([[f[v] for v in variables] for f in fixed])
    n = len(out)
    samples = np.vstack([out.record.sample, rows])
    return dimod.SampleSet.from_samples_cqm(
        (samples, variables),
        cqm,
        info=dict(out.info),
        num_occurrences=np.concatenate([out.record.num_occurrences, np.ones(n, int)]),
        penalty_energy=np.concatenate([out.record.penalty_energy, np.full(n, np.nan)]),
        repaired=np.concatenate([np.zeros(n, bool), np.ones(n, bool)]),
    )
