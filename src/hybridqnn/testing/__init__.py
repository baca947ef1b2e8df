"""Public conformance helpers: run hybridqnn's sampler checks on any ``dimod.Sampler``.

    from hybridqnn.testing import check_sampler
    check_sampler(MySampler(), sample_kwargs={"num_reads": 20})

Each check raises ``AssertionError`` naming the check and what was seen.
"""

from hybridqnn.testing.conformance import CHECKS, check_sampler

__all__ = ["CHECKS", "check_sampler"]
