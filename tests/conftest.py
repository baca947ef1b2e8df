"""Shared test configuration: a deterministic hypothesis profile, the real-data folder and a
chi-square goodness-of-fit test for sampled distributions.

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


def _chi2_pvalue(observed: dict, expected: dict, n: int) -> float:
    """Chi-square goodness of fit of ``observed`` counts (n draws) against the ``expected``
    probabilities, pooling the cells with expected count < 5 into one; an observed outcome of
    probability 0 fails the test outright."""
    import numpy as np
    from scipy import stats

    assert not set(observed) - set(expected), "an outcome of probability 0 was sampled"
    obs, exp, pool_o, pool_e = [], [], 0.0, 0.0
    for key, p in expected.items():
        if p * n < 5:
            pool_o += observed.get(key, 0)
            pool_e += p * n
        else:
            obs.append(observed.get(key, 0))
            exp.append(p * n)
    if pool_e > 0:
        obs.append(pool_o)
        exp.append(pool_e)
    exp_arr = np.asarray(exp) * (n / sum(exp))
    return float(stats.chisquare(obs, exp_arr).pvalue)


@pytest.fixture(scope="session")
def chi2_pvalue():
    """:func:`_chi2_pvalue`, for the tests of sampled qubit-neuron distributions."""
    return _chi2_pvalue
