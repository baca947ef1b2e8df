"""Validation of the raw Planetoid files before anything is densified (issue 23's reproducers:
Cora's files copied as ``ind.citeseer.*`` with CiteSeer's digests dropped, as for a file that has
no digest)."""

from __future__ import annotations

import pickle
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from hybridqnn.data.limits import DataLimits
from hybridqnn.data.planetoid import PLANETOID_SUFFIXES
from hybridqnn.errors import InputFileError
from hybridqnn.testing.isolation import run_isolated

pytest.importorskip("torch_geometric", reason="graph tests need the 'graph' extra")


@pytest.fixture
def citeseer(tmp_path: Path, shared_data: Path, unchecked_citeseer: None) -> Path:
    folder = tmp_path / "planetoid"
    folder.mkdir()
    for suffix in PLANETOID_SUFFIXES:
        shutil.copyfile(
            shared_data / "planetoid" / f"ind.cora.{suffix}", folder / f"ind.citeseer.{suffix}"
        )
    return tmp_path


def _edit(root: Path, suffix: str, change: Callable[[object], object]) -> None:
    path = root / "planetoid" / f"ind.citeseer.{suffix}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        obj = pickle.loads(path.read_bytes(), encoding="latin1")
    result = change(obj)
    path.write_bytes(pickle.dumps(obj if result is None else result, protocol=2))


def _load(root: Path, **kwargs: object):
    from hybridqnn.data.graphs import load_planetoid

    return load_planetoid("citeseer", data_dir=root, **kwargs)


def test_copy_of_cora_loads_like_torch_geometric(citeseer: Path) -> None:
    import torch
    from torch_geometric.io import read_planetoid_data

    ours = _load(citeseer)
    theirs = read_planetoid_data(str(citeseer / "planetoid"), "citeseer")
    for field in ("x", "y", "edge_index", "train_mask", "val_mask", "test_mask"):
        assert torch.equal(
            getattr(ours, field), getattr(theirs, field).to(getattr(ours, field).dtype)
        ), field


def test_issue_reproducer_is_one_line_not_a_segfault(citeseer: Path) -> None:
    """indices[0] = 2**30 made torch_geometric's densify write out of bounds (exit 139)."""
    _edit(citeseer, "x", lambda m: m.indices.__setitem__(0, 2**30))
    out = run_isolated(_load, citeseer, timeout=60)
    assert out.status == "raised" and out.error_is(InputFileError), out
    assert "\n" not in out.message
    assert (
        "ind.citeseer.x: CSR column indices must lie in [0, 1432], got [0, 1073741824]"
        in out.message
    )


@pytest.mark.parametrize(
    ("suffix", "change", "rule"),
    [
        (
            "x",
            lambda m: m.indices.__setitem__(0, 1440),
            r"ind\.citeseer\.x: CSR column indices must lie in \[0, 1432\]",
        ),
        ("tx", lambda m: m.indices.__setitem__(3, -1), r"ind\.citeseer\.tx: CSR column indices"),
        ("allx", lambda m: m.indptr.__setitem__(5, 10**6), r"ind\.citeseer\.allx: CSR indptr"),
        ("allx", lambda m: m.indptr.__setitem__(5, 0), r"indptr must be non-decreasing"),
        (
            "x",
            lambda m: setattr(m, "_shape", (140, 2**30)),
            r"dense size .* above the limit max_array_bytes",
        ),
        (
            "allx",
            lambda m: m.data.__setitem__(0, np.nan),
            r"ind\.citeseer\.allx: feature values must be finite",
        ),
        (
            "ally",
            lambda a: a.astype(np.float64) * np.nan,
            r"ind\.citeseer\.ally: labels must be finite",
        ),
        ("y", lambda a: a * 0, r"ind\.citeseer\.y: every training node must have a label"),
        (
            "graph",
            lambda g: {},
            r"ind\.citeseer\.graph: the graph must be a dict of adjacency lists with edges",
        ),
        (
            "graph",
            lambda g: g[0].append(10**6),
            r"ind\.citeseer\.graph: node ids must lie in \[0, 2707\]",
        ),
        (
            "x",
            lambda m: [1, 2],
            r"ind\.citeseer\.x: features must be a 2-D numeric array, got list",
        ),
        ("ty", lambda a: a[:10], r"ind\.citeseer\.ty has 10 rows but .*ind\.citeseer\.tx has 1000"),
    ],
)
def test_invalid_content_is_one_input_file_error(
    citeseer: Path, suffix: str, change: Callable, rule: str
) -> None:
    _edit(citeseer, suffix, change)
    with pytest.raises(InputFileError, match=rule) as info:
        _load(citeseer)
    assert "\n" not in str(info.value)


def test_all_zero_labels(citeseer: Path) -> None:
    _edit(citeseer, "ally", lambda a: a * 0)
    _edit(citeseer, "ty", lambda a: a * 0)
    with pytest.raises(InputFileError, match="the labels are all zero"):
        _load(citeseer)


@pytest.mark.parametrize(
    ("content", "rule"),
    [
        (lambda text: text + "200000\n", r"lists 1001 test nodes but .*tx has 1000 rows"),
        (
            lambda text: "200000\n" + "\n".join(text.split()[1:]),
            r"span 198293 nodes, more than twice",
        ),
        (lambda text: text.replace("2692", "1707", 1), r"test indices must lie in \[1708, "),
        (lambda text: text.replace("2692", "2532", 1), "test indices must be distinct"),
        (lambda text: "-1\n" + "\n".join(text.split()[1:]), r"test indices must be >= 0"),
        (lambda text: text + "x\n", "one integer per line"),
        (lambda text: "99999999999\n" + "\n".join(text.split()[1:]), "above the limit max_rows"),
    ],
)
def test_test_index_is_bounded_before_allocating(
    citeseer: Path, content: Callable, rule: str
) -> None:
    path = citeseer / "planetoid" / "ind.citeseer.test.index"
    path.write_text(content(path.read_text()))
    with pytest.raises(InputFileError, match=rule):
        _load(citeseer)


@pytest.mark.parametrize("cut", [10, 100, 1000])
def test_malformed_pickles_are_input_file_errors(citeseer: Path, cut: int) -> None:
    path = citeseer / "planetoid" / "ind.citeseer.graph"
    path.write_bytes(path.read_bytes()[:-cut])
    with pytest.raises(InputFileError, match=r"ind\.citeseer\.graph is not a valid pickle"):
        _load(citeseer)


def test_limits_keyword(citeseer: Path) -> None:
    with pytest.raises(InputFileError, match="above the limit max_rows=100"):
        _load(citeseer, limits=DataLimits(max_rows=100))


def test_citeseer_files_are_checksummed(tmp_path: Path, shared_data: Path) -> None:
    """With its published digests, Cora's files posing as CiteSeer's fail on the first file."""
    from hybridqnn.data.checksums import DataIntegrityError

    folder = tmp_path / "planetoid"
    folder.mkdir()
    for suffix in PLANETOID_SUFFIXES:
        shutil.copyfile(
            shared_data / "planetoid" / f"ind.cora.{suffix}", folder / f"ind.citeseer.{suffix}"
        )
    with pytest.raises(DataIntegrityError, match=r"ind\.citeseer\.x") as info:
        _load(tmp_path)
    assert "\n" not in str(info.value)
