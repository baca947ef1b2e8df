"""Public conformance helpers: run hybridqnn's sampler checks on any ``dimod.Sampler`` and its
optimizer checks on any binary-network optimizer.

    from hybridqnn.testing import check_sampler
    check_sampler(MySampler(), sample_kwargs={"num_reads": 20})

    from hybridqnn.testing import check_optimizer   # needs torch

Each check raises ``AssertionError`` naming the check and what was seen.

    from hybridqnn.testing import run_isolated     # fuzz a parser: forked, capped, timed
    out = run_isolated(read_idx, path, timeout=10, memory_bytes=2**30)
"""

from hybridqnn.testing.conformance import CHECKS, check_sampler
from hybridqnn.testing.isolation import Outcome, run_isolated

__all__ = ["CHECKS", "OPTIMIZER_CHECKS", "Outcome", "check_optimizer", "check_sampler", "run_isolated"]


def __getattr__(name: str) -> object:
    """The optimizer checks import torch, so they load on first use."""
    if name in ("OPTIMIZER_CHECKS", "check_optimizer"):
        from hybridqnn.testing import optimizers

        return getattr(optimizers, name)
    raise AttributeError(f"module 'hybridqnn.testing' has no attribute {name!r}")
