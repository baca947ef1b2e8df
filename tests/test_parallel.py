"""get_executor: serial, thread and process pools, the dask spec and the environment variable."""

from __future__ import annotations

import sys
import threading
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor

import pytest

from hybridqnn.parallel import EXECUTOR_ENV, SerialExecutor, default_workers, get_executor


def square(x: int) -> int:
    return x * x


def fail(x: int) -> int:
    raise RuntimeError(f"task {x} failed")


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
    # an explicit spec wins over the environment
    with get_executor("thread", max_workers=2) as pool:
        assert isinstance(pool, ThreadPoolExecutor)


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
