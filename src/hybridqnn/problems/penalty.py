"""A constrained binary problem as an objective plus violation functions: CQM -> BQM.

This is the *lifting* that both penalty methods use (Li et al., arXiv 2506.18240): the fixed
penalty baseline (:class:`hybridqnn.solvers.penalty.PenaltyCQMSampler`) and QCGD
(:mod:`hybridqnn.solvers.qcgd`), which adapts the weights instead of fixing them. It only
builds; nothing here samples.

Reduction of a CQM with BINARY or SPIN variables (spins are first written as bits,
s = 2x - 1, and mapped back at the end) into an objective f(x) and violation functions
v_i(x, s) >= 0, each zero exactly (or, see below, up to a slack resolution) when constraint i
holds:

1. **Products.** A constraint of the form c (x_k - x_i x_j) == 0 (one linear and one opposite
   quadratic term, right-hand side 0) gets the Rosenberg (1975) violation
   v = x_i x_j - 2 x_i x_k - 2 x_j x_k + 3 x_k, which is 0 iff x_k = x_i x_j and >= 1 otherwise
   (no slack, no square). In any other constraint each quadratic term x_i x_j is replaced by an
   auxiliary bit y_ij (one per pair, shared by all constraints) with that same Rosenberg
   violation, so every remaining constraint is linear.
2. **Normalisation.** A linear constraint g(x) = a^T x + c (sense) 0 with integer data is kept
   as it is (every violation is then >= 1); one with real data is divided by max_j |a_j|.
3. **Equalities**: v = g(x)^2. **Inequalities** g <= 0 (>= is negated): with
   g_min = sum_j min(a_j, 0) + c, a slack s in [0, -g_min] makes it g + s = 0, v = (g + s)^2.
   Integer data get an exact integer slack in bounded binary (coefficients 1, 2, 4, ...,
   2^{K-2}, and the remainder, K = ceil(log2(U + 1)) bits for U = -g_min, as in dimod); real
   data get K = ``slack_bits`` bits on a uniform grid of step delta = U / (2^K - 1), so a
   feasible x has min_s v <= (delta/2)^2 instead of 0. A constraint that always holds
   (g_max <= 0) is dropped; one that never can (g_min > 0) is a ValueError naming it.
   The default ``slack_bits=3`` is coarse on purpose: reported samples are scored on the CQM
   (so the slack grid never changes what counts as feasible), and fewer slack bits gave a
   simulated annealer an easier landscape (optimum found in 11 of 12 runs on tiny QCBOs with
   3 bits, against 4/12 with 4 and 7/12 with 6; 200 reads x 2000 sweeps).

The penalty BQM is f + P sum_i v_i (:func:`penalty_bqm`); with P = ``scale`` * Delta_f,
Delta_f = sum |linear| + sum |quadratic| of f (an upper bound on max f - min f over binary
points), any violation of size >= 1/``scale`` costs at least as much as any objective gain.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import dimod
import numpy as np

from hybridqnn._checks import check_finite_model, check_float, check_int

__all__ = ["PenaltyParts", "SquaredRow", "penalty_bqm", "penalty_parts"]


@dataclass(eq=False)
class SquaredRow:
    """A normalised linear row a^T z + c over bits (slack bits included) whose violation is
    its square, (a^T z + c)^2."""

    a: dict[Hashable, float]
    c: float


@dataclass(eq=False)
class PenaltyParts:
    """A CQM as f(x) plus violation functions v_i >= 0 over bits (module docstring).

    Attributes:
        objective: f as a BINARY BQM over the CQM's variables (spins written as bits).
        rows: per violation, in the CQM's constraint order followed by the auxiliary product
            bits (label ("aux", u, v)): (label, its normalised linear row (a, c) with
            v_i = (a^T z + c)^2, a the coefficient per bit, slack bits included) or (label,
            (i, j, k)) for the Rosenberg violation of x_k = x_i x_j.
            :attr:`violations` and :attr:`forms` are built from them.
        variables: every bit: the CQM's variables, then slack and auxiliary bits.
        spins: the CQM's SPIN variables (mapped back as s = 2x - 1).
        num_slack, num_aux: counts of added bits.
        slacks: per inequality with slack bits, (label, g's linear part, g's constant,
            [(slack bit, coefficient), ...]) of its normalised form g(x) + s = 0 (used by
            :meth:`lift`).
        integral: whether every constraint had integer data (then every violation of an
            infeasible point is >= 1 and a feasible point lifts to violation exactly 0).
    """

    objective: dimod.BinaryQuadraticModel
    rows: list[tuple[Hashable, SquaredRow | tuple[Hashable, Hashable, Hashable]]]
    variables: list[Hashable]
    cqm_variables: list[Hashable]
    spins: frozenset = field(default_factory=frozenset)
    num_slack: int = 0
    num_aux: int = 0
    slacks: list[tuple[Hashable, dict, float, list[tuple[Hashable, float]]]] = field(
        default_factory=list
    )
    integral: bool = True

    @cached_property
    def violations(self) -> list[tuple[Hashable, dimod.BinaryQuadraticModel]]:
        """(label, v_i as a BINARY BQM) per row (same order). Built on first use: a row of m
        bits has m(m - 1)/2 products, and QCGD and a spin count need none of them (QCGD uses
        :meth:`triplets`)."""
        return [(label, _row_bqm(row)) for label, row in self.rows]

    @property
    def forms(self) -> list[tuple[dict, float] | None]:
        """Per violation (same order), (a, c) with v_i = (a^T z + c)^2 for a squared row, or
        None for a Rosenberg product violation. An exact oracle can model the square of this
        linear form instead of the expanded products
        (:class:`~hybridqnn.solvers.milp.MILPSolver`)."""
        return [None if isinstance(row, tuple) else (row.a, row.c) for _, row in self.rows]

    @property
    def norms(self) -> list[float]:
        """Per violation (same order), ||a_i||^2, the squared norm of the coefficients of its
        normalised linear form a_i^T z + c_i over the bits z (slack bits included; from
        :attr:`forms`): v_i / ||a_i||^2 is the squared Euclidean distance from z to the
        hyperplane a_i^T z + c_i = 0; 1.0 for a Rosenberg product violation (already 0 or >= 1
        with coefficients of at most 3)."""
        return [1.0 if f is None else float(sum(b * b for b in f[0].values())) for f in self.forms]

    def triplets(
        self, index: Mapping[Hashable, int]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every v_i as upper-triangular terms over bit positions ``index``: ``(rows, cols,
        weights, owner, offsets)`` with v_i(z) = sum over the terms t of violation
        owner[t] = i of weights[t] z[rows[t]] z[cols[t]] (rows <= cols; the diagonal holds
        the linear terms, z^2 = z) plus offsets[i]: the terms of :attr:`violations`
        (:func:`_row_terms`) as arrays, without building a BQM."""
        rows, cols, weights, owner = [], [], [], []
        offsets = np.zeros(len(self.rows))
        for n, (_, row) in enumerate(self.rows):
            labels, linear, (p, q, quad), offsets[n] = _row_terms(row)
            pos = np.fromiter((index[v] for v in labels), np.int64, len(labels))
            rows += [pos, np.minimum(pos[p], pos[q])]
            cols += [pos, np.maximum(pos[p], pos[q])]
            weights += [linear, quad]
            owner.append(np.full(len(labels) + len(quad), n))
        if not owner:
            empty = np.zeros(0, np.int64)
            return empty, empty, np.zeros(0), empty, offsets
        return (
            np.concatenate(rows),
            np.concatenate(cols),
            np.concatenate(weights),
            np.concatenate(owner),
            offsets,
        )

    def lift(self, sample: Mapping[Hashable, float]) -> np.ndarray:
        """A CQM sample as a bit vector over :attr:`variables`: each auxiliary product bit is
        the product it stands for, and each inequality's slack the value closest to -g(x) in
        [0, U] that its bits can write (greedy from the largest coefficient; exact for integer
        data). A feasible integer-data sample lifts to a point where every v_i is 0."""
        bits: dict[Hashable, float] = {}
        for v in self.cqm_variables:
            value = float(sample[v])
            bits[v] = (value + 1.0) / 2.0 if v in self.spins else value
        for v in self.variables:
            if isinstance(v, tuple) and len(v) == 3 and v[0] == "aux":
                bits[v] = bits[v[1]] * bits[v[2]]
        for _, lin, const, slack in self.slacks:
            rest = -(const + sum(c * bits[v] for v, c in lin.items()))
            for v, c in sorted(slack, key=lambda t: -t[1]):
                take = rest >= c - 1e-9 * max(1.0, abs(c))
                bits[v] = float(take)
                rest -= c * take
        return np.array([bits.get(v, 0.0) for v in self.variables])

    @property
    def objective_range(self) -> float:
        """Delta_f = sum |linear| + sum |quadratic| of f (>= max f - min f)."""
        lin = np.abs(
            np.fromiter(self.objective.linear.values(), float, self.objective.num_variables)
        ).sum()
        quad = np.abs(
            np.fromiter(self.objective.quadratic.values(), float, self.objective.num_interactions)
        ).sum()
        return float(lin + quad)

    def bqm(self, penalty: float | Mapping[Hashable, float]) -> dimod.BinaryQuadraticModel:
        """f + sum_i P_i v_i (one P for all, or per violation label)."""
        out = self.objective.copy()
        for v in self.variables:
            out.add_variable(v)
        for label, viol in self.violations:
            weight = penalty[label] if isinstance(penalty, Mapping) else penalty
            out.add_linear_from((v, weight * b) for v, b in viol.linear.items())
            out.add_quadratic_from((u, v, weight * b) for (u, v), b in viol.quadratic.items())
            out.offset += weight * viol.offset
        return out

    def to_cqm_samples(
        self, samples: np.ndarray, order: list[Hashable]
    ) -> tuple[np.ndarray, list[Hashable]]:
        """Rows over ``order`` (bits) -> rows over the CQM's variables (spins as +-1)."""
        index = {v: i for i, v in enumerate(order)}
        cols = [index[v] for v in self.cqm_variables]
        out = np.asarray(samples)[:, cols].astype(np.int8)
        for k, v in enumerate(self.cqm_variables):
            if v in self.spins:
                out[:, k] = 2 * out[:, k] - 1
        return out, list(self.cqm_variables)


def _is_integral(values: np.ndarray) -> bool:
    return bool(np.all(np.abs(values - np.rint(values)) <= 1e-9 * np.maximum(1.0, np.abs(values))))


def penalty_parts(cqm: dimod.ConstrainedQuadraticModel, *, slack_bits: int = 3) -> PenaltyParts:
    """Reduce ``cqm`` to an objective and violation functions (module docstring, steps 1-3).

    Args:
        cqm: BINARY/SPIN variables, hard constraints, linear or quadratic.
        slack_bits: slack bits per real-coefficient inequality (1..24).
    """
    spins = _checked_spins(cqm)
    slack_bits = check_int("slack_bits", slack_bits, 1, 24)
    model = cqm.spin_to_binary(inplace=False) if spins else cqm
    cqm_vars = list(cqm.variables)
    obj = model.objective
    objective = dimod.BinaryQuadraticModel(
        dict(obj.linear), dict(obj.quadratic), obj.offset, dimod.BINARY
    )
    for v in cqm_vars:
        objective.add_variable(v)
    check_finite_model("cqm objective", objective)
    rows: list[tuple[Hashable, SquaredRow | tuple[Hashable, Hashable, Hashable]]] = []
    aux: dict[tuple[Hashable, Hashable], Hashable] = {}
    aux_rows: list[tuple[Hashable, tuple[Hashable, Hashable, Hashable]]] = []
    extra: list[Hashable] = []
    num_slack = 0
    slacks: list[tuple[Hashable, dict, float, list[tuple[Hashable, float]]]] = []
    all_integral = True

    for label, con in model.constraints.items():
        lhs = con.lhs
        if label in getattr(model, "_soft", {}):
            raise ValueError(
                f"'cqm' constraint {label!r} is soft; only hard constraints are supported"
            )
        lin = {v: float(b) for v, b in lhs.linear.items() if b != 0}
        quad = {uv: float(b) for uv, b in lhs.quadratic.items() if b != 0}
        values = np.fromiter([*lin.values(), *quad.values(), float(lhs.offset)], np.float64)
        if not np.all(np.isfinite(values)):
            check_finite_model(f"cqm constraint {label}", lhs)  # raises, naming the term
        check_float(f"cqm constraint {label} rhs", float(con.rhs))
        const = float(lhs.offset) - float(con.rhs)
        sense = con.sense.value if hasattr(con.sense, "value") else str(con.sense)
        if sense == "==" and len(lin) == 1 and len(quad) == 1 and const == 0.0:
            (k, a), ((i, j), q) = next(iter(lin.items())), next(iter(quad.items()))
            if a == -q and k not in (i, j):
                rows.append((label, (i, j, k)))
                continue
        for (i, j), q in quad.items():
            key = (i, j) if (j, i) not in aux else (j, i)
            if key not in aux:
                aux[key] = ("aux", i, j)
                extra.append(aux[key])
                aux_rows.append((aux[key], (i, j, aux[key])))
            lin[aux[key]] = lin.get(aux[key], 0.0) + q
        if sense == ">=":
            lin = {v: -b for v, b in lin.items()}
            const = -const
        coef = np.array(list(lin.values()))
        norm = float(np.max(np.abs(coef))) if coef.size else 0.0
        g_min = float(np.minimum(coef, 0).sum()) + const
        g_max = float(np.maximum(coef, 0).sum()) + const
        tol = 1e-9 * max(1.0, abs(const), norm)
        if _always_holds(label, sense, g_min, g_max, tol):
            continue
        if norm == 0.0:
            continue
        integral = _is_integral(np.append(coef, const))
        all_integral = all_integral and integral
        if integral:
            norm = 1.0  # integer data keep their unit: every violation is >= 1
        lin_n = {v: b / norm for v, b in lin.items()}
        const_n = const / norm
        if sense != "==":
            upper = -g_min / norm
            coefs = _slack_coefficients(g_min, upper, norm, integral, slack_bits)
            g_lin = dict(lin_n)
            slack_bits_of = []
            for k, c in enumerate(coefs):
                s = ("slack", label, k)
                extra.append(s)
                lin_n[s] = c
                slack_bits_of.append((s, c))
                num_slack += 1
            slacks.append((label, g_lin, const_n, slack_bits_of))
        rows.append((label, SquaredRow(lin_n, const_n)))
    return PenaltyParts(
        objective,
        rows + aux_rows,
        cqm_vars + extra,
        cqm_vars,
        spins,
        num_slack,
        len(aux),
        slacks,
        all_integral,
    )


def _checked_spins(cqm: Any) -> frozenset:
    """The SPIN variables of ``cqm``, a CQM over BINARY/SPIN variables (else a one-line error)."""
    if not isinstance(cqm, dimod.ConstrainedQuadraticModel):
        raise TypeError(
            f"'cqm' must be a dimod.ConstrainedQuadraticModel, got {type(cqm).__name__}"
        )
    bad = [v for v in cqm.variables if cqm.vartype(v) not in (dimod.BINARY, dimod.SPIN)]
    if bad:
        raise ValueError(
            f"'cqm' must have only BINARY or SPIN variables, got {cqm.vartype(bad[0]).name} variable {bad[0]!r}"
        )
    return frozenset(v for v in cqm.variables if cqm.vartype(v) is dimod.SPIN)


def _always_holds(label: Hashable, sense: str, g_min: float, g_max: float, tol: float) -> bool:
    """Whether g (sense) 0 holds at every point (an inequality with g_max <= 0: dropped); a
    ValueError naming the constraint if it can never hold."""
    if sense == "==":
        if g_min > tol or g_max < -tol:
            raise ValueError(
                f"'cqm' constraint {label!r} can never hold (its left side ranges over [{g_min:.6g}, {g_max:.6g}] around 0)"
            )
        return False
    if g_min > tol:
        raise ValueError(
            f"'cqm' constraint {label!r} can never hold (its smallest value is {g_min:.6g} > 0)"
        )
    return g_max <= tol


def _slack_coefficients(
    g_min: float, upper: float, norm: float, integral: bool, slack_bits: int
) -> list[float]:
    """The slack bits' coefficients of g + s = 0 with s in [0, U] (module docstring, step 3):
    integer data, U = -g_min: bounded binary 1, 2, ..., 2^{K-2} and the remainder,
    K = ceil(log2(U + 1)) (divided by ``norm``, 1 for integer data); real data: ``slack_bits``
    bits on the uniform grid of step U / (2^K - 1), U = ``upper`` (normalised)."""
    if integral:
        upper_int = int(round(-g_min))
        nbits = max(1, math.ceil(math.log2(upper_int + 1)))
        coefs = [2.0**k for k in range(nbits - 1)] + [float(upper_int - (2 ** (nbits - 1) - 1))]
        return [c / norm for c in coefs]
    step = upper / (2**slack_bits - 1)
    return [step * 2**k for k in range(slack_bits)]


def _row_terms(
    row: SquaredRow | tuple[Hashable, Hashable, Hashable],
) -> tuple[list[Hashable], np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray], float]:
    """A violation's terms over its own bits: ``(labels, linear, (p, q, quadratic), offset)``
    with v(z) = sum_j linear_j z_j + sum_t quadratic_t z_{p_t} z_{q_t} + offset (p < q,
    indices into ``labels``; z^2 = z for bits).

    - A squared row (a^T z + c)^2: linear a_j^2 + 2 c a_j, quadratic 2 a_p a_q for every
      p < q, offset c^2 (arrays: a row of m bits has m(m - 1)/2 products).
    - A Rosenberg (1975) product row (i, j, k): x_i x_j - 2 x_i x_k - 2 x_j x_k + 3 x_k, 0 iff
      x_k = x_i x_j, else >= 1.
    """
    if isinstance(row, tuple):
        return (
            list(row),
            np.array([0.0, 0.0, 3.0]),
            (np.array([0, 0, 1]), np.array([1, 2, 2]), np.array([1.0, -2.0, -2.0])),
            0.0,
        )
    labels = list(row.a)
    a = np.fromiter(row.a.values(), dtype=np.float64, count=len(labels))
    p, q = np.triu_indices(len(labels), 1)
    return labels, a * a + 2.0 * row.c * a, (p, q, 2.0 * a[p] * a[q]), row.c * row.c


def _row_bqm(row: SquaredRow | tuple[Hashable, Hashable, Hashable]) -> dimod.BinaryQuadraticModel:
    """A violation function as a BINARY BQM (:func:`_row_terms`)."""
    labels, linear, quadratic, offset = _row_terms(row)
    return dimod.BinaryQuadraticModel.from_numpy_vectors(
        linear, quadratic, offset, dimod.BINARY, variable_order=labels
    )


def penalty_bqm(
    cqm: dimod.ConstrainedQuadraticModel,
    penalty: float | None = None,
    *,
    scale: float = 1.0,
    slack_bits: int = 3,
) -> tuple[dimod.BinaryQuadraticModel, PenaltyParts, float]:
    """The penalty BQM f + P sum_i v_i; P = ``penalty`` or, if None, scale * Delta_f (auto).

    Returns:
        (bqm, parts, P).
    """
    parts = penalty_parts(cqm, slack_bits=slack_bits)
    if penalty is None:
        scale = check_float("scale", scale, 0.0, low_open=True)
        penalty = scale * max(parts.objective_range, 1e-12)
    else:
        penalty = check_float("penalty", penalty, 0.0, low_open=True)
    return parts.bqm(penalty), parts, float(penalty)
