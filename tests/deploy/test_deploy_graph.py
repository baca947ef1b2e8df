"""The deployed network: params, builders (shape checks, one-line errors), JSON and the packed
file (round trip, strict validation, fuzzing)."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from deploy_graphs import every_op_graph, graph_conv_graph
from hypothesis import given
from hypothesis import strategies as st

from hybridqnn.deploy.graph import (
    OPS,
    Graph,
    Param,
    float_param,
    read_packed,
    sign_param,
    uniform_param,
    write_packed,
)


def _same(a: Graph, b: Graph) -> bool:
    return a.to_json() == b.to_json() and all(
        p.same_as(q) for (_, _, p), (_, _, q) in zip(a.params(), b.params(), strict=True)
    )


# --------------------------------------------------------------------------- params


def test_uniform_param_snaps_and_codes() -> None:
    p = uniform_param([[-1.0, 0.0], [0.0, -0.5]], bits=2, offset=-1.0, step=0.5, levels=3)
    assert p.encoding == "uniform" and p.bits == 2 and p.levels == 3
    np.testing.assert_array_equal(p.codes, [[0, 2], [2, 1]])
    with pytest.raises(ValueError, match=r"code in \[0, 2\].*got 0.5000001"):
        uniform_param([-1.0, 0.5000001], bits=2, offset=-1.0, step=0.5, levels=3)
    q = uniform_param([-1.0, 0.5000001, -0.5], bits=2, offset=-1.0, step=0.5)
    np.testing.assert_array_equal(q.codes, [0, 3, 1])
    assert q.values[1] == 0.5 and q.levels == 4
    with pytest.raises(ValueError, match="got 0.1"):
        uniform_param([0.1], bits=3, offset=0.0, step=0.25)
    with pytest.raises(ValueError, match="'step' must be a finite number > 0.0, got 0.0"):
        uniform_param([0.0], bits=3, offset=0.0, step=0.0)
    with pytest.raises(ValueError, match=r"'levels' must be an integer in \[1, 8\], got 9"):
        uniform_param([0.0], bits=3, offset=0.0, step=1.0, levels=9)
    assert not q.values.flags.writeable


def test_float32_rounded_grid_values_are_accepted() -> None:
    step = 2.0 / 1023
    values = (-1.0 + step * np.arange(1024)).astype(np.float32)
    p = uniform_param(values, bits=10, offset=-1.0, step=step)
    np.testing.assert_array_equal(p.codes, np.arange(1024))


def test_sign_param() -> None:
    p = sign_param([[0.3, -0.3], [-0.3, 0.3]])
    assert (p.bits, p.levels, p.offset, p.step) == (1, 2, -0.3, 0.6)
    np.testing.assert_array_equal(p.codes, [[1, 0], [0, 1]])
    with pytest.raises(ValueError, match=r"must all be -a or \+a .*got 0.1"):
        sign_param([0.3, 0.1])
    with pytest.raises(ValueError, match="a finite a > 0, got max|values| = 0.0"):
        sign_param([0.0, 0.0])
    with pytest.raises(ValueError, match="non-empty"):
        sign_param([])


def test_param_errors() -> None:
    with pytest.raises(ValueError, match="'encoding' must be one of float, uniform; got 'int'"):
        Param(np.zeros(2), "int")
    with pytest.raises(ValueError, match="NaN"):
        float_param([np.nan])
    with pytest.raises(ValueError, match="must be None for a float param"):
        Param(np.zeros(2), "float", bits=2)
    with pytest.raises(ValueError, match="only for a uniform param"):
        float_param([1.0]).codes  # noqa: B018


# --------------------------------------------------------------------------- builders


def test_every_op_graph_covers_the_vocabulary() -> None:
    names = {op["op"] for op in every_op_graph().ops} | {op["op"] for op in graph_conv_graph().ops}
    assert names == set(OPS)


def test_shapes_are_tracked() -> None:
    g = every_op_graph()
    assert g.shapes[:6] == ((2, 8, 6), (3, 8, 6), (3, 8, 6), (3, 2, 2), (4, 1, 1), (4, 1, 1))
    assert g.shape == (3,)
    assert len(g) == len(g.ops) == len(g.shapes) - 1


def test_float_params_are_rounded_to_the_dtype() -> None:
    g = Graph((1,), [0], dtype="float32").linear(float_param([[0.1]]))
    assert g.params()[0][2].values[0, 0] == float(np.float32(0.1))
    g = Graph((1,), [0], dtype="float64").linear(float_param([[0.1]]))
    assert g.params()[0][2].values[0, 0] == 0.1


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda g: g.linear(float_param(np.ones((2, 3)))), r"'weight' of linear must have shape \(k, 4\)"),
        (lambda g: g.linear(np.ones((2, 4))), "'weight' of linear must be a Param, got ndarray"),
        (lambda g: g.linear(float_param(np.ones((2, 4))), float_param([1.0])), r"'bias' of linear must have shape \(2,\)"),
        (lambda g: g.linear(float_param([[np.inf] * 4])), "'weight' of linear must be finite, got inf"),
        (lambda g: g.conv2d(float_param(np.ones((1, 1, 2, 2)))), r"conv2d needs an input of shape \(N, C, H, W\), got \(N, 4\)"),
        (lambda g: g.pool2d("avg", 2), "pool2d needs an input of shape"),
        (lambda g: g.graph_conv(float_param(np.ones((2, 4)))), "graph_input=True"),
        (lambda g: g.sign("x"), "'zero' must be a real number"),
        (lambda g: g.round_to_unit(0), r"'unit' must be a finite number > 0.0, got 0.0"),
        (lambda g: g.quantize(float_param(np.zeros(4)), float_param(np.ones(4)), 33), r"'bits' must be an integer in \[1, 32\], got 33"),
        (lambda g: g.standardize(float_param(np.zeros(3)), float_param(np.ones(3))), "'mean' of standardize must have the trailing dims"),
        (lambda g: g.standardize(float_param(np.zeros(4)), float_param([1.0, 0.0, 1.0, 1.0])), "'std' of standardize must be > 0, got 0.0"),
        (lambda g: g.clip(float_param(np.ones(4)), float_param(np.zeros(4))), "'high' of clip must be >= 'low', got 0.0"),
        (lambda g: g.spline(float_param([[0.0, 1.0]] * 3), float_param([[1.0]] * 3), float_param([[0.0]] * 3)), r"'knots' of spline must have shape \(4, k\)"),
        (lambda g: g.spline(float_param([[0.0, np.inf, 1.0]] * 4), float_param([[1.0, 0]] * 4), float_param([[0.0, 0]] * 4)), "followed by \\+inf padding"),
        (lambda g: g.spline(float_param([[1.0, 0.0]] * 4), float_param([[1.0]] * 4), float_param([[0.0]] * 4)), "non-decreasing"),
        (lambda g: g.spline(float_param([[0.0, 1.0, np.inf]] * 4), float_param([[1.0, 2.0]] * 4), float_param([[0.0, 0]] * 4)), "must be 0 beyond"),
    ],
)
def test_builder_errors(build, match: str) -> None:
    g = Graph((4,), [0, 1])
    with pytest.raises((TypeError, ValueError), match=match) as info:
        build(g)
    assert "\n" not in str(info.value)
    assert len(g) == 0  # nothing appended on error


def test_graph_arguments() -> None:
    with pytest.raises(ValueError, match=r"'input_shape\[1\]' must be an integer in \[1, 2147483647\], got 0"):
        Graph((3, 0), [0, 1])
    with pytest.raises(ValueError, match="'dtype' must be one of float32, float64; got 'float16'"):
        Graph((3,), [0, 1], dtype="float16")
    with pytest.raises(ValueError, match="2 labels for decision 'threshold', got 3"):
        Graph((3,), [0, 1, 2], decision="threshold")
    with pytest.raises(TypeError, match="'classes' must hold str, int, float or bool labels"):
        Graph((3,), [[0], 1])
    with pytest.raises(ValueError, match=r"output must have shape \(2,\).*got \(3,\)"):
        Graph((3,), [0, 1]).validate()
    assert Graph((1,), ["no", "yes"], decision="threshold").validate().classes == ("no", "yes")
    assert Graph((2,), np.array([3, 5])).classes == (3, 5)


# --------------------------------------------------------------------------- JSON and files


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_packed_round_trip(tmp_path, dtype: str) -> None:
    for g in (every_op_graph(dtype), graph_conv_graph(dtype)):
        path = write_packed(g, tmp_path / "m.packed")
        back = read_packed(path)
        assert _same(g, back) and back.shapes == g.shapes
        assert json.loads(json.dumps(g.to_json())) == g.to_json()
        assert _same(Graph.from_json(g.to_json(), g.tensors()), g)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left


def test_binary_weights_take_one_bit(tmp_path) -> None:
    g = Graph((64,), [0, 1]).linear(sign_param(np.ones((2, 64))))
    assert g.tensors()["op0.weight"].nbytes == 16
    w = Graph((64,), [0, 1]).linear(float_param(np.ones((2, 64))))
    assert w.tensors()["op0.weight"].nbytes == 512


def _packed_bytes(tmp_path) -> bytes:
    return write_packed(every_op_graph(), tmp_path / "m.packed").read_bytes()


def _with_metadata(data: bytes, edit) -> bytes:
    """The file ``data`` with its safetensors header's ``__metadata__`` edited by ``edit``."""
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    edit(header["__metadata__"])
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + data[8 + n:]


def _expect_one_line(path, match: str = "") -> None:
    with pytest.raises(ValueError) as info:
        read_packed(path)
    text = str(info.value)
    assert "\n" not in text and text.startswith(str(path)), text
    assert match in text, text


def test_read_packed_bad_files(tmp_path) -> None:
    data = _packed_bytes(tmp_path)
    path = tmp_path / "bad.packed"
    _expect_one_line(path, "no packed model file")
    cases = {
        "format": (lambda m: m.update(format="other"), "'format' must be 'hybridqnn-packed'"),
        "version": (lambda m: m.update(format_version="2"), "version 2 by a newer hybridqnn; this hybridqnn reads version 1: upgrade"),
        "bad version": (lambda m: m.update(format_version="x"), "'format_version' must be '1'"),
        "json": (lambda m: m.update(graph="{"), "'graph' must be valid JSON"),
        "deep": (lambda m: m.update(graph="[" * 100000), "'graph'"),
        "missing": (lambda m: m.pop("graph"), "must have the key 'graph'"),
        "op": (lambda m: m.update(graph=m["graph"].replace('"relu"', '"gelu"')), "op 1 must be an object whose 'op' is one of"),
    }
    for edit, match in cases.values():
        path.write_bytes(_with_metadata(data, edit))
        _expect_one_line(path, match)
    path.write_bytes(data[: len(data) // 2])
    _expect_one_line(path, "not a readable safetensors file")
    path.write_bytes(b"")
    _expect_one_line(path, "not a readable safetensors file")


def _mutations(spec: dict) -> list:
    """Paths to every value of the graph JSON (to mutate or delete one)."""
    out = []

    def walk(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                out.append((*path, k))
                walk(v, (*path, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                out.append((*path, i))
                walk(v, (*path, i))

    walk(spec, ())
    return out


_SPEC = every_op_graph().to_json()
_PATHS = _mutations(_SPEC)
_JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False),
    st.text(max_size=5), st.lists(st.integers(-3, 10), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@given(st.sampled_from(_PATHS), st.one_of(st.just("delete"), _JUNK))
def test_fuzz_one_field(tmp_path_factory, where: tuple, value) -> None:
    tmp_path = tmp_path_factory.mktemp("fuzz")
    data = _packed_bytes(tmp_path)
    spec = json.loads(json.dumps(_SPEC))
    node = spec
    for key in where[:-1]:
        node = node[key]
    if value == "delete":
        del node[where[-1]]
    else:
        node[where[-1]] = value
    path = tmp_path / "f.packed"
    path.write_bytes(_with_metadata(data, lambda m: m.update(graph=json.dumps(spec))))
    try:
        g = read_packed(path)
    except ValueError as exc:
        assert "\n" not in str(exc)
    else:  # a harmless change (an equal value, a class label): still a valid graph
        assert g.validate() is g


@given(st.binary(max_size=300))
def test_fuzz_random_bytes(tmp_path_factory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "r.packed"
    path.write_bytes(data)
    _expect_one_line(path)


@given(st.data())
def test_fuzz_truncated_and_corrupted(tmp_path_factory, data: st.DataObject) -> None:
    tmp_path = tmp_path_factory.mktemp("fuzz")
    raw = bytearray(_packed_bytes(tmp_path))
    cut = data.draw(st.integers(0, len(raw) - 1))
    path = tmp_path / "t.packed"
    path.write_bytes(bytes(raw[:cut]))
    _expect_one_line(path)
    pos = data.draw(st.integers(0, len(raw) - 1))
    raw[pos] ^= data.draw(st.integers(1, 255))
    path.write_bytes(bytes(raw))
    try:
        read_packed(path)
    except ValueError as exc:  # a flipped bit in a float weight is still a valid file
        assert "\n" not in str(exc)


def test_write_packed_checks_the_graph(tmp_path) -> None:
    with pytest.raises(ValueError, match="output must have shape"):
        write_packed(Graph((3,), [0, 1]), tmp_path / "x.packed")
    with pytest.raises(TypeError, match="'graph' must be a Graph"):
        write_packed("graph", tmp_path / "x.packed")
