"""Quadratic objectives over fixed-point-encoded variables, as binary quadratic models.

For f(x) = 1/2 x^T H x + g^T x + c with x = a + E b (:class:`FixedPointEncoding`, a = ``low``)
and bits b, using b_i^2 = b_i:

    f = 1/2 b^T Q b + (E^T (H a + g))^T b + 1/2 a^T H a + g^T a + c,     Q = E^T H E,

so the BINARY model has
    linear bias   q_i  = 1/2 Q_ii + [E^T (H a + g)]_i,
    quadratic     Q_il (i < l; Q is symmetric so each pair counts once),
    offset             1/2 a^T H a + g^T a + c,
and its energy equals f(x) exactly for every bit string, not only up to a constant. With bit
(j, k) at index j*K + k, Q_{(j,k),(l,m)} = step_j step_l 2^{k+m} H_jl: every bit couples to
every bit whose coordinates interact, so the model is dense when H is.

:func:`quadratic_to_bqm` returns it as a ``dimod.BinaryQuadraticModel`` for any dimod sampler;
:func:`quadratic_to_dense` returns the same model in spin form (:class:`DenseIsing`) for many
linear terms at once, sharing one coupling matrix (the head's C class problems differ only in g);
:class:`FixedPointQuadratic` keeps the model as (H, g, c) and the encoding, O(n^2) numbers
instead of the O((nK)^2) couplings, for samplers that move on the grid itself (the fixed-point
path of :mod:`hybridqnn.solvers.sampling`).
"""

from __future__ import annotations

from dataclasses import dataclass

import dimod
import numpy as np

from hybridqnn.problems.dense import DenseIsing
from hybridqnn.problems.encoding import FixedPointEncoding


def _check(h: np.ndarray, g: np.ndarray, encoding: FixedPointEncoding) -> None:
    n = encoding.size
    if h.shape != (n, n):
        raise ValueError(f"'hessian' must have shape ({n}, {n}) to match the encoding, got {h.shape}")
    if g.shape[-1:] != (n,):
        raise ValueError(f"'linear' must have shape ({n},) to match the encoding, got {g.shape}")
    if not (np.all(np.isfinite(h)) and np.all(np.isfinite(g))):
        raise ValueError("'hessian' and 'linear' must be finite")


def _coupling(h: np.ndarray, encoding: FixedPointEncoding) -> tuple[np.ndarray, np.ndarray]:
    """Q = E^T H E (full, symmetric, with its diagonal) and the flat bit weights w (E's nonzeros)."""
    w = encoding.bit_weights
    k = encoding.bits
    q = np.repeat(np.repeat(h, k, axis=0), k, axis=1)
    q *= w[:, None]
    q *= w[None, :]
    return q, w


def _linear_and_offset(
    h: np.ndarray, g: np.ndarray, encoding: FixedPointEncoding, q_diag: np.ndarray, w: np.ndarray, offset: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """BINARY linear biases (rows, one per g) and offsets."""
    a = encoding.low
    lin = 0.5 * q_diag + w * np.repeat(h @ a + g, encoding.bits, axis=-1)
    const = 0.5 * a @ h @ a + g @ a + offset
    return lin, const


def quadratic_to_bqm(
    hessian: np.ndarray, linear: np.ndarray, encoding: FixedPointEncoding, offset: float = 0.0
) -> dimod.BinaryQuadraticModel:
    """The BINARY BQM of f(x) = 1/2 x^T H x + g^T x + c over the encoded x (module docstring).

    Args:
        hessian: H, (n, n). Only its symmetric part is used.
        linear: g, shape (n,).
        encoding: the fixed-point encoding of x (size n).
        offset: c, a constant added to the energy.

    Returns:
        A ``dimod.BinaryQuadraticModel`` over integer labels 0..nK-1 (vartype BINARY).
    """
    h = np.asarray(hessian, dtype=np.float64)
    g = np.asarray(linear, dtype=np.float64)
    _check(h, g, encoding)
    if g.ndim != 1:
        raise ValueError(f"'linear' must have shape ({encoding.size},), got {g.shape}")
    h = 0.5 * (h + h.T)
    q, w = _coupling(h, encoding)
    lin, const = _linear_and_offset(h, g, encoding, np.diag(q).copy(), w, np.float64(offset))
    np.fill_diagonal(q, 0.0)
    return dimod.BinaryQuadraticModel(lin, np.triu(q), float(const), dimod.BINARY)


def quadratic_to_dense(
    hessian: np.ndarray, linear: np.ndarray, encoding: FixedPointEncoding, offset: float | np.ndarray = 0.0
) -> list[DenseIsing]:
    """The same models as :func:`quadratic_to_bqm`, in spin form, one per row of ``linear``.

    With b = (1 + s)/2 the BINARY model (q, Q, c) becomes J = Q_offdiag / 4,
    h = q/2 + Q_offdiag 1 / 4 and offset c + sum(q)/2 + sum_{i<l} Q_il / 4. All returned models
    share one J array (built once), so C class problems cost one coupling matrix.

    Args:
        hessian: H, (n, n).
        linear: g, shape (n,) or (m, n) for m problems sharing H.
        encoding: the fixed-point encoding of x (size n).
        offset: c, a scalar or one per row of ``linear``.
    """
    h = np.asarray(hessian, dtype=np.float64)
    g = np.atleast_2d(np.asarray(linear, dtype=np.float64))
    _check(h, g, encoding)
    h = 0.5 * (h + h.T)
    offsets = np.broadcast_to(np.asarray(offset, dtype=np.float64), (g.shape[0],))
    q, w = _coupling(h, encoding)
    q_diag = np.diag(q).copy()
    np.fill_diagonal(q, 0.0)
    row_sums = q.sum(axis=1)
    pair_sum = 0.5 * row_sums.sum()
    q *= 0.25
    lin, const = _linear_and_offset(h, g, encoding, q_diag, w, offsets)
    fields = 0.5 * lin + 0.25 * row_sums
    offs = const + 0.5 * lin.sum(axis=1) + 0.25 * pair_sum
    # H and g were checked finite above, so every model is; J (n^2 entries) is shared unchecked
    return [DenseIsing._from_checked(fields[i], q, float(offs[i])) for i in range(g.shape[0])]


def quadratic_objective(hessian: np.ndarray, linear: np.ndarray, x: np.ndarray, offset: float = 0.0) -> np.ndarray:
    """f(x) = 1/2 x^T H x + g^T x + c, for x of shape (..., n)."""
    x = np.asarray(x, dtype=np.float64)
    h = 0.5 * (np.asarray(hessian) + np.asarray(hessian).T)
    return 0.5 * np.einsum("...i,ij,...j->...", x, h, x) + x @ np.asarray(linear) + offset


@dataclass(frozen=True, eq=False)
class FixedPointQuadratic:
    """f(x) = 1/2 x^T H x + g^T x + c over the grid of ``encoding``, kept as (H, g, c).

    It is the model of :func:`quadratic_to_bqm` and :func:`quadratic_to_dense` (the same
    variables, bit k of coordinate j at index j*K + k, and the same energy for every bit string)
    in O(n^2) numbers instead of the O((nK)^2) couplings: flipping bit k of x_j moves x_j by
    delta = +-step_j 2^k and changes f by delta (H x + g)_j + delta^2 H_jj / 2, so a sampler
    that keeps the gradient H x + g pays O(n) per accepted move instead of O(nK) per flipped bit.

    Args:
        hessian: H, (n, n), finite; only its symmetric part is used (it is stored symmetric).
        linear: g, (n,), finite.
        encoding: the grid of x (size n).
        offset: c.
    """

    hessian: np.ndarray
    linear: np.ndarray
    encoding: FixedPointEncoding
    offset: float = 0.0

    def __post_init__(self) -> None:
        h = np.asarray(self.hessian, dtype=np.float64)
        g = np.asarray(self.linear, dtype=np.float64)
        _check(h, g, self.encoding)
        if g.ndim != 1:
            raise ValueError(f"'linear' must have shape ({self.encoding.size},), got {g.shape}")
        h = 0.5 * (h + h.T)
        h.flags.writeable = False
        object.__setattr__(self, "hessian", h)
        object.__setattr__(self, "linear", g)
        object.__setattr__(self, "offset", float(self.offset))

    @classmethod
    def batch(
        cls, hessian: np.ndarray, linear: np.ndarray, encoding: FixedPointEncoding, offset: float | np.ndarray = 0.0
    ) -> list[FixedPointQuadratic]:
        """One model per row of ``linear`` (m, n), sharing one checked, symmetrised H (as
        :func:`quadratic_to_dense` shares J); ``offset`` is a scalar or one per row."""
        first = cls(hessian, np.atleast_2d(np.asarray(linear, dtype=np.float64))[0], encoding)
        g = np.atleast_2d(np.asarray(linear, dtype=np.float64))
        _check(first.hessian, g, encoding)
        offsets = np.broadcast_to(np.asarray(offset, dtype=np.float64), (g.shape[0],))
        models = []
        for row, off in zip(g, offsets, strict=True):
            model = object.__new__(cls)
            for name, value in (("hessian", first.hessian), ("linear", row), ("encoding", encoding), ("offset", float(off))):
                object.__setattr__(model, name, value)
            models.append(model)
        return models

    @property
    def num_variables(self) -> int:
        """nK, the bits."""
        return self.encoding.num_variables

    @property
    def num_interactions(self) -> int:
        """The nonzero couplings of the bit model: K^2 per nonzero H_jl (j != l) pair and
        K(K-1)/2 per nonzero H_jj (bits of one coordinate couple through H_jj)."""
        k = self.encoding.bits
        off_diag = int(np.count_nonzero(self.hessian)) - int(np.count_nonzero(np.diag(self.hessian)))
        return off_diag // 2 * k * k + int(np.count_nonzero(np.diag(self.hessian))) * k * (k - 1) // 2

    def values(self, spins: np.ndarray) -> np.ndarray:
        """x for spins (..., nK) of +-1 (bit = (1 + s)/2)."""
        return self.encoding.decode((np.asarray(spins, dtype=np.float64) + 1.0) / 2.0)

    def energies(self, spins: np.ndarray) -> np.ndarray:
        """f(x) for each row of ``spins`` (R, nK): the energy of the BQM and the dense model."""
        x = self.values(np.atleast_2d(spins))
        return 0.5 * np.einsum("ri,ij,rj->r", x, self.hessian, x) + x @ self.linear + self.offset

    def to_dense(self) -> DenseIsing:
        """The same model as a :class:`DenseIsing` (:func:`quadratic_to_dense`)."""
        return quadratic_to_dense(self.hessian, self.linear, self.encoding, self.offset)[0]

    def to_bqm(self) -> dimod.BinaryQuadraticModel:
        """The same model as a BINARY BQM (:func:`quadratic_to_bqm`)."""
        return quadratic_to_bqm(self.hessian, self.linear, self.encoding, self.offset)
