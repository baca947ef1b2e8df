"""Inputs: how a saved model's inputs are made from a data set.

An experiment that saves a model records, in ``model.json`` ``data.input``, the name of a
registered input preparation and its keyword arguments, e.g.
``{"name": "pooled-pairs", "kwargs": {"classes": [0, 1], "pool": 4}}``.
``hybridqnn predict MODEL --data NAME`` calls it on data set NAME to get the test split's inputs
and labels (class indices of the model), prepared exactly as the experiment prepared them.

Each model kind module registers the preparations its experiments use with
:func:`register_input`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["InputFn", "load_inputs", "register_input"]

#: ``fn(dataset, data_dir, **kwargs) -> (inputs, labels)``: the test split of ``dataset`` as the
#: model's inputs and its labels as class indices (int64).
InputFn = Callable[..., tuple[Any, np.ndarray]]

_INPUTS: dict[str, InputFn] = {}


def register_input(name: str, fn: InputFn) -> InputFn:
    """Register the input preparation ``fn`` under ``name`` (new names only) and return it."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"'name' must be a non-empty str, got {name!r}")
    if name in _INPUTS and _INPUTS[name] is not fn:
        raise ValueError(f"input preparation {name!r} is already registered")
    _INPUTS[name] = fn
    return fn


def load_inputs(
    spec: Mapping[str, Any], dataset: str, data_dir: str | os.PathLike[str] | None = None
) -> tuple[Any, np.ndarray]:
    """The test split of ``dataset`` prepared by the input preparation ``spec``
    (``{"name": ..., "kwargs": {...}}``, as a model's ``data.input`` records it).

    Returns:
        ``(inputs, labels)``: the model's inputs and the labels as int64 class indices.
    """
    from hybridqnn.deploy.kinds import list_kinds

    list_kinds()  # the kind modules register their input preparations
    if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str):
        raise ValueError(f"the model's 'data.input' must be {{'name': str, 'kwargs': {{...}}}}, got {spec!r:.80}")
    fn = _INPUTS.get(spec["name"])
    if fn is None:
        raise ValueError(
            f"unknown input preparation {spec['name']!r}; known: {', '.join(sorted(_INPUTS))}"
        )
    kwargs = spec.get("kwargs") or {}
    if not isinstance(kwargs, Mapping):
        raise ValueError(f"the model's 'data.input.kwargs' must be a dict, got {kwargs!r:.80}")
    inputs, labels = fn(dataset, Path(data_dir) if data_dir is not None else None, **kwargs)
    return inputs, np.asarray(labels, dtype=np.int64)


def score(
    path: str | os.PathLike[str],
    dataset: str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Accuracy of the model saved at ``path`` on the test split of ``dataset`` (default: the
    data set it was trained on), its inputs prepared as its experiment prepared them.

    Returns:
        ``{"accuracy", "samples", "dataset", "kind", "recorded"}``; ``recorded`` is the test
        accuracy in the model's report row (:func:`recorded_accuracy`; None if it has none).

    Raises:
        ValueError: the model records no input preparation, or the data set's inputs do not have
            the shape the model takes (checked before predicting).
    """
    from hybridqnn.deploy.store import open_model

    meta, kind, model = open_model(path)
    data = meta["data"] or {}
    if "input" not in data:
        raise ValueError(f"the model at {str(path)!r} records no input preparation ('data.input'); "
                         "score it from Python with its kind's predict")
    dataset = dataset or data.get("dataset")
    if not isinstance(dataset, str):
        raise ValueError(f"the model at {str(path)!r} names no data set; pass one")
    inputs, labels = load_inputs(data["input"], dataset, data_dir)
    inputs = _shaped(inputs, meta["input_shape"], f"the {kind.name} model at {str(path)!r}", dataset)
    pred = np.asarray(kind.predict(model, inputs))
    return {
        "accuracy": float(np.mean(pred == labels)) if labels.size else float("nan"),
        "samples": int(labels.size),
        "dataset": dataset,
        "kind": kind.name,
        "recorded": recorded_accuracy(meta),
    }


def _shaped(inputs: Any, expected: list[int] | None, model: str, dataset: str) -> Any:
    """``inputs`` in the per-sample shape ``expected`` the model takes (reshaped when only the
    layout differs, e.g. flat pixels for an image model); ValueError when the sizes differ."""
    shape = getattr(inputs, "shape", None)
    if shape is None or expected is None or tuple(shape[1:]) == tuple(expected):
        return inputs
    if int(np.prod(shape[1:])) != int(np.prod(expected)):
        raise ValueError(
            f"data set {dataset!r} gives inputs of shape {tuple(shape[1:])} per sample, but "
            f"{model} takes {tuple(expected)}"
        )
    return inputs.reshape(len(inputs), *expected)


def recorded_accuracy(meta: Mapping[str, Any]) -> float | None:
    """The test accuracy the run recorded for this model: ``training.run_test_accuracy`` (the
    model's own, where its row averages repeats), else the row's ``test_accuracy``, else
    1 - ``final_val_error`` (the natural-quantization rows' test-split error of the vote)."""
    own = (meta.get("training") or {}).get("run_test_accuracy")
    if isinstance(own, (int, float)) and not isinstance(own, bool):
        return float(own)
    row = meta.get("row") or {}
    value = row.get("test_accuracy")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    error = row.get("final_val_error")
    if isinstance(error, (int, float)) and not isinstance(error, bool):
        return 1.0 - float(error)
    return None
