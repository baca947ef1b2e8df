"""The QP-SBGD model kinds (binary-mlp, binary-logreg, binary-sequential, binary-gcn): saved and
loaded in a fresh process with identical predictions, the packed file's NumPy reference and
onnxruntime equal to torch, the config whitelist, the training problem and the experiment wiring
(issue 19)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from hybridqnn.deploy import reference
from hybridqnn.deploy.graph import NotExportableError, read_packed, write_packed
from hybridqnn.deploy.kinds import get_kind, kind_of
from hybridqnn.deploy.kinds.qpsbgd import (
    LAYERS,
    GraphInputs,
    qpsbgd_training_problem,
    sequential_config,
    sequential_from_config,
)
from hybridqnn.deploy.store import load_model, read_metadata, save_model
from hybridqnn.nn import (
    BinaryConv2d,
    BinaryGCN,
    BinaryLinear,
    BinaryLogisticRegression,
    BinaryMLP,
    Scale,
    SignActivation,
    binarize,
)
from hybridqnn.nn.binary_graph import aggregate
from hybridqnn.solvers import get_sampler
from hybridqnn.train import optimizers_for

SRC = Path(__file__).resolve().parents[2] / "src"


def _train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, method: str = "qpsbgd-ls",
           steps: int = 4, loss: str = "bce") -> nn.Module:
    """A few full-batch steps of ``method`` (QP-SBGD with dense SA, or a baseline)."""
    kwargs = {"sampler": get_sampler("dense-sa"), "seed": 0} if method.startswith("qpsbgd") else {}
    opts = optimizers_for(model, method, 0.05, **kwargs)
    for _ in range(steps):
        for o in opts:
            o.zero_grad()
        out = model(x)
        if loss == "bce":
            value = nn.functional.binary_cross_entropy_with_logits(out.reshape(-1), y.float())
        else:
            value = nn.functional.cross_entropy(out, y)
        value.backward()
        for o in opts:
            o.step()
    return model.eval()


def _spins(n: int, d: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.where(torch.rand(n, d, generator=g) > 0.5, 1.0, -1.0)
    y = (x[:, : d // 2].sum(1) > 0).long()
    return x, y


def _images(n: int = 48, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, 8, 8, generator=g)
    y = (x[:, 0, :4].mean((1, 2)) > x[:, 0, 4:].mean((1, 2))).long() + (x.mean((1, 2, 3)) > 0.3).long()
    return x, y


def _cnn() -> nn.Sequential:
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        BinaryConv2d(4, 6, 3, stride=2, padding=1, bias=False),
        Scale(0.5),
        SignActivation(),
        nn.AdaptiveMaxPool2d(2),
        nn.Flatten(),
        BinaryLinear(24, 8, bias=False, binary_activation=True),
        nn.Identity(),
        BinaryLinear(8, 3),
        Scale(0.25),
    )
    model.input_shape = (1, 8, 8)
    return model


def _mlp(**kw) -> BinaryMLP:
    x, y = _spins(64, 9)
    return _train(BinaryMLP([9, 6, 1], seed=1, **kw), x, y, "qpsbgd-ls" if kw.get("binary", True) else "adam")


MODELS = {
    "mlp": lambda: _mlp(),
    "mlp-scaled-nofinal": lambda: _mlp(scaled_ste=True, final_sign=False),
    "mlp-real": lambda: _mlp(binary=False, final_sign=False),
    "logreg": lambda: _train(BinaryLogisticRegression(9, scale=0.3, seed=2), *_spins(64, 9), "qpsbgd-ls"),
    "logreg-real": lambda: _train(BinaryLogisticRegression(9, binary=False, seed=2), *_spins(64, 9), "adam"),
    "cnn": lambda: _train(_cnn(), *_images(), "bc-signsgd", loss="ce"),
}
INPUTS = {"cnn": lambda: _images(40, seed=5)[0]}


def _inputs(name: str) -> torch.Tensor:
    return INPUTS.get(name, lambda: _spins(50, 9, seed=7)[0])()


def _logits(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return model(x).reshape(len(x), -1).double().numpy()


def _fresh_process(script: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture(scope="module")
def gcn_case():
    pytest.importorskip("torch_geometric")
    from hybridqnn.data import load_graph_dataset
    from hybridqnn.train import train_gcn

    g = load_graph_dataset("karate")
    adj = g.adjacency()
    model = BinaryGCN(g.num_features, 8, g.num_classes, seed=3)
    opts = optimizers_for(model, "qpsbgd-ls", 0.01, sampler=get_sampler("dense-sa"), seed=0)
    train_gcn(model, opts, g, adj, 5, eval_every=5)
    nodes = torch.nonzero(g.test_mask).reshape(-1)
    return model.eval(), GraphInputs(g.x, adj, nodes)


# --------------------------------------------------------------------------- kinds and round trip


def test_kinds_round_trip_in_a_fresh_process(tmp_path: Path) -> None:
    """Every model of MODELS saved here and loaded in one fresh process: the same labels and
    logits (one subprocess for all: each start imports torch)."""
    expected = {}
    for name in sorted(MODELS):
        model, x = MODELS[name](), _inputs(name)
        kind = kind_of(model)
        assert kind.name == {"mlp": "binary-mlp", "logreg": "binary-logreg", "cnn": "binary-sequential"}[name.split("-")[0]]
        path = save_model(model, tmp_path / name, classes=None)
        np.save(tmp_path / f"{name}.x.npy", x.numpy())
        expected[name] = (kind.predict(model, x), _logits(model, x))
        back = load_model(path)
        assert type(back) is type(model) and repr(back) == repr(model)
    _fresh_process(
        "import numpy as np, torch\n"
        "from hybridqnn.deploy.store import load_model\n"
        "from hybridqnn.deploy.kinds import kind_of\n"
        f"for name in {sorted(MODELS)!r}:\n"
        f"    m = load_model({str(tmp_path)!r} + '/' + name)\n"
        f"    x = torch.as_tensor(np.load({str(tmp_path)!r} + f'/{{name}}.x.npy'))\n"
        f"    np.save({str(tmp_path)!r} + f'/{{name}}.pred.npy', kind_of(m).predict(m, x))\n"
        f"    np.save({str(tmp_path)!r} + f'/{{name}}.logits.npy', m(x).detach().reshape(len(x), -1).double().numpy())\n"
    )
    for name, (pred, logits) in expected.items():
        np.testing.assert_array_equal(np.load(tmp_path / f"{name}.pred.npy"), pred, err_msg=name)
        np.testing.assert_allclose(np.load(tmp_path / f"{name}.logits.npy"), logits, rtol=0, atol=1e-6, err_msg=name)


def test_gcn_round_trip_in_a_fresh_process(gcn_case, tmp_path: Path) -> None:
    model, inputs = gcn_case
    kind = kind_of(model)
    assert kind.name == "binary-gcn"
    path = save_model(model, tmp_path / "m")
    _fresh_process(
        "import numpy as np\n"
        "from hybridqnn.deploy.store import load_model\nfrom hybridqnn.deploy.kinds import get_kind\n"
        "from hybridqnn.deploy.inputs import load_inputs\n"
        "x, y = load_inputs({'name': 'graph-nodes', 'kwargs': {}}, 'karate')\n"
        f"np.save({str(tmp_path / 'pred.npy')!r}, get_kind('binary-gcn').predict(load_model({str(path)!r}), x))\n"
    )
    np.testing.assert_array_equal(np.load(tmp_path / "pred.npy"), kind.predict(model, inputs))


def test_restore_rejects_wrong_shapes_and_unknown_layers() -> None:
    kind = get_kind("binary-mlp")
    tensors, config = kind.state(_mlp())
    tensors["0.weight"] = tensors["0.weight"][:, :3]
    with pytest.raises(ValueError, match=r"tensor '0.weight' must have shape \(6, 9\) for this config, got \(6, 3\)"):
        kind.restore(tensors, config)
    with pytest.raises(ValueError, match="'layers'\\[0\\] must be .*got \\{'type': 'os.system'"):
        sequential_from_config({"layers": [{"type": "os.system", "args": {}}]})


def test_changed_binary_mlp_is_refused() -> None:
    model = _mlp()
    model.append(nn.ReLU())
    with pytest.raises(ValueError, match="BinaryMLP as constructed"):
        get_kind("binary-mlp").state(model)


def test_sequential_kind_handles_only_whitelisted_plain_sequentials() -> None:
    kind = get_kind("binary-sequential")
    assert kind.handles(_cnn())
    assert not kind.handles(nn.Sequential(nn.Linear(2, 2), nn.Sigmoid()))
    assert not kind.handles(_mlp())  # a BinaryMLP is binary-mlp
    with pytest.raises(TypeError, match="'model' must be an nn.Sequential of the layers"):
        sequential_config(nn.Sequential(nn.Sigmoid()))
    free = nn.Sequential(nn.Flatten(), Scale(-2.0), SignActivation())  # no parameters at all
    free.input_shape = (2, 3)
    graph = kind.graph(free, False)
    assert [op["op"] for op in graph.ops] == ["flatten", "scale", "sign"]  # c < 0 flips signs: kept
    x = np.random.default_rng(0).standard_normal((5, 2, 3)).astype(np.float32)
    np.testing.assert_array_equal(kind.predict(free, x), reference.predict(graph, x))


def test_restoring_does_not_touch_the_global_rng() -> None:
    kind = get_kind("binary-sequential")
    tensors, config = kind.state(_cnn())
    state = torch.random.get_rng_state()
    kind.restore(tensors, config)
    assert torch.equal(torch.random.get_rng_state(), state)


_LAYER = st.sampled_from(["SignActivation", "Scale", "Identity", "ReLU", "Tanh", "BinaryLinear", "Linear"])


@settings(max_examples=25, deadline=None)
@given(st.lists(_LAYER, min_size=1, max_size=5), st.integers(1, 4))
def test_sequential_config_round_trips(names: list[str], width: int) -> None:
    """Any chain of whitelisted layers survives config -> JSON -> layers with the same repr."""
    layers: list[nn.Module] = []
    for n in names:
        if n in ("BinaryLinear", "Linear"):
            layers.append(LAYERS[n][0](width, width))
        elif n == "Scale":
            layers.append(Scale(0.5))
        else:
            layers.append(LAYERS[n][0]())
    model = nn.Sequential(*layers)
    config = json.loads(json.dumps(sequential_config(model)))
    assert repr(sequential_from_config(config)) == repr(model)


def test_training_problem_is_the_largest_least_squares_solve(gcn_case) -> None:
    mlp = BinaryMLP([123, 16, 16, 1])
    assert qpsbgd_training_problem(mlp) == {
        "projection": "least-squares",
        "spins_per_solve": 123,
        "couplers_per_solve": 123 * 122 // 2,
        "solves_per_step": 33,
        "largest_layer": 0,
    }
    assert qpsbgd_training_problem(_cnn())["spins_per_solve"] == 4 * 9 == 36
    assert qpsbgd_training_problem(BinaryMLP([3, 2], binary=False)) is None
    assert qpsbgd_training_problem(gcn_case[0])["spins_per_solve"] == 34


# --------------------------------------------------------------------------- deployed network


def _packed(model: nn.Module, tmp_path: Path):
    graph = kind_of(model).graph(model, False)
    write_packed(graph, tmp_path / "m.packed")
    return read_packed(tmp_path / "m.packed")


@pytest.mark.parametrize("name", sorted(MODELS))
def test_packed_reference_and_onnx_equal_torch(name: str, tmp_path: Path) -> None:
    model, x = MODELS[name](), _inputs(name)
    kind = kind_of(model)
    expected, logits = kind.predict(model, x), _logits(model, x)
    graph = _packed(model, tmp_path)
    xn = x.numpy()
    np.testing.assert_array_equal(reference.predict(graph, xn), expected)
    ref_logits = np.asarray(reference.forward(graph, xn), dtype=np.float64).reshape(len(x), -1)
    assert np.abs(ref_logits - logits).max() <= 1e-5
    ort = pytest.importorskip("onnxruntime")
    from hybridqnn.deploy.onnx_export import to_onnx

    session = ort.InferenceSession(to_onnx(graph).SerializeToString(), providers=["CPUExecutionProvider"])
    onnx_logits, labels = session.run(["logits", "label_index"], {"x": xn.astype(np.float32)})
    np.testing.assert_array_equal(labels, expected)
    assert np.abs(np.asarray(onnx_logits, dtype=np.float64).reshape(len(x), -1) - logits).max() <= 1e-5


def test_binary_weights_are_one_bit(tmp_path: Path) -> None:
    graph = _packed(MODELS["cnn"](), tmp_path)
    bits = {(i, role): (p.encoding, p.bits) for i, role, p in graph.params() if role == "weight"}
    assert sorted(e for e in bits.values()) == [("float", None), ("uniform", 1), ("uniform", 1), ("uniform", 1)]
    logreg = _packed(MODELS["logreg"](), tmp_path)
    [w] = [p for _, role, p in logreg.params() if role == "weight"]
    assert w.bits == 1 and set(np.unique(np.abs(w.values))) == {0.3}  # the scale folded into +-c


def test_gcn_packed_reference_and_no_onnx(gcn_case, tmp_path: Path) -> None:
    model, inputs = gcn_case
    graph = _packed(model, tmp_path)
    assert graph.graph_input
    adj = inputs.adjacency.to_dense().numpy()
    with torch.no_grad():
        logits = model(inputs.x, inputs.adjacency).numpy()
    # the same products summed in the same order (nn.binary_graph.aggregate): bit-identical
    np.testing.assert_array_equal(reference.forward(graph, inputs.x.numpy(), adj), logits)
    nodes = inputs.nodes.numpy()
    deployed = reference.predict(graph, inputs.x.numpy(), adj)[nodes]
    np.testing.assert_array_equal(deployed, kind_of(model).predict(model, inputs))
    from hybridqnn.deploy.onnx_export import to_onnx

    with pytest.raises(NotExportableError, match="cannot be expressed in ONNX"):
        to_onnx(graph)


def test_gcn_packed_reference_on_cora_is_bit_identical_to_torch(tmp_path: Path) -> None:
    """On Cora (0/1 features) many hidden pre-activations are exactly 0 and some logits tie
    exactly; torch and the packed reference sum Â (x sign(W)ᵀ) in the same fixed order, so they
    agree bit for bit (dense or sparse adjacency) and so label every node alike."""
    pytest.importorskip("torch_geometric")
    import scipy.sparse

    from hybridqnn.data import load_graph_dataset
    from hybridqnn.train import train_gcn

    try:
        g = load_graph_dataset("cora")
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    adj = g.adjacency()
    model = BinaryGCN(g.num_features, 16, g.num_classes, seed=0)
    train_gcn(model, optimizers_for(model, "bc-signsgd", 0.01), g, adj, 3)
    graph = _packed(model, tmp_path)
    with torch.no_grad():
        hidden = aggregate(adj, g.x @ binarize(model.conv1.weight).T)  # conv1's pre-activation
        logits = model(g.x, adj).numpy()
    assert (hidden == 0).any()  # the ties this test is about are there
    dense = adj.to_dense().numpy()
    for a in (dense, scipy.sparse.csr_matrix(dense)):
        np.testing.assert_array_equal(reference.forward(graph, g.x.numpy(), a), logits)
    deployed = reference.predict(graph, g.x.numpy(), dense)
    np.testing.assert_array_equal(deployed, kind_of(model).predict(model, GraphInputs(g.x, adj)))


def test_inputs_of_the_wrong_data_set_are_one_line_errors(gcn_case) -> None:
    from hybridqnn.deploy.kinds.qpsbgd import a1a_spins_input

    model, inputs = gcn_case
    with pytest.raises(ValueError, match=r"takes 34 features per node, got node features of shape \(34, 5\)"):
        get_kind("binary-gcn").predict(model, inputs._replace(x=inputs.x[:, :5]))
    data = Path(os.environ.get("HYBRIDQNN_DATA", SRC.parents[1] / "shared" / "data"))
    if not (data / "mnist").is_dir():
        pytest.skip("no MNIST files")
    with pytest.raises(ValueError, match=r"'a1a-spins' needs .*got 'mnist' with inputs of shape \(1, 28, 28\)"):
        a1a_spins_input("mnist", data)


def test_sequential_without_input_shape_is_not_exportable() -> None:
    model = _cnn()
    del model.input_shape
    with pytest.raises(NotExportableError, match="set model.input_shape"):
        kind_of(model).graph(model, False)
    strided = nn.Sequential(BinaryConv2d(1, 2, 3, dilation=2), nn.Flatten())
    strided.input_shape = (1, 8, 8)
    with pytest.raises(NotExportableError, match="dilation"):
        kind_of(strided).graph(strided, False)


# --------------------------------------------------------------------------- experiment wiring


def test_logreg_quick_run_saves_models_that_reproduce_the_rows(tmp_path: Path) -> None:
    from hybridqnn import cli
    from hybridqnn.deploy.inputs import score

    out = tmp_path / "run"
    argv = ["run", "qpsbgd-logreg", "--quick", "--out", str(out), "--no-progress",
            "--set", 'settings=["paper"]', "--set", 'datasets=["synthetic"]', "--set", "updates=4",
            "--set", 'methods=["qpsbgd-ls", "adam"]']
    assert cli.main(argv) == 0
    report = json.loads((out / "report.json").read_text())
    rows = report["rows"]
    assert len(report["models"]) == len(rows) == 2
    for entry in report["models"]:
        path = out / entry["path"]
        meta = read_metadata(path)
        assert meta["kind"] == "binary-logreg" and meta["data"]["input"]["name"] == "planted-logistic"
        assert meta["row"] == rows[entry["row"]]
        result = score(path)
        assert result["accuracy"] == pytest.approx(rows[entry["row"]]["test_accuracy"], abs=1e-6)  # float32 mean
    qp = read_metadata(out / "models" / "qpsbgd-ls-synthetic-paper")["training"]
    assert qp["spins_per_solve"] == 32 and qp["couplers_per_solve"] == 32 * 31 // 2
    assert qp["solver"] == "dense-sa" and qp["method"] == "qpsbgd-ls"


def test_a_sequential_the_graph_cannot_express_still_saves(tmp_path: Path) -> None:
    """A conv Sequential without ``input_shape`` has no deployed graph (export says why), but
    saving and loading do not need one: model.json holds null input_shape and layers."""
    model = nn.Sequential(BinaryConv2d(1, 2, 3), nn.Flatten(), BinaryLinear(2 * 4 * 4, 3))
    path = save_model(model, tmp_path / "m")
    meta = read_metadata(path)
    assert meta["layers"] is None and meta["input_shape"] is None
    x = torch.randn(5, 1, 6, 6)
    np.testing.assert_array_equal(kind_of(model).predict(load_model(path), x), kind_of(model).predict(model, x))
    with pytest.raises(NotExportableError, match="input_shape"):
        kind_of(model).graph(model, True)
