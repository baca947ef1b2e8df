"""Moves on the consensus network: the subproblems' votes and the line search over them
(package docstring, "Consensus")."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from hybridqnn.problems.qcbo import (
    WeightCode,
)

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
