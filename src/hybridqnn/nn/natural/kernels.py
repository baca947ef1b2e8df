"""The fused CPU kernel of the qubit neurons: rotate and weakly measure in one numba loop.

The same formulas as :mod:`hybridqnn.nn.natural.physics`, in float32, on the amplitude form of
the register: ``tanh`` and the sine/cosine of ``(pi/4) tanh(z/a)`` by polynomials (abs. error
~1e-7), uniforms from a counter-based splitmix64 generator keyed by one 64-bit draw, so that the
loop vectorises and splits over threads with the same samples whatever the thread count.
:func:`_run_kernel` is the entry point (used by :class:`~hybridqnn.nn.natural.NaturalActivation`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
import torch
from torch import Tensor

# LLVM may fuse a * b + c into one FMA (a single rounding): halves the polynomial work, so the
# kernel is bound by memory traffic rather than arithmetic (2x faster measured); no other
# fast-math licence (NaNs, reassociation, approximate division) is given
_FMA = {"contract"}
_R2 = np.float32(math.sqrt(0.5))
_QUARTER_PI = np.float32(math.pi / 4)
_TANH_CLAMP = np.float32(7.90531110763549805)
# Rational minimax approximation of tanh on [-7.905, 7.905] (the float32 one used by Eigen):
# max abs error ~1e-7, mul-adds only, so the loop vectorises.
_TANH = tuple(
    np.float32(c)
    for c in (
        # numerator p0..p6 (of x, x^3, ..., x^13)
        4.89352455891786e-03,
        6.37261928875436e-04,
        1.48572235717979e-05,
        5.12229709037114e-08,
        -8.60467152213735e-11,
        2.00018790482477e-13,
        -2.76076847742355e-16,
        # denominator q0..q3 (of 1, x^2, ..., x^6)
        4.89352518554385e-03,
        2.26843463243900e-03,
        1.18534705686654e-04,
        1.19825839466702e-06,
    )
)
_TA, _TB = _TANH[:7], _TANH[7:]


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


@numba.njit(cache=True, nogil=True, inline="always", error_model="numpy", fastmath=_FMA)
def _neuron(key, i, dd, zj, al, be, c):
    """The neuron at output index ``i``: draw its uniform, rotate, measure and collapse; returns
    ``(m, alpha', beta')`` (unused results are dropped by the compiler). ``c`` holds the layer's
    constants ``(inv_a, classical, s, sp, sm, paper)``."""
    inv_a, classical, s, sp, sm, paper = c
    u = _uniform(key, np.uint64(i))
    plus, a1, b1 = _rotate_measure(dd, zj, al, be, u, inv_a, classical, s, paper)
    a2, b2 = _collapse(a1, b1, plus, sp, sm)
    return (np.float32(1.0) if plus else np.float32(-1.0)), a2, b2


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
    c = (inv_a, classical, s, sp, sm, paper)
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
                ms[j], _, _ = _neuron(key, base + j, ds[j], zs[j], als[j], bes[j], c)
        elif inplace:  # the new register overwrites the old one (same index: no hazard)
            for j in range(n):
                ms[j], als[j], bes[j] = _neuron(key, base + j, ds[j], zs[j], als[j], bes[j], c)
        else:
            aos = a_out[base : base + n]
            bos = b_out[base : base + n]
            for j in range(n):
                ms[j], aos[j], bos[j] = _neuron(key, base + j, ds[j], zs[j], als[j], bes[j], c)


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
