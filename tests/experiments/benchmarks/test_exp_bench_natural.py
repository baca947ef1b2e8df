"""``bench natural`` end to end through ``cli.main`` (quick settings)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from hybridqnn import cli


@pytest.fixture(scope="module")
def shared_data() -> Path:
    env = os.environ.get("HYBRIDQNN_DATA", "")
    path = Path(env) if env else Path(__file__).resolve().parents[3] / "shared" / "data"
    if not (path / "mnist").is_dir():
        pytest.skip(f"real data folder {path} not found (set HYBRIDQNN_DATA)")
    return path


def _report(out: Path) -> dict:
    return json.loads((out / "report.json").read_text())


def test_bench_natural_quick(tmp_path: Path, shared_data: Path) -> None:
    out = tmp_path / "bench"
    argv = [
        "bench",
        "natural",
        "--quick",
        "--out",
        str(out),
        "--no-progress",
        "--data-dir",
        str(shared_data),
        "--set",
        "train_size=300",
        "--set",
        "test_size=300",
        "--set",
        "width=32",
    ]
    assert cli.main(argv) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["kind"] == "bench"
    impls = {r["impl"]: r for r in report["rows"]}
    assert set(impls) == {"sign", "sign-1shot", "natural[auto]", "natural[torch]"}
    base = impls["sign"]["seconds"]
    for row in impls.values():
        assert row["baseline"] == "sign"
        assert row["speedup_vs_baseline"] == pytest.approx(base / row["seconds"])
        assert row["seconds"] == pytest.approx(row["train_epoch_s"] + row["eval_s"], rel=0.5)
    assert impls["sign-1shot"]["eval_shots"] == 1 and impls["natural[auto]"]["eval_shots"] == 15
    assert isinstance(impls["natural[auto]"]["meets_target"], bool)
