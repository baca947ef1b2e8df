"""Model kinds: what :func:`~hybridqnn.deploy.save_model` and :func:`~hybridqnn.deploy.load_model`
know about each kind of trained model the library produces.

A :class:`ModelKind` tells how to take a model apart into tensors and a JSON config (``state``),
how to rebuild it (``restore``), how it predicts (``predict``), what it is at inference
(``graph``: the deployed low-bit network, :class:`hybridqnn.deploy.graph.Graph`) and, for models
trained by solving, the size of one training problem (``training_problem``).

The kinds shipped with hybridqnn register themselves from the modules of
:data:`BUILTIN_KIND_MODULES` (imported on the first lookup). A saved file names its kind; loading
maps that name through this registry and never imports or executes a name read from a file.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from hybridqnn.deploy.graph import Graph

__all__ = [
    "BUILTIN_KIND_MODULES",
    "ModelKind",
    "get_kind",
    "kind_of",
    "list_kinds",
    "register_kind",
]

#: Modules that register the kinds shipped with hybridqnn.
BUILTIN_KIND_MODULES: tuple[str, ...] = (
    "hybridqnn.deploy.kinds.qpsbgd",
    "hybridqnn.deploy.kinds.head",
    "hybridqnn.deploy.kinds.qcbo",
    "hybridqnn.deploy.kinds.natural",
)

_KINDS: dict[str, ModelKind] = {}
_loaded = False


def _no_training_problem(model: Any) -> dict[str, Any] | None:
    return None


@dataclass(frozen=True)
class ModelKind:
    """One kind of trained model.

    Attributes:
        name: The kind's name, written to ``model.json`` (``"binary-mlp"``, ``"qubo-head"``...).
        description: One line, shown by ``hybridqnn summary``.
        handles: ``handles(obj)`` is True for objects of this kind.
        state: ``state(model) -> (tensors, config)``: numpy arrays and a JSON-able dict from which
            ``restore`` rebuilds the model.
        restore: ``restore(tensors, config) -> model``; ``ValueError`` when the tensors do not fit
            the config.
        predict: ``predict(model, inputs) -> int64 class indices`` (0..C-1) for inputs as
            :func:`hybridqnn.deploy.inputs.load_inputs` prepares them; stochastic kinds use a
            fixed-seed generator, so the same model and inputs give the same answer.
        graph: ``graph(model, deterministic) -> Graph``, the network as it runs at inference;
            raises :class:`~hybridqnn.deploy.graph.NotExportableError` for what it cannot express
            (a stochastic kind unless ``deterministic``).
        training_problem: ``training_problem(model)`` -> the size of one training solve (``spins``
            and ``couplers`` per solve...) or None.
        stochastic: Whether the model's predictions are random draws.
    """

    name: str
    description: str
    handles: Callable[[Any], bool]
    state: Callable[[Any], tuple[dict[str, np.ndarray], dict[str, Any]]]
    restore: Callable[[dict[str, np.ndarray], dict[str, Any]], Any]
    predict: Callable[[Any, Any], np.ndarray]
    graph: Callable[[Any, bool], Graph]
    training_problem: Callable[[Any], dict[str, Any] | None] = _no_training_problem
    stochastic: bool = False


def register_kind(kind: ModelKind) -> ModelKind:
    """Add ``kind`` to the registry (its name must be new) and return it."""
    if not isinstance(kind, ModelKind):
        raise TypeError(f"'kind' must be a ModelKind, got {type(kind).__name__}")
    if kind.name in _KINDS and _KINDS[kind.name] is not kind:
        raise ValueError(f"model kind {kind.name!r} is already registered")
    _KINDS[kind.name] = kind
    return kind


def _load_builtin() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for module in BUILTIN_KIND_MODULES:
            importlib.import_module(module)


def list_kinds() -> list[ModelKind]:
    """Every registered kind, by name."""
    _load_builtin()
    return [_KINDS[name] for name in sorted(_KINDS)]


def get_kind(name: str) -> ModelKind:
    """The kind called ``name``; ``ValueError`` naming the known kinds otherwise."""
    _load_builtin()
    kind = _KINDS.get(name) if isinstance(name, str) else None
    if kind is None:
        raise ValueError(f"unknown model kind {name!r}; known kinds: {', '.join(sorted(_KINDS))}")
    return kind


def kind_of(model: Any) -> ModelKind:
    """The one registered kind that handles ``model``; ``TypeError`` listing the kinds otherwise."""
    _load_builtin()
    found = [kind for kind in _KINDS.values() if kind.handles(model)]
    if len(found) != 1:
        what = "no" if not found else f"{len(found)} ({', '.join(k.name for k in found)})"
        raise TypeError(
            f"'model' must be a model of exactly one known kind ({', '.join(sorted(_KINDS))}); "
            f"a {type(model).__name__} matches {what} kinds"
        )
    return found[0]
