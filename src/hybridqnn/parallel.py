"""One small executor abstraction for embarrassingly parallel solves.

``get_executor(spec)`` returns a ``concurrent.futures.Executor``:

- ``None`` or ``"thread"``: a local thread pool sized to the machine. This is the default
  because dwave-samplers and NumPy release the GIL in their kernels (measured 1.65x on 2 cores
  for four SA solves), and threads need no pickling: samplers that hold a network client (a
  D-Wave QPU) cannot be pickled, and dense BQMs are large. A caller whose tasks are mostly
  Python code, which holds the GIL, may pass another ``default`` (QPH's subproblems: a process
  pool, see :func:`hybridqnn.train.qcbo.fit_qcbo`).
- ``"serial"``: runs each task inline when submitted (deterministic, for debugging).
- ``"process"``: a local process pool (tasks and their arguments must be picklable).
- ``"dask://HOST:PORT"`` (or ``"tcp://HOST:PORT"``): a Dask cluster through
  ``distributed.Client`` (``pip install 'hybridqnn[distributed]'``), optionally with
  ``?timeout=SECONDS``.

The environment variable ``HYBRIDQNN_EXECUTOR`` gives the spec when none is passed (before the
caller's ``default``).

A Dask run never waits silently. While tasks wait and the scheduler has no worker, a
``logging.warning`` names the scheduler and the number of waiting tasks (within about
``DASK_POLL_S`` seconds, repeated every ``DASK_WARN_EVERY_S``); after ``timeout`` seconds
without a worker (default ``DASK_TIMEOUT_S`` = 300; ``?timeout=none`` waits for ever) every
waiting task fails with :class:`ClusterError`. A lost scheduler connection fails the waiting
tasks with :class:`ClusterError` ("lost the Dask scheduler at HOST:PORT ...") instead of a
bare ``CancelledError``. A healthy cluster runs the same tasks with the same arguments, so
its results equal the local ones.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import (
    Executor,
    Future,
    InvalidStateError,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
)
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

EXECUTOR_ENV = "HYBRIDQNN_EXECUTOR"
DASK_TIMEOUT_S = 300.0
"""Default seconds a Dask run waits with tasks pending and no worker before it fails."""
DASK_POLL_S = 1.0
"""How often the watchdog of a Dask executor asks the scheduler for its worker count."""
DASK_WARN_EVERY_S = 30.0
"""How often the no-worker warning repeats while tasks wait."""

_LOCAL = ("thread", "serial", "process")
_SPEC_RULE = "'executor' must be 'thread', 'serial', 'process' or 'dask://HOST:PORT[?timeout=SECONDS]'"

logger = logging.getLogger(__name__)


class ClusterError(RuntimeError):
    """A Dask cluster cannot run the tasks: no worker within the timeout, or the scheduler was
    lost. The one-line message names the scheduler."""


@dataclass(frozen=True)
class ExecutorSpec:
    """A parsed executor spec: ``kind`` is ``thread``, ``serial``, ``process`` or ``dask``;
    a Dask spec has the scheduler ``address`` (``tcp://HOST:PORT``) and the no-worker
    ``timeout`` in seconds (None: wait for ever)."""

    kind: str
    address: str | None = None
    timeout: float | None = None


def parse_executor_spec(spec: str | None, default: str = "thread") -> ExecutorSpec:
    """Check and parse an executor spec (None: ``HYBRIDQNN_EXECUTOR``, then ``default``).

    Raises:
        TypeError: ``spec`` is not a string.
        ValueError: an unknown kind, a Dask address without a host or with a bad port, an
            unknown query key, or a timeout that is not a positive number of seconds or ``none``.
    """
    spec = spec if spec is not None else os.environ.get(EXECUTOR_ENV) or default
    if not isinstance(spec, str):
        raise TypeError(f"'executor' must be a string such as 'thread' or 'dask://HOST:PORT', got {type(spec).__name__}")
    if spec in _LOCAL:
        return ExecutorSpec(spec)
    parts = urlsplit(spec)
    if parts.scheme not in ("dask", "tcp") or spec.count("://") != 1:
        raise ValueError(f"{_SPEC_RULE}, got {spec!r}")
    try:
        parts.port  # noqa: B018 - urlsplit checks the port lazily
    except ValueError:
        raise ValueError(f"'executor' must give a port in [0, 65535], got {spec!r}") from None
    if not parts.hostname or parts.path or parts.fragment:
        raise ValueError(f"'executor' must be dask://HOST:PORT with a host and nothing after the port, got {spec!r}")
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    if set(query) - {"timeout"}:
        raise ValueError(f"'executor' query keys must be one of: timeout; got {spec!r}")
    return ExecutorSpec("dask", f"tcp://{parts.netloc}", _timeout(query.get("timeout"), spec))


def _timeout(text: str | None, spec: str) -> float | None:
    if text is None:
        return DASK_TIMEOUT_S
    if text.lower() == "none":
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"'executor' timeout must be a positive number of seconds or 'none', got {spec!r}")
    return value


class SerialExecutor(Executor):
    """Runs every task inline at submission."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - delivered through the future
            if isinstance(exc, KeyboardInterrupt):
                raise
            future.set_exception(exc)
        return future


def default_workers() -> int:
    """Worker count for local pools: the CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@contextmanager
def get_executor(
    spec: str | None = None, max_workers: int | None = None, *, default: str = "thread"
) -> Iterator[Executor]:
    """Context manager yielding the executor named by ``spec`` (see module docstring; None:
    ``HYBRIDQNN_EXECUTOR``, then ``default``)."""
    parsed = parse_executor_spec(spec, default)
    workers = max_workers or default_workers()
    if parsed.kind == "serial" or (parsed.kind == "thread" and workers == 1):
        yield SerialExecutor()
    elif parsed.kind == "thread":
        with ThreadPoolExecutor(max_workers=workers) as pool:
            yield pool
    elif parsed.kind == "process":
        with ProcessPoolExecutor(max_workers=workers) as pool:
            yield pool
    else:
        with _dask_executor(parsed) as pool:
            yield pool


@contextmanager
def _dask_executor(spec: ExecutorSpec) -> Iterator[DaskExecutor]:
    try:
        from distributed import Client
    except ImportError:
        raise ImportError("the Dask executor needs the 'distributed' extra: pip install 'hybridqnn[distributed]'") from None
    try:
        client = Client(spec.address)
    except OSError as exc:
        raise ClusterError(f"could not reach the Dask scheduler at {spec.address}: {' '.join(str(exc).split())}") from exc
    with client:
        pool = DaskExecutor(client, spec.timeout)
        try:
            yield pool
        finally:
            pool.shutdown(wait=False)


class DaskExecutor(Executor):
    """The ``concurrent.futures`` interface on a ``distributed.Client``, with a watchdog.

    Each ``submit`` is one ``client.submit`` (so results equal ``Client.get_executor()``'s);
    its outcome reaches the returned future through a done callback. A watchdog thread runs
    while tasks wait: every ``DASK_POLL_S`` seconds it asks the scheduler how many workers it
    has; with none it warns (naming the scheduler and the waiting tasks), and after ``timeout``
    seconds without a worker it fails every waiting task with :class:`ClusterError` and
    cancels them on the cluster. A task cancelled because the scheduler connection was lost
    fails with :class:`ClusterError` too.

    Args:
        client: a connected ``distributed.Client``.
        timeout: seconds with tasks waiting and no worker before they fail (None: never).
    """

    def __init__(self, client: Any, timeout: float | None = DASK_TIMEOUT_S) -> None:
        self._client = client
        self._address = str(getattr(client.scheduler, "address", None) or client)
        self._timeout = timeout
        self._pending: dict[Future, Any] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._watchdog: threading.Thread | None = None
        self._shutdown = False
        self._lost: str | None = None

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
        task = self._client.submit(fn, *args, **kwargs)
        future: Future = Future()
        with self._lock:
            self._pending[future] = task
            if self._watchdog is None:
                self._watchdog = threading.Thread(target=self._watch, name="hybridqnn-dask-watchdog", daemon=True)
                self._watchdog.start()
        future.add_done_callback(self._on_cancel)
        task.add_done_callback(lambda t: self._deliver(future, t))
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._shutdown = True
            waiting = list(self._pending)
        if cancel_futures:
            for future in waiting:
                future.cancel()
        if wait:
            for future in waiting:
                try:
                    future.exception()
                except BaseException:  # noqa: BLE001 - only waiting here; cancelled futures raise
                    pass
        self._stop.set()

    def _on_cancel(self, future: Future) -> None:
        """A future cancelled here (``Executor.map`` after a failure) cancels its task."""
        if future.cancelled():
            with self._lock:
                task = self._pending.pop(future, None)
            future.set_running_or_notify_cancel()  # wakes concurrent.futures.wait and as_completed
            if task is not None:
                task.cancel()

    def _deliver(self, future: Future, task: Any) -> None:
        """Runs in Dask's callback thread when ``task`` finished, failed or was cancelled."""
        with self._lock:
            self._pending.pop(future, None)
        if future.done():
            return
        try:
            if task.status == "error":
                outcome, failed = task.exception().with_traceback(task.traceback()), True
            elif task.status == "finished":
                outcome, failed = task.result(), False
            else:
                outcome, failed = self._cancelled(task), True
        except Exception as exc:  # noqa: BLE001 - fetching the outcome failed: a lost connection
            outcome, failed = (self._cancelled(task) if self._client.status != "running" else exc), True
        try:
            future.set_exception(outcome) if failed else future.set_result(outcome)
        except InvalidStateError:  # the watchdog or the caller finished it first
            pass

    def _cancelled(self, task: Any) -> ClusterError:
        try:
            task.result(timeout=DASK_POLL_S)
            reason = "unknown"
        except BaseException as exc:  # noqa: BLE001 - distributed's FutureCancelledError carries the reason
            reason = str(getattr(exc, "reason", "") or type(exc).__name__)
        if reason == "scheduler-connection-lost" or self._client.status != "running":
            with self._lock:
                if self._lost is None:
                    self._lost = (
                        f"lost the Dask scheduler at {self._address}: the connection closed with "
                        f"{len(self._pending) + 1} task(s) unfinished"
                    )
                return ClusterError(self._lost)
        return ClusterError(f"the Dask scheduler at {self._address} cancelled task {task.key} (reason: {reason})")

    def _workers(self) -> int | None:
        """The scheduler's worker count, or None while it cannot be asked."""
        if self._client.status != "running":
            return None
        try:
            try:
                info = self._client.scheduler_info(n_workers=0)
            except TypeError:  # an older distributed: no n_workers argument
                info = self._client.scheduler_info()
        except Exception:  # noqa: BLE001 - the connection is going; _deliver reports it
            return None
        return int(info.get("n_workers", len(info.get("workers", ()))))

    def _watch(self) -> None:
        """The watchdog loop (class docstring)."""
        last_seen = time.monotonic()
        last_warning = -math.inf
        while not self._stop.wait(DASK_POLL_S):
            with self._lock:
                waiting = len(self._pending)
            now = time.monotonic()
            if waiting == 0 or self._workers() != 0:
                last_seen, last_warning = now, -math.inf
                continue
            idle = now - last_seen
            if self._timeout is not None and idle >= self._timeout:
                self._fail_waiting()
                last_seen = now
            elif now - last_warning >= DASK_WARN_EVERY_S:
                last_warning = now
                left = "waiting for ever" if self._timeout is None else f"failing in {self._timeout - idle:.0f} s"
                logger.warning(
                    "the Dask scheduler at %s has no workers; %d task(s) waiting for %.0f s, %s "
                    "(the spec's ?timeout=SECONDS sets the limit)",
                    self._address, waiting, idle, left,
                )

    def _fail_waiting(self) -> None:
        with self._lock:
            waiting = list(self._pending.items())
            self._pending.clear()
        message = (
            f"no worker joined the Dask scheduler at {self._address} within the {self._timeout:g} s timeout; "
            f"{len(waiting)} task(s) were waiting (raise the limit with dask://HOST:PORT?timeout=SECONDS)"
        )
        for future, _ in waiting:
            try:
                future.set_exception(ClusterError(message))
            except InvalidStateError:
                pass
        try:
            self._client.cancel([task for _, task in waiting])
        except Exception:  # noqa: BLE001 - the client is closing; the tasks go with it
            logger.debug("could not cancel the waiting tasks on %s", self._address, exc_info=True)
