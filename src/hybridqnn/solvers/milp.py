"""Exact solutions of binary quadratic problems, with and without constraints, by mixed-integer
linear programming (HiGHS through :func:`scipy.optimize.milp`).

This is the ground truth for problems too large to enumerate (``exact`` stops at 24 variables)
and the stand-in for the Gurobi solves of the QP-SBGD paper (Krahn et al., arXiv 2310.15128) and
the exact QCBO solves of the QCBO paper (Li et al., arXiv 2506.18240). HiGHS ships inside scipy,
so no licence or extra package is needed.

**The linearisation.** Every variable becomes one MILP column: a BINARY variable is a 0/1 column
x, a SPIN variable s is written s = 2x - 1 with a 0/1 column x, and an INTEGER or REAL variable
keeps its bounds. A quadratic term between two binary-valued variables,
b·x_u·x_v, is replaced by b·y_uv with a continuous y_uv in [0, 1] and

    y_uv <= x_u,    y_uv <= x_v,    y_uv >= x_u + x_v - 1,

which forces y_uv = x_u·x_v at every integer point, so the MILP's optimum *is* the quadratic
problem's optimum (not a relaxation). One y column is shared by every expression (objective and
constraints) that uses the same pair. Quadratic terms that involve an INTEGER or REAL variable
are not linearised; they are an error naming the term.

**Squares of integer linear forms** (``sample(bqm, squares=...)``). A BQM that contains
w (a^T x + c)^2 with integer a, c and w >= 0 (the squared constraint rows of a penalty or QCGD
lifting, :attr:`hybridqnn.problems.penalty.PenaltyParts.forms`) expands each square into
|a|^2 / 2 products, and the linearisation above of those products has a weak relaxation: on the
2-sample 16-4-1 QCBO of ``qcbo-convergence`` (321 lifted bits, 3,404 products, rows of at most
21 terms; cold QCGD with beta_0 = 10, where ||r|| reached 2.2 10^4 in the first calls against an
objective scaled to range 1) none of 3 QCGD oracle calls was proven optimal in 60 s each. Given the squares, the solver instead minimises

    rest(x) + sum_i w_i t_i,   s_i = a_i^T x + c_i,   t_i >= (2k + 1) s_i - k (k + 1)  (k in K_i),

where rest = bqm - sum_i w_i (a_i^T x + c_i)^2 (coefficients that cancel to within 10^-9 of
the subtracted magnitude are dropped as rounding) is linearised as above. Each cut is the
discrete tangent of s^2 at the integer k (the line through (k, k^2) and (k + 1, (k + 1)^2)), so
max_k of them is s^2 at k and k + 1 for every k in K_i and below it at every other integer: the
MILP is a relaxation. K_i starts as {0, -1, +-1, +-2, +-4, ...} within s_i's
range; after each HiGHS solve every row whose t_i lies below s_i^2 gets the tangent at its
(integer) s_i, and the loop stops when none does. The last solve's point then has true energy
equal to its relaxed objective, so it is an exact optimum of ``bqm`` (outer approximation;
finite, since s_i takes finitely many integer values). The 100 oracle calls of the shipped
``qcbo-convergence`` run on that model then take 1.0 s median and 3.6 s at most, all proven.

Deterministic: HiGHS is run single-threaded with a zero relative gap, so the same problem gives
the same sample; ``seed`` is accepted for interface compatibility and has no effect.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import dimod
import numpy as np

from hybridqnn._checks import check_finite_model, check_float
from hybridqnn.solvers.info import timing

__all__ = ["MILPSolver"]

_SENSES = {"<=": "le", ">=": "ge", "==": "eq"}


def _check_time_limit(time_limit: Any) -> float | None:
    if time_limit is None:
        return None
    if (
        isinstance(time_limit, bool)
        or not isinstance(time_limit, (int, float))
        or not np.isfinite(time_limit)
        or time_limit <= 0
    ):
        raise ValueError(
            f"'time_limit' must be a positive number of seconds or None, got {time_limit!r}"
        )
    return float(time_limit)


class _Linearisation:
    """Columns, aux product columns and rows of the MILP being built."""

    def __init__(
        self,
        variables: list[Hashable],
        vartype_of: Mapping[Hashable, dimod.Vartype],
        bounds: Mapping[Hashable, tuple[float, float]],
    ):
        self.index = {v: i for i, v in enumerate(variables)}
        self.vartype_of = vartype_of
        self.lower = [bounds[v][0] for v in variables]
        self.upper = [bounds[v][1] for v in variables]
        self.integral = [0 if vartype_of[v] is dimod.REAL else 1 for v in variables]
        self.pairs: dict[tuple[int, int], int] = {}

    def _is_binary_valued(self, v: Hashable) -> bool:
        return self.vartype_of[v] in (dimod.BINARY, dimod.SPIN)

    def _product(self, i: int, j: int) -> int:
        key = (i, j) if i < j else (j, i)
        col = self.pairs.get(key)
        if col is None:
            col = len(self.lower)
            self.pairs[key] = col
            self.lower.append(0.0)
            self.upper.append(1.0)
            self.integral.append(0)
        return col

    def expression(self, model: Any, where: str) -> tuple[dict[int, float], float]:
        """Column coefficients and constant of ``model`` (a BQM or QM) in the MILP's columns."""
        coef: dict[int, float] = {}
        const = float(model.offset)

        def add(col: int, value: float) -> None:
            coef[col] = coef.get(col, 0.0) + value

        for v, a in model.iter_linear():
            a = float(a)
            i = self.index[v]
            if self.vartype_of[v] is dimod.SPIN:
                add(i, 2.0 * a)
                const -= a
            else:
                add(i, a)
        for u, v, b in model.iter_quadratic():
            b = float(b)
            if not (self._is_binary_valued(u) and self._is_binary_valued(v)):
                raise ValueError(
                    f"{where}: the quadratic term ({u!r}, {v!r}) involves a {self.vartype_of[u if not self._is_binary_valued(u) else v].name} "
                    "variable; only products of BINARY/SPIN variables can be linearised exactly"
                )
            i, j = self.index[u], self.index[v]
            su = self.vartype_of[u] is dimod.SPIN
            sv = self.vartype_of[v] is dimod.SPIN
            # b * (α_u x_u + β_u) (α_v x_v + β_v) with (α, β) = (2, -1) for spins and (1, 0) for bits.
            au, bu = (2.0, -1.0) if su else (1.0, 0.0)
            av, bv = (2.0, -1.0) if sv else (1.0, 0.0)
            add(self._product(i, j), b * au * av)
            if bv:
                add(i, b * au * bv)
            if bu:
                add(j, b * av * bu)
            const += b * bu * bv
        return coef, const


class MILPSolver(dimod.Sampler):
    """Exact minimiser of a ``dimod`` BQM (:meth:`sample`) or binary CQM (:meth:`sample_cqm`) by
    MILP with HiGHS; see the module docstring for the exact linearisation.

    Returns one sample: the optimum, or with ``time_limit`` the best point HiGHS found (then
    ``info["milp"]["optimal"]`` is False). ``info["milp"]`` also has ``status`` (HiGHS's
    message) and ``mip_gap``; ``info["timing"]`` splits the call into building the MILP,
    HiGHS's solve and decoding (:mod:`hybridqnn.solvers.info`), and ``info["seed"]`` is the
    ``seed`` given (it has no effect).
    """

    parameters = {"time_limit": [], "seed": [], "squares": []}
    properties = {"exact": True}

    def sample(
        self,
        bqm: dimod.BinaryQuadraticModel,
        *,
        time_limit: float | None = None,
        seed: int | None = None,
        squares: Sequence[tuple[float, Mapping[Hashable, float], float]] | None = None,
    ) -> dimod.SampleSet:
        """Minimise ``bqm`` exactly: E(x) = offset + Σ_v h_v x_v + Σ_{u<v} J_uv x_u x_v.

        ``squares``: optional (w, a, c) triples, w >= 0 and a (a mapping over ``bqm``'s
        variables) and c integers, whose w (a^T x + c)^2 are part of a BINARY ``bqm``; each is
        then modelled by tangent cuts of s^2 instead of its expanded products (module
        docstring). The optimum is the same; the solve is far faster where the squares dominate.
        ``info["milp"]["rounds"]`` counts the HiGHS solves of the cut loop (1 without squares).
        """
        start = time.perf_counter_ns()
        if not isinstance(bqm, dimod.BinaryQuadraticModel):
            raise TypeError(f"'bqm' must be a dimod.BinaryQuadraticModel, got {type(bqm).__name__}")
        check_finite_model("bqm", bqm)
        limit = _check_time_limit(time_limit)
        squares = _check_squares(squares, bqm)
        variables = list(bqm.variables)
        vartype_of = {v: bqm.vartype for v in variables}
        lin = _Linearisation(variables, vartype_of, {v: (0.0, 1.0) for v in variables})
        if squares:
            values, info, stamps = _solve_with_squares(lin, bqm, squares, limit)
        else:
            values, info, stamps = _solve(lin, lin.expression(bqm, "'bqm'"), [], limit)
            info["rounds"] = 1
        sample = _decode(values, variables, vartype_of)
        ss = dimod.SampleSet.from_samples_bqm(
            (np.asarray([sample], dtype=np.int8).reshape(1, len(variables)), variables), bqm
        )
        return _with_info(ss, start, stamps, info, seed)

    def sample_cqm(
        self,
        cqm: dimod.ConstrainedQuadraticModel,
        *,
        time_limit: float | None = None,
        seed: int | None = None,
    ) -> dimod.SampleSet:
        """Minimise ``cqm``'s objective subject to its constraints, exactly.

        Variables may be BINARY, SPIN, INTEGER (bounded) or REAL; quadratic terms (in the
        objective or a constraint) must join BINARY/SPIN variables. Constraints may be
        ``<=``, ``>=`` or ``==``, linear or quadratic. Soft constraints are an error (their
        weights have no exact MILP meaning here).

        Raises:
            ValueError: the model is infeasible, has non-finite coefficients, soft constraints,
                or a quadratic term on a non-binary variable.
            RuntimeError: ``time_limit`` ran out before HiGHS found a feasible point.
        """
        start = time.perf_counter_ns()
        if not isinstance(cqm, dimod.ConstrainedQuadraticModel):
            raise TypeError(
                f"'cqm' must be a dimod.ConstrainedQuadraticModel, got {type(cqm).__name__}"
            )
        limit = _check_time_limit(time_limit)
        variables = list(cqm.variables)
        vartype_of = {v: cqm.vartype(v) for v in variables}
        bounds: dict[Hashable, tuple[float, float]] = {}
        for v in variables:
            if vartype_of[v] in (dimod.BINARY, dimod.SPIN):
                bounds[v] = (0.0, 1.0)
            else:
                lo, hi = float(cqm.lower_bound(v)), float(cqm.upper_bound(v))
                if not (np.isfinite(lo) and np.isfinite(hi)):
                    raise ValueError(
                        f"'cqm' variable {v!r} must have finite bounds, got [{lo}, {hi}]"
                    )
                bounds[v] = (lo, hi)
        check_finite_model("cqm objective", cqm.objective)
        lin = _Linearisation(variables, vartype_of, bounds)
        objective = lin.expression(cqm.objective, "'cqm' objective")
        rows = []
        for label, constraint in cqm.constraints.items():
            if label in getattr(
                cqm, "_soft", {}
            ):  # dimod keeps soft constraints only in this mapping
                raise ValueError(
                    f"'cqm' constraint {label!r} is soft; MILPSolver solves hard constraints only"
                )
            check_finite_model(f"cqm constraint {label}", constraint.lhs)
            check_float(f"cqm constraint {label} rhs", float(constraint.rhs))
            coef, const = lin.expression(constraint.lhs, f"'cqm' constraint {label!r}")
            rhs = float(constraint.rhs) - const
            rows.append((coef, _SENSES[constraint.sense.value], rhs, label))
        values, info, stamps = _solve(lin, objective, rows, limit)
        sample = _decode(values, variables, vartype_of)
        return _with_info(dimod.SampleSet.from_samples_cqm(([sample], variables), cqm), start, stamps, info, seed)


def _with_info(
    ss: dimod.SampleSet, start: int, stamps: tuple[int, int], milp_info: dict[str, Any], seed: int | None
) -> dimod.SampleSet:
    """``ss`` with ``info`` in the convention of :mod:`hybridqnn.solvers.info`."""
    ss.info.update(timing=timing(start, *stamps, time.perf_counter_ns()), seed=seed, milp=milp_info)
    return ss


def _decode(
    values: np.ndarray, variables: list[Hashable], vartype_of: Mapping[Hashable, dimod.Vartype]
) -> list[float]:
    out = []
    for i, v in enumerate(variables):
        x = values[i]
        vt = vartype_of[v]
        if vt is dimod.SPIN:
            out.append(2 * int(round(x)) - 1)
        elif vt in (dimod.BINARY, dimod.INTEGER):
            out.append(int(round(x)))
        else:
            out.append(float(x))
    return out


def _solve(
    lin: _Linearisation,
    objective: tuple[dict[int, float], float],
    rows: list[tuple[dict[int, float], str, float, Any]],
    time_limit: float | None,
) -> tuple[np.ndarray, dict[str, Any], tuple[int, int]]:
    """HiGHS on the linearised problem: (column values, status figures, (start, end) of the
    solve in ``time.perf_counter_ns()``)."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_array

    ncols = len(lin.lower)
    c = np.zeros(ncols)
    for col, value in objective[0].items():
        c[col] += value
    r_idx: list[int] = []
    c_idx: list[int] = []
    vals: list[float] = []
    lb: list[float] = []
    ub: list[float] = []
    for (i, j), y in lin.pairs.items():
        # y - x_i <= 0,  y - x_j <= 0,  y - x_i - x_j >= -1
        for cols, coeffs, lo, hi in (
            ((y, i), (1.0, -1.0), -np.inf, 0.0),
            ((y, j), (1.0, -1.0), -np.inf, 0.0),
            ((y, i, j), (1.0, -1.0, -1.0), -1.0, np.inf),
        ):
            row = len(lb)
            r_idx.extend([row] * len(cols))
            c_idx.extend(cols)
            vals.extend(coeffs)
            lb.append(lo)
            ub.append(hi)
    for coef, sense, rhs, _label in rows:
        row = len(lb)
        for col, value in coef.items():
            r_idx.append(row)
            c_idx.append(col)
            vals.append(value)
        lb.append(rhs if sense in ("ge", "eq") else -np.inf)
        ub.append(rhs if sense in ("le", "eq") else np.inf)
    constraints = []
    if lb:
        A = coo_array((vals, (r_idx, c_idx)), shape=(len(lb), ncols)).tocsr()
        constraints.append(LinearConstraint(A, np.asarray(lb), np.asarray(ub)))
    options: dict[str, Any] = {"disp": False, "mip_rel_gap": 0.0}
    if time_limit is not None:
        options["time_limit"] = time_limit
    begin = time.perf_counter_ns()
    if ncols == 0:
        values = np.zeros(0)
        info = {"status": "empty model", "optimal": True, "mip_gap": 0.0}
        for _coef, sense, rhs, label in rows:
            if (
                (sense == "le" and 0.0 > rhs + 1e-9)
                or (sense == "ge" and 0.0 < rhs - 1e-9)
                or (sense == "eq" and abs(rhs) > 1e-9)
            ):
                raise ValueError(f"'cqm' is infeasible: constraint {label!r} cannot hold")
    else:
        res = milp(
            c,
            integrality=np.asarray(lin.integral),
            bounds=Bounds(np.asarray(lin.lower), np.asarray(lin.upper)),
            constraints=constraints,
            options=options,
        )
        if res.status == 2:
            raise ValueError(
                "'cqm' is infeasible: HiGHS proved that no assignment satisfies its constraints"
            )
        if res.status == 3:
            raise ValueError(
                "the problem is unbounded; give every INTEGER/REAL variable finite bounds"
            )
        if res.x is None:
            raise RuntimeError(
                f"'time_limit' ({time_limit} s) ran out before HiGHS found a feasible point ({res.message})"
            )
        values = res.x
        info = {
            "status": str(res.message),
            "optimal": res.status == 0,
            "mip_gap": float(getattr(res, "mip_gap", 0.0) or 0.0),
        }
    return values, info, (begin, time.perf_counter_ns())


def _check_squares(
    squares: Any, bqm: dimod.BinaryQuadraticModel
) -> list[tuple[float, dict[Hashable, int], int]]:
    """``squares`` as (w, {variable: integer}, integer) triples, or a one-line error naming the
    entry, the rule and what it got."""
    if squares is None:
        return []
    if isinstance(squares, (str, bytes)) or not isinstance(squares, Sequence):
        raise TypeError(f"'squares' must be a sequence of (w, a, c) triples, got {type(squares).__name__}")
    if squares and bqm.vartype is not dimod.BINARY:
        raise ValueError("'squares' needs a BINARY bqm (the squares are over 0/1 bits), got a SPIN bqm")
    out = []
    for k, entry in enumerate(squares):
        if not (isinstance(entry, Sequence) and len(entry) == 3 and isinstance(entry[1], Mapping)):
            raise TypeError(f"'squares' entry {k} must be a (w, a, c) triple with a a mapping, got {entry!r}")
        w, a, c = entry
        w = check_float(f"squares entry {k} weight", w, 0.0)
        coef: dict[Hashable, int] = {}
        for v, b in a.items():
            if v not in bqm.variables:
                raise ValueError(f"'squares' entry {k} has variable {v!r}, which is not in the bqm")
            coef[v] = _integer(f"squares entry {k} coefficient of {v}", b)
        out.append((w, coef, _integer(f"squares entry {k} constant", c)))
    return out


def _integer(name: str, value: Any) -> int:
    """``value`` as an int if it is a finite float within 10^-9 of an integer, else a one-line
    error (the tangent cuts are exact only at integer points)."""
    x = check_float(name, value)
    if abs(x - round(x)) > 1e-9 * max(1.0, abs(x)):
        raise ValueError(f"{name!r} must be an integer (the cuts are exact at integer points only), got {value!r}")
    return int(round(x))


def _rest(
    bqm: dimod.BinaryQuadraticModel, squares: list[tuple[float, dict[Hashable, int], int]]
) -> dimod.BinaryQuadraticModel:
    """bqm - sum_i w_i (a_i^T x + c_i)^2 over bits (each square expanded by
    :func:`hybridqnn.problems.penalty._row_bqm`, the expansion the lifting itself uses), each
    coefficient that cancels to within 10^-9 of the magnitude subtracted from it set to 0
    (floating-point rounding, not data)."""
    from hybridqnn.problems.penalty import SquaredRow, _row_bqm

    rest = bqm.copy()
    size = dimod.BinaryQuadraticModel(dimod.BINARY)
    for w, a, c in squares:
        square = _row_bqm(SquaredRow({v: float(b) for v, b in a.items()}, float(c)))
        rest.add_linear_from((v, -w * b) for v, b in square.linear.items())
        rest.add_quadratic_from((u, v, -w * b) for (u, v), b in square.quadratic.items())
        rest.offset -= w * square.offset
        size.add_linear_from((v, abs(w * b)) for v, b in square.linear.items())
        size.add_quadratic_from((u, v, abs(w * b)) for (u, v), b in square.quadratic.items())
    for u, b in list(rest.iter_linear()):
        if b != 0.0 and abs(b) <= 1e-9 * size.linear.get(u, 0.0):
            rest.set_linear(u, 0.0)
    for u, v, b in list(rest.iter_quadratic()):
        if abs(b) <= 1e-9 * (size.adj[u].get(v, 0.0) if u in size.adj else 0.0):
            rest.remove_interaction(u, v)
    return rest


def _tangent(t: int, s: int, k: int) -> tuple[dict[int, float], str, float, Any]:
    """t >= (2k + 1) s - k (k + 1): the tangent of s^2 at the integer k, as a MILP row."""
    return ({t: 1.0, s: -(2.0 * k + 1.0)}, "ge", -float(k * (k + 1)), ("tangent", k))


def _solve_with_squares(
    lin: _Linearisation,
    bqm: dimod.BinaryQuadraticModel,
    squares: list[tuple[float, dict[Hashable, int], int]],
    time_limit: float | None,
) -> tuple[np.ndarray, dict[str, Any], tuple[int, int]]:
    """The outer-approximation loop of the module docstring: HiGHS solves with tangent cuts,
    adding the tangent at s_i for every row with t_i < s_i^2, until none is left. A square of
    weight 0 is no term at all and is left out."""
    squares = [sq for sq in squares if sq[0] > 0.0]
    coef, const = lin.expression(_rest(bqm, squares), "'bqm'")
    rows: list[tuple[dict[int, float], str, float, Any]] = []
    cuts: list[tuple[int, int, set[int]]] = []
    for w, a, c in squares:
        lo = c + sum(min(b, 0) for b in a.values())
        hi = c + sum(max(b, 0) for b in a.values())
        s, t = len(lin.lower), len(lin.lower) + 1
        lin.lower += [float(lo), 0.0]
        lin.upper += [float(hi), float(max(lo * lo, hi * hi))]
        lin.integral += [0, 0]  # s is integer at every 0/1 point; t is continuous
        coef[t] = w
        rows.append(({s: 1.0, **{lin.index[v]: -float(b) for v, b in a.items()}}, "eq", float(c), "square"))
        points = {0, -1}
        step = 1
        while step <= max(abs(lo), abs(hi)):
            points |= {step, -step}
            step *= 2
        points = {k for k in points if lo - 1 <= k <= hi}
        rows += [_tangent(t, s, k) for k in sorted(points)]
        cuts.append((s, t, points))
    begin = time.perf_counter_ns()
    rounds = 0
    info: dict[str, Any] = {}
    while True:
        left = None if time_limit is None else time_limit - (time.perf_counter_ns() - begin) / 1e9
        if rounds and left is not None and left <= 0.0:
            info["optimal"] = False  # the last round's point, not proven: cuts were still added
            break
        rounds += 1
        values, info, _ = _solve(lin, (coef, const), rows, left)
        added = 0
        for s, t, points in cuts:
            k = int(round(values[s]))
            if values[t] < k * k - 1e-6 * max(1.0, k * k) and k not in points:
                points.add(k)
                rows.append(_tangent(t, s, k))
                added += 1
        if not added or not info["optimal"]:
            break
    info["rounds"] = rounds
    return values, info, (begin, time.perf_counter_ns())
