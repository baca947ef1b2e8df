"""Solvers by name: the one place where strings such as ``"sa"`` become ``dimod.Sampler`` objects.

Library code takes sampler *objects*; names are resolved only here, in the config loader and in
the CLI (see DESIGN.md). Each entry names its constructor as ``"module:attribute"``, so this
module imports no sampler: listing and checking names stays cheap. Any ``dimod.Sampler`` a user already has (dwave-samplers, an
``EmbeddingComposite(DWaveSampler())``, a hybrid solver) can be passed wherever a solver is.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from hybridqnn.solvers.keywords import EXACT_MAX_VARIABLES

if TYPE_CHECKING:
    import dimod


@dataclass(frozen=True)
class SolverEntry:
    """A registered solver: its name, where its constructor lives (``"module:attribute"``,
    imported only when the solver is built, so that listing solvers loads no solver module and
    no optional extra) and what it is."""

    name: str
    target: str
    description: str

    def build(self, *args: Any, **params: Any) -> Any:
        """A fresh sampler: the constructor at :attr:`target` called with ``args``, ``params``."""
        module, _, attribute = self.target.partition(":")
        return getattr(importlib.import_module(module), attribute)(*args, **params)


_OCEAN = "hybridqnn.solvers.ocean"

_SOLVERS = MappingProxyType(
    {
        e.name: e
        for e in (
            SolverEntry("sa", _OCEAN + ":SimulatedAnnealingSampler", "simulated annealing (dwave-samplers SimulatedAnnealingSampler)"),
            SolverEntry("tabu", _OCEAN + ":TabuSampler", "tabu search (dwave-samplers TabuSampler)"),
            SolverEntry("steepest", _OCEAN + ":SteepestDescentSolver", "steepest greedy descent (dwave-samplers SteepestDescentSolver)"),
            SolverEntry("dense-sa", "hybridqnn.solvers.annealing:DenseSimulatedAnnealingSampler", "hybridqnn's dense simulated annealing (numba, replicas in parallel, incremental fields); device='cpu'|'cuda' (pip install 'hybridqnn[cuda]'); the default"),
            SolverEntry("exact", _OCEAN + ":ExactSolver", f"brute force (dimod ExactSolver); tiny problems only (<= {EXACT_MAX_VARIABLES} variables)"),
            SolverEntry("milp", "hybridqnn.solvers.milp:MILPSolver", "exact optimum by mixed-integer linear programming (HiGHS via scipy; products linearised exactly); also solves binary CQMs (sample_cqm); small or structured problems"),
            SolverEntry("sb", "hybridqnn.solvers.bifurcation:SimulatedBifurcationSampler", "simulated bifurcation (Goto 2019/2021; ballistic or discrete, heated, early stopping), batched agents in torch; device='cpu'|'cuda'"),
            SolverEntry("cim", "hybridqnn.solvers.cim:CIMSampler", "coherent Ising machine simulation (measurement feedback, chaotic amplitude control); best sample seen; torch, device='cpu'|'cuda'"),
            SolverEntry("qpu", "hybridqnn.solvers.dwave:qpu_sampler", "D-Wave QPU: EmbeddingComposite(DWaveSampler()); needs pip install 'hybridqnn[dwave]' and a Leap token"),
            SolverEntry("hybrid", "hybridqnn.solvers.dwave:hybrid_sampler", "D-Wave Leap hybrid BQM solver (LeapHybridSampler); needs the dwave extra and a token"),
        )
    }
)

DEFAULT_SOLVER = "dense-sa"


def solver_names() -> tuple[str, ...]:
    """Names accepted by :func:`get_sampler`."""
    return tuple(_SOLVERS)


def list_solvers() -> list[tuple[str, str]]:
    """(name, description) for every registered solver."""
    return [(e.name, e.description) for e in _SOLVERS.values()]


def get_sampler(name: str, **params: Any) -> dimod.Sampler:
    """Build the sampler registered as ``name``; ``params`` go to its constructor."""
    if not isinstance(name, str) or name not in _SOLVERS:
        raise ValueError(f"'solver' must be one of {', '.join(_SOLVERS)}; got {name!r}")
    try:
        return _SOLVERS[name].build(**params)
    except TypeError as exc:
        raise TypeError(f"solver {name!r} does not accept these parameters: {exc}") from None


def as_sampler(solver: str | dimod.Sampler | None) -> dimod.Sampler:
    """Resolve ``solver`` (a registry name, a ``dimod.Sampler`` or None for the default)."""
    if solver is None:
        return get_sampler(DEFAULT_SOLVER)
    if isinstance(solver, str):
        return get_sampler(solver)
    import dimod

    if isinstance(solver, dimod.Sampler) or (hasattr(solver, "sample") and hasattr(solver, "parameters")):
        return solver
    raise TypeError(f"'sampler' must be a dimod.Sampler or one of {', '.join(_SOLVERS)}; got {type(solver).__name__}")


# Constrained methods by name: each wraps a BQM sampler (the oracle) into a CQM solver
# (``sample_cqm``, :func:`hybridqnn.solvers.sampling.sample_cqm`). ``"cqm"`` takes the given
# object as the CQM solver itself (MILPSolver, a QCGDSolver, a user's own).
_CQM_METHODS = MappingProxyType(
    {
        e.name: e
        for e in (
            SolverEntry("qcgd", "hybridqnn.solvers.qcgd:QCGDSolver", "QCGD (Li et al. 2025): CGAL-style penalty updates with the sampler as the linear oracle"),
            SolverEntry("penalty", "hybridqnn.solvers.penalty:PenaltyCQMSampler", "fixed penalty BQM with automatic scaling, solved by the sampler"),
            SolverEntry("cqm", "", "the object given is the CQM solver (has sample_cqm), e.g. MILPSolver()"),
        )
    }
)


def cqm_method_names() -> tuple[str, ...]:
    """Names accepted by :func:`get_cqm_solver`."""
    return tuple(_CQM_METHODS)


def get_cqm_solver(method: str, sampler: Any, **params: Any) -> Any:
    """The CQM solver of ``method`` over ``sampler``: ``"qcgd"`` -> ``QCGDSolver(sampler,
    **params)``, ``"penalty"`` -> ``PenaltyCQMSampler(sampler, **params)``, ``"cqm"`` ->
    ``sampler`` itself (it must have ``sample_cqm``; ``params`` must be empty)."""
    if not isinstance(method, str) or method not in _CQM_METHODS:
        raise ValueError(f"'method' must be one of {', '.join(_CQM_METHODS)}; got {method!r}")
    if method == "cqm":
        if not hasattr(sampler, "sample_cqm"):
            raise TypeError(f"'sampler' must have sample_cqm for method='cqm', got {type(sampler).__name__}")
        if params:
            raise ValueError(f"method='cqm' takes no solver parameters, got {', '.join(sorted(params))}")
        return sampler
    if not (hasattr(sampler, "sample") and hasattr(sampler, "parameters")):
        raise TypeError(f"'sampler' must be a dimod.Sampler, got {type(sampler).__name__}")
    return _CQM_METHODS[method].build(sampler, **params)
