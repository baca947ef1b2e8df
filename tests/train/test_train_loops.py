"""The training and evaluation loops (hybridqnn.train.loops)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from hybridqnn.nn import BinaryLogisticRegression, BinaryMLP
from hybridqnn.optim import QPSBGD, BinaryConnect, ProxQuant
from hybridqnn.solvers import get_sampler
from hybridqnn.train import (
    bce_metrics,
    minibatches,
    optimizers_for,
    train_classifier,
    train_gcn,
)


@given(st.integers(1, 60), st.integers(1, 9), st.integers(1, 25), st.none() | st.integers(0, 99))
def test_minibatches_schedule(n: int, batch_size: int, updates: int, seed: int | None) -> None:
    batches, per_epoch = minibatches(n, batch_size, updates, seed)
    assert len(batches) == updates and per_epoch == max(1, n // batch_size)
    for t, b in enumerate(batches):
        assert len(b) == min(batch_size, n) and len(set(b.tolist())) == len(b)
        if seed is None:  # file order, epoch after epoch
            start = (t % per_epoch) * batch_size
            assert b.tolist() == list(range(start, min(start + batch_size, n)))
    again, _ = minibatches(n, batch_size, updates, seed)
    assert all(np.array_equal(a, b) for a, b in zip(batches, again, strict=True))


def test_minibatches_per_epoch_repeats_the_first_batches() -> None:
    batches, per_epoch = minibatches(100, 10, 7, None, per_epoch=3)
    assert per_epoch == 3 and [b[0] for b in batches] == [0, 10, 20, 0, 10, 20, 0]
    with pytest.raises(ValueError, match="'batch_size' must be an integer >= 1, got 0"):
        minibatches(10, 0, 1, None)


def test_optimizers_for_splits_binary_and_real_parameters() -> None:
    model = BinaryLogisticRegression(5, seed=0)
    main, aux = optimizers_for(model, "bc-signsgd", 0.1, aux_lr=0.05)
    assert isinstance(main, BinaryConnect) and main.param_groups[0]["params"] == [model.lin.weight]
    assert isinstance(aux, torch.optim.Adam) and aux.param_groups[0]["params"] == [model.bias]
    assert aux.param_groups[0]["lr"] == 0.05
    (only,) = optimizers_for(BinaryMLP([5, 1], seed=0), "proxquant", 0.1)
    assert isinstance(only, ProxQuant)
    (fp,) = optimizers_for(model, "adam", 0.01)
    assert len(fp.param_groups[0]["params"]) == 2
    qp = optimizers_for(BinaryMLP([5, 1], seed=0), "qpsbgd-xnor", 0.1, sampler=get_sampler("sa"))
    assert isinstance(qp[0], QPSBGD) and qp[0].param_groups[0]["projection"] == "xnor-threshold"


def _data(n: int = 64, d: int = 7) -> tuple[torch.Tensor, torch.Tensor]:
    """Spins with the majority label: sign(w)ᵀx with w = 1 separates them."""
    g = torch.Generator().manual_seed(0)
    x = torch.where(torch.rand(n, d, generator=g) < 0.5, -1.0, 1.0)
    return x, (x.sum(1) > 0).float()


class _Recorder(torch.optim.SGD):
    """SGD that records the epochs it is given."""

    def __init__(self, params: Any) -> None:
        super().__init__(params, lr=0.01)
        self.epochs: list[int] = []

    def set_epoch(self, epoch: int) -> None:
        self.epochs.append(epoch)


def test_train_classifier_records_and_callbacks() -> None:
    x, y = _data()
    model = BinaryMLP([7, 4, 1], seed=0)
    opt = _Recorder(model.parameters())
    batches, per_epoch = minibatches(len(x), 16, 10, seed=0)  # 4 batches per epoch
    seen: list[dict[str, Any]] = []
    result = train_classifier(
        model,
        [opt],
        x,
        y,
        batches,
        batches_per_epoch=per_epoch,
        eval_fn=lambda: bce_metrics(model, x, y, "train"),
        eval_every=4,
        on_step=seen.append,
    )
    assert opt.epochs == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2]
    assert [r["step"] for r in seen] == list(range(1, 11))
    assert [("train_accuracy" in r) for r in seen] == [i in (3, 7, 9) for i in range(10)]
    assert len(result.curves["loss"]) == len(result.curves["step_seconds"]) == 10
    assert len(result.curves["eval_train_loss"]) == 3
    assert set(result.final) == {"train_loss", "train_accuracy"} and result.seconds > 0


def test_train_classifier_learns_and_is_reproducible() -> None:
    x, y = _data()

    def run() -> dict[str, float]:
        model = BinaryLogisticRegression(7, scale=0.4, seed=1)
        batches, per_epoch = minibatches(len(x), 16, 40, seed=1)
        opts = optimizers_for(model, "bc-signsgd", 0.05)
        return train_classifier(
            model,
            opts,
            x,
            y,
            batches,
            batches_per_epoch=per_epoch,
            eval_fn=lambda: bce_metrics(model, x, y, "train"),
        ).final

    first = run()
    assert first == run() and first["train_accuracy"] == 1.0


def test_bce_metrics() -> None:
    model = BinaryLogisticRegression(2, bias=False, seed=0)
    x = torch.tensor([[1.0, 1.0], [-1.0, -1.0]])
    out = model(x).reshape(-1).detach()
    y = (out >= 0).float()
    m = bce_metrics(model, x, y, "test")
    assert m["test_accuracy"] == 1.0
    expected = torch.nn.functional.binary_cross_entropy_with_logits(out, y)
    assert m["test_loss"] == pytest.approx(float(expected))


def test_train_gcn_on_the_karate_club() -> None:
    pytest.importorskip("torch_geometric")
    from hybridqnn.data import load_karate_club, training_receptive_field
    from hybridqnn.nn import BinaryGCN

    g = load_karate_club()
    adj = g.adjacency()

    def run(subgraph: Any) -> tuple[Any, list[dict[str, Any]]]:
        model = BinaryGCN(g.num_features, 8, g.num_classes, seed=0)
        seen: list[dict[str, Any]] = []
        opts = optimizers_for(model, "bc-signsgd", 0.01)
        result = train_gcn(
            model, opts, g, adj, 7, eval_every=3, subgraph=subgraph, on_epoch=seen.append
        )
        return result, seen

    result, seen = run(None)
    assert [r["epoch"] for r in seen] == [3, 6, 7]
    assert len(result.curves["train_loss"]) == 7 and len(result.curves["test_accuracy"]) == 3
    assert set(result.final) == {"train_loss", "train_accuracy", "val_accuracy", "test_accuracy"}
    assert result.final["val_accuracy"] is None  # the karate club has no validation nodes
    same, _ = run(training_receptive_field(g, adj))  # same loss and gradients: same run
    assert same.curves["train_loss"] == pytest.approx(result.curves["train_loss"])
