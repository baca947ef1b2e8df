"""Solvers: dimod samplers and composites hybridqnn adds, the registry of names, the helpers
that call any sampler the same way (and choose its fast path), and hardware estimates. Ocean's
own samplers are re-exported through the registry, not rewritten.

Internals (beta ranges, the classical reference, the kernels, the QCGD loop, the penalty
conversion, the composites' rounding and noise) stay importable from their modules, e.g.
:func:`hybridqnn.solvers.reference.polish_dense`.
"""

from hybridqnn.solvers.annealing import DenseSimulatedAnnealingSampler
from hybridqnn.solvers.composites import (
    LimitedPrecisionComposite,
    NoisyOracleComposite,
    TimeBudgetComposite,
)
from hybridqnn.solvers.dense import DenseSampler
from hybridqnn.solvers.dwave import DWaveConfigError, check_fits, hybrid_sampler, qpu_sampler
from hybridqnn.solvers.hardware import (
    ADVANTAGE_LIMITS,
    embedding_estimate,
    hardware_estimate,
    logical_counts,
)
from hybridqnn.solvers.milp import MILPSolver
from hybridqnn.solvers.penalty import PenaltyCQMSampler
from hybridqnn.solvers.qcgd import QCGDSolver
from hybridqnn.solvers.registry import (
    DEFAULT_SOLVER,
    as_sampler,
    cqm_method_names,
    get_cqm_solver,
    get_sampler,
    list_solvers,
    solver_names,
)
from hybridqnn.solvers.sampling import sample_bqm, sample_cqm, solve_dense, supports_dense

_TORCH_SAMPLERS = {
    "SimulatedBifurcationSampler": "hybridqnn.solvers.bifurcation",
    "CIMSampler": "hybridqnn.solvers.cim",
}


def __getattr__(name: str) -> object:
    """The torch-based samplers are imported on first use (torch is slow to import)."""
    if name in _TORCH_SAMPLERS:
        import importlib

        return getattr(importlib.import_module(_TORCH_SAMPLERS[name]), name)
    raise AttributeError(f"module 'hybridqnn.solvers' has no attribute {name!r}")


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
