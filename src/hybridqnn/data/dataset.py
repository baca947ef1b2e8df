"""The :class:`Dataset` container returned by every loader."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Dataset"]


@dataclass(frozen=True, eq=False)
class Dataset:
    """A labelled data set with its official (or fixed, documented) train/test split.

    Images are ``float32`` in ``[0, 1]`` with shape ``(N, C, H, W)`` (channels first, as in
    PyTorch); tabular data (LIBSVM) is dense ``float32`` with shape ``(N, n_features)``. Labels
    are ``int64`` in ``0 .. num_classes - 1``. The arrays are stored as given, not copied.

    Attributes:
        name: Data set name, e.g. ``"mnist"`` or ``"emnist-balanced"``.
        x_train: Training inputs.
        y_train: Training labels, shape ``(N_train,)``.
        x_test: Test inputs, with the same per-sample shape as ``x_train``.
        y_test: Test labels, shape ``(N_test,)``.
        num_classes: Number of classes.
        class_names: One name per class; ``class_names[k]`` names label ``k``.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    class_names: tuple[str, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"'name' must be a non-empty str, got {self.name!r}")
        for field in ("x_train", "y_train", "x_test", "y_test"):
            value = getattr(self, field)
            if not isinstance(value, np.ndarray):
                raise TypeError(f"{field!r} must be a numpy.ndarray, got {type(value).__name__}")
        for x_name, y_name in (("x_train", "y_train"), ("x_test", "y_test")):
            x, y = getattr(self, x_name), getattr(self, y_name)
            if y.ndim != 1:
                raise ValueError(f"{y_name!r} must be 1-D, got shape {y.shape}")
            if x.ndim < 2 or len(x) != len(y):
                raise ValueError(
                    f"{x_name!r} must have one row per label in {y_name!r} ({len(y)}), "
                    f"got shape {x.shape}"
                )
            if not np.issubdtype(y.dtype, np.integer):
                raise TypeError(f"{y_name!r} must have an integer dtype, got {y.dtype}")
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise ValueError(
                "'x_train' and 'x_test' must have the same per-sample shape, got "
                f"{self.x_train.shape[1:]} and {self.x_test.shape[1:]}"
            )
        if isinstance(self.num_classes, bool) or not isinstance(self.num_classes, int):
            raise TypeError(f"'num_classes' must be an int, got {self.num_classes!r}")
        if not isinstance(self.class_names, tuple) or not all(
            isinstance(c, str) for c in self.class_names
        ):
            raise TypeError(f"'class_names' must be a tuple of str, got {self.class_names!r}")
        if self.num_classes < 1 or len(self.class_names) != self.num_classes:
            raise ValueError(
                f"'class_names' must have num_classes={self.num_classes} entries, "
                f"got {len(self.class_names)}"
            )
        for y_name in ("y_train", "y_test"):
            y = getattr(self, y_name)
            if y.size and (y.min() < 0 or y.max() >= self.num_classes):
                raise ValueError(
                    f"{y_name!r} must lie in [0, {self.num_classes - 1}], "
                    f"got values in [{y.min()}, {y.max()}]"
                )

    @property
    def n_train(self) -> int:
        """Number of training samples."""
        return len(self.y_train)

    @property
    def n_test(self) -> int:
        """Number of test samples."""
        return len(self.y_test)

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """Shape of one sample: ``(C, H, W)`` for images, ``(n_features,)`` for tabular data."""
        return tuple(int(s) for s in self.x_train.shape[1:])

    @property
    def is_image(self) -> bool:
        """Whether the samples are images, i.e. have shape ``(C, H, W)``."""
        return self.x_train.ndim == 4

    @property
    def image_shape(self) -> tuple[int, int, int] | None:
        """``(C, H, W)`` for image data sets, ``None`` for tabular ones."""
        if not self.is_image:
            return None
        c, h, w = self.sample_shape
        return (c, h, w)

    @property
    def num_features(self) -> int:
        """Number of input features per sample (``C * H * W`` for images)."""
        return math.prod(self.sample_shape)

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, train={self.x_train.shape}, test={self.x_test.shape}, "
            f"num_classes={self.num_classes})"
        )
