"""Natural-quantization experiments end to end through ``cli.main`` (quick settings)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from hybridqnn import cli
from hybridqnn.experiments.config import load_config, shipped_config_names
from hybridqnn.experiments.natural import critical_g


def _report(out: Path) -> dict:
    return json.loads((out / "report.json").read_text())


def test_configs_ship_and_validate() -> None:
    assert {"natural-mnist", "natural-sweep", "bench-natural"} <= set(shipped_config_names())
    full = load_config("natural-mnist")
    p = full.params
    assert (
        p.train_size,
        p.width,
        p.hidden_layers,
        p.epochs,
        p.batch_size,
        p.lr,
        p.momentum,
        p.shots,
    ) == (
        5000,
        512,
        3,
        100,
        64,
        0.01,
        0.9,
        15,
    )
    assert p.settings["method1"]["a"] == pytest.approx(10**-0.5)
    assert p.settings["method2"]["g_over_pi"] == pytest.approx(5 / 19)
    sweep = load_config("natural-sweep").params
    assert (
        len(sweep.a_grid) == 11
        and sweep.a_grid[0] == pytest.approx(0.01)
        and sweep.a_grid[-1] == pytest.approx(10**0.5)
    )
    assert len(sweep.g_grid_over_pi) == 20 and sweep.g_grid_over_pi[10] == pytest.approx(5 / 19)
    assert load_config("bench-natural").experiment.kind == "bench"
    for name in ("natural-mnist", "natural-sweep", "bench-natural"):
        assert load_config(name, quick=True).quick


def test_natural_mnist_quick(tmp_path: Path, shared_data: Path) -> None:
    out = tmp_path / "nm"
    argv = [
        "run",
        "natural-mnist",
        "--quick",
        "--out",
        str(out),
        "--no-progress",
        "--data-dir",
        str(shared_data),
    ]
    assert cli.main(argv) == 0
    report = _report(out)
    assert report["status"] == "ok"
    rows = {r["setting"]: r for r in report["rows"]}
    assert set(rows) == {"classical", "method1", "method2"}
    assert rows["method1"]["a"] == pytest.approx(10**-0.5) and rows["method2"][
        "g_over_pi"
    ] == pytest.approx(5 / 19)
    for row in rows.values():
        assert row["train_size"] == 500 and row["val_size"] == 500 and row["epochs"] == 2
        assert 0 <= row["best_val_error"] <= row["final_val_error"] <= 1
        # chance is 0.9 (+-0.013 on 500 images): every setting learns something in two epochs
        assert row["final_val_error"] < 0.88
    assert min(row["final_val_error"] for row in rows.values()) < 0.75
    assert (out / "error_curves.png").is_file() and (out / "report.md").is_file()
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert {(r["setting"], r["epoch"]) for r in lines} == {(s, e) for s in rows for e in (1, 2)}
    assert "Paper reports" in (out / "report.md").read_text()


def test_natural_sweep_quick_in_processes(tmp_path: Path, shared_data: Path) -> None:
    out = tmp_path / "sweep"
    argv = [
        "run",
        "natural-sweep",
        "--quick",
        "--out",
        str(out),
        "--no-progress",
        "--data-dir",
        str(shared_data),
        "--executor",
        "process",
        "--set",
        "max_workers=2",
        "--set",
        "epochs=1",
    ]
    assert cli.main(argv) == 0
    rows = _report(out)["rows"]
    sweeps = [r["sweep"] for r in rows]
    assert sweeps.count("a-sweep") == 1 and sweeps.count("g-sweep") == 2
    g_rows = [r for r in rows if r["sweep"] == "g-sweep"]
    assert [r["g_over_pi"] for r in g_rows] == pytest.approx([1 / 38, 0.5])
    assert (out / "error_vs_a.png").is_file() and (out / "error_vs_g.png").is_file()
    assert len(list(out.glob("progress-*.jsonl"))) == 3  # live progress from the worker processes


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("settings={x={a=-1.0}}", "'a' must be a float >= 0, got -1.0"),
        (
            "settings={x={g_over_pi=0.6}}",
            "'g_over_pi' must be a float in [0, 0.5], got 0.6",
        ),
        (
            "settings={x={g=2.0}}",
            "'g' must be a float in [0, 1.5708], got 2.0",
        ),
        ("settings={x={b=1.0}}", "unknown key 'b'; valid keys: a, g, g_over_pi"),
        ("width=0", "'width' must be an integer in [1, 2^20], got 0"),
        ("shots=0", "'shots' must be an integer in [1, 10^9], got 0"),
        ('update="nope"', "'update' must be one of 'paper', 'exact'"),
    ],
)
def test_bad_config_values_are_one_line_errors(
    override: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["run", "natural-mnist", "--dry-run", "--set", override]) == 2
    err = capsys.readouterr().err.strip()
    assert expected in err
    assert len(err.splitlines()) == 1


def test_a_bad_setting_value_names_the_setting(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(
        'experiment = "natural-mnist"\n[params.settings]\nclassical = {a = 0.0, g_over_pi = 0.0}\n'
        "weak = {a = -1.0, g_over_pi = 0.1}\n"
    )
    assert cli.main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "[params] 'settings[weak]' key 'a' must be a float >= 0, got -1.0" in err
    assert len(err.splitlines()) == 1


def test_bad_sweep_values(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", "natural-sweep", "--dry-run", "--set", "a_grid=[-0.5]"]) == 2
    assert "'a_grid' must be a float >= 0, got -0.5" in capsys.readouterr().err
    assert cli.main(["bench", "natural", "--dry-run", "--set", "shots=0"]) == 2
    assert "'shots' must be an integer in [1, 10^9], got 0" in capsys.readouterr().err


def test_critical_g() -> None:
    g = [0.0, 0.05, 0.1, 0.15, 0.2, 0.5]
    err = [0.9, 0.88, 0.7, 0.2, 0.06, 0.05]
    # threshold 0.05 + 0.5 * 0.85 = 0.475, crossed between 0.1 (0.7) and 0.15 (0.2)
    assert critical_g(g, err) == pytest.approx(0.1 + (0.475 - 0.7) * 0.05 / (0.2 - 0.7))
    assert critical_g(g[::-1], err[::-1]) == pytest.approx(critical_g(g, err))
    assert critical_g([0.1, 0.5], [0.05, 0.04]) is None
    assert critical_g([0.3], [0.5]) is None
    assert math.isfinite(critical_g(g, err))


def test_sweep_on_a_dask_cluster_matches_serial(tmp_path: Path, shared_data: Path) -> None:
    distributed = pytest.importorskip("distributed")
    common = [
        "--quick", "--no-progress", "--data-dir", str(shared_data), "--set", "epochs=1",
        "--set", "g_grid_over_pi=[0.5]", "--set", "train_size=200", "--set", "test_size=200",
    ]  # fmt: skip
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, protocol="tcp", host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:  # fmt: skip
        address = cluster.scheduler_address.split("://", 1)[1]
        argv = [
            "run",
            "natural-sweep",
            "--out",
            str(tmp_path / "dask"),
            "--executor",
            f"dask://{address}",
        ]
        assert cli.main(argv + common) == 0
    argv = ["run", "natural-sweep", "--out", str(tmp_path / "serial"), "--executor", "serial"]
    assert cli.main(argv + common) == 0
    on_dask, serial = _report(tmp_path / "dask")["rows"], _report(tmp_path / "serial")["rows"]
    assert (
        [r["setting"] for r in on_dask] == [r["setting"] for r in serial] == ["a=0.3162", "g=0.5pi"]
    )
    for a, b in zip(on_dask, serial, strict=True):
        assert a["final_val_error"] == b["final_val_error"] and a["seed"] == b["seed"]
    assert not list((tmp_path / "dask").glob("progress-*.jsonl"))  # workers may not share the disk
