"""scikit-learn estimators: check_estimator conformance, labels, torch export, not-fitted errors."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch
from dwave.samplers import TabuSampler
from hypothesis import given
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from hybridqnn.nn import RandomConvFeatures
from hybridqnn.solvers import as_sampler
from hybridqnn.train import (
    QUBOHeadClassifier,
    QUBOHeadResult,
    RandomConvTransformer,
    SGDHeadClassifier,
    SGDHeadResult,
    fit_qubo_head,
    fit_sgd_head,
    head_encoding,
)


@parametrize_with_checks(
    [
        QUBOHeadClassifier(sampler="steepest", executor="serial", max_iter=10),
        SGDHeadClassifier(epochs=10),
        RandomConvTransformer(kernel_size=1),  # the checks' 2-D rows are 1 x F images
    ]
)
def test_sklearn_compatible_estimator(estimator, check) -> None:
    check(estimator)


@pytest.mark.parametrize(
    ("estimator", "fit", "apart"),
    [(QUBOHeadClassifier, fit_qubo_head, {"sampler"}), (SGDHeadClassifier, fit_sgd_head, set())],
)
def test_estimator_parameters_are_the_fit_keywords_with_their_defaults(estimator, fit, apart) -> None:
    # the estimator restates the fit function's keywords (scikit-learn reads them from __init__)
    # and passes them on by name: the names and the defaults must agree
    fit_defaults = {k: p.default for k, p in inspect.signature(fit).parameters.items()}
    params = estimator().get_params(deep=False)
    for name, value in params.items():
        if name == "random_state" or name in apart:
            continue
        assert name in fit_defaults, name
        assert value == fit_defaults[name], (name, value, fit_defaults[name])


@pytest.mark.parametrize("estimator", [QUBOHeadClassifier, SGDHeadClassifier])
def test_estimators_keep_scikit_learn_identity_and_repr(estimator) -> None:
    # the parameters are dataclass fields: eq and repr must stay scikit-learn's, not dataclass's
    a, b = estimator(l2=0.5), estimator(l2=0.5)
    assert a != b and a == a and len({a, b}) == 2
    assert repr(a) == f"{estimator.__name__}(l2=0.5)"
    assert clone(a).get_params() == a.get_params()


def toy(seed: int = 0, n: int = 60, d: int = 4, c: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(c, d)) * 3
    y = np.arange(n) % c
    x = centers[y] + rng.normal(size=(n, d)) * 0.5
    return (x - x.mean(0)) / x.std(0), y


def _fitted(kind: str, x: np.ndarray, y: np.ndarray):
    if kind == "qubo":
        return QUBOHeadClassifier(bits=6, sampler="steepest", executor="serial", max_iter=5).fit(
            x, y
        )
    return SGDHeadClassifier(epochs=30, batch_size=16, lr=0.05, random_state=0).fit(x, y)


@pytest.mark.parametrize("kind", ["qubo", "sgd"])
def test_string_labels(kind: str) -> None:
    x, y = toy()
    names = np.array(["emu", "cat", "dog"])[y]
    clf = _fitted(kind, x, names)
    np.testing.assert_array_equal(clf.classes_, ["cat", "dog", "emu"])
    pred = clf.predict(x)
    assert pred.dtype.kind == "U" and set(pred) <= set(names)
    assert clf.score(x, names) > 0.9


@pytest.mark.parametrize("kind", ["qubo", "sgd"])
def test_to_torch_matches_logits_and_proba(kind: str) -> None:
    x, y = toy()
    clf = _fitted(kind, x, y)
    layer = clf.to_torch(torch.float64)
    assert isinstance(layer, torch.nn.Linear)
    assert (layer.in_features, layer.out_features) == (4, 3)
    with torch.no_grad():
        out = layer(torch.tensor(x)).numpy()
    np.testing.assert_allclose(out, clf.decision_function(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        torch.softmax(torch.tensor(out), dim=1).numpy(),
        clf.predict_proba(x),
        rtol=1e-10,
        atol=1e-12,
    )
    np.testing.assert_array_equal(clf.classes_[out.argmax(1)], clf.predict(x))
    layer32 = clf.to_torch()
    assert layer32.weight.dtype == torch.float32
    with torch.no_grad():
        np.testing.assert_allclose(
            layer32(torch.tensor(x, dtype=torch.float32)).numpy(), out, rtol=1e-5, atol=1e-5
        )


def test_binary_decision_function_convention() -> None:
    x, y = toy(c=2)
    clf = SGDHeadClassifier(epochs=20, lr=0.05, random_state=0).fit(x, y)
    with torch.no_grad():
        z = clf.to_torch(torch.float64)(torch.tensor(x)).numpy()
    np.testing.assert_allclose(clf.decision_function(x), z[:, 1] - z[:, 0], atol=1e-12)
    np.testing.assert_array_equal(clf.predict(x), (clf.decision_function(x) > 0).astype(int))


@pytest.mark.parametrize("clf", [QUBOHeadClassifier(), SGDHeadClassifier()])
def test_not_fitted(clf) -> None:
    x, _ = toy()
    for method in (clf.predict, clf.predict_proba, clf.decision_function):
        with pytest.raises(NotFittedError):
            method(x)
    with pytest.raises(NotFittedError):
        clf.to_torch()


def test_qubo_classifier_attributes_and_grid() -> None:
    x, y = toy()
    clf = QUBOHeadClassifier(
        bits=5, weight_range=1.0, bias_range=2.0, sampler="steepest", executor="serial", max_iter=4
    ).fit(x, y)
    assert clf.n_features_in_ == 4
    assert clf.coef_.shape == (3, 4) and clf.intercept_.shape == (3,)
    assert clf.n_iter_ == len(clf.history_) >= 1
    assert clf.problem_["num_variables"] == 5 * 5
    assert set(clf.timing_) >= {"build_s", "reference_s", "solve_s", "other_s", "total_s"}
    enc = head_encoding(4, 5, 1.0, 2.0)
    w = np.hstack([clf.coef_, clf.intercept_[:, None]])
    for row in w:
        np.testing.assert_allclose(enc.round(row), row, rtol=0, atol=1e-12)


def test_qubo_classifier_sampler_object_and_random_state() -> None:
    x, y = toy()
    a = QUBOHeadClassifier(
        bits=6,
        sampler="sa",
        sample_kwargs={"num_sweeps": 30},
        executor="serial",
        max_iter=3,
        random_state=3,
    ).fit(x, y)
    b = QUBOHeadClassifier(
        bits=6,
        sampler="sa",
        sample_kwargs={"num_sweeps": 30},
        executor="serial",
        max_iter=3,
        random_state=3,
    ).fit(x, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(a.intercept_, b.intercept_)
    tabu = QUBOHeadClassifier(
        bits=6, sampler=TabuSampler(), sample_kwargs={"timeout": 5}, executor="serial", max_iter=3
    ).fit(x, y)
    assert tabu.score(x, y) > 0.9


def test_single_class_rejected() -> None:
    x, _ = toy()
    with pytest.raises(ValueError, match="at least 2 classes"):
        SGDHeadClassifier(epochs=1).fit(x, np.zeros(len(x), dtype=int))


def images(seed: int = 0, n: int = 60, c: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Tiny 1x8x8 images: class k is a bright k-th row band plus noise."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % c
    x = rng.uniform(0, 0.3, size=(n, 1, 8, 8)).astype(np.float32)
    for k in range(c):
        x[y == k, 0, 2 * k : 2 * k + 2, :] += 0.7
    return x, y


def test_random_conv_transformer_is_the_module_on_every_image_layout() -> None:
    x, _ = images()
    t = RandomConvTransformer(random_state=0).fit(x)
    assert t.image_shape_ == (1, 8, 8) and t.n_features_in_ == 64
    module = RandomConvFeatures.for_images((1, 8, 8), seed=t.seed_).fit(x)
    np.testing.assert_array_equal(t.transform(x), module.transform(x))
    np.testing.assert_array_equal(t.transform(x[:, 0]), t.transform(x))  # (N, H, W): one channel
    flat = RandomConvTransformer(random_state=0, image_shape=(1, 8, 8)).fit(x.reshape(len(x), -1))
    np.testing.assert_array_equal(flat.transform(x.reshape(len(x), -1)), t.transform(x))
    with pytest.raises(ValueError, match=r"'X' must be images of shape \(n_samples, 1, 8, 8\), got shape \(2, 1, 4, 4\)"):
        t.transform(np.zeros((2, 1, 4, 4)))
    with pytest.raises(ValueError, match="'image_shape' \\(1, 4, 4\\) must have 64 values"):
        RandomConvTransformer(image_shape=(1, 4, 4)).fit(x.reshape(len(x), -1))


def test_from_features_wraps_a_fitted_module_without_refitting() -> None:
    x, _ = images()
    module = RandomConvFeatures.for_images((1, 8, 8), seed=3, nonlinearity="abs", pool="max").fit(x)
    t = RandomConvTransformer.from_features(module, (1, 8, 8))
    assert t.features_ is module and t.seed_ == 3
    assert t.get_params()["nonlinearity"] == "abs" and t.get_params()["pool"] == "max"
    np.testing.assert_array_equal(t.transform(x), module.transform(x))
    with pytest.raises(ValueError, match="'features' must be fitted"):
        RandomConvTransformer.from_features(RandomConvFeatures(), (1, 8, 8))
    with pytest.raises(ValueError, match=r"'image_shape' must be \(1, H, W\)"):
        RandomConvTransformer.from_features(module, (3, 8, 8))
    with pytest.raises(TypeError, match="'features' must be a RandomConvFeatures, got int"):
        RandomConvTransformer.from_features(3, (1, 8, 8))


@pytest.mark.parametrize(("estimator", "fit"), [(QUBOHeadClassifier, fit_qubo_head), (SGDHeadClassifier, fit_sgd_head)])
def test_from_result_is_the_fitted_estimator(estimator, fit) -> None:
    x, y = toy()
    if estimator is QUBOHeadClassifier:
        kwargs = {"bits": 6, "sampler": "steepest", "executor": "serial", "max_iter": 3, "random_state": 0}
        fitted = estimator(**kwargs).fit(x, y)
        result = fit(x, y, 3, as_sampler("steepest"), bits=6, executor="serial", max_iter=3, seed=fitted.seed_)
    else:
        kwargs = {"epochs": 5, "random_state": 0}
        fitted = estimator(**kwargs).fit(x, y)
        result = fit(x, y, 3, epochs=5, seed=fitted.seed_)
    names = np.array(["a", "b", "c"])
    head = estimator.from_result(result, names, **kwargs)
    assert head.get_params() == fitted.get_params()
    np.testing.assert_array_equal(head.coef_, fitted.coef_)
    np.testing.assert_array_equal(head.intercept_, fitted.intercept_)
    np.testing.assert_array_equal(head.predict(x), names[fitted.predict(x)])
    assert head.n_features_in_ == 4 and len(head.history_) == len(fitted.history_)
    if estimator is QUBOHeadClassifier:
        assert head.problem_ == fitted.problem_ and head.n_iter_ == fitted.n_iter_
    np.testing.assert_array_equal(estimator.from_result(result).classes_, [0, 1, 2])
    with pytest.raises(ValueError, match="'classes' must be 3 sorted unique labels"):
        estimator.from_result(result, ["b", "a", "c"])


def test_pipeline_of_features_and_head_predicts_raw_images() -> None:
    x, y = images()
    model = Pipeline([
        ("features", RandomConvTransformer(random_state=0)),
        ("head", QUBOHeadClassifier(bits=6, sampler="steepest", executor="serial", max_iter=5, random_state=0)),
    ]).fit(x, y)
    assert model.score(x, y) > 0.9
    f = model[0].transform(x)
    np.testing.assert_array_equal(model.predict(x), model[1].predict(f))


@given(
    classes=st.integers(2, 5), features=st.integers(1, 4), seed=st.integers(0, 2**16),
    estimator=st.sampled_from([QUBOHeadClassifier, SGDHeadClassifier]),
)
def test_from_result_predicts_the_argmax_of_its_weights(classes: int, features: int, seed: int, estimator) -> None:
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=(classes, features + 1))
    labels = np.sort(rng.choice(100, size=classes, replace=False))
    head = estimator.from_result(QUBOHeadResult(weights) if estimator is QUBOHeadClassifier else SGDHeadResult(weights), labels)
    x = rng.normal(size=(7, features))
    np.testing.assert_array_equal(head.predict(x), labels[np.argmax(x @ weights[:, :-1].T + weights[:, -1], axis=1)])
    assert head.n_features_in_ == features and not hasattr(head, "seed_")
