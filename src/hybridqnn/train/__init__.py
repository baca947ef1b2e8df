"""Methods that fit on data: fit functions and scikit-learn estimators."""

from hybridqnn.train.estimators import QUBOHeadClassifier, SGDHeadClassifier
from hybridqnn.train.loops import (
    TrainResult,
    bce_metrics,
    minibatches,
    optimizers_for,
    train_classifier,
    train_gcn,
)
from hybridqnn.train.natural import (
    NaturalFitResult,
    fit_natural,
    load_natural_data,
    train_natural_epoch,
    vote_error,
)
from hybridqnn.train.qcbo import (
    QATResult,
    QCBOClassifier,
    QCBOResult,
    fit_qat,
    fit_qcbo,
    spin_counts,
    spin_formula,
)
from hybridqnn.train.qubo_head import QUBOHeadResult, fit_qubo_head, head_encoding, head_qubo
from hybridqnn.train.sgd_head import SGDHeadResult, fit_sgd_head

__all__ = [
    "NaturalFitResult", "fit_natural", "load_natural_data", "train_natural_epoch", "vote_error",
    "QATResult",
    "QCBOClassifier",
    "QCBOResult",
    "QUBOHeadClassifier",
    "QUBOHeadResult",
    "SGDHeadClassifier",
    "SGDHeadResult",
    "TrainResult",
    "bce_metrics",
    "fit_qat",
    "fit_qcbo",
    "fit_qubo_head",
    "fit_sgd_head",
    "head_encoding",
    "head_qubo",
    "minibatches",
    "optimizers_for",
    "spin_counts",
    "spin_formula",
    "train_classifier",
    "train_gcn",
]
