"""Hardware estimates: logical counts and time-limited minor-embedding onto Pegasus and Zephyr."""

from __future__ import annotations

import math
import time

import dimod
import pytest

pytest.importorskip("minorminer", reason="needs the dwave extra: pip install 'hybridqnn[dwave]'")

from hybridqnn.solvers.hardware import (  # noqa: E402
    ADVANTAGE2_LIMITS,
    ADVANTAGE_LIMITS,
    COEFFICIENT_RTOL,
    embedding_estimate,
    hardware_estimate,
    logical_counts,
    target_graph,
)


def clique(n: int, vartype: str = "SPIN") -> dimod.BinaryQuadraticModel:
    return dimod.BinaryQuadraticModel(
        {i: 0.1 * (i + 1) for i in range(n)},
        {(i, j): 1.0 for i in range(n) for j in range(i)},
        0.0,
        vartype,
    )


def test_logical_counts_by_hand() -> None:
    bqm = dimod.BinaryQuadraticModel(
        {"a": 0.5, "b": 0.0, "c": -4.0}, {("a", "b"): -1.0, ("b", "c"): 0.0}, 3.0, "SPIN"
    )
    counts = logical_counts(bqm)
    assert counts == {
        "num_variables": 3,
        "num_couplers": 1,  # the zero-bias interaction needs no coupler
        "density": pytest.approx(1 / 3),
        "max_abs_h": 4.0,
        "max_abs_J": 1.0,
        "max_abs_coefficient": 4.0,
        "min_abs_coefficient": 0.5,
        "dynamic_range": 8.0,
        "dynamic_range_bits": 3.0,
        "coefficient_rtol": COEFFICIENT_RTOL,
        "dropped_coefficients": 0,
    }


def test_logical_counts_of_binary_model_use_ising_form() -> None:
    # E(x) = 4 x_a x_b with x = (1 + s) / 2: J = 1, h_a = h_b = 1 (offset 1)
    bqm = dimod.BinaryQuadraticModel({"a": 0.0, "b": 0.0}, {("a", "b"): 4.0}, 0.0, "BINARY")
    counts = logical_counts(bqm)
    assert counts["max_abs_J"] == 1.0 and counts["max_abs_h"] == 1.0
    assert counts["dynamic_range"] == 1.0 and counts["dynamic_range_bits"] == 0.0
    assert counts["density"] == 1.0


def test_logical_counts_edge_cases() -> None:
    empty = logical_counts(dimod.BinaryQuadraticModel("SPIN"))
    assert empty["num_variables"] == 0 and empty["density"] == 0.0 and empty["dynamic_range"] == 1.0
    zero = logical_counts(dimod.BinaryQuadraticModel({"a": 0.0}, {}, 1.0, "SPIN"))
    assert zero["max_abs_coefficient"] == 0.0 and zero["dynamic_range_bits"] == 0.0
    assert logical_counts(clique(20))["num_couplers"] == 190
    with pytest.raises(TypeError, match="'bqm'"):
        logical_counts({"a": 1})  # type: ignore[arg-type]


def test_numerical_zeros_are_not_couplers() -> None:
    """Coefficients within COEFFICIENT_RTOL of the largest are zeros: no coupler, not in the
    dynamic range, counted in dropped_coefficients (the quickstart's 7e-16 couplers)."""
    tiny = 0.5 * COEFFICIENT_RTOL
    bqm = dimod.BinaryQuadraticModel(
        {"a": 1.0, "b": 0.5, "c": tiny}, {("a", "b"): -2.0, ("b", "c"): 7e-16, ("a", "c"): tiny}, 0.0, "SPIN"
    )
    counts = logical_counts(bqm)
    assert counts["num_couplers"] == 1 and counts["dropped_coefficients"] == 3
    assert counts["min_abs_coefficient"] == 0.5 and counts["dynamic_range_bits"] == 2.0
    kept = logical_counts(bqm, rtol=0.0)
    assert kept["num_couplers"] == 3 and kept["dropped_coefficients"] == 0
    assert kept["min_abs_coefficient"] == 7e-16
    # the embedding sees the same source graph: one coupler, so no clique needed
    est = embedding_estimate(bqm, "pegasus", method="heuristic", timeout=5.0)
    assert est["success"] and est["physical_qubits"] == 3
    with pytest.raises(ValueError, match="'rtol' must be"):
        logical_counts(bqm, rtol=-1.0)


@pytest.mark.parametrize("seed", range(5))
def test_tolerance_is_relative_to_the_largest(seed: int) -> None:
    """Scaling a problem scales no decision: the same couplers are dropped at any scale."""
    import numpy as np

    rng = np.random.default_rng(seed)
    J = {(i, j): float(rng.choice([1.0, 1e-9, 1e-3])) for i in range(6) for j in range(i)}
    bqm = dimod.BinaryQuadraticModel({i: 1.0 for i in range(6)}, J, 0.0, "SPIN")
    base = logical_counts(bqm)
    for scale in (1e-6, 1e6):
        scaled = logical_counts(dimod.BinaryQuadraticModel(
            {i: scale for i in range(6)}, {k: v * scale for k, v in J.items()}, 0.0, "SPIN"))
        assert scaled["num_couplers"] == base["num_couplers"]
        assert scaled["dynamic_range_bits"] == pytest.approx(base["dynamic_range_bits"])


def test_target_graphs_and_limits() -> None:
    p16, z12 = target_graph("pegasus"), target_graph("zephyr")
    assert (p16.number_of_nodes(), p16.number_of_edges()) == (
        ADVANTAGE_LIMITS["num_qubits"],
        ADVANTAGE_LIMITS["num_couplers"],
    )
    assert (z12.number_of_nodes(), z12.number_of_edges()) == (
        ADVANTAGE2_LIMITS["num_qubits"],
        ADVANTAGE2_LIMITS["num_couplers"],
    )
    assert (
        ADVANTAGE_LIMITS["published_qubits"] > 5000
        and ADVANTAGE_LIMITS["published_couplers"] > 35000
    )
    p16.add_node("mutated")  # a copy: the cached graph is not affected
    assert "mutated" not in target_graph("pegasus")
    with pytest.raises(ValueError, match="'topology' must be one of pegasus, zephyr"):
        target_graph("chimera")


@pytest.mark.parametrize("topology", ["pegasus", "zephyr"])
@pytest.mark.parametrize("n", [8, 20])
def test_small_cliques_embed(topology: str, n: int) -> None:
    result = embedding_estimate(clique(n), topology, timeout=5.0)
    assert result["success"] is True and result["reason"] is None
    assert result["method"] == "clique"  # dense: the clique embedding is taken at once
    assert n < result["physical_qubits"] <= 4 * n  # chains are needed, but short ones
    assert 2 <= result["max_chain_length"] <= 4
    assert result["mean_chain_length"] == pytest.approx(result["physical_qubits"] / n)
    assert result["graph"] == {"pegasus": "P16", "zephyr": "Z(12,4)"}[topology]
    assert result["time_s"] < 5.0


@pytest.mark.parametrize("topology", ["pegasus", "zephyr"])
def test_heuristic_embedding_of_small_clique(topology: str) -> None:
    start = time.perf_counter()
    result = embedding_estimate(clique(8, "BINARY"), topology, timeout=5.0, method="heuristic")
    assert time.perf_counter() - start < 6.5
    assert result["success"] is True and result["method"] == "heuristic"
    assert 8 < result["physical_qubits"] <= 32 and result["max_chain_length"] >= 2


def test_sparse_problem_with_isolated_variables() -> None:
    bqm = dimod.BinaryQuadraticModel(
        {i: 1.0 for i in range(10)}, {(0, 1): 1.0, (1, 2): -1.0, (2, 0): 0.5}, 0, "SPIN"
    )
    result = embedding_estimate(bqm, "pegasus", timeout=4.0)
    assert result["success"] is True
    # a triangle needs at most 4 qubits on Pegasus; the 7 free variables one qubit each
    assert 10 <= result["physical_qubits"] <= 11
    empty = embedding_estimate(dimod.BinaryQuadraticModel("SPIN"), "zephyr")
    assert empty["success"] is True and empty["physical_qubits"] == 0


def test_logically_too_large_fails_at_once() -> None:
    start = time.perf_counter()
    result = embedding_estimate(clique(300), "pegasus", timeout=60.0)
    assert time.perf_counter() - start < 1.0
    assert result["success"] is False and result["physical_qubits"] is None
    assert (
        "300 variables and 44850 couplers" in result["reason"]
        and "40484 couplers" in result["reason"]
    )


def test_dense_problem_too_large_to_embed_fails_within_timeout() -> None:
    """K_250 passes the logical check (31,125 couplers) but P16 holds K_180 at most."""
    start = time.perf_counter()
    result = embedding_estimate(clique(250), "pegasus", timeout=2.0)
    elapsed = time.perf_counter() - start
    assert result["success"] is False and result["physical_qubits"] is None
    assert "timeout" in result["reason"]
    assert elapsed < 2.0 + 2.0  # the timeout plus the process start, not minorminer's overrun


def test_hardware_estimate_flat_record() -> None:
    record = hardware_estimate(clique(20), timeout=5.0)
    assert record["num_variables"] == 20 and record["num_couplers"] == 190
    for topology in ("pegasus", "zephyr"):
        assert record[f"{topology}_success"] is True
        assert record[f"{topology}_physical_qubits"] >= 40
        assert record[f"{topology}_max_chain_length"] >= 2
        assert math.isfinite(record[f"{topology}_mean_chain_length"])
    assert all(isinstance(v, (int, float, str, bool, type(None))) for v in record.values())
    only = hardware_estimate(clique(8), topologies=("zephyr",))
    assert "zephyr_success" in only and "pegasus_success" not in only


def test_argument_validation() -> None:
    bqm = clique(4)
    with pytest.raises(ValueError, match="'timeout'"):
        embedding_estimate(bqm, "pegasus", timeout=0)
    with pytest.raises(ValueError, match="'method' must be one of auto, heuristic, clique"):
        embedding_estimate(bqm, "pegasus", method="exact")
    with pytest.raises(ValueError, match="'seed'"):
        embedding_estimate(bqm, "pegasus", seed=-1)
    with pytest.raises(ValueError, match="'topologies' must be one of"):
        hardware_estimate(bqm, topologies=("pegasus", "chimera"))


def test_report_keeps_the_fitting_candidate_with_fewest_qubits() -> None:
    from hybridqnn.solvers.hardware import _failed_estimate, _report_fewest_qubits

    def fresh() -> dict:
        return _failed_estimate("pegasus", target_graph("pegasus"), "auto", 1.0, 0)

    out = _report_fewest_qubits(fresh(), [("clique", [3, 3, 3]), ("heuristic", [2, 2, 3])], 2, 5, None)
    assert (out["method"], out["success"], out["physical_qubits"], out["max_chain_length"]) == ("heuristic", True, 9, 3)
    assert out["mean_chain_length"] == 9 / 5
    too_big = _report_fewest_qubits(fresh(), [("clique", [6000])], 0, 1, None)
    assert not too_big["success"] and "more than the 5640 qubits of P16" in too_big["reason"]
    assert _report_fewest_qubits(fresh(), [], 0, 1, "why")["reason"] == "why"
