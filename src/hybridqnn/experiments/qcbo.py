"""Experiments for QCBO training (Li et al., arXiv 2506.18240, issue 6).

- ``qcbo-fmnist``: Fashion-MNIST with pooled inputs (a side x side grid of 7x7... block means),
  one-hidden-layer networks n_0-h-n_out for each hidden width h of ``hidden`` (a sweep here:
  4, 16 and 32 by default) and low-bit weights; for each task (two-class pairs, all 10
  classes), width and weight setting (1-bit, ternary, 2-bit, mixed ~1.1 bits) the classical
  baselines (QAT with
  the straight-through estimator and Adam; full precision) and the QCBO methods (decomposed +
  QPH with QCGD, penalty or exact subproblems; monolithic + penalty / QCGD / exact on a small
  subset), with accuracy, time and spins per solve; plus the resource rows (spin formula,
  spline error bounds, hardware estimate of the largest sample-wise subproblem). Each QPH solve
  stays within ``max_spins`` (1,000 by default, about a coherent Ising machine): where a
  sample-wise subproblem over every weight is larger (widths 16 and 32: 729-8,272 spins), the
  weights are split into blocks of one layer's rows (:func:`~hybridqnn.train.qcbo.fit_qcbo`,
  package docstring "Blocks"); rows carry ``spins_per_solve`` (the largest of the run),
  ``spins_per_solve_mean``, ``spin_budget`` and ``weight_blocks``. The monolithic rows ignore
  the budget (they are the one-model reference).
- ``qcbo-convergence``: QCGD on one small integer-exact QCBO (``input_unit``, issue 18) under
  noisy and limited-precision oracles (``oracles``: registry names, ``milp`` the exact QUBO
  oracle): objective and infeasibility against iterations, the exact optimum (MILP on the CQM),
  and per (oracle, noise, bits) the feasible-atom fraction of the second half, the gap of the
  best feasible atom to the optimum, the log-log slope of ||r(X_t)|| over the second half and
  whether ||r|| sqrt(t) never increased (:func:`hybridqnn.solvers.qcgd.trace_summary`).
  ``warm_start`` starts QCGD from the completion of seeded random weights (feasible).
- ``bench-qcbo``: decomposed + QPH training on (by default) 1,000 two-class Fashion-MNIST
  samples against QAT on the same data; the target is under 10 minutes; reports QCGD's oracle
  calls, time per call and oracle time share.

Choices the paper leaves open (ours): inputs are the 4 x 4 grid of 7 x 7 block means of the
image (16 features in [0, 1]; the FIP input box is [0, 1]^16 so test inputs fit it); one hidden
layer of 4 ReLU units with a bias input; M = 2 spline segments per hidden neuron on its FIP
range (a knot at 0 when the range is symmetric, so the ReLU spline is exact); K = 5 activation
bits. The activation grid spans the worst-case FIP range, much wider than the activations met in
practice, so K decides how much the network itself costs. Measured with QAT on the QCBO's own
network against QAT with full-precision activations (1,000 training and 2,000 test samples, the
8 two-class settings, same seeds): K = 3 trails by up to 13 points (2-bit T-shirt/trouser 0.810
against 0.940) and by more than 1 point in 6 of 8, K = 4 by up to 2.8, K = 5 by at most 1.7
(mixed T-shirt/trouser; ahead in 3 of 8), K = 6 by at most 0.3. K = 5 costs 16 spins more per
sample-wise solve than K = 3 (193 against 177) and no measurable time (bench qcbo 321-408 s against
407-410 s). With 1-2 bits the grid is too coarse to train at all (50-64 % training accuracy
for the QAT weights, 100 samples). The logistic
margin loss as an 8-segment spline (one-vs-rest margins for 10 classes). Weight settings:
``binary`` {-s, s}, ``ternary`` {-s, 0, s}, ``2bit`` s{-3, -1, 1, 3}, ``mixed`` binary hidden
layer and 3-bit output layer (bits per weight (68 + 5 * 3) / 73 = 1.137 for 16-4-1 with bias;
every row reports the exact value). "Monolithic" rows solve one QCBO of all their samples once
(a single PH iteration with rho ~ 0), on ``mono_train_size`` samples only: the monolithic model
of the full training set has about 100 times more spins than fit a dense-SA or QCGD solve in
minutes. QAT runs twice per setting, from the same seed: with full-precision activations
(``qat-ste-adam``, a stronger baseline than quantized ones) and on the QCBO's own network
(``qat-quantized-activations``: each hidden activation rounded to its K-bit grid on the FIP
activation range, straight-through estimator), the like-for-like comparison that separates what
the network's worst-case activation grid costs from what the training method costs. Three
classical controls run beside the QCBO methods: ``greedy-moves``, QPH's line search from QPH's
start with every weight voting and no subproblem (what the subproblems add); ``greedy-pairs``
(``pair_control``), the same search followed in each iteration by the QUBO move's exact best
single or pair move with no sampler (``fit_greedy_moves(moves=["pair"])``: every classical part
of QPH with ``moves = ["qubo"]`` and none of its Ising solves, so QPH minus it is what the Ising
solves added); and ``greedy-moves-restarts``, the same search from ``control_restarts`` random
starts, best training score kept (QAT gets ``qat_restarts`` starts too; single-start local
searches stop at start-dependent local optima). ``ph_start = "qat"`` starts QPH and the
single-start controls from the setting's ``qat-quantized-activations`` network instead of random
levels (classical pretraining, then QPH; every row has a ``start`` column). Measured on the 8 two-class settings
(16-4-1, 1,000 training samples, the QUBO move; tables in ``docs/methods/qcbo.md``): from the
QAT starts (5 PH iterations) QPH ends within 0.85 test points of ``greedy-pairs`` in all 8, and
from random starts (8 iterations) ``greedy-pairs`` ends above QPH in 7 of 8, in 1/13-1/110 of
the time: at these sizes the line search and the pair search, not the Ising solves, do the
learning.

Saved models (``models/`` of the run, :mod:`hybridqnn.deploy.kinds.qcbo`): ``qcbo-fmnist`` saves
every network it trains beside its row (QPH, monolithic, the controls and QAT as
``qcbo-network``; ``qat-ste-adam`` and ``full-precision`` as ``qcbo-relu-mlp``), with the input
preparation ``qcbo-block-means`` that ``hybridqnn predict`` uses to reproduce the row's test
accuracy. ``qcbo-convergence`` saves none: it is a solver study of QCGD on one QCBO of
``num_samples`` (2) samples, whose rows are traces of objective and infeasibility per oracle
setting, not trained networks (its atoms are often infeasible points, and no row has a test
accuracy to reproduce). ``bench-qcbo`` saves none either: its rows are timings, medians over
repeats, not one network each.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from hybridqnn.experiments.choices import LOSSES, MOVES
from hybridqnn.experiments.context import RunContext
from hybridqnn.experiments.params import (
    COUNT,
    MAX_COUNT,
    MAX_WIDTH,
    POSITIVE,
    check_declared,
    list_field,
    param,
    solver_choices,
    solver_field,
)
from hybridqnn.experiments.plots import Panel, Series, plot_panels
from hybridqnn.experiments.registry import Experiment, register
from hybridqnn.experiments.toolkit import Timer, bench_headline

PAPER_CLAIMS: tuple[dict[str, Any], ...] = (
    {"claim": "Fashion-MNIST accuracy at 1.1 bits on a CIM", "paper": "94.95 % (task not stated)"},
    {"claim": "comparison with classical QAT", "paper": "stated, numbers not available"},
    {"claim": "spins of the decomposed model", "paper": "independent of the training-set size"},
    {"claim": "training time", "paper": "significantly reduced (v4 TL;DR)"},
)

PAPER_ACCURACY, PAPER_BITS = 0.9495, 1.1  # the paper's headline: accuracy at bits per weight
SETTINGS = ("binary", "ternary", "2bit", "mixed")
QCBO_METHODS = ("qph-qcgd", "qph-penalty", "qph-milp", "mono-qcgd", "mono-penalty", "mono-milp")
PH_STARTS = ("random", "qat")


def _divides_28(label: str, side: int) -> None:
    """divides 28 (1, 2, 4, 7, 14, 28)."""
    if 28 % side:
        raise ValueError(f"{label!r} must divide 28 (1, 2, 4, 7, 14, 28), got {side}")


def _check_task(label: str, task: str) -> None:
    """'all' or a class pair 'A-B' (0-9, A != B)."""
    if task == "all":
        return
    parts = task.split("-")
    if (
        len(parts) != 2
        or not all(p.isdigit() and 0 <= int(p) <= 9 for p in parts)
        or parts[0] == parts[1]
    ):
        raise ValueError(
            f"{label!r} entries must be 'all' or a class pair 'A-B' (0-9, A != B), got {task!r}"
        )


def _coefficient_bits(label: str, bits: int) -> None:
    """0 (full precision) or 2-32 bits."""
    if bits != 0 and not 2 <= bits <= 32:
        raise ValueError(f"{label!r} must be 0 (full precision) or an integer in [2, 32], got {bits}")




@dataclass(frozen=True)
class QCBOModelParams:
    """The QCBO itself, shared by every QCBO experiment: the inputs, the spline network, the
    integer grid, and the oracle's settings (QCGD's beta0, the oracle keywords, the MILP time)."""

    pool_side: int = param(
        4, help="inputs are side x side block means of the 28x28 image", low=1, high=28, check=_divides_28
    )
    hidden: list[int] = list_field(4, help="hidden widths", low=1, high=MAX_WIDTH, nonempty=True)
    activation_bits: int = param(5, help="K bits of each hidden activation", low=1, high=16)
    segments: int = param(2, help="M spline segments per hidden neuron", low=1, high=MAX_WIDTH)
    loss: str = param("logistic", help="loss spline", choices=LOSSES)
    loss_segments: int = param(8, help="segments of the loss spline", low=1, high=MAX_WIDTH)
    bias: bool = True
    beta0: float = param(1.0, help="QCGD initial penalty", **POSITIVE)
    input_unit: float = param(
        0.0,
        help="input grid q (a power of two) of the integer-exact QCBO for QPH and the "
        "control; 0: the real-coefficient model",
        low=0.0,
    )
    sample_kwargs: dict[str, Any] = field(
        default_factory=lambda: {"num_reads": 2, "num_sweeps": 100},
        metadata={"help": "passed to the oracle's sample() (checked against the oracles it goes to)"},
    )
    milp_time_limit: float = param(
        5.0, help="seconds per exact (MILP) solve: a subproblem, or a QCGD oracle call", **POSITIVE
    )

    def __post_init__(self) -> None:
        from hybridqnn.solvers.keywords import check_sample_kwargs

        check_declared(self)
        for solver in self.sample_kwargs_solvers():
            check_sample_kwargs(solver, self.sample_kwargs)

    def sample_kwargs_solvers(self) -> list[str]:
        """The solvers ``sample_kwargs`` is passed to (each subclass says which)."""
        raise NotImplementedError


@dataclass(frozen=True)
class QCBOParams(QCBOModelParams):
    """QPH training, its controls and QAT: the settings shared by ``qcbo-fmnist`` and the
    benchmark (not by ``qcbo-convergence``, which runs QCGD alone)."""

    ph_iterations: int = param(6, help="QPH iterations", **COUNT)
    ph_restarts: int = param(
        1,
        help="QPH runs from random starts, best training score kept (fit_qcbo restarts; "
        "qat_restarts for a like-for-like comparison)",
        **COUNT,
    )
    rho: float = param(0.3, help="PH penalty rho", **POSITIVE)
    rho_growth: float = param(1.0, help="factor on rho per PH iteration", low=1.0)
    batch_size: int = param(1, help="samples per QPH subproblem (1: sample-wise)", **COUNT)
    max_spins: int = param(
        0,
        help="spin budget per QPH solve (fit_qcbo max_spins): the weights split into the "
        "fewest blocks of one layer's rows that fit it; 0: every weight in every solve",
        low=0,
        high=MAX_COUNT,
    )
    consensus: str = param(
        "line-search", help="mean (textbook PH) or line-search", choices=("mean", "line-search")
    )
    qcgd_iterations: int = param(5, help="QCGD oracle calls per subproblem", **COUNT)
    moves: list[str] = param(
        default_factory=list,
        help="extra QPH moves after the line search (fit_qcbo moves; 'qubo': the "
        "weight-space QUBO move solved by the oracle; 'pair': its exact best single or pair "
        "move alone, no oracle call)",
        choices=MOVES,
    )
    greedy_control: bool = field(
        default=True,
        metadata={
            "help": "also run the classical control: the same line search from the same start "
            "with no subproblems (fit_greedy_moves)"
        },
    )
    pair_control: bool = field(
        default=True,
        metadata={
            "help": "also run the control with QPH's classical parts and none of its Ising "
            "solves: the line search and the exact best single or pair move (fit_greedy_moves "
            "moves=['pair']) from the same start"
        },
    )
    control_restarts: int = param(
        12,
        help="random starts of the multi-start classical control (greedy-moves-restarts, "
        "best training score kept); 0 skips it",
        low=0,
        high=MAX_COUNT,
    )
    control_iterations: int = param(20, help="line-search iterations per start of that control", **COUNT)
    solver: str = solver_field(
        "dense-sa", help="registry name of the oracle (QCGD / penalty)", excluded=("milp", "exact")
    )
    qat_epochs: int = param(60, help="QAT epochs", **COUNT)
    qat_lr: float = param(1e-2, help="QAT learning rate", **POSITIVE)
    qat_batch_size: int = param(32, help="QAT batch size", **COUNT)
    qat_restarts: int = param(
        3, help="QAT / full-precision runs; the lowest training loss is kept", **COUNT
    )

    def sample_kwargs_solvers(self) -> list[str]:
        """The solvers ``sample_kwargs`` is passed to: ``solver``."""
        return [self.solver]


@dataclass(frozen=True)
class QCBOExperimentParams(QCBOParams):
    """QCBO methods against QAT and full precision over tasks and weight settings."""

    tasks: list[str] = list_field("0-1", "6-0", "all", help="'all' or class pairs 'A-B'", check=_check_task, nonempty=True)
    hidden: list[int] = list_field(
        4,
        16,
        32,
        help="hidden widths swept: one network n_0-h-n_out (one hidden layer) per entry",
        low=1,
        high=MAX_WIDTH,
        nonempty=True,
    )
    max_spins: int = param(
        1000,
        help="spin budget per QPH solve, about a coherent Ising machine (fit_qcbo max_spins: "
        "the weights split into the fewest blocks of one layer's rows that fit it); 0: every "
        "weight in every solve (the paper's scheme)",
        low=0,
        high=MAX_COUNT,
    )
    settings: list[str] = list_field(
        "binary", "ternary", "2bit", "mixed", help="weight settings", choices=SETTINGS, nonempty=True
    )
    methods: list[str] = list_field(
        "qph-qcgd", "mono-penalty", "mono-qcgd", help="QCBO methods (none: only the baselines)", choices=QCBO_METHODS
    )
    train_size: int = param(200, help="training samples per task (stratified)", low=2, high=MAX_COUNT)
    test_size: int = param(1000, help="test samples per task (stratified)", **COUNT)
    mono_train_size: int = param(8, help="samples for the monolithic solves", **COUNT)
    ph_start: str = param(
        "random",
        help="start of the QPH runs and the single-start control: random levels, or qat "
        "(the setting's qat-quantized-activations network: QAT pretraining, then QPH)",
        choices=PH_STARTS,
    )
    hardware_timeout: float = param(5.0, help="seconds per topology for minor-embedding", **POSITIVE)


@dataclass(frozen=True)
class QCBOConvergenceParams(QCBOModelParams):
    """QCGD convergence under noisy / limited-precision oracles on one small QCBO."""

    task: str = param("0-1", help="'all' or a class pair 'A-B'", check=_check_task)
    num_samples: int = param(2, help="samples in the QCBO", **COUNT)
    variances: list[float] = list_field(0.0, 0.01, 0.1, help="oracle noise variances", low=0.0, nonempty=True)
    coefficient_bits: list[int] = list_field(
        0, 8, 4, help="oracle coefficient bits", check=_coefficient_bits, nonempty=True
    )
    iterations: int = param(40, help="QCGD oracle calls per setting", **COUNT)
    setting: str = param("binary", help="weight setting", choices=SETTINGS)
    oracles: list[str] = list_field(
        "dense-sa", help="registry names of the oracles (milp: the exact QUBO oracle, run noise-free at full precision only)", choices=solver_choices(), nonempty=True
    )
    input_unit: float = param(
        2**-4, help="input grid q of the integer-exact QCBO (a power of two)", **POSITIVE
    )
    warm_start: bool = field(
        default=False,
        metadata={
            "help": "start QCGD from a feasible point: the completion of seeded random weights"
        },
    )
    precondition: bool = field(
        default=False,
        metadata={
            "help": "divide each lifted violation by its row's squared norm (qcgd precondition)"
        },
    )

    def sample_kwargs_solvers(self) -> list[str]:
        """The oracles but milp (which takes ``milp_time_limit``)."""
        return [oracle for oracle in self.oracles if oracle != "milp"]


@dataclass(frozen=True)
class QCBOBenchParams(QCBOParams):
    """Decomposed + QPH training time on n two-class samples against QAT."""

    task: str = param("0-1", help="'all' or a class pair 'A-B'", check=_check_task)
    train_size: int = param(1000, help="training samples", low=2, high=MAX_COUNT)
    test_size: int = param(1000, help="test samples", **COUNT)
    setting: str = param("binary", help="weight setting", choices=SETTINGS)
    repeats: int = param(1, help="timed repeats", **COUNT)
    target_seconds: float = param(600.0, help="the issue's target for QPH training", **POSITIVE)

# --------------------------------------------------------------------------------------------


@dataclass
class _Data:
    task: str
    X: np.ndarray
    y: np.ndarray
    Xt: np.ndarray
    yt: np.ndarray
    n_out: int
    classes: tuple[str, ...]
    spec: dict[str, Any]  # how a saved model's test inputs are made (hybridqnn.deploy.inputs)


def _data(p: QCBOModelParams, task: str, n_train: int, n_test: int, seed: int, data_dir: Any) -> _Data:
    from hybridqnn.data import block_means, load_dataset, task_subset

    ds = task_subset(load_dataset("fashion-mnist", data_dir=data_dir), task, n_train, n_test, seed)
    X, Xt = block_means(ds.x_train, p.pool_side), block_means(ds.x_test, p.pool_side)
    n_out = 1 if ds.num_classes == 2 else ds.num_classes
    y = np.where(ds.y_train > 0, 1, -1) if n_out == 1 else ds.y_train.astype(np.int64)
    yt = np.where(ds.y_test > 0, 1, -1) if n_out == 1 else ds.y_test.astype(np.int64)
    kwargs = {
        "task": task, "pool_side": p.pool_side, "train_size": n_train, "test_size": n_test, "seed": seed
    }
    b = 28 // p.pool_side
    spec = {
        "dataset": "fashion-mnist",
        "input": {"name": "qcbo-block-means", "kwargs": kwargs},
        "preprocessing": f"Fashion-MNIST task {task} ({', '.join(ds.class_names)}), a class-stratified "
        f"subset (seed {seed}) of {len(ds.y_train)} training and {len(ds.y_test)} test images, each "
        f"the {p.pool_side} x {p.pool_side} grid of {b} x {b}-pixel block means in [0, 1].",
    }
    return _Data(task, X, y, Xt, yt, n_out, ds.class_names, spec)


def _codes(setting: str, num_layers: int) -> list[Any]:
    """Weight codes per layer: binary, ternary, 2-bit, or mixed (binary hidden, 3-bit output)."""
    from hybridqnn.problems.qcbo import WeightCode

    if setting == "binary":
        return [WeightCode("binary")] * num_layers
    if setting == "ternary":
        return [WeightCode("ternary")] * num_layers
    if setting == "2bit":
        return [WeightCode("kbit", bits=2)] * num_layers
    return [WeightCode("binary")] * (num_layers - 1) + [WeightCode("kbit", bits=3)]


def _sizes(p: QCBOModelParams, d: _Data) -> tuple[int, ...]:
    return (d.X.shape[1], *p.hidden, d.n_out)


def _fit_kwargs(p: QCBOParams, method: str) -> dict[str, Any]:
    from hybridqnn.solvers import MILPSolver, get_sampler

    kind = method.split("-", 1)[1]
    if kind == "milp":
        sampler, solve, kwargs = MILPSolver(), "cqm", {"time_limit": p.milp_time_limit}
    else:
        sampler, solve, kwargs = get_sampler(p.solver), kind, dict(p.sample_kwargs)
    return {
        "sampler": sampler,
        "method": solve,
        "sample_kwargs": kwargs,
        "qcgd_iterations": p.qcgd_iterations,
        "beta0": p.beta0,
    }


_BOX = 1.0  # pooled pixel means lie in [0, 1]


def _network_kwargs(p: QCBOModelParams, num_inputs: int) -> dict[str, Any]:
    """The quantized spline network's description shared by build_qcbo, fit_qcbo and
    fit_greedy_moves: splines, activation bits, the loss, the bias, the input box [0, 1]^d and
    the input grid."""
    return {
        "segments": p.segments,
        "activation_bits": p.activation_bits,
        "loss": p.loss,
        "loss_segments": p.loss_segments,
        "bias": p.bias,
        "input_low": np.zeros(num_inputs),
        "input_high": np.full(num_inputs, _BOX),
        "input_unit": p.input_unit or None,
    }


def _run_qcbo(
    ctx: RunContext,
    p: QCBOParams,
    d: _Data,
    setting: str,
    method: str,
    seed: int,
    n_mono: int | None = None,
    warm_start: Any = None,
) -> tuple[dict[str, Any], Any]:
    """One QCBO method's row and result; ``warm_start`` (a trained network) starts the
    decomposed runs (the monolithic ones start at random, on their own few samples)."""
    from hybridqnn.train.qcbo import fit_qcbo

    sizes = _sizes(p, d)
    codes = _codes(setting, len(sizes) - 1)
    mono = method.startswith("mono")
    warm_start = None if mono else warm_start
    X, y = (d.X[:n_mono], d.y[:n_mono]) if mono else (d.X, d.y)
    kwargs = {**_fit_kwargs(p, method), **_network_kwargs(p, X.shape[1])}
    runs = 1 if mono else p.ph_iterations * p.ph_restarts
    with ctx.phase(f"{method} ({d.task}, {setting})", runs, "QPH iteration") as bar, Timer() as timer:
        res = fit_qcbo(
            X, y, sizes, codes,
            batch_size=X.shape[0] if mono else p.batch_size,
            ph_iterations=1 if mono else p.ph_iterations,
            rho=1e-6 if mono else p.rho,
            rho_growth=p.rho_growth,
            consensus="mean" if mono else p.consensus,
            executor=ctx.executor,
            seed=seed,
            restarts=1 if mono else p.ph_restarts,
            warm_start=warm_start,
            moves=() if mono else tuple(p.moves),
            max_spins=None if mono else p.max_spins or None,
            callback=lambda r: ctx.log(
                task=d.task, setting=setting, method=method, architecture="-".join(map(str, sizes)), **r
            ),
            progress=bar,
            **kwargs,
        )
    seconds = timer.seconds
    calls = res.timing["oracle_calls"]
    row = {
        **_trained_row(method, d, setting, sizes, codes, p.bias, res, X, y, seconds),
        "spins_per_solve": res.spins.get("subproblem_spins_max"),
        "spins_per_solve_mean": res.spins.get("subproblem_spins_mean"),
        "spin_budget": res.spins.get("max_spins"),
        "weight_blocks": res.spins.get("num_blocks", 1),
        "monolithic_spins": res.spins.get("monolithic_spins"),
        "cqm_variables_per_solve": res.spins.get("subproblem_cqm_variables_max"),
        "oracle_calls": int(calls),
        # the subproblems run in parallel: oracle and solve seconds are summed over workers (so
        # they can exceed train_time_s, a wall time); solve_wall_s is the solves' wall time
        "oracle_summed_s": res.timing["oracle_s"],
        "solve_wall_s": res.timing["wall_solve_s"],
        "time_per_call_s": res.timing["oracle_s"] / calls if calls else None,
        "oracle_share": res.timing["oracle_s"] / max(res.timing["solve_s"], 1e-12),
        "restarts": 1 if mono else p.ph_restarts,
        "start": _start_name(warm_start),
        "init_train_accuracy": res.initial["train_accuracy"],
        **_line_search_columns(res.history),
        "improving_solve_fraction": res.improving_solve_fraction,
        **_move_columns(p.moves, res.history),
        "ph_iterations": len(res.history),
        "best_iteration": res.best_iteration,
    }
    return row, res


def _line_search_columns(history: list[dict[str, Any]]) -> dict[str, int]:
    """``accepted_steps`` (iterations whose line search moved a weight) and
    ``line_search_moved_weights`` (the weights it moved in all), from the history's
    ``moved_weights`` (None with the ``mean`` consensus, which has no line search: 0)."""
    moved = [h["moved_weights"] or 0 for h in history]
    return {"accepted_steps": sum(m > 0 for m in moved), "line_search_moved_weights": sum(moved)}


def _move_columns(moves: list[str], history: list[dict[str, Any]]) -> dict[str, int]:
    """Per registered move: ``<move>_moves_applied`` (iterations whose move was kept) and
    ``<move>_errors_removed`` (training errors the kept moves removed: the move's own share of
    the learning); for ``qubo`` also ``qubo_beats_best_pair``, the kept moves that were the
    sampler's answer, ranked above the best single or pair move offered beside it (the Ising
    solve's own win)."""
    out = {}
    for name in moves:
        out[f"{name}_moves_applied"] = sum(bool(h.get(f"{name}_applied")) for h in history)
        out[f"{name}_errors_removed"] = -sum(h.get(f"{name}_error_gain", 0) for h in history)
        if name == "qubo":
            out["qubo_beats_best_pair"] = sum(h.get("qubo_source") == "sampler" for h in history)
    return out


def _trained_row(
    method: str,
    d: _Data,
    setting: str | None,
    sizes: tuple[int, ...],
    codes: list[Any] | None,
    bias: bool,
    res: Any,
    X: np.ndarray,
    y: np.ndarray,
    seconds: float,
) -> dict[str, Any]:
    """The columns every trained network's row has (``codes`` None: full precision)."""
    from hybridqnn.train.qcbo import bits_per_weight

    return {
        "method": method,
        "task": d.task,
        "setting": setting or "fp32",
        "bits_per_weight": 32.0 if codes is None else bits_per_weight(sizes, codes, bias),
        "architecture": "-".join(map(str, sizes)),
        "n_train": X.shape[0],
        "train_accuracy": res.accuracy(X, y),
        "test_accuracy": res.accuracy(d.Xt, d.yt),
        "train_time_s": seconds,
    }


def _start_name(warm_start: Any) -> str:
    """The ``start`` column: ``random`` or the warm start's method (a QAT result)."""
    return "random" if warm_start is None else "qat-quantized-activations"


def _run_greedy(
    ctx: RunContext, p: QCBOParams, d: _Data, setting: str, seed: int, restarts: int = 1, warm_start: Any = None,
    moves: tuple[str, ...] = (),
) -> tuple[dict[str, Any], Any]:
    """The classical control: :func:`fit_greedy_moves` with the QPH runs' network, start
    (``seed`` or ``warm_start``) and iteration count (``greedy-moves``; with ``moves=("pair",)``
    ``greedy-pairs``: QPH's classical parts, its Ising solves left out); with ``restarts`` > 1,
    the multi-start control from random starts, ``control_iterations`` per start
    (``greedy-moves-restarts``). Returns the row and the :class:`QCBOResult`."""
    multi = restarts > 1
    from hybridqnn.train.qcbo import fit_greedy_moves

    sizes = _sizes(p, d)
    codes = _codes(setting, len(sizes) - 1)
    method = "greedy-moves-restarts" if multi else "greedy-pairs" if moves else "greedy-moves"
    iterations = p.control_iterations if multi else p.ph_iterations
    with ctx.phase(f"{method} control ({d.task}, {setting})", iterations * restarts, "iteration") as bar, Timer() as timer:
        res = fit_greedy_moves(
            d.X, d.y, sizes, codes,
            iterations=iterations,
            restarts=restarts,
            warm_start=warm_start,
            seed=seed,
            moves=moves,
            progress=bar,
            **_network_kwargs(p, d.X.shape[1]),
        )
    seconds = timer.seconds
    row = {
        **_trained_row(method, d, setting, sizes, codes, p.bias, res, d.X, d.y, seconds),
        "restarts": restarts,
        "start": _start_name(warm_start),
        "init_train_accuracy": res.initial["train_accuracy"],
        **_line_search_columns(res.history),
        **_move_columns(list(moves), res.history),
        "ph_iterations": len(res.history),
        "best_iteration": res.best_iteration,
    }
    return row, res


def _run_baseline(
    ctx: RunContext, p: QCBOParams, d: _Data, setting: str | None, seed: int, quantized_activations: bool = False
) -> tuple[dict[str, Any], Any]:
    """QAT (full-precision activations, or with ``quantized_activations`` on the QCBO's own
    quantized spline network) at ``setting``; full precision with ``setting=None``. Returns
    the row and the :class:`~hybridqnn.train.qcbo.QATResult`."""
    from hybridqnn.train.qcbo import fit_qat

    sizes = _sizes(p, d)
    codes = None if setting is None else _codes(setting, len(sizes) - 1)
    network = {}
    if quantized_activations:  # QAT's own network takes the splines, activation bits and box
        spec = _network_kwargs(p, d.X.shape[1])
        network = {k: spec[k] for k in ("activation_bits", "segments", "input_low", "input_high")}
    if codes is None:
        method = "full-precision"
    else:
        method = "qat-quantized-activations" if quantized_activations else "qat-ste-adam"
    name = f"{method} ({d.task}, {setting or 'fp32'})"
    with ctx.phase(name, p.qat_epochs * p.qat_restarts, "epoch") as bar, Timer() as timer:
        res = fit_qat(
            d.X, d.y, sizes, codes,
            bias=p.bias,
            epochs=p.qat_epochs,
            lr=p.qat_lr,
            batch_size=p.qat_batch_size,
            seed=seed,
            restarts=p.qat_restarts,
            progress=bar,
            **network,
        )
    seconds = timer.seconds
    return _trained_row(method, d, setting, sizes, codes, p.bias, res, d.X, d.y, seconds), res


def _resource_rows(
    p: QCBOExperimentParams, d: _Data, setting: str, res: Any, timeout: float
) -> list[dict[str, Any]]:
    """Spin formula vs built counts, spline error bounds, hardware estimate of the largest
    subproblem (:func:`_largest_subproblem`: a block model when the run used blocks)."""
    from hybridqnn.problems.penalty import penalty_bqm
    from hybridqnn.problems.splines import activation_spline, error_bound, loss_spline, max_error
    from hybridqnn.solvers import hardware_estimate
    from hybridqnn.train.qcbo.network import _Build

    rows = []
    spins = res.spins
    rows.append(
        {
            "method": "spin-count",
            "task": d.task,
            "setting": setting,
            "n_train": d.X.shape[0],
            **{k: spins[k] for k in sorted(spins)},
        }
    )
    lb = res.network.fip.layers[0]
    j = int(np.argmax(lb.high - lb.low))
    lo, hi = float(lb.low[j]), float(lb.high[j])
    act = activation_spline("relu", lo, hi, p.segments)
    loss_sp = res.network.loss_splines[0]
    lname = "logistic" if p.loss == "cross-entropy" else p.loss
    rows.append(
        {
            "method": "spline-error",
            "task": d.task,
            "setting": setting,
            "activation_interval": f"[{lo:.3g}, {hi:.3g}]",
            "activation_segments": p.segments,
            # relu has a kink: the h^2/8 bound needs f'' and is infinite when the kink is inside a
            # segment (odd M on a symmetric range); the measured error is what we report then
            "activation_bound": _finite_or_none(error_bound("relu", lo, hi, p.segments)),
            "activation_max_error": max_error("relu", act),
            "loss_interval": f"[{loss_sp.knots[0]:.3g}, {loss_sp.knots[-1]:.3g}]",
            "loss_segments": p.loss_segments,
            "loss_bound": error_bound(
                lname, float(loss_sp.knots[0]), float(loss_sp.knots[-1]), p.loss_segments
            ),
            "loss_max_error": max_error(
                lname,
                loss_spline(
                    lname, float(loss_sp.knots[0]), float(loss_sp.knots[-1]), p.loss_segments
                ),
            ),
        }
    )
    net = res.network
    build = _Build(
        net.sizes,
        tuple(res.codes),
        net.fip,
        net.activation_bits,
        p.loss,
        p.loss_segments,
        "variables",
    )
    bqm, _, _ = penalty_bqm(_largest_subproblem(d, build, res).cqm)
    rows.append(
        {
            "method": "hardware-estimate",
            "task": d.task,
            "setting": setting,
            **hardware_estimate(bqm, timeout=timeout),
        }
    )
    return rows


def _largest_subproblem(d: _Data, build: Any, res: Any) -> Any:
    """The largest (most CQM variables) sample-wise subproblem over the first 50 training
    samples at the trained network: over every weight, or, when the run split the weights
    into blocks of its spin budget (``res.spins["num_blocks"]`` > 1), over the blocks that
    :func:`~hybridqnn.train.qcbo.plan_blocks` makes for that budget at the trained network (the
    run planned its blocks at its start, so they may differ by a row or two)."""
    from hybridqnn.train.qcbo import plan_blocks

    ids = range(min(50, len(d.y)))
    blocks: list[Any] = [None]
    if res.spins.get("num_blocks", 1) > 1:
        blocks = plan_blocks(
            build, d.X, d.y, [[i] for i in ids], res.weights, res.spins["max_spins"]
        )
    models = (
        build.model(d.X[i : i + 1], d.y[i : i + 1], [i], block, res.weights)
        for block in blocks
        for i in ids
    )
    return max(models, key=lambda m: m.counts["total"])


def _finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _add_row(
    ctx: RunContext,
    row: dict[str, Any],
    d: _Data | None = None,
    model: Any = None,
    training: dict[str, Any] | None = None,
) -> None:
    """Record a Fashion-MNIST row with the identity columns every row carries (method,
    dataset, setting); with ``model``, save it beside the row (its classes and test inputs
    from ``d``; ``training``: the size of one training solve, default the kind's own)."""
    full = {"method": row["method"], "dataset": "fashion-mnist", **row}
    ctx.add_row(full)
    if model is not None and d is not None:
        ctx.save_model(model, full, classes=list(d.classes), data=d.spec, training=training)


def _qcbo_training(p: QCBOParams, method: str, res: Any) -> dict[str, Any]:
    """The size of one training solve of a QCBO method (spins from the result) and its oracle."""
    from hybridqnn.deploy.kinds.qcbo import training_problem

    oracle = "milp" if method.endswith("milp") else p.solver
    return {**(training_problem(res) or {}), "solver": oracle, "method": method}


def run_qcbo_fmnist(ctx: RunContext, p: QCBOExperimentParams) -> None:
    """Every task x hidden width x setting: QAT, full precision, then the QCBO methods and the
    classical control, all of these from one random start per (task, setting) (paired
    comparisons). Each width h is the network n_0-h-n_out (``hidden`` is a sweep here).

    Seeds are keyed by name: the data ``("data", task)``, full precision
    ``("full-precision", task)``, both QAT runs ``("qat", task, setting)`` (the same start) and
    every QCBO method and control ``("start", task, setting)``."""
    results: dict[tuple[str, str], dict[str, float]] = {}
    histories: dict[str, list[float]] = {}
    per_setting = 2 + int(p.greedy_control) + int(p.pair_control) + int(bool(p.control_restarts)) + len(p.methods)
    # outer bar: the networks trained; closed by the runner
    total = len(p.tasks) * len(p.hidden) * (1 + len(p.settings) * per_setting)
    outer = ctx.phase(ctx.config.name, total, "network")
    resource_done = False
    for task in p.tasks:
        d = _data(p, task, p.train_size, p.test_size, ctx.seed_for("data", task), ctx.data_dir)
        for width in p.hidden:
            pw = replace(p, hidden=[width])
            fp, fp_res = _run_baseline(ctx, pw, d, None, ctx.seed_for("full-precision", task))
            _add_row(ctx, fp, d, fp_res)
            outer.advance()
            for setting in p.settings:
                label = setting if len(p.hidden) == 1 else f"{setting} h{width}"
                accuracy, losses, added = _run_setting(ctx, pw, d, setting, outer, not resource_done)
                resource_done = resource_done or added
                histories.update({f"{task} {label} {m}": h for m, h in losses.items()})
                results[(task, label)] = {**accuracy, "full-precision": fp["test_accuracy"]}
    _plot(ctx, results, histories)
    _summarise(ctx, p, ctx.rows)


def _run_setting(
    ctx: RunContext, p: QCBOExperimentParams, d: _Data, setting: str, outer: Any, resources: bool
) -> tuple[dict[str, float], dict[str, list[float]], bool]:
    """One (task, width, setting) of :func:`run_qcbo_fmnist`: its rows; returns the test
    accuracy per method, the QPH training loss per iteration per method, and whether the
    resource rows were added (after the first QPH method, when ``resources``)."""
    task = d.task
    qat_seed = ctx.seed_for("qat", task, setting)
    qat, qat_res = _run_baseline(ctx, p, d, setting, qat_seed)
    # the same network as the QCBO's, activations included (same seed: same start)
    qat_q, qat_q_res = _run_baseline(ctx, p, d, setting, qat_seed, quantized_activations=True)
    warm = qat_q_res if p.ph_start == "qat" else None
    _add_row(ctx, qat, d, qat_res)
    _add_row(ctx, qat_q, d, qat_q_res)
    outer.advance(2)
    out = {"qat-ste-adam": qat["test_accuracy"], "qat-quantized-activations": qat_q["test_accuracy"]}
    histories: dict[str, list[float]] = {}
    added = False
    start_seed = ctx.seed_for("start", task, setting)
    controls = [(1, warm, ())] if p.greedy_control else []
    controls += [(1, warm, ("pair",))] if p.pair_control else []
    controls += [(p.control_restarts, None, ())] if p.control_restarts else []
    for restarts, start, moves in controls:
        row, res = _run_greedy(ctx, p, d, setting, start_seed, restarts, start, moves)
        method = row["method"]
        _versus_qat(row, qat, qat_q)
        _add_row(ctx, row, d, res)
        out[method] = row["test_accuracy"]
        outer.advance()
    for method in p.methods:
        row, res = _run_qcbo(ctx, p, d, setting, method, start_seed, p.mono_train_size, warm)
        if not method.startswith("mono"):
            _versus_qat(row, qat, qat_q)
        _add_row(ctx, row, d, res, _qcbo_training(p, method, res))
        out[method] = row["test_accuracy"]
        histories[method] = [h["train_loss"] for h in res.history]
        outer.advance()
        if resources and not added and method.startswith("qph"):
            with ctx.phase("spin counts and hardware estimate", 1):
                for r in _resource_rows(p, d, setting, res, p.hardware_timeout):
                    _add_row(ctx, r)
            added = True
    return out, histories, added


def _versus_qat(row: dict[str, Any], qat: dict[str, Any], qat_q: dict[str, Any]) -> None:
    """Test accuracy minus QAT's, with full-precision and with quantized activations."""
    row["accuracy_vs_qat"] = row["test_accuracy"] - qat["test_accuracy"]
    row["accuracy_vs_qat_quantized_activations"] = row["test_accuracy"] - qat_q["test_accuracy"]


def _plot(
    ctx: RunContext,
    results: dict[tuple[str, str], dict[str, float]],
    histories: dict[str, list[float]],
) -> None:
    """Test accuracy per weight setting, one panel per task and a point per method; and the
    training spline loss over the QPH iterations."""
    panels = []
    for task in dict.fromkeys(t for t, _ in results):
        settings = [s for t, s in results if t == task]
        methods = list(dict.fromkeys(m for s in settings for m in results[(task, s)]))
        panels.append(Panel(f"task {task}: test accuracy per method", "weight setting", "test accuracy", [
            Series(m, settings, [results[(task, s)].get(m) for s in settings]) for m in methods
        ]))
    plot_panels(ctx, "accuracy", panels, title="QCBO vs QAT vs full precision (Fashion-MNIST)")
    loss = [Series(name, list(range(len(h))), h) for name, h in histories.items() if len(h) > 1]
    plot_panels(ctx, "qph_loss", [Panel("QPH: training loss per iteration", "QPH iteration", "training spline loss (mean)", loss)],
                title="QCBO: training spline loss per QPH iteration")


_PAIRED_CONTROLS = (
    ("greedy-moves", "the same line search from the same start, no subproblems", "the line search"),
    (
        "greedy-pairs",
        "the same line search and the QUBO move's exact best single or pair move, from the same "
        "start: every classical part of QPH, none of its Ising solves",
        "the line search and the pair search",
    ),
)
"""The single-start controls QPH is paired with in the notes: (method, what it is, what did the
learning where QPH matches it)."""


def _summarise(ctx: RunContext, p: QCBOExperimentParams, rows: list[dict[str, Any]]) -> None:
    acc = [r for r in rows if "test_accuracy" in r]
    for method, what, who in _PAIRED_CONTROLS:
        control = {(r["task"], r["setting"]): r for r in acc if r["method"] == method}
        paired = [
            (r, control[(r["task"], r["setting"])])
            for r in acc
            if r["method"].startswith("qph") and (r["task"], r["setting"]) in control
        ]
        if paired:
            ctx.note(
                f"Decomposed QPH minus the classical control {method} ({what}), test accuracy: "
                + ", ".join(
                    f"{r['method']} {r['task']} {r['setting']}: {r['test_accuracy'] - c['test_accuracy']:+.4f} "
                    f"({r['train_time_s']:.0f} s vs {c['train_time_s']:.1f} s)"
                    for r, c in paired
                )
                + f". Where this is near zero, {who}, not QPH's Ising solves, did the learning."
            )
    multi = [r for r in acc if r["method"] == "greedy-moves-restarts" and r["task"] != "all"]
    if multi:
        ctx.note(
            f"Multi-start classical control (best training score of {multi[0]['restarts']} random "
            "starts of the line search, no subproblems), test accuracy minus QAT: "
            + ", ".join(
                f"{r['task']} {r['setting']}: {r['accuracy_vs_qat']:+.4f} ({r['train_time_s']:.0f} s)"
                for r in multi
            )
            + ". The single-start runs (greedy-moves, QPH) stop at start-dependent local optima."
        )
    versus = [
        r
        for r in acc
        if r["task"] != "all" and "accuracy_vs_qat" in r and r["method"].startswith("qph")
    ]
    if versus:
        start = (
            "from the qat-quantized-activations network (QAT pretraining, then QPH: the second "
            "figure is what QPH added to its start)"
            if p.ph_start == "qat"
            else "from random starts"
        )
        ctx.note(
            f"Goal (two-class tasks, within 1 point of QAT at the same bits), QPH {start}, test "
            "accuracy minus QAT with full-precision activations / minus QAT on the QCBO's own "
            "quantized-activation network: "
            + ", ".join(
                f"{r['method']} {r['task']} {r['setting']}: {r['accuracy_vs_qat']:+.4f} / "
                f"{r['accuracy_vs_qat_quantized_activations']:+.4f}"
                for r in versus
            )
            + "."
        )
    ten = [r for r in acc if r["task"] == "all"]
    if ten:
        ctx.note(
            "10-class test accuracy: "
            + ", ".join(f"{r['method']} {r['setting']}: {r['test_accuracy']:.4f}" for r in ten)
        )
    spin = [r for r in rows if r.get("method") == "spin-count"]
    for r in spin:
        if r.get("monolithic_spins") is None:
            continue
        ctx.note(
            f"Spins ({r['task']}, {r['setting']}, n={r['n_train']}): monolithic {r['monolithic_spins']} vs "
            f"{r['subproblem_spins_max']} per decomposed solve ({r['spin_ratio']:.1f}x fewer; formula bound "
            f"{r['formula_monolithic']} / {r['formula_subproblem']})."
        )
    per_solve = [r for r in acc if r["method"].startswith("qph") and r.get("spins_per_solve")]
    if per_solve:
        ctx.note(
            f"Spins per QPH solve, largest / mean (budget {p.max_spins or 'none'}; weight blocks): "
            + ", ".join(
                f"{r['task']} {r['architecture']} {r['setting']}: {r['spins_per_solve']} / "
                f"{r['spins_per_solve_mean']:.0f} ({r['weight_blocks']})"
                for r in per_solve
            )
            + "."
        )


def headline_fmnist(rows: list[dict[str, Any]], p: Any = None) -> str:
    """The best decomposed (QPH) row against QAT and against the single-start classical controls
    from the same start, then the paper's 94.95 % and how many two-class QCBO rows at
    <= 1.1 bits per weight reach it (1-bit rows, and mixed ones where the 3-bit output layer is
    a small share: 1.05 bits on 7 x 7 inputs, 1.14 on 4 x 4)."""
    acc = [r for r in rows if r.get("test_accuracy") is not None]
    best = max((r for r in acc if r["method"].startswith("qph")), key=lambda r: r["test_accuracy"], default=None)
    qcbo = [
        r for r in acc
        if r["method"].startswith(("qph", "mono")) and r.get("task") != "all"
        and float(r.get("bits_per_weight") or 32) <= PAPER_BITS
    ]
    reach = [r for r in qcbo if r["test_accuracy"] >= PAPER_ACCURACY]
    text = "no QPH row"
    if best is not None:
        text = f"best QPH: {best['method']} {best['task']} {best['setting']} {best['test_accuracy']:.3f}"
        if best.get("accuracy_vs_qat") is not None:
            text += f" ({best['accuracy_vs_qat']:+.3f} vs QAT"
            for method, _, _ in _PAIRED_CONTROLS:
                control = next((r for r in acc if r["method"] == method and r["task"] == best["task"]
                                and r["setting"] == best["setting"]), None)
                text += f", {best['test_accuracy'] - control['test_accuracy']:+.3f} vs {method}" if control else ""
            text += ")"
    return text + (
        f"; paper: {100 * PAPER_ACCURACY:.2f} % at {PAPER_BITS} bits on a CIM (task not stated), "
        f"reached by {len(reach)} of the {len(qcbo)} two-class QCBO rows at <= {PAPER_BITS} bits here"
    )


register(
    Experiment(
        name="qcbo-fmnist",
        params=QCBOExperimentParams,
        run=run_qcbo_fmnist,
        description="QCBO training (splines, FIP, QCGD, QPH) vs QAT and full precision on Fashion-MNIST (arXiv 2506.18240)",
        paper=PAPER_CLAIMS,
        headline=headline_fmnist,
        key_columns=("bits_per_weight", "test_accuracy", "accuracy_vs_qat", "train_time_s", "spins_per_solve"),
    )
)


# --------------------------------------------------------------------------------------------


def _convergence_model(p: QCBOConvergenceParams, data_dir: Any, seed: int) -> Any:
    """The integer-exact QCBO (``input_unit``) of the first ``num_samples`` training samples."""
    from hybridqnn.problems.qcbo import build_qcbo

    d = _data(p, p.task, max(p.num_samples, 2), 2, seed, data_dir)
    sizes = _sizes(p, d)
    codes = _codes(p.setting, len(sizes) - 1)
    n = p.num_samples
    return build_qcbo(d.X[:n], d.y[:n], sizes, codes, **_network_kwargs(p, d.X.shape[1]))


def _convergence_start(model: Any, seed: int) -> dict | None:
    """A feasible start: the completion of seeded uniformly random weight levels."""
    rng = np.random.default_rng(seed)
    shapes = model.network.weight_shapes()
    return model.complete(
        [rng.choice(c.levels, size=s) for c, s in zip(model.network.codes, shapes, strict=True)]
    )


# The exact oracle is the noise-free reference: a perturbed or rounded QUBO no longer holds the
# lifted rows' squares exactly, so MILPSolver falls back to the product linearisation, which
# proved no call in 20 s on the 2-sample 16-4-1 model (8 bits, and noise 0.01 with 8 bits).
_EXACT_SETTINGS = [{"variance": 0.0, "bits": None}]


def run_qcbo_convergence(ctx: RunContext, p: QCBOConvergenceParams) -> None:
    """QCGD traces per (oracle, noise variance, coefficient bits), with the exact optimum.

    Each row carries :func:`hybridqnn.solvers.qcgd.trace_summary`'s columns
    (``feasible_atom_fraction`` over the second half, ``gap_to_optimum_pct`` of the best
    feasible atom against the MILP optimum, ``infeasibility_slope``, ``rsqrt_nonincreasing``,
    ``found_feasible``). The oracle ``milp`` solves each QUBO exactly (HiGHS with the lifted
    rows' squares, :class:`~hybridqnn.solvers.milp.MILPSolver`; up to ``milp_time_limit``
    seconds per call), in the noise-free, full-precision setting only (``_EXACT_SETTINGS``).
    """
    from hybridqnn.solvers import MILPSolver, get_sampler
    from hybridqnn.solvers.qcgd import qcgd_convergence

    model = _convergence_model(p, ctx.data_dir, ctx.seed_for("model"))
    with ctx.phase("exact optimum (MILP)", 1), Timer() as timer:
        exact = MILPSolver().sample_cqm(model.cqm, time_limit=max(p.milp_time_limit, 60.0))
    exact_s = timer.seconds
    optimum = float(exact.first.energy)
    ctx.add_row(
        {
            "method": "milp",
            "dataset": "fashion-mnist",
            "oracle": "exact (milp cqm)",
            "setting": "exact (milp)",
            "variance": None,
            "bits": None,
            "final_objective": optimum,
            "feasible": bool(exact.first.is_feasible),
            "gap": 0.0,
            "seconds": exact_s,
            "optimal": bool(exact.info["milp"]["optimal"]),
            "objective_range": model.objective_range,
            **{f"count_{k}": v for k, v in model.counts.items()},
        }
    )
    x0 = _convergence_start(model, ctx.seed_for("start")) if p.warm_start else None
    settings = [
        {"variance": v, "bits": (b or None)} for v in p.variances for b in p.coefficient_bits
    ]
    traces: list[tuple[str, list[dict[str, Any]]]] = []
    for oracle in ctx.progress(p.oracles, desc="QCGD traces (noise x bits settings)", unit="oracle"):
        sampler = MILPSolver() if oracle == "milp" else get_sampler(oracle)
        kwargs = {"time_limit": p.milp_time_limit} if oracle == "milp" else p.sample_kwargs
        out = qcgd_convergence(
            model.cqm,
            _EXACT_SETTINGS if oracle == "milp" else settings,
            sampler=sampler,
            iterations=p.iterations,
            beta0=p.beta0,
            sample_kwargs=kwargs,
            seed=ctx.seed_for("qcgd"),
            # 0.0: the loss is constant over FIP's range; qcgd then scales by Delta_f
            objective_range=model.objective_range or None,
            optimum=optimum,
            x0=x0,
            precondition=p.precondition,
        )
        for r in out:
            label = f"{oracle}, var={r['variance']:g}, bits={r['bits'] or 'full'}"
            traces.append((label, r["trace"]))
            for t in r["trace"]:
                ctx.log(oracle=oracle, variance=r["variance"], bits=r["bits"], **t)
            ctx.add_row(
                {**_convergence_row(oracle, label, r, optimum, p.warm_start), "precondition": p.precondition}
            )
    _plot_traces(ctx, traces, optimum)
    ctx.note(
        f"Integer-exact QCBO (input unit {p.input_unit:g}) of {p.num_samples} sample(s), "
        f"{model.counts['total']} CQM variables; exact optimum {optimum:.4g} (MILP, "
        f"{exact_s:.1f} s). QCGD ran {'from a feasible warm start' if p.warm_start else 'cold'}"
        " (no repair: this is QCGD as the paper describes it)."
    )


def _plot_traces(ctx: RunContext, traces: list[tuple[str, list[dict[str, Any]]]], optimum: float) -> None:
    """Lifted objective, best feasible objective (beside the exact optimum) and constraint
    infeasibility ||r(X_t)|| (log-log, where O(1/sqrt(t)) is a line of slope -1/2) against the
    QCGD iteration, one series per (oracle, noise, bits)."""
    def series(key: str) -> list[Series]:
        return [Series(label, [t["iteration"] + 1 for t in trace], [t[key] for t in trace])
                for label, trace in traces]

    its = sorted({t["iteration"] + 1 for _, trace in traces for t in trace})
    exact = [Series("exact optimum (MILP)", its, [optimum] * len(its), reference=True)] if its else []
    infeasibility = [Series(label, [t["iteration"] + 1 for t in trace],
                            [max(t["infeasibility"], 1e-12) for t in trace]) for label, trace in traces]
    plot_panels(ctx, "qcgd_convergence", [
        Panel("lifted objective", "QCGD iteration t", "objective", series("objective") + exact),
        Panel("best feasible atom", "QCGD iteration t", "objective", series("best_feasible") + exact),
        Panel("infeasibility", "QCGD iteration t", "||r(X_t)||", infeasibility),
    ], title="QCGD on the QCBO: objective and infeasibility per iteration")


def _convergence_row(
    oracle: str, label: str, r: dict[str, Any], optimum: float, warm: bool
) -> dict[str, Any]:
    keys = (
        "feasible_atom_fraction",
        "found_feasible",
        "gap_to_optimum_pct",
        "infeasibility_slope",
        "rsqrt_nonincreasing",
        "final_infeasibility",
        "oracle_optimal_fraction",
    )
    return {
        "oracle": oracle,
        "setting": label,
        "variance": r["variance"],
        "bits": r["bits"],
        "warm_start": warm,
        "final_objective": r["final_objective"],
        "feasible": r["feasible"],
        "gap": r["final_objective"] - optimum if r["feasible"] else None,
        "seconds": r["oracle_seconds"],
        "first_infeasibility": r["trace"][0]["infeasibility"],
        "final_constraint_infeasibility": r["trace"][-1]["constraint_infeasibility"],
        "feasible_samples": sum(t["sample_feasible"] for t in r["trace"]),
        **{k: r[k] for k in keys},
    }


def headline_convergence(rows: list[dict[str, Any]], p: Any = None) -> str:
    """In how many (oracle, noise, bits) settings QCGD found a feasible point, and the smallest
    gap of its best feasible atom to the exact (MILP) optimum."""
    runs = [r for r in rows if r.get("variance") is not None]
    feas = [r for r in runs if r["found_feasible"]]
    gaps = [r["gap_to_optimum_pct"] for r in feas if r.get("gap_to_optimum_pct") is not None]
    text = f"QCGD found a feasible point in {len(feas)} of {len(runs)} (oracle, noise, bits) settings"
    text += f", best gap to the MILP optimum {min(gaps):.2f}%" if gaps else ""
    return text + "; paper: convergence under a noisy, limited-precision oracle proved (no plots public)"


register(
    Experiment(
        name="qcbo-convergence",
        params=QCBOConvergenceParams,
        run=run_qcbo_convergence,
        description="QCGD objective and infeasibility vs iterations under noisy / limited-precision oracles",
        headline=headline_convergence,
        key_columns=("oracle", "feasible", "found_feasible", "gap_to_optimum_pct", "final_infeasibility", "seconds"),
        paper=(
            {
                "claim": "QCGD converges under a noisy, limited-precision oracle",
                "paper": "proved (no plots public)",
            },
        ),
    )
)


# --------------------------------------------------------------------------------------------


def run_bench_qcbo(ctx: RunContext, p: QCBOBenchParams) -> None:
    """QPH training time on ``train_size`` two-class samples vs QAT, median over repeats.

    Keyed seeds: data ``("data", task)``, QAT repeat r ``("qat", task, setting, r)``, QPH
    repeat r ``("start", task, setting, r)``; the classical controls start from repeat 0's
    start, so they are paired with the first QPH run."""
    d = _data(p, p.task, p.train_size, p.test_size, ctx.seed_for("data", p.task), ctx.data_dir)
    case = f"fmnist-{p.task}-n{d.X.shape[0]}-{p.setting}"
    qat_seeds = [ctx.seed_for("qat", p.task, p.setting, r) for r in range(p.repeats)]
    starts = [ctx.seed_for("start", p.task, p.setting, r) for r in range(p.repeats)]
    qat = [_run_baseline(ctx, p, d, p.setting, seed)[0] for seed in qat_seeds]
    qat_s = statistics.median(r["train_time_s"] for r in qat)
    ctx.add_row(_bench_row(case, _BENCH_BASELINE, qat, qat_s))
    qat_q = [_run_baseline(ctx, p, d, p.setting, seed, quantized_activations=True)[0] for seed in qat_seeds]
    ctx.add_row(_bench_row(case, "qat-quantized-activations (the QCBO's network)", qat_q, qat_s))
    qph = [_run_qcbo(ctx, p, d, p.setting, "qph-qcgd", seed)[0] for seed in starts]
    s = statistics.median(r["train_time_s"] for r in qph)
    target = {"meets_target": bool(s <= p.target_seconds), "target_seconds": p.target_seconds}
    columns = (*_BENCH_QPH_COLUMNS, *_move_columns(p.moves, []))
    ctx.add_row(_bench_row(case, f"qph-qcgd[{p.solver}]", qph, qat_s, columns, **target))
    _bench_controls(ctx, p, d, case, starts[0], qat_s)
    r0 = qph[0]
    ctx.note(
        f"QPH on {d.X.shape[0]} samples: {s:.1f} s (target {p.target_seconds:g} s), {r0['oracle_calls']} oracle calls "
        f"at {1e3 * (r0['time_per_call_s'] or math.nan):.2f} ms each, {100 * r0['oracle_share']:.1f} % of the "
        "subproblem time in the oracle."
    )
    _note_bench_baseline(ctx)


_BENCH_BASELINE = "qat-ste-adam"

#: The columns a bench qcbo QPH row copies from its first repeat's ``qcbo-fmnist`` row.
_BENCH_QPH_COLUMNS = (
    "oracle_calls", "time_per_call_s", "oracle_share", "spins_per_solve", "monolithic_spins", "train_accuracy",
    "init_train_accuracy", "accepted_steps", "line_search_moved_weights", "improving_solve_fraction",
    "ph_iterations",
)
"""The QPH row's columns in ``bench qcbo``, then its moves' (:func:`_move_columns`)."""


def _bench_row(
    case: str,
    impl: str,
    runs: list[dict[str, Any]],
    baseline_s: float,
    columns: tuple[str, ...] = (),
    **extra: Any,
) -> dict[str, Any]:
    """One ``bench qcbo`` row of ``impl`` from its repeats' trained-network rows ``runs``:
    ``seconds`` and ``test_accuracy`` are medians over the repeats, ``speedup_vs_baseline`` is
    ``baseline_s / seconds`` (``baseline_s``: QAT's median training seconds), then ``extra``,
    then ``columns`` copied from the first repeat."""
    seconds = statistics.median(r["train_time_s"] for r in runs)
    return {
        "case": case,
        "impl": impl,
        "seconds": seconds,
        "baseline": _BENCH_BASELINE,
        "speedup_vs_baseline": baseline_s / seconds,
        "test_accuracy": statistics.median(r["test_accuracy"] for r in runs),
        **extra,
        **{k: runs[0][k] for k in columns},
    }


def _bench_controls(ctx: RunContext, p: QCBOBenchParams, d: _Data, case: str, seed: int, qat_s: float) -> None:
    """The classical controls' rows, from the first QPH repeat's start ``seed``: the line search
    from that start (``greedy_control``), with the exact pair move (``pair_control``) and the
    best of ``control_restarts`` starts."""
    columns = ("train_accuracy", "init_train_accuracy", "accepted_steps", "ph_iterations")
    if p.greedy_control:
        g, _ = _run_greedy(ctx, p, d, p.setting, seed)
        ctx.add_row(_bench_row(case, "greedy-moves (classical control)", [g], qat_s, columns))
    if p.pair_control:
        g, _ = _run_greedy(ctx, p, d, p.setting, seed, moves=("pair",))
        impl = "greedy-pairs: line search and exact pair move (classical control)"
        pair = ("pair_moves_applied", "pair_errors_removed")
        ctx.add_row(_bench_row(case, impl, [g], qat_s, (*columns, *pair)))
    if p.control_restarts:
        g, _ = _run_greedy(ctx, p, d, p.setting, seed, restarts=p.control_restarts)
        impl = f"greedy-moves, best of {p.control_restarts} starts (classical control)"
        ctx.add_row(_bench_row(case, impl, [g], qat_s, ("train_accuracy",)))


def _note_bench_baseline(ctx: RunContext) -> None:
    """bench qcbo's baseline, and why it is the fair one (:func:`toolkit.note_baseline`)."""
    from hybridqnn.experiments.toolkit import note_baseline

    note_baseline(
        ctx,
        "qat-ste-adam, quantization-aware training (straight-through estimator, Adam) of the same network on the same samples",
        "it is the classical way to train the same low-bit network on the same data, timed the same way (training "
        "only, median over the same repeats); the QAT row with quantized activations trains exactly the QCBO's network.",
    )


def headline_bench(rows: list[dict[str, Any]], p: Any = None) -> str:
    """The QPH training time against QAT's, judged against the 10-minute target."""
    return bench_headline(rows, "QPH training under 10 minutes on 2 cores")


register(
    Experiment(
        name="bench-qcbo",
        headline=headline_bench,
        key_columns=("seconds", "speedup_vs_baseline", "meets_target", "test_accuracy"),
        params=QCBOBenchParams,
        run=run_bench_qcbo,
        description="Decomposed + QPH QCBO training on 1,000 two-class Fashion-MNIST samples (target < 10 min)",
        kind="bench",
        paper=(
            {
                "claim": "training time",
                "paper": "significantly reduced vs classical QAT (v4 TL;DR)",
            },
        ),
    )
)
