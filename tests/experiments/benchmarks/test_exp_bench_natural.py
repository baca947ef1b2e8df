"""``bench natural`` end to end through ``cli.main`` (quick settings)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hybridqnn import cli


def test_bench_natural_quick(tmp_path: Path, shared_data: Path) -> None:
    out = tmp_path / "bench"
    quick = "--quick --no-progress --set train_size=300 --set test_size=300 --set width=32"
    argv = ["bench", "natural", "--out", str(out), "--data-dir", str(shared_data), *quick.split()]
    assert cli.main(argv) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["kind"] == "bench"
    impls = {r["impl"]: r for r in report["rows"]}
    # the baseline is one deterministic evaluation; sign-15x does the stochastic network's 15 passes
    assert set(impls) == {"sign", "sign-15x", "natural[auto]", "natural[torch]"}
    base = impls["sign"]["seconds"]
    for row in impls.values():
        assert row["baseline"] == "sign"
        assert row["speedup_vs_baseline"] == pytest.approx(base / row["seconds"])
        assert row["time_ratio_vs_baseline"] == pytest.approx(row["seconds"] / base)
        assert row["time_ratio_vs_sign_shots"] == pytest.approx(row["seconds"] / impls["sign-15x"]["seconds"])
        assert row["seconds"] == pytest.approx(row["train_epoch_s"] + row["eval_s"], rel=0.5)
    assert impls["sign"]["eval_shots"] == 1 and impls["natural[auto]"]["eval_shots"] == 15
    assert impls["sign-15x"]["eval_shots"] == 15
    assert isinstance(impls["natural[auto]"]["meets_target"], bool)
    notes = " ".join(report["notes"])
    assert "Baseline: sign, the same network" in notes and "Why it is the fair one" in notes
    assert "Quick mode" in notes and "not comparable" in notes
