"""The QCBO training model of a quantized spline network, as a ``dimod.ConstrainedQuadraticModel``.

Li et al., "Quantum-Classical Hybrid Quantized Neural Network" (arXiv 2506.18240) write the
training of a low-bit network as one quadratic constrained binary optimisation (QCBO). The
paper publishes neither the model nor code; every choice below is ours and is written down.

Network semantics (what the model's optimum is the optimum *of*)
-----------------------------------------------------------------
:class:`QuantizedSplineNetwork`. Layers l = 1..L, sizes (n_0, ..., n_L), optional bias input
(a constant 1 appended to each layer's input). For a sample x:

    z^1 = W^1 x,   a^l_j = Q_j( s^l_j(z^l_j) ),   z^{l+1} = W^{l+1} a^l,   output z^L (logits),

where s^l_j is the linear spline of the layer's activation on neuron j's FIP grid (M_l uniform
segments over its FIP range [lo_j, hi_j], :mod:`hybridqnn.problems.fip`) and Q_j rounds to the
nearest point of the K_l-bit grid on the neuron's activation range [A_j, B_j] (the spline's
image): a_j = A_j + step_j * sum_m 2^m u_jm, step_j = (B_j - A_j) / (2^K - 1), ties either
way (see the line ties below). (Quantized
activations are what makes the activations binary-encodable; the paper does not say how it
encodes them.) The training loss is the spline loss

    sum_s sum_c  ell_c( y_sc z^L_sc ),

with ell_c the linear spline (M_loss segments) of the margin loss on [-R_c, R_c],
R_c = max(|lo_c|, |hi_c|) of output c's FIP range; y_s in {-1, +1} for one output, and
one-vs-rest labels y_sc = +1 if c is the class else -1 for several outputs.

Weights (per layer l, one code for all its weights, scale s_l > 0): w = s_l (c_0 + sum_k c_k b_k)
with bits b_k:

* ``binary``:  w = s (2 b - 1)                 in {-s, +s};
* ``ternary``: w = s (b_1 + b_2 - 1)           in {-s, 0, +s} (0 has two codes; no constraint);
* ``kbit``:    w = s (2 sum_k 2^k b_k - (2^K - 1)) in s{-(2^K-1), ..., -1, 1, ..., 2^K - 1}.

Variables (all BINARY)
----------------------
* ("w", l, j, i, k): bit k of weight W^l_{ji} (shared by all samples);
* per sample s and hidden neuron (l, j) whose activation is not constant:
  ("sel", s, l, j, k) one-hot sub-interval selectors, one per segment k that meets the
  sample's FIP range of z (none if only one does); ("a", s, l, j, m) the K activation bits;
* ("p", s, l, j, i, k, m): the product b_k u_m of a weight bit of layer l >= 2 and an
  activation bit, for the output layer always and for hidden layers with
  ``products="variables"``;
* per sample and output c: ("lsel", s, c, k) loss-segment selectors (none if one segment).

Slack bits are not CQM variables: inequalities are native to a CQM; the penalty conversion
(:mod:`hybridqnn.solvers.penalty`) adds them.

Constraints (per sample; zl, zu are the sample's FIP bounds of z, A, B the activation range)
-------------------------------------------------------------------------------------------
* one-hot: sum_k sel_k = 1;
* interval (aggregated big-M, exact under one-hot): z >= sum_k t_k sel_k and
  z <= sum_k t_{k+1} sel_k;
* line ties, big-M from FIP, for each selectable segment k with line alpha_k z + beta_k:

      a - alpha_k z + U_k sel_k <= beta_k + step/2 + U_k,
      a - alpha_k z - L_k sel_k >= beta_k - step/2 - L_k,

  U_k = max(0, B - beta_k - min(alpha_k zl, alpha_k zu) - step/2) and
  L_k = max(0, max(alpha_k zl, alpha_k zu) + beta_k - A - step/2): with sel_k = 1 they force
  |a - s(z)| <= step/2 (a is a nearest grid point; at an exact tie, which the deeper layers
  of a binary network do produce, e.g. z = s B when the grid is {0, 2 s B}, either neighbour
  is allowed, so the optimum is also a minimum over tie choices, as
  ``QuantizedSplineNetwork.loss_value(ties="best")`` computes), with sel_k = 0 they are slack
  for every a in [A, B] and z in [zl, zu]. With a single selectable segment the two ties are
  written without sel. (Per-sample FIP rounds ties outwards, so these bounds stay sound.)
* products: p - b u = 0 (a quadratic equality); with ``products="inline"`` hidden layers
  l >= 2 instead use b u directly, so their interval and tie constraints are quadratic.
  These are the quadratic constraints "where a layer's weights multiply encoded activations".

z is linear in the variables for layer 1 (x is data), and linear in (b, u, p) for later
layers; constraints are therefore linear except the product equalities (or, inline, the
hidden-layer constraints).

Objective: for each sample and output, with m = y_c z_c (linear in the variables) and loss
selectors lsel_k: sum_k lsel_k (alpha_k m + beta_k) (quadratic: lsel times m's variables), or
alpha m + beta with one selectable segment. The output layer always uses product variables
because lsel_k m would otherwise be cubic.

The optimum equals min over quantized weights of the spline loss of
:class:`QuantizedSplineNetwork` (tested against brute force on tiny instances, with the exact
solver :class:`hybridqnn.solvers.milp.MILPSolver`: HiGHS through scipy, in place of the
CP-SAT / SCIP the issue suggests). :attr:`QCBOModel.counts` gives the variable (Ising spin)
counts by kind; the penalty and QCGD solvers add slack and product bits on top.

Sizes, per sample, for a network with one hidden layer (n_0, n_1, n_L), weight bits B_w, K
activation bits, M segments and M_loss loss segments (upper bounds: segments that a sample's
FIP range does not meet, and constant neurons, are dropped): selectors <= n_1 M,
activation bits <= n_1 K, products n_L n_1 B_w K, loss selectors <= n_L M_loss; plus
n_1 (n_0 + bias) B_w + n_L (n_1 + bias) B_w weight bits shared by all samples.

Integer-exact model (``input_unit`` = q given; issue 18)
-------------------------------------------------------
The FIP is built on an integer grid (:mod:`hybridqnn.problems.fip`, "Integer grid"): X is rounded
to multiples of q (a power of two), every weight scale is a power of two, and hidden layer l has
a pre-activation unit u_l (every z^l is an integer multiple of it), an activation unit v_l
(every activation level is a multiple of it), knots t_k on the u_l grid with width h = eta u_l,
spline values and the activation grid A + step i on the v_l grid; the loss spline's knots lie
on the output unit u_L. Each constraint is divided by its unit and must then have integer
coefficients (else a one-line ValueError names it):

* one-hot and product constraints: unit 1; interval constraints of layer l: unit u_l (loss:
  u_L);
* line ties: unit u_l v_l / (2 h): with a = v alpha, z = u zeta, f~(t_k) = v phi_k and
  step = v sigma the tie is 2 eta (alpha - phi_k) - 2 (phi_{k+1} - phi_k)(zeta - tau_k) within
  +-eta sigma, all integers, and so are the big-M constants (built from the same integers).

Each integer constraint is then divided by the gcd g of its coefficients, its constant
rounded inward (c^T x <= d becomes (c/g)^T x <= floor(d/g)), which keeps exactly the same
binary solutions. So a feasible point has violation exactly 0 and an infeasible one has
violation >= 1 on some constraint, and the penalty reduction adds exact integer slacks
(:mod:`hybridqnn.solvers.penalty`): CGAL's r(X) = 0 is reachable. The objective (the loss) stays
real; :attr:`QCBOModel.objective_range` bounds its range over the feasible points from the
per-sample FIP margins, the scale QCGD gives it. Without ``input_unit`` the model is the
real-coefficient one above (feasible points can have a small nonzero slack residual).

Block models (``block`` and ``fixed_weights`` given; issue 18, our choice: the paper's
decomposition is sample-wise only)
--------------------------------------------------------------------------------------------
A :class:`WeightBlock` (l, j0, j1) frees the incoming rows W^l_{j.} of the neurons
j0 <= j < j1 of one layer l; every other weight is the constant given in ``fixed_weights``.
The model is built natively on those constants (not by fixing variables of the full model):

* only the block's weight bits are variables; a fixed row's pre-activation
  z_j = sum_i w_ji a_i is linear in the activation bits of its inputs (no product variables:
  a constant weight times an activation bit is a linear term);
* a neuron whose z is a constant (every neuron of layers < l, and the rows of layer l outside
  the block) has no selectors, activation bits or ties: its activation is the constant
  Q(s(z)), except at an exact tie (s(z) halfway between two grid points within a relative
  1e-9, both inside [A, B]), where it is a + step t with a ("a", s, l, j, "t") bit t free in
  {0, 1} (no constraint), so the optimum is still the minimum over tie choices
  (``loss_value(ties="best")``); a constant output's loss is a constant;
* every other neuron is built as above (its FIP sample bounds remain sound bounds).

So the optimum of a block model equals the minimum of the spline loss over the block's weights
with the others fixed (tested against brute force), and with ``input_unit`` every constraint
is integer as in the full model. :meth:`QCBOModel.decode_weights`, :meth:`~QCBOModel.complete`
and the weight terms take and give full weight lists; the fixed rows always come from
``fixed_weights`` (the rows given for them are ignored), and :meth:`~QCBOModel.weight_terms`
adds the fixed weights' proximal terms as a constant, so the objective is still
f(w) + lambda^T w + (rho/2)||w - w_bar||^2 over all weights.

Decomposition (for progressive hedging): ``build_qcbo(X[s:s+1], ..., sample_ids=[s],
weight_label=lambda l, j, i, k: ("w", s, l, j, i, k), fip=shared_fip)`` builds sample s's
subproblem with its own weight copy on the same network grids, and
:meth:`QCBOModel.with_weight_terms` adds lambda^T w + (rho/2) ||w - w_bar||^2 (quadratic in the
weight bits) to its objective.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import dimod
import numpy as np

from hybridqnn._checks import check_bool, check_choice, check_float, check_int
from hybridqnn.problems.fip import (
    FIPResult,
    forward_interval_propagation,
    quantize_activation,
    sample_bounds,
)
from hybridqnn.problems.splines import LOSSES, LinearSpline, grid_spline, loss_spline

__all__ = [
    "QCBOModel",
    "QuantizedSplineNetwork",
    "WeightBlock",
    "WeightCode",
    "build_qcbo",
    "check_network_data",
]

WEIGHT_KINDS = ("binary", "ternary", "kbit")


@dataclass(frozen=True)
class WeightCode:
    """How a weight is written in bits: w = scale * (c_0 + sum_k c_k b_k) (module docstring).

    Args:
        kind: ``binary``, ``ternary`` or ``kbit``.
        bits: K for ``kbit`` (1..8); ignored otherwise (binary: 1 bit, ternary: 2).
        scale: s > 0.
    """

    kind: str = "binary"
    bits: int = 1
    scale: float = 1.0

    def __post_init__(self) -> None:
        check_choice("kind", self.kind, WEIGHT_KINDS)
        check_float("scale", self.scale, 0.0, low_open=True)
        if self.kind == "kbit":
            check_int("bits", self.bits, 1, 8)

    @property
    def num_bits(self) -> int:
        return {"binary": 1, "ternary": 2}.get(self.kind, self.bits)

    @property
    def offset(self) -> float:
        """c_0."""
        if self.kind == "kbit":
            return -float(2**self.bits - 1)
        return -1.0

    @property
    def coefficients(self) -> np.ndarray:
        """c_k, shape (num_bits,)."""
        if self.kind == "binary":
            return np.array([2.0])
        if self.kind == "ternary":
            return np.array([1.0, 1.0])
        return 2.0 ** (np.arange(self.bits) + 1)

    @property
    def levels(self) -> np.ndarray:
        """The distinct weight values, sorted."""
        codes = (np.arange(2**self.num_bits)[:, None] >> np.arange(self.num_bits)) & 1
        return np.unique(self.decode(codes))

    @property
    def bits_per_weight(self) -> float:
        """log2 of the number of distinct values (1 for binary, log2 3 for ternary)."""
        return math.log2(self.levels.size)

    def decode(self, bits: np.ndarray) -> np.ndarray:
        """Weights from bits of shape (..., num_bits)."""
        return self.scale * (self.offset + np.asarray(bits, dtype=np.float64) @ self.coefficients)

    def encode(self, values: np.ndarray) -> np.ndarray:
        """Bits (int8, shape (..., num_bits)) of weights that are levels (nearest level otherwise)."""
        values = np.asarray(values, dtype=np.float64)
        codes = ((np.arange(2**self.num_bits)[:, None] >> np.arange(self.num_bits)) & 1).astype(
            np.int8
        )
        decoded = self.decode(codes)
        idx = np.argmin(np.abs(values[..., None] - decoded), axis=-1)
        return codes[idx]


@dataclass(frozen=True)
class WeightBlock:
    """The free weights of a block model (module docstring, "Block models"): the incoming rows
    of neurons ``start`` <= j < ``stop`` of layer ``layer`` (1-based).

    Args:
        layer: l >= 1.
        start: the first free row j0 >= 0.
        stop: one past the last free row, > ``start``.
    """

    layer: int
    start: int
    stop: int

    def __post_init__(self) -> None:
        check_int("layer", self.layer, 1)
        check_int("start", self.start, 0)
        if check_int("stop", self.stop, 1) <= self.start:
            raise ValueError(f"'stop' must be greater than start {self.start}, got {self.stop}")

    @property
    def rows(self) -> range:
        return range(self.start, self.stop)

    def free_rows(self, layer: int) -> range:
        """The free rows of layer ``layer`` (1-based): :attr:`rows` there, none elsewhere."""
        return self.rows if layer == self.layer else range(0)


def _free_rows(block: WeightBlock | None, layer: int, n_rows: int) -> range:
    """Free rows of layer ``layer`` (1-based): all without a block."""
    return range(n_rows) if block is None else block.free_rows(layer)


class _Expr:
    """const + sum lin[v] v + sum quad[(u, v)] u v over binary variables."""

    __slots__ = ("const", "lin", "quad")

    def __init__(self, const: float = 0.0) -> None:
        self.const = float(const)
        self.lin: dict[Hashable, float] = {}
        self.quad: dict[tuple[Hashable, Hashable], float] = {}

    def add_lin(self, v: Hashable, c: float) -> None:
        self.lin[v] = self.lin.get(v, 0.0) + c

    def add_quad(self, u: Hashable, v: Hashable, c: float) -> None:
        self.quad[(u, v)] = self.quad.get((u, v), 0.0) + c

    def add(self, other: _Expr, c: float = 1.0) -> _Expr:
        self.const += c * other.const
        for v, b in other.lin.items():
            self.add_lin(v, c * b)
        for uv, b in other.quad.items():
            self.add_quad(*uv, c * b)
        return self

    def copy(self, c: float = 1.0) -> _Expr:
        return _Expr().add(self, c)

    def bqm(self) -> dimod.BinaryQuadraticModel:
        return dimod.BinaryQuadraticModel(self.lin, self.quad, self.const, dimod.BINARY)


@dataclass(frozen=True, eq=False)
class QuantizedSplineNetwork:
    """The network whose spline loss the QCBO minimises (module docstring, "Network semantics").

    Attributes:
        fip: grids and ranges of every neuron.
        codes: per layer, its :class:`WeightCode`.
        activation_bits: K per hidden layer.
        loss: the margin loss name.
        loss_splines: per output, its loss spline on [-R_c, R_c].
    """

    fip: FIPResult
    codes: tuple[WeightCode, ...]
    activation_bits: tuple[int, ...]
    loss: str
    loss_splines: tuple[LinearSpline, ...]

    @classmethod
    def from_fip(
        cls,
        fip: FIPResult,
        codes: Sequence[WeightCode],
        activation_bits: Sequence[int],
        loss: str,
        loss_segments: int,
    ) -> QuantizedSplineNetwork:
        """The network on ``fip``'s grids: output c's loss spline covers [-R_c, R_c], R_c the
        largest magnitude of its FIP range (1 if that range is {0})."""
        splines = []
        unit = fip.layers[-1].unit
        for low, high in zip(fip.layers[-1].low, fip.layers[-1].high, strict=True):
            R = float(max(abs(low), abs(high))) or 1.0
            if unit is None:
                splines.append(loss_spline(loss, -R, R, loss_segments))
            else:
                splines.append(grid_spline(loss, -R, R, loss_segments, unit))
        return cls(fip, tuple(codes), tuple(activation_bits), loss, tuple(splines))

    @property
    def sizes(self) -> tuple[int, ...]:
        return self.fip.sizes

    def weight_shapes(self) -> list[tuple[int, int]]:
        s = self.sizes
        return [(s[li], s[li - 1] + int(self.fip.bias)) for li in range(1, len(s))]

    def layer_inputs(self, weights: Sequence[np.ndarray], X: np.ndarray) -> list[np.ndarray]:
        """Per layer l, its input a^{l-1} for inputs X (n, n_0), bias column included when the
        network has one: a^0 = x (rounded to the input grid, if any), a^l = the K-bit quantized
        spline activation of z^l = W^l a^{l-1}."""
        a = self.fip.quantize_inputs(X)
        inputs = []
        for li, (W, lb) in enumerate(zip(weights, self.fip.layers, strict=True), start=1):
            if self.fip.bias:
                a = np.concatenate([a, np.ones((a.shape[0], 1))], axis=1)
            inputs.append(a)
            if li == len(self.fip.layers):
                break
            z = a @ np.asarray(W, dtype=np.float64).T
            act = np.empty_like(z)
            for j, sp in enumerate(lb.splines):
                act[:, j] = lb.act_low[j] if sp is None else sp(z[:, j])
            a = quantize_activation(act, lb.act_low, lb.act_high, self.activation_bits[li - 1])
        return inputs

    def forward(self, weights: Sequence[np.ndarray], X: np.ndarray) -> np.ndarray:
        """The logits z^L = W^L a^{L-1}, shape (n, n_L)."""
        return self.layer_inputs(weights, X)[-1] @ np.asarray(weights[-1], dtype=np.float64).T

    def predict(self, weights: Sequence[np.ndarray], X: np.ndarray) -> np.ndarray:
        """Labels: +-1 for one output (+1 where z >= 0), class indices otherwise (the first
        largest logit).

        Logits within floating-point rounding of a tie count as tied: z_c is taken as 0 (one
        output), or as tied with the largest logit, when it is within 1e-12 * m_c of it, with
        m_c = sum_j |W_cj a_j| the magnitude of the products that make z_c. Quantized weights
        and activations make exact ties common (all-zero hidden activations, products that
        cancel), and rounding then gives them a sign that changes with the output scale, which
        the training loop rescales. Seen in a QPH run (shirt/T-shirt, ternary, 1,000 samples):
        training accuracy fell from 0.804 to 0.802 in an iteration whose line search cannot
        lower it; a test with random ternary networks flips predictions at some output scales
        without this rule.
        """
        a = self.layer_inputs(weights, X)[-1]
        W = np.asarray(weights[-1], dtype=np.float64)
        z = a @ W.T
        tol = 1e-12 * (np.abs(a) @ np.abs(W).T)
        if z.shape[1] == 1:
            return np.where(z[:, 0] >= -tol[:, 0], 1, -1)
        top = z.max(axis=1, keepdims=True)
        return np.argmax(z >= top - tol - tol.max(axis=1, keepdims=True), axis=1)

    def margins(self, weights: Sequence[np.ndarray], X: np.ndarray, y: np.ndarray) -> np.ndarray:
        """y_sc z^L_sc, shape (n, n_L) (labels as :func:`build_qcbo` takes them)."""
        return _signs(np.asarray(y), self.sizes[-1]) * self.forward(weights, X)

    def loss_value(
        self, weights: Sequence[np.ndarray], X: np.ndarray, y: np.ndarray, *, ties: str = "best"
    ) -> float:
        """sum_s sum_c ell_c(y_sc z_sc), the spline loss.

        Args:
            ties: ``best`` (the QCBO's semantics): where s(z) lies exactly halfway between two
                grid points (relative tolerance 1e-9), either neighbour is allowed, and each
                sample's loss is the minimum over those choices; ``nearest``: the plain
                forward pass (numpy's round half to even).
        """
        ties = check_choice("ties", ties, ("best", "nearest"))
        if ties == "nearest":
            m = self.margins(weights, X, y)
            return float(sum(sp(m[:, c]).sum() for c, sp in enumerate(self.loss_splines)))
        X = self.fip.quantize_inputs(X)
        signs = _signs(np.asarray(y), self.sizes[-1])
        return float(
            sum(self._best_sample_loss(weights, X[i], signs[i]) for i in range(X.shape[0]))
        )

    def _best_sample_loss(
        self, weights: Sequence[np.ndarray], x: np.ndarray, sign: np.ndarray
    ) -> float:
        layers = self.fip.layers

        def rec(li: int, a: np.ndarray) -> float:
            if self.fip.bias:
                a = np.append(a, 1.0)
            z = np.asarray(weights[li], dtype=np.float64) @ a
            lb = layers[li]
            if li == len(layers) - 1:
                return float(sum(sp(sign[c] * z[c]) for c, sp in enumerate(self.loss_splines)))
            K = self.activation_bits[li]
            options = []
            for j, sp in enumerate(lb.splines):
                A, B = float(lb.act_low[j]), float(lb.act_high[j])
                if sp is None or B <= A:
                    options.append([A])
                    continue
                step = (B - A) / (2**K - 1)
                u = (float(sp(z[j])) - A) / step
                lo_i = math.floor(u)
                if abs(u - lo_i - 0.5) <= 1e-9 * (1.0 + abs(u)):
                    idx = [i for i in (lo_i, lo_i + 1) if 0 <= i <= 2**K - 1]
                else:
                    idx = [min(max(int(np.rint(u)), 0), 2**K - 1)]
                options.append([A + i * step for i in idx])
            return min(rec(li + 1, np.array(choice)) for choice in itertools.product(*options))

        return rec(0, np.asarray(x, dtype=np.float64))


def _signs(y: np.ndarray, n_out: int) -> np.ndarray:
    if n_out == 1:
        return np.where(y.reshape(-1) > 0, 1.0, -1.0)[:, None]
    return np.where(np.arange(n_out)[None, :] == y.reshape(-1, 1), 1.0, -1.0)


@dataclass(eq=False)
class QCBOModel:
    """A built QCBO: the CQM plus what is needed to read its samples.

    Attributes:
        cqm: the model.
        network: the network whose spline loss it minimises.
        weight_labels: per layer, an object array (n_l, n_in, num_bits) of variable labels
            (None in a block model's fixed rows).
        counts: number of variables by kind (``weights``, ``selectors``, ``activations``,
            ``products``, ``loss_selectors``, ``total``) and ``constraints``.
        sample_ids: the samples' ids used in labels.
        X, y: the model's samples (X on the input grid, if any).
        objective_range: an upper bound on max - min of the objective over the feasible
            points: sum over samples and outputs of the loss spline's range on the sample's
            FIP margin interval, plus (after :meth:`with_weight_terms`) per weight the range of
            lambda w + (rho/2)(w - w_bar)^2 over its levels. QCGD scales the objective by it
            (the oracle then sees the loss at O(1), not at 1/Delta_f of it).
        block: the free rows of a block model (module docstring, "Block models"); None: all.
        fixed_weights: a block model's weight values (full per-layer arrays; the block's own
            rows unused).
    """

    cqm: dimod.ConstrainedQuadraticModel
    network: QuantizedSplineNetwork
    weight_labels: list[np.ndarray]
    counts: dict[str, int]
    sample_ids: tuple[Hashable, ...]
    X: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    objective_range: float = 0.0
    block: WeightBlock | None = None
    fixed_weights: list[np.ndarray] | None = field(default=None, repr=False)

    def free_rows(self, layer: int) -> range:
        """The rows of layer ``layer`` (1-based) whose weights are variables (all without a block)."""
        return _free_rows(self.block, layer, self.weight_labels[layer - 1].shape[0])

    def decode_weights(self, sample: Mapping[Hashable, float]) -> list[np.ndarray]:
        """The weights W^l of a sample of the CQM's variables (a block model: the fixed rows
        from ``fixed_weights``)."""
        out = []
        for li, (code, labels) in enumerate(zip(self.network.codes, self.weight_labels, strict=True)):
            rows = self.free_rows(li + 1)
            if self.fixed_weights is None:
                W = np.empty(labels.shape[:2])
            else:
                W = np.array(self.fixed_weights[li], dtype=np.float64)
            if len(rows):
                free = labels[rows.start : rows.stop]
                bits = np.vectorize(lambda v: sample[v], otypes=[np.float64])(free)
                W[rows.start : rows.stop] = code.decode(bits)
            out.append(W)
        return out

    def encode_weights(self, weights: Sequence[np.ndarray]) -> dict[Hashable, int]:
        """The weight-bit assignment of weights given as levels (a block model: its free rows)."""
        assignment: dict[Hashable, int] = {}
        for li, (code, labels, W) in enumerate(
            zip(self.network.codes, self.weight_labels, weights, strict=False)
        ):
            rows = self.free_rows(li + 1)
            if not len(rows):
                continue
            bits = code.encode(np.asarray(W)[rows.start : rows.stop])
            free = labels[rows.start : rows.stop]
            for idx in np.ndindex(free.shape):
                assignment[free[idx]] = int(bits[idx])
        return assignment

    def complete(
        self, sample: Mapping[Hashable, float] | Sequence[np.ndarray]
    ) -> dict[Hashable, int]:
        """The feasible assignment implied by the weights: every other variable from the forward pass.

        Given weights (or a sample, whose weight bits are kept as they are), sets each
        activation's bits to the nearest grid point of s(z) (numpy's rint at a tie; a block
        model's tie bit t to that choice), each selector to the segment that holds z (or the
        margin), and each product to b u. The result satisfies every constraint (up to the
        solver tolerance at exact ties) and its objective is the network's spline loss with
        those roundings. A QCBO-specific repair step: it turns any oracle sample into a feasible
        one (see ``repair`` in :func:`hybridqnn.solvers.qcgd.qcgd` and
        :class:`hybridqnn.solvers.penalty.PenaltyCQMSampler`). A block model's fixed rows come
        from its ``fixed_weights``.
        """
        if isinstance(sample, Mapping):
            wbits = {
                v: int(sample[v])
                for labels in self.weight_labels
                for v in labels.reshape(-1)
                if v is not None
            }
            weights = self.decode_weights(sample)
        else:
            weights = [np.asarray(w, dtype=np.float64) for w in sample]
            if self.fixed_weights is not None:
                weights = self.decode_weights(self.encode_weights(weights))
            wbits = self.encode_weights(weights)
        present = set(self.cqm.variables)
        out: dict[Hashable, int] = dict(wbits)
        signs = _signs(np.asarray(self.y), self.network.sizes[-1])
        for s_idx, sid in enumerate(self.sample_ids):
            self._complete_sample(out, present, wbits, weights, s_idx, sid, signs[s_idx])
        return {v: b for v, b in out.items() if v in present}

    def _complete_sample(
        self,
        out: dict[Hashable, int],
        present: set,
        wbits: Mapping[Hashable, int],
        weights: Sequence[np.ndarray],
        s_idx: int,
        sid: Hashable,
        sign: np.ndarray,
    ) -> None:
        """:meth:`complete` for one sample: the forward pass, layer by layer, writing products,
        activation bits (m -> bit, or the tie bit "t"), selectors and loss selectors into ``out``."""
        net = self.network
        fip = net.fip
        L = len(fip.layers)
        bounds = sample_bounds(fip, self.X[s_idx], net.activation_bits)
        a = self.X[s_idx]
        prev_bits: list[list[tuple[Hashable, int]]] = [[] for _ in a]
        for li, lb in enumerate(fip.layers, start=1):
            if fip.bias:
                a = np.append(a, 1.0)
                prev_bits = prev_bits + [[]]
            z = weights[li - 1] @ a
            zl, zu = bounds[li - 1]
            labels = self.weight_labels[li - 1]
            for j in self.free_rows(li):
                for i in range(labels.shape[1]):
                    for k, b in enumerate(labels[j, i]):
                        for m, u in prev_bits[i]:
                            p = ("p", sid, li, j, i, k, m)
                            if p in present:
                                out[p] = wbits[b] * u
            if li == L:
                for c, sp in enumerate(net.loss_splines):
                    mlo, mhi = (zl[c], zu[c]) if sign[c] > 0 else (-zu[c], -zl[c])
                    segs = _segment_range(sp, float(mlo), float(mhi))
                    pick = min(max(int(sp.segment_index(sign[c] * z[c])), segs.start), segs.stop - 1)
                    for k in segs:
                        if ("lsel", sid, c, k) in present:
                            out[("lsel", sid, c, k)] = int(k == pick)
                return
            K = net.activation_bits[li - 1]
            new_a = np.empty(lb.size)
            new_bits: list[list[tuple[Hashable, int]]] = []
            for j, sp in enumerate(lb.splines):
                A, B = float(lb.act_low[j]), float(lb.act_high[j])
                if sp is None or B <= A:
                    new_a[j] = A
                    new_bits.append([])
                    continue
                step = (B - A) / (2**K - 1)
                u_val = (float(sp(z[j])) - A) / step
                idx = int(np.clip(np.rint(u_val), 0, 2**K - 1))
                new_a[j] = A + idx * step
                tie = ("a", sid, li, j, "t")
                if tie in present:
                    out[tie] = idx - math.floor(u_val)
                    new_bits.append([("t", out[tie])])
                    continue
                bits = [(m, (idx >> m) & 1) for m in range(K)]
                new_bits.append(bits if ("a", sid, li, j, 0) in present else [])
                for m, bit in bits:
                    out[("a", sid, li, j, m)] = bit
                segs = _segment_range(sp, float(zl[j]), float(zu[j]))
                pick = min(max(int(sp.segment_index(z[j])), segs.start), segs.stop - 1)
                for k in segs:
                    if ("sel", sid, li, j, k) in present:
                        out[("sel", sid, li, j, k)] = int(k == pick)
            a, prev_bits = new_a, new_bits

    def loss_of_weights(self, weights: Sequence[np.ndarray]) -> float:
        """The spline loss of the network with these weights on the model's samples (ties: best)."""
        return self.network.loss_value(weights, self.X, self.y)

    def weight_terms(
        self,
        lam: Sequence[np.ndarray] | None,
        rho: float | Sequence[float],
        w_bar: Sequence[np.ndarray] | None,
    ) -> dimod.BinaryQuadraticModel:
        """lambda^T w + sum_l (rho_l/2) ||w^l - w_bar^l||^2 as a BQM in the weight bits (one rho
        for all layers, or one per layer); a block model's fixed weights add their terms as a
        constant.

        With w = s(c_0 + sum_k c_k b_k) = d_0 + sum_k e_k b_k, (w - w_bar)^2 expands (b^2 = b)
        to (d_0 - w_bar)^2 + sum_k (2 (d_0 - w_bar) e_k + e_k^2) b_k + 2 sum_{k<k'} e_k e_k' b_k b_k'.
        """
        rhos = _layer_rhos(rho, len(self.weight_labels))
        expr = _Expr()
        for li, (code, labels) in enumerate(
            zip(self.network.codes, self.weight_labels, strict=False)
        ):
            shape = labels.shape[:2]
            lam_l = np.zeros(shape) if lam is None else _checked_like(f"lam[{li}]", lam[li], shape)
            bar_l = (
                np.zeros(shape) if w_bar is None else _checked_like(f"w_bar[{li}]", w_bar[li], shape)
            )
            d0 = code.scale * code.offset
            e = code.scale * code.coefficients
            rho = rhos[li]
            free = self.free_rows(li + 1)
            for j, i in np.ndindex(shape):
                if j not in free:
                    w = float(self.fixed_weights[li][j, i])  # type: ignore[index]
                    expr.const += lam_l[j, i] * w + 0.5 * rho * (w - bar_l[j, i]) ** 2
                    continue
                bits = labels[j, i]
                d = d0 - bar_l[j, i]
                expr.const += lam_l[j, i] * d0 + 0.5 * rho * d * d
                for k, v in enumerate(bits):
                    expr.add_lin(v, lam_l[j, i] * e[k] + 0.5 * rho * (2 * d * e[k] + e[k] ** 2))
                    for k2 in range(k + 1, len(bits)):
                        expr.add_quad(v, bits[k2], rho * e[k] * e[k2])
        return expr.bqm()

    def with_weight_terms(
        self,
        lam: Sequence[np.ndarray] | None,
        rho: float | Sequence[float],
        w_bar: Sequence[np.ndarray] | None,
    ) -> QCBOModel:
        """A copy whose objective has :meth:`weight_terms` added (progressive-hedging subproblem)."""
        cqm = copy.deepcopy(self.cqm)
        objective = dimod.BinaryQuadraticModel(
            cqm.objective.linear, cqm.objective.quadratic, cqm.objective.offset, dimod.BINARY
        )
        objective.update(self.weight_terms(lam, rho, w_bar))
        cqm.set_objective(objective)
        extra = 0.0
        rhos = _layer_rhos(rho, len(self.weight_labels))
        for li, (code, labels) in enumerate(
            zip(self.network.codes, self.weight_labels, strict=True)
        ):
            rows = self.free_rows(li + 1)
            shape = (len(rows), labels.shape[1])
            sl = slice(rows.start, rows.stop)
            lam_l = np.zeros(shape) if lam is None else np.asarray(lam[li], dtype=np.float64)[sl]
            bar_l = np.zeros(shape) if w_bar is None else np.asarray(w_bar[li], dtype=np.float64)[sl]
            lv = code.levels
            vals = lam_l[..., None] * lv + 0.5 * rhos[li] * (lv - bar_l[..., None]) ** 2
            extra += float(np.sum(vals.max(axis=-1) - vals.min(axis=-1))) if vals.size else 0.0
        return QCBOModel(
            cqm,
            self.network,
            self.weight_labels,
            dict(self.counts),
            self.sample_ids,
            self.X,
            self.y,
            self.objective_range + extra,
            self.block,
            self.fixed_weights,
        )


def _layer_rhos(rho: Any, layers: int) -> list[float]:
    if isinstance(rho, (list, tuple, np.ndarray)):
        if len(rho) != layers:
            raise ValueError(f"'rho' must give one value per layer ({layers}), got {len(rho)}")
        return [check_float("rho", float(r), 0.0) for r in rho]
    return [check_float("rho", rho, 0.0)] * layers


def check_network_data(
    X: Any, y: Any, sizes: Sequence[int]
) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """Validate a network's training data: ``(X, y, sizes)`` as arrays and a tuple of ints.

    X must be a finite real (samples x features) array with at least one sample, ``sizes`` the
    layer widths starting with X's feature count, and y one label per sample: in {-1, +1} or
    {0, 1} for one output, else class indices in [0, sizes[-1]). One-line ``ValueError`` /
    ``TypeError`` otherwise.
    """
    try:
        X = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"'X' must be an array of real numbers, got {type(X).__name__}") from None
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"'X' must be 2-dimensional with at least one sample, got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError(
            f"'X' must be finite, got {int(np.count_nonzero(~np.isfinite(X)))} NaN or infinite value(s)"
        )
    y = np.asarray(y)
    if y.shape != (X.shape[0],):
        raise ValueError(f"'y' must have shape ({X.shape[0]},), got {y.shape}")
    if not np.issubdtype(y.dtype, np.number) or not np.all(np.isfinite(y.astype(np.float64))):
        raise ValueError("'y' must hold finite numeric labels")
    sizes = tuple(check_int("sizes[i]", n, 1) for n in sizes)
    if len(sizes) < 2 or sizes[0] != X.shape[1]:
        raise ValueError(
            f"'sizes' must start with the number of features {X.shape[1]} and list >= 2 sizes, got {sizes}"
        )
    n_out = sizes[-1]
    if n_out == 1:
        if not np.all(np.isin(y, (-1, 0, 1))):
            raise ValueError(
                f"'y' must hold labels in {{-1, +1}} (or {{0, 1}}) for one output, got {np.unique(y)[:5]}"
            )
    elif not (np.all(np.equal(np.mod(y, 1), 0)) and np.all((y >= 0) & (y < n_out))):
        raise ValueError(f"'y' must hold class indices in [0, {n_out - 1}], got {np.unique(y)[:5]}")
    return X, y, sizes


def _checked_like(name: str, value: Any, shape: tuple[int, ...]) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != tuple(shape):
        raise ValueError(f"{name!r} must have shape {tuple(shape)}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name!r} must be finite")
    return arr


def _per_layer(name: str, value: Any, count: int) -> tuple:
    if isinstance(value, (list, tuple)):
        if len(value) != count:
            raise ValueError(f"{name!r} must give one value per layer ({count}), got {len(value)}")
        return tuple(value)
    return (value,) * count


def _segment_range(sp: LinearSpline, lo: float, hi: float) -> range:
    return range(int(sp.segment_index(lo)), int(sp.segment_index(hi)) + 1)


def build_qcbo(
    X: np.ndarray,
    y: np.ndarray,
    sizes: Sequence[int],
    weights: WeightCode | Sequence[WeightCode] = WeightCode(),
    *,
    activations: str | Sequence[str] = "relu",
    segments: int | Sequence[int] = 4,
    activation_bits: int | Sequence[int] = 2,
    loss: str = "logistic",
    loss_segments: int = 4,
    bias: bool = False,
    input_low: np.ndarray | None = None,
    input_high: np.ndarray | None = None,
    fip: FIPResult | None = None,
    products: str = "variables",
    sample_ids: Sequence[Hashable] | None = None,
    weight_label: Callable[[int, int, int, int], Hashable] | None = None,
    input_unit: float | None = None,
    block: WeightBlock | None = None,
    fixed_weights: Sequence[np.ndarray] | None = None,
) -> QCBOModel:
    """Build the QCBO of training a quantized spline network on (X, y) (module docstring).

    Args:
        X: Inputs, shape (n, n_0), finite.
        y: Labels, shape (n,): +-1 (or 0/1) for one output, class indices for several.
        sizes: (n_0, ..., n_L), L >= 1.
        weights: one :class:`WeightCode` for all layers, or one per layer.
        activations: hidden-layer activation(s) (:data:`hybridqnn.problems.splines.ACTIVATIONS`).
        segments: M per hidden layer (>= 1).
        activation_bits: K per hidden layer (1..16).
        loss: margin loss (:data:`hybridqnn.problems.splines.LOSSES`).
        loss_segments: segments of the loss spline (>= 1).
        bias: a bias weight per neuron (input fixed to 1).
        input_low: the input box's lower corner for FIP (default: the data's per-feature min).
        input_high: the input box's upper corner for FIP (default: the data's per-feature max).
        fip: precomputed network bounds (e.g. shared by per-sample subproblems); overrides
            the input box, activations, segments and bias.
        products: ``variables`` or ``inline`` (hidden layers >= 2 only; module docstring).
        sample_ids: ids used in variable labels (default 0..n-1).
        weight_label: (l, j, i, k) -> label of a weight bit (default ("w", l, j, i, k)).
        input_unit: q, a power of two: build the integer-exact model (module docstring,
            "Integer-exact model"); X is rounded to multiples of q. Ignored with ``fip`` (whose
            own grid, if any, is used). None: the real-coefficient model.
        block: build the block model of these free rows (module docstring, "Block models");
            None: every weight is a variable.
        fixed_weights: with ``block``, every layer's weights (levels of its code); the rows
            outside the block are the model's constants.

    Raises:
        ValueError: non-finite X or bounds, bad labels or sizes, M < 1, an empty input
            interval, or infeasible bounds (a sample's FIP range outside a neuron's grid,
            naming the layer and the neuron); on an integer grid, a weight scale that is not a
            power of two, or a constraint whose coefficients are not integers in its unit
            (naming the constraint); a block outside the network, or ``fixed_weights`` missing,
            misshapen or off their code's levels.
        TypeError: a weight code that is not a :class:`WeightCode`.
    """
    X, y, sizes = check_network_data(X, y, sizes)
    L = len(sizes) - 1
    codes = _per_layer("weights", weights, L)
    for c in codes:
        if not isinstance(c, WeightCode):
            raise TypeError(f"'weights' must be WeightCode(s), got {type(c).__name__}")
    kbits = tuple(
        check_int("activation_bits", k, 1, 16)
        for k in _per_layer("activation_bits", activation_bits, L - 1)
    )
    loss = check_choice("loss", loss, LOSSES)
    loss_segments = check_int("loss_segments", loss_segments, 1)
    products = check_choice("products", products, ("variables", "inline"))
    bias = check_bool("bias", bias)
    if fip is None:
        box = [X.min(axis=0) if input_low is None else input_low]
        box.append(X.max(axis=0) if input_high is None else input_high)
        levels = [c.levels for c in codes]
        grid = {"input_unit": input_unit, "activation_bits": None if input_unit is None else kbits}
        fip = forward_interval_propagation(*box, sizes, levels, activations, segments, bias=bias, **grid)
    elif not isinstance(fip, FIPResult):
        raise TypeError(f"'fip' must be a FIPResult, got {type(fip).__name__}")
    if fip.sizes != sizes:
        raise ValueError(f"'fip' was built for sizes {fip.sizes}, got {sizes}")
    X = fip.quantize_inputs(X)
    ids = tuple(range(X.shape[0])) if sample_ids is None else tuple(sample_ids)
    if len(ids) != X.shape[0]:
        raise ValueError(f"'sample_ids' must have {X.shape[0]} ids, got {len(ids)}")
    wl = weight_label or (lambda li, j, i, k: ("w", li, j, i, k))
    network = QuantizedSplineNetwork.from_fip(fip, codes, kbits, loss, loss_segments)
    fixed = _checked_block(block, fixed_weights, network)
    build = _Builder(fip, network, codes, kbits, products, wl, block, fixed)
    for s_idx, s in enumerate(ids):
        build.sample(s, X[s_idx], _signs(y[s_idx : s_idx + 1], sizes[-1])[0])
    cqm = build.cqm
    cqm.set_objective(build.objective.bqm())
    counts = {**build.counts, "total": len(cqm.variables), "constraints": len(cqm.constraints)}
    labels, span = build.weight_labels, build.objective_range
    return QCBOModel(cqm, network, labels, counts, ids, X, y, span, block, fixed)


def _checked_block(
    block: WeightBlock | None, fixed_weights: Any, network: QuantizedSplineNetwork
) -> list[np.ndarray] | None:
    """``fixed_weights`` as float arrays, checked against the network (None without a block)."""
    if block is None:
        if fixed_weights is not None:
            raise ValueError("'fixed_weights' needs a 'block' (the rows left free), got block=None")
        return None
    if not isinstance(block, WeightBlock):
        raise TypeError(f"'block' must be a WeightBlock, got {type(block).__name__}")
    shapes = network.weight_shapes()
    if block.layer > len(shapes) or block.stop > shapes[block.layer - 1][0]:
        raise ValueError(
            f"'block' must lie inside the network {network.sizes}, got layer {block.layer} "
            f"rows {block.start}..{block.stop - 1}"
        )
    if fixed_weights is None or len(fixed_weights) != len(shapes):
        raise ValueError(f"'fixed_weights' must give one array per layer ({len(shapes)}) with a block")
    fixed = []
    for li, (W, code) in enumerate(zip(fixed_weights, network.codes, strict=True)):
        W = _checked_like(f"fixed_weights[{li}]", W, shapes[li])
        if not np.all(np.isclose(W[..., None], code.levels, rtol=1e-9, atol=0).any(axis=-1)):
            raise ValueError(f"'fixed_weights[{li}]' must hold levels of layer {li + 1}'s weight code")
        fixed.append(W)
    return fixed


class _Builder:
    """The CQM of :func:`build_qcbo` as it is built, one sample at a time (module docstring):
    the weight bits, then per sample and layer each neuron's pre-activation z (with product
    bits), and either its activation bits, selectors and tie constraints (hidden layers) or its
    loss-spline terms (output layer). Every constraint goes through :meth:`constrain`, which on
    the integer grid scales it to integer coefficients in its unit."""

    def __init__(
        self,
        fip: FIPResult,
        network: QuantizedSplineNetwork,
        codes: Sequence[WeightCode],
        kbits: tuple[int, ...],
        products: str,
        weight_label: Callable[[int, int, int, int], Hashable],
        block: WeightBlock | None = None,
        fixed: list[np.ndarray] | None = None,
    ) -> None:
        self.fip, self.network, self.codes, self.kbits = fip, network, codes, kbits
        self.products = products
        self.block, self.fixed = block, fixed
        self.L = len(fip.sizes) - 1
        self.grid = fip.input_unit is not None
        self.cqm = dimod.ConstrainedQuadraticModel()
        self.counts = dict.fromkeys(
            ("weights", "selectors", "activations", "products", "loss_selectors"), 0
        )
        self.weight_labels: list[np.ndarray] = []
        for li, (n_o, n_i) in enumerate(network.weight_shapes(), start=1):
            labels = np.full((n_o, n_i, codes[li - 1].num_bits), None, dtype=object)
            rows = _free_rows(block, li, n_o)
            for j, i, k in np.ndindex(len(rows), n_i, labels.shape[2]):
                labels[rows[j], i, k] = weight_label(li, rows[j], i, k)
            self.weight_labels.append(labels)
            free = list(labels[rows.start : rows.stop].reshape(-1))
            self.cqm.add_variables(dimod.BINARY, free)
            self.counts["weights"] += len(free)
        self.objective = _Expr()
        self.objective_range = 0.0

    def constrain(self, expr: _Expr, sense: str, label: str, unit: float = 1.0) -> None:
        if self.grid:
            expr = _integerize(expr, unit, sense, label)
        model = dimod.BinaryQuadraticModel(expr.lin, expr.quad, 0.0, dimod.BINARY)
        self.cqm.add_constraint_from_model(model, sense, -expr.const, label=label, copy=False)

    def new_var(self, label: Hashable, kind: str) -> Hashable:
        self.cqm.add_variable(dimod.BINARY, label)
        self.counts[kind] += 1
        return label

    def sample(self, s: Hashable, x: np.ndarray, y_signs: np.ndarray) -> None:
        """Every layer of sample ``s`` (input ``x``, output signs ``y_signs``)."""
        bounds = sample_bounds(self.fip, x, self.kbits)
        # each input of the current layer: (constant, {bit label: coefficient})
        acts: list[tuple[float, dict[Hashable, float]]] = [(float(v), {}) for v in x]
        for li, lb in enumerate(self.fip.layers, start=1):
            if self.fip.bias:
                acts = acts + [(1.0, {})]
            zl_all, zu_all = bounds[li - 1]
            new_acts: list[tuple[float, dict[Hashable, float]]] = []
            for j in range(lb.size):
                z = self.pre_activation(s, li, j, acts)
                zl, zu = float(zl_all[j]), float(zu_all[j])
                if li == self.L:
                    self.loss_terms(s, j, z, zl, zu, float(y_signs[j]), lb.unit)
                else:
                    new_acts.append(self.activation(s, li, j, z, zl, zu, lb))
            acts = new_acts

    def pre_activation(
        self, s: Hashable, li: int, j: int, acts: list[tuple[float, dict[Hashable, float]]]
    ) -> _Expr:
        """z_j = sum_i w_ji a_i with w = scale (offset + sum_k coef_k b_k) and
        a_i = const + sum_u du x_u: products of weight and activation bits are product
        variables (Rosenberg-constrained) or, with ``inline``, quadratic terms; a block
        model's fixed row is linear in the activation bits."""
        z = _Expr()
        if self.fixed is not None and j not in self.block.free_rows(li):  # type: ignore[union-attr]
            for w, (ac, abits) in zip(self.fixed[li - 1][j], acts, strict=True):
                if w:
                    z.const += float(w) * ac
                    for u, du in abits.items():
                        z.add_lin(u, float(w) * du)
            return z
        code = self.codes[li - 1]
        d0 = code.scale * code.offset
        e = code.scale * code.coefficients
        for i, (ac, abits) in enumerate(acts):
            wbits = self.weight_labels[li - 1][j, i]
            z.const += d0 * ac
            for k, b in enumerate(wbits):
                z.add_lin(b, e[k] * ac)
            for u, du in abits.items():
                z.add_lin(u, d0 * du)
                for k, b in enumerate(wbits):
                    if self.products == "inline" and li < self.L:
                        z.add_quad(b, u, e[k] * du)
                    else:
                        plabel = self.new_var(("p", s, li, j, i, k, u[-1]), "products")
                        z.add_lin(plabel, e[k] * du)
                        self.constrain(
                            _Expr().add(_lin(plabel, 1.0)).add(_quad(b, u, -1.0)),
                            "==",
                            f"prod/{s}/{li}/{j}/{i}/{k}/{u[-1]}",
                        )
        return z

    def loss_terms(
        self, s: Hashable, j: int, z: _Expr, zl: float, zu: float, y_sign: float, unit: Any
    ) -> None:
        """The loss spline of output j on the margin m = y_j z_j: one piece directly, several
        through selector bits (their constraints and the selector-times-margin terms)."""
        if not z.lin and not z.quad:  # a block model's constant output
            zl = zu = z.const
        m = z.copy(y_sign)
        ml, mu = (zl, zu) if y_sign > 0 else (-zu, -zl)
        sp = self.network.loss_splines[j]
        lo_loss, hi_loss = sp.range_on(ml, mu) if mu > ml else (sp(ml), sp(ml))
        self.objective_range += float(hi_loss - lo_loss)
        segs = _segment_range(sp, ml, mu)
        if len(segs) == 1:
            k = segs[0]
            self.objective.add(m, sp.slopes[k]).const += sp.intercepts[k]
            return
        sel = [self.new_var(("lsel", s, j, k), "loss_selectors") for k in segs]
        _piece_constraints(self.constrain, m, sel, sp, segs, f"loss/{s}/{j}", unit)
        for lab, k in zip(sel, segs, strict=False):
            self.objective.add_lin(lab, sp.slopes[k] * m.const + sp.intercepts[k])
            for v, c in m.lin.items():
                self.objective.add_quad(lab, v, sp.slopes[k] * c)

    def activation(
        self, s: Hashable, li: int, j: int, z: _Expr, zl: float, zu: float, lb: Any
    ) -> tuple[float, dict[Hashable, float]]:
        """Hidden neuron j's K activation bits on [A, B] and its tie constraints
        |a - (alpha_k z + beta_k)| <= step/2 on the active spline piece (big-M per piece with
        selectors when z spans several); returns the activation as (A, {bit: coefficient})."""
        tag = f"{s}/{li}/{j}"
        sp = lb.splines[j]
        A, B = float(lb.act_low[j]), float(lb.act_high[j])
        if sp is None or B <= A:
            return (A, {})
        K = self.kbits[li - 1]
        step = (B - A) / (2**K - 1)
        if not z.lin and not z.quad:  # a block model's constant neuron
            return self.constant_activation(s, li, j, float(sp(z.const)), A, step, K)
        a_expr = _Expr(A)
        abits: dict[Hashable, float] = {}
        for mbit in range(K):
            lab = self.new_var(("a", s, li, j, mbit), "activations")
            a_expr.add_lin(lab, step * 2**mbit)
            abits[lab] = step * 2**mbit
        segs = _segment_range(sp, zl, zu)
        half = 0.5 * step
        tie_unit = 1.0 if not self.grid else lb.unit * lb.act_unit / (2.0 * sp.width)
        if len(segs) == 1:
            k = segs[0]
            tie = a_expr.copy().add(z, -sp.slopes[k])
            tie.const -= sp.intercepts[k]
            self.constrain(tie.copy().add(_Expr(-half)), "<=", f"tie+/{tag}", tie_unit)
            self.constrain(tie.copy().add(_Expr(half)), ">=", f"tie-/{tag}", tie_unit)
            return (A, abits)
        sel = [self.new_var(("sel", s, li, j, k), "selectors") for k in segs]
        _piece_constraints(self.constrain, z, sel, sp, segs, f"z/{tag}", lb.unit)
        for lab, k in zip(sel, segs, strict=False):
            al, be = float(sp.slopes[k]), float(sp.intercepts[k])
            U = max(0.0, B - be - min(al * zl, al * zu) - half)
            Lm = max(0.0, max(al * zl, al * zu) + be - A - half)
            tie = a_expr.copy().add(z, -al)
            tie.const -= be
            up = tie.copy()
            up.const -= half + U
            up.add_lin(lab, U)
            self.constrain(up, "<=", f"tie+/{tag}/{k}", tie_unit)
            lo_ = tie.copy()
            lo_.const += half + Lm
            lo_.add_lin(lab, -Lm)
            self.constrain(lo_, ">=", f"tie-/{tag}/{k}", tie_unit)
        return (A, abits)


    def constant_activation(
        self, s: Hashable, li: int, j: int, value: float, A: float, step: float, K: int
    ) -> tuple[float, dict[Hashable, float]]:
        """Q(value) on the grid A + step i as a constant, or at an exact tie (both neighbours
        on the grid) A + step (i_lo + t) with a free tie bit t (module docstring, "Block
        models"; the same tie rule as ``loss_value(ties="best")``)."""
        u = (value - A) / step
        lo = math.floor(u)
        if abs(u - lo - 0.5) <= 1e-9 * (1.0 + abs(u)) and 0 <= lo and lo + 1 <= 2**K - 1:
            t = self.new_var(("a", s, li, j, "t"), "activations")
            return (A + lo * step, {t: step})
        return (A + min(max(int(np.rint(u)), 0), 2**K - 1) * step, {})


def _lin(v: Hashable, c: float) -> _Expr:
    e = _Expr()
    e.add_lin(v, c)
    return e


def _quad(u: Hashable, v: Hashable, c: float) -> _Expr:
    e = _Expr()
    e.add_quad(u, v, c)
    return e


def _piece_constraints(
    constrain: Callable,
    z: _Expr,
    sel: list,
    sp: LinearSpline,
    segs: range,
    tag: str,
    unit: float | None,
) -> None:
    """One-hot selectors and the aggregated interval constraints t_k <= z <= t_{k+1}."""
    onehot = _Expr(-1.0)
    low = z.copy()
    high = z.copy()
    for lab, k in zip(sel, segs, strict=False):
        onehot.add_lin(lab, 1.0)
        low.add_lin(lab, -float(sp.knots[k]))
        high.add_lin(lab, -float(sp.knots[k + 1]))
    constrain(onehot, "==", f"onehot/{tag}")
    constrain(low, ">=", f"lo/{tag}", unit or 1.0)
    constrain(high, "<=", f"hi/{tag}", unit or 1.0)


def _integerize(expr: _Expr, unit: float, sense: str, label: str) -> _Expr:
    """The constraint ``expr (sense) 0`` divided by ``unit``, with integer coefficients.

    Every coefficient and the constant must be within 1e-6 (relative) of an integer once
    divided by ``unit``; they are then rounded, and the constraint is divided by the greatest
    common divisor g of its coefficients with the constant rounded to keep exactly the same
    integer solutions (c^T x + k <= 0 becomes (c/g)^T x + ceil(k/g) <= 0; >= uses floor; an
    equality needs g | k). A ValueError names the constraint otherwise.
    """
    terms = [(v, c) for v, c in expr.lin.items()] + [(uv, c) for uv, c in expr.quad.items()]
    out = _Expr()
    coefs = []
    for key, c in terms + [("constant", expr.const)]:
        x = c / unit
        r = round(x)
        if abs(x - r) > 1e-6 * max(1.0, abs(x)):
            raise ValueError(
                f"the QCBO constraint {label!r} is not integer on its grid: the coefficient "
                f"{c:.10g} of {key!r} is not a multiple of the unit {unit:.6g}"
            )
        coefs.append(int(r))
    g = math.gcd(*coefs[:-1]) if len(coefs) > 1 else 0
    g = g or 1
    k = coefs[-1]
    if sense == "<=":
        k = -((-k) // g)
    elif sense == ">=":
        k = k // g
    else:
        k = k // g if k % g == 0 else k / g
    n_lin = len(expr.lin)
    for idx, ((key, _), c) in enumerate(zip(terms, coefs, strict=False)):
        if idx < n_lin:
            out.add_lin(key, float(c // g))
        else:
            out.add_quad(*key, float(c // g))
    out.const = float(k)
    return out
