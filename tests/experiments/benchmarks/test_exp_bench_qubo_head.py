"""bench-qubo-head: what it checks before it times anything."""

from __future__ import annotations

import json

from hybridqnn import cli


def test_the_exact_solver_on_a_head_too_large_for_it_stops_before_the_sgd_baseline(tmp_path, capsys) -> None:
    """The quick bench's digits head at K=10 has 330 variables, too many for 'exact' (at most
    24): the bench stops on one line naming 'solvers' before it times the SGD baseline."""
    out = tmp_path / "bench"
    argv = ["bench", "qubo-head", "--quick", "--set", 'solvers=["exact"]', "--set", "sample_kwargs={}",
            "--out", str(out), "--no-progress"]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'solvers' 'exact' takes at most 24 variables" in err and "330" in err, err
    assert json.loads((out / "report.json").read_text())["rows"] == []
