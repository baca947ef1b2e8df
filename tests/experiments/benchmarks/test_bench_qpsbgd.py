"""``hybridqnn bench qpsbgd --quick`` end to end through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hybridqnn import cli


def test_bench_qpsbgd_quick_rows(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    argv = [
        "bench",
        "qpsbgd",
        "--quick",
        "--out",
        str(out),
        "--no-progress",
        "--set",
        "in_features=24",
        "--set",
        "out_features=12",
    ]
    assert cli.main(argv) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["status"] == "ok" and report["kind"] == "bench"
    rows = {r["impl"]: r for r in report["rows"]}
    assert set(rows) == {"qpsbgd[dense-sa]", "qpsbgd[dense-sa,greedy]", "qpsbgd[sa]", "bc-signsgd"}
    base = rows["qpsbgd[sa]"]
    for row in rows.values():
        assert row["case"] == "linear-24x12-b16" and row["baseline"] == "qpsbgd[sa]"
        assert row["speedup_vs_baseline"] == pytest.approx(base["seconds"] / row["seconds"])
        # every QUBO answer is at most the signSGD warm start's energy, on the same problems
        assert row["energy"] <= rows["bc-signsgd"]["energy"] * (1 + 1e-9)
    assert rows["qpsbgd[dense-sa]"]["path"] == "batched" and rows["qpsbgd[sa]"]["path"] == "bqm"
    assert isinstance(rows["qpsbgd[dense-sa]"]["meets_target"], bool)
    assert (out / "report.md").is_file() and (out / "metrics.jsonl").is_file()


def test_bench_qpsbgd_rejects_bad_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "bench",
        "qpsbgd",
        "--quick",
        "--out",
        str(tmp_path / "b"),
        "--set",
        'solvers=["nope"]',
        "--dry-run",
    ]
    assert cli.main(argv) != 0
    assert "'solvers' must be one of" in capsys.readouterr().err
