"""scikit-learn estimators for the classifier heads (QUBO-trained and the SGD baseline) and
their frozen random-conv features.

They follow scikit-learn's rules: no logic in ``__init__``, ``fit`` returns ``self``, learned
state ends in ``_``. Labels may be any values (they are encoded through ``classes_``).

Features and head make one classifier on raw images as a scikit-learn ``Pipeline``::

    model = Pipeline([("features", RandomConvTransformer()), ("head", QUBOHeadClassifier(bits=10))])
    model.fit(images, labels).predict(images)

and one that was trained apart (a fitted :class:`~hybridqnn.nn.RandomConvFeatures` and a
:func:`~hybridqnn.train.fit_qubo_head` result) is assembled without refitting by
:meth:`RandomConvTransformer.from_features` and :meth:`QUBOHeadClassifier.from_result`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import dimod
import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from hybridqnn.nn.features import RandomConvFeatures
from hybridqnn.solvers import as_sampler
from hybridqnn.train.head_common import linear_head_module
from hybridqnn.train.qubo_head import QUBOHeadResult, fit_qubo_head
from hybridqnn.train.sgd_head import SGDHeadResult, fit_sgd_head

#: The estimators declare their hyper-parameters as annotated class fields; the generated
#: ``__init__`` only stores them (scikit-learn's rule: no logic in ``__init__``, one attribute per
#: parameter, read back by ``get_params``). ``eq=False``/``repr=False`` keep scikit-learn's
#: identity semantics and its ``repr``.
_estimator_params = dataclass(eq=False, repr=False)


def _classification_data(estimator: BaseEstimator, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """A classifier's training data by scikit-learn's rules: X float64 and finite (sets
    ``n_features_in_``), y classification targets of at least 2 classes (sets ``classes_``, the
    sorted labels). Returns X and the class codes 0..C-1 of y."""
    X, y = validate_data(estimator, X, y, dtype=np.float64, ensure_all_finite=True)
    check_classification_targets(y)
    encoder = LabelEncoder().fit(y)
    estimator.classes_ = encoder.classes_
    if len(estimator.classes_) < 2:
        raise ValueError(f"'y' must contain at least 2 classes, got only one class: {estimator.classes_.tolist()}")
    return X, encoder.transform(y)


class _LinearHeadClassifier(ClassifierMixin, BaseEstimator):
    """Shared prediction code: a softmax linear head W = [coef_, intercept_]."""

    def _prepare_fit(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray, int]:
        X, codes = _classification_data(self, X, y)
        self.seed_ = int(check_random_state(self.random_state).randint(2**31 - 1))
        return X, codes, len(self.classes_)

    def _fit_kwargs(self, *passed_apart: str) -> dict[str, Any]:
        """The hyper-parameters as the fit function's keywords: every estimator parameter is the
        fit function's keyword of the same name (and default), except ``random_state`` (the fit
        gets ``seed=seed_``) and those in ``passed_apart``."""
        skip = {"random_state", *passed_apart}
        return {k: v for k, v in self.get_params(deep=False).items() if k not in skip}

    def _set_weights(self, weights: np.ndarray) -> None:
        self.coef_ = weights[:, :-1].copy()
        self.intercept_ = weights[:, -1].copy()

    def _set_result(self, result: Any) -> None:
        """The learned state from the fit function's result (each head adds its records)."""
        self._set_weights(result.weights)
        self.history_ = result.history

    @classmethod
    def from_result(cls, result: Any, classes: Any = None, *, seed: int | None = None, **params: Any) -> Any:
        """A fitted head from its fit function's result, without refitting.

        Args:
            result: what the fit function returned (its ``weights`` W = [coef, bias], (C, d+1),
                rows in the order of ``classes``).
            classes: the C labels, sorted and unique (scikit-learn's ``classes_``);
                None: 0..C-1, the class indices the fit function was given.
            seed: the ``seed`` the fit function was given (kept as ``seed_``), if known.
            **params: the estimator's parameters (those the head was trained with).
        """
        head = cls(**params)
        if seed is not None:
            head.seed_ = int(seed)
        weights = np.asarray(result.weights)
        if weights.ndim != 2 or weights.shape[0] < 2 or weights.shape[1] < 2:
            raise ValueError(f"'result.weights' must have shape (C, d+1) with C >= 2 and d >= 1, got shape {weights.shape}")
        labels = np.arange(weights.shape[0]) if classes is None else np.asarray(classes)
        if labels.shape != (weights.shape[0],) or not np.array_equal(np.unique(labels), labels):
            raise ValueError(
                f"'classes' must be {weights.shape[0]} sorted unique labels (one per row of the weights), got {labels.tolist()}"
            )
        head.classes_ = labels
        head.n_features_in_ = weights.shape[1] - 1
        head._set_result(result)
        return head

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

    The hyper-parameters are the class's annotated fields, listed first below: the generated
    ``__init__`` takes each as a keyword of the same name and default and only stores it
    (``get_params``/``set_params`` read and write them); ``fit`` sets the attributes ending in
    ``_``.

    Attributes:
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
        classes_ (np.ndarray): the C class labels, sorted.
        coef_ (np.ndarray): the weights, shape (C, d).
        intercept_ (np.ndarray): the biases, shape (C,).
        n_features_in_ (int): d, the number of features.
        seed_ (int): the seed ``fit`` drew from ``random_state``.
        n_iter_ (int): outer iterations run.
        history_ (list[dict]): per-iteration records.
        timing_ (dict[str, float]): seconds by phase.
        problem_ (dict[str, Any]): the size of one class QUBO.
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
        self._set_result(result)
        return self

    def _set_result(self, result: QUBOHeadResult) -> None:
        super()._set_result(result)
        self.timing_ = result.timing
        self.problem_ = result.problem
        self.n_iter_ = len(result.history)


@_estimator_params
class SGDHeadClassifier(_LinearHeadClassifier):
    """The SGD baseline head: same objective, trained by torch SGD (momentum) or Adam.

    The hyper-parameters are the class's annotated fields, listed first below: the generated
    ``__init__`` takes each as a keyword of the same name and default and only stores it
    (``get_params``/``set_params`` read and write them); ``fit`` sets the attributes ending in
    ``_``.

    Attributes:
        optimizer: ``"adam"`` or ``"sgd"``.
        lr: the learning rate.
        momentum: SGD's momentum (unused by Adam).
        batch_size: samples per mini-batch.
        epochs: passes over the training set.
        l2: L2 penalty, (l2/2)||W||^2 in the loss.
        device: torch device for training.
        random_state: seed (int), ``RandomState`` or None.
        classes_ (np.ndarray): the C class labels, sorted.
        coef_ (np.ndarray): the weights, shape (C, d).
        intercept_ (np.ndarray): the biases, shape (C,).
        n_features_in_ (int): d, the number of features.
        seed_ (int): the seed ``fit`` drew from ``random_state``.
        history_ (list[dict]): per-epoch records.
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
        result: SGDHeadResult = fit_sgd_head(X, codes, num_classes, seed=self.seed_, **self._fit_kwargs())
        self._set_result(result)
        return self


@_estimator_params
class RandomConvTransformer(TransformerMixin, BaseEstimator):
    """Frozen random-conv features of images, as a scikit-learn transformer.

    Wraps :class:`hybridqnn.nn.RandomConvFeatures` (the feature extractor of arXiv 2603.02958):
    phi(x) = (flatten(pool(sigma(conv(x; F)))) - mu) / s with random, centred, unit-norm filters F
    and (mu, s) the training mean and standard deviation; ``fit`` draws F and fits (mu, s).

    ``X`` is images (n_samples, C, H, W) or (n_samples, H, W), or flattened images
    (n_samples, C*H*W) of shape ``image_shape``; without ``image_shape`` a 2-D row of F values
    is read as a one-channel 1 x F image (which needs ``kernel_size=1``).

    The hyper-parameters are the class's annotated fields, listed first below: the generated
    ``__init__`` takes each as a keyword of the same name and default and only stores it
    (``get_params``/``set_params`` read and write them); ``fit`` sets the attributes ending in
    ``_``.

    Attributes:
        num_filters: the number of random filters; None: the size-based default of
            :meth:`RandomConvFeatures.for_images`.
        kernel_size: the filter size (square); None: the size-based default of
            :meth:`RandomConvFeatures.for_images`.
        nonlinearity: relu, tanh, abs or identity.
        pool: avg or max.
        pool_size: the pooled grid's side; None: the size-based default of
            :meth:`RandomConvFeatures.for_images`.
        image_shape: (C, H, W) of the flattened rows of a 2-D ``X``; None: read from ``X``.
        device: torch device of the features.
        random_state: seed (int), ``RandomState`` or None.
        features_ (RandomConvFeatures): the fitted feature module.
        image_shape_ (tuple[int, int, int]): (C, H, W) of the images ``fit`` saw.
        n_features_in_ (int): C*H*W, the values per image.
        seed_ (int): the filters' seed.
    """

    num_filters: int | None = None
    kernel_size: int | None = None
    nonlinearity: str = "relu"
    pool: str = "avg"
    pool_size: int | None = None
    image_shape: tuple[int, int, int] | None = None
    device: str = "cpu"
    random_state: int | np.random.RandomState | None = None

    @classmethod
    def from_features(cls, features: RandomConvFeatures, image_shape: tuple[int, int, int]) -> RandomConvTransformer:
        """A fitted transformer around an already fitted ``features`` module for images of
        ``image_shape`` (C, H, W), without refitting."""
        if not isinstance(features, RandomConvFeatures):
            raise TypeError(f"'features' must be a RandomConvFeatures, got {type(features).__name__}")
        if not features.fitted:
            raise ValueError("'features' must be fitted (RandomConvFeatures.fit), got an unfitted module")
        shape = tuple(int(v) for v in image_shape)
        if len(shape) != 3 or shape[0] != features.in_channels or min(shape) < 1:
            raise ValueError(f"'image_shape' must be ({features.in_channels}, H, W) with H, W >= 1, got {tuple(image_shape)}")
        t = cls(
            num_filters=features.num_filters, kernel_size=features.kernel_size, nonlinearity=features.nonlinearity,
            pool=features.pool, pool_size=features.pool_size, image_shape=shape, device=str(features.weight.device),
        )
        t.features_, t.image_shape_, t.n_features_in_, t.seed_ = features, shape, int(np.prod(shape)), features.seed
        return t

    def _rows(self, X: Any, reset: bool) -> np.ndarray:
        """``X`` as float32 rows (n_samples, C*H*W), checked; sets ``image_shape_`` on ``reset``."""
        if not hasattr(X, "ndim"):  # lists; sparse matrices keep theirs (and are refused below)
            X = np.asarray(X)
        shape = self.image_shape if reset else self.image_shape_
        if X.ndim > 2:
            X = np.asarray(X)
            given = (1, *X.shape[1:]) if X.ndim == 3 else X.shape[1:]
            if X.ndim > 4 or (shape is not None and tuple(shape) != given):
                expected = "(n_samples, C, H, W)" if shape is None else f"(n_samples, {', '.join(map(str, shape))})"
                raise ValueError(f"'X' must be images of shape {expected}, got shape {X.shape}")
            shape, X = given, X.reshape(len(X), -1)
        rows = validate_data(self, X, reset=reset, dtype=np.float32, ensure_min_samples=2 if reset else 1)
        if reset:
            self.image_shape_ = tuple(int(v) for v in shape) if shape is not None else (1, 1, rows.shape[1])
            if int(np.prod(self.image_shape_)) != rows.shape[1]:
                raise ValueError(f"'image_shape' {tuple(self.image_shape_)} must have {rows.shape[1]} values (the columns of X), got {int(np.prod(self.image_shape_))}")
        return rows if rows.flags.writeable else rows.copy()  # torch wants writable arrays

    def fit(self, X: Any, y: Any = None) -> RandomConvTransformer:
        """Draw the filters and fit the standardisation on the images ``X`` (``y`` is ignored)."""
        rows = self._rows(X, reset=True)
        self.seed_ = int(check_random_state(self.random_state).randint(2**31 - 1))
        sizes = {"num_filters": self.num_filters, "kernel_size": self.kernel_size, "pool_size": self.pool_size}
        features = RandomConvFeatures.for_images(
            self.image_shape_, seed=self.seed_, nonlinearity=self.nonlinearity, pool=self.pool,
            **{k: v for k, v in sizes.items() if v is not None},
        ).to(self.device)
        self.features_ = features.fit(rows.reshape(-1, *self.image_shape_))
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Standardised features, float64 (n_samples, num_filters * pool_size^2)."""
        check_is_fitted(self)
        rows = self._rows(X, reset=False)
        return self.features_.transform(rows.reshape(-1, *self.image_shape_))
