"""Physics of natural quantization: the closed forms of the rotation (Method 1) and the weak
measurement (Method 2), and the register they act on.

Formulas from Barney, Lakhdar-Hamina & Galitski, arXiv 2503.15482; see :mod:`hybridqnn.nn.natural`
for the model and the two post-measurement updates. Everything here is plain torch on any device.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

from hybridqnn._checks import check_choice, check_float

__all__ = [
    "HALF_PI",
    "UPDATES",
    "QubitState",
    "expected_activation",
    "measurement_probability",
    "post_measurement_angle",
    "rotation_angle",
    "strong_measurement_probability",
]

#: Valid values of ``update``: the published post-measurement formula or the exact one.
UPDATES: tuple[str, ...] = ("paper", "exact")

HALF_PI = math.pi / 2


def _check_a(a: float) -> float:
    return check_float("a", a, 0.0)


def _check_g(g: float, name: str = "g") -> float:
    # the bound is pi/2 in double precision; allow the float rounding of pi/2 itself
    return check_float(name, g, 0.0, HALF_PI)


def _squash(z: Tensor, a: float) -> Tensor:
    """``tanh(z/a)``, or ``sign z`` (sign(0) = 0) in the classical limit ``a = 0``."""
    return torch.sign(z) if a == 0.0 else torch.tanh(z / a)


# --------------------------------------------------------------------------- closed forms


def rotation_angle(z: Tensor, d_prev: Tensor | float, a: float) -> Tensor:
    """The R_Y angle of Method 1: ``theta = (pi/2)(d_prev - tanh(z/a))``, or with ``sign z`` for
    ``a = 0``.

    Args:
        z: Pre-activations.
        d_prev: The neuron's previous activation (+/-1), broadcastable to ``z``.
        a: Stretch, ``a >= 0``.
    """
    a = _check_a(a)
    t = _squash(z, a)
    return HALF_PI * (d_prev - t)


def measurement_probability(phi: Tensor, g: float) -> Tensor:
    """``P(m = +1) = (1 + sin(g) cos(phi)) / 2`` for a neuron at angle ``phi``."""
    s = math.sin(_check_g(g))
    return 0.5 * (1.0 + s * torch.cos(phi))


def post_measurement_angle(phi: Tensor, m: Tensor, g: float, update: str = "paper") -> Tensor:
    """The neuron's angle after the weak measurement gave ``m``.

    ``"paper"``: ``2 arcsin(sin(phi/2) sqrt((1 - m s)/(1 + m s cos phi)))``; ``"exact"``:
    ``2 atan2(sin(phi/2) sqrt(1 - m s), cos(phi/2) sqrt(1 + m s))`` (see the module docstring).

    Args:
        phi: Angles before the measurement.
        m: Outcomes (+/-1), broadcastable to ``phi``.
        g: Entangling angle in ``[0, pi/2]``.
        update: ``"paper"`` or ``"exact"``.
    """
    s = math.sin(_check_g(g))
    check_choice("update", update, UPDATES)
    half = 0.5 * phi
    alpha = torch.cos(half)
    if update == "paper":
        alpha = alpha.abs()
    return 2.0 * torch.atan2(
        torch.sin(half) * (1.0 - m * s).clamp_min(0).sqrt(),
        alpha * (1.0 + m * s).clamp_min(0).sqrt(),
    )


def strong_measurement_probability(z: Tensor, a: float) -> Tensor:
    """``P(d = +1) = cos^2[(pi/4)(1 - tanh(z/a))]`` for a fresh qubit (``phi = 0``, ``d_prev =
    +1``) measured strongly (``g = pi/2``); ``sign z`` replaces ``tanh(z/a)`` for ``a = 0``."""
    a = _check_a(a)
    t = _squash(z, a)
    return torch.cos(0.25 * math.pi * (1.0 - t)) ** 2


def expected_activation(z: Tensor, a: float) -> Tensor:
    """``E[d] = sin[(pi/2) tanh(z/a)]`` for a fresh qubit measured strongly (``sign z`` for
    ``a = 0``)."""
    a = _check_a(a)
    t = _squash(z, a)
    return torch.sin(HALF_PI * t)


# --------------------------------------------------------------------------- the register


class QubitState(NamedTuple):
    """The register of one layer, as real amplitudes ``|psi> = alpha|0> + beta|1>``.

    ``alpha = cos(phi/2)``, ``beta = sin(phi/2)``: the paper's angle representation, held as
    amplitudes so that rotations and measurements need no inverse trigonometry (exactly the
    same state; :attr:`phi` recovers the angle).

    Attributes:
        alpha: Amplitudes of ``|0>``.
        beta: Amplitudes of ``|1>``.
        d: Last activations (+/-1); broadcastable to ``alpha``.
        z: The pre-activation of the last rotation (for the straight-through gradient), or None.
    """

    alpha: Tensor
    beta: Tensor
    d: Tensor
    z: Tensor | None = None

    @property
    def phi(self) -> Tensor:
        """The angle ``phi = 2 atan2(beta, alpha)`` in ``(-2 pi, 2 pi]``."""
        return 2.0 * torch.atan2(self.beta, self.alpha)

    @classmethod
    def fresh(cls, like: Tensor) -> QubitState:
        """``phi = 0`` (``alpha = 1``, ``beta = 0``), ``d = +1``, shaped and placed like ``like``."""
        return cls(torch.ones_like(like), torch.zeros_like(like), torch.ones_like(like), None)

    @classmethod
    def from_phi(cls, phi: Tensor, d: Tensor) -> QubitState:
        """The register at angles ``phi`` with last activations ``d``."""
        return cls(torch.cos(0.5 * phi), torch.sin(0.5 * phi), d, None)


def _half_rotation(z: Tensor, d: Tensor, a: float) -> tuple[Tensor, Tensor]:
    """``(cos(theta/2), sin(theta/2))`` for ``theta = (pi/2)(d - tanh(z/a))``, exact at ``a = 0``."""
    if a == 0.0:
        t = torch.sign(z)
        r2 = math.sqrt(0.5)
        zero = t == 0
        c = torch.where(zero, r2, 0.5 * (1.0 + d * t))
        s = torch.where(zero, d * r2, 0.5 * (d - t))
        return c, s
    half = (0.5 * HALF_PI) * (d - torch.tanh(z / a))
    return torch.cos(half), torch.sin(half)


def _measure(
    alpha: Tensor, beta: Tensor, u: Tensor, s: float, paper: bool
) -> tuple[Tensor, Tensor, Tensor]:
    """Measure the register ``(alpha, beta)`` with uniforms ``u`` (``s = sin g``): outcome
    ``m = +1`` iff ``u < P(m = +1) = (1 + s (alpha^2 - beta^2)) / 2``, then the Kraus update
    ``M_m (alpha, beta)`` renormalised (``|alpha|`` first under the paper's update); returns
    ``(m, alpha', beta')``. A rounding-level outcome of probability 0 keeps the state."""
    plus = u < 0.5 + 0.5 * s * (alpha - beta) * (alpha + beta)
    m = torch.where(plus, 1.0, -1.0).to(alpha.dtype)
    if paper:
        alpha = alpha.abs()
    sp, sm = math.sqrt(1.0 + s), math.sqrt(max(0.0, 1.0 - s))
    aa = alpha * torch.where(plus, sp, sm)
    bb = beta * torch.where(plus, sm, sp)
    nrm = torch.sqrt(aa * aa + bb * bb)
    ok = nrm > 0
    safe = torch.where(ok, nrm, 1.0)
    return m, torch.where(ok, aa / safe, alpha), torch.where(ok, bb / safe, beta)
