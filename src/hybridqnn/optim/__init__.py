"""Optimizers: per-step updates (``torch.optim.Optimizer`` subclasses).

- :class:`QPSBGD`: projected SGD with binary gradients from binary quadratic problems (Krahn et
  al., arXiv 2310.15128), with any ``dimod.Sampler``;
- :class:`BinaryConnect` (BC-SGD / BC-signSGD) and :class:`ProxQuant`: its baselines.
"""

from hybridqnn.optim.baselines import (
    FULL_PRECISION_NAMES,
    OPTIMIZER_NAMES,
    QPSBGD_VARIANTS,
    BinaryConnect,
    ProxQuant,
    make_optimizer,
)
from hybridqnn.optim.qpsbgd import PROJECTIONS, QPSBGD, UPDATES

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
