"""dimod samplers by name, and the helpers that call any sampler the same way."""

from hybridqnn.solvers.reference import box_qp_minimizer, grid_reference, polish, polish_dense
from hybridqnn.solvers.registry import (
    DEFAULT_SOLVER,
    as_sampler,
    get_sampler,
    list_solvers,
    solver_names,
)
from hybridqnn.solvers.sampling import beta_range_for, flip_costs, sample_bqm

__all__ = [
    "DEFAULT_SOLVER",
    "as_sampler",
    "beta_range_for",
    "box_qp_minimizer",
    "flip_costs",
    "get_sampler",
    "grid_reference",
    "list_solvers",
    "polish",
    "polish_dense",
    "sample_bqm",
    "solver_names",
]
