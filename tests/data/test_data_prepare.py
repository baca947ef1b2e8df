"""Data preparation of the QP-SBGD and QCBO experiments (hybridqnn.data.prepare)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridqnn.data import (
    Dataset,
    a1a_spins,
    block_means,
    planted_logistic,
    pooled_pair_features,
    task_subset,
)


@given(st.integers(1, 20), st.integers(1, 30), st.integers(1, 30), st.integers(0, 2**32 - 1))
def test_planted_logistic_shapes_labels_and_seed(
    d: int, n_train: int, n_test: int, seed: int
) -> None:
    xtr, ytr, xte, yte = planted_logistic(d, n_train, n_test, 0.5, seed)
    assert xtr.shape == (n_train, d) and xte.shape == (n_test, d)
    assert set(np.unique(np.concatenate([ytr, yte]))) <= {0.0, 1.0}
    again = planted_logistic(d, n_train, n_test, 0.5, seed)
    assert all(np.array_equal(a, b) for a, b in zip((xtr, ytr, xte, yte), again, strict=True))


def test_planted_logistic_without_noise_is_the_planted_sign() -> None:
    xtr, ytr, xte, yte = planted_logistic(9, 400, 100, 0.0, seed=3)
    x, y = np.concatenate([xtr, xte]), np.concatenate([ytr, yte])
    # some w* in {±1}^9 separates the data exactly: the least-squares sign recovers it
    w = np.sign(np.linalg.lstsq(x, 2 * y - 1, rcond=None)[0])
    assert np.array_equal((x @ w / math.sqrt(9) > 0).astype(float), y)
    with pytest.raises(ValueError, match="'noise' must be"):
        planted_logistic(3, 4, 4, -1.0, seed=0)


def _fake_a1a() -> Dataset:
    rng = np.random.default_rng(0)
    return Dataset(
        name="a1a",
        x_train=(rng.random((10, 6)) < 0.3).astype(np.float32),
        y_train=rng.integers(0, 2, 10),
        x_test=(rng.random((4, 6)) < 0.3).astype(np.float32),
        y_test=rng.integers(0, 2, 4),
        num_classes=2,
        class_names=("-1", "+1"),
    )


def test_a1a_spins_shuffles_with_the_notebooks_seed() -> None:
    ds = _fake_a1a()
    x, y, xt, yt = a1a_spins(ds, features=[1, 4], train_size=7)
    order = np.random.RandomState(2).permutation(10)[:7]
    assert torch.equal(x, torch.as_tensor(2.0 * ds.x_train[order][:, [1, 4]] - 1.0))
    assert torch.equal(y, torch.as_tensor(ds.y_train[order], dtype=torch.float32))
    assert torch.equal(xt, torch.as_tensor(2.0 * ds.x_test[:, [1, 4]] - 1.0))
    assert yt.dtype == torch.float32 and set(x.unique().tolist()) <= {-1.0, 1.0}
    with pytest.raises(ValueError, match="'features' must be an integer in \\[0, 5\\], got 6"):
        a1a_spins(ds, features=[6])


@settings(max_examples=20, deadline=None)
@given(st.integers(2, 40), st.integers(0, 99))
def test_pooled_pair_features_balanced_spins(train_size: int, seed: int) -> None:
    rng = np.random.default_rng(1)
    ds = SimpleNamespace(
        x_train=rng.random((60, 1, 8, 8)).astype(np.float32),
        y_train=np.repeat([0, 1], 30),
        x_test=rng.random((10, 1, 8, 8)).astype(np.float32),
        y_test=np.repeat([0, 1], 5),
    )
    x, y, xt, yt = pooled_pair_features(ds, 2, train_size, 6, seed)
    assert x.shape == (train_size, 4) and xt.shape == (6, 4) and len(yt) == 6
    assert int(y.sum()) == train_size - train_size // 2  # balanced draw
    assert set(x.unique().tolist()) <= {-1.0, 1.0}
    again = pooled_pair_features(ds, 2, train_size, 6, seed)
    assert all(torch.equal(a, b) for a, b in zip((x, y, xt, yt), again, strict=True))


@settings(max_examples=20, deadline=None)
@given(st.sampled_from([1, 2, 4, 7, 14, 28]), st.integers(0, 2**32 - 1))
def test_block_means_are_the_blocks_means(side: int, seed: int) -> None:
    images = np.random.default_rng(seed).random((3, 1, 28, 28)).astype(np.float32)
    x = block_means(images, side)
    b = 28 // side
    assert x.shape == (3, side * side) and x.dtype == np.float64
    r, c = (side - 1) // 2, side // 3
    assert np.isclose(x[1, r * side + c], images[1, 0, r * b : (r + 1) * b, c * b : (c + 1) * b].mean())
    with pytest.raises(ValueError, match="'side' must divide 28"):
        block_means(images, 5)


def _fake_images(n_classes: int = 3) -> Dataset:
    rng = np.random.default_rng(1)
    return Dataset(
        name="fake",
        x_train=rng.random((30, 1, 28, 28)).astype(np.float32),
        y_train=np.arange(30) % n_classes,
        x_test=rng.random((12, 1, 28, 28)).astype(np.float32),
        y_test=np.arange(12) % n_classes,
        num_classes=n_classes,
        class_names=tuple(f"c{k}" for k in range(n_classes)),
    )


def test_task_subset_pair_or_all_capped_and_seeded() -> None:
    ds = _fake_images()
    pair = task_subset(ds, "2-0", 6, 100, seed=4)
    assert pair.class_names == ("c2", "c0") and pair.y_test.size == 8  # capped at the pair's 8
    assert np.bincount(pair.y_train).tolist() == [3, 3]
    again = task_subset(ds, "2-0", 6, 100, seed=4)
    assert np.array_equal(pair.x_train, again.x_train)
    every = task_subset(ds, "all", 9, 6, seed=0)
    assert every.num_classes == 3 and every.y_train.size == 9 and every.y_test.size == 6
    with pytest.raises(ValueError, match="'task' must be 'all' or a class pair 'A-B', got '1'"):
        task_subset(ds, "1", 6, 6, seed=0)
