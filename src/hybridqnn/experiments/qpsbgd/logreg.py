"""``qpsbgd-logreg``: binary logistic regression on synthetic data and on a1a, QP-SBGD against
BinaryConnect and ProxQuant (Krahn et al., arXiv 2310.15128, mention it without a protocol;
ours is in :func:`run_logreg`)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hybridqnn.experiments.context import RunContext
from hybridqnn.experiments.params import COUNT, MAX_COUNT, MAX_WIDTH, list_field, param
from hybridqnn.experiments.qpsbgd import common

PAPER_LOGREG: tuple[dict[str, Any], ...] = (
    {"claim": "binary logistic regression", "paper": "mentioned; no protocol or numbers recovered"},
)

DESCRIPTION = "Binary logistic regression (synthetic, a1a): QP-SBGD vs BinaryConnect and ProxQuant (arXiv 2310.15128)"
#: The report's figure: file name and title.
FIGURE = ("logreg_train_loss", "Binary logistic regression: training loss")


DATASETS: tuple[str, ...] = ("synthetic", "a1a")


@dataclass(frozen=True)
class LogRegParams(common.TrainParams):
    """Binary logistic regression (protocol in :func:`run_logreg`)."""

    datasets: list[str] = list_field("synthetic", "a1a", help="synthetic and/or a1a", choices=DATASETS, nonempty=True)
    synthetic_features: int = param(32, help="features of the planted problem", low=1, high=MAX_WIDTH)
    synthetic_train: int = param(1000, help="training rows of the planted problem", low=2, high=MAX_COUNT)
    synthetic_test: int = param(2000, help="test rows of the planted problem", **COUNT)
    synthetic_noise: float = param(0.5, help="label noise std on <w*, x>/sqrt(d)", low=0.0)
    batch_size: int = param(16, help="mini-batch size", **COUNT)
    updates: int = param(64, help="parameter updates", **COUNT)
    bias: bool = field(default=True, metadata={"help": "real bias (trained by Adam, aux_lr)"})


def _arrays(
    ctx: RunContext, q: LogRegParams, dataset: str, seed: int, cache: dict[str, Any]
) -> tuple[np.ndarray, ...]:
    """(x_train, y_train, x_test, y_test) of ``dataset``; a1a is read once per run."""
    from hybridqnn.data import load_dataset, planted_logistic

    if dataset == "synthetic":
        return planted_logistic(
            q.synthetic_features, q.synthetic_train, q.synthetic_test, q.synthetic_noise, seed
        )
    if "a1a" not in cache:
        ds = load_dataset("a1a", data_dir=ctx.data_dir)
        cache["a1a"] = (
            ds.x_train,
            ds.y_train.astype(np.float64),
            ds.x_test,
            ds.y_test.astype(np.float64),
        )
    return cache["a1a"]


def _eval_every(q: LogRegParams) -> int:
    """Updates between evaluations: about sixteen evaluations per run."""
    return max(1, q.updates // 16)


def _one_run(
    ctx: RunContext,
    q: LogRegParams,
    method: str,
    seed: int,
    arrays: tuple[np.ndarray, ...],
    tag: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, list[float]]]:
    import torch

    from hybridqnn.nn import BinaryLogisticRegression
    from hybridqnn.train import minibatches

    x, y, xt, yt = (torch.as_tensor(a, dtype=torch.float32) for a in arrays)
    scale = 1.0 / math.sqrt(max(float((x**2).sum(1).mean()), 1e-12))
    x, y, xt, yt = (t.to(ctx.device) for t in (x, y, xt, yt))
    model = BinaryLogisticRegression(
        x.shape[1], binary=method not in common.FP_METHODS, bias=q.bias, scale=scale, seed=seed
    ).to(ctx.device)
    batches = minibatches(len(x), q.batch_size, q.updates, seed)
    return common.fit_classifier(
        ctx,
        q,
        method,
        seed,
        model,
        (x, y, xt, yt),
        batches,
        eval_every=_eval_every(q),
        tag=tag,
    )


def _saving(q: LogRegParams, dataset: str) -> Callable[[int], dict[str, Any]]:
    """``saving`` of :func:`hybridqnn.experiments.qpsbgd.common.method_runs` on ``dataset``."""
    if dataset == "a1a":
        data = {
            "dataset": "a1a",
            "input": {"name": "raw-features", "kwargs": {}},
            "preprocessing": "a1a's 123 binary features as given (0/1), all test rows",
        }
        return lambda seed: {"classes": [-1, 1], "data": data}

    def synthetic(seed: int) -> dict[str, Any]:
        kwargs = {
            "num_features": q.synthetic_features,
            "num_train": q.synthetic_train,
            "num_test": q.synthetic_test,
            "noise": q.synthetic_noise,
            "seed": seed,
        }
        text = f"planted logistic task (hybridqnn.data.planted_logistic, seed {seed}), raw features"
        data = {"dataset": "synthetic", "input": {"name": "planted-logistic", "kwargs": kwargs}}
        return {"classes": [0, 1], "data": {**data, "preprocessing": text}}

    return synthetic


def run_logreg(ctx: RunContext, p: LogRegParams) -> None:
    """Binary logistic regression: p(y = 1 | x) = σ(c·sign(w)ᵀx + b).

    The paper mentions binary logistic regression without a protocol; ours:

    - ``synthetic``: x ~ N(0, I_d) (d = ``synthetic_features``), a planted w* ∈ {±1}^d and
      y = 1[⟨w*, x⟩/√d + σ ε > 0] (:func:`hybridqnn.data.planted_logistic`);
      ``synthetic_train`` / ``synthetic_test`` samples (data seed = the run seed).
    - ``a1a``: the LIBSVM file's 1605 training and 30956 test rows, 123 binary features as given
      (0/1), labels ±1 → 0/1.
    - Model: :class:`~hybridqnn.nn.BinaryLogisticRegression` (latent weights U(−s, s)), logit
      scale c = 1/√(mean ‖x‖²) of the training set (so logits are O(1)), and a real bias trained
      by Adam (``aux_lr``) for every binary method; the full-precision references train w and b
      with their own optimizer.
    - Paper setting: the 10-layer protocol's batch size 16 and 64 updates, with its learning
      rates; best effort: ``best_effort`` (default config: batch 64, 500 updates).

    QP-SBGD's layer-local problem here is one neuron: X = the batch (B×d), V = dL/d(logit).
    """
    rows: list[dict[str, Any]] = []
    panels = []
    cache: dict[str, Any] = {}
    metrics = ("train_loss", "test_accuracy", "train_accuracy")
    for name in p.settings:
        q = common.setting(p, name)
        for dataset in q.datasets:

            def run_one(method: str, seed: int, tag: dict[str, Any]) -> tuple[Any, Any]:
                arrays = _arrays(ctx, q, dataset, seed, cache)  # noqa: B023 - called right away
                return _one_run(ctx, q, method, seed, arrays, tag)  # noqa: B023

            curves = {}
            runs_of = common.method_runs(ctx, q, name, dataset, run_one, _saving(q, dataset))
            for method, (records, runs) in runs_of.items():
                curves[method] = [r["eval_train_loss"] for r in runs]
                extra = {"batch_size": q.batch_size, "updates": q.updates, "lr": q.lr[method]}
                rows.append(common.summary_row(method, dataset, name, records, metrics, extra))
            panels.append(
                common.curve_panel(
                    f"{dataset} ({name})",
                    "update",
                    "training loss (whole training set)",
                    curves,
                    x=common.evaluated_steps(q.updates, _eval_every(q)),
                )
            )
    common.report(ctx, rows, panels, "test_accuracy", "mean test accuracy", FIGURE)


common.register_training(
    "qpsbgd-logreg", LogRegParams, run_logreg, DESCRIPTION, PAPER_LOGREG,
    metric="test_accuracy", paper_headline="no numbers recovered",
    key_columns=("test_accuracy", "train_loss", "lr", "train_time_s", "gap_to_best_baseline"),
    required_data=lambda p: [
        d for name in p.settings for d in common.setting(p, name).datasets if d != "synthetic"
    ],
)
