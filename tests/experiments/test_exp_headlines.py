"""Every shipped experiment and benchmark declares a headline and key columns; each headline
runs on its experiment's rows and the compact table of those rows fits the terminal.

The rows: the pinned rows of ``pinned_rows.json`` (identity and accuracy/loss columns of a
``--quick --seed 0`` run) and, for the configs that are not pinned (QCBO and the benchmarks),
``headline_rows.json``: the rows of one ``--quick --seed 0`` run, regenerated with::

    python tests/experiments/test_exp_headlines.py --update NAME [NAME ...]
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from hybridqnn.experiments.config import load_config, shipped_config_names
from hybridqnn.experiments.registry import list_experiments
from hybridqnn.experiments.report import (
    QUICK_NOT_COMPARABLE,
    SUMMARY_WIDTH,
    compact_table,
    quick_headline,
    render_markdown,
)

HERE = Path(__file__).parent
PINS = HERE / "pinned_rows.json"
ROWS = HERE / "headline_rows.json"


def _rows(name: str) -> list[dict[str, Any]]:
    pinned = json.loads(PINS.read_text())
    if name in pinned:
        return [{**r["ident"], **r["metrics"]} for r in pinned[name]]
    return json.loads(ROWS.read_text())[name]


def test_every_shipped_experiment_declares_a_headline_and_key_columns() -> None:
    missing = [e.name for e in list_experiments() if e.headline is None or not e.key_columns]
    assert missing == []


def test_every_shipped_config_has_rows_to_test_its_headline() -> None:
    have = set(json.loads(PINS.read_text())) | set(json.loads(ROWS.read_text()))
    assert set(shipped_config_names()) <= have


@pytest.mark.parametrize("name", shipped_config_names())
def test_headline_and_compact_table(name: str) -> None:
    config = load_config(name, quick=True)
    exp = config.experiment
    rows = _rows(name)
    headline = exp.headline(rows, config.params)
    assert isinstance(headline, str) and headline and "\n" not in headline
    has_paper = bool(exp.paper) and exp.kind == "experiment"
    assert ("; paper: " in headline) == has_paper, headline
    if has_paper:
        assert quick_headline(headline, True).endswith(f"; paper: {QUICK_NOT_COMPARABLE}")
    for quick in (False, True):
        table = compact_table(rows, exp.key_columns, bench=exp.kind == "bench", quick=quick)
        assert max(map(len, table.splitlines())) <= SUMMARY_WIDTH, table
    report = {"experiment": name, "status": "ok", "kind": exp.kind, "quick": True, "rows": rows,
              "headline": quick_headline(headline, True), "key_columns": list(exp.key_columns),
              "paper": list(exp.paper)}
    md = render_markdown(report)
    assert md.index(report["headline"]) < md.index("## Results") < md.index("## All rows")


def test_monotone_in_k_is_judged_only_with_two_k() -> None:
    from hybridqnn.experiments.qubo_head import headline

    sgd = {"method": "sgd", "dataset": "digits", "setting": "full precision", "best_test_accuracy": 0.9}
    k10 = {"method": "qubo-head", "dataset": "digits", "setting": "K=10", "test_accuracy": 0.95}
    k5 = {"method": "qubo-head", "dataset": "digits", "setting": "K=5", "test_accuracy": 0.5}
    assert "monotone" not in headline([sgd, k10])
    assert headline([sgd, k10, k5]).startswith(
        "digits: QUBO head K=5 0.500, K=10 0.950 (monotone in K: yes) vs SGD best 0.900; paper: ")
    assert "monotone in K: no" in headline([sgd, {**k5, "test_accuracy": 0.99}, k10])


def test_qubo_head_headline_of_a_run_stopped_before_its_first_qubo_head() -> None:
    """A run that failed or was interrupted after the SGD head (its partial report) still
    gets a headline that starts with the data set, not an empty "; paper: ..."."""
    from hybridqnn.experiments.qubo_head import headline

    sgd = {"method": "sgd", "dataset": "digits", "setting": "full precision", "best_test_accuracy": 0.9}
    assert headline([sgd]).startswith("digits: no QUBO head row vs SGD best 0.900; paper: ")
    hardware = {"method": "hardware-estimate", "dataset": "digits", "setting": "K=10"}
    assert headline([hardware]).startswith("no QUBO head row; paper: ")


def test_quick_description_states_the_quick_settings() -> None:
    """A quick run's saved description starts with its [quick] settings, so that it never
    claims the full run's (natural-mnist's "100 epochs")."""
    full = load_config("natural-mnist").description
    quick = load_config("natural-mnist", quick=True).description
    assert "100 epochs" in full and not full.startswith("Quick run")
    assert quick.startswith("Quick run: the [quick] settings ") and "epochs=2" in quick
    assert quick.endswith(f"Full run: {full}")
    for name in shipped_config_names():
        assert load_config(name, quick=True).description.startswith("Quick run"), name


def _update(names: list[str]) -> None:
    from hybridqnn import cli

    data = json.loads(ROWS.read_text()) if ROWS.exists() else {}
    for name in names:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / name
            verb = "bench" if name.startswith("bench-") else "run"
            assert cli.main([verb, name, "--quick", "--seed", "0", "--out", str(out), "--no-progress"]) == 0
            data[name] = json.loads((out / "report.json").read_text())["rows"]
        print(f"stored {len(data[name])} rows of {name}")
    ROWS.write_text(json.dumps(dict(sorted(data.items())), indent=1) + "\n")


if __name__ == "__main__":  # pragma: no cover
    if len(sys.argv) < 3 or sys.argv[1] != "--update":
        sys.exit("usage: python tests/experiments/test_exp_headlines.py --update NAME [NAME ...]")
    _update(sys.argv[2:])
