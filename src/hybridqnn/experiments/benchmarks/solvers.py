"""``hybridqnn bench solvers``: dense Ising solvers side by side, in one process.

Problems (all dense):
- ``random-n{N}``: h_i, J_ij ~ N(0, 1), SPIN;
- ``{dataset}-K{K}``: the first per-class QUBO of the QUBO-trained head on that data set's
  features (class 0, alpha = 1), a structured fixed-point least-squares problem whose
  coefficients span about 4^K;
- ``projection-w{W}``: a binary-gradient projection min ||v - X g||^2 of a W-wide layer
  (X: +-1 activations of a batch of 256, v: a Gaussian output gradient), as QP-SBGD builds it.

Each solver runs at increasing effort (sweeps, steps or a time limit) over ``runs`` seeds
(``random_runs`` on the random problems); the reads per run are in :data:`EFFORTS`. From those
runs:
- ``seconds`` (time to target, :func:`_time_to_target`): the wall time a solver needs to come
  within ``target_gap`` (relative) of the best energy known for the problem (over every run and
  the classical reference) with probability at least 0.9. At an effort level where a fraction p
  of the runs hit the target, R = ceil(ln 0.1 / ln(1 - p)) independent restarts hit it with
  probability 1 - (1 - p)^R >= 0.9, so the level's time to target is R times its median run
  time (R = 1 when at least 9 of 10 runs hit it); ``seconds`` is the smallest over the levels,
  ``restarts`` its R and ``hits`` its successful runs out of the runs. This is the usual
  time-to-solution measure of the annealing literature (at 90 % rather than 99 %); on random
  dense problems the best known state is an isolated deep minimum found by a few percent of the
  runs at any effort, so single runs never reach it 9 times in 10;
- ``gap_pct@Bs``: the median gap at the largest effort whose median time fits the budget B;
- for the structured problems, gaps are measured to the rounded-continuous reference (the box
  minimiser rounded to the grid and polished), and ``beats_reference`` says whether any run
  went below it. Warm starts from the reference (``+warm``) are reported separately.
Efforts stop growing once a level's median time passes ``max_run_seconds`` / 3.
"""

from __future__ import annotations

import importlib.util
import inspect
import math
import statistics
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hybridqnn.experiments.context import RunContext
from hybridqnn.experiments.params import (
    COUNT,
    MAX_WIDTH,
    POSITIVE,
    check_declared,
    list_field,
    param,
)
from hybridqnn.experiments.registry import Experiment, register
from hybridqnn.experiments.toolkit import Timer
from hybridqnn.parallel import default_workers

CUDA_READS = 4096  # reads per GPU call; an H100 holds about 25 one-warp blocks per SM at n = 1000, 3,300 at once

# solver name -> (effort keyword, effort levels, fixed keywords). Each sampler runs as it is
# built to: dwave-samplers' SA and tabu are single-threaded, one read per run; our dense SA runs
# one replica per core in parallel threads; SB and CIM evolve a batch of agents with matrix
# products. A run's result is its best read.
EFFORTS: dict[str, tuple[str, tuple[float, ...], dict[str, Any]]] = {
    "sa": ("num_sweeps", (10, 30, 100, 300, 1000, 3000, 10000, 30000, 100000), {"num_reads": 1}),
    "dense-sa": ("num_sweeps", (10, 30, 100, 300, 1000, 3000, 10000, 30000, 100000), {"num_reads": default_workers()}),
    # the same sampler restricted to single flips on the structured problems (see _sweep)
    "dense-sa-flips": ("num_sweeps", (10, 30, 100, 300, 1000, 3000, 10000), {"num_reads": default_workers()}),
    # the same sampler on CUDA (device="cuda"): one warp per read; skipped with a note without a GPU
    "dense-sa-cuda": ("num_sweeps", (10, 30, 100, 300, 1000, 3000, 10000, 30000), {"num_reads": CUDA_READS}),
    "tabu": ("timeout", (5, 20, 100, 300, 1000, 3000, 10000, 30000), {"num_reads": 1}),
    "sb": ("num_steps", (30, 100, 300, 1000, 3000, 10000), {"num_reads": 16}),
    "cim": ("num_steps", (30, 100, 300, 1000, 3000, 10000), {"num_reads": 16}),
    # bench-only third-party solvers (pip install 'hybridqnn[bench]'); skipped with a note if absent
    "openjij": ("num_sweeps", (10, 30, 100, 300, 1000, 3000, 10000), {"num_reads": 1}),
    "sb-package": ("max_steps", (30, 100, 300, 1000, 3000, 10000), {"num_reads": 16}),
}
OPTIONAL = {"openjij": "openjij", "sb-package": "simulated_bifurcation"}
WARM_CAPABLE = ("sa", "dense-sa", "dense-sa-flips", "tabu")


def _head_problem(label: str, name: str) -> None:
    """DATASET-KBITS: digits, mnist or fashion-mnist, K in [1, 32]."""
    from hybridqnn._checks import check_choice, check_int

    ds, _, k = name.partition("-K")
    check_choice("head_problems dataset", ds, ["digits", "mnist", "fashion-mnist"])
    check_int("head_problems bits", int(k) if k.isdigit() else -1, 1, 32)




@dataclass(frozen=True)
class SolverBenchParams:
    """Which problems and solvers, how many runs, and the budgets."""

    random_sizes: list[int] = list_field(200, 1000, 3000, help="spins of the random problems", low=2, high=MAX_WIDTH)
    head_problems: list[str] = list_field("digits-K10", "digits-K20", "mnist-K10", "mnist-K20", help="QUBO-head problems", check=_head_problem)
    projection_widths: list[int] = list_field(128, help="widths of the projection problems", low=2, high=MAX_WIDTH)
    solvers: list[str] = list_field(
        "sa", "tabu", "dense-sa", "dense-sa-flips", "dense-sa-cuda", "sb", "cim", help="solvers to run", choices=lambda: tuple(EFFORTS), nonempty=True
    )
    warm_starts: bool = field(default=True, metadata={"help": "also run warm starts from the reference on structured problems"})
    runs: int = param(10, help="seeded runs per effort level", **COUNT)
    random_runs: int = param(40, help="seeded runs per effort level on the random problems, whose per-run success probabilities are a few percent", **COUNT)
    budgets: list[float] = list_field(0.1, 0.3, 1.0, 3.0, help="time budgets (s)", **POSITIVE)
    target_gap: float = param(1e-3, help="relative gap to the best known energy counted as reaching it", low=0.0)
    max_run_seconds: float = param(3.0, help="stop raising effort once a level's median time passes a third of this", **POSITIVE)

    def __post_init__(self) -> None:
        check_declared(self)



@dataclass
class _Problem:
    name: str
    model: Any  # DenseIsing
    reference: float | None = None
    reference_spins: np.ndarray | None = None
    bqm: Any = None
    bits: int | None = None  # K of a fixed-point problem (variables in FixedPointEncoding layout)


def _random_problem(n: int, seed: int) -> _Problem:
    from hybridqnn.problems import DenseIsing

    rng = np.random.default_rng(seed)
    upper = np.triu(rng.normal(size=(n, n)), 1)
    return _Problem(f"random-n{n}", DenseIsing(rng.normal(size=n), upper + upper.T, 0.0))


def _head_problem(ctx: RunContext, name: str, seed: int) -> _Problem:
    from hybridqnn.experiments.qubo_head import HeadParams, head_features
    from hybridqnn.train import head_qubo

    dataset, _, k = name.partition("-K")
    p = HeadParams()
    f = head_features(p, dataset, seed, data_dir=ctx.data_dir, device=ctx.device)
    model, _, spins, energy = head_qubo(
        f.x_train, f.y_train, f.num_classes, bits=int(k), weight_range=p.weight_range, bias_range=p.bias_range, l2=p.l2
    )
    return _Problem(name, model, energy, spins, bits=int(k))


def _projection_problem(width: int, seed: int) -> _Problem:
    from hybridqnn.problems import binary_least_squares
    from hybridqnn.solvers.reference import box_qp_minimizer, polish_dense

    rng = np.random.default_rng(seed)
    x = np.where(rng.normal(size=(256, width)) >= 0, 1.0, -1.0)
    v = rng.normal(size=256)
    model = binary_least_squares(x, v)
    cont = box_qp_minimizer(2 * x.T @ x, -2 * x.T @ v, -np.ones(width), np.ones(width))
    spins, energy = polish_dense(model, np.where(cont >= 0, 1, -1))
    return _Problem(f"projection-w{width}", model, energy, spins)


def _run_once(sampler: Any, problem: _Problem, kwargs: dict[str, Any], seed: int, warm: bool) -> tuple[float, float]:
    from hybridqnn.solvers.sampling import beta_range_dense, solve_dense, supports_dense

    with Timer() as timer:
        init = problem.reference_spins[None, :] if warm else None
        if supports_dense(sampler, kwargs):
            _, energy = solve_dense(sampler, problem.model, seed=seed, initial_state=init, sample_kwargs=kwargs)
        else:
            params = dict(kwargs)
            if "seed" in sampler.parameters or "seed" in inspect.signature(sampler.sample).parameters:
                params["seed"] = seed % (2**31)
            if "beta_range" in sampler.parameters:
                params["beta_range"] = beta_range_dense(problem.model, init)
            elif "beta_min" in sampler.parameters:  # openjij names the same range beta_min, beta_max
                params["beta_min"], params["beta_max"] = beta_range_dense(problem.model, init)
            if warm:
                params["initial_states"] = (init, list(range(problem.model.num_variables)))
            ss = sampler.sample(problem.bqm, **params)
            energy = float(ss.first.energy)
    return timer.seconds, energy


def _bench_sampler(name: str) -> Any:
    """A registry sampler, or one of the bench-only third-party solvers."""
    from hybridqnn.solvers import get_sampler

    if name == "openjij":
        import openjij

        return openjij.SASampler()
    if name == "sb-package":
        return _SimulatedBifurcationPackage()
    if name == "dense-sa-cuda":
        return get_sampler("dense-sa", device="cuda")
    return get_sampler("dense-sa" if name == "dense-sa-flips" else name)


def _make_sb_package_class() -> type:
    from hybridqnn.solvers.dense import DenseSampler

    class SimulatedBifurcationPackage(DenseSampler):
        """The ``simulated-bifurcation`` package (Ageron et al.) on the dense model:
        ``minimize(J/2, h, offset, domain="spin")`` is exactly E(s) = offset + h^T s + 1/2 s^T J s.
        It seeds only torch's global generator, so the call runs inside ``torch.random.fork_rng``."""

        _own_parameters = {"max_steps": []}

        def _sample_spins(self, run: Any, *, max_steps: int = 10000) -> tuple[np.ndarray, dict[str, Any]]:
            import simulated_bifurcation as sb
            import torch

            model, spins, seed = run.model, run.spins, run.seed
            with torch.random.fork_rng():
                torch.manual_seed(seed)
                best, _ = sb.minimize(
                    torch.as_tensor(model.J / 2), torch.as_tensor(model.h), torch.tensor(model.offset), domain="spin",
                    agents=spins.shape[0], max_steps=max_steps, best_only=False, verbose=False,
                )
            out = best.detach().cpu().numpy().reshape(spins.shape[0], -1)
            return np.where(out >= 0, 1, -1).astype(np.int8), {}

    return SimulatedBifurcationPackage


def _SimulatedBifurcationPackage() -> Any:  # noqa: N802 - a factory standing in for a class
    return _make_sb_package_class()()


def _sweep(ctx: RunContext, p: SolverBenchParams, problem: _Problem, solver: str, warm: bool, seeds: list[int]) -> list[dict[str, Any]]:
    sampler = _bench_sampler(solver)
    knob, levels, fixed = EFFORTS[solver]
    if solver in ("dense-sa", "dense-sa-cuda") and problem.bits is not None:
        # the method builders know their encoding and pass it on; so does the benchmark
        fixed = {**fixed, "fixed_point_bits": problem.bits}
    _run_once(sampler, problem, {**fixed, knob: levels[0]}, seeds[0], warm)  # warm-up (JIT, caches)
    results = []
    for level in levels:
        runs = [_run_once(sampler, problem, {**fixed, knob: level}, s, warm) for s in seeds]
        times = [t for t, _ in runs]
        record = {"level": level, "times": times, "energies": [e for _, e in runs], "median_s": statistics.median(times)}
        results.append(record)
        ctx.log(case=problem.name, impl=solver + ("+warm" if warm else ""), effort=f"{knob}={level}", median_s=record["median_s"], best=min(record["energies"]))
        if record["median_s"] > p.max_run_seconds / 3:
            break
    return results


def _summarise(p: SolverBenchParams, problem: _Problem, impl: str, levels: list[dict[str, Any]], best_known: float) -> dict[str, Any]:
    scale = max(abs(best_known), 1e-12)
    tt, restarts, hits, runs = _time_to_target(levels, best_known + p.target_gap * scale)
    ref = problem.reference if problem.reference is not None else best_known
    ref_scale = max(abs(ref), 1e-12)
    row: dict[str, Any] = {
        "case": problem.name,
        "impl": impl,
        "seconds": tt,
        "reached_target": tt is not None,
        "restarts": restarts,
        "hits": None if tt is None else f"{hits}/{runs}",
        "variables": problem.model.num_variables,
        "best_energy": min(min(lv["energies"]) for lv in levels),
        "reference_energy": problem.reference,
        "best_known_energy": best_known,
    }
    row["gap_pct"] = 100.0 * (row["best_energy"] - ref) / ref_scale
    for budget in p.budgets:
        fitting = [lv for lv in levels if lv["median_s"] <= budget]
        row[f"gap_pct@{budget:g}s"] = 100.0 * (statistics.median(fitting[-1]["energies"]) - ref) / ref_scale if fitting else None
    if problem.reference is not None:
        row["beats_reference"] = bool(row["best_energy"] < problem.reference - 1e-9 * ref_scale)
    row["max_effort"] = levels[-1]["level"]
    return row


def _time_to_target(levels: list[dict[str, Any]], target: float, confidence: float = 0.9) -> tuple[float | None, int | None, int, int]:
    """``(seconds, restarts, hits, runs)`` of the fastest level (module docstring): a level where
    ``hits`` of its ``runs`` reach ``target`` (p = hits / runs > 0) needs
    R = ceil(ln(1 - confidence) / ln(1 - p)) restarts (1 when p >= confidence) and takes
    R x its median run time. ``(None, None, 0, 0)`` when no run reached the target."""
    best: tuple[float | None, int | None, int, int] = (None, None, 0, 0)
    for lv in levels:
        runs = len(lv["energies"])
        hits = sum(e <= target for e in lv["energies"])
        if hits == 0:
            continue
        p = hits / runs
        restarts = 1 if p >= confidence else math.ceil(math.log(1.0 - confidence) / math.log(1.0 - p))
        seconds = restarts * lv["median_s"]
        if best[0] is None or seconds < best[0]:
            best = (seconds, restarts, hits, runs)
    return best


def _reach_sa_10k(sa_levels: list[dict[str, Any]], levels: list[dict[str, Any]]) -> tuple[float | None, float | None]:
    """The median time of the first effort level whose median energy is at or below dwave-samplers
    SA's median energy at 10,000 sweeps, and SA's 10,000-sweep median time over it (None, None
    if no level gets there). ``sa_levels`` must contain the 10,000-sweep level."""
    sa_10k = next(lv for lv in sa_levels if lv["level"] == 10000)
    sa_energy = statistics.median(sa_10k["energies"])
    reach = next((lv["median_s"] for lv in levels if statistics.median(lv["energies"]) <= sa_energy), None)
    return reach, (sa_10k["median_s"] / reach if reach else None)


def run_bench_solvers(ctx: RunContext, p: SolverBenchParams) -> None:
    """Build the problems, run every solver at increasing effort, summarise per (case, impl)."""
    most = max(p.runs, p.random_runs)
    # Keyed seeds: a problem's seed follows its name, and every solver gets the same run seeds.
    all_run_seeds = [ctx.seed_for("run", r) for r in range(most)]
    problems = [_random_problem(n, ctx.seed_for("random", n)) for n in p.random_sizes]
    problems += [_head_problem(ctx, name, ctx.seed_for("head", name)) for name in p.head_problems]
    problems += [_projection_problem(w, ctx.seed_for("projection", w)) for w in p.projection_widths]
    from hybridqnn.solvers import cuda_kernels

    solvers = []
    for name in p.solvers:
        if name in OPTIONAL and importlib.util.find_spec(OPTIONAL[name]) is None:
            ctx.note(f"Skipped {name!r}: the package {OPTIONAL[name]!r} is not installed (pip install 'hybridqnn[bench]').")
        elif name == "dense-sa-cuda" and not cuda_kernels.available():
            ctx.note("Skipped 'dense-sa-cuda': numba sees no CUDA GPU (it needs an NVIDIA GPU and pip install numba-cuda).")
        else:
            solvers.append(name)
    for problem in ctx.progress(problems, desc="problems", unit="problem"):
        problem.bqm = problem.model.to_bqm()
        impls: dict[str, list[dict[str, Any]]] = {}
        structured = problem.reference is not None
        run_seeds = all_run_seeds[: p.runs if structured else p.random_runs]
        for solver in ctx.progress(solvers, desc=f"solvers on {problem.name}", unit="solver"):
            if solver == "dense-sa-flips" and problem.bits is None:
                continue  # without a fixed-point encoding dense-sa makes single flips too: the same run
            impls[solver] = _sweep(ctx, p, problem, solver, False, run_seeds)
            if p.warm_starts and structured and solver in WARM_CAPABLE:
                impls[solver + "+warm"] = _sweep(ctx, p, problem, solver, True, run_seeds)
        problem.bqm = None
        energies = [e for levels in impls.values() for lv in levels for e in lv["energies"]]
        best_known = min(energies + ([problem.reference] if problem.reference is not None else []))
        rows = {impl: _summarise(p, problem, impl, levels, best_known) for impl, levels in impls.items()}
        base = rows.get("sa")
        for impl, row in rows.items():
            row["baseline"] = "sa"
            row["speedup_vs_baseline"] = (
                base["seconds"] / row["seconds"] if base and base["seconds"] and row["seconds"] else None
            )
            if any(lv["level"] == 10000 for lv in impls.get("sa", [])):
                reach, speedup = _reach_sa_10k(impls["sa"], impls[impl])
                row["seconds_to_sa10k_energy"] = reach
                row["speedup_to_sa10k_energy"] = speedup
            ctx.add_row(row)
    ctx.note(
        f"seconds = time to come within {100 * p.target_gap:g}% of the best known energy with probability >= 0.9: "
        "at the best effort level, restarts x the median run time, where restarts = ceil(ln 0.1 / ln(1 - p)) "
        f"and p = hits / runs ({p.runs} seeded runs per level, {p.random_runs} on random problems; restarts = 1 "
        "when >= 90% of the runs hit). None = no run hit it within the efforts tried. gap_pct is to the "
        "rounded-continuous reference on structured problems (negative = better than it) and to the best known "
        "energy on random ones. On the structured (fixed-point) problems dense-sa is told the encoding "
        "(fixed_point_bits = K) and moves one coordinate by +-2^m grid steps, carries included; its cold starts "
        "begin from 1,000 projected-gradient steps on the box relaxation from each read's random state, rounded to "
        "the grid (hybridqnn.solvers.relaxation; the time is in each run's), not from the reference; dense-sa-flips "
        "is the same sampler with single flips from random states, run on those problems only."
    )
    from hybridqnn.experiments.toolkit import note_baseline

    note_baseline(
        ctx,
        "sa (dwave-samplers' simulated annealing, the reference Ocean sampler), with the same derived beta range",
        "it is the sampler a dimod user already has, run on the same problems with the same time-to-target rule, "
        "so a speedup is what switching samplers buys.",
    )


def headline(rows: list[dict[str, Any]], p: Any = None) -> str:
    """Per case, the fastest implementation to the target energy and its speedup over SA."""
    parts = []
    for case in dict.fromkeys(r["case"] for r in rows):
        reached = [r for r in rows if r["case"] == case and r.get("seconds") is not None]
        if not reached:
            parts.append(f"{case}: none reached the target")
            continue
        best = min(reached, key=lambda r: r["seconds"])
        speedup = best.get("speedup_vs_baseline")
        parts.append(f"{case}: {best['impl']} {best['seconds']:.3g} s"
                     + (f" ({speedup:.2f}x {best['baseline']})" if speedup is not None else ""))
    return "fastest to within 0.1% of the best energy: " + "; ".join(parts)


register(
    Experiment(
        name="bench-solvers",
        params=SolverBenchParams,
        run=run_bench_solvers,
        description="Dense Ising solvers side by side: time to target and gap at fixed budgets",
        kind="bench",
        headline=headline,
        key_columns=("seconds", "speedup_vs_baseline", "gap_pct", "hits"),
    )
)
