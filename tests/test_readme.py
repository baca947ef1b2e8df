"""Every ```python block of the README runs as written, in order of appearance, each in a fresh
namespace and a fresh working directory; the results it prints are checked here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def _check(scope: dict) -> None:
    """What each kind of block must achieve (well above chance, far below what it reaches)."""
    if "trained" in scope:  # saved, loaded and exported: the same predictions
        x = scope["ds"].x_test
        assert (scope["model"].predict(x) == scope["trained"].predict(x)).all()
        assert scope["trained"].score(x, scope["ds"].y_test) > 0.9
        from hybridqnn.deploy.onnx_export import run_onnx

        labels = scope["trained"].classes_[run_onnx("digits-head.onnx", x)]
        assert (labels == scope["trained"].predict(x)).all()
    elif "clf" in scope:
        assert scope["clf"].score(scope["features"].transform(scope["ds"].x_test), scope["ds"].y_test) > 0.9
    elif "graph" in scope:
        assert scope["result"].final["test_accuracy"] > 0.5
    elif "labels" in scope:
        assert scope["labels"].shape == (10,)
        assert scope["result"].history[-1]["val_error_vote"] < 0.88  # chance is 0.9
    else:
        assert scope["result"].final["test_accuracy"] > 0.6


def test_the_readme_has_the_python_examples() -> None:
    text = "\n".join(BLOCKS)
    for name in ("QUBOHeadClassifier", "BinaryMLP", "BinaryGCN", "NaturalQuantizedMLP"):
        assert f"import {name}" in text or f", {name}" in text, name


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_block_runs(
    index: int, monkeypatch: pytest.MonkeyPatch, capsys, request: pytest.FixtureRequest, tmp_path
) -> None:
    code = BLOCKS[index]
    monkeypatch.chdir(tmp_path)  # what a block saves lands in a fresh directory
    if "torch_geometric" not in code and "BinaryGCN" in code:
        pytest.importorskip("torch_geometric")
    if "load_natural_data" in code:  # MNIST from the shared data folder (skips without it)
        monkeypatch.setenv("HYBRIDQNN_DATA", str(request.getfixturevalue("shared_data")))
    scope: dict = {}
    exec(compile(code, f"README.md block {index}", "exec"), scope)
    assert capsys.readouterr().out.strip(), "each example prints its result"
    _check(scope)
