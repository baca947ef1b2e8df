"""load_dataset: real MNIST, Fashion-MNIST, a1a and digits; tiny KMNIST/EMNIST/CIFAR-10 files."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import tarfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from hybridqnn.data import DATASETS, DataIntegrityError, ensure_dataset, load_dataset
from hybridqnn.data.idx import encode_idx

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]

SetChecksums = Callable[[str, dict[str, str | None]], None]


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _check_images(ds, shape: tuple[int, int, int]) -> None:  # type: ignore[no-untyped-def]
    for x in (ds.x_train, ds.x_test):
        assert x.dtype == np.float32 and x.shape[1:] == shape and x.flags.c_contiguous
        assert 0.0 <= x.min() and x.max() <= 1.0
    for y in (ds.y_train, ds.y_test):
        assert y.dtype == np.int64 and y.min() >= 0 and y.max() < ds.num_classes
    assert ds.image_shape == shape and len(ds.class_names) == ds.num_classes


# --- real files ----------------------------------------------------------------------------


def test_mnist(shared_data: Path) -> None:
    ds = load_dataset("mnist", data_dir=shared_data, download=False)
    assert ds.x_train.shape == (60000, 1, 28, 28) and ds.x_test.shape == (10000, 1, 28, 28)
    _check_images(ds, (1, 28, 28))
    assert np.bincount(ds.y_train).tolist() == MNIST_TRAIN_COUNTS
    assert np.bincount(ds.y_test).tolist() == MNIST_TEST_COUNTS
    assert ds.x_train.max() == 1.0 and ds.num_features == 784
    assert ds.class_names == tuple("0123456789")


def test_fashion_mnist(shared_data: Path) -> None:
    ds = load_dataset("fashion-mnist", data_dir=shared_data, download=False)
    assert ds.x_train.shape == (60000, 1, 28, 28) and ds.x_test.shape == (10000, 1, 28, 28)
    _check_images(ds, (1, 28, 28))
    assert np.bincount(ds.y_train).tolist() == [6000] * 10
    assert np.bincount(ds.y_test).tolist() == [1000] * 10
    assert ds.class_names[0] == "T-shirt/top" and ds.class_names[9] == "Ankle boot"


def test_data_root_from_env_var(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYBRIDQNN_DATA", str(shared_data))
    assert load_dataset("a1a", download=False).n_train == 1605


def test_a1a(shared_data: Path) -> None:
    ds = load_dataset("a1a", data_dir=shared_data, download=False)
    assert ds.x_train.shape == (1605, 123) and ds.x_test.shape == (30956, 123)
    assert ds.x_train.dtype == np.float32 and set(np.unique(ds.x_train)) <= {0.0, 1.0}
    assert ds.y_train.dtype == np.int64 and set(np.unique(ds.y_train)) == {0, 1}
    assert ds.class_names == ("-1", "+1") and ds.num_classes == 2
    assert ds.num_features == 123 and ds.image_shape is None
    # First line of a1a is "-1 3:1 11:1 14:1 ..." (1-based feature indices).
    assert ds.y_train[0] == 0 and ds.x_train[0, 2] == 1.0 and ds.x_train[0, 0] == 0.0


def test_digits() -> None:
    ds = load_dataset("digits")
    assert ds.x_train.shape == (1347, 1, 8, 8) and ds.x_test.shape == (450, 1, 8, 8)
    _check_images(ds, (1, 8, 8))
    assert ds.x_train.max() == 1.0
    counts = np.bincount(ds.y_test, minlength=10)
    assert counts.min() >= 43 and counts.max() <= 46  # stratified
    again = load_dataset("digits")
    np.testing.assert_array_equal(again.x_test, ds.x_test)


def test_corrupt_real_copy_names_the_file(shared_data: Path, tmp_path: Path) -> None:
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name in os.listdir(shared_data / "mnist"):
        (folder / name).write_bytes((shared_data / "mnist" / name).read_bytes())
    path = folder / "t10k-labels-idx1-ubyte.gz"
    data = bytearray(path.read_bytes())
    data[-20] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(DataIntegrityError, match=r"t10k-labels-idx1-ubyte\.gz") as info:
        load_dataset("mnist", data_dir=tmp_path, download=False)
    assert "checksum mismatch" in str(info.value) and "\n" not in str(info.value)


# --- argument validation --------------------------------------------------------------------


def test_datasets_tuple() -> None:
    assert DATASETS == ("digits", "mnist", "fashion-mnist", "kmnist", "emnist", "cifar10", "a1a")


def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(ValueError, match="'name' must be one of digits, mnist, .*a1a; got 'svhn'"):
        load_dataset("svhn")
    with pytest.raises(TypeError, match="'name'"):
        load_dataset(3)  # type: ignore[arg-type]


def test_split_validation() -> None:
    with pytest.raises(ValueError, match="'split' is only used with name='emnist'"):
        load_dataset("mnist", split="balanced")
    with pytest.raises(ValueError, match="'split' must be one of byclass, bymerge, balanced"):
        load_dataset("emnist", split="weird")
    with pytest.raises(TypeError, match="'download'"):
        load_dataset("digits", download="yes")  # type: ignore[arg-type]


# --- tiny files in the real formats: KMNIST -------------------------------------------------


def test_kmnist_tiny_with_checksums(
    tmp_path: Path,
    write_mnist_like: Callable[..., dict[str, np.ndarray]],
    set_checksums: SetChecksums,
) -> None:
    folder = tmp_path / "kmnist"
    arrays = write_mnist_like(folder, num_classes=10, n_train=20, n_test=10)
    set_checksums("kmnist", {p.name: _md5(p.read_bytes()) for p in folder.iterdir()})
    ds = load_dataset("kmnist", data_dir=tmp_path, download=False)
    assert ds.x_train.shape == (20, 1, 28, 28)
    _check_images(ds, (1, 28, 28))
    np.testing.assert_array_equal(ds.x_test[:, 0] * 255, arrays["test_images"])
    np.testing.assert_array_equal(ds.y_train, arrays["train_labels"])


def test_kmnist_real_checksums_reject_tiny_files(
    tmp_path: Path, write_mnist_like: Callable[..., dict[str, np.ndarray]]
) -> None:
    write_mnist_like(tmp_path / "kmnist")
    with pytest.raises(DataIntegrityError, match=r"checksum mismatch for .*kmnist/train-images"):
        load_dataset("kmnist", data_dir=tmp_path, download=False)


def test_image_label_count_mismatch(
    tmp_path: Path,
    write_mnist_like: Callable[..., dict[str, np.ndarray]],
    set_checksums: SetChecksums,
) -> None:
    folder = tmp_path / "kmnist"
    write_mnist_like(folder)
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(encode_idx(np.zeros(5, dtype=np.uint8)))
    )
    set_checksums("kmnist", {})
    with pytest.raises(DataIntegrityError, match="t10k-images.*6 images but .*t10k-labels.*5"):
        load_dataset("kmnist", data_dir=tmp_path, download=False)


def test_label_out_of_range(
    tmp_path: Path,
    write_mnist_like: Callable[..., dict[str, np.ndarray]],
    set_checksums: SetChecksums,
) -> None:
    write_mnist_like(tmp_path / "kmnist", num_classes=11)
    set_checksums("kmnist", {})
    with pytest.raises(DataIntegrityError, match=r"train-labels.*\[0, 9\], got \[0, 10\]"):
        load_dataset("kmnist", data_dir=tmp_path, download=False)


def test_truncated_file_names_the_file(
    tmp_path: Path,
    write_mnist_like: Callable[..., dict[str, np.ndarray]],
    set_checksums: SetChecksums,
) -> None:
    folder = tmp_path / "kmnist"
    write_mnist_like(folder)
    path = folder / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:200])
    set_checksums("kmnist", {})
    with pytest.raises(DataIntegrityError, match=rf"{path} is corrupt or truncated"):
        load_dataset("kmnist", data_dir=tmp_path, download=False)


# --- EMNIST ---------------------------------------------------------------------------------


def _emnist_members(split: str, labels: np.ndarray, stored: np.ndarray) -> dict[str, bytes]:
    payload = {
        "train-images-idx3": stored,
        "train-labels-idx1": labels,
        "test-images-idx3": stored[:3],
        "test-labels-idx1": labels[:3],
    }
    return {
        f"gzip/emnist-{split}-{kind}-ubyte.gz": gzip.compress(encode_idx(a), mtime=0)
        for kind, a in payload.items()
    }


def test_emnist_download_extract_transpose(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make_zip: Callable[[Path, dict[str, bytes]], None],
    set_checksums: SetChecksums,
) -> None:
    rng = np.random.default_rng(3)
    stored = rng.integers(0, 256, size=(6, 28, 28), dtype=np.uint8)
    letters = np.array([1, 26, 5, 2, 3, 4], dtype=np.uint8)
    digits = np.array([0, 9, 1, 2, 3, 4], dtype=np.uint8)
    members = {
        **_emnist_members("letters", letters, stored),
        **_emnist_members("digits", digits, stored),
        "gzip/emnist-letters-mapping.txt": b"1 65 97\n",
    }
    archive = tmp_path / "mirror" / "emnist" / "gzip.zip"
    make_zip(archive, members)
    set_checksums("emnist", {"gzip.zip": _md5(archive.read_bytes())})
    monkeypatch.setenv("HYBRIDQNN_MIRROR", (tmp_path / "mirror").as_uri())
    data = tmp_path / "data"

    ds = load_dataset("emnist", split="letters", data_dir=data)
    assert ds.name == "emnist-letters" and ds.num_classes == 26
    assert ds.class_names[0] == "a" and ds.class_names[25] == "z"
    assert ds.y_train.tolist() == [0, 25, 4, 1, 2, 3]
    # Stored transposed: loaded images are the transpose of what is in the file.
    np.testing.assert_array_equal(ds.x_train[:, 0] * 255, stored.transpose(0, 2, 1))
    assert ds.x_train.flags.c_contiguous
    files = sorted(p.name for p in (data / "emnist").iterdir())
    assert files == sorted(["gzip.zip", *(m.split("/")[1] for m in members if "letters-t" in m)])

    # Another split comes from the kept archive, without downloading.
    monkeypatch.setenv("HYBRIDQNN_MIRROR", (tmp_path / "gone").as_uri())
    digits_ds = load_dataset("emnist", split="digits", data_dir=data, download=False)
    assert digits_ds.y_train.tolist() == digits.tolist() and digits_ds.num_classes == 10


@pytest.mark.parametrize(
    ("split", "count"),
    [
        ("byclass", 62),
        ("bymerge", 47),
        ("balanced", 47),
        ("letters", 26),
        ("digits", 10),
        ("mnist", 10),
    ],
)
def test_emnist_class_counts(split: str, count: int) -> None:
    from hybridqnn.data.loaders import EMNIST_SPLITS

    assert len(EMNIST_SPLITS[split]) == count == len(set(EMNIST_SPLITS[split]))


def test_emnist_default_split_missing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="emnist-balanced-train-images") as info:
        load_dataset("emnist", data_dir=tmp_path, download=False)
    assert "gzip.zip" in str(info.value) and str(tmp_path / "emnist") in str(info.value)


def test_emnist_corrupt_archive(tmp_path: Path, set_checksums: SetChecksums) -> None:
    (tmp_path / "emnist").mkdir()
    (tmp_path / "emnist" / "gzip.zip").write_bytes(b"PK\x03\x04 not really a zip")
    set_checksums("emnist", {})
    with pytest.raises(DataIntegrityError, match=r"zip archive .*gzip\.zip is corrupt"):
        load_dataset("emnist", data_dir=tmp_path)


# --- CIFAR-10 -------------------------------------------------------------------------------


def _cifar_checksums(files: dict[str, bytes], archive: Path | None = None) -> dict[str, str | None]:
    table: dict[str, str | None] = {name: _md5(data) for name, data in files.items()}
    if archive is not None:
        table["cifar-10-python.tar.gz"] = _md5(archive.read_bytes())
    return table


def test_cifar10_download_and_safe_extract(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tiny_cifar: dict[str, bytes],
    make_tar: Callable[..., None],
    set_checksums: SetChecksums,
) -> None:
    def malicious(tar: tarfile.TarFile) -> None:
        for name in ("../escape.txt", "/tmp/hybridqnn-abs-escape.txt", "cifar-10-batches-py/../up"):
            info = tarfile.TarInfo(name)
            info.size = 4
            tar.addfile(info, io.BytesIO(b"evil"))
        link = tarfile.TarInfo("cifar-10-batches-py/readme.html")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tar.addfile(link)

    archive = tmp_path / "mirror" / "cifar-10" / "cifar-10-python.tar.gz"
    make_tar(
        archive,
        {f"cifar-10-batches-py/{name}": data for name, data in tiny_cifar.items()},
        malicious,
    )
    set_checksums("cifar-10", _cifar_checksums(tiny_cifar, archive))
    monkeypatch.setenv("HYBRIDQNN_MIRROR", (tmp_path / "mirror").as_uri())
    data = tmp_path / "data"
    ds = load_dataset("cifar10", data_dir=data)
    assert ds.x_train.shape == (20, 3, 32, 32) and ds.x_test.shape == (3, 3, 32, 32)
    _check_images(ds, (3, 32, 32))
    assert ds.class_names[0] == "airplane" and ds.class_names[9] == "truck"
    assert ds.y_test.tolist() == [0, 9, 5]
    batch = pickle.loads(tiny_cifar["test_batch"])
    np.testing.assert_allclose(
        ds.x_test, batch[b"data"].reshape(3, 3, 32, 32).astype(np.float32) / 255
    )
    assert sorted(p.name for p in (data / "cifar-10" / "cifar-10-batches-py").iterdir()) == sorted(
        tiny_cifar
    )
    assert sorted(p.name for p in (data / "cifar-10").iterdir()) == [
        "cifar-10-batches-py",
        "cifar-10-python.tar.gz",
    ]
    assert not (data / "escape.txt").exists() and not (tmp_path / "escape.txt").exists()
    assert not Path("/tmp/hybridqnn-abs-escape.txt").exists()


def test_cifar10_symlink_member_is_not_followed(
    tmp_path: Path,
    tiny_cifar: dict[str, bytes],
    make_tar: Callable[..., None],
    set_checksums: SetChecksums,
) -> None:
    archive = tmp_path / "cifar-10" / "cifar-10-python.tar.gz"
    files = dict(tiny_cifar)
    del files["batches.meta"]

    def link_meta(tar: tarfile.TarFile) -> None:
        link = tarfile.TarInfo("cifar-10-batches-py/batches.meta")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tar.addfile(link)

    make_tar(archive, {f"cifar-10-batches-py/{n}": d for n, d in files.items()}, link_meta)
    set_checksums("cifar-10", {})
    with pytest.raises(DataIntegrityError, match=r"lacks the regular-file members .*batches\.meta"):
        load_dataset("cifar10", data_dir=tmp_path, download=False)
    assert not (tmp_path / "cifar-10" / "cifar-10-batches-py" / "batches.meta").exists()


def test_cifar10_malicious_pickle_is_refused(
    tmp_path: Path, tiny_cifar: dict[str, bytes], set_checksums: SetChecksums
) -> None:
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.system, (f"touch {marker}",))

    folder = tmp_path / "cifar-10" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name, data in tiny_cifar.items():
        (folder / name).write_bytes(data)
    (folder / "data_batch_3").write_bytes(pickle.dumps({b"data": Exploit()}, protocol=2))
    set_checksums("cifar-10", {})
    with pytest.raises(
        pickle.UnpicklingError, match=r"(posix|os|nt)\.system in .*data_batch_3"
    ) as info:
        load_dataset("cifar10", data_dir=tmp_path, download=False)
    assert "\n" not in str(info.value)
    assert not marker.exists()


def test_cifar10_checksum_mismatch_names_the_batch(
    tmp_path: Path, tiny_cifar: dict[str, bytes], set_checksums: SetChecksums
) -> None:
    folder = tmp_path / "cifar-10" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name, data in tiny_cifar.items():
        (folder / name).write_bytes(data)
    table = _cifar_checksums(tiny_cifar)
    table["data_batch_4"] = "0" * 32
    set_checksums("cifar-10", table)
    with pytest.raises(DataIntegrityError, match=r"checksum mismatch for .*data_batch_4"):
        load_dataset("cifar10", data_dir=tmp_path, download=False)


def test_cifar10_missing_offline(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as info:
        load_dataset("cifar10", data_dir=tmp_path, download=False)
    message = str(info.value)
    assert "\n" not in message and "data_batch_1" in message and "batches.meta" in message
    assert str(tmp_path / "cifar-10" / "cifar-10-batches-py") in message
    assert "cifar-10-python.tar.gz" in message


def test_limits_reach_the_parsers(
    tmp_path: Path, write_mnist_like: Callable[..., dict[str, np.ndarray]], set_checksums: SetChecksums
) -> None:
    from hybridqnn.data import DataLimits
    from hybridqnn.errors import InputFileError

    folder = tmp_path / "mnist"
    write_mnist_like(folder)
    set_checksums("mnist", {p.name: None for p in folder.iterdir()})
    assert load_dataset("mnist", data_dir=tmp_path, download=False).x_train.shape[0] > 1
    with pytest.raises(InputFileError, match="above the limit max_rows=1 "):
        load_dataset("mnist", data_dir=tmp_path, download=False, limits=DataLimits(max_rows=1))


def test_ensure_dataset_checks_files_without_reading_them(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What load_dataset checks first, alone: present and verified files pass (the parsers are
    never called), a missing set is one line naming its folder, digits needs no file."""
    from hybridqnn.data import loaders

    def parsed(*args: object, **kwargs: object) -> None:
        raise AssertionError("ensure_dataset read a file")

    monkeypatch.setattr(loaders, "read_idx", parsed)
    monkeypatch.setattr(loaders, "load_libsvm", parsed)
    for name in ("mnist", "fashion-mnist", "a1a", "digits"):
        assert ensure_dataset(name, data_dir=shared_data, download=False) is None
    assert ensure_dataset("digits", data_dir=tmp_path, download=False) is None
    with pytest.raises(FileNotFoundError) as info:
        ensure_dataset("mnist", data_dir=tmp_path, download=False)
    message = str(info.value)
    assert "\n" not in message and str(tmp_path / "mnist") in message
    with pytest.raises(ValueError, match="'name'"):
        ensure_dataset("mnits", data_dir=tmp_path)
    with pytest.raises(ValueError, match="'split'"):
        ensure_dataset("mnist", data_dir=tmp_path, split="letters")
