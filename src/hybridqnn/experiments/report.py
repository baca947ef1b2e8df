"""Run reports: ``report.json`` (the record) and ``report.md`` (its rendering).

All files are written atomically (a temporary file in the same directory, then
``os.replace``). The runner writes a run's report into the run's staging directory, so a good
report is never overwritten by a failed run (:mod:`hybridqnn.experiments.runner`).
"""

from __future__ import annotations

import json
import math
import numbers
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hybridqnn._files import atomic_write_bytes, atomic_write_text

__all__ = [
    "BENCH_KEYS",
    "STATUSES",
    "atomic_write_bytes",
    "atomic_write_text",
    "check_bench_row",
    "has_ok_report",
    "read_report",
    "render_markdown",
    "render_table",
    "to_json",
    "write_report",
]

#: Values of a report's ``status``.
STATUSES: tuple[str, ...] = ("ok", "failed", "interrupted")

#: Keys every row of a ``kind = "bench"`` report must carry.
BENCH_KEYS: tuple[str, ...] = ("case", "impl", "seconds", "baseline", "speedup_vs_baseline")

_VERSION_ORDER = ("python", "hybridqnn", "numpy", "torch", "dimod", "dwave-samplers", "scikit-learn")


# --------------------------------------------------------------------------- JSON


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy scalars and arrays, torch tensors
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"value of type {type(value).__name__} is not JSON serializable: {value!r}")


def to_json(value: Any, *, indent: int | None = None) -> str:
    """Serialise ``value`` to JSON, converting numpy/torch values and paths."""
    return json.dumps(value, indent=indent, default=_json_default, ensure_ascii=False)


# --------------------------------------------------------------------------- rows


def check_bench_row(row: Mapping[str, Any], index: int | None = None) -> None:
    """Raise ``ValueError`` if a bench row lacks a key of :data:`BENCH_KEYS` or has a bad value.

    ``case``, ``impl`` and ``baseline`` must be strings; ``seconds`` a non-negative number, or
    None when the implementation never reached the benchmark's target; ``speedup_vs_baseline``
    a number or None.
    """
    where = "bench row" if index is None else f"bench row {index}"
    missing = [k for k in BENCH_KEYS if k not in row]
    if missing:
        raise ValueError(
            f"{where} is missing {', '.join(map(repr, missing))}; every bench row needs "
            f"{', '.join(BENCH_KEYS)}; got keys {', '.join(map(repr, row)) or '(none)'}"
        )
    for key in ("case", "impl", "baseline"):
        if not isinstance(row[key], str):
            raise ValueError(f"{where}: {key!r} must be a str, got {row[key]!r}")
    seconds = row["seconds"]
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, numbers.Real) or not seconds >= 0):
        raise ValueError(f"{where}: 'seconds' must be a number >= 0 or None (target not reached), got {seconds!r}")
    speedup = row["speedup_vs_baseline"]
    if speedup is not None and (isinstance(speedup, bool) or not isinstance(speedup, numbers.Real)):
        raise ValueError(f"{where}: 'speedup_vs_baseline' must be a number or None, got {speedup!r}")


# --------------------------------------------------------------------------- Markdown


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        value = float(value)
        if not math.isfinite(value):
            return str(value)
        if value == 0:
            return "0"
        mag = abs(value)
        if 1e-3 <= mag < 1e4:
            return f"{value:.4g}"
        if 1e4 <= mag < 1e9:
            return f"{value:.0f}"
        return f"{value:.3e}"
    text = " ".join(str(value).split())
    return text.replace("|", "\\|")


def render_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """Render flat rows as a Markdown table.

    Columns are the union of the rows' keys in order of first appearance. Floats get 4
    significant digits (large values are shown whole), None shows as an em dash and a missing
    key as an empty cell.
    """
    if not rows:
        return "_(no rows)_"
    columns: dict[str, None] = {}
    for row in rows:
        for key in row:
            columns.setdefault(str(key), None)
    header = list(columns)
    lines = [
        "| " + " | ".join(_fmt(h) for h in header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    for row in rows:
        cells = [_fmt(row[h]) if h in row else "" for h in header]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _fmt_versions(versions: Mapping[str, Any]) -> str:
    keys = [k for k in _VERSION_ORDER if k in versions] + [
        k for k in versions if k not in _VERSION_ORDER
    ]
    return ", ".join(f"{k} {versions[k] if versions[k] is not None else '(not installed)'}" for k in keys)


def render_markdown(report: Mapping[str, Any]) -> str:
    """Render a report dict (as written to ``report.json``) as Markdown.

    Sections: title, status/seed/wall time/versions, the rows table, the paper's reported
    numbers ("Paper reports") when there are any, figures, the saved models with their summary
    totals and the cost of saving them, notes and the error.
    """
    name = report.get("experiment", "run")
    runner = report.get("runner")
    title = f"# {name}" + (f" ({runner})" if runner and runner != name else "")
    out = [title, ""]
    config = report.get("config")
    description = config.get("description") if isinstance(config, Mapping) else None
    if description:
        out += [str(description), ""]
    status = report.get("status", "?")
    facts = [f"- **Status:** {status}"]
    if report.get("kind"):
        facts.append(f"- **Kind:** {report['kind']}")
    seed_line = f"- **Seed:** {report.get('seed', '?')}"
    if report.get("quick"):
        seed_line += " (quick mode)"
    facts.append(seed_line)
    wall = report.get("wall_time_s")
    if isinstance(wall, numbers.Real):
        facts.append(f"- **Wall time:** {float(wall):.1f} s")
    if report.get("started_at"):
        facts.append(f"- **Started:** {report['started_at']}")
    if report.get("device"):
        facts.append(f"- **Device:** {report['device']}")
    versions = report.get("versions")
    if isinstance(versions, Mapping) and versions:
        facts.append(f"- **Versions:** {_fmt_versions(versions)}")
    if report.get("error"):
        facts.append(f"- **Error:** {_fmt(report['error'])}")
    out += facts + ["", "## Results", "", render_table(report.get("rows") or []), ""]
    paper = report.get("paper") or []
    if paper:
        out += ["## Paper reports", "", render_table(paper), ""]
    figures = report.get("figures") or []
    if figures:
        out += ["## Figures", ""]
        out += [f"![{Path(str(f)).stem}]({f})" for f in figures]
        out.append("")
    out += _models_section(report.get("models") or [])
    notes = report.get("notes") or []
    if notes:
        out += ["## Notes", ""]
        for note in notes:
            out += [str(note).strip(), ""]
    return "\n".join(out).rstrip() + "\n"


def _models_section(models: list[Mapping[str, Any]]) -> list[str]:
    """The "Models" section: one row per saved model and what saving cost."""
    if not models:
        return []
    seconds = sum(float(m.get("seconds") or 0.0) for m in models)
    size = sum(int(m.get("bytes") or 0) for m in models)
    rows = [
        {"model": m.get("path"), "kind": m.get("kind"), "row": m.get("row"), "params": m.get("params"),
         "bits/weight": m.get("layer_bits"), "float32 bytes": m.get("float32_bytes"),
         "deployed bytes": m.get("deployed_bytes"), "compression": m.get("compression"),
         "spins/solve": m.get("spins_per_solve")}
        for m in models
    ]
    return [
        "## Models", "",
        f"{len(models)} trained model(s) saved under `models/` in {seconds:.2f} s, {size:,} bytes "
        "(`hybridqnn summary RUN_DIR` gives every layer; `--no-save-models` turns saving off).", "",
        render_table(rows), "",
    ]


# --------------------------------------------------------------------------- reading/writing


def has_ok_report(out_dir: str | os.PathLike[str]) -> bool:
    """Return True if ``out_dir/report.json`` exists, parses and has status ``"ok"``."""
    try:
        data = json.loads((Path(out_dir) / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("status") == "ok"


def write_report(out_dir: str | os.PathLike[str], report: Mapping[str, Any]) -> Path:
    """Write ``report.json`` and ``report.md`` to ``out_dir`` atomically (each replaces the
    file of that name).

    Args:
        out_dir: Run directory (created if missing).
        report: Report dict; needs ``status`` (one of :data:`STATUSES`). Rows of an ok
            ``kind = "bench"`` report are checked with :func:`check_bench_row`.

    Returns:
        Path of the JSON file written.
    """
    out_dir = Path(out_dir)
    if not isinstance(report, Mapping):
        raise TypeError(f"'report' must be a dict, got {type(report).__name__}")
    status = report.get("status")
    if status not in STATUSES:
        raise ValueError(f"'status' must be one of {', '.join(STATUSES)}; got {status!r}")
    if report.get("kind") == "bench" and status == "ok":
        for i, row in enumerate(report.get("rows") or []):
            check_bench_row(row, i)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "report.json"
    atomic_write_text(json_path, to_json(dict(report), indent=2) + "\n")
    atomic_write_text(out_dir / "report.md", render_markdown(report))
    return json_path


def read_report(path: str | os.PathLike[str]) -> tuple[dict[str, Any], Path]:
    """Read a report from a run directory (its ``report.json``) or a report JSON file.

    Returns:
        ``(report, json_path)``.

    Raises:
        FileNotFoundError: If there is no report.
        ValueError: If the file is not valid JSON or not a report object.
    """
    path = Path(path).expanduser()
    json_path = path / "report.json" if path.is_dir() else path
    if not json_path.is_file():
        if path.is_dir():
            raise FileNotFoundError(f"run directory {str(path)!r} has no report.json")
        raise FileNotFoundError(f"report {str(path)!r} does not exist")
    try:
        data = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read report {str(json_path)!r}: {exc}") from None
    except ValueError as exc:
        raise ValueError(f"report {str(json_path)!r} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"report {str(json_path)!r} must hold a JSON object, got {type(data).__name__}")
    rows = data.get("rows", [])
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ValueError(f"report {str(json_path)!r}: 'rows' must be a list of objects")
    if data.get("status") not in STATUSES:
        raise ValueError(
            f"report {str(json_path)!r}: 'status' must be one of {', '.join(STATUSES)}; "
            f"got {data.get('status')!r}"
        )
    return data, json_path

