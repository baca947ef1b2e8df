"""Graph data: Planetoid from raw files, the karate club, and the GCN-normalised adjacency."""

from __future__ import annotations

import collections
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from hybridqnn.data import DataIntegrityError
from hybridqnn.data.graphs import (
    GRAPH_DATASETS,
    PLANETOID_DIR,
    GraphDataset,
    gcn_adjacency,
    load_graph_dataset,
    load_karate_club,
    load_planetoid,
    planetoid_files,
    training_receptive_field,
)

pytest.importorskip("torch_geometric", reason="graph tests need the 'graph' extra")


def _dense_gcn_norm(edge_index: np.ndarray, n: int, improved: bool = False) -> np.ndarray:
    """D~^{-1/2} (A + fill I) D~^{-1/2}, computed independently with numpy."""
    a = np.zeros((n, n))
    for u, v in edge_index.T:
        if u != v:
            a[v, u] = 1.0  # message u -> v lands in row v
    a += (2.0 if improved else 1.0) * np.eye(n)
    deg = a.sum(axis=1)
    d = 1.0 / np.sqrt(deg)
    return d[:, None] * a * d[None, :]


@pytest.fixture(scope="module")
def cora(shared_data_module: Path) -> GraphDataset:
    return load_planetoid("cora", data_dir=shared_data_module)


@pytest.fixture(scope="module")
def shared_data_module() -> Path:
    import os

    env = os.environ.get("HYBRIDQNN_DATA", "")
    path = Path(env) if env else Path(__file__).resolve().parents[3] / "shared" / "data"
    if not (path / PLANETOID_DIR / "ind.cora.x").is_file():
        pytest.skip(f"Planetoid files not found under {path} (set HYBRIDQNN_DATA)")
    return path.resolve()


def test_cora_public_split(cora: GraphDataset) -> None:
    assert (cora.num_nodes, cora.num_features, cora.num_classes) == (2708, 1433, 7)
    assert cora.num_edges == 10556  # 5278 undirected edges, both directions
    assert (int(cora.train_mask.sum()), int(cora.val_mask.sum()), int(cora.test_mask.sum())) == (
        140,
        500,
        1000,
    )
    # the public split: 20 labelled nodes per class, the first 140 nodes; then 500 validation nodes
    assert torch.bincount(cora.y[cora.train_mask], minlength=7).tolist() == [20] * 7
    assert cora.train_mask[:140].all() and not cora.train_mask[140:].any()
    assert cora.val_mask[140:640].all() and int(cora.val_mask.sum()) == 500
    assert (
        not (cora.train_mask & cora.test_mask).any() and not (cora.val_mask & cora.test_mask).any()
    )
    # bag-of-words features are 0/1; the graph is undirected, without self-loops
    assert set(torch.unique(cora.x).tolist()) == {0.0, 1.0}
    e = cora.edge_index
    assert not (e[0] == e[1]).any()
    fwd = set(map(tuple, e.T.tolist()))
    assert all((v, u) in fwd for u, v in fwd)
    assert "cora" in repr(cora) and "140/500/1000" in repr(cora)


def test_pubmed_incomplete_names_the_missing_file_and_folder(shared_data_module: Path) -> None:
    with pytest.raises(FileNotFoundError) as info:
        load_planetoid("pubmed", data_dir=shared_data_module)
    msg = str(info.value)
    assert "ind.pubmed.allx" in msg and str(shared_data_module / PLANETOID_DIR) in msg
    assert "ind.pubmed.x," not in msg  # only the missing file is named
    assert "\n" not in msg


def test_absent_dataset_names_all_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as info:
        load_graph_dataset("citeseer", data_dir=tmp_path)
    msg = str(info.value)
    for name in planetoid_files("citeseer"):
        assert name in msg
    assert str(tmp_path / PLANETOID_DIR) in msg and "\n" not in msg


def _copy_cora(src_root: Path, dst_root: Path, skip: tuple[str, ...] = ()) -> Path:
    folder = dst_root / PLANETOID_DIR
    folder.mkdir(parents=True)
    for name in planetoid_files("cora"):
        if name not in skip:
            shutil.copyfile(src_root / PLANETOID_DIR / name, folder / name)
    return folder


def test_one_missing_cora_file_is_named(tmp_path: Path, shared_data_module: Path) -> None:
    _copy_cora(shared_data_module, tmp_path, skip=("ind.cora.tx", "ind.cora.graph"))
    with pytest.raises(FileNotFoundError, match=r"missing ind\.cora\.tx, ind\.cora\.graph in "):
        load_planetoid("cora", data_dir=tmp_path)


def test_corrupt_file_fails_its_checksum(tmp_path: Path, shared_data_module: Path) -> None:
    folder = _copy_cora(shared_data_module, tmp_path)
    data = bytearray((folder / "ind.cora.y").read_bytes())
    data[-5] ^= 0xFF
    (folder / "ind.cora.y").write_bytes(bytes(data))
    with pytest.raises(DataIntegrityError, match=r"checksum mismatch for .*ind\.cora\.y"):
        load_planetoid("cora", data_dir=tmp_path)


def test_pickle_with_a_foreign_global_is_refused_before_unpickling(
    tmp_path: Path, unchecked_citeseer: None
) -> None:
    # as for a file with no published digest, only the global check guards it
    folder = tmp_path / PLANETOID_DIR
    folder.mkdir()
    benign = pickle.dumps(np.zeros((2, 2)), protocol=2)
    for name in planetoid_files("citeseer"):
        (folder / name).write_bytes(b"0\n1\n" if name.endswith("test.index") else benign)
    (folder / "ind.citeseer.graph").write_bytes(pickle.dumps(collections.OrderedDict(), protocol=2))
    with pytest.raises(
        DataIntegrityError,
        match=r"ind\.citeseer\.graph refers to the global 'collections OrderedDict'",
    ):
        load_planetoid("citeseer", data_dir=tmp_path)
    (folder / "ind.citeseer.graph").write_bytes(pickle.dumps({0: [1]}, protocol=5))
    (folder / "ind.citeseer.x").write_bytes(pickle.dumps(collections.OrderedDict(), protocol=5))
    with pytest.raises(DataIntegrityError, match="protocol-4"):
        load_planetoid("citeseer", data_dir=tmp_path)
    (folder / "ind.citeseer.x").write_bytes(b"not a pickle at all")
    with pytest.raises(DataIntegrityError, match="not a valid pickle"):
        load_planetoid("citeseer", data_dir=tmp_path)


def test_karate_club_split() -> None:
    g = load_graph_dataset("karate")
    assert (g.num_nodes, g.num_features, g.num_classes, g.num_edges) == (34, 34, 4, 156)
    assert torch.equal(g.x, torch.eye(34))
    assert g.train_mask.nonzero().ravel().tolist() == [0, 4, 8, 24]
    assert sorted(g.y[g.train_mask].tolist()) == [0, 1, 2, 3]
    assert int(g.test_mask.sum()) == 30 and not g.val_mask.any()
    assert not (g.train_mask & g.test_mask).any()


def test_karate_club_is_networkx_graph() -> None:
    nx = pytest.importorskip("networkx")
    g = load_graph_dataset("karate")
    ours = {tuple(sorted(e)) for e in g.edge_index.T.tolist()}
    assert ours == {tuple(sorted(e)) for e in nx.karate_club_graph().edges()}


def test_adjacency_matches_the_formula_on_the_karate_club() -> None:
    g = load_karate_club()
    for improved in (False, True):
        adj = g.adjacency(improved=improved)
        assert adj.is_sparse and adj.dtype == torch.float32
        ref = _dense_gcn_norm(g.edge_index.numpy(), g.num_nodes, improved)
        np.testing.assert_allclose(adj.to_dense().numpy(), ref, rtol=1e-6, atol=1e-7)
    # without self-loops: D^{-1/2} A D^{-1/2} has a zero diagonal
    assert torch.all(g.adjacency(add_self_loops=False).to_dense().diagonal() == 0)


@given(
    n=st.integers(1, 9),
    edges=st.lists(st.tuples(st.integers(0, 8), st.integers(0, 8)), max_size=30),
    directed=st.booleans(),
)
def test_adjacency_property(n: int, edges: list[tuple[int, int]], directed: bool) -> None:
    pairs = [(u, v) for u, v in edges if u < n and v < n and u != v]
    if not directed:
        pairs += [(v, u) for u, v in pairs]
    pairs = sorted(set(pairs))
    edge_index = torch.tensor(pairs, dtype=torch.int64).reshape(-1, 2).T.contiguous()
    adj = gcn_adjacency(edge_index, n)
    ref = _dense_gcn_norm(edge_index.numpy(), n)
    np.testing.assert_allclose(adj.to_dense().numpy(), ref, rtol=1e-6, atol=1e-7)
    # GCNConv's propagation is A_hat @ H
    h = torch.randn(n, 3, generator=torch.Generator().manual_seed(n))
    from torch_geometric.nn import GCNConv

    conv = GCNConv(3, 3, bias=False)
    with torch.no_grad():
        conv.lin.weight.copy_(torch.eye(3))
    torch.testing.assert_close(torch.sparse.mm(adj, h), conv(h, edge_index), rtol=1e-5, atol=1e-6)


def test_to_moves_every_tensor() -> None:
    g = load_karate_club().to("cpu")
    assert g.x.device.type == "cpu" and g.num_classes == 4
    if torch.cuda.is_available():  # pragma: no cover - only with a GPU
        gc = g.to("cuda")
        assert gc.edge_index.is_cuda and gc.adjacency().is_cuda


@pytest.mark.parametrize(
    ("call", "error", "text"),
    [
        (
            lambda: load_graph_dataset("nope"),
            ValueError,
            "'name' must be one of karate, cora, citeseer, pubmed",
        ),
        (lambda: load_graph_dataset(3), TypeError, "'name' must be a str"),
        (
            lambda: load_planetoid("karate"),
            ValueError,
            "'name' must be one of cora, citeseer, pubmed",
        ),
        (lambda: gcn_adjacency(torch.zeros(2, 3), 4), TypeError, "'edge_index' must be an int64"),
        (
            lambda: gcn_adjacency(torch.zeros(3, 2, dtype=torch.int64), 4),
            ValueError,
            "shape (2, E)",
        ),
        (
            lambda: gcn_adjacency(torch.tensor([[0], [5]]), 4),
            ValueError,
            "node ids in [0, 3], got [0, 5]",
        ),
        (
            lambda: gcn_adjacency(torch.tensor([[0], [1]]), 0),
            ValueError,
            "'num_nodes' must be an integer >= 1, got 0",
        ),
        (
            lambda: gcn_adjacency(torch.tensor([[0], [1]]), 2, improved=1),
            TypeError,
            "'improved' must be a bool",
        ),
    ],
)
def test_bad_input_one_line_errors(call, error, text) -> None:
    with pytest.raises(error) as info:
        call()
    assert text in str(info.value) and "\n" not in str(info.value)


def test_graph_dataset_validates_its_tensors() -> None:
    g = load_karate_club()
    with pytest.raises(TypeError, match="'y' must have dtype torch.int64"):
        GraphDataset(
            "g", g.x, g.edge_index, g.y.float(), g.train_mask, g.val_mask, g.test_mask, 4, "s"
        )
    with pytest.raises(ValueError, match="'train_mask' must have shape"):
        GraphDataset("g", g.x, g.edge_index, g.y, g.train_mask[:3], g.val_mask, g.test_mask, 4, "s")
    with pytest.raises(ValueError, match="'y' must lie in"):
        GraphDataset("g", g.x, g.edge_index, g.y, g.train_mask, g.val_mask, g.test_mask, 2, "s")
    assert set(GRAPH_DATASETS) == {"karate", "cora", "citeseer", "pubmed"}


def test_gcn_receptive_field_gives_full_batch_loss_and_gradients(cora: GraphDataset) -> None:
    from hybridqnn.nn import BinaryGCN

    for g in (load_karate_club(), cora):  # moved from the qpsbgd experiment tests
        adj = g.adjacency()
        a1, a2, y = training_receptive_field(g, adj)
        assert a1.shape[0] < g.num_nodes and a2.shape == (int(g.train_mask.sum()), a1.shape[0])
        model = BinaryGCN(g.num_features, 8, g.num_classes, binary=True, scaled_ste=False, seed=0)
        loss_full = torch.nn.functional.cross_entropy(
            model(g.x, adj)[g.train_mask], g.y[g.train_mask]
        )
        grads_full = torch.autograd.grad(loss_full, list(model.parameters()))
        loss_sub = torch.nn.functional.cross_entropy(model(g.x, a1, a2), y)
        grads_sub = torch.autograd.grad(loss_sub, list(model.parameters()))
        torch.testing.assert_close(loss_sub, loss_full)
        for a, b in zip(grads_full, grads_sub, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
