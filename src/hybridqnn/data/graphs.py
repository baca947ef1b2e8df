"""Graph data for node classification: Planetoid (Cora, CiteSeer, PubMed) and Zachary's karate
club, with the GCN-normalised adjacency.

==============  =====  =====  ========  ===================================================
name            nodes  feat.  classes   source and split
==============  =====  =====  ========  ===================================================
``karate``         34     34         4  torch_geometric's ``KarateClub`` (built in, no files)
``cora``         2708   1433         7  ``<data root>/planetoid/ind.cora.*``, public split
``citeseer``     3327   3703         6  ``<data root>/planetoid/ind.citeseer.*``, public split
``pubmed``      19717    500         3  ``<data root>/planetoid/ind.pubmed.*``, public split
==============  =====  =====  ========  ===================================================

**Planetoid** data sets are read from the eight raw files of Yang et al. (2016)
(``ind.<name>.{x,tx,allx,y,ty,ally,graph,test.index}``), which are the files Kipf & Welling's
GCN and PyTorch Geometric use, by :mod:`hybridqnn.data.planetoid`, which validates them and
assembles the graph as torch_geometric's ``read_planetoid_data`` does. Nothing is downloaded: if a file is missing,
:func:`load_planetoid` raises a one-line :class:`FileNotFoundError` naming the missing files and
the folder. The split is the standard *public* split of the Planetoid paper as PyTorch Geometric
builds it (``split="public"``): 20 training nodes per class (the first ``len(y)`` nodes), the
next 500 nodes for validation and the 1000 listed test nodes.

The raw files are Python pickles. Before any of them is unpickled, each file is checked: its
SHA-256 must match the published digest when one is known
(:data:`hybridqnn.data.planetoid.PLANETOID_SHA256`, the Cora and PubMed files as recorded in
``shared/data/MANIFEST.md``), every global the pickle refers to must be one of the few that
Planetoid files use (NumPy arrays, SciPy CSR matrices, a ``defaultdict`` of lists), and the CSR
structure, labels, test indices and graph must be valid before anything is densified. A file
that fails a check raises :class:`~hybridqnn.data.DataIntegrityError` naming it.

**Karate club** (Zachary 1977) is torch_geometric's ``KarateClub``: the 34-node, 78-edge
graph, one-hot node features (the identity matrix) and the four communities of Kipf & Welling's
demo (obtained by modularity-based clustering). The split is the one that data set defines: one
training node per community (the lowest-numbered node of each: nodes 0, 4, 8 and 24), no
validation nodes and the other 30 nodes as the test set. networkx's ``karate_club_graph`` has
the same graph but only the two-faction ``club`` attribute; the four-class labels are used
because the QP-SBGD paper's GCN experiments use PyTorch Geometric.

torch_geometric is an optional dependency (``pip install 'hybridqnn[graph]'``) and is imported
only when a graph is loaded or normalised.
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass
from typing import Any

import torch

from hybridqnn._checks import check_bool, check_choice
from hybridqnn.data.limits import DataLimits, resolve_limits
from hybridqnn.data.paths import resolve_data_root
from hybridqnn.data.planetoid import PLANETOID_SUFFIXES, read_planetoid

logger = logging.getLogger(__name__)

__all__ = [
    "GRAPH_DATASETS",
    "PLANETOID_DIR",
    "PLANETOID_NAMES",
    "GraphDataset",
    "gcn_adjacency",
    "load_graph_dataset",
    "load_karate_club",
    "load_planetoid",
    "planetoid_files",
    "training_receptive_field",
]

GRAPH_DATASETS: tuple[str, ...] = ("karate", "cora", "citeseer", "pubmed")
"""Names accepted by :func:`load_graph_dataset`."""

PLANETOID_NAMES: tuple[str, ...] = ("cora", "citeseer", "pubmed")
"""Names accepted by :func:`load_planetoid`."""

PLANETOID_DIR = "planetoid"
"""Folder under the data root that holds the raw ``ind.<name>.*`` files."""

_INSTALL_HINT = "pip install 'hybridqnn[graph]'"


def _require_torch_geometric() -> Any:
    try:
        with warnings.catch_warnings():
            # torch_geometric's import emits torch.jit deprecation warnings that are not ours
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", UserWarning)
            import torch_geometric
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            f"graph data sets need torch_geometric, which is not installed ({_INSTALL_HINT})"
        ) from exc
    return torch_geometric


@dataclass(frozen=True, eq=False)
class GraphDataset:
    """A node-classification graph with its fixed split.

    Attributes:
        name: ``"karate"``, ``"cora"``, ``"citeseer"`` or ``"pubmed"``.
        x: Node features, ``float32`` of shape ``(N, F)`` (raw values: 0/1 bag-of-words for
            Cora and CiteSeer, TF-IDF for PubMed, one-hot for the karate club).
        edge_index: ``int64`` of shape ``(2, E)``, both directions of every undirected edge, no
            self-loops (torch_geometric's convention: row 0 sources, row 1 targets).
        y: Node labels, ``int64`` of shape ``(N,)`` in ``0 .. num_classes - 1``.
        train_mask: ``bool`` of shape ``(N,)``.
        val_mask: ``bool`` of shape ``(N,)`` (all False for the karate club).
        test_mask: ``bool`` of shape ``(N,)``.
        num_classes: Number of classes.
        split: One-line description of the split.
    """

    name: str
    x: torch.Tensor
    edge_index: torch.Tensor
    y: torch.Tensor
    train_mask: torch.Tensor
    val_mask: torch.Tensor
    test_mask: torch.Tensor
    num_classes: int
    split: str

    def __post_init__(self) -> None:
        n = self.y.shape[0] if isinstance(self.y, torch.Tensor) else -1
        for field, dtype in (
            ("x", torch.float32),
            ("edge_index", torch.int64),
            ("y", torch.int64),
            ("train_mask", torch.bool),
            ("val_mask", torch.bool),
            ("test_mask", torch.bool),
        ):
            value = getattr(self, field)
            if not isinstance(value, torch.Tensor):
                raise TypeError(f"{field!r} must be a torch.Tensor, got {type(value).__name__}")
            if value.dtype != dtype:
                raise TypeError(f"{field!r} must have dtype {dtype}, got {value.dtype}")
        if self.y.ndim != 1:
            raise ValueError(f"'y' must be 1-D, got shape {tuple(self.y.shape)}")
        if self.x.ndim != 2 or self.x.shape[0] != n:
            raise ValueError(f"'x' must have shape (N, F) with N = {n}, got {tuple(self.x.shape)}")
        if self.edge_index.ndim != 2 or self.edge_index.shape[0] != 2:
            raise ValueError(
                f"'edge_index' must have shape (2, E), got {tuple(self.edge_index.shape)}"
            )
        if self.edge_index.numel() and (self.edge_index.min() < 0 or self.edge_index.max() >= n):
            raise ValueError(f"'edge_index' must hold node ids in [0, {n - 1}]")
        for field in ("train_mask", "val_mask", "test_mask"):
            if tuple(getattr(self, field).shape) != (n,):
                raise ValueError(
                    f"{field!r} must have shape ({n},), got {tuple(getattr(self, field).shape)}"
                )
        if self.y.numel() and (self.y.min() < 0 or self.y.max() >= self.num_classes):
            raise ValueError(f"'y' must lie in [0, {self.num_classes - 1}]")

    @property
    def num_nodes(self) -> int:
        """Number of nodes N."""
        return int(self.y.shape[0])

    @property
    def num_features(self) -> int:
        """Number of node features F."""
        return int(self.x.shape[1])

    @property
    def num_edges(self) -> int:
        """Number of directed edge entries E (twice the undirected edge count)."""
        return int(self.edge_index.shape[1])

    def to(self, device: str | torch.device) -> GraphDataset:
        """Return a copy with every tensor on ``device``."""
        moved = {
            f: getattr(self, f).to(device)
            for f in ("x", "edge_index", "y", "train_mask", "val_mask", "test_mask")
        }
        return GraphDataset(self.name, num_classes=self.num_classes, split=self.split, **moved)

    def adjacency(self, *, add_self_loops: bool = True, improved: bool = False) -> torch.Tensor:
        """The GCN-normalised adjacency Â of this graph; see :func:`gcn_adjacency`."""
        return gcn_adjacency(
            self.edge_index, self.num_nodes, add_self_loops=add_self_loops, improved=improved
        )

    def __repr__(self) -> str:
        return (
            f"GraphDataset({self.name!r}, nodes={self.num_nodes}, edges={self.num_edges}, "
            f"features={self.num_features}, classes={self.num_classes}, "
            f"train/val/test={int(self.train_mask.sum())}/{int(self.val_mask.sum())}/"
            f"{int(self.test_mask.sum())})"
        )


def gcn_adjacency(
    edge_index: torch.Tensor,
    num_nodes: int,
    *,
    add_self_loops: bool = True,
    improved: bool = False,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Return Kipf & Welling's normalised adjacency Â = D̃^{-1/2} (A + I) D̃^{-1/2} as a sparse tensor.

    The weights come from torch_geometric's ``gcn_norm`` (self-loops of weight 1, or 2 with
    ``improved=True``; D̃ the degree matrix of A + I). The result is a coalesced sparse COO
    tensor of shape ``(N, N)`` with ``Â[target, source]``, so that ``torch.sparse.mm(Â, H)``
    is exactly torch_geometric's ``GCNConv`` propagation of ``H`` (message flow source → target).

    Args:
        edge_index: ``int64`` tensor of shape ``(2, E)``.
        num_nodes: N.
        add_self_loops: Add self-loops before normalising (the GCN default).
        improved: Self-loops of weight 2 (Â = D̃^{-1/2}(A + 2I)D̃^{-1/2}).
        dtype: Floating dtype of the weights.

    Returns:
        The sparse ``(N, N)`` tensor Â, on ``edge_index``'s device.

    Raises:
        TypeError: For a wrong type.
        ValueError: For a malformed ``edge_index`` or ``num_nodes`` < 1.
        ImportError: If torch_geometric is not installed (with the install hint).
    """
    from hybridqnn._checks import check_int

    if not isinstance(edge_index, torch.Tensor) or edge_index.dtype != torch.int64:
        raise TypeError(
            f"'edge_index' must be an int64 torch.Tensor, got {type(edge_index).__name__}"
            + (f" of dtype {edge_index.dtype}" if isinstance(edge_index, torch.Tensor) else "")
        )
    num_nodes = check_int("num_nodes", num_nodes, 1)
    if edge_index.ndim != 2 or edge_index.shape[0] != 2:
        raise ValueError(f"'edge_index' must have shape (2, E), got {tuple(edge_index.shape)}")
    if edge_index.numel() and (edge_index.min() < 0 or edge_index.max() >= num_nodes):
        raise ValueError(
            f"'edge_index' must hold node ids in [0, {num_nodes - 1}], got "
            f"[{int(edge_index.min())}, {int(edge_index.max())}]"
        )
    add_self_loops = check_bool("add_self_loops", add_self_loops)
    improved = check_bool("improved", improved)
    _require_torch_geometric()
    from torch_geometric.nn.conv.gcn_conv import gcn_norm

    index, weight = gcn_norm(
        edge_index,
        torch.ones(edge_index.shape[1], dtype=dtype, device=edge_index.device),
        num_nodes,
        improved=improved,
        add_self_loops=add_self_loops,
        dtype=dtype,
    )
    # message flow source_to_target: out[target] += w * h[source]
    adj = torch.sparse_coo_tensor(
        torch.stack([index[1], index[0]]),
        weight.to(dtype),
        (num_nodes, num_nodes),
        check_invariants=True,
    )
    return adj.coalesce()


def training_receptive_field(
    graph: GraphDataset, adj: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Rows of Â for a training pass of a two-layer GCN that computes only what the loss needs.

    Returns (Â[N1, :], Â[T, N1], y[T]) with T the training nodes (``graph.train_mask``) and N1
    the nodes with a nonzero entry in Â[T, :] (T and its neighbours; 644 of Cora's 2708 nodes).
    The logits at T computed as Â[T, N1] · σ(Â[N1, :] X W_1ᵀ) W_2ᵀ equal the full-graph logits at
    T, so the training loss and every gradient are the full-batch ones
    (:class:`hybridqnn.nn.BinaryGCN` takes the two matrices). ``adj`` is the sparse Â
    (:meth:`GraphDataset.adjacency`).
    """
    if not isinstance(adj, torch.Tensor) or not adj.is_sparse:
        raise TypeError(f"'adj' must be a sparse torch.Tensor, got {type(adj).__name__}")
    train = graph.train_mask.nonzero().ravel()
    rows = adj.index_select(0, train).coalesce()
    n1 = torch.unique(rows.indices()[1])
    adj1 = adj.index_select(0, n1).coalesce()
    adj2 = rows.index_select(1, n1).coalesce()
    return adj1, adj2, graph.y[train]


def planetoid_files(name: str) -> tuple[str, ...]:
    """Return the eight raw file names of a Planetoid data set, e.g. ``ind.cora.x``."""
    name = check_choice("name", name, PLANETOID_NAMES)
    return tuple(f"ind.{name}.{suffix}" for suffix in PLANETOID_SUFFIXES)


def load_planetoid(
    name: str,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    limits: DataLimits | None = None,
) -> GraphDataset:
    """Load a Planetoid citation graph with the standard public split.

    Reads ``<data root>/planetoid/ind.<name>.*`` with :func:`hybridqnn.data.planetoid.read_planetoid`
    (every file checked and validated, then assembled as torch_geometric's
    ``read_planetoid_data`` does); the split is the public one (20 labelled nodes per class for
    training, 500 for validation, 1000 for testing).

    Args:
        name: ``"cora"``, ``"citeseer"`` or ``"pubmed"``.
        data_dir: Data root; defaults to ``$HYBRIDQNN_DATA`` or the user cache folder.
        limits: Size limits (default: :func:`~hybridqnn.data.limits.resolve_limits`).

    Returns:
        The :class:`GraphDataset`.

    Raises:
        ValueError: If ``name`` is not a Planetoid data set.
        FileNotFoundError: If any of the eight raw files is missing; the one-line message names
            the missing files and the folder. Nothing is downloaded.
        DataIntegrityError: If a file fails its checksum, names a disallowed pickle global or
            breaks a structural rule (see :mod:`hybridqnn.data.planetoid`); an
            :class:`~hybridqnn.errors.InputFileError`, as is a file over a limit.
        ImportError: If torch_geometric is not installed (with the install hint).
    """
    if not isinstance(name, str):
        raise TypeError(f"'name' must be a str, one of {', '.join(PLANETOID_NAMES)}; got {name!r}")
    files = planetoid_files(name.lower())
    name = name.lower()
    folder = resolve_data_root(data_dir) / PLANETOID_DIR
    missing = [f for f in files if not (folder / f).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{name} raw Planetoid files incomplete: missing {', '.join(missing)} in {folder} "
            f"(put all eight ind.{name}.* files there; they are not downloaded)"
        )
    _require_torch_geometric()
    data = read_planetoid(folder, name, resolve_limits(limits))
    dataset = GraphDataset(
        name=name,
        x=data["x"].to(torch.float32).contiguous(),
        edge_index=data["edge_index"].to(torch.int64).contiguous(),
        y=data["y"].to(torch.int64),
        train_mask=data["train_mask"],
        val_mask=data["val_mask"],
        test_mask=data["test_mask"],
        num_classes=int(data["y"].max()) + 1,
        split="public Planetoid split (20 per class train, 500 val, 1000 test)",
    )
    logger.debug("loaded %r", dataset)
    return dataset


def load_karate_club() -> GraphDataset:
    """Zachary's karate club as in torch_geometric's ``KarateClub`` (no files needed).

    34 nodes, 78 undirected edges, one-hot features, four community labels. Split: one training
    node per community (nodes 0, 4, 8 and 24, the lowest-numbered node of each), no validation
    nodes, and the remaining 30 nodes for testing.

    Raises:
        ImportError: If torch_geometric is not installed (with the install hint).
    """
    _require_torch_geometric()
    from torch_geometric.datasets import KarateClub

    data = KarateClub()[0]
    train = data.train_mask.clone()
    return GraphDataset(
        name="karate",
        x=data.x.to(torch.float32).contiguous(),
        edge_index=data.edge_index.to(torch.int64).contiguous(),
        y=data.y.to(torch.int64),
        train_mask=train,
        val_mask=torch.zeros_like(train),
        test_mask=~train,
        num_classes=int(data.y.max()) + 1,
        split="one training node per community (0, 4, 8, 24), the other 30 nodes test",
    )


def load_graph_dataset(
    name: str,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    limits: DataLimits | None = None,
) -> GraphDataset:
    """Load ``"karate"`` or a Planetoid data set by name (see :data:`GRAPH_DATASETS`).

    Args:
        name: One of :data:`GRAPH_DATASETS`.
        data_dir: Data root for the Planetoid files (unused for ``"karate"``).
        limits: Size limits for the Planetoid files (see :mod:`hybridqnn.data.limits`).

    Raises:
        ValueError: For an unknown name.
        FileNotFoundError: If Planetoid files are missing (the message names them).
    """
    if not isinstance(name, str):
        raise TypeError(f"'name' must be a str, one of {', '.join(GRAPH_DATASETS)}; got {name!r}")
    name = check_choice("name", name.lower(), GRAPH_DATASETS)
    if name == "karate":
        return load_karate_club()
    return load_planetoid(name, data_dir=data_dir, limits=limits)
