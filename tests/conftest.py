"""Shared test configuration: a deterministic hypothesis profile.

The "ci" profile (no deadline, derandomized, modest example counts, no example database) is
loaded by default so every run explores the same examples. Set HYPOTHESIS_PROFILE=dev to get
randomized exploration with more examples locally.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    max_examples=30,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=200)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
