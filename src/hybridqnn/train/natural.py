"""Training and evaluation loops for the natural-quantization networks.

The protocol of Barney, Lakhdar-Hamina & Galitski, "Natural Quantization of Neural Networks"
(arXiv 2503.15482), as in the authors' ``notebooks/mnist_train.ipynb``: plain SGD with momentum
on the cross-entropy of one stochastic forward pass per batch (the straight-through gradient of
:mod:`hybridqnn.nn.functional`), shuffled batches, and validation by the majority vote of
``shots`` fresh stochastic passes (the paper uses 15 shots). Works for
:class:`~hybridqnn.nn.NaturalQuantizedMLP` and :class:`~hybridqnn.nn.SignMLP` alike, on any
device.

- :func:`load_natural_data`: the paper's data (the first ``train_size`` training images), as
  flattened float32 tensors;
- :func:`train_natural_epoch`: one epoch of SGD;
- :func:`vote_error`: the error of the ``shots``-shot majority vote;
- :func:`fit_natural`: epochs of both, with a history and an optional logging callback.

Choices where the paper is silent (PAPERS.md D.4): the "training error" is the running
single-shot error of the training batches during the epoch (free; the authors record the last
batch's error); the validation error is evaluated single-shot every epoch and with the vote every
``eval_every`` epochs and at the last one ("best" is the best of those votes).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from hybridqnn._checks import check_float, check_int
from hybridqnn.train.progress import Progress, check_progress

__all__ = [
    "NaturalFitResult",
    "fit_natural",
    "load_natural_data",
    "train_natural_epoch",
    "vote_error",
]


def load_natural_data(
    dataset: str = "mnist",
    train_size: int = 5000,
    test_size: int | None = None,
    data_dir: Any = None,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The first ``train_size`` training and ``test_size`` test images (the paper's
    ``Subset(range(5000))``) as ``(x_train, y_train, x_test, y_test)``: images flattened to
    float32 rows in [0, 1], labels int64.

    Args:
        dataset: A name :func:`hybridqnn.data.load_dataset` knows (``"mnist"``,
            ``"fashion-mnist"``...).
        train_size: Training images kept, ``>= 1`` (at most all of them).
        test_size: Test images kept, ``>= 1``; None keeps all.
        data_dir: Data folder (None: the library's default).
    """
    from hybridqnn.data import first_n, load_dataset

    train_size = check_int("train_size", train_size, 1)
    if test_size is not None:
        test_size = check_int("test_size", test_size, 1)
    ds = load_dataset(dataset, data_dir=data_dir)
    ds = first_n(
        ds, min(train_size, ds.n_train), None if test_size is None else min(test_size, ds.n_test)
    )

    def flat(x: np.ndarray) -> Tensor:
        return torch.from_numpy(np.ascontiguousarray(x.reshape(len(x), -1), dtype=np.float32))

    return (
        flat(ds.x_train),
        torch.from_numpy(ds.y_train.astype(np.int64)),
        flat(ds.x_test),
        torch.from_numpy(ds.y_test.astype(np.int64)),
    )


def vote_error(
    model: nn.Module, x: Tensor, y: Tensor, shots: int, generator: torch.Generator | None
) -> float:
    """Error rate of the ``shots``-shot majority vote of ``model.predict`` (fresh samples per
    shot; ties go to the smallest class)."""
    pred = model.predict(x, shots=shots, generator=generator)
    return float((pred != y).float().mean())


def train_natural_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    x: Tensor,
    y: Tensor,
    batch_size: int,
    generator: torch.Generator,
) -> tuple[float, float]:
    """One epoch of ``optimizer`` on shuffled batches of the cross-entropy of one stochastic pass.

    ``generator`` draws the permutation and the model's samples. Returns ``(mean loss, running
    single-shot error)`` over the epoch's batches.
    """
    perm = torch.randperm(x.shape[0], generator=generator, device=generator.device).to(x.device)
    loss_sum, wrong = 0.0, 0
    for start in range(0, x.shape[0], batch_size):
        idx = perm[start : start + batch_size]
        xb, yb = x[idx], y[idx]
        optimizer.zero_grad(set_to_none=True)
        logits = model(xb, generator=generator)
        loss = torch.nn.functional.cross_entropy(logits, yb)
        loss.backward()
        optimizer.step()
        loss_sum += float(loss.detach()) * len(idx)
        wrong += int((logits.detach().argmax(1) != yb).sum())
    return loss_sum / x.shape[0], wrong / x.shape[0]


@dataclass
class NaturalFitResult:
    """What :func:`fit_natural` returns.

    Attributes:
        history: One record per epoch: ``epoch``, ``train_loss``, ``train_error``,
            ``val_error_1shot`` and ``val_error_vote`` (None on epochs without a vote).
        best_val_error: The lowest voted validation error (``inf`` if none was evaluated).
        best_epoch: Its epoch (0 if none).
        train_seconds: Time spent in the training epochs (evaluations excluded).
    """

    history: list[dict[str, Any]] = field(default_factory=list)
    best_val_error: float = math.inf
    best_epoch: int = 0
    train_seconds: float = 0.0


def fit_natural(
    model: nn.Module,
    x_train: Tensor,
    y_train: Tensor,
    x_val: Tensor,
    y_val: Tensor,
    *,
    epochs: int = 100,
    batch_size: int = 64,
    lr: float = 0.01,
    momentum: float = 0.9,
    shots: int = 15,
    eval_every: int = 1,
    generator: torch.Generator | None = None,
    log: Callable[[dict[str, Any]], None] | None = None,
    progress: Progress | None = None,
) -> NaturalFitResult:
    """Train ``model`` with SGD (``lr``, ``momentum``) for ``epochs`` epochs and validate it.

    Every epoch: :func:`train_natural_epoch`, then the single-shot validation error, and every
    ``eval_every`` epochs and at the last one the ``shots``-shot vote (:func:`vote_error`).

    Args:
        model: A network whose forward takes ``generator=`` and that has ``predict(x, shots,
            generator)`` (:class:`~hybridqnn.nn.NaturalQuantizedMLP`, :class:`~hybridqnn.nn.SignMLP`).
        x_train: Training inputs, on the model's device.
        y_train: Training labels, int64, on the model's device.
        x_val: Validation inputs.
        y_val: Validation labels.
        epochs: ``>= 1``; the paper: 100.
        batch_size: ``>= 1``; the paper: 64.
        lr: Learning rate, ``> 0``; the paper: 0.01.
        momentum: In ``[0, 1]``; the paper: 0.9.
        shots: Votes per validation prediction, ``>= 1``; the paper: 15.
        eval_every: Epochs between votes, ``>= 1``.
        generator: Source of the shuffles and the samples (None: a fresh one seeded 0, on the
            device of ``x_train``).
        log: Called with each epoch's record as soon as the epoch ends (e.g. to log it).
        progress: Called as ``progress(epoch, epochs)`` after each epoch's record
            (:mod:`hybridqnn.train.progress`).

    Returns:
        The :class:`NaturalFitResult`.
    """
    epochs = check_int("epochs", epochs, 1)
    batch_size = check_int("batch_size", batch_size, 1)
    check_float("lr", lr, 0.0, low_open=True)
    check_float("momentum", momentum, 0.0, 1.0)
    shots = check_int("shots", shots, 1)
    eval_every = check_int("eval_every", eval_every, 1)
    progress = check_progress(progress)
    if generator is None:
        generator = torch.Generator(device=x_train.device).manual_seed(0)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    result = NaturalFitResult()
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        loss, train_err = train_natural_epoch(model, opt, x_train, y_train, batch_size, generator)
        result.train_seconds += time.perf_counter() - t0
        rec: dict[str, Any] = {
            "epoch": epoch,
            "train_loss": loss,
            "train_error": train_err,
            "val_error_1shot": vote_error(model, x_val, y_val, 1, generator),
            "val_error_vote": None,
        }
        if epoch % eval_every == 0 or epoch == epochs:
            rec["val_error_vote"] = vote_error(model, x_val, y_val, shots, generator)
            if rec["val_error_vote"] < result.best_val_error:
                result.best_val_error, result.best_epoch = rec["val_error_vote"], epoch
        result.history.append(rec)
        if log is not None:
            log(rec)
        if progress is not None:
            progress(epoch, epochs)
    return result
