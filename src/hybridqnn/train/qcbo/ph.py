"""Quantum Progressive Hedging: :func:`fit_qcbo` (package docstring)."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from functools import partial
from typing import Any

import dimod
import numpy as np

from hybridqnn._checks import check_bool, check_choice, check_float, check_int
from hybridqnn.problems.qcbo import (
    WeightCode,
)
from hybridqnn.train.qcbo.moves import _line_search, _votes
from hybridqnn.train.qcbo.network import (
    _best_qcbo_start,
    _bit_scales,
    _Build,
    _history_rank,
    _network_setup,
    _round_to_levels,
    _start,
    _train_score,
)
from hybridqnn.train.qcbo.resources import declared_limit, spin_formula
from hybridqnn.train.qcbo.results import QATResult, QCBOResult
from hybridqnn.train.qcbo.subproblems import _Solve, _solve_subproblem, _weights_list

logger = logging.getLogger(__name__)

METHODS = ("qcgd", "penalty", "cqm")


def fit_qcbo(
    X: np.ndarray,
    y: np.ndarray,
    sizes: Sequence[int],
    weights: WeightCode | Sequence[WeightCode] | None = None,
    *,
    sampler: dimod.Sampler,
    method: str = "qcgd",
    batch_size: int = 1,
    activations: str = "relu",
    segments: int | Sequence[int] = 2,
    activation_bits: int | Sequence[int] = 5,
    loss: str = "logistic",
    loss_segments: int = 4,
    bias: bool = True,
    input_low: np.ndarray | None = None,
    input_high: np.ndarray | None = None,
    ph_iterations: int = 5,
    rho: float = 0.3,
    rho_growth: float = 1.0,
    bit_scale: bool = True,
    scale_target: float = 1.0,
    qcgd_iterations: int = 10,
    beta0: float = 1.0,
    slack_bits: int = 3,
    penalty_scale: float = 1.0,
    sample_kwargs: Mapping[str, Any] | None = None,
    repair: bool = True,
    keep_incumbent: bool = True,
    max_candidates: int = 8,
    executor: str | Executor | None = None,
    max_workers: int | None = None,
    consensus: str = "line-search",
    select: str = "accuracy",
    count_spins: bool = True,
    seed: int | None = None,
    callback: Callable[[dict[str, Any]], None] | None = None,
    restarts: int = 1,
    warm_start: QCBOResult | QATResult | None = None,
) -> QCBOResult:
    """Train a quantized spline network by decomposed QCBO + progressive hedging (module docstring).

    Args:
        X: Inputs (n, n_0), finite.
        y: Labels: +-1 or 0/1 for one output, class indices for several (one-vs-rest margins).
        sizes: (n_0, ..., n_L).
        weights: one :class:`WeightCode` for all layers or one per layer (default binary); its
            ``scale`` is the starting scale when ``bit_scale`` is off (the bit-scale step sets
            it otherwise).
        sampler: the oracle (``qcgd``, ``penalty``: any dimod sampler) or a CQM solver
            (``cqm``: anything with ``sample_cqm``, e.g. ``MILPSolver``).
        method: ``qcgd``, ``penalty`` or ``cqm``.
        batch_size: samples per subproblem (1: the paper's sample-wise decomposition; n: the
            monolithic model, solved once per PH iteration with rho acting as a trust region).
        activations, segments, activation_bits, loss, loss_segments, bias: the network and its
            QCBO (:func:`hybridqnn.problems.qcbo.build_qcbo`).
        input_low, input_high: the FIP input box (default: the data's per-feature min/max).
        ph_iterations: T >= 1.
        rho, rho_growth: rho_0 > 0 and the factor >= 1 per iteration.
        bit_scale: run the closed-form bit-scale step (module docstring): the hidden layers'
            normalisation at a random start, the output scale after every PH iteration.
        scale_target: tau > 0, the output margin target of the bit-scale step.
        qcgd_iterations, beta0: QCGD's oracle calls per subproblem and penalty scale.
        slack_bits: slack bits per real inequality (penalty reduction).
        penalty_scale: initial penalty multiple for ``penalty``.
        sample_kwargs: passed to every oracle call (``num_reads``, ``num_sweeps``, ...; for
            ``cqm``, to ``sample_cqm``, e.g. ``time_limit``).
        repair, keep_incumbent, max_candidates: how a subproblem's answer is chosen (module
            docstring).
        executor: an executor spec (``thread``, ``process``, ``serial``, ``dask://HOST:PORT``)
            or an ``Executor``.
        max_workers: local pool size (default: the machine's CPUs).
        consensus: ``mean`` (standard PH) or ``line-search`` (module docstring).
        select: which consensus network is returned: the highest training ``accuracy`` (ties:
            lower spline loss) or the lowest training spline ``loss``.
        count_spins: count every subproblem's spins at the first iteration (costs one penalty
            reduction per subproblem).
        seed: master seed (initial weights, subproblem order, oracle seeds).
        callback: called with each history record.
        restarts: independent runs from random starts (child seeds of ``seed``); the run whose
            returned network ranks best on the training set (``select``) is returned, with
            ``timing`` summed over the runs. QPH, like every local search over discrete
            weights, stops at a start-dependent network: on 300 T-shirt/trouser samples (1-bit
            16-4-1, 5 iterations) four seeds gave test accuracies 0.81-0.91, and the best
            training score picked 0.906 against 0.910 for QAT, which the experiments also
            give 3 starts (``qat_restarts``). The experiments' ``ph_restarts`` sets this.
        warm_start: start from this trained network instead of random levels: a quantized
            :class:`QATResult` (best :func:`fit_qat` with ``activation_bits``, QAT on this same
            quantized spline network: classical pretraining, then QPH) or a
            :class:`QCBOResult` (to continue). Its codes, scales included, replace
            ``weights``'; their kinds must match. The end point of :func:`fit_greedy_moves` is
            a poor start: no single weight move improves it there, and QPH's candidate moves
            did not either (T-shirt/trouser, 300 samples, 1-bit: 0 moves in 6 iterations).
            From the QAT network QPH moved 0-5 weights per run in 5 iterations (Fashion-MNIST,
            1,000 samples, 8 two-class settings) and changed test accuracy by -0.15 to +1.5
            points; it never lowers the start's training accuracy.
            With ``restarts`` > 1 the runs differ only in subproblem order and oracle seeds.

    Raises:
        ValueError: bad sizes, labels or settings; non-finite X; an empty input interval or
            M < 1 (from FIP); a subproblem with more spins than the sampler's declared limit
            (:func:`declared_limit`).
        TypeError: a sampler without ``sample`` (or ``sample_cqm`` for ``cqm``), bad codes.
    """
    if check_int("restarts", restarts, 1) > 1:
        return _best_qcbo_start(fit_qcbo, dict(locals()), restarts, seed, select)
    X, sizes, codes, arch, y_model, y_pm = _network_setup(
        X,
        y,
        sizes,
        weights,
        activations,
        segments,
        activation_bits,
        loss,
        loss_segments,
        bias,
        input_low,
        input_high,
    )
    L = len(sizes) - 1
    segs, kbits, box = arch.segments, arch.activation_bits, arch.box
    bias, loss_segments = arch.bias, arch.loss_segments  # validated
    method = check_choice("method", method, METHODS)
    if method == "cqm":
        if not hasattr(sampler, "sample_cqm"):
            raise TypeError(
                f"'sampler' must have sample_cqm for method='cqm', got {type(sampler).__name__}"
            )
    elif not (hasattr(sampler, "sample") and hasattr(sampler, "parameters")):
        raise TypeError(f"'sampler' must be a dimod.Sampler, got {type(sampler).__name__}")
    n = X.shape[0]
    batch_size = check_int("batch_size", batch_size, 1)
    if batch_size > n:
        raise ValueError(
            f"'batch_size' must be an integer in [1, {n}] (at most the training set size), "
            f"got {batch_size}"
        )
    ph_iterations = check_int("ph_iterations", ph_iterations, 1)
    rho = check_float("rho", rho, 0.0, low_open=True)
    rho_growth = check_float("rho_growth", rho_growth, 1.0)
    bit_scale = check_bool("bit_scale", bit_scale)
    scale_target = check_float("scale_target", scale_target, 0.0, low_open=True)
    qcgd_iterations = check_int("qcgd_iterations", qcgd_iterations, 1)
    beta0 = check_float("beta0", beta0, 0.0, low_open=True)
    slack_bits = check_int("slack_bits", slack_bits, 1, 24)
    penalty_scale = check_float("penalty_scale", penalty_scale, 0.0, low_open=True)
    repair = check_bool("repair", repair)
    keep_incumbent = check_bool("keep_incumbent", keep_incumbent)
    max_candidates = check_int("max_candidates", max_candidates, 1)
    count = check_bool("count_spins", count_spins)
    consensus = check_choice("consensus", consensus, ("mean", "line-search"))
    select = check_choice("select", select, ("accuracy", "loss"))
    kwargs = dict(sample_kwargs or {})
    if "seed" in kwargs:
        raise ValueError("'sample_kwargs' must not contain 'seed'; pass fit_qcbo(seed=...)")
    params = getattr(sampler, "parameters", {}) or {}
    unknown = sorted(set(kwargs) - set(params))
    if unknown:
        raise ValueError(
            f"'sample_kwargs' has keyword(s) the sampler does not take: {', '.join(map(repr, unknown))}"
        )
    seed = None if seed is None else check_int("seed", seed, 0)
    if callback is not None and not callable(callback):
        raise TypeError(f"'callback' must be callable or None, got {type(callback).__name__}")
    limit = None if method == "cqm" else declared_limit(sampler)
    how = _Solve(
        method,
        sampler,
        kwargs,
        qcgd_iterations,
        beta0,
        slack_bits,
        penalty_scale,
        repair,
        keep_incumbent,
        max_candidates,
        limit,
    )

    start = time.perf_counter()
    seq = np.random.SeedSequence(seed)
    init_seq, order_seq, solve_seq = seq.spawn(3)
    rng = np.random.default_rng(init_seq)
    perm = np.random.default_rng(order_seq).permutation(n)
    batches = [np.sort(perm[i : i + batch_size]) for i in range(0, n, batch_size)]
    sizes_b = np.array([len(b) for b in batches], dtype=np.float64)
    shapes = [(sizes[li], sizes[li - 1] + int(bias)) for li in range(1, L + 1)]
    codes, w_bar, initial = _start(
        warm_start, rng, codes, shapes, X, y_model, y_pm, arch, bit_scale, scale_target
    )
    lam = [[np.zeros(s) for s in shapes] for _ in batches]
    # the starting consensus is every subproblem's first incumbent: an oracle answer is taken
    # only when it scores better than staying at w_bar (with keep_incumbent)
    inc: list[list[np.ndarray] | None] = [_weights_list(w_bar) for _ in batches]
    history: list[dict[str, Any]] = []
    best: tuple[tuple[float, float], int, list[np.ndarray], list[WeightCode]] | None = None
    spins: dict[str, Any] = {}
    total_solve = total_oracle = 0.0
    total_calls = 0
    wall_solve = 0.0
    own_pool = not isinstance(executor, Executor)
    from hybridqnn.parallel import get_executor

    ctx = get_executor(executor, max_workers) if own_pool else None
    pool = ctx.__enter__() if ctx is not None else executor
    try:
        for t in range(ph_iterations):
            t_iter = time.perf_counter()
            rho_t = rho * rho_growth**t
            fip = arch.fip(codes)
            build = _Build(sizes, tuple(codes), fip, kbits, loss, loss_segments, "variables")
            seeds = [int(s.generate_state(1)[0]) % 2**31 for s in solve_seq.spawn(len(batches))]
            do_count = count and t == 0
            t_solve = time.perf_counter()
            futures = [
                pool.submit(
                    _solve_subproblem,
                    build,
                    how,
                    X[b],
                    y_model[b],
                    [int(i) for i in b],
                    lam[k],
                    rho_t,
                    w_bar,
                    inc[k],
                    seeds[k],
                    do_count,
                )
                for k, b in enumerate(batches)
            ]
            results = [f.result() for f in futures]
            wall_solve += time.perf_counter() - t_solve
            ws = [r["weights"] for r in results]
            w_new = [
                sum(sizes_b[k] * ws[k][li] for k in range(len(batches))) / n for li in range(L)
            ]
            for k in range(len(batches)):
                for li in range(L):
                    lam[k][li] = lam[k][li] + rho_t * (ws[k][li] - w_new[li])
            residual = float(
                np.mean(
                    [
                        math.sqrt(sum(np.sum((ws[k][li] - w_new[li]) ** 2) for li in range(L)))
                        for k in range(len(batches))
                    ]
                )
            )
            moved = None
            if consensus == "line-search":
                center = _round_to_levels(w_bar, codes)
                score = partial(_train_score, arch.network(codes), X, y_model, y_pm, select)
                moved, q = _line_search(center, _votes(center, w_new, codes), score)
                w_new = [w.copy() for w in q]
            else:
                q = _round_to_levels(w_new, codes)
            disagreement = float(
                np.mean(
                    [
                        sum(np.count_nonzero(ws[k][li] != q[li]) for li in range(L))
                        / sum(w.size for w in q)
                        for k in range(len(batches))
                    ]
                )
            )
            inc = [_weights_list(w) for w in ws]
            w_bar = w_new
            if do_count:
                sub_spins = [r["spins"] for r in results]
                wcount = sum(
                    int(np.prod(s)) * c.num_bits for s, c in zip(shapes, codes, strict=True)
                )
                cqm_vars = [r["cqm_variables"] for r in results]
                mono = wcount + sum(s - wcount for s in sub_spins)
                spins = {
                    "weight_spins": wcount,
                    "monolithic_spins": mono,
                    "monolithic_cqm_variables": wcount + sum(c - wcount for c in cqm_vars),
                    "subproblem_spins_max": max(sub_spins),
                    "subproblem_spins_mean": float(np.mean(sub_spins)),
                    "subproblem_cqm_variables_max": max(cqm_vars),
                    "num_subproblems": len(batches),
                    "spin_ratio": mono / max(sub_spins),
                }
            solve_s = sum(r["seconds"] for r in results)
            oracle_s = sum(r["oracle_seconds"] for r in results)
            calls = sum(r["oracle_calls"] for r in results)
            total_solve += solve_s
            total_oracle += oracle_s
            total_calls += calls
            if bit_scale:
                units = [qq / c.scale for qq, c in zip(q, codes, strict=True)]
                new_codes = _bit_scales(units, codes, X, y_model, arch, scale_target, hidden=False)
                ratio = [nc.scale / c.scale for nc, c in zip(new_codes, codes, strict=True)]
                w_bar = [w * r for w, r in zip(w_bar, ratio, strict=True)]
                q = [w * r for w, r in zip(q, ratio, strict=True)]
                inc = [
                    [w * r for w, r in zip(ws_k, ratio, strict=True)]
                    for ws_k in inc
                    if ws_k is not None
                ]
                lam = [[lm / r for lm, r in zip(lam_k, ratio, strict=True)] for lam_k in lam]
                codes = new_codes
            net = arch.network(codes)
            train_loss = net.loss_value(q, X, y_model, ties="nearest") / n
            pred = net.predict(q, X)
            acc = float(
                np.mean(pred == (y_model if sizes[-1] > 1 else np.where(y_model > 0, 1, -1)))
            )
            record = {
                "iteration": t,
                "rho": rho_t,
                "train_loss": train_loss,
                "train_accuracy": acc,
                "residual": residual,
                "disagreement": disagreement,
                "scales": [c.scale for c in codes],
                "seconds": time.perf_counter() - t_iter,
                "solve_seconds": solve_s,
                "oracle_calls": calls,
                "oracle_seconds": oracle_s,
                "incumbent_kept": sum(r["source"] == "incumbent" for r in results),
                "moved_weights": moved,
                "subproblem_objective": float(np.mean([r["objective"] for r in results])),
            }
            history.append(record)
            logger.info("QPH iteration %d: loss %.4f, accuracy %.4f", t, train_loss, acc)
            if callback is not None:
                callback(dict(record))
            score = _history_rank(record, select)
            if best is None or score < best[0]:
                best = (score, t, [w.copy() for w in q], list(codes))
    finally:
        if ctx is not None:
            ctx.__exit__(None, None, None)
    assert best is not None
    _, best_t, best_w, best_codes = best
    net = arch.network(best_codes)
    formula = spin_formula(
        sizes,
        best_codes,
        segments=segs,
        activation_bits=kbits,
        loss_segments=loss_segments,
        bias=bias,
        num_samples=n,
        slack_bits=slack_bits,
    )
    spins.update({f"formula_{k}": v for k, v in formula.items()})
    timing = {
        "total_s": time.perf_counter() - start,
        "solve_s": total_solve,
        "wall_solve_s": wall_solve,
        "oracle_s": total_oracle,
        "oracle_calls": float(total_calls),
    }
    return QCBOResult(best_w, best_codes, net, history, spins, timing, best_t, seed, box, initial)
