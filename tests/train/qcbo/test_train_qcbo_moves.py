"""QCBO training, moves: votes and the line search, improving solves and the weight-space QUBO move."""

from __future__ import annotations

import dimod
import numpy as np
import pytest
from qcbo_toys import BOX, SIZES, SMALL, _toy

from hybridqnn.problems.qcbo import WeightCode
from hybridqnn.solvers import get_sampler
from hybridqnn.train.qcbo import (
    fit_greedy_moves,
    fit_qcbo,
)
from hybridqnn.train.qcbo.moves import _apply_moves, _line_search, _votes
from hybridqnn.train.qcbo.network import _Architecture


def test_votes_rank_one_level_moves_and_the_line_search_combines_improving_ones() -> None:
    binary, ternary = WeightCode("binary", scale=0.5), WeightCode("ternary", scale=2.0)
    center = [np.array([[0.5, -0.5, 0.5]]), np.array([0.0, 2.0, -2.0])]
    # binary votes: 0.6, 0 (no move), 0.1; ternary: 0.25 up, none (top level), 0.9 up
    mean = [np.array([[0.5 - 0.6, -0.5, 0.5 - 0.1]]), np.array([0.5, 3.0, -2.0 + 1.8])]
    moves = _votes(center, mean, [binary, ternary])
    assert [(round(v, 9), li, i, t) for v, li, i, t in moves] == [
        (0.9, 1, 2, 0.0),
        (0.6, 0, 0, -0.5),
        (0.25, 1, 0, 2.0),
        (0.1, 0, 2, -0.5),
    ]
    assert _votes(center, center, [binary, ternary]) == []
    # a score that rewards exactly the 0.25 and 0.1 moves: no prefix of the ranking has both
    # without the others, so the line search must combine the improving single moves
    wanted = _apply_moves(center, [moves[2], moves[3]])

    def score(cand: list[np.ndarray]) -> float:
        return sum(float(np.sum(np.abs(c - w))) for c, w in zip(cand, wanted, strict=True))

    moved, best = _line_search(center, moves, score)
    assert moved == 2
    for b, w in zip(best, wanted, strict=True):
        np.testing.assert_array_equal(b, w)
    # with nothing better than the centre, it stays
    moved, best = _line_search(center, moves, lambda cand: 0.0)
    assert moved == 0


def test_improving_solve_fraction_and_the_qubo_move() -> None:
    X, y = _toy(8, seed=2)
    res = fit_qcbo(
        X,
        y,
        SIZES,
        sampler=get_sampler("dense-sa"),
        method="qcgd",
        ph_iterations=2,
        seed=1,
        executor="serial",
        qcgd_iterations=2,
        sample_kwargs={"num_reads": 2, "num_sweeps": 50},
        moves=["qubo"],
        **SMALL,
    )
    frac = res.improving_solve_fraction
    assert frac is not None and 0.0 <= frac <= 1.0
    rec = res.history[0]
    assert rec["qubo_candidates"] > 0 and rec["qubo_pairs"] > 0
    # an applied move lowered the training loss; the training score never falls
    for h in res.history:
        assert h["qubo_loss_gain"] <= 0.0
    accs = [res.initial["train_accuracy"]] + [h["train_accuracy"] for h in res.history]
    assert all(b >= a - 1e-12 for a, b in zip(accs, accs[1:], strict=False))
    assert fit_greedy_moves(X, y, SIZES, iterations=1, **SMALL).improving_solve_fraction is None
    with pytest.raises(ValueError, match="'moves' must be one of"):
        fit_qcbo(X, y, SIZES, sampler=get_sampler("dense-sa"), moves=["bogus"], **SMALL)


def test_qubo_move_model_is_exact_on_single_and_pair_moves() -> None:
    from hybridqnn.train.qcbo.moves import MoveContext, _adjacent_levels, _apply_moves, move_qubo

    X, y = _toy(6, seed=4)
    arch = _Architecture(
        SIZES, (BOX["input_low"], BOX["input_high"]), "relu", (2,), True, (2,), "logistic", 2
    )
    codes = [WeightCode("binary", scale=0.5), WeightCode("binary", scale=1.0)]
    net = arch.network(codes)
    rng = np.random.default_rng(0)
    ws = [rng.choice(c.levels, size=s) for c, s in zip(codes, net.weight_shapes(), strict=True)]
    ypm = np.where(y > 0, 1, -1)

    class Recorder(dimod.ExactSolver):
        def sample(self, bqm, **kw):
            self.bqm = bqm
            return dimod.ExactSolver().sample(bqm).truncate(4)

    rec = Recorder()
    ctx = MoveContext(net, codes, X, ypm, ypm, "accuracy", rec, {}, 0)
    out, info = move_qubo(ctx, ws)
    moves = [
        (li, i, v)
        for li, (w, c) in enumerate(zip(ws, codes, strict=True))
        for i, cc in enumerate(w.ravel())
        for v in _adjacent_levels(c.levels, cc)
    ]
    base = net.loss_value(ws, X, ypm, ties="nearest")
    for k, l_ in [(0, 1), (2, 5), (3, len(moves) - 1)]:
        both = net.loss_value(
            _apply_moves(ws, [(1.0, *moves[k]), (1.0, *moves[l_])]), X, ypm, ties="nearest"
        )
        model = rec.bqm.energy({v: int(v in (k, l_)) for v in rec.bqm.variables})
        assert model == pytest.approx(both - base, abs=1e-9)
    new_loss = net.loss_value(out, X, ypm, ties="nearest")
    assert new_loss <= base + 1e-12
    assert info["applied"] == (new_loss < base)
