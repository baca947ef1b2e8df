"""What the QP-SBGD experiments share: method names, the paper's column labels, the settings
(paper / best effort), the training params, one training run of a binary classifier, the
summary row and the gap-to-baseline notes.

The models, loops and data preparation are library code (:mod:`hybridqnn.nn.models`,
:mod:`hybridqnn.train.loops`, :mod:`hybridqnn.data.prepare`); aggregation, paper columns and
plots come from :mod:`hybridqnn.experiments.toolkit`.
"""

from __future__ import annotations

import dataclasses
import functools
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from hybridqnn.experiments.context import RunContext
from hybridqnn.experiments.params import (
    COUNT,
    MAX_WIDTH,
    POSITIVE,
    check_declared,
    list_field,
    param,
    solver_field,
)
from hybridqnn.experiments.plots import Panel, Series, plot_panels
from hybridqnn.experiments.registry import Experiment, register
from hybridqnn.experiments.toolkit import aggregate, seed_summary
from hybridqnn.optim.names import FULL_PRECISION_NAMES, QPSBGD_VARIANTS
from hybridqnn.solvers.keywords import check_sample_kwargs

if TYPE_CHECKING:  # torch and the training loops load when a run starts, not with the config
    import torch
    from torch import nn

QP_METHODS: tuple[str, ...] = tuple(QPSBGD_VARIANTS)
BINARY_BASELINES: tuple[str, ...] = ("bc-sgd", "bc-signsgd", "proxquant")
FP_METHODS: tuple[str, ...] = FULL_PRECISION_NAMES
METHODS: tuple[str, ...] = QP_METHODS + BINARY_BASELINES + FP_METHODS
SETTINGS: tuple[str, ...] = ("paper", "best")

#: Which of the paper's columns each of our methods is compared with.
PAPER_LABEL = {
    "qpsbgd-sm": "QP-SBGD (Gurobi)",
    "qpsbgd-xnor": "QP-SBGD (D-Wave)",
    "bc-sgd": "BC-SGD",
    "bc-signsgd": "BC-signSGD",
    "proxquant": "ProxQuant",
}

#: Learning rates of the authors' 2-layer D-Wave notebook (SGD 0.01, signSGD 0.005, QP-SBGD
#: 0.008), used for the a1a 2-layer net and the MNIST pairs.
TWO_LAYER_LR: dict[str, float] = {
    "qpsbgd-ls": 0.008,
    "qpsbgd-sm": 0.008,
    "qpsbgd-xnor": 0.008,
    "bc-sgd": 0.01,
    "bc-signsgd": 0.005,
    "proxquant": 0.01,
    "sgd": 0.01,
    "adam": 0.01,
}


def paper_value(table: dict[str, float], method: str) -> float | None:
    """The paper's number for our method (every qpsbgd-* variant maps to the Gurobi column when
    the paper has no column of its own for it)."""
    label = PAPER_LABEL.get(method)
    if label is None and method in QP_METHODS:
        label = "QP-SBGD (Gurobi)"
    return table.get(label) if label else None


def lr_default(**values: float) -> Any:
    """The ``lr`` field: a learning rate > 0 per method (defaults ``values``)."""
    return param(
        default_factory=lambda: dict(values), help="learning rate per method", **POSITIVE
    )


# --------------------------------------------------------------------------- settings


def check_best_effort(p: Any) -> None:
    """Validate the ``best_effort`` overrides, keys and values, by building the best setting
    (every message names ``best_effort``). Called last in ``__post_init__``, after ``p``'s own
    rules, so an error here is one of the overrides."""
    valid = [
        f.name
        for f in dataclasses.fields(p)
        if f.init and f.name not in ("settings", "best_effort")
    ]
    for key in p.best_effort:
        if key not in valid:
            raise ValueError(
                f"'best_effort' has unknown key {key!r}; valid keys: {', '.join(valid)}"
            )
    setting(p, "best")


def setting(p: Any, name: str) -> Any:
    """The params of setting ``name``: ``p`` itself for paper, ``p`` with ``best_effort`` applied
    for best (the per-method / per-data-set tables ``lr`` and ``epochs`` merge key by key)."""
    if name == "paper" or not p.best_effort:
        return p
    merged = dict(p.best_effort)
    for key, value in merged.items():
        base = getattr(p, key, None)
        if key in ("lr", "epochs") and isinstance(value, dict) and isinstance(base, dict):
            merged[key] = {**base, **value}
    try:
        return dataclasses.replace(p, **merged, best_effort={}, settings=["paper"])
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"'best_effort': {' '.join(str(exc).split())}") from None


def check_lr(methods: Sequence[str], lr: dict[str, float]) -> None:
    """Every method in ``methods`` has a learning rate in ``lr``."""
    for m in methods:
        if m not in lr:
            raise ValueError(
                f"'lr' must give a learning rate for method {m!r}, got keys {sorted(lr)}"
            )


def run_seeds(ctx: RunContext, repeats: int, dataset: str, setting_name: str) -> list[int]:
    """The keyed seeds of the ``repeats`` runs of one (data set, setting):
    ``ctx.seed_for(dataset, setting, repeat)``, derived from the run's master ``--seed``.

    Every method of that (data set, setting) gets the same seeds, so the methods start from the
    same initial weights and see the same batches (a paired comparison); adding a method, a data
    set or a setting changes no other row's seeds."""
    return [ctx.seed_for(dataset, setting_name, r) for r in range(repeats)]


# --------------------------------------------------------------------------- params




@dataclass(frozen=True)
class TrainParams:
    """Keys shared by the training experiments."""

    methods: list[str] = list_field(
        "qpsbgd-ls",
        "bc-sgd",
        "bc-signsgd",
        "proxquant",
        help="methods to run (see the package docstring)",
        choices=METHODS,
        nonempty=True,
    )
    lr: dict[str, float] = lr_default(
        **{
            "qpsbgd-ls": 0.1,
            "qpsbgd-sm": 0.1,
            "qpsbgd-xnor": 0.1,
            "bc-sgd": 0.01,
            "bc-signsgd": 0.02,
            "proxquant": 0.1,
            "sgd": 0.01,
            "adam": 0.01,
        }
    )
    repeats: int = param(
        5, help="runs per (method, data set, setting), keyed seeds (init and batches)", **COUNT
    )
    solver: str = solver_field("dense-sa", help="sampler for qpsbgd-ls and qpsbgd-xnor")
    sample_kwargs: dict[str, Any] = field(
        default_factory=dict, metadata={"help": "passed to the sampler (checked against solver)"}
    )
    exact_solver: str = solver_field(
        "milp", help="solver of qpsbgd-sm (Gurobi stand-in)", kwargs="exact_sample_kwargs"
    )
    exact_sample_kwargs: dict[str, Any] = field(
        default_factory=dict, metadata={"help": "passed to exact_solver (checked against it)"}
    )
    max_block_size: int | None = param(
        None, help="QPSBGD max_block_size (None: its default)", low=1, high=MAX_WIDTH
    )
    update: Literal["continuous", "projected"] = "continuous"
    input_scaling: Literal["none", "column-sq-norm"] = field(
        default="none",
        metadata={"help": "QPSBGD input_scaling (the 10-layer notebook: column-sq-norm)"},
    )
    scale: Literal["auto", "none"] = field(
        default="auto", metadata={"help": "QPSBGD least-squares gradient scale (auto or none)"}
    )
    aux_lr: float = param(
        0.01, help="Adam lr for real-valued parameters (biases)", **POSITIVE
    )
    torch_threads: int | None = param(
        1, help="torch intra-op threads during the run (restored after); None: unchanged", low=1, high=4096
    )
    settings: list[str] = list_field("paper", "best", help="paper and/or best", choices=SETTINGS, nonempty=True)
    best_effort: dict[str, Any] = field(
        default_factory=dict, metadata={"help": "overrides of the best-effort setting"}
    )

    def __post_init__(self) -> None:
        check_declared(self)
        self.check_rules()
        check_best_effort(self)

    def check_rules(self) -> None:
        """The rules that involve several fields (subclasses extend it; ``__post_init__`` checks
        the declared rules first and the ``best_effort`` overrides last)."""
        check_lr(self.methods, self.lr)
        check_sample_kwargs(self.solver, self.sample_kwargs)
        check_sample_kwargs(self.exact_solver, self.exact_sample_kwargs, "exact_sample_kwargs")


@dataclass(frozen=True)
class MLPParams(TrainParams):
    """Keys of the experiments that train a :class:`~hybridqnn.nn.BinaryMLP` on mini-batches."""

    hidden: int = param(5, help="hidden width", low=1, high=MAX_WIDTH)
    batch_size: int = param(20, help="mini-batch size", **COUNT)
    updates: int = param(30, help="parameter updates", **COUNT)
    scaled_ste: bool = field(
        default=False, metadata={"help": "widen the STE window to sqrt(fan_in)"}
    )
    test_size: int | None = param(2000, help="test rows evaluated (None: all)", **COUNT)

    def check_xnor_fan_in(self, fan_in: int, what: str) -> None:
        """The XNOR penalty QUBO's threshold encoding needs every fan-in < 16."""
        if "qpsbgd-xnor" in self.methods and max(fan_in, self.hidden) >= 16:
            raise ValueError(
                "'methods' has qpsbgd-xnor, whose threshold encoding needs fan-in < 16, got "
                f"{what} and hidden={self.hidden}"
            )


def with_torch_threads(run: Callable[[RunContext, Any], None]) -> Callable[[RunContext, Any], None]:
    """Run ``run(ctx, p)`` with ``torch.set_num_threads(p.torch_threads)`` and restore the old
    value after. The layers here are tiny (batches of 16-64, widths <= 128): with several intra-op
    threads on a busy machine one update of the 10-layer MLP took 9x longer than with one
    (8.8 s vs 0.95 s for 64 updates, measured while other jobs ran)."""

    @functools.wraps(run)
    def wrapped(ctx: RunContext, p: Any) -> None:
        if p.torch_threads is None:
            return run(ctx, p)
        import torch

        old = torch.get_num_threads()
        torch.set_num_threads(p.torch_threads)
        try:
            return run(ctx, p)
        finally:
            torch.set_num_threads(old)

    return wrapped


# --------------------------------------------------------------------------- one run


def make_optimizers(
    method: str, model: nn.Module, q: TrainParams, seed: int
) -> list[torch.optim.Optimizer]:
    """The optimizers of ``method`` (one name of :data:`hybridqnn.optim.OPTIMIZER_NAMES`) from
    the params: QPSBGD's sampler, projection settings and seed; Adam (``aux_lr``) on real
    parameters next to binary layers."""
    from hybridqnn.solvers import get_sampler
    from hybridqnn.train import optimizers_for

    kwargs: dict[str, Any] = {}
    if method in QP_METHODS:
        exact = method == "qpsbgd-sm"
        kwargs = {
            "sampler": get_sampler(q.exact_solver if exact else q.solver),
            "update": q.update,
            "input_scaling": q.input_scaling,
            "scale": q.scale,
            "sample_kwargs": dict(q.exact_sample_kwargs if exact else q.sample_kwargs) or None,
            "seed": int(seed),
        }
        if q.max_block_size is not None:
            kwargs["max_block_size"] = q.max_block_size
    return optimizers_for(model, method, q.lr[method], aux_lr=q.aux_lr, **kwargs)


def qp_stats(optimizers: Sequence[torch.optim.Optimizer]) -> dict[str, Any]:
    """Aggregate QPSBGD's per-(step, layer) ``stats``; empty for the other optimizers."""
    stats = list(getattr(optimizers[0], "stats", None) or [])
    if not stats:
        return {}

    def values(key: str) -> list[float]:
        return [
            float(s[key]) for s in stats if s.get(key) is not None and np.isfinite(float(s[key]))
        ]

    codir, solve, size, problems = (
        values("codirectionality"),
        values("solve_seconds"),
        values("qubo_size"),
        values("num_problems"),
    )
    return {
        "codirectionality": statistics.fmean(codir) if codir else None,
        "solve_s_per_layer_step": statistics.fmean(solve) if solve else None,
        "solve_s_total": sum(solve) if solve else None,
        "max_qubo_size": int(max(size)) if size else None,
        "num_problems_total": int(sum(problems)) if problems else None,
    }


def fit_classifier(
    ctx: RunContext,
    q: TrainParams,
    method: str,
    seed: int,
    model: nn.Module,
    data: Sequence[torch.Tensor],
    batches: tuple[list[np.ndarray], int],
    *,
    eval_every: int,
    tag: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, list[float]]]:
    """Train ``model`` with ``method`` on ``data`` = (x, y, x_test, y_test) over ``batches``
    (:func:`hybridqnn.train.minibatches`), logging every update with ``tag``. Returns the run's
    record (final train/test metrics, QP-SBGD stats, ``seconds``) and its curves."""
    from hybridqnn.train import bce_metrics, train_classifier

    x, y, xt, yt = data
    opts = make_optimizers(method, model, q, seed)

    def eval_fn() -> dict[str, float]:
        return {**bce_metrics(model, x, y, "train"), **bce_metrics(model, xt, yt, "test")}

    with ctx.phase(f"{method} ({tag['dataset']})", len(batches[0]), "update") as bar:
        result = train_classifier(
            model,
            opts,
            x,
            y,
            batches[0],
            batches_per_epoch=batches[1],
            eval_fn=eval_fn,
            eval_every=eval_every,
            on_step=lambda record: ctx.log(**tag, **record),
            progress=bar,
        )
    record = {**result.final, **qp_stats(opts), "seconds": result.seconds, "model": model}
    return record, result.curves


def train_mlp(
    ctx: RunContext,
    q: MLPParams,
    method: str,
    seed: int,
    sizes: Sequence[int],
    data: Sequence[torch.Tensor],
    *,
    batch_seed: int | None,
    eval_every: int,
    tag: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, list[float]]]:
    """One run of a :class:`~hybridqnn.nn.BinaryMLP` of ``sizes`` (init ``seed``; the batches
    reshuffled per epoch with ``batch_seed``, or in order when None)."""
    from hybridqnn.nn import BinaryMLP
    from hybridqnn.train import minibatches

    x, y, xt, yt = (t.to(ctx.device) for t in data)
    model = BinaryMLP(
        sizes, binary=method not in FP_METHODS, scaled_ste=q.scaled_ste, final_sign=True, seed=seed
    ).to(ctx.device)
    batches = minibatches(
        len(x), q.batch_size, q.updates, batch_seed, getattr(q, "batches_per_epoch", None)
    )
    return fit_classifier(
        ctx, q, method, seed, model, (x, y, xt, yt), batches, eval_every=eval_every, tag=tag
    )


# --------------------------------------------------------------------------- rows and notes


def summary_row(
    method: str,
    dataset: str,
    setting_name: str,
    records: Sequence[dict[str, Any]],
    metrics: Sequence[str],
    extra: dict[str, Any],
) -> dict[str, Any]:
    """One row over the seeds of (method, data set, setting): ``extra``, the metrics' mean /
    std / min / max, the mean training time and the QP-SBGD stats (mean co-directionality and
    solve time per layer step, the largest QUBO)."""
    row = seed_summary(records, metrics, method=method, dataset=dataset, setting=setting_name)
    row.update(extra)
    row["train_time_s"] = aggregate([r["seconds"] for r in records])["mean"]
    for k in ("codirectionality", "solve_s_per_layer_step"):
        row[k] = aggregate([r.get(k) for r in records])["mean"]
    sizes = [r["max_qubo_size"] for r in records if r.get("max_qubo_size") is not None]
    row["max_qubo_size"] = max(sizes) if sizes else None
    row[MODELS_KEY] = [r[MODELS_KEY] for r in records if MODELS_KEY in r]
    return row


def evaluated_steps(total: int, every: int) -> list[int]:
    """The updates (or epochs) after which the training loops evaluate: every ``every``-th of
    ``total``, and the last: the x values of an evaluation curve."""
    return [t for t in range(1, total + 1) if t % every == 0 or t == total]


def curve_panel(
    title: str,
    xlabel: str,
    ylabel: str,
    curves: dict[str, list[list[float]]],
    *,
    x: Sequence[int] | None = None,
    groups: Mapping[str, str] | None = None,
    yscale: str = "auto",
) -> Panel:
    """Per label the mean curve over runs, with the min-max band when there are several runs,
    over ``x`` (default 1, 2, ...; cut to the shortest run); ``groups`` maps a label to the
    style it shares across panels (e.g. the method of ``"qpsbgd (lr 0.1)"``)."""
    series = []
    for label, runs in curves.items():
        length = min(len(r) for r in runs)
        if length == 0:
            continue
        arr = np.asarray([r[:length] for r in runs], dtype=float)
        band = (arr.min(axis=0).tolist(), arr.max(axis=0).tolist()) if len(runs) > 1 else None
        xs = list(x[:length]) if x is not None else list(range(1, length + 1))
        group = None if groups is None else groups.get(label)
        series.append(Series(label, xs, arr.mean(axis=0).tolist(), band=band, group=group))
    return Panel(title, xlabel, ylabel, series, yscale=yscale)


def _gap_note(
    row: dict[str, Any], base: list[dict[str, Any]], metric: str, sign: float, what: str
) -> str:
    beaten_by = [b for b in base if sign * (b[metric] - row[metric]) > 1e-12]
    where = f"{row['dataset']} ({row['setting']} setting): {row['method']}"
    if not beaten_by:
        best = max(base, key=lambda b: sign * b[metric])
        return (
            f"{where} is at or above every binary baseline in {what} ({row[metric]:.4g} vs best "
            f"baseline {best['method']} {best[metric]:.4g})."
        )
    parts = ", ".join(
        f"{b['method']} by {abs(b[metric] - row[metric]):.4g} "
        f"({b['method']} {b[metric]:.4g} vs {row['method']} {row[metric]:.4g})"
        for b in sorted(beaten_by, key=lambda b: -sign * b[metric])
    )
    return f"{where} is below {parts} in {what}."


def gap_notes(
    ctx: Any, rows: list[dict[str, Any]], metric: str, *, higher_is_better: bool, what: str
) -> None:
    """Add ``gap_to_best_baseline`` to every QP-SBGD row (positive: QP-SBGD is worse) and a note
    per (data set, setting) naming each binary baseline that beats QP-SBGD, and by how much."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["dataset"], r["setting"]), []).append(r)
    sign = 1.0 if higher_is_better else -1.0
    for group in groups.values():
        base = [r for r in group if r["method"] in BINARY_BASELINES and r.get(metric) is not None]
        for r in group:
            if r["method"] not in QP_METHODS and r["method"] != "qpsbgd":
                continue
            if r.get(metric) is None or not base:
                r["gap_to_best_baseline"] = None
                continue
            best = max(base, key=lambda b: sign * b[metric])
            r["best_baseline"] = best["method"]
            r["gap_to_best_baseline"] = sign * (best[metric] - r[metric])
            ctx.note(_gap_note(r, base, metric, sign, what))


Record = dict[str, Any]
Curves = dict[str, list[float]]

#: The key under which a run's record (and then its summary row) carries the trained model
#: (:class:`TrainedModel`) until :func:`report` saves it; never part of a written row.
MODELS_KEY = "_trained_models"


@dataclass(frozen=True)
class TrainedModel:
    """One run's trained model and the keyword arguments of ``ctx.save_model`` for it
    (``classes``, ``data``, ``training``)."""

    model: nn.Module
    save_kwargs: dict[str, Any]


def training_info(q: TrainParams, method: str, seed: int, record: Record) -> dict[str, Any]:
    """The ``training`` metadata of a saved model: the method, its learning rate, the run's seed
    and its own test accuracy (the row holds the mean over the repeats); for QP-SBGD also the
    solver and the size of one solve (the measured ``max_qubo_size`` as spins; couplers
    n(n - 1)/2 for the dense least-squares QUBO,
    :func:`hybridqnn.deploy.kinds.qpsbgd.qpsbgd_training_problem`)."""
    from hybridqnn.deploy.kinds.qpsbgd import qpsbgd_training_problem

    info: dict[str, Any] = {"method": method, "lr": q.lr[method], "seed": int(seed)}
    info["run_test_accuracy"] = record.get("test_accuracy")
    if method in QP_METHODS:
        problem = qpsbgd_training_problem(record["model"]) or {}
        spins = record.get("max_qubo_size") or problem.get("spins_per_solve")
        least_squares = QPSBGD_VARIANTS[method] == "least-squares"
        info.update(
            solver=q.exact_solver if method == "qpsbgd-sm" else q.solver,
            projection=QPSBGD_VARIANTS[method],
            spins_per_solve=spins,
            couplers_per_solve=spins * (spins - 1) // 2 if least_squares and spins else None,
            solves_per_step=problem.get("solves_per_step"),
        )
    return info


def method_runs(
    ctx: RunContext,
    q: TrainParams,
    setting_name: str,
    dataset: str,
    run_one: Callable[[str, int, dict[str, Any]], tuple[Record, Curves]],
    saving: Callable[[int], dict[str, Any]],
) -> dict[str, tuple[list[Record], list[Curves]]]:
    """Every method x repeat of one (setting, data set): ``run_one(method, seed, tag)`` with the
    keyed seeds of :func:`run_seeds` and ``tag`` the run's identity for ``ctx.log``. Returns per
    method the runs' records and curves. A record's ``"model"`` becomes a :class:`TrainedModel`
    under :data:`MODELS_KEY`, saved with ``saving(seed)`` (``classes`` and ``data``) and
    :func:`training_info`."""
    seeds = run_seeds(ctx, q.repeats, dataset, setting_name)
    out: dict[str, tuple[list[Record], list[Curves]]] = {}
    runs = ctx.phase(f"{dataset} ({setting_name})", len(q.methods) * len(seeds), "run")
    for method in q.methods:
        records, curves = [], []
        for seed in seeds:
            tag = {"setting": setting_name, "dataset": dataset, "method": method, "seed": seed}
            record, curve = run_one(method, seed, tag)
            if "model" in record:
                kwargs = {**saving(seed), "training": training_info(q, method, seed, record)}
                record[MODELS_KEY] = TrainedModel(record.pop("model"), kwargs)
            records.append(record)
            curves.append(curve)
            runs.advance()
        out[method] = (records, curves)
    runs.close()
    return out


def a1a_saving(features: Sequence[int] | None, test_size: int | None) -> Callable[[int], dict[str, Any]]:
    """``saving`` of the a1a MLPs: classes -1/+1 and the ``a1a-spins`` input of ``features``
    (None: all columns) and the first ``test_size`` test rows."""
    cols = "all columns" if features is None else f"columns {', '.join(map(str, features))}"
    rows = "all test rows" if test_size is None else f"the first {test_size} test rows"
    kwargs = {"features": None if features is None else list(features), "test_size": test_size}
    data = {
        "dataset": "a1a",
        "input": {"name": "a1a-spins", "kwargs": kwargs},
        "preprocessing": f"a1a inputs x in {{0, 1}} as spins 2x - 1 ({cols}); {rows}",
    }
    return lambda seed: {"classes": [-1, 1], "data": data}


def run_mlp_grid(
    ctx: RunContext,
    q: MLPParams,
    setting_name: str,
    dataset: str,
    sizes: Sequence[int],
    data: Sequence[torch.Tensor],
    *,
    batch_seed: Callable[[int], int | None],
    saving: Callable[[int], dict[str, Any]],
) -> tuple[list[dict[str, Any]], dict[str, dict[str, list[list[float]]]]]:
    """Train every method x seed of one (setting, data set) on the same data; return the summary
    rows (with the mean of the last 8 batch losses and the last batch accuracy) and the per-update
    curves ``loss`` and ``batch_accuracy`` of every method. ``saving``: as in
    :func:`method_runs`."""

    def run_one(method: str, seed: int, tag: dict[str, Any]) -> tuple[Record, Curves]:
        return train_mlp(
            ctx, q, method, seed, sizes, data, batch_seed=batch_seed(seed), eval_every=0, tag=tag
        )

    rows: list[dict[str, Any]] = []
    curves: dict[str, dict[str, list[list[float]]]] = {"loss": {}, "batch_accuracy": {}}
    extra = {
        "architecture": "-".join(map(str, sizes)),
        "batch_size": q.batch_size,
        "updates": q.updates,
    }
    metrics = ("train_loss", "train_accuracy", "test_accuracy")
    runs_of = method_runs(ctx, q, setting_name, dataset, run_one, saving)
    for method, (records, runs) in runs_of.items():
        for key in curves:
            curves[key][method] = [r[key] for r in runs]
        row = summary_row(
            method, dataset, setting_name, records, metrics, {**extra, "lr": q.lr[method]}
        )
        row["last8_batch_loss"] = statistics.fmean(v for r in runs for v in r["loss"][-8:])
        row["final_batch_accuracy"] = statistics.fmean(r["batch_accuracy"][-1] for r in runs)
        rows.append(row)
    return rows, curves


def report(
    ctx: RunContext,
    rows: list[dict[str, Any]],
    panels: Sequence[Panel],
    metric: str,
    what: str,
    figure: tuple[str, str],
    *,
    higher_is_better: bool = True,
) -> None:
    """The end of every training experiment: the gap-to-baseline columns and notes
    (:func:`gap_notes` on ``metric``, described as ``what``), the rows, each followed by its
    trained models (every repeat's, ``ctx.save_model``), and one figure of ``panels``,
    ``figure`` = (file name, title)."""
    gap_notes(ctx, rows, metric, higher_is_better=higher_is_better, what=what)
    for row in rows:
        trained = row.pop(MODELS_KEY, [])
        ctx.add_row(row)
        for t in trained:
            ctx.save_model(t.model, row, **t.save_kwargs)
    plot_panels(ctx, figure[0], panels, title=figure[1])


def gap_headline(metric: str, *, paper: str) -> Callable[[list[dict[str, Any]], Any], str]:
    """The headline of a training experiment scored on ``metric``: in how many (data set,
    setting) groups a QP-SBGD variant is at least as good as the best binary baseline (its
    ``gap_to_best_baseline`` <= 0, :func:`gap_notes`), the widest gap with both numbers, then
    the paper clause: the mean of the ``<metric>_vs_paper`` column when rows have one, else
    ``paper`` (what the paper reports)."""

    def headline(rows: list[dict[str, Any]], p: Any = None) -> str:
        scored = [r for r in rows if r.get("gap_to_best_baseline") is not None]
        if not scored:
            return f"no QP-SBGD row with a baseline to compare; paper: {paper}"
        ahead = sum(r["gap_to_best_baseline"] <= 1e-12 for r in scored)
        worst = max(scored, key=lambda r: r["gap_to_best_baseline"])
        base = next((b for b in rows if b.get("method") == worst.get("best_baseline")
                     and b.get("dataset") == worst.get("dataset") and b.get("setting") == worst.get("setting")), {})
        text = f"{metric}: QP-SBGD at least as good as the best binary baseline in {ahead} of {len(scored)}"
        if worst["gap_to_best_baseline"] > 1e-12:
            text += (f"; widest gap on {worst.get('dataset')} ({worst.get('setting')} setting): {worst['method']} "
                     f"{worst[metric]:.3f} vs {worst.get('best_baseline')} {base.get(metric, float('nan')):.3f}")
        diffs = [r[f"{metric}_vs_paper"] for r in rows if r.get(f"{metric}_vs_paper") is not None]
        if diffs:
            return text + f"; paper: ours minus paper {sum(diffs) / len(diffs):+.3f} on average over {len(diffs)} rows"
        return text + f"; paper: {paper}"

    return headline


def register_training(
    name: str,
    params: type,
    run: Callable[[RunContext, Any], None],
    description: str,
    paper: tuple[dict[str, Any], ...],
    *,
    metric: str,
    paper_headline: str,
    key_columns: tuple[str, ...],
    required_data: Callable[[Any], Sequence[str]] | None = None,
) -> None:
    """Register a training experiment; its ``run`` executes under :func:`with_torch_threads`,
    its headline is :func:`gap_headline` on ``metric`` with ``paper_headline``
    (``required_data``: as :class:`~hybridqnn.experiments.registry.Experiment`'s)."""
    register(
        Experiment(
            name=name,
            params=params,
            run=with_torch_threads(run),
            description=description,
            paper=paper,
            headline=gap_headline(metric, paper=paper_headline),
            key_columns=key_columns,
            required_data=required_data,
        )
    )
