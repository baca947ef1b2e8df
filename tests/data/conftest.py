"""Fixtures for the hybridqnn.data tests: real data location, network guard, tiny data files."""

from __future__ import annotations

import gzip
import io
import os
import pickle
import socket
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from hybridqnn.data import checksums
from hybridqnn.data.idx import encode_idx


def _no_network(*args: object, **kwargs: object) -> None:
    raise OSError("network access is disabled in the hybridqnn.data tests")


@pytest.fixture(autouse=True)
def _isolate(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may touch the network, and no outside mirror override applies."""
    monkeypatch.setattr(socket, "getaddrinfo", _no_network)
    monkeypatch.setattr(socket, "create_connection", _no_network)
    monkeypatch.setattr(socket.socket, "connect", _no_network)
    monkeypatch.delenv("HYBRIDQNN_MIRROR", raising=False)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder with the real data files: ``$HYBRIDQNN_DATA``, else ``shared/data`` beside the
    checkout; skips the test when neither exists."""
    env = os.environ.get("HYBRIDQNN_DATA", "")
    path = Path(env) if env else Path(__file__).resolve().parents[3] / "shared" / "data"
    if not path.is_dir():
        pytest.skip(f"real data folder {path} not found (set HYBRIDQNN_DATA)")
    return path.resolve()


@pytest.fixture
def unchecked_citeseer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Drop CiteSeer's digests for this test, so that Cora's files copied as ``ind.citeseer.*``
    (and mutations of them) reach the structure checks, as an unverified file does (today only
    ``ind.pubmed.allx`` has no digest)."""
    from hybridqnn.data import planetoid

    table = {k: v for k, v in planetoid.PLANETOID_SHA256.items() if ".citeseer." not in k}
    monkeypatch.setattr(planetoid, "PLANETOID_SHA256", table)


@pytest.fixture
def set_checksums(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, dict[str, str | None]], None]:
    """Replace the checksum table of one data set folder for this test."""

    def setter(key: str, table: dict[str, str | None]) -> None:
        new = dict(checksums.CHECKSUMS)
        new[key] = table
        monkeypatch.setattr(checksums, "CHECKSUMS", new)

    return setter


def _idx_gz_bytes(array: np.ndarray) -> bytes:
    """IDX-encode and gzip an array (deterministic)."""
    return gzip.compress(encode_idx(array), mtime=0)


def _tiny_idx_arrays(
    n_train: int = 12, n_test: int = 6, num_classes: int = 3, label_offset: int = 0, seed: int = 0
) -> dict[str, np.ndarray]:
    """Images with distinct, non-symmetric content, and labels cycling over the classes."""
    rng = np.random.default_rng(seed)
    return {
        "train_images": rng.integers(0, 256, size=(n_train, 28, 28), dtype=np.uint8),
        "train_labels": (np.arange(n_train) % num_classes + label_offset).astype(np.uint8),
        "test_images": rng.integers(0, 256, size=(n_test, 28, 28), dtype=np.uint8),
        "test_labels": (np.arange(n_test) % num_classes + label_offset).astype(np.uint8),
    }


@pytest.fixture
def write_mnist_like() -> Callable[..., dict[str, np.ndarray]]:
    """Write the four MNIST-style .gz files into a folder; returns the arrays written."""

    def writer(
        directory: Path,
        names: tuple[str, str, str, str] = (
            "train-images-idx3-ubyte.gz",
            "train-labels-idx1-ubyte.gz",
            "t10k-images-idx3-ubyte.gz",
            "t10k-labels-idx1-ubyte.gz",
        ),
        **kwargs: int,
    ) -> dict[str, np.ndarray]:
        arrays = _tiny_idx_arrays(**kwargs)
        directory.mkdir(parents=True, exist_ok=True)
        for name, key in zip(
            names, ("train_images", "train_labels", "test_images", "test_labels"), strict=True
        ):
            (directory / name).write_bytes(_idx_gz_bytes(arrays[key]))
        return arrays

    return writer


def _cifar_batch_bytes(data: np.ndarray, labels: list[int]) -> bytes:
    """A CIFAR-10 batch pickle like the original: bytes keys, uint8 data, list labels."""
    batch = {
        b"batch_label": b"tiny batch",
        b"labels": labels,
        b"data": data,
        b"filenames": [f"img_{i}.png".encode() for i in range(len(labels))],
    }
    return pickle.dumps(batch, protocol=2)


def _cifar_meta_bytes() -> bytes:
    names = [
        b"airplane",
        b"automobile",
        b"bird",
        b"cat",
        b"deer",
        b"dog",
        b"frog",
        b"horse",
        b"ship",
        b"truck",
    ]
    return pickle.dumps(
        {b"num_cases_per_batch": 4, b"label_names": names, b"num_vis": 3072}, protocol=2
    )


@pytest.fixture
def tiny_cifar() -> dict[str, bytes]:
    """The seven files of cifar-10-batches-py/, tiny (4 train images per batch, 3 test)."""
    rng = np.random.default_rng(1)
    files: dict[str, bytes] = {}
    for i in range(1, 6):
        data = rng.integers(0, 256, size=(4, 3072), dtype=np.uint8)
        files[f"data_batch_{i}"] = _cifar_batch_bytes(data, [(i + k) % 10 for k in range(4)])
    files["test_batch"] = _cifar_batch_bytes(
        rng.integers(0, 256, size=(3, 3072), dtype=np.uint8), [0, 9, 5]
    )
    files["batches.meta"] = _cifar_meta_bytes()
    return files


def _make_tar(
    path: Path,
    members: dict[str, bytes],
    extra: Callable[[tarfile.TarFile], None] | None = None,
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
        if extra is not None:
            extra(tar)


@pytest.fixture
def make_tar() -> Callable[..., None]:
    """``make_tar(path, {name: bytes}, extra=None)`` writes a .tar.gz; ``extra(tar)`` may add
    more (e.g. malicious) members."""
    return _make_tar


def _make_zip(path: Path, members: dict[str, bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for name, content in members.items():
            zf.writestr(name, content)


@pytest.fixture
def make_zip() -> Callable[[Path, dict[str, bytes]], None]:
    """``make_zip(path, {name: bytes})`` writes a zip archive."""
    return _make_zip


@pytest.fixture
def cifar_batch_bytes() -> Callable[[np.ndarray, list[int]], bytes]:
    """``cifar_batch_bytes(data, labels)``: a CIFAR batch pickle in the original layout."""
    return _cifar_batch_bytes
