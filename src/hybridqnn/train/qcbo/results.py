"""What the QCBO trainers and the QAT baseline return."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hybridqnn.problems.qcbo import (
    QuantizedSplineNetwork,
    WeightCode,
)


@dataclass
class QCBOResult:
    """What :func:`fit_qcbo` returns.

    Attributes:
        weights: per layer, the trained weights (levels of ``codes``).
        codes: per layer, the weight code with its final scale.
        network: the quantized spline network (FIP grids of the final scales) to predict with.
        history: one dict per PH iteration (``iteration``, ``rho``, ``train_loss``,
            ``train_accuracy``, ``residual``, ``disagreement``, ``scales``, ``seconds``,
            ``solve_seconds``, ``oracle_calls``, ``oracle_seconds``, ``incumbent_kept``).
        spins: the resource figures (:func:`spin_counts` keys, plus ``formula_*`` bounds).
        timing: ``total_s``, ``solve_s`` (summed over subproblems), ``oracle_s``,
            ``oracle_calls``, ``wall_solve_s`` (the parallel phase's wall time).
        best_iteration: the PH iteration whose consensus is returned.
        seed: the master seed used.
        input_box: the FIP input box (``predict`` clips inputs to it).
        initial: ``train_loss`` and ``train_accuracy`` of the starting network (random, after
            the first bit-scale step, or the warm start), before any subproblem was solved: the
            reference that tells what the QPH iterations themselves achieved.
    """

    weights: list[np.ndarray]
    codes: list[WeightCode]
    network: QuantizedSplineNetwork
    history: list[dict[str, Any]]
    spins: dict[str, Any]
    timing: dict[str, float]
    best_iteration: int
    seed: int | None
    input_box: tuple[np.ndarray, np.ndarray] = field(repr=False, default=None)  # type: ignore[assignment]
    initial: dict[str, float] = field(default_factory=dict)

    @property
    def improving_solve_fraction(self) -> float | None:
        """The share of subproblem solves whose answer beat the subproblem's incumbent (the
        exact subproblem objective of the best oracle candidate below the incumbent's), over
        all iterations; None without subproblems (:func:`fit_greedy_moves`)."""
        solves = sum(h.get("solves", 0) for h in self.history)
        if not solves:
            return None
        return sum(h.get("improving_solves", 0) for h in self.history) / solves

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Labels of X (inputs clipped to the training input box): +-1 for one output, else class indices."""
        X = np.clip(np.asarray(X, dtype=np.float64), self.input_box[0], self.input_box[1])
        return self.network.predict(self.weights, X)

    def accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        """Fraction of correct labels (y: 0/1 or +-1 for one output, else class indices)."""
        pred = self.predict(X)
        y = np.asarray(y)
        if self.network.sizes[-1] == 1:
            y = np.where(y > 0, 1, -1)
        return float(np.mean(pred == y))


@dataclass
class QATResult:
    """What :func:`fit_qat` returns: ``weights`` (per layer; quantized levels unless full
    precision) and ``codes`` (with the learned scales; None for full precision) of epoch
    ``best_epoch``, ``history`` (per epoch ``epoch``, ``loss``, ``train_accuracy``),
    ``train_time_s``; with quantized activations, ``network`` (the
    :class:`QuantizedSplineNetwork` on the FIP grids of the returned scales)."""

    weights: list[np.ndarray]
    codes: list[WeightCode] | None
    history: list[dict[str, Any]]
    train_time_s: float
    bias: bool
    best_epoch: int
    network: QuantizedSplineNetwork | None = None

    @property
    def input_box(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The network's FIP input box (None without ``network``)."""
        if self.network is None:
            return None
        return self.network.fip.input_low, self.network.fip.input_high

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Labels: +-1 for one output, class indices otherwise (ReLU hidden layers; with
        ``network``, its quantized spline activations, inputs clipped to ``input_box``)."""
        if self.network is not None:
            fip = self.network.fip
            X = np.clip(np.asarray(X, dtype=np.float64), fip.input_low, fip.input_high)
            return self.network.predict(self.weights, X)
        a = np.asarray(X, dtype=np.float64)
        for li, W in enumerate(self.weights):
            if self.bias:
                a = np.concatenate([a, np.ones((a.shape[0], 1))], axis=1)
            a = a @ W.T
            if li < len(self.weights) - 1:
                a = np.maximum(a, 0.0)
        return np.where(a[:, 0] >= 0, 1, -1) if a.shape[1] == 1 else np.argmax(a, axis=1)

    def accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        pred = self.predict(X)
        y = np.asarray(y)
        if self.weights[-1].shape[0] == 1:
            y = np.where(y > 0, 1, -1)
        return float(np.mean(pred == y))
