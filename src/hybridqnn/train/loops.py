"""Training and evaluation loops for binary networks (the protocols of QP-SBGD, Krahn et al.,
"Projected Stochastic Gradient Descent with Quantum Annealed Binary Gradients", arXiv 2310.15128,
BMVC 2024; code github mk2510/QPSBGD).

- :func:`optimizers_for`: the named optimizer (:func:`hybridqnn.optim.make_optimizer`) on a
  model's binary-layer weights and Adam on its other (real) parameters;
- :func:`minibatches`: the notebooks' batch schedule;
- :func:`train_classifier`: mini-batch training of a binary classifier with BCE;
- :func:`train_gcn`: full-batch node classification with cross-entropy;
- :func:`bce_metrics`: loss and accuracy of a binary classifier.

The loops take a list of optimizers (each step: every optimizer's ``set_epoch(epoch)`` if it has
one, e.g. :class:`~hybridqnn.optim.ProxQuant`'s schedule, then ``step()`` in order) and report
through a callback ``on_step(record)`` / ``on_epoch(record)`` with a flat dict, so a caller can
log wherever it likes, and through ``progress(k, n)`` (:mod:`hybridqnn.train.progress`). They return a :class:`TrainResult`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from hybridqnn._checks import check_int
from hybridqnn.nn.binary import BinaryLayer
from hybridqnn.optim.baselines import make_optimizer
from hybridqnn.optim.names import FULL_PRECISION_NAMES
from hybridqnn.train.progress import Progress, check_progress

__all__ = [
    "TrainResult",
    "bce_metrics",
    "minibatches",
    "optimizers_for",
    "train_classifier",
    "train_gcn",
]

Record = dict[str, Any]


@dataclass
class TrainResult:
    """One training run.

    Attributes:
        curves: per-step series (``loss``, ``batch_accuracy``, ``step_seconds``, ...; evaluation
            series as ``eval_<metric>`` or the metric's own name, see each loop).
        final: the evaluation after the last step.
        seconds: wall time of the loop.
    """

    curves: dict[str, list[float]]
    final: dict[str, Any]
    seconds: float


def optimizers_for(
    model: nn.Module, name: str, lr: float, *, aux_lr: float = 0.01, **kwargs: Any
) -> list[torch.optim.Optimizer]:
    """The optimizers that train ``model`` with method ``name``.

    For a binary method (``qpsbgd``, ``qpsbgd-ls``, ``qpsbgd-sm``, ``qpsbgd-xnor``, ``bc-sgd``,
    ``bc-signsgd``, ``proxquant``): ``make_optimizer(name, binary weights, lr, **kwargs)`` on the
    latent weights of the model's binary layers, then ``Adam(aux_lr)`` on every other parameter
    (e.g. a real bias), if there is any. For ``sgd`` / ``adam``: one torch optimizer on all
    parameters (``aux_lr`` unused).
    """
    if name in FULL_PRECISION_NAMES:
        return [make_optimizer(name, model.parameters(), lr, **kwargs)]
    binary = [m.weight for m in model.modules() if isinstance(m, BinaryLayer)]
    ids = {id(w) for w in binary}
    other = [q for q in model.parameters() if id(q) not in ids]
    main = make_optimizer(name, binary, lr, **kwargs)
    return [main, make_optimizer("adam", other, aux_lr)] if other else [main]


def minibatches(
    n: int, batch_size: int, updates: int, seed: int | None, per_epoch: int | None = None
) -> tuple[list[np.ndarray], int]:
    """``updates`` mini-batches of consecutive samples, epoch after epoch.

    Epoch e takes its batches from ``numpy.random.default_rng([seed, e]).permutation(n)``, or
    in file order when ``seed`` is None. An epoch is ``per_epoch`` batches (default and at most:
    all full batches, ⌊n / batch_size⌋), so with ``per_epoch`` set and ``seed`` None every epoch
    repeats the first ``per_epoch`` batches, as the QP-SBGD 10-layer notebook does (32 batches of
    16 per epoch). Returns the index arrays and the batches per epoch.
    """
    n = check_int("n", n, 1)
    batch_size = check_int("batch_size", batch_size, 1)
    updates = check_int("updates", updates, 1)
    full = max(1, n // batch_size)
    per_epoch = full if per_epoch is None else min(check_int("per_epoch", per_epoch, 1), full)
    out: list[np.ndarray] = []
    epoch = 0
    while len(out) < updates:
        order = (
            np.arange(n) if seed is None else np.random.default_rng([seed, epoch]).permutation(n)
        )
        for b in range(per_epoch):
            if len(out) == updates:
                break
            out.append(order[b * batch_size : (b + 1) * batch_size])
        epoch += 1
    return out, per_epoch


def bce_metrics(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, prefix: str
) -> dict[str, float]:
    """``{prefix}_loss``: BCE-with-logits of the model's output on (x, y) with 0/1 ``y``, and
    ``{prefix}_accuracy``: the fraction with 1[output >= 0] = y. No gradients."""
    with torch.no_grad():
        out = model(x).reshape(-1)
        return {
            f"{prefix}_loss": float(nn.functional.binary_cross_entropy_with_logits(out, y)),
            f"{prefix}_accuracy": float(((out >= 0).to(y.dtype) == y).float().mean()),
        }


def _zero_grad(optimizers: Sequence[torch.optim.Optimizer]) -> None:
    for opt in optimizers:
        opt.zero_grad(set_to_none=True)


def _step(optimizers: Sequence[torch.optim.Optimizer], epoch: int) -> float:
    """Set each optimizer's epoch (where it has a schedule) and step them in order; the seconds."""
    start = time.perf_counter()
    for opt in optimizers:
        if hasattr(opt, "set_epoch"):
            opt.set_epoch(epoch)
        opt.step()
    return time.perf_counter() - start


def train_classifier(
    model: nn.Module,
    optimizers: Sequence[torch.optim.Optimizer],
    x: torch.Tensor,
    y: torch.Tensor,
    batches: Sequence[np.ndarray],
    *,
    batches_per_epoch: int | None = None,
    eval_fn: Callable[[], dict[str, float]] | None = None,
    eval_every: int = 0,
    on_step: Callable[[Record], None] | None = None,
    progress: Progress | None = None,
) -> TrainResult:
    """Mini-batch training of a binary classifier with BCE-with-logits.

    Per batch B_t (index arrays, e.g. from :func:`minibatches`): L_t = BCE(model(x[B_t]), y[B_t])
    on the model's (N, 1) or (N,) output against 0/1 ``y``, backward, then every optimizer
    steps (epoch t // ``batches_per_epoch``; default: one epoch). Records per update the batch
    loss before the update (``loss``, the notebooks' training-loss curve), the accuracy on the
    same batch after it (``batch_accuracy``, the 2-layer notebook's curve) and the optimizer
    time (``step_seconds``); ``eval_fn()`` every ``eval_every`` updates and after the last
    (series ``eval_<key>``), and once more at the end for :attr:`TrainResult.final`.
    ``on_step`` gets ``{"step", "loss", "batch_accuracy", ...evaluation}`` after every update,
    then ``progress(step, len(batches))`` (:mod:`hybridqnn.train.progress`).
    """
    per_epoch = (
        len(batches)
        if batches_per_epoch is None
        else check_int("batches_per_epoch", batches_per_epoch, 1)
    )
    eval_every = check_int("eval_every", eval_every, 0)
    progress = check_progress(progress)
    loss_fn = nn.BCEWithLogitsLoss()
    curves: dict[str, list[float]] = {"loss": [], "batch_accuracy": [], "step_seconds": []}
    evals: dict[str, list[float]] = {}
    start = time.perf_counter()
    for t, idx in enumerate(batches):
        index = torch.as_tensor(idx)
        xb, yb = x[index], y[index]
        _zero_grad(optimizers)
        loss = loss_fn(model(xb).reshape(-1), yb)
        loss.backward()
        curves["step_seconds"].append(_step(optimizers, t // per_epoch))
        with torch.no_grad():
            acc = float(((model(xb).reshape(-1) >= 0).to(yb.dtype) == yb).float().mean())
        curves["loss"].append(float(loss.detach()))
        curves["batch_accuracy"].append(acc)
        record: Record = {"step": t + 1, "loss": curves["loss"][-1], "batch_accuracy": acc}
        if (
            eval_fn is not None
            and eval_every
            and ((t + 1) % eval_every == 0 or t + 1 == len(batches))
        ):
            for k, v in eval_fn().items():
                evals.setdefault(k, []).append(v)
                record[k] = v
        if on_step is not None:
            on_step(record)
        if progress is not None:
            progress(t + 1, len(batches))
    seconds = time.perf_counter() - start
    final = eval_fn() if eval_fn is not None else {}
    curves.update({f"eval_{k}": v for k, v in evals.items()})
    return TrainResult(curves, final, seconds)


def _node_metrics(model: nn.Module, graph: Any, adj: torch.Tensor) -> dict[str, Any]:
    """Cross-entropy over the training nodes and accuracy per split, on the whole graph."""
    with torch.no_grad():
        out = model(graph.x, adj)
        pred = out.argmax(dim=1)
        res: dict[str, Any] = {
            "train_loss": float(
                nn.functional.cross_entropy(out[graph.train_mask], graph.y[graph.train_mask])
            )
        }
        for split in ("train", "val", "test"):
            mask = getattr(graph, f"{split}_mask")
            res[f"{split}_accuracy"] = (
                float((pred[mask] == graph.y[mask]).float().mean()) if bool(mask.any()) else None
            )
        return res


def train_gcn(
    model: nn.Module,
    optimizers: Sequence[torch.optim.Optimizer],
    graph: Any,
    adj: torch.Tensor,
    epochs: int,
    *,
    eval_every: int = 10,
    subgraph: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None,
    on_epoch: Callable[[Record], None] | None = None,
    progress: Progress | None = None,
) -> TrainResult:
    """Full-batch node classification: per epoch one update on L = CE(model(X, Â)[T], y[T]), T
    the training nodes (``graph.train_mask``), then every optimizer steps (epoch = the epoch).

    ``graph`` has ``x``, ``y`` and ``train_mask`` / ``val_mask`` / ``test_mask``
    (:class:`hybridqnn.data.GraphDataset`); ``adj`` is Â. With ``subgraph`` = (Â[N1, :],
    Â[T, N1], y[T]) (:func:`hybridqnn.data.training_receptive_field`) the training pass calls
    ``model(X, Â[N1, :], Â[T, N1])`` (same loss and gradients, less work). Every ``eval_every``
    epochs and after the last, the model is evaluated on the whole graph (``train_loss`` and the
    accuracy of each split) and ``on_epoch`` gets ``{"epoch", "loss", ...evaluation}``. Curves:
    ``train_loss`` per epoch (before the update), ``test_accuracy`` per evaluation.
    ``progress(epoch, epochs)`` after every epoch (:mod:`hybridqnn.train.progress`).
    """
    epochs = check_int("epochs", epochs, 1)
    eval_every = check_int("eval_every", eval_every, 1)
    progress = check_progress(progress)
    loss_fn = nn.CrossEntropyLoss()
    curves: dict[str, list[float]] = {"test_accuracy": [], "train_loss": []}
    start = time.perf_counter()
    for epoch in range(epochs):
        _zero_grad(optimizers)
        if subgraph is None:
            out = model(graph.x, adj)
            loss = loss_fn(out[graph.train_mask], graph.y[graph.train_mask])
        else:
            loss = loss_fn(model(graph.x, subgraph[0], subgraph[1]), subgraph[2])
        loss.backward()
        _step(optimizers, epoch)
        curves["train_loss"].append(float(loss.detach()))
        if (epoch + 1) % eval_every == 0 or epoch + 1 == epochs:
            res = _node_metrics(model, graph, adj)
            curves["test_accuracy"].append(res["test_accuracy"])
            if on_epoch is not None:
                on_epoch({"epoch": epoch + 1, "loss": curves["train_loss"][-1], **res})
        if progress is not None:
            progress(epoch + 1, epochs)
    seconds = time.perf_counter() - start
    return TrainResult(curves, _node_metrics(model, graph, adj), seconds)
