"""The reference forward pass over a deployed :class:`~hybridqnn.deploy.graph.Graph`, in NumPy.

It defines what a packed file computes: every op runs in the graph's dtype, with its params
decoded once per call (``value = offset + step * code`` in float64, then cast to the dtype). The
import chain holds numpy only (scipy.sparse is imported when a sparse adjacency is given), so a
packed model runs where torch is not installed.

Semantics per op are those of :data:`hybridqnn.deploy.graph.OPS`; the torch equivalents
(``F.linear``, ``F.conv2d``, adaptive pooling, ``SplineActivation``, ``quantize_activation``)
agree to float tolerance (tested).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from hybridqnn.deploy.graph import Graph

__all__ = ["forward", "predict"]

_CHUNK = 1024  # inputs per pass (graphs without a graph input)


def forward(graph: Graph, x: Any, adjacency: Any = None) -> np.ndarray:
    """The logits of ``graph`` on ``x``.

    Args:
        graph: The deployed network.
        x: Inputs of shape ``(N, *graph.input_shape)`` (cast to the graph's dtype).
        adjacency: The normalised adjacency ``A`` (N, N), dense or ``scipy.sparse``: required
            exactly when ``graph.graph_input`` (``graph_conv`` computes ``A (x W^T)``).

    Returns:
        The logits, shape ``(N, *graph.shape)``, in the graph's dtype.

    Raises:
        ValueError: ``x`` of the wrong shape, or a missing, unexpected or misshapen adjacency.
    """
    if not isinstance(graph, Graph):
        raise TypeError(f"'graph' must be a Graph, got {type(graph).__name__}")
    graph.validate()
    dtype = np.dtype(graph.dtype)
    x = _check_input(graph, x, dtype)
    adjacency = _check_adjacency(graph, adjacency, x.shape[0], dtype)
    ops = [(name, attrs, {role: p.values.astype(dtype) for role, p in params.items()})
           for name, attrs, params in graph.op_list()]
    if graph.graph_input or x.shape[0] <= _CHUNK:
        return _run(ops, x, dtype, adjacency)
    # rows are independent without a graph input: bound the memory of the big intermediates
    parts = [_run(ops, x[i:i + _CHUNK], dtype, None) for i in range(0, x.shape[0], _CHUNK)]
    return np.concatenate(parts, axis=0)


def _run(ops: list[tuple[str, dict[str, Any], dict[str, np.ndarray]]], x: np.ndarray, dtype: np.dtype, adjacency: Any) -> np.ndarray:
    for name, attrs, arrays in ops:
        x = _RUN[name](x, dtype=dtype, adjacency=adjacency, **attrs, **arrays)
    return x


def predict(graph: Graph, x: Any, adjacency: Any = None) -> np.ndarray:
    """Class indices (int64): the first argmax of the logits, or ``z >= 0`` for ``"threshold"``."""
    logits = forward(graph, x, adjacency)
    if graph.decision == "threshold":
        return (logits[:, 0] >= 0).astype(np.int64)
    return np.argmax(logits, axis=1).astype(np.int64)


def _check_input(graph: Graph, x: Any, dtype: np.dtype) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise TypeError(f"'x' must be a numeric array, got dtype {x.dtype}")
    if x.shape[1:] != graph.input_shape or x.ndim == 0:
        want = ", ".join(["N", *map(str, graph.input_shape)])
        raise ValueError(f"'x' must have shape ({want}), got {tuple(x.shape)}")
    return x.astype(dtype)


def _check_adjacency(graph: Graph, adjacency: Any, n: int, dtype: np.dtype) -> Any:
    if not graph.graph_input:
        if adjacency is not None:
            raise ValueError("'adjacency' must be None for a graph with graph_input=False, got an adjacency")
        return None
    if adjacency is None:
        raise ValueError("'adjacency' must be given for a graph with graph_input=True, got None")
    if not isinstance(adjacency, np.ndarray) and hasattr(adjacency, "tocsr"):
        import scipy.sparse

        if scipy.sparse.issparse(adjacency):
            adjacency = scipy.sparse.csr_matrix(adjacency, dtype=dtype)
    else:
        adjacency = np.asarray(adjacency, dtype=dtype)
    if adjacency.shape != (n, n):
        raise ValueError(f"'adjacency' must have shape ({n}, {n}) for {n} inputs, got {tuple(adjacency.shape)}")
    return adjacency


# --------------------------------------------------------------------------- ops
# Each takes the running x (N, ...) and the op's attributes and decoded params as keywords.


def _linear(x: np.ndarray, *, weight: np.ndarray, bias: np.ndarray | None = None, **_: Any) -> np.ndarray:
    y = x @ weight.T
    return y if bias is None else y + bias


def _conv2d(
    x: np.ndarray, *, weight: np.ndarray, stride: int, padding: int, dtype: np.dtype,
    bias: np.ndarray | None = None, **_: Any,
) -> np.ndarray:
    """Sum over kernel offsets (i, j) of the strided window of x (channels last) times
    W[:, :, i, j]^T: memory stays at one output, unlike an im2col copy."""
    n, _, h, w = x.shape
    o, _, kh, kw = weight.shape
    if padding:
        x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
    x = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    out = np.zeros((n, ho, wo, o), dtype=dtype)
    for i in range(kh):
        for j in range(kw):
            out += x[:, i:i + stride * (ho - 1) + 1:stride, j:j + stride * (wo - 1) + 1:stride, :] @ weight[:, :, i, j].T
    if bias is not None:
        out += bias
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2))


def _graph_conv(x: np.ndarray, *, weight: np.ndarray, adjacency: Any, dtype: np.dtype, **_: Any) -> np.ndarray:
    """``A (x W^T)`` summed as :func:`hybridqnn.nn.binary_graph.aggregate` sums it: row i adds
    A_ij (x W^T)_j over its stored entries in ascending j, each product rounded once, so exact
    ties (0/1 features, ±1 weights) fall as they do in torch on any CPU."""
    m = np.asarray(x @ weight.T, dtype=dtype)
    if isinstance(adjacency, np.ndarray):
        rows, cols = np.nonzero(adjacency)
        values = adjacency[rows, cols]
    else:  # scipy.sparse CSR (_check_adjacency)
        a = adjacency.copy()
        a.sum_duplicates()  # also sorts each row's columns
        a.eliminate_zeros()
        coo = a.tocoo()
        rows, cols, values = coo.row, coo.col, coo.data
    out = np.zeros((adjacency.shape[0], m.shape[1]), dtype=dtype)
    np.add.at(out, rows, values.astype(dtype)[:, None] * m[cols])
    return out


def _sign(x: np.ndarray, *, zero: float, dtype: np.dtype, **_: Any) -> np.ndarray:
    return np.where(x > 0, 1.0, np.where(x < 0, -1.0, zero)).astype(dtype)


def _pool2d(x: np.ndarray, *, mode: str, output_size: int, **_: Any) -> np.ndarray:
    """torch's adaptive pooling: cell i of an axis of size H spans floor(iH/o) .. ceil((i+1)H/o)."""
    n, c, h, w = x.shape
    reduce = np.mean if mode == "avg" else np.max
    out = np.empty((n, c, output_size, output_size), dtype=x.dtype)
    for i in range(output_size):
        h0, h1 = i * h // output_size, -(-(i + 1) * h // output_size)
        for j in range(output_size):
            w0, w1 = j * w // output_size, -(-(j + 1) * w // output_size)
            out[:, :, i, j] = reduce(x[:, :, h0:h1, w0:w1], axis=(2, 3))
    return out


def _quantize(x: np.ndarray, *, low: np.ndarray, high: np.ndarray, bits: int, dtype: np.dtype, **_: Any) -> np.ndarray:
    top = dtype.type(2**bits - 1)
    step = (high - low) / top
    safe = np.where(step > 0, step, dtype.type(1))
    idx = np.clip(np.rint((x - low) / safe), 0, top)
    return np.where(step > 0, low + idx * step, low).astype(dtype)


def _spline(x: np.ndarray, *, knots: np.ndarray, slopes: np.ndarray, intercepts: np.ndarray, **_: Any) -> np.ndarray:
    f, m = slopes.shape
    last = np.isfinite(knots).sum(axis=1) - 2  # M_j - 1, the last segment of feature j
    k = np.clip((x[..., None] >= knots).sum(axis=-1) - 1, 0, last)
    flat = k + np.arange(f) * m
    return slopes.reshape(-1)[flat] * x + intercepts.reshape(-1)[flat]


def _tie_linear(
    x: np.ndarray, *, weight: np.ndarray, rel: float, dtype: np.dtype, bias: np.ndarray | None = None, **_: Any
) -> np.ndarray:
    """``linear`` with its near-ties snapped to ties (graph module docstring, ``tie_linear``)."""
    z = _linear(x, weight=weight, bias=bias)
    t = _linear(np.abs(x), weight=np.abs(weight), bias=None if bias is None else np.abs(bias)) * dtype.type(rel)
    if z.shape[1] == 1:
        return np.where((z < 0) & (z >= -t), dtype.type(0), z)
    top = z.max(axis=1, keepdims=True)
    return np.where(z >= top - t - t.max(axis=1, keepdims=True), top, z)


_RUN: dict[str, Callable[..., np.ndarray]] = {
    "linear": _linear,
    "conv2d": _conv2d,
    "graph_conv": _graph_conv,
    "sign": _sign,
    "scale": lambda x, *, c, dtype, **_: x * dtype.type(c),
    "relu": lambda x, **_: np.maximum(x, x.dtype.type(0)),
    "tanh": lambda x, **_: np.tanh(x),
    "abs": lambda x, **_: np.abs(x),
    "pool2d": _pool2d,
    "flatten": lambda x, **_: x.reshape(x.shape[0], -1),
    "standardize": lambda x, *, mean, std, **_: (x - mean) / std,
    "clip": lambda x, *, low, high, **_: np.minimum(np.maximum(x, low), high),
    "round_to_unit": lambda x, *, unit, dtype, **_: np.rint(x / dtype.type(unit)) * dtype.type(unit),
    "quantize": _quantize,
    "spline": _spline,
    "tie_linear": _tie_linear,
}
