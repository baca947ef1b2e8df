"""first_n, stratified_subset, class_pair and train_val_split."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridqnn.data import Dataset, class_pair, first_n, stratified_subset, train_val_split


def _toy(n_train: int = 100, n_test: int = 40, num_classes: int = 4) -> Dataset:
    rng = np.random.default_rng(0)
    y_train = rng.permutation(np.arange(n_train) % num_classes)
    y_test = rng.permutation(np.arange(n_test) % num_classes)
    # Every sample is identifiable: feature 0 is its index, feature 1 its label.
    x_train = np.stack([np.arange(n_train), y_train], axis=1).astype(np.float32)
    x_test = np.stack([np.arange(n_test), y_test], axis=1).astype(np.float32)
    names = tuple(f"c{k}" for k in range(num_classes))
    return Dataset("toy", x_train, y_train, x_test, y_test, num_classes, names)


TOY = _toy()


@given(n_train=st.integers(1, 100), n_test=st.one_of(st.none(), st.integers(1, 40)))
def test_first_n_is_a_prefix(n_train: int, n_test: int | None) -> None:
    sub = first_n(TOY, n_train, n_test)
    np.testing.assert_array_equal(sub.x_train, TOY.x_train[:n_train])
    np.testing.assert_array_equal(sub.y_train, TOY.y_train[:n_train])
    assert sub.n_test == (TOY.n_test if n_test is None else n_test)
    assert sub.class_names == TOY.class_names and sub.name == TOY.name


@settings(deadline=None, max_examples=40)
@given(
    n_train=st.integers(8, 100),
    n_test=st.one_of(st.none(), st.integers(8, 40)),
    seed=st.integers(0, 2**32 - 1),
)
def test_stratified_subset_properties(n_train: int, n_test: int | None, seed: int) -> None:
    sub = stratified_subset(TOY, n_train, n_test, seed=seed)
    assert sub.n_train == n_train
    assert sub.n_test == (TOY.n_test if n_test is None else n_test)
    # Samples are distinct, kept in original order, with labels that match their inputs.
    idx = sub.x_train[:, 0].astype(int)
    assert np.all(np.diff(idx) > 0)
    np.testing.assert_array_equal(TOY.y_train[idx], sub.y_train)
    # Stratified: every class gets floor or ceil of its proportional share.
    counts = np.bincount(sub.y_train, minlength=4)
    assert counts.max() - counts.min() <= 1
    again = stratified_subset(TOY, n_train, n_test, seed=seed)
    np.testing.assert_array_equal(again.x_train, sub.x_train)
    np.testing.assert_array_equal(again.x_test, sub.x_test)


def test_stratified_subset_seed_changes_the_draw() -> None:
    a = stratified_subset(TOY, 20, seed=0)
    b = stratified_subset(TOY, 20, seed=1)
    assert not np.array_equal(a.x_train, b.x_train)
    assert stratified_subset(TOY, 100).x_train.shape == TOY.x_train.shape


@pytest.mark.parametrize("fn", [first_n, stratified_subset])
def test_counts_are_validated(fn) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="'n_train' must be at most the 100 training samples"):
        fn(TOY, 101)
    with pytest.raises(ValueError, match="'n_test' must be at most the 40 test samples"):
        fn(TOY, 10, 41)
    with pytest.raises(ValueError, match="'n_train'"):
        fn(TOY, 0)
    with pytest.raises(TypeError, match="'n_train'"):
        fn(TOY, 5.0)
    with pytest.raises(TypeError, match="'ds'"):
        fn((TOY.x_train, TOY.y_train), 5)


def test_stratified_subset_small_and_imbalanced() -> None:
    tiny = stratified_subset(TOY, 2, 3, seed=5)
    assert len(set(tiny.y_train.tolist())) == 2 and len(set(tiny.y_test.tolist())) == 3
    y = np.array([0] * 90 + [1] * 9 + [2])
    x = np.arange(100, dtype=np.float32)[:, None]
    ds = Dataset("imb", x, y, x[:3], y[:3], 3, ("a", "b", "c"))
    sub = stratified_subset(ds, 10, seed=3)
    # Largest remainders: 90*10/100 = 9 exactly, 9*10/100 = 0.9 -> gets the leftover sample.
    assert np.bincount(sub.y_train, minlength=3).tolist() == [9, 1, 0]
    with pytest.raises(ValueError, match="'seed'"):
        stratified_subset(TOY, 10, seed=-1)


@given(a=st.integers(0, 3), b=st.integers(0, 3))
def test_class_pair(a: int, b: int) -> None:
    if a == b:
        with pytest.raises(ValueError, match="different classes"):
            class_pair(TOY, a, b)
        return
    pair = class_pair(TOY, a, b)
    assert pair.num_classes == 2 and pair.class_names == (f"c{a}", f"c{b}")
    for x, y in ((pair.x_train, pair.y_train), (pair.x_test, pair.y_test)):
        original = x[:, 1].astype(int)
        assert set(original.tolist()) == {a, b}
        np.testing.assert_array_equal(y, (original == b).astype(np.int64))
        assert y.dtype == np.int64
    assert pair.n_train == int(np.isin(TOY.y_train, [a, b]).sum())


def test_class_pair_by_name_and_errors() -> None:
    pair = class_pair(TOY, "c3", "c1")
    assert pair.class_names == ("c3", "c1") and pair.name == "toy[c3 vs c1]"
    with pytest.raises(ValueError, match="'b' must be a class index or one of c0, c1"):
        class_pair(TOY, "c0", "zebra")
    with pytest.raises(ValueError, match="'a' must be an integer in \\[0, 3\\], got 4"):
        class_pair(TOY, 4, 0)


@settings(deadline=None, max_examples=40)
@given(val_fraction=st.floats(0.1, 0.9), seed=st.integers(0, 1000))
def test_train_val_split_properties(val_fraction: float, seed: int) -> None:
    x, y = TOY.x_train, TOY.y_train
    split = train_val_split(x, y, val_fraction, seed)
    assert len(split.y_val) == int(np.ceil(val_fraction * len(y)))
    assert len(split.y_train) + len(split.y_val) == len(y)
    together = np.concatenate([split.x_train[:, 0], split.x_val[:, 0]])
    assert sorted(together.astype(int).tolist()) == list(range(len(y)))
    np.testing.assert_array_equal(split.x_val[:, 1], split.y_val)
    counts = np.bincount(split.y_val, minlength=4)
    assert counts.max() - counts.min() <= 1
    again = train_val_split(x, y, val_fraction, seed)
    np.testing.assert_array_equal(again.x_val, split.x_val)


def test_train_val_split_errors() -> None:
    x, y = TOY.x_train, TOY.y_train
    for bad in (0.0, 1.0, 1.5, float("nan")):
        with pytest.raises(ValueError, match="'val_fraction'"):
            train_val_split(x, y, bad)
    with pytest.raises(ValueError, match="same length"):
        train_val_split(x[:-1], y, 0.2)
    with pytest.raises(TypeError, match="'y'"):
        train_val_split(x, list(y), 0.2)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'val_fraction'=0.999 must leave at least one sample"):
        train_val_split(x, y, 0.999)
    one = train_val_split(x, y, 0.01)
    assert len(one.y_val) == 1 and len(one.y_train) == 99
