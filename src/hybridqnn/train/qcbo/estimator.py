"""scikit-learn estimator around :func:`~hybridqnn.train.qcbo.fit_qcbo`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dimod
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from hybridqnn.problems.qcbo import WeightCode
from hybridqnn.train.estimators import _classification_data, _estimator_params
from hybridqnn.train.qcbo.ph import fit_qcbo

#: The sampler a ``QCBOClassifier(sampler=None)`` trains with (built at ``fit``, not before).
DEFAULT_SAMPLER = "dense-sa"


@_estimator_params
class QCBOClassifier(ClassifierMixin, BaseEstimator):
    """A quantized spline network trained by :func:`fit_qcbo` (decomposed QCBO + progressive
    hedging, Li et al., arXiv 2506.18240), as a scikit-learn classifier.

    Labels may be any values (encoded through ``classes_``): two classes train one output with
    margin labels -1 (``classes_[0]``) and +1 (``classes_[1]``), C > 2 classes train C
    one-vs-rest outputs on the class indices 0..C-1. The network is
    ``(n_features_in_, *hidden, 1 or C)``; ``batch_size`` is capped at the number of samples.

    The hyper-parameters are the class's annotated fields, listed first below: the generated
    ``__init__`` takes each as a keyword of the same name and default and only stores it
    (``get_params``/``set_params`` read and write them); ``fit`` sets the attributes ending in
    ``_``. Every parameter but ``hidden`` and ``fit_kwargs`` is :func:`fit_qcbo`'s keyword of
    the same name and default.

    Attributes:
        hidden: the hidden layers' widths.
        weights: one :class:`WeightCode` for all layers or one per layer (None: binary).
        sampler: what ``method`` solves with (:func:`fit_qcbo`): a ``dimod.Sampler``, a CQM
            solver for ``method="cqm"``, a registry name (``hybridqnn list solvers``) or None
            for :data:`DEFAULT_SAMPLER`, built at ``fit``.
        method: ``qcgd``, ``penalty`` or ``cqm``.
        batch_size: samples per subproblem (capped at the number of samples).
        ph_iterations: the progressive-hedging iterations.
        rho: the prox weight of the first iteration.
        fit_kwargs: any other :func:`fit_qcbo` keywords (not those above, nor ``seed``).
        seed: :func:`fit_qcbo`'s master seed (None: fresh entropy at every ``fit``).
        classes_ (np.ndarray): the class labels, sorted.
        n_features_in_ (int): the number of features.
        result_ (QCBOResult): what :func:`fit_qcbo` returned.
        weights_ (list[np.ndarray]): the trained weights per layer (``result_.weights``).
        history_ (list[dict]): per-PH-iteration records (``result_.history``).
    """

    hidden: tuple[int, ...] = (4,)
    weights: WeightCode | Sequence[WeightCode] | None = None
    sampler: dimod.Sampler | str | None = None
    method: str = "qcgd"
    batch_size: int = 1
    ph_iterations: int = 5
    rho: float = 0.3
    fit_kwargs: Mapping[str, Any] | None = None
    seed: int | None = None

    def fit(self, X: Any, y: Any) -> QCBOClassifier:
        """Train the network on X (n_samples, n_features) and labels y (n_samples,)."""
        X, codes = _classification_data(self, X, y)
        n_out = 1 if self.classes_.size == 2 else int(self.classes_.size)
        target = np.where(codes == 1, 1, -1) if n_out == 1 else codes.astype(np.int64)
        self.result_ = fit_qcbo(
            X,
            target,
            (X.shape[1], *tuple(self.hidden), n_out),
            self.weights,
            sampler=self._sampler(),
            method=self.method,
            batch_size=min(self.batch_size, X.shape[0]),
            ph_iterations=self.ph_iterations,
            rho=self.rho,
            seed=self.seed,
            **self._checked_fit_kwargs(),
        )
        self.weights_ = self.result_.weights
        self.history_ = self.result_.history
        return self

    def _sampler(self) -> Any:
        """``sampler`` resolved: a registry name (or None: :data:`DEFAULT_SAMPLER`) is built now;
        an object is passed on as it is (:func:`fit_qcbo` checks it against ``method``)."""
        if self.sampler is None or isinstance(self.sampler, str):
            from hybridqnn.solvers import get_sampler

            return get_sampler(DEFAULT_SAMPLER if self.sampler is None else self.sampler)
        return self.sampler

    def _checked_fit_kwargs(self) -> dict[str, Any]:
        """``fit_kwargs`` as a dict; one that repeats a parameter is a one-line error."""
        extra = dict(self.fit_kwargs or {})
        clash = sorted(set(extra) & (set(self.get_params(deep=False)) | {"X", "y", "sizes"}))
        if clash:
            raise ValueError(
                f"'fit_kwargs' must not repeat the estimator's parameters or fit_qcbo's data, got {clash}"
            )
        return extra

    def predict(self, X: Any) -> np.ndarray:
        """The predicted class labels of X (n_samples, n_features_in_)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False, ensure_all_finite=True)
        pred = self.result_.predict(X)
        if self.classes_.size == 2:
            return self.classes_[(pred > 0).astype(int)]
        return self.classes_[pred]

