"""Fuzzing suite: mutated files of every format (IDX, LIBSVM, CIFAR-10 batches, Planetoid, saved
models) loaded in a forked child with an address-space cap and a time limit
(:func:`hybridqnn.testing.isolation.run_isolated`).

Each case must return or raise an :class:`~hybridqnn.errors.InputFileError` (the data errors
are subclasses), never crash the child, never grow its resident memory by more than
:data:`BOUND_BYTES`, never hit the :data:`CAP_BYTES` address-space cap and never run past
:data:`TIME_S`. The parsers run with small limits (below), so the limit paths are exercised by
small files.

Profiles: the CI profile runs :data:`CI_EXAMPLES` derandomized cases per parser (seconds each);
``HYBRIDQNN_FUZZ_EXAMPLES=1000 pytest tests/data/test_fuzz.py`` runs a long one. The closing
measurement of issue 23 (before/after tables) is ``tests/data/measure_fuzz.py``.
"""

from __future__ import annotations

import itertools
import os
import shutil
from pathlib import Path

import pytest
from fuzz_corpus import PARSERS, loader, make_case, make_seeds
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hybridqnn.errors import InputFileError
from hybridqnn.testing.isolation import run_isolated

CI_EXAMPLES = {"idx": 150, "libsvm": 150, "cifar": 150, "planetoid": 60, "model": 100}
TIME_S = 10.0
BOUND_BYTES = 512 * 2**20
CAP_BYTES = 2**30
_LIMITS = {
    "HYBRIDQNN_MAX_FILE_BYTES": str(64 * 2**20),
    "HYBRIDQNN_MAX_ARRAY_BYTES": str(64 * 2**20),
    "HYBRIDQNN_MAX_ROWS": "1000000",
}


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> dict:
    return make_seeds(tmp_path_factory.mktemp("seeds"), shared_data / "planetoid")


def _examples(parser: str) -> int:
    text = os.environ.get("HYBRIDQNN_FUZZ_EXAMPLES", "")
    return int(text) if text.isdigit() else CI_EXAMPLES[parser]


@pytest.mark.parametrize("parser", PARSERS)
def test_mutated_files_give_only_project_errors_within_bounds(
    parser: str,
    seeds: dict,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    if parser == "planetoid":
        pytest.importorskip("torch_geometric")
        request.getfixturevalue("unchecked_citeseer")  # mutations reach the structure checks
    for name, value in _LIMITS.items():
        monkeypatch.setenv(name, value)
    fn, counter = loader(parser), itertools.count()

    @settings(
        max_examples=_examples(parser),
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(rng=st.randoms(use_true_random=False))
    def check(rng) -> None:
        folder = tmp_path / str(next(counter))
        path = make_case(parser, seeds, rng, folder, bomb_mib=(1, 4, 32))
        out = run_isolated(fn, path, timeout=TIME_S, memory_bytes=CAP_BYTES)
        shutil.rmtree(folder)
        assert out.status in ("ok", "raised"), out
        assert not out.over_memory and out.peak_bytes <= BOUND_BYTES, out
        assert out.seconds <= TIME_S, out
        assert out.status == "ok" or out.error_is(InputFileError), out
        assert out.status == "ok" or "\n" not in out.message, out

    check()
