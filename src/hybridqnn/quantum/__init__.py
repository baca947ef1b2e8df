"""Quantum-circuit paths (Qiskit, the ``quantum`` extra: ``pip install 'hybridqnn[quantum]'``).

:mod:`hybridqnn.quantum.circuits` builds the circuits of natural quantization (R_Y rotations of
neuron qubits, weak measurements through an ancilla) and runs them on any Qiskit backend, to
verify :mod:`hybridqnn.nn.natural` against a circuit simulator or hardware. Qiskit is imported
lazily, so importing this package never needs it.
"""

from __future__ import annotations

# The package re-exports the circuits module whole: its ``__all__`` is the one list of names.
from hybridqnn.quantum.circuits import *  # noqa: F403
from hybridqnn.quantum.circuits import __all__ as __all__
