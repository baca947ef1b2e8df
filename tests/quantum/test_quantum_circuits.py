"""Circuits of natural quantization against the closed forms of hybridqnn.nn.natural.

Every statistical test uses fixed seeds (simulator and transpiler), so it is deterministic, and a
Bonferroni-corrected family-wise level ALPHA; each one is paired with a check that the same data
reject a wrong model (Z-basis readout, the paper's update beyond pi), so the tests have power.
"""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
import torch
from scipy import stats

pytest.importorskip("qiskit")
pytest.importorskip("qiskit_aer")

from qiskit import QuantumCircuit  # noqa: E402
from qiskit.providers.fake_provider import GenericBackendV2  # noqa: E402
from qiskit.quantum_info import Operator  # noqa: E402
from qiskit_aer import AerSimulator  # noqa: E402
from scipy.linalg import expm  # noqa: E402

from hybridqnn.nn.natural.models import NaturalQuantizedMLP  # noqa: E402
from hybridqnn.nn.natural.physics import (  # noqa: E402
    measurement_probability,
    post_measurement_angle,
)
from hybridqnn.quantum import circuits as qc_mod  # noqa: E402
from hybridqnn.quantum.circuits import (  # noqa: E402
    circuit_hidden_distribution,
    exact_hidden_distribution,
    module_hidden_distribution,
    network_circuit,
    rotation_angle_value,
    run_circuits,
    weak_measurement_circuit,
    zy_coupling,
)

ALPHA = 1e-4
SHOTS = 3000

# GenericBackendV2 without noise_info has no qubit properties; Aer says so on every run
pytestmark = pytest.mark.filterwarnings("ignore:Qiskit backend .* has no QubitProperties")


def _grid() -> list[tuple[float, float, float, int, float]]:
    """(phi_prev, a, z, d_prev, g) points; several give phi = phi_prev + theta beyond pi."""
    return [
        (phi0, a, z, d, g)
        for phi0 in (0.0, 2.5)
        for a in (0.0, 0.316)
        for z in (-0.8, 0.3)
        for d in (1, -1)
        for g in (math.pi / 10, 5 * math.pi / 19, math.pi / 2)
    ]


@pytest.fixture(scope="module")
def grid_runs() -> list[dict]:
    circuits, meta = [], []
    for phi0, a, z, d, g in _grid():
        theta = rotation_angle_value(z, d, a)
        for basis in ("z", "x"):
            circuits.append(weak_measurement_circuit(phi0, g, theta=theta, neuron_basis=basis))
            meta.append({"phi": phi0 + theta, "g": g, "basis": basis})
    results = run_circuits(circuits, AerSimulator(), shots=SHOTS, seed=11)
    for m, r in zip(meta, results, strict=True):
        m["m_minus"] = r["m"][:, 0]  # bit 1: m = -1
        m["q_one"] = r["q"][:, 0]
    return meta


def _joint_expected(phi: float, g: float, basis: str, update: str) -> np.ndarray:
    """P(m = +1, bit 0), P(+1, 1), P(-1, 0), P(-1, 1) from the closed forms."""
    t = torch.tensor(phi, dtype=torch.float64)
    p_plus = float(measurement_probability(t, g))
    out = []
    for m, pm in ((1.0, p_plus), (-1.0, 1.0 - p_plus)):
        new = float(post_measurement_angle(t, torch.tensor(m, dtype=torch.float64), g, update))
        p0 = math.cos(new / 2) ** 2 if basis == "z" else (1 + math.sin(new)) / 2
        out += [pm * p0, pm * (1 - p0)]
    return np.asarray(out)


def _joint_pvalue(run: dict, expected: np.ndarray) -> float:
    m, q = run["m_minus"], run["q_one"]
    observed = np.array([np.sum(~m & ~q), np.sum(~m & q), np.sum(m & ~q), np.sum(m & q)])
    zero = expected * SHOTS < 1e-9
    if observed[zero].any():
        return 0.0
    return (
        float(
            stats.chisquare(observed[~zero], expected[~zero] * SHOTS / expected[~zero].sum()).pvalue
        )
        if (~zero).sum() > 1
        else 1.0
    )


def test_zy_gate_is_the_exponential() -> None:
    for g in (0.0, 0.4, 5 * math.pi / 19, math.pi / 2):
        circuit = zy_coupling(QuantumCircuit(2), 0, 1, g)
        z, y = np.diag([1.0, -1.0]), np.array([[0, -1j], [1j, 0]])
        # Qiskit orders qubits little-endian: the ancilla (qubit 1) is the left factor
        np.testing.assert_allclose(
            Operator(circuit).data, expm(-0.5j * g * np.kron(y, z)), atol=1e-12
        )


def test_outcome_frequencies_match_the_closed_form(grid_runs: list[dict]) -> None:
    # m marginal over both circuits of a point: exact binomial tests
    pvals = []
    for i in range(0, len(grid_runs), 2):
        run = grid_runs[i]
        minus = int(grid_runs[i]["m_minus"].sum() + grid_runs[i + 1]["m_minus"].sum())
        p_minus = 1.0 - float(
            measurement_probability(torch.tensor(run["phi"], dtype=torch.float64), run["g"])
        )
        pvals.append(stats.binomtest(minus, 2 * SHOTS, min(max(p_minus, 0.0), 1.0)).pvalue)
    assert min(pvals) > ALPHA / len(pvals)


def test_post_measurement_states_match_the_exact_update(grid_runs: list[dict]) -> None:
    pvals = [
        _joint_pvalue(r, _joint_expected(r["phi"], r["g"], r["basis"], "exact")) for r in grid_runs
    ]
    assert min(pvals) > ALPHA / len(pvals)
    # inside |phi| <= pi the published formula is the same state
    inside = [r for r in grid_runs if math.cos(r["phi"] / 2) >= 0]
    pvals = [
        _joint_pvalue(r, _joint_expected(r["phi"], r["g"], r["basis"], "paper")) for r in inside
    ]
    assert min(pvals) > ALPHA / len(pvals)


def test_paper_update_beyond_pi_is_rejected_by_the_circuit(grid_runs: list[dict]) -> None:
    beyond = [
        r for r in grid_runs if math.cos(r["phi"] / 2) < -0.2 and r["basis"] == "x" and r["g"] < 1.5
    ]
    assert beyond, "the grid must reach phi beyond pi"
    pvals = [
        _joint_pvalue(r, _joint_expected(r["phi"], r["g"], r["basis"], "paper")) for r in beyond
    ]
    assert min(pvals) < ALPHA


def test_z_readout_carries_no_information_and_is_rejected() -> None:
    points = [(phi, g) for phi in (0.0, 1.0, 2.0, 3.0, 4.5) for g in (0.5, 1.2, math.pi / 2)]
    circuits = [weak_measurement_circuit(phi, g, readout="z") for phi, g in points]
    results = run_circuits(circuits, shots=SHOTS, seed=3)
    ok, rejected, tested = [], 0, 0
    for (phi, g), res in zip(points, results, strict=True):
        ones = int(res["m"].sum())
        # what Z readout really gives: sin^2(g/2), whatever phi is
        ok.append(stats.binomtest(ones, SHOTS, math.sin(g / 2) ** 2).pvalue)
        p_minus = 0.5 * (1 - math.sin(g) * math.cos(phi))
        if abs(p_minus - math.sin(g / 2) ** 2) > 0.05:
            tested += 1
            rejected += stats.binomtest(ones, SHOTS, p_minus).pvalue < ALPHA
    assert min(ok) > ALPHA / len(ok)
    assert tested >= 8 and rejected == tested


def test_runs_on_a_hardware_like_backend() -> None:
    """A generic IBM-style backend: cx/rz/sx/x basis, a coupling map, transpiled by Qiskit."""
    backend = GenericBackendV2(num_qubits=5, noise_info=False, seed=0)
    phi, g = 2.0, 5 * math.pi / 19
    res = run_circuits(
        weak_measurement_circuit(phi, g, neuron_basis="z"), backend, shots=SHOTS, seed=5
    )[0]
    p_minus = 1 - float(measurement_probability(torch.tensor(phi, dtype=torch.float64), g))
    assert stats.binomtest(int(res["m"].sum()), SHOTS, p_minus).pvalue > ALPHA
    assert (
        _joint_pvalue(
            {"m_minus": res["m"][:, 0], "q_one": res["q"][:, 0]},
            _joint_expected(phi, g, "z", "exact"),
        )
        > ALPHA
    )


def test_network_forward_as_circuits_matches_the_module(chi2_pvalue) -> None:
    model = NaturalQuantizedMLP(6, 4, 2, 3, a=0.4, g=0.7, update="exact", seed=3)
    x = torch.rand(6, generator=torch.Generator().manual_seed(0))
    exact = exact_hidden_distribution(model, x)
    assert math.isclose(sum(exact.values()), 1.0, abs_tol=1e-12)
    n = 4000
    circuit_counts = circuit_hidden_distribution(model, x, shots=n, seed=2)
    module_counts = module_hidden_distribution(
        model, x, shots=n, generator=torch.Generator().manual_seed(1)
    )
    assert chi2_pvalue(circuit_counts, exact, n) > ALPHA
    assert chi2_pvalue(module_counts, exact, n) > ALPHA
    # the two samples against each other (homogeneity), on cells with enough counts
    keys = [k for k in exact if exact[k] * n >= 5]
    table = np.array(
        [[circuit_counts.get(k, 0) for k in keys], [module_counts.get(k, 0) for k in keys]]
    )
    assert stats.chi2_contingency(table).pvalue > ALPHA
    # power: a network with another g is rejected by the circuit's counts
    other = NaturalQuantizedMLP(6, 4, 2, 3, a=0.4, g=0.35, update="exact", seed=3)
    assert chi2_pvalue(circuit_counts, exact_hidden_distribution(other, x), n) < ALPHA


def test_network_circuit_on_a_dynamic_circuit_backend(chi2_pvalue) -> None:
    model = NaturalQuantizedMLP(5, 3, 2, 2, a=0.5, g=1.0, update="exact", seed=4)
    x = torch.rand(5, generator=torch.Generator().manual_seed(1))
    backend = GenericBackendV2(num_qubits=6, noise_info=False, control_flow=True, seed=0)
    counts = circuit_hidden_distribution(model, x, backend, shots=SHOTS, seed=3)
    assert chi2_pvalue(counts, exact_hidden_distribution(model, x), SHOTS) > ALPHA


def test_network_circuit_structure() -> None:
    model = NaturalQuantizedMLP(5, 3, 3, 2, a=0.0, g=0.9, seed=0)
    circuit = network_circuit(model, torch.rand(5))
    assert [c.name for c in circuit.cregs] == ["m0", "m1", "m2"]
    assert circuit.num_qubits == 6
    ops = circuit.count_ops()
    assert ops["if_else"] == 2 * 2**3 and ops["measure"] == 3 * 3 and ops["rzx"] == 3 * 3


def test_bad_input() -> None:
    with pytest.raises(ValueError, match=r"'model.width' must be <= 8 .* got 9"):
        network_circuit(NaturalQuantizedMLP(4, 9, 1, 2), torch.rand(4))
    with pytest.raises(ValueError, match="'x' must be one sample with 4 features, got 5 values"):
        network_circuit(NaturalQuantizedMLP(4, 2, 1, 2), torch.rand(5))
    with pytest.raises(TypeError, match="'model' must be a NaturalQuantizedMLP"):
        network_circuit(torch.nn.Linear(2, 2), torch.rand(2))
    with pytest.raises(ValueError, match=r"'g' must be a finite number in \[0.0, 1.57"):
        weak_measurement_circuit(0.3, 2.0)
    with pytest.raises(ValueError, match="'readout' must be one of x, z"):
        weak_measurement_circuit(0.3, 1.0, readout="y")
    with pytest.raises(ValueError, match="'shots' must be an integer >= 1, got 0"):
        run_circuits(weak_measurement_circuit(0.3, 1.0), shots=0)
    with pytest.raises(ValueError, match="'d_prev' must be -1 or \\+1"):
        rotation_angle_value(0.1, 0, 0.3)


def test_missing_qiskit_gives_the_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "qiskit", None)
    with pytest.raises(ImportError, match=r"pip install 'hybridqnn\[quantum\]'"):
        qc_mod.weak_measurement_circuit(0.1, 0.5)
