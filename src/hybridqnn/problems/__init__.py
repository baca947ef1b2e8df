"""Pure builders: arrays in, ``dimod`` binary models out. Nothing here solves."""

from hybridqnn.problems.dense import DenseIsing
from hybridqnn.problems.encoding import FixedPointEncoding
from hybridqnn.problems.least_squares import binary_least_squares
from hybridqnn.problems.quadratic import quadratic_objective, quadratic_to_bqm, quadratic_to_dense

__all__ = ["DenseIsing", "FixedPointEncoding", "binary_least_squares", "quadratic_objective", "quadratic_to_bqm", "quadratic_to_dense"]
