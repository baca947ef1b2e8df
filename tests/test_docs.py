"""The documentation is a manual that works: the MkDocs site builds in strict mode, and every
``hybridqnn`` command quoted in README.md and docs/ is a valid invocation.

Commands are taken from ``bash``/``sh``/``console`` blocks (one per line, after ``&&``) and from
inline code spans. ``run`` and ``bench`` commands run in-process with ``--dry-run`` (so a wrong
config name, key or value fails here); ``validate`` and ``list`` run as written; ``hardware``
is parsed and its config validated; the commands that need a run directory (``report``,
``summary``, ``predict``, ``export``) are parsed. A synopsis (``hybridqnn run NAME_OR_PATH``,
``[optional]`` parts) is not a command and is skipped. A config file a command names is written
from the ``toml`` block of the same page whose first line is ``# FILE.toml``; a relative
``--data-dir`` is created empty. A command whose comment starts with ``error:`` shows a mistake:
it must fail with one line.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.S | re.M)
INLINE = re.compile(r"(?<!`)`([^`]+)`(?!`)")
PLACEHOLDER = re.compile(r"^[A-Z][A-Z0-9_|=.:/-]*$")
PARSE_ONLY = {"report", "summary", "predict", "export"}


def _shell_lines(text: str) -> list[str]:
    """The command lines of a shell block: continuations joined, then split at ``&&``."""
    lines = text.replace("\\\n", " ").splitlines()
    return [part.strip() for line in lines for part in line.split("&&")]


def _commands(text: str) -> list[str]:
    """Every ``hybridqnn ...`` command quoted in ``text``, in order, with its comment."""
    found: list[str] = []
    for lang, body in FENCE.findall(text):
        if lang in ("bash", "sh", "console", "shell"):
            found += _shell_lines(body)
    for span in INLINE.findall(FENCE.sub("", text)):
        found += _shell_lines(span.replace("\n", " "))
    return [c for c in found if c.startswith("hybridqnn ")]


def _config_files(text: str) -> dict[str, str]:
    """The ``toml`` blocks that name their file on their first line (``# my-config.toml``)."""
    files = {}
    for lang, body in FENCE.findall(text):
        first = body.splitlines()[0] if body.strip() else ""
        match = re.match(r"#\s*([\w.-]+\.toml)\b", first)
        if lang == "toml" and match:
            files[match.group(1)] = body
    return files


def _argv(command: str) -> list[str]:
    """The arguments after ``hybridqnn``, without the comment."""
    return shlex.split(command, comments=True)[1:]


def _is_command(argv: list[str]) -> bool:
    """False for a synopsis (placeholders, ``[optional]`` parts) and for a bare mention of a
    subcommand that needs arguments (``hybridqnn run``)."""
    if len(argv) == 1 and argv[0] not in ("list", "validate"):
        return False
    return not any(PLACEHOLDER.match(a) or (a.startswith("[") and a.endswith("]")) for a in argv)


CASES = [
    pytest.param(page, command, id=f"{page.relative_to(ROOT)}: {command}")
    for page in PAGES
    for command in dict.fromkeys(_commands(page.read_text(encoding="utf-8")))
    if _is_command(_argv(command))
]


def _main(argv: list[str]) -> tuple[int, str, str]:
    """``hybridqnn.cli.main(argv)`` in-process: its exit status, stdout and stderr."""
    from hybridqnn.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse errors
            code = exc.code if isinstance(exc.code, int) else 2
    return code, out.getvalue(), err.getvalue()


def _parse(argv: list[str]):
    """The parsed arguments of ``argv``; a usage error fails the test with argparse's message."""
    from hybridqnn.cli import _build_parser

    with contextlib.redirect_stderr(io.StringIO()) as err:
        try:
            return _build_parser().parse_args(argv)
        except SystemExit:
            pytest.fail(f"not a valid invocation: {err.getvalue().strip()}")


@pytest.mark.parametrize(("page", "command"), CASES)
def test_quoted_command_is_valid(page: Path, command: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # a dry run creates nothing; config files a page shows go here
    for name, body in _config_files(page.read_text(encoding="utf-8")).items():
        (tmp_path / name).write_text(body, encoding="utf-8")
    argv = _argv(command)
    sub = argv[0]
    if sub in PARSE_ONLY or "..." in command:
        _parse(argv)
        return
    if sub == "hardware":  # its config and overrides, validated without the embedding attempt
        args = _parse(argv)
        argv = ["validate", args.name, *(f"--set={o}" for o in args.overrides), *(["--quick"] if args.quick else [])]
    elif sub in ("run", "bench") and "--dry-run" not in argv:
        argv = [*argv, "--dry-run"]
    if "--data-dir" in argv:  # the data folder a command names, relative: here, empty
        (tmp_path / argv[argv.index("--data-dir") + 1]).mkdir(parents=True, exist_ok=True)
    code, out, err = _main(argv)
    if re.search(r"#\s*error:", command):  # a page showing a mistake and its one-line error
        assert code == 2 and err.startswith("hybridqnn: error: ") and err.count("\n") == 1, (code, err)
        return
    assert code == 0, f"{command!r} ({' '.join(argv)}) failed: {err.strip() or out[-500:]}"
    if "--dry-run" in argv:
        assert "dry run" in out, out[:200]


def test_the_docs_quote_every_shipped_config() -> None:
    from hybridqnn.experiments import list_configs

    quoted = {argv[1] for _, command in (p.values for p in CASES) if (argv := _argv(command))[0] in ("run", "bench")}
    names = {c.name.removeprefix("bench-") if c.kind == "bench" else c.name for c in list_configs()}
    assert not names - quoted, f"shipped configs no page quotes a command for: {sorted(names - quoted)}"
    assert len(CASES) >= 40, len(CASES)


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    """``mkdocs build --strict``: a broken link or anchor, a page missing from the nav, an API
    object that does not exist or a docstring griffe cannot read (a parameter the signature does
    not have, grouped ``x, y:`` entries, confusing indentation) fails the build; none may print
    a warning."""
    import yaml

    plugins = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["plugins"]
    (handlers,) = [p["mkdocstrings"]["handlers"] for p in plugins if "mkdocstrings" in p]
    docstring_options = handlers["python"]["options"].get("docstring_options", {})
    assert docstring_options.get("warnings", True) is True, "griffe's docstring warnings are off"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict",
         "-f", str(ROOT / "mkdocs.yml"), "-d", str(tmp_path / "site")],
        capture_output=True, text=True, timeout=300, env=env, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "WARNING" not in proc.stdout + proc.stderr, proc.stdout[-3000:] + proc.stderr[-3000:]
    train_page = (tmp_path / "site" / "api" / "train" / "index.html").read_text(encoding="utf-8")
    # the docstrings' Sphinx roles are cross-references on the site, not literal ':func:' text
    # (scripts/docs_roles.py); a fully qualified one links to its object
    assert ":func:<code>" not in train_page and ":class:<code>" not in train_page
    assert 'class="autorefs autorefs-internal"' in train_page


def test_every_docstring_reads_cleanly(caplog: pytest.LogCaptureFixture) -> None:
    """griffe reads every docstring of the package as the site does (Google style, warnings on),
    also those no API page renders yet: one entry per parameter, each in the signature, and
    continuation lines indented by four more spaces."""
    import griffe

    package = griffe.load("hybridqnn", search_paths=[str(ROOT / "src")], resolve_aliases=False)
    objects, todo = [], [package]
    while todo:
        obj = todo.pop()
        objects.append(obj)
        todo += [m for m in obj.members.values() if not m.is_alias]
    with caplog.at_level(logging.WARNING, logger="griffe"):
        for obj in objects:
            if obj.docstring is not None:
                obj.docstring.parse("google", warnings=True)
    assert len(objects) > 500, len(objects)
    assert not caplog.records, "\n".join(r.getMessage() for r in caplog.records)


def test_the_readme_links_resolve() -> None:
    """The README is read on GitHub and PyPI, outside the site: its relative links must exist."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    links = [t for t in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text) if "://" not in t]
    assert links, "the README links to the docs pages"
    assert not [t for t in links if not (ROOT / t).exists()], links
    pages = {p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md")} - {"docs/index.md"}
    assert pages <= set(links), f"pages the README does not link to: {sorted(pages - set(links))}"


def test_report_columns_on_the_method_pages_exist() -> None:
    """Each column a method page's table names (the backquoted names of a row's first cell)
    is a column of a stored run's rows or a row key the experiments write (``"name": ...`` or
    ``row["name"] = ...``),
    so a renamed column (``oracle_s`` became ``oracle_summed_s``) cannot stay documented under
    its old name. ``paper_<metric>`` and ``<metric>_vs_paper`` count as their metric."""
    import json

    stored = ROOT / "tests" / "experiments"
    keys = {k for rows in json.loads((stored / "headline_rows.json").read_text()).values() for r in rows for k in r}
    for rows in json.loads((stored / "pinned_rows.json").read_text()).values():
        keys |= {k for r in rows for part in r.values() for k in part}
    code = "\n".join(p.read_text() for p in (ROOT / "src" / "hybridqnn" / "experiments").rglob("*.py"))
    missing = []
    for page in sorted((ROOT / "docs" / "methods").glob("*.md")):
        for line in page.read_text().splitlines():
            if line.startswith("| `"):
                for name in re.findall(r"`([a-z][a-z0-9_]*)`", line.split("|")[1]):
                    metric = name.removeprefix("paper_").removesuffix("_vs_paper")
                    written = any(f'{q}{n}{end}' in code for n in (name, metric) for q, end in (('"', '":'), ('["', '"] =')))
                    if not {name, metric} & keys and not written:
                        missing.append(f"{page.name}: {name}")
    assert missing == []
