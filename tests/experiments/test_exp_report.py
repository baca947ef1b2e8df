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
        "overrides": ["epochs=2", 'tasks=["0-1"]'],
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
    assert '- **Set on the command line:** `epochs=2`, `tasks=["0-1"]`' in md
    assert "Set on the command line" not in render_markdown({**report, "overrides": []})
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


# --------------------------------------------------------------------------- summaries first


def _read_csv_back(text: str) -> list[dict[str, object]]:
    """rows.csv read with the csv module, each cell typed back: '' -> None, true/false -> bool,
    JSON lists and dicts, numbers (ints stay ints), else the string."""
    import csv
    import io

    def typed(cell: str) -> object:
        if cell == "":
            return None
        if cell in ("true", "false"):
            return cell == "true"
        if cell[:1] in "[{":
            return json.loads(cell)
        for kind in (int, float):
            try:
                return kind(cell)
            except ValueError:
                pass
        return cell

    return [{k: typed(v) for k, v in row.items()} for row in csv.DictReader(io.StringIO(text))]


def test_rows_csv_reads_back_as_the_rows(tmp_path):
    rows = [
        {"method": "qubo-head", "bits": 10, "test_accuracy": 0.9644444444444444, "fits": False,
         "note": 'a "quoted", comma', "tiny": 7.042688366507044e-16, "none": None},
        {"method": "sgd", "scales": [0.5, 0.25], "huge": 1.4e15},
    ]
    write_report(tmp_path, {"experiment": "x", "status": "ok", "rows": rows})
    back = _read_csv_back((tmp_path / "rows.csv").read_text())
    report_rows = json.loads((tmp_path / "report.json").read_text())["rows"]
    assert len(back) == len(report_rows) == 2
    for got, want in zip(back, report_rows, strict=True):
        assert {k: v for k, v in got.items() if v is not None} == {k: v for k, v in want.items() if v is not None}


def test_compact_table_fits_and_keeps_identity_first():
    from hybridqnn.experiments.report import compact_table

    rows = [
        {"method": f"method-with-a-long-name-{i}", "dataset": "digits", "setting": f"K={i}",
         **{f"metric_number_{j}": 0.123456789 * j for j in range(12)}}
        for i in range(4)
    ] + [{"method": "hardware-estimate", "num_couplers": 48425}]
    table = compact_table(rows, ("metric_number_1", "metric_number_2", "metric_number_11"))
    lines = table.splitlines()
    assert lines[0].split() == ["method", "dataset", "setting", "metric_number_1", "metric_number_2", "metric_number_11"]
    assert all(len(line) <= 100 for line in lines)
    assert "hardware-estimate" not in table  # resource rows are not results
    assert "0.123" in lines[2] and "0.12345" not in table  # 3 significant digits
    wide = compact_table(rows, tuple(f"metric_number_{j}" for j in range(12)))
    assert all(len(line) <= 100 for line in wide.splitlines())
    assert wide.splitlines()[0].split()[:3] == ["method", "setting", "metric_number_0"]  # constant dataset went first
    assert wide.splitlines()[-1].startswith("(not shown: dataset, metric_number_4, ")
    assert compact_table([{"method": "hardware-estimate"}]) == "(no result rows)"


def test_compact_table_never_cuts_rows_into_the_same_identity():
    """qcbo-convergence's settings 'dense-sa, var=0, bits=full' and 'dense-sa, var=0, bits=4'
    both read 'dense-sa, var=0, bi…' when cut to 20 characters: an identity column whose cut
    makes two different rows look the same is shown whole."""
    from hybridqnn.experiments.report import compact_table

    settings = ["dense-sa, var=0, bits=full", "dense-sa, var=0, bits=4", "dense-sa, var=0.1, bits=full"]
    rows = [{"setting": s, "oracle": "dense-sa", "feasible": False} for s in settings]
    lines = compact_table(rows, ("oracle", "feasible")).splitlines()
    assert [line.split("  ")[0] for line in lines[2:]] == settings
    assert all(len(line) <= 100 for line in lines)
    distinct = [{"method": "m", "setting": s + "-" * 20 + str(i)} for i, s in enumerate("abc")]
    assert "…" in compact_table(distinct)  # rows told apart by their cut cells stay cut


def test_compact_table_of_rows_without_identity_or_key_columns_shows_their_columns():
    """A partial run whose rows hold neither an identity nor a key column still gets a table
    (its columns), not an empty block."""
    from hybridqnn.experiments.report import compact_table

    table = compact_table([{"oracle": "dense-sa", "seconds": 1.5}], ("gap_to_optimum_pct",))
    assert table.splitlines()[0].split() == ["oracle", "seconds"] and "1.5" in table


def test_a_quick_benchmark_headline_is_labelled_not_comparable():
    """'target met' on the quick bench's reduced problem says nothing about the full target."""
    from hybridqnn.experiments.report import QUICK_NOT_COMPARABLE, quick_headline

    line = "qpsbgd[dense-sa]: 0.00193 s, 18.69x qpsbgd[sa], target met (target: median step <= 50 ms)"
    assert quick_headline(line, True, bench=True) == f"{line}; {QUICK_NOT_COMPARABLE}"
    assert quick_headline(line, False, bench=True) == line


def test_quick_headline_and_paper_comparison():
    from hybridqnn.experiments.report import QUICK_NOT_COMPARABLE, quick_headline

    line = "method1 64.4%; paper: setting 'paper'; paper: method1 4.72%"
    assert quick_headline(line, False) == line
    assert quick_headline(line, True) == f"method1 64.4%; paper: setting 'paper'; paper: {QUICK_NOT_COMPARABLE}"
    assert quick_headline("no paper clause", True) == "no paper clause"
    report = {
        "experiment": "natural-mnist", "status": "ok", "quick": True,
        "headline": "final error 64.4%; paper: quick: not comparable", "key_columns": ["final_val_error"],
        "rows": [
            {"method": "nq", "setting": "method1", "final_val_error": 0.644, "paper_final_val_error": 0.0472,
             "final_val_error_vs_paper": 0.5968, "train_time_s": 1.0},
            {"method": "nq", "setting": "classical", "final_val_error": 0.654, "paper_final_val_error": None,
             "final_val_error_vs_paper": None, "train_time_s": 1.0},
            {"method": "hardware-estimate", "setting": "K=10", "num_couplers": 48425, "pegasus_reason": None},
            {"method": "spin-count", "setting": "binary", "weight_spins": 64},
        ],
        "paper": [{"claim": "method 1", "paper": "4.72%"}],
    }
    md = render_markdown(report)
    assert md.startswith("# natural-mnist\n\n**final error 64.4%; paper: quick: not comparable**\n\n```text\n")
    order = ["```text", "- **Status:** ok", "## Results", "## Resources", "### hardware-estimate",
             "### spin-count", "## Paper comparison", "### Paper reports", "## All rows"]
    assert [md.index(s) for s in order] == sorted(md.index(s) for s in order)
    results = md[md.index("## Results"):md.index("## Resources")]
    assert "paper" not in results and "num_couplers" not in results  # paper and resource columns elsewhere
    resources = md[md.index("### hardware-estimate"):md.index("### spin-count")]
    assert "num_couplers" in resources and "pegasus_reason" not in resources  # no empty columns
    assert "weight_spins" not in resources
    comparison = md[md.index("## Paper comparison"):md.index("### Paper reports")]
    assert "| method | setting | final_val_error | paper_final_val_error | final_val_error_vs_paper |" in comparison
    assert f"| {QUICK_NOT_COMPARABLE} |" in comparison and "0.5968" not in comparison
    assert "0.5968" in md[md.index("## All rows"):]  # the full rows keep the number
    assert f"| {QUICK_NOT_COMPARABLE} " not in render_markdown({**report, "quick": False})


def test_quick_labels_only_comparisons_that_exist():
    from hybridqnn.experiments.report import QUICK_NOT_COMPARABLE, compact_table

    rows = [{"method": "nq", "setting": "method1", "err": 0.6, "err_vs_paper": 0.55},
            {"method": "nq", "setting": "classical", "err": 0.7, "err_vs_paper": None}]
    lines = compact_table(rows, ["err", "err_vs_paper"], quick=True).splitlines()
    assert lines[2].endswith(QUICK_NOT_COMPARABLE) and lines[3].endswith("—")
    assert compact_table(rows, ["err", "err_vs_paper"]).splitlines()[2].endswith("0.55")


def test_render_record_aligns_and_wraps_at_the_summary_width() -> None:
    from hybridqnn.experiments.report import SUMMARY_WIDTH, render_record

    text = render_record({"n": 3, "flag": False, "missing": None, "reason": "word " * 40})
    lines = text.splitlines()
    assert lines[:3] == ["n        3", "flag     false", "missing  —"]
    assert lines[3].startswith("reason   word") and len(lines) > 4
    assert all(len(line) <= SUMMARY_WIDTH for line in lines)
    assert all(line.startswith(" " * 9 + "word") for line in lines[4:])
    assert render_record({}) == ""
