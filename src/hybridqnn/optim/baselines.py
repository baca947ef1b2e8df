"""The baselines QP-SBGD is compared with (Krahn et al., arXiv 2310.15128), on the same binary
layers (:mod:`hybridqnn.nn.binary`):

- :class:`BinaryConnect` (Courbariaux, Bengio, David, NeurIPS 2015): the forward pass uses
  sign(W), the straight-through gradient g = dL/d sign(W) updates the latent weights, which are
  clipped to [-1, 1]:

      BC-SGD:      W <- clip(W - lr g, -1, 1)
      BC-signSGD:  W <- clip(W - lr sign(g), -1, 1)      (sign(0) = 0: no step without gradient)

  Parameters that are not binary-layer weights (e.g. biases) get the same step without the clip.
- :class:`ProxQuant` (Bai, Wang, Liberty, ICLR 2019), in the form of the QP-SBGD code: an SGD
  step p <- p - lr g, then on binary-layer weights the prox step

      p <- sign(p) + sign(p - sign(p)) relu(|p - sign(p)| - lam)       (sign(0) = +1 for sign(p))

  with lam = lam0 (epoch + 1) set by :meth:`ProxQuant.set_epoch` (lam0 = 0.01 as in the paper;
  before any ``set_epoch`` call lam = lam0).
- Full-precision SGD and Adam are ``torch.optim.SGD`` / ``torch.optim.Adam``;
  :func:`make_optimizer` builds any of them by name (:data:`OPTIMIZER_NAMES`, the one
  vocabulary of optimizer names in hybridqnn: the experiments' ``methods`` use it too).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch

from hybridqnn._checks import check_bool, check_choice, check_finite_step, check_float, check_int
from hybridqnn.nn.binary import binary_layer_of, sign
from hybridqnn.optim.names import OPTIMIZER_NAMES, QPSBGD_VARIANTS

__all__ = ["BinaryConnect", "ProxQuant", "make_optimizer"]


class _LatentStep(torch.optim.Optimizer):
    """A gradient step on every parameter, then :meth:`_finish` on binary-layer weights; a
    non-finite loss or gradient is a ValueError before any parameter changes."""

    def _direction(self, grad: torch.Tensor, group: dict[str, Any]) -> torch.Tensor:
        return grad

    def _finish(self, p: torch.Tensor, group: dict[str, Any]) -> None:
        raise NotImplementedError

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One step; ``closure`` re-evaluates the model and returns the loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        grads = (
            (f"grad of param_groups[{gi}] parameter {pi}", p.grad)
            for gi, group in enumerate(self.param_groups)
            for pi, p in enumerate(group["params"])
            if p.grad is not None
        )
        check_finite_step(type(self).__name__, loss, grads)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                p.add_(self._direction(p.grad, group), alpha=-group["lr"])
                if binary_layer_of(p) is not None:
                    self._finish(p, group)
        return loss


class BinaryConnect(_LatentStep):
    """BinaryConnect with SGD (``sign=False``) or signSGD (``sign=True``) (module docstring).

    Args:
        params: parameters or param groups.
        lr: step size > 0.
        sign: use sign(g) instead of g.
        clip: clip binary-layer latent weights to [-1, 1] after the step (BinaryConnect's rule).
    """

    def __init__(
        self, params: Iterable[Any], lr: float, *, sign: bool = False, clip: bool = True
    ) -> None:
        lr = check_float("lr", lr, 0.0, low_open=True)
        super().__init__(
            params, dict(lr=lr, sign=check_bool("sign", sign), clip=check_bool("clip", clip))
        )

    def _direction(self, grad: torch.Tensor, group: dict[str, Any]) -> torch.Tensor:
        return torch.sign(grad) if group["sign"] else grad

    def _finish(self, p: torch.Tensor, group: dict[str, Any]) -> None:
        if group["clip"]:
            p.clamp_(-1.0, 1.0)


class ProxQuant(_LatentStep):
    """ProxQuant with the binary prox step of the QP-SBGD code (module docstring).

    Args:
        params: parameters or param groups.
        lr: step size > 0.
        lam: lam0, the prox strength at epoch 0 (lam = lam0 (epoch + 1)).
    """

    def __init__(self, params: Iterable[Any], lr: float, *, lam: float = 0.01) -> None:
        lr = check_float("lr", lr, 0.0, low_open=True)
        lam = check_float("lam", lam, 0.0)
        super().__init__(params, dict(lr=lr, lam=lam, lam0=lam))

    def set_epoch(self, epoch: int) -> None:
        """Set lam = lam0 (epoch + 1) in every group (lam0 = 0.01 gives the paper's schedule)."""
        epoch = check_int("epoch", epoch, 0)
        for group in self.param_groups:
            group["lam"] = group["lam0"] * (epoch + 1)

    @staticmethod
    def prox(p: torch.Tensor, lam: float) -> torch.Tensor:
        """sign(p) + sign(p - sign(p)) relu(|p - sign(p)| - lam)."""
        s = sign(p)
        r = p - s
        return s + torch.sign(r) * torch.relu(r.abs() - lam)

    def _finish(self, p: torch.Tensor, group: dict[str, Any]) -> None:
        p.copy_(self.prox(p, group["lam"]))


def make_optimizer(
    name: str, params: Iterable[Any], lr: float, **kwargs: Any
) -> torch.optim.Optimizer:
    """Build an optimizer by name: ``qpsbgd`` (:class:`~hybridqnn.optim.QPSBGD`, ``projection``
    from ``kwargs``), ``qpsbgd-ls`` / ``qpsbgd-sm`` / ``qpsbgd-xnor`` (QPSBGD with the projection
    of :data:`QPSBGD_VARIANTS`), ``bc-sgd``, ``bc-signsgd`` (:class:`BinaryConnect`),
    ``proxquant`` (:class:`ProxQuant`), ``sgd`` or ``adam`` (torch). ``kwargs`` go to the
    constructor."""
    check_choice("optimizer", name, OPTIMIZER_NAMES)
    if name == "qpsbgd" or name in QPSBGD_VARIANTS:
        from hybridqnn.optim.qpsbgd import QPSBGD

        if name in QPSBGD_VARIANTS:
            if "projection" in kwargs:
                raise ValueError(
                    f"'projection' is fixed by optimizer {name!r} "
                    f"({QPSBGD_VARIANTS[name]}), got projection={kwargs['projection']!r}"
                )
            kwargs = {**kwargs, "projection": QPSBGD_VARIANTS[name]}
        return QPSBGD(params, lr, **kwargs)
    if name == "bc-sgd":
        return BinaryConnect(params, lr, sign=False, **kwargs)
    if name == "bc-signsgd":
        return BinaryConnect(params, lr, sign=True, **kwargs)
    if name == "proxquant":
        return ProxQuant(params, lr, **kwargs)
    lr = check_float("lr", lr, 0.0, low_open=True)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, **kwargs)
    return torch.optim.Adam(params, lr=lr, **kwargs)
