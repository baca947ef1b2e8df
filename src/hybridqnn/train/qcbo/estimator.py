"""scikit-learn style estimator around :func:`~hybridqnn.train.qcbo.fit_qcbo`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from hybridqnn.problems.qcbo import (
    WeightCode,
)
from hybridqnn.train.qcbo.ph import fit_qcbo


class QCBOClassifier:
    """scikit-learn style estimator around :func:`fit_qcbo` (no logic in ``__init__``).

    Binary labels of any two values, or integer class labels (one-vs-rest outputs). ``fit``
    stores ``result_`` (:class:`QCBOResult`), ``classes_``, ``weights_`` and ``history_``.
    """

    def __init__(
        self,
        hidden: tuple[int, ...] = (4,),
        weights: WeightCode | Sequence[WeightCode] | None = None,
        sampler: Any = None,
        method: str = "qcgd",
        batch_size: int = 1,
        ph_iterations: int = 5,
        rho: float = 0.3,
        fit_kwargs: dict[str, Any] | None = None,
        seed: int | None = None,
    ) -> None:
        self.hidden = hidden
        self.weights = weights
        self.sampler = sampler
        self.method = method
        self.batch_size = batch_size
        self.ph_iterations = ph_iterations
        self.rho = rho
        self.fit_kwargs = fit_kwargs
        self.seed = seed

    def fit(self, X: np.ndarray, y: np.ndarray) -> QCBOClassifier:
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y)
        self.classes_ = np.unique(y)
        if self.classes_.size < 2:
            raise ValueError(f"'y' must hold at least two classes, got {self.classes_.size}")
        codes = np.searchsorted(self.classes_, y)
        n_out = 1 if self.classes_.size == 2 else int(self.classes_.size)
        target = np.where(codes == 1, 1, -1) if n_out == 1 else codes.astype(np.int64)
        sampler = self.sampler
        if sampler is None:
            from hybridqnn.solvers import get_sampler

            sampler = get_sampler("dense-sa")
        self.result_ = fit_qcbo(
            X,
            target,
            (X.shape[1], *tuple(self.hidden), n_out),
            self.weights,
            sampler=sampler,
            method=self.method,
            batch_size=min(self.batch_size, X.shape[0]),
            ph_iterations=self.ph_iterations,
            rho=self.rho,
            seed=self.seed,
            **(self.fit_kwargs or {}),
        )
        self.weights_ = self.result_.weights
        self.history_ = self.result_.history
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        pred = self.result_.predict(X)
        if self.classes_.size == 2:
            return self.classes_[(pred > 0).astype(int)]
        return self.classes_[pred]

    def score(self, X: np.ndarray, y: np.ndarray) -> float:
        return float(np.mean(self.predict(X) == np.asarray(y)))
