"""Pure builders: arrays in, ``dimod`` binary models out. Nothing here solves."""

from hybridqnn.problems.encoding import FixedPointEncoding
from hybridqnn.problems.quadratic import quadratic_objective, quadratic_to_bqm

__all__ = ["FixedPointEncoding", "quadratic_objective", "quadratic_to_bqm"]
