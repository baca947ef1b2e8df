"""Moves on the consensus network: the subproblems' votes and the line search over them
(package docstring, "Consensus"), and the registered extra moves (:data:`MOVES`).

A registered move is a function ``move(ctx, weights) -> (weights, record)`` of a
:class:`MoveContext` and the current network's weights; it returns the (possibly) moved
weights and a small record for the history (keys get the move's name as prefix). Adding one to
:data:`MOVES` makes it available as ``fit_qcbo(moves=[name])`` without touching the PH loop.

Weight-space QUBO move (``"qubo"``, issue 18 item 2). Around the current network w (levels),
every weight has its adjacent levels as candidate moves k = 1..m (d_k in {0, 1}: move k
applied). The move minimises a pair-exact model of the training score that ``select`` ranks:

    f(w) = E(w) + eps L(w)   (select="accuracy"),    f(w) = L(w)   (select="loss"),

with E the number of misclassified training samples, L the training spline loss (plain forward
pass, ``ties="nearest"``, summed over the training set) and eps = 1 / (2 (1 + max |Delta L|))
over the evaluated single and pair moves, so that on those one error always outweighs the loss
(f ranks them as the trainers' selection does: errors first, then loss). The move QUBO is the
exact second-order model of f over single and pair moves:

    Delta(d) = sum_k a_k d_k + sum_{k<l} b_kl d_k d_l,
    a_k  = f(w + e_k) - f(w),
    b_kl = f(w + e_k + e_l) - f(w + e_k) - f(w + e_l) + f(w),

exact for every single and every pair move (a network is not quadratic in its weights, so it
is a model beyond pairs). Pairs are evaluated among the P = ``QUBO_PAIR_CANDIDATES`` moves with
the lowest a_k (all pairs when m <= P; the rest keep b = 0); two moves of the same weight
exclude each other (b = 1 + sum |a|). Under a spin cap (``MoveContext.max_spins``: the
trainer's ``max_spins`` or the sampler's declared size) only the cap's number of moves with the
lowest a_k are variables, so the move's solve fits the budget every subproblem does. The
sampler (the trainer's oracle, e.g. dense-SA) minimises Delta. For each returned d with
Delta(d) < 0, its moves are ordered by the model (the pair with the lowest Delta first, then
greedily the move that lowers Delta most) and the prefixes of 1, 2, 4, ..., all of them are
applied: a trust region, since the model is exact for one or two moves and was measured far
off for many (e.g. Delta = -85 predicted for 39 moves).
The best single or pair move (its Delta f is exact, already evaluated) is tried first, then
the prefixes; the best of them is kept only if it ranks strictly better on the training set
than w (``select``'s rank), so the move never worsens the training score, and a sampler's
answer is kept only if it ranks strictly above the best pair: the record says which won
(``source``), so a run shows how often the Ising solve found more than a pair search does.
The pair move (``"pair"``) is this move without the sampler: the best single or pair move
alone, the classical control of the Ising solve (:func:`move_pair`).

Why the error count: at the end points of the single-flip line search (``select="accuracy"``)
no single move raises the accuracy, and the moves that lower the loss lower the accuracy (at a
300-sample T-shirt/trouser end point of :func:`fit_greedy_moves`, 16-4-1, 1-bit, seed 0, the 5
best loss-lowering single moves each cost 2.7-7.3 accuracy points), so a loss-only model
proposes moves the score rejects. Pairs of moves do lower the error count there: at a
1,000-sample end point (T-shirt/trouser, 16-4-1, 1-bit, QAT start) 28 of 2,628 pairs did, the
best by 9 errors, and three rounds of the best pair plus the line search took the training
accuracy from 0.930 to 0.959 and the test accuracy from 0.919 to 0.940 (shirt/T-shirt, 2-bit:
13 of 8,850 pairs; 0.835 to 0.846 and 0.783 to 0.789). This is the coordinated move a
single-flip line search cannot find. Cost: m + P(P - 1)/2 forward passes and one sampler call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import dimod
import numpy as np

from hybridqnn.problems.qcbo import QuantizedSplineNetwork, WeightCode
from hybridqnn.train.qcbo.network import _rank

QUBO_PAIR_CANDIDATES = 128

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


def _adjacent_moves(
    weights: Sequence[np.ndarray], codes: Sequence[WeightCode]
) -> list[tuple[int, int, float]]:
    """Every weight's one-level moves: ``(layer, flat index, adjacent level)``, in weight order."""
    return [
        (li, i, v)
        for li, (w, code) in enumerate(zip(weights, codes, strict=True))
        for i, c in enumerate(w.ravel())
        for v in _adjacent_levels(code.levels, c)
    ]


@dataclass(frozen=True, eq=False)
class MoveContext:
    """What a registered move sees: the network, its codes, the training data and labels (as
    the QCBO and ``predict`` take them), the selection rule, the sampler, a seed and the most
    spins one sampler call may take (the trainer's spin budget or the sampler's declared size;
    None: no cap)."""

    network: QuantizedSplineNetwork
    codes: list[WeightCode]
    X: np.ndarray
    y_model: np.ndarray
    y_pm: np.ndarray
    select: str
    sampler: Any
    sample_kwargs: dict[str, Any]
    seed: int
    max_spins: int | None = None


def _errors_and_loss(ctx: MoveContext, ws: Sequence[np.ndarray]) -> tuple[int, float]:
    """E(w), the misclassified training samples, and L(w), the summed training spline loss."""
    errors = int(np.sum(ctx.network.predict(ws, ctx.X) != ctx.y_pm))
    return errors, float(ctx.network.loss_value(ws, ctx.X, ctx.y_model, ties="nearest"))


def _move_model(
    ctx: MoveContext,
    weights: list[np.ndarray],
    moves: list[tuple[int, int, float]],
    base: np.ndarray,
) -> tuple[dimod.BinaryQuadraticModel, np.ndarray, int, tuple[float, tuple[int, ...]]]:
    """The move QUBO Delta(d) of f (module docstring) around ``weights``, whose (E, L) is
    ``base``: ``(bqm, c, pairs evaluated, (best, ks))`` with c the coefficients of
    f = c . (E, L), and ``best`` the exact Delta f of the best single or evaluated pair move
    ``ks`` (``(0.0, ())`` if none is below 0)."""

    def gain(ks: Sequence[int]) -> np.ndarray:  # (Delta E, Delta L) of moves ks applied
        ws = _apply_moves(weights, [(1.0, *moves[k]) for k in ks])
        return np.array(_errors_and_loss(ctx, ws), dtype=float) - base

    single = np.array([gain([k]) for k in range(len(moves))]).reshape(-1, 2)
    primary = single[:, 0] if ctx.select == "accuracy" else single[:, 1]
    order = np.argsort(primary + 1e-9 * single[:, 1], kind="stable")
    spins = [int(k) for k in order[: ctx.max_spins]]  # the QUBO's variables
    pool = order[: min(QUBO_PAIR_CANDIDATES, len(spins))]
    both = {  # (Delta E, Delta L) of each evaluated pair
        (int(k), int(l_)): gain([k, l_])
        for x, k in enumerate(pool)
        for l_ in pool[x + 1 :]
        if moves[k][:2] != moves[l_][:2]
    }
    totals = np.array([*single, *both.values()]).reshape(-1, 2)
    eps = 1.0 / (2.0 * (1.0 + float(np.abs(totals[:, 1]).max(initial=0.0))))
    c = np.array([1.0, eps]) if ctx.select == "accuracy" else np.array([0.0, 1.0])
    keys = [(k,) for k in range(len(moves))] + list(both)
    best_move = min(  # the first lowest, as argmin
        ((float(g), ks) for g, ks in zip(totals @ c, keys, strict=True) if g < 0),
        key=lambda t: t[0],
        default=(0.0, ()),
    )
    a = single @ c
    bqm = dimod.BinaryQuadraticModel({k: a[k] for k in spins}, {}, 0.0, dimod.BINARY)
    for (k, l_), g in both.items():
        b = float((g - single[k] - single[l_]) @ c)
        if b != 0.0:
            bqm.add_interaction(k, l_, b)
    big = 1.0 + float(np.abs(a).sum())
    by_weight: dict[tuple[int, int], list[int]] = {}
    for k in spins:
        by_weight.setdefault(moves[k][:2], []).append(k)
    for ks in by_weight.values():  # two moves of one weight exclude each other
        for x, k in enumerate(ks):
            for l_ in ks[x + 1 :]:
                bqm.add_interaction(k, l_, big)
    return bqm, c, len(both), best_move


def _model_order(bqm: dimod.BinaryQuadraticModel, chosen: list[int]) -> list[int]:
    """``chosen`` ordered by the model: the pair with the lowest Delta first, then greedily the
    move that lowers Delta most given those before it."""
    if len(chosen) <= 2:
        return sorted(chosen, key=lambda k: bqm.get_linear(k))
    a = np.array([bqm.get_linear(k) for k in chosen])
    index = {k: x for x, k in enumerate(chosen)}
    B = np.zeros((len(chosen), len(chosen)))
    for x, k in enumerate(chosen):
        for l_, b in bqm.adj[k].items():
            if l_ in index:
                B[x, index[l_]] = b
    pairs = a[:, None] + a[None, :] + B + np.diag(np.full(len(chosen), np.inf))
    first = np.unravel_index(int(np.argmin(pairs)), pairs.shape)
    order = [int(first[0]), int(first[1])]
    marginal = a + B[:, order].sum(axis=1)
    left = np.ones(len(chosen), bool)
    left[order] = False
    while left.any():
        nxt = int(np.flatnonzero(left)[np.argmin(marginal[left])])
        order.append(nxt)
        left[nxt] = False
        marginal += B[:, nxt]
    return [chosen[x] for x in order]


def move_qubo(ctx: MoveContext, weights: list[np.ndarray]) -> tuple[Any, dict[str, Any]]:
    """The weight-space QUBO move (module docstring). Returns the weights (moved or not) and
    ``applied``, ``source`` (``"pair"``: the best single or pair move was kept, ``"sampler"``:
    a prefix of the sampler's answer ranked strictly above it, ``""``: nothing was kept),
    ``moves`` (weights changed), ``candidates`` (m), ``spins`` (the QUBO's variables, at most
    ``ctx.max_spins``), ``pairs`` (evaluated), ``loss_weight`` (eps; 0 for ``select="loss"``),
    ``model_gain`` (Delta of the applied d), ``error_gain`` and ``loss_gain`` (the true changes
    of E and L, or 0) and ``best_pair_gain`` (the exact Delta f of the best single or pair move,
    0 if none lowers f). ``source == "sampler"`` means the Ising solve found a move that no
    single or pair move matches."""
    return _move(ctx, weights, solve=True)


def move_pair(ctx: MoveContext, weights: list[np.ndarray]) -> tuple[Any, dict[str, Any]]:
    """The QUBO move without its Ising solve: the exact best single or pair move of f (module
    docstring; the same m + P(P - 1)/2 forward passes), kept if it ranks strictly better on the
    training set than w. No sampler is called (``ctx.sampler`` may be None). The control for the
    question the ``"qubo"`` move's ``source`` answers per move: run with ``"pair"`` in place of
    ``"qubo"``, a trainer loses exactly what the sampler found. The record has
    :func:`move_qubo`'s keys less ``spins``, ``loss_weight`` and ``model_gain``."""
    return _move(ctx, weights, solve=False)


def _move(ctx: MoveContext, weights: list[np.ndarray], solve: bool) -> tuple[Any, dict[str, Any]]:
    """:func:`move_qubo` (``solve``: the sampler minimises the move QUBO; the record has the
    QUBO's keys too) or :func:`move_pair` (the best single or pair move alone)."""
    moves = _adjacent_moves(weights, ctx.codes)
    base_err, base_loss = _errors_and_loss(ctx, weights)
    bqm, c, pairs, (best_pair, pair_moves) = _move_model(
        ctx, weights, moves, np.array([base_err, base_loss], dtype=float)
    )
    ss = None
    if solve:
        params = dict(ctx.sample_kwargs)
        if "seed" in getattr(ctx.sampler, "parameters", {}):
            params["seed"] = ctx.seed
        ss = ctx.sampler.sample(bqm, **params)
    n = ctx.X.shape[0]
    best_key = _rank(1.0 - base_err / n, base_loss / n, ctx.select)
    best = weights
    record: dict[str, Any] = {
        "applied": False,
        "source": "",
        "moves": 0,
        "candidates": len(moves),
        "pairs": pairs,
        "error_gain": 0,
        "loss_gain": 0.0,
        "best_pair_gain": best_pair,
    }
    if solve:
        loss_weight = float(c[1]) if ctx.select == "accuracy" else 0.0
        record.update(spins=bqm.num_variables, loss_weight=loss_weight, model_gain=0.0)
    tried: set[tuple[int, ...]] = set()
    for source, subset in _move_candidates(bqm, ss, pair_moves):
        if subset in tried:
            continue
        tried.add(subset)
        ws = _apply_moves(weights, [(1.0, *moves[k]) for k in subset])
        err, loss = _errors_and_loss(ctx, ws)
        key = _rank(1.0 - err / n, loss / n, ctx.select)
        if key < best_key:
            best_key, best = key, ws
            record.update(
                applied=True,
                source=source,
                moves=len(subset),
                error_gain=err - base_err,
                loss_gain=loss - base_loss,
            )
            if solve:
                record["model_gain"] = float(
                    bqm.energy({v: int(v in subset) for v in bqm.variables})
                )
    return best, record


def _move_candidates(
    bqm: dimod.BinaryQuadraticModel, ss: dimod.SampleSet | None, pair_moves: tuple[int, ...]
) -> Iterator[tuple[str, tuple[int, ...]]]:
    """The move's candidates, in the order they are tried: the best single or pair move (if it
    lowers f), then for each of the sampler's answers with Delta < 0 (none without ``ss``) the
    prefixes (1, 2, 4, ..., all) of its moves in the model's order (the trust region, module
    docstring)."""
    if pair_moves:
        yield "pair", tuple(sorted(pair_moves))
    if ss is None:
        return
    for sample, energy in ss.data(["sample", "energy"]):
        chosen = [k for k in bqm.variables if sample[k] == 1]
        if not chosen or energy >= 0:
            continue
        ordered = _model_order(bqm, chosen)
        for size in _prefix_sizes(len(ordered))[1:]:
            yield "sampler", tuple(sorted(ordered[:size]))


MOVES: dict[str, Callable[[MoveContext, list[np.ndarray]], tuple[Any, dict[str, Any]]]] = {
    "qubo": move_qubo,
    "pair": move_pair,
}
"""Registered extra moves, by name (``fit_qcbo(moves=[...])``)."""


SAMPLER_FREE_MOVES = ("pair",)
"""The registered moves that call no sampler: the ones the classical control
(:func:`~hybridqnn.train.qcbo.baselines.fit_greedy_moves`) can take."""


def apply_moves(
    names: Sequence[str], ctx: MoveContext, weights: list[np.ndarray]
) -> tuple[list[np.ndarray], dict[str, Any]]:
    """Each registered move of ``names`` in turn, on the previous one's weights: the final
    weights and the moves' records, each key prefixed with its move's name (``qubo_applied``)."""
    info: dict[str, Any] = {}
    for name in names:
        weights, rec = MOVES[name](ctx, weights)
        info.update({f"{name}_{k}": v for k, v in rec.items()})
    return weights, info
