"""Every ```python block of README.md and of the docs pages runs as written, page by page in
order of appearance, each in a fresh namespace and a fresh working directory; the results it
prints are checked here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").rglob("*.md"))]
BLOCKS = [
    (page.relative_to(ROOT).as_posix(), index, code)
    for page in PAGES
    for index, code in enumerate(re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S))
]


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
    elif "small" in scope:  # a stratified subset keeps every class
        assert (len(scope["small"].x_train), len(scope["small"].x_test)) == (500, 200)
        assert set(scope["small"].y_train.tolist()) == set(scope["ds"].y_train.tolist())
    elif "X" in scope:  # QCBO on a separable toy task: better than the majority class
        assert scope["result"].accuracy(scope["X"], scope["y"]) > 0.5
    elif "check_sampler" in scope:  # the conformance suite raises on any failure
        pass
    else:
        assert scope["result"].final["test_accuracy"] > 0.6


def test_the_docs_have_the_python_examples() -> None:
    text = "\n".join(code for _, _, code in BLOCKS)
    for name in ("QUBOHeadClassifier", "BinaryMLP", "BinaryGCN", "NaturalQuantizedMLP", "fit_qcbo"):
        assert f"import {name}" in text or f", {name}" in text, name
    assert any(page == "README.md" for page, _, _ in BLOCKS), "the README has a Python example"


@pytest.mark.parametrize(("page", "index", "code"), BLOCKS, ids=[f"{p} block {i}" for p, i, _ in BLOCKS])
def test_doc_block_runs(
    page: str, index: int, code: str, monkeypatch: pytest.MonkeyPatch, capsys, request: pytest.FixtureRequest, tmp_path
) -> None:
    monkeypatch.chdir(tmp_path)  # what a block saves lands in a fresh directory
    if "torch_geometric" not in code and "BinaryGCN" in code:
        pytest.importorskip("torch_geometric")
    if "load_natural_data" in code:  # MNIST from the shared data folder (skips without it)
        monkeypatch.setenv("HYBRIDQNN_DATA", str(request.getfixturevalue("shared_data")))
    scope: dict = {}
    exec(compile(code, f"{page} block {index}", "exec"), scope)
    assert capsys.readouterr().out.strip(), "each example prints its result"
    _check(scope)
