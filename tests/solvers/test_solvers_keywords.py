"""The declared sample() keywords of every registered solver (hybridqnn.solvers.keywords)."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from hybridqnn.solvers import get_sampler, solver_names
from hybridqnn.solvers.keywords import (
    OPEN_SOLVERS,
    SOLVER_KEYWORDS,
    check_sample_kwargs,
    solver_keywords,
)


def test_every_registered_solver_is_declared() -> None:
    assert set(SOLVER_KEYWORDS) == set(solver_names())


@pytest.mark.parametrize("name", [n for n in solver_names() if n not in OPEN_SOLVERS])
def test_declared_keywords_equal_the_samplers_parameters(name: str) -> None:
    """The table cannot drift from the samplers (qpu and hybrid need a token to list theirs)."""
    assert set(solver_keywords(name)) == set(get_sampler(name).parameters)


@pytest.mark.parametrize(
    ("solver", "kwargs", "error", "message"),
    [
        ("sa", {"num_reads": -5}, ValueError, "'sample_kwargs' num_reads must be an integer in [1, 2^16] for solver 'sa', got -5"),
        ("dense-sa", {"num_sweeps": 0}, ValueError, "'sample_kwargs' num_sweeps must be an integer in [1, 10^7] for solver 'dense-sa', got 0"),
        ("sb", {"dt": math.nan}, ValueError, "'sample_kwargs' dt must be a finite float > 0 for solver 'sb', got nan"),
        ("steepest", {"seed": 2**32}, ValueError, "'sample_kwargs' seed must be an integer in [0, 2^32 - 1] for solver 'steepest', got 4294967296"),
        ("sa", {"seed": 2**31}, ValueError, "'sample_kwargs' seed must be an integer in [0, 2^31 - 1] for solver 'sa', got 2147483648"),
        ("tabu", {"num_restarts": 2**31}, ValueError, "'sample_kwargs' num_restarts must be an integer in [0, 2^31 - 1] for solver 'tabu', got 2147483648"),
        ("sa", {"num_reads": "3"}, TypeError, "'sample_kwargs' num_reads must be an integer in [1, 2^16] for solver 'sa', got '3'"),
        ("sb", {"heated": 1}, TypeError, "'sample_kwargs' heated must be a bool for solver 'sb', got 1"),
        ("sb", {"mode": "fast"}, ValueError, "'sample_kwargs' mode must be one of ballistic, discrete for solver 'sb', got 'fast'"),
        ("dense-sa", {"beta_range": [0.1]}, TypeError, "'sample_kwargs' beta_range must be a pair of which each is a float > 0 for solver 'dense-sa', got [0.1]"),
        ("dense-sa", {"beta_range": [0.0, 1.0]}, ValueError, "'sample_kwargs' beta_range must be a pair of which each is a float > 0 for solver 'dense-sa', got [0.0, 1.0]"),
        ("exact", {"num_reads": 1}, ValueError, "'sample_kwargs' has unknown keyword 'num_reads' for solver 'exact'; valid: (none: it takes no keyword arguments)"),
    ],
)
def test_one_line_errors(solver: str, kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error) as info:
        check_sample_kwargs(solver, kwargs)
    assert str(info.value) == message


@pytest.mark.parametrize(
    "name", [n for n in solver_names() if n not in OPEN_SOLVERS and "seed" in SOLVER_KEYWORDS[n]]
)
def test_the_largest_declared_seed_is_one_the_sampler_takes(name: str) -> None:
    """The rule may not accept what the sampler rejects (dwave-samplers' SA takes seeds below
    2^31, though its message says 2^32 - 1)."""
    import dimod

    rule = SOLVER_KEYWORDS[name]["seed"]
    bqm = dimod.BinaryQuadraticModel({0: 0.5, 1: -0.5}, {(0, 1): 1.0}, 0.0, "SPIN")
    kwargs = {"seed": int(rule.high)}
    if name == "tabu":
        kwargs.update(timeout=1, num_restarts=int(SOLVER_KEYWORDS["tabu"]["num_restarts"].high))
    check_sample_kwargs(name, kwargs)
    assert len(get_sampler(name).sample(bqm, **kwargs)) >= 1


def test_unknown_keyword_suggests_and_lists() -> None:
    with pytest.raises(ValueError) as info:
        check_sample_kwargs("sa", {"num_sweep": 5}, key="generic_sample_kwargs")
    msg = str(info.value)
    assert msg.startswith("'generic_sample_kwargs' has unknown keyword 'num_sweep' for solver 'sa' (did you mean 'num_sweeps'?); valid: ")
    assert "beta_range" in msg and "\n" not in msg


def test_valid_kwargs_and_none_pass() -> None:
    kwargs = {"num_reads": 2, "num_sweeps": 100, "beta_range": [0.1, 4.0], "seed": None}
    assert check_sample_kwargs("dense-sa", kwargs) == kwargs
    assert check_sample_kwargs("milp", {"time_limit": 2.5}) == {"time_limit": 2.5}
    assert check_sample_kwargs("sa", {"num_sweeps": 0}) == {"num_sweeps": 0}  # dwave-samplers allows it


def test_open_solvers_check_declared_names_and_pass_the_rest() -> None:
    assert check_sample_kwargs("qpu", {"num_reads": 10, "programming_thermalization": 5})["num_reads"] == 10
    with pytest.raises(ValueError, match="annealing_time must be a float > 0 for solver 'qpu'"):
        check_sample_kwargs("qpu", {"annealing_time": -1.0})


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="'solver' must be one of sa, "):
        check_sample_kwargs("nope", {})
    with pytest.raises(TypeError, match="'sample_kwargs' must be a table of keyword arguments, got list"):
        check_sample_kwargs("sa", [])


def test_module_imports_nothing_heavy() -> None:
    """Loaded on its own (not through the solvers package), the module pulls in no sampler stack."""
    import hybridqnn.solvers.keywords as mod

    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('kw', {mod.__file__!r})\n"
        "m = importlib.util.module_from_spec(spec); sys.modules['kw'] = m; spec.loader.exec_module(m)\n"
        "print(sorted(n for n in ('numba', 'torch', 'dwave.samplers', 'scipy', 'dimod') if n in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("solver", "kwargs"),
    [
        ("dense-sa", {"num_sweeps": 2**31}),  # asked for a 16 GB schedule before the cap
        ("sa", {"num_sweeps": 10**7 + 1}),
        ("sb", {"num_steps": 10**8}),
        ("cim", {"num_steps": 10**8}),
        ("dense-sa", {"num_reads": 2**31}),  # a 128 GiB allocation
        ("qpu", {"num_reads": 2**17}),
    ],
)
def test_sizes_that_would_allocate_gigabytes_are_refused(solver: str, kwargs: dict) -> None:
    from hybridqnn.solvers.keywords import MAX_READS, MAX_SWEEPS

    key = next(iter(kwargs))
    with pytest.raises(ValueError, match=rf"^'sample_kwargs' {key} must be an integer in \[[01], "):
        check_sample_kwargs(solver, kwargs)
    assert check_sample_kwargs(solver, {key: MAX_READS if key == "num_reads" else MAX_SWEEPS})


@pytest.mark.parametrize(
    ("solver", "kwargs"),
    [("dense-sa", {"num_reads": 2**31}), ("dense-sa", {"num_sweeps": 2**31}), ("sb", {"num_steps": 10**9}), ("cim", {"num_steps": 10**9})],
)
def test_samplers_called_from_python_apply_the_same_caps(solver: str, kwargs: dict) -> None:
    """The caps hold in the samplers themselves, not only when a config loads."""
    import dimod

    bqm = dimod.BinaryQuadraticModel({0: 1.0, 1: -1.0}, {(0, 1): 0.5}, 0.0, "SPIN")
    key = next(iter(kwargs))
    with pytest.raises(ValueError, match=rf"^'{key}' must be an integer in \[1, "):
        get_sampler(solver).sample(bqm, **kwargs)
