"""The sign-matching CQM, its penalty BQM and the XNOR/threshold QUBO, checked by enumeration."""

from __future__ import annotations

import itertools

import dimod
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridqnn.problems.binary_gradient import (
    quantize_inputs,
    sign_matching_bqm,
    sign_matching_cqm,
    sign_matching_objective,
    threshold_neuron,
    xnor_threshold_bqm,
    xnor_threshold_objective,
    xnor_threshold_parameters,
)


def _spins(n: int) -> np.ndarray:
    return np.array(list(itertools.product([-1.0, 1.0], repeat=n)))


def _min_over_rest(bqm: dimod.BinaryQuadraticModel, fixed: dict) -> float:
    """min of ``bqm`` over every variable not in ``fixed``, by enumeration."""
    sub = bqm.copy()
    for v, value in fixed.items():
        sub.fix_variable(v, value)
    if sub.num_variables == 0:
        return float(sub.offset)
    return float(dimod.ExactSolver().sample(sub).first.energy)


def test_cqm_objective_and_constraints_by_enumeration() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    eps = 0.01
    cqm = sign_matching_cqm(x, y, eps)
    assert len(cqm.constraints) == 6 and len(cqm.variables) == 4 + 6
    best = np.inf
    for g in _spins(4):
        for s in _spins(6):
            sample = {("g", j, k): g[2 * j + k] for j in range(2) for k in range(2)}
            sample.update({("s", i, j): s[2 * i + j] for i in range(3) for j in range(2)})
            G, S = g.reshape(2, 2), s.reshape(3, 2)
            assert cqm.objective.energy(sample) == pytest.approx(((S - y) ** 2).sum())
            feasible = np.all((x @ G.T + eps) * S >= 0)
            assert cqm.check_feasible(sample) == feasible
            if feasible:
                best = min(best, ((S - y) ** 2).sum())
    assert best == pytest.approx(
        min(sign_matching_objective(x, y, g.reshape(1, 2, 2)[0]) for g in _spins(4))
    )


@settings(max_examples=10)
@given(
    seed=st.integers(0, 10_000),
    shape=st.sampled_from([(1, 3), (3, 1), (2, 2), (1, 2)]),
    real=st.booleans(),
)
def test_penalty_bqm_minimum_is_the_constrained_minimum(
    seed: int, shape: tuple[int, int], real: bool
) -> None:
    rng = np.random.default_rng(seed)
    b, n = shape
    x = rng.normal(size=shape) if real else rng.choice([-1.0, 0.0, 1.0], size=shape)
    y = rng.normal(size=b)
    bits = 2
    bqm = sign_matching_bqm(x, y, input_bits=bits)
    q, scale = quantize_inputs(x, bits)
    # for every G, the minimum over S and the slacks is the objective with S eliminated
    for g in _spins(n):
        fixed = {("g", 0, k): g[k] for k in range(n)}
        assert _min_over_rest(bqm, fixed) == pytest.approx(
            float(sign_matching_objective(q, y, g[None], eps=0.01 * scale)), abs=1e-9
        )


def test_integer_inputs_are_not_quantized_and_exact_solver_agrees() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.choice([-1.0, 1.0], size=(2, 3)), rng.normal(size=(2, 1))
    assert quantize_inputs(x)[1] == 1.0
    bqm = sign_matching_bqm(x, y)
    best = min(float(sign_matching_objective(x, y, g[None])) for g in _spins(3))
    assert dimod.ExactSolver().sample(bqm).first.energy == pytest.approx(best)


def test_milp_solves_the_cqm_exactly() -> None:
    from hybridqnn.solvers.milp import MILPSolver

    rng = np.random.default_rng(4)
    for _ in range(3):
        x, y = rng.normal(size=(4, 5)), rng.normal(size=4)
        best = min(float(sign_matching_objective(x, y, g[None])) for g in _spins(5))
        ss = MILPSolver().sample_cqm(sign_matching_cqm(x, y))
        assert ss.first.is_feasible and ss.first.energy == pytest.approx(best)


def test_sign_matching_bad_input() -> None:
    with pytest.raises(ValueError, match="'x' must be"):
        sign_matching_cqm(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="must be finite"):
        sign_matching_bqm(np.array([[np.nan]]), np.ones(1))
    with pytest.raises(ValueError, match="'eps'"):
        sign_matching_cqm(np.ones((2, 2)), np.ones(2), eps=-1.0)
    with pytest.raises(ValueError, match="'input_bits'"):
        sign_matching_bqm(np.ones((2, 2)), np.ones(2), input_bits=1)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6, 7, 8, 11, 15])
def test_threshold_encoding_is_the_majority_neuron(n: int) -> None:
    x = _spins(n)
    nbits, delta = xnor_threshold_parameters(n)
    w = np.ones(n)  # XNOR with w = 1 is x itself
    o = threshold_neuron(x, w)
    count = (x > 0).sum(axis=1)
    # the authors' thresholds: majority for odd n, half for even n >= 4, all for n = 2
    need = n if n == 2 else (n + 1) // 2
    assert np.array_equal(o, (count >= need).astype(float))
    if n != 2:  # = sign(x . w_spin) >= 0 with sign(0) = +1, the binary layer's forward pass
        assert np.array_equal(o, (x.sum(axis=1) >= 0).astype(float))
    assert nbits == {1: 1, 2: 2, 3: 2}.get(n, 3 if n < 8 else 4)


@settings(max_examples=10)
@given(seed=st.integers(0, 10_000), shape=st.sampled_from([(3, 1), (2, 2), (2, 3), (1, 5)]))
def test_xnor_qubo_minimum_over_auxiliaries_is_the_threshold_objective(
    seed: int, shape: tuple[int, int]
) -> None:
    rng = np.random.default_rng(seed)
    b, n = shape
    x, y = rng.choice([-1.0, 1.0], size=shape), rng.normal(scale=0.5, size=b)
    bqm = xnor_threshold_bqm(x, y)
    assert bqm.vartype is dimod.BINARY
    for w in itertools.product([0, 1], repeat=n):
        expected = float(xnor_threshold_objective(x, y, np.array(w)))
        assert _min_over_rest(bqm, {("w", k): w[k] for k in range(n)}) == pytest.approx(
            expected, abs=1e-9
        )


def test_xnor_qubo_with_four_slack_bits() -> None:
    rng = np.random.default_rng(5)
    x, y = rng.choice([-1.0, 1.0], size=(1, 9)), np.array([0.3])
    bqm = xnor_threshold_bqm(x, y)
    for w in rng.integers(0, 2, size=(4, 9)):
        expected = float(xnor_threshold_objective(x, y, w))
        assert _min_over_rest(bqm, {("w", k): int(w[k]) for k in range(9)}) == pytest.approx(
            expected, abs=1e-9
        )


def test_xnor_bad_input() -> None:
    with pytest.raises(ValueError, match="'n_in' must be an integer in \\[1, 15\\], got 16"):
        xnor_threshold_bqm(np.ones((2, 16)), np.ones(2))
    with pytest.raises(ValueError, match="\\+-1 values"):
        xnor_threshold_bqm(np.full((2, 3), 0.5), np.ones(2))
    with pytest.raises(ValueError, match="for one neuron"):
        xnor_threshold_bqm(np.ones((2, 3)), np.ones((2, 2)))
    with pytest.raises(ValueError, match="'lagrange_multiplier'"):
        xnor_threshold_bqm(np.ones((2, 3)), np.ones(2), lagrange_multiplier=0.0)
