"""Pinned report rows: every shipped experiment's ``--quick --seed 0`` rows, accuracy and loss
columns only (never timings), compared with ``pinned_rows.json``.

This guards restructurings that must not change what an experiment computes. When a change is
meant to move numbers (new seeds, a fixed bug), regenerate the pins of that experiment in a
commit of its own that says which rows moved and why::

    python tests/experiments/test_exp_pinned.py --update NAME [NAME ...]

The QCBO experiments are not pinned: issue 18 reworks their model and numbers on purpose.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

PINS = Path(__file__).with_name("pinned_rows.json")
EXPERIMENTS = (
    "quickstart",
    "qubo-head-precision",
    "qpsbgd-rosenbrock",
    "qpsbgd-logreg",
    "qpsbgd-a1a-10layer",
    "qpsbgd-a1a-2layer",
    "qpsbgd-mnist-pairs",
    "qpsbgd-gcn",
    "natural-mnist",
    "natural-sweep",
)
_METRIC = re.compile(r"accuracy|loss|error|^final_f$|^best_f$|energy|cosine|codirectionality|gap")
_TIMING = re.compile(r"_s$|_s_|time|seconds|speed")


def _data_dir() -> Path:
    env = os.environ.get("HYBRIDQNN_DATA", "")
    return Path(env) if env else Path(__file__).resolve().parents[3] / "shared" / "data"


def _pinned_view(row: dict[str, Any]) -> dict[str, Any]:
    """The row's identity (its string columns) and its accuracy/loss columns."""
    ident = {k: v for k, v in row.items() if isinstance(v, str)}
    metrics = {
        k: v
        for k, v in row.items()
        if _METRIC.search(k) and not _TIMING.search(k) and (v is None or isinstance(v, (int, float)))
        and not isinstance(v, bool)
    }
    return {"ident": ident, "metrics": metrics}


def run_rows(name: str) -> list[dict[str, Any]]:
    """Run ``name`` with ``--quick --seed 0`` through the CLI and return its pinned views."""
    from hybridqnn import cli

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / name
        argv = ["run", name, "--quick", "--seed", "0", "--out", str(out), "--no-progress",
                "--data-dir", str(_data_dir())]
        assert cli.main(argv) == 0, f"{name} failed"
        report = json.loads((out / "report.json").read_text())
    return [_pinned_view(row) for row in report["rows"]]


def _match(pinned: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The new row whose string columns agree with the pinned row's wherever both have them."""
    for row in rows:
        shared = set(pinned["ident"]) & set(row["ident"])
        if shared and all(pinned["ident"][k] == row["ident"][k] for k in shared):
            return row
    return None


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return b == pytest.approx(a, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_quick_rows_are_pinned(name: str) -> None:
    if not (_data_dir() / "mnist").is_dir():
        pytest.skip(f"real data folder {_data_dir()} not found (set HYBRIDQNN_DATA)")
    pins = json.loads(PINS.read_text())[name]
    rows = run_rows(name)
    unmatched = list(rows)
    for pinned in pins:
        row = _match(pinned, unmatched)
        assert row is not None, f"{name}: no row like {pinned['ident']}"
        unmatched.remove(row)
        for key, value in pinned["metrics"].items():
            assert key in row["metrics"], f"{name} {pinned['ident']}: column {key!r} is gone"
            assert _same(value, row["metrics"][key]), (
                f"{name} {pinned['ident']}: {key} was {value}, now {row['metrics'][key]}"
            )
    assert not unmatched, f"{name}: rows not pinned: {[r['ident'] for r in unmatched]}"


def _update(names: list[str]) -> None:
    pins = json.loads(PINS.read_text()) if PINS.exists() else {}
    for name in names or EXPERIMENTS:
        if name not in EXPERIMENTS:
            raise SystemExit(f"unknown experiment {name!r}; pinned ones: {', '.join(EXPERIMENTS)}")
        pins[name] = run_rows(name)
        print(f"pinned {len(pins[name])} rows of {name}")
    PINS.write_text(json.dumps(pins, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    if sys.argv[1:2] != ["--update"]:
        raise SystemExit("usage: python tests/experiments/test_exp_pinned.py --update [NAME ...]")
    _update(sys.argv[2:])
