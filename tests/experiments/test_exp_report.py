from __future__ import annotations

import json

import pytest

from hybridqnn.experiments import read_report, render_markdown, render_table, write_report


def test_render_table_union_of_keys_and_formatting():
    rows = [
        {"method": "a|b", "acc": 0.93123456, "time_s": 41.2},
        {"method": "c", "bits": 10, "acc": None, "time_s": 12345.6, "flag": True},
        {"tiny": 1.23456e-5, "zero": 0.0, "nan": float("nan")},
    ]
    lines = render_table(rows).splitlines()
    assert lines[0] == "| method | acc | time_s | bits | flag | tiny | zero | nan |"
    assert lines[1] == "|---|---|---|---|---|---|---|---|"
    assert lines[2] == "| a\\|b | 0.9312 | 41.2 |  |  |  |  |  |"
    assert lines[3] == "| c | — | 12346 | 10 | true |  |  |  |"
    assert lines[4] == "|  |  |  |  |  | 1.235e-05 | 0 | nan |"
    assert render_table([]) == "_(no rows)_"


def test_render_markdown_sections():
    report = {
        "experiment": "quickstart",
        "runner": "qubo-head",
        "status": "ok",
        "seed": 3,
        "quick": True,
        "wall_time_s": 12.345,
        "versions": {"torch": "2.1", "python": "3.11.2", "dimod": None},
        "rows": [{"method": "qubo-head", "test_accuracy": 0.9}],
        "paper": [{"claim": "accuracy on MNIST", "value": 0.93}],
        "notes": ["First note.", "Second note."],
        "figures": ["loss.png"],
    }
    md = render_markdown(report)
    assert md.startswith("# quickstart (qubo-head)\n")
    assert "- **Status:** ok" in md and "- **Seed:** 3 (quick mode)" in md
    assert "- **Wall time:** 12.3 s" in md
    assert "- **Versions:** python 3.11.2, torch 2.1, dimod (not installed)" in md
    assert md.index("## Results") < md.index("## Paper reports") < md.index("## Notes")
    assert "| claim | value |" in md and "![loss](loss.png)" in md
    assert "Second note." in md
    assert "## Paper reports" not in render_markdown({**report, "paper": []})


def test_write_report_writes_json_and_markdown(tmp_path):
    """write_report writes report.json/report.md whatever the status (a good report is kept by
    the runner, which writes each run into its own staging directory: test_exp_runner.py)."""
    ok = {"experiment": "x", "status": "ok", "rows": [{"a": 1}]}
    assert write_report(tmp_path, ok) == tmp_path / "report.json"
    assert write_report(tmp_path, {**ok, "rows": [{"a": 2}]}) == tmp_path / "report.json"
    assert json.loads((tmp_path / "report.json").read_text())["rows"] == [{"a": 2}]
    failed = {"experiment": "x", "status": "failed", "rows": [], "error": "E: x"}
    other = tmp_path / "other"
    assert write_report(other, failed) == other / "report.json"
    assert "**Error:** E: x" in (other / "report.md").read_text()
    assert write_report(other, {**failed, "status": "interrupted"}) == other / "report.json"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    with pytest.raises(
        ValueError, match="'status' must be one of ok, failed, interrupted; got 'done'"
    ):
        write_report(tmp_path, {"status": "done"})


def test_write_report_checks_bench_rows(tmp_path):
    with pytest.raises(ValueError, match="bench row 0 is missing 'speedup_vs_baseline'"):
        write_report(
            tmp_path,
            {
                "status": "ok",
                "kind": "bench",
                "rows": [{"case": "c", "impl": "i", "seconds": 1.0, "baseline": "i"}],
            },
        )


def test_read_report_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="has no report.json"):
        read_report(tmp_path)
    (tmp_path / "report.json").write_text("{not json")
    with pytest.raises(ValueError, match="is not valid JSON"):
        read_report(tmp_path)
    (tmp_path / "report.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="must hold a JSON object"):
        read_report(tmp_path)
    (tmp_path / "report.json").write_text('{"status": "ok", "rows": []}')
    report, path = read_report(tmp_path)
    assert report["status"] == "ok" and path == tmp_path / "report.json"
