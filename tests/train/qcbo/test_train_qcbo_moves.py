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
from hybridqnn.train.qcbo.moves import _adjacent_moves, _apply_moves, _line_search, _votes
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
    # an applied move lowered the training errors, or kept them and lowered the loss; the
    # training score never falls
    for h in res.history:
        assert h["qubo_error_gain"] < 0 or (h["qubo_error_gain"] == 0 and h["qubo_loss_gain"] <= 0)
    accs = [res.initial["train_accuracy"]] + [h["train_accuracy"] for h in res.history]
    assert all(b >= a - 1e-12 for a, b in zip(accs, accs[1:], strict=False))
    assert fit_greedy_moves(X, y, SIZES, iterations=1, **SMALL).improving_solve_fraction is None
    with pytest.raises(ValueError, match="'moves' must be one of"):
        fit_qcbo(X, y, SIZES, sampler=get_sampler("dense-sa"), moves=["bogus"], **SMALL)


def _move_setup(seed: int):
    X, y = _toy(6, seed=4)
    arch = _Architecture(
        SIZES, (BOX["input_low"], BOX["input_high"]), "relu", (2,), True, (2,), "logistic", 2
    )
    codes = [WeightCode("binary", scale=0.5), WeightCode("binary", scale=1.0)]
    net = arch.network(codes)
    rng = np.random.default_rng(seed)
    ws = [rng.choice(c.levels, size=s) for c, s in zip(codes, net.weight_shapes(), strict=True)]
    return X, np.where(y > 0, 1, -1), codes, net, ws


class _Idle(dimod.ExactSolver):
    """Answers d = 0 (no move) only."""

    def sample(self, bqm, **kw):
        return dimod.SampleSet.from_samples_bqm(dict.fromkeys(bqm.variables, 0), bqm)


class _Recorder(dimod.ExactSolver):
    """Every state, lowest energy first; keeps the QUBO it was given."""

    def sample(self, bqm, **kw):
        self.bqm = bqm
        return dimod.ExactSolver().sample(bqm)


@pytest.mark.parametrize("select", ["loss", "accuracy"])
def test_qubo_move_model_is_exact_on_single_and_pair_moves(select: str) -> None:
    from hybridqnn.train.qcbo.moves import MoveContext, move_qubo

    X, ypm, codes, net, ws = _move_setup(0)
    rec = _Recorder()
    out, info = move_qubo(MoveContext(net, codes, X, ypm, ypm, select, rec, {}, 0), ws)
    moves = _adjacent_moves(ws, codes)
    eps = info["loss_weight"]
    assert (eps == 0.0) == (select == "loss") and eps < 0.5

    def f(w):  # the modelled score: errors + eps * loss, or the loss
        loss = net.loss_value(w, X, ypm, ties="nearest")
        return (np.sum(net.predict(w, X) != ypm) + eps * loss) if select == "accuracy" else loss

    for ks in [(0,), (0, 1), (2, 5), (3, len(moves) - 1)]:
        both = f(_apply_moves(ws, [(1.0, *moves[k]) for k in ks]))
        model = rec.bqm.energy({v: int(v in ks) for v in rec.bqm.variables})
        assert model == pytest.approx(both - f(ws), abs=1e-9)
    # never worse on select's rank; applied iff strictly better
    before = (np.mean(net.predict(ws, X) == ypm), net.loss_value(ws, X, ypm, ties="nearest"))
    after = (np.mean(net.predict(out, X) == ypm), net.loss_value(out, X, ypm, ties="nearest"))
    rank = (lambda r: (-r[0], r[1])) if select == "accuracy" else (lambda r: (r[1], -r[0]))
    assert rank(after) <= rank(before)
    assert info["applied"] == (rank(after) < rank(before))


def test_qubo_move_finds_a_pair_where_no_single_move_lowers_the_errors() -> None:
    """The coordinated move: a network where no single move lowers the training errors and a
    pair does (found by brute force); the move's answer is at least as good as the best pair."""
    from hybridqnn.train.qcbo.moves import MoveContext, move_qubo

    def errors(net, w, X, ypm):
        return int(np.sum(net.predict(w, X) != ypm))

    for seed in range(200):
        X, ypm, codes, net, ws = _move_setup(seed)
        moves = _adjacent_moves(ws, codes)
        base = errors(net, ws, X, ypm)
        if min(errors(net, _apply_moves(ws, [(1.0, *m)]), X, ypm) for m in moves) < base:
            continue
        best_pair = min(
            errors(net, _apply_moves(ws, [(1.0, *moves[k]), (1.0, *moves[l_])]), X, ypm)
            for k in range(len(moves))
            for l_ in range(k + 1, len(moves))
        )
        if best_pair < base:
            break
    else:
        pytest.fail("no network with an improving pair and no improving single move")
    for sampler in (_Recorder(), _Idle()):
        ctx = MoveContext(net, codes, X, ypm, ypm, "accuracy", sampler, {}, 0)
        out, info = move_qubo(ctx, ws)
        assert info["applied"] and info["moves"] >= 2
        assert errors(net, out, X, ypm) <= best_pair
        # the best pair's exact Delta f: its errors plus eps times its loss change
        assert best_pair - base + 0.5 > info["best_pair_gain"] > best_pair - base - 0.5
        # the kept move is at least as good as the best pair, which is offered beside the
        # sampler's answer; the sampler's is kept only if it ranks strictly above the pair
        f_out = info["error_gain"] + info["loss_weight"] * info["loss_gain"]
        assert f_out <= info["best_pair_gain"] + 1e-9
        assert info["source"] in ("pair", "sampler")
        if info["source"] == "pair":
            assert f_out == pytest.approx(info["best_pair_gain"], abs=1e-9)
        assert info["error_gain"] == errors(net, out, X, ypm) - base
    # a sampler with no answer below 0: the best pair alone was the move
    assert info["source"] == "pair"
    # the pair move is that move with no sampler at all (the Ising solve's classical control)
    from hybridqnn.train.qcbo.moves import move_pair

    pair_out, pair_info = move_pair(MoveContext(net, codes, X, ypm, ypm, "accuracy", None, {}, 0), ws)
    assert all(np.array_equal(a, b) for a, b in zip(pair_out, out, strict=True))
    kept = ("applied", "source", "moves", "error_gain", "loss_gain", "best_pair_gain")
    assert {k: pair_info[k] for k in kept} == {k: info[k] for k in kept}
    assert "spins" not in pair_info


BUDGET = 36


def test_qubo_move_stays_within_the_spin_cap() -> None:
    """Under a spin cap the move's QUBO has at most that many variables: the moves with the
    lowest single-move gain; the trainer passes its spin budget (a 3-8-1 network has 41 moves,
    more than the budget its blocks fit in)."""
    from hybridqnn.train.qcbo.moves import MoveContext, move_qubo

    X, ypm, codes, net, ws = _move_setup(0)
    rec = _Recorder()
    _, info = move_qubo(MoveContext(net, codes, X, ypm, ypm, "accuracy", rec, {}, 0, 4), ws)
    assert rec.bqm.num_variables == info["spins"] == 4 < info["candidates"]
    Xt, yt = _toy(8, seed=2)
    res = fit_qcbo(
        Xt,
        yt,
        (3, 8, 1),
        sampler=get_sampler("dense-sa"),
        ph_iterations=1,
        qcgd_iterations=1,
        sample_kwargs={"num_reads": 1, "num_sweeps": 20},
        moves=["qubo"],
        max_spins=BUDGET,
        seed=0,
        **SMALL,
    )
    assert res.spins["subproblem_spins_max"] <= BUDGET < res.history[0]["qubo_candidates"]
    assert res.history[0]["qubo_spins"] == BUDGET
