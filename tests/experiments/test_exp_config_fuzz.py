"""Fuzzing the config loader (issue 23): mutated shipped configs, each loaded by
:func:`hybridqnn.experiments.load_config` in a forked child with an address-space cap and a time
limit (:func:`hybridqnn.testing.isolation.run_isolated`, as ``tests/data/test_fuzz.py`` does for
the data parsers).

Each case must load or raise one of the project's error types (``ValueError``, which includes
:class:`~hybridqnn.errors.InputFileError`, ``TypeError`` or ``FileNotFoundError``) with a
one-line message, within :data:`TIME_S` and :data:`BOUND_BYTES`. Mutations: byte-level (flips,
insertions, truncation, invalid UTF-8, a byte-order mark, very deep or very long values) and
value-level (a random key of ``[params]``/``[quick]`` set to a random TOML value: huge, negative,
NaN or infinite numbers, wrong types, empty or nested lists and tables).

The CI profile runs :data:`CI_EXAMPLES` derandomized cases (seconds);
``HYBRIDQNN_FUZZ_EXAMPLES=1000`` runs a long one.
"""

from __future__ import annotations

import math
import os
import random
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hybridqnn.experiments import load_config
from hybridqnn.experiments.config import config_path, shipped_config_names
from hybridqnn.experiments.registry import load_builtin_experiments
from hybridqnn.testing.isolation import run_isolated

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CI_EXAMPLES = 150
TIME_S = 10.0
BOUND_BYTES = 256 * 2**20
CAP_BYTES = 2**30

_VALUES: tuple[Any, ...] = (
    -1, 0, 1, 10**18, -(2**63), 2**63 - 1, math.nan, math.inf, -math.inf, -1.0, 1e308, 0.5,
    "", "bogus", "dask://", "none", True, [], [0], ["bogus"], [math.nan], {}, {"num_reads": -5},
    {"bogus_kw": 1}, {"hidden": -1}, {"x": {"a": math.nan}}, [[[[1]]]],
)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value == math.inf else "-inf" if value == -math.inf else repr(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return '"' + value + '"'
    if isinstance(value, list):
        return "[" + ", ".join(map(_toml_value, value)) + "]"
    return "{ " + ", ".join(f'"{k}" = {_toml_value(v)}' for k, v in value.items()) + " }"


def _value_mutation(text: str, rng: random.Random) -> str:
    """Set one key of ``[params]`` or ``[quick]`` (an existing one, or a made-up one) to a
    random value, appended as a new line of that table (a duplicate key is a TOML error, also
    worth a case)."""
    data = tomllib.loads(text)
    keys = list(data.get("params", {})) + ["bogus_key"]
    key = rng.choice(keys)
    value = _toml_value(rng.choice(_VALUES))
    table = rng.choice(["params", "quick"])
    lines = [line for line in text.splitlines() if not line.startswith(f"{key} =")]
    if f"[{table}]" not in lines:
        lines.append(f"[{table}]")
    lines.insert(lines.index(f"[{table}]") + 1, f"{key} = {value}")
    return "\n".join(lines) + "\n"


def _byte_mutation(data: bytes, rng: random.Random) -> bytes:
    kind = rng.randrange(7)
    pos = rng.randrange(len(data) + 1)
    if kind == 0:  # flip bytes
        out = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            out[rng.randrange(len(out))] = rng.randrange(256)
        return bytes(out)
    if kind == 1:
        return data[:pos]
    if kind == 2:
        return data[:pos] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 16))) + data[pos:]
    if kind == 3:
        return b"\xef\xbb\xbf" + data
    if kind == 4:
        depth = rng.choice([33, 1000, 20000])
        return data + b"\nx = " + b"[" * depth + b"]" * depth + b"\n"
    if kind == 5:
        return data + b'\ndescription = "' + b"x" * rng.choice([10, 2**21]) + b'"\n'
    return data + b"\n[params]\n" + data  # duplicated tables


@pytest.fixture(scope="module")
def seeds() -> list[bytes]:
    load_builtin_experiments()  # the children inherit the imported experiments
    return [Path(str(config_path(name))).read_bytes() for name in shipped_config_names()]


def _load(path: Path, quick: bool) -> None:
    load_config(path, quick=quick)


def _examples() -> int:
    text = os.environ.get("HYBRIDQNN_FUZZ_EXAMPLES", "")
    return int(text) if text.isdigit() else CI_EXAMPLES


def test_mutated_configs_give_only_project_errors_within_bounds(seeds: list[bytes], tmp_path: Path) -> None:
    counter = iter(range(10**9))

    @settings(
        max_examples=_examples(),
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(rng=st.randoms(use_true_random=False))
    def check(rng: random.Random) -> None:
        data = rng.choice(seeds)
        if rng.random() < 0.5:
            data = _value_mutation(data.decode(), rng).encode()
        if rng.random() < 0.6:
            data = _byte_mutation(data, rng)
        path = tmp_path / f"case{next(counter)}.toml"
        path.write_bytes(data)
        out = run_isolated(_load, path, rng.random() < 0.5, timeout=TIME_S, memory_bytes=CAP_BYTES)
        path.unlink()
        assert out.status in ("ok", "raised"), out
        assert not out.over_memory and out.peak_bytes <= BOUND_BYTES, out
        assert out.seconds <= TIME_S, out
        assert out.status == "ok" or out.error_is(ValueError, TypeError, FileNotFoundError), out
        assert out.status == "ok" or "\n" not in out.message, out
        assert out.status == "ok" or path.name in out.message, out

    check()
