"""load_libsvm on small LIBSVM files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hybridqnn.data import DataIntegrityError, load_libsvm


def test_reads_dense_float32(tmp_path: Path) -> None:
    path = tmp_path / "small"
    path.write_text("+1 1:0.5 3:1\n-1 2:2\n+1 \n")
    x, y = load_libsvm(path)
    assert x.dtype == np.float32 and x.shape == (3, 3)
    np.testing.assert_array_equal(x, [[0.5, 0, 1], [0, 2, 0], [0, 0, 0]])
    assert y.tolist() == [1.0, -1.0, 1.0]
    x, _ = load_libsvm(str(path), n_features=5)
    assert x.shape == (3, 5)


@pytest.mark.parametrize("content", ["+1 1:abc\n", "+1 0:1\n", "notalabel 1:1\n"])
def test_malformed_names_the_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.svm"
    path.write_text(content)
    with pytest.raises(DataIntegrityError, match=rf"LIBSVM file {path} is malformed") as info:
        load_libsvm(path)
    assert "\n" not in str(info.value)


def test_too_few_features(tmp_path: Path) -> None:
    path = tmp_path / "wide"
    path.write_text("+1 7:1\n")
    with pytest.raises(DataIntegrityError, match=rf"{path}.*n_features"):
        load_libsvm(path, n_features=3)


def test_arguments(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope"):
        load_libsvm(tmp_path / "nope")
    with pytest.raises(TypeError, match="'path'"):
        load_libsvm(1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'n_features'"):
        load_libsvm(tmp_path / "nope", n_features=0)
    with pytest.raises(TypeError, match="'n_features'"):
        load_libsvm(tmp_path / "nope", n_features=2.0)  # type: ignore[arg-type]


def test_a1a_labels_map_to_0_1(shared_data: Path) -> None:
    x, y = load_libsvm(shared_data / "libsvm" / "a1a", n_features=123)
    assert x.shape == (1605, 123) and set(y.tolist()) == {-1.0, 1.0}
