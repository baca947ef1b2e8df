"""Shared test configuration: a deterministic hypothesis profile.

The "ci" profile (no deadline, derandomized, modest example counts, no example database) is
loaded by default so every run explores the same examples. Set HYPOTHESIS_PROFILE=dev to get
randomized exploration with more examples locally.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
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


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder with the real data files (``$HYBRIDQNN_DATA``, else ``shared/data`` beside the
    checkout); skips the test when it holds no MNIST."""
    env = os.environ.get("HYBRIDQNN_DATA", "")
    path = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"
    if not (path / "mnist").is_dir():
        pytest.skip(f"real data folder {path} not found (set HYBRIDQNN_DATA)")
    return path
