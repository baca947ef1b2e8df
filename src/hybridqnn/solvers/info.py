"""The one convention for ``sampleset.info``, borrowed from dwave-samplers.

Every sampler hybridqnn ships or registers returns ``info`` with:

- ``timing``: ``{"preprocessing_ns", "sampling_ns", "postprocessing_ns"}``, integer
  nanoseconds, the keys of dwave-samplers (conversion and set-up; the search itself; building
  the sample set). A sampler that cannot split its time reports the whole call as sampling.
- ``seed``: the seed the call used, for every sampler that takes ``seed`` (drawn from fresh
  entropy when none was given, so any run can be repeated).
- the method's own figures under one namespaced key, a dict: ``info["dense_sa"]``,
  ``info["sb"]``, ``info["cim"]``, ``info["milp"]``, ``info["sa"]``, ...; composites add theirs
  (``limited_precision``, ``noisy_oracle``, ``time_budget``) next to their child's, which they
  keep.

Nothing else sits at the top level. :func:`hybridqnn.testing.conformance.check_info` checks it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dimod
import numpy as np

TIMING_KEYS = ("preprocessing_ns", "sampling_ns", "postprocessing_ns")
#: Top-level keys that are not a method's namespace.
RESERVED_KEYS = ("timing", "seed")
SEED_BOUND = 2**31  # drawn seeds lie in [0, 2^31), which every Ocean sampler accepts


def draw_seed() -> int:
    """A seed from fresh OS entropy, in [0, 2^31)."""
    return int(np.random.SeedSequence().generate_state(1)[0]) % SEED_BOUND


def timing(*stamps: int) -> dict[str, int]:
    """``timing`` from four ``time.perf_counter_ns()`` stamps: start, sampling begins, sampling
    ends, done."""
    start, begin, end, done = stamps
    return {"preprocessing_ns": begin - start, "sampling_ns": end - begin, "postprocessing_ns": done - end}


def child_timing(info: Mapping[str, Any], call_ns: int) -> dict[str, int]:
    """A child's ``timing``, or the whole child call (``call_ns``) as sampling if it gave none."""
    given = info.get("timing")
    if isinstance(given, Mapping) and all(k in given for k in TIMING_KEYS):
        return {k: int(given[k]) for k in TIMING_KEYS}
    return {"preprocessing_ns": 0, "sampling_ns": int(call_ns), "postprocessing_ns": 0}


def add_timing(total: Mapping[str, int], extra: Mapping[str, int]) -> dict[str, int]:
    """Key-wise sum of two ``timing`` dicts."""
    return {k: int(total.get(k, 0)) + int(extra.get(k, 0)) for k in TIMING_KEYS}


def conventional(
    sampleset: dimod.SampleSet, key: str, *, call_ns: int, seed: int | None = None, reports_seed: bool = False
) -> dimod.SampleSet:
    """``sampleset`` with its ``info`` rewritten to the convention, in place: the sampler's own
    ``timing`` (or the call, ``call_ns``, as sampling), ``seed`` if ``reports_seed``, and every
    other entry under ``info[key]``."""
    own = dict(sampleset.info)
    info: dict[str, Any] = {"timing": child_timing(own, call_ns)}
    own.pop("timing", None)
    if reports_seed:
        info["seed"] = seed
    info[key] = own
    sampleset.info.clear()
    sampleset.info.update(info)
    return sampleset
