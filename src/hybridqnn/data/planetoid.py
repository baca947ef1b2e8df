"""Reading and validating the eight raw Planetoid files (``ind.<name>.{x,tx,allx,y,ty,ally,graph,
test.index}`` of Yang et al. 2016) before anything is densified.

PyTorch Geometric's ``read_planetoid_data`` unpickles the files with :mod:`pickle` and densifies
the SciPy CSR matrices without checking them; an index past the column count writes outside the
array (a segmentation fault, or a silently wrong cell), and a large test index allocates
gigabytes. Here each file is

1. checked against its published SHA-256 when one is known, and its size against the limits;
2. scanned for the globals it names (only NumPy arrays, SciPy CSR matrices and a
   ``defaultdict`` of lists), then unpickled with the bounded
   :class:`~hybridqnn.data.pickles.SafeUnpickler`, which records a CSR matrix's fields instead
   of constructing it;
3. validated: a CSR matrix has a 2-tuple shape, ``indptr`` of length rows + 1 starting at 0,
   non-decreasing and ending at ``nnz``, ``indices`` in ``[0, columns)``, finite data; label
   matrices are 2-D and finite, every training node has a label and not all labels are zero;
   row and column counts agree across files; ``test.index`` holds distinct integers in
   ``[len(allx), N)`` (one per ``tx`` row; CiteSeer's gaps may at most double the span); the
   graph's node ids lie in ``[0, N)``; the dense feature matrix fits ``max_array_bytes``.

Only then is the graph assembled, exactly as ``read_planetoid_data`` does it (the CiteSeer gap
filling included). Every failure is one :class:`~hybridqnn.data.DataIntegrityError` line
naming the file and the rule.
"""

from __future__ import annotations

import collections
import pickletools
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import torch

from hybridqnn.data.checksums import DataIntegrityError, verify_file
from hybridqnn.data.limits import DataLimits, check_limit
from hybridqnn.data.pickles import defaultdict_of_lists, read_bounded, unpickle_bytes

__all__ = ["PLANETOID_SHA256", "PLANETOID_SUFFIXES", "read_planetoid"]

PLANETOID_SUFFIXES: tuple[str, ...] = ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")
"""The eight raw files of a Planetoid data set are ``ind.<name>.<suffix>``."""

PLANETOID_SHA256 = MappingProxyType(
    {
        "ind.citeseer.allx": "2ac30345d95c9ec933a817ee0bdd6a5f077f8c184a20e696910192d534414668",
        "ind.citeseer.ally": "f704b2d986dde6c2669934de1f3ae5696a6cf9455c0f6b2646a2d135ea0a1c95",
        "ind.citeseer.graph": "d79a4ef9d3e7169aee8946145f6b7306e35bc79bffad26346cfb94e10e9912a7",
        "ind.citeseer.test.index": "2af990671580b6b2df5d158d1038f8292e30c9cd821b5453f399659b25b723d4",
        "ind.citeseer.tx": "539a8906a2da97628d212f2fdd668c109a8b3f0d36574b59e5d3fd5b5303da21",
        "ind.citeseer.ty": "55e5bd1ba1e733a04598753ad1a8d57957f4b8f89e74519f41f4f4938767e4ce",
        "ind.citeseer.x": "d20de19150741e555de0ed037195630fc194114ebc7fd72ced62810148aa22f6",
        "ind.citeseer.y": "8ba87e515d8e3ee3cf52f6d2c5b86aa73f11ecad825a808455209ec26cd54924",
        "ind.cora.allx": "9419ba2f26f5c35243db64aba110e0f35a04851609e0dc5433450676ca6b8543",
        "ind.cora.ally": "2b998f5cc7fedc86e7f97ca2498f47a1ffc1462c29e2d578b23bf3f62b6e7d71",
        "ind.cora.graph": "58f13302f39dde8852dad6fe6d15b89b077b6d7f837626bce671ef80344b383d",
        "ind.cora.test.index": "297ce89af2b51a6a194181c7dbe1796c6a1cf9cd9349a88383b1b1e227867875",
        "ind.cora.tx": "b9afbaa4a400df991f6f02ef677e1e44da55ffc04801fd02f9e673987829226a",
        "ind.cora.ty": "41f5ac76596a1699cc33f53084a2419e92961c42bb75f36fc38e616d348532ad",
        "ind.cora.x": "23cfa55d91c6f624233f5eb7b6e3f141f1bd2b2ae39608a63cf5d084bb27baab",
        "ind.cora.y": "94465c14eb53e04ca262198dcbb2521ee8af60fb3f3d546cd6ca24a511b0e7d1",
        "ind.pubmed.ally": "0c37bbe3b5014ec365e9d393cf4791925e5ed94fb194305d74f064a8d7b50f0e",
        "ind.pubmed.graph": "5b89f0036ca22909471f1e6558eb42fa06e0c730a577bde5b058b40638f81dc9",
        "ind.pubmed.test.index": "b101d421688bbaecbd82e8a18f1e282378d6830f3a37666f28ebc47f844341b5",
        "ind.pubmed.tx": "4eb5f5d0f30f26497eb0ac6ac9719d09c67e284f1ed0385c93f3ef27a671da3d",
        "ind.pubmed.ty": "ee2e0d4819d9fbcc403689c3bf2e49face401b605932f093bc58ab6461130fdd",
        "ind.pubmed.x": "fbe9cb5c47200d1b7769a26e579be3b7130b556831f9d850e77c4c74f2599b33",
        "ind.pubmed.y": "e6c807633307a07ed659249006536a147c7999c797f11a2560752990181b41b3",
    }
)
"""SHA-256 of the raw Planetoid files, as published in kimiyoung/planetoid (``data/``, commit
af6abf4, the files torch_geometric downloads). Cora's and PubMed's match
``shared/data/MANIFEST.md``; CiteSeer's were hashed from that repository's blobs, whose Cora
files hash to the manifest's digests. ``ind.pubmed.allx`` has no digest (no copy was available
to hash): that file is only structure-checked."""

# Globals that Planetoid pickles refer to (protocol 2, written by Python 2, or re-saved by 3).
_ALLOWED_GLOBALS = frozenset(
    {
        "numpy dtype",
        "numpy ndarray",
        "numpy.core.multiarray _reconstruct",
        "numpy._core.multiarray _reconstruct",
        "scipy.sparse.csr csr_matrix",
        "scipy.sparse._csr csr_matrix",
        "collections defaultdict",
        "__builtin__ list",
        "builtins list",
        "_codecs encode",  # how Python 3 protocol-2 pickles store bytes (a pure function)
    }
)

_VAL_NODES = 500  # the public split's validation nodes follow the training nodes


class _CsrRecord:
    """Stands for ``scipy.sparse.csr_matrix`` while unpickling: it records the pickled fields."""

    def __init__(self) -> None:
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state


_EXTRA_GLOBALS = {
    ("scipy.sparse.csr", "csr_matrix"): _CsrRecord,
    ("scipy.sparse._csr", "csr_matrix"): _CsrRecord,
    ("collections", "defaultdict"): defaultdict_of_lists,
    ("__builtin__", "list"): list,
    ("builtins", "list"): list,
}
_ALLOWED_TYPES = frozenset(
    {dict, collections.defaultdict, list, tuple, str, bytes, int, bool, np.ndarray, _CsrRecord}
)


def _check_globals(path: Path, data: bytes) -> None:
    """Refuse a pickle that names a global Planetoid files never use (before unpickling it)."""
    try:
        for op, arg, _ in pickletools.genops(data):
            if op.name in ("GLOBAL", "INST"):
                if arg not in _ALLOWED_GLOBALS:
                    raise DataIntegrityError(
                        f"Planetoid file {path} refers to the global {arg!r}, which Planetoid "
                        "files never use; refusing to unpickle it"
                    )
            elif op.name == "STACK_GLOBAL":
                raise DataIntegrityError(
                    f"Planetoid file {path} is a protocol-4+ pickle; the published files are "
                    "protocol 2, refusing to unpickle it"
                )
    except DataIntegrityError:
        raise
    except Exception as exc:
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise DataIntegrityError(f"Planetoid file {path} is not a valid pickle: {reason}") from None


def _load(path: Path, limits: DataLimits) -> Any:
    data = read_bounded(path, limits)
    _check_globals(path, data)
    return unpickle_bytes(
        data,
        str(path),
        "latin1",
        limits=limits,
        extra_globals=_EXTRA_GLOBALS,
        allowed=_ALLOWED_TYPES,
        children=lambda item: item.state if isinstance(item, _CsrRecord) else None,
    )


def _int_array(value: Any, where: str, field: str) -> np.ndarray:
    if not isinstance(value, np.ndarray) or value.ndim != 1 or value.dtype.kind not in "iu":
        got = (
            f"{value.dtype} {value.shape}"
            if isinstance(value, np.ndarray)
            else type(value).__name__
        )
        raise DataIntegrityError(f"{where}: CSR {field!r} must be a 1-D integer array, got {got}")
    return value.astype(np.int64)


def _csr_to_dense(record: _CsrRecord, where: str, limits: DataLimits) -> np.ndarray:
    """Validate a pickled CSR matrix's fields, then densify it (float32)."""
    from scipy.sparse import csr_matrix

    state = record.state
    if not isinstance(state, dict) or not {"_shape", "indptr", "indices", "data"} <= state.keys():
        raise DataIntegrityError(f"{where}: a CSR matrix needs _shape, indptr, indices and data")
    shape = state["_shape"]
    if not (
        isinstance(shape, tuple)
        and len(shape) == 2
        and all(type(n) is int and n >= 0 for n in shape)
    ):
        raise DataIntegrityError(
            f"{where}: CSR _shape must be 2 integers >= 0, got {repr(shape)[:60]}"
        )
    rows, cols = shape
    check_limit(where, "the row count", rows, limits, "max_rows")
    check_limit(
        where,
        f"the dense size of a {shape} float32 matrix in bytes",
        4 * rows * cols,
        limits,
        "max_array_bytes",
    )
    indptr = _int_array(state["indptr"], where, "indptr")
    indices = _int_array(state["indices"], where, "indices")
    data = state["data"]
    if (
        not isinstance(data, np.ndarray)
        or data.shape != indices.shape
        or data.dtype.kind not in "biuf"
    ):
        raise DataIntegrityError(
            f"{where}: CSR data must be numbers, one per index ({len(indices)})"
        )
    if len(indptr) != rows + 1 or indptr[0] != 0 or indptr[-1] != len(indices):
        raise DataIntegrityError(
            f"{where}: CSR indptr must have {rows + 1} entries from 0 to nnz={len(indices)}, got "
            f"{len(indptr)} entries" + (f" from {indptr[0]} to {indptr[-1]}" if len(indptr) else "")
        )
    if (np.diff(indptr) < 0).any():
        raise DataIntegrityError(f"{where}: CSR indptr must be non-decreasing")
    if len(indices) and (indices.min() < 0 or indices.max() >= cols):
        raise DataIntegrityError(
            f"{where}: CSR column indices must lie in [0, {cols - 1}], got "
            f"[{indices.min()}, {indices.max()}]"
        )
    values = data.astype(np.float32)
    if not np.isfinite(values).all():
        raise DataIntegrityError(f"{where}: feature values must be finite float32 numbers")
    return csr_matrix((values, indices, indptr), shape=shape).toarray()


def _features(obj: Any, where: str, limits: DataLimits) -> np.ndarray:
    if isinstance(obj, _CsrRecord):
        return _csr_to_dense(obj, where, limits)
    return _dense(obj, where, "features")


def _dense(obj: Any, where: str, what: str) -> np.ndarray:
    if not isinstance(obj, np.ndarray) or obj.ndim != 2 or obj.dtype.kind not in "biuf":
        got = f"{obj.dtype} {obj.shape}" if isinstance(obj, np.ndarray) else type(obj).__name__
        raise DataIntegrityError(f"{where}: {what} must be a 2-D numeric array, got {got}")
    values = obj.astype(np.float32)
    if not np.isfinite(values).all():
        raise DataIntegrityError(f"{where}: {what} must be finite float32 numbers")
    return values


def _test_index(path: Path, limits: DataLimits) -> np.ndarray:
    text = read_bounded(path, limits)
    try:
        values = [int(line) for line in text.decode("ascii").split()]
    except (UnicodeDecodeError, ValueError) as exc:
        reason = " ".join(str(exc).split())[:120]
        raise DataIntegrityError(
            f"Planetoid file {path} must hold one integer per line: {reason}"
        ) from None
    if not values:
        raise DataIntegrityError(f"Planetoid file {path} holds no test index")
    low, high = min(values), max(values)
    check_limit(f"Planetoid file {path}", "the largest test index", high, limits, "max_rows")
    if low < 0:
        raise DataIntegrityError(f"Planetoid file {path}: test indices must be >= 0, got {low}")
    if len(set(values)) != len(values):
        raise DataIntegrityError(f"Planetoid file {path}: test indices must be distinct")
    return np.asarray(values, dtype=np.int64)


def _graph(obj: Any, where: str, num_nodes: int) -> dict[int, list[int]]:
    if not isinstance(obj, dict) or not any(obj.values()):
        got = type(obj).__name__ if not isinstance(obj, dict) else "no edges"
        raise DataIntegrityError(
            f"{where}: the graph must be a dict of adjacency lists with edges, got {got}"
        )
    for key, value in obj.items():
        if (
            type(key) is not int
            or not isinstance(value, list)
            or not all(type(v) is int for v in value)
        ):
            raise DataIntegrityError(
                f"{where}: the graph must map node ids (int) to lists of node ids"
            )
        if not 0 <= key < num_nodes or any(not 0 <= v < num_nodes for v in value):
            raise DataIntegrityError(
                f"{where}: node ids must lie in [0, {num_nodes - 1}] (N = {num_nodes})"
            )
    return obj


def _check_shapes(arrays: dict[str, np.ndarray], where: dict[str, str]) -> None:
    for a, b in (("x", "y"), ("tx", "ty"), ("allx", "ally")):
        if len(arrays[a]) != len(arrays[b]):
            raise DataIntegrityError(
                f"{where[b]} has {len(arrays[b])} rows but {where[a]} has {len(arrays[a])}"
            )
    for group in (("x", "tx", "allx"), ("y", "ty", "ally")):
        widths = {arrays[k].shape[1] for k in group}
        if len(widths) != 1 or 0 in widths:
            raise DataIntegrityError(
                f"{where[group[0]]}, {where[group[1]]} and {where[group[2]]} must have the same "
                f"positive number of columns, got {[arrays[k].shape[1] for k in group]}"
            )
    if len(arrays["y"]) == 0 or len(arrays["allx"]) == 0:
        raise DataIntegrityError(
            f"{where['y']} and {where['allx']} must not be empty (an empty graph)"
        )
    if (arrays["y"].max(axis=1) <= 0).any():
        raise DataIntegrityError(
            f"{where['y']}: every training node must have a label (a row with a 1)"
        )
    if not (arrays["ally"].any() or arrays["ty"].any()):
        raise DataIntegrityError(f"{where['ally']} and {where['ty']}: the labels are all zero")


def read_planetoid(folder: Path, name: str, limits: DataLimits) -> dict[str, torch.Tensor]:
    """Read, validate and assemble a Planetoid data set as ``read_planetoid_data`` would.

    Returns:
        ``x`` (N, F) float32, ``y`` (N,) int64, ``edge_index`` (2, E) int64 and the boolean
        ``train_mask``, ``val_mask`` and ``test_mask`` of the public split.

    Raises:
        DataIntegrityError: If a file fails its checksum or any rule of the module docstring.
        InputFileError: If a declared size is over a limit.
    """
    where = {s: f"Planetoid file {folder / f'ind.{name}.{s}'}" for s in PLANETOID_SUFFIXES}
    loaded = {}
    for suffix in PLANETOID_SUFFIXES:
        path = folder / f"ind.{name}.{suffix}"
        verify_file(path, PLANETOID_SHA256.get(path.name))
        loaded[suffix] = (
            _test_index(path, limits) if suffix == "test.index" else _load(path, limits)
        )
    arrays = {s: _features(loaded[s], where[s], limits) for s in ("x", "tx", "allx")}
    arrays.update({s: _dense(loaded[s], where[s], "labels") for s in ("y", "ty", "ally")})
    _check_shapes(arrays, where)
    test_index = loaded["test.index"]
    if len(test_index) != len(arrays["tx"]):
        raise DataIntegrityError(
            f"{where['test.index']} lists {len(test_index)} test nodes but {where['tx']} has "
            f"{len(arrays['tx'])} rows"
        )
    n_all, low, high = len(arrays["allx"]), int(test_index.min()), int(test_index.max())
    span = high - low + 1 if name == "citeseer" else len(test_index)
    if name == "citeseer" and span > 2 * len(test_index):
        raise DataIntegrityError(
            f"{where['test.index']}: the test indices span {span} nodes, more than twice their "
            f"count {len(test_index)} (CiteSeer's isolated nodes leave only small gaps)"
        )
    num_nodes = n_all + span
    if low < n_all or high >= num_nodes:
        raise DataIntegrityError(
            f"{where['test.index']}: test indices must lie in [{n_all}, {num_nodes - 1}], got "
            f"[{low}, {high}]"
        )
    if len(arrays["y"]) + _VAL_NODES > num_nodes:
        raise DataIntegrityError(
            f"{where['y']}: {len(arrays['y'])} training + {_VAL_NODES} validation nodes exceed "
            f"the {num_nodes} nodes"
        )
    check_limit(
        where["x"],
        "the dense feature matrix size in bytes",
        4 * num_nodes * arrays["x"].shape[1],
        limits,
        "max_array_bytes",
    )
    graph = _graph(loaded["graph"], where["graph"], num_nodes)
    return _assemble(arrays, graph, test_index, name, num_nodes)


def _assemble(
    arrays: dict[str, np.ndarray],
    graph: dict[int, list[int]],
    test_index: np.ndarray,
    name: str,
    num_nodes: int,
) -> dict[str, torch.Tensor]:
    """torch_geometric's ``read_planetoid_data`` on validated arrays (Cora, CiteSeer, PubMed)."""
    from torch_geometric.io.planetoid import edge_index_from_dict
    from torch_geometric.utils import index_to_mask

    t = {k: torch.from_numpy(v) for k, v in arrays.items()}
    index = torch.from_numpy(test_index)
    ordered = index.sort()[0]
    tx, ty = t["tx"], t["ty"]
    if name == "citeseer":  # isolated test nodes: zero rows where test.index has gaps
        span = int(index.max() - index.min()) + 1
        tx = torch.zeros(span, tx.size(1), dtype=tx.dtype)
        tx[ordered - index.min(), :] = t["tx"]
        ty = torch.zeros(span, ty.size(1), dtype=ty.dtype)
        ty[ordered - index.min(), :] = t["ty"]
    x = torch.cat([t["allx"], tx], dim=0)
    x[index] = x[ordered]
    y = torch.cat([t["ally"], ty], dim=0).max(dim=1)[1]
    y[index] = y[ordered]
    n_train = len(arrays["y"])
    return {
        "x": x,
        "y": y,
        "edge_index": edge_index_from_dict(graph, num_nodes=num_nodes),
        "train_mask": index_to_mask(torch.arange(n_train), size=num_nodes),
        "val_mask": index_to_mask(torch.arange(n_train, n_train + _VAL_NODES), size=num_nodes),
        "test_mask": index_to_mask(index, size=num_nodes),
    }
