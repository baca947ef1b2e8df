"""Quantum Progressive Hedging: :func:`fit_qcbo` as a PH state and one function per step.

One PH iteration (:func:`ph_iteration`, package docstring "Progressive hedging"):

1. :func:`_solve_all`: every subproblem b solves w_b = argmin f_b(w) + lambda_b^T w +
   sum_l (rho_l / 2) ||w^l - c^l||^2 around the centre c (in a pool);
2. :func:`_consensus`: the sample-weighted mean of the w_b, then the consensus rule (``mean``:
   nearest levels; ``line-search``: the votes' line search) gives the network q;
3. the registered ``moves`` (:data:`~hybridqnn.train.qcbo.moves.MOVES`) may improve q further;
4. :func:`_hedge`: lambda_b += rho_l (w_b - q), q the next centre (so the multipliers track the
   centre the subproblems are pulled to; before issue 18 they tracked the mean while the
   centre was the line-search network);
5. :func:`_rescale`: the bit-scale step; w, the incumbents and the centre scale with s_new /
   s_old, lambda with s_old / s_new, and rho_l with (s_old / s_new)^2, so both the multiplier
   and the proximal term cost the same per level step whatever the scale (rho_l(t) =
   rho rho_growth^t (s_l(0) / s_l(t))^2);
6. :func:`_record`: history, best network so far.
"""

from __future__ import annotations

import contextlib
import logging
import math
import pickle
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import dimod
import numpy as np

from hybridqnn._checks import check_bool, check_choice, check_float, check_int
from hybridqnn.problems.qcbo import WeightBlock, WeightCode
from hybridqnn.solvers.registry import cqm_method_names, get_cqm_solver
from hybridqnn.train.progress import Progress, check_progress
from hybridqnn.train.qcbo.moves import MOVES, MoveContext, _line_search, _votes, apply_moves
from hybridqnn.train.qcbo.network import (
    _Architecture,
    _best_qcbo_start,
    _bit_scales,
    _Build,
    _history_rank,
    _network_setup_from,
    _round_to_levels,
    _start,
    _train_score,
)
from hybridqnn.train.qcbo.resources import (
    declared_limit,
    plan_blocks,
    row_over_budget,
    spin_formula,
    split_block,
)
from hybridqnn.train.qcbo.results import QATResult, QCBOResult
from hybridqnn.train.qcbo.subproblems import _Solve, _solve_subproblem, _weights_list

logger = logging.getLogger(__name__)

METHODS = cqm_method_names()


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
    moves: Sequence[str] = (),
    input_unit: float | None = None,
    max_spins: int | None = None,
    progress: Progress | None = None,
) -> QCBOResult:
    """Train a quantized spline network by decomposed QCBO + progressive hedging (package
    docstring: the algorithm, the subproblem solvers, starts and measured notes).

    Args:
        X: Inputs (n, n_0), finite.
        y: Labels (n,): +-1 or 0/1 for one output, class indices for several (one-vs-rest).
        sizes: (n_0, ..., n_L).
        weights: one :class:`WeightCode` or one per layer (default binary).
        sampler: QCGD's oracle, the penalty method's sampler, or (``cqm``) a CQM solver.
        method: ``qcgd``, ``penalty`` or ``cqm`` (``sampler`` solves the CQM itself).
        batch_size: samples per subproblem (1: the paper's sample-wise decomposition).
        activations: hidden activation(s), as for :func:`~hybridqnn.problems.qcbo.build_qcbo`.
        segments: M per hidden layer (>= 1), as for ``build_qcbo``.
        activation_bits: K per hidden layer, as for ``build_qcbo``.
        loss: the margin loss, as for ``build_qcbo``.
        loss_segments: segments of the loss spline (>= 1).
        bias: a bias weight per neuron (input fixed to 1).
        input_low: the FIP input box's lower corner (default: the data's per-feature min).
        input_high: the FIP input box's upper corner (default: the data's per-feature max).
        ph_iterations: T >= 1, the progressive-hedging iterations.
        rho: rho_0 > 0, the prox weight of the first iteration.
        rho_growth: rho's factor per iteration, >= 1 (rho_t = rho * rho_growth^t).
        bit_scale: take the closed-form bit-scale step.
        scale_target: the output margin target of the bit-scale step.
        qcgd_iterations: QCGD's oracle calls per subproblem.
        beta0: QCGD's penalty scale beta_0.
        slack_bits: slack bits per real inequality.
        penalty_scale: ``penalty``'s initial multiple.
        sample_kwargs: passed to every solve (``num_reads``, ...; for ``cqm``, ``time_limit``).
        repair: the solvers also score each returned row completed to a feasible point.
        keep_incumbent: the subproblem's previous weights are a candidate answer too.
        max_candidates: the most distinct returned rows (lowest energy first) scored per solve.
        executor: ``thread``, ``process``, ``serial``, ``dask://HOST:PORT``, an ``Executor``, or None (``_default_executor``).
        max_workers: the local pool size.
        consensus: ``mean`` (standard PH) or ``line-search``.
        select: return the consensus with the best training ``accuracy`` or spline ``loss``.
        count_spins: count every subproblem's spins at the first iteration.
        seed: master seed (initial weights, subproblem order, oracle seeds).
        callback: called with each history record.
        restarts: independent random starts (child seeds); the best by ``select``.
        warm_start: a :class:`QATResult` or :class:`QCBOResult` on this network to start from.
        moves: extra moves on the consensus by name (:data:`~hybridqnn.train.qcbo.moves.MOVES`).
        input_unit: q, a power of two: the integer-exact QCBO; None: real coefficients.
        max_spins: the spin budget per solve (package docstring, "Blocks"); None: every weight
            in every solve (the paper's scheme).
        progress: called as ``progress(t, ph_iterations)`` after each PH iteration.

    Raises:
        ValueError: bad data or settings; a subproblem over the sampler's declared limit or
            (with ``max_spins``) a single row over the budget, naming the layer and its spins.
        TypeError: a sampler without ``sample`` (or ``sample_cqm`` for ``cqm``), bad codes.
    """
    if check_int("restarts", restarts, 1) > 1:
        return _best_qcbo_start(fit_qcbo, dict(locals()), restarts, seed, select)
    args = {k: v for k, v in locals().items() if k not in _RUN_ARGS}
    return _run(_ph_setup(**args), warm_start, executor, max_workers, callback, progress)


_RUN_ARGS = ("restarts", "warm_start", "executor", "max_workers", "callback", "progress")


def _run(
    setup: PHSetup,
    warm_start: Any,
    executor: str | Executor | None,
    max_workers: int | None,
    callback: Callable[[dict[str, Any]], None] | None,
    progress: Progress | None,
) -> QCBOResult:
    """:func:`fit_qcbo`'s PH loop: start, iterations (with callback and progress), result."""
    if callback is not None and not callable(callback):
        raise TypeError(f"'callback' must be callable or None, got {type(callback).__name__}")
    progress = check_progress(progress)
    state = _ph_start(setup, warm_start)
    with _pool(executor, max_workers, setup.how) as pool:
        for t in range(setup.iterations):
            ph_iteration(setup, state, t, pool)
            if callback is not None:
                callback(dict(state.history[-1]))
            if progress is not None:
                progress(t + 1, setup.iterations)
    return _ph_result(setup, state)


@dataclass(frozen=True, eq=False)
class PHSetup:
    """What stays fixed during a QPH run (validated settings, data, batches, solver)."""

    X: np.ndarray
    y_model: np.ndarray
    y_pm: np.ndarray
    sizes: tuple[int, ...]
    codes: list[WeightCode]
    arch: _Architecture
    batches: list[np.ndarray]
    shapes: list[tuple[int, int]]
    how: _Solve
    iterations: int
    rho: float
    rho_growth: float
    bit_scale: bool
    scale_target: float
    consensus: str
    select: str
    count: bool
    slack_bits: int
    moves: tuple[str, ...]
    max_spins: int | None
    seed: int | None
    seeds: tuple[np.random.SeedSequence, ...]
    start: float

    @property
    def n(self) -> int:
        return int(self.X.shape[0])


@dataclass(eq=False)
class PHState:
    """What changes between QPH iterations.

    Attributes:
        codes: the current weight codes (scales).
        center: the prox centre c (levels of ``codes``), which is also the consensus network.
        lam: per subproblem, per layer, the multipliers lambda_b.
        inc: per subproblem, its last answer w_b (its incumbent).
        rho_scale: per layer, (s_l(0) / s_l(t))^2 (rho follows the weight scale).
        blocks: the weight blocks of a spin budget (:func:`plan_blocks`; [None]: one block of
            every weight), None without a budget.
        history, best, spins, solve_spins, totals, initial: what the result reports
            (``solve_spins``: the spins of every counted solve).
    """

    codes: list[WeightCode]
    center: list[np.ndarray]
    lam: list[list[np.ndarray]]
    inc: list[list[np.ndarray]]
    rho_scale: list[float]
    initial: dict[str, float]
    blocks: list[WeightBlock | None] | None = None
    solve_spins: list[int] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    best: tuple[tuple[float, float], int, list[np.ndarray], list[WeightCode]] | None = None
    spins: dict[str, Any] = field(default_factory=dict)
    totals: dict[str, float] = field(
        default_factory=lambda: dict.fromkeys(
            ("solve_s", "wall_solve_s", "oracle_s", "oracle_calls", "improving", "solves"), 0.0
        )
    )


def _ph_setup(
    X: Any,
    y: Any,
    sizes: Sequence[int],
    weights: Any,
    *,
    sampler: Any,
    method: str,
    batch_size: int,
    activations: str,
    segments: Any,
    activation_bits: Any,
    loss: str,
    loss_segments: int,
    bias: bool,
    input_low: Any,
    input_high: Any,
    ph_iterations: int,
    rho: float,
    rho_growth: float,
    bit_scale: bool,
    scale_target: float,
    qcgd_iterations: int,
    beta0: float,
    slack_bits: int,
    penalty_scale: float,
    sample_kwargs: Mapping[str, Any] | None,
    repair: bool,
    keep_incumbent: bool,
    max_candidates: int,
    consensus: str,
    select: str,
    count_spins: bool,
    seed: int | None,
    moves: Sequence[str],
    input_unit: float | None,
    max_spins: int | None = None,
) -> PHSetup:
    """Validate :func:`fit_qcbo`'s arguments (one-line errors) and fix the batches."""
    X, sizes, codes, arch, y_model, y_pm = _network_setup_from(locals())
    method = check_choice("method", method, METHODS)
    if method != "cqm" and not (hasattr(sampler, "sample") and hasattr(sampler, "parameters")):
        raise TypeError(f"'sampler' must be a dimod.Sampler, got {type(sampler).__name__}")
    n = X.shape[0]
    batch_size = check_int("batch_size", batch_size, 1)
    if batch_size > n:
        raise ValueError(
            f"'batch_size' must be an integer in [1, {n}] (at most the training set size), "
            f"got {batch_size}"
        )
    kwargs = _checked_sample_kwargs(sample_kwargs, sampler)
    moves = tuple(check_choice("moves", m, tuple(MOVES)) for m in moves)
    slack_bits = check_int("slack_bits", slack_bits, 1, 24)
    limit = None if method == "cqm" else declared_limit(sampler)
    if max_spins is not None:
        max_spins = min(check_int("max_spins", max_spins, 1), limit[0] if limit else max_spins)
    how = _Solve(
        _cqm_solver(method, sampler, qcgd_iterations, beta0, slack_bits, penalty_scale),
        sampler,
        kwargs,
        slack_bits,
        check_bool("repair", repair),
        check_bool("keep_incumbent", keep_incumbent),
        check_int("max_candidates", max_candidates, 1),
        None if max_spins is not None else limit,
        max_spins,
    )
    seed = None if seed is None else check_int("seed", seed, 0)
    seeds = tuple(np.random.SeedSequence(seed).spawn(3))  # start, batch order, solves
    perm = np.random.default_rng(seeds[1]).permutation(n)
    L = len(sizes) - 1
    return PHSetup(
        X,
        y_model,
        y_pm,
        sizes,
        codes,
        arch,
        [np.sort(perm[i : i + batch_size]) for i in range(0, n, batch_size)],
        [(sizes[li], sizes[li - 1] + int(arch.bias)) for li in range(1, L + 1)],
        how,
        check_int("ph_iterations", ph_iterations, 1),
        check_float("rho", rho, 0.0, low_open=True),
        check_float("rho_growth", rho_growth, 1.0),
        check_bool("bit_scale", bit_scale),
        check_float("scale_target", scale_target, 0.0, low_open=True),
        check_choice("consensus", consensus, ("mean", "line-search")),
        check_choice("select", select, ("accuracy", "loss")),
        check_bool("count_spins", count_spins),
        how.slack_bits,
        moves,
        max_spins,
        seed,
        seeds,
        time.perf_counter(),
    )


def _checked_sample_kwargs(sample_kwargs: Mapping[str, Any] | None, sampler: Any) -> dict[str, Any]:
    """``sample_kwargs`` as a dict: no ``seed`` (fit_qcbo's own), only keywords ``sampler`` takes."""
    kwargs = dict(sample_kwargs or {})
    if "seed" in kwargs:
        raise ValueError("'sample_kwargs' must not contain 'seed'; pass fit_qcbo(seed=...)")
    unknown = sorted(set(kwargs) - set(getattr(sampler, "parameters", {}) or {}))
    if unknown:
        raise ValueError(
            f"'sample_kwargs' has keyword(s) the sampler does not take: {', '.join(map(repr, unknown))}"
        )
    return kwargs


def _cqm_solver(
    method: str,
    sampler: Any,
    qcgd_iterations: int,
    beta0: float,
    slack_bits: int,
    penalty_scale: float,
) -> Any:
    """The subproblems' CQM solver for :func:`fit_qcbo`'s ``method`` (the one place its names
    are resolved, through :func:`hybridqnn.solvers.registry.get_cqm_solver`): ``qcgd`` ->
    QCGD with ``sampler`` as the oracle, ``penalty`` -> the penalty method over ``sampler``,
    ``cqm`` -> ``sampler`` itself."""
    params: dict[str, Any] = {
        "qcgd": {
            "iterations": check_int("qcgd_iterations", qcgd_iterations, 1),
            "beta0": check_float("beta0", beta0, 0.0, low_open=True),
            "slack_bits": slack_bits,
        },
        "penalty": {
            "scale": check_float("penalty_scale", penalty_scale, 0.0, low_open=True),
            "slack_bits": slack_bits,
        },
        "cqm": {},
    }[method]
    return get_cqm_solver(method, sampler, **params)


def _ph_start(setup: PHSetup, warm_start: Any) -> PHState:
    """The starting network (random levels or ``warm_start``) as every subproblem's incumbent
    and the first centre; multipliers 0."""
    rng = np.random.default_rng(setup.seeds[0])
    codes, center, initial = _start(
        warm_start,
        rng,
        setup.codes,
        setup.shapes,
        setup.X,
        setup.y_model,
        setup.y_pm,
        setup.arch,
        setup.bit_scale,
        setup.scale_target,
    )
    k = len(setup.batches)
    return PHState(
        codes,
        center,
        [[np.zeros(s) for s in setup.shapes] for _ in range(k)],
        [_weights_list(center) for _ in range(k)],
        [1.0] * len(setup.shapes),
        initial,
    )


@contextlib.contextmanager
def _pool(
    executor: str | Executor | None, max_workers: int | None, how: _Solve
) -> Iterator[Executor]:
    if isinstance(executor, Executor):
        yield executor
        return
    from hybridqnn.parallel import get_executor

    with get_executor(executor, max_workers, default=_default_executor(how, max_workers)) as pool:
        yield pool


def _default_executor(how: _Solve, max_workers: int | None) -> str:
    """The pool of a run given no executor (and no ``HYBRIDQNN_EXECUTOR``): processes, because a
    subproblem's build, scoring and QCGD bookkeeping are Python code that holds the GIL
    (``bench qcbo`` on 2 cores: QPH in 82 s with processes against 185 s with threads, the same
    rows); threads when the solver cannot be pickled (a sampler holding a network client, such
    as a D-Wave QPU) or there is one worker."""
    from hybridqnn.parallel import default_workers

    if (max_workers or default_workers()) < 2:
        return "thread"
    try:
        pickle.dumps(how)
    except Exception:  # noqa: BLE001 - any pickling failure means: not to another process
        return "thread"
    return "process"


def ph_iteration(setup: PHSetup, state: PHState, t: int, pool: Executor) -> None:
    """One PH iteration (module docstring, steps 1-6): steps 1, 2 and 4 once per weight block
    (once, over all weights, without a spin budget), step 3 with the last block, then 5 and 6."""
    t_iter = time.perf_counter()
    rho_t = [setup.rho * setup.rho_growth**t * r for r in state.rho_scale]
    if setup.max_spins is not None and state.blocks is None:
        state.blocks = _plan(setup, state, pool)
    queue: list[WeightBlock | None] = list(state.blocks or [None])
    results: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []
    while queue:
        block = queue.pop(0)
        step = _block_step(setup, state, block, rho_t, t, pool, last=not queue)
        if "over_budget" in step:  # a subproblem over the budget (the grid changed): split
            assert state.blocks is not None
            halves = _split_over_budget(setup, block, step)
            at = state.blocks.index(block)
            state.blocks[at : at + 1] = halves
            queue[:0] = halves
            continue
        results += step.pop("results")
        steps.append(step)
    q = _rescale(setup, state, state.center)
    moved = [s["moved_weights"] for s in steps]
    extra = {
        "residual": float(np.mean([s["residual"] for s in steps])),
        "disagreement": float(np.mean([s["disagreement"] for s in steps])),
        "moved_weights": None if moved[0] is None else int(sum(moved)),
        "blocks": len(steps),
        **steps[-1]["move_info"],
    }
    _record(setup, state, t, results, q, rho_t, t_iter, extra)


def _block_step(
    setup: PHSetup,
    state: PHState,
    block: WeightBlock | None,
    rho_t: list[float],
    t: int,
    pool: Executor,
    last: bool,
) -> dict[str, Any]:
    """Steps 1, 2 and 4 on one block (every weight with ``block=None``), and step 3 after the
    last block; when a subproblem exceeded the spin budget, nothing changes and the result is
    the largest such subproblem's ``{"over_budget": spins, "ids": ids}``."""
    results = _solve_all(setup, state, rho_t, t, pool, block)
    over = [r for r in results if "over_budget" in r]
    if over:
        return max(over, key=lambda r: r["over_budget"])
    ws = [r["weights"] for r in results]
    mean, residual = _mean(setup, ws)
    moved, q = _consensus(setup, state, mean)
    q, move_info = _apply_registered_moves(setup, state, q, t) if last else (q, {})
    disagreement = float(
        np.mean([sum(np.count_nonzero(w[li] != q[li]) for li in range(len(q))) for w in ws])
        / sum(w.size for w in q)
    )
    _hedge(state, ws, q, rho_t, block)
    return {
        "results": results,
        "residual": residual,
        "disagreement": disagreement,
        "moved_weights": moved,
        "move_info": move_info,
    }


def _plan(setup: PHSetup, state: PHState, pool: Executor) -> list[WeightBlock | None]:
    """The blocks of the spin budget at the start network (:func:`plan_blocks`)."""
    assert setup.max_spins is not None
    return plan_blocks(
        _builder(setup, state),
        setup.X,
        setup.y_model,
        setup.batches,
        state.center,
        setup.max_spins,
        setup.slack_bits,
        pool.map,
    )


def _split_over_budget(
    setup: PHSetup, block: WeightBlock | None, over: Mapping[str, Any]
) -> list[WeightBlock]:
    """``block`` halved after its subproblem ``over`` (``{"over_budget": spins, "ids": ...}``)
    exceeded the budget (every weight: one block per layer); a single row is an error."""
    if block is not None and len(block.rows) == 1:
        assert setup.max_spins is not None
        raise row_over_budget(block, over["over_budget"], over["ids"], setup.max_spins, setup.sizes)
    return split_block(block, setup.sizes)


def _builder(setup: PHSetup, state: PHState) -> _Build:
    """The subproblem builder of the current codes (their FIP grid)."""
    a = setup.arch
    return _Build(
        setup.sizes,
        tuple(state.codes),
        a.fip(state.codes),
        a.activation_bits,
        a.loss,
        a.loss_segments,
        "variables",
    )


def _block_incumbent(
    center: list[np.ndarray], inc: list[np.ndarray], block: WeightBlock | None
) -> list[np.ndarray]:
    """The subproblem's incumbent over ``block``: its own last answer on the block's rows, the
    centre elsewhere (its last answer everywhere without a block)."""
    if block is None:
        return inc
    out = [w.copy() for w in center]
    rows = slice(block.start, block.stop)
    out[block.layer - 1][rows] = inc[block.layer - 1][rows]
    return out


def _solve_all(
    setup: PHSetup,
    state: PHState,
    rho_t: list[float],
    t: int,
    pool: Executor,
    block: WeightBlock | None = None,
) -> list[dict[str, Any]]:
    """Step 1: every subproblem (over ``block``), in the pool; spins counted at t = 0, or at
    every solve with a spin budget."""
    build = _builder(setup, state)
    seeds = [int(s.generate_state(1)[0]) % 2**31 for s in setup.seeds[2].spawn(len(setup.batches))]
    do_count = (setup.count and t == 0) or setup.max_spins is not None
    t0 = time.perf_counter()
    futures = [
        pool.submit(
            _solve_subproblem,
            build,
            setup.how,
            setup.X[b],
            setup.y_model[b],
            [int(i) for i in b],
            state.lam[k],
            rho_t,
            state.center,
            _block_incumbent(state.center, state.inc[k], block),
            seeds[k],
            do_count,
            block,
        )
        for k, b in enumerate(setup.batches)
    ]
    results = [f.result() for f in futures]
    state.totals["wall_solve_s"] += time.perf_counter() - t0
    if do_count and not any("over_budget" in r for r in results):
        state.solve_spins += [r["spins"] for r in results]
        state.spins = _spin_figures(setup, state, results)
    return results


def _spin_figures(setup: PHSetup, state: PHState, results: list[dict[str, Any]]) -> dict[str, Any]:
    """Spins per solve: the largest and mean over every counted solve of the run so far (with
    a budget, the budget and the number of blocks), and, when the subproblems hold every
    weight, the monolithic model's."""
    wcount = sum(
        int(np.prod(s)) * c.num_bits for s, c in zip(setup.shapes, state.codes, strict=True)
    )
    cqm_vars = [r["cqm_variables"] for r in results]
    run = state.solve_spins
    figures: dict[str, Any] = {
        "weight_spins": wcount,
        "subproblem_spins_max": max(run),
        "subproblem_spins_mean": float(np.mean(run)),
        "subproblem_cqm_variables_max": max(
            [*cqm_vars, state.spins.get("subproblem_cqm_variables_max", 0)]
        ),
        "num_subproblems": len(results),
    }
    if setup.max_spins is not None:
        figures.update(max_spins=setup.max_spins, num_blocks=len(state.blocks or [None]))
    if state.blocks not in (None, [None]):
        return figures
    sub_spins = [r["spins"] for r in results]
    mono = wcount + sum(s - wcount for s in sub_spins)
    return {
        **figures,
        "monolithic_spins": mono,
        "monolithic_cqm_variables": wcount + sum(c - wcount for c in cqm_vars),
        "spin_ratio": mono / max(sub_spins),
    }


def _mean(setup: PHSetup, ws: list[list[np.ndarray]]) -> tuple[list[np.ndarray], float]:
    """Step 2a: the sample-weighted mean w_bar = sum_b n_b w_b / n, and the residual
    mean_b ||w_b - w_bar||."""
    nb = [len(b) for b in setup.batches]
    L = len(ws[0])
    mean = [sum(nb[k] * ws[k][li] for k in range(len(ws))) / setup.n for li in range(L)]
    residual = float(
        np.mean([math.sqrt(sum(np.sum((w[li] - mean[li]) ** 2) for li in range(L))) for w in ws])
    )
    return mean, residual


def _consensus(
    setup: PHSetup, state: PHState, mean: list[np.ndarray]
) -> tuple[int | None, list[np.ndarray]]:
    """Step 2b: ``mean``: the nearest levels of w_bar; ``line-search``: the line search over
    the votes of w_bar around the centre (package docstring, "Consensus")."""
    if setup.consensus == "mean":
        return None, _round_to_levels(mean, state.codes)
    center = _round_to_levels(state.center, state.codes)
    score = partial(
        _train_score,
        setup.arch.network(state.codes),
        setup.X,
        setup.y_model,
        setup.y_pm,
        setup.select,
    )
    moved, q = _line_search(center, _votes(center, mean, state.codes), score)
    return moved, [w.copy() for w in q]


def _apply_registered_moves(
    setup: PHSetup, state: PHState, q: list[np.ndarray], t: int
) -> tuple[list[np.ndarray], dict[str, Any]]:
    """Step 3: each of ``setup.moves`` in turn (:func:`~hybridqnn.train.qcbo.moves.apply_moves`)."""
    if not setup.moves:
        return q, {}
    ctx = MoveContext(
        setup.arch.network(state.codes),
        list(state.codes),
        setup.X,
        setup.y_model,
        setup.y_pm,
        setup.select,
        setup.how.sampler,
        dict(setup.how.sample_kwargs),
        int(setup.seeds[2].spawn(1)[0].generate_state(1)[0]) % 2**31 + t,
        setup.how.spin_cap,
    )
    return apply_moves(setup.moves, ctx, q)


def _hedge(
    state: PHState,
    ws: list[list[np.ndarray]],
    q: list[np.ndarray],
    rho_t: list[float],
    block: WeightBlock | None = None,
) -> None:
    """Step 4: lambda_b += rho_l (w_b - q); q becomes the centre; the answers the incumbents
    (multipliers and incumbents on the block's rows only, with a block)."""
    parts = [(li, slice(None)) for li in range(len(q))]
    if block is not None:
        parts = [(block.layer - 1, slice(block.start, block.stop))]
    for lam_k, inc_k, w_k in zip(state.lam, state.inc, ws, strict=True):
        for li, rows in parts:
            lam_k[li][rows] = lam_k[li][rows] + rho_t[li] * (w_k[li][rows] - q[li][rows])
            inc_k[li][rows] = w_k[li][rows]
    state.center = [w.copy() for w in q]


def _rescale(setup: PHSetup, state: PHState, q: list[np.ndarray]) -> list[np.ndarray]:
    """Step 5: the output layer's bit-scale step, carried to q, the centre, the incumbents,
    lambda (by s_old / s_new) and rho (by (s_old / s_new)^2)."""
    if not setup.bit_scale:
        return q
    units = [w / c.scale for w, c in zip(q, state.codes, strict=True)]
    new = _bit_scales(
        units, state.codes, setup.X, setup.y_model, setup.arch, setup.scale_target, hidden=False
    )
    ratio = [nc.scale / c.scale for nc, c in zip(new, state.codes, strict=True)]
    state.center = [w * r for w, r in zip(state.center, ratio, strict=True)]
    state.inc = [[w * r for w, r in zip(ws, ratio, strict=True)] for ws in state.inc]
    state.lam = [[lm / r for lm, r in zip(lam_k, ratio, strict=True)] for lam_k in state.lam]
    state.rho_scale = [s / (r * r) for s, r in zip(state.rho_scale, ratio, strict=True)]
    state.codes = new
    return [w * r for w, r in zip(q, ratio, strict=True)]


def _record(
    setup: PHSetup,
    state: PHState,
    t: int,
    results: list[dict[str, Any]],
    q: list[np.ndarray],
    rho_t: list[float],
    t_iter: float,
    extra: dict[str, Any],
) -> None:
    """Step 6: the history record and the best network so far."""
    net = setup.arch.network(state.codes)
    improving = sum(bool(r["improved"]) for r in results)
    spins = [r["spins"] for r in results if r["spins"] is not None]
    record = {
        "iteration": t,
        "rho": rho_t[-1],
        "rho_layers": list(rho_t),
        "train_loss": net.loss_value(q, setup.X, setup.y_model, ties="nearest") / setup.n,
        "train_accuracy": float(np.mean(net.predict(q, setup.X) == setup.y_pm)),
        "scales": [c.scale for c in state.codes],
        "seconds": time.perf_counter() - t_iter,
        "solve_seconds": sum(r["seconds"] for r in results),
        "oracle_calls": sum(r["oracle_calls"] for r in results),
        "oracle_seconds": sum(r["oracle_seconds"] for r in results),
        "incumbent_kept": sum(r["source"] == "incumbent" for r in results),
        "improving_solves": improving,
        "solves": len(results),
        "improving_solve_fraction": improving / len(results),
        "subproblem_objective": float(np.mean([r["objective"] for r in results])),
        "spins_max": max(spins) if spins else None,
        "spins_mean": float(np.mean(spins)) if spins else None,
        **extra,
    }
    for key, name in (
        ("solve_s", "solve_seconds"),
        ("oracle_s", "oracle_seconds"),
        ("oracle_calls", "oracle_calls"),
        ("improving", "improving_solves"),
    ):
        state.totals[key] += record[name]
    state.totals["solves"] += len(results)
    state.history.append(record)
    logger.info(
        "QPH iteration %d: loss %.4f, accuracy %.4f",
        t,
        record["train_loss"],
        record["train_accuracy"],
    )
    score = _history_rank(record, setup.select)
    if state.best is None or score < state.best[0]:
        state.best = (score, t, [w.copy() for w in q], list(state.codes))


def _ph_result(setup: PHSetup, state: PHState) -> QCBOResult:
    """The best consensus network, its resource figures and timing."""
    assert state.best is not None
    _, best_t, best_w, best_codes = state.best
    a = setup.arch
    formula = spin_formula(
        setup.sizes,
        best_codes,
        segments=a.segments,
        activation_bits=a.activation_bits,
        loss_segments=a.loss_segments,
        bias=a.bias,
        num_samples=setup.n,
        slack_bits=setup.slack_bits,
    )
    spins = dict(state.spins)
    spins.update({f"formula_{k}": v for k, v in formula.items()})
    tot = state.totals
    timing = {
        "total_s": time.perf_counter() - setup.start,
        "solve_s": tot["solve_s"],
        "wall_solve_s": tot["wall_solve_s"],
        "oracle_s": tot["oracle_s"],
        "oracle_calls": float(tot["oracle_calls"]),
    }
    return QCBOResult(
        best_w,
        best_codes,
        a.network(best_codes),
        state.history,
        spins,
        timing,
        best_t,
        setup.seed,
        a.box,
        state.initial,
    )
