"""MILPSolver: exact optima of BQMs and binary CQMs, checked against enumeration."""

from __future__ import annotations

import itertools

import dimod
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridqnn.solvers.milp import MILPSolver
from hybridqnn.testing.conformance import awkward_labels, random_bqm


def _brute_force(cqm: dimod.ConstrainedQuadraticModel) -> float | None:
    """Smallest objective over all feasible assignments of a CQM of BINARY/SPIN/INTEGER variables."""
    variables = list(cqm.variables)
    domains = []
    for v in variables:
        vt = cqm.vartype(v)
        if vt is dimod.SPIN:
            domains.append((-1, 1))
        elif vt is dimod.BINARY:
            domains.append((0, 1))
        else:
            domains.append(range(int(cqm.lower_bound(v)), int(cqm.upper_bound(v)) + 1))
    best = None
    for values in itertools.product(*domains):
        sample = dict(zip(variables, values, strict=True))
        if cqm.check_feasible(sample, atol=1e-9):
            energy = cqm.objective.energy(sample)
            best = energy if best is None or energy < best else best
    return best


def _random_cqm(
    seed: int, n_bits: int, n_spins: int, n_constraints: int, with_integer: bool
) -> dimod.ConstrainedQuadraticModel:
    rng = np.random.default_rng(seed)
    xs = [dimod.Binary(("x", i)) for i in range(n_bits)] + [
        dimod.Spin(f"s{i}") for i in range(n_spins)
    ]
    cqm = dimod.ConstrainedQuadraticModel()
    objective = dimod.QuadraticModel()
    objective.offset = float(rng.normal())
    for v in xs:
        objective += float(rng.normal()) * v
    for u, v in itertools.combinations(xs, 2):
        if rng.random() < 0.6:
            objective += float(rng.normal()) * u * v
    if with_integer:
        k = dimod.Integer("k", lower_bound=-2, upper_bound=3)
        objective += float(rng.normal()) * k
        xs_lin = [*xs, k]
    else:
        xs_lin = xs
    cqm.set_objective(objective)
    for c in range(n_constraints if xs_lin else 0):
        lhs = sum(float(rng.integers(-2, 3)) * v for v in xs_lin)
        if rng.random() < 0.5 and len(xs) >= 2:
            u, v = rng.choice(len(xs), size=2, replace=False)
            lhs += float(rng.integers(-2, 3)) * xs[u] * xs[v]
        sense = ("<=", ">=", "==")[int(rng.integers(0, 3))] if c else "<="
        cqm.add_constraint(lhs, sense, float(rng.integers(-1, 2)), label=f"c{c}")
    return cqm


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_bits=st.integers(0, 4),
    n_spins=st.integers(0, 3),
    n_constraints=st.integers(0, 3),
    with_integer=st.booleans(),
)
def test_cqm_optimum_equals_brute_force(seed, n_bits, n_spins, n_constraints, with_integer) -> None:
    cqm = _random_cqm(seed, n_bits, n_spins, n_constraints, with_integer)
    best = _brute_force(cqm)
    if best is None:
        with pytest.raises(ValueError, match="infeasible"):
            MILPSolver().sample_cqm(cqm)
        return
    ss = MILPSolver().sample_cqm(cqm)
    first = ss.first
    assert first.is_feasible
    assert first.energy == pytest.approx(best, abs=1e-7)
    assert cqm.objective.energy(first.sample) == pytest.approx(first.energy, abs=1e-9)
    assert ss.info["milp"]["optimal"] is True


@pytest.mark.parametrize("vartype", ["BINARY", "SPIN"])
@pytest.mark.parametrize("n", [1, 7, 14])
def test_bqm_optimum_equals_exact_solver(vartype: str, n: int) -> None:
    for seed in range(3):
        bqm = random_bqm(n, vartype, seed=seed, labels=awkward_labels(n))
        ss = MILPSolver().sample(bqm)
        assert ss.first.energy == pytest.approx(
            dimod.ExactSolver().sample(bqm).first.energy, abs=1e-8
        )
        dimod.testing.assert_sampleset_energies(ss, bqm)


def test_real_variables_and_quadratic_constraint() -> None:
    cqm = dimod.ConstrainedQuadraticModel()
    r = dimod.Real("r", lower_bound=-1.5, upper_bound=4.0)
    x, y = dimod.Binary("x"), dimod.Binary("y")
    cqm.set_objective(-r + 0.5 * x - 0.25 * y)
    cqm.add_constraint(r - 2 * x * y <= 1, label="cap")  # r <= 1 + 2xy: best is x = y = 1, r = 3
    first = MILPSolver().sample_cqm(cqm).first
    assert first.is_feasible
    assert first.sample["x"] == 1 and first.sample["y"] == 1
    assert first.sample["r"] == pytest.approx(3.0)
    assert first.energy == pytest.approx(-3.0 + 0.5 - 0.25)


def test_bad_input_is_named() -> None:
    solver = MILPSolver()
    with pytest.raises(TypeError, match="'bqm' must be a dimod.BinaryQuadraticModel"):
        solver.sample({"a": 1})
    with pytest.raises(ValueError, match="NaN or infinite"):
        solver.sample(dimod.BinaryQuadraticModel({"a": np.nan}, {}, 0.0, "BINARY"))
    with pytest.raises(ValueError, match="'time_limit' must be a positive number"):
        solver.sample(dimod.BinaryQuadraticModel({"a": 1.0}, {}, 0.0, "BINARY"), time_limit=0)
    with pytest.raises(TypeError):
        solver.sample(dimod.BinaryQuadraticModel({"a": 1.0}, {}, 0.0, "BINARY"), num_sweeps=3)

    cqm = dimod.ConstrainedQuadraticModel()
    k = dimod.Integer("k", lower_bound=0, upper_bound=3)
    x = dimod.Binary("x")
    cqm.set_objective(k * x)
    with pytest.raises(ValueError, match=r"quadratic term .* INTEGER variable"):
        solver.sample_cqm(cqm)

    cqm = dimod.ConstrainedQuadraticModel()
    cqm.set_objective(x)
    cqm.add_constraint(x >= 1, label="soft one", weight=2.0)
    with pytest.raises(ValueError, match="'soft one' is soft"):
        solver.sample_cqm(cqm)

    cqm = dimod.ConstrainedQuadraticModel()
    a, b = dimod.Binary("a"), dimod.Binary("b")
    cqm.set_objective(a + b)
    cqm.add_constraint(a + b >= 3, label="impossible")
    with pytest.raises(ValueError, match="infeasible"):
        solver.sample_cqm(cqm)


def test_empty_models() -> None:
    ss = MILPSolver().sample(dimod.BinaryQuadraticModel({}, {}, 1.5, "SPIN"))
    assert len(ss) == 1 and len(ss.variables) == 0 and ss.first.energy == pytest.approx(1.5)
    cqm = dimod.ConstrainedQuadraticModel()
    assert MILPSolver().sample_cqm(cqm).first.energy == pytest.approx(0.0)


def _with_squares(seed: int, n: int, n_squares: int) -> tuple[dimod.BinaryQuadraticModel, list]:
    """A random BINARY BQM plus n_squares random w (a^T x + c)^2 with integer a, c, and those
    triples (the form the squares keyword takes)."""
    rng = np.random.default_rng(seed)
    bqm = random_bqm(n, "BINARY", seed=seed)
    squares = []
    for _ in range(n_squares):
        a = {v: int(rng.integers(-6, 7)) for v in bqm.variables if rng.random() < 0.7}
        c, w = int(rng.integers(-8, 9)), float(rng.uniform(0.0, 40.0))
        squares.append((w, a, c))
        square = dimod.BinaryQuadraticModel({v: b for v, b in a.items()}, {}, c, "BINARY")
        bqm += w * square * square  # dimod reduces x^2 to x for BINARY
    return bqm, squares


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(1, 9), n_squares=st.integers(0, 4))
def test_squares_give_the_same_optimum_as_enumeration(seed: int, n: int, n_squares: int) -> None:
    """With ``squares`` (tangent cuts of s^2, outer approximation) the optimum is exact."""
    bqm, squares = _with_squares(seed, n, n_squares)
    ss = MILPSolver().sample(bqm, squares=squares)
    assert ss.first.energy == pytest.approx(
        dimod.ExactSolver().sample(bqm).first.energy, rel=1e-9, abs=1e-7
    )
    dimod.testing.assert_sampleset_energies(ss, bqm)
    assert ss.info["milp"]["optimal"] is True and ss.info["milp"]["rounds"] >= 1


def test_squares_need_more_than_one_round_when_the_start_cuts_miss() -> None:
    """(x0 + ... + x11 - 3)^2 with a reward of 12.6 per bit: the optimum is at s = 6, where the
    start cuts (exact at -4..5 and 8, 9) under-estimate s^2, so the loop adds the tangent at 6
    and the answer is still the optimum."""
    xs = [f"x{i}" for i in range(12)]
    square = dimod.BinaryQuadraticModel({v: 1.0 for v in xs}, {}, -3.0, "BINARY")
    bqm = square * square + dimod.BinaryQuadraticModel({v: -12.6 for v in xs}, {}, 0.0, "BINARY")
    ss = MILPSolver().sample(bqm, squares=[(1.0, {v: 1 for v in xs}, -3)])
    assert sum(ss.first.sample.values()) == 9
    assert ss.first.energy == pytest.approx(36.0 - 12.6 * 9)
    assert ss.info["milp"]["rounds"] >= 2


@pytest.mark.parametrize(
    ("squares", "error", "message"),
    [
        ("ab", TypeError, "'squares' must be a sequence of (w, a, c) triples, got str"),
        ([(1.0, {"a": 1})], TypeError, "'squares' entry 0 must be a (w, a, c) triple"),
        ([(-1.0, {"a": 1}, 0)], ValueError, "'squares entry 0 weight' must be"),
        (
            [(1.0, {"z": 1}, 0)],
            ValueError,
            "'squares' entry 0 has variable 'z', which is not in the bqm",
        ),
        (
            [(1.0, {"a": 0.5}, 0)],
            ValueError,
            "'squares entry 0 coefficient of a' must be an integer",
        ),
        ([(1.0, {"a": 1}, 0.25)], ValueError, "'squares entry 0 constant' must be an integer"),
    ],
)
def test_bad_squares_are_named(squares, error, message) -> None:
    bqm = dimod.BinaryQuadraticModel({"a": 1.0, "b": -1.0}, {("a", "b"): 2.0}, 0.0, "BINARY")
    with pytest.raises(error) as info:
        MILPSolver().sample(bqm, squares=squares)
    assert message in str(info.value)


def test_squares_need_a_binary_bqm() -> None:
    with pytest.raises(ValueError, match="'squares' needs a BINARY bqm"):
        MILPSolver().sample(
            dimod.BinaryQuadraticModel({"a": 1.0}, {}, 0.0, "SPIN"), squares=[(1.0, {"a": 1}, 0)]
        )
