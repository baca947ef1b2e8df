"""Forward Interval Propagation (FIP): sound pre-activation bounds and sub-interval grids.

Li et al. (arXiv 2506.18240) bound every pre-activation of a quantized network by propagating
value ranges layer by layer, then split each range into linear sub-intervals on which the
spline activation is a single line. The paper gives no formulas; these are ours.

Network. Layers l = 1, ..., L with weights W^l in R^{n_l x n_{l-1}} whose entries lie in a
finite set V_l (the quantized weight values, per-layer scale included), optionally a bias
column (an extra input fixed to 1). Hidden layers l < L apply a spline activation s_l; the
output layer L is linear (logits):

    z^1 = W^1 x,   a^l = s_l(z^l) (quantized, see below),   z^{l+1} = W^{l+1} a^l.

Interval arithmetic. With w in [w_lo, w_hi] = [min V_l, max V_l] and an input a_i in
[a_lo_i, a_hi_i], the product w a_i lies in [min P_i, max P_i], P_i the four corner products
{w_lo a_lo_i, w_lo a_hi_i, w_hi a_lo_i, w_hi a_hi_i} (exact for a product of independent
intervals), and the sum over inputs of the per-input intervals bounds z_j:

    z_j in [sum_i min P_i, sum_i max P_i].

Every weight is independent, so the per-neuron bound is attained by some weights when the input
interval is a point (one training sample) and is sound (never too narrow) in general.

Sub-interval grid. Neuron j of hidden layer l gets M uniform sub-intervals of [lo_j, hi_j]
(knots lo_j + m (hi_j - lo_j) / M) and the spline of its activation on those knots
(:func:`hybridqnn.problems.splines.linear_spline`); its activation range is the spline's image
[min, max] over [lo_j, hi_j] (attained at knots). A neuron with lo_j = hi_j is constant (no grid).
Activations quantized to K bits on [a_min, a_max] (nearest grid point) stay in that range, so
the propagated bounds hold for quantized activations too.

Optional user bounds ``clip`` restrict a hidden layer's pre-activation domain: the grid is built
on [max(lo, clip_lo), min(hi, clip_hi)]; weights that would push a training sample outside make
the QCBO infeasible. An empty intersection is an error naming the layer and the neuron.
Per-sample bounds (:func:`sample_bounds`) are the same propagation started from one input point
(a zero-width interval) and are much tighter; they give the big-M constants of the QCBO.

Integer grid (``input_unit`` given; what makes the QCBO integer-exact, issue 18). Inputs are
integer multiples of the input unit q (a power of two; the input box is rounded *outward* to
it), every weight scale s_l is a power of two (the levels are integer multiples of
s_l = min |nonzero level|) and every hidden activation is an integer multiple of a power-of-two
activation unit v_l <= 1 (so a bias input 1 is one too). Then z^l is always an integer multiple
of the pre-activation unit

    u_1 = s_1 q,   u_l = s_l v_{l-1}  (l >= 2),

and per layer, with K_l activation bits (``activation_bits``):

* the bounds [lo_j, hi_j] are multiples of u_l (rounded outward, a no-op in exact arithmetic);
* v_l = min(1, 2^(floor(log2 min_j delta_j) - 3)), delta_j = (B_j - A_j) / (2^K - 1) the raw
  K-bit step of neuron j's spline image [A_j, B_j] (so rounding a value to v_l moves it by at
  most 1/16 of the finest step);
* the spline knots lie on the u_l grid (:func:`hybridqnn.problems.splines.grid_spline`: start
  floor(lo / u) u, segment width ceil((hi - lo) / (M u)) u, so the last knot is >= hi), and the
  spline interpolates f(t_k) rounded to the nearest multiple of v_l;
* the activation grid is A + step i, i in [0, 2^K - 1], with A = min_k f~(t_k) and
  step = ceil((max_k f~(t_k) - A) / ((2^K - 1) v_l)) v_l, rounded *outward* so the grid covers
  the spline image and every grid point is a multiple of v_l; a constant neuron gives its value
  rounded to v_l.

Every interval above contains the exact one, so FIP stays sound, and every quantity the QCBO
writes in a constraint is an integer in these units (:mod:`hybridqnn.problems.qcbo`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hybridqnn._checks import check_bool, check_choice, check_int
from hybridqnn.problems.splines import ACTIVATIONS, LinearSpline, activation_spline

__all__ = [
    "FIPResult",
    "LayerBounds",
    "forward_interval_propagation",
    "interval_matvec",
    "quantize_activation",
    "sample_bounds",
]


def _finite_array(name: str, value: object, ndim: int | None = None) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"{name!r} must be an array of real numbers, got {type(value).__name__}"
        ) from None
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name!r} must be {ndim}-dimensional, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise ValueError(f"{name!r} must be finite, got {bad} NaN or infinite value(s)")
    return arr


def interval_matvec(
    w_low: float, w_high: float, x_low: np.ndarray, x_high: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of sum_i w_i x_i over w_i in [w_low, w_high], x_i in [x_low_i, x_high_i].

    ``x_low``/``x_high`` have shape (..., n); the result has shape (...,) twice.
    """
    corners = np.stack([w_low * x_low, w_low * x_high, w_high * x_low, w_high * x_high])
    return corners.min(axis=0).sum(axis=-1), corners.max(axis=0).sum(axis=-1)


@dataclass(frozen=True, eq=False)
class LayerBounds:
    """FIP output for one layer (1-based ``layer``).

    Attributes:
        layer: l, 1-based.
        low, high: pre-activation bounds, shape (n_l,).
        splines: per neuron, the activation spline on its grid, or None (constant neuron, or
            the output layer, which has no activation).
        act_low, act_high: activation range (spline image), shape (n_l,); for the output
            layer the pre-activation bounds again. On an integer grid: the K-bit activation
            grid's ends (module docstring).
        unit: on an integer grid, u_l: every z^l is an integer multiple of it (else None).
        act_unit: on an integer grid, v_l: every activation is a multiple of it (else None).
    """

    layer: int
    low: np.ndarray
    high: np.ndarray
    splines: tuple[LinearSpline | None, ...]
    act_low: np.ndarray
    act_high: np.ndarray
    unit: float | None = None
    act_unit: float | None = None

    @property
    def size(self) -> int:
        return int(self.low.size)


@dataclass(frozen=True, eq=False)
class FIPResult:
    """Bounds for the whole network.

    Attributes:
        input_low, input_high: the input box, shape (n_0,).
        weight_ranges: per layer (min V_l, max V_l).
        activations: per hidden layer, the activation name.
        bias: whether each layer has a bias input fixed to 1.
        layers: per layer (1..L), its :class:`LayerBounds`.
        input_unit: the input grid q (integer-grid mode), or None.
    """

    input_low: np.ndarray
    input_high: np.ndarray
    weight_ranges: tuple[tuple[float, float], ...]
    activations: tuple[str, ...]
    segments: tuple[int, ...]
    bias: bool
    layers: tuple[LayerBounds, ...]
    input_unit: float | None = None

    def quantize_inputs(self, X: np.ndarray) -> np.ndarray:
        """X rounded to the nearest multiple of the input unit (unchanged without a grid)."""
        X = np.asarray(X, dtype=np.float64)
        if self.input_unit is None:
            return X
        return np.rint(X / self.input_unit) * self.input_unit

    @property
    def sizes(self) -> tuple[int, ...]:
        """(n_0, n_1, ..., n_L)."""
        return (int(self.input_low.size),) + tuple(b.size for b in self.layers)


def _with_bias(low: np.ndarray, high: np.ndarray, bias: bool) -> tuple[np.ndarray, np.ndarray]:
    if not bias:
        return low, high
    one = np.ones(low.shape[:-1] + (1,))
    return np.concatenate([low, one], axis=-1), np.concatenate([high, one], axis=-1)


def forward_interval_propagation(
    input_low: Sequence[float] | np.ndarray,
    input_high: Sequence[float] | np.ndarray,
    sizes: Sequence[int],
    weight_levels: Sequence[Sequence[float] | np.ndarray],
    activations: Sequence[str] | str = "relu",
    segments: Sequence[int] | int = 4,
    *,
    bias: bool = False,
    clip: Sequence[tuple[np.ndarray, np.ndarray] | None] | None = None,
    input_unit: float | None = None,
    activation_bits: Sequence[int] | int | None = None,
) -> FIPResult:
    """Propagate an input box through the network (see the module docstring for the rules).

    Args:
        input_low: the input box's lower corner, shape (n_0,), finite, <= ``input_high``.
        input_high: the input box's upper corner, shape (n_0,), finite, >= ``input_low``.
        sizes: (n_0, n_1, ..., n_L), L >= 1.
        weight_levels: per layer, the finite set V_l of weight values (scale included).
        activations: per hidden layer (L - 1 names, or one for all) from
            :data:`hybridqnn.problems.splines.ACTIVATIONS`.
        segments: M per hidden layer (or one for all), >= 1.
        bias: a bias input (fixed to 1) per layer.
        clip: per hidden layer, optional user (low, high) arrays intersected with the bounds.
        input_unit: q, a power of two: build the integer grid (module docstring); needs
            ``activation_bits`` and power-of-two weight scales.
        activation_bits: K per hidden layer (or one for all), for the integer grid.

    Raises:
        ValueError: M < 1, an empty input interval, non-finite inputs, or a clip range that
            misses the propagated range (naming layer and neuron).
    """
    sizes = tuple(check_int("sizes[i]", n, 1) for n in sizes)
    if len(sizes) < 2:
        raise ValueError(f"'sizes' must list at least an input and an output size, got {sizes}")
    num_layers = len(sizes) - 1
    bias = check_bool("bias", bias)
    x_low, x_high = _checked_box(input_low, input_high, sizes[0])
    ranges = _weight_ranges(weight_levels, num_layers)
    hidden = num_layers - 1
    grid = _grid_setup(input_unit, activation_bits, weight_levels, hidden)
    if grid is not None:
        q = grid[0]
        x_low = np.floor(x_low / q) * q + 0.0
        x_high = np.ceil(x_high / q) * q + 0.0
    acts, segs = _checked_hidden(activations, segments, clip, hidden)

    layers: list[LayerBounds] = []
    a_low, a_high = x_low, x_high
    in_unit = None if grid is None else grid[0]
    for li in range(1, num_layers + 1):
        lo_in, hi_in = _with_bias(a_low, a_high, bias)
        w_lo, w_hi = ranges[li - 1]
        low, high = interval_matvec(
            w_lo,
            w_hi,
            np.broadcast_to(lo_in, (sizes[li], lo_in.size)),
            np.broadcast_to(hi_in, (sizes[li], hi_in.size)),
        )
        unit = None if grid is None else grid[2][li - 1] * in_unit
        if unit is not None:
            low = np.floor(low / unit) * unit + 0.0
            high = np.ceil(high / unit) * unit + 0.0
        if li == num_layers:
            layers.append(
                LayerBounds(li, low, high, (None,) * sizes[li], low.copy(), high.copy(), unit)
            )
            break
        if clip is not None and clip[li - 1] is not None:
            low, high = _clipped(low, high, clip[li - 1], li)
        if grid is None:
            splines, act_low, act_high = _layer_splines(acts[li - 1], low, high, segs[li - 1])
            layers.append(LayerBounds(li, low, high, tuple(splines), act_low, act_high))
        else:
            K = grid[1][li - 1]
            splines, act_low, act_high, in_unit = _grid_layer_splines(
                acts[li - 1], low, high, segs[li - 1], unit, K
            )
            layers.append(
                LayerBounds(li, low, high, tuple(splines), act_low, act_high, unit, in_unit)
            )
        a_low, a_high = act_low, act_high
    return FIPResult(
        x_low, x_high, tuple(ranges), acts, segs, bias, tuple(layers), input_unit=input_unit
    )


def _checked_box(
    input_low: Sequence[float] | np.ndarray, input_high: Sequence[float] | np.ndarray, n0: int
) -> tuple[np.ndarray, np.ndarray]:
    """The input box as finite arrays of shape (n_0,), low <= high (one-line errors)."""
    x_low = _finite_array("input_low", input_low, 1)
    x_high = _finite_array("input_high", input_high, 1)
    if x_low.shape != (n0,) or x_high.shape != (n0,):
        raise ValueError(
            f"'input_low' and 'input_high' must have shape ({n0},), got {x_low.shape} and {x_high.shape}"
        )
    if np.any(x_low > x_high):
        i = int(np.argmax(x_low > x_high))
        raise ValueError(
            f"the input interval of feature {i} is empty: [{x_low[i]!r}, {x_high[i]!r}]"
        )
    return x_low, x_high


def _weight_ranges(
    weight_levels: Sequence[Sequence[float] | np.ndarray], num_layers: int
) -> list[tuple[float, float]]:
    """(min V_l, max V_l) per layer; each V_l finite and non-empty."""
    if len(weight_levels) != num_layers:
        raise ValueError(
            f"'weight_levels' must have one set per layer ({num_layers}), got {len(weight_levels)}"
        )
    ranges = []
    for li, levels in enumerate(weight_levels, start=1):
        lv = _finite_array(f"weight_levels[{li - 1}]", levels, 1)
        if lv.size == 0:
            raise ValueError(f"'weight_levels[{li - 1}]' must be non-empty")
        ranges.append((float(lv.min()), float(lv.max())))
    return ranges


def _checked_hidden(
    activations: Sequence[str] | str,
    segments: Sequence[int] | int,
    clip: Sequence[Any] | None,
    hidden: int,
) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """One activation name and one M >= 1 per hidden layer, and one clip entry if any."""
    acts = (activations,) * hidden if isinstance(activations, str) else tuple(activations)
    if len(acts) != hidden:
        raise ValueError(
            f"'activations' must name one activation per hidden layer ({hidden}), got {len(acts)}"
        )
    for a in acts:
        if a not in ACTIVATIONS:
            raise ValueError(f"'activations' must be from {', '.join(ACTIVATIONS)}; got {a!r}")
    segs = (segments,) * hidden if isinstance(segments, (int, np.integer)) else tuple(segments)
    if len(segs) != hidden:
        raise ValueError(f"'segments' must give M per hidden layer ({hidden}), got {len(segs)}")
    segs = tuple(check_int("segments", m, 1) for m in segs)
    if clip is not None and len(clip) != hidden:
        raise ValueError(
            f"'clip' must have one entry (or None) per hidden layer ({hidden}), got {len(clip)}"
        )
    return acts, segs


def _clipped(
    low: np.ndarray, high: np.ndarray, clip: tuple[np.ndarray, np.ndarray], li: int
) -> tuple[np.ndarray, np.ndarray]:
    """[low, high] intersected with the user's clip range of layer ``li`` (a ValueError naming
    the layer and neuron where they do not meet)."""
    c_lo = np.broadcast_to(_finite_array(f"clip[{li - 1}][0]", clip[0]), low.shape)
    c_hi = np.broadcast_to(_finite_array(f"clip[{li - 1}][1]", clip[1]), low.shape)
    new_low, new_high = np.maximum(low, c_lo), np.minimum(high, c_hi)
    if np.any(new_low > new_high):
        j = int(np.argmax(new_low > new_high))
        raise ValueError(
            f"infeasible bounds at layer {li}, neuron {j}: the propagated range "
            f"[{low[j]:.6g}, {high[j]:.6g}] does not meet the given [{c_lo[j]:.6g}, {c_hi[j]:.6g}]"
        )
    return new_low, new_high


def _is_power_of_two(x: float) -> bool:
    return bool(x > 0 and math.isfinite(x) and math.frexp(x)[0] == 0.5)


def _grid_setup(
    input_unit: float | None,
    activation_bits: Sequence[int] | int | None,
    weight_levels: Sequence[Sequence[float] | np.ndarray],
    hidden: int,
) -> tuple[float, tuple[int, ...], tuple[float, ...]] | None:
    """(q, K per hidden layer, weight scale s_l per layer) for the integer grid, or None."""
    if input_unit is None:
        return None
    if isinstance(input_unit, bool) or not isinstance(input_unit, (int, float, np.floating)):
        raise TypeError(f"'input_unit' must be a number, got {type(input_unit).__name__}")
    if not _is_power_of_two(float(input_unit)):
        raise ValueError(f"'input_unit' must be a power of two (e.g. 2**-8), got {input_unit!r}")
    if activation_bits is None:
        raise ValueError("'activation_bits' must be given with 'input_unit' (the grid needs K)")
    bits = (
        (activation_bits,) * hidden
        if isinstance(activation_bits, (int, np.integer))
        else tuple(activation_bits)
    )
    if len(bits) != hidden:
        raise ValueError(
            f"'activation_bits' must give K per hidden layer ({hidden}), got {len(bits)}"
        )
    bits = tuple(check_int("activation_bits", k, 1, 16) for k in bits)
    scales = []
    for li, levels in enumerate(weight_levels):
        lv = np.abs(np.asarray(levels, dtype=np.float64))
        s = float(lv[lv > 0].min()) if np.any(lv > 0) else 1.0
        if not _is_power_of_two(s) or np.any(np.abs(lv / s - np.rint(lv / s)) > 1e-9):
            raise ValueError(
                f"'weight_levels[{li}]' must be integer multiples of a power-of-two scale on an "
                f"integer grid, got scale {s!r}"
            )
        scales.append(s)
    return float(input_unit), bits, tuple(scales)


def _layer_splines(
    act: str, low: np.ndarray, high: np.ndarray, segments: int
) -> tuple[list[LinearSpline | None], np.ndarray, np.ndarray]:
    """Per neuron: the spline on [lo, hi] and its image (real grid)."""
    from hybridqnn.problems.splines import named_function

    splines: list[LinearSpline | None] = []
    act_low = np.empty(low.size)
    act_high = np.empty(low.size)
    for j in range(low.size):
        if high[j] > low[j]:
            sp = activation_spline(act, float(low[j]), float(high[j]), segments)
            splines.append(sp)
            act_low[j], act_high[j] = sp.range_on(float(low[j]), float(high[j]))
        else:
            splines.append(None)
            act_low[j] = act_high[j] = float(named_function(act)(np.array([low[j]]))[0])
    return splines, act_low, act_high


def _grid_layer_splines(
    act: str, low: np.ndarray, high: np.ndarray, segments: int, unit: float, bits: int
) -> tuple[list[LinearSpline | None], np.ndarray, np.ndarray, float]:
    """Per neuron: the grid spline, the K-bit activation grid's ends, and the layer's v_l
    (module docstring, "Integer grid")."""
    from hybridqnn.problems.splines import grid_spline, named_function

    levels = 2**bits - 1
    _, raw_low, raw_high = _layer_splines(act, low, high, segments)
    steps = (raw_high - raw_low) / levels
    finest = float(steps[steps > 0].min()) if np.any(steps > 0) else 8.0
    v = min(1.0, 2.0 ** (math.floor(math.log2(finest)) - 3))
    splines: list[LinearSpline | None] = []
    act_low = np.empty(low.size)
    act_high = np.empty(low.size)
    for j in range(low.size):
        if high[j] > low[j]:
            sp = grid_spline(act, float(low[j]), float(high[j]), segments, unit, v)
            A, B = float(sp.values.min()), float(sp.values.max())
            sigma = max(1, -(-round((B - A) / v) // levels)) if B > A else 0
            splines.append(sp)
            act_low[j], act_high[j] = A, A + levels * sigma * v
        else:
            splines.append(None)
            value = float(named_function(act)(np.array([low[j]]))[0])
            act_low[j] = act_high[j] = float(np.rint(value / v) * v)
    return splines, act_low, act_high, v


def quantize_activation(
    values: np.ndarray, low: np.ndarray, high: np.ndarray, bits: int, ties: str = "even"
) -> np.ndarray:
    """Round to the nearest point of the K-bit grid low + step * i, step = (high - low)/(2^K - 1),
    i in [0, 2^K - 1] (per neuron; constant neurons, low == high, give low).

    ``ties``: ``even`` (numpy's rint), or ``down`` / ``up``: a value within a relative 1e-9 of a
    midpoint goes to the lower / upper neighbour (used for sound per-sample bounds, since the
    QCBO lets a tie go either way).
    """
    bits = check_int("bits", bits, 1, 32)
    ties = check_choice("ties", ties, ("even", "down", "up"))
    low = np.asarray(low, dtype=np.float64)
    high = np.asarray(high, dtype=np.float64)
    step = (high - low) / (2**bits - 1)
    safe = np.where(step > 0, step, 1.0)
    u = (np.asarray(values, dtype=np.float64) - low) / safe
    tol = 1e-9 * (1.0 + np.abs(u))
    if ties == "even":
        idx = np.rint(u)
    elif ties == "down":
        idx = np.ceil(u - 0.5 - tol)
    else:
        idx = np.floor(u + 0.5 + tol)
    idx = np.minimum(np.maximum(idx, 0.0), 2**bits - 1)  # np.clip, without its overhead
    return np.where(step > 0, low + idx * step, low)


def _spline_image(
    sp: LinearSpline | None, lo: float, hi: float, const: float
) -> tuple[float, float]:
    if sp is None:
        return const, const
    return sp.range_on(lo, hi) if hi > lo else (float(sp(lo)), float(sp(lo)))


def sample_bounds(
    fip: FIPResult, x: np.ndarray, activation_bits: Sequence[int | None] | int | None = None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per-sample pre-activation bounds: FIP started from the single point ``x``.

    Args:
        fip: The network's bounds (grids and activation ranges).
        x: One input, shape (n_0,), finite, inside the FIP input box.
        activation_bits: K per hidden layer (or one for all; None: no quantization); the
            quantized activation range [Q(min), Q(max)] is propagated.

    Returns:
        Per layer (low, high), each of shape (n_l,), intersected with the layer's bounds.

    Raises:
        ValueError: non-finite ``x``; or infeasible bounds (a sample range outside a neuron's
            grid), naming the layer and the neuron.
    """
    x = _finite_array("x", x, 1)
    if x.shape != fip.input_low.shape:
        raise ValueError(f"'x' must have shape {fip.input_low.shape}, got {x.shape}")
    hidden = len(fip.layers) - 1
    bits = (
        (activation_bits,) * hidden
        if activation_bits is None or isinstance(activation_bits, (int, np.integer))
        else tuple(activation_bits)
    )
    out: list[tuple[np.ndarray, np.ndarray]] = []
    a_low = a_high = x
    for lb in fip.layers:
        lo_in, hi_in = _with_bias(a_low, a_high, fip.bias)
        w_lo, w_hi = fip.weight_ranges[lb.layer - 1]
        low, high = interval_matvec(w_lo, w_hi, lo_in, hi_in)
        low = np.full(lb.size, float(low))
        high = np.full(lb.size, float(high))
        tol = 1e-9 * (1.0 + np.abs(lb.low) + np.abs(lb.high))
        bad = (high < lb.low - tol) | (low > lb.high + tol)
        if np.any(bad):
            j = int(np.argmax(bad))
            raise ValueError(
                f"infeasible bounds at layer {lb.layer}, neuron {j}: the sample's range "
                f"[{low[j]:.6g}, {high[j]:.6g}] lies outside the neuron's range [{lb.low[j]:.6g}, {lb.high[j]:.6g}]"
            )
        low, high = np.maximum(low, lb.low), np.minimum(high, lb.high)
        out.append((low, high))
        if lb.layer == len(fip.layers):
            break
        img = [
            _spline_image(sp, lo, hi, lb.act_low[j])
            for j, (sp, lo, hi) in enumerate(zip(lb.splines, low, high, strict=False))
        ]
        a_low = np.array([v[0] for v in img])
        a_high = np.array([v[1] for v in img])
        k = bits[lb.layer - 1]
        if k is not None:
            a_low = quantize_activation(a_low, lb.act_low, lb.act_high, k, ties="down")
            a_high = quantize_activation(a_high, lb.act_low, lb.act_high, k, ties="up")
    return out
