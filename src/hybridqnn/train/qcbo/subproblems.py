"""One progressive-hedging subproblem: build, solve (QCGD, penalty or a CQM solver) and score
its candidate weights exactly (package docstring)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hybridqnn.train.qcbo.network import _Build
from hybridqnn.train.qcbo.resources import ising_spins, spins_by_layer


@dataclass(frozen=True, eq=False)
class _Solve:
    """How a subproblem is solved."""

    method: str
    sampler: Any
    sample_kwargs: Mapping[str, Any]
    qcgd_iterations: int
    beta0: float
    slack_bits: int
    penalty_scale: float
    repair: bool
    keep_incumbent: bool
    max_candidates: int
    limit: tuple[int, str] | None


def _weights_list(ws: Sequence[np.ndarray]) -> list[np.ndarray]:
    return [np.asarray(w, dtype=np.float64).copy() for w in ws]


def _prox_value(
    ws: Sequence[np.ndarray], lam: Sequence[np.ndarray], rho: float, w_bar: Sequence[np.ndarray]
) -> float:
    return float(
        sum(
            np.sum(lm * w) + 0.5 * rho * np.sum((w - wb) ** 2)
            for w, lm, wb in zip(ws, lam, w_bar, strict=True)
        )
    )


def _solve_subproblem(
    build: _Build,
    how: _Solve,
    X: np.ndarray,
    y: np.ndarray,
    ids: Sequence[int],
    lam: list[np.ndarray],
    rho: float,
    w_bar: list[np.ndarray],
    incumbent: list[np.ndarray] | None,
    seed: int,
    count: bool,
) -> dict[str, Any]:
    """Build, solve and score one PH subproblem (runs in a worker)."""
    t0 = time.perf_counter()
    base = build.model(X, y, ids)
    sub = base.with_weight_terms(lam, rho, w_bar)
    spins = ising_spins(sub, how.slack_bits) if (count or how.limit is not None) else None
    if how.limit is not None and spins is not None and spins > how.limit[0]:
        from hybridqnn.solvers.penalty import penalty_parts

        per_layer = spins_by_layer(penalty_parts(sub.cqm, slack_bits=how.slack_bits).variables)
        layer = max(per_layer, key=lambda li: per_layer[li])
        n_in, n_out = build.sizes[layer - 1], build.sizes[layer]
        raise ValueError(
            f"the subproblem of samples {list(ids)[:4]} has {spins} spins, more than the sampler's "
            f"declared limit {how.limit[0]} ({how.limit[1]}); layer {layer} ({n_in} -> {n_out}) "
            f"alone puts {per_layer[layer]} spins there: use a narrower layer or a smaller batch_size"
        )
    build_s = time.perf_counter() - t0
    repair = sub.complete if how.repair else None
    oracle_calls = 0
    t1 = time.perf_counter()
    kwargs = dict(how.sample_kwargs)
    if how.method == "qcgd":
        from hybridqnn.solvers.qcgd import qcgd

        res = qcgd(
            sub.cqm,
            how.sampler,
            iterations=how.qcgd_iterations,
            beta0=how.beta0,
            slack_bits=how.slack_bits,
            sample_kwargs=kwargs,
            seed=seed,
            repair=repair,
        )
        ss = res.sampleset
        oracle_calls = int(ss.info["qcgd"]["oracle_calls"])
        oracle_s = float(ss.info["qcgd"]["oracle_seconds"])
    elif how.method == "penalty":
        from hybridqnn.solvers.penalty import PenaltyCQMSampler

        solver = PenaltyCQMSampler(
            how.sampler, scale=how.penalty_scale, slack_bits=how.slack_bits, repair=repair
        )
        if "seed" in how.sampler.parameters:
            kwargs["seed"] = seed
        ss = solver.sample_cqm(sub.cqm, **kwargs)
        oracle_calls = int(ss.info["penalty"]["rounds"])
        oracle_s = time.perf_counter() - t1
    else:
        ss = how.sampler.sample_cqm(sub.cqm, **kwargs)
        oracle_calls = 1
        oracle_s = time.perf_counter() - t1
    solve_s = time.perf_counter() - t1
    # candidates: decoded weights of the returned rows (lowest energy first), scored exactly
    order = np.argsort(np.asarray(ss.record.energy, dtype=np.float64), kind="stable")
    variables = list(ss.variables)
    seen: set[bytes] = set()
    candidates: list[tuple[str, list[np.ndarray]]] = []
    for idx in order:
        sample = dict(zip(variables, ss.record.sample[idx], strict=True))
        ws = sub.decode_weights(sample)
        key = b"".join(w.tobytes() for w in ws)
        if key in seen:
            continue
        seen.add(key)
        candidates.append(("oracle", ws))
        if len(candidates) >= how.max_candidates:
            break
    if how.keep_incumbent and incumbent is not None:
        candidates.append(("incumbent", _weights_list(incumbent)))
    best: tuple[float, str, list[np.ndarray]] | None = None
    for source, ws in candidates:
        value = base.loss_of_weights(ws) + _prox_value(ws, lam, rho, w_bar)
        if best is None or value < best[0] - 1e-12:
            best = (value, source, ws)
    assert best is not None
    return {
        "weights": best[2],
        "objective": best[0],
        "source": best[1],
        "oracle_calls": oracle_calls,
        "oracle_seconds": oracle_s,
        "solve_seconds": solve_s,
        "build_seconds": build_s,
        "seconds": time.perf_counter() - t0,
        "spins": spins,
        "cqm_variables": len(sub.cqm.variables),
    }
