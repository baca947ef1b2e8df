"""The qubo-head and sgd-head kinds (deploy/kinds/head.py): a Pipeline of random-conv features and
a head round-trips through save/load in a fresh process, its deployed graph (K-bit weights packed)
predicts as the model does in the NumPy reference and in onnxruntime, and the qubo-head
experiment saves every head it trains with the input that reproduces its row."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.pipeline import Pipeline

from hybridqnn.data import load_dataset, stratified_subset
from hybridqnn.deploy.inputs import load_inputs
from hybridqnn.deploy.kinds import get_kind, kind_of
from hybridqnn.deploy.store import load_model, read_metadata, save_model
from hybridqnn.train import QUBOHeadClassifier, RandomConvTransformer, SGDHeadClassifier

HEADS = {
    "qubo-head": lambda: QUBOHeadClassifier(bits=6, sampler="steepest", executor="serial", max_iter=3, random_state=0),
    "sgd-head": lambda: SGDHeadClassifier(epochs=3, batch_size=32, random_state=0),
}


@pytest.fixture(scope="module")
def digits():
    return stratified_subset(load_dataset("digits"), 400, 200, seed=0)


@pytest.fixture(scope="module", params=sorted(HEADS))
def model(request, digits) -> Pipeline:
    features = RandomConvTransformer(nonlinearity="abs", pool="max", random_state=1)
    return Pipeline([("features", features), ("head", HEADS[request.param]())]).fit(digits.x_train, digits.y_train)


def _logits(model: Pipeline, x: np.ndarray) -> np.ndarray:
    head = model[-1]
    return model[0].transform(x) @ head.coef_.T + head.intercept_


def test_fresh_process_load_predicts_identically(model, digits, tmp_path: Path) -> None:
    kind = kind_of(model)
    path = save_model(model, tmp_path / "m", classes=list(digits.class_names))
    np.save(tmp_path / "x.npy", digits.x_test)
    code = (
        "import sys, numpy as np\n"
        "from hybridqnn.deploy.store import load_model\n"
        "m = load_model(sys.argv[1]); x = np.load(sys.argv[2])\n"
        "np.save(sys.argv[3], m.predict(x)); np.save(sys.argv[4], m[0].transform(x) @ m[-1].coef_.T + m[-1].intercept_)\n"
    )
    files = [str(path), str(tmp_path / "x.npy"), str(tmp_path / "pred.npy"), str(tmp_path / "logits.npy")]
    subprocess.run([sys.executable, "-c", code, *files], check=True)
    np.testing.assert_array_equal(np.load(tmp_path / "pred.npy"), model.predict(digits.x_test))
    np.testing.assert_array_equal(np.load(tmp_path / "logits.npy"), _logits(model, digits.x_test))
    loaded = load_model(path)
    assert kind_of(loaded) is kind
    assert loaded.get_params(deep=True).keys() == model.get_params(deep=True).keys()
    for name in ("features", "head"):
        assert loaded.named_steps[name].get_params() == model.named_steps[name].get_params()
    assert loaded[-1].seed_ == model[-1].seed_ and loaded[0].seed_ == model[0].seed_
    assert loaded[-1].history_ == model[-1].history_
    np.testing.assert_array_equal(kind.predict(loaded, digits.x_test), kind.predict(model, digits.x_test))
    meta = read_metadata(path)
    if kind.name == "qubo-head":
        assert loaded[-1].problem_ == model[-1].problem_
        assert meta["training"]["spins_per_solve"] == 33 * 6 and meta["training"]["solves_per_iteration"] == 10
    else:
        assert meta["training"] is None


def test_labels_of_any_type_round_trip(digits, tmp_path: Path) -> None:
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])
    model = Pipeline([("f", RandomConvTransformer(random_state=0)), ("h", HEADS["sgd-head"]())])
    model.fit(digits.x_train, names[digits.y_train])
    loaded = load_model(save_model(model, tmp_path / "m"))
    assert [name for name, _ in loaded.steps] == ["f", "h"]
    np.testing.assert_array_equal(loaded[-1].classes_, model[-1].classes_)
    np.testing.assert_array_equal(loaded.predict(digits.x_test), model.predict(digits.x_test))
    np.testing.assert_array_equal(get_kind("sgd-head").predict(loaded, digits.x_test[:3]),
                                  np.searchsorted(model[-1].classes_, model.predict(digits.x_test[:3])))


def test_only_a_features_and_head_pipeline_is_of_the_kinds(model) -> None:
    with pytest.raises(TypeError, match="matches no kinds"):
        kind_of(model[-1])
    with pytest.raises(TypeError, match="matches no kinds"):
        kind_of(Pipeline([("a", model[0]), ("b", model[0]), ("c", model[-1])]))


def test_shape_mismatch_is_one_line(model, tmp_path: Path) -> None:
    path = save_model(model, tmp_path / "m")
    meta = json.loads((path / "model.json").read_text())
    meta["config"]["features"]["module"]["num_filters"] = 5
    (path / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"cannot rebuild the .*-head model .*tensor 'features.weight' must have shape \(5, 1, 3, 3\) for this config, got \(8, 1, 3, 3\)"):
        load_model(path)


def test_raw_images_input_is_the_test_split_or_the_runs_subset(digits) -> None:
    x, y = load_inputs({"name": "raw-images", "kwargs": {}}, "digits")
    full = load_dataset("digits")
    np.testing.assert_array_equal(x, full.x_test)
    np.testing.assert_array_equal(y, full.y_test)
    x, y = load_inputs({"name": "raw-images", "kwargs": {"train_size": 400, "test_size": 200, "seed": 0}}, "digits")
    np.testing.assert_array_equal(x, digits.x_test)
    np.testing.assert_array_equal(y, digits.y_test)


def test_packed_reference_predicts_as_the_model(model, digits, tmp_path: Path) -> None:
    from hybridqnn.deploy.graph import read_packed, write_packed
    from hybridqnn.deploy.reference import forward, predict

    kind = kind_of(model)
    graph = kind.graph(model, False)
    assert [op["op"] for op in graph.ops] == ["conv2d", "abs", "pool2d", "flatten", "standardize", "linear"]
    linear = graph.ops[-1]
    if kind.name == "qubo-head":  # K-bit weights and bias, each on its own grid
        assert (linear["weight"]["encoding"], linear["weight"]["bits"], linear["bias"]["bits"]) == ("uniform", 6, 6)
        assert linear["weight"]["offset"] == -2.0 and linear["bias"]["offset"] == -4.0
    else:
        assert linear["weight"]["encoding"] == linear["bias"]["encoding"] == "float"
    packed = read_packed(write_packed(graph, tmp_path / "model.packed"))
    logits = forward(packed, digits.x_test)
    np.testing.assert_allclose(logits, _logits(model, digits.x_test), rtol=0, atol=1e-4)
    np.testing.assert_array_equal(predict(packed, digits.x_test), kind.predict(model, digits.x_test))


def test_onnxruntime_predicts_as_the_model(model, digits) -> None:
    ort = pytest.importorskip("onnxruntime")
    from hybridqnn.deploy.onnx_export import to_onnx

    proto = to_onnx(kind_of(model).graph(model, False))
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    logits, labels = session.run(["logits", "label_index"], {"x": digits.x_test.astype(np.float32)})
    np.testing.assert_allclose(logits, _logits(model, digits.x_test), rtol=0, atol=1e-4)
    np.testing.assert_array_equal(labels, kind_of(model).predict(model, digits.x_test))


@pytest.mark.parametrize("subset", [False, True])
def test_experiment_saves_every_head_reproducing_its_row(tmp_path: Path, subset: bool) -> None:
    from hybridqnn.experiments import load_config, run_experiment

    overrides = ["max_iter=2", "sgd_epochs=2", "bits=[4, 6]"]
    if subset:
        overrides += ["train_size=500", "test_size=150"]
    run_experiment(load_config("quickstart", overrides, quick=True), tmp_path / "run")
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    saved = report["models"]
    assert [m["kind"] for m in saved] == ["sgd-head", "qubo-head", "qubo-head"]
    for entry in saved:
        row = report["rows"][entry["row"]]
        path = tmp_path / "run" / entry["path"]
        meta = read_metadata(path)
        data = meta["data"]
        assert data["input"]["name"] == "raw-images" and data["dataset"] == "digits"
        assert bool(data["input"]["kwargs"]) == subset
        assert meta["classes"] == [str(k) for k in range(10)]
        kind, model = get_kind(meta["kind"]), load_model(path)
        x, y = load_inputs(data["input"], "digits")
        assert len(y) == (150 if subset else 450)
        assert float(np.mean(kind.predict(model, x) == y)) == row["test_accuracy"]
        if kind.name == "qubo-head":
            assert meta["training"]["spins_per_solve"] == row["num_variables"] == 33 * row["bits"]
            assert model[-1].bits == row["bits"] and model[-1].sampler == "dense-sa"


def test_assembled_from_fit_results_saves_what_json_holds(digits, tmp_path: Path) -> None:
    # a head trained apart (fit_qubo_head) on an extractor fitted apart, put together without refitting;
    # a sampler object cannot go to JSON: it is named under not_saved and restored as None
    from dwave.samplers import SteepestDescentSolver

    from hybridqnn.nn import RandomConvFeatures
    from hybridqnn.train import fit_qubo_head

    module = RandomConvFeatures.for_images((1, 8, 8), seed=4).fit(digits.x_train)
    sampler = SteepestDescentSolver()
    result = fit_qubo_head(module.transform(digits.x_train), digits.y_train, 10, sampler, bits=5, max_iter=2, executor="serial")
    model = Pipeline([
        ("features", RandomConvTransformer.from_features(module, (1, 8, 8))),
        ("head", QUBOHeadClassifier.from_result(result, seed=0, bits=5, max_iter=2, sampler=sampler, executor="serial")),
    ])
    path = save_model(model, tmp_path / "m")
    config = read_metadata(path)["config"]
    assert config["not_saved"] == {"head.sampler": repr(sampler)} and config["head"]["params"]["sampler"] is None
    loaded = load_model(path)
    assert loaded[-1].sampler is None and loaded[-1].bits == 5 and loaded[-1].seed_ == 0
    np.testing.assert_array_equal(loaded.predict(digits.x_test), model.predict(digits.x_test))
