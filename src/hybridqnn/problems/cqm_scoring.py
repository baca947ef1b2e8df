"""A CQM's objective and constraints as arrays, to score many samples at once.

dimod scores the samples of a ``ConstrainedQuadraticModel`` constraint by constraint
(``SampleSet.from_samples_cqm``, ``cqm.violations``): a Python loop over the m constraints on
every call. QCGD (:mod:`hybridqnn.solvers.qcgd`) scores its oracle's answers at every
iteration, and on a QPH subproblem of a 16-4-1 network (about 150 constraints) those calls
were about a fifth of the solve. :class:`CQMScorer` gathers the terms once per model and then
scores a batch of samples with a few array operations.

For a sample x over :attr:`CQMScorer.variables` (the CQM's own values: 0/1 for BINARY, -1/+1
for SPIN variables), with each expression e(x) = sum_i a_i x_i + sum_{i<j} b_ij x_i x_j + k:

    energy(x)      = objective(x),
    violation_c(x) = |lhs_c(x) - rhs_c| (==),  lhs_c(x) - rhs_c (<=),  rhs_c - lhs_c(x) (>=),
                     clipped at 0 (as ``cqm.violations(..., clip=True)``),
    satisfied_c(x) = violation_c(x) <= atol + rtol |rhs_c|,
    feasible(x)    = every constraint satisfied,

with dimod's rule and default tolerances (rtol = 1e-6, atol = 1e-8). Only hard constraints
(a soft one is a ValueError naming it; the penalty lifting takes only hard ones too).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import dimod
import numpy as np
from scipy.sparse import csr_matrix

__all__ = ["CQMScorer"]


class _Terms:
    """The terms of several expressions over one variable order: e_c(x) = (x @ L)_c +
    ((x[:, qi] * x[:, qj] * qb) @ Q)_c + offsets_c for rows x."""

    def __init__(self, expressions: list[Any], index: dict[Hashable, int]) -> None:
        n, m = len(index), len(expressions)
        lin_r: list[int] = []
        lin_c: list[int] = []
        lin_w: list[float] = []
        qi: list[int] = []
        qj: list[int] = []
        qb: list[float] = []
        owner: list[int] = []
        for c, expr in enumerate(expressions):
            for v, b in expr.linear.items():
                lin_r.append(index[v])
                lin_c.append(c)
                lin_w.append(float(b))
            for (u, v), b in expr.quadratic.items():
                qi.append(index[u])
                qj.append(index[v])
                qb.append(float(b))
                owner.append(c)
        self.L = csr_matrix((lin_w, (lin_r, lin_c)), shape=(n, m))
        self.qi = np.asarray(qi, dtype=np.int64)
        self.qj = np.asarray(qj, dtype=np.int64)
        self.qb = np.asarray(qb, dtype=np.float64)
        self.Q = csr_matrix((np.ones(len(owner)), (np.arange(len(owner)), owner)), shape=(len(owner), m))
        self.offsets = np.array([float(e.offset) for e in expressions], dtype=np.float64)

    def values(self, x: np.ndarray) -> np.ndarray:
        """(k, m): every expression at every row of x (k, n)."""
        out = np.asarray(self.L.T.dot(x.T).T) + self.offsets
        if self.qb.size:
            out = out + np.asarray(self.Q.T.dot((x[:, self.qi] * x[:, self.qj] * self.qb).T).T)
        return out


class CQMScorer:
    """Energies, constraint violations and feasibility of many samples of ``cqm`` at once
    (module docstring), equal to dimod's ``SampleSet.from_samples_cqm`` and
    ``cqm.violations(..., clip=True)`` up to floating-point summation order.

    Args:
        cqm: a ``dimod.ConstrainedQuadraticModel`` with hard constraints only.
        rtol: dimod's relative feasibility tolerance.
        atol: dimod's absolute feasibility tolerance.
    """

    def __init__(
        self, cqm: dimod.ConstrainedQuadraticModel, *, rtol: float = 1e-6, atol: float = 1e-8
    ) -> None:
        self.variables: list[Hashable] = list(cqm.variables)
        self.labels: list[Hashable] = list(cqm.constraints)
        index = {v: i for i, v in enumerate(self.variables)}
        comparisons = list(cqm.constraints.values())
        for label, comp in zip(self.labels, comparisons, strict=True):
            if comp.lhs.is_soft():
                raise ValueError(f"'cqm' constraint {label!r} is soft; only hard constraints are supported")
        self._objective = _Terms([cqm.objective], index)
        self._constraints = _Terms([comp.lhs for comp in comparisons], index)
        self.rhs = np.array([float(comp.rhs) for comp in comparisons], dtype=np.float64)
        senses = [comp.sense.value if hasattr(comp.sense, "value") else str(comp.sense) for comp in comparisons]
        self._eq = np.array([s == "==" for s in senses], dtype=bool)
        self._ge = np.array([s == ">=" for s in senses], dtype=bool)
        self.tolerance = atol + rtol * np.abs(self.rhs)

    def energies(self, x: np.ndarray) -> np.ndarray:
        """(k,): the objective at each row of x (k, n), columns in :attr:`variables` order."""
        return self._objective.values(np.asarray(x, dtype=np.float64))[:, 0]

    def violations(self, x: np.ndarray) -> np.ndarray:
        """(k, m): each constraint's violation at each row, clipped at 0, constraints in
        :attr:`labels` order."""
        diff = self._constraints.values(np.asarray(x, dtype=np.float64)) - self.rhs
        out = np.where(self._ge, -diff, diff)
        out = np.where(self._eq, np.abs(diff), out)
        return np.maximum(out, 0.0)

    def feasible(self, violations: np.ndarray) -> np.ndarray:
        """(k,): whether every constraint of each row is satisfied (dimod's tolerance), from
        :meth:`violations`."""
        return np.all(violations <= self.tolerance, axis=1)
