"""Graphs shared by the deploy tests (imported as ``from deploy_graphs import ...``): one that
uses every op ONNX can express, and one with graph convolutions."""

from __future__ import annotations

import numpy as np

from hybridqnn.deploy.graph import Graph, float_param, sign_param, uniform_param


def every_op_graph(dtype: str = "float32", seed: int = 0) -> Graph:
    """Every op except graph_conv, with float, binary, ternary and K-bit params."""
    rng = np.random.default_rng(seed)
    g = Graph((2, 8, 6), ["a", "b", "c"], dtype=dtype)
    g.conv2d(float_param(rng.normal(size=(3, 2, 3, 3))), float_param(rng.normal(size=3)), stride=1, padding=1)
    g.relu().pool2d("avg", 2)
    g.conv2d(sign_param(np.sign(rng.normal(size=(4, 3, 2, 2))) * 0.7), stride=1, padding=0)
    g.abs().pool2d("max", 1).flatten()
    g.standardize(float_param(rng.normal(size=4) * 0.1), float_param(rng.uniform(0.5, 2.0, size=4)))
    g.clip(float_param(np.full(4, -3.0)), float_param(np.full(4, 3.0)))
    g.quantize(float_param(np.full(4, -2.0)), float_param([2.0, 2.0, 1.0, -2.0]), 3)
    g.round_to_unit(0.25)
    w = rng.integers(0, 16, size=(5, 4)) * 0.125 - 1.0
    g.linear(uniform_param(w, bits=4, offset=-1.0, step=0.125), float_param(rng.normal(size=5)))
    g.tanh().scale(2.0)
    knots = np.array([[-1.0, 0.0, 1.0, np.inf], [-2.0, -1.0, 0.5, 2.0]] * 2 + [[-1.0, 1.0, np.inf, np.inf]])
    slopes = np.array([[0.5, 2.0, 0.0], [1.0, -1.0, 0.3]] * 2 + [[1.5, 0.0, 0.0]])
    intercepts = np.array([[0.1, 0.1, 0.0], [0.0, 0.2, -0.1]] * 2 + [[-0.5, 0.0, 0.0]])
    g.spline(float_param(knots), float_param(slopes), float_param(intercepts))
    g.linear(sign_param(np.sign(rng.normal(size=(6, 5)))))
    g.sign(0.5)
    t = rng.integers(0, 3, size=(3, 6)) - 1.0
    g.linear(uniform_param(t, bits=2, levels=3, offset=-1.0, step=1.0), float_param([0.0, 0.1, -0.1]))
    g.tie_linear(sign_param(np.eye(3) * 2 - 1), float_param([0.5, 0.0, -0.5]), rel=1e-9)
    return g.validate()


def graph_conv_graph(dtype: str = "float32", seed: int = 0) -> Graph:
    rng = np.random.default_rng(seed)
    g = Graph((5,), [0, 1], dtype=dtype, graph_input=True)
    g.graph_conv(sign_param(np.sign(rng.normal(size=(4, 5))))).relu()
    g.graph_conv(float_param(rng.normal(size=(2, 4))))
    return g.validate()

