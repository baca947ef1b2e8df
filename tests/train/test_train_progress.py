"""The one progress callback of the training functions (hybridqnn.train.progress): every fit calls
``progress(k, n)`` with k = 1, 2, ... up to n (fewer when it stops early), changes nothing it
computes, and rejects a callback that cannot be called. The QCBO fits' calls are checked in
tests/train/qcbo/test_train_qcbo_ph.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from hybridqnn.solvers import get_sampler
from hybridqnn.train import (
    fit_natural,
    fit_qubo_head,
    fit_sgd_head,
    minibatches,
    optimizers_for,
    train_classifier,
    train_gcn,
)
from hybridqnn.train.progress import check_progress, shared_progress


class Calls:
    """A progress callback that records its calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def __call__(self, k: int, n: int) -> None:
        self.calls.append((k, n))

    def check(self, n: int, steps: int | None = None) -> None:
        """Calls (1, n), (2, n), ... (steps, n); ``steps`` defaults to n."""
        steps = n if steps is None else steps
        assert self.calls == [(k, n) for k in range(1, steps + 1)]


def _blobs(n: int = 60, d: int = 4, c: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = np.arange(n) % c
    x = rng.normal(size=(c, d))[y] * 3 + rng.normal(size=(n, d)) * 0.5
    return (x - x.mean(0)) / x.std(0), y


def test_check_progress() -> None:
    assert check_progress(None) is None
    assert check_progress(print) is print
    with pytest.raises(TypeError, match=r"'progress' must be callable as progress\(k, n\) or None, got int"):
        check_progress(3)


@given(st.integers(1, 5), st.integers(1, 6))
def test_shared_progress_fills_one_count(runs: int, n: int) -> None:
    calls = Calls()
    for r in range(runs):
        report = shared_progress(calls, r, runs)
        for k in range(1, n + 1):
            report(k, n)
    calls.check(runs * n)
    assert shared_progress(None, 0, 2) is None


def test_sgd_head_reports_each_epoch_and_computes_the_same() -> None:
    x, y = _blobs()
    calls = Calls()
    with_bar = fit_sgd_head(x, y, 3, epochs=4, batch_size=16, seed=1, progress=calls)
    calls.check(4)
    plain = fit_sgd_head(x, y, 3, epochs=4, batch_size=16, seed=1)
    np.testing.assert_array_equal(with_bar.weights, plain.weights)
    with pytest.raises(TypeError, match="'progress' must be callable"):
        fit_sgd_head(x, y, 3, epochs=1, progress="bar")


def test_qubo_head_reports_each_iteration_and_stops_short_when_it_stops_early() -> None:
    x, y = _blobs()
    calls = Calls()
    kw = {"bits": 4, "max_iter": 6, "seed": 2, "executor": "serial", "sample_kwargs": {"num_reads": 2, "num_sweeps": 20}}
    with_bar = fit_qubo_head(x, y, 3, get_sampler("dense-sa"), progress=calls, **kw)
    calls.check(6, len(with_bar.history))
    plain = fit_qubo_head(x, y, 3, get_sampler("dense-sa"), **kw)
    np.testing.assert_array_equal(with_bar.weights, plain.weights)
    early = Calls()
    res = fit_qubo_head(x, y, 3, get_sampler("dense-sa"), progress=early, **{**kw, "patience": 1, "tol": 1.0})
    assert len(res.history) == 1
    early.check(6, 1)


def test_natural_reports_each_epoch() -> None:
    from hybridqnn.nn import NaturalQuantizedMLP

    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(32, 6, generator=gen), torch.arange(32) % 2
    calls = Calls()
    model = NaturalQuantizedMLP(6, 8, 1, 2, a=0.3, g=1.2, seed=0)
    fit_natural(model, x, y, x, y, epochs=3, batch_size=8, shots=2, progress=calls)
    calls.check(3)


def test_loops_report_each_update_and_epoch() -> None:
    from hybridqnn.nn import BinaryLogisticRegression

    x = torch.sign(torch.randn(40, 5, generator=torch.Generator().manual_seed(0)))
    y = (x.sum(1) > 0).float()
    model = BinaryLogisticRegression(5, seed=0)
    batches, per_epoch = minibatches(40, 8, 7, 0)
    calls = Calls()
    train_classifier(model, optimizers_for(model, "bc-signsgd", 0.1), x, y, batches, batches_per_epoch=per_epoch, progress=calls)
    calls.check(7)


def test_train_gcn_reports_each_epoch() -> None:
    pytest.importorskip("torch_geometric")
    from hybridqnn.data import load_karate_club
    from hybridqnn.nn import BinaryGCN

    g = load_karate_club()
    model = BinaryGCN(g.num_features, 8, g.num_classes, seed=0)
    calls = Calls()
    train_gcn(model, optimizers_for(model, "bc-signsgd", 0.01), g, g.adjacency(), 5, eval_every=2, progress=calls)
    calls.check(5)
