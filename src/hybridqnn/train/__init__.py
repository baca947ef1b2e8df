"""Methods that fit on data: fit functions and scikit-learn estimators."""

from hybridqnn.train.estimators import QUBOHeadClassifier, SGDHeadClassifier
from hybridqnn.train.qcbo import (
    QATResult,
    QCBOClassifier,
    QCBOResult,
    fit_greedy_moves,
    fit_qat,
    fit_qcbo,
    spin_counts,
    spin_formula,
)
from hybridqnn.train.qubo_head import QUBOHeadResult, fit_qubo_head, head_encoding, head_qubo
from hybridqnn.train.sgd_head import SGDHeadResult, fit_sgd_head

__all__ = [
    "QATResult",
    "QCBOClassifier",
    "QCBOResult",
    "QUBOHeadClassifier",
    "QUBOHeadResult",
    "SGDHeadClassifier",
    "SGDHeadResult",
    "fit_greedy_moves",
    "fit_qat",
    "fit_qcbo",
    "fit_qubo_head",
    "fit_sgd_head",
    "head_encoding",
    "head_qubo",
    "spin_counts",
    "spin_formula",
]
