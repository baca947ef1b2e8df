"""A model summary in the manner of Larq's ``larq.models.summary``: per layer of the deployed
network (:class:`~hybridqnn.deploy.graph.Graph`), its parameters, bits per weight, memory as a
float32 network and as deployed (bit-packed), and multiply-accumulates per sample; then the totals,
the compression ratio and, for models trained by solving, the size of one training solve.

Definitions (per sample):

- **params**: the entries of the op's weight and bias (and of other deployed constants:
  standardisation, spline and quantisation tables, counted as float).
- **bits/weight**: log2 of the number of values a weight can take (1 for +-1, log2 3 = 1.58 for
  ternary, K for K-bit), or the float width (32 or 64).
- **float32 bytes**: 4 per parameter, the network held as float32, which is how the binary and
  quantized networks are trained (latent float weights).
- **deployed bytes**: what the packed file stores: ceil(count * stored bits / 8) for a coded
  tensor, the float width for the rest (:mod:`hybridqnn.deploy.packing`).
- **binary MACs**: multiply-accumulates with a 1-bit weight *and* a +-1 input (the input comes
  from a ``sign``, possibly through scales, flattening or max pooling): XNOR-popcount on hardware,
  Larq's "binarized" MACs. **Other MACs**: the rest. A linear layer has in x out MACs, a
  convolution C_out C_in k^2 H_out W_out, a graph convolution in x out per node (the sparse
  product with the adjacency is not counted).
- **compression**: float32 bytes / deployed bytes over the whole model.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["LayerSummary", "ModelSummary", "summarize_graph", "summary"]

#: Ops whose input decides whether the next weighted op's MACs are binary: they keep a +-1
#: signal +-1 (up to a positive or negative scale).
_KEEPS_BINARY = {"flatten", "scale"}
_WEIGHTED = {"linear", "conv2d", "graph_conv", "tie_linear"}


@dataclass(frozen=True)
class LayerSummary:
    """One op with parameters (module docstring for the definitions)."""

    index: int
    op: str
    output_shape: tuple[int, ...]
    params: int
    bits_per_weight: float | None
    float32_bytes: int
    deployed_bytes: int
    binary_macs: int
    other_macs: int


@dataclass(frozen=True)
class ModelSummary:
    """The summary of one model: its layers, totals and training problem."""

    kind: str
    description: str
    layers: list[LayerSummary]
    training: dict[str, Any] | None = None

    @property
    def totals(self) -> dict[str, Any]:
        """``params``, ``layer_bits`` (bits per weight of each weighted op, in order, e.g.
        ``"32/10"`` for float features under a 10-bit head), ``weight_bits`` (bits per weight
        averaged over the weights of the weighted ops), ``float32_bytes``, ``deployed_bytes``, ``compression``, ``binary_macs``,
        ``other_macs``."""
        weighted = [la for la in self.layers if la.op in _WEIGHTED and la.bits_per_weight is not None]
        count = sum(la.params for la in weighted)
        f32 = sum(la.float32_bytes for la in self.layers)
        dep = sum(la.deployed_bytes for la in self.layers)
        return {
            "params": sum(la.params for la in self.layers),
            "layer_bits": "/".join(_bits(la.bits_per_weight) for la in weighted) or None,
            "weight_bits": (
                sum(la.params * la.bits_per_weight for la in weighted) / count if count else None
            ),
            "float32_bytes": f32,
            "deployed_bytes": dep,
            "compression": f32 / dep if dep else None,
            "binary_macs": sum(la.binary_macs for la in self.layers),
            "other_macs": sum(la.other_macs for la in self.layers),
        }

    def __str__(self) -> str:
        head = ["layer", "op", "output", "params", "bits/weight", "float32 bytes",
                "deployed bytes", "binary MACs", "other MACs"]
        rows = [[str(la.index), la.op, "x".join(map(str, la.output_shape)), f"{la.params:,}",
                 _bits(la.bits_per_weight), f"{la.float32_bytes:,}", f"{la.deployed_bytes:,}",
                 f"{la.binary_macs:,}", f"{la.other_macs:,}"] for la in self.layers]
        t = self.totals
        rows.append(["total", "", "", f"{t['params']:,}", _bits(t["weight_bits"]),
                     f"{t['float32_bytes']:,}", f"{t['deployed_bytes']:,}",
                     f"{t['binary_macs']:,}", f"{t['other_macs']:,}"])
        lines = [f"Model: {self.kind} ({self.description})", *_table(head, rows)]
        if t["compression"] is not None:
            lines.append(f"Compression: {t['compression']:.1f}x (float32 bytes / deployed bytes)")
        if self.training:
            lines.append("Training: " + ", ".join(
                f"{k.replace('_', ' ')} {_fmt(v, k)}" for k, v in self.training.items() if v is not None))
        return "\n".join(lines)


def _bits(bits: float | None) -> str:
    if bits is None:
        return "-"
    return f"{bits:.3g}"


def _fmt(value: Any, key: str = "") -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, int) and not isinstance(value, bool) and key != "seed":
        return f"{value:,}"
    return str(value)


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    line = "  ".join("-" * w for w in widths)
    fmt = lambda r: "  ".join(c.rjust(w) if i >= 3 else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))  # noqa: E731
    return [fmt(head), line, *[fmt(r) for r in rows[:-1]], line, fmt(rows[-1])]


def _macs(op: dict[str, Any], shape_out: tuple[int, ...], params: dict[str, Any]) -> int:
    w = params["weight"].values
    if op["op"] == "conv2d":
        return int(w.size * shape_out[1] * shape_out[2])
    return int(w.size)


def _param_bytes(param: Any, float_bytes: int) -> tuple[float | None, int]:
    """(bits per value, deployed bytes) of one Param."""
    count = int(np.asarray(param.values).size)
    if param.encoding == "uniform":
        return math.log2(param.levels), math.ceil(count * param.bits / 8)
    return 8.0 * float_bytes, count * float_bytes


def summarize_graph(graph: Any, kind: str, description: str, training: dict[str, Any] | None = None) -> ModelSummary:
    """The :class:`ModelSummary` of a deployed network ``graph`` (one row per op with params)."""
    float_bytes = 8 if graph.dtype == "float64" else 4
    by_op: dict[int, dict[str, Any]] = {}
    for index, role, param in graph.params():
        by_op.setdefault(index, {})[role] = param
    layers, shapes, binary_in = [], graph.shapes, False
    for index, op in enumerate(graph.ops):
        params = by_op.get(index, {})
        out = shapes[index + 1]
        if params:
            count = sum(int(np.asarray(p.values).size) for p in params.values())
            sizes = [_param_bytes(p, float_bytes) for p in params.values()]
            weight = params.get("weight")
            bits = _param_bytes(weight, float_bytes)[0] if weight is not None else None
            macs = _macs(op, out, params) if op["op"] in _WEIGHTED else 0
            binary = bool(macs) and binary_in and weight.encoding == "uniform" and weight.levels == 2
            layers.append(LayerSummary(
                index=index, op=op["op"], output_shape=out, params=count, bits_per_weight=bits,
                float32_bytes=4 * count, deployed_bytes=sum(b for _, b in sizes),
                binary_macs=macs if binary else 0, other_macs=0 if binary else macs,
            ))
        if op["op"] == "sign":
            binary_in = True
        elif op["op"] == "pool2d":
            binary_in = binary_in and op.get("mode") == "max"
        elif op["op"] not in _KEEPS_BINARY:
            binary_in = False
    return ModelSummary(kind, description, layers, training)


def summary(model: Any) -> ModelSummary:
    """The summary of a trained model, or of the model saved at a path (directory or
    ``model.json``): per layer and in total (module docstring), with the training problem's size
    (the one recorded in ``model.json``, else the kind's own figure)."""
    from hybridqnn.deploy.kinds import kind_of

    if isinstance(model, (str, os.PathLike)):
        from hybridqnn.deploy.store import open_model

        meta, kind, obj = open_model(model)
        training = meta["training"]
    else:
        kind, obj = kind_of(model), model
        training = kind.training_problem(model)
    return summarize_graph(kind.graph(obj, True), kind.name, kind.description, training)
