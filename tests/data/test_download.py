"""Downloads through file:// mirrors: atomic writes, checksums, fallbacks and offline errors."""

from __future__ import annotations

import io
import urllib.request
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from hybridqnn.data import DataIntegrityError, checksums, download, load_dataset
from hybridqnn.data.download import (
    MIRRORS,
    DownloadError,
    candidate_urls,
    download_file,
    ensure_files,
)

MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


def _md5s(directory: Path) -> dict[str, str | None]:
    return {name: checksums.file_digest(directory / name) for name in MNIST_FILES}


def _listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def test_mirrors_are_immutable() -> None:
    assert MIRRORS["mnist"] == (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    )
    assert all(isinstance(urls, tuple) for urls in MIRRORS.values())
    with pytest.raises(TypeError):
        MIRRORS["mnist"] = ("file:///x/",)  # type: ignore[index]


def test_candidate_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    assert candidate_urls("mnist", "f.gz") == (
        "https://ossci-datasets.s3.amazonaws.com/mnist/f.gz",
        "http://yann.lecun.com/exdb/mnist/f.gz",
    )
    assert candidate_urls("mnist", "f.gz", ["file:///a", "file:///b/"]) == (
        "file:///a/f.gz",
        "file:///b/f.gz",
    )
    monkeypatch.setenv("HYBRIDQNN_MIRROR", "file:///m/")
    assert candidate_urls("fashion-mnist", "f.gz") == ("file:///m/fashion-mnist/f.gz",)
    with pytest.raises(TypeError, match="'mirrors'"):
        candidate_urls("mnist", "f.gz", "file:///a")


def test_kmnist_downloads_through_env_mirror(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    write_mnist_like: Callable[..., dict[str, np.ndarray]],
    set_checksums: Callable[[str, dict[str, str | None]], None],
) -> None:
    mirror = tmp_path / "mirror"
    arrays = write_mnist_like(mirror / "kmnist", num_classes=10)
    set_checksums("kmnist", _md5s(mirror / "kmnist"))
    monkeypatch.setenv("HYBRIDQNN_MIRROR", mirror.as_uri())
    ds = load_dataset("kmnist", data_dir=tmp_path / "data")
    assert _listing(tmp_path / "data" / "kmnist") == sorted(MNIST_FILES)
    assert ds.name == "kmnist" and ds.num_classes == 10 and ds.class_names[0] == "o"
    np.testing.assert_array_equal(ds.x_train[:, 0] * 255, arrays["train_images"])
    np.testing.assert_array_equal(ds.y_test, arrays["test_labels"])
    # Second load: nothing to download (the mirror may disappear).
    monkeypatch.setenv("HYBRIDQNN_MIRROR", (tmp_path / "gone").as_uri())
    assert load_dataset("kmnist", data_dir=tmp_path / "data").n_train == ds.n_train


def test_checksum_failure_leaves_no_file(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    write_mnist_like: Callable[..., dict[str, np.ndarray]],
) -> None:
    mirror = tmp_path / "mirror"
    write_mnist_like(mirror / "kmnist")  # not the real KMNIST: its published MD5s cannot match
    monkeypatch.setenv("HYBRIDQNN_MIRROR", mirror.as_uri())
    with pytest.raises(DataIntegrityError, match="train-images-idx3-ubyte.gz") as info:
        load_dataset("kmnist", data_dir=tmp_path / "data")
    assert "\n" not in str(info.value)
    assert _listing(tmp_path / "data" / "kmnist") == []


def test_interrupted_download_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Broken(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            if self.tell() > 0:
                raise ConnectionResetError("connection reset mid-download")
            return super().read(4)

    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: Broken(b"0123456789"))
    with pytest.raises(DownloadError, match="connection reset"):
        download_file("f.bin", tmp_path, urls=["http://example.invalid/f.bin"], expected=None)
    assert _listing(tmp_path) == []


def test_falls_back_to_the_next_mirror(tmp_path: Path) -> None:
    good = tmp_path / "good"
    good.mkdir()
    (good / "f.bin").write_bytes(b"payload")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "f.bin").write_bytes(b"tampered")
    digest = checksums.file_digest(good / "f.bin")
    mirrors = [(tmp_path / "missing").as_uri(), bad.as_uri(), good.as_uri()]
    paths = ensure_files(
        "demo",
        "demo",
        tmp_path / "out",
        ["f.bin"],
        download=True,
        checksums={"f.bin": digest},
        mirrors=mirrors,
    )
    assert paths == [tmp_path / "out" / "f.bin"]
    assert paths[0].read_bytes() == b"payload"
    assert _listing(tmp_path / "out") == ["f.bin"]


def test_mismatch_is_reported_when_no_mirror_has_the_right_file(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "f.bin").write_bytes(b"tampered")
    with pytest.raises(DataIntegrityError, match=r"f\.bin downloaded from file://"):
        download_file(
            "f.bin", tmp_path / "out", urls=[(tmp_path / "m" / "f.bin").as_uri()], expected="0" * 32
        )
    assert _listing(tmp_path / "out") == []


def test_offline_error_is_one_line(tmp_path: Path) -> None:
    # The autouse fixture blocks every socket: the canonical mirrors are unreachable.
    with pytest.raises(FileNotFoundError) as info:
        load_dataset("mnist", data_dir=tmp_path)
    message = str(info.value)
    assert "\n" not in message
    assert "download failed" in message
    assert str(tmp_path / "mnist") in message
    for name in MNIST_FILES:
        assert name in message
    assert "ossci-datasets" in message and "yann.lecun.com" in message
    assert _listing(tmp_path / "mnist") == []


def test_download_false_does_not_try(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("download attempted with download=False")

    monkeypatch.setattr(download, "download_file", forbidden)
    (tmp_path / "fashion-mnist").mkdir()
    (tmp_path / "fashion-mnist" / "train-labels-idx1-ubyte.gz").write_bytes(b"")
    with pytest.raises(FileNotFoundError) as info:
        load_dataset("fashion-mnist", data_dir=tmp_path, download=False)
    message = str(info.value)
    assert "\n" not in message and "download=False" in message
    assert str(tmp_path / "fashion-mnist") in message
    assert "train-images-idx3-ubyte.gz" in message
    assert "train-labels-idx1-ubyte.gz" not in message.split("(")[0]


def test_unsupported_url_scheme(tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="nope://"):
        download_file("f", tmp_path, urls=["nope://host/f"], expected=None)


def test_bad_timeout(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'timeout'"):
        download_file("f", tmp_path, urls=[], expected=None, timeout=0)


def test_real_files_through_file_mirror(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shared data folder is laid out like a mirror: a1a downloads with its real MD5s."""
    monkeypatch.setenv("HYBRIDQNN_MIRROR", shared_data.as_uri())
    ds = load_dataset("a1a", data_dir=tmp_path)
    assert (ds.n_train, ds.n_test, ds.num_features) == (1605, 30956, 123)
    assert _listing(tmp_path / "libsvm") == ["a1a", "a1a.t"]


def test_archive_members_over_the_size_limit_are_refused(tmp_path: Path) -> None:
    import io
    import tarfile
    import zipfile

    from hybridqnn.data.limits import DataLimits
    from hybridqnn.errors import InputFileError

    zpath = tmp_path / "a.zip"
    with zipfile.ZipFile(zpath, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big", bytes(10_000))
    with pytest.raises(InputFileError, match=r"member big: the size in bytes is 10000, above the limit max_file_bytes=100"):
        download.extract_zip_members(zpath, {"big": tmp_path / "out"}, limits=DataLimits(max_file_bytes=100))
    tpath = tmp_path / "a.tar.gz"
    with tarfile.open(tpath, "w:gz") as tar:
        info = tarfile.TarInfo("big")
        info.size = 10_000
        tar.addfile(info, io.BytesIO(bytes(10_000)))
    with pytest.raises(InputFileError, match=r"tar archive .* member big: the size in bytes is 10000"):
        download.extract_tar_members(tpath, {"big": tmp_path / "out"}, limits=DataLimits(max_file_bytes=100))
    assert not (tmp_path / "out").exists()
    download.extract_tar_members(tpath, {"big": tmp_path / "out"})
    assert (tmp_path / "out").stat().st_size == 10_000
