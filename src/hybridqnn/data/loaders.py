"""``load_dataset``: the data sets, read from local files and downloaded when missing.

==================  ==============================  =======================================
name                classes, shape                  files under the data root
==================  ==============================  =======================================
``digits``          10, (1, 8, 8)                   none (bundled with scikit-learn)
``mnist``           10, (1, 28, 28)                 ``mnist/`` four IDX ``.gz`` files
``fashion-mnist``   10, (1, 28, 28)                 ``fashion-mnist/`` the same four names
``kmnist``          10, (1, 28, 28)                 ``kmnist/`` the same four names
``emnist``          10 to 62, (1, 28, 28)           ``emnist/emnist-<split>-*.gz``
``cifar10``         10, (3, 32, 32)                 ``cifar-10/cifar-10-batches-py/``
``a1a``             2, (123,)                       ``libsvm/a1a``, ``libsvm/a1a.t``
==================  ==============================  =======================================

``digits`` has no official split: it is split once with scikit-learn's ``train_test_split``
(test fraction :data:`DIGITS_TEST_FRACTION` = 0.25, ``random_state`` :data:`DIGITS_SEED` = 0,
stratified by label; 1347 train and 450 test images), with both parts in original order.
"""

from __future__ import annotations

import logging
import os
import string
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

import numpy as np

from hybridqnn._checks import check_choice
from hybridqnn.data.checksums import DataIntegrityError
from hybridqnn.data.cifar import load_cifar_batch, load_cifar_meta
from hybridqnn.data.dataset import Dataset
from hybridqnn.data.download import ensure_archive_files, ensure_files
from hybridqnn.data.idx import IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, read_idx
from hybridqnn.data.libsvm import load_libsvm
from hybridqnn.data.limits import DataLimits, resolve_limits
from hybridqnn.data.paths import DATASET_DIRS, resolve_data_root

logger = logging.getLogger(__name__)

__all__ = [
    "CIFAR10_BATCHES",
    "DATASETS",
    "DIGITS_SEED",
    "DIGITS_TEST_FRACTION",
    "EMNIST_SPLITS",
    "MNIST_FILES",
    "emnist_files",
    "ensure_dataset",
    "load_dataset",
]

DATASETS: tuple[str, ...] = (
    "digits",
    "mnist",
    "fashion-mnist",
    "kmnist",
    "emnist",
    "cifar10",
    "a1a",
)
"""Names accepted by :func:`load_dataset`."""

DIGITS_TEST_FRACTION = 0.25
"""Test fraction of the fixed ``digits`` split."""
DIGITS_SEED = 0
"""``random_state`` of the fixed ``digits`` split."""

MNIST_FILES: tuple[str, str, str, str] = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
"""File names of MNIST, Fashion-MNIST and KMNIST: train images, train labels, test images,
test labels."""

_DIGITS = tuple(string.digits)
_UPPER = tuple(string.ascii_uppercase)
_LOWER = tuple(string.ascii_lowercase)
_MERGED_LOWER = tuple("abdefghnqrt")  # lower-case letters EMNIST keeps apart from upper case

_CLASS_NAMES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "mnist": _DIGITS,
        "fashion-mnist": (
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
        "kmnist": ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
    }
)

EMNIST_SPLITS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "byclass": _DIGITS + _UPPER + _LOWER,
        "bymerge": _DIGITS + _UPPER + _MERGED_LOWER,
        "balanced": _DIGITS + _UPPER + _MERGED_LOWER,
        "letters": _LOWER,
        "digits": _DIGITS,
        "mnist": _DIGITS,
    }
)
"""EMNIST split → class names (62, 47, 47, 26, 10 and 10 classes)."""

_EMNIST_DEFAULT_SPLIT = "balanced"

CIFAR10_BATCHES: tuple[str, ...] = (
    "data_batch_1",
    "data_batch_2",
    "data_batch_3",
    "data_batch_4",
    "data_batch_5",
    "test_batch",
    "batches.meta",
)
"""Files of ``cifar-10-batches-py/`` that are read."""

_CIFAR_ARCHIVE = "cifar-10-python.tar.gz"
_CIFAR_FOLDER = "cifar-10-batches-py"
_EMNIST_ARCHIVE = "gzip.zip"
_A1A_FEATURES = 123


def emnist_files(split: str) -> tuple[str, str, str, str]:
    """Return the four EMNIST file names of ``split`` (train/test images/labels, as MNIST)."""
    split = check_choice("split", split, EMNIST_SPLITS)
    return (
        f"emnist-{split}-train-images-idx3-ubyte.gz",
        f"emnist-{split}-train-labels-idx1-ubyte.gz",
        f"emnist-{split}-test-images-idx3-ubyte.gz",
        f"emnist-{split}-test-labels-idx1-ubyte.gz",
    )


def _to_unit_float(images: np.ndarray) -> np.ndarray:
    """uint8 images (N, C, H, W) → C-contiguous float32 in [0, 1]."""
    x = images.astype(np.float32, order="C")
    x /= 255.0
    return x


def _read_idx_split(
    images_path: Path,
    labels_path: Path,
    num_classes: int,
    *,
    transpose: bool = False,
    label_offset: int = 0,
    limits: DataLimits | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    images = read_idx(images_path, IDX_IMAGES_MAGIC, limits=limits)
    labels = read_idx(labels_path, IDX_LABELS_MAGIC, limits=limits)
    if len(images) != len(labels):
        raise DataIntegrityError(
            f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} labels"
        )
    if transpose:
        images = images.transpose(0, 2, 1)
    y = labels.astype(np.int64) - label_offset
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise DataIntegrityError(
            f"labels in {labels_path} must lie in [{label_offset}, "
            f"{num_classes - 1 + label_offset}], got [{labels.min()}, {labels.max()}]"
        )
    return _to_unit_float(images[:, None]), y


def _load_idx_dataset(
    name: str,
    directory: Path,
    files: tuple[str, str, str, str],
    class_names: tuple[str, ...],
    *,
    transpose: bool = False,
    label_offset: int = 0,
    limits: DataLimits | None = None,
) -> Dataset:
    paths = [directory / f for f in files]
    n = len(class_names)
    options = {"transpose": transpose, "label_offset": label_offset, "limits": limits}
    x_train, y_train = _read_idx_split(paths[0], paths[1], n, **options)
    x_test, y_test = _read_idx_split(paths[2], paths[3], n, **options)
    return Dataset(name, x_train, y_train, x_test, y_test, n, class_names)


def _ensure_mnist_like(name: str, root: Path, download: bool) -> Path:
    key = DATASET_DIRS[name]
    ensure_files(name, key, root / key, MNIST_FILES, download=download)
    return root / key


def _load_mnist_like(name: str, root: Path, download: bool, limits: DataLimits) -> Dataset:
    directory = _ensure_mnist_like(name, root, download)
    return _load_idx_dataset(name, directory, MNIST_FILES, _CLASS_NAMES[name], limits=limits)


def _ensure_emnist(root: Path, split: str, download: bool) -> Path:
    key = DATASET_DIRS["emnist"]
    directory = root / key
    ensure_archive_files(
        f"emnist ({split})",
        key,
        directory,
        _EMNIST_ARCHIVE,
        {f"gzip/{f}": directory / f for f in emnist_files(split)},
        download=download,
    )
    return directory


def _load_emnist(root: Path, split: str, download: bool, limits: DataLimits) -> Dataset:
    directory = _ensure_emnist(root, split, download)
    files = emnist_files(split)
    # EMNIST stores every image transposed relative to MNIST; "letters" labels are 1..26.
    return _load_idx_dataset(
        f"emnist-{split}",
        directory,
        files,
        EMNIST_SPLITS[split],
        transpose=True,
        label_offset=1 if split == "letters" else 0,
        limits=limits,
    )


def _ensure_cifar10(root: Path, download: bool) -> Path:
    key = DATASET_DIRS["cifar10"]
    archive_dir = root / key
    directory = archive_dir / _CIFAR_FOLDER
    ensure_archive_files(
        "cifar10",
        key,
        archive_dir,
        _CIFAR_ARCHIVE,
        {f"{_CIFAR_FOLDER}/{f}": directory / f for f in CIFAR10_BATCHES},
        download=download,
    )
    return directory


def _load_cifar10(root: Path, download: bool, limits: DataLimits) -> Dataset:
    directory = _ensure_cifar10(root, download)
    class_names = load_cifar_meta(directory / "batches.meta", limits=limits)
    train = [load_cifar_batch(directory / f"data_batch_{i}", limits=limits) for i in range(1, 6)]
    test_data, y_test = load_cifar_batch(directory / "test_batch", limits=limits)
    train_data = np.concatenate([data for data, _ in train])
    y_train = np.concatenate([labels for _, labels in train])
    x_train = _to_unit_float(train_data.reshape(-1, 3, 32, 32))
    x_test = _to_unit_float(test_data.reshape(-1, 3, 32, 32))
    return Dataset("cifar10", x_train, y_train, x_test, y_test, 10, class_names)


def _binary_labels(y: np.ndarray, path: Path) -> np.ndarray:
    values = set(np.unique(y).tolist())
    if not values <= {-1.0, 1.0}:
        raise DataIntegrityError(
            f"LIBSVM file {path} must have labels in {{-1, +1}}, got {sorted(values)[:5]}"
        )
    return (y > 0).astype(np.int64)


def _ensure_a1a(root: Path, download: bool) -> tuple[Path, Path]:
    key = DATASET_DIRS["a1a"]
    train_path, test_path = ensure_files(
        "a1a", key, root / key, ("a1a", "a1a.t"), download=download
    )
    return train_path, test_path


def _load_a1a(root: Path, download: bool, limits: DataLimits) -> Dataset:
    train_path, test_path = _ensure_a1a(root, download)
    x_train, y_train = load_libsvm(train_path, n_features=_A1A_FEATURES, limits=limits)
    x_test, y_test = load_libsvm(test_path, n_features=_A1A_FEATURES, limits=limits)
    return Dataset(
        "a1a",
        x_train,
        _binary_labels(y_train, train_path),
        x_test,
        _binary_labels(y_test, test_path),
        2,
        ("-1", "+1"),
    )


def _load_digits() -> Dataset:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    x = (bunch.images.astype(np.float32) / np.float32(16.0))[:, None]
    y = np.asarray(bunch.target, dtype=np.int64)
    train_idx, test_idx = train_test_split(
        np.arange(len(y)),
        test_size=DIGITS_TEST_FRACTION,
        random_state=DIGITS_SEED,
        stratify=y,
    )
    train_idx, test_idx = np.sort(train_idx), np.sort(test_idx)
    return Dataset(
        "digits",
        np.ascontiguousarray(x[train_idx]),
        y[train_idx],
        np.ascontiguousarray(x[test_idx]),
        y[test_idx],
        10,
        _DIGITS,
    )


def ensure_dataset(
    name: str,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    split: str | None = None,
) -> None:
    """Make sure a data set's files are present and pass their checksums, without reading them:
    what :func:`load_dataset` does first. Experiments call it for every data set a run needs
    before they train anything, so a missing file is one line at the start, not after the
    first data set's training.

    Args:
        name: One of :data:`DATASETS` (``digits`` ships with scikit-learn: nothing to check).
        data_dir: Data root; defaults to ``$HYBRIDQNN_DATA`` or the user cache folder.
        download: Whether missing files may be downloaded.
        split: EMNIST split, as for :func:`load_dataset`.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If ``name`` or ``split`` is not valid.
        FileNotFoundError: If files are missing and cannot be downloaded (one line naming the
            files and the folder to put them in).
        DataIntegrityError: If a file fails its checksum.
    """
    name, split = _checked_name(name, download, split)
    root = resolve_data_root(data_dir)
    if name == "emnist":
        _ensure_emnist(root, split, download)
    elif name == "cifar10":
        _ensure_cifar10(root, download)
    elif name == "a1a":
        _ensure_a1a(root, download)
    elif name != "digits":
        _ensure_mnist_like(name, root, download)


def _checked_name(name: str, download: bool, split: str | None) -> tuple[str, str | None]:
    """``name`` and ``split`` checked (the EMNIST default split filled in)."""
    if not isinstance(name, str):
        raise TypeError(f"'name' must be a str, one of {', '.join(DATASETS)}; got {name!r}")
    name = check_choice("name", name, DATASETS)
    if not isinstance(download, bool):
        raise TypeError(f"'download' must be a bool, got {download!r}")
    if name == "emnist":
        split = _EMNIST_DEFAULT_SPLIT if split is None else split
        if not isinstance(split, str):
            raise TypeError(f"'split' must be a str, got {split!r}")
        split = check_choice("split", split, EMNIST_SPLITS)
    elif split is not None:
        raise ValueError(
            f"'split' is only used with name='emnist', got split={split!r} for {name!r}"
        )
    return name, split


def load_dataset(
    name: str,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    split: str | None = None,
    limits: DataLimits | None = None,
) -> Dataset:
    """Load a data set with its train/test split.

    Files are looked up under the data root (see :func:`~hybridqnn.data.resolve_data_root`)
    in the data set's folder, checked against their published checksums, and downloaded from
    the canonical mirrors when missing (see :mod:`hybridqnn.data.download`).

    Args:
        name: One of :data:`DATASETS`.
        data_dir: Data root; defaults to ``$HYBRIDQNN_DATA`` or the user cache folder.
        download: Whether missing files may be downloaded.
        split: EMNIST split, one of ``byclass``, ``bymerge``, ``balanced`` (default),
            ``letters``, ``digits``, ``mnist``; only valid with ``name="emnist"``.
        limits: Size limits for the files read (default: the documented defaults with the
            ``HYBRIDQNN_MAX_*`` environment overrides; see :mod:`hybridqnn.data.limits`).

    Returns:
        The data set: images ``float32`` in [0, 1] shaped ``(N, C, H, W)``, or dense
        ``float32`` features for ``a1a``; ``int64`` labels.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If ``name`` or ``split`` is not valid.
        FileNotFoundError: If files are missing and cannot be downloaded; the one-line message
            names the files and the folder to put them in.
        DataIntegrityError: If a file fails its checksum or is corrupt; the message names it
            (an :class:`~hybridqnn.errors.InputFileError`, as is a file over a limit).
        pickle.UnpicklingError: If a CIFAR-10 batch tries to load a disallowed global (the
            error is also a DataIntegrityError).
    """
    name, split = _checked_name(name, download, split)
    root = resolve_data_root(data_dir)
    limits = resolve_limits(limits)
    if name == "digits":
        dataset = _load_digits()
    elif name == "emnist":
        dataset = _load_emnist(root, split, download, limits)
    elif name == "cifar10":
        dataset = _load_cifar10(root, download, limits)
    elif name == "a1a":
        dataset = _load_a1a(root, download, limits)
    else:
        dataset = _load_mnist_like(name, root, download, limits)
    logger.debug("loaded %r", dataset)
    return dataset
