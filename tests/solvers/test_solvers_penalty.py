"""CQM -> BQM penalties: violation functions, automatic scaling, CQM samples, errors."""

from __future__ import annotations

import itertools

import dimod
import numpy as np
import pytest
from dwave.samplers import SimulatedAnnealingSampler
from hypothesis import given
from hypothesis import strategies as st

from hybridqnn.problems.penalty import penalty_bqm, penalty_parts
from hybridqnn.problems.qcbo import WeightCode, build_qcbo
from hybridqnn.solvers.milp import MILPSolver
from hybridqnn.solvers.penalty import PenaltyCQMSampler


def _integer_cqm(seed: int) -> dimod.ConstrainedQuadraticModel:
    """Five bits, integer data: an equality, a <=, a >=, a quadratic <= and a product."""
    rng = np.random.default_rng(seed)
    x = [dimod.Binary(f"x{i}") for i in range(5)]
    cqm = dimod.ConstrainedQuadraticModel()
    obj = sum(int(rng.integers(-4, 5)) * v for v in x) + int(rng.integers(-3, 4)) * x[0] * x[1]
    cqm.set_objective(obj + int(rng.integers(-3, 4)) * x[2] * x[3])
    cqm.add_constraint(x[0] + x[1] + x[2] == 1, label="onehot")
    cqm.add_constraint(2 * x[1] + 3 * x[3] + x[4] <= 4, label="knap")
    cqm.add_constraint(x[3] + x[4] >= 1, label="cover")
    cqm.add_constraint(x[0] * x[4] + x[2] * x[3] + x[1] <= 1, label="quad")
    cqm.add_constraint(x[4] - x[0] * x[3] == 0, label="prod")
    return cqm


def _cqm_optimum(cqm: dimod.ConstrainedQuadraticModel) -> float:
    labels = list(cqm.variables)
    best = np.inf
    for bits in itertools.product((0, 1), repeat=len(labels)):
        sample = dict(zip(labels, bits, strict=False))
        if cqm.check_feasible(sample):
            best = min(best, cqm.objective.energy(sample))
    return best


@given(st.integers(0, 2**32 - 1))
def test_violations_vanish_exactly_on_feasible_points(seed: int) -> None:
    cqm = _integer_cqm(seed)
    parts = penalty_parts(cqm)
    labels = list(cqm.variables)
    extra = [v for v in parts.variables if v not in cqm.variables]
    # every assignment of the CQM's bits (rows) times every assignment of slack/aux bits
    base = np.array(list(itertools.product((0, 1), repeat=len(labels))), dtype=np.int8)
    ext = np.array(list(itertools.product((0, 1), repeat=len(extra))), dtype=np.int8)
    full = np.hstack([np.repeat(base, len(ext), axis=0), np.tile(ext, (len(base), 1))])
    order = labels + extra
    viol = np.stack([b.energies((full, order)) for _, b in parts.violations])
    assert viol.min() >= -1e-9  # every violation function is nonnegative
    best = viol.sum(axis=0).reshape(len(base), len(ext)).min(axis=1)
    feasible = [cqm.check_feasible(dict(zip(labels, row, strict=False))) for row in base]
    np.testing.assert_array_equal(best < 1e-9, feasible)


@given(st.integers(0, 2**32 - 1))
def test_auto_scaled_penalty_ground_state_is_feasible_and_optimal(seed: int) -> None:
    cqm = _integer_cqm(seed)
    if not np.isfinite(_cqm_optimum(cqm)):
        return
    sampleset = PenaltyCQMSampler(dimod.ExactSolver(), max_rounds=1).sample_cqm(cqm)
    ground = sampleset.record[np.argmin(sampleset.record.penalty_energy)]
    assert ground.is_feasible
    assert ground.energy == pytest.approx(_cqm_optimum(cqm))


def test_generous_sampler_finds_the_qcbo_optimum() -> None:
    rng = np.random.default_rng(2)
    X = rng.uniform(-1, 1, size=(1, 2))
    model = build_qcbo(
        X,
        [1],
        (2, 2, 1),
        WeightCode("binary", scale=0.7),
        segments=2,
        activation_bits=1,
        loss="hinge",
        loss_segments=2,
    )
    exact = MILPSolver().sample_cqm(model.cqm).first.energy
    sampler = PenaltyCQMSampler(SimulatedAnnealingSampler())
    sampleset = sampler.sample_cqm(model.cqm, num_reads=200, num_sweeps=2000, seed=5)
    feasible = sampleset.filter(lambda d: d.is_feasible)
    assert len(feasible) > 0
    assert feasible.first.energy == pytest.approx(exact, abs=1e-9)
    assert set(sampleset.variables) == set(model.cqm.variables)
    # energies are the CQM objective
    np.testing.assert_allclose(sampleset.record.energy, model.cqm.objective.energies(sampleset))


def test_repair_appends_feasible_completions() -> None:
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(2, 3))
    model = build_qcbo(
        X,
        [1, -1],
        (3, 3, 1),
        WeightCode("binary", scale=0.5),
        segments=3,
        activation_bits=2,
        loss_segments=3,
    )
    sampler = PenaltyCQMSampler(SimulatedAnnealingSampler(), max_rounds=1, repair=model.complete)
    out = sampler.sample_cqm(model.cqm, num_reads=5, num_sweeps=50, seed=0)
    repaired = out.record.repaired
    assert repaired.sum() == 5 and (~repaired).sum() == 5
    assert np.all(out.record.is_feasible[repaired])
    assert np.all(np.isnan(out.record.penalty_energy[repaired]))
    per_call = PenaltyCQMSampler(SimulatedAnnealingSampler(), max_rounds=1).sample_cqm(
        model.cqm, num_reads=5, num_sweeps=50, seed=0, repair=model.complete
    )
    assert np.array_equal(per_call.record.sample, out.record.sample)
    assert out.info["penalty"]["oracle_calls"] == out.info["penalty"]["rounds"] == 1


def test_spins_and_the_doubling_rule() -> None:
    s = [dimod.Spin(f"s{i}") for i in range(3)]
    cqm = dimod.ConstrainedQuadraticModel()
    cqm.set_objective(-5 * s[0] - 5 * s[1] - 5 * s[2])
    cqm.add_constraint(s[0] + s[1] + s[2] <= -1, label="mostly down")
    out = PenaltyCQMSampler(dimod.ExactSolver(), scale=1e-4).sample_cqm(cqm)
    assert out.info["penalty"]["rounds"] > 1  # a tiny start scale had to be doubled
    best = out.filter(lambda d: d.is_feasible).first
    assert set(np.unique(out.record.sample)) <= {-1, 1}
    assert sorted(best.sample.values()) == [-1, -1, 1]
    assert best.energy == pytest.approx(5.0)


def test_penalty_bqm_is_objective_plus_weighted_violations() -> None:
    cqm = _integer_cqm(0)
    bqm, parts, P = penalty_bqm(cqm, penalty=3.0)
    assert P == 3.0
    rng = np.random.default_rng(0)
    for _ in range(10):
        full = {v: int(rng.integers(0, 2)) for v in parts.variables}
        expected = cqm.objective.energy({v: full[v] for v in cqm.variables}) + 3.0 * sum(
            b.energy(full) for _, b in parts.violations
        )
        assert bqm.energy(full) == pytest.approx(expected)


def test_real_coefficients_use_the_slack_grid() -> None:
    x = [dimod.Binary(f"x{i}") for i in range(3)]
    cqm = dimod.ConstrainedQuadraticModel()
    cqm.set_objective(-x[0] - x[1] - x[2])
    cqm.add_constraint(0.7 * x[0] + 0.45 * x[1] + 0.3 * x[2] <= 0.8, label="real")
    parts = penalty_parts(cqm, slack_bits=4)
    assert parts.num_slack == 4
    out = PenaltyCQMSampler(dimod.ExactSolver(), slack_bits=4).sample_cqm(cqm)
    assert out.filter(lambda d: d.is_feasible).first.energy == pytest.approx(-2.0)


def test_errors() -> None:
    x = dimod.Binary("x")
    cqm = dimod.ConstrainedQuadraticModel()
    cqm.set_objective(x)
    cqm.add_constraint(x >= 2, label="never")
    with pytest.raises(ValueError, match="'never'"):
        penalty_parts(cqm)
    cqm2 = dimod.ConstrainedQuadraticModel()
    cqm2.set_objective(dimod.Integer("i", upper_bound=3))
    with pytest.raises(ValueError, match="BINARY or SPIN"):
        penalty_parts(cqm2)
    with pytest.raises(TypeError, match="'cqm'"):
        penalty_parts(dimod.BinaryQuadraticModel("BINARY"))
    with pytest.raises(ValueError, match="unknown keyword"):
        PenaltyCQMSampler(dimod.ExactSolver()).sample_cqm(_integer_cqm(0), num_reads=3)
    with pytest.raises(ValueError, match="'penalty'"):
        PenaltyCQMSampler(dimod.ExactSolver(), penalty=-1.0)
    with pytest.raises(TypeError, match="'child'"):
        PenaltyCQMSampler(object())
    with pytest.raises(ValueError, match="'slack_bits'"):
        penalty_parts(_integer_cqm(0), slack_bits=0)


@pytest.mark.parametrize("where", ["objective", "constraint", "rhs"])
def test_non_finite_cqms_are_one_line_naming_the_part_for_every_cqm_solver(where: str) -> None:
    from hybridqnn.solvers import get_cqm_solver, get_sampler

    a, b = dimod.Binary("a"), dimod.Binary("b")
    cqm = dimod.ConstrainedQuadraticModel()
    cqm.set_objective(a + b - a * b)
    cqm.add_constraint(a + b <= (np.nan if where == "rhs" else 1.0), label="c1")
    if where == "objective":
        cqm.objective.set_linear("b", np.nan)
        expected = r"^'cqm objective' must have finite coefficients, got NaN or infinite: the linear bias of variable 'b' is nan$"
    elif where == "constraint":
        cqm.constraints["c1"].lhs.set_linear("a", np.inf)
        expected = r"^'cqm constraint c1' must have finite coefficients, got NaN or infinite: the linear bias of variable 'a' is inf$"
    else:
        expected = r"^'cqm constraint c1 rhs' must be a finite number, got nan$"
    solvers = [get_cqm_solver(m, get_sampler("dense-sa")) for m in ("qcgd", "penalty")] + [get_sampler("milp")]
    for solver in solvers:
        with pytest.raises(ValueError, match=expected):
            solver.sample_cqm(cqm)


@given(st.integers(0, 2**32 - 1))
def test_norms_make_each_violation_a_squared_distance(seed: int) -> None:
    """PenaltyParts.norms: ||a_i||^2 of each squared row (slack bits included), 1 for a
    Rosenberg product; v_i / ||a_i||^2 is 0 on the exact lift of a point that meets constraint
    i and >= 1 / ||a_i||^2 at every bit vector where it is not met (qcgd's preconditioning
    keeps the lifting exact)."""
    cqm = _integer_cqm(seed)
    parts = penalty_parts(cqm)
    assert len(parts.norms) == len(parts.violations)
    norms = dict(zip([label for label, _ in parts.violations], parts.norms, strict=True))
    assert norms["prod"] == 1.0
    assert norms["onehot"] == 3.0  # x0 + x1 + x2 - 1
    knap_slack = [c for label, _, _, slack in parts.slacks if label == "knap" for _, c in slack]
    assert norms["knap"] == pytest.approx(4 + 9 + 1 + sum(c * c for c in knap_slack))
    labels = list(cqm.variables)
    for bits in itertools.product((0, 1), repeat=len(labels)):
        sample = dict(zip(labels, bits, strict=True))
        lifted = dict(zip(parts.variables, parts.lift(sample), strict=True))
        met = {k: v <= 0 for k, v in cqm.violations(sample, clip=True).items()}
        for (label, viol), norm in zip(parts.violations, parts.norms, strict=True):
            scaled = viol.energy(lifted) / norm
            if label in met:
                assert (scaled == 0.0) == met[label]
                assert met[label] or scaled >= 1.0 / norm - 1e-12
            assert scaled >= 0.0


@given(st.integers(0, 2**32 - 1))
def test_forms_are_the_squared_rows_linear_forms(seed: int) -> None:
    """PenaltyParts.forms: (a, c) with v_i(z) = (a^T z + c)^2 at every bit vector for each
    squared row (slack bits included), None for a Rosenberg product row; the norms are |a|^2."""
    cqm = _integer_cqm(seed)
    parts = penalty_parts(cqm)
    assert len(parts.forms) == len(parts.violations)
    forms = dict(zip([label for label, _ in parts.violations], parts.forms, strict=True))
    assert forms["prod"] is None and forms["onehot"] is not None
    rng = np.random.default_rng(seed)
    for z in rng.integers(0, 2, size=(16, len(parts.variables))):
        point = dict(zip(parts.variables, z.tolist(), strict=True))
        for (_, viol), form, norm in zip(parts.violations, parts.forms, parts.norms, strict=True):
            if form is None:
                continue
            a, c = form
            value = sum(b * point[v] for v, b in a.items()) + c
            assert viol.energy(point) == pytest.approx(value * value, abs=1e-9)
            assert norm == pytest.approx(sum(b * b for b in a.values()))


@given(st.integers(0, 2**32 - 1), st.booleans())
def test_triplets_are_the_violations_as_arrays(seed: int, real: bool) -> None:
    """PenaltyParts.triplets writes every violation function as upper-triangular arrays with
    the values of its BQM (squared rows and Rosenberg products, integer or real data)."""
    cqm = _integer_cqm(seed)
    if real:
        x = [dimod.Binary(f"x{i}") for i in range(3)]
        cqm.add_constraint(0.7 * x[0] + 0.45 * x[1] - 0.3 * x[2] <= 0.8, label="real")
    parts = penalty_parts(cqm, slack_bits=3)
    index = {v: i for i, v in enumerate(parts.variables)}
    rows, cols, weights, owner, offsets = parts.triplets(index)
    assert np.all(rows <= cols)
    rng = np.random.default_rng(seed)
    for z in rng.integers(0, 2, size=(16, len(parts.variables))).astype(float):
        values = np.bincount(owner, weights=weights * z[rows] * z[cols], minlength=len(offsets)) + offsets
        point = dict(zip(parts.variables, z.tolist(), strict=True))
        expected = [viol.energy(point) for _, viol in parts.violations]
        np.testing.assert_allclose(values, expected, rtol=1e-12, atol=1e-9)
