"""One progressive-hedging subproblem: build, solve with any CQM solver (QCGD, the penalty
method, MILP, ...; through :func:`hybridqnn.solvers.sampling.sample_cqm`, which names none) and
score its candidate weights exactly (package docstring)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hybridqnn.problems.penalty import penalty_parts
from hybridqnn.problems.qcbo import WeightBlock
from hybridqnn.solvers.sampling import oracle_calls, sample_cqm
from hybridqnn.train.qcbo.network import _Build
from hybridqnn.train.qcbo.resources import ising_spins, spins_by_layer


@dataclass(frozen=True, eq=False)
class _Solve:
    """How a subproblem is solved: ``solver`` is any CQM solver (``sample_cqm``), called with
    ``sample_kwargs`` and the hints seed, warm start, objective range and repair map; ``sampler``
    is the BQM sampler under it (the weight-space moves use it). ``limit`` is the sampler's
    declared size (a subproblem over it is an error); ``max_spins`` the spin budget of
    :func:`~hybridqnn.train.qcbo.ph.fit_qcbo` (a subproblem over it is not solved)."""

    solver: Any
    sampler: Any
    sample_kwargs: Mapping[str, Any]
    slack_bits: int
    repair: bool
    keep_incumbent: bool
    max_candidates: int
    limit: tuple[int, str] | None
    max_spins: int | None = None

    @property
    def spin_cap(self) -> int | None:
        """The most spins one sampler call may take: the budget if set, else the sampler's
        declared size (None: no cap)."""
        if self.max_spins is not None:
            return self.max_spins
        return None if self.limit is None else self.limit[0]


def _weights_list(ws: Sequence[np.ndarray]) -> list[np.ndarray]:
    return [np.asarray(w, dtype=np.float64).copy() for w in ws]


def _prox_value(
    ws: Sequence[np.ndarray],
    lam: Sequence[np.ndarray],
    rho: Sequence[float],
    w_bar: Sequence[np.ndarray],
) -> float:
    """lambda^T w + sum_l (rho_l / 2) ||w^l - w_bar^l||^2."""
    return float(
        sum(
            np.sum(lm * w) + 0.5 * r * np.sum((w - wb) ** 2)
            for w, lm, r, wb in zip(ws, lam, rho, w_bar, strict=True)
        )
    )


def _solve_subproblem(
    build: _Build,
    how: _Solve,
    X: np.ndarray,
    y: np.ndarray,
    ids: Sequence[int],
    lam: list[np.ndarray],
    rho: Sequence[float],
    w_bar: list[np.ndarray],
    incumbent: list[np.ndarray] | None,
    seed: int,
    count: bool,
    block: WeightBlock | None = None,
) -> dict[str, Any]:
    """Build, solve and score one PH subproblem (runs in a worker): over ``block`` with the
    other weights at the centre ``w_bar`` (all weights free with ``block=None``). A block
    subproblem over ``how.max_spins`` is not solved: the result is ``{"over_budget": spins,
    "ids": ids}``."""
    t0 = time.perf_counter()
    base = build.model(X, y, ids, block, w_bar)
    sub = base.with_weight_terms(lam, list(rho), w_bar)
    checked = how.limit is not None or how.max_spins is not None
    spins = ising_spins(sub, how.slack_bits) if (count or checked) else None
    if how.max_spins is not None and spins is not None and spins > how.max_spins:
        return {"over_budget": spins, "ids": [int(i) for i in ids]}
    if how.limit is not None and spins is not None and spins > how.limit[0]:
        per_layer = spins_by_layer(penalty_parts(sub.cqm, slack_bits=how.slack_bits).variables)
        layer = max(per_layer, key=lambda li: per_layer[li])
        n_in, n_out = build.sizes[layer - 1], build.sizes[layer]
        raise ValueError(
            f"the subproblem of samples {list(ids)[:4]} has {spins} spins, more than the sampler's "
            f"declared limit {how.limit[0]} ({how.limit[1]}); layer {layer} ({n_in} -> {n_out}) "
            f"alone puts {per_layer[layer]} spins there: use a narrower layer, a smaller batch_size or fit_qcbo(max_spins=...)"
        )
    build_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    ss, oracle_calls, oracle_s = _run_solver(sub, how, seed, incumbent)
    solve_s = time.perf_counter() - t1
    best, improved = _best_candidate(base, sub, how, ss, incumbent, lam, rho, w_bar)
    return {
        "weights": best[2],
        "objective": best[0],
        "source": best[1],
        "improved": improved,
        "oracle_calls": oracle_calls,
        "oracle_seconds": oracle_s,
        "solve_seconds": solve_s,
        "build_seconds": build_s,
        "seconds": time.perf_counter() - t0,
        "spins": spins,
        "cqm_variables": len(sub.cqm.variables),
    }


def _run_solver(
    sub: Any, how: _Solve, seed: int, incumbent: list[np.ndarray] | None
) -> tuple[Any, int, float]:
    """The subproblem's sample set, oracle calls and oracle seconds (the solver's
    ``timing.sampling_ns``, or the whole call). A solver that takes them gets the model's FIP
    objective range, the completed incumbent as its warm start (QCGD) and, with ``repair``, the
    model's completion map."""
    t1 = time.perf_counter()
    ss = sample_cqm(
        how.solver,
        sub.cqm,
        sample_kwargs=how.sample_kwargs,
        seed=seed,
        x0=None if incumbent is None else sub.complete(incumbent),
        objective_range=sub.objective_range or None,
        repair=sub.complete if how.repair else None,
    )
    wall = time.perf_counter() - t1
    sampling_ns = (ss.info.get("timing") or {}).get("sampling_ns")
    return ss, oracle_calls(ss), wall if sampling_ns is None else sampling_ns / 1e9


def _best_candidate(
    base: Any,
    sub: Any,
    how: _Solve,
    ss: Any,
    incumbent: list[np.ndarray] | None,
    lam: list[np.ndarray],
    rho: Sequence[float],
    w_bar: list[np.ndarray],
) -> tuple[tuple[float, str, list[np.ndarray]], bool]:
    """The best-scoring candidate (decoded weights of the returned rows, lowest energy first,
    up to ``max_candidates``; plus the incumbent with ``keep_incumbent``), scored exactly by
    f_b(w) + lambda^T w + sum_l (rho_l/2)||w^l - w_bar^l||^2, and whether the best oracle
    candidate beat the centre w_bar, the consensus network the subproblem was handed (an
    improving solve: the oracle proposes a change to the consensus that the subproblem
    prefers). The reference is the centre, not the incumbent (the subproblem's own last answer,
    its warm start): after a consensus move the incumbent is the previous consensus, which any
    solve that merely returns the current one beats."""
    order = np.argsort(np.asarray(ss.record.energy, dtype=np.float64), kind="stable")
    variables = list(ss.variables)
    seen: set[bytes] = set()
    candidates: list[tuple[str, list[np.ndarray]]] = []
    for idx in order:
        ws = sub.decode_weights(dict(zip(variables, ss.record.sample[idx], strict=True)))
        key = b"".join(w.tobytes() for w in ws)
        if key in seen:
            continue
        seen.add(key)
        candidates.append(("oracle", ws))
        if len(candidates) >= how.max_candidates:
            break

    def value(ws: list[np.ndarray]) -> float:
        return base.loss_of_weights(ws) + _prox_value(ws, lam, rho, w_bar)

    scored = [(value(ws), source, ws) for source, ws in candidates]
    best_oracle = min((v for v, _, _ in scored), default=np.inf)
    if how.keep_incumbent and incumbent is not None:
        inc = _weights_list(incumbent)
        scored.append((value(inc), "incumbent", inc))
    best = scored[0]
    for cand in scored[1:]:
        if cand[0] < best[0] - 1e-12:
            best = cand
    return best, bool(best_oracle < value(_weights_list(w_bar)) - 1e-12)
