"""Mutated data files for the fuzzing suite (``test_fuzz.py``) and its measuring script
(``measure_fuzz.py``).

Each parser has a small valid seed written by the test (Cora's raw files copied as
``ind.citeseer.*`` for Planetoid, like the issue's reproducer) and :func:`make_case` draws a
mutation from a :class:`random.Random`: byte-level ones (bit flips, interesting bytes and 32-bit
integers, insertions, deletions, truncation, duplication) and format-aware ones (IDX header
dimensions and gzip bombs, LIBSVM tokens such as ``nan``, ``1e400`` and ``2147483648`` and
``.gz`` archives of newlines, CIFAR pickles calling ``numpy.ndarray(shape)`` or declaring a
2^40-byte string or a 2^70 label, Planetoid CSR indices, ``indptr``, shapes, NaN features, zero
labels, graph node ids and test indices). Only the standard library, NumPy and SciPy are used
to build cases, and every call site of a parser is the same on older checkouts, so
``measure_fuzz.py`` can compare branches.
"""

from __future__ import annotations

import gzip
import json
import pickle
import random
import shutil
import struct
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

PARSERS = ("idx", "libsvm", "cifar", "planetoid", "model")
PLANETOID = ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")
_INT32 = (0, 1, 2**7, 2**8 - 1, 2**15, 2**16, 2**24, 2**30, 2**31 - 1, 2**31, 2**32 - 1)
_TOKENS = (
    "nan",
    "inf",
    "-inf",
    "1e400",
    "-1e400",
    "1e39",
    "2147483648",
    "9223372036854775808",
    "1000000000",
    "16777217",
    "0",
    "-1",
    "",
    "abc",
    ":",
    "1:",
    "::",
    "1e-400",
    "+",
    "0x10",
)


def _gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def _pickle2(obj: Any) -> bytes:
    return pickle.dumps(obj, protocol=2)


# --- seeds -------------------------------------------------------------------------------------


def idx_seed() -> bytes:
    """An uncompressed IDX3 file of 4 images of 5x5 (compressed when a case is written)."""
    images = np.arange(100, dtype=np.uint8).reshape(4, 5, 5)
    return struct.pack(">IIII", 0x00000803, 4, 5, 5) + images.tobytes()


def libsvm_seed() -> bytes:
    return b"+1 1:0.5 3:1\n-1 2:2 4:0.25\n+1 1:1 5:3\n-1 \n"


def cifar_seed() -> bytes:
    data = (np.arange(3 * 3072) % 251).astype(np.uint8).reshape(3, 3072)
    return _pickle2({b"batch_label": b"fuzz", b"labels": [1, 5, 9], b"data": data})


def planetoid_seed(shared_planetoid: Path) -> dict[str, bytes]:
    return {s: (shared_planetoid / f"ind.cora.{s}").read_bytes() for s in PLANETOID}


def model_seed(root: Path) -> dict[str, bytes]:
    """A saved untrained SignMLP (model.json + weights.safetensors)."""
    from hybridqnn.deploy.store import save_model
    from hybridqnn.nn import SignMLP

    path = save_model(SignMLP(16, 8, 1, 3, seed=0), root / "seed-model", overwrite=True)
    files = {f.name: f.read_bytes() for f in path.iterdir()}
    shutil.rmtree(path)
    return files


# --- byte-level mutations ----------------------------------------------------------------------


def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    """One to four random byte-level edits."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        n = len(out)
        op = rng.randrange(7)
        pos = rng.randrange(n) if n else 0
        if op == 0 and n:
            out[pos] ^= 1 << rng.randrange(8)
        elif op == 1 and n:
            out[pos] = rng.choice((0, 1, 0x7F, 0x80, 0xFF, ord("\n"), ord(":")))
        elif op == 2:
            out[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif op == 3 and n:
            del out[pos : pos + rng.randint(1, 32)]
        elif op == 4 and n:
            del out[rng.randrange(n) :]
        elif op == 5 and n:
            span = out[pos : pos + rng.randint(1, 64)]
            out[pos:pos] = span * rng.randint(1, 4)
        elif n >= 4:
            fmt = rng.choice((">I", "<I"))
            pos = rng.randrange(max(1, n - 3))
            out[pos : pos + 4] = struct.pack(fmt, rng.choice(_INT32))
    return bytes(out)


# --- format-aware mutations --------------------------------------------------------------------


def mutate_idx(data: bytes, rng: random.Random, bomb_mib: tuple[int, ...]) -> tuple[bytes, bool]:
    """Returns (content, compress?)."""
    op = rng.randrange(4)
    if op == 0:  # a header dimension set to an interesting value
        dim = rng.randrange(3)
        out = bytearray(data)
        out[4 + 4 * dim : 8 + 4 * dim] = struct.pack(">I", rng.choice(_INT32))
        return bytes(out), rng.random() < 0.7
    if op == 1:  # a gzip bomb: a valid header, then megabytes of zeros
        return data + bytes(rng.choice(bomb_mib) * 2**20), True
    if op == 2:  # magic number with another type or dimension count
        out = bytearray(data)
        out[2], out[3] = rng.randrange(256), rng.randrange(256)
        return bytes(out), rng.random() < 0.5
    return mutate_bytes(data, rng), rng.random() < 0.5


def mutate_libsvm(data: bytes, rng: random.Random, bomb_mib: tuple[int, ...]) -> tuple[bytes, bool]:
    op = rng.randrange(4)
    if op == 0:  # replace tokens (labels, indices, values) with interesting ones
        lines = [line.split(b" ") for line in data.split(b"\n")]
        for _ in range(rng.randint(1, 3)):
            line = rng.choice([ln for ln in lines if ln and ln[0]])
            k = rng.randrange(len(line))
            token = rng.choice(_TOKENS).encode()
            if k and b":" in line[k] and rng.random() < 0.6:
                index, value = line[k].split(b":", 1)
                line[k] = (token + b":" + value) if rng.random() < 0.5 else (index + b":" + token)
            else:
                line[k] = token
        return b"\n".join(b" ".join(ln) for ln in lines), rng.random() < 0.3
    if op == 1:  # newlines (a small .gz that decompresses to megabytes)
        return data + b"\n" * (rng.choice(bomb_mib) * 2**20), True
    if op == 2:
        return b"" if rng.random() < 0.5 else b"\n\n# comment\n", rng.random() < 0.5
    return mutate_bytes(data, rng), rng.random() < 0.3


def _cifar_with(data: Any = None, labels: Any = None) -> bytes:
    batch = pickle.loads(cifar_seed(), encoding="bytes")
    if data is not None:
        batch[b"data"] = data
    if labels is not None:
        batch[b"labels"] = labels
    return _pickle2(batch)


def mutate_cifar(data: bytes, rng: random.Random) -> bytes:
    op = rng.randrange(7)
    if op == 0:  # the pickle calls numpy.ndarray(shape) itself (8 GiB uninitialised)
        shape = rng.choice(((2**33,), (2**16, 2**17), (3, 2**40)))
        dims = b"".join(b"\x8a\x08" + struct.pack("<q", d) for d in shape)
        return b"\x80\x02cnumpy\nndarray\n(" + dims + b"tR."
    if op == 1:  # a string declared 2**40 bytes long (BINBYTES8 / BINUNICODE8)
        opcode = rng.choice((b"\x8e", b"\x8d"))
        return b"\x80\x04" + opcode + struct.pack("<Q", 2**40) + b"abc."
    if op == 2:
        return _cifar_with(labels=[rng.choice((2**70, -(2**70), 2**63, 10, -1)), 5, 9])
    if op == 3:  # _reconstruct with a big shape, or array state declaring a big shape
        seed = _cifar_with()
        shape = rng.choice((2**40, 2**31, 3 * 3072 + 1))
        return seed.replace(
            b"K\x03M\x00\x0c\x86", b"\x8a\x06" + struct.pack("<q", shape)[:6] + b"M\x00\x0c\x86", 1
        )
    if op == 4:
        return _cifar_with(
            data=np.zeros(rng.choice(((3, 100), (3,), (3, 3072, 1))), dtype=np.uint8)
        )
    if op == 5:
        return _cifar_with(data=np.zeros((3, 3072), dtype=rng.choice((np.float64, np.int64))))
    return mutate_bytes(data, rng)


def _csr_edit(matrix: Any, rng: random.Random) -> Any:
    op = rng.randrange(5)
    rows, cols = matrix.shape
    if op == 0 and matrix.nnz:
        matrix.indices[rng.randrange(matrix.nnz)] = rng.choice(
            (2**30, cols, cols + 7, 2**31 - 1, -1)
        )
    elif op == 1:
        matrix.indptr[rng.randrange(len(matrix.indptr))] = rng.choice(
            (-1, 2**30, matrix.nnz + 1, 0)
        )
    elif op == 2 and matrix.nnz:
        matrix.data[rng.randrange(matrix.nnz)] = rng.choice((np.nan, np.inf, -np.inf))
    elif op == 3:
        matrix._shape = rng.choice(
            ((rows, 2**30), (2**30, cols), (rows + 1, cols), (rows, 0), (0, cols))
        )
    else:
        matrix.indptr = matrix.indptr[: rng.randrange(len(matrix.indptr))]
    return matrix


def mutate_planetoid(files: dict[str, bytes], rng: random.Random) -> dict[str, bytes]:
    """Edit one of the eight files (structurally or byte-wise)."""
    out = dict(files)
    suffix = rng.choice(PLANETOID)
    if rng.random() < 0.3:
        out[suffix] = mutate_bytes(files[suffix], rng)
        return out
    if suffix == "test.index":
        values = files[suffix].split()
        op = rng.randrange(4)
        if op == 0:
            values.append(rng.choice((b"200000", b"2708", b"-1", b"99999999999", b"x")))
        elif op == 1:
            values[rng.randrange(len(values))] = rng.choice(
                (b"200000", b"0", b"1708", b"2708", b"-5")
            )
        elif op == 2:
            values.append(values[0])
        else:
            values = values[: rng.randrange(len(values))]
        out[suffix] = b"\n".join(values) + b"\n"
        return out
    with warnings.catch_warnings():  # the Cora pickles name scipy.sparse.csr
        warnings.simplefilter("ignore", DeprecationWarning)
        obj = pickle.loads(files[suffix], encoding="latin1")
    if suffix == "graph":
        key = rng.choice((rng.randrange(2708), 10**6, -1, 2**31))
        op = rng.randrange(3)
        if op == 0:
            obj[rng.randrange(2708)].append(key)
        elif op == 1:
            obj[key] = [0]
        else:
            obj = {}
    elif suffix in ("y", "ty", "ally"):
        op = rng.randrange(3)
        obj = obj.astype(np.float64)
        if op == 0:
            obj[:] = 0
        elif op == 1:
            obj[rng.randrange(len(obj)), rng.randrange(obj.shape[1])] = np.nan
        else:
            obj = obj[:, : rng.randrange(obj.shape[1])]
    else:
        obj = _csr_edit(obj, rng)
    out[suffix] = _pickle2(obj)
    return out


def mutate_model(files: dict[str, bytes], rng: random.Random) -> dict[str, bytes]:
    out = dict(files)
    name = rng.choice(sorted(files))
    if name.endswith(".json") and rng.random() < 0.5:
        meta = json.loads(files[name])
        tensors = meta.get("tensors") or {}
        if tensors and rng.random() < 0.6:
            tensor = tensors[rng.choice(sorted(tensors))]
            tensor["shape"] = [
                rng.choice((0, -1, 2**31, 2**62, 10**30)) for _ in tensor.get("shape", [1])
            ]
        else:
            key = rng.choice(sorted(meta))
            meta[key] = rng.choice((None, -1, 2**70, "x" * 100, [], {}, 1e308))
        out[name] = json.dumps(meta).encode()
        return out
    if name.endswith(".safetensors") and rng.random() < 0.5:  # header length field
        out[name] = (
            struct.pack("<Q", rng.choice((0, 2**40, 2**63, len(files[name])))) + files[name][8:]
        )
        return out
    out[name] = mutate_bytes(files[name], rng)
    return out


# --- cases -------------------------------------------------------------------------------------


def make_case(
    parser: str,
    seeds: dict[str, Any],
    rng: random.Random,
    folder: Path,
    bomb_mib: tuple[int, ...] = (1, 16, 128),
) -> Path:
    """Write one mutated file (or folder) for ``parser`` into ``folder``; return the path the
    parser is called with (see :func:`loader`). Decompression bombs expand to one of
    ``bomb_mib`` MiB."""
    folder.mkdir(parents=True, exist_ok=True)
    if parser == "idx":
        data, compress = mutate_idx(seeds["idx"], rng, bomb_mib)
        path = folder / ("images-idx3-ubyte.gz" if compress else "images-idx3-ubyte")
        path.write_bytes(_gz(data) if compress else data)
    elif parser == "libsvm":
        data, compress = mutate_libsvm(seeds["libsvm"], rng, bomb_mib)
        path = folder / ("train.svm.gz" if compress else "train.svm")
        path.write_bytes(_gz(data) if compress else data)
    elif parser == "cifar":
        path = folder / "data_batch_1"
        path.write_bytes(mutate_cifar(seeds["cifar"], rng))
    elif parser == "planetoid":
        path = folder
        (folder / "planetoid").mkdir(exist_ok=True)
        for suffix, data in mutate_planetoid(seeds["planetoid"], rng).items():
            (folder / "planetoid" / f"ind.citeseer.{suffix}").write_bytes(data)
    else:
        path = folder / "model"
        path.mkdir(exist_ok=True)
        for name, data in mutate_model(seeds["model"], rng).items():
            (path / name).write_bytes(data)
    return path


def make_seeds(root: Path, shared_planetoid: Path) -> dict[str, Any]:
    return {
        "idx": idx_seed(),
        "libsvm": libsvm_seed(),
        "cifar": cifar_seed(),
        "planetoid": planetoid_seed(shared_planetoid),
        "model": model_seed(root),
    }


def loader(parser: str) -> Callable[[Path], Any]:
    """The public call each parser is fuzzed through (the same on older checkouts)."""
    if parser == "idx":
        from hybridqnn.data.idx import read_idx

        return read_idx
    if parser == "libsvm":
        from hybridqnn.data import load_libsvm

        return load_libsvm
    if parser == "cifar":
        from hybridqnn.data.cifar import load_cifar_batch

        return load_cifar_batch
    if parser == "planetoid":
        from hybridqnn.data.graphs import load_planetoid

        return lambda path: load_planetoid("citeseer", data_dir=path)
    from hybridqnn.deploy.store import load_model

    return load_model
