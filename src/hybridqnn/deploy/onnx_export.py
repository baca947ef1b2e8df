"""ONNX export of a deployed :class:`~hybridqnn.deploy.graph.Graph` (built with ``onnx.helper``).

The ONNX model is the deployed network, not the latent torch model: its input is ``x``
(``[N, *input_shape]``, the graph's dtype) and its outputs are ``logits`` and ``label_index``
(int64: the first argmax of the logits, or ``logits[:, 0] >= 0`` for a ``"threshold"``
decision). Opset 17, IR version 8 (read by onnxruntime 1.18 and newer). The class labels and the
decision are kept in the model's ``metadata_props`` (``classes`` as JSON, ``decision``).

How each op is expressed (every computation in the graph's dtype, as the NumPy reference does):

* a float param is an initializer in the graph's dtype; a uniform param is an initializer of its
  integer codes (``uint8``, or ``uint16`` / ``uint32`` for more than 8 / 16 bits), decoded in the
  graph by ``Cast(double) -> Mul(step) -> Add(offset) -> Cast(dtype)``, the reference's float64
  decoding; runtimes fold this constant subgraph once at load;
* ``linear`` -> ``Gemm(transB=1)``; ``conv2d`` -> ``Conv`` (float64 graphs: a sum of strided
  ``Slice`` x ``MatMul`` over the kernel offsets, as onnxruntime has no float64 ``Conv``); ``relu``/``tanh``/``abs`` -> the
  same-named ops; ``scale`` -> ``Mul``; ``flatten`` -> ``Flatten(axis=1)``; ``standardize`` ->
  ``Sub``, ``Div``; ``clip`` -> ``Max``, ``Min`` (per-feature bounds);
* ``sign`` -> ``Where(Greater(x, 0), 1, Where(Less(x, 0), -1, zero))``, so sign(0) = ``zero``;
* ``round_to_unit`` and ``quantize`` -> ``Round``, which rounds half to even as numpy's rint;
* ``pool2d`` -> ``AveragePool`` / ``MaxPool`` with kernel = stride = ``(H / o, W / o)``, which
  is torch's adaptive pooling when ``H`` and ``W`` are multiples of ``o`` (float64 graphs:
  ``Reshape`` into blocks and ``ReduceMean`` / ``ReduceMax``, as onnxruntime has no float64
  ``AveragePool``); other sizes raise
  :class:`~hybridqnn.deploy.graph.NotExportableError`;
* ``spline`` -> ``Unsqueeze``, ``GreaterOrEqual`` against the knots, ``Cast``, ``ReduceSum``
  (the segment index), ``Max``/``Min`` (clamped per feature) and ``Gather`` of the slopes and
  intercepts;
* ``tie_linear`` -> two ``Gemm`` (z, and t from ``Abs`` of x, W and b), then ``Where`` over
  ``GreaterOrEqual`` / ``Less`` against 0 (one output) or ``ReduceMax`` of z and t (several);
* ``graph_conv`` (a graph input: the adjacency) raises ``NotExportableError``.

``onnx`` is imported here only, when a model is exported; ``onnxruntime`` only by the tests.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from hybridqnn._files import atomic_write_bytes
from hybridqnn.deploy.graph import Graph, NotExportableError, Param

__all__ = ["IR_VERSION", "OPSET", "to_onnx", "write_onnx"]

OPSET = 17
IR_VERSION = 8


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:  # pragma: no cover - the extra is part of dev
        raise ImportError("ONNX export needs onnx: pip install 'hybridqnn[export]'") from None
    return onnx


class _Builder:
    """Collects nodes and initializers; every tensor gets a fresh name."""

    def __init__(self, onnx: Any, dtype: str) -> None:
        self.onnx = onnx
        self.dtype = np.dtype(dtype)
        self.elem = onnx.helper.np_dtype_to_tensor_dtype(self.dtype)
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self._count = 0

    def _name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, hint: str, value: Any, dtype: Any = None) -> str:
        name = self._name(hint)
        array = np.asarray(value, dtype=self.dtype if dtype is None else dtype)
        self.inits.append(self.onnx.numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(self, op_type: str, inputs: list[str], hint: str = "", output: str | None = None, **attrs: Any) -> str:
        out = output or self._name(hint or op_type.lower())
        self.nodes.append(self.onnx.helper.make_node(op_type, inputs, [out], name=f"n{len(self.nodes)}_{op_type}", **attrs))
        return out

    def param(self, hint: str, p: Param) -> str:
        """The decoded param in the graph's dtype (a float initializer, or codes + affine)."""
        if p.encoding == "float":
            return self.const(hint, p.values)
        utype = np.uint8 if p.bits <= 8 else np.uint16 if p.bits <= 16 else np.uint32
        codes = self.const(f"{hint}_codes", p.codes, utype)
        x = self.node("Cast", [codes], to=self.onnx.TensorProto.DOUBLE)
        x = self.node("Mul", [x, self.const("step", p.step, np.float64)])
        x = self.node("Add", [x, self.const("offset", p.offset, np.float64)])
        return x if self.dtype == np.float64 else self.node("Cast", [x], hint, to=self.elem)


def to_onnx(graph: Graph) -> Any:
    """The ONNX ``ModelProto`` of ``graph`` (checked with ``onnx.checker``).

    Raises:
        NotExportableError: a ``graph_conv`` (graph input), or adaptive pooling whose input size
            is not a multiple of its output size.
    """
    if not isinstance(graph, Graph):
        raise TypeError(f"'graph' must be a Graph, got {type(graph).__name__}")
    graph.validate()
    if graph.graph_input:
        raise NotExportableError(
            "graph_conv (a graph with graph_input=True) cannot be expressed in ONNX: it needs the "
            "adjacency as a second input beside x"
        )
    onnx = _onnx()
    b = _Builder(onnx, graph.dtype)
    x = "x"
    for i, (name, attrs, params) in enumerate(graph.op_list()):
        decoded = {role: b.param(f"op{i}_{role}", p) for role, p in params.items()}
        x = _EMIT[name](b, x, shape=graph.shapes[i], params=params, **attrs, **decoded)
    _outputs(b, graph, x)
    helper = onnx.helper
    dims = ["N", *graph.input_shape]
    onnx_graph = helper.make_graph(
        b.nodes, "hybridqnn_deployed",
        [helper.make_tensor_value_info("x", b.elem, dims)],
        [helper.make_tensor_value_info("logits", b.elem, ["N", *graph.shape]),
         helper.make_tensor_value_info("label_index", onnx.TensorProto.INT64, ["N"])],
        b.inits,
    )
    from hybridqnn import __version__

    model = helper.make_model(
        onnx_graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION,
        producer_name="hybridqnn", producer_version=__version__,
    )
    helper.set_model_props(model, {"classes": json.dumps(list(graph.classes)), "decision": graph.decision})
    onnx.checker.check_model(model, full_check=True)
    return model


def write_onnx(graph: Graph, path: str | os.PathLike[str]) -> Path:
    """Write :func:`to_onnx` of ``graph`` to ``path`` (atomically); return the path."""
    return atomic_write_bytes(path, to_onnx(graph).SerializeToString())


def _outputs(b: _Builder, graph: Graph, x: str) -> None:
    b.node("Identity", [x], output="logits")
    if graph.decision == "argmax":
        b.node("ArgMax", ["logits"], output="label_index", axis=1, keepdims=0, select_last_index=0)
        return
    z = b.node("Squeeze", ["logits", b.const("axes", [1], np.int64)])
    ge = b.node("GreaterOrEqual", [z, b.const("zero", 0.0)])
    b.node("Cast", [ge], output="label_index", to=b.onnx.TensorProto.INT64)


# --------------------------------------------------------------------------- ops
# Each takes the builder, the running tensor's name, the op's attributes and decoded params
# (tensor names), ``shape`` (one sample's shape before the op) and ``params`` (the op's Params);
# it returns the output's name.


def _linear(b: _Builder, x: str, *, weight: str, bias: str | None = None, **_: Any) -> str:
    return b.node("Gemm", [x, weight] + ([bias] if bias else []), transB=1)


def _conv2d(
    b: _Builder, x: str, *, weight: str, stride: int, padding: int, shape: tuple[int, ...],
    params: dict[str, Param], bias: str | None = None, **_: Any,
) -> str:
    if b.dtype == np.float32:
        inputs = [x, weight] + ([bias] if bias else [])
        return b.node("Conv", inputs, strides=[stride, stride], pads=[padding] * 4, group=1, dilations=[1, 1])
    return _conv2d_double(b, x, weight, bias, stride, padding, shape, params["weight"].shape)


def _conv2d_double(
    b: _Builder, x: str, weight: str, bias: str | None, stride: int, padding: int,
    shape: tuple[int, ...], kernel: tuple[int, ...],
) -> str:
    """conv2d in float64, which onnxruntime's Conv lacks: the sum over kernel offsets (i, j) of
    the strided window of x (N, ho, wo, C) times W[:, :, i, j]^T (C, O), as the reference does."""
    _, h, w = shape
    o, c, kh, kw = kernel
    ho, wo = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
    if padding:
        pads = b.const("pads", [0, 0, padding, padding, 0, 0, padding, padding], np.int64)
        x = b.node("Pad", [x, pads], mode="constant")
    x = b.node("Transpose", [x], perm=[0, 2, 3, 1])
    axes, steps = b.const("axes", [1, 2], np.int64), b.const("steps", [stride, stride], np.int64)
    w_axes, w_shape = b.const("axes", [2, 3], np.int64), b.const("shape", [o, c], np.int64)
    terms = []
    for i in range(kh):
        for j in range(kw):
            ends = [i + stride * (ho - 1) + 1, j + stride * (wo - 1) + 1]
            window = b.node("Slice", [x, b.const("starts", [i, j], np.int64), b.const("ends", ends, np.int64), axes, steps])
            w_ij = b.node("Slice", [weight, b.const("starts", [i, j], np.int64), b.const("ends", [i + 1, j + 1], np.int64), w_axes])
            w_ij = b.node("Transpose", [b.node("Reshape", [w_ij, w_shape])], perm=[1, 0])
            terms.append(b.node("MatMul", [window, w_ij]))
    y = b.node("Sum", terms) if len(terms) > 1 else terms[0]
    if bias:
        y = b.node("Add", [y, bias])
    return b.node("Transpose", [y], perm=[0, 3, 1, 2])


def _graph_conv(b: _Builder, x: str, **_: Any) -> str:  # pragma: no cover - refused in to_onnx
    raise NotExportableError("graph_conv cannot be expressed in ONNX: it needs the adjacency as an input")


def _sign(b: _Builder, x: str, *, zero: float, **_: Any) -> str:
    z = b.const("zero", 0.0)
    inner = b.node("Where", [b.node("Less", [x, z]), b.const("minus_one", -1.0), b.const("sign_zero", zero)])
    return b.node("Where", [b.node("Greater", [x, z]), b.const("one", 1.0), inner])


def _pool2d(b: _Builder, x: str, *, mode: str, output_size: int, shape: tuple[int, ...], **_: Any) -> str:
    _, h, w = shape
    if h % output_size or w % output_size:
        raise NotExportableError(
            f"pool2d from {h}x{w} to {output_size}x{output_size} cannot be expressed in ONNX: "
            f"adaptive pooling is exported only when the input size is a multiple of the output size"
        )
    kernel = [h // output_size, w // output_size]
    if b.dtype == np.float32:
        return b.node("AveragePool" if mode == "avg" else "MaxPool", [x], kernel_shape=kernel, strides=kernel)
    # float64 (onnxruntime has no double AveragePool): blocks (N, C, o, kh, o, kw), reduced
    blocks = b.const("shape", [0, shape[0], output_size, kernel[0], output_size, kernel[1]], np.int64)
    return b.node("ReduceMean" if mode == "avg" else "ReduceMax", [b.node("Reshape", [x, blocks])], axes=[3, 5], keepdims=0)


def _quantize(b: _Builder, x: str, *, low: str, high: str, bits: int, **_: Any) -> str:
    top = b.const("top", 2**bits - 1)
    step = b.node("Div", [b.node("Sub", [high, low]), top])
    positive = b.node("Greater", [step, b.const("zero", 0.0)])
    safe = b.node("Where", [positive, step, b.const("one", 1.0)])
    index = b.node("Round", [b.node("Div", [b.node("Sub", [x, low]), safe])])
    index = b.node("Clip", [index, b.const("zero", 0.0), top])
    return b.node("Where", [positive, b.node("Add", [low, b.node("Mul", [index, step])]), low])


def _spline(
    b: _Builder, x: str, *, knots: str, slopes: str, intercepts: str, params: dict[str, Param], **_: Any
) -> str:
    """k = clamp(#{i: t_ji <= x} - 1, 0, M_j - 1), gathered from the flattened (F * M) tables;
    M_j, the finite knots of row j minus one, is read from the param at export."""
    f, m1 = params["knots"].shape
    m = m1 - 1
    last = np.isfinite(params["knots"].values).sum(axis=1) - 2
    i64 = b.onnx.TensorProto.INT64
    ge = b.node("GreaterOrEqual", [b.node("Unsqueeze", [x, b.const("axes", [-1], np.int64)]), knots])
    count = b.node("ReduceSum", [b.node("Cast", [ge], to=i64), b.const("axes", [-1], np.int64)], keepdims=0)
    k = b.node("Sub", [count, b.const("one", 1, np.int64)])
    k = b.node("Min", [b.node("Max", [k, b.const("zero", 0, np.int64)]), b.const("last", last, np.int64)])
    flat = b.node("Add", [k, b.const("offsets", np.arange(f) * m, np.int64)])
    minus_one = b.const("flat_shape", [-1], np.int64)
    alpha = b.node("Gather", [b.node("Reshape", [slopes, minus_one]), flat], axis=0)
    beta = b.node("Gather", [b.node("Reshape", [intercepts, minus_one]), flat], axis=0)
    return b.node("Add", [b.node("Mul", [alpha, x]), beta])


def _tie_linear(
    b: _Builder, x: str, *, weight: str, rel: float, params: dict[str, Param], bias: str | None = None, **_: Any
) -> str:
    """``linear`` with its near-ties snapped to ties, as the reference computes it."""
    z = _linear(b, x, weight=weight, bias=bias)
    abs_bias = b.node("Abs", [bias]) if bias else None
    t = _linear(b, b.node("Abs", [x]), weight=b.node("Abs", [weight]), bias=abs_bias)
    t = b.node("Mul", [t, b.const("rel", rel)])
    if params["weight"].shape[0] == 1:
        zero = b.const("zero", 0.0)
        near = b.node("And", [b.node("Less", [z, zero]), b.node("GreaterOrEqual", [z, b.node("Neg", [t])])])
        return b.node("Where", [near, zero, z])
    top = b.node("ReduceMax", [z], axes=[1], keepdims=1)
    threshold = b.node("Sub", [b.node("Sub", [top, t]), b.node("ReduceMax", [t], axes=[1], keepdims=1)])
    return b.node("Where", [b.node("GreaterOrEqual", [z, threshold]), top, z])


_EMIT: dict[str, Any] = {
    "linear": _linear,
    "conv2d": _conv2d,
    "graph_conv": _graph_conv,
    "sign": _sign,
    "scale": lambda b, x, *, c, **_: b.node("Mul", [x, b.const("c", c)]),
    "relu": lambda b, x, **_: b.node("Relu", [x]),
    "tanh": lambda b, x, **_: b.node("Tanh", [x]),
    "abs": lambda b, x, **_: b.node("Abs", [x]),
    "pool2d": _pool2d,
    "flatten": lambda b, x, **_: b.node("Flatten", [x], axis=1),
    "standardize": lambda b, x, *, mean, std, **_: b.node("Div", [b.node("Sub", [x, mean]), std]),
    "clip": lambda b, x, *, low, high, **_: b.node("Min", [b.node("Max", [x, low]), high]),
    "round_to_unit": lambda b, x, *, unit, **_: b.node(
        "Mul", [b.node("Round", [b.node("Div", [x, b.const("unit", unit)])]), b.const("unit", unit)]
    ),
    "quantize": _quantize,
    "spline": _spline,
    "tie_linear": _tie_linear,
}


def run_onnx(model: Any, x: Any) -> Any:
    """``label_index`` of an exported model (a path or a ``ModelProto``) on inputs ``x``, run by
    onnxruntime on the CPU (``x`` is cast to the model's input type)."""
    import numpy as np
    import onnxruntime as ort

    data = Path(model).read_bytes() if isinstance(model, (str, os.PathLike)) else model.SerializeToString()
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    spec = session.get_inputs()[0]
    dtype = np.float64 if spec.type == "tensor(double)" else np.float32
    return session.run(["label_index"], {spec.name: np.asarray(x, dtype=dtype)})[0]
