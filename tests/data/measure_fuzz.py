"""Measure the data parsers (and the saved-model reader) on mutated files: the closing table of
issue 23. Not a test (pytest does not collect it); run it against any checkout::

    PYTHONPATH=<checkout>/src HYBRIDQNN_DATA=<shared/data> \\
        python tests/data/measure_fuzz.py --cases 250 --out result.json

Every case is loaded in a forked child (``hybridqnn/testing/isolation.py`` of *this* tree,
loaded by path, so an older checkout can be measured) with a 4 GiB address-space cap and a 10 s
limit. A case counts as "non-project" when it escapes with an exception class not defined in a
``hybridqnn`` module, "over memory" when it hits the cap or its peak RSS grows by more than
``--bound-mib``, and "slow" when it runs past 10 s. ``--named`` adds the issue's reproducers.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import importlib.util
import json
import os
import pickle
import random
import shutil
import struct
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import fuzz_corpus as fc  # noqa: E402

_spec = importlib.util.spec_from_file_location(
    "isolation", HERE.parents[1] / "src" / "hybridqnn" / "testing" / "isolation.py"
)
isolation = importlib.util.module_from_spec(_spec)
sys.modules["isolation"] = isolation
_spec.loader.exec_module(isolation)


def _classify(outcome, bound: int, slow_s: float) -> str:
    if outcome.status == "signal":
        return f"signal {outcome.signal}"
    if outcome.status in ("timeout", "exit"):
        return outcome.status
    if outcome.over_memory or outcome.peak_bytes > bound:
        return "over memory"
    if outcome.seconds > slow_s:
        return "slow"
    if outcome.status == "ok":
        return "ok"
    return "project error" if outcome.error_type.startswith("hybridqnn.") else "non-project"


def _gz_stream(path: Path, head: bytes, zeros: int, fill: bytes = b"\0") -> None:
    with gzip.open(path, "wb", compresslevel=9) as handle:
        handle.write(head)
        block = fill * 2**20
        for _ in range(zeros // 2**20):
            handle.write(block)


def _planetoid_case(root: Path, seeds: dict, edit) -> Path:
    files = dict(seeds["planetoid"])
    edit(files)
    (root / "planetoid").mkdir(parents=True)
    for suffix, data in files.items():
        (root / "planetoid" / f"ind.citeseer.{suffix}").write_bytes(data)
    return root


def _set(files: dict, suffix: str, change) -> None:
    obj = pickle.loads(files[suffix], encoding="latin1")
    obj = change(obj) or obj
    files[suffix] = pickle.dumps(obj, protocol=2)


def _nan_labels(files: dict) -> None:
    obj = pickle.loads(files["ally"], encoding="latin1").astype("float64")
    obj[0, 0] = float("nan")
    files["ally"] = pickle.dumps(obj, protocol=2)


def named_cases(root: Path, seeds: dict) -> list[tuple[str, str, Path, bool]]:
    """(name, parser, path, invalid?) for the issue's reproducers; invalid cases must be refused."""
    cases = []
    root.mkdir(parents=True, exist_ok=True)

    def text(name: str, content: bytes, invalid: bool = True) -> None:
        path = root / f"case{len(cases)}.svm"
        path.write_bytes(content)
        cases.append((name, "libsvm", path, invalid))

    text("libsvm +1 1000000000:1", b"+1 1000000000:1\n")
    text("libsvm index 2^31", b"+1 2147483648:1\n")
    for token in ("nan", "inf", "1e400"):
        text(f"libsvm value {token}", f"+1 1:{token}\n".encode())
        text(f"libsvm label {token}", f"{token} 1:1\n".encode())
    text("libsvm empty file", b"")
    path = root / "newlines.svm.gz"
    _gz_stream(path, b"+1 1:1\n", 2**30, b"\n")
    cases.append(("libsvm 1 GiB of newlines (.gz, ~1 MB)", "libsvm", path, True))
    path = root / "bomb-idx3-ubyte.gz"
    _gz_stream(path, struct.pack(">IIII", 0x803, 2, 28, 28) + bytes(2 * 784), 3 * 2**29)
    cases.append(("idx gzip bomb 1.5 GiB (~1.5 MB)", "idx", path, True))
    path = root / "ndarray_batch"
    path.write_bytes(b"\x80\x02cnumpy\nndarray\n(\x8a\x05\x00\x00\x00\x00\x02\x85U\x02u1tR.")
    cases.append(("cifar numpy.ndarray((2**33,), 'u1')", "cifar", path, True))
    path = root / "bytes8_batch"
    path.write_bytes(b"\x80\x04\x8e" + struct.pack("<Q", 2**40) + b"abc.")
    cases.append(("cifar 2^40-byte string", "cifar", path, True))
    path = root / "label_batch"
    path.write_bytes(fc._cifar_with(labels=[2**70, 1, 2]))
    cases.append(("cifar label 2^70", "cifar", path, True))

    def csr_index(value: int):
        return lambda files: _set(files, "x", lambda m: m.indices.__setitem__(0, value))

    planetoid = [
        ("x indices[0] = 2**30", csr_index(2**30)),
        ("x indices[0] = 1440 (of 1433)", csr_index(1440)),
        (
            "test.index + 200000",
            lambda f: f.__setitem__("test.index", f["test.index"] + b"200000\n"),
        ),
        (
            "labels all zero",
            lambda f: [
                _set(f, s, lambda a: a.__setitem__(slice(None), 0)) for s in ("ally", "ty", "y")
            ],
        ),
        ("labels NaN", _nan_labels),
        ("features NaN", lambda f: _set(f, "allx", lambda m: m.data.__setitem__(0, float("nan")))),
        ("empty graph", lambda f: f.__setitem__("graph", pickle.dumps({}, protocol=2))),
        ("graph pickle truncated", lambda f: f.__setitem__("graph", f["graph"][:-40])),
        ("x pickle of a list", lambda f: f.__setitem__("x", pickle.dumps([1, 2], protocol=2))),
    ]
    for i, (name, edit) in enumerate(planetoid):
        cases.append(
            (f"planetoid {name}", "planetoid", _planetoid_case(root / f"p{i}", seeds, edit), True)
        )
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=250, help="mutated files per parser")
    parser.add_argument("--seed", type=int, default=23)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--memory-gib", type=float, default=4.0)
    parser.add_argument("--bound-mib", type=int, default=1024)
    parser.add_argument("--named", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    import torch_geometric  # noqa: F401 - imported before forking, as in a real process

    import hybridqnn
    from hybridqnn.data import planetoid

    # Cora posing as CiteSeer must reach the structure checks, as a file with no digest does
    planetoid.PLANETOID_SHA256 = {
        k: v for k, v in planetoid.PLANETOID_SHA256.items() if ".citeseer." not in k
    }
    shared = Path(os.environ.get("HYBRIDQNN_DATA", HERE.parents[2] / "shared" / "data"))
    root = Path(tempfile.mkdtemp(prefix="fuzz-"))
    seeds = fc.make_seeds(root, shared / "planetoid")
    run = dict(timeout=args.timeout, memory_bytes=int(args.memory_gib * 2**30))
    bound = args.bound_mib * 2**20
    result = {"hybridqnn": hybridqnn.__file__, "parsers": {}, "named": []}
    for name in fc.PARSERS:
        fn, rng = fc.loader(name), random.Random(f"{args.seed}-{name}")
        counts, types, worst = collections.Counter(), collections.Counter(), 0.0
        for i in range(args.cases):
            path = fc.make_case(name, seeds, rng, root / name / str(i))
            outcome = isolation.run_isolated(fn, path, **run)
            kind = _classify(outcome, bound, args.timeout)
            counts[kind] += 1
            worst = max(worst, outcome.seconds)
            if kind in ("non-project", "over memory") and outcome.error_type:
                types[outcome.error_type] += 1
            shutil.rmtree(root / name / str(i))
        result["parsers"][name] = {
            "counts": dict(counts),
            "escaped": dict(types),
            "max_s": round(worst, 2),
        }
        print(name, dict(counts), dict(types), f"max {worst:.2f} s", flush=True)
    if args.named:
        for name, parser_name, path, invalid in named_cases(root / "named", seeds):
            outcome = isolation.run_isolated(fc.loader(parser_name), path, **run)
            kind = _classify(outcome, bound, args.timeout)
            row = {
                "case": name,
                "result": kind,
                "type": outcome.error_type,
                "seconds": round(outcome.seconds, 2),
                "peak_mib": round(outcome.peak_bytes / 2**20),
                "accepted_invalid": invalid and kind == "ok",
                "message": (outcome.message or "")[:160],
            }
            result["named"].append(row)
            print(json.dumps(row), flush=True)
    shutil.rmtree(root, ignore_errors=True)
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
