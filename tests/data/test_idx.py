"""The IDX reader and writer: round trips, magic numbers, truncated and corrupt files."""

from __future__ import annotations

import gzip
import struct
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from hybridqnn.data import DataIntegrityError
from hybridqnn.data.idx import (
    IDX_IMAGES_MAGIC,
    IDX_LABELS_MAGIC,
    encode_idx,
    parse_idx,
    read_idx,
    write_idx,
)
from hybridqnn.data.limits import DataLimits
from hybridqnn.errors import InputFileError

_DTYPES = st.sampled_from(["uint8", "int8", ">i2", "<i4", "float32", ">f8"])


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(
        dtype=_DTYPES,
        shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5),
        elements={"allow_nan": False},
    )
)
def test_round_trip(array: np.ndarray) -> None:
    back = parse_idx(encode_idx(array))
    assert back.shape == array.shape
    assert back.dtype == array.dtype.newbyteorder("=")
    assert back.dtype.isnative
    np.testing.assert_array_equal(back, array)
    assert back.flags.writeable


def test_mnist_header_layout() -> None:
    images = np.zeros((2, 3, 4), dtype=np.uint8)
    data = encode_idx(images)
    assert struct.unpack(">IIII", data[:16]) == (IDX_IMAGES_MAGIC, 2, 3, 4)
    assert len(data) == 16 + 24
    labels = encode_idx(np.arange(5, dtype=np.uint8))
    assert struct.unpack(">II", labels[:8]) == (IDX_LABELS_MAGIC, 5)


@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_file_round_trip(tmp_path: Path, name: str) -> None:
    array = np.arange(60, dtype=np.uint8).reshape(3, 4, 5)
    write_idx(tmp_path / name, array)
    np.testing.assert_array_equal(read_idx(tmp_path / name, IDX_IMAGES_MAGIC), array)
    if name.endswith(".gz"):
        assert gzip.decompress((tmp_path / name).read_bytes())[:4] == b"\x00\x00\x08\x03"


def test_wrong_magic_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "labels.gz"
    write_idx(path, np.arange(4, dtype=np.uint8))
    with pytest.raises(DataIntegrityError, match=r"labels\.gz.*0x00000801.*expected 0x00000803"):
        read_idx(path, IDX_IMAGES_MAGIC)


@pytest.mark.parametrize(
    ("data", "pattern"),
    [
        (b"\x00\x00", "truncated.*magic"),
        (b"\x01\x00\x08\x01\x00\x00\x00\x01\x00", "invalid magic"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x01\x00", "invalid magic"),
        (b"\x00\x00\x08\x03\x00\x00\x00\x02", "truncated.*header"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x03\x01\x02", "truncated.*needs 3 data bytes, got 2"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x01\x01\x02", "trailing bytes"),
    ],
)
def test_bad_content(tmp_path: Path, data: bytes, pattern: str) -> None:
    path = tmp_path / "bad.idx"
    path.write_bytes(data)
    with pytest.raises(DataIntegrityError, match=pattern) as info:
        read_idx(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_truncated_idx_inside_valid_gzip(tmp_path: Path) -> None:
    path = tmp_path / "train-images-idx3-ubyte.gz"
    full = encode_idx(np.zeros((10, 28, 28), dtype=np.uint8))
    path.write_bytes(gzip.compress(full[:-100]))
    with pytest.raises(DataIntegrityError, match=rf"{path}.*truncated"):
        read_idx(path, IDX_IMAGES_MAGIC)


def test_truncated_gzip_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    data = gzip.compress(encode_idx(np.arange(2000, dtype=np.int32).reshape(2, 10, 100)))
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataIntegrityError, match=rf"gzip file {path} is corrupt or truncated"):
        read_idx(path)


def test_not_gzip_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "x.gz"
    path.write_bytes(b"this is not gzip data at all")
    with pytest.raises(DataIntegrityError, match=rf"{path}") as info:
        read_idx(path)
    assert isinstance(info.value, ValueError)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope.gz")


def test_encode_rejects_unsupported() -> None:
    with pytest.raises(TypeError, match="'array'"):
        encode_idx([1, 2, 3])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="dtype"):
        encode_idx(np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match="dimensions"):
        encode_idx(np.zeros((), dtype=np.uint8))


def _bomb(path: Path, header: bytes, zeros_mib: int) -> None:
    with gzip.open(path, "wb", compresslevel=9) as handle:
        handle.write(header)
        for _ in range(zeros_mib):
            handle.write(bytes(2**20))


def test_gzip_bomb_stops_at_the_declared_size(tmp_path: Path) -> None:
    path = tmp_path / "bomb-idx3-ubyte.gz"
    _bomb(path, struct.pack(">IIII", 0x803, 2, 4, 4) + bytes(32), 256)
    assert path.stat().st_size < 300_000
    start = time.perf_counter()
    with pytest.raises(DataIntegrityError, match=r"followed by trailing bytes: shape \(2, 4, 4\) needs 32"):
        read_idx(path)
    assert time.perf_counter() - start < 1.0


def test_declared_shape_checked_against_limits_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big-idx3-ubyte.gz"
    _bomb(path, struct.pack(">IIII", 0x803, 2**31, 2**16, 2**16), 1)
    with pytest.raises(InputFileError, match=r"data size of shape \(2147483648, 65536, 65536\) in bytes is "
                       r"\d+, above the limit max_array_bytes"):
        read_idx(path)
    data = encode_idx(np.zeros((10, 3), dtype=np.uint8))
    with pytest.raises(InputFileError, match="declared row count is 10, above the limit max_rows=5"):
        parse_idx(data, "rows.idx", limits=DataLimits(max_rows=5))
    with pytest.raises(InputFileError, match="max_array_bytes=8"):
        parse_idx(data, "rows.idx", limits=DataLimits(max_array_bytes=8))


@pytest.mark.parametrize("name", ["decl-idx3-ubyte", "decl-idx3-ubyte.gz"])
def test_truncated_file_declaring_gigabytes_allocates_nothing(tmp_path: Path, name: str) -> None:
    """A 3.9 GB shape under the default limit, 100 bytes present: read under a 512 MiB cap."""
    from hybridqnn.testing.isolation import run_isolated

    data = struct.pack(">IIII", 0x803, 15000, 512, 512) + bytes(100)
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    out = run_isolated(read_idx, path, memory_bytes=2**29)
    assert out.status == "raised" and out.error_is(DataIntegrityError), out
    assert "needs 3932160000 data bytes, got 100" in out.message
