"""CIFAR-10 batch and meta files."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from hybridqnn.data import DataIntegrityError
from hybridqnn.data.cifar import load_cifar_batch, load_cifar_meta


def test_batch_layout_checks(
    tmp_path: Path, cifar_batch_bytes: Callable[[np.ndarray, list[int]], bytes]
) -> None:
    path = tmp_path / "test_batch"
    path.write_bytes(cifar_batch_bytes(np.zeros((2, 3072), dtype=np.uint8), [3, 4]))
    data, labels = load_cifar_batch(path)
    assert data.shape == (2, 3072) and labels.tolist() == [3, 4] and labels.dtype == np.int64
    path.write_bytes(cifar_batch_bytes(np.zeros((2, 100), dtype=np.uint8), [3, 4]))
    with pytest.raises(DataIntegrityError, match=r"test_batch.*\(N, 3072\)"):
        load_cifar_batch(path)
    path.write_bytes(cifar_batch_bytes(np.zeros((2, 3072), dtype=np.uint8), [3]))
    with pytest.raises(DataIntegrityError, match="2 images but 1 labels"):
        load_cifar_batch(path)
    path.write_bytes(cifar_batch_bytes(np.zeros((1, 3072), dtype=np.uint8), [10]))
    with pytest.raises(DataIntegrityError, match=r"\[0, 9\]"):
        load_cifar_batch(path)
    path.write_bytes(pickle.dumps([1, 2], protocol=2))
    with pytest.raises(DataIntegrityError, match="must be a dict"):
        load_cifar_batch(path)


def test_meta_checks(tmp_path: Path) -> None:
    path = tmp_path / "batches.meta"
    path.write_bytes(pickle.dumps({b"label_names": [b"a"] * 9}, protocol=2))
    with pytest.raises(DataIntegrityError, match=r"batches\.meta.*10 names"):
        load_cifar_meta(path)


@pytest.mark.parametrize("label", [2**70, -(2**70), 2**63])
def test_huge_labels_are_one_clear_error(
    tmp_path: Path, cifar_batch_bytes: Callable[[np.ndarray, list[int]], bytes], label: int
) -> None:
    path = tmp_path / "data_batch_1"
    path.write_bytes(cifar_batch_bytes(np.zeros((2, 3072), dtype=np.uint8), [label, 1]))
    with pytest.raises(DataIntegrityError, match=r"labels must lie in \[0, 9\]"):
        load_cifar_batch(path)
