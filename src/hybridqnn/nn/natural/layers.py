"""The qubit-neuron layers: :class:`QubitRotation` (Method 1), :class:`WeakMeasurement`
(Method 2) and :class:`NaturalActivation` (both, in torch or in the fused CPU kernel)."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from hybridqnn._checks import check_choice
from hybridqnn.nn.functional import natural_straight_through
from hybridqnn.nn.natural.kernels import OutputBuffers, _run_kernel
from hybridqnn.nn.natural.physics import (
    HALF_PI,
    UPDATES,
    QubitState,
    _check_a,
    _check_g,
    _half_rotation,
    _measure,
)

__all__ = ["BACKENDS", "NaturalActivation", "QubitRotation", "WeakMeasurement"]

#: Valid values of ``backend`` (see :class:`NaturalActivation`).
BACKENDS: tuple[str, ...] = ("auto", "torch", "numba")


class QubitRotation(nn.Module):
    """Method 1: ``R_Y(theta)`` with ``theta = (pi/2)(d_prev - tanh(z/a))`` (``sign z`` at
    ``a = 0``), so ``phi <- phi + theta``.

    Args:
        a: Stretch, ``a >= 0``; ``a = 0`` is the classical limit.
    """

    def __init__(self, a: float = 0.0) -> None:
        super().__init__()
        self.a = _check_a(a)

    def forward(self, z: Tensor, state: QubitState | None = None) -> QubitState:
        """Rotate the register ``state`` (a fresh one if None) by the angles set by ``z``."""
        if state is None:
            state = QubitState.fresh(z)
        c, s = _half_rotation(z, state.d, self.a)
        alpha = state.alpha * c - state.beta * s
        beta = state.alpha * s + state.beta * c
        return QubitState(alpha, beta, state.d, z)

    def extra_repr(self) -> str:
        return f"a={self.a:g}"


class WeakMeasurement(nn.Module):
    """Method 2: measure each neuron through an ancilla coupled by ``exp(-i (g/2) Z x Y)``.

    Outcome ``m`` with ``P(m = +/-1) = (1 +/- sin(g) cos phi)/2``; the neuron is left in
    ``M_m |psi> / ||M_m |psi>||`` with ``M_+/- = diag(sqrt((1 +/- s)/2), sqrt((1 -/+ s)/2))``
    (``update="exact"``), or in the published formula's state (``update="paper"``: the same
    with ``|alpha|`` for ``alpha``, see the module docstring). ``g = pi/2`` is projective;
    ``g = 0`` carries no information. Samples with ``torch.rand(generator=...)``.

    Args:
        g: Entangling angle in ``[0, pi/2]``.
        update: ``"paper"`` (published formula) or ``"exact"``.
    """

    def __init__(self, g: float = HALF_PI, update: str = "paper") -> None:
        super().__init__()
        self.g = _check_g(g)
        self.update = check_choice("update", update, UPDATES)

    def forward(
        self,
        state: QubitState,
        generator: torch.Generator | None = None,
        shots: int | None = None,
    ) -> tuple[Tensor, QubitState]:
        """Sample the outcomes and update the register.

        Args:
            state: The register after its rotation.
            generator: Source of randomness (on the state's device); None uses torch's default.
            shots: Draw this many independent outcomes per neuron: the results get a leading
                shot axis of that size (the state is broadcast). None: one draw, no new axis.

        Returns:
            ``(d, state')``: the activations ``d = m`` (with the straight-through gradient to
            ``state.z``) and the new register.
        """
        shape = state.alpha.shape if shots is None else (shots, *state.alpha.shape)
        u = torch.rand(
            shape, generator=generator, device=state.alpha.device, dtype=state.alpha.dtype
        )
        return self._update(state, u)

    def _update(self, state: QubitState, u: Tensor) -> tuple[Tensor, QubitState]:
        # not ``_apply``: that would shadow nn.Module._apply, which .to(), .cpu() and .double() call
        m, alpha, beta = _measure(
            state.alpha, state.beta, u, math.sin(self.g), self.update == "paper"
        )
        z = state.z
        if z is not None and z.shape != m.shape:
            z = z.expand(m.shape)
        return natural_straight_through(z, m), QubitState(alpha, beta, m, None)

    def extra_repr(self) -> str:
        return f"g={self.g:.6g}, update={self.update!r}"


class NaturalActivation(nn.Module):
    """One hidden activation: :class:`QubitRotation` then :class:`WeakMeasurement`.

    ``backend="torch"`` composes the two modules (any device; samples with ``torch.rand``).
    ``backend="numba"`` runs both in one fused CPU kernel (float32): the same formulas, with
    ``tanh`` and the sine/cosine of ``(pi/4) tanh(z/a)`` evaluated by float32 polynomials
    (abs. error ~1e-7) and the uniforms drawn by a counter-based splitmix64 generator keyed by
    one 64-bit draw from ``generator``, so that the loop vectorises and runs on all torch threads.
    ``"auto"`` picks ``"numba"`` for float32 CPU tensors and ``"torch"`` otherwise. Both give the
    same distribution (tested); they do not give the same samples for the same generator.

    Args:
        a: Stretch, ``a >= 0``.
        g: Entangling angle in ``[0, pi/2]``.
        update: ``"paper"`` or ``"exact"``.
        backend: ``"auto"``, ``"torch"`` or ``"numba"``.
    """

    def __init__(
        self, a: float = 0.0, g: float = HALF_PI, update: str = "paper", backend: str = "auto"
    ) -> None:
        super().__init__()
        self.rotation = QubitRotation(a)
        self.measurement = WeakMeasurement(g, update)
        self.backend = check_choice("backend", backend, BACKENDS)

    def forward(
        self,
        z: Tensor,
        state: QubitState | None = None,
        generator: torch.Generator | None = None,
        shots: int | None = None,
        need_state: bool = True,
        out: OutputBuffers | None = None,
    ) -> tuple[Tensor, QubitState | None]:
        """Rotate by ``z`` and measure; returns ``(d, state')``. See :meth:`WeakMeasurement.forward`.

        ``need_state=False`` (the last hidden layer, whose register nobody reads) lets the
        kernel skip the post-measurement update; ``state'`` may then be None.
        ``out(role, shape)`` (kernel only) gives the tensors that the outcomes (role ``"m"``) and
        the new amplitudes (``"alpha"``, ``"beta"``) are written into: returning ``state``'s own
        amplitude tensors updates the register in place (then ``state`` must not be read again),
        and returning buffers kept from an earlier batch saves allocations; None: fresh tensors.
        """
        if not self._use_kernel(z):
            return self.measurement(self.rotation(z, state), generator, shots)
        if state is None:
            state = QubitState.fresh(z)
        ref = z.expand_as(state.alpha) if z.shape != state.alpha.shape else z
        key = int(torch.randint(0, 2**62, (1,), generator=generator).item())
        m, alpha, beta = _run_kernel(
            ref,
            state.d.expand_as(ref),
            state.alpha,
            state.beta,
            shots,
            key,
            self.rotation.a,
            math.sin(self.measurement.g),
            self.measurement.update == "paper",
            need_state,
            out,
        )
        zz = z if shots is None else z.expand(m.shape)
        new = QubitState(alpha, beta, m, None) if alpha is not None and beta is not None else None
        return natural_straight_through(zz, m), new

    def _use_kernel(self, z: Tensor) -> bool:
        if self.backend == "torch":
            return False
        ok = z.device.type == "cpu" and z.dtype == torch.float32
        if self.backend == "numba" and not ok:
            raise ValueError(
                f"'backend' 'numba' needs float32 CPU tensors, got {z.dtype} on {z.device}"
            )
        return ok

    def extra_repr(self) -> str:
        return f"backend={self.backend!r}"
