"""run_isolated: crashes, runaway allocations and hangs become outcomes, not a dead test run."""

from __future__ import annotations

import ctypes
import signal
import time

import numpy as np

from hybridqnn.errors import InputFileError
from hybridqnn.testing.isolation import run_isolated


def _raise_input_error(path: str) -> None:
    raise InputFileError(f"{path}: broken")


def test_return_and_project_error() -> None:
    out = run_isolated(len, "abc")
    assert out.status == "ok" and out.error_type is None and out.seconds < 5
    out = run_isolated(_raise_input_error, "f.bin")
    assert out.status == "raised" and out.error_is(InputFileError) and out.error_is(ValueError)
    assert out.message == "f.bin: broken" and not out.error_is(KeyError)


def test_segfault_is_reported() -> None:
    out = run_isolated(ctypes.string_at, 0)
    assert out.status == "signal" and out.signal == signal.SIGSEGV


def test_allocation_above_the_cap_is_a_memory_error() -> None:
    out = run_isolated(np.ones, 2**31, memory_bytes=2**28)  # 16 GiB under a 256 MiB cap
    assert out.status == "raised" and out.over_memory


def test_peak_memory_is_measured() -> None:
    out = run_isolated(lambda: np.ones(2**25), memory_bytes=2**30)  # 256 MiB, touched
    assert out.status == "ok" and 200 * 2**20 < out.peak_bytes < 400 * 2**20


def test_timeout_kills_the_child() -> None:
    start = time.perf_counter()
    out = run_isolated(time.sleep, 30, timeout=0.5)
    assert out.status == "timeout" and time.perf_counter() - start < 5
