"""Experiments for the QUBO-trained classifier head (Atallah & Herrman, arXiv 2603.02958).

- ``qubo-head`` (configs ``quickstart`` and ``qubo-head-precision``): frozen random conv
  features, then the SGD baseline and the QUBO head for each bit precision K, on each data set.
  Every head is saved with its features (``models/``; kinds ``sgd-head`` and ``qubo-head`` of
  :mod:`hybridqnn.deploy.kinds.head`), a Pipeline that predicts raw images.

Its benchmark, ``bench-qubo-head``, lives in :mod:`hybridqnn.experiments.benchmarks.qubo_head` and
reuses :func:`head_features`, :func:`train_sgd_row` and :func:`train_qubo_row`.

Seeds are keyed by name (:meth:`RunContext.seed_for`): features ``("features", dataset)``, the
SGD head ``("sgd", dataset)``, the QUBO head ``("qubo-head", dataset, "K=<bits>")``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hybridqnn.experiments.choices import HEAD_OPTIMIZERS, NONLINEARITIES, POOLS
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
from hybridqnn.experiments.toolkit import Timer, child_seed
from hybridqnn.solvers.keywords import check_sample_kwargs

PAPER_CLAIMS: tuple[dict[str, Any], ...] = (
    {"claim": "accuracy rises monotonically with K", "paper": "yes (all data sets)"},
    {"claim": "K = 5 fails", "paper": "on every data set"},
    {"claim": "practical minimum K", "paper": "10"},
    {"claim": "K = 20 vs SGD", "paper": "matches or beats SGD on MNIST, Fashion-MNIST, EMNIST (up to +3.1 points on MNIST); slightly below on CIFAR-10, KMNIST"},
    {"claim": "K = 15 problem size", "paper": "fits D-Wave Advantage qubit and coupler limits"},
    {"claim": "training time (simulated annealing)", "paper": "100-400x slower than SGD"},
)


def image_datasets() -> list[str]:
    """The data sets a head trains on (every loader's but a1a)."""
    from hybridqnn.data import DATASETS

    return [d for d in DATASETS if d != "a1a"]




@dataclass(frozen=True)
class HeadParams:
    """Settings shared by the head experiment and its benchmark."""

    train_size: int | None = param(None, help="stratified training subset size (None: all)", **COUNT)
    test_size: int | None = param(None, help="stratified test subset size (None: all)", **COUNT)
    num_filters: int | None = param(None, help="random conv filters (None: size-based default)", low=1, high=MAX_WIDTH)
    kernel_size: int | None = param(None, help="conv kernel size (None: size-based default)", low=1, high=1024)
    pool_size: int | None = param(None, help="pooled grid side (None: size-based default)", low=1, high=1024)
    nonlinearity: str = param("relu", help="relu, tanh, abs or identity", choices=NONLINEARITIES)
    pool: str = param("avg", help="avg or max", choices=POOLS)
    weight_range: float = param(2.0, help="weights live on the K-bit grid over [-r, r]", **POSITIVE)
    bias_range: float = param(4.0, help="bias lives on the K-bit grid over [-r, r]", **POSITIVE)
    l2: float = param(1e-4, help="L2 penalty (both heads)", **POSITIVE)
    max_iter: int = param(30, help="most QUBO iterations", **COUNT)
    tol: float = param(1e-4, help="relative loss improvement counted as progress", low=0.0)
    patience: int = param(3, help="stalled iterations before stopping", **COUNT)
    sample_kwargs: dict[str, Any] = field(default_factory=dict, metadata={"help": "passed verbatim to sampler.sample (checked against the solver)"})
    warm_start: bool = field(default=True, metadata={"help": "warm-start samplers from the classical reference"})
    compare_cold_start: bool = field(default=False, metadata={"help": "also record cold-start energies (first iteration)"})
    hardware_timeout: float = param(10.0, help="seconds per topology for the minor-embedding attempt", **POSITIVE)
    sgd_optimizer: str = param("adam", help="adam or sgd", choices=HEAD_OPTIMIZERS)
    sgd_lr: float = param(1e-2, help="SGD head learning rate", **POSITIVE)
    sgd_batch_size: int = param(256, help="SGD head batch size", **COUNT)
    sgd_epochs: int = param(20, help="SGD head epochs", **COUNT)

    def __post_init__(self) -> None:
        check_declared(self)
        for solver in self.head_solvers():
            check_sample_kwargs(solver, self.sample_kwargs)

    def head_solvers(self) -> list[str]:
        """The solvers ``sample_kwargs`` is passed to (subclasses name them)."""
        return []



@dataclass(frozen=True)
class QUBOHeadExperimentParams(HeadParams):
    """The QUBO head against SGD over data sets and bit precisions."""

    datasets: list[str] = list_field("digits", help="data sets", choices=image_datasets)
    optional_datasets: list[str] = param(
        default_factory=list, help="data sets run only when their files are present (never downloaded)", choices=image_datasets
    )
    bits: list[int] = list_field(10, help="bit precisions K", low=1, high=32, nonempty=True)
    solver: str = solver_field("dense-sa", help="registry name of the sampler (hybridqnn list solvers)")

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.datasets and not self.optional_datasets:
            raise ValueError("'datasets' must name at least one data set, got []")

    def head_solvers(self) -> list[str]:
        return [self.solver]



@dataclass
class HeadFeatures:
    """One data set's features, with the fitted extractor that made them from the raw images
    and, when the run drew a stratified subset, its sizes and seed."""

    dataset: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    feature_s: float
    extractor: Any = None  # RandomConvTransformer
    class_names: tuple[str, ...] = ()
    subset: dict[str, int] | None = None


def head_features(
    p: HeadParams, name: str, seed: int, *, data_dir: Any = None, device: str = "cpu", download: bool = True
) -> HeadFeatures:
    from hybridqnn.data import load_dataset, stratified_subset
    from hybridqnn.nn import RandomConvFeatures
    from hybridqnn.train import RandomConvTransformer

    ds = load_dataset(name, data_dir=data_dir, download=download)
    subset = None
    if p.train_size is not None or p.test_size is not None:
        subset = {"train_size": min(p.train_size or ds.n_train, ds.n_train), "test_size": min(p.test_size or ds.n_test, ds.n_test), "seed": seed}
        ds = stratified_subset(ds, subset["train_size"], subset["test_size"], seed=seed)
    overrides = {
        k: v
        for k, v in {"num_filters": p.num_filters, "kernel_size": p.kernel_size, "pool_size": p.pool_size}.items()
        if v is not None
    }
    with Timer() as timer:
        extractor = RandomConvFeatures.for_images(
            ds.image_shape, seed=seed, nonlinearity=p.nonlinearity, pool=p.pool, **overrides
        ).to(device)
        extractor.fit(ds.x_train)
        x_train, x_test = extractor.transform(ds.x_train), extractor.transform(ds.x_test)
    return HeadFeatures(
        name, x_train, ds.y_train, x_test, ds.y_test, ds.num_classes, timer.seconds,
        RandomConvTransformer.from_features(extractor, ds.image_shape), ds.class_names, subset,
    )


def _accuracy(weights: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.argmax(x @ weights[:, :-1].T + weights[:, -1], axis=1) == y))


def train_sgd_row(ctx: RunContext, p: HeadParams, f: HeadFeatures, seed: int) -> tuple[dict[str, Any], Any]:
    """The SGD head's row and the trained model (features and head, a Pipeline on raw images)."""
    from hybridqnn.train import SGDHeadClassifier, fit_sgd_head

    with ctx.phase(f"SGD baseline ({f.dataset})", p.sgd_epochs, "epoch") as bar:
        res = fit_sgd_head(
            f.x_train, f.y_train, f.num_classes, optimizer=p.sgd_optimizer, lr=p.sgd_lr, batch_size=p.sgd_batch_size,
            epochs=p.sgd_epochs, l2=p.l2, seed=seed, device=ctx.device, eval_set=(f.x_test, f.y_test),
            callback=lambda r: ctx.log(dataset=f.dataset, method="sgd", **r), progress=bar,
        )
    row = {
        "method": "sgd",
        "dataset": f.dataset,
        "setting": "full precision",
        "bits": None,
        "solver": p.sgd_optimizer,
        "features": f.x_train.shape[1],
        "train_accuracy": _accuracy(res.weights, f.x_train, f.y_train),
        "test_accuracy": _accuracy(res.weights, f.x_test, f.y_test),
        "best_test_accuracy": res.best_eval_accuracy,
        "time_to_best_s": res.time_to_best_s,
        "train_time_s": res.train_time_s,
        "iterations": len(res.history),
    }
    head = SGDHeadClassifier.from_result(
        res, seed=seed, optimizer=p.sgd_optimizer, lr=p.sgd_lr, batch_size=p.sgd_batch_size, epochs=p.sgd_epochs,
        l2=p.l2, device=ctx.device,
    )
    return row, _pipeline(f, head)


def train_qubo_row(ctx: RunContext, p: HeadParams, f: HeadFeatures, bits: int, solver: str, seed: int) -> tuple[dict[str, Any], Any]:
    """The QUBO head's row and the trained model (features and head, a Pipeline on raw images)."""
    from hybridqnn.solvers import get_sampler
    from hybridqnn.train import QUBOHeadClassifier, fit_qubo_head

    # one step: an iteration's C class QUBOs solved (the phase the issue calls "QUBO solves per class")
    with ctx.phase(f"QUBO solves per class ({f.dataset}, K={bits})", p.max_iter, "iteration") as bar:
        res = fit_qubo_head(
            f.x_train, f.y_train, f.num_classes, get_sampler(solver), bits=bits, weight_range=p.weight_range,
            bias_range=p.bias_range, l2=p.l2, max_iter=p.max_iter, tol=p.tol, patience=p.patience,
            warm_start=p.warm_start, compare_cold_start=p.compare_cold_start, sample_kwargs=p.sample_kwargs,
            seed=seed, executor=ctx.executor,
            callback=lambda r: ctx.log(dataset=f.dataset, method="qubo-head", bits=bits, solver=solver, **r),
            progress=bar,
        )
    last, first = res.history[-1], res.history[0]
    row = {
        "method": "qubo-head",
        "dataset": f.dataset,
        "setting": f"K={bits}",
        "bits": bits,
        "solver": solver,
        "features": f.x_train.shape[1],
        "train_accuracy": _accuracy(res.weights, f.x_train, f.y_train),
        "test_accuracy": _accuracy(res.weights, f.x_test, f.y_test),
        "train_time_s": res.timing["total_s"],
        "build_s": res.timing["build_s"],
        "reference_s": res.timing["reference_s"],
        "solve_s": res.timing["solve_s"],
        "other_s": res.timing["other_s"],
        "iterations": len(res.history),
        "accepted": sum(1 for r in res.history if r["accepted"]),
        "num_variables": res.problem["num_variables"],
        "num_interactions": res.problem["num_interactions"],
        "fits_advantage": res.problem["fits_advantage"],
        "solver_energy_last": last["solver_energy"],
        "reference_energy_last": last["reference_energy"],
        "cold_start_energy_first": first.get("cold_start_energy"),
        "solver_energy_first": first["solver_energy"],
    }
    head = QUBOHeadClassifier.from_result(
        res, seed=seed, bits=bits, weight_range=p.weight_range, bias_range=p.bias_range, l2=p.l2, max_iter=p.max_iter,
        tol=p.tol, patience=p.patience, sampler=solver, sample_kwargs=p.sample_kwargs, warm_start=p.warm_start,
        compare_cold_start=p.compare_cold_start, executor=ctx.executor,
    )
    return row, _pipeline(f, head)


def _pipeline(f: HeadFeatures, head: Any) -> Any:
    from sklearn.pipeline import Pipeline

    return Pipeline([("features", f.extractor), ("head", head)])


def _save(ctx: RunContext, f: HeadFeatures, model: Any, row: dict[str, Any]) -> None:
    """Save a trained head with its features; its recorded input is the test split the row was
    scored on (the stratified subset when the run drew one), so ``predict`` reproduces the row."""
    t = f.extractor
    data: dict[str, Any] = {
        "dataset": f.dataset,
        "input": {"name": "raw-images", "kwargs": dict(f.subset or {})},
        "preprocessing": (
            f"raw images as hybridqnn.data.load_dataset gives them (float32 in [0, 1], shape {list(t.image_shape_)}); "
            f"the model's own features: {t.features_.num_filters} random {t.features_.kernel_size}x{t.features_.kernel_size} "
            f"conv filters, {t.features_.nonlinearity}, {t.features_.pool} pooling to {t.features_.pool_size}x"
            f"{t.features_.pool_size}, standardised by the training mean and std"
        ),
    }
    if f.subset is not None:
        data["preprocessing"] += f"; the stratified test subset {f.subset} the row was scored on"
    ctx.save_model(model, row, classes=list(f.class_names) or None, data=data)


def check_exact_size(p: HeadParams, f: HeadFeatures, bits: int, key: str = "solver") -> None:
    """The exact solver enumerates 2^n states: where ``p`` passes it a head QUBO of
    n = (d + 1) K variables (d features and a bias, K = ``bits`` each) beyond
    :data:`~hybridqnn.solvers.keywords.EXACT_MAX_VARIABLES`, the run stops once the features are
    known, before any head trains; the message names the config ``key``."""
    from hybridqnn.solvers.keywords import EXACT_MAX_VARIABLES

    n = (f.x_train.shape[1] + 1) * bits
    if "exact" in p.head_solvers() and n > EXACT_MAX_VARIABLES:
        raise ValueError(
            f"{key!r} 'exact' takes at most {EXACT_MAX_VARIABLES} variables, but the {f.dataset} head at "
            f"K={bits} has (features + 1) x K = {f.x_train.shape[1] + 1} x {bits} = {n}; choose another "
            "solver or fewer features (num_filters, pool_size) or bits"
        )


def run_qubo_head(ctx: RunContext, p: QUBOHeadExperimentParams) -> None:
    """For each data set: features, the SGD head, then the QUBO head at every K."""
    names = [(n, True) for n in p.datasets] + [(n, False) for n in p.optional_datasets]
    largest: HeadFeatures | None = None
    results: dict[str, dict[str, Any]] = {}
    # outer bar: the heads trained (SGD and each K per data set); closed by the runner
    outer = ctx.phase(ctx.config.name, len(names) * (len(p.bits) + 1), "head")
    for name, required in names:
        try:
            with ctx.phase(f"random conv features ({name})", 1):
                f = head_features(p, name, ctx.seed_for("features", name), data_dir=ctx.data_dir,
                                  device=ctx.device, download=required)
        except FileNotFoundError as exc:
            if required:
                raise
            ctx.note(f"Skipped optional data set {name!r}: its files are not present ({exc}).")
            outer.advance(len(p.bits) + 1)
            continue
        check_exact_size(p, f, max(p.bits))
        sgd_row, sgd_model = train_sgd_row(ctx, p, f, ctx.seed_for("sgd", name))
        sgd_row["feature_s"] = f.feature_s
        ctx.add_row(sgd_row)
        _save(ctx, f, sgd_model, sgd_row)
        outer.advance()
        per_k: dict[int, dict[str, Any]] = {}
        for k in p.bits:
            row, model = train_qubo_row(ctx, p, f, k, p.solver, ctx.seed_for("qubo-head", name, f"K={k}"))
            row["time_vs_sgd_best"] = row["train_time_s"] / max(sgd_row["time_to_best_s"], 1e-9)
            row["accuracy_vs_sgd_best"] = row["test_accuracy"] - sgd_row["best_test_accuracy"]
            ctx.add_row(row)
            _save(ctx, f, model, row)
            per_k[k] = {"row": row, "losses": [r["loss"] for r in model[-1].history_]}
            outer.advance()
        results[name] = {"sgd": sgd_row, "per_k": per_k}
        if name == _largest_dataset(p):
            largest = f
    if largest is not None:
        with ctx.phase(f"hardware estimate (K={max(p.bits)}, minor-embedding)", 1):
            ctx.add_row(_hardware_row(p, largest))
    _plot_precision(ctx, results)


def _head_bqm(p: HeadParams, f: HeadFeatures, bits: int) -> Any:
    from hybridqnn.train import head_qubo

    model, *_ = head_qubo(
        f.x_train, f.y_train, f.num_classes, bits=bits, weight_range=p.weight_range, bias_range=p.bias_range, l2=p.l2
    )
    return model.to_bqm("BINARY")


def _hardware_row(p: HeadParams, f: HeadFeatures) -> dict[str, Any]:
    """Hardware figures of the run's largest problem, :func:`largest_head_problem` built from
    the run's own features: ``hybridqnn hardware`` estimates the same problem with the same
    function (:func:`hybridqnn.solvers.hardware_estimate`)."""
    from hybridqnn.solvers import hardware_estimate

    bits = max(p.bits)
    record = hardware_estimate(_head_bqm(p, f, bits), timeout=p.hardware_timeout)
    return {"method": "hardware-estimate", "dataset": f.dataset, "setting": f"K={bits}", "bits": bits,
            **record}


def _largest_dataset(p: QUBOHeadExperimentParams) -> str:
    """The data set of the largest class QUBO: the first non-digits data set (digits has the
    fewest features), else digits, else the first optional one."""
    names = [n for n in p.datasets if n != "digits"] or list(p.datasets) or list(p.optional_datasets)
    return names[0]


def largest_head_problem(p: QUBOHeadExperimentParams, data_dir: Any, seed: int) -> Any:
    """The largest class QUBO a run of ``p`` with master seed ``seed`` builds: the largest K on
    :func:`_largest_dataset`, on the same features as the run (the same keyed seed)."""
    name = _largest_dataset(p)
    f = head_features(p, name, child_seed(seed, "features", name), data_dir=data_dir)
    return _head_bqm(p, f, max(p.bits))


def _plot_precision(ctx: RunContext, results: dict[str, dict[str, Any]]) -> None:
    """Test accuracy against K per data set, beside the SGD head's best (a flat line over the
    same K), and each head's training loss per iteration."""
    acc_panels, loss_series = [], []
    for name, r in results.items():
        ks = sorted(r["per_k"])
        acc_panels.append(Panel(f"{name}: QUBO head vs SGD head", "bits per weight K", "test accuracy", [
            Series("QUBO head", ks, [r["per_k"][k]["row"]["test_accuracy"] for k in ks]),
            Series("SGD head (best epoch)", ks, [r["sgd"]["best_test_accuracy"]] * len(ks), reference=True),
        ]))
        for k in ks:
            losses = r["per_k"][k]["losses"]
            loss_series.append(Series(f"{name} K={k}", list(range(1, len(losses) + 1)), losses))
    plot_panels(ctx, "accuracy_vs_bits", acc_panels, title="QUBO-trained head: test accuracy vs precision")
    plot_panels(ctx, "loss", [Panel("QUBO head: loss per iteration", "iteration", "training loss", loss_series)],
                title="QUBO-trained head: training loss per iteration")


def headline(rows: list[dict[str, Any]], p: Any = None) -> str:
    """Per data set, the QUBO head's test accuracy at each K beside the SGD head's best
    (monotone in K judged only with two K or more), then the paper's K = 20 claim. A data set
    whose run stopped before its first QUBO head (a partial report) says so."""
    parts = []
    for name in dict.fromkeys(r["dataset"] for r in rows if r.get("method") in ("qubo-head", "sgd")):
        heads = sorted((r for r in rows if r.get("method") == "qubo-head" and r["dataset"] == name),
                       key=lambda r: int(str(r["setting"]).removeprefix("K=")))
        accs = [r["test_accuracy"] for r in heads]
        text = f"{name}: " + ("QUBO head " + ", ".join(
            f"{r['setting']} {a:.3f}" for r, a in zip(heads, accs, strict=True)) if heads else "no QUBO head row")
        if len(accs) > 1:
            monotone = all(b >= a - 1e-12 for a, b in zip(accs, accs[1:], strict=False))
            text += f" (monotone in K: {'yes' if monotone else 'no'})"
        sgd = next((r for r in rows if r.get("method") == "sgd" and r["dataset"] == name), None)
        if sgd is not None:
            text += f" vs SGD best {sgd['best_test_accuracy']:.3f}"
        parts.append(text)
    return "; ".join(parts or ["no QUBO head row"]) + "; paper: K=20 matches or beats SGD on MNIST, Fashion-MNIST, EMNIST"


register(
    Experiment(
        name="qubo-head",
        params=QUBOHeadExperimentParams,
        run=run_qubo_head,
        description="QUBO-trained classifier head on frozen random conv features vs an SGD head (arXiv 2603.02958)",
        paper=PAPER_CLAIMS,
        largest_problem=largest_head_problem,
        headline=headline,
        key_columns=("test_accuracy", "best_test_accuracy", "train_time_s", "iterations", "num_variables"),
        required_data=lambda p: p.datasets,  # optional_datasets are skipped when missing
    )
)


