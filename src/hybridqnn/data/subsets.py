"""Smaller data sets and validation splits, deterministic per seed.

All functions return new arrays (fancy indexing copies) in the original sample order.
Stratified sampling keeps the class proportions up to rounding, as scikit-learn's
``train_test_split(..., stratify=y)`` does (each class gets the floor of its proportional share,
and the leftover samples go to the classes with the largest remainders), but draws only the
requested part, so it has no minimum size for the part that is left out. The draw depends only
on ``seed`` (via ``numpy.random.default_rng``), so a given seed always gives the same subset.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from hybridqnn._checks import check_float, check_int
from hybridqnn.data.dataset import Dataset

__all__ = ["TrainValSplit", "class_pair", "first_n", "stratified_subset", "train_val_split"]

_MAX_SEED = 2**32 - 1


class TrainValSplit(NamedTuple):
    """Result of :func:`train_val_split`."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


def _check_dataset(ds: Any) -> Dataset:
    if not isinstance(ds, Dataset):
        raise TypeError(f"'ds' must be a hybridqnn.data.Dataset, got {type(ds).__name__}")
    return ds


def _check_count(name: str, value: Any, available: int, what: str) -> int:
    value = check_int(name, value, 1)
    if value > available:
        raise ValueError(f"{name!r} must be at most the {available} {what} available, got {value}")
    return value


def _stratified_indices(y: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Draw ``n`` of ``len(y)`` indices, stratified by ``y``, sorted.

    Each class gets ``floor(n * count / len(y))`` samples; the samples left over go one each to
    the classes with the largest remainders (ties broken at random), so per-class counts are
    within one of the exact proportional share. Within a class the samples are drawn uniformly
    without replacement with ``numpy.random.default_rng(seed)``.
    """
    rng = np.random.default_rng(seed)
    _, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    total = len(y)
    alloc = counts * n // total
    remainders = counts * n % total
    extra = n - int(alloc.sum())
    order = np.lexsort((rng.random(len(counts)), -remainders))
    alloc[order[:extra]] += 1
    chosen = [
        rng.choice(np.flatnonzero(inverse == k), size=int(m), replace=False)
        for k, m in enumerate(alloc)
        if m
    ]
    return np.sort(np.concatenate(chosen)) if chosen else np.arange(0)


def _subset(ds: Dataset, train_idx: np.ndarray, test_idx: np.ndarray | None, name: str) -> Dataset:
    x_test, y_test = (
        (ds.x_test, ds.y_test) if test_idx is None else (ds.x_test[test_idx], ds.y_test[test_idx])
    )
    return Dataset(
        name,
        ds.x_train[train_idx],
        ds.y_train[train_idx],
        x_test,
        y_test,
        ds.num_classes,
        ds.class_names,
    )


def first_n(ds: Dataset, n_train: int, n_test: int | None = None) -> Dataset:
    """Keep the first ``n_train`` training and ``n_test`` test samples.

    Args:
        ds: The data set.
        n_train: Number of training samples to keep, 1 to ``ds.n_train``.
        n_test: Number of test samples to keep, 1 to ``ds.n_test``; ``None`` keeps them all.

    Returns:
        A new data set with the same name, classes and class names.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If a count is < 1 or larger than the samples available.
    """
    ds = _check_dataset(ds)
    n_train = _check_count("n_train", n_train, ds.n_train, "training samples")
    test_idx = None
    if n_test is not None:
        test_idx = np.arange(_check_count("n_test", n_test, ds.n_test, "test samples"))
    return _subset(ds, np.arange(n_train), test_idx, ds.name)


def stratified_subset(
    ds: Dataset, n_train: int, n_test: int | None = None, seed: int = 0
) -> Dataset:
    """Draw a class-stratified random subset, the same for the same ``seed``.

    Args:
        ds: The data set.
        n_train: Number of training samples, 1 to ``ds.n_train``.
        n_test: Number of test samples, likewise; ``None`` keeps the whole test set.
        seed: Random seed in [0, 2**32 - 1].

    Returns:
        A new data set, samples in their original order.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If a count is < 1 or larger than the samples available.
    """
    ds = _check_dataset(ds)
    n_train = _check_count("n_train", n_train, ds.n_train, "training samples")
    seed = check_int("seed", seed, 0, _MAX_SEED)
    train_idx = _stratified_indices(ds.y_train, n_train, seed)
    test_idx = None
    if n_test is not None:
        n_test = _check_count("n_test", n_test, ds.n_test, "test samples")
        test_idx = _stratified_indices(ds.y_test, n_test, seed)
    return _subset(ds, train_idx, test_idx, ds.name)


def _class_index(ds: Dataset, name: str, value: Any) -> int:
    if isinstance(value, str):
        if value not in ds.class_names:
            raise ValueError(
                f"{name!r} must be a class index or one of {', '.join(ds.class_names)}; "
                f"got {value!r}"
            )
        return ds.class_names.index(value)
    return check_int(name, value, 0, ds.num_classes - 1)


def class_pair(ds: Dataset, a: int | str, b: int | str) -> Dataset:
    """Keep only two classes, relabelled ``a`` → 0 and ``b`` → 1.

    Args:
        ds: The data set.
        a: Class that becomes label 0, as an index or a class name.
        b: Class that becomes label 1, as an index or a class name.

    Returns:
        A two-class data set named ``"<name>[<a> vs <b>]"`` with class names
        ``(class_names[a], class_names[b])``.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If a class does not exist, ``a == b``, or no training sample is left.
    """
    ds = _check_dataset(ds)
    ia, ib = _class_index(ds, "a", a), _class_index(ds, "b", b)
    if ia == ib:
        raise ValueError(f"'a' and 'b' must be different classes, got {a!r} and {b!r}")
    names = (ds.class_names[ia], ds.class_names[ib])

    def pick(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        keep = (y == ia) | (y == ib)
        return x[keep], (y[keep] == ib).astype(np.int64)

    x_train, y_train = pick(ds.x_train, ds.y_train)
    x_test, y_test = pick(ds.x_test, ds.y_test)
    if len(y_train) == 0:
        raise ValueError(
            f"classes {names[0]!r} and {names[1]!r} have no training samples in {ds.name!r}"
        )
    return Dataset(
        f"{ds.name}[{names[0]} vs {names[1]}]", x_train, y_train, x_test, y_test, 2, names
    )


def train_val_split(
    x: np.ndarray, y: np.ndarray, val_fraction: float, seed: int = 0
) -> TrainValSplit:
    """Split arrays into training and validation parts, stratified by ``y``.

    The validation part has ``ceil(val_fraction * len(y))`` samples (scikit-learn's rounding),
    drawn stratified as in :func:`stratified_subset`; the training part is the rest. Both keep
    the original sample order and are the same for the same ``seed``.

    Args:
        x: Inputs, first axis = samples.
        y: Labels, shape ``(N,)``.
        val_fraction: Fraction of samples for validation, in (0, 1).
        seed: Random seed in [0, 2**32 - 1].

    Returns:
        ``TrainValSplit(x_train, y_train, x_val, y_val)``.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If the lengths differ, ``val_fraction`` is not in (0, 1), or a part would
            be empty.
    """
    for name, value in (("x", x), ("y", y)):
        if not isinstance(value, np.ndarray):
            raise TypeError(f"{name!r} must be a numpy.ndarray, got {type(value).__name__}")
    if y.ndim != 1 or x.ndim < 1 or len(x) != len(y):
        raise ValueError(
            f"'x' and 'y' must have the same length with 'y' 1-D, got shapes {x.shape} and {y.shape}"
        )
    val_fraction = check_float("val_fraction", val_fraction, 0.0, 1.0, low_open=True)
    if val_fraction >= 1.0:
        raise ValueError(f"'val_fraction' must be a finite number in (0, 1), got {val_fraction!r}")
    seed = check_int("seed", seed, 0, _MAX_SEED)
    n_val = math.ceil(val_fraction * len(y))
    if not 1 <= n_val < len(y):
        raise ValueError(
            f"'val_fraction'={val_fraction} must leave at least one sample in each part of the "
            f"{len(y)} samples, got {n_val} for validation"
        )
    val_idx = _stratified_indices(y, n_val, seed)
    train_mask = np.ones(len(y), dtype=bool)
    train_mask[val_idx] = False
    return TrainValSplit(x[train_mask], y[train_mask], x[val_idx], y[val_idx])
