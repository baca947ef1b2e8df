"""Piecewise-linear (linear-spline) interpolants of activations and losses.

Li et al., "Quantum-Classical Hybrid Quantized Neural Network" (arXiv 2506.18240) replace every
activation and the loss by a piecewise-linear spline, so that a network's training problem
stays at most quadratic in binary variables (see :mod:`hybridqnn.problems.qcbo`). This module is numpy only; :class:`hybridqnn.nn.splines.SplineActivation`
evaluates a spline in a PyTorch forward pass.

The interpolant of f on [low, high] with M segments uses the uniform knots

    t_m = low + m h,   h = (high - low) / M,   m = 0, ..., M,

and on segment k (t_k <= z <= t_{k+1}) equals the line

    s(z) = alpha_k z + beta_k,  alpha_k = (f(t_{k+1}) - f(t_k)) / h,  beta_k = f(t_k) - alpha_k t_k.

Outside [low, high] the first / last line is extended (linear extrapolation). For f twice
continuously differentiable the classical bound is

    max_{z in [low, high]} |f(z) - s(z)| <= (h^2 / 8) max_{[low, high]} |f''|,

(equality for a quadratic f); :func:`error_bound` computes it and :func:`max_error` measures the
actual maximum error on a dense grid. The paper gives neither the spline degree nor the knot
placement: linear splines on uniform knots are our choice (linear is what keeps the model
quadratic; uniform knots are what FIP's sub-interval grid uses).

Losses are functions of the signed margin m = y z of an output z and a label y in {-1, +1}:

* ``"logistic"`` (alias ``"cross-entropy"``): log(1 + exp(-m)), the binary cross-entropy of a
  logit; for several outputs we use one-vs-rest margins (see :mod:`hybridqnn.problems.qcbo`);
* ``"hinge"``: max(0, 1 - m);
* ``"mse"``: (1 - m)^2, which equals (z - y)^2 because y^2 = 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from hybridqnn._checks import check_choice, check_int

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "LinearSpline",
    "activation_spline",
    "curvature_bound",
    "error_bound",
    "grid_spline",
    "linear_spline",
    "loss_spline",
    "max_error",
    "named_function",
]

_SQRT_2PI = math.sqrt(2.0 * math.pi)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _erf(z: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    return erf(z)


def _gelu(z: np.ndarray) -> np.ndarray:
    return 0.5 * z * (1.0 + _erf(z / math.sqrt(2.0)))


def _gelu2(z: np.ndarray) -> np.ndarray:
    # d^2/dz^2 [z Phi(z)] = 2 phi(z) - z^2 phi(z)
    phi = np.exp(-0.5 * z * z) / _SQRT_2PI
    return (2.0 - z * z) * phi


def _sigmoid2(z: np.ndarray) -> np.ndarray:
    s = _sigmoid(z)
    return s * (1.0 - s) * (1.0 - 2.0 * s)


def _tanh2(z: np.ndarray) -> np.ndarray:
    t = np.tanh(z)
    return -2.0 * t * (1.0 - t * t)


def _logistic(m: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, -m)


def _logistic2(m: np.ndarray) -> np.ndarray:
    s = _sigmoid(m)
    return s * (1.0 - s)


# name -> (f, f'' or None for a function with a kink, kinks, critical points of |f''|)
_FUNCTIONS: dict[str, tuple[Callable, Callable | None, tuple[float, ...], tuple[float, ...]]] = {
    "identity": (lambda z: np.asarray(z, dtype=np.float64) * 1.0, lambda z: 0.0 * z, (), ()),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z: 0.0 * z, (0.0,), ()),
    "sigmoid": (
        _sigmoid,
        _sigmoid2,
        (),
        (math.log(2.0 - math.sqrt(3.0)), -math.log(2.0 - math.sqrt(3.0))),
    ),
    "tanh": (
        np.tanh,
        _tanh2,
        (),
        (0.5 * math.log(2.0 - math.sqrt(3.0)), -0.5 * math.log(2.0 - math.sqrt(3.0))),
    ),
    "gelu": (_gelu, _gelu2, (), (0.0, math.sqrt(5.0), -math.sqrt(5.0))),
    "logistic": (_logistic, _logistic2, (), (0.0,)),
    "hinge": (lambda m: np.maximum(0.0, 1.0 - m), lambda m: 0.0 * m, (1.0,), ()),
    "mse": (lambda m: (1.0 - m) ** 2, lambda m: 2.0 + 0.0 * m, (), ()),
}
_FUNCTIONS["cross-entropy"] = _FUNCTIONS["logistic"]

ACTIVATIONS = ("identity", "relu", "sigmoid", "tanh", "gelu")
LOSSES = ("logistic", "cross-entropy", "hinge", "mse")


def named_function(name: str) -> Callable[[np.ndarray], np.ndarray]:
    """The numpy function registered as ``name`` (an activation or a loss of the margin)."""
    name = check_choice("name", name, tuple(_FUNCTIONS))
    return _FUNCTIONS[name][0]


def _check_interval(low: float, high: float) -> tuple[float, float]:
    for pname, value in (("low", low), ("high", high)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"{pname!r} must be a real number, got {type(value).__name__}")
        if not math.isfinite(float(value)):
            raise ValueError(f"{pname!r} must be finite, got {float(value)!r}")
    low, high = float(low), float(high)
    if not high > low:
        raise ValueError(
            f"the interval [low, high] must be non-empty (low < high), got [{low!r}, {high!r}]"
        )
    return low, high


@dataclass(frozen=True, eq=False)
class LinearSpline:
    """A continuous piecewise-linear function on uniform knots (see the module docstring).

    Attributes:
        knots: t_0 < ... < t_M, shape (M + 1,).
        values: f(t_0), ..., f(t_M), shape (M + 1,).
    """

    knots: np.ndarray
    values: np.ndarray

    def __post_init__(self) -> None:
        # read-only float copies, so the cached slopes and intercepts stay those of the knots
        for name in ("knots", "values"):
            array = np.array(getattr(self, name), dtype=np.float64)
            array.setflags(write=False)
            object.__setattr__(self, name, array)

    @property
    def segments(self) -> int:
        """M, the number of linear pieces."""
        return int(self.knots.size - 1)

    @property
    def low(self) -> float:
        return float(self.knots[0])

    @property
    def high(self) -> float:
        return float(self.knots[-1])

    @property
    def width(self) -> float:
        """h, the segment width."""
        return (self.high - self.low) / self.segments

    @cached_property
    def slopes(self) -> np.ndarray:
        """alpha_k, shape (M,)."""
        return np.diff(self.values) / np.diff(self.knots)

    @cached_property
    def intercepts(self) -> np.ndarray:
        """beta_k = f(t_k) - alpha_k t_k, shape (M,)."""
        return self.values[:-1] - self.slopes * self.knots[:-1]

    def segment_index(self, z: np.ndarray) -> np.ndarray:
        """k with t_k <= z < t_{k+1} (clipped to [0, M - 1]; z = high gives M - 1)."""
        z = np.asarray(z, dtype=np.float64)
        k = np.searchsorted(self.knots, z, side="right") - 1
        return np.minimum(np.maximum(k, 0), self.segments - 1)  # np.clip, without its overhead

    def __call__(self, z: np.ndarray | float) -> np.ndarray:
        """s(z) (linear extrapolation outside [low, high])."""
        z = np.asarray(z, dtype=np.float64)
        k = self.segment_index(z)
        return self.slopes[k] * z + self.intercepts[k]

    def range_on(self, low: float, high: float) -> tuple[float, float]:
        """min and max of s over [low, high] (attained at the ends or at knots inside)."""
        inside = self.knots[(self.knots > low) & (self.knots < high)]
        pts = np.concatenate([[low, high], inside])
        vals = self(pts)
        return float(vals.min()), float(vals.max())


def linear_spline(
    f: Callable[[np.ndarray], np.ndarray] | str, low: float, high: float, segments: int
) -> LinearSpline:
    """The linear-spline interpolant of ``f`` on [low, high] with ``segments`` uniform pieces.

    Args:
        f: A vectorised numpy function, or a name from :data:`ACTIVATIONS` / :data:`LOSSES`.
        low: Left end (finite).
        high: Right end (finite, > low).
        segments: M >= 1.

    Raises:
        ValueError: M < 1, an empty interval, non-finite ends or non-finite values of f.
    """
    segments = check_int("segments", segments, 1)
    low, high = _check_interval(low, high)
    func = named_function(f) if isinstance(f, str) else f
    if not callable(func):
        raise TypeError(f"'f' must be callable or a function name, got {type(f).__name__}")
    knots = np.linspace(low, high, segments + 1)
    values = np.asarray(func(knots), dtype=np.float64).reshape(-1)
    if values.shape != knots.shape:
        raise ValueError(
            f"'f' must map an array of shape {knots.shape} to the same shape, got {values.shape}"
        )
    if not np.all(np.isfinite(values)):
        raise ValueError(
            f"'f' must be finite on [{low!r}, {high!r}], got a non-finite value at a knot"
        )
    knots.flags.writeable = False
    values.flags.writeable = False
    return LinearSpline(knots, values)


def grid_spline(
    f: Callable[[np.ndarray], np.ndarray] | str,
    low: float,
    high: float,
    segments: int,
    knot_unit: float,
    value_unit: float | None = None,
) -> LinearSpline:
    """A spline on an integer grid: knots and (optionally) values are integer multiples of units.

    The knots are t_m = t_0 + m eta knot_unit with t_0 = floor(low / knot_unit) knot_unit and
    eta = max(1, ceil((high - t_0) / (M knot_unit))), so [t_0, t_M] contains [low, high]
    (rounded *outward*: an interval bound computed on the knot grid stays sound). With
    ``value_unit`` the values are f(t_m) rounded to the nearest multiple of it (the spline is
    then the interpolant of those rounded values). Used by the integer-exact QCBO
    (:mod:`hybridqnn.problems.qcbo`), where every knot and activation value must lie on a grid.
    """
    segments = check_int("segments", segments, 1)
    low, high = _check_interval(low, high) if high > low else (float(low), float(low))
    for pname, unit in (("knot_unit", knot_unit), ("value_unit", value_unit)):
        if unit is not None and not (math.isfinite(unit) and unit > 0):
            raise ValueError(f"{pname!r} must be a finite number > 0, got {unit!r}")
    func = named_function(f) if isinstance(f, str) else f
    t0 = math.floor(low / knot_unit)  # exact: the units are powers of two in practice
    eta = max(1, -(-(math.ceil(high / knot_unit) - t0) // segments))
    knots = (t0 + eta * np.arange(segments + 1)) * float(knot_unit)
    values = np.asarray(func(knots), dtype=np.float64).reshape(-1)
    if value_unit is not None:
        values = np.rint(values / value_unit) * value_unit
    knots.flags.writeable = False
    values.flags.writeable = False
    return LinearSpline(knots, values)


def activation_spline(name: str, low: float, high: float, segments: int) -> LinearSpline:
    """:func:`linear_spline` of the activation ``name`` (one of :data:`ACTIVATIONS`)."""
    return linear_spline(check_choice("activation", name, ACTIVATIONS), low, high, segments)


def loss_spline(name: str, low: float, high: float, segments: int) -> LinearSpline:
    """:func:`linear_spline` of the margin loss ``name`` (one of :data:`LOSSES`)."""
    return linear_spline(check_choice("loss", name, LOSSES), low, high, segments)


def max_error(
    f: Callable[[np.ndarray], np.ndarray] | str, spline: LinearSpline, points_per_segment: int = 257
) -> float:
    """Measured max |f(z) - s(z)| on [low, high]: ``points_per_segment`` evenly spaced points per
    segment (ends included; an odd count includes each midpoint, where a quadratic's error peaks)."""
    points_per_segment = check_int("points_per_segment", points_per_segment, 2)
    func = named_function(f) if isinstance(f, str) else f
    t = np.linspace(0.0, 1.0, points_per_segment)
    z = (spline.knots[:-1, None] + spline.width * t[None, :]).reshape(-1)
    return float(np.max(np.abs(np.asarray(func(z), dtype=np.float64) - spline(z))))


def curvature_bound(name: str, low: float, high: float) -> float:
    """max |f''| on [low, high] for a named function (``inf`` if a kink lies strictly inside).

    Computed from the analytic second derivative on a grid of 20001 points plus the points
    where |f''| peaks, clipped to the interval (so the grid cannot miss the maximum).
    """
    name = check_choice("name", name, tuple(_FUNCTIONS))
    low, high = _check_interval(low, high)
    _, f2, kinks, peaks = _FUNCTIONS[name]
    if any(low < k < high for k in kinks):
        return math.inf
    z = np.concatenate([np.linspace(low, high, 20001), [p for p in peaks if low <= p <= high]])
    return float(np.max(np.abs(f2(z))))


def error_bound(name_or_curvature: str | float, low: float, high: float, segments: int) -> float:
    """(h^2 / 8) max|f''| with h = (high - low) / M; the curvature is given, or that of a name."""
    segments = check_int("segments", segments, 1)
    low, high = _check_interval(low, high)
    if isinstance(name_or_curvature, str):
        curvature = curvature_bound(name_or_curvature, low, high)
    else:
        curvature = float(name_or_curvature)
        if not curvature >= 0:
            raise ValueError(f"'curvature' must be >= 0, got {curvature!r}")
    h = (high - low) / segments
    return h * h / 8.0 * curvature
