"""The QCBO model kinds (hybridqnn.deploy.kinds.qcbo): save, load in a fresh process, the packed
reference and ONNX against the model, and the saved models of a ``qcbo-fmnist --quick`` run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridqnn.deploy.kinds import get_kind, kind_of
from hybridqnn.deploy.store import load_model, read_metadata, save_model
from hybridqnn.problems.fip import forward_interval_propagation
from hybridqnn.problems.qcbo import WeightCode
from hybridqnn.train.qcbo import (
    QuantizedSplineModel,
    ReLUNetworkModel,
    fit_greedy_moves,
    fit_qat,
    fit_qcbo,
)

BOX = {"input_low": np.zeros(6), "input_high": np.ones(6)}
SPLINE = {"segments": 2, "activation_bits": 3, "loss_segments": 4, **BOX}


def _toy(n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points in [0, 1]^6 (a few outside, which the networks clip): a two-class label
    (x0 + x3 > x1 + x2, +-1) and a three-class one."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-0.1, 1.1, size=(n, 6))
    y = np.where(X[:, 0] + X[:, 3] > X[:, 1] + X[:, 2], 1, -1)
    y3 = np.digitize(X[:, 0] - X[:, 1], [-0.3, 0.3])
    return X, y, y3


@pytest.fixture(scope="module")
def models() -> dict[str, object]:
    """One trained model of every variant the QCBO experiments produce (about 4 s)."""
    from hybridqnn.solvers import get_sampler

    X, y, y3 = _toy()
    X = np.clip(X, 0.0, 1.0)  # training inputs lie in the box; the tests predict outside it too
    two = (6, 3, 1)
    return {
        "greedy-2bit": fit_greedy_moves(
            X, y, two, WeightCode("kbit", bits=2), iterations=3, seed=0, **SPLINE
        ),
        "greedy-binary-grid": fit_greedy_moves(
            X, y, two, WeightCode("binary"), iterations=3, seed=0, input_unit=2**-4, **SPLINE
        ),
        "qph-ternary-3class": fit_qcbo(
            X[:8],
            y3[:8],
            (6, 2, 3),
            WeightCode("ternary"),
            sampler=get_sampler("dense-sa"),
            ph_iterations=2,
            seed=0,
            sample_kwargs={"num_reads": 1, "num_sweeps": 20},
            **SPLINE,
        ),
        "qat-quantized-activations": fit_qat(
            X,
            y,
            two,
            WeightCode("kbit", bits=2),
            epochs=5,
            seed=1,
            activation_bits=3,
            segments=2,
            **BOX,
        ),
        "qat-ternary": fit_qat(X, y, two, WeightCode("ternary"), epochs=5, seed=1),
        "full-precision": fit_qat(X, y3, (6, 4, 3), None, epochs=5, seed=1),
    }


def _logits(model: object) -> np.ndarray:
    """The model's logits on the toy inputs."""
    X, _, _ = _toy()
    m = model.model if hasattr(model, "model") else model
    if isinstance(m, QuantizedSplineModel):
        Xc = np.clip(X, *m.input_box)
        return m.network.forward(list(m.weights), Xc)
    return m.forward(X)


_FRESH = """
import json, sys
import numpy as np
from hybridqnn.deploy.kinds import get_kind
from hybridqnn.deploy.store import load_model, read_metadata
sys.path.insert(0, {tests!r})
from test_kind_qcbo import _logits, _toy
out = {{}}
for path in sys.argv[1:]:
    model = load_model(path)
    kind = get_kind(read_metadata(path)["kind"])
    X = _toy()[0]
    out[path] = {{"type": type(model).__name__, "labels": kind.predict(model, X).tolist(),
                  "logits": _logits(model).tolist()}}
print(json.dumps(out))
"""


def test_saved_models_load_in_a_fresh_process_with_identical_predictions(
    models: dict[str, object], tmp_path: Path
) -> None:
    X, _, _ = _toy()
    paths = {name: str(save_model(m, tmp_path / name)) for name, m in models.items()}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    code = _FRESH.format(tests=str(Path(__file__).parent))
    done = subprocess.run(
        [sys.executable, "-c", code, *paths.values()],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    loaded = json.loads(done.stdout)
    for name, model in models.items():
        got = loaded[paths[name]]
        kind = kind_of(model)
        assert got["labels"] == kind.predict(model, X).tolist(), name
        np.testing.assert_array_equal(np.array(got["logits"]), _logits(model), err_msg=name)
        expected = "ReLUNetworkModel" if kind.name == "qcbo-relu-mlp" else "QuantizedSplineModel"
        assert got["type"] == expected, name


def test_kinds_and_what_load_model_returns(models: dict[str, object], tmp_path: Path) -> None:
    X, y, _ = _toy()
    names = {name: kind_of(m).name for name, m in models.items()}
    assert names == {
        "greedy-2bit": "qcbo-network",
        "greedy-binary-grid": "qcbo-network",
        "qph-ternary-3class": "qcbo-network",
        "qat-quantized-activations": "qcbo-network",
        "qat-ternary": "qcbo-relu-mlp",
        "full-precision": "qcbo-relu-mlp",
    }
    for name, model in models.items():
        loaded = load_model(save_model(model, tmp_path / name))
        assert isinstance(loaded, (QuantizedSplineModel, ReLUNetworkModel))
        assert kind_of(loaded).name == names[name]  # a loaded model saves again
        np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
        assert loaded.accuracy(X, model.model.predict(X)) == 1.0
        if isinstance(loaded, QuantizedSplineModel):  # the whole network, loss splines included
            net, orig = loaded.network, model.network
            assert (net.codes, net.activation_bits, net.loss) == (
                orig.codes,
                orig.activation_bits,
                orig.loss,
            )
            np.testing.assert_array_equal(loaded.input_box, model.model.input_box)
            for sp, sp2 in zip(net.loss_splines, orig.loss_splines, strict=True):
                np.testing.assert_array_equal(sp.knots, sp2.knots)
                np.testing.assert_array_equal(sp.values, sp2.values)


def test_saved_grids_are_the_fip_of_the_saved_codes(
    models: dict[str, object], tmp_path: Path
) -> None:
    """The saved arrays rebuild exactly the grids FIP computes for the trained codes."""
    for name in ("greedy-2bit", "greedy-binary-grid", "qat-quantized-activations"):
        m = load_model(save_model(models[name], tmp_path / name))
        fip, codes = m.network.fip, m.network.codes
        again = forward_interval_propagation(
            fip.input_low,
            fip.input_high,
            m.network.sizes,
            [c.levels for c in codes],
            "relu",
            fip.segments,
            bias=fip.bias,
            input_unit=fip.input_unit,
            activation_bits=None if fip.input_unit is None else m.network.activation_bits,
        )
        for lb, lb2 in zip(fip.layers, again.layers, strict=True):
            for attr in ("low", "high", "act_low", "act_high"):
                np.testing.assert_array_equal(getattr(lb, attr), getattr(lb2, attr))
            assert (lb.unit, lb.act_unit) == (lb2.unit, lb2.act_unit)
            for sp, sp2 in zip(lb.splines, lb2.splines, strict=True):
                assert (sp is None) == (sp2 is None)
                if sp is not None:
                    np.testing.assert_array_equal(sp.knots, sp2.knots)
                    np.testing.assert_array_equal(sp.values, sp2.values)


def _onnx_run(graph: object, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import onnxruntime as ort

    from hybridqnn.deploy.onnx_export import to_onnx

    session = ort.InferenceSession(
        to_onnx(graph).SerializeToString(), providers=["CPUExecutionProvider"]
    )
    dtype = np.float64 if session.get_inputs()[0].type == "tensor(double)" else np.float32
    logits, labels = session.run(["logits", "label_index"], {"x": X.astype(dtype)})
    return logits, labels


def test_packed_reference_and_onnx_predict_as_the_model(
    models: dict[str, object], tmp_path: Path
) -> None:
    """The deployed graph, written bit-packed and read back, run by the NumPy reference and by
    onnxruntime: the model's labels; logits within 1e-12 (relative) for the float64 graphs: the
    weights are the exact levels of their grid in the model (QAT's snapshot snaps them) and in
    the deployed graph; 1e-6 for the full-precision network, deployed in float32."""
    from hybridqnn.deploy import reference
    from hybridqnn.deploy.graph import read_packed, write_packed

    X, _, _ = _toy()
    for name, model in models.items():
        kind = kind_of(model)
        path = tmp_path / f"{name}.safetensors"
        write_packed(kind.graph(model, False), path)
        graph = read_packed(path)
        labels = kind.predict(model, X)
        np.testing.assert_array_equal(reference.predict(graph, X), labels, err_msg=name)
        logits = _logits(model)
        ref = reference.forward(graph, X).reshape(logits.shape)
        tol = 1e-12 if graph.dtype == "float64" else 1e-6  # the full-precision net runs in float32
        assert np.max(np.abs(ref - logits)) <= tol * (1 + np.max(np.abs(logits))), name
        onnx_logits, onnx_labels = _onnx_run(graph, X)
        np.testing.assert_array_equal(onnx_labels, labels, err_msg=name)
        assert np.max(np.abs(onnx_logits.reshape(logits.shape) - logits)) <= tol * (
            1 + np.max(np.abs(logits))
        ), name


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(
        [("binary", 1), ("ternary", 2), ("kbit", 1), ("kbit", 2), ("kbit", 3), ("kbit", 8)]
    ),
    st.floats(1e-3, 1e3),
    st.integers(0, 2**32 - 1),
)
def test_weight_codes_deploy_as_uniform_params_that_decode_to_the_levels(
    code: tuple[str, int], scale: float, seed: int
) -> None:
    from hybridqnn.deploy.kinds.qcbo import _weight_param

    wc = WeightCode(code[0], code[1], scale)
    values = np.random.default_rng(seed).choice(wc.levels, size=(3, 5))
    p = _weight_param(values, wc)
    assert p.encoding == "uniform" and p.bits == wc.num_bits and p.levels == wc.levels.size
    np.testing.assert_allclose(p.values, values, rtol=1e-12, atol=0)
    assert np.array_equal(np.unique(p.codes), np.unique(np.searchsorted(wc.levels, values)))


def test_tie_linear_snaps_near_ties() -> None:
    from hybridqnn.deploy import reference
    from hybridqnn.deploy.graph import Graph, float_param
    from hybridqnn.deploy.onnx_export import run_onnx, to_onnx

    x = np.array([[1.0, 1.0], [1.0, 1.0 + 1e-13], [1.0, 1.0 - 1e-13], [1.0, 0.9]])
    g = Graph((2,), [0, 1], decision="threshold", dtype="float64")
    g.tie_linear(float_param([[-1.0, 1.0]]), float_param([0.0]), rel=1e-12)
    # z = x1 - x0: 0, +1e-13, -1e-13 (within 1e-12 * 2 of 0: a tie, class 1), -0.1
    assert reference.predict(g, x).tolist() == [1, 1, 1, 0]
    assert reference.forward(g, x)[2, 0] == 0.0
    assert run_onnx(to_onnx(g), x).tolist() == [1, 1, 1, 0]
    h = Graph((2,), [0, 1, 2], dtype="float64")
    h.tie_linear(float_param([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]]), rel=1e-12)
    # the third logit ties the largest within tolerance: the first of the tied wins
    xs = np.array([[1.0, 1.0 - 1e-13], [1.0 - 1e-13, 1.0], [0.2, 1.0]])
    assert reference.predict(h, xs).tolist() == [0, 0, 1]
    assert run_onnx(to_onnx(h), xs).tolist() == [0, 0, 1]
    with pytest.raises(ValueError, match=r"'rel' must be a real number in \[0, 1\), got 1.0"):
        h.tie_linear(float_param(np.eye(3)), rel=1.0)


@pytest.mark.parametrize("n_out", [1, 3])
def test_deployed_network_keeps_the_tie_rule_on_exact_ties(n_out: int, tmp_path: Path) -> None:
    """Random ternary networks (which tie exactly, e.g. all-zero hidden activations): the packed
    reference and onnxruntime give QuantizedSplineNetwork.predict's labels at every output scale."""
    from hybridqnn.deploy import reference
    from hybridqnn.deploy.graph import read_packed, write_packed
    from hybridqnn.deploy.kinds.qcbo import spline_graph
    from hybridqnn.deploy.onnx_export import run_onnx, to_onnx
    from hybridqnn.problems.qcbo import QuantizedSplineNetwork

    sizes = (16, 4, n_out)
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, size=(200, 16))
    near_ties = 0
    for trial in range(6):
        units = [rng.choice([-1.0, 0.0, 1.0], size=s) for s in ((4, 17), (n_out, 5))]
        for out_scale in (0.1, 0.37, 3.0):
            codes = [WeightCode("ternary", scale=0.31), WeightCode("ternary", scale=out_scale)]
            fip = forward_interval_propagation(
                np.zeros(16), np.ones(16), sizes, [c.levels for c in codes], "relu", 2, bias=True
            )
            net = QuantizedSplineNetwork.from_fip(fip, codes, (5,), "logistic", 4)
            weights = tuple(u * c.scale for u, c in zip(units, codes, strict=True))
            model = QuantizedSplineModel(net, weights, (np.zeros(16), np.ones(16)))
            want = kind_of(model).predict(model, X)
            graph = read_packed(write_packed(spline_graph(model), tmp_path / f"{trial}.packed"))
            np.testing.assert_array_equal(reference.predict(graph, X), want)
            np.testing.assert_array_equal(run_onnx(to_onnx(graph), X), want)
            z = np.sort(net.forward(list(weights), X), axis=1)
            near_ties += int(
                np.sum((np.abs(z[:, 0]) if n_out == 1 else z[:, -1] - z[:, -2]) < 1e-9)
            )
    assert near_ties > 0  # the case this test is about occurs


def test_restore_rejects_tensors_that_do_not_fit_the_config(models: dict[str, object]) -> None:
    for name in ("greedy-2bit", "qat-ternary"):
        kind = kind_of(models[name])
        tensors, config = kind.state(models[name])
        bad = dict(tensors, **{"weight.1": np.zeros((1, 2))})
        with pytest.raises(
            ValueError, match=r"tensor 'weight.1' must have shape \(1, 4\), got \(1, 2\)"
        ):
            kind.restore(bad, config)
    kind = get_kind("qcbo-network")
    tensors, config = kind.state(models["greedy-2bit"])
    del tensors["layer.0.knots"]
    with pytest.raises(ValueError, match="tensor 'layer.0.knots' is missing"):
        kind.restore(tensors, config)


def test_training_problem_is_the_spins_of_a_solve(models: dict[str, object]) -> None:
    qph = models["qph-ternary-3class"]
    kind = kind_of(qph)
    figures = kind.training_problem(qph)
    assert figures["spins_per_solve"] == qph.spins["subproblem_spins_max"] > 0
    assert figures["monolithic_spins"] == qph.spins["monolithic_spins"]
    assert kind.training_problem(models["greedy-2bit"]) is None  # no solver: the control
    assert kind.training_problem(models["qat-quantized-activations"]) is None


def test_qcbo_fmnist_quick_saves_models_that_reproduce_their_rows(
    tmp_path: Path, shared_data: Path
) -> None:
    from hybridqnn import cli
    from hybridqnn.deploy import reference
    from hybridqnn.deploy.export import export_model
    from hybridqnn.deploy.graph import read_packed
    from hybridqnn.deploy.inputs import load_inputs

    data = shared_data
    out = tmp_path / "fm"
    argv = ["run", "qcbo-fmnist", "--quick", "--seed", "0", "--out", str(out), "--no-progress"]
    assert cli.main([*argv, "--data-dir", str(data)]) == 0
    report = json.loads((out / "report.json").read_text())
    saved = {m["path"]: m for m in report["models"]}
    trained = [r for r in report["rows"] if "test_accuracy" in r]
    assert len(saved) == len(trained) == 8
    for rel, entry in saved.items():
        meta = read_metadata(out / rel)
        row = report["rows"][entry["row"]]
        assert meta["row"] == row and meta["classes"] == ["T-shirt/top", "Trouser"]
        inputs, labels = load_inputs(meta["data"]["input"], meta["data"]["dataset"], data)
        model = load_model(out / rel)
        pred = get_kind(meta["kind"]).predict(model, inputs)
        assert float(np.mean(pred == labels)) == row["test_accuracy"], rel
        # the deployed network on the real test set: no prediction moves (the QCBO's tie rule)
        graph = read_packed(export_model(out / rel, tmp_path / f"{entry['row']}.safetensors"))
        assert graph.classes == ("T-shirt/top", "Trouser")
        np.testing.assert_array_equal(reference.predict(graph, inputs), pred, err_msg=rel)
        if row["method"].startswith(("qph", "mono")):
            assert meta["training"]["spins_per_solve"] == row["spins_per_solve"]
            assert meta["training"]["solver"] == "dense-sa"


def test_qcbo_classifier_round_trip_and_export(tmp_path: Path) -> None:
    """The scikit-learn style estimator: saved, loaded (same labels of any type), exported."""
    from hybridqnn.deploy import reference
    from hybridqnn.deploy.export import deployed_graph
    from hybridqnn.solvers import MILPSolver
    from hybridqnn.train.qcbo import QCBOClassifier

    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, size=(6, 3))
    labels = np.array(["no", "yes"])[(X[:, 0] > 0.5).astype(int)]
    clf = QCBOClassifier(hidden=(2,), sampler=MILPSolver(), method="cqm", ph_iterations=1, seed=0,
                         fit_kwargs={"executor": "serial", "segments": 2, "activation_bits": 1,
                                     "loss_segments": 2, "input_low": np.zeros(3),
                                     "input_high": np.ones(3)}).fit(X, labels)
    path = save_model(clf, tmp_path / "clf")
    back = load_model(path)
    Xt = rng.uniform(-0.5, 1.5, size=(200, 3))
    np.testing.assert_array_equal(back.predict(Xt), clf.predict(Xt))
    assert back.sampler is None and back.hidden == (2,) and back.method == "cqm"
    assert back.n_features_in_ == clf.n_features_in_ == 3
    graph = deployed_graph(path)
    assert graph.classes == ("no", "yes")
    np.testing.assert_array_equal(np.array(graph.classes)[reference.predict(graph, Xt)], clf.predict(Xt))
