"""Experiments for natural quantization (Barney, Lakhdar-Hamina & Galitski, arXiv 2503.15482).

- ``natural-mnist`` (config ``natural-mnist``): the paper protocol (first 5,000 MNIST training
  images, the 10,000 test images as validation set, 784-512x3-10, Kaiming-normal init, SGD lr
  0.01 momentum 0.9, batch 64, 100 epochs, 15-shot majority vote) for the classical binary
  network (a = 0, g = pi/2), Method 1 (a = 10^-0.5 ~ 0.316) and Method 2 (g = 5 pi/19), with
  training and validation error curves and the final and best 15-shot validation errors.
- ``natural-sweep`` (config ``natural-sweep``): validation error against a (log grid, g = pi/2),
  against g (linspace(0, pi/2, 20), a = 0) and on a combined (a, g) grid; locates the critical
  g_c where learning collapses.

The model is :class:`hybridqnn.nn.NaturalQuantizedMLP`, trained by
:func:`hybridqnn.train.fit_natural`; the benchmark ``bench-natural`` is in
:mod:`hybridqnn.experiments.benchmarks.natural`.

Every training run (a "point") runs through :func:`hybridqnn.parallel.get_executor`: the
``executor`` parameter (``--executor`` on the command line wins) names a local process pool
(default), threads, serial execution or a Dask cluster (``dask://HOST:PORT``). Each point loads
the data itself and uses ``max(1, cores // workers)`` torch threads. With a local executor each
point also appends its epochs to ``progress-<i>.jsonl`` in the run directory as it goes (the
full history lands in ``metrics.jsonl`` when the point finishes). Every trained network is saved
under ``models/natural-quantization-<dataset>-<setting>`` (kind ``natural-mlp``, input
``natural-flat``: :mod:`hybridqnn.deploy.kinds.natural`) unless the run says ``--no-save-models``.

Choices where the paper is silent (PAPERS.md D.4): 3 hidden layers and 100 epochs (the original
script); one seed per setting, keyed by (method, dataset, setting name) so that adding a setting
changes no other; Method 2 uses a = 0; the last hidden layer uses g = pi/2 (the authors' code); one stochastic sample per training forward pass; the error curves are those of
:func:`hybridqnn.train.fit_natural` (the validation vote every ``eval_every`` epochs and at the
end; "best" is the best of those).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from hybridqnn.experiments.context import RunContext
from hybridqnn.experiments.params import COUNT, MAX_WIDTH, POSITIVE, check_declared, param
from hybridqnn.experiments.plots import Panel, Series, plot_panels
from hybridqnn.experiments.registry import Experiment, register
from hybridqnn.experiments.toolkit import paper_columns

PAPER_ROWS: tuple[dict[str, Any], ...] = (
    {"setting": "classical", "a": 0.0, "g_over_pi": 0.5, "val_error": "8-9% (overfits)"},
    {"setting": "method1", "a": 0.316, "g_over_pi": 0.5, "val_error": "4.72%"},
    {"setting": "method2", "a": 0.0, "g_over_pi": 5 / 19, "val_error": "5.29%"},
    {"setting": "combined", "a": None, "g_over_pi": None, "val_error": "4.63%"},
    {"setting": "learning collapse", "a": None, "g_over_pi": "g_c < 1/8", "val_error": "~90%"},
)

SETTING_KEYS = ("a", "g", "g_over_pi")

#: The ``method`` column of every row.
METHOD = "natural-quantization"

#: The paper's best 15-shot validation errors of the named settings (PAPERS.md D.3); the
#: classical network is reported only as "8-9% (overfits)", so it has none.
PAPER_VAL_ERROR: dict[str, float | None] = {"classical": None, "method1": 0.0472, "method2": 0.0529}


def _check_setting(label: str, setting: dict[str, float]) -> tuple[float, float]:
    """a >= 0, and g in [0, pi/2] or g_over_pi in [0, 0.5]."""
    from hybridqnn._checks import NumberRule

    unknown = [k for k in setting if k not in SETTING_KEYS]
    if unknown:
        raise ValueError(
            f"{label!r}: unknown key {unknown[0]!r}; valid keys: {', '.join(SETTING_KEYS)}"
        )
    if "g" in setting and "g_over_pi" in setting:
        raise ValueError(f"{label!r}: give 'g' or 'g_over_pi', not both")
    a = NumberRule(False, 0.0).check(f"{label!r} key 'a'", setting.get("a", 0.0))
    if "g_over_pi" in setting:
        g = math.pi * NumberRule(False, 0.0, 0.5).check(f"{label!r} key 'g_over_pi'", setting["g_over_pi"])
    else:
        g = NumberRule(False, 0.0, math.pi / 2).check(f"{label!r} key 'g'", setting.get("g", math.pi / 2))
    return a, min(g, math.pi / 2)


def _executor(label: str, spec: str) -> None:
    """thread, process, serial or dask://HOST:PORT."""
    from hybridqnn.parallel import parse_executor_spec

    parse_executor_spec(spec)


_A = {"low": 0.0}
_G_OVER_PI = {"low": 0.0, "high": 0.5}


@dataclass(frozen=True)
class NaturalNetParams:
    """Data, network and SGD settings of every natural-quantization run (the experiments and
    ``bench-natural``)."""

    dataset: str = param(
        "mnist", help="mnist or fashion-mnist (first train_size images)", choices=("mnist", "fashion-mnist")
    )
    train_size: int = param(5000, help="first N training images (paper: 5000)", **COUNT)
    test_size: int | None = param(None, help="first N test images (None: all 10,000)", **COUNT)
    width: int = param(512, help="hidden width (qubits per register)", low=1, high=MAX_WIDTH)
    hidden_layers: int = param(3, help="hidden layers (paper script: 3)", low=1, high=MAX_WIDTH)
    batch_size: int = param(64, help="SGD batch size", **COUNT)
    lr: float = param(0.01, help="SGD learning rate", **POSITIVE)
    momentum: float = param(0.9, help="SGD momentum", low=0.0, high=1.0)
    shots: int = param(15, help="majority-vote shots at evaluation", **COUNT)

    def __post_init__(self) -> None:
        check_declared(self)


@dataclass(frozen=True)
class NaturalTrainParams(NaturalNetParams):
    """Settings shared by the natural-quantization experiments."""

    epochs: int = param(100, help="training epochs", **COUNT)
    eval_every: int = param(
        1, help="epochs between 15-shot validation votes (and the last)", **COUNT
    )
    update: Literal["paper", "exact"] = field(
        default="paper", metadata={"help": "post-measurement update"}
    )
    last_g_over_pi: float | None = param(
        0.5, help="g/pi of the last hidden layer (None: same g)", **_G_OVER_PI
    )
    backend: Literal["auto", "torch", "numba"] = "auto"
    executor: str = param(
        "process", help="thread, process, serial or dask://HOST:PORT (--executor wins)", check=_executor
    )
    max_workers: int | None = param(None, help="parallel points (None: CPU count)", low=1, high=4096)


def _paper_settings() -> dict[str, dict[str, float]]:
    return {
        "classical": {"a": 0.0, "g_over_pi": 0.5},
        "method1": {"a": 10**-0.5, "g_over_pi": 0.5},
        "method2": {"a": 0.0, "g_over_pi": 5 / 19},
    }


@dataclass(frozen=True)
class NaturalMNISTParams(NaturalTrainParams):
    """The paper protocol for named (a, g) settings."""

    settings: dict[str, dict[str, float]] = param(
        default_factory=_paper_settings,
        help="name -> {a, g or g_over_pi}; default: classical, method1, method2",
        check=_check_setting,
        nonempty=True,
    )


def _a_grid() -> list[float]:
    return [float(v) for v in 10 ** np.linspace(-2, 0.5, 11)]


def _g_grid() -> list[float]:
    return [float(v) for v in np.linspace(0, 0.5, 20)]


@dataclass(frozen=True)
class NaturalSweepParams(NaturalTrainParams):
    """Validation error over a grid of a, of g and of (a, g)."""

    a_grid: list[float] = param(default_factory=_a_grid, help="a values (g = pi/2)", **_A)
    g_grid_over_pi: list[float] = param(default_factory=_g_grid, help="g/pi values (a = 0)", **_G_OVER_PI)
    combined_a: list[float] = param(
        default_factory=lambda: [0.1, 10**-0.5, 1.0], help="a values of the combined grid", **_A
    )
    combined_g_over_pi: list[float] = param(
        default_factory=lambda: [5 / 19, 7 / 19, 9 / 19],
        help="g/pi values of the combined grid",
        **_G_OVER_PI,
    )
    collapse_level: float = param(
        0.5,
        help="g_c: where the error crosses best + level * (chance - best)",
        low=0.0,
        high=1.0,
        low_open=True,
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if not (
            self.a_grid or self.g_grid_over_pi or (self.combined_a and self.combined_g_over_pi)
        ):
            raise ValueError(
                "the sweep is empty: give 'a_grid', 'g_grid_over_pi' or a combined grid"
            )


# --------------------------------------------------------------------------- one point


def _threads_for(workers: int) -> int:
    from hybridqnn.parallel import default_workers

    return max(1, default_workers() // max(1, workers))


def run_point(spec: dict[str, Any]) -> dict[str, Any]:
    """Train and evaluate one (a, g) setting; top-level so that process pools and Dask can
    pickle it. ``spec``: ``params`` (a :class:`NaturalTrainParams`), ``name``, ``a``, ``g``,
    ``seed``, ``data_dir``, ``device``, ``threads``, ``log_path`` and optionally ``progress``
    (:func:`fit_natural`'s callback; only where the point runs in this process). Returns the ``row``, the
    epochs' ``history`` and the trained ``model`` (moved to the CPU, to be saved by the caller)."""
    import torch

    from hybridqnn.nn import NaturalQuantizedMLP
    from hybridqnn.train.natural import fit_natural, load_natural_data

    p: NaturalTrainParams = spec["params"]
    if spec.get("threads"):
        torch.set_num_threads(int(spec["threads"]))
    start = time.perf_counter()
    data = load_natural_data(p.dataset, p.train_size, p.test_size, spec.get("data_dir"))
    device = spec.get("device", "cpu")
    xtr, ytr, xte, yte = (t.to(device) for t in data)
    seeds = np.random.SeedSequence(spec["seed"]).generate_state(2, dtype=np.uint32)
    g = spec["g"]
    last_g = g if p.last_g_over_pi is None else min(math.pi * p.last_g_over_pi, math.pi / 2)
    model = NaturalQuantizedMLP(
        xtr.shape[1],
        p.width,
        p.hidden_layers,
        10,
        a=spec["a"],
        g=g,
        last_g=last_g,
        update=p.update,
        backend=p.backend,
        seed=int(seeds[0]),
        device=device,
    )
    history: list[dict[str, Any]] = []

    def log(rec: dict[str, Any]) -> None:
        history.append({"setting": spec["name"], **rec})
        if spec.get("log_path"):  # live progress of long runs (local executors only)
            with open(spec["log_path"], "a", encoding="utf-8") as fh:
                fh.write(json.dumps(history[-1]) + "\n")

    opts = {k: getattr(p, k) for k in ("epochs", "batch_size", "lr", "momentum", "shots")}
    gen = torch.Generator(device=device).manual_seed(int(seeds[1]))
    fit = fit_natural(
        model, xtr, ytr, xte, yte, eval_every=p.eval_every, generator=gen, log=log,
        progress=spec.get("progress"), **opts
    )
    last = history[-1]
    row = {
        "setting": spec["name"],
        "a": spec["a"],
        "g_over_pi": g / math.pi,
        "update": p.update,
        "epochs": p.epochs,
        "train_size": int(xtr.shape[0]),
        "val_size": int(xte.shape[0]),
        "final_val_error": last["val_error_vote"],
        "best_val_error": fit.best_val_error,
        "best_epoch": fit.best_epoch,
        "final_val_error_1shot": last["val_error_1shot"],
        "final_train_error": last["train_error"],
        "final_train_loss": last["train_loss"],
        "train_time_s": fit.train_seconds,
        "total_time_s": time.perf_counter() - start,
        "seed": spec["seed"],
    }
    return {"row": row, "history": history, "model": model.to("cpu")}


def add_point_row(ctx: RunContext, p: NaturalTrainParams, row: dict[str, Any], model: Any) -> None:
    """Add one trained point's ``row`` and save its model (kind ``natural-mlp``) with the test
    input it was scored on (``natural-flat``)."""
    from hybridqnn.deploy.kinds.natural import NATURAL_INPUT

    ctx.add_row(row)
    images = "all" if p.test_size is None else f"the first {p.test_size}"
    data = {
        "dataset": p.dataset,
        "input": {"name": NATURAL_INPUT, "kwargs": {"test_size": p.test_size}},
        "preprocessing": f"{images} test images, each flattened to one row of float32 pixel "
        "values / 255 in [0, 1]",
    }
    ctx.save_model(model, row, data=data)


def run_points(
    ctx: RunContext, p: NaturalTrainParams, points: list[tuple[str, float, float]], desc: str
) -> list[dict[str, Any]]:
    """Run ``(name, a, g)`` points through the executor; results in the order given (each with
    its ``row``, ``history`` and trained ``model``, on the CPU). Each point's seed is keyed by
    ``(METHOD, dataset, name)``, so adding a point changes no other."""
    from hybridqnn.parallel import default_workers, get_executor
    from hybridqnn.train.progress import shared_progress

    seeds = [ctx.seed_for(METHOD, p.dataset, name) for name, _, _ in points]
    spec_exec = ctx.executor or p.executor
    workers = min(p.max_workers or default_workers(), len(points))
    if workers == 1 and spec_exec in ("thread", "process"):
        spec_exec = "serial"
    # local pools share the cores; serial runs and Dask workers keep their own thread settings
    threads = _threads_for(workers) if spec_exec in ("thread", "process") else 0
    data_dir = None if ctx.data_dir is None else str(ctx.data_dir)
    local = spec_exec in ("thread", "process", "serial")
    specs = [
        {
            "params": p,
            "name": name,
            "a": a,
            "g": g,
            "seed": seed,
            "data_dir": data_dir,
            "device": ctx.device,
            "threads": threads,
            "log_path": str(ctx.out_dir / f"progress-{i}.jsonl") if local else None,
        }
        for i, ((name, a, g), seed) in enumerate(zip(points, seeds, strict=True))
    ]
    results: list[dict[str, Any] | None] = [None] * len(specs)
    bar = ctx.phase(f"{desc}: {len(specs)} settings x {p.epochs} epochs", len(specs) * p.epochs, "epoch")
    if spec_exec == "serial" and not bar.closed:  # inline: the fits report their own epochs
        for i, spec in enumerate(specs):
            spec["progress"] = shared_progress(bar, i, len(specs))
    with get_executor(spec_exec, max_workers=workers) as pool:
        futures = [pool.submit(run_point, spec) for spec in specs]
        if spec_exec != "serial" and not bar.closed:
            _watch_points(bar, futures, specs, p.epochs)
        for i in range(len(futures)):
            results[i] = futures[i].result()
            for rec in results[i]["history"]:
                ctx.log(**rec)
    bar.close()
    return [r for r in results if r is not None]


def _watch_points(bar: Any, futures: list[Any], specs: list[dict[str, Any]], epochs: int) -> None:
    """Until every point is done, move ``bar`` to the epochs done: the lines of each point's
    ``progress-<i>.jsonl`` (local pools), or ``epochs`` per finished point (Dask)."""
    from concurrent.futures import wait

    pending = set(futures)
    while pending:
        pending = wait(pending, timeout=0.5).not_done
        done = 0
        for spec, future in zip(specs, futures, strict=True):
            path = spec["log_path"]
            if future.done() or not path:
                done += epochs if future.done() else 0
            else:
                try:
                    with open(path, encoding="utf-8") as fh:
                        done += sum(1 for _ in fh)
                except FileNotFoundError:
                    pass
        bar(done, len(specs) * epochs)


# --------------------------------------------------------------------------- natural-mnist


def run_natural_mnist(ctx: RunContext, p: NaturalMNISTParams) -> None:
    """Train every setting with the paper protocol; rows, error curves and notes."""
    points = [(name, *_check_setting(name, s)) for name, s in p.settings.items()]
    results = run_points(ctx, p, points, "natural-mnist")
    for res in results:
        row = res["row"]
        paper = PAPER_VAL_ERROR.get(row["setting"])
        full = {
            "method": METHOD,
            "dataset": p.dataset,
            **row,
            **paper_columns("final_val_error", row["final_val_error"], paper),
        }
        add_point_row(ctx, p, full, res.pop("model"))
    _plot_curves(ctx, results, p.shots)
    parts = [
        f"{r['row']['setting']}: final {100 * r['row']['final_val_error']:.2f}%, best {100 * r['row']['best_val_error']:.2f}% "
        f"(epoch {r['row']['best_epoch']}), train error {100 * r['row']['final_train_error']:.2f}%"
        for r in results
    ]
    ctx.note(
        f"{p.shots}-shot majority-vote validation error on {results[0]['row']['val_size']} test images after "
        f"{p.epochs} epochs on the first {results[0]['row']['train_size']} training images: "
        + "; ".join(parts)
        + ". Paper: classical ~8-9%, Method 1 4.72% (a ~ 0.316), Method 2 5.29% (g = 5pi/19), combined 4.63%."
    )


def _plot_curves(ctx: RunContext, results: list[dict[str, Any]], shots: int) -> None:
    """Training error, single-shot and voted validation error against the epoch, one series per
    setting (percent)."""

    def series(key: str) -> list[Series]:
        return [
            Series(
                r["row"]["setting"],
                [h["epoch"] for h in r["history"]],
                [None if h[key] is None else 100 * h[key] for h in r["history"]],
            )
            for r in results
        ]

    panels = [
        Panel("training error (running, 1 shot)", "epoch", "error (%)", series("train_error")),
        Panel("validation error (1 shot)", "epoch", "error (%)", series("val_error_1shot")),
        Panel(
            f"validation error ({shots}-shot vote)", "epoch", "error (%)", series("val_error_vote")
        ),
    ]
    plot_panels(
        ctx, "error_curves", panels, title="Natural quantization: training vs validation error"
    )


def headline_mnist(rows: list[dict[str, Any]], p: Any = None) -> str:
    """The final validation error of each setting, then the paper's."""
    scored = [r for r in rows if r.get("final_val_error") is not None]
    errors = ", ".join(f"{r['setting']} {100 * r['final_val_error']:.1f}%" for r in scored)
    return (f"final validation error: {errors or 'none'}; paper: classical ~8-9%, "
            "method1 4.72%, method2 5.29%")


register(
    Experiment(
        name="natural-mnist",
        params=NaturalMNISTParams,
        run=run_natural_mnist,
        description="Natural quantization (arXiv 2503.15482): classical, Method 1 and Method 2 on the paper's MNIST protocol",
        paper=PAPER_ROWS,
        headline=headline_mnist,
        key_columns=("final_val_error", "best_val_error", "final_val_error_vs_paper", "epochs", "train_time_s"),
    )
)


# --------------------------------------------------------------------------- natural-sweep


def critical_g(
    g_values: list[float], errors: list[float], level: float = 0.5, chance: float = 0.9
) -> float | None:
    """The critical g_c where learning collapses: scanning down from the largest g, the first
    crossing of ``best + level * (chance - best)`` by the validation error, linearly
    interpolated between grid points (``best`` is the lowest error of the sweep). None if the
    error never crosses it."""
    order = np.argsort(g_values)
    g = np.asarray(g_values, dtype=float)[order]
    e = np.asarray(errors, dtype=float)[order]
    if len(g) < 2:
        return None
    threshold = e.min() + level * (chance - e.min())
    for i in range(len(g) - 1, 0, -1):
        if e[i] < threshold <= e[i - 1]:
            return float(g[i - 1] + (threshold - e[i - 1]) * (g[i] - g[i - 1]) / (e[i] - e[i - 1]))
    return None


def run_natural_sweep(ctx: RunContext, p: NaturalSweepParams) -> None:
    """Train every grid point (in parallel); rows, plots and g_c."""
    half = math.pi / 2
    points: list[tuple[str, float, float]] = []
    groups: list[str] = []
    for a in p.a_grid:
        points.append((f"a={a:.4g}", a, half))
        groups.append("a-sweep")
    for gp in p.g_grid_over_pi:
        points.append((f"g={gp:.4g}pi", 0.0, min(math.pi * gp, half)))
        groups.append("g-sweep")
    for a in p.combined_a:
        for gp in p.combined_g_over_pi:
            points.append((f"a={a:.4g},g={gp:.4g}pi", a, min(math.pi * gp, half)))
            groups.append("combined")
    results = run_points(ctx, p, points, "natural-sweep")
    rows = []
    for group, res in zip(groups, results, strict=True):
        row = {"method": METHOD, "sweep": group, "dataset": p.dataset, **res["row"]}
        rows.append(row)
        add_point_row(ctx, p, row, res.pop("model"))
    g_rows = [r for r in rows if r["sweep"] == "g-sweep"]
    g_c = None
    if len(g_rows) >= 2:
        g_c = critical_g(
            [r["g_over_pi"] for r in g_rows],
            [r["final_val_error"] for r in g_rows],
            p.collapse_level,
        )
    _plot_sweep(ctx, rows, g_c)
    best = min(rows, key=lambda r: r["final_val_error"])
    ctx.note(
        f"Sweep of {len(rows)} points, {p.epochs} epochs each on {rows[0]['train_size']} images, "
        f"{p.shots}-shot vote on {rows[0]['val_size']}. Best final validation error "
        f"{100 * best['final_val_error']:.2f}% at {best['setting']}. "
        + (
            f"Critical g_c ~ {g_c:.3f} pi (error crossing halfway between the best and chance); the paper reports "
            "collapse below ~pi/8 = 0.125 pi."
            if g_c is not None
            else "No learning collapse found on the g grid."
        )
    )
    if g_c is not None:
        ctx.add_row(
            {
                "method": METHOD,
                "sweep": "critical-g",
                "dataset": p.dataset,
                "setting": "g_c",
                "g_over_pi": g_c,
                "epochs": p.epochs,
            }
        )


def _plot_sweep(ctx: RunContext, rows: list[dict[str, Any]], g_c: float | None) -> None:
    """Final and best validation error against a, against g, and over g for each a of the
    combined grid (percent)."""

    def panel(group: str, x: str, title: str, xlabel: str, **kw: Any) -> Panel:
        sel = [r for r in rows if r["sweep"] == group]
        xs = [r[x] for r in sel]
        return Panel(
            title,
            xlabel,
            "validation error (%)",
            [
                Series("final", xs, [100 * r["final_val_error"] for r in sel]),
                Series("best", xs, [100 * r["best_val_error"] for r in sel]),
            ],
            **kw,
        )

    g_title = "error vs g (paper: collapse below pi/8"
    g_title += f"; here g_c = {g_c:.3f} pi)" if g_c is not None else ")"
    plot_panels(
        ctx,
        "error_vs_a",
        [panel("a-sweep", "a", "error vs a", "stretch a (g = pi/2)")],
        title="Natural quantization: stretch a",
    )
    plot_panels(
        ctx,
        "error_vs_g",
        [panel("g-sweep", "g_over_pi", g_title, "g / pi (a = 0)")],
        title="Natural quantization: measurement strength g",
    )
    combined = [r for r in rows if r["sweep"] == "combined"]
    by_a = sorted({r["a"] for r in combined})
    series = [
        Series(
            f"a={a:.3g}",
            [r["g_over_pi"] for r in combined if r["a"] == a],
            [100 * r["final_val_error"] for r in combined if r["a"] == a],
        )
        for a in by_a
    ]
    plot_panels(
        ctx,
        "error_combined",
        [Panel("final error on the (a, g) grid", "g / pi", "validation error (%)", series)],
        title="Natural quantization: combined a and g",
    )


def headline_sweep(rows: list[dict[str, Any]], p: Any = None) -> str:
    """The best final validation error of the sweep and where, the critical g_c, then the
    paper's collapse point."""
    scored = [r for r in rows if r.get("final_val_error") is not None]
    text = "no grid point finished"
    if scored:
        best = min(scored, key=lambda r: r["final_val_error"])
        text = f"best final validation error {100 * best['final_val_error']:.1f}% at {best['setting']} ({len(scored)} points)"
    g_c = next((r.get("g_over_pi") for r in rows if r.get("setting") == "g_c"), None)
    text += f"; critical g_c ~ {g_c:.3f} pi" if g_c is not None else "; g_c not located"
    return text + "; paper: collapse below ~pi/8 = 0.125 pi"


register(
    Experiment(
        name="natural-sweep",
        params=NaturalSweepParams,
        run=run_natural_sweep,
        description="Natural quantization: validation error against a, against g and on an (a, g) grid; critical g_c",
        paper=PAPER_ROWS,
        headline=headline_sweep,
        key_columns=("sweep", "a", "g_over_pi", "final_val_error", "best_val_error", "epochs"),
    )
)
