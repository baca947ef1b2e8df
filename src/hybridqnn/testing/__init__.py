"""Public conformance helpers: run hybridqnn's sampler checks on any ``dimod.Sampler`` and its
optimizer checks on any binary-network optimizer.

    from hybridqnn.testing import check_sampler
    check_sampler(MySampler(), sample_kwargs={"num_reads": 20})

    from hybridqnn.testing import check_optimizer   # needs torch

Each check raises ``AssertionError`` naming the check and what was seen.
"""

from hybridqnn.testing.conformance import CHECKS, check_sampler

__all__ = ["CHECKS", "OPTIMIZER_CHECKS", "check_optimizer", "check_sampler"]


def __getattr__(name: str) -> object:
    """The optimizer checks import torch, so they load on first use."""
    if name in ("OPTIMIZER_CHECKS", "check_optimizer"):
        from hybridqnn.testing import optimizers

        return getattr(optimizers, name)
    raise AttributeError(f"module 'hybridqnn.testing' has no attribute {name!r}")
