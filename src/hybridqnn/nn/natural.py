"""Natural quantization: binary networks whose hidden neurons are qubits.

Implements Barney, Lakhdar-Hamina and Galitski, "Natural Quantization of Neural Networks"
(arXiv 2503.15482, 2025), following the authors' code (Galitski-theory-group/quantum-nn,
``src/quantum_nn/anc.py`` and ``notebooks/mnist_train.ipynb``).

Model. Each sample carries one register of ``width`` qubits, reused from layer to layer. Qubit
``j`` is in the real state ``|psi> = cos(phi_j/2)|0> + sin(phi_j/2)|1>`` and carries the last
activation ``d_j`` in {-1, +1}. A forward pass starts at ``phi = 0``, ``d = +1``. Each hidden
layer takes the pre-activation ``z = W d_prev`` (no bias) and then

1. **rotates** (Method 1, stretch ``a``): ``phi <- phi + theta`` with

   - ``theta = (pi/2) (d_prev - tanh(z/a))`` for ``a > 0``,
   - ``theta = (pi/2) (d_prev - sign z)`` for ``a = 0`` (the classical limit);

2. **measures** (Method 2, entangling angle ``g``, ``s = sin g``) through an ancilla: the outcome
   ``m`` in {-1, +1} has ``P(m = +/-1) = (1 +/- s cos phi) / 2``; the neuron is left in

   ``phi' = 2 arcsin( sin(phi/2) sqrt((1 - m s) / (1 + m s cos phi)) )``

   (Kraus operators ``M_+/- = diag(sqrt((1 +/- s)/2), sqrt((1 -/+ s)/2))``), and ``d = m`` is the
   activation sent forward.

After a strong measurement (``g = pi/2``) from a fresh qubit, ``P(d = +1) = cos^2[(pi/4)(1 -
tanh(z/a))]`` and ``E[d] = sin[(pi/2) tanh(z/a)]``. With ``a = 0`` and ``g = pi/2`` the network
is the deterministic sign network (for ``z != 0``), bit for bit. The last hidden layer always
uses ``g = pi/2`` (as in the authors' code; ``last_g`` changes it). Backward is a
straight-through estimator: ``dL/dz = dL/dd * 1{|z| < 1}``, whatever ``a`` and ``g`` are; ``a``
and ``g`` are fixed hyperparameters.

Post-measurement update. ``update="paper"`` (the default) is the published formula above.
Its ``arcsin`` returns ``phi'/2`` in ``[-pi/2, pi/2]``, i.e. it forces ``cos(phi'/2) >= 0``.
That is the true post-measurement state only while ``cos(phi/2) >= 0`` (``|phi| <= pi``). After
a weak measurement the next rotation can take ``phi`` beyond ``pi`` (``theta`` is in
``[0, pi]`` when ``d_prev = +1``), and there the formula reflects the state: the physical state
``(alpha', beta')`` with ``alpha' < 0`` equals ``(|alpha'|, -beta')`` up to a global phase,
whereas the formula keeps ``(|alpha'|, beta')``. ``update="exact"`` uses the exact update
``phi' = 2 atan2(sin(phi/2) sqrt(1 - m s), cos(phi/2) sqrt(1 + m s))``, which is what a
circuit does (see :mod:`hybridqnn.quantum.circuits`, whose tests show the difference). Both
agree whenever ``|phi| <= pi``, in particular always for ``g = pi/2``.

Representation. The register is held as the real amplitudes ``(alpha, beta) = (cos(phi/2),
sin(phi/2))`` (:class:`QubitState`; ``QubitState.phi`` gives the angle). A rotation is a 2x2
rotation of ``(alpha, beta)`` by ``theta/2``; a measurement multiplies by the Kraus diagonal and
renormalises; ``"paper"`` replaces ``alpha`` by ``|alpha|`` first, which is exactly the
``arcsin`` formula (its ``cos(phi'/2) = +sqrt(1 - sin^2(phi'/2))``). This is the same state as the
angle form, needs no inverse trigonometry, and in the classical limit keeps the states exactly at
``|0>`` and ``|1>``, so that ``a = 0, g = pi/2`` is bit for bit the sign network.

Deviations from the authors' code, none of which changes the model:

- sampling compares one uniform draw per neuron with ``P(m = +1)`` instead of
  ``torch.distributions.Categorical`` on the global RNG: ``torch.rand(generator=...)`` in the
  torch backend; a counter-based generator keyed by one draw from ``generator`` in the fused CPU
  kernel (see :class:`NaturalActivation`);
- the majority vote of :meth:`NaturalQuantizedMLP.predict` draws fresh samples for every shot,
  like the original script (the library's ``get_err_from_out`` reuses one output, so its
  15-shot vote is effectively single-shot; that bug is not reproduced). Ties go to the smallest
  class, as with ``scipy.stats.mode``;
- a k-shot forward computes the first layer's matmul and rotation once and shares them across
  the shots (they are deterministic); only the measurements are drawn per shot.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numba
import numpy as np
import torch
from torch import Tensor, nn

from hybridqnn._checks import check_choice, check_float, check_int

__all__ = [
    "BACKENDS",
    "UPDATES",
    "NaturalActivation",
    "NaturalQuantizedMLP",
    "QubitRotation",
    "QubitState",
    "SignMLP",
    "WeakMeasurement",
    "expected_activation",
    "majority_vote",
    "measurement_probability",
    "post_measurement_angle",
    "rotation_angle",
    "sign_ste",
    "strong_measurement_probability",
]

#: Valid values of ``update``: the published post-measurement formula or the exact one.
UPDATES: tuple[str, ...] = ("paper", "exact")

#: Valid values of ``backend`` (see :class:`NaturalActivation`).
BACKENDS: tuple[str, ...] = ("auto", "torch", "numba")

HALF_PI = math.pi / 2


def _check_a(a: float) -> float:
    return check_float("a", a, 0.0)


def _check_g(g: float, name: str = "g") -> float:
    # the bound is pi/2 in double precision; allow the float rounding of pi/2 itself
    return check_float(name, g, 0.0, HALF_PI)


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
    t = torch.sign(z) if a == 0.0 else torch.tanh(z / a)
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
    t = torch.sign(z) if a == 0.0 else torch.tanh(z / a)
    return torch.cos(0.25 * math.pi * (1.0 - t)) ** 2


def expected_activation(z: Tensor, a: float) -> Tensor:
    """``E[d] = sin[(pi/2) tanh(z/a)]`` for a fresh qubit measured strongly (``sign z`` for
    ``a = 0``)."""
    a = _check_a(a)
    t = torch.sign(z) if a == 0.0 else torch.tanh(z / a)
    return torch.sin(HALF_PI * t)


# --------------------------------------------------------------------------- STE


class _StraightThrough(torch.autograd.Function):
    """Forward: the sampled activation ``d``; backward: ``grad * 1{|z| < 1}`` to ``z``."""

    @staticmethod
    def forward(ctx, z: Tensor, d: Tensor) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(z)
        return d.clone()

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        (z,) = ctx.saved_tensors
        return grad * (z.abs() < 1).to(grad.dtype), None


class _SignSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z: Tensor) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(z)
        return torch.sign(z)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:  # type: ignore[override]
        (z,) = ctx.saved_tensors
        return grad * (z.abs() < 1).to(grad.dtype)


def sign_ste(z: Tensor) -> Tensor:
    """``sign(z)`` forward, straight-through ``grad * 1{|z| < 1}`` backward (the authors'
    ``StepHT``)."""
    return _SignSTE.apply(z)


def _attach_ste(z: Tensor | None, d: Tensor) -> Tensor:
    if z is not None and torch.is_grad_enabled() and z.requires_grad:
        return _StraightThrough.apply(z, d)
    return d


# --------------------------------------------------------------------------- fused CPU kernel

# LLVM may fuse a * b + c into one FMA (a single rounding): halves the polynomial work, so the
# kernel is bound by memory traffic rather than arithmetic (2x faster measured); no other
# fast-math licence (NaNs, reassociation, approximate division) is given
_FMA = {"contract"}
_R2 = np.float32(math.sqrt(0.5))
_QUARTER_PI = np.float32(math.pi / 4)
_TANH_CLAMP = np.float32(7.90531110763549805)
# Rational minimax approximation of tanh on [-7.905, 7.905] (the float32 one used by Eigen):
# max abs error ~1e-7, mul-adds only, so the loop vectorises.
_TA = tuple(
    np.float32(c)
    for c in (
        4.89352455891786e-03,
        6.37261928875436e-04,
        1.48572235717979e-05,
        5.12229709037114e-08,
        -8.60467152213735e-11,
        2.00018790482477e-13,
        -2.76076847742355e-16,
    )
)
_TB = tuple(
    np.float32(c)
    for c in (
        4.89352518554385e-03,
        2.26843463243900e-03,
        1.18534705686654e-04,
        1.19825839466702e-06,
    )
)


@numba.njit(cache=True, nogil=True, inline="always", error_model="numpy", fastmath=_FMA)
def _tanh32(x: float) -> float:
    x = min(max(x, -_TANH_CLAMP), _TANH_CLAMP)
    x2 = x * x
    p = x2 * _TA[6] + _TA[5]
    p = x2 * p + _TA[4]
    p = x2 * p + _TA[3]
    p = x2 * p + _TA[2]
    p = x2 * p + _TA[1]
    p = x2 * p + _TA[0]
    p = x * p
    q = x2 * _TB[3] + _TB[2]
    q = x2 * q + _TB[1]
    q = x2 * q + _TB[0]
    return p / q


@numba.njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _uniform(key: np.uint64, i: np.uint64) -> float:
    # splitmix64 finaliser of a Weyl sequence (Steele, Lea & Flood 2014): a counter-based
    # generator, so every element's draw depends only on (key, index), not on threading
    x = key + i * np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    x = x ^ (x >> np.uint64(31))
    return np.float32(np.int32(x >> np.uint64(40))) * np.float32(5.9604644775390625e-08)


@numba.njit(cache=True, nogil=True)
def _uniforms(key: np.uint64, start: int, n: int) -> np.ndarray:
    """The kernel's uniforms for output indices ``start .. start+n-1`` (for tests)."""
    out = np.empty(n, np.float32)
    for i in range(n):
        out[i] = _uniform(key, np.uint64(start + i))
    return out


@numba.njit(cache=True, nogil=True, inline="always", error_model="numpy", fastmath=_FMA)
def _rotate_measure(dd, zj, al, be, u, inv_a, classical, s, paper):
    """One neuron: rotate ``(al, be)`` by the half-angle of ``theta`` for input spin ``dd`` and
    pre-activation ``zj``, then measure with uniform ``u``; returns ``(plus, a1, b1)``, the
    outcome ``m = +1`` and the rotated amplitudes (``|a1|`` under the paper's update)."""
    one = np.float32(1.0)
    half = np.float32(0.5)
    zero = np.float32(0.0)
    if classical:
        t = np.float32(zj > zero) - np.float32(zj < zero)
        tz = t == zero
        c = _R2 if tz else half * (one + dd * t)
        sn = dd * _R2 if tz else half * (dd - t)
    else:
        v = _QUARTER_PI * _tanh32(zj * inv_a)
        v2 = v * v
        cv = one + v2 * (
            np.float32(-0.5)
            + v2
            * (
                np.float32(1 / 24)
                + v2
                * (
                    np.float32(-1 / 720)
                    + v2 * (np.float32(1 / 40320) + v2 * np.float32(-1 / 3628800))
                )
            )
        )
        sv = v * (
            one
            + v2
            * (
                np.float32(-1 / 6)
                + v2
                * (np.float32(1 / 120) + v2 * (np.float32(-1 / 5040) + v2 * np.float32(1 / 362880)))
            )
        )
        c = (cv + dd * sv) * _R2
        sn = (dd * cv - sv) * _R2
    a1 = al * c - be * sn
    b1 = al * sn + be * c
    p = half + half * s * (a1 - b1) * (a1 + b1)
    return u < p, (abs(a1) if paper else a1), b1


@numba.njit(cache=True, nogil=True, inline="always", error_model="numpy", fastmath=_FMA)
def _collapse(a1, b1, plus, sp, sm):
    """The register after outcome ``plus``: ``M_m (a1, b1)`` normalised, with
    ``M_+ = diag(sp, sm)``, ``M_- = diag(sm, sp)`` (``sp = sqrt(1 + s)``, ``sm = sqrt(1 - s)``)."""
    aa = a1 * (sp if plus else sm)
    bb = b1 * (sm if plus else sp)
    nrm = math.sqrt(aa * aa + bb * bb)
    ok = nrm > np.float32(0.0)
    # an outcome of probability ~1e-8 from rounding can leave nrm == 0: keep the state
    return (aa / nrm if ok else a1), (bb / nrm if ok else b1)


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath=_FMA)
def _natural_kernel(
    z,
    d,
    alpha,
    beta,
    n_in,
    shot_lo,
    shot_hi,
    j_lo,
    j_hi,
    key,
    inv_a,
    classical,
    s,
    sp,
    sm,
    paper,
    need_state,
    inplace,
    m_out,
    a_out,
    b_out,
):
    """Rotate-and-measure for outputs ``shot * n_in + j`` (inputs at ``j``); branch-free so that
    LLVM vectorises the inner loops.

    Each row is a loop from 0 over slices: LLVM then proves every index non-negative, drops
    numba's wraparound selects and vectorises with contiguous loads and stores (indexing by
    ``j_lo + j`` compiles to gathers and scatters, 8x slower). ``need_state=False`` (the last
    hidden layer) has its own loop that never touches ``a_out``/``b_out``: otherwise their
    one-element placeholders fail LLVM's runtime alias check and the loop runs scalar. For the
    same reason ``inplace=True`` (write the new register over ``alpha``/``beta``, which saves two
    fresh allocations and their page faults) has its own loop rather than passing the same
    array twice.
    """
    one = np.float32(1.0)
    for shot in range(shot_lo, shot_hi):
        base = shot * n_in + j_lo
        n = j_hi - j_lo
        zs = z[j_lo:j_hi]
        ds = d[j_lo:j_hi]
        als = alpha[j_lo:j_hi]
        bes = beta[j_lo:j_hi]
        ms = m_out[base : base + n]
        if not need_state:  # the last hidden layer: nothing reads the state again
            for j in range(n):
                u = _uniform(key, np.uint64(base + j))
                plus, _, _ = _rotate_measure(
                    ds[j], zs[j], als[j], bes[j], u, inv_a, classical, s, paper
                )
                ms[j] = one if plus else -one
            continue
        if inplace:  # the new register overwrites the old one (same index: no hazard)
            for j in range(n):
                u = _uniform(key, np.uint64(base + j))
                plus, a1, b1 = _rotate_measure(
                    ds[j], zs[j], als[j], bes[j], u, inv_a, classical, s, paper
                )
                ms[j] = one if plus else -one
                als[j], bes[j] = _collapse(a1, b1, plus, sp, sm)
            continue
        aos = a_out[base : base + n]
        bos = b_out[base : base + n]
        for j in range(n):
            u = _uniform(key, np.uint64(base + j))
            plus, a1, b1 = _rotate_measure(
                ds[j], zs[j], als[j], bes[j], u, inv_a, classical, s, paper
            )
            ms[j] = one if plus else -one
            aos[j], bos[j] = _collapse(a1, b1, plus, sp, sm)


OutputBuffers = Callable[[str, torch.Size], Tensor]
"""``out(role, shape)``: the float32 tensor to write role ``"m"``, ``"alpha"`` or ``"beta"`` into."""


def _fresh(role: str, shape: torch.Size) -> Tensor:
    return torch.empty(shape, dtype=torch.float32)


def _checked_buffer(out: OutputBuffers, role: str, shape: torch.Size) -> Tensor:
    buf = out(role, shape)
    if buf.shape != shape or buf.dtype != torch.float32 or not buf.is_contiguous():
        raise ValueError(
            f"'out' must give a contiguous float32 tensor of shape {tuple(shape)} for {role!r}, "
            f"got {buf.dtype} of shape {tuple(buf.shape)}"
        )
    return buf


_PARALLEL_MIN = 1 << 17  # elements below which threads cost more than they save


def _run_kernel(
    z: Tensor,
    d: Tensor,
    alpha: Tensor,
    beta: Tensor,
    shots: int | None,
    key: int,
    a: float,
    s: float,
    paper: bool,
    need_state: bool = True,
    out: OutputBuffers | None = None,
) -> tuple[Tensor, Tensor | None, Tensor | None]:
    """Run :func:`_natural_kernel` on all torch threads; returns ``(m, alpha', beta')``
    (``alpha', beta'`` None when ``need_state`` is False), in the tensors that ``out`` gives
    (see :class:`NaturalActivation`). When ``out`` returns ``alpha`` and ``beta`` themselves the
    register is updated in place."""
    n_in = z.numel()
    out_shape = torch.Size(z.shape if shots is None else (shots, *z.shape))
    shots = shots or 1
    out = out or _fresh
    m = _checked_buffer(out, "m", out_shape)
    if need_state:
        a_out = _checked_buffer(out, "alpha", out_shape)
        b_out = _checked_buffer(out, "beta", out_shape)
        inplace = a_out is alpha
        if inplace != (b_out is beta):
            raise ValueError("'out' must return both of alpha and beta in place, or neither")
    else:
        a_out = b_out = torch.empty(1, dtype=torch.float32)
        inplace = False
    args = [t.detach().contiguous().reshape(-1).numpy() for t in (z, d, alpha, beta)]
    outs = [t.reshape(-1).numpy() for t in (m, a_out, b_out)]
    const = (
        np.uint64(key),
        np.float32(0.0 if a == 0 else 1.0 / a),
        a == 0.0,
        np.float32(s),
        np.float32(math.sqrt(1.0 + s)),
        np.float32(math.sqrt(max(0.0, 1.0 - s))),
        paper,
        need_state,
        inplace,
    )
    workers = torch.get_num_threads()
    total = n_in * shots
    if workers <= 1 or total < _PARALLEL_MIN:
        _natural_kernel(*args, n_in, 0, shots, 0, n_in, *const, *outs)
        return (m, a_out, b_out) if need_state else (m, None, None)
    if shots >= workers:
        cuts = np.linspace(0, shots, workers + 1).astype(int)
        parts = [(int(lo), int(hi), 0, n_in) for lo, hi in zip(cuts[:-1], cuts[1:], strict=True)]
    else:
        cuts = np.linspace(0, n_in, workers + 1).astype(int)
        parts = [(0, shots, int(lo), int(hi)) for lo, hi in zip(cuts[:-1], cuts[1:], strict=True)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [
            pool.submit(_natural_kernel, *args, n_in, *part, *const, *outs) for part in parts
        ]
        for future in futures:
            future.result()
    return (m, a_out, b_out) if need_state else (m, None, None)


# --------------------------------------------------------------------------- modules


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


def _measure(
    alpha: Tensor, beta: Tensor, u: Tensor, s: float, paper: bool
) -> tuple[Tensor, Tensor, Tensor]:
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
        return self._apply(state, u)

    def _apply(self, state: QubitState, u: Tensor) -> tuple[Tensor, QubitState]:
        m, alpha, beta = _measure(
            state.alpha, state.beta, u, math.sin(self.g), self.update == "paper"
        )
        z = state.z
        if z is not None and z.shape != m.shape:
            z = z.expand(m.shape)
        return _attach_ste(z, m), QubitState(alpha, beta, m, None)

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
        return _attach_ste(zz, m), new

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


def majority_vote(predictions: Tensor, num_classes: int) -> Tensor:
    """The most frequent class along the first axis of ``predictions`` (shots, ...); ties go to
    the smallest class (as ``scipy.stats.mode``)."""
    num_classes = check_int("num_classes", num_classes, 1)
    counts = torch.nn.functional.one_hot(predictions, num_classes).sum(0)
    return counts.argmax(-1)


def _kaiming(layers: Sequence[nn.Linear], generator: torch.Generator | None) -> None:
    # kaiming_normal_(nonlinearity='linear'): std = 1/sqrt(fan_in)
    with torch.no_grad():
        for layer in layers:
            fan_in = layer.weight.shape[1]
            w = torch.randn(layer.weight.shape, generator=generator, dtype=torch.float32)
            layer.weight.copy_(w / math.sqrt(fan_in))


def _pass_buffers(
    layer: int, state: QubitState | None, workspace: dict[tuple[int, str], Tensor] | None
) -> OutputBuffers:
    """The kernel outputs of hidden layer ``layer`` in one forward pass. The pass owns its
    register, so the new amplitudes overwrite the previous layer's where the shapes agree; the
    rest come from ``workspace`` (kept across the batches of one evaluation, whose activations
    nobody keeps) or are fresh."""

    def out(role: str, shape: torch.Size) -> Tensor:
        if role != "m" and state is not None and state.alpha.shape == shape:
            own = state.alpha if role == "alpha" else state.beta
            if own.is_contiguous() and own.dtype == torch.float32:
                return own
        if workspace is None:
            return _fresh(role, shape)
        buf = workspace.get((layer, role))
        if buf is None or buf.shape != shape:
            buf = workspace[(layer, role)] = _fresh(role, shape)
        return buf

    return out


class _BinaryMLPBase(nn.Module):
    def __init__(
        self,
        in_features: int,
        width: int,
        hidden_layers: int,
        out_features: int,
        seed: int | None,
        device: torch.device | str | None,
        dtype: torch.dtype | None,
    ) -> None:
        super().__init__()
        self.in_features = check_int("in_features", in_features, 1)
        self.width = check_int("width", width, 1)
        self.hidden_layers = check_int("hidden_layers", hidden_layers, 1)
        self.out_features = check_int("out_features", out_features, 1)
        if seed is not None:
            check_int("seed", seed, 0)
        sizes = [self.in_features] + [self.width] * self.hidden_layers + [self.out_features]
        self.layers = nn.ModuleList(
            nn.Linear(sizes[i], sizes[i + 1], bias=False) for i in range(len(sizes) - 1)
        )
        gen = None if seed is None else torch.Generator().manual_seed(seed)
        _kaiming(list(self.layers), gen)
        self.to(device=device, dtype=dtype)

    def _flatten(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor):
            raise TypeError(f"'x' must be a torch.Tensor, got {type(x).__name__}")
        if not x.is_floating_point():
            raise TypeError(f"'x' must be a floating-point tensor, got dtype {x.dtype}")
        if x.dim() < 2 or math.prod(x.shape[1:]) != self.in_features:
            raise ValueError(
                f"'x' must have {self.in_features} features per sample (shape (N, {self.in_features}) "
                f"or (N, ...) flattening to it), got shape {tuple(x.shape)}"
            )
        return x.reshape(x.shape[0], self.in_features)

    def _vote_logits(
        self,
        h: Tensor,
        generator: torch.Generator | None,
        shots: int,
        workspace: dict[tuple[int, str], Tensor],
    ) -> Tensor:
        """Logits ``(shots, N, out)`` of one batch of :meth:`vote_counts`; ``workspace`` may keep
        buffers for the next batch."""
        return self(h, generator=generator, shots=shots)

    @torch.no_grad()
    def vote_counts(
        self,
        x: Tensor,
        shots: int = 15,
        generator: torch.Generator | None = None,
        batch_size: int | None = 2048,
    ) -> Tensor:
        """How many of ``shots`` fresh stochastic passes predict each class: ``(N, out_features)``.

        Args:
            x: Inputs.
            shots: Number of passes, ``>= 1``.
            generator: Randomness source.
            batch_size: Samples per batched computation (memory ``~ shots * batch_size * width``);
                None: all at once.
        """
        shots = check_int("shots", shots, 1)
        if batch_size is not None:
            batch_size = check_int("batch_size", batch_size, 1)
        h = self._flatten(x)
        step = batch_size or max(1, h.shape[0])
        workspace: dict[tuple[int, str], Tensor] = {}  # buffers reused from batch to batch
        out = []
        for start in range(0, h.shape[0], step):
            logits = self._vote_logits(h[start : start + step], generator, shots, workspace)
            preds = logits.argmax(-1)
            out.append(torch.nn.functional.one_hot(preds, self.out_features).sum(0))
        return torch.cat(out) if out else torch.zeros(0, self.out_features, dtype=torch.long)

    @torch.no_grad()
    def predict(
        self,
        x: Tensor,
        shots: int = 15,
        generator: torch.Generator | None = None,
        batch_size: int | None = 2048,
    ) -> Tensor:
        """Class predictions: single-shot (``shots=1``) or the majority vote over ``shots``
        fresh passes (the paper uses 15); ties go to the smallest class."""
        return self.vote_counts(x, shots, generator, batch_size).argmax(-1)


class NaturalQuantizedMLP(_BinaryMLPBase):
    """The naturally quantized MLP: real weights, no biases, qubit-neuron hidden activations.

    ``in_features -> width x hidden_layers -> out_features``; hidden layer ``l`` computes
    ``z = W_l d_{l-1}`` (``d_0 = x``), then rotates (stretch ``a``) and weakly measures (angle
    ``g``; the last hidden layer uses ``last_g``), carrying the register's angles from layer to
    layer (see the module docstring). Output: logits ``W_out d_L``. Weights are Kaiming-normal
    (``nonlinearity='linear'``: ``N(0, 1/fan_in)``), as in the authors' code.

    The paper's network is ``NaturalQuantizedMLP(784, 512, 3, 10, a=..., g=...)``.

    Args:
        in_features: Input features (784 for MNIST).
        width: Qubits per register (hidden width), ``>= 1``.
        hidden_layers: Number of hidden layers, ``>= 1``.
        out_features: Number of logits.
        a: Stretch of the rotation, ``a >= 0`` (``0``: classical sign rotation).
        g: Entangling angle of the weak measurements, in ``[0, pi/2]``.
        last_g: Angle of the last hidden layer's measurement (the authors' code: ``pi/2``).
            None uses ``g``.
        update: Post-measurement update, ``"paper"`` or ``"exact"``.
        backend: ``"auto"``, ``"torch"`` or ``"numba"`` (see :class:`NaturalActivation`).
        seed: Seed of the weight initialisation (None: torch's default generator).
        device: Device of the parameters.
        dtype: Floating dtype of the parameters (default float32).
    """

    def __init__(
        self,
        in_features: int = 784,
        width: int = 512,
        hidden_layers: int = 3,
        out_features: int = 10,
        *,
        a: float = 0.0,
        g: float = HALF_PI,
        last_g: float | None = HALF_PI,
        update: str = "paper",
        backend: str = "auto",
        seed: int | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        a = _check_a(a)
        g = _check_g(g)
        last_g = g if last_g is None else _check_g(last_g, "last_g")
        check_choice("update", update, UPDATES)
        check_choice("backend", backend, BACKENDS)
        super().__init__(in_features, width, hidden_layers, out_features, seed, device, dtype)
        self.a, self.g, self.last_g, self.update = a, g, last_g, update
        self.activations = nn.ModuleList(
            NaturalActivation(a, last_g if i == hidden_layers - 1 else g, update, backend)
            for i in range(hidden_layers)
        )

    def forward(
        self, x: Tensor, generator: torch.Generator | None = None, shots: int | None = None
    ) -> Tensor:
        """Stochastic forward pass(es).

        Args:
            x: Inputs, ``(N, in_features)`` or ``(N, ...)`` flattening to it.
            generator: Randomness source on the model's device (None: torch's default).
            shots: None for one pass, giving logits ``(N, out_features)``; an integer ``k >= 1``
                for ``k`` independent passes in one batched computation, giving
                ``(k, N, out_features)``.

        Returns:
            The logits.
        """
        logits, _ = self._run(x, generator, shots, keep_activations=False)
        return logits

    def _run(
        self,
        x: Tensor,
        generator: torch.Generator | None,
        shots: int | None,
        keep_activations: bool,
        workspace: dict[tuple[int, str], Tensor] | None = None,
    ) -> tuple[Tensor, list[Tensor]]:
        if shots is not None:
            shots = check_int("shots", shots, 1)
        h = self._flatten(x)
        acts: list[Tensor] = []
        state: QubitState | None = None
        z = self.layers[0](h)
        last = len(self.activations) - 1
        for i, act in enumerate(self.activations):
            if i > 0:
                z = self.layers[i](h)
            # the first layer is deterministic: draw the shot axis at its measurement only
            out = _pass_buffers(i, state, workspace)
            d, state = act(z, state, generator, shots if i == 0 else None, i < last, out)
            h = d
            if keep_activations:
                acts.append(d)
        return self.layers[-1](h), acts

    def _vote_logits(
        self,
        h: Tensor,
        generator: torch.Generator | None,
        shots: int,
        workspace: dict[tuple[int, str], Tensor],
    ) -> Tensor:
        return self._run(h, generator, shots, False, workspace)[0]

    @torch.no_grad()
    def sample_activations(
        self, x: Tensor, shots: int = 1, generator: torch.Generator | None = None
    ) -> list[Tensor]:
        """The hidden activations of ``shots`` independent passes: one ``(shots, N, width)``
        tensor of +/-1 per hidden layer."""
        shots = check_int("shots", shots, 1)
        _, acts = self._run(x, generator, shots, keep_activations=True)
        return acts

    @torch.no_grad()
    def expected_activations(
        self, x: Tensor, shots: int = 100, generator: torch.Generator | None = None
    ) -> list[Tensor]:
        """Monte Carlo estimate of ``E[d]`` per hidden layer: the mean of ``shots`` passes, a list
        of ``(N, width)`` tensors (standard error ``<= 1/sqrt(shots)``). For the first layer the
        closed form is :func:`expected_activation` when ``g = pi/2`` (or ``hidden_layers == 1``)."""
        return [d.mean(0) for d in self.sample_activations(x, shots, generator)]

    def extra_repr(self) -> str:
        return f"a={self.a:g}, g={self.g:.6g}, last_g={self.last_g:.6g}, update={self.update!r}"


class SignMLP(_BinaryMLPBase):
    """The deterministic sign network with the same layout as :class:`NaturalQuantizedMLP`:
    ``d = sign(z)`` with the straight-through gradient ``1{|z| < 1}`` (the authors'
    ``Det_MLP``). Its ``state_dict`` is interchangeable with the natural network's.

    ``forward(x, generator=None, shots=None)`` has the natural network's signature; the
    generator is ignored and ``shots=k`` repeats the (identical) pass ``k`` times in one batched
    computation, so that timings compare like with like.
    """

    def __init__(
        self,
        in_features: int = 784,
        width: int = 512,
        hidden_layers: int = 3,
        out_features: int = 10,
        *,
        seed: int | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(in_features, width, hidden_layers, out_features, seed, device, dtype)

    def forward(
        self, x: Tensor, generator: torch.Generator | None = None, shots: int | None = None
    ) -> Tensor:
        """Logits ``(N, out)``, or ``(shots, N, out)`` when ``shots`` is given."""
        if shots is not None:
            shots = check_int("shots", shots, 1)
        h = self._flatten(x)
        z = self.layers[0](h)
        if shots is not None:
            z = z.expand(shots, *z.shape)
        for i in range(1, len(self.layers)):
            h = sign_ste(z)
            z = self.layers[i](h)
        return z
