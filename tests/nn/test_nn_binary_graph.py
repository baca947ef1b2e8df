"""BinaryGCNConv: Â H sign(W)^T with an inner BinaryLinear that QP-SBGD reads."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from hybridqnn.data.graphs import gcn_adjacency, load_karate_club
from hybridqnn.nn.binary import BinaryLinear, binary_layer_of
from hybridqnn.nn.binary_graph import BinaryGCNConv, aggregate

pytest.importorskip("torch_geometric", reason="graph tests need the 'graph' extra")


def _sign(w: torch.Tensor) -> torch.Tensor:
    return torch.where(w >= 0, 1.0, -1.0)


@pytest.fixture(scope="module")
def karate():
    g = load_karate_club()
    return g, g.adjacency()


def test_forward_is_propagation_times_binary_weights(karate) -> None:
    g, adj = karate
    torch.manual_seed(0)
    conv = BinaryGCNConv(34, 4)
    h = torch.randn(34, 34)
    expected = adj.to_dense() @ h @ _sign(conv.weight).T
    torch.testing.assert_close(conv(h, adj), expected, rtol=1e-5, atol=1e-5)
    # the same as torch_geometric's GCNConv with the binarised weights
    from torch_geometric.nn import GCNConv

    ref = GCNConv(34, 4, bias=False)
    with torch.no_grad():
        ref.lin.weight.copy_(_sign(conv.weight))
    torch.testing.assert_close(conv(h, g.edge_index), ref(h, g.edge_index), rtol=1e-5, atol=1e-5)
    # dense adjacency gives the same result
    torch.testing.assert_close(conv(h, adj.to_dense()), expected, rtol=1e-5, atol=1e-5)


def test_weights_enter_only_through_their_sign(karate) -> None:
    g, adj = karate
    conv = BinaryGCNConv(34, 3)
    out = conv(g.x, adj)
    with torch.no_grad():
        conv.weight.mul_(7.3)  # same signs
    torch.testing.assert_close(conv(g.x, adj), out)
    with torch.no_grad():
        conv.weight.zero_()  # sign(0) = +1
    torch.testing.assert_close(conv(g.x, adj), adj.to_dense() @ g.x @ torch.ones(34, 3))


def test_rows_of_the_adjacency_give_those_nodes_outputs(karate) -> None:
    g, adj = karate
    conv = BinaryGCNConv(34, 3)
    rows = torch.tensor([0, 5, 33])
    sub = adj.index_select(0, rows).coalesce()
    torch.testing.assert_close(conv(g.x, sub), conv(g.x, adj)[rows])
    conv(g.x, sub).sum().backward()
    assert conv.lin.qpsbgd_data()[0].x.shape == (3, 34)


def test_binary_activation_outputs_spins(karate) -> None:
    g, adj = karate
    conv = BinaryGCNConv(34, 5, binary_activation=True)
    out = conv(g.x, adj)
    assert set(torch.unique(out).tolist()) <= {-1.0, 1.0}
    assert conv.binary_activation and "binary_activation=True" in repr(conv)


def test_qpsbgd_sees_the_propagated_input(karate) -> None:
    g, adj = karate
    torch.manual_seed(1)
    conv = BinaryGCNConv(34, 4)
    h = torch.randn(34, 34)
    out = conv(h, adj)
    loss = (out * torch.randn_like(out)).sum()
    loss.backward()
    assert binary_layer_of(conv.weight) is conv.lin and isinstance(conv.lin, BinaryLinear)
    [data] = conv.lin.qpsbgd_data("pre-activation")
    torch.testing.assert_close(data.x, adj.to_dense() @ h, rtol=1e-5, atol=1e-5)
    # the layer-local problem is the true Jacobian: dL/dW = V^T (A_hat H)
    torch.testing.assert_close(conv.weight.grad, data.v.T @ data.x, rtol=1e-4, atol=1e-4)
    assert [p for p in conv.parameters()] == [conv.weight]


def test_a_qpsbgd_step_moves_by_binary_directions(karate) -> None:
    from hybridqnn.optim import QPSBGD
    from hybridqnn.solvers import get_sampler

    g, adj = karate
    torch.manual_seed(2)
    conv = BinaryGCNConv(34, 4)
    before = conv.weight.detach().clone()
    opt = QPSBGD(conv.parameters(), lr=0.1, sampler=get_sampler("dense-sa"), seed=0)
    loss = torch.nn.functional.cross_entropy(conv(g.x, adj)[g.train_mask], g.y[g.train_mask])
    loss.backward()
    opt.step()
    step = (before - conv.weight.detach()) / 0.1
    assert set(torch.unique(step.round()).tolist()) <= {-1.0, 0.0, 1.0}
    torch.testing.assert_close(step, step.round(), rtol=0, atol=1e-5)
    assert opt.stats and opt.stats[-1]["qubo_size"] == 34


def test_cached_edge_index(karate) -> None:
    g, adj = karate
    conv = BinaryGCNConv(34, 2, cached=True)
    first = conv(g.x, g.edge_index)
    assert conv._cached_adj is not None
    # a different graph would be ignored while cached: the cache assumes one fixed graph
    other = torch.tensor([[0, 1], [1, 0]])
    torch.testing.assert_close(conv(g.x, other), first)
    conv.reset_cache()
    assert not torch.allclose(conv(g.x, other), first)


@given(n=st.integers(2, 8), f=st.integers(1, 5), out=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_matches_dense_formula_on_random_graphs(n: int, f: int, out: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    mask = np.triu(rng.random((n, n)) < 0.4, 1)
    u, v = np.nonzero(mask | mask.T)
    edge_index = torch.tensor(np.stack([u, v]), dtype=torch.int64)
    adj = gcn_adjacency(edge_index, n)
    gen = torch.Generator().manual_seed(seed)
    conv = BinaryGCNConv(f, out)
    with torch.no_grad():
        conv.weight.copy_(torch.randn(out, f, generator=gen))
    h = torch.randn(n, f, generator=gen)
    a = np.zeros((n, n))
    a[v, u] = 1.0
    a += np.eye(n)
    d = 1.0 / np.sqrt(a.sum(1))
    expected = (d[:, None] * a * d[None, :]) @ h.numpy() @ _sign(conv.weight).detach().numpy().T
    np.testing.assert_allclose(conv(h, adj).detach().numpy(), expected, rtol=1e-5, atol=1e-5)


def _sequential_sum(a: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Row i of A·M in float32, adding A_ij M_j one term at a time in ascending j."""
    out = np.zeros((a.shape[0], m.shape[1]), dtype=np.float32)
    for i, j in zip(*np.nonzero(a), strict=True):
        out[i] += np.float32(a[i, j]) * m[j]
    return out


@given(n=st.integers(1, 9), c=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_aggregate_adds_each_row_in_ascending_column_order(n: int, c: int, seed: int) -> None:
    """The fixed order is the whole point: every way of handing over Â (dense, coalesced
    sparse, an uncoalesced COO with its entries shuffled) gives the same bits as a plain loop
    that adds A_ij M_j in ascending j, and equal columns of M give equal output columns."""
    rng = np.random.default_rng(seed)
    a = (rng.random((n, n)) < 0.5) * rng.random((n, n)).astype(np.float32)
    m = rng.integers(-3, 4, size=(n, c)).astype(np.float32)
    m = np.concatenate([m, m[:, :1]], axis=1)  # a tied column
    expected = _sequential_sum(a, m)
    dense = torch.from_numpy(a)
    rows, cols = np.nonzero(a)
    order = rng.permutation(len(rows))
    shuffled = torch.sparse_coo_tensor(
        torch.tensor(np.stack([rows[order], cols[order]]), dtype=torch.int64),
        torch.from_numpy(a[rows[order], cols[order]]),
        (n, n),
    )
    for adj in (dense, dense.to_sparse(), shuffled):
        out = aggregate(adj, torch.from_numpy(m)).numpy()
        np.testing.assert_array_equal(out, expected)
        np.testing.assert_array_equal(out[:, -1], out[:, 0])


def test_aggregate_is_differentiable() -> None:
    torch.manual_seed(0)
    adj = (torch.rand(5, 6, dtype=torch.float64) * (torch.rand(5, 6) < 0.5)).to_sparse()
    m = torch.randn(6, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: aggregate(adj, t), (m,))


@pytest.mark.parametrize(
    ("call", "error", "text"),
    [
        (
            lambda c, g, a: c(g.x[:, :5], a),
            ValueError,
            "'x' must have in_channels=34 columns, got 5",
        ),
        (lambda c, g, a: c(g.x, a.to_dense()[:, :5]), ValueError, "'adj' must have shape (M, 34)"),
        (lambda c, g, a: c(g.x, g.edge_index.int()), TypeError, "'adj' must be a float"),
        (lambda c, g, a: c(g.x, g.edge_index[:1]), ValueError, "edge_index must have shape (2, E)"),
        (lambda c, g, a: c(g.x, "adj"), TypeError, "'adj' must be a torch.Tensor"),
        (
            lambda c, g, a: BinaryGCNConv(0, 3),
            ValueError,
            "'in_channels' must be an integer >= 1, got 0",
        ),
        (lambda c, g, a: BinaryGCNConv(3, 3, cached=1), TypeError, "'cached' must be a bool"),
    ],
)
def test_bad_input_one_line_errors(karate, call, error, text) -> None:
    g, adj = karate
    conv = BinaryGCNConv(34, 3)
    with pytest.raises(error) as info:
        call(conv, g, adj)
    assert text in str(info.value) and "\n" not in str(info.value)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu(karate) -> None:  # pragma: no cover - only with a GPU
    g, adj = karate
    conv = BinaryGCNConv(34, 4)
    expected = conv(g.x, adj)
    gc = g.to("cuda")
    conv_c = conv.to("cuda")
    torch.testing.assert_close(conv_c(gc.x, gc.adjacency()).cpu(), expected, rtol=1e-4, atol=1e-4)
