"""The experiments toolkit: keyed seeds, timing, aggregation, paper columns."""

from __future__ import annotations

import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hybridqnn.experiments.toolkit import (
    QUICK_RATIOS_NOTE,
    Timer,
    aggregate,
    child_seed,
    median_seconds,
    note_baseline,
    paper_columns,
    seed_summary,
)

keys = st.lists(st.one_of(st.text(max_size=8), st.integers(0, 2**40)), max_size=4)


@given(st.integers(0, 2**63), keys)
def test_child_seed_is_a_function_of_master_and_key(master: int, key: list) -> None:
    seed = child_seed(master, *key)
    assert 0 <= seed < 2**32
    assert child_seed(master, *key) == seed


def test_child_seeds_depend_on_names_not_positions() -> None:
    rows = [("sgd", "mnist", "K=5"), ("qubo-head", "mnist", "K=5"), ("qubo-head", "fmnist", "K=5")]
    before = {r: child_seed(7, *r) for r in rows}
    # adding a data set in front of the others changes none of their seeds
    after = {r: child_seed(7, *r) for r in [("qubo-head", "digits", "K=5"), *rows]}
    assert all(after[r] == before[r] for r in rows)
    assert len(set(after.values())) == len(after)
    assert child_seed(7, "a", 1) != child_seed(7, "a", "1") != child_seed(8, "a", 1)


def test_child_seed_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="'master' must be an integer >= 0, got -1"):
        child_seed(-1, "a")
    with pytest.raises(TypeError, match="seed key parts must be str or int"):
        child_seed(0, 1.5)


def test_timer_and_median_seconds() -> None:
    with Timer() as t:
        sum(range(1000))
    assert t.seconds > 0 and t.seconds == t.seconds
    calls = []
    seconds, result = median_seconds(lambda: calls.append(1) or len(calls), 3)
    assert result == 3 and seconds >= 0
    with pytest.raises(ValueError, match="'repeats' must be an integer >= 1, got 0"):
        median_seconds(lambda: None, 0)


@given(st.lists(st.one_of(st.none(), st.floats(-1e6, 1e6)), max_size=8))
def test_aggregate_skips_none(values: list) -> None:
    a = aggregate(values)
    vals = [v for v in values if v is not None]
    assert a["n"] == len(vals)
    if vals:
        assert a["mean"] == pytest.approx(statistics.fmean(vals))
        assert a["min"] == min(vals) and a["max"] == max(vals)
    else:
        assert a["mean"] is None and a["std"] is None


def test_seed_summary_and_paper_columns() -> None:
    row = seed_summary([{"acc": 0.5}, {"acc": 0.7}, {"acc": None}], ["acc", "loss"],
                       method="m", dataset="d", setting="s")
    assert row["method"] == "m" and row["seeds"] == 3
    assert row["acc"] == pytest.approx(0.6) and row["acc_std"] == pytest.approx(0.1)
    assert row["acc_min"] == 0.5 and row["acc_max"] == 0.7 and row["loss"] is None
    assert paper_columns("test_accuracy", 0.9, 0.95) == pytest.approx(
        {"paper_test_accuracy": 0.95, "test_accuracy_vs_paper": -0.05})
    assert paper_columns("test_accuracy", 0.9, None)["test_accuracy_vs_paper"] is None


@pytest.mark.parametrize("quick", [False, True])
def test_note_baseline_names_the_baseline_and_flags_quick_ratios(quick: bool) -> None:
    class Ctx:
        def __init__(self) -> None:
            self.quick, self.notes = quick, []

        def note(self, text: str) -> None:
            self.notes.append(text)

    ctx = Ctx()
    note_baseline(ctx, "sa", "the same problems.")
    assert ctx.notes[0] == "Baseline: sa. Why it is the fair one: the same problems."
    assert ctx.notes[1:] == ([QUICK_RATIOS_NOTE] if quick else [])
