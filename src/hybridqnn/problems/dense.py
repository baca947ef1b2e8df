"""Dense Ising models: the container for the dense QUBOs that hybridqnn's methods build.

A ``dimod.BinaryQuadraticModel`` stores a dense model as adjacency lists, which costs
O(#couplers) per conversion inside every Ocean sampler call (about 0.7 s at n = 2580 with
dwave-samplers). :class:`DenseIsing` holds the same model as arrays,

    E(s) = offset + h^T s + 1/2 s^T J s,    s in {-1, +1}^n,  J symmetric with zero diagonal,

which is dimod's E = sum_i h_i s_i + sum_{i<j} J_ij s_i s_j + offset written with a full
symmetric matrix. hybridqnn's own samplers (:class:`hybridqnn.solvers.DenseSampler`) run on it;
``to_bqm`` gives the equivalent BQM for any other dimod sampler.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dimod
import numpy as np

from hybridqnn._checks import check_finite_biases


@dataclass(frozen=True, eq=False)
class DenseIsing:
    """E(s) = offset + h^T s + 1/2 s^T J s with J symmetric, zero diagonal (float64); the
    coefficients must be finite and their magnitudes sum to a finite float64
    (:func:`hybridqnn._checks.check_finite_biases`)."""

    h: np.ndarray
    J: np.ndarray
    offset: float = 0.0

    def __post_init__(self) -> None:
        n = self.h.shape[0]
        if self.h.ndim != 1 or self.J.shape != (n, n):
            raise ValueError(f"DenseIsing needs h of shape (n,) and J of shape (n, n), got {self.h.shape} and {self.J.shape}")
        check_finite_biases("model", self.h, self.J, self.offset)

    @classmethod
    def _from_checked(cls, h: np.ndarray, J: np.ndarray, offset: float) -> DenseIsing:
        """Build without re-checking finiteness (O(n^2)); for builders whose inputs were checked
        and that hand one J to many models."""
        model = object.__new__(cls)
        object.__setattr__(model, "h", h)
        object.__setattr__(model, "J", J)
        object.__setattr__(model, "offset", float(offset))
        return model

    @property
    def num_variables(self) -> int:
        return int(self.h.shape[0])

    @classmethod
    def from_qubo(cls, q_upper: np.ndarray, linear: np.ndarray, offset: float = 0.0) -> DenseIsing:
        """From E(x) = offset + q^T x + sum_{i<j} Q_ij x_i x_j over bits x (Q given as its strict
        upper triangle; anything on or below the diagonal is ignored). With x = (1 + s)/2:
        J = (Q + Q^T)/4, h = q/2 + J 1, offset' = offset + sum(q)/2 + sum_{i<j} Q_ij/4."""
        return cls(*_qubo_to_ising(q_upper, linear, offset))

    @classmethod
    def from_bqm(cls, bqm: dimod.BinaryQuadraticModel) -> tuple[DenseIsing, list[Any]]:
        """The dense spin model of ``bqm`` and its variable order (``bqm.variables``); a NaN,
        an infinity or an overflowing sum among the BQM's coefficients is a ValueError naming
        the variable or interaction (:func:`hybridqnn._checks.check_finite_biases`)."""
        labels = list(bqm.variables)
        n = len(labels)
        lin, (row, col, quad), off = bqm.to_numpy_vectors(labels)
        check_finite_biases("bqm", lin, (row, col, quad), off, labels)
        mat = np.zeros((n, n))
        np.add.at(mat, (np.minimum(row, col), np.maximum(row, col)), quad)
        # checked above: every converted coefficient is bounded by the sum of the magnitudes
        if bqm.vartype is dimod.SPIN:
            return cls._from_checked(np.asarray(lin, dtype=np.float64), mat + mat.T, float(off)), labels
        return cls._from_checked(*_qubo_to_ising(mat, lin, float(off))), labels

    def energies(self, spins: np.ndarray) -> np.ndarray:
        """E(s) for each row of ``spins`` (R, n)."""
        s = np.asarray(spins, dtype=np.float64)
        return self.offset + s @ self.h + 0.5 * np.einsum("ri,ri->r", s @ self.J, s)

    def to_bqm(self, vartype: dimod.Vartype = dimod.SPIN) -> dimod.BinaryQuadraticModel:
        """The same model as a dimod BQM over labels 0..n-1 (SPIN, or BINARY via change of vartype)."""
        bqm = dimod.BinaryQuadraticModel(self.h, np.triu(self.J, 1), self.offset, dimod.SPIN)
        if vartype is dimod.BINARY or vartype == "BINARY":
            bqm.change_vartype(dimod.BINARY, inplace=True)
        return bqm

    def local_fields(self, spins: np.ndarray) -> np.ndarray:
        """f = h + J s for each row of ``spins``; flipping s_i changes E by -2 s_i f_i."""
        return self.h + np.asarray(spins, dtype=np.float64) @ self.J


def _qubo_to_ising(q_upper: np.ndarray, linear: np.ndarray, offset: float) -> tuple[np.ndarray, np.ndarray, float]:
    """(h, J, offset') of :meth:`DenseIsing.from_qubo`."""
    upper = np.triu(np.asarray(q_upper, dtype=np.float64), 1)
    sym = (upper + upper.T) / 4.0
    q = np.asarray(linear, dtype=np.float64)
    h = q / 2.0 + sym.sum(axis=1)
    return h, sym, float(offset) + float(q.sum()) / 2.0 + float(upper.sum()) / 4.0
