"""Every ```python block of the README runs as written, in order of appearance, each in a fresh
namespace; the results it prints are checked here."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def _data_dir() -> Path:
    env = os.environ.get("HYBRIDQNN_DATA", "")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def _check(scope: dict) -> None:
    """What each kind of block must achieve (well above chance, far below what it reaches)."""
    if "clf" in scope:
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
def test_readme_block_runs(index: int, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    code = BLOCKS[index]
    if "torch_geometric" not in code and "BinaryGCN" in code:
        pytest.importorskip("torch_geometric")
    if "load_natural_data" in code:
        if not (_data_dir() / "mnist").is_dir():
            pytest.skip(f"MNIST not found under {_data_dir()} (set HYBRIDQNN_DATA)")
        monkeypatch.setenv("HYBRIDQNN_DATA", str(_data_dir()))
    scope: dict = {}
    exec(compile(code, f"README.md block {index}", "exec"), scope)
    assert capsys.readouterr().out.strip(), "each example prints its result"
    _check(scope)
