"""CQMScorer: a CQM's energies, violations and feasibility as arrays, equal to dimod's."""

from __future__ import annotations

import dimod
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridqnn.problems.cqm_scoring import CQMScorer


def _random_cqm(seed: int) -> dimod.ConstrainedQuadraticModel:
    """Binary and spin variables, real and integer data, ==, <= and >= constraints with linear
    and quadratic terms, some of them met exactly at some points."""
    rng = np.random.default_rng(seed)
    xs = [dimod.Binary(f"x{i}") for i in range(4)] + [dimod.Spin(f"s{i}") for i in range(2)]
    cqm = dimod.ConstrainedQuadraticModel()

    def expression() -> dimod.QuadraticModel:
        picks = rng.choice(len(xs), size=3, replace=False)
        terms = [float(rng.choice([rng.integers(-3, 4), rng.normal()])) * xs[k] for k in picks]
        i, j = rng.choice(len(xs), size=2, replace=False)
        return sum(terms) + float(rng.integers(-2, 3)) * xs[i] * xs[j] + float(rng.integers(-2, 3))

    cqm.set_objective(expression())
    for c in range(4):
        lhs, rhs = expression(), float(rng.integers(-2, 3))
        sense = ["==", "<=", ">="][c % 3]
        cqm.add_constraint_from_model(lhs, sense, rhs, label=f"c{c}")
    return cqm


def _points(cqm: dimod.ConstrainedQuadraticModel, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    cols = [
        rng.choice([-1, 1], size=8) if cqm.vartype(v) is dimod.SPIN else rng.integers(0, 2, size=8)
        for v in cqm.variables
    ]
    return np.stack(cols, axis=1).astype(np.int8)


@settings(max_examples=60)
@given(st.integers(0, 2**32 - 1))
def test_scores_equal_dimods(seed: int) -> None:
    cqm = _random_cqm(seed)
    x = _points(cqm, seed)
    scorer = CQMScorer(cqm)
    assert scorer.variables == list(cqm.variables)
    assert scorer.labels == list(cqm.constraints)
    expected = dimod.SampleSet.from_samples_cqm((x, scorer.variables), cqm, sort_labels=False)
    np.testing.assert_allclose(scorer.energies(x), expected.record.energy, rtol=1e-12, atol=1e-9)
    viol = scorer.violations(x)
    np.testing.assert_array_equal(scorer.feasible(viol), expected.record.is_feasible)
    for row, got in zip(x, viol, strict=True):
        want = cqm.violations(dict(zip(scorer.variables, row, strict=True)), clip=True)
        np.testing.assert_allclose(got, [want[c] for c in scorer.labels], rtol=1e-12, atol=1e-9)


def test_a_met_equality_is_feasible_within_dimods_tolerance() -> None:
    a, b = dimod.Binary("a"), dimod.Binary("b")
    cqm = dimod.ConstrainedQuadraticModel()
    cqm.set_objective(a - 2 * b + a * b)
    cqm.add_constraint_from_model(0.1 * a + 0.2 * b, "==", 0.3, label="real")
    cqm.add_constraint_from_model(a + b, ">=", 2, label="both")
    scorer = CQMScorer(cqm)
    x = np.array([[1, 1], [1, 0], [0, 0]], dtype=np.int8)
    viol = scorer.violations(x)
    assert viol[0].tolist() == pytest.approx([0.0, 0.0], abs=1e-15)
    assert scorer.feasible(viol).tolist() == [True, False, False]
    assert scorer.energies(x).tolist() == pytest.approx([0.0, 1.0, 0.0])
    assert viol[2].tolist() == pytest.approx([0.3, 2.0])


def test_soft_constraints_are_refused_by_name() -> None:
    a = dimod.Binary("a")
    cqm = dimod.ConstrainedQuadraticModel()
    cqm.set_objective(a)
    cqm.add_constraint(a <= 0, label="soft one", weight=2.0)
    with pytest.raises(ValueError, match=r"^'cqm' constraint 'soft one' is soft"):
        CQMScorer(cqm)
