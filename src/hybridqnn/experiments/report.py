"""Run reports: ``report.json`` (the record), ``report.md`` (its rendering) and ``rows.csv``
(the rows, for spreadsheets and pandas).

Summary first. A report starts with its experiment's headline (``report["headline"]``, one
line from :attr:`Experiment.headline <hybridqnn.experiments.registry.Experiment>`) and a
compact table of the identity and key columns of the result rows that fits
:data:`SUMMARY_WIDTH` characters (:func:`compact_table`); the terminal prints the same
(:func:`render_summary`).

Kinds of rows. ``report.md`` then has one table per kind of row, each with only the columns
that hold a value in at least one of its rows:

- *resources*: rows whose ``method`` is one of :data:`RESOURCE_METHODS` (hardware estimates,
  spin counts, spline error bounds): what a problem needs, not what a method achieved; one
  table per method;
- *paper comparison*: the paper columns (:func:`is_paper_column`: ``paper_<metric>`` and
  ``<metric>_vs_paper``, :func:`hybridqnn.experiments.toolkit.paper_columns`) of the result
  rows that have them, then the paper's reported numbers (``report["paper"]``). In a quick
  run every comparison reads :data:`QUICK_NOT_COMPARABLE`;
- *results*: every other row, without its paper columns.

The full rows follow at the end ("All rows").

All files are written atomically (a temporary file in the same directory, then
``os.replace``). The runner writes a run's report into the run's staging directory, so a good
report is never overwritten by a failed run (:mod:`hybridqnn.experiments.runner`).
"""

from __future__ import annotations

import csv
import io
import json
import math
import numbers
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from hybridqnn._files import atomic_write_bytes, atomic_write_text

__all__ = [
    "BENCH_KEYS",
    "QUICK_NOT_COMPARABLE",
    "RESOURCE_METHODS",
    "STATUSES",
    "SUMMARY_WIDTH",
    "atomic_write_bytes",
    "atomic_write_text",
    "check_bench_row",
    "compact_table",
    "has_ok_report",
    "is_paper_column",
    "quick_headline",
    "read_report",
    "render_markdown",
    "render_summary",
    "render_table",
    "row_kind",
    "rows_csv",
    "short_notes",
    "to_json",
    "write_report",
]

#: Values of a report's ``status``.
STATUSES: tuple[str, ...] = ("ok", "failed", "interrupted")

#: Keys every row of a ``kind = "bench"`` report must carry.
BENCH_KEYS: tuple[str, ...] = ("case", "impl", "seconds", "baseline", "speedup_vs_baseline")

#: Methods whose rows are resource figures (what a problem needs), not results.
RESOURCE_METHODS: tuple[str, ...] = ("hardware-estimate", "spin-count", "spline-error")

#: What a quick run shows in place of every paper comparison.
QUICK_NOT_COMPARABLE = "quick: not comparable"

#: Most characters per line of the compact table.
SUMMARY_WIDTH = 100

#: A row's identity columns, shown first in the compact table (those the rows have).
_IDENTITY = ("method", "dataset", "task", "setting")
_BENCH_IDENTITY = ("case", "impl")
_PAPER_CLAUSE = "; paper: "

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


def render_record(record: Mapping[str, Any]) -> str:
    """One flat record as aligned ``key  value`` lines, values formatted as in the tables and
    wrapped at :data:`SUMMARY_WIDTH` characters: how the terminal shows a single result with many
    fields, such as ``hybridqnn hardware``'s."""
    import textwrap

    width = max((len(str(k)) for k in record), default=0)
    indent = " " * (width + 2)
    return "\n".join(
        textwrap.fill(_fmt(v), SUMMARY_WIDTH, initial_indent=f"{str(k):<{width}}  ",
                      subsequent_indent=indent, break_long_words=False)
        for k, v in record.items()
    )


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


# --------------------------------------------------------------------------- kinds of rows


def row_kind(row: Mapping[str, Any]) -> str:
    """``"resources"`` for a row whose ``method`` is in :data:`RESOURCE_METHODS`, else
    ``"results"``."""
    return "resources" if row.get("method") in RESOURCE_METHODS else "results"


def is_paper_column(name: str) -> bool:
    """Whether ``name`` is a paper-comparison column: ``paper_<metric>`` or ``<metric>_vs_paper``."""
    return name.startswith("paper_") or name.endswith("_vs_paper")


def _columns(rows: Sequence[Mapping[str, Any]], keep: Callable[[str], bool] = lambda _: True) -> list[str]:
    """The columns holding a value (not missing, not None) in at least one row, in order of
    first appearance, that ``keep`` accepts."""
    out: dict[str, None] = {}
    for row in rows:
        for key, value in row.items():
            if value is not None and keep(str(key)):
                out.setdefault(str(key), None)
    return list(out)


def _select(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> list[dict[str, Any]]:
    return [{c: row[c] for c in columns if c in row} for row in rows]


def quick_headline(headline: str, quick: bool, *, bench: bool = False) -> str:
    """``headline`` with its paper comparison (what follows the last ``"; paper: "``) replaced by
    :data:`QUICK_NOT_COMPARABLE` when ``quick``: a quick run's reduced settings say nothing
    about the paper's numbers. A quick benchmark's headline (its verdict against a target set
    for the full problem) ends with ``"; "`` and the same label."""
    if quick and bench:
        return f"{headline}; {QUICK_NOT_COMPARABLE}"
    if not quick or _PAPER_CLAUSE not in headline:
        return headline
    return headline.rpartition(_PAPER_CLAUSE)[0] + _PAPER_CLAUSE + QUICK_NOT_COMPARABLE


# --------------------------------------------------------------------------- compact table


def _short(value: Any, limit: int = 20) -> str:
    """A cell of the compact table: as in Markdown (:func:`_fmt`), but floats with 3
    significant digits and strings cut to ``limit`` characters."""
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral) and math.isfinite(value) and value:
        return f"{float(value):.3g}"
    text = _fmt(value).replace("\\|", "|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plain(header: list[str], body: list[list[str]]) -> list[str]:
    widths = [max(len(c) for c in col) for col in zip(header, *body, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in body]
    return lines


def _whole_identity(rows: Sequence[Mapping[str, Any]], ident: Sequence[str]) -> set[str]:
    """The identity columns to show uncut: all those a cut cell shortens, if cutting makes two
    rows with different identities read the same (settings that differ only after 20
    characters); none otherwise."""

    def identity(limit: int | None) -> set[tuple[str, ...]]:
        return {tuple(_short(r.get(c), limit or 10**9) if c in r else "" for c in ident) for r in rows}

    if len(identity(20)) == len(identity(None)):
        return set()
    return {c for c in ident if any(c in r and _short(r[c]) != _short(r[c], 10**9) for r in rows)}


def compact_table(
    rows: Sequence[Mapping[str, Any]],
    key_columns: Sequence[str] = (),
    *,
    bench: bool = False,
    quick: bool = False,
    width: int = SUMMARY_WIDTH,
) -> str:
    """The result rows' identity and key columns as a plain-text table at most ``width``
    characters wide.

    Columns: the identity columns the rows have (``method``, ``dataset``, ``task``,
    ``setting``; ``case``, ``impl`` when ``bench``), then ``key_columns`` (default, and when the
    rows have neither identity nor key columns: every other column). Numbers get 3 significant digits, long strings are cut (identity cells stay whole
    where cutting would make two rows read the same). While the table is too
    wide, identity columns with one value in every row go first, then key columns from the
    right; a last line names what was left out. Resource rows (:func:`row_kind`) are not shown;
    in a ``quick`` run every ``<metric>_vs_paper`` value reads :data:`QUICK_NOT_COMPARABLE`.
    """
    results = [r for r in rows if row_kind(r) == "results"]
    if not results:
        return "(no result rows)"
    ident = [c for c in (_BENCH_IDENTITY if bench else _IDENTITY) if any(c in r for r in results)]
    every = [c for c in _columns(results) if c not in ident]
    keys = [c for c in dict.fromkeys(key_columns or every) if c not in ident and any(c in r for r in results)]
    keys = keys or ([] if ident else every)  # never a table without a column

    whole = _whole_identity(results, ident)

    def cell(row: Mapping[str, Any], c: str) -> str:
        if c not in row:
            return ""
        compared = quick and c.endswith("_vs_paper") and row[c] is not None
        return QUICK_NOT_COMPARABLE if compared else _short(row[c], 10**9 if c in whole else 20)

    def lines_for(columns: list[str]) -> list[str]:
        return _plain([c[:24] for c in columns], [[cell(r, c) for c in columns] for r in results])

    constant = [c for c in ident if len(results) > 1 and len({repr(r.get(c)) for r in results}) == 1]
    columns = ident + keys
    while max(map(len, lines_for(columns))) > width and len(columns) > 1:
        columns.remove(next((c for c in constant if c in columns), None) or columns[-1])
    lines = [line[:width] for line in lines_for(columns)]
    dropped = [c for c in ident + keys if c not in columns]
    if dropped:
        note = f"(not shown: {', '.join(dropped)}; see report.md)"
        lines.append(note if len(note) <= width else note[: width - 1] + "…")
    return "\n".join(lines)


def _summary_parts(report: Mapping[str, Any]) -> tuple[str, str]:
    """The headline ('' if none) and the compact table ('' without rows) of ``report``."""
    rows = report.get("rows") or []
    table = compact_table(
        rows, report.get("key_columns") or (), bench=report.get("kind") == "bench",
        quick=bool(report.get("quick")),
    ) if rows else ""
    return str(report.get("headline") or ""), table


def short_notes(notes: Sequence[Any], width: int = SUMMARY_WIDTH) -> list[str]:
    """Each note's first sentence, cut to ``width`` characters: what the terminal shows of the
    notes (``report.md`` has them whole)."""
    out = []
    for note in notes:
        text = " ".join(str(note).split())
        first = re.split(r"(?<=[.!?])\s+(?=[A-Z(])", text, maxsplit=1)[0]
        out.append(first if len(first) <= width else first[: width - 1] + "…")
    return out


def render_summary(report: Mapping[str, Any]) -> str:
    """The headline (when the report has one), a blank line and the compact table of
    ``report``: what the terminal prints and ``report.md`` starts with."""
    return "\n\n".join(part for part in _summary_parts(report) if part)


def _fmt_versions(versions: Mapping[str, Any]) -> str:
    keys = [k for k in _VERSION_ORDER if k in versions] + [
        k for k in versions if k not in _VERSION_ORDER
    ]
    return ", ".join(f"{k} {versions[k] if versions[k] is not None else '(not installed)'}" for k in keys)


def render_markdown(report: Mapping[str, Any]) -> str:
    """Render a report dict (as written to ``report.json``) as Markdown.

    Sections: title, description, the summary (:func:`render_summary`: headline and compact
    table), status/seed/wall time/versions, then one table per kind of row (results,
    resources, paper comparison with the paper's reported numbers; see the module docstring),
    figures, the saved models with their summary totals and the cost of saving them, notes,
    and every row with every column at the end.
    """
    name = report.get("experiment", "run")
    runner = report.get("runner")
    title = f"# {name}" + (f" ({runner})" if runner and runner != name else "")
    out = [title, ""]
    config = report.get("config")
    description = config.get("description") if isinstance(config, Mapping) else None
    if description:
        out += [str(description), ""]
    headline, table = _summary_parts(report)
    out += ([f"**{headline}**", ""] if headline else []) + (["```text", table, "```", ""] if table else [])
    out += _facts(report) + [""]
    rows = report.get("rows") or []
    results = [r for r in rows if row_kind(r) == "results"]
    out += ["## Results", "", render_table(_select(results, _columns(results, lambda c: not is_paper_column(c)))), ""]
    out += _resources_section([r for r in rows if row_kind(r) == "resources"])
    out += _paper_section(results, report.get("paper") or [], bool(report.get("quick")))
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
    if rows:
        out += ["## All rows", "", render_table(rows), ""]
    return "\n".join(out).rstrip() + "\n"


def _facts(report: Mapping[str, Any]) -> list[str]:
    """The bullet list: status, kind, seed (quick mode), the ``--set`` overrides (the
    description above states the config's own values), wall time, start, device, versions,
    error."""
    facts = [f"- **Status:** {report.get('status', '?')}"]
    if report.get("kind"):
        facts.append(f"- **Kind:** {report['kind']}")
    seed_line = f"- **Seed:** {report.get('seed', '?')}"
    if report.get("quick"):
        seed_line += " (quick mode)"
    facts.append(seed_line)
    overrides = report.get("overrides")
    if isinstance(overrides, list | tuple) and overrides:
        facts.append("- **Set on the command line:** " + ", ".join(f"`{o}`" for o in overrides))
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
    return facts


def _resources_section(rows: list[Mapping[str, Any]]) -> list[str]:
    """"Resources": one table per resource method, only the columns with a value."""
    if not rows:
        return []
    out = ["## Resources", ""]
    for method in dict.fromkeys(r["method"] for r in rows):
        mine = [r for r in rows if r["method"] == method]
        out += [f"### {method}", "", render_table(_select(mine, _columns(mine))), ""]
    return out


def _paper_section(results: list[Mapping[str, Any]], paper: list[Mapping[str, Any]], quick: bool) -> list[str]:
    """"Paper comparison": the result rows' paper columns (in a quick run each ``_vs_paper``
    cell reads :data:`QUICK_NOT_COMPARABLE`), then the paper's reported numbers."""
    compared = [r for r in results if any(is_paper_column(c) and v is not None for c, v in r.items())]
    if not compared and not paper:
        return []
    out = ["## Paper comparison", ""]
    if quick:
        out += [f"_{QUICK_NOT_COMPARABLE}: a quick run's reduced settings are not the paper's._", ""]
    if compared:
        paper_cols = _columns(compared, is_paper_column)
        metrics = [c[len("paper_"):] for c in paper_cols if c.startswith("paper_")]
        ident = [c for c in _IDENTITY if any(c in r for r in compared)]
        table = _select(compared, ident + [m for m in metrics if any(m in r for r in compared)] + paper_cols)
        if quick:
            table = [{c: (QUICK_NOT_COMPARABLE if c.endswith("_vs_paper") and v is not None else v)
                      for c, v in r.items()} for r in table]
        out += [render_table(table), ""]
    if paper:
        out += ["### Paper reports", "", render_table(paper), ""]
    return out


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


# --------------------------------------------------------------------------- CSV


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, numbers.Integral)):
        return str(value)
    if isinstance(value, numbers.Real):
        return repr(float(value))  # shortest text that reads back as the same float
    return to_json(value)


def rows_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """``rows`` as CSV text: a header of every column (in order of first appearance), one line
    per row; None and a missing key are empty cells, booleans ``true``/``false``, floats
    exact (``repr``), lists and dicts JSON."""
    columns = list(dict.fromkeys(str(k) for row in rows for k in row))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_cell(row.get(c)) for c in columns])
    return buffer.getvalue()


# --------------------------------------------------------------------------- reading/writing


def has_ok_report(out_dir: str | os.PathLike[str]) -> bool:
    """Return True if ``out_dir/report.json`` exists, parses and has status ``"ok"``."""
    try:
        data = json.loads((Path(out_dir) / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("status") == "ok"


def write_report(out_dir: str | os.PathLike[str], report: Mapping[str, Any]) -> Path:
    """Write ``report.json``, ``report.md`` and ``rows.csv`` (:func:`rows_csv`) to ``out_dir``
    atomically (each replaces the file of that name).

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
    atomic_write_text(out_dir / "rows.csv", rows_csv(report.get("rows") or []))
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

