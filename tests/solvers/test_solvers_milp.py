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
