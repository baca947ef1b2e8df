"""End to end: the QCBO experiments and benchmark through ``cli.main`` with ``--quick``."""

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
    if not (path / "fashion-mnist").is_dir():
        pytest.skip(f"real data folder {path} has no fashion-mnist (set HYBRIDQNN_DATA)")
    return path


def _report(out: Path) -> dict:
    return json.loads((out / "report.json").read_text())


def _run(argv: list[str], data: Path) -> None:
    assert cli.main([*argv, "--quick", "--no-progress", "--data-dir", str(data)]) == 0


def test_qcbo_fmnist_quick(tmp_path: Path, shared_data: Path) -> None:
    out = tmp_path / "fm"
    _run(["run", "qcbo-fmnist", "--out", str(out)], shared_data)
    report = _report(out)
    assert report["status"] == "ok"
    rows = {r["method"]: r for r in report["rows"]}
    assert set(rows) == {
        "full-precision",
        "qat-ste-adam",
        "qat-quantized-activations",
        "qph-qcgd",
        "greedy-moves",
        "greedy-pairs",
        "greedy-moves-restarts",
        "mono-penalty",
        "spin-count",
        "spline-error",
        "hardware-estimate",
    }
    qph, spin, hw = rows["qph-qcgd"], rows["spin-count"], rows["hardware-estimate"]
    # the classical control starts from the QPH run's random network (one seed per setting)
    control = rows["greedy-moves"]
    assert control["init_train_accuracy"] == qph["init_train_accuracy"]
    assert control["ph_iterations"] == qph["ph_iterations"] and "oracle_calls" not in control
    assert any("minus the classical control greedy-moves" in n for n in report["notes"])
    # the control with QPH's classical parts: line search and exact pair move, same start
    pairs = rows["greedy-pairs"]
    assert pairs["init_train_accuracy"] == qph["init_train_accuracy"]
    assert pairs["ph_iterations"] == qph["ph_iterations"] and "oracle_calls" not in pairs
    assert 0 <= pairs["pair_moves_applied"] <= pairs["ph_iterations"]
    assert pairs["pair_errors_removed"] >= 0 and "qubo_moves_applied" not in pairs
    assert any("minus the classical control greedy-pairs" in n for n in report["notes"])
    multi = rows["greedy-moves-restarts"]
    assert multi["restarts"] == 2 and multi["accuracy_vs_qat"] == pytest.approx(
        multi["test_accuracy"] - rows["qat-ste-adam"]["test_accuracy"]
    )
    assert any(
        "Multi-start classical control (best training score of 2" in n for n in report["notes"]
    )
    assert (
        qph["bits_per_weight"] == 1.0 and qph["architecture"] == "16-4-1" and qph["n_train"] == 12
    )
    assert 0.0 <= qph["test_accuracy"] <= 1.0 and qph["oracle_calls"] > 0
    # time columns say what they are: the solves' wall time fits in the training's wall time;
    # oracle seconds are summed over the parallel subproblems (and may exceed it)
    assert "oracle_s" not in qph and qph["oracle_summed_s"] > 0
    assert 0.0 < qph["solve_wall_s"] <= qph["train_time_s"]
    assert qph["time_per_call_s"] == pytest.approx(qph["oracle_summed_s"] / qph["oracle_calls"])
    assert 0.0 <= qph["improving_solve_fraction"] <= 1.0 and qph["qubo_moves_applied"] >= 0
    # a kept QUBO move never adds training errors; none kept, none removed
    assert qph["qubo_errors_removed"] >= 0
    assert qph["qubo_moves_applied"] > 0 or qph["qubo_errors_removed"] == 0
    assert 0 <= qph["qubo_beats_best_pair"] <= qph["qubo_moves_applied"]
    assert qph["restarts"] == 1  # ph_restarts: one QPH run, from the control's start
    assert qph["start"] == control["start"] == "random"
    assert qph["accuracy_vs_qat"] == pytest.approx(
        qph["test_accuracy"] - rows["qat-ste-adam"]["test_accuracy"]
    )
    assert qph["accuracy_vs_qat_quantized_activations"] == pytest.approx(
        qph["test_accuracy"] - rows["qat-quantized-activations"]["test_accuracy"]
    )
    assert rows["qat-quantized-activations"]["bits_per_weight"] == 1.0
    # monolithic spins = weights + the per-sample parts; each solve is far smaller
    assert (
        spin["monolithic_spins"]
        == qph["monolithic_spins"]
        > spin["subproblem_spins_max"]
        == qph["spins_per_solve"]
    )
    assert spin["subproblem_spins_max"] <= spin["formula_subproblem"]
    assert hw["num_variables"] <= qph["spins_per_solve"]
    # the monolithic row solves one model of all its samples
    mono = rows["mono-penalty"]
    assert mono["n_train"] == 2 and mono["spins_per_solve"] == mono["monolithic_spins"]
    for name in ("report.md", "metrics.jsonl", "accuracy.png", "qph_loss.png", "config.toml"):
        assert (out / name).is_file(), name
    # the paper's 94.95 % is the headline's paper clause, which a quick run labels
    from hybridqnn.experiments.qcbo import headline_fmnist

    assert "; paper: 94.95 % at 1.1 bits" in headline_fmnist(report["rows"])
    assert report["headline"].startswith("best QPH: qph-qcgd ")
    assert report["headline"].endswith("; paper: quick: not comparable")


def test_qcbo_fmnist_qat_start_quick(
    tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``ph_start=qat``: QPH and the single-start control start from the setting's
    qat-quantized-activations network; with a spin budget below the full subproblem's spins,
    QPH solves blocks of weights within it."""
    out = tmp_path / "fm-qat"
    sets = 'methods=["qph-qcgd"] control_restarts=0 ph_start=qat max_spins=150'.split()
    _run(
        ["run", "qcbo-fmnist", "--out", str(out), *(a for s in sets for a in ("--set", s))],
        shared_data,
    )
    report = _report(out)
    rows = {r["method"]: r for r in report["rows"]}
    qat_q = rows["qat-quantized-activations"]
    for name in ("qph-qcgd", "greedy-moves"):
        assert rows[name]["start"] == "qat-quantized-activations"
        assert rows[name]["init_train_accuracy"] == qat_q["train_accuracy"]
    assert any("QPH from the qat-quantized-activations network" in n for n in report["notes"])
    qph = rows["qph-qcgd"]
    assert qph["spins_per_solve"] <= 150 == qph["spin_budget"] and qph["weight_blocks"] >= 2
    assert qph["spins_per_solve_mean"] <= qph["spins_per_solve"] and qph["monolithic_spins"] is None
    assert any("Spins per QPH solve, largest / mean (budget 150" in n for n in report["notes"])
    # the hardware estimate is of a block subproblem within the budget, not of all the weights
    assert rows["hardware-estimate"]["num_variables"] <= 150
    bad = ["run", "qcbo-fmnist", "--quick", "--set", "ph_start=warm", "--out", str(tmp_path / "x")]
    assert cli.main(bad) == 2
    assert "'ph_start' must be one of random, qat; got 'warm'" in capsys.readouterr().err


def test_accuracy_figure_plots_only_methods_in_every_setting(
    tmp_path: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two settings, resource rows added after the first one's QPH: the accuracy figure gets a
    test accuracy per method and setting, and no bookkeeping (a "resources_done" flag was
    once plotted as a method at 0 in every setting after the first)."""
    from hybridqnn.experiments import qcbo

    plotted: list[dict] = []
    monkeypatch.setattr(qcbo, "_plot", lambda ctx, results, histories: plotted.append(results))
    sets = 'settings=["binary","mixed"] methods=["qph-qcgd"] control_restarts=0 pair_control=false'
    _run(
        ["run", "qcbo-fmnist", "--out", str(tmp_path / "fm2"),
         *(a for s in sets.split() for a in ("--set", s))],
        shared_data,
    )
    (results,) = plotted
    methods = {"full-precision", "qat-ste-adam", "qat-quantized-activations", "greedy-moves", "qph-qcgd"}
    assert set(results) == {("0-1", "binary"), ("0-1", "mixed")}
    for accuracy in results.values():
        assert set(accuracy) == methods
        assert all(isinstance(a, float) and 0.0 <= a <= 1.0 for a in accuracy.values())


def test_qcbo_convergence_quick(tmp_path: Path, shared_data: Path) -> None:
    out = tmp_path / "conv"
    _run(["run", "qcbo-convergence", "--out", str(out)], shared_data)
    rows = _report(out)["rows"]
    exact = rows[0]
    assert exact["setting"] == "exact (milp)" and exact["feasible"] is True
    settings = [r for r in rows[1:] if r["oracle"] == "dense-sa"]
    assert {(r["variance"], r["bits"]) for r in settings} == {
        (0.0, None),
        (0.0, 4),
        (0.1, None),
        (0.1, 4),
    }
    # the exact oracle runs noise-free at full precision only, every call proven optimal
    (milp,) = [r for r in rows[1:] if r["oracle"] == "milp"]
    assert (milp["variance"], milp["bits"]) == (0.0, None) and milp["oracle_optimal_fraction"] == 1.0
    for r in [*settings, milp]:
        # nothing feasible can beat the exact optimum
        assert r["gap"] is None or r["gap"] >= -1e-6
        assert 0.0 <= r["feasible_atom_fraction"] <= 1.0
        assert (r["gap_to_optimum_pct"] is None) == (not r["found_feasible"])
        assert "infeasibility_slope" in r and "rsqrt_nonincreasing" in r
        # the shipped config warm-starts QCGD from a feasible network, without preconditioning
        assert r["warm_start"] is True and r["precondition"] is False
    for r in settings:
        assert r["oracle_optimal_fraction"] is None  # SA proves nothing optimal
    assert (out / "qcgd_convergence.png").is_file()
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 5 * 4 and "infeasibility" in json.loads(lines[0])


def test_qcbo_convergence_runs_on_a_model_with_zero_objective_range(
    tmp_path: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model whose loss is constant over its FIP range has objective_range 0.0 (met on a
    2-sample 4-2-1 model with 1-bit activations); qcgd rejects 0, so the run passes None (QCGD
    then scales by Delta_f), as the subproblem path does."""
    import dataclasses

    from hybridqnn.experiments import qcbo as exp

    build = exp._convergence_model
    monkeypatch.setattr(
        exp,
        "_convergence_model",
        lambda *a: dataclasses.replace(build(*a), objective_range=0.0),
    )
    out = tmp_path / "conv0"
    sets = ["iterations=2", "variances=[0.0]", "coefficient_bits=[0]"]
    _run(
        ["run", "qcbo-convergence", "--out", str(out), *(a for s in sets for a in ("--set", s))],
        shared_data,
    )
    rows = _report(out)["rows"]
    assert rows[0]["objective_range"] == 0.0 and [r["oracle"] for r in rows[1:]] == ["dense-sa", "milp"]


def test_bench_qcbo_quick(tmp_path: Path, shared_data: Path) -> None:
    out = tmp_path / "bench"
    _run(["bench", "qcbo", "--out", str(out)], shared_data)
    report = _report(out)
    assert report["kind"] == "bench"
    impls = {r["impl"]: r for r in report["rows"]}
    assert set(impls) == {
        "qat-ste-adam",
        "qat-quantized-activations (the QCBO's network)",
        "qph-qcgd[dense-sa]",
        "greedy-moves (classical control)",
        "greedy-pairs: line search and exact pair move (classical control)",
        "greedy-moves, best of 2 starts (classical control)",
    }
    q = impls["qph-qcgd[dense-sa]"]
    g = impls["greedy-moves (classical control)"]
    assert g["init_train_accuracy"] == q["init_train_accuracy"]
    gp = impls["greedy-pairs: line search and exact pair move (classical control)"]
    assert gp["init_train_accuracy"] == q["init_train_accuracy"] and gp["pair_errors_removed"] >= 0
    assert q["baseline"] == "qat-ste-adam"
    assert q["speedup_vs_baseline"] == pytest.approx(
        impls["qat-ste-adam"]["seconds"] / q["seconds"]
    )
    assert q["oracle_calls"] == 20 * 2 and 0.0 < q["oracle_share"] <= 1.0
    assert isinstance(q["meets_target"], bool)
    assert 0.0 <= q["improving_solve_fraction"] <= 1.0


def test_bad_setting_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(
        [
            "run",
            "qcbo-fmnist",
            "--dry-run",
            "--set",
            'settings=["4bit"]',
            "--out",
            str(tmp_path / "x"),
        ]
    )
    assert code != 0
    err = capsys.readouterr().err
    assert "'settings' must be one of" in err and "4bit" in err


def test_convergence_checks_sample_kwargs_against_its_oracles_only() -> None:
    """qcbo-convergence passes sample_kwargs to its oracles and never uses ``solver``: keywords
    of an oracle (sb's num_steps) are valid though ``solver`` (dense-sa) does not take them."""
    from hybridqnn.experiments.config import load_config

    over = ['oracles=["sb", "milp"]', "sample_kwargs={num_reads=1,num_steps=50}"]
    assert load_config("qcbo-convergence", overrides=over).params.sample_kwargs["num_steps"] == 50
    with pytest.raises(ValueError, match="'sample_kwargs' has unknown keyword 'num_sweeps' for solver 'sb'"):
        load_config("qcbo-convergence", overrides=['oracles=["sb"]'])
    with pytest.raises(ValueError, match="unknown keyword 'num_steps' for solver 'dense-sa'"):
        load_config("qcbo-fmnist", overrides=["sample_kwargs={num_steps=50}"])


def test_bench_row_takes_medians_over_repeats_and_keeps_the_column_order() -> None:
    from hybridqnn.experiments.qcbo import _bench_row

    runs = [
        {"train_time_s": 4.0, "test_accuracy": 0.7, "oracle_calls": 10},
        {"train_time_s": 1.0, "test_accuracy": 0.9, "oracle_calls": 12},
        {"train_time_s": 2.0, "test_accuracy": 0.8, "oracle_calls": 11},
    ]
    row = _bench_row("c", "qph", runs, 1.0, ("oracle_calls",), meets_target=True)
    assert row == {
        "case": "c",
        "impl": "qph",
        "seconds": 2.0,
        "baseline": "qat-ste-adam",
        "speedup_vs_baseline": 0.5,
        "test_accuracy": 0.8,
        "meets_target": True,
        "oracle_calls": 10,  # the first repeat's, as the note reports it
    }
    assert list(row) == [  # the report's column order: the bench columns, extra, copied
        "case", "impl", "seconds", "baseline", "speedup_vs_baseline", "test_accuracy",
        "meets_target", "oracle_calls",
    ]
    assert _bench_row("c", "qat-ste-adam", runs[:1], 4.0)["speedup_vs_baseline"] == 1.0


def test_move_columns_are_per_move_and_count_the_samplers_wins_for_qubo_only() -> None:
    from hybridqnn.experiments.qcbo import _move_columns

    history = [
        {"qubo_applied": True, "qubo_source": "sampler", "qubo_error_gain": -5},
        {"qubo_applied": True, "qubo_source": "pair", "qubo_error_gain": -2},
        {"qubo_applied": False, "qubo_source": "", "qubo_error_gain": 0},
        {},  # an iteration without the move (e.g. a block sweep's inner blocks)
    ]
    assert _move_columns(["qubo"], history) == {
        "qubo_moves_applied": 2,
        "qubo_errors_removed": 7,
        "qubo_beats_best_pair": 1,
    }
    pair = [{"pair_applied": True, "pair_source": "pair", "pair_error_gain": -3}]
    assert _move_columns(["pair"], pair) == {"pair_moves_applied": 1, "pair_errors_removed": 3}
    assert _move_columns([], history) == {}


def test_headline_counts_only_two_class_qcbo_rows_at_the_papers_bits() -> None:
    """The paper's 94.95 % is at 1.1 bits per weight on a two-class task: a ternary (1.58-bit)
    or mixed (1.14-bit) row above it, a 10-class row or a control does not count as reaching it."""
    from hybridqnn.experiments.qcbo import headline_fmnist

    def row(method: str, setting: str, bits: float, acc: float, task: str = "0-1") -> dict:
        return {"method": method, "task": task, "setting": setting, "bits_per_weight": bits,
                "test_accuracy": acc}

    rows = [
        row("qph-qcgd", "binary", 1, 0.95),
        row("qph-qcgd", "ternary", 1.58, 0.96),
        row("qph-qcgd", "mixed", 1.14, 0.97),
        row("qph-qcgd", "binary", 1, 0.94, task="6-0"),
        row("qph-qcgd", "binary", 1, 0.96, task="all"),
        row("greedy-pairs", "binary", 1, 0.98),
    ]
    assert headline_fmnist(rows).endswith(
        "reached by 1 of the 2 two-class QCBO rows at <= 1.1 bits here"
    )
    assert headline_fmnist(rows[1:3]).endswith("reached by 0 of the 0 two-class QCBO rows at <= 1.1 bits here")
