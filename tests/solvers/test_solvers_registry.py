"""The solver registry: names to dimod samplers, and as_sampler."""

from __future__ import annotations

import dimod
import pytest
from dwave.samplers import SimulatedAnnealingSampler, SteepestDescentSolver, TabuSampler

from hybridqnn.solvers import DEFAULT_SOLVER, as_sampler, get_sampler, list_solvers, solver_names
from hybridqnn.solvers.annealing import DenseSimulatedAnnealingSampler
from hybridqnn.solvers.bifurcation import SimulatedBifurcationSampler
from hybridqnn.solvers.cim import CIMSampler
from hybridqnn.solvers.milp import MILPSolver

EXPECTED = {
    "sa": SimulatedAnnealingSampler,
    "tabu": TabuSampler,
    "steepest": SteepestDescentSolver,
    "exact": dimod.ExactSolver,
    "dense-sa": DenseSimulatedAnnealingSampler,
    "sb": SimulatedBifurcationSampler,
    "cim": CIMSampler,
    "milp": MILPSolver,
}


# built only with a D-Wave token (tested offline in test_solvers_dwave.py)
NEED_TOKEN = {"qpu", "hybrid"}


def test_qpu_and_hybrid_without_token_say_how_to_configure(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from hybridqnn.solvers import DWaveConfigError

    monkeypatch.delenv("DWAVE_API_TOKEN", raising=False)
    monkeypatch.delenv("DWAVE_CONFIG_FILE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    for name in sorted(NEED_TOKEN):
        with pytest.raises(DWaveConfigError, match="DWAVE_API_TOKEN"):
            get_sampler(name)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_get_sampler_returns_dimod_sampler(name: str) -> None:
    sampler = get_sampler(name)
    assert isinstance(sampler, dimod.Sampler)
    assert isinstance(sampler, EXPECTED[name])
    # a fresh object each call
    assert get_sampler(name) is not sampler


@pytest.mark.parametrize("bad", ["annealing", "", "SA", None, 3])
def test_unknown_name_lists_valid_names(bad: object) -> None:
    with pytest.raises(ValueError) as info:
        get_sampler(bad)  # type: ignore[arg-type]
    msg = str(info.value)
    assert "'solver' must be one of" in msg
    for name in EXPECTED:
        assert name in msg


def test_constructor_params_are_checked() -> None:
    with pytest.raises(TypeError, match="solver 'exact' does not accept these parameters"):
        get_sampler("exact", bogus=1)


def test_list_solvers_and_names() -> None:
    entries = list_solvers()
    assert [name for name, _ in entries] == list(solver_names())
    assert set(solver_names()) == set(EXPECTED) | NEED_TOKEN
    assert DEFAULT_SOLVER == "dense-sa" and DEFAULT_SOLVER in solver_names()
    for _name, description in entries:
        assert isinstance(description, str) and description


def test_as_sampler_accepts_objects_names_and_none() -> None:
    rs = dimod.RandomSampler()
    assert as_sampler(rs) is rs
    assert isinstance(as_sampler(None), DenseSimulatedAnnealingSampler)
    assert isinstance(as_sampler("tabu"), TabuSampler)

    class DuckSampler:  # not a dimod.Sampler subclass but quacks like one
        parameters: dict = {}

        def sample(self, bqm, **kwargs):  # pragma: no cover - never called
            raise NotImplementedError

    duck = DuckSampler()
    assert as_sampler(duck) is duck  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [3, 1.5, object(), ["sa"]])
def test_as_sampler_rejects_other_types(bad: object) -> None:
    with pytest.raises(TypeError, match="'sampler' must be a dimod.Sampler"):
        as_sampler(bad)  # type: ignore[arg-type]


def test_as_sampler_unknown_name() -> None:
    with pytest.raises(ValueError, match="must be one of"):
        as_sampler("nope")


def test_package_exports_what_a_user_needs_and_no_internals() -> None:
    import hybridqnn.solvers as solvers

    for name in solvers.__all__:
        assert getattr(solvers, name) is not None, name
    for internal in ("polish", "polish_dense", "grid_reference", "box_qp_minimizer", "flip_costs", "beta_range_for", "qcgd_convergence"):
        assert internal not in solvers.__all__ and not hasattr(solvers, internal), internal
    assert {"get_sampler", "solve_dense", "supports_dense", "sample_bqm", "hardware_estimate"} <= set(solvers.__all__)


def test_every_registered_target_names_a_constructor() -> None:
    import importlib

    from hybridqnn.solvers.registry import _SOLVERS

    for entry in _SOLVERS.values():
        module, _, attribute = entry.target.partition(":")
        assert callable(getattr(importlib.import_module(module), attribute)), entry.name


def test_names_and_keywords_load_no_sampler_stack() -> None:
    """``hybridqnn list`` and the config loader use these: no numba, torch, dimod or Ocean."""
    import subprocess
    import sys

    code = (
        "import sys, hybridqnn.solvers as s\n"
        "from hybridqnn.solvers.keywords import SOLVER_KEYWORDS, EXACT_MAX_VARIABLES\n"
        "assert s.solver_names() == tuple(SOLVER_KEYWORDS) and s.list_solvers() and s.DEFAULT_SOLVER\n"
        "print(sorted(n for n in ('numba', 'torch', 'dwave.samplers', 'scipy', 'dimod') if n in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
