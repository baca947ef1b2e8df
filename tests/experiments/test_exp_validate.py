"""Validate before training (issue 21, items 4 and 5): the CLI's light start, mistakes caught when
the config loads, per-solver sample_kwargs and the offline one-line error.

Each mistake the issue lists goes through ``cli.main``; all but the offline one fail before a
run starts, so these tests are fast.
"""

from __future__ import annotations

import dataclasses
import json
import socket
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hybridqnn import cli
from hybridqnn.experiments import load_config
from hybridqnn.experiments.config import shipped_config_names
from hybridqnn.experiments.params import field_rule, solver_field, solver_kwargs_fields
from hybridqnn.solvers import solver_names

HEAVY = ("torch", "numba", "dimod", "sklearn", "scipy", "matplotlib", "dwave.samplers")


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("hybridqnn: error: ") and "Traceback" not in err
    return lines[0]


# --------------------------------------------------------------------------- a light start


def test_cli_commands_that_train_nothing_import_no_heavy_library() -> None:
    code = (
        "import sys\n"
        "from hybridqnn.cli import main\n"
        "codes = [main(['list']), main(['validate']), main(['run', 'quickstart', '--dry-run']),\n"
        "         main(['bench', 'solvers', '--dry-run']), main(['validate', 'qcbo-fmnist', '--set', 'solver=sb'])]\n"
        f"print('RESULT', codes, sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result = out.stdout.strip().splitlines()[-1]
    assert result == "RESULT [0, 0, 0, 0, 0] []", out.stderr


# --------------------------------------------------------------------------- mistakes at load


MISTAKES = {
    "negative sgd_epochs": ("sgd_epochs=-1", "'sgd_epochs' must be an integer in [1, 10^9], got -1"),
    "typo in sample_kwargs": (
        "sample_kwargs={num_sweep = 10}",
        "unknown keyword 'num_sweep' for solver 'dense-sa' (did you mean 'num_sweeps'?)",
    ),
}


@pytest.mark.parametrize("mistake", MISTAKES)
@pytest.mark.parametrize("command", [["validate"], ["run", "--dry-run"]])
def test_mistake_fails_at_load_naming_the_user_s_key(mistake: str, command: list[str], capsys) -> None:
    override, message = MISTAKES[mistake]
    assert cli.main([command[0], "quickstart", "--set", override, *command[1:]]) == 2
    assert message in _one_error_line(capsys.readouterr().err)


def test_switching_to_the_exact_solver_just_works(capsys) -> None:
    assert cli.main(["validate", "quickstart", "--set", "solver=exact"]) == 0
    assert cli.main(["validate", "quickstart", "--quick", "--set", "solver=exact"]) == 0
    assert cli.main(["run", "quickstart", "--dry-run", "--set", "solver=exact"]) == 0
    out = capsys.readouterr().out
    assert 'solver = "exact"' in out and "num_sweeps" not in out.split("# config keys")[0]


def test_the_exact_solver_on_a_head_too_large_for_it_stops_before_training(tmp_path, capsys) -> None:
    """The quickstart's head QUBO has (32 features + 1) x K=10 = 330 variables, too many for
    the exact solver (at most 24): the run stops on one line naming 'solver' before the SGD
    head trains, instead of after it."""
    out = tmp_path / "run"
    argv = ["run", "quickstart", "--quick", "--set", "solver=exact", "--out", str(out), "--no-progress"]
    assert cli.main(argv) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert "'solver' 'exact' takes at most 24 variables" in line and "330" in line, line
    assert json.loads((out / "report.json").read_text())["rows"] == []


def test_keywords_the_user_sets_are_checked_against_the_chosen_solver(capsys) -> None:
    argv = ["validate", "quickstart", "--set", "solver=exact", "--set", "sample_kwargs={num_reads = 2}"]
    assert cli.main(argv) == 2
    assert "unknown keyword 'num_reads' for solver 'exact'" in _one_error_line(capsys.readouterr().err)
    kept = load_config("quickstart", ["sample_kwargs={num_reads = 2}", "solver=sa"])
    assert kept.params.sample_kwargs == {"num_reads": 2}


def _solver_cases() -> list[tuple[str, str, str]]:
    """(config, solver field, solver) for every shipped config's solver fields and choices."""
    cases = []
    for name in shipped_config_names():
        cls = load_config(name).experiment.params
        fields = {f.name: f for f in dataclasses.fields(cls)}
        for key in solver_kwargs_fields(cls):
            cases += [(name, key, solver) for solver in field_rule(fields[key]).choice_list()]
    return cases


def test_every_solver_loads_in_every_shipped_config() -> None:
    cases = _solver_cases()
    assert {name for name, _, _ in cases} >= {"quickstart", "qcbo-fmnist", "qpsbgd-mnist-pairs"}
    assert {solver for _, _, solver in cases} == set(solver_names())
    for name, key, solver in cases:
        for quick in (False, True):
            config = load_config(name, [f"{key}={solver}"], quick=quick)
            assert getattr(config.params, key) == solver


# --------------------------------------------------------------------------- the solver switch rule


def _head(params: dict, quick: dict | None = None) -> dict:
    return {"experiment": "qubo-head", "params": params, "quick": quick or {}}


def test_a_config_keeps_its_own_solver_keywords() -> None:
    config = load_config(_head({"solver": "sa", "sample_kwargs": {"num_sweeps": 5}}))
    assert config.params.sample_kwargs == {"num_sweeps": 5}
    same = load_config(_head({"solver": "sa", "sample_kwargs": {"num_sweeps": 5}}), ["solver=sa"])
    assert same.params.sample_kwargs == {"num_sweeps": 5}


def test_quick_table_that_changes_the_solver_resets_the_keywords() -> None:
    data = _head({"solver": "dense-sa", "sample_kwargs": {"num_sweeps": 5}}, {"solver": "exact"})
    assert load_config(data).params.sample_kwargs == {"num_sweeps": 5}
    assert load_config(data, quick=True).params.sample_kwargs == {}
    both = _head({"solver": "dense-sa"}, {"solver": "sa", "sample_kwargs": {"num_reads": 3}})
    assert load_config(both, quick=True).params.sample_kwargs == {"num_reads": 3}


def test_dataclass_default_keywords_belong_to_the_default_solver() -> None:
    config = load_config({"experiment": "qcbo-fmnist", "params": {"solver": "sb"}})
    assert config.params.sample_kwargs == {}
    assert load_config({"experiment": "qcbo-fmnist"}).params.sample_kwargs == {"num_reads": 2, "num_sweeps": 100}


def test_each_solver_field_resets_only_its_own_keywords() -> None:
    config = load_config("qpsbgd-mnist-pairs", ["exact_solver=exact", "exact_sample_kwargs={}"])
    assert config.params.sample_kwargs == {"num_reads": 20, "num_sweeps": 500}
    config = load_config("qpsbgd-mnist-pairs", ["solver=cim"])
    assert config.params.sample_kwargs == {}


@given(st.sampled_from(sorted(solver_names())), st.booleans())
def test_any_solver_switch_loads_with_its_defaults(solver: str, quick: bool) -> None:
    config = load_config("quickstart", [f"solver={solver}"], quick=quick)
    expected = load_config("quickstart", quick=quick).params.sample_kwargs if solver == "dense-sa" else {}
    assert config.params.sample_kwargs == expected


def test_solver_field_pairs_the_solver_with_its_keywords() -> None:
    @dataclasses.dataclass(frozen=True)
    class Demo:
        solver: str = solver_field("sa", help="the solver")
        exact: str = solver_field("milp", help="exact", kwargs="exact_kwargs", excluded=("qpu",))
        other: str = "x"

    assert solver_kwargs_fields(Demo) == {"solver": "sample_kwargs", "exact": "exact_kwargs"}
    rule = field_rule({f.name: f for f in dataclasses.fields(Demo)}["exact"])
    assert "qpu" not in rule.choice_list() and "milp" in rule.choice_list()


# --------------------------------------------------------------------------- offline


def _no_network(*args: object, **kwargs: object) -> None:
    raise OSError("network access is disabled in this test")


def test_offline_missing_data_set_is_one_line(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", _no_network)
    monkeypatch.setattr(socket, "create_connection", _no_network)
    monkeypatch.delenv("HYBRIDQNN_MIRROR", raising=False)
    out = tmp_path / "run"
    (tmp_path / "data").mkdir()
    argv = ["run", "quickstart", "--quick", "--set", 'datasets=["mnist"]', "--data-dir", str(tmp_path / "data"),
            "--out", str(out), "--no-progress"]
    assert cli.main(argv) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert f"mnist data files not found in {tmp_path / 'data' / 'mnist'}: missing" in line
    assert line.endswith(f"put the files there (traceback in {out / 'error.log'})")
    assert json.loads((out / "report.json").read_text())["status"] == "failed"
