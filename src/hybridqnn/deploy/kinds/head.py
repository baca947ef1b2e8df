"""Model kinds of the classifier heads on frozen random-conv features (Atallah & Herrman,
arXiv 2603.02958): ``qubo-head`` (the K-bit head trained by one QUBO per class) and ``sgd-head``
(its float SGD baseline).

The model is the scikit-learn ``Pipeline`` of a fitted
:class:`~hybridqnn.train.RandomConvTransformer` and a fitted
:class:`~hybridqnn.train.QUBOHeadClassifier` or :class:`~hybridqnn.train.SGDHeadClassifier`:
``predict`` takes raw images (N, C, H, W). Deployed, it is

    conv2d(F, padding k//2) -> sigma -> adaptive pool -> flatten -> standardize(mu, s) -> linear(W, b)

with the random filters F and (mu, s) float, and for the QUBO head W and b on their K-bit grids
(:func:`hybridqnn.train.head_encoding`: w = -r + step * code, step = 2r / (2^K - 1), code in
[0, 2^K), r = ``weight_range`` for the weights and ``bias_range`` for the bias), so the packed
file stores K bits per weight. The saved state is the filters and standardisation (float32, as
the features compute) and coef_/intercept_ (float64, exactly as trained), with the estimators'
parameters and learned records in the config.

The input preparation ``raw-images`` gives a data set's test split as raw images (optionally the
stratified test subset a run drew, ``test_size`` and ``seed``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.pipeline import Pipeline

from hybridqnn.deploy.inputs import register_input
from hybridqnn.deploy.kinds import ModelKind, register_kind
from hybridqnn.deploy.kinds.torch_state import build_checked
from hybridqnn.nn.features import RandomConvFeatures
from hybridqnn.train import (
    QUBOHeadClassifier,
    QUBOHeadResult,
    RandomConvTransformer,
    SGDHeadClassifier,
    SGDHeadResult,
    head_encoding,
)

if TYPE_CHECKING:
    from hybridqnn.deploy.graph import Graph

__all__ = ["load_images"]

#: The constructor arguments of the RandomConvFeatures module (its tensors are saved apart).
_MODULE_ARGS = ("in_channels", "num_filters", "kernel_size", "nonlinearity", "pool", "pool_size", "seed")
#: Fitted attributes of each head kept in the config (besides coef_ and intercept_).
_HEAD_RECORDS = {QUBOHeadClassifier: ("history_", "timing_", "problem_", "seed_"), SGDHeadClassifier: ("history_", "seed_")}
_RESULTS = {QUBOHeadClassifier: QUBOHeadResult, SGDHeadClassifier: SGDHeadResult}


def _parts(model: Any, head_type: type) -> tuple[RandomConvTransformer, Any] | None:
    """(features, head) of a two-step Pipeline of a RandomConvTransformer and a ``head_type``."""
    if isinstance(model, Pipeline) and len(model.steps) == 2:
        (_, features), (_, head) = model.steps
        if isinstance(features, RandomConvTransformer) and type(head) is head_type:
            return features, head
    return None


def _split(model: Any, head_type: type) -> tuple[RandomConvTransformer, Any]:
    parts = _parts(model, head_type)
    if parts is None:
        raise TypeError(f"'model' must be a Pipeline of a RandomConvTransformer and a {head_type.__name__}, got {type(model).__name__}")
    return parts


def _params(estimator: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The estimator's parameters that JSON holds, and a repr of those it cannot (a sampler
    object, a RandomState): those are restored as None and only matter for refitting."""
    kept, dropped = {}, {}
    for name, value in estimator.get_params(deep=False).items():
        value = list(value) if isinstance(value, tuple) else value
        value = value.item() if isinstance(value, np.generic) else value
        try:
            json.dumps(value, allow_nan=False)
            kept[name] = value
        except (TypeError, ValueError):
            kept[name], dropped[name] = None, repr(value)
    return kept, dropped


def _state(model: Any, head_type: type) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    features, head = _split(model, head_type)
    module = features.features_
    tensors = {
        "features.weight": module.weight.detach().cpu().numpy(),
        "features.mean": module.mean.detach().cpu().numpy(),
        "features.std": module.std.detach().cpu().numpy(),
        "head.coef": np.asarray(head.coef_, dtype=np.float64),
        "head.intercept": np.asarray(head.intercept_, dtype=np.float64),
    }
    f_params, f_dropped = _params(features)
    h_params, h_dropped = _params(head)
    config = {
        "steps": [name for name, _ in model.steps],
        "features": {
            "params": f_params,
            "image_shape": list(features.image_shape_),
            "module": {name: getattr(module, name) for name in _MODULE_ARGS},
        },
        "head": {
            "params": h_params,
            "classes": head.classes_.tolist(),
            "classes_dtype": head.classes_.dtype.str,
            **{name: getattr(head, name) for name in _HEAD_RECORDS[head_type] if hasattr(head, name)},
        },
        "not_saved": {**{f"features.{k}": v for k, v in f_dropped.items()}, **{f"head.{k}": v for k, v in h_dropped.items()}},
    }
    return tensors, config


def _want(tensors: dict[str, np.ndarray], name: str, shape: tuple[int, ...]) -> np.ndarray:
    array = tensors[name]
    if array.shape != shape:
        raise ValueError(f"tensor {name!r} must have shape {list(shape)}, got {list(array.shape)}")
    return array


def _restore_features(tensors: dict[str, np.ndarray], config: dict[str, Any]) -> RandomConvTransformer:
    module = build_checked(RandomConvFeatures, tensors, **config["module"], prefix="features.")
    for name in ("weight", "mean", "std"):  # shapes checked by build_checked
        getattr(module, name).copy_(_as_tensor(tensors[f"features.{name}"]))
    module.fitted = True
    features = RandomConvTransformer.from_features(module, tuple(config["image_shape"]))
    params = config["params"]
    if params.get("image_shape") is not None:
        params = {**params, "image_shape": tuple(params["image_shape"])}
    return features.set_params(**params)


def _as_tensor(array: np.ndarray) -> Any:
    import torch

    return torch.from_numpy(np.array(array, dtype=np.float32))


def _restore(tensors: dict[str, np.ndarray], config: dict[str, Any], head_type: type) -> Pipeline:
    features = _restore_features(tensors, config["features"])
    h = config["head"]
    classes = np.asarray(h["classes"], dtype=np.dtype(h["classes_dtype"]))
    d = features.features_.out_features
    coef = _want(tensors, "head.coef", (classes.size, d))
    intercept = _want(tensors, "head.intercept", (classes.size,))
    records = {name.rstrip("_"): h[name] for name in _HEAD_RECORDS[head_type] if name in h}
    seed = records.pop("seed", None)
    result = _RESULTS[head_type](weights=np.hstack([coef, intercept[:, None]]), **records)
    head = head_type.from_result(result, classes, seed=seed, **h["params"])
    first, second = config["steps"]
    return Pipeline([(first, features), (second, head)])


def _predict(model: Any, inputs: Any) -> np.ndarray:
    """Class indices 0..C-1 of the raw images ``inputs``."""
    return np.searchsorted(model.steps[-1][1].classes_, model.predict(inputs)).astype(np.int64)


def _graph(model: Any, head_type: type) -> Graph:
    from hybridqnn.deploy.graph import Graph, float_param, uniform_param

    features, head = _split(model, head_type)
    module = features.features_
    graph = Graph(features.image_shape_, head.classes_.tolist(), decision="argmax", dtype="float32")
    graph.conv2d(float_param(module.weight.detach().cpu().numpy()), padding=module.kernel_size // 2)
    if module.nonlinearity != "identity":
        getattr(graph, module.nonlinearity)()
    graph.pool2d(module.pool, module.pool_size).flatten()
    graph.standardize(float_param(module.mean.detach().cpu().numpy()), float_param(module.std.detach().cpu().numpy()))
    if head_type is SGDHeadClassifier:
        return graph.linear(float_param(head.coef_), float_param(head.intercept_))
    enc = head_encoding(head.n_features_in_, head.bits, head.weight_range, head.bias_range)
    weight = uniform_param(head.coef_, bits=head.bits, offset=float(enc.low[0]), step=float(enc.step[0]))
    bias = uniform_param(head.intercept_, bits=head.bits, offset=float(enc.low[-1]), step=float(enc.step[-1]))
    return graph.linear(weight, bias)


def _training_problem(model: Any) -> dict[str, Any] | None:
    """One class QUBO of the head's training: (d+1)*K spins and its couplers, C solves per
    iteration (:attr:`QUBOHeadClassifier.problem_`)."""
    _, head = _split(model, QUBOHeadClassifier)
    problem = getattr(head, "problem_", None)
    if not problem:
        return None
    return {
        "spins_per_solve": problem["num_variables"],
        "couplers_per_solve": problem["num_interactions"],
        "solves_per_iteration": len(head.classes_),
        "fits_advantage": problem.get("fits_advantage"),
        "solver": head.sampler if isinstance(head.sampler, str) else None,
    }


def _kind(name: str, description: str, head_type: type, **extra: Any) -> ModelKind:
    return register_kind(ModelKind(
        name=name,
        description=description,
        handles=lambda m: _parts(m, head_type) is not None,
        state=lambda m: _state(m, head_type),
        restore=lambda t, c: _restore(t, c, head_type),
        predict=_predict,
        graph=lambda m, deterministic: _graph(m, head_type),
        **extra,
    ))


_kind(
    "qubo-head",
    "K-bit softmax head trained by one QUBO per class, on frozen random-conv features (arXiv 2603.02958)",
    QUBOHeadClassifier,
    training_problem=_training_problem,
)
_kind(
    "sgd-head",
    "float softmax head trained by SGD/Adam, on frozen random-conv features (the QUBO head's baseline)",
    SGDHeadClassifier,
)


def load_images(
    dataset: str, data_dir: Path | None, *, test_size: int | None = None, train_size: int | None = None, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """The test split of ``dataset`` as raw images (N, C, H, W) and its labels; with
    ``test_size``, the stratified test subset that :func:`hybridqnn.data.stratified_subset` draws
    with ``seed`` (as a run with ``test_size`` set scored its rows; ``train_size`` does not
    change it)."""
    from hybridqnn.data import load_dataset, stratified_subset

    ds = load_dataset(dataset, data_dir=data_dir, download=False)
    if test_size is not None:
        ds = stratified_subset(ds, min(train_size or ds.n_train, ds.n_train), min(test_size, ds.n_test), seed=seed)
    return ds.x_test, ds.y_test


register_input("raw-images", load_images)
