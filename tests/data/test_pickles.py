"""The safe unpickler used for CIFAR-10 batches and Planetoid files."""

from __future__ import annotations

import builtins
import pickle
import struct
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from hybridqnn.data import DataIntegrityError
from hybridqnn.data.limits import DataLimits
from hybridqnn.data.pickles import UnsafePickleError, safe_load_pickle
from hybridqnn.errors import InputFileError


def _write(tmp_path: Path, obj: object, protocol: int = 2) -> Path:
    path = tmp_path / "obj.pkl"
    path.write_bytes(pickle.dumps(obj, protocol=protocol))
    return path


@pytest.mark.parametrize("protocol", [2, 3, 4])
def test_numpy_arrays_and_plain_data(tmp_path: Path, protocol: int) -> None:
    obj = {
        b"data": np.arange(12, dtype=np.uint8).reshape(2, 6),
        b"f": np.linspace(0, 1, 3),
        b"labels": [1, 2],
        b"name": b"batch",
        "text": "ok",
    }
    back = safe_load_pickle(_write(tmp_path, obj, protocol))
    np.testing.assert_array_equal(back[b"data"], obj[b"data"])
    np.testing.assert_array_equal(back[b"f"], obj[b"f"])
    assert back[b"labels"] == [1, 2] and back[b"name"] == b"batch" and back["text"] == "ok"


def test_old_numpy_core_path_is_accepted(tmp_path: Path) -> None:
    """Originals were written by old NumPy, naming numpy.core.multiarray._reconstruct."""
    data = pickle.dumps({b"data": np.ones((2, 2), dtype=np.uint8)}, protocol=2)
    data = data.replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")
    assert b"numpy.core.multiarray\n_reconstruct" in data
    path = tmp_path / "old.pkl"
    path.write_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        back = safe_load_pickle(path)
    assert back[b"data"].sum() == 4


def _short_binstring(data: bytes) -> bytes:
    return b"U" + bytes([len(data)]) + data


def test_python2_style_batch(tmp_path: Path) -> None:
    """The originals were written by Python 2's cPickle: str as SHORT_BINSTRING, old NumPy
    paths, and the dtype given as a str (read back as bytes with encoding='bytes')."""
    s = _short_binstring
    pixels = bytes(range(6))
    data = (
        b"\x80\x02}q\x00("
        + s(b"data")
        + b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85"
        + s(b"b")
        + b"\x87R(K\x01K\x02K\x03\x86cnumpy\ndtype\n"
        + s(b"u1")
        + b"K\x00K\x01\x87R(K\x03"
        + s(b"|")
        + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89"
        + s(pixels)
        + b"tb"
        + s(b"labels")
        + b"]q\x01(K\x01K\x02e"
        + s(b"batch_label")
        + s(b"training batch 1 of 5")
        + b"u."
    )
    path = tmp_path / "data_batch_1"
    path.write_bytes(data)
    assert pickle.loads(data, encoding="bytes")[b"labels"] == [1, 2]  # the bytes are valid
    back = safe_load_pickle(path)
    assert back[b"data"].tolist() == [[0, 1, 2], [3, 4, 5]] and back[b"data"].dtype == np.uint8
    assert back[b"batch_label"] == b"training batch 1 of 5"


@pytest.mark.parametrize(
    ("payload", "refused"),
    [
        (lambda: builtins.eval, r"(__builtin__|builtins)\.eval"),
        (lambda: pickle.loads, r"_?pickle\.loads"),
        (lambda: np.load, r"numpy\.load"),
    ],
)
def test_other_globals_are_refused(
    tmp_path: Path, payload: Callable[[], object], refused: str
) -> None:
    path = _write(tmp_path, {b"x": payload()})
    with pytest.raises(UnsafePickleError, match=rf"global {refused} in {path}") as info:
        safe_load_pickle(path)
    assert isinstance(info.value, pickle.UnpicklingError)


def test_codecs_encode_only_latin1(tmp_path: Path) -> None:
    data = b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00aX\x05\x00\x00\x00rot13\x86R."
    path = tmp_path / "codec.pkl"
    path.write_bytes(data)
    with pytest.raises(DataIntegrityError, match="refused _codecs.encode"):
        safe_load_pickle(path)


@pytest.mark.parametrize(
    ("obj", "kind"),
    [
        ({b"x": (1, 2)}, "tuple"),
        ({b"x": {1, 2}}, "set"),
        ({b"x": 1.5}, "float"),
        ({b"x": np.array([1, "a"], dtype=object)}, "dtype object"),
    ],
)
def test_non_plain_results_are_rejected(tmp_path: Path, obj: object, kind: str) -> None:
    with pytest.raises(DataIntegrityError, match=kind):
        safe_load_pickle(_write(tmp_path, obj, protocol=4))


def test_corrupt_pickle_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": [1, 2, 3]}, protocol=2)[:-5])
    with pytest.raises(DataIntegrityError, match=rf"pickle {path} is corrupt"):
        safe_load_pickle(path)


def test_self_referencing_list_terminates(tmp_path: Path) -> None:
    loop: list[object] = [1]
    loop.append(loop)
    back = safe_load_pickle(_write(tmp_path, loop))
    assert back[1] is back


def _raw(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "crafted.pkl"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("data", "rule"),
    [
        # numpy.ndarray((2**33,), 'u1') called by the pickle itself: 8 GiB uninitialised
        (
            b"\x80\x02cnumpy\nndarray\n(\x8a\x05\x00\x00\x00\x00\x02\x85U\x02u1tR.",
            "direct numpy.ndarray",
        ),
        # _reconstruct(ndarray, (2**40,), b'b'): NumPy would allocate the declared shape
        (
            b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n\x8a\x06\x00\x00\x00\x00\x00\x01\x85U\x01b\x87R.",
            "refused _reconstruct call",
        ),
        # BINBYTES8 and BINUNICODE8 declaring 2**40 bytes
        (b"\x80\x04\x8e" + struct.pack("<Q", 2**40) + b"abc.", "expected 1099511627776 bytes"),
        (b"\x80\x04\x8d" + struct.pack("<Q", 2**40) + b"abc.", "expected 1099511627776 bytes"),
    ],
)
def test_crafted_allocations_are_refused(tmp_path: Path, data: bytes, rule: str) -> None:
    path = _raw(tmp_path, data)
    with pytest.raises(InputFileError, match=rule) as info:
        safe_load_pickle(path)
    assert str(path) in str(info.value)


def _array_pickle(shape: tuple[int, ...], raw: bytes, dtype: bytes = b"u1") -> bytes:
    dims = b"".join(b"J" + struct.pack("<i", n) for n in shape)
    return (
        b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01b\x87R"
        b"(K\x01(" + dims + b"tcnumpy\ndtype\nU" + bytes([len(dtype)]) + dtype + b"K\x00K\x01\x87R"
        b"(K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89C"
        + bytes([len(raw)])
        + raw
        + b"tb."
    )


def test_array_state_must_match_the_bytes_present(tmp_path: Path) -> None:
    assert safe_load_pickle(_raw(tmp_path, _array_pickle((2, 2), b"abcd"))).tolist() == [
        [97, 98],
        [99, 100],
    ]
    with pytest.raises(
        DataIntegrityError, match=r"shape \(1000, 1000\) .* needs 1000000 bytes, got 4"
    ):
        safe_load_pickle(_raw(tmp_path, _array_pickle((1000, 1000), b"abcd")))
    with pytest.raises(InputFileError, match="above the limit max_array_bytes=3"):
        safe_load_pickle(
            _raw(tmp_path, _array_pickle((2, 2), b"abcd")), limits=DataLimits(max_array_bytes=3)
        )
    with pytest.raises(DataIntegrityError, match="dtype object"):
        safe_load_pickle(_raw(tmp_path, _array_pickle((2,), b"ab", dtype=b"O8")))


def test_file_size_limit(tmp_path: Path) -> None:
    path = _write(tmp_path, {b"x": b"y" * 100})
    with pytest.raises(
        InputFileError, match="file size in bytes is .* above the limit max_file_bytes=50"
    ):
        safe_load_pickle(path, limits=DataLimits(max_file_bytes=50))
