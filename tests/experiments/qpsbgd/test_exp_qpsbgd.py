"""The six qpsbgd-* experiments end to end through ``cli.main`` (``--quick``, tiny sizes), their
configs, bad-input errors, and the helpers whose results the reports depend on."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from hybridqnn import cli
from hybridqnn.experiments.config import load_config, shipped_config_names
from hybridqnn.experiments.qpsbgd import a1a_2layer, common, mnist_pairs, rosenbrock
from hybridqnn.experiments.qpsbgd import gcn as gcn_exp

NAMES = tuple(
    f"qpsbgd-{n}" for n in ("rosenbrock", "logreg", "a1a-10layer", "a1a-2layer", "mnist-pairs", "gcn")
)


@pytest.fixture(scope="module")
def data_dir() -> Path:
    env = os.environ.get("HYBRIDQNN_DATA", "")
    path = Path(env) if env else Path(__file__).resolve().parents[4] / "shared" / "data"
    if not ((path / "libsvm" / "a1a").is_file() and (path / "mnist").is_dir()):
        pytest.skip(f"real data folder {path} not found (set HYBRIDQNN_DATA)")
    return path


def _run(tmp_path: Path, name: str, data_dir: Path | None, *overrides: str) -> dict:
    out = tmp_path / name
    argv = ["run", name, "--quick", "--out", str(out), "--no-progress"]
    if data_dir is not None:
        argv += ["--data-dir", str(data_dir)]
    for item in overrides:
        argv += ["--set", item]
    assert cli.main(argv) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["status"] == "ok"
    for f in ("config.toml", "metrics.jsonl", "report.md"):
        assert (out / f).is_file(), f
    for fig in report["figures"]:
        assert (out / fig).is_file()
    report["_out"] = out
    return report


def _check_saved_models(report: dict, data_dir: Path, kind: str) -> None:
    """Every trained row left one model (quick runs: one repeat) of ``kind`` whose predictions
    on its recorded input reproduce the row's test accuracy, and whose packed export (not the
    GCN's: a graph input) predicts the same labels."""
    from hybridqnn.deploy.export import check_export, export_model
    from hybridqnn.deploy.inputs import score
    from hybridqnn.deploy.store import read_metadata

    out, rows = report["_out"], report["rows"]
    trained = [i for i, r in enumerate(rows) if r.get("test_accuracy") is not None]
    assert sorted(m["row"] for m in report["models"]) == trained
    for entry in report["models"]:
        meta = read_metadata(out / entry["path"])
        assert meta["kind"] == kind
        result = score(out / entry["path"], data_dir=data_dir)
        assert result["accuracy"] == pytest.approx(rows[entry["row"]]["test_accuracy"], abs=1e-6)  # float32 mean
        assert result["accuracy"] == pytest.approx(meta["training"]["run_test_accuracy"], abs=1e-6)
        if kind != "binary-gcn":
            packed = export_model(out / entry["path"], out / "m.packed")
            check = check_export(out / entry["path"], packed, format="packed", data_dir=data_dir)
            assert check["agree"] == check["samples"] > 0


def test_every_config_is_shipped_and_validates() -> None:
    assert set(NAMES) <= set(shipped_config_names())
    for name in NAMES:
        for quick in (False, True):
            cfg = load_config(name, quick=quick)
            assert cfg.experiment.name == name
            assert set(cfg.params.settings) == {"paper", "best"}
            # the best-effort overrides resolve to a valid setting
            common.setting(cfg.params, "best")
        assert cli.main(["run", name, "--dry-run"]) == 0


def test_rosenbrock_quick(tmp_path: Path) -> None:
    report = _run(
        tmp_path,
        "qpsbgd-rosenbrock",
        None,
        "steps=25",
        "best_effort={num_directions = 8, steps = 25, lr_factors = [1.0]}",
    )
    rows = report["rows"]
    assert {(r["method"], r["setting"]) for r in rows} == {
        (m, s) for m in ("qpsbgd", "signsgd", "sgd") for s in ("paper", "best")
    }
    for r in rows:
        assert np.isfinite(r["final_f"]) and r["best_f"] <= r["final_f"] + 1e-12
    qp = next(r for r in rows if r["method"] == "qpsbgd" and r["setting"] == "paper")
    assert qp["best_baseline"] == "signsgd" and 0.0 <= qp["codirectionality"] <= 1.0
    assert "rosenbrock.png" in report["figures"]
    assert any("signSGD" in n for n in report["notes"])


def test_rosenbrock_identity_parametrisation_is_signsgd() -> None:
    """With A = I the least-squares projection of the rescaled gradient is sign(v): QP-SBGD and
    signSGD take identical steps (the paper's U = I remark)."""
    from hybridqnn.solvers import get_sampler

    p = rosenbrock.RosenbrockParams(
        num_directions=2,
        steps=40,
        repeats=1,
        settings=["paper"],
        lr={"qpsbgd": 0.05, "signsgd": 0.05, "sgd": 0.001},
    )
    sampler = get_sampler("exact")
    a = rosenbrock._rosenbrock_run(p, "qpsbgd", 0, sampler)
    b = rosenbrock._rosenbrock_run(p, "signsgd", 0, sampler)
    np.testing.assert_allclose(a["f"], b["f"])
    assert a["codirectionality"] == 1.0
    # and it really descends
    assert a["final_f"] < rosenbrock.rosenbrock(np.array([-1.2, 1.0]))


def test_rosenbrock_gradient() -> None:
    rng = np.random.default_rng(0)
    for d in (2, 5):
        z = rng.standard_normal(d)
        num = np.array(
            [(rosenbrock.rosenbrock(z + h) - rosenbrock.rosenbrock(z - h)) / 2e-6 for h in np.eye(d) * 1e-6]
        )
        np.testing.assert_allclose(rosenbrock.rosenbrock_grad(z), num, rtol=1e-5, atol=1e-4)
    assert rosenbrock.rosenbrock(np.ones(4)) == 0.0


def test_logreg_quick(tmp_path: Path, data_dir: Path) -> None:
    report = _run(tmp_path, "qpsbgd-logreg", data_dir, 'settings=["paper"]', "updates=4")
    rows = report["rows"]
    assert {r["dataset"] for r in rows} == {"synthetic", "a1a"}
    assert {r["method"] for r in rows} == {
        "qpsbgd-ls",
        "bc-sgd",
        "bc-signsgd",
        "proxquant",
        "adam",
    }
    for r in rows:
        assert 0.0 <= r["test_accuracy"] <= 1.0 and r["setting"] == "paper"
    qp = [r for r in rows if r["method"] == "qpsbgd-ls"]
    assert all(
        r["best_baseline"] in common.BINARY_BASELINES and r["gap_to_best_baseline"] is not None
        for r in qp
    )
    assert all(r["max_qubo_size"] in (32, 123) for r in qp)
    assert sum("qpsbgd-ls" in n for n in report["notes"]) == 2
    _check_saved_models(report, data_dir, "binary-logreg")


def test_logreg_without_a1a_fails_before_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Offline with no a1a files: one line naming a1a, before the synthetic part trains."""
    from hybridqnn.experiments.qpsbgd import logreg

    def trained(*args: object, **kwargs: object) -> None:
        raise AssertionError("a run trained before its data set was read")

    monkeypatch.setattr(logreg, "_one_run", trained)
    empty = tmp_path / "empty"
    empty.mkdir()
    argv = ["run", "qpsbgd-logreg", "--quick", "--out", str(tmp_path / "out"), "--no-progress",
            "--data-dir", str(empty)]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "a1a data files not found" in err


def test_a1a_10layer_quick(tmp_path: Path, data_dir: Path) -> None:
    report = _run(tmp_path, "qpsbgd-a1a-10layer", data_dir)
    rows = report["rows"]
    runs = [r for r in rows if r["method"] != "all"]
    assert {(r["method"], r["setting"]) for r in runs} == {
        (m, s)
        for m in ("qpsbgd-ls", "bc-sgd", "bc-signsgd", "proxquant")
        for s in ("paper", "best")
    }
    assert all(r["architecture"] == "123-16-16-1" for r in runs)
    timing = {r["setting"]: r for r in rows if r["method"] == "all"}
    assert (
        isinstance(timing["paper"]["meets_time_budget"], bool)
        and timing["paper"]["wall_time_s"] > 0
    )
    lines = [json.loads(x) for x in (report["_out"] / "metrics.jsonl").read_text().splitlines()]
    # one metrics line per update: 4 methods x 1 seed x (8 + 16) updates
    assert len(lines) == 4 * (8 + 16) and {"loss", "batch_accuracy", "step"} <= set(lines[0])
    assert "a1a_10layer_loss.png" in report["figures"]
    _check_saved_models(report, data_dir, "binary-mlp")


def test_a1a_2layer_quick_runs_all_three_projections(tmp_path: Path, data_dir: Path) -> None:
    report = _run(tmp_path, "qpsbgd-a1a-2layer", data_dir, 'settings=["paper"]', "updates=2")
    rows = {r["method"]: r for r in report["rows"]}
    assert set(rows) == {"qpsbgd-sm", "qpsbgd-xnor", "qpsbgd-ls", "bc-sgd", "bc-signsgd"}
    # largest problems are the second layer's (fan-in 5): least squares has n_in spins; sign
    # matching per neuron G (5) + S (20); XNOR: 5 weight bits + 20 samples x (5 XNOR bits + 3
    # slack bits, the encoding for 4 <= n < 8)
    assert rows["qpsbgd-ls"]["max_qubo_size"] == 5
    assert rows["qpsbgd-sm"]["max_qubo_size"] == 5 + 20
    assert rows["qpsbgd-xnor"]["max_qubo_size"] == 5 + 20 * (5 + 3)
    for r in rows.values():
        assert 0.0 <= r["final_batch_accuracy"] <= 1.0 and r["architecture"] == "3-5-1"
    _check_saved_models(report, data_dir, "binary-mlp")


def test_mnist_pairs_quick_reports_the_paper_table(tmp_path: Path, data_dir: Path) -> None:
    report = _run(tmp_path, "qpsbgd-mnist-pairs", data_dir, 'settings=["paper"]', "updates=2")
    rows = {r["method"]: r for r in report["rows"]}
    assert {r["dataset"] for r in rows.values()} == {"mnist-1/7"}
    assert rows["qpsbgd-sm"]["paper_test_accuracy"] == 0.75
    assert rows["qpsbgd-xnor"]["paper_test_accuracy"] == 0.74
    assert (
        rows["bc-sgd"]["paper_test_accuracy"] == 0.74
        and rows["proxquant"]["paper_test_accuracy"] == 0.64
    )
    for r in rows.values():
        assert r["test_accuracy_vs_paper"] == pytest.approx(r["test_accuracy"] - r["paper_test_accuracy"])
        assert r["architecture"] == "9-5-1"
    assert len(report["paper"]) == 15
    assert {"method": "QP-SBGD (D-Wave)", "dataset": "mnist-0/2", "test_accuracy": 0.62} in report[
        "paper"
    ]
    _check_saved_models(report, data_dir, "binary-mlp")


def test_gcn_quick_skips_incomplete_pubmed(tmp_path: Path, data_dir: Path) -> None:
    pytest.importorskip("torch_geometric")
    report = _run(tmp_path, "qpsbgd-gcn", data_dir, 'datasets=["karate", "pubmed"]')
    rows = report["rows"]
    skipped = [r for r in rows if r.get("status") == "skipped"]
    assert [r["dataset"] for r in skipped] == ["pubmed"]
    assert any("ind.pubmed.allx" in n and "Skipped pubmed" in n for n in report["notes"])
    karate = {(r["method"], r["setting"]): r for r in rows if r["dataset"] == "karate"}
    assert set(karate) == {(m, s) for m in ("qpsbgd-ls", "bc-signsgd") for s in ("paper", "best")}
    assert karate[("bc-signsgd", "paper")]["paper_test_accuracy"] == 0.46
    assert karate[("qpsbgd-ls", "paper")]["paper_test_accuracy"] == 0.56
    assert karate[("qpsbgd-ls", "paper")]["max_qubo_size"] == 34
    assert karate[("qpsbgd-ls", "best")]["hidden"] == 32
    assert "gcn_test_accuracy.png" in report["figures"]
    _check_saved_models(report, data_dir, "binary-gcn")


def test_gap_notes_name_every_baseline_that_wins() -> None:
    class Ctx:
        def __init__(self) -> None:
            self.notes: list[str] = []

        def note(self, text: str) -> None:
            self.notes.append(text)

    rows = [
        {"method": "qpsbgd-ls", "dataset": "d", "setting": "paper", "acc": 0.60},
        {"method": "bc-sgd", "dataset": "d", "setting": "paper", "acc": 0.70},
        {"method": "bc-signsgd", "dataset": "d", "setting": "paper", "acc": 0.65},
        {"method": "proxquant", "dataset": "d", "setting": "paper", "acc": 0.50},
        {
            "method": "adam",
            "dataset": "d",
            "setting": "paper",
            "acc": 0.99,
        },  # not a binary baseline
        {"method": "qpsbgd-ls", "dataset": "d", "setting": "best", "acc": 0.80},
        {"method": "bc-sgd", "dataset": "d", "setting": "best", "acc": 0.70},
    ]
    ctx = Ctx()
    common.gap_notes(ctx, rows, "acc", higher_is_better=True, what="accuracy")
    assert rows[0]["best_baseline"] == "bc-sgd" and rows[0][
        "gap_to_best_baseline"
    ] == pytest.approx(0.10)
    assert rows[5]["gap_to_best_baseline"] == pytest.approx(-0.10)
    paper_note = next(n for n in ctx.notes if "paper" in n)
    assert (
        "bc-sgd by 0.1 (bc-sgd 0.7 vs qpsbgd-ls 0.6)" in paper_note
        and "bc-signsgd by 0.05" in paper_note
    )
    assert "proxquant" not in paper_note and "adam" not in paper_note
    assert any("at or above every binary baseline" in n for n in ctx.notes if "best" in n)
    # lower is better (losses)
    loss_rows = [
        {"method": "qpsbgd-ls", "dataset": "d", "setting": "paper", "loss": 0.5},
        {"method": "bc-signsgd", "dataset": "d", "setting": "paper", "loss": 0.4},
    ]
    common.gap_notes(Ctx(), loss_rows, "loss", higher_is_better=False, what="loss")
    assert loss_rows[0]["gap_to_best_baseline"] == pytest.approx(0.1)


def test_paper_tables_match_the_issue() -> None:
    mnist = {(r["method"], r["dataset"]): r["test_accuracy"] for r in mnist_pairs.PAPER_MNIST}
    assert (
        mnist[("QP-SBGD (Gurobi)", "mnist-1/2")] == 0.73
        and mnist[("BC-signSGD", "mnist-0/2")] == 0.71
    )
    gcn = {(r["method"], r["dataset"]): r["test_accuracy"] for r in gcn_exp.PAPER_GCN}
    assert gcn[("ProxQuant", "pubmed")] == 0.67 and gcn[("QP-SBGD (Gurobi)", "cora")] == 0.57
    assert len(gcn_exp.PAPER_GCN) == 12


@pytest.mark.parametrize(
    ("name", "override", "expected"),
    [
        ("qpsbgd-a1a-10layer", 'methods=["nope"]', "'methods' must be one of qpsbgd-ls"),
        ("qpsbgd-a1a-10layer", "lr={qpsbgd-ls = 0.0, bc-sgd = 0.01, bc-signsgd = 0.02, proxquant = 0.1}", "'lr[qpsbgd-ls]' must be a float > 0, got 0.0"),
        ("qpsbgd-a1a-10layer", 'methods=["adam"]', "'lr' must give a learning rate for method 'adam'"),
        ("qpsbgd-a1a-10layer", "max_block_size=0", "'max_block_size' must be an integer in [1, 2^20], got 0"),
        ("qpsbgd-a1a-10layer", "best_effort={nope = 1}", "'best_effort' has unknown key 'nope'"),
        ("qpsbgd-a1a-10layer", "best_effort={hidden = 0}", "'best_effort': 'hidden' must be an integer in [1, 2^20], got 0"),
        ("qpsbgd-logreg", 'solver="nope"', "'solver' must be one of sa, tabu"),
        ("qpsbgd-logreg", 'settings=["worst"]', "'settings' must be one of paper, best"),
        ("qpsbgd-mnist-pairs", "grid=4", "qpsbgd-xnor, whose threshold encoding needs fan-in < 16"),
        ("qpsbgd-mnist-pairs", 'pairs=["3/3"]', "two different digits"),
        ("qpsbgd-a1a-2layer", "features=[123]", "'features' must be an integer in [0, 122], got 123"),
        ("qpsbgd-gcn", 'datasets=["nope"]', "'datasets' must be one of karate, cora, citeseer, pubmed"),
        ("qpsbgd-gcn", 'datasets=["karate"]', "'epochs' must give the epochs"),
        ("qpsbgd-rosenbrock", "start=[1.0]", "'start' must have dims=2 entries, got 1"),
        ("qpsbgd-rosenbrock", 'methods=["adam"]', "'methods' must be one of qpsbgd, signsgd, sgd"),
    ],
)
def test_bad_config_values_are_one_line_errors(
    name: str, override: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if name == "qpsbgd-gcn" and "epochs" in expected:
        override = "epochs={cora = 3}"
    assert cli.main(["run", name, "--dry-run", "--set", override]) == 2
    err = capsys.readouterr().err.strip()
    assert expected in err, err
    assert len(err.splitlines()) == 1


def test_best_effort_overrides_merge_only_the_per_method_tables() -> None:
    p = a1a_2layer.A1A2Params(
        sample_kwargs={"num_reads": 20},
        best_effort={"lr": {"bc-sgd": 0.5}, "sample_kwargs": {}, "updates": 7},
    )
    best = common.setting(p, "best")
    assert best.lr["bc-sgd"] == 0.5 and best.lr["qpsbgd-sm"] == p.lr["qpsbgd-sm"]
    assert best.sample_kwargs == {} and best.updates == 7 and best.best_effort == {}
    assert common.setting(p, "paper") is p


def test_evaluation_curves_are_drawn_at_the_evaluated_steps() -> None:
    # the training loops evaluate every `every`-th update (epoch) and after the last one
    assert common.evaluated_steps(2, 5) == [2]
    assert common.evaluated_steps(10, 5) == [5, 10]
    assert common.evaluated_steps(7, 3) == [3, 6, 7]
    panel = common.curve_panel("t", "epoch", "accuracy", {"a (lr 0.1)": [[0.5, 0.6], [0.7, 0.8]]},
                               x=[5, 10], groups={"a (lr 0.1)": "a"}, yscale="log")
    (series,) = panel.series
    assert series.x == [5, 10] and series.y == pytest.approx([0.6, 0.7])
    assert series.band == ([0.5, 0.6], [0.7, 0.8]) and series.style_key == "a"
    assert panel.yscale == "log"


def test_gap_headline_names_the_setting_apart_from_the_paper_clause() -> None:
    """The widest gap's setting 'paper' must not read as the paper's own number
    ('widest gap a1a paper: qpsbgd-ls 0.670 ...; paper: ...')."""
    rows = [
        {"method": "qpsbgd-ls", "dataset": "a1a", "setting": "paper", "test_accuracy": 0.67,
         "gap_to_best_baseline": 0.126, "best_baseline": "bc-signsgd"},
        {"method": "bc-signsgd", "dataset": "a1a", "setting": "paper", "test_accuracy": 0.796},
    ]
    line = common.gap_headline("test_accuracy", paper="no numbers recovered")(rows)
    assert line == ("test_accuracy: QP-SBGD at least as good as the best binary baseline in 0 of 1; widest gap "
                    "on a1a (paper setting): qpsbgd-ls 0.670 vs bc-signsgd 0.796; paper: no numbers recovered")
