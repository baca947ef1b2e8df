"""Progress bars of a run (hybridqnn.experiments.progress, RunContext.phase): named phases with
step k of n and an ETA on a terminal's stderr; nothing without a terminal or with
``--no-progress``; nothing on stdout; the numbers are the same either way."""

from __future__ import annotations

import io
import json
import re
import sys
import time
from pathlib import Path

import pytest

from hybridqnn import cli
from hybridqnn.experiments.config import load_config
from hybridqnn.experiments.context import RunContext
from hybridqnn.experiments.progress import Phase

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class FakeTerminal(io.StringIO):
    """A stderr that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def _lines(text: str) -> list[str]:
    """The distinct non-blank screen lines a bar drew (carriage returns and cursor moves split them)."""
    out: list[str] = []
    for part in re.split(r"[\r\n]", _ANSI.sub("", text)):
        if part.strip() and (not out or out[-1] != part.strip()):
            out.append(part.strip())
    return out


def test_phase_shows_name_step_k_of_n_and_eta_then_clears() -> None:
    term = FakeTerminal()
    with Phase("SGD baseline (digits)", 4, "epoch", file=term) as phase:
        for k in (1, 2):
            time.sleep(0.12)  # tqdm redraws at most every 0.1 s
            phase(k, 4)
    lines = _lines(term.getvalue())
    assert lines[0].startswith("SGD baseline (digits): epoch 0 of 4") and lines[0].endswith("ETA ?")
    assert re.fullmatch(r"SGD baseline \(digits\): epoch 2 of 4 \|.*\| 00:00, ETA 00:0\d", lines[-1])
    assert term.getvalue().endswith("\r") and phase.closed  # leave=False: the line is blanked


def test_phase_callback_sets_the_total_and_advance_counts() -> None:
    phase = Phase("QPH", 0, "QPH iteration", enabled=False)
    phase(1, 6)
    phase.advance(2)
    assert (phase.done, phase.total) == (3, 6) and phase.closed
    with pytest.raises(ValueError, match="'total' must be an integer >= 0, got -1"):
        Phase("x", -1)
    with pytest.raises(ValueError, match="'name' must be a non-empty str, got ''"):
        Phase("", 1)


def test_no_terminal_or_disabled_draws_nothing() -> None:
    for phase, out in ((Phase("x", 2, file=(buf := io.StringIO())), buf),
                       (Phase("x", 2, enabled=False, file=(term := FakeTerminal())), term)):
        with phase:
            phase.advance()
        assert out.getvalue() == ""


def test_without_a_bar_a_phase_logs_its_step_at_most_every_log_every_seconds(caplog) -> None:
    """A run under nohup or with --no-progress says where it is in its --verbose log."""
    with caplog.at_level("INFO", logger="hybridqnn"):
        with Phase("QPH training", 5, "QPH iteration", enabled=False, log_every=0.0) as phase:
            time.sleep(0.01)
            phase(2, 5)
        with Phase("SGD", 3, "epoch", file=io.StringIO()) as fast:  # not a terminal: no bar
            fast.advance(3)  # within the default minute: nothing
        term = FakeTerminal()
        with Phase("bar", 2, file=term, log_every=0.0) as drawn:  # a bar: no log line
            drawn.advance()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1, lines
    assert re.fullmatch(r"QPH training: QPH iteration 2 of 5, 00:00 elapsed, ETA 00:00", lines[0])
    with pytest.raises(ValueError, match="'log_every' must be"):
        Phase("x", 1, log_every=-1.0)


def test_context_phases_are_closed_by_the_runner_and_progress_iterates(tmp_path: Path, monkeypatch) -> None:
    term = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", term)
    ctx = RunContext(load_config("quickstart"), tmp_path, progress=True)
    outer = ctx.phase("outer", 3, "head")
    assert list(ctx.progress([1, 2], desc="inner", unit="step")) == [1, 2]
    assert not outer.closed
    ctx.close_phases()
    assert outer.closed and term.getvalue().endswith("\r")
    assert "outer: head 0 of 3" in term.getvalue() and "inner: step 0 of 2" in term.getvalue()
    off = RunContext(load_config("quickstart"), tmp_path)
    items = [1]
    assert off.progress(items) is items and off.phase("x", 1).closed


def test_quickstart_shows_its_phases_in_order_and_computes_the_same(tmp_path: Path, monkeypatch, capsys) -> None:
    # the pins of test_exp_pinned (the quickstart's digits ship with scikit-learn)
    from test_exp_pinned import PINS, _match, _pinned_view, _same

    term = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", term)
    out = tmp_path / "qs"
    assert cli.main(["run", "quickstart", "--quick", "--seed", "0", "--out", str(out)]) == 0
    lines = _lines(term.getvalue())
    phases = ["quickstart: head 0 of 2", "random conv features (digits): step 0 of 1",
              "SGD baseline (digits): epoch 0 of 20", "QUBO solves per class (digits, K=10): iteration 0 of",
              "hardware estimate (K=10, minor-embedding): step 0 of 1"]
    firsts = [next(i for i, line in enumerate(lines) if line.startswith(p)) for p in phases]
    assert firsts == sorted(firsts)
    assert any(re.search(r"SGD baseline \(digits\): epoch \d+ of 20 .*ETA \d\d:\d\d", line) for line in lines)
    assert "ETA" not in capsys.readouterr().out  # bars never go to stdout
    report = json.loads((out / "report.json").read_text())
    rows = [_pinned_view(r) for r in report["rows"]]
    for pinned in json.loads(PINS.read_text())["quickstart"]:
        row = _match(pinned, rows)
        assert row is not None and all(_same(v, row["metrics"].get(k)) for k, v in pinned["metrics"].items())


def test_no_progress_writes_nothing_to_a_terminal(tmp_path: Path, monkeypatch) -> None:
    term = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", term)
    out = tmp_path / "rosenbrock"
    assert cli.main(["run", "qpsbgd-rosenbrock", "--quick", "--out", str(out), "--no-progress"]) == 0
    assert term.getvalue() == ""


def test_log_lines_print_above_the_bars(monkeypatch) -> None:
    import logging

    from hybridqnn.experiments.progress import logs_above_bars

    term = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", term)
    logger = logging.getLogger("hybridqnn")
    handler = logging.StreamHandler(sys.stderr)
    logger.addHandler(handler)
    try:
        with logs_above_bars(True), Phase("phase", 2, file=term) as phase:
            phase.advance()
            logging.getLogger("hybridqnn.test").warning("a warning")
    finally:
        logger.removeHandler(handler)
    assert "\ra warning\n" in term.getvalue()  # the bar's line is blanked first, then redrawn
    assert "phase: step 1 of 2" in term.getvalue().split("a warning\n")[1]
