"""The deployed network: a chain of ops with float or low-bit weights, and its packed file.

A :class:`Graph` is a trained network as it runs at inference, not its latent float weights: a
straight chain of ops applied to the input ``x`` of shape ``(N, *input_shape)`` (batch first). The
model kinds of :mod:`hybridqnn.deploy.kinds` build it, :func:`write_packed` / :func:`read_packed`
store it, :mod:`hybridqnn.deploy.reference` runs it in NumPy and
:mod:`hybridqnn.deploy.onnx_export` converts it to ONNX.

Every weight-like tensor is a :class:`Param`. A ``"float"`` param is stored in the graph's dtype;
a ``"uniform"`` param holds values ``offset + step * code`` with integer codes in ``[0, levels)``
and is stored as its codes, ``bits`` bits each, by :func:`hybridqnn.deploy.packing.pack_codes`
(±1 weights: 1 bit; ternary: 2 bits, 3 levels; K-bit grids: K bits).

The op vocabulary (:data:`OPS`; ``x`` the running tensor, features on the last axis):

=============== ============================================ ======================================
op              computes                                     params / attributes
=============== ============================================ ======================================
linear          ``x W^T + b``, ``(N, in) -> (N, out)``         weight (out, in), bias (out,) optional
conv2d          ``torch.nn.functional.conv2d`` (groups 1)    weight (O, C, kh, kw), bias (O,); stride, padding
graph_conv      ``A (x W^T)``, A the adjacency of forward      weight (out, in)
sign            +1 where x > 0, -1 where x < 0, ``zero`` at 0  zero
scale           ``c x``                                        c
relu/tanh/abs   elementwise
pool2d          adaptive average/max pooling to o x o        mode, output_size
flatten         ``(N, ...) -> (N, prod)``
standardize     ``(x - mean) / std``                           mean, std (trailing dims of x)
clip            ``min(max(x, low), high)``                     low, high (trailing dims of x)
round_to_unit   ``rint(x / unit) * unit`` (half to even)       unit
quantize        the K-bit grid of ``quantize_activation``      low, high (trailing dims), bits
spline          per-feature linear spline                    knots (F, M+1), slopes, intercepts (F, M)
tie_linear      ``linear`` whose near-ties are ties (below)    weight, bias as linear; rel
=============== ============================================ ======================================

``tie_linear`` is the output layer of the QCBO's quantized spline network
(:meth:`hybridqnn.problems.qcbo.QuantizedSplineNetwork.predict`): quantized weights and
activations make exact ties common (all-zero hidden activations, products that cancel), and the
rounding of a sum then picks a side that depends on the order of the additions, so two runtimes
would disagree. With ``z = x W^T + b`` and ``t = rel (|x| |W|^T + |b|)``, one output gives
``z' = 0`` where ``-t <= z < 0`` (so ``threshold`` decides ``z >= -t``), several give
``z'_c = max_d z_d`` where ``z_c >= max_d z_d - t_c - max_d t_d`` (tied with the largest, so the
first argmax is the first of the tied), and ``z' = z`` elsewhere.

``graph_conv`` computes the integer-valued ``x W^T`` (binary weights, 0/1 node features) first
and adds row i's terms ``A_ij (x W^T)_j`` in ascending j, one rounding per product: the order of
the torch layer (:func:`hybridqnn.nn.binary_graph.aggregate`), so its exact ties fall alike.

Packed file (``safetensors``, no pickle): string metadata ``format = "hybridqnn-packed"``,
``format_version = "1"`` and ``graph`` = the JSON of :meth:`Graph.to_json`; one tensor per param,
named ``op<i>.<role>``: a float param in the graph's dtype with the param's shape, a uniform param
as the 1-D ``uint8`` bytes of :func:`~hybridqnn.deploy.packing.pack_codes`.

This module imports numpy only (``safetensors`` lazily, to read and write files).
"""

from __future__ import annotations

import json
import math
import numbers
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from hybridqnn._checks import check_bool, check_choice, check_float, check_int
from hybridqnn._files import atomic_write_bytes
from hybridqnn.deploy.packing import pack_codes, packed_size, unpack_codes
from hybridqnn.errors import InputFileError

__all__ = [
    "DECISIONS",
    "DTYPES",
    "ENCODINGS",
    "FORMAT",
    "FORMAT_VERSION",
    "OPS",
    "Graph",
    "NotExportableError",
    "OpSpec",
    "Param",
    "float_param",
    "read_packed",
    "sign_param",
    "uniform_param",
    "write_packed",
]

FORMAT = "hybridqnn-packed"
FORMAT_VERSION = "1"
ENCODINGS: tuple[str, ...] = ("float", "uniform")
DTYPES: tuple[str, ...] = ("float32", "float64")
DECISIONS: tuple[str, ...] = ("argmax", "threshold")
_MAX_DIM = 2**31 - 1


class NotExportableError(ValueError):
    """A model or op that cannot be expressed in the requested format (one line says why)."""


class OpSpec(NamedTuple):
    """One op of the vocabulary: its param roles (required, then optional) and attributes."""

    params: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    attrs: tuple[str, ...] = ()


#: The op vocabulary: name -> params and attributes (the keys of an op record besides "op").
OPS: dict[str, OpSpec] = {
    "linear": OpSpec(("weight",), ("bias",)),
    "conv2d": OpSpec(("weight",), ("bias",), ("stride", "padding")),
    "graph_conv": OpSpec(("weight",)),
    "sign": OpSpec(attrs=("zero",)),
    "scale": OpSpec(attrs=("c",)),
    "relu": OpSpec(),
    "tanh": OpSpec(),
    "abs": OpSpec(),
    "pool2d": OpSpec(attrs=("mode", "output_size")),
    "flatten": OpSpec(),
    "standardize": OpSpec(("mean", "std")),
    "clip": OpSpec(("low", "high")),
    "round_to_unit": OpSpec(attrs=("unit",)),
    "quantize": OpSpec(("low", "high"), attrs=("bits",)),
    "spline": OpSpec(("knots", "slopes", "intercepts")),
    "tie_linear": OpSpec(("weight",), ("bias",), ("rel",)),
}


# --------------------------------------------------------------------------- params


@dataclass(frozen=True, eq=False)
class Param:
    """One weight-like tensor as deployed.

    Attributes:
        values: The decoded values, float64, the tensor's shape (a read-only copy).
        encoding: ``"float"`` (stored in the graph's dtype) or ``"uniform"``.
        bits: Uniform: bits stored per value, in [1, 32].
        levels: Uniform: the number of valid codes, in [1, 2**bits] (default 2**bits).
        offset: Uniform: value = offset + step * code.
        step: Uniform: the grid step, > 0.

    A uniform param checks that every value is ``offset + step * code`` for an integer code in
    ``[0, levels)`` (absolute tolerance ``1e-6 * step``, plus the float32 rounding of the value,
    ``1.2e-7 * |value|``, so that weights computed in float32 are accepted) and snaps the values to
    the grid, so that the stored codes decode to exactly ``values``.
    """

    values: np.ndarray
    encoding: str = "float"
    bits: int | None = None
    levels: int | None = None
    offset: float = 0.0
    step: float = 1.0
    _codes: np.ndarray | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        enc = check_choice("encoding", self.encoding, ENCODINGS)
        values = np.array(self.values, dtype=np.float64)
        if np.isnan(values).any():
            raise ValueError(f"'values' must not contain NaN, got {values.size} values with NaN")
        if enc == "float":
            if self.bits is not None or self.levels is not None:
                raise ValueError(
                    f"'bits' and 'levels' must be None for a float param, got {self.bits}, {self.levels}"
                )
        else:
            values = self._uniform(values)
        values.setflags(write=False)
        object.__setattr__(self, "values", values)

    def _uniform(self, values: np.ndarray) -> np.ndarray:
        bits = check_int("bits", self.bits, 1, 32)
        levels = 2**bits if self.levels is None else check_int("levels", self.levels, 1, 2**bits)
        offset = check_float("offset", self.offset)
        step = check_float("step", self.step, 0.0, low_open=True)
        if not np.isfinite(values).all():
            raise ValueError(f"'values' of a uniform param must be finite, got {_first(values, ~np.isfinite(values))}")
        codes = np.rint((values - offset) / step)
        snapped = offset + step * codes
        tol = 1e-6 * step + 1.2e-7 * np.abs(values)
        bad = (np.abs(values - snapped) > tol) | (codes < 0) | (codes > levels - 1)
        if bad.any():
            raise ValueError(
                f"'values' must be offset + step * code with an integer code in [0, {levels - 1}] "
                f"(offset {offset!r}, step {step!r}), got {_first(values, bad)!r}"
            )
        codes = codes.astype(np.int64)
        codes.setflags(write=False)
        for name, value in (("bits", bits), ("levels", levels), ("offset", offset), ("step", step), ("_codes", codes)):
            object.__setattr__(self, name, value)
        return snapped

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.values.shape)

    @property
    def codes(self) -> np.ndarray:
        """The integer codes (int64, the tensor's shape) of a uniform param."""
        if self._codes is None:
            raise ValueError("'codes' exist only for a uniform param, got encoding 'float'")
        return self._codes

    def same_as(self, other: Param) -> bool:
        """True when ``other`` has the same encoding, grid and values (exactly)."""
        return (
            isinstance(other, Param)
            and (self.encoding, self.bits, self.levels, self.offset, self.step)
            == (other.encoding, other.bits, other.levels, other.offset, other.step)
            and self.shape == other.shape
            and bool(np.array_equal(self.values, other.values))
        )


def _first(values: np.ndarray, mask: np.ndarray) -> float:
    return float(values[mask].reshape(-1)[0])


def float_param(values: Any) -> Param:
    """A param stored as floats (in the graph's dtype)."""
    return Param(values, "float")


def uniform_param(
    values: Any, *, bits: int, offset: float, step: float, levels: int | None = None
) -> Param:
    """A param on the grid ``offset + step * code``, code in ``[0, levels)`` (default ``2**bits``),
    stored as ``bits``-bit codes. Raises ValueError naming the first value off the grid."""
    return Param(values, "uniform", bits=bits, levels=levels, offset=offset, step=step)


def sign_param(values: Any) -> Param:
    """A binary param: every value is ``-a`` or ``+a`` with ``a = max|values| > 0``; stored as 1 bit
    per value (uniform, ``offset = -a``, ``step = 2a``, code 1 for ``+a``)."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0:
        raise ValueError("'values' must be non-empty for a sign param, got size 0")
    a = float(np.max(np.abs(arr)))
    if not np.isfinite(a) or a <= 0:
        raise ValueError(f"'values' must be -a or +a with a finite a > 0, got max|values| = {a!r}")
    bad = np.abs(np.abs(arr) - a) > 1e-6 * a
    if bad.any():
        raise ValueError(f"'values' must all be -a or +a (a = max|values| = {a!r}), got {_first(arr, bad)!r}")
    return uniform_param(np.where(arr > 0, a, -a), bits=1, levels=2, offset=-a, step=2 * a)


# --------------------------------------------------------------------------- graph


class _Op(NamedTuple):
    name: str
    attrs: dict[str, Any]
    params: dict[str, Param]


def _check_shape(name: str, value: Any, min_dim: int = 1) -> tuple[int, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"{name!r} must be a sequence of integers, got {type(value).__name__}")
    dims = tuple(check_int(f"{name}[{i}]", d, min_dim, _MAX_DIM) for i, d in enumerate(value))
    return dims


def _check_classes(classes: Any) -> tuple[Any, ...]:
    if isinstance(classes, (str, bytes)) or not isinstance(classes, (Sequence, np.ndarray)):
        raise TypeError(f"'classes' must be a sequence of labels, got {type(classes).__name__}")
    out = []
    for c in classes:
        c = c.item() if isinstance(c, np.generic) else c
        if not isinstance(c, (str, numbers.Integral, float)) or (isinstance(c, float) and not math.isfinite(c)):
            raise TypeError(f"'classes' must hold str, int, float or bool labels, got {c!r}")
        out.append(c)
    if not out:
        raise ValueError("'classes' must be non-empty, got 0 labels")
    return tuple(out)


class Graph:
    """The deployed network: a chain of ops applied to ``x`` of shape ``(N, *input_shape)``.

    Builder methods (one per entry of :data:`OPS`) append one op, check its arguments against the
    running shape and return ``self``. Float params are rounded to the graph's ``dtype`` when
    added, so a graph read back from its packed file equals the one written.

    Args:
        input_shape: The shape of one input (without the batch axis), every size >= 1.
        classes: The class labels (str, int, float or bool), in logit order.
        decision: ``"argmax"``: the class is the first argmax of the logits (output shape
            ``(len(classes),)``); ``"threshold"``: one logit ``z`` (output shape ``(1,)``, two
            classes), class index 1 where ``z >= 0`` else 0.
        dtype: ``"float32"`` or ``"float64"``: every float op and stored float tensor.
        graph_input: True when forward also needs the normalised adjacency (``graph_conv``).
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        classes: Sequence[Any],
        *,
        decision: str = "argmax",
        dtype: str = "float32",
        graph_input: bool = False,
    ) -> None:
        self._input_shape = _check_shape("input_shape", input_shape)
        self._classes = _check_classes(classes)
        self._decision = check_choice("decision", decision, DECISIONS)
        if decision == "threshold" and len(self._classes) != 2:
            raise ValueError(f"'classes' must hold 2 labels for decision 'threshold', got {len(self._classes)}")
        self._dtype = check_choice("dtype", dtype, DTYPES)
        self._graph_input = check_bool("graph_input", graph_input)
        self._ops: list[_Op] = []
        self._shapes: list[tuple[int, ...]] = [self._input_shape]

    # ----------------------------------------------------------------------- views

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self._input_shape

    @property
    def classes(self) -> tuple[Any, ...]:
        return self._classes

    @property
    def decision(self) -> str:
        return self._decision

    @property
    def dtype(self) -> str:
        return self._dtype

    @property
    def graph_input(self) -> bool:
        return self._graph_input

    @property
    def shape(self) -> tuple[int, ...]:
        """The running shape: one sample's shape after the last op (the logits' at the end)."""
        return self._shapes[-1]

    @property
    def shapes(self) -> tuple[tuple[int, ...], ...]:
        """One sample's shape before op 0, 1, ..., and after the last op."""
        return tuple(self._shapes)

    @property
    def ops(self) -> list[dict[str, Any]]:
        """The JSON-able op records: ``{"op": name, <attributes>, <role>: <param spec>}``."""
        return [_record(i, op) for i, op in enumerate(self._ops)]

    def op_list(self) -> list[tuple[str, dict[str, Any], dict[str, Param]]]:
        """``(name, attributes, params)`` per op, for the runners (copies of the dicts)."""
        return [(op.name, dict(op.attrs), dict(op.params)) for op in self._ops]

    def params(self) -> list[tuple[int, str, Param]]:
        """``(op index, role, param)`` for every param."""
        return [(i, role, p) for i, op in enumerate(self._ops) for role, p in op.params.items()]

    def __len__(self) -> int:
        return len(self._ops)

    def __repr__(self) -> str:
        names = ", ".join(op.name for op in self._ops)
        return f"Graph(input_shape={self._input_shape}, classes={len(self._classes)}, dtype={self._dtype!r}, ops=[{names}])"

    def with_classes(self, classes: Sequence[Any]) -> Graph:
        """A copy of this graph with other class labels (as many as before)."""
        labels = _check_classes(classes)
        if len(labels) != len(self._classes):
            raise ValueError(f"'classes' must hold {len(self._classes)} labels, got {len(labels)}")
        copy = Graph(self._input_shape, labels, decision=self._decision, dtype=self._dtype,
                     graph_input=self._graph_input)
        copy._ops, copy._shapes = list(self._ops), list(self._shapes)
        return copy

    def validate(self) -> Graph:
        """Check that the output fits ``decision`` (ValueError otherwise); return ``self``."""
        want = (len(self._classes),) if self._decision == "argmax" else (1,)
        if self.shape != want:
            raise ValueError(
                f"the graph's output must have shape {want} for decision {self._decision!r} "
                f"with {len(self._classes)} classes, got {self.shape}"
            )
        return self

    # ----------------------------------------------------------------------- builders

    def linear(self, weight: Param, bias: Param | None = None) -> Graph:
        """``y = x W^T + b``: ``(N, in) -> (N, out)``; weight ``(out, in)``, bias ``(out,)``."""
        (n_in,) = self._running("linear", 1)
        weight = self._param("linear", "weight", weight)
        _want("linear", "weight", weight, (None, n_in))
        bias = self._optional_bias("linear", bias, weight.shape[0])
        return self._append("linear", {}, {"weight": weight, "bias": bias}, (weight.shape[0],))

    def tie_linear(self, weight: Param, bias: Param | None = None, *, rel: float = 1e-12) -> Graph:
        """``linear`` whose logits within ``rel`` (relative to the magnitude of their products)
        of a tie count as tied (module docstring); ``rel`` in [0, 1)."""
        rel = check_float("rel", rel, 0.0)
        if rel >= 1.0:
            raise ValueError(f"'rel' must be a real number in [0, 1), got {rel!r}")
        (n_in,) = self._running("tie_linear", 1)
        weight = self._param("tie_linear", "weight", weight)
        _want("tie_linear", "weight", weight, (None, n_in))
        bias = self._optional_bias("tie_linear", bias, weight.shape[0])
        return self._append("tie_linear", {"rel": rel}, {"weight": weight, "bias": bias}, (weight.shape[0],))

    def conv2d(self, weight: Param, bias: Param | None = None, *, stride: int = 1, padding: int = 0) -> Graph:
        """``torch.nn.functional.conv2d(x, W, b, stride, padding)`` (groups 1, dilation 1):
        ``(N, C, H, W) -> (N, O, (H + 2p - kh) // s + 1, (W + 2p - kw) // s + 1)``."""
        c, h, w = self._running("conv2d", 3)
        stride = check_int("stride", stride, 1, _MAX_DIM)
        padding = check_int("padding", padding, 0, _MAX_DIM)
        weight = self._param("conv2d", "weight", weight)
        _want("conv2d", "weight", weight, (None, c, None, None))
        o, _, kh, kw = weight.shape
        if h + 2 * padding < kh or w + 2 * padding < kw:
            raise ValueError(
                f"'weight' of conv2d must have a kernel no larger than the padded input "
                f"{(h + 2 * padding, w + 2 * padding)}, got {(kh, kw)}"
            )
        bias = self._optional_bias("conv2d", bias, o)
        out = (o, (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1)
        attrs = {"stride": stride, "padding": padding}
        return self._append("conv2d", attrs, {"weight": weight, "bias": bias}, out)

    def graph_conv(self, weight: Param) -> Graph:
        """``y = A (x W^T)``, A the normalised adjacency given to forward (``graph_input``)."""
        if not self._graph_input:
            raise ValueError("graph_conv needs a graph built with graph_input=True, got graph_input=False")
        (n_in,) = self._running("graph_conv", 1)
        weight = self._param("graph_conv", "weight", weight)
        _want("graph_conv", "weight", weight, (None, n_in))
        return self._append("graph_conv", {}, {"weight": weight}, (weight.shape[0],))

    def sign(self, zero: float = 1.0) -> Graph:
        """``y = +1`` where ``x > 0``, ``-1`` where ``x < 0``, ``zero`` where ``x == 0``."""
        return self._append("sign", {"zero": check_float("zero", zero)}, {}, self.shape)

    def scale(self, c: float) -> Graph:
        """``y = c x``."""
        return self._append("scale", {"c": check_float("c", c)}, {}, self.shape)

    def relu(self) -> Graph:
        """``y = max(x, 0)``."""
        return self._append("relu", {}, {}, self.shape)

    def tanh(self) -> Graph:
        """``y = tanh(x)``."""
        return self._append("tanh", {}, {}, self.shape)

    def abs(self) -> Graph:
        """``y = |x|``."""
        return self._append("abs", {}, {}, self.shape)

    def pool2d(self, mode: str, output_size: int) -> Graph:
        """torch's adaptive average (``"avg"``) or max (``"max"``) pooling to
        ``output_size x output_size``: cell ``i`` of an axis of size ``H`` spans rows
        ``floor(i H / o) .. ceil((i + 1) H / o) - 1``. ``(N, C, H, W) -> (N, C, o, o)``."""
        c, _, _ = self._running("pool2d", 3)
        mode = check_choice("mode", mode, ("avg", "max"))
        output_size = check_int("output_size", output_size, 1, _MAX_DIM)
        attrs = {"mode": mode, "output_size": output_size}
        return self._append("pool2d", attrs, {}, (c, output_size, output_size))

    def flatten(self) -> Graph:
        """``(N, ...) -> (N, prod(...))`` in C order."""
        return self._append("flatten", {}, {}, (math.prod(self.shape),))

    def standardize(self, mean: Param, std: Param) -> Graph:
        """``y = (x - mean) / std``; mean and std of the trailing dims of x, std > 0."""
        mean = self._trailing("standardize", "mean", mean)
        std = self._trailing("standardize", "std", std)
        if (std.values <= 0).any():
            raise ValueError(f"'std' of standardize must be > 0, got {_first(std.values, std.values <= 0)!r}")
        return self._append("standardize", {}, {"mean": mean, "std": std}, self.shape)

    def clip(self, low: Param, high: Param) -> Graph:
        """``y = min(max(x, low), high)``; low <= high, of the trailing dims of x."""
        low, high = self._bounds("clip", low, high)
        return self._append("clip", {}, {"low": low, "high": high}, self.shape)

    def round_to_unit(self, unit: float) -> Graph:
        """``y = rint(x / unit) * unit`` (half to even, as numpy's rint)."""
        unit = check_float("unit", unit, 0.0, low_open=True)
        return self._append("round_to_unit", {"unit": unit}, {}, self.shape)

    def quantize(self, low: Param, high: Param, bits: int) -> Graph:
        """The K-bit grid of :func:`hybridqnn.problems.fip.quantize_activation` (ties even):
        ``step = (high - low) / (2^K - 1)``, ``y = low + step * clip(rint((x - low) / step), 0,
        2^K - 1)``, and ``y = low`` where ``high == low`` (all in the graph's dtype)."""
        bits = check_int("bits", bits, 1, 32)
        low, high = self._bounds("quantize", low, high)
        return self._append("quantize", {"bits": bits}, {"low": low, "high": high}, self.shape)

    def spline(self, knots: Param, slopes: Param, intercepts: Param) -> Graph:
        """A linear spline per feature j (last axis of x), as
        :class:`hybridqnn.nn.splines.SplineActivation`: ``k = clamp(#{i: t_ji <= x} - 1, 0,
        M_j - 1)``, ``y = alpha_jk x + beta_jk``. knots ``(F, M+1)``: per row ``M_j + 1 >= 2``
        non-decreasing finite knots, then ``+inf`` padding; slopes, intercepts ``(F, M)``, padded
        with 0."""
        if not self.shape:
            raise ValueError("spline needs an input with a feature axis, got shape ()")
        f = self.shape[-1]
        knots = self._param("spline", "knots", knots, allow_inf=True)
        _want("spline", "knots", knots, (f, None))
        m = knots.shape[1] - 1
        slopes = self._param("spline", "slopes", slopes)
        intercepts = self._param("spline", "intercepts", intercepts)
        _want("spline", "slopes", slopes, (f, m))
        _want("spline", "intercepts", intercepts, (f, m))
        _check_knots(knots.values, slopes.values, intercepts.values)
        params = {"knots": knots, "slopes": slopes, "intercepts": intercepts}
        return self._append("spline", {}, params, self.shape)

    # ----------------------------------------------------------------------- helpers

    def _append(self, name: str, attrs: dict[str, Any], params: dict[str, Param | None], out: tuple[int, ...]) -> Graph:
        kept = {role: p for role, p in params.items() if p is not None}
        self._ops.append(_Op(name, attrs, kept))
        self._shapes.append(tuple(out))
        return self

    def _running(self, op: str, ndim: int) -> tuple[int, ...]:
        if len(self.shape) != ndim:
            want = {1: "(N, features)", 3: "(N, C, H, W)"}[ndim]
            raise ValueError(f"{op} needs an input of shape {want}, got (N, {', '.join(map(str, self.shape))})")
        return self.shape

    def _param(self, op: str, role: str, p: Any, *, allow_inf: bool = False) -> Param:
        if not isinstance(p, Param):
            raise TypeError(f"{role!r} of {op} must be a Param, got {type(p).__name__}")
        if p.encoding == "float":
            p = Param(p.values.astype(self._dtype).astype(np.float64), "float")
        ok = np.isfinite(p.values) | (allow_inf & (p.values == np.inf))
        if not ok.all():
            raise ValueError(f"{role!r} of {op} must be finite, got {_first(p.values, ~ok)!r}")
        return p

    def _optional_bias(self, op: str, bias: Param | None, out: int) -> Param | None:
        if bias is None:
            return None
        bias = self._param(op, "bias", bias)
        _want(op, "bias", bias, (out,))
        return bias

    def _trailing(self, op: str, role: str, p: Any) -> Param:
        p = self._param(op, role, p)
        tail = self.shape[len(self.shape) - p.values.ndim:] if p.values.ndim else ()
        if p.values.ndim > len(self.shape) or p.shape != tail:
            raise ValueError(
                f"{role!r} of {op} must have the trailing dims of the input shape {self.shape}, got {p.shape}"
            )
        return p

    def _bounds(self, op: str, low: Any, high: Any) -> tuple[Param, Param]:
        low = self._trailing(op, "low", low)
        high = self._trailing(op, "high", high)
        if low.shape != high.shape:
            raise ValueError(f"'high' of {op} must have the shape of 'low' {low.shape}, got {high.shape}")
        if (high.values < low.values).any():
            raise ValueError(f"'high' of {op} must be >= 'low', got {_first(high.values, high.values < low.values)!r}")
        return low, high

    # ----------------------------------------------------------------------- JSON

    def to_json(self) -> dict[str, Any]:
        """The graph's JSON (the packed file's ``graph`` metadata)."""
        return {
            "input_shape": list(self._input_shape),
            "classes": list(self._classes),
            "decision": self._decision,
            "dtype": self._dtype,
            "graph_input": self._graph_input,
            "ops": self.ops,
        }

    def tensors(self) -> dict[str, np.ndarray]:
        """The stored tensors, by name ``op<i>.<role>``: floats in the graph's dtype, uniform
        params as packed ``uint8`` codes."""
        out = {}
        for i, role, p in self.params():
            if p.encoding == "float":
                out[f"op{i}.{role}"] = np.ascontiguousarray(p.values.astype(self._dtype))
            else:
                out[f"op{i}.{role}"] = pack_codes(p.codes, p.bits)
        return out

    @classmethod
    def from_json(cls, spec: Any, tensors: Mapping[str, np.ndarray]) -> Graph:
        """The graph described by ``spec`` (as :meth:`to_json`) with its stored ``tensors``.

        Raises:
            ValueError: anything missing, extra, mistyped or inconsistent (one line).
        """
        spec = _keys("graph", spec, ("input_shape", "classes", "decision", "dtype", "graph_input", "ops"))
        graph = _call("graph", lambda: cls(
            spec["input_shape"], spec["classes"], decision=spec["decision"], dtype=spec["dtype"],
            graph_input=spec["graph_input"],
        ))
        if not isinstance(spec["ops"], list):
            raise ValueError(f"'ops' must be a list, got {type(spec['ops']).__name__}")
        used: set[str] = set()
        for i, record in enumerate(spec["ops"]):
            _add_record(graph, i, record, tensors, used)
        extra = sorted(set(tensors) - used)
        if extra:
            raise ValueError(f"the tensors must all belong to ops, got unused tensor {extra[0]!r}")
        return _call("graph", graph.validate)


def _want(op: str, role: str, p: Param, shape: tuple[int | None, ...]) -> None:
    ok = len(p.shape) == len(shape) and all(w is None or w == d for w, d in zip(shape, p.shape, strict=True))
    if not ok or any(d < 1 for d in p.shape):
        want = "(" + ", ".join("k" if w is None else str(w) for w in shape) + (",)" if len(shape) == 1 else ")")
        raise ValueError(f"{role!r} of {op} must have shape {want} with every size >= 1, got {p.shape}")


def _check_knots(knots: np.ndarray, slopes: np.ndarray, intercepts: np.ndarray) -> None:
    finite = np.isfinite(knots)
    n = finite.sum(axis=1)
    if (n < 2).any() or not np.array_equal(finite, np.arange(knots.shape[1]) < n[:, None]):
        raise ValueError("'knots' of spline must hold per row >= 2 finite knots followed by +inf padding")
    if ((knots[:, 1:] < knots[:, :-1]) & finite[:, 1:]).any():
        raise ValueError("'knots' of spline must be non-decreasing per row")
    padded = np.arange(slopes.shape[1]) >= (n - 1)[:, None]
    if (slopes[padded] != 0).any() or (intercepts[padded] != 0).any():
        raise ValueError("'slopes' and 'intercepts' of spline must be 0 beyond each row's last segment")


def _record(i: int, op: _Op) -> dict[str, Any]:
    rec: dict[str, Any] = {"op": op.name, **op.attrs}
    for role, p in op.params.items():
        spec: dict[str, Any] = {"tensor": f"op{i}.{role}", "shape": list(p.shape), "encoding": p.encoding}
        if p.encoding == "uniform":
            spec.update(bits=p.bits, levels=p.levels, offset=p.offset, step=p.step)
        rec[role] = spec
    return rec


# --------------------------------------------------------------------------- reading records


def _call(where: str, fn: Callable[[], Any]) -> Any:
    """Run a builder; its TypeError/ValueError becomes one ValueError line prefixed by ``where``."""
    try:
        return fn()
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"{where}: {exc}") from None


def _keys(where: str, value: Any, required: Sequence[str], optional: Sequence[str] = ()) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{where} must be a JSON object, got {type(value).__name__}")
    missing = [k for k in required if k not in value]
    if missing:
        raise ValueError(f"{where} must have the key {missing[0]!r}, got keys {sorted(map(str, value))}")
    extra = [k for k in value if k not in required and k not in optional]
    if extra:
        raise ValueError(f"{where} has an unknown key {extra[0]!r}")
    return value


def _add_record(graph: Graph, i: int, record: Any, tensors: Mapping[str, np.ndarray], used: set[str]) -> None:
    if not isinstance(record, dict) or not isinstance(record.get("op"), str) or record["op"] not in OPS:
        got = record.get("op") if isinstance(record, dict) else record
        raise ValueError(f"op {i} must be an object whose 'op' is one of {', '.join(OPS)}; got {str(got)[:40]!r}")
    name = record["op"]
    spec = OPS[name]
    where = f"op {i} ({name})"
    _keys(where, record, ("op", *spec.params, *spec.attrs), spec.optional)
    params = {
        role: _param_from_spec(f"{where} {role}", record[role], f"op{i}.{role}", graph.dtype, tensors, used)
        for role in (*spec.params, *spec.optional) if role in record
    }
    attrs = {a: record[a] for a in spec.attrs}
    _call(where, lambda: getattr(graph, name)(**params, **attrs))


def _param_from_spec(
    where: str, spec: Any, name: str, dtype: str, tensors: Mapping[str, np.ndarray], used: set[str]
) -> Param:
    spec = _keys(where, spec, ("tensor", "shape", "encoding"), ("bits", "levels", "offset", "step"))
    if spec["tensor"] != name or name not in tensors:
        raise ValueError(f"{where}: 'tensor' must name the stored tensor {name!r}, got {str(spec['tensor'])[:40]!r}")
    used.add(name)
    shape = _call(where, lambda: _check_shape("shape", spec["shape"], 0))
    count = math.prod(shape)
    data = tensors[name]
    if spec["encoding"] == "float":
        _keys(where, spec, ("tensor", "shape", "encoding"))
        if data.dtype != np.dtype(dtype) or tuple(data.shape) != shape:
            raise ValueError(f"{where}: tensor {name!r} must be {dtype} of shape {shape}, got {data.dtype} of shape {tuple(data.shape)}")
        return _call(where, lambda: Param(data.astype(np.float64), "float"))
    if spec["encoding"] != "uniform":
        raise ValueError(f"{where}: 'encoding' must be one of float, uniform; got {str(spec['encoding'])[:40]!r}")
    spec = _keys(where, spec, ("tensor", "shape", "encoding", "bits", "levels", "offset", "step"))
    bits = _call(where, lambda: check_int("bits", spec["bits"], 1, 32))
    levels = _call(where, lambda: check_int("levels", spec["levels"], 1, 2**bits))
    if data.dtype != np.uint8 or data.ndim != 1 or data.size != packed_size(count, bits):
        raise ValueError(
            f"{where}: tensor {name!r} must be uint8 of shape ({packed_size(count, bits)},), "
            f"got {data.dtype} of shape {tuple(data.shape)}"
        )
    codes = _call(where, lambda: unpack_codes(data, bits, count))
    if codes.size and codes.max() >= levels:
        raise ValueError(f"{where}: codes must be < levels = {levels}, got {int(codes.max())}")
    offset = _call(where, lambda: check_float("offset", spec["offset"]))
    step = _call(where, lambda: check_float("step", spec["step"], 0.0, low_open=True))
    values = offset + step * codes.reshape(shape).astype(np.float64)
    return _call(where, lambda: uniform_param(values, bits=bits, levels=levels, offset=offset, step=step))


# --------------------------------------------------------------------------- files


def _safetensors() -> Any:
    try:
        import safetensors.numpy
    except ImportError:  # pragma: no cover - the extra is part of dev
        raise ImportError("packed files need safetensors: pip install 'hybridqnn[export]'") from None
    return safetensors


def write_packed(graph: Graph, path: str | os.PathLike[str]) -> Path:
    """Write ``graph`` to the packed file ``path`` (safetensors, atomically); return the path."""
    if not isinstance(graph, Graph):
        raise TypeError(f"'graph' must be a Graph, got {type(graph).__name__}")
    graph.validate()
    metadata = {"format": FORMAT, "format_version": FORMAT_VERSION, "graph": json.dumps(graph.to_json())}
    data = _safetensors().numpy.save(graph.tensors(), metadata=metadata)
    return atomic_write_bytes(path, data)


def read_packed(path: str | os.PathLike[str]) -> Graph:
    """Read a packed file written by :func:`write_packed`, validating everything.

    Raises:
        InputFileError: one line naming the file and the problem (no file, not a safetensors file,
            truncated, another format or a newer version, any field missing, mistyped or
            inconsistent with the tensors).
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path}: no packed model file there")
    try:
        tensors, metadata = _load(path)
        return _graph_from_metadata(metadata, tensors)
    except ValueError as exc:
        line = " ".join(str(exc).split())
        raise InputFileError(f"{path}: {line}") from None


def _load(path: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    st = _safetensors()
    try:
        with st.safe_open(str(path), framework="numpy") as fh:
            metadata = fh.metadata() or {}
            tensors = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118 - safe_open has no __iter__
    except Exception as exc:  # safetensors raises its own error types on garbage
        raise ValueError(f"not a readable safetensors file ({type(exc).__name__}: {exc})") from None
    return tensors, metadata


def _graph_from_metadata(metadata: dict[str, str], tensors: dict[str, np.ndarray]) -> Graph:
    _keys("the file's metadata", metadata, ("format", "format_version", "graph"))
    if metadata["format"] != FORMAT:
        raise ValueError(f"'format' must be {FORMAT!r}, got {metadata['format'][:40]!r}")
    version = metadata["format_version"]
    if version.isdigit() and FORMAT_VERSION.isdigit() and int(version) > int(FORMAT_VERSION):
        raise ValueError(
            f"written in packed format version {version} by a newer hybridqnn; this hybridqnn reads "
            f"version {FORMAT_VERSION}: upgrade hybridqnn"
        )
    if version != FORMAT_VERSION:
        raise ValueError(
            f"'format_version' must be {FORMAT_VERSION!r} (this hybridqnn reads version {FORMAT_VERSION}), "
            f"got {metadata['format_version'][:40]!r}"
        )
    try:
        spec = json.loads(metadata["graph"])
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"'graph' must be valid JSON ({exc})") from None
    try:
        return Graph.from_json(spec, tensors)
    except RecursionError:
        raise ValueError("'graph' is nested too deeply") from None
    except (TypeError, KeyError, IndexError, AttributeError, OverflowError) as exc:  # a net under the checks
        raise ValueError(f"malformed 'graph' ({type(exc).__name__}: {exc})") from None
