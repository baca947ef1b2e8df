"""The data-file limits: defaults, environment overrides and the error they raise."""

from __future__ import annotations

import pytest

from hybridqnn.data.limits import DEFAULT_LIMITS, DataLimits, check_limit, resolve_limits
from hybridqnn.errors import InputFileError


def test_documented_defaults() -> None:
    assert DEFAULT_LIMITS == DataLimits(4 * 2**30, 4 * 2**30, 50_000_000, 2**24)


def test_environment_overrides_and_explicit_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYBRIDQNN_MAX_ROWS", "10")
    assert resolve_limits().max_rows == 10 and resolve_limits().max_features == 2**24
    explicit = DataLimits(max_rows=3)
    assert resolve_limits(explicit) is explicit
    monkeypatch.setenv("HYBRIDQNN_MAX_ROWS", "-1")
    with pytest.raises(
        ValueError, match="'HYBRIDQNN_MAX_ROWS' must be a positive integer, got '-1'"
    ):
        resolve_limits()


def test_bad_limits() -> None:
    with pytest.raises(
        ValueError, match="'max_rows' must be an integer in \\[1, inf\\)|'max_rows'"
    ):
        DataLimits(max_rows=0)
    with pytest.raises(TypeError, match="'limits' must be a DataLimits"):
        resolve_limits({"max_rows": 1})  # type: ignore[arg-type]


def test_check_limit_names_file_limit_value_and_how_to_raise_it() -> None:
    check_limit("f.bin", "the row count", 5, DataLimits(max_rows=5), "max_rows")
    with pytest.raises(InputFileError) as info:
        check_limit("f.bin", "the row count", 6, DataLimits(max_rows=5), "max_rows")
    assert str(info.value) == (
        "f.bin: the row count is 6, above the limit max_rows=5 "
        "(raise it with limits=DataLimits(max_rows=...) or $HYBRIDQNN_MAX_ROWS)"
    )
