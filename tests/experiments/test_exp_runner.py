from __future__ import annotations

import errno
import json
import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from hybridqnn._files import _host
from hybridqnn.experiments import RunContext, load_config, run_experiment

HOST = _host()  # staging names carry the host: a pid means something only there

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

pytestmark = pytest.mark.usefixtures("toy_registry")

REPORT_KEYS = {
    "experiment",
    "runner",
    "kind",
    "status",
    "seed",
    "quick",
    "config",
    "versions",
    "platform",
    "started_at",
    "wall_time_s",
    "rows",
    "notes",
    "paper",
    "error",
}


def _report(path):
    return json.loads(path.read_text())


def test_run_directory_contents(tmp_path):
    out = tmp_path / "run"
    result = run_experiment(load_config("toy", overrides=["bits=[4,8]"]), out)
    assert result.status == "ok" and result.ok and result.out_dir == out
    assert result.report_path == out / "report.json"

    config = tomllib.loads((out / "config.toml").read_text())
    assert (
        config["seed"] == 7 and config["experiment"] == "toy" and config["params"]["bits"] == [4, 8]
    )

    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [m["epoch"] for m in metrics] == [0, 1]
    assert isinstance(metrics[0]["loss"], float)

    report = _report(out / "report.json")
    assert REPORT_KEYS <= set(report)
    assert (
        report["experiment"] == "toy"
        and report["runner"] == "toy"
        and report["kind"] == "experiment"
    )
    assert report["status"] == "ok" and report["error"] is None and report["seed"] == 7
    assert report["quick"] is False and report["config"]["params"]["epochs"] == 2
    assert set(report["versions"]) >= {
        "python",
        "hybridqnn",
        "numpy",
        "torch",
        "dimod",
        "dwave-samplers",
        "scikit-learn",
    }
    assert report["versions"]["numpy"] == np.__version__
    assert report["platform"]["cpu_count"] >= 1 and report["platform"]["machine"]
    assert report["wall_time_s"] >= 0
    assert len(report["rows"]) == 4
    assert report["rows"][0]["bits"] == 4 and isinstance(report["rows"][0]["test_accuracy"], float)
    assert report["notes"] == ["A toy note."]
    assert report["paper"] == [{"method": "toy", "dataset": "digits", "test_accuracy": 0.9}]
    assert report["figures"] == ["loss.png"]

    md = (out / "report.md").read_text()
    assert "| method | dataset | bits | epoch | test_accuracy | seed |" in md
    assert "## Paper reports" in md and "A toy note." in md and "**Status:** ok" in md
    assert (out / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_default_out_dir_under_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config("toy", overrides=["plot=false", "epochs=1"])
    first = run_experiment(cfg).out_dir
    second = run_experiment(cfg).out_dir
    assert re.fullmatch(r"toy-\d{8}-\d{6}(-\d+)?", first.name)
    assert first.parent == second.parent == type(first)("runs")
    assert first != second and (first / "report.json").is_file()
    # a killed default run's staging directory goes with the next default run
    import subprocess

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    killed = tmp_path / "runs" / f".toy-19990101-000000.pending-{HOST}-{child.pid}-1"
    killed.mkdir()
    third = run_experiment(cfg).out_dir
    assert not killed.exists() and sorted(p.name for p in (tmp_path / "runs").iterdir()) == sorted(
        [first.name, second.name, third.name])


def test_dry_run_creates_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config("toy")
    result = run_experiment(cfg, tmp_path / "out", dry_run=True)
    assert result.status == "dry-run" and result.report is None
    result = run_experiment(cfg, dry_run=True)
    assert result.out_dir.parent.name == "runs"
    assert list(tmp_path.iterdir()) == []


def test_keyed_seeds_follow_the_master_seed_and_the_row_name(tmp_path):
    from hybridqnn.experiments.toolkit import child_seed

    ctx = RunContext(load_config("toy"), tmp_path)
    assert ctx.seed_for("m", "d", "s", 0) == child_seed(ctx.seed, "m", "d", "s", 0)
    other = RunContext(load_config("toy", seed=8), tmp_path)
    assert ctx.seed_for("m", "d", "s", 0) != other.seed_for("m", "d", "s", 0)
    assert ctx.seed_for("m", "d", "s", 0) != ctx.seed_for("m", "d", "s", 1)


def test_seeds_are_deterministic(tmp_path):
    cfg = load_config("toy")
    ctx = RunContext(cfg, tmp_path)
    seeds = [ctx.seed_for("toy", r) for r in range(5)]
    assert seeds == [RunContext(cfg, tmp_path).seed_for("toy", r) for r in range(5)]
    assert len(set(seeds)) == 5 and all(0 <= s < 2**32 for s in seeds)
    other = RunContext(load_config("toy", seed=8), tmp_path)
    assert seeds != [other.seed_for("toy", r) for r in range(5)]

    a = run_experiment(cfg, tmp_path / "a").rows
    b = run_experiment(cfg, tmp_path / "b").rows
    c = run_experiment(load_config("toy", seed=1), tmp_path / "c").rows
    assert a == b and a != c


def test_add_row_converts_numpy_and_rejects_nested(tmp_path):
    ctx = RunContext(load_config("toy"), tmp_path)
    ctx.add_row(
        {"a": np.float32(0.5), "b": np.int64(3), "c": np.bool_(True), "d": None, "e": np.array(2.0)}
    )
    assert ctx.rows == [{"a": 0.5, "b": 3, "c": True, "d": None, "e": 2.0}]
    assert type(ctx.rows[0]["b"]) is int
    with pytest.raises(
        ValueError, match=r"row 1\['x'\] must be a str, int, float, bool or None.*got list"
    ):
        ctx.add_row({"x": [1, 2]})
    with pytest.raises(TypeError, match="must be a dict"):
        ctx.add_row([("a", 1)])
    ctx.rows[0]["a"] = 99  # rows returns copies
    assert ctx.rows[0]["a"] == 0.5


def test_progress_is_passthrough_when_disabled(tmp_path):
    ctx = RunContext(load_config("toy"), tmp_path)
    items = [1, 2]
    assert ctx.progress(items) is items
    shown = RunContext(load_config("toy"), tmp_path, progress=True)
    assert list(shown.progress(items, total=2, desc="x")) == items


def test_save_figure_validates_name(tmp_path):
    from matplotlib.figure import Figure

    ctx = RunContext(load_config("toy"), tmp_path)
    path = ctx.save_figure("curve.png", Figure())
    assert path == tmp_path / "curve.png" and path.is_file()
    assert ctx.figures == ["curve.png"]
    with pytest.raises(ValueError, match="'name' must be a file stem"):
        ctx.save_figure("../escape", Figure())


def test_bench_rows_are_validated(tmp_path):
    result = run_experiment(load_config("bench-toy"), tmp_path / "ok")
    assert result.report["kind"] == "bench" and len(result.rows) == 2
    with pytest.raises(
        ValueError,
        match=r"bench row 0 is missing 'baseline'; every bench row needs case, impl, seconds, baseline, speedup_vs_baseline",
    ):
        run_experiment(load_config("bench-toy", overrides=["drop_key=baseline"]), tmp_path / "bad")
    report = _report(tmp_path / "bad" / "report.json")
    assert report["status"] == "failed" and "missing 'baseline'" in report["error"]


def test_failure_is_recorded_then_reraised(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(RuntimeError, match="boom"):
        run_experiment(load_config("toy", overrides=["fail_at=1"]), out)
    report = _report(out / "report.json")
    assert report["status"] == "failed"
    assert report["error"] == "RuntimeError: boom at epoch"
    assert len(report["rows"]) == 1  # epoch 0 finished
    assert "Traceback" in (out / "error.log").read_text()
    assert "**Error:** RuntimeError: boom at epoch" in (out / "report.md").read_text()


def test_interrupt_keeps_partial_rows(tmp_path):
    out = tmp_path / "run"
    cfg = load_config("toy", overrides=["interrupt_at=1", "epochs=3"])
    result = run_experiment(cfg, out, raise_on_error=False)
    assert result.status == "interrupted" and isinstance(result.exception, KeyboardInterrupt)
    report = _report(out / "report.json")
    assert report["status"] == "interrupted" and len(report["rows"]) == 1
    with pytest.raises(KeyboardInterrupt):
        run_experiment(cfg, tmp_path / "again")


def test_failed_run_never_overwrites_good_report(tmp_path):
    out = tmp_path / "run"
    run_experiment(load_config("toy"), out)
    good = {
        name: (out / name).read_bytes()
        for name in ("report.json", "report.md", "config.toml", "metrics.jsonl", "loss.png")
    }

    # a failed run beside a good one is kept whole in failed/; the good run is untouched
    result = run_experiment(
        load_config("toy", overrides=["fail_at=1", "lr=0.5"]), out, raise_on_error=False
    )
    failed = out / "failed"
    assert result.status == "failed" and result.out_dir == failed
    assert result.report_path == failed / "report.json"
    for name, data in good.items():
        assert (out / name).read_bytes() == data, name
    assert not (out / "error.log").exists()  # the traceback stays with its run
    assert _report(failed / "report.json")["status"] == "failed"
    assert (failed / "report.md").is_file() and "Traceback" in (failed / "error.log").read_text()
    assert tomllib.loads((failed / "config.toml").read_text())["params"]["lr"] == 0.5
    assert len((failed / "metrics.jsonl").read_text().splitlines()) == 1

    result = run_experiment(
        load_config("toy", overrides=["interrupt_at=0"]), out, raise_on_error=False
    )
    assert result.report_path == out / "interrupted" / "report.json"
    assert (out / "report.json").read_bytes() == good["report.json"]
    assert _report(out / "interrupted" / "report.json")["status"] == "interrupted"

    # a later failed run replaces the earlier one in failed/, whole
    run_experiment(load_config("toy", overrides=["fail_at=0", "lr=0.75"]), out, raise_on_error=False)
    assert tomllib.loads((failed / "config.toml").read_text())["params"]["lr"] == 0.75
    assert (failed / "metrics.jsonl").read_text() == ""

    # an ok run replaces the old good one (and what was kept beside it), and no staging
    # directory is left behind
    result = run_experiment(load_config("toy", overrides=["lr=0.25"]), out)
    assert result.report_path == out / "report.json"
    assert _report(out / "report.json")["config"]["params"]["lr"] == 0.25
    assert tomllib.loads((out / "config.toml").read_text())["params"]["lr"] == 0.25
    assert sorted(p.name for p in out.iterdir()) == [
        "config.toml", "loss.png", "metrics.jsonl", "report.json", "report.md", "rows.csv"]
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_failed_run_without_a_good_one_replaces_the_run_directory(tmp_path):
    out = tmp_path / "run"
    run_experiment(load_config("toy", overrides=["fail_at=0"]), out, raise_on_error=False)
    result = run_experiment(load_config("toy", overrides=["interrupt_at=1"]), out, raise_on_error=False)
    assert result.out_dir == out and _report(out / "report.json")["status"] == "interrupted"
    assert not (out / "error.log").exists()  # the failed run's file went with it


def test_run_writes_into_a_hidden_sibling_until_it_ends(tmp_path):
    out = tmp_path / "run"
    seen = {}

    def spy(ctx, params):
        seen.update(work=ctx.out_dir, exists=out.exists(), files=sorted(os.listdir(ctx.out_dir)))

    run_experiment(_with_run(load_config("toy"), spy), out)
    assert seen["work"].parent == tmp_path and seen["work"].name.startswith(".run.pending-")
    assert seen["exists"] is False and seen["files"] == ["config.toml", "metrics.jsonl"]
    assert (out / "report.json").is_file() and [p.name for p in tmp_path.iterdir()] == ["run"]


def test_refuses_a_directory_holding_other_files(tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\n")
    (project / "report.json").write_text('{"status": "ok", "rows": []}')
    before = sorted(p.name for p in project.iterdir())
    cfg = load_config("toy")
    with pytest.raises(
        ValueError,
        match=r"'out_dir' '.*project' holds entries a run does not write \(pyproject.toml, src\); "
        r"a run replaces its run directory as a whole",
    ):
        run_experiment(cfg, project)
    monkeypatch.chdir(project)
    with pytest.raises(ValueError, match=r"'out_dir' '\.' must not be the current directory"):
        run_experiment(cfg, ".")
    with pytest.raises(ValueError, match="must not be the current directory or hold it"):
        run_experiment(cfg, tmp_path)
    assert sorted(p.name for p in project.iterdir()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project"]


def test_refuses_a_folder_of_the_users_own_files(tmp_path):
    """PNG files and a models/ folder are run outputs by name, but a folder holding no earlier
    run (no report.json or metrics.jsonl) is the user's: replacing it would delete them."""
    mine = tmp_path / "mine"
    (mine / "models").mkdir(parents=True)
    (mine / "holiday.png").write_bytes(b"png")
    (mine / "models" / "my-model.pt").write_bytes(b"weights")
    (mine / "report.md").write_text("my notes")
    with pytest.raises(
        ValueError,
        match=r"^'out_dir' '.*mine' is not empty and holds no earlier run \(no report.json or "
        r"metrics.jsonl\); a run replaces its run directory as a whole",
    ):
        run_experiment(load_config("toy"), mine)
    assert sorted(str(p.relative_to(mine)) for p in mine.rglob("*")) == [
        "holiday.png", "models", "models/my-model.pt", "report.md"]
    assert [p.name for p in tmp_path.iterdir()] == ["mine"]


def test_refuses_a_users_file_among_a_runs_figures_and_models(tmp_path):
    """A run directory's PNG files and models/ entries must be the ones its report lists: an
    export saved beside the models or a picture dropped in would go with the replaced run."""
    out = tmp_path / "run"
    run_experiment(load_config("toy"), out)
    (out / "models").mkdir(exist_ok=True)
    (out / "models" / "head.onnx").write_bytes(b"onnx")
    (out / "holiday.png").write_bytes(b"png")
    (out / "loss.failed.png").write_bytes(b"png")  # an earlier version's failed run: a run output
    with pytest.raises(ValueError, match=r"holds entries a run does not write \(holiday.png, "
                       r"models/head.onnx\)"):
        run_experiment(load_config("toy", overrides=["lr=0.5"]), out)
    assert (out / "models" / "head.onnx").read_bytes() == b"onnx" and (out / "holiday.png").is_file()
    (out / "holiday.png").unlink()
    (out / "models" / "head.onnx").unlink()
    assert run_experiment(load_config("toy", overrides=["lr=0.5"]), out).status == "ok"


def test_a_file_browsers_metadata_does_not_block_a_run(tmp_path):
    """Finder leaves .DS_Store in every folder it shows: an empty folder or a run directory
    looked at in Finder is still one a run may use."""
    empty, out = tmp_path / "empty", tmp_path / "run"
    empty.mkdir()
    (empty / ".DS_Store").write_bytes(b"\0")
    assert run_experiment(load_config("toy"), empty).status == "ok"
    run_experiment(load_config("toy"), out)
    (out / ".DS_Store").write_bytes(b"\0")
    (out / "Thumbs.db").write_bytes(b"\0")
    assert run_experiment(load_config("toy", overrides=["lr=0.5"]), out).status == "ok"


def test_a_dry_run_refuses_what_a_run_would(tmp_path, monkeypatch):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "holiday.png").write_bytes(b"png")
    cfg = load_config("toy")
    with pytest.raises(ValueError, match="holds no earlier run"):
        run_experiment(cfg, mine, dry_run=True)
    monkeypatch.chdir(mine)
    with pytest.raises(ValueError, match="must not be the current directory or hold it"):
        run_experiment(cfg, ".", dry_run=True)
    assert run_experiment(cfg, tmp_path / "new", dry_run=True).status == "dry-run"
    with pytest.raises(ValueError, match=r"'out_dir' '.*holiday.png/run' is inside '.*holiday.png', "
                       "which is not a directory"):
        run_experiment(cfg, mine / "holiday.png" / "run")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


def test_refuses_a_mount_point_before_running(tmp_path, monkeypatch):
    out = tmp_path / "volume"
    out.mkdir()
    real_ismount = os.path.ismount
    monkeypatch.setattr(os.path, "ismount", lambda p: Path(p) == out or real_ismount(p))
    ran = []
    with pytest.raises(ValueError, match=r"^'out_dir' '.*volume' is a mount point; .* choose a "
                       "directory inside it$"):
        run_experiment(_with_run(load_config("toy"), lambda ctx, p: ran.append(1)), out)
    assert ran == [] and [p.name for p in tmp_path.iterdir()] == ["volume"]


def test_an_unwritable_parent_is_one_line_naming_out_dir(tmp_path, monkeypatch):
    from hybridqnn.experiments import runner

    def denied(target):
        raise PermissionError(errno.EACCES, "Permission denied", str(target))

    monkeypatch.setattr(runner, "staging_dir", denied)
    with pytest.raises(ValueError, match=r"^'out_dir' '.*run' must be in a directory this process "
                       r"can write to: a run is written beside it, in '.*', which failed "
                       r"\(Permission denied\)$"):
        run_experiment(load_config("toy"), tmp_path / "run")


def test_a_failed_promotion_keeps_the_finished_run(tmp_path, monkeypatch):
    """A rename onto the run directory that fails (EBUSY on a mount point, EXDEV) must not
    delete the finished run: it is kept beside the run directory and named in the error."""
    from hybridqnn.experiments import runner

    out = tmp_path / "run"
    run_experiment(load_config("toy"), out)
    good = (out / "report.json").read_bytes()

    def busy(new, target):
        raise OSError(errno.EBUSY, "Device or resource busy")

    monkeypatch.setattr(runner, "replace_directory", busy)
    with pytest.raises(OSError, match=r"could not move the finished run into '.*run' \(Device or "
                       r"resource busy\); it is kept, whole, in '.*run\.finished'$"):
        run_experiment(load_config("toy", overrides=["lr=0.5"]), out)
    assert (out / "report.json").read_bytes() == good
    kept = tmp_path / "run.finished"
    assert _report(kept / "report.json")["config"]["params"]["lr"] == 0.5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "run.finished"]


def test_earlier_layouts_and_stale_staging_are_replaced(tmp_path):
    import subprocess

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    dead = child.pid
    out = tmp_path / "run"
    run_experiment(load_config("toy"), out)
    for name in ("report.failed.json", "config.failed.toml", "progress-0.jsonl", ".x.json.1.tmp"):
        (out / name).write_text("{}")
    for name in ("models.failed", f".pending-{dead}-1", f".pending-{os.getpid()}-2"):
        (out / name).mkdir()
    (tmp_path / f".run.pending-{HOST}-{dead}-3").mkdir()
    (tmp_path / f".run.old-{HOST}-{dead}-4").mkdir()
    run_experiment(load_config("toy", overrides=["lr=0.5"]), out)
    assert _report(out / "report.json")["config"]["params"]["lr"] == 0.5
    assert not [p for p in out.iterdir() if "failed" in p.name or p.name.startswith(".")]
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_a_run_killed_in_the_fallback_window_is_restored(tmp_path):
    import subprocess

    out = tmp_path / "run"
    run_experiment(load_config("toy"), out)
    good = (out / "report.json").read_bytes()
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    out.rename(tmp_path / f".run.old-{HOST}-{child.pid}-5")  # killed between the fallback's renames
    result = run_experiment(load_config("toy", overrides=["fail_at=0"]), out, raise_on_error=False)
    assert (out / "report.json").read_bytes() == good and result.out_dir == out / "failed"


def test_an_error_while_finishing_removes_the_staging_directory(tmp_path, monkeypatch):
    from hybridqnn.experiments import runner

    out = tmp_path / "run"
    run_experiment(load_config("toy"), out)
    good = (out / "report.json").read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(runner, "write_report", broken)
    with pytest.raises(OSError, match="disk full"):
        run_experiment(load_config("toy", overrides=["lr=0.5"]), out)
    assert (out / "report.json").read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


@pytest.fixture
def killrun(monkeypatch):
    """The kill -9 harness (tests/experiments/killrun.py), its child processes importing the
    hybridqnn this test imports."""
    import killrun

    import hybridqnn

    src = str(Path(hybridqnn.__file__).resolve().parents[1])
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")])))
    return killrun


def test_concurrent_runs_leave_one_whole_run(tmp_path, killrun):

    assert killrun.concurrent_trial(tmp_path, runs=3) is None


@pytest.mark.parametrize(
    "trial",
    [
        "just after the exchange",
        "fallback: between the two renames",
        "failed run: before keeping it",
        "cleanup of a stale staging dir",
    ],
)
def test_kill_9_leaves_one_whole_run(tmp_path, killrun, trial):
    """A few points of the kill -9 harness (``python tests/experiments/killrun.py`` runs all)."""
    result = killrun.run_trial(trial, tmp_path)
    assert result["killed"], result
    assert result["recoverable"] and result["next_ok"] and not result["stale_after_next"], result
    assert result["coherent"] or trial.startswith("fallback"), result


def test_invalid_options_fail_before_creating_anything(tmp_path):
    cfg = load_config("toy")
    with pytest.raises(ValueError, match="'device' must be cpu, cuda or cuda:N; got 'gpu'"):
        run_experiment(cfg, tmp_path / "a", device="gpu")
    with pytest.raises(ValueError, match="'data_dir' must be an existing directory"):
        run_experiment(cfg, tmp_path / "b", data_dir=tmp_path / "missing")
    assert list(tmp_path.iterdir()) == []


def _with_run(cfg, run):
    import dataclasses

    return dataclasses.replace(cfg, experiment=dataclasses.replace(cfg.experiment, run=run))


def test_context_passes_options_through(tmp_path):
    seen = {}
    cfg = load_config("toy", quick=True)

    def spy(ctx, params):
        seen.update(
            device=ctx.device,
            executor=ctx.executor,
            data_dir=ctx.data_dir,
            quick=ctx.quick,
            params=params,
            seed=ctx.seed,
        )

    import dataclasses

    spied = dataclasses.replace(cfg, experiment=dataclasses.replace(cfg.experiment, run=spy))
    run_experiment(spied, tmp_path / "run", data_dir=tmp_path, executor="dask://h:1")
    assert seen == {
        "device": "cpu",
        "executor": "dask://h:1",
        "data_dir": tmp_path,
        "quick": True,
        "params": cfg.params,
        "seed": 7,
    }


def test_required_data_is_checked_before_the_run_starts(tmp_path, monkeypatch):
    """An experiment's ``required_data`` is verified before ``run``: a missing set fails the run
    with one line naming it, and ``run`` is never called; sets that are present let it run."""
    import dataclasses

    from hybridqnn.experiments import registry

    calls = []

    def run(ctx, p):
        calls.append(p)

    needs = dataclasses.replace(registry.get_experiment("toy"), run=run,
                                required_data=lambda p: ["digits", "mnist", "mnist"])
    monkeypatch.setitem(registry._REGISTRY, "toy", needs)
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_experiment(load_config("toy"), tmp_path / "run", data_dir=empty,
                            raise_on_error=False)
    assert result.status == "failed" and calls == []
    assert "mnist data files not found" in result.error and "\n" not in result.error
    needs_digits = dataclasses.replace(needs, required_data=lambda p: ["digits"])
    monkeypatch.setitem(registry._REGISTRY, "toy", needs_digits)
    assert run_experiment(load_config("toy"), tmp_path / "ok", data_dir=empty).status == "ok"
    assert len(calls) == 1
