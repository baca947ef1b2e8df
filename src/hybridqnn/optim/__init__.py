"""Optimizers: per-step updates (``torch.optim.Optimizer`` subclasses).

- :class:`QPSBGD`: projected SGD with binary gradients from binary quadratic problems (Krahn et
  al., arXiv 2310.15128), with any ``dimod.Sampler``;
- :class:`BinaryConnect` (BC-SGD / BC-signSGD) and :class:`ProxQuant`: its baselines.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hybridqnn._lazy import attach, type_checking_imports

if TYPE_CHECKING:  # the names, loaded on first use (PEP 562): the names tables need no torch
    from hybridqnn.optim.baselines import BinaryConnect, ProxQuant, make_optimizer
    from hybridqnn.optim.names import FULL_PRECISION_NAMES, OPTIMIZER_NAMES, QPSBGD_VARIANTS
    from hybridqnn.optim.qpsbgd import PROJECTIONS, QPSBGD, UPDATES

_API = type_checking_imports(__file__)


__getattr__, __dir__ = attach(__name__, _API)


__all__ = [
    "FULL_PRECISION_NAMES",
    "OPTIMIZER_NAMES",
    "PROJECTIONS",
    "QPSBGD",
    "QPSBGD_VARIANTS",
    "UPDATES",
    "BinaryConnect",
    "ProxQuant",
    "make_optimizer",
]
