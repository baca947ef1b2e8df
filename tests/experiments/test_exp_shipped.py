"""End to end: every shipped config through ``cli.main`` on small data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hybridqnn import cli
from hybridqnn.experiments.config import shipped_config_names


def _report(out: Path) -> dict:
    return json.loads((out / "report.json").read_text())


def test_every_shipped_config_validates(capsys: pytest.CaptureFixture[str]) -> None:
    assert {"quickstart", "qubo-head-precision", "bench-qubo-head"} <= set(shipped_config_names())
    assert cli.main(["validate"]) == 0
    assert "quickstart" in capsys.readouterr().out


def test_quickstart_reaches_target_accuracy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "qs"
    assert cli.main(["run", "quickstart", "--quick", "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    report = _report(out)
    assert report["status"] == "ok"
    rows = {r["method"]: r for r in report["rows"]}
    head = rows["qubo-head"]
    assert set(rows) == {"sgd", "qubo-head", "hardware-estimate"}
    hw = rows["hardware-estimate"]
    assert hw["num_variables"] == head["num_variables"] and hw["pegasus_success"] is False
    assert head["bits"] == 10 and head["num_variables"] == (head["features"] + 1) * 10
    assert head["test_accuracy"] >= 0.90
    assert head["build_s"] + head["reference_s"] + head["solve_s"] + head[
        "other_s"
    ] == pytest.approx(head["train_time_s"], rel=1e-6)
    # the quickstart prints both accuracies side by side
    assert "qubo-head" in printed and "sgd" in printed and "SGD best" in printed
    for name in ("config.toml", "metrics.jsonl", "report.md", "accuracy_vs_bits.png", "loss.png"):
        assert (out / name).is_file(), name
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert any(json.loads(line)["method"] == "qubo-head" for line in lines)
    # the headline first, the compact table within 100 characters, then the run directory
    assert printed.startswith("digits: QUBO head K=10 ") and "; paper: quick: not comparable" in printed
    assert all(len(line) <= 100 for line in printed.splitlines()[1:])
    assert printed.rstrip().endswith(f"run directory: {out}")
    # `hybridqnn hardware` estimates the same problem with the same function: same figures
    assert cli.main(["hardware", "quickstart", "--quick", "--timeout", "2"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[0] == "hardware estimate of the largest binary problem of config 'quickstart':"
    assert all(len(line) <= 100 for line in listing)
    cli_row = dict(line.split(None, 1) for line in listing[1:] if not line.startswith(" "))
    for key in ("num_variables", "num_couplers", "dropped_coefficients"):
        assert int(cli_row[key].strip()) == hw[key], key
    for key in ("max_abs_h", "max_abs_J", "min_abs_coefficient", "dynamic_range_bits"):
        assert float(cli_row[key].strip()) == pytest.approx(hw[key], rel=1e-3), key
    # no numerical zeros among the couplers (they made the dynamic range 1.4e15, 50 bits)
    assert hw["min_abs_coefficient"] > hw["coefficient_rtol"] * hw["max_abs_coefficient"]
    assert hw["dynamic_range_bits"] < 21


def test_precision_quick_has_rows_per_bits(tmp_path: Path) -> None:
    out = tmp_path / "prec"
    assert (
        cli.main(["run", "qubo-head-precision", "--quick", "--out", str(out), "--no-progress"]) == 0
    )
    rows = _report(out)["rows"]
    assert sorted(r["bits"] for r in rows if r["method"] == "qubo-head") == [5, 10]
    assert [r["method"] for r in rows].count("sgd") == 1


def test_a_missing_required_dataset_fails_before_any_head_trains(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """digits is present, mnist is not: one line naming mnist, and digits' heads never train."""
    from hybridqnn.experiments import qubo_head

    def trained(*args: object, **kwargs: object) -> None:
        raise AssertionError("a head trained before every required data set was checked")

    monkeypatch.setattr(qubo_head, "head_features", trained)
    (tmp_path / "empty").mkdir()
    argv = ["run", "quickstart", "--quick", "--out", str(tmp_path / "out"), "--no-progress",
            "--data-dir", str(tmp_path / "empty"), "--set", 'datasets=["digits","mnist"]']
    assert cli.main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "mnist data files not found" in err


def test_optional_dataset_missing_is_skipped_with_a_note(tmp_path: Path) -> None:
    out = tmp_path / "opt"
    (tmp_path / "empty").mkdir()
    argv = [
        "run",
        "quickstart",
        "--quick",
        "--out",
        str(out),
        "--no-progress",
        "--data-dir",
        str(tmp_path / "empty"),
        "--set",
        'optional_datasets=["kmnist"]',
        "--set",
        "max_iter=2",
    ]
    assert cli.main(argv) == 0
    report = _report(out)
    assert {r["dataset"] for r in report["rows"]} == {"digits"}
    assert any("kmnist" in note and "not present" in note for note in report["notes"])


def test_mnist_subset_through_the_cli(tmp_path: Path, shared_data: Path) -> None:
    out = tmp_path / "mnist"
    argv = [
        "run",
        "quickstart",
        "--out",
        str(out),
        "--no-progress",
        "--data-dir",
        str(shared_data),
        "--set",
        'datasets=["mnist"]',
        "--set",
        "train_size=400",
        "--set",
        "test_size=200",
        "--set",
        "bits=[6]",
        "--set",
        "max_iter=3",
        "--set",
        "sgd_epochs=3",
    ]
    assert cli.main(argv) == 0
    rows = _report(out)["rows"]
    head = next(r for r in rows if r["method"] == "qubo-head")
    assert (
        head["dataset"] == "mnist" and head["features"] == 128 and head["num_variables"] == 129 * 6
    )
    assert head["test_accuracy"] > 0.5


def test_bench_quick_rows(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    assert cli.main(["bench", "qubo-head", "--quick", "--out", str(out), "--no-progress"]) == 0
    report = _report(out)
    assert report["kind"] == "bench"
    impls = {r["impl"]: r for r in report["rows"]}
    assert set(impls) == {"sgd-adam", "qubo-head[dense-sa]", "qubo-head[sa]"}
    for name in ("qubo-head[dense-sa]", "qubo-head[sa]"):
        q = impls[name]
        assert q["baseline"] == "sgd-adam"
        assert q["speedup_vs_baseline"] == pytest.approx(
            impls["sgd-adam"]["seconds"] / q["seconds"]
        )
        assert isinstance(q["meets_target"], bool)
    notes = " ".join(report["notes"])
    assert "Baseline: sgd-adam" in notes and "Quick mode" in notes


def test_bench_solvers_quick_rows(tmp_path: Path) -> None:
    rows = _bench_solvers(tmp_path, ["sa", "dense-sa", "dense-sa-flips"])["rows"]
    cases = {r["case"] for r in rows}
    assert cases == {"random-n200", "digits-K10", "projection-w32"}
    impls = {r["impl"] for r in rows if r["case"] == "digits-K10"}
    assert impls == {
        "sa",
        "sa+warm",
        "dense-sa",
        "dense-sa+warm",
        "dense-sa-flips",
        "dense-sa-flips+warm",
    }
    # without a fixed-point encoding dense-sa makes single flips too: it is not run twice
    assert {r["impl"] for r in rows if r["case"] == "random-n200"} == {"sa", "dense-sa"}
    assert {r["impl"] for r in rows if r["case"] == "projection-w32"} == {
        "sa",
        "sa+warm",
        "dense-sa",
        "dense-sa+warm",
    }
    for row in rows:
        if row["reached_target"]:
            hits, runs = map(int, row["hits"].split("/"))
            assert runs == 3 and 1 <= hits <= runs and row["restarts"] >= 1
        else:
            assert row["hits"] is None and row["restarts"] is None
    for row in rows:
        assert row["baseline"] == "sa"
        if row["case"] == "digits-K10":
            assert row["reference_energy"] is not None
            # nothing is below the best known energy, which includes the reference
            assert row["best_energy"] >= row["best_known_energy"] - 1e-12
        if row["impl"].endswith("+warm"):
            # a warm start from the reference never ends above it (best state kept)
            assert row["gap_pct"] <= 1e-9 or row["impl"] == "sa+warm"


def test_bench_solvers_sa_10k_level_is_found_among_longer_runs() -> None:
    """Regression: SA's efforts go past 10,000 sweeps; the reference is its 10,000-sweep level,
    not its last one."""
    from hybridqnn.experiments.benchmarks.solvers import _reach_sa_10k

    sa = [
        {"level": 1000, "median_s": 0.2, "energies": [-5.0, -5.0, -4.0]},
        {"level": 10000, "median_s": 2.0, "energies": [-7.0, -6.0, -6.0]},
        {"level": 30000, "median_s": 6.0, "energies": [-9.0, -9.0, -9.0]},
    ]
    ours = [
        {"level": 10, "median_s": 0.01, "energies": [-5.0, -5.0, -5.0]},
        {"level": 30, "median_s": 0.04, "energies": [-6.0, -6.5, -5.0]},
        {"level": 100, "median_s": 0.1, "energies": [-9.0, -9.0, -9.0]},
    ]
    assert _reach_sa_10k(sa, ours) == (0.04, pytest.approx(50.0))
    assert _reach_sa_10k(sa, ours[:1]) == (None, None)
    assert _reach_sa_10k(sa, sa) == (2.0, pytest.approx(1.0))


def test_bench_solvers_time_to_target_counts_restarts() -> None:
    """Time to target at 90 %: R = ceil(ln 0.1 / ln(1 - p)) restarts of a level where a fraction p
    of the runs hit the target, R = 1 from 9 hits in 10; the fastest level wins."""
    from hybridqnn.experiments.benchmarks.solvers import _time_to_target

    def level(t: float, hits: int, runs: int) -> dict[str, object]:
        return {"median_s": t, "energies": [-1.0] * hits + [0.0] * (runs - hits)}

    # 1 of 10: 22 restarts (0.9^21 = 0.109 > 0.1 >= 0.9^22 = 0.098)
    assert _time_to_target([level(0.5, 1, 10)], -1.0) == (pytest.approx(11.0), 22, 1, 10)
    # 9 of 10 needs no restart; 1 of 2 needs 4 (0.5^3 > 0.1 >= 0.5^4)
    assert _time_to_target([level(2.0, 9, 10)], -1.0) == (2.0, 1, 9, 10)
    assert _time_to_target([level(0.3, 1, 2), level(2.0, 9, 10)], -1.0) == (
        pytest.approx(1.2),
        4,
        1,
        2,
    )
    assert _time_to_target([level(0.6, 1, 2), level(2.0, 9, 10)], -1.0) == (2.0, 1, 9, 10)
    # a level with no hit never counts; no hit anywhere: no time
    assert _time_to_target([level(0.01, 0, 10), level(1.0, 10, 10)], -1.0) == (1.0, 1, 10, 10)
    assert _time_to_target([level(0.01, 0, 10)], -1.0) == (None, None, 0, 0)
    # energies within the target count; above it they do not
    assert _time_to_target([{"median_s": 1.0, "energies": [-2.0, -0.99]}], -1.0)[2] == 1


def test_hardware_command_on_quickstart(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        cli.main(["hardware", "quickstart", "--quick", "--timeout", "2", "--topology", "pegasus"])
        == 0
    )
    out = capsys.readouterr().out
    assert "num_couplers" in out and "pegasus_success" in out and "330" in out


def test_hardware_command_rejects_bench_configs(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["hardware", "bench-solvers"]) == 2
    assert "builds no binary problem" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ('datasets=["nope"]', "'datasets' must be one of digits"),
        ('solver="nope"', "'solver' must be one of sa, tabu, steepest"),
        ("bits=[0]", "'bits' must be an integer in [1, 32], got 0"),
        ("bits=[33]", "'bits' must be an integer in [1, 32], got 33"),
    ],
)
def test_bad_config_values_are_one_line_errors(
    override: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["run", "quickstart", "--dry-run", "--set", override]) == 2
    err = capsys.readouterr().err.strip()
    assert expected in err
    assert len(err.splitlines()) == 1


def _bench_solvers(tmp_path: Path, solvers: list[str], *overrides: str) -> dict:
    """``bench solvers --quick`` with these solvers and ``--set`` overrides; its report."""
    out = tmp_path / "bs"
    argv = ["bench", "solvers", "--quick", "--out", str(out), "--no-progress",
            "--set", f"solvers={json.dumps(solvers)}"]
    for item in overrides:
        argv += ["--set", item]
    assert cli.main(argv) == 0
    return _report(out)


def _bench_solvers_on_random_problems(tmp_path: Path, solvers: list[str]) -> dict:
    """``bench solvers --quick`` with only the random problems and these solvers; its report."""
    return _bench_solvers(tmp_path, solvers, "head_problems=[]", "projection_widths=[]")


def test_bench_solvers_skips_missing_third_party_solvers_with_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name in ("openjij", "simulated_bifurcation") else real(name, *a),
    )
    report = _bench_solvers_on_random_problems(tmp_path, ["dense-sa", "openjij", "sb-package"])
    assert {r["impl"] for r in report["rows"]} == {"dense-sa"}
    assert sum("not installed" in note for note in report["notes"]) == 2


def test_bench_solvers_skips_dense_sa_cuda_without_a_gpu_with_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from numba import cuda

    monkeypatch.setattr(cuda, "is_available", lambda: False)
    report = _bench_solvers_on_random_problems(tmp_path, ["dense-sa", "dense-sa-cuda"])
    assert {r["impl"] for r in report["rows"]} == {"dense-sa"}
    assert any(
        "'dense-sa-cuda'" in note and "numba sees no CUDA GPU" in note for note in report["notes"]
    )
