"""Optimizers: per-step updates (``torch.optim.Optimizer`` subclasses).

- :class:`QPSBGD`: projected SGD with binary gradients from binary quadratic problems (Krahn et
  al., arXiv 2310.15128), with any ``dimod.Sampler``;
- :class:`BinaryConnect` (BC-SGD / BC-signSGD) and :class:`ProxQuant`: its baselines.
"""

from hybridqnn.optim.baselines import OPTIMIZER_NAMES, BinaryConnect, ProxQuant, make_optimizer
from hybridqnn.optim.qpsbgd import PROJECTIONS, QPSBGD, UPDATES

__all__ = [
    "OPTIMIZER_NAMES",
    "PROJECTIONS",
    "QPSBGD",
    "UPDATES",
    "BinaryConnect",
    "ProxQuant",
    "make_optimizer",
]
