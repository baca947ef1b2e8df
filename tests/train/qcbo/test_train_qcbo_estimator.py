"""QCBO training, the scikit-learn estimator and ten-class labels."""

from __future__ import annotations

import numpy as np
from qcbo_toys import SMALL

from hybridqnn.solvers import MILPSolver
from hybridqnn.train.qcbo import (
    QCBOClassifier,
    fit_qcbo,
)


def test_ten_class_labels_and_estimator() -> None:
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, size=(6, 3))
    y = np.array([0, 1, 2, 0, 1, 2])
    res = fit_qcbo(
        X,
        y,
        (3, 2, 3),
        sampler=MILPSolver(),
        method="cqm",
        ph_iterations=1,
        seed=0,
        executor="serial",
        sample_kwargs={"time_limit": 5.0},
        **SMALL,
    )
    assert set(np.unique(res.predict(X))) <= {0, 1, 2}
    clf = QCBOClassifier(
        hidden=(2,),
        sampler=MILPSolver(),
        method="cqm",
        ph_iterations=1,
        seed=0,
        fit_kwargs={"executor": "serial", **SMALL},
    )
    labels = np.array(["a", "b"])[(X[:, 0] > 0.5).astype(int)]
    assert clf.fit(X, labels) is clf
    assert set(clf.predict(X)) <= {"a", "b"} and 0.0 <= clf.score(X, labels) <= 1.0
    assert len(clf.weights_) == 2 and len(clf.history_) == 1
