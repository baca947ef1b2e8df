"""The network around the QCBO: its architecture (FIP grids, spline network), the data setup,
the start (random or warm), the closed-form bit-scale step and the training-score ranking
(package docstring)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

import numpy as np

from hybridqnn._checks import check_bool, check_int
from hybridqnn.problems.fip import FIPResult, forward_interval_propagation
from hybridqnn.problems.qcbo import (
    QCBOModel,
    QuantizedSplineNetwork,
    WeightBlock,
    WeightCode,
    build_qcbo,
    check_network_data,
)
from hybridqnn.train.progress import check_progress, shared_progress
from hybridqnn.train.qcbo.results import QATResult, QCBOResult


@dataclass(frozen=True, eq=False)
class _Build:
    """What a worker needs to build subproblems (small and picklable)."""

    sizes: tuple[int, ...]
    codes: tuple[WeightCode, ...]
    fip: FIPResult
    activation_bits: tuple[int, ...]
    loss: str
    loss_segments: int
    products: str

    def model(
        self,
        X: np.ndarray,
        y: np.ndarray,
        ids: Sequence[int],
        block: WeightBlock | None = None,
        fixed: Sequence[np.ndarray] | None = None,
    ) -> QCBOModel:
        """The QCBO of samples ``ids`` (a block model of ``block`` with the other weights at
        ``fixed``, or with every weight free)."""
        return build_qcbo(
            X,
            y,
            self.sizes,
            list(self.codes),
            fip=self.fip,
            activation_bits=list(self.activation_bits),
            loss=self.loss,
            loss_segments=self.loss_segments,
            products=self.products,
            sample_ids=list(ids),
            block=block,
            fixed_weights=None if block is None else fixed,
        )


@dataclass(frozen=True)
class _Architecture:
    """What fixes the network apart from its weight codes: the input box, widths, activations,
    segments, bias, activation bits and the loss."""

    sizes: tuple[int, ...]
    box: tuple[np.ndarray, np.ndarray]
    activations: Any
    segments: tuple[int, ...]
    bias: bool
    activation_bits: tuple[int, ...]
    loss: str
    loss_segments: int
    input_unit: float | None = None

    def fip(self, codes: Sequence[WeightCode]) -> FIPResult:
        """FIP of the network with these codes; on the integer grid with ``input_unit``
        (:mod:`hybridqnn.problems.fip`), which needs power-of-two scales (:meth:`scale`)."""
        return forward_interval_propagation(
            self.box[0],
            self.box[1],
            self.sizes,
            [c.levels for c in codes],
            self.activations,
            self.segments,
            bias=self.bias,
            input_unit=self.input_unit,
            activation_bits=None if self.input_unit is None else self.activation_bits,
        )

    def scale(self, value: float) -> float:
        """A weight scale as this network takes it: ``value`` itself, or on the integer grid
        the nearest power of two in log scale, 2^round(log2 value)."""
        if self.input_unit is None:
            return float(value)
        return float(2.0 ** round(math.log2(value)))

    def network(self, codes: Sequence[WeightCode]) -> QuantizedSplineNetwork:
        return QuantizedSplineNetwork.from_fip(
            self.fip(codes), codes, self.activation_bits, self.loss, self.loss_segments
        )


def _signs(y: np.ndarray, n_out: int) -> np.ndarray:
    if n_out == 1:
        return np.where(np.asarray(y).reshape(-1) > 0, 1.0, -1.0)[:, None]
    return np.where(np.arange(n_out)[None, :] == np.asarray(y).reshape(-1, 1), 1.0, -1.0)


def _round_to_levels(ws: Sequence[np.ndarray], codes: Sequence[WeightCode]) -> list[np.ndarray]:
    return [code.decode(code.encode(w)) for w, code in zip(ws, codes, strict=True)]


def _codes(weights: Any, L: int) -> list[WeightCode]:
    codes = list(weights) if isinstance(weights, (list, tuple)) else [weights] * L
    if len(codes) != L:
        raise ValueError(f"'weights' must give one WeightCode per layer ({L}), got {len(codes)}")
    for c in codes:
        if not isinstance(c, WeightCode):
            raise TypeError(f"'weights' must be WeightCode(s), got {type(c).__name__}")
    return codes


def _per_hidden(
    name: str, value: Any, L: int, low: int, high: int | None = None
) -> tuple[int, ...]:
    vals = tuple(value) if isinstance(value, (list, tuple)) else (value,) * (L - 1)
    if len(vals) != L - 1:
        raise ValueError(
            f"{name!r} must give one value per hidden layer ({L - 1}), got {len(vals)}"
        )
    return tuple(check_int(name, v, low, high) for v in vals)


_NETWORK_ARGS = (
    "X",
    "y",
    "sizes",
    "weights",
    "activations",
    "segments",
    "activation_bits",
    "loss",
    "loss_segments",
    "bias",
    "input_low",
    "input_high",
    "input_unit",
)


#: The network keywords of :func:`fit_qcbo` with its defaults: their one home for
#: :func:`fit_greedy_moves`, which takes them as ``**network`` (a test pins that fit_qcbo's
#: defaults are these).
NETWORK_DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {
        "activations": "relu",
        "segments": 2,
        "activation_bits": 5,
        "loss": "logistic",
        "loss_segments": 4,
        "bias": True,
        "input_low": None,
        "input_high": None,
        "input_unit": None,
    }
)


def _network_keywords(owner: str, network: Mapping[str, Any]) -> dict[str, Any]:
    """``network`` over :data:`NETWORK_DEFAULTS`; an unknown keyword is a one-line TypeError."""
    unknown = sorted(set(network) - set(NETWORK_DEFAULTS))
    if unknown:
        raise TypeError(
            f"{owner} got unexpected keyword(s) {', '.join(map(repr, unknown))}; its network "
            f"keywords are {', '.join(NETWORK_DEFAULTS)}"
        )
    return {**NETWORK_DEFAULTS, **network}


def _network_setup_from(
    values: Mapping[str, Any],
) -> tuple[np.ndarray, tuple[int, ...], list[WeightCode], _Architecture, np.ndarray, np.ndarray]:
    """:func:`_network_setup` of a trainer's arguments (its ``locals()``)."""
    return _network_setup(*(values[k] for k in _NETWORK_ARGS))


def _network_setup(
    X: np.ndarray,
    y: np.ndarray,
    sizes: Sequence[int],
    weights: WeightCode | Sequence[WeightCode] | None,
    activations: str,
    segments: int | Sequence[int],
    activation_bits: int | Sequence[int],
    loss: str,
    loss_segments: int,
    bias: bool,
    input_low: np.ndarray | None,
    input_high: np.ndarray | None,
    input_unit: float | None = None,
) -> tuple[np.ndarray, tuple[int, ...], list[WeightCode], _Architecture, np.ndarray, np.ndarray]:
    """Validate the data and the network settings shared by :func:`fit_qcbo` and
    :func:`fit_greedy_moves`: ``(X, sizes, codes, arch, y_model, y_pm)`` with ``y_model`` the
    labels as the QCBO takes them (+-1 for one output, else class indices) and ``y_pm`` the
    labels :meth:`QuantizedSplineNetwork.predict` returns."""
    X, y, sizes = check_network_data(X, y, sizes)
    L = len(sizes) - 1
    codes = _codes(WeightCode() if weights is None else weights, L)
    segs = _per_hidden("segments", segments, L, 1)
    kbits = _per_hidden("activation_bits", activation_bits, L, 1, 16)
    loss_segments = check_int("loss_segments", loss_segments, 1)
    bias = check_bool("bias", bias)
    arch = _checked_architecture(
        X,
        input_low,
        input_high,
        sizes=sizes,
        activations=activations,
        segments=segs,
        bias=bias,
        activation_bits=kbits,
        loss=loss,
        loss_segments=loss_segments,
        input_unit=input_unit,
    )
    y_model = np.where(y > 0, 1, -1) if sizes[-1] == 1 else y.astype(np.int64)
    y_pm = y_model if sizes[-1] > 1 else np.where(y_model > 0, 1, -1)
    return X, sizes, codes, arch, y_model, y_pm


def _checked_architecture(
    X: np.ndarray, input_low: np.ndarray | None, input_high: np.ndarray | None, **fields: Any
) -> _Architecture:
    """``_Architecture(box=..., **fields)`` with the FIP input box [input_low, input_high]
    (default: the data's per-feature min/max); FIP validates the box, M and activations, and X
    must lie inside the box."""
    lo = X.min(axis=0) if input_low is None else np.asarray(input_low, dtype=np.float64)
    hi = X.max(axis=0) if input_high is None else np.asarray(input_high, dtype=np.float64)
    arch = _Architecture(box=(lo, hi), **fields)
    arch.fip([WeightCode()] * (len(arch.sizes) - 1))
    if np.any(X < lo - 1e-12) or np.any(X > hi + 1e-12):
        raise ValueError("'X' must lie inside the input box [input_low, input_high]")
    return arch


def _rank(accuracy: float, loss: float, select: str) -> tuple[float, float]:
    """How trained networks are ranked (lower is better): ``(-accuracy, loss)`` for
    ``select="accuracy"``, ``(loss, -accuracy)`` for ``"loss"``."""
    return (-accuracy, loss) if select == "accuracy" else (loss, -accuracy)


def _history_rank(record: dict[str, Any], select: str) -> tuple[float, float]:
    """:func:`_rank` of one history record (``train_accuracy``, ``train_loss``)."""
    return _rank(record["train_accuracy"], record["train_loss"], select)


def _train_score(
    net: QuantizedSplineNetwork,
    X: np.ndarray,
    y_model: np.ndarray,
    y_pm: np.ndarray,
    select: str,
    weights: list[np.ndarray],
) -> tuple[float, float]:
    """:func:`_rank` of ``weights`` on the training set (spline loss per sample)."""
    loss = net.loss_value(weights, X, y_model, ties="nearest") / X.shape[0]
    return _rank(float(np.mean(net.predict(weights, X) == y_pm)), loss, select)


def _bit_scales(
    units: Sequence[np.ndarray],
    codes: Sequence[WeightCode],
    X: np.ndarray,
    y: np.ndarray,
    arch: _Architecture,
    tau: float,
    hidden: bool,
) -> list[WeightCode]:
    """The closed-form bit-scale step (module docstring) for integer-level weights ``units``:
    the hidden layers' normalisation (with ``hidden``, at a random start) and the output
    layer's least-squares scale."""
    codes = list(codes)
    sizes = arch.sizes
    L = len(sizes) - 1
    for li in range(L) if hidden else [L - 1]:
        net = arch.network(codes)
        ws = [u * c.scale for u, c in zip(units, codes, strict=True)]
        a = net.layer_inputs(ws, X)[li]
        if li < L - 1:
            ms = float(np.mean(np.sum(a * a, axis=1)))
            if ms > 0 and math.isfinite(ms):
                codes[li] = replace(codes[li], scale=arch.scale(1.0 / math.sqrt(ms)))
            continue
        g = a @ np.asarray(units[li], dtype=np.float64).T
        signs = _signs(y, sizes[-1])
        num, den = float(np.sum(signs * g)), float(np.sum(g * g))
        if den > 0 and num > 0 and math.isfinite(num / den):
            old = codes[li].scale
            fit = float(np.clip(tau * num / den, old / 2, 2 * old))
            codes[li] = replace(codes[li], scale=arch.scale(fit))
    return codes


def _start(
    warm_start: Any,
    rng: np.random.Generator,
    codes: list[WeightCode],
    shapes: Sequence[tuple[int, int]],
    X: np.ndarray,
    y_model: np.ndarray,
    y_pm: np.ndarray,
    arch: _Architecture,
    bit_scale: bool,
    scale_target: float,
) -> tuple[list[WeightCode], list[np.ndarray], dict[str, float]]:
    """The starting network and its training loss and accuracy: ``(codes, weights, initial)``.
    Without ``warm_start``, uniformly random levels per weight (from ``rng``) and the first
    bit-scale step; with it, its codes and weights (:func:`_checked_warm_start`)."""
    if warm_start is None:
        units = [
            rng.choice(code.levels / code.scale, size=shape)
            for code, shape in zip(codes, shapes, strict=True)
        ]
        if bit_scale:
            codes = _bit_scales(units, codes, X, y_model, arch, scale_target, hidden=True)
        ws = [u * c.scale for u, c in zip(units, codes, strict=True)]
    else:
        codes, ws = _checked_warm_start(warm_start, codes, shapes)
        grid = [replace(c, scale=arch.scale(c.scale)) for c in codes]
        ws = [w * g.scale / c.scale for w, g, c in zip(ws, grid, codes, strict=True)]
        codes = grid
    net = arch.network(codes)
    initial = {
        "train_loss": net.loss_value(ws, X, y_model, ties="nearest") / X.shape[0],
        "train_accuracy": float(np.mean(net.predict(ws, X) == y_pm)),
    }
    return codes, ws, initial


def _checked_warm_start(
    warm: Any, codes: list[WeightCode], shapes: Sequence[tuple[int, int]]
) -> tuple[list[WeightCode], list[np.ndarray]]:
    """``(codes, weights)`` of ``fit_qcbo(warm_start=warm)``: ``warm``'s codes (their scales) and
    copies of its weights, checked against the requested codes and layer shapes."""
    if not isinstance(warm, (QCBOResult, QATResult)) or warm.codes is None:
        raise TypeError(
            "'warm_start' must be a QCBOResult or a quantized QATResult (codes not None), "
            f"got {type(warm).__name__}"
        )
    if len(warm.weights) != len(shapes):
        raise ValueError(f"'warm_start' must have {len(shapes)} layers, got {len(warm.weights)}")
    for li, (w, c, want, shape) in enumerate(
        zip(warm.weights, warm.codes, codes, shapes, strict=True), start=1
    ):
        if w.shape != shape:
            raise ValueError(f"'warm_start' layer {li} must have shape {shape}, got {w.shape}")
        if (c.kind, c.num_bits) != (want.kind, want.num_bits):
            raise ValueError(
                f"'warm_start' layer {li} must use {want.kind} {want.num_bits}-bit weights, "
                f"got {c.kind} {c.num_bits}-bit"
            )
        if not np.all(np.isclose(w[..., None], c.levels).any(axis=-1)):
            raise ValueError(f"'warm_start' layer {li} has weights that are not levels of its code")
    return list(warm.codes), _round_to_levels(warm.weights, warm.codes)


def _best_start(
    fit: Callable[..., Any],
    args: dict[str, Any],
    restarts: int,
    seed: int | None,
    rank: Callable[[Any], Any],
) -> tuple[Any, list[Any]]:
    """``fit(**args)`` from ``restarts`` child seeds of ``seed`` (the restarts of
    :func:`fit_qcbo`, :func:`fit_greedy_moves` and :func:`fit_qat`): the lowest-``rank`` run
    and all runs. A ``progress`` callback in ``args`` sees the runs as one count
    (:func:`~hybridqnn.train.progress.shared_progress`)."""
    seed = None if seed is None else check_int("seed", seed, 0)
    progress = check_progress(args.get("progress"))
    runs = [
        fit(**{**args, "seed": int(sq.generate_state(1)[0]) % 2**31, "restarts": 1,
               **({"progress": shared_progress(progress, r, restarts)} if progress is not None else {})})
        for r, sq in enumerate(np.random.SeedSequence(seed).spawn(restarts))
    ]
    return min(runs, key=rank), runs


def _best_qcbo_start(
    fit: Callable[..., QCBOResult],
    args: dict[str, Any],
    restarts: int,
    seed: int | None,
    select: str,
) -> QCBOResult:
    """:func:`_best_start` for :class:`QCBOResult`: ranked by the returned network's training
    score (``select``), with ``timing`` summed over the runs."""
    best, runs = _best_start(
        fit, args, restarts, seed, lambda r: _history_rank(r.history[r.best_iteration], select)
    )
    best.timing = {k: sum(r.timing[k] for r in runs) for k in best.timing}
    return best
