"""Declared param rules (hybridqnn.experiments.params) on the real experiments, and the issue-23
measurement: no invalid value of any shipped config loads (measure_config_validation.py)."""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from measure_config_validation import field_cases, file_cases

from hybridqnn import cli
from hybridqnn.experiments import list_experiments, load_config
from hybridqnn.experiments.params import (
    check_declared,
    field_rule,
    is_declared,
    list_field,
    param,
)
from hybridqnn.experiments.schema import field_hints


@dataclass(frozen=True)
class _Demo:
    count: int = param(3, low=1, high=10)
    rate: float = param(0.5, low=0.0, low_open=True)
    wild: float = param(0.0, finite=False, free=True)
    maybe: int | None = param(None, low=0)
    names: list[str] = list_field("a", choices=lambda: ("a", "b"), nonempty=True)
    table: dict[str, float] = param(default_factory=dict, low=0.0, high=1.0)

    def __post_init__(self) -> None:
        check_declared(self)


def test_every_registered_params_field_declares_its_rule() -> None:
    missing = [
        f"{exp.name}: {f.name}"
        for exp in list_experiments()
        for f in dataclasses.fields(exp.params)
        if f.init and not is_declared(field_hints(exp.params)[f.name], f)
    ]
    assert missing == []


def test_is_declared_flags_an_undeclared_number() -> None:
    @dataclass
    class Loose:
        n: int = 1
        on: bool = True
        kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)

    fields = {f.name: f for f in dataclasses.fields(Loose)}
    hints = field_hints(Loose)
    assert not is_declared(hints["n"], fields["n"])
    assert is_declared(hints["on"], fields["on"]) and is_declared(hints["kwargs"], fields["kwargs"])


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"count": 0}, ValueError, "'count' must be an integer in [1, 10], got 0"),
        ({"count": 2.0}, TypeError, "'count' must be int, got 2.0 (float)"),
        ({"rate": 0.0}, ValueError, "'rate' must be a float > 0, got 0.0"),
        ({"rate": math.nan}, ValueError, "'rate' must be a finite float > 0, got nan"),
        ({"rate": math.inf}, ValueError, "'rate' must be a finite float > 0, got inf"),
        ({"maybe": -1}, ValueError, "'maybe' must be an integer >= 0, got -1"),
        ({"names": []}, ValueError, "'names' must list at least one entry, got []"),
        ({"names": ["a", "c"]}, ValueError, "'names' must be one of a, b; got 'c'"),
        ({"table": {"x": 2.0}}, ValueError, "'table[x]' must be a float in [0, 1], got 2.0"),
    ],
)
def test_rules_apply_to_direct_construction(kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error) as info:
        _Demo(**kwargs)
    assert str(info.value) == message


def test_rules_skip_none_and_allow_declared_non_finite() -> None:
    demo = _Demo(maybe=None, wild=-math.inf, table={"x": 1.0})
    assert demo.wild == -math.inf
    with pytest.raises(ValueError, match="'wild' must be a float, got nan"):
        _Demo(wild=math.nan)


@settings(max_examples=200, derandomize=True, database=None)
@given(st.floats(allow_nan=True, allow_infinity=True))
def test_float_rule_accepts_exactly_the_finite_positive_floats(x: float) -> None:
    ok = math.isfinite(x) and x > 0
    try:
        _Demo(rate=x)
    except ValueError:
        assert not ok
    else:
        assert ok


@settings(max_examples=200, derandomize=True, database=None)
@given(st.integers(min_value=-(2**70), max_value=2**70))
def test_int_rule_accepts_exactly_its_range(n: int) -> None:
    try:
        _Demo(count=n)
    except ValueError:
        assert not 1 <= n <= 10
    else:
        assert 1 <= n <= 10


def test_lazy_choices_are_not_called_at_declaration() -> None:
    calls = []

    @dataclass(frozen=True)
    class Lazy:
        name: str = param("a", choices=lambda: calls.append(1) or ("a",))

    assert calls == []
    assert field_rule(dataclasses.fields(Lazy)[0]).choice_list() == ("a",)


def test_qcbo_params_reject_values_in_python_as_in_configs() -> None:
    from hybridqnn.experiments.qcbo import QCBOParams

    with pytest.raises(ValueError, match=r"^'rho' must be a float > 0, got -1\.0$"):
        QCBOParams(rho=-1)
    with pytest.raises(ValueError, match=re.escape("'sample_kwargs' num_reads must be an integer in [1, 2^16] for solver 'dense-sa', got -5")):
        QCBOParams(sample_kwargs={"num_reads": -5})


@pytest.mark.parametrize(
    ("config", "override", "expected"),
    [
        ("quickstart", "max_iter=-1", "--set max_iter=-1: 'max_iter' must be an integer in [1, 10^9], got -1"),
        ("quickstart", "hardware_timeout=nan", "'hardware_timeout' must be a finite float > 0, got nan"),
        ("quickstart", "sample_kwargs={num_reads=-5}", "'sample_kwargs' num_reads must be an integer in [1, 2^16] for solver 'dense-sa', got -5"),
        ("quickstart", "sample_kwargs={num_sweep=5}", "unknown keyword 'num_sweep' for solver 'dense-sa' (did you mean 'num_sweeps'?)"),
        ("quickstart", "sgd_epochs=-1", "'sgd_epochs' must be an integer in [1, 10^9], got -1"),
        ("natural-mnist", 'executor="bogus"', "'executor' must be"),
        ("qpsbgd-logreg", "best_effort={bogus=1}", "'best_effort' has unknown key 'bogus'"),
        ("qpsbgd-logreg", "best_effort={updates=-1}", "'best_effort': 'updates' must be an integer in [1, 10^9], got -1"),
        ("qpsbgd-logreg", "exact_sample_kwargs={num_reads=2}", "'exact_sample_kwargs' has unknown keyword 'num_reads' for solver 'milp'"),
        ("qcbo-convergence", 'oracles=["sb"]', "unknown keyword 'num_sweeps' for solver 'sb'"),
    ],
)
def test_dry_run_rejects_what_the_run_would(config: str, override: str, expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", config, "--dry-run", "--set", override]) == 2
    err = capsys.readouterr().err.strip()
    assert expected in err and f"config {config!r}" in err and "\n" not in err


def test_cross_field_errors_name_the_config() -> None:
    with pytest.raises(ValueError, match=r"^config 'qpsbgd-rosenbrock' .*'start' must have dims=2 entries, got 1$"):
        load_config("qpsbgd-rosenbrock", overrides=["start=[1.0]"])


def test_no_invalid_value_of_a_shipped_config_loads() -> None:
    """The issue-23 table's "after" column: 0 invalid values accepted, 0 valid ones rejected."""
    rows = field_cases()
    accepted = [r for r in rows if r["invalid"] and r["outcome"] == "accepted"]
    rejected = [r for r in rows if not r["invalid"] and r["outcome"] != "accepted"]
    crashed = [r for r in rows if r["outcome"].startswith("crashed")]
    assert (accepted, rejected, crashed) == ([], [], [])
    assert [r for r in file_cases() if not r["right"]] == []
