"""Saved models: one directory per trained model, weights in safetensors, metadata in JSON.

Layout::

    <dir>/model.json           what the model is (below)
    <dir>/weights.safetensors  its trained state: the tensors of its kind's ``state``, e.g. the
                               latent float weights of a binary network, as trained

``model.json`` holds ``format`` (``"hybridqnn-model"``), ``format_version`` (:data:`FORMAT_VERSION`),
``kind`` (a registered :class:`~hybridqnn.deploy.kinds.ModelKind`), ``class`` (the Python class
saved, for the reader: loading goes by ``kind``), ``hybridqnn_version``, ``created``, ``config``
(the kind's constructor arguments and settings), ``input_shape`` (one sample's shape) and
``layers`` (per weighted layer of the deployed network: weight shape, bits per weight and, for
coded weights, the scale ``offset + step * code``; both null for a model that cannot be exported), ``classes`` (the label of
each class index, or null), ``data`` (the data set, the registered input preparation that turns its
test split into the model's inputs, and a sentence on the preprocessing), ``row`` (the
``report.json`` row the model belongs to), ``training`` (the size of one training solve, for
models trained by solving) and ``tensors`` (the name, shape and dtype of every weight tensor).

Loading reads JSON and safetensors only (no pickle) and maps ``kind`` through the registry: no
name read from a file is ever imported or executed. Every problem with a file (no model there, a
newer format, a truncated weights file, shapes that do not match) is one ``ValueError`` line that
names the file (:class:`~hybridqnn.errors.InputFileError`, a ``ValueError``).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from hybridqnn._files import default_mode
from hybridqnn.deploy.kinds import ModelKind, get_kind, kind_of
from hybridqnn.errors import InputFileError

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "METADATA_FILE",
    "WEIGHTS_FILE",
    "load_model",
    "model_dir",
    "open_model",
    "read_metadata",
    "save_model",
]

FORMAT = "hybridqnn-model"
#: The newest ``model.json`` format this hybridqnn writes and reads.
FORMAT_VERSION = 1
METADATA_FILE = "model.json"
WEIGHTS_FILE = "weights.safetensors"
#: ``model.json`` is small (tensors live in the weights file); a larger one is not ours.
MAX_METADATA_BYTES = 16 * 2**20
_SCALARS = (str, int, float, bool, type(None))
_FIELDS: dict[str, tuple[type, ...]] = {
    "kind": (str,),
    "class": (str,),
    "hybridqnn_version": (str,),
    "created": (str,),
    "config": (dict,),
    "classes": (list, type(None)),
    "data": (dict, type(None)),
    "row": (dict, type(None)),
    "training": (dict, type(None)),
    "layers": (list, type(None)),
    "input_shape": (list, type(None)),
    "tensors": (dict,),
}


def _version() -> str:
    from hybridqnn import __version__

    return __version__


def _jsonable(name: str, value: Any) -> Any:
    """``value`` with numpy scalars and arrays turned into JSON values; ``TypeError`` naming
    ``name`` for anything else that JSON cannot hold."""
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{name!r} keys must be str, got {key!r}")
            out[key] = _jsonable(f"{name}.{key}", item)
        return out
    if isinstance(value, (list, tuple)):
        return [_jsonable(f"{name}[{i}]", item) for i, item in enumerate(value)]
    raise TypeError(f"{name!r} must hold only JSON values, got a {type(value).__name__}")


def _checked_tensors(kind: ModelKind, tensors: Any) -> dict[str, np.ndarray]:
    if not isinstance(tensors, Mapping) or not tensors:
        raise TypeError(f"model kind {kind.name!r}: state() must return a non-empty dict of arrays")
    out = {}
    for name, array in tensors.items():
        if not isinstance(name, str) or not isinstance(array, np.ndarray):
            raise TypeError(
                f"model kind {kind.name!r}: state() tensor {name!r} must be a numpy array, "
                f"got {type(array).__name__}"
            )
        out[name] = np.ascontiguousarray(array)
    return out


def _deployed(kind: ModelKind, model: Any) -> dict[str, Any]:
    """``input_shape`` and ``layers`` of the deployed network (None for a model its kind cannot
    express, e.g. a Sequential whose input shape it cannot tell: saving does not need export)."""
    from hybridqnn.deploy.graph import NotExportableError

    try:
        graph = kind.graph(model, True)
    except NotExportableError:
        return {"input_shape": None, "layers": None}
    return {"input_shape": list(graph.input_shape), "layers": _layers(graph)}


def _layers(graph: Any) -> list[dict[str, Any]]:
    """Per weighted op of the deployed network: its weight shape, bits per weight and, for coded
    weights, the scale (value = offset + step * code)."""
    out, ops = [], graph.ops
    for index, role, p in graph.params():
        if role != "weight":
            continue
        record = {"op": ops[index]["op"], "index": index, "weight_shape": list(p.values.shape)}
        if p.encoding == "uniform":
            record |= {"bits_per_weight": math.log2(p.levels), "levels": p.levels,
                       "offset": p.offset, "step": p.step}
        else:
            record |= {"bits_per_weight": 8 * np.dtype(graph.dtype).itemsize}
        out.append(record)
    return out


def _check_target(path: Path, overwrite: bool) -> None:
    if not path.exists():
        return
    if not path.is_dir():
        raise ValueError(f"'path' {str(path)!r} exists and is not a directory")
    if any(path.iterdir()):
        if not (path / METADATA_FILE).is_file():
            raise ValueError(
                f"'path' {str(path)!r} is a non-empty directory that holds no model; "
                "choose a new or empty directory"
            )
        if not overwrite:
            raise ValueError(
                f"'path' {str(path)!r} already holds a model; pass overwrite=True to replace it"
            )


def save_model(
    model: Any,
    path: str | os.PathLike[str],
    *,
    classes: Sequence[Any] | None = None,
    data: Mapping[str, Any] | None = None,
    row: Mapping[str, Any] | None = None,
    training: Mapping[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Save a trained model to the directory ``path`` (module docstring) and return it.

    Args:
        model: A trained model of a registered kind (``hybridqnn summary`` lists them).
        path: The model directory (created; it must be new or empty unless ``overwrite``).
        classes: The label of each class index (e.g. ``[3, 5]`` for a 3-vs-5 network).
        data: ``{"dataset": name, "input": {"name": ..., "kwargs": {...}}, "preprocessing": ...}``:
            how its inputs are made from a data set (:mod:`hybridqnn.deploy.inputs`).
        row: The report row the model belongs to.
        training: The size of one training solve; default: the kind's ``training_problem``.
        overwrite: Replace a model already saved at ``path``.

    The files are written into a temporary directory beside ``path`` and moved into place at the
    end, so an interrupted save leaves no half-written model.
    """
    path = Path(path)
    if not isinstance(overwrite, bool):
        raise TypeError(f"'overwrite' must be a bool, got {overwrite!r}")
    _check_target(path, overwrite)
    kind = kind_of(model)
    tensors, config = kind.state(model)
    tensors = _checked_tensors(kind, tensors)
    if training is None:
        training = kind.training_problem(model)
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": kind.name,
        "class": f"{type(model).__module__}.{type(model).__qualname__}",
        "hybridqnn_version": _version(),
        "created": datetime.now().astimezone().isoformat(timespec="seconds"),
        "config": _jsonable("config", config),
        "classes": None if classes is None else _jsonable("classes", list(classes)),
        "data": None if data is None else _jsonable("data", data),
        "row": None if row is None else _jsonable("row", row),
        "training": None if training is None else _jsonable("training", training),
        **_deployed(kind, model),
        "tensors": {
            name: {"shape": list(a.shape), "dtype": str(a.dtype)} for name, a in tensors.items()
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        from safetensors.numpy import save_file

        save_file(tensors, str(tmp / WEIGHTS_FILE), metadata={"format": FORMAT})
        (tmp / METADATA_FILE).write_text(
            json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        os.chmod(tmp, default_mode(directory=True))
        for file in tmp.iterdir():
            os.chmod(file, default_mode())
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def model_dir(path: str | os.PathLike[str]) -> Path:
    """The model directory ``path`` names (the directory or its ``model.json``); ``ValueError``
    when there is no model."""
    p = Path(path)
    if p.is_file() and p.name == METADATA_FILE:
        p = p.parent
    if not (p / METADATA_FILE).is_file():
        what = "does not exist" if not p.exists() else f"has no {METADATA_FILE}"
        raise InputFileError(f"no model at {str(path)!r}: the path {what}")
    return p


def _check_fields(where: str, meta: Any) -> dict[str, Any]:
    if not isinstance(meta, dict):
        raise InputFileError(f"{where}: must hold a JSON object, got {type(meta).__name__}")
    if meta.get("format") != FORMAT:
        raise InputFileError(f"{where}: 'format' must be {FORMAT!r}, got {meta.get('format')!r}")
    version = meta.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InputFileError(f"{where}: 'format_version' must be a positive integer, got {version!r}")
    if version > FORMAT_VERSION:
        raise InputFileError(
            f"{where}: written in model format version {version} by a newer hybridqnn "
            f"({meta.get('hybridqnn_version')!r}); this hybridqnn {_version()} reads up to "
            f"version {FORMAT_VERSION}: upgrade hybridqnn"
        )
    for name, types in _FIELDS.items():
        if not isinstance(meta.get(name), types):
            kinds = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            raise InputFileError(f"{where}: {name!r} must be a {kinds}, got {meta.get(name)!r:.60}")
    for name, spec in meta["tensors"].items():
        ok = (
            isinstance(spec, dict)
            and isinstance(spec.get("shape"), list)
            and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in spec["shape"])
            and isinstance(spec.get("dtype"), str)
        )
        if not ok:
            raise InputFileError(
                f"{where}: tensor {name!r} must be described as "
                f"{{'shape': [non-negative ints], 'dtype': str}}, got {spec!r:.80}"
            )
    return meta


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The checked ``model.json`` of the model at ``path`` (directory or ``model.json``)."""
    file = model_dir(path) / METADATA_FILE
    size = file.stat().st_size
    if size > MAX_METADATA_BYTES:
        raise InputFileError(
            f"{str(file)!r}: is {size} bytes, more than a model.json can be "
            f"({MAX_METADATA_BYTES} bytes); not a hybridqnn model"
        )
    try:
        meta = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise InputFileError(f"{str(file)!r}: is not valid JSON ({exc})") from None
    return _check_fields(repr(str(file)), meta)


def _read_weights(directory: Path, meta: dict[str, Any]) -> dict[str, np.ndarray]:
    file = directory / WEIGHTS_FILE
    if not file.is_file():
        raise InputFileError(f"no weights at {str(file)!r}: the model directory has no {WEIGHTS_FILE}")
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    try:
        tensors = load_file(str(file))
    except (SafetensorError, OSError, ValueError) as exc:
        raise InputFileError(
            f"{str(file)!r}: is truncated or not a safetensors file ({' '.join(str(exc).split())})"
        ) from None
    expected = meta["tensors"]
    if set(tensors) != set(expected):
        missing = sorted(set(expected) - set(tensors))
        extra = sorted(set(tensors) - set(expected))
        raise InputFileError(
            f"{str(file)!r}: its tensors do not match {METADATA_FILE} "
            f"(missing: {missing or 'none'}; not described: {extra or 'none'})"
        )
    for name, spec in expected.items():
        array = tensors[name]
        if list(array.shape) != spec["shape"] or str(array.dtype) != spec["dtype"]:
            raise InputFileError(
                f"{str(file)!r}: tensor {name!r} has shape {list(array.shape)} and dtype "
                f"{array.dtype}, but {METADATA_FILE} says shape {spec['shape']} and dtype "
                f"{spec['dtype']}"
            )
    return tensors


def load_model(path: str | os.PathLike[str]) -> Any:
    """The ready model saved at ``path`` (its directory or ``model.json``): the object its kind
    trains (a torch module in eval mode, a scikit-learn estimator, a QCBO network...)."""
    return open_model(path)[2]


def open_model(path: str | os.PathLike[str]) -> tuple[dict[str, Any], ModelKind, Any]:
    """``(metadata, kind, model)`` of the model saved at ``path``: one read of each file."""
    directory = model_dir(path)
    meta = read_metadata(directory)
    try:
        kind = get_kind(meta["kind"])
    except ValueError as exc:
        raise InputFileError(f"{str(directory / METADATA_FILE)!r}: {exc}") from None
    tensors = _read_weights(directory, meta)
    try:
        return meta, kind, kind.restore(tensors, meta["config"])
    except (ValueError, TypeError, KeyError) as exc:
        raise InputFileError(
            f"{str(directory)!r}: cannot rebuild the {kind.name} model from its files: "
            f"{' '.join(str(exc).split())}"
        ) from None
