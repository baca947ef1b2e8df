"""Which invalid config values does ``load_config`` accept? (issue 23 item 3, the before/after table)

For the first shipped config of every registered experiment, every ``[params]`` field gets
candidate values by its annotation, each applied as one ``--set key=value`` override:

- ``int``: -1, 0, 10**18; ``float``: nan, inf, -inf, -1.0 (inside lists and tables the first
  element / entry is replaced, the rest kept);
- ``str`` (not ``Literal``, also list elements): ``'bogus'``; ``Literal`` fields too;
- lists: ``[]``;
- ``sample_kwargs``-like tables (``dict[str, Any]`` with ``sample_kwargs`` in the name):
  ``{num_reads=-5}``, ``{num_sweeps=0}``, ``{bogus_kw=1}``;
- ``best_effort``: ``{hidden=-1}``, ``{bogus=1}``; ``executor``: ``'bogus'``;

plus file-level cases (a UTF-8 byte-order mark, invalid UTF-8, 5,000-deep nesting, a 50 MB
file). A candidate is judged invalid unless :data:`VALID` lists it (with the reason, from
reading the code that consumes the field). Usage::

    python tests/experiments/measure_config_validation.py --out after.json          # measure this tree
    python tests/experiments/measure_config_validation.py --table before.json after.json   # the table

Run it with ``PYTHONPATH`` pointing at the tree to measure (``main`` for "before").
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import tempfile
import time
import typing
from pathlib import Path
from typing import Any, Literal

#: (field, value repr) pairs judged valid, with the reason; any experiment unless
#: "experiment:field". Everything else the harness tries is judged invalid.
VALID: dict[str, str] = {
    "control_restarts=0": "0 skips the multi-start control (qcbo)",
    "max_spins=0": "0: no spin budget, every weight in every QPH solve (qcbo)",
    "warmup=0": "no untimed steps (bench-qpsbgd)",
    "qpsbgd-a1a-10layer:hidden_layers=0": "0 hidden layers of width hidden is a linear model",
    "coefficient_bits=0": "0 means full precision (qcbo-convergence)",
    "qcbo-fmnist:methods=[]": "only the classical baselines (QAT, full precision) run",
    "optional_datasets=[]": "no optional data sets",
    "moves=[]": "no extra moves",
    "a_grid=[]": "natural-sweep: the other grids still run",
    "g_grid_over_pi=[]": "natural-sweep: the other grids still run",
    "combined_a=[]": "natural-sweep: the other grids still run",
    "combined_g_over_pi=[]": "natural-sweep: the other grids still run",
    "head_problems=[]": "bench-solvers: the random problems still run",
    "projection_widths=[]": "bench-solvers: other problems still run",
    "random_sizes=[]": "bench-solvers: other problems still run",
    "qpsbgd-a1a-2layer:features=0": "column 0 of a1a (0-based columns)",
    "start=-1.0": "rosenbrock: any finite start point",
    "budgets=[]": "bench-solvers: no gap-at-budget columns; the run works",
    "qubo-head:datasets=[]": "qubo-head-precision: its optional_datasets still name data sets",
    "bench-qpsbgd:generic_sample_kwargs=num_sweeps=0": "sa (dwave-samplers) accepts 0 sweeps",
    "qpsbgd-a1a-2layer:sample_kwargs=num_sweeps=0": "the config's solver is sa, which accepts 0 sweeps",
    "qpsbgd-mnist-pairs:sample_kwargs=num_sweeps=0": "the config's solver is sa, which accepts 0 sweeps",
}

_FLOAT_BAD = (math.nan, math.inf, -math.inf, -1.0)
_INT_BAD = (-1, 0, 10**18)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {_toml(v)}" for k, v in value.items()) + " }"
    if value is None:
        return '"none"'
    raise TypeError(value)


def _scalar_bad(hint: Any) -> list[tuple[str, Any]]:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, __import__("types").UnionType):
        out: list[tuple[str, Any]] = []
        for a in args:
            if a is not type(None):
                out += _scalar_bad(a)
        return out
    if hint is int:
        return [("int", v) for v in _INT_BAD]
    if hint is float:
        return [("float", v) for v in _FLOAT_BAD]
    if hint is str or origin is Literal:
        return [("enum", "bogus")]
    return []


def candidates(name: str, hint: Any, default: Any) -> list[tuple[str, Any, str]]:
    """(category, value, short label) of the invalid candidates of one field."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    out: list[tuple[str, Any, str]] = []
    if name == "best_effort":
        return [("best_effort", {"hidden": -1}, "{hidden=-1}"), ("best_effort", {"bogus": 1}, "{bogus=1}")]
    if name == "executor":
        return [("executor", "bogus", "'bogus'")]
    if origin is dict and "sample_kwargs" in name:
        return [
            ("sample_kwargs", {"num_reads": -5}, "{num_reads=-5}"),
            ("sample_kwargs", {"num_sweeps": 0}, "{num_sweeps=0}"),
            ("sample_kwargs", {"bogus_kw": 1}, "{bogus_kw=1}"),
        ]
    if origin in (list, tuple):
        base = list(default) if default else []
        for cat, v in _scalar_bad(args[0]):
            out.append((cat, [v, *base[1:]], _short(v)))
        out.append(("list-empty", [], "[]"))
        return out
    if origin is dict:
        base = dict(default) if default else {}
        key = next(iter(base), "x")
        inner = base.get(key)
        if typing.get_origin(args[1]) is dict:  # natural settings: {name: {a, g_over_pi}}
            sub = dict(inner or {"a": 0.0})
            k2 = next(iter(sub))
            for cat, v in _scalar_bad(typing.get_args(args[1])[1]):
                out.append((cat, {**base, key: {**sub, k2: v}}, f"{{{key}.{k2}={_short(v)}}}"))
            return out
        for cat, v in _scalar_bad(args[1]):
            out.append((cat, {**base, key: v}, f"{{{key}={_short(v)}}}"))
        return out
    return [(cat, v, _short(v)) for cat, v in _scalar_bad(hint)]


def _short(v: Any) -> str:
    return _toml(v) if not isinstance(v, int) or abs(v) < 10**6 else "10**18"


def _judged_valid(exp: str, field: str, label: str) -> bool:
    key = f"{field}={label.strip('[]{}')}" if label not in ("[]",) else f"{field}=[]"
    return key in VALID or f"{exp}:{key}" in VALID


def field_cases() -> list[dict[str, Any]]:
    from hybridqnn.experiments.config import list_configs, load_config
    from hybridqnn.experiments.schema import field_hints

    seen, rows = set(), []
    for info in list_configs():
        if info.experiment in seen:
            continue
        seen.add(info.experiment)
        base = load_config(info.name)
        hints = field_hints(base.experiment.params)
        values = base.params_dict()
        for name, hint in hints.items():
            for cat, value, label in candidates(name, hint, values.get(name)):
                item = f"{name}={_toml(value)}"
                try:
                    load_config(info.name, overrides=[item])
                    outcome = "accepted"
                except (TypeError, ValueError, FileNotFoundError) as exc:
                    outcome = f"rejected {type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
                except Exception as exc:  # noqa: BLE001 - a non-project error is a finding
                    outcome = f"crashed {type(exc).__name__}: {str(exc)[:200]}"
                rows.append({
                    "experiment": info.experiment, "config": info.name, "field": name,
                    "category": cat, "value": label, "invalid": not _judged_valid(info.experiment, name, label),
                    "outcome": outcome,
                })
    return rows


def file_cases() -> list[dict[str, Any]]:
    """Each case: the file, and whether the outcome is right (BOM accepted; the rest one line
    naming the file, from a project error type, in bounded time)."""
    from hybridqnn.experiments.config import load_config

    good = b'experiment = "qpsbgd-rosenbrock"\n[params]\nsteps = 5\n'
    cases = {
        "bom": (b"\xef\xbb\xbf" + good, True),
        "invalid-utf8": (good + b'description = "\xff"\n', False),
        "deep-nesting-5000": (b'experiment = "qpsbgd-rosenbrock"\nx = ' + b"[" * 5000 + b"]" * 5000 + b"\n", False),
        "50MB": (good + (b"# " + b"x" * 1000 + b"\n") * 50_000, False),
    }
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case, (data, should_load) in cases.items():
            path = Path(tmp) / f"{case}.toml"
            path.write_bytes(data)
            t0 = time.perf_counter()
            try:
                load_config(path)
                outcome, right = "accepted", should_load
            except (TypeError, ValueError, FileNotFoundError) as exc:
                msg = " ".join(str(exc).split())
                outcome = f"rejected {type(exc).__name__}: {msg[:160]}"
                right = (not should_load) and path.name in msg and "\n" not in str(exc)
            except Exception as exc:  # noqa: BLE001
                outcome, right = f"crashed {type(exc).__name__}: {str(exc)[:160]}", False
            rows.append({"case": case, "outcome": outcome, "right": right,
                         "seconds": round(time.perf_counter() - t0, 3)})
    return rows


def table(before: dict[str, Any], after: dict[str, Any]) -> str:
    def counts(data):
        c = collections.Counter()
        tot = collections.Counter()
        for r in data["fields"]:
            if r["invalid"]:
                tot[r["category"]] += 1
                c[r["category"]] += r["outcome"] == "accepted"
        return c, tot

    cb, tb = counts(before)
    ca, ta = counts(after)
    lines = ["| category | invalid values tried | accepted before | accepted after |", "|---|---|---|---|"]
    for cat in ("int", "float", "enum", "list-empty", "sample_kwargs", "best_effort", "executor"):
        lines.append(f"| {cat} | {ta[cat] or tb[cat]} | {cb[cat]} | {ca[cat]} |")
    fb = sum(not r["right"] for r in before["files"])
    fa = sum(not r["right"] for r in after["files"])
    lines.append(f"| file-level (wrong outcome) | {len(after['files'])} | {fb} | {fa} |")
    lines.append(f"| **total** | | {sum(cb.values()) + fb} | {sum(ca.values()) + fa} |")
    over = [r for r in after["fields"] if not r["invalid"] and r["outcome"] != "accepted"]
    lines.append(f"\nvalues judged valid but rejected after: {len(over)}")
    lines += [f"- {r['experiment']} {r['field']}={r['value']}: {r['outcome'][:120]}" for r in over]
    return "\n".join(lines)


def accepted_list(data: dict[str, Any]) -> str:
    rows = [r for r in data["fields"] if r["invalid"] and r["outcome"] == "accepted"]
    lines = [f"- {r['experiment']}: {r['field']}={r['value']} ({r['category']})" for r in rows]
    lines += [f"- file {r['case']}: {r['outcome'][:100]}" for r in data["files"] if not r["right"]]
    return "\n".join(lines)


def fuzz_counts(n: int) -> dict[str, int]:
    """Tally ``n`` mutated shipped configs of ``test_exp_config_fuzz`` loaded in isolated
    children: loaded, project errors, other error types, multi-line or file-less messages,
    over time or memory."""
    import random

    from test_exp_config_fuzz import (
        BOUND_BYTES,
        CAP_BYTES,
        TIME_S,
        _byte_mutation,
        _load,
        _value_mutation,
    )

    from hybridqnn.experiments.config import config_path, shipped_config_names
    from hybridqnn.experiments.registry import load_builtin_experiments
    from hybridqnn.testing.isolation import run_isolated

    load_builtin_experiments()
    seeds = [Path(str(config_path(name))).read_bytes() for name in shipped_config_names()]
    rng, tally = random.Random(0), collections.Counter()
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(n):
            data = rng.choice(seeds)
            if rng.random() < 0.5:
                data = _value_mutation(data.decode(), rng).encode()
            if rng.random() < 0.6:
                data = _byte_mutation(data, rng)
            path = Path(tmp) / f"case{i}.toml"
            path.write_bytes(data)
            out = run_isolated(_load, path, rng.random() < 0.5, timeout=TIME_S, memory_bytes=CAP_BYTES)
            project = out.status == "raised" and out.error_is(ValueError, TypeError, FileNotFoundError)
            tally["loaded" if out.status == "ok" else "project error" if project else f"other: {out.error_type or out.status}"] += 1
            if out.status == "raised" and ("\n" in (out.message or "") or path.name not in (out.message or "")):
                tally["message multi-line or without the file"] += 1
            if out.seconds > TIME_S or out.peak_bytes > BOUND_BYTES or out.over_memory:
                tally["over time or memory"] += 1
    return dict(tally)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="measure this tree, write JSON here")
    ap.add_argument("--table", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    ap.add_argument("--accepted", type=Path, help="list the invalid values a measurement accepted")
    ap.add_argument("--fuzz", type=int, metavar="N", help="tally N mutated configs (isolated)")
    args = ap.parse_args()
    if args.fuzz:
        print(json.dumps(fuzz_counts(args.fuzz), indent=1))
    if args.out:
        data = {"fields": field_cases(), "files": file_cases()}
        args.out.write_text(json.dumps(data, indent=1))
        bad = sum(r["invalid"] and r["outcome"] == "accepted" for r in data["fields"])
        print(f"{len(data['fields'])} field cases, {bad} invalid accepted; "
              f"{sum(not r['right'] for r in data['files'])} file cases wrong")
    if args.table:
        print(table(*(json.loads(p.read_text()) for p in args.table)))
    if args.accepted:
        print(accepted_list(json.loads(args.accepted.read_text())))


if __name__ == "__main__":
    main()
