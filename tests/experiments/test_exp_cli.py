from __future__ import annotations

import csv
import json
import re

import pytest

from hybridqnn import __version__, cli
from hybridqnn.experiments.report import SUMMARY_WIDTH

pytestmark = pytest.mark.usefixtures("toy_registry")


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_version(capsys):
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"hybridqnn {__version__}"


def test_help_and_usage_errors(capsys):
    assert cli.main(["--help"]) == 0
    assert "run" in capsys.readouterr().out
    assert cli.main([]) == 2
    assert _one_error_line(capsys.readouterr().err).startswith("hybridqnn: error:")
    assert cli.main(["run", "toy", "--seed", "x"]) == 2
    assert "invalid int value" in _one_error_line(capsys.readouterr().err)


def test_run_shipped_config(tmp_path, capsys):
    out = tmp_path / "run"
    code = cli.main(["run", "toy", "--out", str(out), "--set", "bits=[4,8]", "--no-progress"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert re.search(r"^method +dataset +bits +", captured.out, re.M)  # the compact table
    assert all(len(line) <= SUMMARY_WIDTH for line in captured.out.splitlines())
    assert captured.out.strip().endswith(f"run directory: {out}")
    report = json.loads((out / "report.json").read_text())
    assert report["status"] == "ok" and len(report["rows"]) == 4
    with (out / "rows.csv").open(newline="") as f:  # rows.csv holds the report's rows
        back = list(csv.DictReader(f))
    assert [list(r) for r in back] == [list(r) for r in report["rows"]]
    for got, want in zip(back, report["rows"], strict=True):
        assert got["method"] == want["method"] and int(got["bits"]) == want["bits"]
        assert float(got["test_accuracy"]) == want["test_accuracy"]
    assert {"config.toml", "metrics.jsonl", "report.json", "report.md", "loss.png"} <= {
        p.name for p in out.iterdir()
    }


def test_run_path_with_quick_seed_and_options(tmp_path, write_config, capsys):
    path = write_config()
    out = tmp_path / "run"
    argv = [
        "run",
        str(path),
        "--quick",
        "--seed",
        "5",
        "--out",
        str(out),
        "--data-dir",
        str(tmp_path),
        "--device",
        "cpu",
        "--executor",
        "dask://localhost:8786",
    ]
    assert cli.main(argv) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["experiment"] == "cfg" and report["quick"] is True and report["seed"] == 5
    assert report["config"]["params"]["epochs"] == 1 and report["rows"][0]["dataset"] == "tiny"
    assert report["executor"] == "dask://localhost:8786" and report["data_dir"] == str(tmp_path)


@pytest.mark.parametrize(
    "argv, expected",
    [
        (
            ["run", "toy", "--set", "epoch=3"],
            "unknown key 'epoch' in [params] (did you mean 'epochs'?); valid keys: seed, epochs, lr,",
        ),
        (["run", "toy", "--set", "epochs=abc"], "'epochs' must be int, got 'abc' (str)"),
        (["run", "toy", "--set", "epochs=0"], "'epochs' must be >= 1, got 0"),
        (["run", "nope"], "unknown config 'nope'"),
        (["run", "missing.toml"], "config file 'missing.toml' does not exist"),
        (["run", "toy", "--device", "gpu"], "'device' must be cpu, cuda or cuda:N; got 'gpu'"),
        (["run", "bench-toy"], "config 'bench-toy' is a benchmark"),
        (
            ["bench", "nope"],
            "unknown benchmark 'nope' (looked for config 'bench-nope'); benchmarks: toy",
        ),
        (["bench", "toy-x"], "benchmarks: toy"),
    ],
)
def test_config_errors_exit_2_with_one_line(tmp_path, monkeypatch, capsys, argv, expected):
    monkeypatch.chdir(tmp_path)
    assert cli.main(argv) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith("hybridqnn: error: ")
    assert expected in line
    assert list(tmp_path.iterdir()) == []


def test_bench_resolves_prefixed_config(tmp_path, capsys):
    assert cli.main(["bench", "toy", "--out", str(tmp_path / "a")]) == 0
    assert re.search(r"^case +impl +seconds +", capsys.readouterr().out, re.M)
    assert cli.main(["bench", "bench-toy", "--out", str(tmp_path / "b")]) == 0
    assert json.loads((tmp_path / "b" / "report.json").read_text())["kind"] == "bench"
    assert cli.main(["bench", "toy", "--set", "drop_key=case", "--out", str(tmp_path / "c")]) == 1
    assert "bench row 0 is missing 'case'" in _one_error_line(capsys.readouterr().err)


def test_dry_run_creates_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["run", "toy", "--dry-run", "--set", "lr=0.5"]) == 0
    assert cli.main(["run", "toy", "--dry-run", "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert 'experiment = "toy"' in out and "lr = 0.5" in out
    assert "#   epochs (int, default 2): number of epochs" in out
    assert list(tmp_path.iterdir()) == []


def test_failed_run_exits_1_with_one_line(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["run", "toy", "--set", "fail_at=0", "--out", str(out)]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert (
        line
        == f"hybridqnn: error: run failed: RuntimeError: boom at epoch (traceback in {out / 'error.log'})"
    )
    assert json.loads((out / "report.json").read_text())["status"] == "failed"
    assert "RuntimeError: boom" in (out / "error.log").read_text()


def test_debug_reraises(tmp_path, monkeypatch):
    with pytest.raises(RuntimeError, match="boom"):
        cli.main(["--debug", "run", "toy", "--set", "fail_at=0", "--out", str(tmp_path / "a")])
    with pytest.raises(RuntimeError, match="boom"):
        cli.main(["run", "toy", "--set", "fail_at=0", "--out", str(tmp_path / "b"), "--debug"])
    monkeypatch.setenv("HYBRIDQNN_DEBUG", "1")
    with pytest.raises(ValueError, match="unknown key"):
        cli.main(["run", "toy", "--set", "nope=1"])
    assert json.loads((tmp_path / "a" / "report.json").read_text())["status"] == "failed"


def test_interrupt_exits_130_with_partial_report(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["run", "toy", "--set", "interrupt_at=1", "--out", str(out)]) == 130
    captured = capsys.readouterr()
    assert "interrupted" in _one_error_line(captured.err)
    report = json.loads((out / "report.json").read_text())
    assert report["status"] == "interrupted" and len(report["rows"]) == 1
    assert re.search(r"^method +", captured.out, re.M)  # the partial table is still shown


def test_failed_run_keeps_earlier_good_report(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["run", "toy", "--out", str(out)]) == 0
    good = (out / "report.json").read_bytes()
    assert cli.main(["run", "toy", "--out", str(out), "--set", "fail_at=0"]) == 1
    assert (out / "report.json").read_bytes() == good
    assert json.loads((out / "failed" / "report.json").read_text())["status"] == "failed"
    line = _one_error_line(capsys.readouterr().err)
    assert line == (
        f"hybridqnn: error: run failed: RuntimeError: boom at epoch (traceback in "
        f"{out / 'failed' / 'error.log'}); {out} keeps its earlier ok run"
    )
    assert cli.main(["run", "toy", "--out", str(out), "--set", "interrupt_at=0"]) == 130
    assert f"partial report in {out / 'interrupted' / 'report.json'}; {out} keeps" in (
        _one_error_line(capsys.readouterr().err))


def test_run_refuses_a_project_directory(tmp_path, monkeypatch, capsys):
    (tmp_path / "pyproject.toml").write_text("[project]\n")
    (tmp_path / "src").mkdir()
    monkeypatch.chdir(tmp_path)
    assert cli.main(["run", "toy", "--out", "."]) == 2
    assert "'out_dir' '.' must not be the current directory" in _one_error_line(capsys.readouterr().err)
    sub = tmp_path / "src"
    (sub / "notes.txt").write_text("mine")
    assert cli.main(["run", "toy", "--out", str(sub)]) == 2
    assert "holds entries a run does not write (notes.txt)" in _one_error_line(capsys.readouterr().err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pyproject.toml", "src"]
    assert [p.name for p in sub.iterdir()] == ["notes.txt"]


def test_list_experiments_and_benchmarks(capsys):
    assert cli.main(["list", "experiments"]) == 0
    out = capsys.readouterr().out
    # the experiment's name shows only where it differs from the config's
    assert "toy" in out and "[toy]" not in out and "Toy config." in out and "bench" not in out
    assert cli.main(["list", "benchmarks"]) == 0
    out = capsys.readouterr().out
    assert "  toy  [toy-bench]  Toy benchmark." in out
    assert cli.main(["list", "widgets"]) == 2


def test_list_cuts_its_lines_to_the_terminal(capsys, monkeypatch):
    """On a terminal `list` cuts each line to its width (a pipe gets whole lines, above)."""
    monkeypatch.setattr(cli, "_terminal_columns", lambda: 40)
    assert cli.main(["list", "solvers"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines and max(len(line) for line in lines) <= 40
    assert any(line.endswith("…") for line in lines)


def test_list_solvers_and_datasets(capsys):
    solvers = pytest.importorskip("hybridqnn.solvers")
    data = pytest.importorskip("hybridqnn.data")
    if not hasattr(solvers, "list_solvers") or not hasattr(data, "DATASETS"):
        pytest.skip("solvers/datasets registry not available yet")
    assert cli.main(["list", "solvers"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("solvers:")
    for name, _ in solvers.list_solvers():
        assert name in out
    assert cli.main(["list", "datasets"]) == 0
    out = capsys.readouterr().out
    for name in data.DATASETS:
        assert name in out
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    assert all(s in out for s in ("experiments", "benchmarks", "solvers:", "datasets:"))


def test_validate(write_config, capsys):
    assert cli.main(["validate", "toy", "--quick", "--set", "lr=1"]) == 0
    assert capsys.readouterr().out.strip() == "ok: toy (toy)"
    assert cli.main(["validate"]) == 0
    assert capsys.readouterr().out.splitlines() == ["ok: bench-toy (toy-bench)", "ok: toy (toy)"]
    bad = write_config('experiment = "toy"\n[quick]\nepochs = 0\n')
    assert cli.main(["validate", str(bad)]) == 0
    assert cli.main(["validate", str(bad), "--quick"]) == 2
    assert "'epochs' must be >= 1" in _one_error_line(capsys.readouterr().err)


def test_validate_all_reports_each_bad_config(toy_registry, capsys):
    (toy_registry / "broken.toml").write_text('experiment = "toy"\n[quick]\nepochs = 0\n')
    assert cli.main(["validate"]) == 2
    captured = capsys.readouterr()
    assert captured.out.splitlines() == ["ok: bench-toy (toy-bench)", "ok: toy (toy)"]
    assert "config 'broken'" in _one_error_line(captured.err)


def test_report_rerenders(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["run", "toy", "--out", str(out)]) == 0
    capsys.readouterr()
    md = (out / "report.md").read_text()
    (out / "report.md").unlink()
    csv_text = (out / "rows.csv").read_text()
    (out / "rows.csv").unlink()
    assert cli.main(["report", str(out)]) == 0
    assert capsys.readouterr().out == md
    assert (out / "report.md").read_text() == md
    assert (out / "rows.csv").read_text() == csv_text  # rewritten from report.json too


def test_report_errors(tmp_path, capsys):
    assert cli.main(["report", str(tmp_path)]) == 2
    assert "has no report.json" in _one_error_line(capsys.readouterr().err)
    (tmp_path / "report.json").write_text("{oops")
    assert cli.main(["report", str(tmp_path)]) == 2
    assert "is not valid JSON" in _one_error_line(capsys.readouterr().err)



def test_bad_executor_fails_before_the_run(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["run", "toy", "--out", str(out), "--executor", "bogus"]) == 2
    assert "'executor'" in _one_error_line(capsys.readouterr().err)
    assert not out.exists()


def test_a_closed_pipe_stops_the_cli_quietly() -> None:
    """`hybridqnn list | head -1`: the reader has closed the pipe (here before the CLI writes
    anything, so the write always fails); the CLI stops with 141 (128 + SIGPIPE) and prints no
    traceback or BrokenPipeError."""
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from hybridqnn.cli import main; sys.exit(main(['list']))"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # what `head -1` does once it has its line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141, err
    assert err == ""
