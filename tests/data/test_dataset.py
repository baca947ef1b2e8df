"""The Dataset container."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hybridqnn.data import Dataset


def _make(**changes: object) -> Dataset:
    fields: dict[str, object] = {
        "name": "toy",
        "x_train": np.zeros((4, 1, 2, 3), dtype=np.float32),
        "y_train": np.array([0, 1, 2, 0]),
        "x_test": np.zeros((2, 1, 2, 3), dtype=np.float32),
        "y_test": np.array([1, 2]),
        "num_classes": 3,
        "class_names": ("a", "b", "c"),
    }
    fields.update(changes)
    return Dataset(**fields)  # type: ignore[arg-type]


def test_properties() -> None:
    ds = _make()
    assert (ds.n_train, ds.n_test) == (4, 2)
    assert ds.is_image and ds.image_shape == (1, 2, 3) and ds.num_features == 6
    assert ds.sample_shape == (1, 2, 3)
    flat = _make(x_train=np.zeros((4, 5)), x_test=np.zeros((2, 5)))
    assert not flat.is_image and flat.image_shape is None and flat.num_features == 5
    assert "toy" in repr(ds) and "(4, 1, 2, 3)" in repr(ds)


def test_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        _make().name = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("changes", "error", "pattern"),
    [
        ({"y_train": np.array([0, 1, 2])}, ValueError, "'x_train'.*3"),
        ({"y_test": np.array([[1], [2]])}, ValueError, "'y_test' must be 1-D"),
        ({"x_test": np.zeros((2, 1, 3, 2))}, ValueError, "same per-sample shape"),
        ({"y_train": np.array([0.0, 1, 2, 0])}, TypeError, "integer dtype"),
        ({"y_train": np.array([0, 1, 3, 0])}, ValueError, r"\[0, 2\], got values in \[0, 3\]"),
        ({"class_names": ("a", "b")}, ValueError, "num_classes=3"),
        ({"class_names": ["a", "b", "c"]}, TypeError, "tuple of str"),
        ({"num_classes": 3.0}, TypeError, "'num_classes'"),
        ({"x_train": [[0.0]] * 4}, TypeError, "'x_train' must be a numpy.ndarray"),
        ({"name": ""}, TypeError, "'name'"),
    ],
)
def test_post_init_checks(changes: dict[str, object], error: type, pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        _make(**changes)
