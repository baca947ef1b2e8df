"""Run a parser call in a forked child with a memory cap and a time limit (for fuzzing).

:func:`run_isolated` forks; the child caps its address space (``RLIMIT_AS``) at its current
size plus ``memory_bytes``, resets its peak-RSS counter, calls the function and sends back what
happened through a pipe; the parent kills it after ``timeout`` seconds. A segmentation fault, an
abort or a runaway allocation therefore becomes an :class:`Outcome` (``"signal"``, ``"timeout"``
or a ``MemoryError`` that :attr:`Outcome.over_memory` flags) instead of a crashed test run.
Use it for any parser of user files (data sets, configs, saved models)::

    out = run_isolated(read_idx, path, timeout=10, memory_bytes=2**30)
    assert out.status in ("ok", "raised") and not out.over_memory
    assert out.status == "ok" or out.error_is(InputFileError)

This module imports nothing from hybridqnn, so a harness can load it beside another checkout.
POSIX only (``os.fork``).
"""

from __future__ import annotations

import faulthandler
import json
import os
import resource
import select
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Outcome", "run_isolated"]

_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Outcome:
    """What one isolated call did.

    Attributes:
        status: ``"ok"`` (returned), ``"raised"`` (an exception), ``"signal"`` (killed by a
            signal, e.g. SIGSEGV), ``"timeout"`` (killed after the time limit) or ``"exit"``
            (the child exited without reporting).
        error_type: Qualified name of the exception, e.g. ``"builtins.MemoryError"``.
        error_mro: Qualified names of the exception's classes, most derived first.
        message: The exception's message (first 300 characters).
        seconds: Wall time of the call (of the child, for ``signal``/``timeout``).
        peak_bytes: Peak resident memory the call added (VmHWM after minus VmRSS before).
        signal: The signal number for ``"signal"``.
    """

    status: str
    error_type: str | None = None
    error_mro: tuple[str, ...] = ()
    message: str | None = None
    seconds: float = 0.0
    peak_bytes: int = 0
    signal: int | None = None

    def error_is(self, *types: type[BaseException]) -> bool:
        """Whether the exception raised is an instance of one of ``types`` (by qualified name)."""
        names = {f"{t.__module__}.{t.__qualname__}" for t in types}
        return bool(names & set(self.error_mro))

    @property
    def over_memory(self) -> bool:
        """The call hit the address-space cap (``MemoryError``) or an allocator abort."""
        return "builtins.MemoryError" in self.error_mro or self.signal == signal.SIGABRT


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0  # pragma: no cover - not Linux


def _single_threaded() -> None:
    """After a fork only the forking thread exists: an OpenMP pool the parent started (torch's)
    would deadlock the child's first parallel region, so the child runs torch on one thread,
    as torch's own DataLoader workers do."""
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


def _child(fn: Callable[..., Any], args: tuple[Any, ...], memory_bytes: int, write_fd: int) -> None:
    _single_threaded()
    faulthandler.disable()  # a crash is reported as a signal; no traceback dump on stderr
    with open("/proc/self/statm") as handle:
        size = int(handle.read().split()[0]) * _PAGE
    resource.setrlimit(resource.RLIMIT_AS, (size + memory_bytes, size + memory_bytes))
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")  # reset VmHWM to the current RSS
    except OSError:  # pragma: no cover - not permitted
        pass
    before = _status_kib("VmRSS")
    report: dict[str, Any] = {"status": "ok"}
    start = time.perf_counter()
    try:
        fn(*args)
    except BaseException as exc:  # noqa: BLE001 - everything is reported
        kind = type(exc)
        report = {
            "status": "raised",
            "error_type": f"{kind.__module__}.{kind.__qualname__}",
            "error_mro": [f"{k.__module__}.{k.__qualname__}" for k in kind.__mro__],
            "message": str(exc)[:300],
        }
    report["seconds"] = time.perf_counter() - start
    report["peak_bytes"] = max(0, _status_kib("VmHWM") - before) * 1024
    os.write(write_fd, json.dumps(report).encode())


def run_isolated(
    fn: Callable[..., Any], *args: Any, timeout: float = 10.0, memory_bytes: int = 2**30
) -> Outcome:
    """Call ``fn(*args)`` in a forked child capped at ``memory_bytes`` more address space.

    Args:
        fn: The call to run (its return value is discarded).
        *args: Its arguments.
        timeout: Seconds before the child is killed (status ``"timeout"``).
        memory_bytes: Address space the child may add to what it has at the fork.

    Returns:
        The :class:`Outcome`.
    """
    read_fd, write_fd = os.pipe()
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 0
        try:
            os.close(read_fd)
            _child(fn, args, memory_bytes, write_fd)
        except BaseException:  # noqa: BLE001
            code = 70
        finally:
            os._exit(code)
    os.close(write_fd)
    chunks, timed_out = [], False
    deadline = start + timeout
    while True:
        left = deadline - time.perf_counter()
        if left <= 0:
            timed_out = True
            os.kill(pid, signal.SIGKILL)
            break
        ready, _, _ = select.select([read_fd], [], [], left)
        if ready:
            chunk = os.read(read_fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    os.close(read_fd)
    _, status = os.waitpid(pid, 0)
    seconds = time.perf_counter() - start
    if timed_out:
        return Outcome("timeout", seconds=seconds)
    if os.WIFSIGNALED(status):
        return Outcome("signal", seconds=seconds, signal=os.WTERMSIG(status))
    if not chunks:
        return Outcome("exit", seconds=seconds, message=f"exit status {os.WEXITSTATUS(status)}")
    report = json.loads(b"".join(chunks))
    report["error_mro"] = tuple(report.get("error_mro", ()))
    return Outcome(**report)
