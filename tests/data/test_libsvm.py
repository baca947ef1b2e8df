"""load_libsvm on small LIBSVM files."""

from __future__ import annotations

import bz2
import gzip
import time
from pathlib import Path

import numpy as np
import pytest

from hybridqnn.data import DataIntegrityError, load_libsvm
from hybridqnn.data.limits import DataLimits
from hybridqnn.errors import InputFileError


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


@pytest.mark.parametrize(
    ("content", "rule"),
    [
        ("+1 1:nan\n", "feature values must be finite"),
        ("+1 1:inf\n", "feature values must be finite"),
        ("+1 1:1e400\n", "feature values must be finite"),
        ("+1 1:1e39\n", "feature values must be finite"),
        ("nan 1:1\n", "labels must be finite"),
        ("-inf 1:1\n", "labels must be finite"),
        ("1e400 1:1\n", "labels must be finite"),
        ("", "is empty"),
        ("\n\n# only a comment\n", "is empty"),
        ("+1 2147483648:1\n", "does not fit a 32-bit integer"),
        ("+1 9223372036854775808:1\n", "does not fit a 32-bit integer"),
    ],
)
def test_invalid_values_are_refused(tmp_path: Path, content: str, rule: str) -> None:
    path = tmp_path / "bad.svm"
    path.write_text(content)
    with pytest.raises(InputFileError, match=rule) as info:
        load_libsvm(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_feature_index_bound_before_allocating(tmp_path: Path) -> None:
    path = tmp_path / "wide.svm"
    path.write_bytes(b"+1 1000000000:1\n")
    with pytest.raises(InputFileError, match="largest feature index is 1000000000, above the limit max_features"):
        load_libsvm(path)
    path.write_bytes(b"+1 1000:1\n" * 10)
    with pytest.raises(InputFileError, match=r"dense \(10, 1000\) float32 array in bytes is 40000"):
        load_libsvm(path, limits=DataLimits(max_array_bytes=10_000))
    assert load_libsvm(path, limits=DataLimits(max_features=1000))[0].shape == (10, 1000)


def test_gz_of_newlines_stops_at_the_line_limit(tmp_path: Path) -> None:
    path = tmp_path / "newlines.svm.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(b"+1 1:1\n" + b"\n" * (8 * 2**20))
    start = time.perf_counter()
    with pytest.raises(InputFileError, match="line count is .* above the limit max_rows=1000"):
        load_libsvm(path, limits=DataLimits(max_rows=1000))
    assert time.perf_counter() - start < 5
    with pytest.raises(InputFileError, match="size in bytes is .* above the limit max_file_bytes=4096"):
        load_libsvm(path, limits=DataLimits(max_file_bytes=4096))
    x, y = load_libsvm(path)
    assert x.shape == (1, 1) and y.tolist() == [1.0]


def test_compressed_files(tmp_path: Path) -> None:
    for suffix, opener in ((".gz", gzip.open), (".bz2", bz2.open)):
        path = tmp_path / f"small{suffix}"
        with opener(path, "wb") as handle:
            handle.write(b"+1 1:0.5 3:1\n-1 2:2\n")
        assert load_libsvm(path)[0].shape == (2, 3)
        path.write_bytes(path.read_bytes()[:-6])
        with pytest.raises(InputFileError, match=rf"{path} is corrupt or truncated"):
            load_libsvm(path)
