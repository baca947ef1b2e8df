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
