"""Optimizers: per-step updates (``torch.optim.Optimizer`` subclasses).

- :class:`QPSBGD`: projected SGD with binary gradients from binary quadratic problems (Krahn et
  al., arXiv 2310.15128), with any ``dimod.Sampler``;
- :class:`BinaryConnect` (BC-SGD / BC-signSGD) and :class:`ProxQuant`: its baselines.
"""

from __future__ import annotations

from hybridqnn._lazy import attach

# name -> the module that defines it, imported on first access (PEP 562): the names need no torch
_API: dict[str, str] = {
    "FULL_PRECISION_NAMES": "hybridqnn.optim.names",
    "OPTIMIZER_NAMES": "hybridqnn.optim.names",
    "QPSBGD_VARIANTS": "hybridqnn.optim.names",
    "BinaryConnect": "hybridqnn.optim.baselines",
    "ProxQuant": "hybridqnn.optim.baselines",
    "make_optimizer": "hybridqnn.optim.baselines",
    "PROJECTIONS": "hybridqnn.optim.qpsbgd",
    "QPSBGD": "hybridqnn.optim.qpsbgd",
    "UPDATES": "hybridqnn.optim.qpsbgd",
}


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
