"""Quantum-circuit paths (Qiskit, the ``quantum`` extra: ``pip install 'hybridqnn[quantum]'``).

:mod:`hybridqnn.quantum.circuits` builds the circuits of natural quantization (R_Y rotations of
neuron qubits, weak measurements through an ancilla) and runs them on any Qiskit backend, to
verify :mod:`hybridqnn.nn.natural` against a circuit simulator or hardware. Qiskit is imported
lazily, so importing this package never needs it.
"""

from __future__ import annotations

from hybridqnn.quantum.circuits import (
    MAX_CIRCUIT_WIDTH,
    NEURON_BASES,
    READOUTS,
    circuit_hidden_distribution,
    exact_hidden_distribution,
    module_hidden_distribution,
    network_circuit,
    rotation_angle_value,
    run_circuits,
    weak_measurement_circuit,
    zy_coupling,
)

__all__ = [
    "MAX_CIRCUIT_WIDTH",
    "NEURON_BASES",
    "READOUTS",
    "circuit_hidden_distribution",
    "exact_hidden_distribution",
    "module_hidden_distribution",
    "network_circuit",
    "rotation_angle_value",
    "run_circuits",
    "weak_measurement_circuit",
    "zy_coupling",
]
