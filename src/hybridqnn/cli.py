"""The ``hybridqnn`` command line: ``run``, ``bench``, ``list``, ``validate``, ``hardware``,
``summary``, ``predict``, ``export``, ``report``.

Exit codes: 0 success, 1 a run failed, 2 a usage or config error, 130 interrupted (Ctrl-C).
Errors print one line, ``hybridqnn: error: <message>``, on stderr; ``--debug`` (or
``HYBRIDQNN_DEBUG=1``) re-raises them with the traceback instead.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NoReturn

from hybridqnn import __version__

__all__ = ["main"]

_PROG = "hybridqnn"
_LIST_CHOICES = ("experiments", "benchmarks", "solvers", "datasets")
_EXPORT_FORMATS = ("packed", "onnx")  # hybridqnn.deploy.export.FORMATS (not imported: the CLI starts light)


class _UsageError(Exception):
    """A usage error found after parsing (exit 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line instead of usage + error
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _common_flags() -> argparse.ArgumentParser:
    # SUPPRESS defaults: flags given after the subcommand must not reset ones given before it
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS,
        help="show tracebacks instead of one-line errors (also: HYBRIDQNN_DEBUG=1)",
    )
    common.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
        help="log progress messages (INFO) on stderr",
    )
    return common


def _run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a config key (TOML value syntax, bare strings allowed); repeatable",
    )
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="run directory (default: runs/<name>-<timestamp>)")
    parser.add_argument("--quick", action="store_true",
                        help="apply the config's [quick] settings (small, fast run)")
    parser.add_argument("--dry-run", action="store_true",
                        help="validate and print the resolved config; create nothing")
    parser.add_argument("--seed", type=int, metavar="N", help="master seed (overrides the config)")
    parser.add_argument("--data-dir", type=Path, metavar="DIR",
                        help="dataset directory (default: loaders' environment/cache)")
    parser.add_argument("--device", default="cpu", metavar="DEVICE",
                        help="cpu, cuda or cuda:N (default: cpu)")
    parser.add_argument("--executor", metavar="SPEC",
                        help="executor for parallel solves: thread, process, serial or "
                        "dask://HOST:PORT[?timeout=SECONDS] (fails when no worker joins in time; default 300 s)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def _build_parser() -> argparse.ArgumentParser:
    common = _common_flags()
    parser = _Parser(
        prog=_PROG,
        description="Train quantized and binary neural networks with quantum and "
        "quantum-inspired optimisation: run experiments and benchmarks, write reports.",
    )
    parser.add_argument("--version", action="version", version=f"{_PROG} {__version__}")
    parser.add_argument("--debug", action="store_true", default=False,
                        help="show tracebacks instead of one-line errors (also: HYBRIDQNN_DEBUG=1)")
    parser.add_argument("-v", "--verbose", action="store_true", default=False,
                        help="log progress messages (INFO) on stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("run", parents=[common], help="run an experiment",
                       description="Run a shipped experiment config or a TOML config file.")
    p.add_argument("name", metavar="NAME_OR_PATH", help="shipped config name or .toml path")
    _run_options(p)
    p.add_argument("--no-save-models", action="store_true",
                   help="do not save the trained models under RUN_DIR/models (saved by default)")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("bench", parents=[common], help="run a benchmark",
                       description="Run a shipped benchmark (config bench-NAME) or a TOML file.")
    p.add_argument("name", metavar="NAME_OR_PATH", help="benchmark name or .toml path")
    _run_options(p)
    p.set_defaults(func=_cmd_bench)

    p = sub.add_parser("list", parents=[common], help="list experiments, benchmarks, solvers, datasets")
    p.add_argument("what", nargs="?", choices=_LIST_CHOICES, help="what to list (default: everything)")
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("validate", parents=[common], help="validate configs without running",
                       description="Validate one config, or every shipped config when no "
                       "argument is given (in normal and --quick mode).")
    p.add_argument("name", nargs="?", metavar="NAME_OR_PATH", help="config name or .toml path")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key; repeatable")
    p.add_argument("--quick", action="store_true", help="validate with the [quick] settings")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("hardware", parents=[common], help="estimate a config's largest problem on D-Wave hardware",
                       description="Logical counts and a time-limited minor-embedding attempt (minorminer) onto "
                       "Pegasus P16 (Advantage) and Zephyr Z12 (Advantage2) for the largest binary problem a run "
                       "of the config would build. Needs pip install 'hybridqnn[dwave]'.")
    p.add_argument("name", metavar="NAME_OR_PATH", help="shipped config name or .toml path")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key; repeatable")
    p.add_argument("--quick", action="store_true", help="use the config's [quick] settings")
    p.add_argument("--data-dir", type=Path, metavar="DIR", help="dataset directory")
    p.add_argument("--timeout", type=float, default=10.0, metavar="S",
                   help="seconds per topology for the embedding attempt (default 10)")
    p.add_argument("--topology", dest="topologies", action="append", choices=("pegasus", "zephyr"),
                   help="target topology; repeatable (default: both)")
    p.set_defaults(func=_cmd_hardware)

    _model_commands(sub, common)

    p = sub.add_parser("report", parents=[common], help="re-render a run's report.md and rows.csv",
                       description="Re-render report.md and rows.csv from report.json; print report.md.")
    p.add_argument("run_dir", metavar="RUN_DIR", type=Path,
                   help="run directory (or a report JSON file)")
    p.set_defaults(func=_cmd_report)
    return parser


def _model_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """The saved-model commands: ``summary``, ``predict``, ``export``."""
    p = sub.add_parser("summary", parents=[common], help="summarise saved models (layers, bits, memory, MACs)",
                       description="Per layer: parameters, bits per weight, memory as float32 and as "
                       "deployed (bit-packed), binary and other multiply-accumulates; totals, the "
                       "compression ratio and the training problem's size.")
    p.add_argument("path", metavar="RUN_DIR|MODEL_PATH", type=Path,
                   help="a run directory (every model under RUN_DIR/models) or one saved model")
    p.set_defaults(func=_cmd_summary)

    p = sub.add_parser("predict", parents=[common], help="score a saved model on a data set's test split",
                       description="Prepare the data set's test split as the model's experiment "
                       "prepared its inputs, predict and print the accuracy.")
    p.add_argument("model", metavar="MODEL_PATH", type=Path, help="a saved model (directory or model.json)")
    p.add_argument("--data", metavar="NAME", help="data set (default: the one it was trained on)")
    p.add_argument("--data-dir", type=Path, metavar="DIR", help="dataset directory")
    p.set_defaults(func=_cmd_predict)

    p = sub.add_parser("export", parents=[common], help="export a saved model (bit-packed or ONNX)",
                       description="Write the network as it runs at inference: 'packed' (safetensors, "
                       "weights bit-packed, runnable with NumPy: hybridqnn.deploy.reference) or 'onnx'.")
    p.add_argument("model", metavar="MODEL_PATH", type=Path, help="a saved model (directory or model.json)")
    p.add_argument("--format", required=True, choices=_EXPORT_FORMATS, help="output format")
    p.add_argument("--out", required=True, type=Path, metavar="FILE", help="file to write")
    p.add_argument("--deterministic", action="store_true",
                   help="export a stochastic model's deterministic mode (natural quantization)")
    p.add_argument("--check", action="store_true",
                   help="run the exported file on the model's recorded test inputs (up to 1,000) "
                   "and compare its labels with the trained model's")
    p.add_argument("--data-dir", type=Path, metavar="DIR", help="dataset directory (for --check)")
    p.set_defaults(func=_cmd_export)


def _error(message: str) -> None:
    print(f"{_PROG}: error: {' '.join(str(message).split())}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the ``hybridqnn`` command line and return its exit code.

    Args:
        argv: Arguments without the program name (default: ``sys.argv[1:]``).

    Returns:
        0 on success, 1 if a run failed, 2 for usage or config errors, 130 if interrupted.
    """
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    debug = bool(args.debug) or os.environ.get("HYBRIDQNN_DEBUG", "").strip() not in ("", "0")
    args.debug = debug

    pkg_logger = logging.getLogger("hybridqnn")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"{_PROG}: %(levelname)s: %(message)s"))
    old_level = pkg_logger.level
    pkg_logger.addHandler(handler)
    pkg_logger.setLevel(logging.INFO if args.verbose else logging.WARNING)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print(f"{_PROG}: interrupted", file=sys.stderr)
        return 130
    except (_UsageError, ValueError, TypeError, FileNotFoundError) as exc:
        if debug:
            raise
        _error(str(exc) if isinstance(exc, _UsageError) else _describe(exc))
        return 2
    except BrokenPipeError:  # the reader went away (`hybridqnn list | head`): stop quietly
        _silence_stdout()
        return 141  # 128 + SIGPIPE, what a shell reports for a command its pipe closed
    except Exception as exc:
        if debug:
            raise
        _error(_describe(exc))
        return 1
    finally:
        pkg_logger.removeHandler(handler)
        pkg_logger.setLevel(old_level)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush of a closed pipe does not
    print a second BrokenPipeError (the recipe of Python's ``signal`` documentation)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout replaced by one without a descriptor
        pass


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if isinstance(exc, (ValueError, TypeError, FileNotFoundError)) and text:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# --------------------------------------------------------------------------- run / bench


def _is_path(name: str) -> bool:
    return name.endswith(".toml") or "/" in name or "\\" in name or Path(name).exists()


def _cmd_run(args: argparse.Namespace) -> int:
    return _run(args, args.name, want_kind="experiment")


def _cmd_bench(args: argparse.Namespace) -> int:
    target = args.name
    if not _is_path(target):
        from hybridqnn.experiments.config import shipped_config_names

        names = shipped_config_names()
        if not (target.startswith("bench-") and target in names):
            if f"bench-{target}" not in names:
                benches = [n[len("bench-") :] for n in names if n.startswith("bench-")]
                raise _UsageError(
                    f"unknown benchmark {target!r} (looked for config 'bench-{target}'); "
                    f"benchmarks: {', '.join(benches) or '(none)'}; or pass a path to a .toml file"
                )
            target = f"bench-{target}"
    return _run(args, target, want_kind="bench")


def _run(args: argparse.Namespace, target: str, want_kind: str) -> int:
    from hybridqnn.experiments.config import load_config, params_help
    from hybridqnn.experiments.report import render_summary, short_notes
    from hybridqnn.experiments.runner import run_experiment

    config = load_config(target, overrides=args.overrides, quick=args.quick, seed=args.seed)
    kind = config.experiment.kind
    if kind != want_kind:
        other = "bench" if kind == "bench" else "run"
        raise _UsageError(
            f"config {config.name!r} is a {'benchmark' if kind == 'bench' else 'experiment'} "
            f"(experiment {config.experiment.name!r} has kind {kind!r}); use '{_PROG} {other}'"
        )
    options: dict[str, Any] = {
        "data_dir": args.data_dir,
        "device": args.device,
        "executor": args.executor,
        "progress": not args.no_progress,
        "save_models": not getattr(args, "no_save_models", False),
    }
    if args.dry_run:
        result = run_experiment(config, args.out, dry_run=True, **options)
        print(f"# dry run of {config.name!r} (experiment {config.experiment.name!r}, "
              f"kind {kind!r}); nothing was created")
        print(f"# would write to: {result.out_dir}")
        print(config.to_toml().rstrip())
        print(f"\n# config keys of experiment {config.experiment.name!r}:")
        for info in params_help(config.experiment):
            default = "required" if info.required else f"default {info.default!r}"
            rule = f"; {info.rule}" if info.rule else ""
            print(f"#   {info.name} ({info.type}, {default}{rule})" + (f": {info.help}" if info.help else ""))
        return 0

    result = run_experiment(config, args.out, raise_on_error=args.debug, **options)
    report = result.report or {}
    summary = render_summary(report)
    if summary:  # headline and compact table; every column and the whole notes: report.md
        print(summary)
        print()
    notes = short_notes(report.get("notes") or [])
    for note in notes:
        print(note)
    if notes:
        print("(notes in full, every row and column: report.md)")
    if result.status == "ok":
        print(f"run directory: {result.out_dir}")
        return 0
    # a failed or interrupted run beside an earlier ok one is kept in <out>/failed|interrupted
    kept = ""
    if args.out is not None and result.out_dir != args.out.expanduser():
        kept = f"; {args.out} keeps its earlier ok run"
    if result.status == "interrupted":
        print(f"{_PROG}: interrupted; partial report in {result.report_path}{kept}", file=sys.stderr)
        return 130
    _error(f"run failed: {result.error} (traceback in {result.out_dir / 'error.log'}){kept}")
    return 1


# --------------------------------------------------------------------------- list


def _print_table(entries: Iterable[tuple[str, ...]], indent: str = "  ") -> None:
    entries = list(entries)
    if not entries:
        print(f"{indent}(none)")
        return
    width = max(len(e[0]) for e in entries)
    limit = _terminal_columns()
    for entry in entries:
        rest = "  ".join(x for x in entry[1:] if x)
        line = f"{indent}{entry[0]:<{width}}  {rest}".rstrip()
        if limit is not None and len(line) > limit:  # `run NAME --dry-run` shows all of it
            line = line[: limit - 1].rstrip() + "…"
        print(line)


def _terminal_columns() -> int | None:
    """The terminal's width when stdout is one (lines are cut to it), else None: a pipe or a
    file gets every line whole, for grep."""
    try:
        if not sys.stdout.isatty():
            return None
    except (AttributeError, ValueError):
        return None
    import shutil

    return max(40, shutil.get_terminal_size((100, 24)).columns)


def _dataset_entries(datasets: Any) -> list[tuple[str, str]]:
    entries = []
    if isinstance(datasets, Mapping):
        for name, value in datasets.items():
            if isinstance(value, str):
                desc = value
            else:
                desc = getattr(value, "description", None) or (getattr(value, "__doc__", None) or "")
                desc = str(desc).strip().splitlines()[0] if str(desc).strip() else ""
            entries.append((str(name), desc))
    else:
        for item in datasets:
            if isinstance(item, (tuple, list)):
                entries.append((str(item[0]), str(item[1]) if len(item) > 1 else ""))
            else:
                entries.append((str(item), ""))
    return entries


def _cmd_list(args: argparse.Namespace) -> int:
    what = [args.what] if args.what else list(_LIST_CHOICES)
    code = 0
    if "experiments" in what or "benchmarks" in what:
        from hybridqnn.experiments.config import list_configs

        configs = list_configs()
        if "experiments" in what:
            print("experiments (hybridqnn run NAME):")
            _print_table(
                (c.name, "" if c.experiment == c.name else f"[{c.experiment}]", c.description)
                for c in configs if c.kind == "experiment"
            )
        if "benchmarks" in what:
            print("benchmarks (hybridqnn bench NAME):")
            _print_table(
                (c.name[len("bench-"):] if c.name.startswith("bench-") else c.name,
                 f"[{c.experiment}]", c.description)
                for c in configs if c.kind == "bench"
            )
    for section, loader in (("solvers", _load_solvers), ("datasets", _load_datasets)):
        if section not in what:
            continue
        try:
            entries = loader()
        except Exception as exc:  # a broken optional section must not hide the others
            if args.what:
                raise
            print(f"{section}:")
            print(f"  (unavailable: {_describe(exc)})")
            code = 1
            continue
        print(f"{section}:")
        _print_table(entries)
    return code


def _load_solvers() -> list[tuple[str, str]]:
    from hybridqnn.solvers import list_solvers

    return [(str(name), str(desc)) for name, desc in list_solvers()]


def _load_datasets() -> list[tuple[str, str]]:
    from hybridqnn.data import DATASETS

    return _dataset_entries(DATASETS)


# --------------------------------------------------------------------------- validate / report


def _cmd_validate(args: argparse.Namespace) -> int:
    from hybridqnn.experiments.config import load_config, shipped_config_names

    if args.name is not None:
        config = load_config(args.name, overrides=args.overrides, quick=args.quick)
        print(f"ok: {config.name} ({config.experiment.name})")
        return 0
    names = shipped_config_names()
    if not names:
        print("no shipped configs")
        return 0
    failures = 0
    modes = (True,) if args.quick else (False, True)
    for name in names:
        try:
            for quick in modes:
                config = load_config(name, overrides=args.overrides, quick=quick)
        except (ValueError, TypeError, FileNotFoundError, ImportError) as exc:
            if args.debug:
                raise
            failures += 1
            _error(_describe(exc))
            continue
        print(f"ok: {config.name} ({config.experiment.name})")
    return 2 if failures else 0


def _cmd_hardware(args: argparse.Namespace) -> int:
    from hybridqnn.experiments.config import load_config
    from hybridqnn.experiments.report import render_record
    from hybridqnn.solvers import hardware_estimate

    if args.timeout <= 0:
        raise _UsageError(f"'--timeout' must be > 0 seconds, got {args.timeout}")
    config = load_config(args.name, overrides=args.overrides, quick=args.quick)
    build = config.experiment.largest_problem
    if build is None:
        raise _UsageError(f"config {config.name!r} (experiment {config.experiment.name!r}) builds no binary problem to estimate")
    bqm = build(config.params, args.data_dir, config.seed)
    record = hardware_estimate(bqm, topologies=tuple(args.topologies or ("pegasus", "zephyr")), timeout=args.timeout)
    print(f"hardware estimate of the largest binary problem of config {config.name!r}:")
    print(render_record(record))
    return 0


# --------------------------------------------------------------------------- saved models


def _model_paths(path: Path) -> list[Path]:
    """The saved models at ``path``: itself, or every model of a run directory."""
    if (path / "model.json").is_file() or path.name == "model.json":
        return [path]
    found = sorted(p.parent for p in path.glob("models*/*/model.json"))  # models.failed too
    if path.is_dir() and not found:
        raise _UsageError(f"no saved model at {str(path)!r}: neither a model directory nor a run "
                          "directory with models/ (runs save them unless --no-save-models)")
    return found or [path]  # a missing path: load_model names the problem


def _cmd_summary(args: argparse.Namespace) -> int:
    from hybridqnn.deploy.summaries import summary

    for i, path in enumerate(_model_paths(args.path)):
        if i:
            print()
        print(f"# {path}")
        print(summary(path))
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    from hybridqnn.deploy.inputs import score

    result = score(args.model, args.data, args.data_dir)
    recorded = result["recorded"]
    extra = f" (its run recorded {recorded:.4f})" if isinstance(recorded, float) else ""
    print(f"accuracy {result['accuracy']:.4f} on the test split of {result['dataset']} "
          f"({result['samples']:,} samples; {result['kind']} model){extra}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from hybridqnn.deploy.export import export_model

    out = export_model(args.model, args.out, format=args.format, deterministic=args.deterministic)
    print(f"wrote {out} ({out.stat().st_size:,} bytes, {args.format})")
    if args.check:
        from hybridqnn.deploy.export import check_export

        c = check_export(args.model, out, format=args.format, data_dir=args.data_dir)
        print(f"checked on {c['samples']:,} test inputs of {c['dataset']}: {c['agree']:,} labels "
              f"equal to the trained model's")
        if c["agree"] != c["samples"]:
            return 1
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from hybridqnn.experiments.report import (
        atomic_write_text,
        read_report,
        render_markdown,
        rows_csv,
    )

    report, json_path = read_report(args.run_dir)
    markdown = render_markdown(report)
    atomic_write_text(json_path.with_suffix(".md"), markdown)
    atomic_write_text(json_path.with_name("rows.csv"), rows_csv(report.get("rows") or []))
    print(markdown, end="")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
