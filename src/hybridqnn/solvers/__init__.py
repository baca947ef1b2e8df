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

from typing import TYPE_CHECKING

from hybridqnn._lazy import attach, type_checking_imports

if TYPE_CHECKING:  # the names, loaded on first use (PEP 562): importing the package loads no
    # numba, torch or Ocean sampler (``hybridqnn.solvers.keywords``, ``solver_names()``)
    from hybridqnn.solvers.annealing import DenseSimulatedAnnealingSampler
    from hybridqnn.solvers.bifurcation import SimulatedBifurcationSampler
    from hybridqnn.solvers.cim import CIMSampler
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

_API = type_checking_imports(__file__)
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
