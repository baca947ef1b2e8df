"""Methods that fit on data: fit functions, scikit-learn estimators and the training and
evaluation loops (which take a logging callback, not a run context)."""

from hybridqnn.train.estimators import QUBOHeadClassifier, RandomConvTransformer, SGDHeadClassifier
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
from hybridqnn.train.progress import Progress
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
    "NaturalFitResult",
    "Progress",
    "QATResult",
    "QCBOClassifier",
    "QCBOResult",
    "QUBOHeadClassifier",
    "QUBOHeadResult",
    "RandomConvTransformer",
    "SGDHeadClassifier",
    "SGDHeadResult",
    "TrainResult",
    "bce_metrics",
    "fit_greedy_moves",
    "fit_natural",
    "fit_qat",
    "fit_qcbo",
    "fit_qubo_head",
    "fit_sgd_head",
    "head_encoding",
    "head_qubo",
    "load_natural_data",
    "minibatches",
    "optimizers_for",
    "spin_counts",
    "spin_formula",
    "train_classifier",
    "train_gcn",
    "train_natural_epoch",
    "vote_error",
]
