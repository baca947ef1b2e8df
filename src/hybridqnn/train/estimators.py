"""scikit-learn estimators for the classifier heads (QUBO-trained and the SGD baseline).

They follow scikit-learn's rules: no logic in ``__init__``, ``fit`` returns ``self``, learned
state ends in ``_``. Labels may be any values (they are encoded through ``classes_``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import dimod
import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from hybridqnn.solvers import as_sampler
from hybridqnn.train.head_common import linear_head_module
from hybridqnn.train.qubo_head import fit_qubo_head
from hybridqnn.train.sgd_head import fit_sgd_head

#: The estimators declare their hyper-parameters as annotated class fields; the generated
#: ``__init__`` only stores them (scikit-learn's rule: no logic in ``__init__``, one attribute per
#: parameter, read back by ``get_params``). ``eq=False``/``repr=False`` keep scikit-learn's
#: identity semantics and its ``repr``.
_estimator_params = dataclass(eq=False, repr=False)


class _LinearHeadClassifier(ClassifierMixin, BaseEstimator):
    """Shared prediction code: a softmax linear head W = [coef_, intercept_]."""

    def _prepare_fit(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray, int]:
        X, y = validate_data(self, X, y, dtype=np.float64, ensure_all_finite=True)
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        if len(self.classes_) < 2:
            raise ValueError(f"'y' must contain at least 2 classes, got only one class: {self.classes_.tolist()}")
        self.seed_ = int(check_random_state(self.random_state).randint(2**31 - 1))
        return X, encoder.transform(y), len(self.classes_)

    def _fit_kwargs(self, *passed_apart: str) -> dict[str, Any]:
        """The hyper-parameters as the fit function's keywords: every estimator parameter is the
        fit function's keyword of the same name (and default), except ``random_state`` (the fit
        gets ``seed=seed_``) and those in ``passed_apart``."""
        skip = {"random_state", *passed_apart}
        return {k: v for k, v in self.get_params(deep=False).items() if k not in skip}

    def _set_weights(self, weights: np.ndarray) -> None:
        self.coef_ = weights[:, :-1].copy()
        self.intercept_ = weights[:, -1].copy()

    def _logits(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False, ensure_all_finite=True)
        return X @ self.coef_.T + self.intercept_

    def decision_function(self, X: Any) -> np.ndarray:
        """Logits X coef_^T + intercept_, shape (n_samples, n_classes); for two classes the
        logit difference (n_samples,), positive for ``classes_[1]`` (scikit-learn's convention)."""
        z = self._logits(X)
        return z[:, 1] - z[:, 0] if z.shape[1] == 2 else z

    def predict_proba(self, X: Any) -> np.ndarray:
        """Softmax of the logits."""
        z = self._logits(X)
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class label."""
        codes = np.argmax(self._logits(X), axis=1)
        return self.classes_[codes]

    def to_torch(self, dtype: torch.dtype = torch.float32) -> torch.nn.Linear:
        """The trained head as ``nn.Linear(n_features_in_, n_classes)``."""
        check_is_fitted(self)
        return linear_head_module(np.hstack([self.coef_, self.intercept_[:, None]]), dtype)


@_estimator_params
class QUBOHeadClassifier(_LinearHeadClassifier):
    """Softmax classifier head trained by one QUBO per class per iteration.

    The method of Atallah & Herrman (arXiv 2603.02958) as implemented and documented in
    :func:`hybridqnn.train.fit_qubo_head`: a fixed Boehning curvature B = Phi^T Phi / (2N), a
    per-class QUBO with (d+1)*K bits encoding the class's K-bit weights, solved by any dimod
    sampler, inside an adaptive trust region, accepting only steps that lower the loss.

    Args:
        bits: K, bits per weight, in [1, 32].
        weight_range: the weight grid covers [-weight_range, weight_range].
        bias_range: the bias grid covers [-bias_range, bias_range].
        l2: L2 penalty.
        max_iter: most outer iterations.
        tol: relative improvement below which an iteration counts as stalled.
        patience: stalled iterations in a row before stopping.
        sampler: any ``dimod.Sampler``, a registry name (``hybridqnn list solvers``) or None for
            simulated annealing.
        sample_kwargs: passed verbatim to ``sampler.sample``.
        warm_start: warm-start samplers that take ``initial_states`` from the classical reference.
        compare_cold_start: also record cold-start energies on the first iteration.
        executor: executor spec for the per-class solves (``"thread"``, ``"process"``,
            ``"serial"``, ``"dask://HOST:PORT"``).
        random_state: seed (int), ``RandomState`` or None.

    Attributes:
        classes_, coef_ (C, d), intercept_ (C,), n_features_in_, seed_, n_iter_,
        history_ (per-iteration records), timing_ (seconds by phase), problem_ (QUBO size).
    """

    bits: int = 10
    weight_range: float = 2.0
    bias_range: float = 4.0
    l2: float = 1e-4
    max_iter: int = 30
    tol: float = 1e-4
    patience: int = 3
    sampler: dimod.Sampler | str | None = None
    sample_kwargs: Mapping[str, Any] | None = None
    warm_start: bool = True
    compare_cold_start: bool = False
    executor: str | None = None
    random_state: int | np.random.RandomState | None = None

    def fit(self, X: Any, y: Any) -> QUBOHeadClassifier:
        """Train the head on features X (n_samples, n_features) and labels y."""
        X, codes, num_classes = self._prepare_fit(X, y)
        result = fit_qubo_head(
            X, codes, num_classes, as_sampler(self.sampler), seed=self.seed_, **self._fit_kwargs("sampler")
        )
        self._set_weights(result.weights)
        self.history_ = result.history
        self.timing_ = result.timing
        self.problem_ = result.problem
        self.n_iter_ = len(result.history)
        return self


@_estimator_params
class SGDHeadClassifier(_LinearHeadClassifier):
    """The SGD baseline head: same objective, trained by torch SGD (momentum) or Adam.

    Args:
        optimizer: ``"adam"`` or ``"sgd"``.
        lr, momentum, batch_size, epochs, l2: training settings.
        device: torch device for training.
        random_state: seed (int), ``RandomState`` or None.

    Attributes:
        classes_, coef_, intercept_, n_features_in_, seed_, history_ (per-epoch records).
    """

    optimizer: str = "adam"
    lr: float = 1e-2
    momentum: float = 0.9
    batch_size: int = 256
    epochs: int = 20
    l2: float = 1e-4
    device: str = "cpu"
    random_state: int | np.random.RandomState | None = None

    def fit(self, X: Any, y: Any) -> SGDHeadClassifier:
        """Train the head on features X (n_samples, n_features) and labels y."""
        X, codes, num_classes = self._prepare_fit(X, y)
        X = np.array(X, dtype=np.float64)  # writable copy for torch.as_tensor
        result = fit_sgd_head(X, codes, num_classes, seed=self.seed_, **self._fit_kwargs())
        self._set_weights(result.weights)
        self.history_ = result.history
        return self
