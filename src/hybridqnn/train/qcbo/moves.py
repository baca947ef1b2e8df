"""Moves on the consensus network: the subproblems' votes and the line search over them
(package docstring, "Consensus"), and the registered extra moves (:data:`MOVES`).

A registered move is a function ``move(ctx, weights) -> (weights, record)`` of a
:class:`MoveContext` and the current network's weights; it returns the (possibly) moved
weights and a small record for the history (keys get the move's name as prefix). Adding one to
:data:`MOVES` makes it available as ``fit_qcbo(moves=[name])`` without touching the PH loop.

Weight-space QUBO move (``"qubo"``, issue 18 item 2). Around the current network w (levels),
every weight has its adjacent levels as candidate moves k = 1..m (d_k in {0, 1}: move k
applied). With L(.) the training spline loss (plain forward pass, ``ties="nearest"``, summed
over the training set), the move QUBO is the exact second-order model over single and pair
moves:

    Delta(d) = sum_k a_k d_k + sum_{k<l} b_kl d_k d_l,
    a_k  = L(w + e_k) - L(w),
    b_kl = L(w + e_k + e_l) - L(w + e_k) - L(w + e_l) + L(w),

exact for every single and every pair move (a network is not quadratic in its weights, so it
is a model beyond pairs). Pairs are evaluated among the P = ``QUBO_PAIR_CANDIDATES`` moves with
the lowest a_k (all pairs when m <= P; the rest keep b = 0); two moves of the same weight
exclude each other (b = 1 + sum |a|). The sampler (the trainer's oracle, e.g. dense-SA)
minimises Delta; for each returned d, its moves sorted by a_k and the prefixes of 1, 2, 4, ...,
all of them are applied (a trust region: the pair model is exact for one or two moves, and was
measured far off for many, e.g. Delta = -85 predicted for 39 moves), and the result is kept only
if the true training loss falls and the training accuracy does not (so the move never worsens
the training score). With ``select="accuracy"`` the line search has already taken the moves
that raise accuracy, and at its end points the moves that lower the loss lower the accuracy:
at a 300-sample T-shirt/trouser end point of :func:`fit_greedy_moves` (16-4-1, 1-bit, seed 0)
5 single and 158 pair moves lowered the loss, the 5 best single ones each costing 2.7-7.3
accuracy points; the move then rarely applies (module docstring of the package). This
is the coordinated move a single-flip line search cannot find (on 16-4-1 binary networks at a
line-search end point, 36-37 of 2,628 pair flips lowered the training loss while no single flip
did). Cost: m + P(P - 1)/2 forward passes and one sampler call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import dimod
import numpy as np

from hybridqnn.problems.qcbo import QuantizedSplineNetwork, WeightCode

QUBO_PAIR_CANDIDATES = 64

Move = tuple[float, int, int, float]
"""One weight's vote: ``(vote, layer, flat index, target level)``."""


def _votes(
    center: Sequence[np.ndarray], mean: Sequence[np.ndarray], codes: Sequence[WeightCode]
) -> list[Move]:
    """The weights' votes, strongest first (ties: layer, then index).

    A weight at level c with consensus mean w_bar votes for its adjacent level c' on the side of
    w_bar with strength v = |w_bar - c| / |c' - c| (for binary weights: the sample-weighted
    fraction of subproblems that flipped it); weights at the end of their code's range on that
    side, or with v = 0, do not vote."""
    moves: list[Move] = []
    for li, (c, w, code) in enumerate(zip(center, mean, codes, strict=True)):
        levels, c, w = code.levels, c.ravel(), w.ravel()
        idx = np.clip(np.searchsorted(levels, c), 0, levels.size - 1)  # c is a level: its index
        step = np.sign(w - c).astype(np.int64)
        nxt = idx + step
        ok = (step != 0) & (nxt >= 0) & (nxt < levels.size)
        nxt = np.clip(nxt, 0, levels.size - 1)
        gap = np.abs(levels[nxt] - c)
        v = np.where(ok & (gap > 0), np.abs(w - c) / np.where(gap > 0, gap, 1), 0.0)
        moves += [(float(v[i]), li, int(i), float(levels[nxt[i]])) for i in np.flatnonzero(v > 0)]
    return sorted(moves, key=lambda m: (-m[0], m[1], m[2]))


def _apply_moves(center: Sequence[np.ndarray], moves: Sequence[Move]) -> list[np.ndarray]:
    out = [c.copy() for c in center]
    for _, li, i, target in moves:
        out[li].flat[i] = target
    return out


def _prefix_sizes(n: int) -> list[int]:
    """0, 1, 2, 4, ... below n, and n."""
    return sorted({0, n, *(2**e for e in range(n.bit_length()) if 2**e < n)})


def _line_search(
    center: list[np.ndarray], moves: list[Move], score: Callable[[list[np.ndarray]], Any]
) -> tuple[int, list[np.ndarray]]:
    """The ``line-search`` consensus step (module docstring): the best-scoring (lowest ``score``,
    then fewest moves) of ``center`` with the k strongest votes applied (k = 0, 1, 2, 4, ...,
    all), each vote alone, and the k best of the single moves that beat ``center``."""
    scored = []

    def evaluate(ms: Sequence[Move]) -> Any:
        cand = _apply_moves(center, ms)
        key = score(cand)
        scored.append((key, len(ms), cand))
        return key

    base = evaluate([])
    for k in _prefix_sizes(len(moves))[1:]:
        evaluate(moves[:k])
    singles = sorted(((evaluate([m]), j) for j, m in enumerate(moves)), key=lambda t: t[0])
    better = [moves[j] for key, j in singles if key < base]
    for k in _prefix_sizes(len(better))[2:]:  # k >= 2
        evaluate(better[:k])
    _, moved, cand = min(scored, key=lambda t: (t[0], t[1]))
    return moved, cand


def _adjacent_levels(levels: np.ndarray, value: float) -> list[float]:
    i = int(np.argmin(np.abs(levels - value)))
    return [float(levels[j]) for j in (i - 1, i + 1) if 0 <= j < levels.size]


@dataclass(frozen=True, eq=False)
class MoveContext:
    """What a registered move sees: the network, its codes, the training data and labels (as
    the QCBO and ``predict`` take them), the selection rule, the sampler and a seed."""

    network: QuantizedSplineNetwork
    codes: list[WeightCode]
    X: np.ndarray
    y_model: np.ndarray
    y_pm: np.ndarray
    select: str
    sampler: Any
    sample_kwargs: dict[str, Any]
    seed: int


def _loss_and_accuracy(ctx: MoveContext, ws: Sequence[np.ndarray]) -> tuple[float, float]:
    loss = ctx.network.loss_value(ws, ctx.X, ctx.y_model, ties="nearest")
    return float(loss), float(np.mean(ctx.network.predict(ws, ctx.X) == ctx.y_pm))


def move_qubo(ctx: MoveContext, weights: list[np.ndarray]) -> tuple[Any, dict[str, Any]]:
    """The weight-space QUBO move (module docstring). Returns the weights (moved or not) and
    ``applied``, ``moves`` (weights changed), ``candidates`` (m), ``pairs`` (evaluated),
    ``model_gain`` (Delta of the applied d) and ``loss_gain`` (true loss change, or 0)."""
    moves = [
        (li, i, float(v))
        for li, (w, code) in enumerate(zip(weights, ctx.codes, strict=True))
        for i, c in enumerate(w.ravel())
        for v in _adjacent_levels(code.levels, c)
    ]
    base_loss, base_acc = _loss_and_accuracy(ctx, weights)

    def loss_of(ks: Sequence[int]) -> float:
        ws = _apply_moves(weights, [(1.0, *moves[k]) for k in ks])
        return ctx.network.loss_value(ws, ctx.X, ctx.y_model, ties="nearest")

    a = np.array([loss_of([k]) - base_loss for k in range(len(moves))])
    pool = np.argsort(a, kind="stable")[:QUBO_PAIR_CANDIDATES]
    bqm = dimod.BinaryQuadraticModel(dict(enumerate(a)), {}, 0.0, dimod.BINARY)
    big = 1.0 + float(np.abs(a).sum())
    pairs = 0
    for x, k in enumerate(pool):
        for l_ in pool[x + 1 :]:
            if moves[k][:2] == moves[l_][:2]:
                bqm.add_interaction(int(k), int(l_), big)
                continue
            b = loss_of([k, l_]) - a[k] - a[l_] - base_loss
            pairs += 1
            if b != 0.0:
                bqm.add_interaction(int(k), int(l_), b)
    for k in range(len(moves)):  # exclusive moves outside the pool
        for l_ in range(k + 1, len(moves)):
            if moves[k][:2] == moves[l_][:2] and (k, l_) not in bqm.quadratic:
                bqm.add_interaction(k, l_, big)
    params = dict(ctx.sample_kwargs)
    if "seed" in getattr(ctx.sampler, "parameters", {}):
        params["seed"] = ctx.seed
    ss = ctx.sampler.sample(bqm, **params)
    record = {
        "applied": False,
        "moves": 0,
        "candidates": len(moves),
        "pairs": pairs,
        "model_gain": 0.0,
        "loss_gain": 0.0,
    }
    best = (base_loss, weights)
    tried: set[tuple[int, ...]] = set()
    for sample, energy in ss.data(["sample", "energy"]):
        chosen = sorted((k for k in range(len(moves)) if sample[k] == 1), key=lambda k: a[k])
        if not chosen or energy >= 0:
            continue
        for size in _prefix_sizes(len(chosen))[1:]:
            subset = tuple(chosen[:size])
            if subset in tried:
                continue
            tried.add(subset)
            ws = _apply_moves(weights, [(1.0, *moves[k]) for k in subset])
            loss, acc = _loss_and_accuracy(ctx, ws)
            if loss < best[0] - 1e-12 and acc >= base_acc:
                best = (loss, ws)
                gain = bqm.energy({v: int(v in subset) for v in bqm.variables})
                record.update(
                    applied=True,
                    moves=len(subset),
                    model_gain=float(gain),
                    loss_gain=float(loss - base_loss),
                )
    return best[1], record


MOVES: dict[str, Callable[[MoveContext, list[np.ndarray]], tuple[Any, dict[str, Any]]]] = {
    "qubo": move_qubo,
}
"""Registered extra moves, by name (``fit_qcbo(moves=[...])``)."""
