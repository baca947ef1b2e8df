"""Shared toys of the QCBO trainer tests (tests/train/qcbo/)."""

from __future__ import annotations

import numpy as np

from hybridqnn.problems.qcbo import WeightCode
from hybridqnn.train.qcbo import (
    fit_qat,
)

SIZES = (3, 2, 1)


def _toy(n: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Linearly separable points in [0, 1]^3: y = sign(x0 - x1)."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, size=(n, 3))
    y = np.where(X[:, 0] > X[:, 1], 1, -1)
    return X, y


BOX = {"input_low": np.zeros(3), "input_high": np.ones(3)}
SMALL = {"segments": 2, "activation_bits": 1, "loss_segments": 2, **BOX}


def _assert_best_of(multi, singles) -> None:
    """``multi`` is the single run whose returned network has the highest training accuracy,
    then the lowest spline loss."""

    def rank(r):
        h = r.history[r.best_iteration]
        return (-h["train_accuracy"], h["train_loss"])

    best = min(singles, key=rank)
    assert rank(multi) == rank(best) and multi.initial == best.initial
    for w, v in zip(multi.weights, best.weights, strict=True):
        np.testing.assert_array_equal(w, v)


def _qat_on_the_qcbo_network(X: np.ndarray, y: np.ndarray, **kw) -> object:
    """QAT of SIZES with SMALL's quantized spline network (1 activation bit, 2 segments)."""
    return fit_qat(
        X,
        y,
        SIZES,
        WeightCode("binary"),
        epochs=4,
        seed=11,
        activation_bits=1,
        segments=2,
        **BOX,
        **kw,
    )
