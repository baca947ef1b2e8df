"""get_executor: serial, thread and process pools, the dask spec and the environment variable;
the Dask executor's watchdog (no workers: a warning, then ClusterError) and lost scheduler."""

from __future__ import annotations

import logging
import math
import sys
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor, as_completed

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hybridqnn import parallel
from hybridqnn.parallel import (
    DASK_TIMEOUT_S,
    EXECUTOR_ENV,
    ClusterError,
    DaskExecutor,
    ExecutorSpec,
    SerialExecutor,
    default_workers,
    get_executor,
    parse_executor_spec,
)

RELEASE = threading.Event()  # lets the in-process Dask worker's held task finish


def square(x: int) -> int:
    return x * x


def fail(x: int) -> int:
    raise RuntimeError(f"task {x} failed")


def hold(x: int) -> int:
    RELEASE.wait(10)
    return x


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(EXECUTOR_ENV, raising=False)


@pytest.mark.parametrize("spec", ["serial", "thread", "process"])
def test_map_runs_correctly(spec: str) -> None:
    with get_executor(spec, max_workers=2) as pool:
        assert isinstance(pool, Executor)
        assert list(pool.map(square, range(10))) == [x * x for x in range(10)]
        assert pool.submit(square, 7).result() == 49


@pytest.mark.parametrize(
    ("spec", "cls"),
    [("serial", SerialExecutor), ("thread", ThreadPoolExecutor), ("process", ProcessPoolExecutor)],
)
def test_spec_selects_executor_type(spec: str, cls: type) -> None:
    with get_executor(spec, max_workers=2) as pool:
        assert isinstance(pool, cls)


def test_thread_with_one_worker_is_serial() -> None:
    with get_executor("thread", max_workers=1) as pool:
        assert isinstance(pool, SerialExecutor)


def test_serial_runs_inline_and_delivers_exceptions_through_future() -> None:
    with get_executor("serial") as pool:
        ident = pool.submit(threading.get_ident).result()
        assert ident == threading.get_ident()
        future = pool.submit(fail, 3)
        assert future.done()
        with pytest.raises(RuntimeError, match="task 3 failed"):
            future.result()


def test_thread_pool_propagates_exceptions() -> None:
    with (
        get_executor("thread", max_workers=2) as pool,
        pytest.raises(RuntimeError, match="task 1 failed"),
    ):
        list(pool.map(fail, [1]))


@pytest.mark.parametrize("spec", ["threads", "", "Serial", "mpi://host"])
def test_bad_spec_value_error(spec: str) -> None:
    with pytest.raises(ValueError, match="'executor' must be"):
        with get_executor(spec):
            pass


def test_bad_spec_type_error() -> None:
    with pytest.raises(TypeError, match="'executor' must be a string"):
        with get_executor(3):  # type: ignore[arg-type]
            pass


@pytest.mark.parametrize("spec", ["dask://localhost:8786", "tcp://127.0.0.1:8786"])
def test_dask_without_distributed_gives_install_hint(spec: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    with pytest.raises(ImportError, match=r"pip install 'hybridqnn\[distributed\]'"):
        with get_executor(spec):
            pass


@pytest.mark.parametrize(
    ("env", "cls"), [("serial", SerialExecutor), ("process", ProcessPoolExecutor)]
)
def test_environment_variable_honoured(
    monkeypatch: pytest.MonkeyPatch, env: str, cls: type
) -> None:
    monkeypatch.setenv(EXECUTOR_ENV, env)
    with get_executor(max_workers=2) as pool:
        assert isinstance(pool, cls)
        assert list(pool.map(square, [2, 3])) == [4, 9]
    # an explicit spec wins over the environment, and the environment over a caller's default
    with get_executor("thread", max_workers=2) as pool:
        assert isinstance(pool, ThreadPoolExecutor)
    with get_executor(max_workers=2, default="thread") as pool:
        assert isinstance(pool, cls)


def test_a_callers_default_applies_without_spec_or_environment() -> None:
    with get_executor(max_workers=2, default="process") as pool:
        assert isinstance(pool, ProcessPoolExecutor)
        assert pool.submit(square, 5).result() == 25


def test_environment_variable_bad_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(EXECUTOR_ENV, "bogus")
    with pytest.raises(ValueError, match="'bogus'"):
        with get_executor():
            pass


def test_default_is_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(EXECUTOR_ENV, "")  # empty means unset
    with get_executor(max_workers=2) as pool:
        assert isinstance(pool, ThreadPoolExecutor)


def test_default_workers_positive() -> None:
    assert default_workers() >= 1


def test_dask_executor_on_a_local_cluster() -> None:
    """The same code path runs on a Dask cluster (a LocalCluster on loopback here)."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, protocol="tcp", host="127.0.0.1", dashboard_address=None
    ) as cluster:
        address = cluster.scheduler_address.split("://", 1)[1]
        with get_executor(f"dask://{address}") as pool:
            assert list(pool.map(square, range(6))) == [0, 1, 4, 9, 16, 25]


def test_qubo_head_runs_on_a_dask_cluster() -> None:
    distributed = pytest.importorskip("distributed")
    import numpy as np

    from hybridqnn.solvers import get_sampler
    from hybridqnn.train import fit_qubo_head

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0).astype(int)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, protocol="tcp", host="127.0.0.1", dashboard_address=None
    ) as cluster:
        address = cluster.scheduler_address.split("://", 1)[1]
        on_dask = fit_qubo_head(x, y, 3, get_sampler("steepest"), bits=6, max_iter=3, seed=1, executor=f"dask://{address}")
    local = fit_qubo_head(x, y, 3, get_sampler("steepest"), bits=6, max_iter=3, seed=1, executor="serial")
    np.testing.assert_array_equal(on_dask.weights, local.weights)


# --------------------------------------------------------------------------- spec parsing
@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("thread", ExecutorSpec("thread")),
        ("dask://h:8786", ExecutorSpec("dask", "tcp://h:8786", DASK_TIMEOUT_S)),
        ("tcp://10.0.0.1:1", ExecutorSpec("dask", "tcp://10.0.0.1:1", DASK_TIMEOUT_S)),
        ("dask://h:8786?timeout=2.5", ExecutorSpec("dask", "tcp://h:8786", 2.5)),
        ("dask://[::1]:8786?timeout=none", ExecutorSpec("dask", "tcp://[::1]:8786", None)),
    ],
)
def test_parse_executor_spec(spec: str, expected: ExecutorSpec) -> None:
    assert parse_executor_spec(spec) == expected


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("dask://", "with a host"),
        ("dask://h:8786/x", "nothing after the port"),
        ("dask://h:99999", r"port in \[0, 65535\]"),
        ("dask://h:8786?timeout=0", "positive number of seconds"),
        ("dask://h:8786?timeout=-1", "positive number of seconds"),
        ("dask://h:8786?timeout=nan", "positive number of seconds"),
        ("dask://h:8786?timeout=inf", "positive number of seconds"),
        ("dask://h:8786?timeout=", "positive number of seconds"),
        ("dask://h:8786?retries=2", "query keys must be one of: timeout"),
        ("dask://dask://h:1", "'executor' must be"),
    ],
)
def test_parse_executor_spec_rejects(spec: str, match: str) -> None:
    with pytest.raises(ValueError, match=match) as info:
        parse_executor_spec(spec)
    assert repr(spec) in str(info.value) and "\n" not in str(info.value)


@given(st.text(max_size=40) | st.builds(lambda a, q: f"dask://{a}?{q}", st.text(max_size=15), st.text(max_size=15)))
def test_parse_executor_spec_only_value_errors(spec: str) -> None:
    try:
        parsed = parse_executor_spec(spec)
    except ValueError as exc:
        assert "'executor'" in str(exc)
        return
    assert parsed.kind in ("thread", "serial", "process", "dask")
    assert parsed.timeout is None or (math.isfinite(parsed.timeout) and parsed.timeout > 0)


# --------------------------------------------------------------------------- Dask: faults
def _cluster(n_workers: int):  # noqa: ANN202 - distributed is optional
    distributed = pytest.importorskip("distributed")
    return distributed.LocalCluster(
        n_workers=n_workers, threads_per_worker=1, processes=False, protocol="tcp", host="127.0.0.1",
        dashboard_address=None,
    )


def test_dask_without_workers_warns_then_fails(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "DASK_POLL_S", 0.2)
    caplog.set_level(logging.WARNING, logger="hybridqnn.parallel")
    with _cluster(0) as cluster:
        address = cluster.scheduler_address.split("://", 1)[1]
        t0 = time.monotonic()
        with get_executor(f"dask://{address}?timeout=1.5") as pool:
            futures = [pool.submit(square, x) for x in range(3)]
            with pytest.raises(ClusterError) as info:
                futures[0].result(timeout=20)
            elapsed = time.monotonic() - t0
            assert all(isinstance(f.exception(timeout=1), ClusterError) for f in futures)
    assert 1.5 <= elapsed < 10.0
    assert str(info.value) == (
        f"no worker joined the Dask scheduler at tcp://{address} within the 1.5 s timeout; 3 task(s) were waiting "
        "(raise the limit with dask://HOST:PORT?timeout=SECONDS)"
    )
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and r.name == "hybridqnn.parallel"]
    assert warnings and f"the Dask scheduler at tcp://{address} has no workers; 3 task(s) waiting" in warnings[0]


def test_dask_worker_joining_in_time_finishes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "DASK_POLL_S", 0.2)
    with _cluster(0) as cluster:
        address = cluster.scheduler_address.split("://", 1)[1]
        with get_executor(f"dask://{address}?timeout=30") as pool:
            futures = [pool.submit(square, x) for x in range(3)]
            time.sleep(0.5)
            cluster.scale(1)
            assert [f.result(timeout=20) for f in futures] == [0, 1, 4]


def test_dask_lost_scheduler_says_so() -> None:
    dask = pytest.importorskip("dask")
    RELEASE.clear()
    # the worker retries the closed scheduler for the connect timeout (30 s by default)
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}), _cluster(1) as cluster:
        address = cluster.scheduler_address.split("://", 1)[1]
        try:
            with get_executor(f"dask://{address}") as pool:
                futures = [pool.submit(hold, x) for x in range(3)]
                time.sleep(0.3)
                cluster.sync(cluster.scheduler.close)
                errors = [f.exception(timeout=10) for f in futures]
        finally:
            RELEASE.set()
    assert all(isinstance(e, ClusterError) for e in errors)
    assert str(errors[0]) == f"lost the Dask scheduler at tcp://{address}: the connection closed with 3 task(s) unfinished"


def test_dask_unreachable_scheduler_is_named() -> None:
    dask = pytest.importorskip("dask")
    pytest.importorskip("distributed")
    with dask.config.set({"distributed.comm.timeouts.connect": "0.5s"}):
        with pytest.raises(ClusterError, match=r"could not reach the Dask scheduler at tcp://127\.0\.0\.1:9: "):
            with get_executor("dask://127.0.0.1:9"):
                pass


# --------------------------------------------------------------------------- Dask: healthy
def test_dask_executor_delivers_results_errors_and_cancels() -> None:
    with _cluster(1) as cluster:
        address = cluster.scheduler_address.split("://", 1)[1]
        with get_executor(f"dask://{address}") as pool:
            assert isinstance(pool, DaskExecutor)
            futures = [pool.submit(square, x) for x in range(5)]
            assert sorted(f.result() for f in as_completed(futures, timeout=20)) == [0, 1, 4, 9, 16]
            with pytest.raises(RuntimeError, match="task 2 failed"):
                pool.submit(fail, 2).result(timeout=20)
            with pytest.raises(RuntimeError, match="task 1 failed"):
                list(pool.map(fail, [1, 2]))
        with pytest.raises(RuntimeError, match="after shutdown"):
            pool.submit(square, 1)


def test_dask_task_error_keeps_the_worker_traceback() -> None:
    import traceback

    with _cluster(1) as cluster, get_executor(f"dask://{cluster.scheduler_address.split('://', 1)[1]}") as pool:
        exc = pool.submit(fail, 4).exception(timeout=20)
    assert isinstance(exc, RuntimeError)
    assert "in fail" in "".join(traceback.format_exception(exc))
