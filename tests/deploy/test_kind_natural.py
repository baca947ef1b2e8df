"""Model kinds ``natural-mlp`` and ``sign-mlp``: save/load in a fresh process, the packed
reference forward pass, ONNX and the natural experiments' saved models."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from hybridqnn.deploy.graph import NotExportableError, read_packed, write_packed
from hybridqnn.deploy.inputs import load_inputs
from hybridqnn.deploy.kinds import get_kind, kind_of
from hybridqnn.deploy.kinds.natural import VOTE_SEED, VOTE_SHOTS, natural_test_inputs, sign_graph
from hybridqnn.deploy.reference import forward, predict
from hybridqnn.deploy.store import load_model, read_metadata, save_model
from hybridqnn.nn import NaturalQuantizedMLP, SignMLP
from hybridqnn.train.natural import fit_natural, load_natural_data

HALF_PI = math.pi / 2


@pytest.fixture(scope="module")
def data(shared_data: Path) -> tuple[torch.Tensor, ...]:
    return load_natural_data("mnist", 600, 300, shared_data)


def _trained(model: torch.nn.Module, data: tuple[torch.Tensor, ...]) -> torch.nn.Module:
    xtr, ytr, xte, yte = data
    gen = torch.Generator().manual_seed(1)
    fit_natural(model, xtr, ytr, xte, yte, epochs=1, shots=3, generator=gen)
    return model.eval()


@pytest.fixture(scope="module")
def natural(data: tuple[torch.Tensor, ...]) -> NaturalQuantizedMLP:
    return _trained(NaturalQuantizedMLP(784, 32, 2, 10, a=0.3, g=1.2, seed=0), data)


@pytest.fixture(scope="module")
def classical(data: tuple[torch.Tensor, ...]) -> NaturalQuantizedMLP:
    return _trained(NaturalQuantizedMLP(784, 32, 2, 10, a=0.0, g=HALF_PI, seed=1), data)


@pytest.fixture(scope="module")
def sign(data: tuple[torch.Tensor, ...]) -> SignMLP:
    return _trained(SignMLP(784, 32, 2, 10, seed=2), data)


def _sign_of(model: NaturalQuantizedMLP) -> SignMLP:
    """The sign network of ``model``'s weights (its deterministic mode)."""
    twin = SignMLP(model.in_features, model.width, model.hidden_layers, model.out_features)
    twin.load_state_dict(model.state_dict())
    return twin.eval()


_FRESH = """
import sys, numpy as np, torch
from hybridqnn.deploy.kinds import kind_of
from hybridqnn.deploy.store import load_model
model = load_model(sys.argv[1])
x = torch.from_numpy(np.load(sys.argv[2]))
gen = lambda: torch.Generator().manual_seed(7)
np.savez(
    sys.argv[3],
    kind=kind_of(model).predict(model, x.numpy()),
    logits=model(x, generator=gen()).detach().numpy(),
    vote=model.predict(x, shots=15, generator=gen()).numpy(),
    single=model.predict(x, shots=1, generator=gen()).numpy(),
    cls=type(model).__name__,
)
"""


def _in_fresh_process(path: Path, x: torch.Tensor, tmp_path: Path) -> dict[str, np.ndarray]:
    np.save(tmp_path / "x.npy", x.numpy())
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = tmp_path / "out.npz"
    cmd = [sys.executable, "-c", _FRESH, str(path), str(tmp_path / "x.npy"), str(out)]
    subprocess.run(cmd, check=True, env=env, timeout=120)
    with np.load(out) as npz:
        return {k: npz[k] for k in npz.files}


@pytest.mark.parametrize("which", ["natural", "sign"])
def test_round_trip_in_fresh_process(which: str, request, data, tmp_path: Path) -> None:
    model = request.getfixturevalue(which)
    x = data[2]
    path = save_model(model, tmp_path / "model")
    got = _in_fresh_process(path, x, tmp_path)
    assert str(got["cls"]) == type(model).__name__
    gen = lambda: torch.Generator().manual_seed(7)  # noqa: E731
    with torch.no_grad():
        np.testing.assert_array_equal(got["logits"], model(x, generator=gen()).numpy())
    np.testing.assert_array_equal(got["vote"], model.predict(x, shots=15, generator=gen()))
    np.testing.assert_array_equal(got["single"], model.predict(x, shots=1, generator=gen()))
    kind = kind_of(model)
    np.testing.assert_array_equal(got["kind"], kind.predict(model, x.numpy()))
    assert read_metadata(path)["kind"] == {"natural": "natural-mlp", "sign": "sign-mlp"}[which]


def test_kind_predict_is_the_seeded_vote(natural, data) -> None:
    x = data[2]
    gen = torch.Generator().manual_seed(VOTE_SEED)
    expected = natural.predict(x, shots=VOTE_SHOTS, generator=gen).numpy()
    labels = get_kind("natural-mlp").predict(natural, x.numpy())
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(labels, expected)
    assert get_kind("natural-mlp").stochastic and not get_kind("sign-mlp").stochastic


def test_restored_config(natural, tmp_path: Path) -> None:
    loaded = load_model(save_model(natural, tmp_path / "m"))
    assert isinstance(loaded, NaturalQuantizedMLP)
    assert (loaded.a, loaded.g, loaded.last_g, loaded.update) == (0.3, 1.2, HALF_PI, "paper")
    assert (loaded.in_features, loaded.width, loaded.hidden_layers, loaded.out_features) == (
        784,
        32,
        2,
        10,
    )


def test_restore_rejects_bad_tensors(natural) -> None:
    kind = get_kind("natural-mlp")
    tensors, config = kind.state(natural)
    bad = dict(tensors, **{"layers.1.weight": np.zeros((3, 3), np.float32)})
    with pytest.raises(ValueError, match=r"'layers.1.weight' must have shape \(32, 32\) for this config, got \(3, 3\)"):
        kind.restore(bad, config)
    with pytest.raises(ValueError, match=r"got missing \['layers.2.weight'\] and extra \[\]"):
        kind.restore({k: v for k, v in tensors.items() if k != "layers.2.weight"}, config)
    with pytest.raises(ValueError, match=r"got missing \[\] and extra \['layers.9.weight'\]"):
        kind.restore(dict(tensors, **{"layers.9.weight": np.zeros(1)}), config)
    with pytest.raises(ValueError, match="must give 'width'"):
        kind.restore(tensors, {k: v for k, v in config.items() if k != "width"})
    with pytest.raises(ValueError, match="'dtype' must be 'float32' or 'float64', got 'int8'"):
        kind.restore(tensors, dict(config, dtype="int8"))


def test_float64_model_round_trips(tmp_path: Path) -> None:
    model = SignMLP(20, 8, 2, 3, seed=0, dtype=torch.float64)
    loaded = load_model(save_model(model, tmp_path / "m"))
    assert loaded.layers[0].weight.dtype == torch.float64
    x = torch.rand(16, 20, dtype=torch.float64)
    assert torch.equal(loaded(x), model(x))
    assert sign_graph(model).dtype == "float64"


# --------------------------------------------------------------------------- graphs


def test_stochastic_model_is_not_exportable_as_trained(natural) -> None:
    with pytest.raises(NotExportableError, match="qubit neurons are stochastic.*--deterministic"):
        get_kind("natural-mlp").graph(natural, False)


def test_graph_layout(natural) -> None:
    graph = get_kind("natural-mlp").graph(natural, True)
    assert [op["op"] for op in graph.ops] == ["linear", "sign", "linear", "sign", "linear"]
    assert all(op["zero"] == 0.0 for op in graph.ops if op["op"] == "sign")
    assert graph.input_shape == (784,) and list(graph.classes) == list(range(10))
    assert graph.decision == "argmax" and graph.dtype == "float32"
    assert all(p.encoding == "float" for _, _, p in graph.params())


@given(
    sizes=st.tuples(*(st.integers(1, 6) for _ in range(4))),
    seed=st.integers(0, 2**16),
    dtype=st.sampled_from([torch.float32, torch.float64]),
)
def test_sign_graph_is_the_sign_network_exactly(sizes, seed, dtype) -> None:
    """Integer weights and 0/1 inputs make the arithmetic exact and many pre-activations exactly
    0, where both take sign 0 = 0: the logits must be equal, not just close."""
    in_features, width, hidden_layers, out_features = sizes
    model = SignMLP(in_features, width, hidden_layers, out_features, dtype=dtype)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in model.layers:
            layer.weight.copy_(torch.randint(-2, 3, layer.weight.shape, generator=gen))
    x = torch.randint(0, 2, (8, in_features), generator=gen).to(dtype)
    graph = sign_graph(model)
    with torch.no_grad():
        np.testing.assert_array_equal(forward(graph, x.numpy()), model(x).numpy())
    np.testing.assert_array_equal(predict(graph, x.numpy()), model.predict(x, shots=1).numpy())


@pytest.mark.parametrize("which", ["natural", "classical", "sign"])
def test_packed_reference_equals_torch(which: str, request, data, tmp_path: Path) -> None:
    model = request.getfixturevalue(which)
    x = data[2]
    twin = model if isinstance(model, SignMLP) else _sign_of(model)
    with torch.no_grad():
        logits = twin(x).numpy()
    graph = get_kind(kind_of(model).name).graph(model, True)
    write_packed(graph, tmp_path / "m.safetensors")
    packed = read_packed(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(predict(packed, x.numpy()), logits.argmax(1))
    assert np.abs(forward(packed, x.numpy()) - logits).max() < 1e-4
    if which == "classical":  # a = 0, g = pi/2: the stochastic network is the sign network
        gen = torch.Generator().manual_seed(3)
        stochastic = model.predict(x, shots=1, generator=gen).numpy()
        np.testing.assert_array_equal(predict(packed, x.numpy()), stochastic)
    if which == "sign":
        np.testing.assert_array_equal(
            predict(packed, x.numpy()), get_kind("sign-mlp").predict(model, x.numpy())
        )


@pytest.mark.parametrize("which", ["natural", "sign"])
def test_onnx_equals_torch(which: str, request, data) -> None:
    ort = pytest.importorskip("onnxruntime")
    from hybridqnn.deploy.onnx_export import to_onnx

    model = request.getfixturevalue(which)
    x = data[2].numpy()
    twin = model if isinstance(model, SignMLP) else _sign_of(model)
    with torch.no_grad():
        logits = twin(torch.from_numpy(x)).numpy()
    proto = to_onnx(get_kind(kind_of(model).name).graph(model, True))
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    got_logits, got_labels = session.run(["logits", "label_index"], {"x": x})
    np.testing.assert_array_equal(got_labels, logits.argmax(1))
    assert np.abs(got_logits - logits).max() < 1e-4


# --------------------------------------------------------------------------- input


def test_registered_input_is_the_experiments_test_split(shared_data: Path) -> None:
    x, y = load_inputs({"name": "natural-flat", "kwargs": {"test_size": 50}}, "mnist", shared_data)
    _, _, xte, yte = load_natural_data("mnist", 1, 50, shared_data)
    np.testing.assert_array_equal(x, xte.numpy())
    np.testing.assert_array_equal(y, yte.numpy())
    assert x.dtype == np.float32 and y.dtype == np.int64 and x.shape == (50, 784)
    full, _ = natural_test_inputs("mnist", shared_data)
    assert full.shape == (10000, 784)


# --------------------------------------------------------------------------- experiment


def test_natural_mnist_quick_saves_loadable_models(tmp_path: Path, shared_data: Path) -> None:
    from hybridqnn import cli

    out = tmp_path / "run"
    argv = ["run", "natural-mnist", "--quick", "--out", str(out), "--no-progress"]
    argv += ["--data-dir", str(shared_data), "--set", f"shots={VOTE_SHOTS}"]
    assert cli.main(argv) == 0
    rows = {r["setting"]: r for r in json.loads((out / "report.json").read_text())["rows"]}
    for setting, row in rows.items():
        path = out / "models" / f"natural-quantization-mnist-{setting}"
        meta = read_metadata(path)
        assert meta["kind"] == "natural-mlp" and meta["row"] == row
        model = load_model(path)
        x, y = load_inputs(meta["data"]["input"], meta["data"]["dataset"], shared_data)
        assert len(y) == row["val_size"] == 500
        error = float(np.mean(get_kind("natural-mlp").predict(model, x) != y))
        # another draw of the same 15-shot vote: equal up to the sampling noise of the vote
        assert abs(error - row["final_val_error"]) <= 0.04, (setting, error, row)
        det = float(np.mean(predict(get_kind("natural-mlp").graph(model, True), x) != y))
        print(f"{setting}: 15-shot vote error {error:.4f} (row {row['final_val_error']:.4f}), "
              f"deterministic mode {det:.4f}")
        if setting == "classical":
            assert abs(det - error) <= 0.01
    onnx = tmp_path / "det.onnx"
    argv = ["export", str(path), "--format", "onnx", "--out", str(onnx), "--deterministic", "--check",
            "--data-dir", str(shared_data)]
    assert cli.main(argv) == 0  # the export equals the deterministic mode on every test input
