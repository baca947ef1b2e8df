"""Pure builders: arrays in, ``dimod`` binary models out. Nothing here solves."""

from hybridqnn.problems.binary_gradient import (
    sign_matching_bqm,
    sign_matching_cqm,
    xnor_threshold_bqm,
)
from hybridqnn.problems.dense import DenseIsing
from hybridqnn.problems.encoding import FixedPointEncoding
from hybridqnn.problems.fip import (
    FIPResult,
    LayerBounds,
    forward_interval_propagation,
    sample_bounds,
)
from hybridqnn.problems.least_squares import binary_least_squares
from hybridqnn.problems.qcbo import QCBOModel, QuantizedSplineNetwork, WeightCode, build_qcbo
from hybridqnn.problems.quadratic import (
    FixedPointQuadratic,
    quadratic_objective,
    quadratic_to_bqm,
    quadratic_to_dense,
)
from hybridqnn.problems.splines import (
    LinearSpline,
    activation_spline,
    error_bound,
    loss_spline,
    max_error,
)

__all__ = [
    "DenseIsing",
    "FIPResult",
    "FixedPointEncoding",
    "FixedPointQuadratic",
    "LayerBounds",
    "LinearSpline",
    "QCBOModel",
    "QuantizedSplineNetwork",
    "WeightCode",
    "activation_spline",
    "binary_least_squares",
    "build_qcbo",
    "error_bound",
    "forward_interval_propagation",
    "loss_spline",
    "max_error",
    "quadratic_objective",
    "quadratic_to_bqm",
    "quadratic_to_dense",
    "sample_bounds",
    "sign_matching_bqm",
    "sign_matching_cqm",
    "xnor_threshold_bqm",
]
