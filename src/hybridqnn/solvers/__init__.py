"""Solvers: dimod samplers and composites hybridqnn adds, the registry of names, and helpers that
call any sampler the same way. Ocean's own samplers are re-exported through the registry, not
rewritten."""

from hybridqnn.solvers.annealing import DenseSimulatedAnnealingSampler
from hybridqnn.solvers.composites import (
    LimitedPrecisionComposite,
    NoisyOracleComposite,
    TimeBudgetComposite,
    perturb_bqm,
    round_coefficients,
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
from hybridqnn.solvers.penalty import PenaltyCQMSampler, penalty_bqm
from hybridqnn.solvers.qcgd import QCGDSolver, qcgd, qcgd_convergence
from hybridqnn.solvers.reference import box_qp_minimizer, grid_reference, polish, polish_dense
from hybridqnn.solvers.registry import (
    DEFAULT_SOLVER,
    as_sampler,
    get_sampler,
    list_solvers,
    solver_names,
)
from hybridqnn.solvers.sampling import beta_range_for, flip_costs, sample_bqm

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
    "SimulatedBifurcationSampler",
    "DEFAULT_SOLVER",
    "DWaveConfigError",
    "DenseSampler",
    "DenseSimulatedAnnealingSampler",
    "LimitedPrecisionComposite",
    "MILPSolver",
    "PenaltyCQMSampler",
    "QCGDSolver",
    "NoisyOracleComposite",
    "TimeBudgetComposite",
    "as_sampler",
    "beta_range_for",
    "box_qp_minimizer",
    "check_fits",
    "embedding_estimate",
    "flip_costs",
    "get_sampler",
    "grid_reference",
    "hardware_estimate",
    "hybrid_sampler",
    "list_solvers",
    "logical_counts",
    "penalty_bqm",
    "perturb_bqm",
    "polish",
    "polish_dense",
    "qcgd",
    "qcgd_convergence",
    "qpu_sampler",
    "round_coefficients",
    "sample_bqm",
    "solver_names",
]
