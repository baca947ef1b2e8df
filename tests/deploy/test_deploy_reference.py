"""The NumPy reference forward pass: each op equals its torch (or library) equivalent, the
input checks, and no torch anywhere in its import chain."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse
import torch
import torch.nn.functional as F
from deploy_graphs import every_op_graph, graph_conv_graph
from hypothesis import given
from hypothesis import strategies as st

from hybridqnn.deploy import reference
from hybridqnn.deploy.graph import Graph, float_param, sign_param, uniform_param
from hybridqnn.deploy.reference import forward, predict
from hybridqnn.nn.splines import SplineActivation
from hybridqnn.problems.fip import quantize_activation
from hybridqnn.problems.splines import linear_spline

RNG = np.random.default_rng(0)


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.array(a, dtype=np.float64))


def test_import_chain_has_no_torch() -> None:
    code = (
        "import sys\n"
        "import hybridqnn.deploy.reference, hybridqnn.deploy.graph, hybridqnn.deploy.packing\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'onnx', 'onnxruntime', 'sklearn'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


@pytest.mark.parametrize("bias", [True, False])
def test_linear(bias: bool) -> None:
    x, w, b = RNG.normal(size=(7, 5)), RNG.normal(size=(3, 5)), RNG.normal(size=3)
    g = Graph((5,), [0, 1, 2], dtype="float64").linear(float_param(w), float_param(b) if bias else None)
    want = F.linear(_t(x), _t(w), _t(b) if bias else None).numpy()
    np.testing.assert_allclose(forward(g, x), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("stride, padding, size", [(1, 0, (6, 5)), (2, 1, (7, 8)), (3, 2, (5, 5)), (1, 1, (3, 4))])
def test_conv2d(stride: int, padding: int, size: tuple[int, int]) -> None:
    x = RNG.normal(size=(4, 2, *size))
    w, b = RNG.normal(size=(3, 2, 3, 2)), RNG.normal(size=3)
    want = F.conv2d(_t(x), _t(w), _t(b), stride=stride, padding=padding).numpy()
    g2 = Graph((2, *size), list(range(want[0].size)), dtype="float64")
    g2.conv2d(float_param(w), float_param(b), stride=stride, padding=padding).flatten()
    np.testing.assert_allclose(forward(g2, x), want.reshape(4, -1), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", ["avg", "max"])
@pytest.mark.parametrize("size, out", [((6, 6), 3), ((7, 5), 3), ((4, 4), 1), ((3, 5), 4), ((8, 6), 2)])
def test_adaptive_pooling(mode: str, size: tuple[int, int], out: int) -> None:
    x = RNG.normal(size=(3, 2, *size))
    g = Graph((2, *size), list(range(2 * out * out)), dtype="float64").pool2d(mode, out).flatten()
    pool = F.adaptive_avg_pool2d if mode == "avg" else F.adaptive_max_pool2d
    np.testing.assert_allclose(forward(g, x), pool(_t(x), out).reshape(3, -1).numpy(), rtol=1e-12, atol=1e-12)


def test_graph_conv_dense_and_sparse() -> None:
    g = graph_conv_graph("float64")
    x = RNG.normal(size=(6, 5))
    a = scipy.sparse.random(6, 6, density=0.4, random_state=1) + scipy.sparse.eye(6)
    w0, w1 = (p.values for _, _, p in g.params())
    h = torch.relu(_t(a.toarray()) @ (_t(x) @ _t(w0).T))
    want = (_t(a.toarray()) @ (h @ _t(w1).T)).numpy()
    np.testing.assert_allclose(forward(g, x, a.toarray()), want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(forward(g, x, a.tocsr()), want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(forward(g, x, scipy.sparse.csr_array(a)), want, rtol=1e-12, atol=1e-12)
    assert predict(g, x, a).tolist() == np.argmax(want, axis=1).tolist()


def test_elementwise_ops() -> None:
    x = np.concatenate([RNG.normal(size=(5, 4)) * 3, [[0.0, -0.0, 0.25, -0.75]]])
    mean, std = RNG.normal(size=4), RNG.uniform(0.5, 2, size=4)
    low, high = -np.ones(4), np.array([1.0, 2.0, 0.5, 1.0])
    cases = [
        (lambda g: g.sign(0.0), torch.sign),
        (lambda g: g.sign(1.0), lambda t: torch.where(t >= 0, 1.0, -1.0).double()),
        (lambda g: g.scale(-1.5), lambda t: -1.5 * t),
        (lambda g: g.relu(), torch.relu),
        (lambda g: g.tanh(), torch.tanh),
        (lambda g: g.abs(), torch.abs),
        (lambda g: g.standardize(float_param(mean), float_param(std)), lambda t: (t - _t(mean)) / _t(std)),
        (lambda g: g.clip(float_param(low), float_param(high)), lambda t: torch.clamp(t, _t(low), _t(high))),
        (lambda g: g.round_to_unit(0.5), lambda t: torch.round(t / 0.5) * 0.5),
    ]
    for build, fn in cases:
        g = build(Graph((4,), [0, 1, 2, 3], dtype="float64"))
        np.testing.assert_allclose(forward(g, x), fn(_t(x)).numpy(), rtol=1e-12, atol=1e-12)


def test_flatten_and_trailing_params() -> None:
    x = RNG.normal(size=(3, 2, 2, 3))
    mean = RNG.normal(size=(2, 3))
    g = Graph((2, 2, 3), list(range(12)), dtype="float64").standardize(float_param(mean), float_param(np.ones(3)))
    g.flatten()
    np.testing.assert_allclose(forward(g, x), (x - mean).reshape(3, -1))


@given(st.integers(1, 12), st.lists(st.floats(-4, 4, allow_nan=False), min_size=1, max_size=6))
def test_quantize_equals_quantize_activation(bits: int, extra: list) -> None:
    low, high = np.array([-1.0, 0.0, 0.5, 2.0]), np.array([1.0, 3.0, 0.5, 2.5])
    step = (high - low) / (2**bits - 1)
    ties = low + step * (np.arange(4) + 0.5)  # exact midpoints: half to even
    x = np.stack([ties, np.resize(np.array(extra), 4), low - 1, high + 1])
    g = Graph((4,), [0, 1, 2, 3], dtype="float64").quantize(float_param(low), float_param(high), bits)
    np.testing.assert_array_equal(forward(g, x), quantize_activation(x, low, high, bits, ties="even"))


def test_spline_equals_spline_activation() -> None:
    splines = [linear_spline("tanh", -2.0, 2.0, 4), linear_spline("relu", -1.0, 3.0, 2), linear_spline("gelu", -3.0, 3.0, 6)]
    m = max(s.segments for s in splines)
    knots = np.full((3, m + 1), np.inf)
    slopes, intercepts = np.zeros((3, m)), np.zeros((3, m))
    for j, s in enumerate(splines):
        knots[j, : s.segments + 1] = s.knots
        slopes[j, : s.segments], intercepts[j, : s.segments] = s.slopes, s.intercepts
    g = Graph((3,), [0, 1, 2], dtype="float64").spline(float_param(knots), float_param(slopes), float_param(intercepts))
    x = np.concatenate([RNG.uniform(-5, 5, size=(50, 3)), knots[:, :3].T, [[2.0, 3.0, 3.0]]])
    want = np.stack([SplineActivation(s)(_t(x[:, j])).numpy() for j, s in enumerate(splines)], axis=1)
    np.testing.assert_allclose(forward(g, x), want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(forward(g, x), np.stack([s(x[:, j]) for j, s in enumerate(splines)], 1), atol=1e-12)


def test_uniform_and_sign_weights_decode() -> None:
    w = RNG.integers(0, 8, size=(2, 3)) * 0.1 - 0.3
    g = Graph((3,), [0, 1]).linear(uniform_param(w, bits=3, offset=-0.3, step=0.1))
    x = RNG.normal(size=(4, 3))
    np.testing.assert_allclose(forward(g, x), (x @ w.T), rtol=1e-5)
    assert forward(g, x).dtype == np.float32
    g = Graph((3,), [0, 1], dtype="float64").linear(sign_param(np.sign(w + 0.05) * 0.2))
    np.testing.assert_allclose(forward(g, x), x @ (np.sign(w + 0.05) * 0.2).T, rtol=1e-12)


def test_large_batches_run_in_chunks(monkeypatch) -> None:
    g = every_op_graph("float64")
    x = RNG.normal(size=(23, 2, 8, 6))
    whole = forward(g, x)
    monkeypatch.setattr(reference, "_CHUNK", 5)
    np.testing.assert_array_equal(forward(g, x), whole)


def test_predict_decisions() -> None:
    g = Graph((1,), ["no", "yes"], decision="threshold", dtype="float64")
    assert predict(g, np.array([[-1.0], [0.0], [2.0]])).tolist() == [0, 1, 1]
    g = Graph((3,), [0, 1, 2])
    assert predict(g, np.array([[1.0, 3.0, 3.0], [0.0, -1.0, -2.0]])).tolist() == [1, 0]
    out = predict(every_op_graph(), RNG.normal(size=(5, 2, 8, 6)))
    assert out.dtype == np.int64 and out.shape == (5,)


def test_input_errors() -> None:
    g = every_op_graph()
    with pytest.raises(ValueError, match=r"'x' must have shape \(N, 2, 8, 6\), got \(2, 8, 6\)"):
        forward(g, np.zeros((2, 8, 6)))
    with pytest.raises(ValueError, match="'adjacency' must be None"):
        forward(g, np.zeros((1, 2, 8, 6)), np.eye(1))
    with pytest.raises(TypeError, match="'x' must be a numeric array"):
        forward(g, np.array([["a"]]))
    h = graph_conv_graph()
    with pytest.raises(ValueError, match="'adjacency' must be given"):
        forward(h, np.zeros((3, 5)))
    with pytest.raises(ValueError, match=r"'adjacency' must have shape \(3, 3\) for 3 inputs, got \(4, 4\)"):
        forward(h, np.zeros((3, 5)), scipy.sparse.eye(4))
    with pytest.raises(ValueError, match="output must have shape"):
        forward(Graph((3,), [0, 1]), np.zeros((1, 3)))
