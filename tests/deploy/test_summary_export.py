"""summary, export_model and the CLI's summary / predict / export on the toy kind."""

from __future__ import annotations

import numpy as np
import pytest
from toy_kind import Toy, toy_model

from hybridqnn.cli import main
from hybridqnn.deploy.export import deployed_graph, export_model
from hybridqnn.deploy.graph import read_packed
from hybridqnn.deploy.reference import predict as reference_predict
from hybridqnn.deploy.store import save_model
from hybridqnn.deploy.summaries import summarize_graph, summary


def test_summary_counts_bits_bytes_and_macs():
    s = summary(toy_model())
    (layer,) = s.layers
    assert (layer.op, layer.params, layer.bits_per_weight) == ("linear", 6, 1.0)
    assert (layer.float32_bytes, layer.deployed_bytes) == (24, 1)  # 6 bits packed in one byte
    assert (layer.binary_macs, layer.other_macs) == (0, 6)  # the input is real
    assert s.totals["compression"] == 24.0
    assert s.training == {"spins_per_solve": 6}
    text = str(s)
    assert "Compression: 24.0x" in text and "spins per solve 6" in text


def test_binary_macs_need_a_sign_before_the_layer(deploy_graphs):
    from hybridqnn.deploy.graph import Graph, float_param, sign_param

    g = Graph((4,), [0, 1, 2])
    g.linear(float_param(np.ones((5, 4)))).sign().scale(0.5).linear(sign_param(np.ones((3, 5))))
    layers = summarize_graph(g.validate(), "k", "d").layers
    assert [(la.binary_macs, la.other_macs) for la in layers] == [(0, 20), (15, 0)]
    conv = summarize_graph(deploy_graphs.every_op_graph(), "k", "d")
    first = conv.layers[0]
    assert first.op == "conv2d" and first.other_macs == 3 * 2 * 9 * 8 * 6  # C_out C_in k^2 H W


@pytest.fixture
def deploy_graphs():
    import deploy_graphs

    return deploy_graphs


def test_export_packed_uses_the_saved_classes(tmp_path):
    path = save_model(toy_model(), tmp_path / "m", classes=["even", "odd"])
    out = export_model(path, tmp_path / "toy.packed", format="packed")
    graph = read_packed(out)
    assert graph.classes == ("even", "odd")
    x = np.random.default_rng(0).normal(size=(50, 3))
    from toy_kind import TOY

    np.testing.assert_array_equal(reference_predict(graph, x), TOY.predict(toy_model(), x))
    assert deployed_graph(toy_model()).classes == (0, 1)
    with pytest.raises(ValueError, match="'format' must be one of"):
        export_model(path, tmp_path / "x", format="tflite")


def test_cli_summary_predict_export(tmp_path, capsys, shared_data):
    w = np.random.default_rng(1).normal(size=(2, 20)).astype(np.float32)
    path = save_model(Toy(w), tmp_path / "run" / "models" / "toy-digits-x",
                      data={"dataset": "digits", "input": {"name": "test-toy-input", "kwargs": {"features": 20}}},
                      row={"test_accuracy": 0.5})
    assert main(["summary", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "Model: test-toy" in out and "Compression: 32.0x" in out
    assert main(["predict", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("accuracy 0.") and "on the test split of digits" in out and "recorded 0.5000" in out
    for fmt in ("onnx", "packed"):  # the format asked for, whatever the file is called
        assert main(["export", str(path), "--format", fmt, "--out", str(tmp_path / f"m-{fmt}.bin"), "--check"]) == 0
        out = capsys.readouterr().out
        assert "wrote" in out and "checked on 450 test inputs of digits: 450 labels equal" in out


def test_cli_bad_inputs_are_one_line(tmp_path, capsys):
    assert main(["summary", str(tmp_path)]) == 2
    assert "no saved model at" in capsys.readouterr().err
    assert main(["predict", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert "no model at" in err and err.count("\n") == 1
    path = save_model(Toy(np.ones((2, 3), np.float32)), tmp_path / "m",
                      data={"dataset": "digits", "input": {"name": "test-toy-input", "kwargs": {"features": 64}}})
    assert main(["predict", str(path)]) == 2
    assert "gives inputs of shape (64,) per sample, but the test-toy model" in capsys.readouterr().err


def test_cli_export_formats_are_the_library_formats():
    from hybridqnn.cli import _EXPORT_FORMATS
    from hybridqnn.deploy.export import FORMATS

    assert _EXPORT_FORMATS == FORMATS


def test_recorded_accuracy_prefers_the_models_own():
    from hybridqnn.deploy.inputs import recorded_accuracy

    assert recorded_accuracy({"row": {"test_accuracy": 0.78}, "training": {"run_test_accuracy": 0.83}}) == 0.83
    assert recorded_accuracy({"row": {"test_accuracy": 0.78}, "training": None}) == 0.78
    assert recorded_accuracy({"row": {"final_val_error": 0.25}}) == 0.75
    assert recorded_accuracy({"row": None}) is None


def test_inputs_are_reshaped_only_when_the_layout_differs():
    from hybridqnn.deploy.inputs import _shaped

    flat = np.zeros((3, 64))
    assert _shaped(flat, [1, 8, 8], "m", "digits").shape == (3, 1, 8, 8)
    assert _shaped(flat, None, "m", "digits") is flat
    with pytest.raises(ValueError, match=r"gives inputs of shape \(64,\) per sample, but m takes \(1, 28, 28\)"):
        _shaped(flat, [1, 28, 28], "m", "digits")
