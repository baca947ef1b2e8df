"""The shared finiteness checks of hybridqnn._checks: models (every sampler's guard), arrays and
optimizer steps."""

from __future__ import annotations

import dimod
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from hybridqnn._checks import (
    FLOAT64_MAX,
    check_finite,
    check_finite_biases,
    check_finite_model,
    check_finite_step,
)
from hybridqnn.problems.dense import DenseIsing

BAD = [float("nan"), float("inf"), float("-inf"), 1e308 * 10]
labels = st.one_of(st.integers(-5, 50), st.text("abcxyz", min_size=1, max_size=4), st.tuples(st.just("t"), st.integers(0, 9)))


def _model(variables: list, seed: int, vartype: str = "BINARY") -> dimod.BinaryQuadraticModel:
    rng = np.random.default_rng(seed)
    n = len(variables)
    bqm = dimod.BinaryQuadraticModel(rng.normal(size=n), np.triu(rng.normal(size=(n, n)), 1), 0.5, vartype)
    bqm.relabel_variables(dict(enumerate(variables)), inplace=True)
    return bqm


@given(st.lists(labels, min_size=2, max_size=8, unique=True), st.sampled_from(BAD), st.data())
def test_a_non_finite_linear_bias_is_named(variables: list, bad: float, data: st.DataObject) -> None:
    bqm = _model(variables, 0)
    target = data.draw(st.sampled_from(variables))
    bqm.set_linear(target, bad)
    with pytest.raises(ValueError, match="must have finite coefficients, got NaN or infinite") as info:
        check_finite_model("bqm", bqm)
    message = str(info.value)
    assert f"the linear bias of variable {target!r} is {bad!r}" in message and "\n" not in message


@given(st.lists(labels, min_size=2, max_size=8, unique=True), st.sampled_from(BAD), st.data())
def test_a_non_finite_quadratic_bias_is_named(variables: list, bad: float, data: st.DataObject) -> None:
    bqm = _model(variables, 1, "SPIN")
    u, v = data.draw(st.lists(st.sampled_from(variables), min_size=2, max_size=2, unique=True))
    bqm.set_quadratic(u, v, bad)
    with pytest.raises(ValueError, match="the quadratic bias of interaction") as info:
        check_finite_model("bqm", bqm)
    message = str(info.value)
    assert repr(u) in message and repr(v) in message and repr(bad) in message


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=6), st.floats(-1e6, 1e6))
def test_finite_models_pass(values: list, offset: float) -> None:
    bqm = dimod.BinaryQuadraticModel(dict(enumerate(values)), {(0, i): v for i, v in enumerate(values) if i}, offset, "SPIN")
    check_finite_model("bqm", bqm)


def test_the_offset_and_the_count_are_reported() -> None:
    bqm = dimod.BinaryQuadraticModel({"a": 1.0}, {}, float("nan"), "BINARY")
    with pytest.raises(ValueError, match=r"'bqm' must have finite coefficients, got NaN or infinite: the offset is nan$"):
        check_finite_model("bqm", bqm)
    bqm = dimod.BinaryQuadraticModel({"a": np.inf, "b": np.nan}, {("a", "b"): np.nan}, 0.0, "BINARY")
    with pytest.raises(ValueError, match=r"variable 'a' is inf \(3 NaN or infinite values in all\)"):
        check_finite_model("bqm", bqm)


@pytest.mark.parametrize("where", ["linear", "quadratic", "offset"])
def test_magnitudes_that_overflow_float64_are_an_error_naming_the_largest(where: str) -> None:
    bqm = dimod.BinaryQuadraticModel({"a": 1.0, "b": 2.0, "c": 3.0}, {("a", "b"): 1.0, ("b", "c"): 1.0}, 0.0, "SPIN")
    if where == "linear":
        bqm.set_linear("b", 1.0e308)
        bqm.set_linear("c", -1.7e308)
        named = "the linear bias of variable 'c' (-1.7e+308)"
    elif where == "quadratic":
        bqm.set_quadratic("a", "b", 1.0e308)
        bqm.set_quadratic("b", "c", -1.7e308)
        named = "the quadratic bias of interaction ('c', 'b') (-1.7e+308)"  # dimod's order
    else:
        bqm.offset = 1.7e308
        bqm.set_linear("a", 1.0e308)
        named = "the offset (1.7e+308)"
    with pytest.raises(ValueError, match="magnitudes sum to at most 1.798e\\+308") as info:
        check_finite_model("bqm", bqm)
    assert named in str(info.value)


def test_the_largest_finite_model_that_cannot_overflow_passes() -> None:
    check_finite_biases("bqm", np.array([FLOAT64_MAX / 2, -FLOAT64_MAX / 4]), (np.zeros(0, int), np.zeros(0, int), np.zeros(0)), 0.0)


def test_dense_models_name_indices() -> None:
    J = np.zeros((3, 3))
    J[0, 2] = J[2, 0] = np.nan
    with pytest.raises(ValueError, match=r"'model' .* the quadratic bias of interaction \(0, 2\) is nan"):
        DenseIsing(np.zeros(3), J)
    with pytest.raises(ValueError, match=r"the linear bias of variable 1 is -inf"):
        DenseIsing(np.array([0.0, -np.inf, 0.0]), np.zeros((3, 3)))
    J = np.full((3, 3), 1e308) - np.diag(np.full(3, 1e308))
    with pytest.raises(ValueError, match="magnitudes sum"):
        DenseIsing(np.zeros(3), J)


def test_constrained_model_parts_are_checked() -> None:
    qm = dimod.QuadraticModel({"i": 1.0}, {}, 0.0, {"i": "INTEGER"})
    qm.add_variable("BINARY", "x")
    qm.set_quadratic("i", "x", np.inf)
    with pytest.raises(ValueError, match=r"'cqm objective' must have finite coefficients.*\('(i|x)', '(x|i)'\) is inf"):
        check_finite_model("cqm objective", qm)


@pytest.mark.parametrize("value", [np.array([1.0, np.nan]), torch.tensor([np.inf]), float("-inf")])
def test_check_finite(value: object) -> None:
    with pytest.raises(ValueError, match=r"^'x' must be finite, got 1 NaN or inf values$"):
        check_finite("x", value)
    check_finite("x", np.arange(3))
    check_finite("x", torch.ones(2))


def test_check_finite_step_names_the_optimizer_and_promises_no_change() -> None:
    with pytest.raises(ValueError, match=r"^Opt.step: 'loss' must be finite, got 1 NaN or inf values; no parameter was changed$"):
        check_finite_step("Opt", torch.tensor(float("nan")), [])
    with pytest.raises(ValueError, match=r"^Opt.step: 'w.grad' must be finite"):
        check_finite_step("Opt", 1.0, [("w.grad", torch.tensor([0.0, np.inf]))])
    check_finite_step("Opt", None, [("w.grad", torch.zeros(2))])


def test_number_rule_wording_and_checks():
    import math

    from hybridqnn._checks import NumberRule

    assert NumberRule(True, 1, 10**9).describe() == "an integer in [1, 10^9]"
    assert NumberRule(True, 0, 2**32 - 1).describe() == "an integer in [0, 2^32 - 1]"
    assert NumberRule(False, 0.0, low_open=True).describe() == "a float > 0"
    assert NumberRule(False, 0.0, 1.0, high_open=True).describe() == "a float in [0, 1)"
    assert NumberRule(False).describe() == "a finite float"
    assert NumberRule(False, 0.0, low_open=True).check("'rho'", 2) == 2.0
    with pytest.raises(ValueError, match=r"^'rho' must be a float > 0, got -1\.0$"):
        NumberRule(False, 0.0, low_open=True).check("'rho'", -1)
    with pytest.raises(ValueError, match=r"^'rho' must be a finite float > 0, got inf$"):
        NumberRule(False, 0.0, low_open=True).check("'rho'", math.inf)
    with pytest.raises(ValueError, match="got nan"):
        NumberRule(False, finite=False).check("'x'", math.nan)
    assert NumberRule(False, finite=False).check("'x'", -math.inf) == -math.inf
    with pytest.raises(TypeError, match=r"^'n' must be an integer >= 1 for solver 'sa', got True$"):
        NumberRule(True, 1).check("'n'", True, " for solver 'sa'")


def test_did_you_mean() -> None:
    from hybridqnn._checks import did_you_mean

    assert did_you_mean("num_sweep", ["num_reads", "num_sweeps"]) == " (did you mean 'num_sweeps'?)"
    assert did_you_mean("zzz", ["num_reads"]) == "" and did_you_mean(3, []) == ""
