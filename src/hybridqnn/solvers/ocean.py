"""Ocean's own samplers, as the registry hands them out: dwave-samplers' simulated annealing,
tabu search and steepest descent, and dimod's exact solver.

They are Ocean's classes, unchanged in what they sample (the same seed gives the same samples),
with ``info`` in hybridqnn's convention (:mod:`hybridqnn.solvers.info`): the ``seed`` used is
reported (drawn from fresh entropy when none is given, as Ocean would, so the run can be
repeated), ``timing`` is always there (tabu and the exact solver give none: the whole call is
reported as sampling), and Ocean's other figures (SA's ``beta_range`` and
``beta_schedule_type``) move under ``info["sa"]`` (``"tabu"``, ``"steepest"``, ``"exact"``).

Before sampling, a model with a NaN or infinite coefficient, or coefficients whose magnitudes
overflow float64, is a one-line ValueError naming the variable or interaction
(:func:`hybridqnn._checks.check_finite_model`). Ocean's samplers would otherwise return NaN or
infinite energies, fail with an unrelated message (SA: ``'beta_range' must contain non-zero
values``), or, for tabu search with an infinite bias, abort the whole process.
"""

from __future__ import annotations

import time
from typing import Any

import dimod
from dwave import samplers

from hybridqnn._checks import check_finite_model
from hybridqnn.solvers.info import conventional, draw_seed
from hybridqnn.solvers.keywords import EXACT_MAX_VARIABLES

__all__ = ["EXACT_MAX_VARIABLES", "ExactSolver", "SimulatedAnnealingSampler", "SteepestDescentSolver", "TabuSampler"]


class _Conventional:
    """``sample`` with the info convention; ``info_key`` names the method's namespace."""

    info_key = ""

    def sample(self, bqm: dimod.BinaryQuadraticModel, **parameters: Any) -> dimod.SampleSet:
        if not isinstance(bqm, dimod.BinaryQuadraticModel):
            raise TypeError(f"'bqm' must be a dimod.BinaryQuadraticModel, got {type(bqm).__name__}")
        check_finite_model("bqm", bqm)
        takes_seed = "seed" in self.parameters  # type: ignore[attr-defined]
        if takes_seed and parameters.get("seed") is None:
            parameters["seed"] = draw_seed()
        start = time.perf_counter_ns()
        sampleset = super().sample(bqm, **parameters)  # type: ignore[misc]
        sampleset.resolve()
        return conventional(
            sampleset, self.info_key, call_ns=time.perf_counter_ns() - start, seed=parameters.get("seed"), reports_seed=takes_seed
        )


class SimulatedAnnealingSampler(_Conventional, samplers.SimulatedAnnealingSampler):
    """dwave-samplers' ``SimulatedAnnealingSampler``; ``info["sa"]`` holds its beta range and schedule type."""

    info_key = "sa"


class TabuSampler(_Conventional, samplers.TabuSampler):
    """dwave-samplers' ``TabuSampler``."""

    info_key = "tabu"


class SteepestDescentSolver(_Conventional, samplers.SteepestDescentSolver):
    """dwave-samplers' ``SteepestDescentSolver``."""

    info_key = "steepest"


class ExactSolver(_Conventional, dimod.ExactSolver):
    """dimod's ``ExactSolver`` with a size guard: it enumerates all 2^n states in memory
    (2^25 states of 25 variables already take gigabytes), so more than
    :data:`EXACT_MAX_VARIABLES` variables is a one-line error instead of an out-of-memory crash."""

    info_key = "exact"

    def sample(self, bqm: dimod.BinaryQuadraticModel, **kwargs: Any) -> dimod.SampleSet:
        if bqm.num_variables > EXACT_MAX_VARIABLES:
            raise ValueError(
                f"the exact solver enumerates 2^n states and takes at most {EXACT_MAX_VARIABLES} variables, got {bqm.num_variables}"
            )
        return super().sample(bqm, **kwargs)
