"""ONNX export: onnxruntime equals the NumPy reference on every expressible op (float32 and
float64), uniform weights travel as integer codes, and what cannot be expressed says so."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from deploy_graphs import every_op_graph, graph_conv_graph

from hybridqnn.deploy import onnx_export, reference
from hybridqnn.deploy.graph import (
    OPS,
    Graph,
    NotExportableError,
    float_param,
    sign_param,
    uniform_param,
)
from hybridqnn.deploy.onnx_export import to_onnx, write_onnx
from hybridqnn.deploy.reference import forward, predict

TOL = {"float32": 2e-5, "float64": 1e-12}


def _run(graph: Graph, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(), options, providers=["CPUExecutionProvider"])
    logits, labels = session.run(["logits", "label_index"], {"x": x.astype(graph.dtype)})
    return logits, labels


def _smooth_graph(dtype: str) -> Graph:
    """Continuous logits (no sign or rounding at the end), so differences show."""
    rng = np.random.default_rng(3)
    g = Graph((1, 9, 8), list(range(4)), dtype=dtype)
    g.conv2d(uniform_param(rng.integers(0, 7, size=(4, 1, 3, 3)) * 0.1, bits=3, offset=0.0, step=0.1), stride=2, padding=1)
    g.tanh().pool2d("max", 1).flatten().scale(0.7)
    g.spline(float_param([[-1.0, 0.0, 1.0]] * 4), float_param([[0.5, 2.0]] * 4), float_param([[0.0, 0.0]] * 4))
    g.linear(float_param(rng.normal(size=(4, 4))), float_param(rng.normal(size=4)))
    return g.validate()


def test_the_runners_cover_the_vocabulary() -> None:
    assert set(reference._RUN) == set(OPS) == set(onnx_export._EMIT)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("build", [every_op_graph, _smooth_graph])
def test_onnxruntime_equals_the_reference(dtype: str, build) -> None:
    g = build(dtype)
    x = np.random.default_rng(1).normal(size=(50, *g.input_shape)) * 2
    logits, labels = _run(g, x)
    ref = forward(g, x)
    assert logits.dtype == np.dtype(dtype) and labels.dtype == np.int64
    assert np.abs(logits - ref).max() <= TOL[dtype] * max(1.0, np.abs(ref).max())
    np.testing.assert_array_equal(labels, predict(g, x))


def test_threshold_decision_and_metadata() -> None:
    g = Graph((3,), ["neg", "pos"], decision="threshold").linear(sign_param([[1.0, -1.0, 1.0]]))
    x = np.array([[1.0, 1.0, 0.0], [0.0, 2.0, 1.0], [0.0, 1.0, 0.5]], dtype=np.float32)
    logits, labels = _run(g, x)
    assert labels.tolist() == [1, 0, 0] == predict(g, x).tolist()
    assert logits.shape == (3, 1)
    props = {p.key: p.value for p in to_onnx(g).metadata_props}
    assert json.loads(props["classes"]) == ["neg", "pos"] and props["decision"] == "threshold"


def test_uniform_weights_are_integer_codes() -> None:
    g = Graph((4,), [0, 1, 2])
    g.linear(sign_param(np.ones((3, 4))))
    g.linear(uniform_param(np.arange(9).reshape(3, 3) * 0.5, bits=12, offset=0.0, step=0.5))
    inits = {i.name.split("_codes")[0]: onnx.numpy_helper.to_array(i) for i in to_onnx(g).graph.initializer if "_codes" in i.name}
    assert inits["op0_weight"].dtype == np.uint8 and inits["op0_weight"].tolist() == [[1] * 4] * 3
    assert inits["op1_weight"].dtype == np.uint16 and inits["op1_weight"].tolist() == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert not [i for i in to_onnx(g).graph.initializer if i.data_type == onnx.TensorProto.FLOAT and i.dims]


def test_not_exportable() -> None:
    with pytest.raises(NotExportableError, match="graph_conv .* cannot be expressed in ONNX: it needs the adjacency"):
        to_onnx(graph_conv_graph())
    g = Graph((2, 7, 6), list(range(18))).pool2d("avg", 3).flatten()
    with pytest.raises(NotExportableError, match="pool2d from 7x6 to 3x3 cannot be expressed in ONNX"):
        to_onnx(g)
    assert issubclass(NotExportableError, ValueError)
    with pytest.raises(TypeError, match="'graph' must be a Graph"):
        to_onnx(None)


def test_write_onnx(tmp_path) -> None:
    g = every_op_graph()
    path = write_onnx(g, tmp_path / "m.onnx")
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    assert [o.name for o in model.graph.output] == ["logits", "label_index"]
    assert model.opset_import[0].version == onnx_export.OPSET
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]
