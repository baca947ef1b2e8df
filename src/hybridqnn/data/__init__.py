"""Data sets for hybridqnn: loaders with checksums and safe downloads, subsets and splits.

Quick start::

    from hybridqnn.data import load_dataset, class_pair, stratified_subset

    ds = load_dataset("mnist")                 # images (N, 1, 28, 28) float32 in [0, 1]
    small = stratified_subset(ds, 1000, 200, seed=0)
    pair = class_pair(small, 3, 8)             # labels 3 -> 0, 8 -> 1

Files live under the data root (``data_dir``, else ``$HYBRIDQNN_DATA``, else
``~/.cache/hybridqnn/data``), one folder per data set; see :mod:`hybridqnn.data.paths`,
:mod:`hybridqnn.data.loaders` and :mod:`hybridqnn.data.download`.
"""

from __future__ import annotations

from hybridqnn.data.checksums import DataIntegrityError
from hybridqnn.data.dataset import Dataset
from hybridqnn.data.libsvm import load_libsvm
from hybridqnn.data.limits import DataLimits
from hybridqnn.data.loaders import DATASETS, ensure_dataset, load_dataset
from hybridqnn.data.paths import resolve_data_root
from hybridqnn.data.prepare import (
    a1a_spins,
    block_means,
    planted_logistic,
    pooled_pair_features,
    task_subset,
)
from hybridqnn.data.subsets import class_pair, first_n, stratified_subset, train_val_split

_GRAPH_NAMES = ("GRAPH_DATASETS", "GraphDataset", "gcn_adjacency", "load_graph_dataset", "load_karate_club", "load_planetoid", "training_receptive_field")


def __getattr__(name: str) -> object:
    """Graph data sets need torch (and torch_geometric): loaded on first use."""
    if name in _GRAPH_NAMES:
        from hybridqnn.data import graphs

        return getattr(graphs, name)
    raise AttributeError(f"module 'hybridqnn.data' has no attribute {name!r}")


__all__ = [
    "DATASETS",
    "GRAPH_DATASETS",
    "GraphDataset",
    "DataIntegrityError",
    "DataLimits",
    "Dataset",
    "a1a_spins",
    "block_means",
    "class_pair",
    "ensure_dataset",
    "first_n",
    "gcn_adjacency",
    "load_dataset",
    "load_graph_dataset",
    "load_karate_club",
    "load_libsvm",
    "load_planetoid",
    "planted_logistic",
    "pooled_pair_features",
    "resolve_data_root",
    "stratified_subset",
    "task_subset",
    "train_val_split",
    "training_receptive_field",
]
