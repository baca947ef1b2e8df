"""Hardware estimates for any BQM: logical counts and a real, time-limited minor-embedding.

:func:`logical_counts` needs only dimod. :func:`embedding_estimate` and
:func:`hardware_estimate` need the ``dwave`` extra (``pip install 'hybridqnn[dwave]'``):
minorminer, and the QPU topology generators of dwave-graphs (or the older dwave-networkx).

Target graphs (full fabric, every qubit and coupler present):

- ``"pegasus"``: Pegasus P16, the Advantage QPU, 5,640 qubits and 40,484 couplers
  (``pegasus_graph(16)``). Published working graphs: Advantage_system4.1 5,627 qubits /
  40,279 couplers, Advantage_system6.4 5,612 / 40,088 (D-Wave, "Per-QPU Solver Properties").
- ``"zephyr"``: Zephyr Z(12, 4), the Advantage2 QPU, 4,800 qubits and 45,864 couplers
  (``zephyr_graph(12, 4)``). Published working graph: Advantage2_system1.7, "Graph size Z12",
  4,592 qubits / 41,779 couplers. (Advantage2_system4.1 and the Advantage2 prototypes are the
  smaller Z6: 1,200-1,248 qubits.)

Embedding on the full fabric is slightly optimistic: a real working graph lacks 0.5-5% of
qubits and couplers.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

import dimod
import numpy as np

from hybridqnn._checks import check_choice, check_float, check_int

__all__ = [
    "ADVANTAGE2_LIMITS",
    "ADVANTAGE_LIMITS",
    "COEFFICIENT_RTOL",
    "TOPOLOGIES",
    "embedding_estimate",
    "fits_logically",
    "hardware_estimate",
    "logical_counts",
    "target_graph",
]

logger = logging.getLogger(__name__)

_INSTALL_HINT = "pip install 'hybridqnn[dwave]'"

#: Logical limits of an Advantage QPU (Pegasus P16 fabric), the one set every fit check in
#: hybridqnn uses (:func:`fits_logically`). ``num_qubits``/``num_couplers`` are the full fabric
#: (``pegasus_graph(16)``: 5,640 nodes, 40,484 edges, checked by the tests), an upper bound for
#: every Advantage working graph; the ``published_*`` figures are Advantage_system4.1's working
#: graph (D-Wave, "QPU-Specific Physical Properties: Advantage_system4.1"). D-Wave's product
#: pages say "5,000+ qubits, 35,000+ couplers": lower bounds for marketing, not limits.
ADVANTAGE_LIMITS: Mapping[str, Any] = MappingProxyType(
    {
        "name": "Advantage (Pegasus P16)",
        "topology": "pegasus",
        "num_qubits": 5640,
        "num_couplers": 40484,
        "published_solver": "Advantage_system4.1",
        "published_qubits": 5627,
        "published_couplers": 40279,
    }
)

def fits_logically(num_variables: int, num_couplers: int, limits: Mapping[str, Any] = ADVANTAGE_LIMITS) -> bool:
    """Whether n variables and m couplers fit the logical counts of ``limits``:
    n <= ``limits["num_qubits"]`` and m <= ``limits["num_couplers"]``.

    Necessary, not sufficient, for a minor-embedding (see :func:`embedding_estimate`). Every fit
    check (``check_fits``, the QUBO head's ``fits_advantage``) goes through this function; the
    couplers are the caller's count: :func:`logical_counts`' (Ising J above
    :data:`COEFFICIENT_RTOL` times the largest coefficient) in the hardware estimate, the QUBO
    head's structural count of its bit model's interactions (``num_interactions``, numerical
    zeros included, so an upper bound: it is not converted to Ising form on every fit).
    """
    return int(num_variables) <= int(limits["num_qubits"]) and int(num_couplers) <= int(limits["num_couplers"])


#: Logical limits of an Advantage2 QPU (Zephyr Z(12, 4) fabric); published figures are
#: Advantage2_system1.7's working graph.
ADVANTAGE2_LIMITS: Mapping[str, Any] = MappingProxyType(
    {
        "name": "Advantage2 (Zephyr Z(12,4))",
        "topology": "zephyr",
        "num_qubits": 4800,
        "num_couplers": 45864,
        "published_solver": "Advantage2_system1.7",
        "published_qubits": 4592,
        "published_couplers": 41779,
    }
)

#: Topology name -> (QPU family, graph label).
TOPOLOGIES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {"pegasus": ("Advantage", "P16"), "zephyr": ("Advantage2", "Z(12,4)")}
)

#: Density at or above which ``method="auto"`` takes a clique embedding without trying the
#: heuristic: a clique embedding is then close to the best any embedding of that many
#: variables can do, and the heuristic would spend its whole timeout to match it.
_DENSE = 0.5

#: Seconds allowed, beyond ``timeout``, for the embedding process to start and build the graph.
_START_GRACE_S = 1.0


def _require(module: str) -> Any:
    try:
        return __import__(module, fromlist=["_"])
    except ImportError as exc:
        raise ImportError(
            f"hardware estimates need {module}; install it with {_INSTALL_HINT}"
        ) from exc


def _graphs_module() -> Any:
    try:
        import dwave.graphs as graphs  # dwave-system >= 1.33 ships it; successor of dwave-networkx
    except ImportError:
        graphs = _require("dwave_networkx")
    return graphs


@functools.cache
def _cached_graph(topology: str) -> Any:
    graphs = _graphs_module()
    if topology == "pegasus":
        return graphs.pegasus_graph(16)
    return graphs.zephyr_graph(12, 4)


def target_graph(topology: str) -> Any:
    """A fresh networkx graph of the QPU fabric: ``pegasus_graph(16)`` or ``zephyr_graph(12, 4)``."""
    check_choice("topology", topology, TOPOLOGIES)
    return _cached_graph(topology).copy()


#: Relative tolerance of the hardware estimate: an Ising coefficient h_i or J_ij with
#: |c| <= COEFFICIENT_RTOL * max(|h|, |J|) is a zero (no coupler, not in the dynamic range).
#:
#: Why 1e-6. (1) Rounding noise: a QUBO built from data sums many float64 products, and a
#: coefficient that is zero in exact arithmetic comes out as noise; a fixed-point encoding then
#: multiplies it by its bit weights (up to 2^(2K-2)). The quickstart's head QUBO (K = 10): the
#: bias-weight couplings of standardised features, whose column sums vanish, came out at
#: 7e-16 .. 7.8e-7 of the largest coefficient and were counted as 3,200 couplers, with a dynamic
#: range of 1.4e15 (50 bits). (2) Hardware: an analog QPU sets h and J with errors of about
#: 1e-2 to 1e-3 of the coefficient range (D-Wave's integrated control errors), so a
#: coefficient 1e-6 of the largest is a zero to it, three orders of magnitude below what it
#: resolves; no coefficient a QPU could represent is dropped. ``dropped_coefficients`` in
#: :func:`logical_counts` says how many were.
COEFFICIENT_RTOL = 1e-6


def _ising_terms(bqm: dimod.BinaryQuadraticModel, rtol: float = COEFFICIENT_RTOL) -> dict[str, Any]:
    """The Ising form E(s) = sum_i h_i s_i + sum_{i<j} J_ij s_i s_j of ``bqm`` (a BINARY model
    is converted first) with its coefficients of magnitude <= ``rtol`` times the largest set to
    zero: ``variables``, ``h``, ``row``, ``col`` and ``J`` (the kept interactions) and
    ``dropped`` (how many nonzero coefficients became zeros)."""
    if not isinstance(bqm, dimod.BinaryQuadraticModel):
        raise TypeError(f"'bqm' must be a dimod.BinaryQuadraticModel, got {type(bqm).__name__}")
    rtol = check_float("rtol", rtol, 0.0, 1.0)
    variables = list(bqm.variables)
    ising = bqm if bqm.vartype is dimod.SPIN else bqm.change_vartype(dimod.SPIN, inplace=False)
    h, (row, col, J), _ = ising.to_numpy_vectors(variable_order=variables)
    h, J = np.asarray(h, dtype=np.float64), np.asarray(J, dtype=np.float64)
    largest = max(float(np.abs(h).max(initial=0.0)), float(np.abs(J).max(initial=0.0)))
    tol = rtol * largest
    small_h, small_J = np.abs(h) <= tol, np.abs(J) <= tol
    dropped = int(np.count_nonzero(small_h & (h != 0)) + np.count_nonzero(small_J & (J != 0)))
    keep = ~small_J
    return {
        "variables": variables,
        "h": np.where(small_h, 0.0, h),
        "row": np.asarray(row)[keep],
        "col": np.asarray(col)[keep],
        "J": J[keep],
        "dropped": dropped,
    }


def logical_counts(bqm: dimod.BinaryQuadraticModel, *, rtol: float = COEFFICIENT_RTOL) -> dict[str, Any]:
    """Logical size and coefficient spread of ``bqm``, before any embedding.

    The coefficients are those of the Ising form E(s) = sum_i h_i s_i + sum_{i<j} J_ij s_i s_j
    (what a QPU or CIM is programmed with; a BINARY model is converted first), and those of
    magnitude <= ``rtol`` * max(|h|, |J|) are zeros (:data:`COEFFICIENT_RTOL` says why).
    Couplers are the interactions with a nonzero J (a zero needs no coupler).

    Returns:
        A flat dict:

            - ``num_variables`` n, ``num_couplers`` m;
            - ``density`` = m / (n (n - 1) / 2), 0 for n < 2;
            - ``max_abs_h`` = max |h_i|, ``max_abs_J`` = max |J_ij| (0 when there are none);
            - ``max_abs_coefficient`` and ``min_abs_coefficient`` over the nonzero |h_i| and
              |J_ij| (0 when all are zero);
            - ``dynamic_range`` = max / min of those nonzero magnitudes and
              ``dynamic_range_bits`` = log2(dynamic_range) (1 and 0 when there are none);
            - ``coefficient_rtol`` (``rtol``) and ``dropped_coefficients``, how many nonzero
              coefficients it made zeros.
    """
    t = _ising_terms(bqm, rtol)
    n, m = len(t["variables"]), int(len(t["row"]))
    h, J = np.abs(t["h"]), np.abs(t["J"])
    mags = np.concatenate([h, J])
    mags = mags[mags > 0]
    hi = float(mags.max()) if mags.size else 0.0
    lo = float(mags.min()) if mags.size else 0.0
    dyn = hi / lo if lo > 0 else 1.0
    return {
        "num_variables": n,
        "num_couplers": m,
        "density": (2.0 * m / (n * (n - 1))) if n >= 2 else 0.0,
        "max_abs_h": float(h.max(initial=0.0)),
        "max_abs_J": float(J.max(initial=0.0)),
        "max_abs_coefficient": hi,
        "min_abs_coefficient": lo,
        "dynamic_range": dyn,
        "dynamic_range_bits": math.log2(dyn),
        "coefficient_rtol": rtol,
        "dropped_coefficients": t["dropped"],
    }


# The heuristic runs in a separate Python process: minorminer checks its own timeout (and, with
# interactive=True, Ctrl-C) only between rounds, and a round can take seconds (a sparse
# 200-variable problem on P16: timeout=2.4 returned after 5.8 s, SIGINT was honoured 3.5 s
# late) or tens of seconds (K_300 with timeout=2 ran 45 s). Only a process we can kill keeps
# the limit; minorminer gets half the budget so that it usually returns on its own, with its
# best embedding, before the kill.
_EMBED_SCRIPT = r"""
import json, sys
import minorminer
try:
    import dwave.graphs as graphs
except ImportError:
    import dwave_networkx as graphs
args = json.load(sys.stdin)
target = graphs.pegasus_graph(16) if args["topology"] == "pegasus" else graphs.zephyr_graph(12, 4)
emb = minorminer.find_embedding(
    [tuple(e) for e in args["edges"]], target,
    timeout=args["timeout"], random_seed=args["seed"], tries=args["tries"],
)
json.dump({"chains": {str(k): len(v) for k, v in emb.items()}}, sys.stdout)
"""


def _heuristic_chains(
    edges: list[tuple[int, int]], topology: str, timeout: float, seed: int, tries: int
) -> tuple[list[int] | None, str | None]:
    """Chain lengths of a minorminer.find_embedding run, or (None, why it failed).

    The run is a child process killed at ``timeout`` + 1 s: minorminer checks its own timeout
    (here ``timeout / 2``) only between rounds, which can overrun it by seconds, so the kill is
    what keeps a problem too large to embed from hanging."""
    payload = json.dumps(
        {
            "edges": edges,
            "topology": topology,
            "timeout": 0.5 * timeout,
            "seed": seed,
            "tries": tries,
        }
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", _EMBED_SCRIPT],
            input=payload,
            capture_output=True,
            text=True,
            timeout=timeout + _START_GRACE_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None, f"minorminer found no embedding within the {timeout:g} s timeout"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise RuntimeError(f"the minorminer embedding process failed: {last}")
    chains = json.loads(done.stdout)["chains"]
    if not chains:
        return None, f"minorminer found no embedding within the {timeout:g} s timeout"
    return list(chains.values()), None


@functools.lru_cache(maxsize=8)
def _clique_cache(topology: str, seed: int) -> Any:
    return _require("minorminer.busclique").busgraph_cache(_cached_graph(topology), seed=seed)


def _clique_chains(num: int, topology: str, seed: int) -> list[int] | None:
    """Chain lengths of a clique embedding of K_num (minorminer.busclique), or None.

    Uses ``busgraph_cache``, as ``DWaveCliqueSampler`` does: it computes the clique embeddings
    of every size once per target graph (about 1 s for P16) and keeps them in minorminer's
    data folder (about 200 kB). (``busclique.find_clique_embedding(..., use_cache=False)`` is
    not used: with minorminer 0.2.22 it exhausts memory on Zephyr for K_5 to K_8.)
    """
    if num == 0:
        return []
    try:
        emb = _clique_cache(topology, seed).find_clique_embedding(num)
    except Exception as exc:  # an older minorminer without this topology: the heuristic remains
        logger.debug("clique embedding unavailable on %s: %s", topology, exc)
        return None
    return [len(c) for c in emb.values()] if len(emb) == num else None


def embedding_estimate(
    bqm: dimod.BinaryQuadraticModel,
    topology: str = "pegasus",
    *,
    timeout: float = 10.0,
    seed: int = 0,
    tries: int = 10,
    method: str = "auto",
    rtol: float = COEFFICIENT_RTOL,
) -> dict[str, Any]:
    """Try to minor-embed ``bqm`` into a QPU graph; report the physical cost.

    Source graph: the variables and the couplers of :func:`logical_counts` (the interactions
    whose Ising J is above ``rtol`` times the largest coefficient). Target:
    :func:`target_graph` (Pegasus P16 for Advantage, Zephyr Z(12,4) for Advantage2). A
    variable with no coupler takes one qubit and is not passed to the embedder.

    Methods:

    - ``"heuristic"``: ``minorminer.find_embedding(edges, target, timeout=timeout / 2,
      random_seed=seed, tries=tries)``, what ``EmbeddingComposite`` does (with minorminer's
      other defaults), in a child process killed at ``timeout`` + 1 s (:func:`_heuristic_chains`:
      ``success=False`` on time). The result depends on how far minorminer gets in the time, so it can vary with the
      machine's speed even for a fixed ``seed``.
    - ``"clique"``: a clique embedding of K_k for the k coupled variables from
      ``minorminer.busclique`` (what ``DWaveCliqueSampler`` does): milliseconds once cached,
      deterministic, valid for any problem of that size; P16 holds cliques up to K_180 and
      Z(12,4) up to K_184.
    - ``"auto"`` (default): the clique embedding first; if it exists and the density is at
      least 0.5 it is reported, otherwise the heuristic runs as well and the valid embedding
      with fewer physical qubits is reported.

    A BQM with more variables than the target has qubits, or more couplers than it has
    couplers, fails at once without trying.

    Args:
        bqm: The problem.
        topology: ``"pegasus"`` or ``"zephyr"``.
        timeout: Seconds for the heuristic (> 0).
        seed: Seed for minorminer (>= 0).
        tries: minorminer restarts (>= 1).
        method: ``"auto"``, ``"heuristic"`` or ``"clique"``.
        rtol: Coefficients of magnitude <= ``rtol`` times the largest are zeros
            (:data:`COEFFICIENT_RTOL`).

    Returns:
        A flat dict: ``topology``, ``graph`` ("P16"/"Z(12,4)"), ``target_qubits``,
        ``target_couplers``, ``method`` (the one whose result is reported), ``success``,
        ``physical_qubits`` (total chain length), ``max_chain_length``, ``mean_chain_length``
        (physical qubits / variables), ``time_s``, ``timeout``, ``seed`` and ``reason`` (why
        it failed, else None). The three size figures are None when ``success`` is False.
    """
    timeout, seed, tries = _checked_estimate_arguments(topology, timeout, seed, tries, method)
    terms = _ising_terms(bqm, rtol)
    variables, row, col = terms["variables"], terms["row"], terms["col"]
    _require("minorminer")
    start = time.perf_counter()
    result = _failed_estimate(topology, _cached_graph(topology), method, timeout, seed)
    n, m = len(variables), len(row)
    if n > result["target_qubits"] or m > result["target_couplers"]:
        why = f"{n} variables and {m} couplers exceed the {result['target_qubits']} qubits and {result['target_couplers']} couplers"
        result.update(reason=f"{why} of {result['graph']}", time_s=time.perf_counter() - start)
        return result
    coupled = np.unique(np.concatenate([row, col])) if m else np.zeros(0, dtype=np.int64)
    dense = n >= 2 and 2.0 * m / (n * (n - 1)) >= _DENSE
    candidates, reason = _embedding_candidates(row, col, len(coupled), topology, method, dense, (timeout, seed, tries))
    result["time_s"] = time.perf_counter() - start
    return _report_fewest_qubits(result, candidates, n - len(coupled), n, reason)


def _checked_estimate_arguments(topology: str, timeout: Any, seed: Any, tries: Any, method: Any) -> tuple[float, int, int]:
    """The arguments of :func:`embedding_estimate` checked: (timeout, seed, tries)."""
    check_choice("topology", topology, TOPOLOGIES)
    timeout = check_float("timeout", timeout, 0.0, low_open=True)
    seed = check_int("seed", seed, 0, 2**31 - 1)
    tries = check_int("tries", tries, 1)
    check_choice("method", method, ("auto", "heuristic", "clique"))
    return timeout, seed, tries


def _failed_estimate(topology: str, target: Any, method: str, timeout: float, seed: int) -> dict[str, Any]:
    """The report of :func:`embedding_estimate` before any embedding is found: the target's
    size, ``success`` False and the three size figures None."""
    return {
        "topology": topology,
        "graph": TOPOLOGIES[topology][1],
        "target_qubits": target.number_of_nodes(),
        "target_couplers": target.number_of_edges(),
        "method": method,
        "success": False,
        "physical_qubits": None,
        "max_chain_length": None,
        "mean_chain_length": None,
        "time_s": 0.0,
        "timeout": timeout,
        "seed": seed,
        "reason": None,
    }


def _embedding_candidates(
    row: np.ndarray,
    col: np.ndarray,
    num_coupled: int,
    topology: str,
    method: str,
    dense: bool,
    heuristic: tuple[float, int, int],
) -> tuple[list[tuple[str, list[int]]], str | None]:
    """The embeddings ``method`` asks for, as (method name, chain lengths) of the coupled
    variables, and why the last one tried failed (None if none did): the clique embedding of
    K_num_coupled for "auto" and "clique"; the heuristic for "heuristic", and for "auto" unless
    the clique exists and the problem is ``dense`` (density >= 0.5). ``heuristic`` is minorminer's
    (timeout, seed, tries)."""
    timeout, seed, tries = heuristic
    candidates: list[tuple[str, list[int]]] = []
    reason: str | None = None
    if method in ("auto", "clique"):
        chains = _clique_chains(num_coupled, topology, seed)
        if chains is not None:
            candidates.append(("clique", chains))
        else:
            reason = f"no clique embedding of K_{num_coupled} in {TOPOLOGIES[topology][1]}"
    if method == "heuristic" or (method == "auto" and not (candidates and dense)):
        if len(row):
            edges = [(int(a), int(b)) for a, b in zip(row.tolist(), col.tolist(), strict=True)]
            chains, why = _heuristic_chains(edges, topology, timeout, seed, tries)
        else:
            chains, why = [], None
        if chains is not None:
            candidates.append(("heuristic", chains))
        else:
            reason = why
    return candidates, reason


def _report_fewest_qubits(
    result: dict[str, Any], candidates: list[tuple[str, list[int]]], isolated: int, n: int, reason: str | None
) -> dict[str, Any]:
    """``result`` updated with the candidate that fits the target with the fewest physical
    qubits (sum of chain lengths + one qubit per ``isolated`` variable), or with why none fits."""
    n_target = result["target_qubits"]
    valid = [(name, chains) for name, chains in candidates if sum(chains) + isolated <= n_target]
    if not valid:
        result["reason"] = reason or f"the embedding needs more than the {n_target} qubits of {result['graph']}"
        return result
    name, chains = min(valid, key=lambda item: sum(item[1]))
    physical = sum(chains) + isolated
    result.update(
        method=name,
        success=True,
        physical_qubits=int(physical),
        max_chain_length=int(max(chains, default=1 if n else 0)),
        mean_chain_length=(physical / n) if n else 0.0,
    )
    return result


_REPORTED = (
    "success",
    "physical_qubits",
    "max_chain_length",
    "mean_chain_length",
    "method",
    "time_s",
    "reason",
)


def hardware_estimate(
    bqm: dimod.BinaryQuadraticModel,
    topologies: Iterable[str] = ("pegasus", "zephyr"),
    *,
    timeout: float = 10.0,
    seed: int = 0,
    tries: int = 10,
    method: str = "auto",
    rtol: float = COEFFICIENT_RTOL,
) -> dict[str, Any]:
    """Logical counts plus an embedding estimate per topology, as one flat report row.

    Keys: those of :func:`logical_counts`, then for each topology T the keys
    ``T_success``, ``T_physical_qubits``, ``T_max_chain_length``, ``T_mean_chain_length``,
    ``T_method``, ``T_time_s`` and ``T_reason`` of :func:`embedding_estimate` (e.g.
    ``pegasus_physical_qubits``). Each topology gets its own ``timeout``. Coefficients of
    magnitude <= ``rtol`` times the largest are zeros in both (:data:`COEFFICIENT_RTOL`).

    This one function gives the hardware rows of a run and ``hybridqnn hardware``, so the two
    agree on the same problem.
    """
    topologies = list(topologies)
    for topology in topologies:
        check_choice("topologies", topology, TOPOLOGIES)
    record = logical_counts(bqm, rtol=rtol)
    for topology in topologies:
        estimate = embedding_estimate(
            bqm, topology, timeout=timeout, seed=seed, tries=tries, method=method, rtol=rtol
        )
        for key in _REPORTED:
            record[f"{topology}_{key}"] = estimate[key]
    return record
