"""Straight-through estimators (STEs): the one module that defines them.

A straight-through estimator replaces the zero (or undefined) derivative of a quantiser by a
surrogate in the backward pass. The papers this library follows differ in two places, and each
difference is a named variant here:

- :func:`binarize`: forward ``sign(x)`` with sign(0) = +1; backward ``dL/dx = dL/dy``
  (identity). BinaryConnect's weights.
- :func:`sign_binaryconnect`: forward ``sign(x)`` with sign(0) = +1; backward
  ``dL/dx = dL/dy * 1{|x| <= 1}``. BinaryConnect's activations.
- :func:`sign_natural`: forward ``torch.sign(x)`` with sign(0) = 0; backward
  ``dL/dx = dL/dy * 1{|x| < 1}``. Natural quantization's deterministic network.
- :func:`natural_straight_through`: forward a given sample ``d``; backward
  ``dL/dz = dL/dd * 1{|z| < 1}``. Natural quantization's qubit neurons.
- :func:`identity_straight_through`: forward a given quantised ``q``; backward
  ``dL/dx = dL/dq`` (identity). The identity rule for any quantiser.

Sources:

- BinaryConnect's weights (:func:`binarize`): ``W_b = sign(W)`` of real latent weights, whose
  gradient is passed unchanged (Courbariaux, Bengio & David, "BinaryConnect", NeurIPS 2015,
  Sec. 2.3; used by QP-SBGD, Krahn et al., arXiv 2310.15128). sign(0) = +1 as in their code
  (and :func:`sign`).
- BinaryConnect's activations (:func:`sign_binaryconnect`): the "hardtanh" STE, gradient kept
  where ``|x| <= 1`` (Courbariaux et al. 2015; Hubara et al., "Binarized Neural Networks",
  NeurIPS 2016, Sec. 1.3). The QP-SBGD notebooks clip at 1.001; on the integer pre-activations of
  +-1 layers both masks agree.
- Natural quantization (:func:`sign_natural`, :func:`natural_straight_through`): the authors'
  ``StepHT`` (Barney, Lakhdar-Hamina & Galitski, "Natural Quantization of Neural Networks",
  arXiv 2503.15482, code ``Galitski-theory-group/quantum-nn``): ``torch.sign`` forward
  (sign(0) = 0) and the open window ``|x| < 1``. The stochastic qubit neurons send a *sampled*
  ``d`` forward and use the same window on the pre-activation ``z``, whatever ``d`` is.
- :func:`identity_straight_through` is the quantise-anything form of the identity rule,
  ``x + (q - x).detach()`` (e.g. rounding to a K-bit grid in quantization-aware training).

The two windows differ only at ``|x| = 1`` exactly, and the two signs only at ``x = 0``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

__all__ = [
    "binarize",
    "identity_straight_through",
    "natural_straight_through",
    "sign",
    "sign_binaryconnect",
    "sign_natural",
]


def sign(x: Tensor) -> Tensor:
    """``sign(x)`` with sign(0) = +1 (BinaryConnect's convention), same dtype and device, no
    gradient."""
    one = torch.ones((), dtype=x.dtype, device=x.device)
    return torch.where(x >= 0, one, -one)


def _window(x: Tensor, closed: bool, dtype: torch.dtype) -> Tensor:
    """``1{|x| <= 1}`` (``closed``) or ``1{|x| < 1}``, as ``dtype``."""
    mask = x.abs() <= 1 if closed else x.abs() < 1
    return mask.to(dtype)


class _SignSTE(torch.autograd.Function):
    """Forward ``sign(x)`` (sign(0) = +1 if ``zero_plus``, else 0); backward
    ``grad * window(x)``."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, zero_plus: bool, closed: bool) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        ctx.closed = closed
        return sign(x) if zero_plus else torch.sign(x)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None]:  # type: ignore[override]
        (x,) = ctx.saved_tensors
        return grad * _window(x, ctx.closed, grad.dtype), None, None


class _SampleSTE(torch.autograd.Function):
    """Forward the given ``value``; backward ``grad * 1{|x| < 1}`` to ``x``."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, value: Tensor) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        return value.clone()

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        (x,) = ctx.saved_tensors
        return grad * _window(x, False, grad.dtype), None


class _IdentitySTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, w: Tensor) -> Tensor:  # type: ignore[override]
        return sign(w)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:  # type: ignore[override]
        return grad


def _check_tensor(name: str, x: Any) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"'{name}' must be a torch.Tensor, got {type(x).__name__}")


def binarize(w: Tensor) -> Tensor:
    """BinaryConnect's weight binarisation: ``sign(w)`` with sign(0) = +1, same dtype and
    device; the gradient passes straight through unchanged (identity)."""
    _check_tensor("w", w)
    return _IdentitySTE.apply(w)


def sign_binaryconnect(x: Tensor) -> Tensor:
    """BinaryConnect's sign activation: ``sign(x)`` with sign(0) = +1 forward,
    ``dL/dx = dL/dy * 1{|x| <= 1}`` backward (the hardtanh STE)."""
    _check_tensor("x", x)
    return _SignSTE.apply(x, True, True)


def sign_natural(z: Tensor) -> Tensor:
    """Natural quantization's deterministic sign (the authors' ``StepHT``): ``torch.sign(z)``
    (sign(0) = 0) forward, ``dL/dz = dL/dy * 1{|z| < 1}`` backward."""
    _check_tensor("z", z)
    return _SignSTE.apply(z, False, False)


def natural_straight_through(z: Tensor | None, d: Tensor) -> Tensor:
    """The qubit neurons' estimator: forward the sampled activations ``d`` (a copy), backward
    ``dL/dz = dL/dd * 1{|z| < 1}`` to the pre-activations ``z`` (same shape as ``d``); ``d``
    gets no gradient. Returns ``d`` itself when ``z`` is None or needs no gradient."""
    if z is None or not (torch.is_grad_enabled() and z.requires_grad):
        return d
    return _SampleSTE.apply(z, d)


def identity_straight_through(x: Tensor, q: Tensor) -> Tensor:
    """Forward the quantised ``q``, backward ``dL/dx = dL/dq`` (identity): ``x + (q - x)``
    with the difference detached."""
    return x + (q - x).detach()
