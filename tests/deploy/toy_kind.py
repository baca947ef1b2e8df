"""A small model kind for the deploy tests (imported as ``from toy_kind import ...``): a
binary linear classifier, logits = scale * x sign(W)^T, with sign(0) = +1, and its input
preparation ``test-toy-input`` (the first ``features`` pixels of a data set's test images)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hybridqnn.deploy.graph import Graph, sign_param
from hybridqnn.deploy.inputs import register_input
from hybridqnn.deploy.kinds import ModelKind, register_kind


@dataclass
class Toy:
    weight: np.ndarray
    scale: float = 1.0


def _restore(tensors, config):
    w = tensors["weight"]
    if w.shape != tuple(config["shape"]):
        raise ValueError(f"'weight' must have shape {config['shape']}, got {list(w.shape)}")
    return Toy(w, config["scale"])


def _signs(m: Toy) -> np.ndarray:
    return np.where(m.weight >= 0, 1.0, -1.0)


def _graph(m: Toy, deterministic: bool) -> Graph:
    g = Graph((m.weight.shape[1],), list(range(m.weight.shape[0])))
    return g.linear(sign_param(_signs(m))).scale(m.scale).validate()


def _inputs(dataset, data_dir, features):
    from hybridqnn.data import load_dataset

    ds = load_dataset(dataset, data_dir=data_dir, download=False)
    x = np.asarray(ds.x_test, dtype=np.float64).reshape(len(ds.x_test), -1)[:, :features]
    return x, np.asarray(ds.y_test) % 2


TOY = register_kind(
    ModelKind(
        name="test-toy",
        description="a binary linear toy model (tests only)",
        handles=lambda m: isinstance(m, Toy),
        state=lambda m: ({"weight": m.weight}, {"shape": list(m.weight.shape), "scale": m.scale}),
        restore=_restore,
        predict=lambda m, x: np.argmax(np.asarray(x) @ _signs(m).T * m.scale, axis=1),
        graph=_graph,
        training_problem=lambda m: {"spins_per_solve": int(m.weight.size)},
    )
)
register_input("test-toy-input", _inputs)


def toy_model() -> Toy:
    return Toy(np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5, 0.5)
