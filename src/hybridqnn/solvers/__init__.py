"""Solvers: dimod samplers and composites hybridqnn adds, the registry of names, the helpers
that call any sampler the same way (and choose its fast path), and hardware estimates. Ocean's
own samplers are re-exported through the registry, not rewritten.

Internals (beta ranges, the classical reference, the kernels, the QCGD loop, the penalty
conversion, the composites' rounding and noise) stay importable from their modules, e.g.
:func:`hybridqnn.solvers.reference.polish_dense`. The names below load on first use, so
``import hybridqnn.solvers`` (and the config loader's :mod:`hybridqnn.solvers.keywords`) imports
no numba, torch or Ocean sampler.
"""

from __future__ import annotations

from hybridqnn._lazy import attach

# name -> the module that defines it, imported on first access (PEP 562), so that
# ``hybridqnn.solvers.keywords`` and ``solver_names()`` load no numba, torch or Ocean sampler
_API: dict[str, str] = {
    "DenseSimulatedAnnealingSampler": "hybridqnn.solvers.annealing",
    "LimitedPrecisionComposite": "hybridqnn.solvers.composites",
    "NoisyOracleComposite": "hybridqnn.solvers.composites",
    "TimeBudgetComposite": "hybridqnn.solvers.composites",
    "DenseSampler": "hybridqnn.solvers.dense",
    "DWaveConfigError": "hybridqnn.solvers.dwave",
    "check_fits": "hybridqnn.solvers.dwave",
    "hybrid_sampler": "hybridqnn.solvers.dwave",
    "qpu_sampler": "hybridqnn.solvers.dwave",
    "ADVANTAGE_LIMITS": "hybridqnn.solvers.hardware",
    "embedding_estimate": "hybridqnn.solvers.hardware",
    "hardware_estimate": "hybridqnn.solvers.hardware",
    "logical_counts": "hybridqnn.solvers.hardware",
    "MILPSolver": "hybridqnn.solvers.milp",
    "PenaltyCQMSampler": "hybridqnn.solvers.penalty",
    "QCGDSolver": "hybridqnn.solvers.qcgd",
    "DEFAULT_SOLVER": "hybridqnn.solvers.registry",
    "as_sampler": "hybridqnn.solvers.registry",
    "cqm_method_names": "hybridqnn.solvers.registry",
    "get_cqm_solver": "hybridqnn.solvers.registry",
    "get_sampler": "hybridqnn.solvers.registry",
    "list_solvers": "hybridqnn.solvers.registry",
    "solver_names": "hybridqnn.solvers.registry",
    "sample_bqm": "hybridqnn.solvers.sampling",
    "sample_cqm": "hybridqnn.solvers.sampling",
    "solve_dense": "hybridqnn.solvers.sampling",
    "supports_dense": "hybridqnn.solvers.sampling",
    "SimulatedBifurcationSampler": "hybridqnn.solvers.bifurcation",
    "CIMSampler": "hybridqnn.solvers.cim",
}


__getattr__, __dir__ = attach(__name__, _API)


__all__ = [
    "ADVANTAGE_LIMITS",
    "CIMSampler",
    "DEFAULT_SOLVER",
    "DWaveConfigError",
    "DenseSampler",
    "DenseSimulatedAnnealingSampler",
    "LimitedPrecisionComposite",
    "MILPSolver",
    "NoisyOracleComposite",
    "PenaltyCQMSampler",
    "QCGDSolver",
    "SimulatedBifurcationSampler",
    "TimeBudgetComposite",
    "as_sampler",
    "check_fits",
    "cqm_method_names",
    "embedding_estimate",
    "get_cqm_solver",
    "get_sampler",
    "hardware_estimate",
    "hybrid_sampler",
    "list_solvers",
    "logical_counts",
    "qpu_sampler",
    "sample_bqm",
    "sample_cqm",
    "solve_dense",
    "solver_names",
    "supports_dense",
]
