"""Data preparation of the QP-SBGD experiments (Krahn et al., "Projected Stochastic Gradient
Descent with Quantum Annealed Binary Gradients", arXiv 2310.15128, BMVC 2024; code github
mk2510/QPSBGD): a planted logistic-regression task, a1a as the authors' notebooks read it, and
pooled, thresholded features of MNIST digit pairs; and of the QCBO experiments (Li et al.,
arXiv 2506.18240): a task's stratified subset (a class pair or all classes) and block means of
its images.

Each function is deterministic in its ``seed``. The tensor-returning ones import torch when
called.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from hybridqnn._checks import check_float, check_int
from hybridqnn.data.dataset import Dataset
from hybridqnn.data.subsets import class_pair, stratified_subset

if TYPE_CHECKING:
    import torch

__all__ = ["a1a_spins", "block_means", "planted_logistic", "pooled_pair_features", "task_subset"]


def planted_logistic(
    num_features: int, num_train: int, num_test: int, noise: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A planted binary logistic-regression task.

    x ~ N(0, I_d), a planted w* ∈ {±1}^d, y = 1[⟨w*, x⟩/√d + noise·ε > 0] with ε ~ N(0, 1),
    all drawn from ``numpy.random.default_rng([seed, 7])`` (w*, then x, then ε). Returns
    ``(x_train, y_train, x_test, y_test)``: float64 arrays, labels 0/1, the first ``num_train``
    samples for training and the next ``num_test`` for testing.
    """
    d = check_int("num_features", num_features, 1)
    num_train = check_int("num_train", num_train, 1)
    num_test = check_int("num_test", num_test, 1)
    noise = check_float("noise", noise, 0.0)
    rng = np.random.default_rng([check_int("seed", seed, 0), 7])
    w_star = np.where(rng.random(d) < 0.5, -1.0, 1.0)
    n = num_train + num_test
    x = rng.standard_normal((n, d))
    y = ((x @ w_star) / math.sqrt(d) + noise * rng.standard_normal(n) > 0).astype(np.float64)
    return x[:num_train], y[:num_train], x[num_train:], y[num_train:]


def a1a_spins(
    dataset: Dataset,
    *,
    features: Sequence[int] | None = None,
    train_size: int | None = None,
    shuffle_seed: int = 2,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """a1a as the QP-SBGD notebooks read it: inputs as spins, labels 0/1, float32 tensors.

    The training rows are shuffled once with ``numpy.random.RandomState(shuffle_seed)
    .permutation`` (the notebooks: seed 2); inputs x ∈ {0, 1} become spins 2x − 1; ``features``
    keeps those 0-based columns (train and test), ``train_size`` the first rows after the
    shuffle. The test rows keep their file order. ``dataset`` is
    ``hybridqnn.data.load_dataset("a1a")``. Returns ``(x_train, y_train, x_test, y_test)``.
    """
    import torch

    xtr, ytr = dataset.x_train, dataset.y_train.astype(np.float64)
    xte, yte = dataset.x_test, dataset.y_test.astype(np.float64)
    order = np.random.RandomState(shuffle_seed).permutation(len(xtr))
    xtr, ytr = xtr[order], ytr[order]
    if features is not None:
        cols = [check_int("features", f, 0, xtr.shape[1] - 1) for f in features]
        xtr, xte = xtr[:, cols], xte[:, cols]
    if train_size is not None:
        n = check_int("train_size", train_size, 1)
        xtr, ytr = xtr[:n], ytr[:n]

    def spins(a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(2.0 * a - 1.0, dtype=torch.float32)

    return (
        spins(xtr),
        torch.as_tensor(ytr, dtype=torch.float32),
        spins(xte),
        torch.as_tensor(yte, dtype=torch.float32),
    )


def pooled_pair_features(
    dataset: Any, grid: int, train_size: int, test_size: int | None, seed: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Spin features of a two-class image data set (e.g. :func:`hybridqnn.data.class_pair` of
    MNIST): each image average-pooled to ``grid`` × ``grid``, each feature thresholded at its
    training median, s = +1 above it and −1 otherwise.

    With ``rng = numpy.random.default_rng([seed, 11])``: a balanced draw without replacement of
    ``train_size`` training images (⌊n/2⌋ of class 0, the rest of class 1, fewer where a class
    has fewer), shuffled; then ``test_size`` test images (sorted indices; None or at least the
    test-set size: all). Returns float32 ``(x_train, y_train, x_test, y_test)``, labels 0/1.
    """
    import torch

    grid = check_int("grid", grid, 1)
    train_size = check_int("train_size", train_size, 2)
    if test_size is not None:
        test_size = check_int("test_size", test_size, 1)
    rng = np.random.default_rng([check_int("seed", seed, 0), 11])
    idx = np.concatenate(
        [
            rng.choice(
                np.flatnonzero(dataset.y_train == c),
                size=min(
                    train_size // 2 + (c == 1) * (train_size % 2), int((dataset.y_train == c).sum())
                ),
                replace=False,
            )
            for c in (0, 1)
        ]
    )
    idx = rng.permutation(idx)
    test_idx = np.arange(len(dataset.y_test))
    if test_size is not None and test_size < len(test_idx):
        test_idx = np.sort(rng.choice(test_idx, size=test_size, replace=False))

    def pool(a: np.ndarray) -> torch.Tensor:
        t = torch.as_tensor(a, dtype=torch.float32)
        return torch.nn.functional.adaptive_avg_pool2d(t, grid).flatten(1)

    ftr, fte = pool(dataset.x_train[idx]), pool(dataset.x_test[test_idx])
    thr = ftr.median(dim=0).values
    return (
        torch.where(ftr > thr, 1.0, -1.0),
        torch.as_tensor(dataset.y_train[idx], dtype=torch.float32),
        torch.where(fte > thr, 1.0, -1.0),
        torch.as_tensor(dataset.y_test[test_idx], dtype=torch.float32),
    )


def task_subset(dataset: Dataset, task: str, train_size: int, test_size: int, seed: int) -> Dataset:
    """The QCBO experiments' task: ``"A-B"`` keeps classes A and B (A -> label 0, B -> 1,
    :func:`hybridqnn.data.class_pair`), ``"all"`` every class; then a class-stratified subset
    (:func:`hybridqnn.data.stratified_subset` with ``seed``) of ``train_size`` training and
    ``test_size`` test samples, each capped at what the task has."""
    if task != "all":
        parts = task.split("-")
        if len(parts) != 2 or not all(p.isdigit() for p in parts):
            raise ValueError(f"'task' must be 'all' or a class pair 'A-B', got {task!r}")
        dataset = class_pair(dataset, int(parts[0]), int(parts[1]))
    return stratified_subset(
        dataset,
        min(train_size, len(dataset.y_train)),
        min(test_size, len(dataset.y_test)),
        seed=seed,
    )


def block_means(images: np.ndarray, side: int) -> np.ndarray:
    """Features of 28 x 28 images (N, 1, 28, 28) or (N, 28, 28): the means of the side x side
    grid of (28 / side)-pixel square blocks, row-major, float64 of shape (N, side^2)."""
    side = check_int("side", side, 1, 28)
    if 28 % side:
        raise ValueError(f"'side' must divide 28 (1, 2, 4, 7, 14, 28), got {side}")
    b = 28 // side
    return (
        np.asarray(images)
        .reshape(-1, side, b, side, b)
        .mean(axis=(2, 4))
        .reshape(-1, side * side)
        .astype(np.float64)
    )
