"""What the QCBO trainers and the QAT baseline return, and the trained networks they predict
with (:class:`QuantizedSplineModel`, :class:`ReLUNetworkModel`: what ``hybridqnn.load_model``
gives back for a saved result)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hybridqnn.problems.qcbo import (
    QuantizedSplineNetwork,
    WeightCode,
)


def _labels_accuracy(pred: np.ndarray, y: np.ndarray, n_outputs: int) -> float:
    """Fraction of ``pred`` equal to ``y`` (y: 0/1 or +-1 for one output, mapped to +-1)."""
    y = np.asarray(y)
    if n_outputs == 1:
        y = np.where(y > 0, 1, -1)
    return float(np.mean(pred == y))


@dataclass(frozen=True, eq=False)
class QuantizedSplineModel:
    """A trained quantized spline network: ``network`` (FIP grids, splines, activation bits),
    its per-layer ``weights`` (levels of ``network.codes``, bias column last when
    ``network.fip.bias``) and the ``input_box`` (low, high) that inputs are clipped to.

    ``predict(X) = network.predict(weights, clip(X, *input_box))``: +-1 for one output, class
    indices otherwise (:meth:`QuantizedSplineNetwork.predict`, its tie rule included).
    """

    network: QuantizedSplineNetwork
    weights: tuple[np.ndarray, ...]
    input_box: tuple[np.ndarray, np.ndarray] = field(repr=False)

    @property
    def n_outputs(self) -> int:
        return int(self.network.sizes[-1])

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Labels of X (inputs clipped to ``input_box``): +-1 for one output, else class indices."""
        X = np.clip(np.asarray(X, dtype=np.float64), self.input_box[0], self.input_box[1])
        return self.network.predict(list(self.weights), X)

    def accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        """Fraction of correct labels (y: 0/1 or +-1 for one output, else class indices)."""
        return _labels_accuracy(self.predict(X), y, self.n_outputs)


@dataclass(frozen=True, eq=False)
class ReLUNetworkModel:
    """A trained ReLU network with full-precision activations (:func:`fit_qat` without
    ``activation_bits``): per layer l, a^l = relu(W^l [a^{l-1}; 1]) (the 1 with ``bias``), the
    last layer linear. ``codes`` (one per layer) when the weights are quantized levels, None in
    full precision.

    ``predict``: +-1 for one output (+1 where z >= 0), the first largest logit otherwise.
    """

    weights: tuple[np.ndarray, ...]
    bias: bool
    codes: tuple[WeightCode, ...] | None = None

    @property
    def n_outputs(self) -> int:
        return int(self.weights[-1].shape[0])

    def forward(self, X: np.ndarray) -> np.ndarray:
        """The logits, shape (n, n_L)."""
        a = np.asarray(X, dtype=np.float64)
        for li, W in enumerate(self.weights):
            if self.bias:
                a = np.concatenate([a, np.ones((a.shape[0], 1))], axis=1)
            a = a @ np.asarray(W, dtype=np.float64).T
            if li < len(self.weights) - 1:
                a = np.maximum(a, 0.0)
        return a

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Labels: +-1 for one output, class indices otherwise."""
        z = self.forward(X)
        return np.where(z[:, 0] >= 0, 1, -1) if z.shape[1] == 1 else np.argmax(z, axis=1)

    def accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        return _labels_accuracy(self.predict(X), y, self.n_outputs)


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
        """The share of subproblem solves whose answer beat the centre, the consensus network
        the subproblem was handed (the exact subproblem objective of the best oracle candidate
        below the centre's), over all iterations; None without subproblems
        (:func:`fit_greedy_moves`)."""
        solves = sum(h.get("solves", 0) for h in self.history)
        if not solves:
            return None
        return sum(h.get("improving_solves", 0) for h in self.history) / solves

    @property
    def model(self) -> QuantizedSplineModel:
        """The trained network: ``network``, ``weights`` and ``input_box``."""
        return QuantizedSplineModel(self.network, tuple(self.weights), self.input_box)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Labels of X (inputs clipped to the training input box): +-1 for one output, else class indices."""
        return self.model.predict(X)

    def accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        """Fraction of correct labels (y: 0/1 or +-1 for one output, else class indices)."""
        return self.model.accuracy(X, y)


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

    @property
    def model(self) -> QuantizedSplineModel | ReLUNetworkModel:
        """The trained network: with ``network``, its :class:`QuantizedSplineModel` (inputs
        clipped to the FIP input box); else the :class:`ReLUNetworkModel` of ``weights``."""
        if self.network is not None:
            return QuantizedSplineModel(self.network, tuple(self.weights), self.input_box)  # type: ignore[arg-type]
        codes = None if self.codes is None else tuple(self.codes)
        return ReLUNetworkModel(tuple(self.weights), self.bias, codes)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Labels: +-1 for one output, class indices otherwise (ReLU hidden layers; with
        ``network``, its quantized spline activations, inputs clipped to ``input_box``)."""
        return self.model.predict(X)

    def accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        return self.model.accuracy(X, y)
