"""The README's Python API examples for QP-SBGD, executed verbatim: a binary MLP and a binary
GCN, each built and trained from public imports."""

from __future__ import annotations

import pytest

BINARY_MLP = """\
import torch
from hybridqnn.data import planted_logistic
from hybridqnn.nn import BinaryMLP
from hybridqnn.solvers import get_sampler
from hybridqnn.train import bce_metrics, minibatches, optimizers_for, train_classifier

x, y, x_test, y_test = (
    torch.as_tensor(a, dtype=torch.float32) for a in planted_logistic(15, 400, 400, 0.3, seed=0)
)
model = BinaryMLP([15, 8, 1], seed=0)  # sign(W) layers with sign activations, BCE on the sign
optimizers = optimizers_for(model, "qpsbgd-ls", lr=0.05, sampler=get_sampler("dense-sa"), seed=0)
batches, per_epoch = minibatches(len(x), batch_size=20, updates=40, seed=0)
result = train_classifier(
    model, optimizers, x, y, batches, batches_per_epoch=per_epoch,
    eval_fn=lambda: bce_metrics(model, x_test, y_test, "test"),
)
print(f"test accuracy {result.final['test_accuracy']:.3f}")
"""

BINARY_GCN = """\
from hybridqnn.data import load_karate_club
from hybridqnn.nn import BinaryGCN
from hybridqnn.solvers import get_sampler
from hybridqnn.train import optimizers_for, train_gcn

graph = load_karate_club()  # 34 nodes, 4 communities, one training node each
model = BinaryGCN(graph.num_features, 16, graph.num_classes, seed=0)
optimizers = optimizers_for(model, "qpsbgd-ls", lr=0.01, sampler=get_sampler("dense-sa"), seed=0)
result = train_gcn(model, optimizers, graph, graph.adjacency(), epochs=50)
print(f"test accuracy {result.final['test_accuracy']:.3f}")
"""


def test_binary_mlp_example(capsys: pytest.CaptureFixture[str]) -> None:
    scope: dict = {}
    exec(BINARY_MLP, scope)
    assert capsys.readouterr().out.startswith("test accuracy ")
    assert scope["result"].final["test_accuracy"] > 0.6


def test_binary_gcn_example(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch_geometric")
    scope: dict = {}
    exec(BINARY_GCN, scope)
    assert capsys.readouterr().out.startswith("test accuracy ")
    assert scope["result"].final["test_accuracy"] > 0.5
