"""Circuits of natural quantization (arXiv 2503.15482), runnable on any Qiskit backend.

Neuron qubit ``n`` holds ``|psi> = cos(phi/2)|0> + sin(phi/2)|1>`` (prepared with
``R_Y(phi)|0>``). A layer applies

1. the rotation ``R_Y(theta)``, ``theta = (pi/2)(d_prev - tanh(z/a))`` (``sign z`` at ``a = 0``);
2. the weak measurement: ancilla ``q`` in ``|0>``, the coupling ``U = exp(-i (g/2) Z_n Y_q)``,
   then the ancilla read out **in the X basis** (``H``, measure): outcome bit 0 is ``m = +1``.

Why X: ``U`` rotates the ancilla by ``R_Y(+g)`` when the neuron is ``|0>`` and by ``R_Y(-g)``
when it is ``|1>``, so ``<X_q> = +/- sin g`` and ``P(m = +/-1) = (1 +/- sin g cos phi)/2``, with
Kraus operators ``M_+/- = diag(sqrt((1 +/- s)/2), sqrt((1 -/+ s)/2))`` on the neuron (``s = sin
g``; both non-negative for ``g`` in ``[0, pi/2]``). Read out in Z instead, the ancilla gives
``P(1) = sin^2(g/2)`` whatever ``phi`` is: no information about the neuron (``readout="z"``
exists to demonstrate exactly that). ``U`` is built from standard gates as
``S_q RZX(g)_{n,q} S_q^dagger`` (``Y = S X S^dagger``), which every backend can transpile.

Running circuits (:func:`run_circuits`). Circuits are transpiled with
``transpile(circuits, backend)`` and executed with a **SamplerV2** primitive:

- by default ``qiskit.primitives.BackendSamplerV2(backend=backend)``, which works with any
  ``BackendV2`` that implements ``run`` (``qiskit_aer.AerSimulator``, fake backends, most
  providers);
- for IBM Quantum backends (``qiskit_ibm_runtime``, which no longer implement ``backend.run``)
  ``qiskit_ibm_runtime.SamplerV2(mode=backend)`` is used automatically;
- or pass any SamplerV2 as ``sampler`` (e.g. one bound to a Session).

The default backend is ``qiskit_aer.AerSimulator()``. A network's forward pass
(:func:`network_circuit`) needs mid-circuit measurements, resets and classical feed-forward
(``if_test`` on the previous layer's outcome register, one branch per outcome vector), i.e.
dynamic circuits; simulators and IBM's dynamic-circuit backends run them.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from hybridqnn._checks import check_choice, check_float, check_int

if TYPE_CHECKING:
    from hybridqnn.nn.natural.models import NaturalQuantizedMLP

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

#: Ancilla readout bases: ``"x"`` (correct) and ``"z"`` (carries no information; for tests).
READOUTS: tuple[str, ...] = ("x", "z")
#: Neuron readout bases for post-measurement tomography.
NEURON_BASES: tuple[str, ...] = ("z", "x")
#: Largest network width :func:`network_circuit` accepts (2**width branches per layer).
MAX_CIRCUIT_WIDTH = 8

_HINT = "pip install 'hybridqnn[quantum]'"


def _qiskit() -> Any:
    try:
        import qiskit
    except ImportError:
        raise ImportError(f"the circuit path needs Qiskit and qiskit-aer: {_HINT}") from None
    return qiskit


def _default_backend() -> Any:
    try:
        from qiskit_aer import AerSimulator
    except ImportError:
        raise ImportError(f"the default backend needs qiskit-aer: {_HINT}") from None
    return AerSimulator()


def _check_g(g: float) -> float:
    return check_float("g", g, 0.0, math.pi / 2)


def rotation_angle_value(z: float, d_prev: int, a: float) -> float:
    """``theta = (pi/2)(d_prev - tanh(z/a))`` (``sign z`` for ``a = 0``) as a Python float."""
    a = check_float("a", a, 0.0)
    if d_prev not in (-1, 1):
        raise ValueError(f"'d_prev' must be -1 or +1, got {d_prev!r}")
    t = float(np.sign(z)) if a == 0.0 else math.tanh(z / a)
    return (math.pi / 2) * (d_prev - t)


def zy_coupling(circuit: Any, neuron: Any, ancilla: Any, g: float) -> Any:
    """Append ``exp(-i (g/2) Z_neuron Y_ancilla)`` to ``circuit`` as ``S RZX(g) S^dagger`` and
    return the circuit."""
    g = _check_g(g)
    circuit.sdg(ancilla)
    circuit.rzx(g, neuron, ancilla)
    circuit.s(ancilla)
    return circuit


def weak_measurement_circuit(
    phi: float,
    g: float,
    *,
    theta: float = 0.0,
    readout: str = "x",
    neuron_basis: str | None = None,
) -> Any:
    """One neuron at angle ``phi``, rotated by ``theta``, weakly measured through an ancilla.

    Qubit 0 is the neuron, qubit 1 the ancilla. The ancilla's outcome goes to the 1-bit register
    ``"m"`` (bit 0 means ``m = +1``). With ``neuron_basis`` the neuron is measured afterwards
    into register ``"q"`` in that basis (``"z"``: bit 0 with probability ``cos^2(phi'/2)``;
    ``"x"``: bit 0 with probability ``(1 + sin phi')/2``), which tomographs the real
    post-measurement state ``phi'``.

    Args:
        phi: The neuron's angle before the rotation.
        g: Entangling angle in ``[0, pi/2]``.
        theta: R_Y rotation applied before the measurement (use :func:`rotation_angle_value`).
        readout: Ancilla readout basis, ``"x"`` (correct) or ``"z"``.
        neuron_basis: None, ``"z"`` or ``"x"``.

    Returns:
        A ``qiskit.QuantumCircuit``.
    """
    qiskit = _qiskit()
    phi = check_float("phi", phi)
    theta = check_float("theta", theta)
    g = _check_g(g)
    check_choice("readout", readout, READOUTS)
    if neuron_basis is not None:
        check_choice("neuron_basis", neuron_basis, NEURON_BASES)
    qr = qiskit.QuantumRegister(2, "qb")
    m = qiskit.ClassicalRegister(1, "m")
    regs = [qr, m]
    if neuron_basis is not None:
        regs.append(qiskit.ClassicalRegister(1, "q"))
    qc = qiskit.QuantumCircuit(*regs)
    qc.ry(phi, 0)
    if theta:
        qc.ry(theta, 0)
    zy_coupling(qc, 0, 1, g)
    if readout == "x":
        qc.h(1)
    qc.measure(1, m[0])
    if neuron_basis is not None:
        if neuron_basis == "x":
            qc.h(0)
        qc.measure(0, regs[2][0])
    return qc


def run_circuits(
    circuits: Any,
    backend: Any = None,
    *,
    shots: int = 4000,
    seed: int | None = None,
    sampler: Any = None,
    optimization_level: int = 1,
) -> list[dict[str, np.ndarray]]:
    """Transpile ``circuits`` for ``backend`` and sample them with a SamplerV2.

    Args:
        circuits: A ``QuantumCircuit`` or a sequence of them.
        backend: Any Qiskit backend; None: ``AerSimulator()``.
        shots: Shots per circuit.
        seed: Seed of the transpiler and, for ``BackendSamplerV2``, of the simulator.
        sampler: A SamplerV2 to use instead of the default one (see the module docstring).
        optimization_level: Transpiler optimisation level.

    Returns:
        One dict per circuit: classical register name -> ``bool`` array ``(shots, num_bits)``
        whose column ``j`` is clbit ``j`` of that register.
    """
    qiskit = _qiskit()
    shots = check_int("shots", shots, 1)
    if seed is not None:
        seed = check_int("seed", seed, 0)
    check_int("optimization_level", optimization_level, 0, 3)
    single = isinstance(circuits, qiskit.QuantumCircuit)
    circuits = [circuits] if single else list(circuits)
    backend = _default_backend() if backend is None else backend
    compiled = qiskit.transpile(
        circuits, backend=backend, seed_transpiler=seed, optimization_level=optimization_level
    )
    if not isinstance(compiled, list):
        compiled = [compiled]
    if sampler is None:
        if type(backend).__module__.startswith("qiskit_ibm_runtime"):
            from qiskit_ibm_runtime import SamplerV2

            sampler = SamplerV2(mode=backend)
        else:
            from qiskit.primitives import BackendSamplerV2

            options: dict[str, Any] = {"default_shots": shots}
            if seed is not None:
                options["seed_simulator"] = seed
            sampler = BackendSamplerV2(backend=backend, options=options)
    result = sampler.run(compiled, shots=shots).result()
    out = []
    for circuit, pub in zip(circuits, result, strict=True):
        regs = {}
        for creg in circuit.cregs:
            bits = getattr(pub.data, creg.name)
            regs[creg.name] = np.asarray(bits.to_bool_array(order="little"), dtype=bool)
        out.append(regs)
    return out


# --------------------------------------------------------------------------- networks


def _weights(model: NaturalQuantizedMLP) -> list[np.ndarray]:
    return [layer.weight.detach().to("cpu", torch.float64).numpy() for layer in model.layers]


def _check_model(model: Any, x: Any) -> np.ndarray:
    from hybridqnn.nn.natural.models import NaturalQuantizedMLP

    if not isinstance(model, NaturalQuantizedMLP):
        raise TypeError(f"'model' must be a NaturalQuantizedMLP, got {type(model).__name__}")
    if model.width > MAX_CIRCUIT_WIDTH:
        raise ValueError(
            f"'model.width' must be <= {MAX_CIRCUIT_WIDTH} for the circuit path "
            f"(2**width branches per layer), got {model.width}"
        )
    x = torch.as_tensor(x).detach().to("cpu", torch.float64).reshape(-1).numpy()
    if x.shape[0] != model.in_features:
        raise ValueError(
            f"'x' must be one sample with {model.in_features} features, got {x.shape[0]} values"
        )
    return x


def _outcome_vectors(width: int) -> np.ndarray:
    """Row ``v`` holds ``d_j = 1 - 2 * bit_j(v)`` (outcome bit 1 means ``m = -1``)."""
    v = np.arange(2**width)[:, None]
    return 1 - 2 * ((v >> np.arange(width)[None, :]) & 1)


def network_circuit(model: NaturalQuantizedMLP, x: Any) -> Any:
    """The forward pass of ``model`` on one input ``x``, as one dynamic circuit.

    ``width`` neuron qubits and ``width`` ancillas (reset and reused by every layer). Layer 1
    rotates by ``theta_j = (pi/2)(1 - tanh(z_j/a))``, ``z = W_1 x``. Layer ``l > 1`` rotates,
    for each outcome vector ``v`` of layer ``l - 1`` (``if_test`` on register ``m{l-2}``), by
    ``theta_j(v) = (pi/2)(d_j(v) - tanh(z_j(v)/a))``, ``z(v) = W_l d(v)``. Each layer then weakly
    measures every neuron (angle ``g``; the last hidden layer ``model.last_g``) into register
    ``m{l-1}`` (bit 1 means ``d = -1``). The circuit carries the neurons' post-measurement states
    exactly, which corresponds to ``update="exact"`` of the module.

    Args:
        model: A :class:`~hybridqnn.nn.natural.NaturalQuantizedMLP` with ``width <= 8``.
        x: One input sample (``in_features`` values).

    Returns:
        A ``qiskit.QuantumCircuit`` with registers ``m0 .. m{L-1}``.
    """
    qiskit = _qiskit()
    x = _check_model(model, x)
    w, hidden = model.width, model.hidden_layers
    weights = _weights(model)
    neurons = qiskit.QuantumRegister(w, "n")
    ancillas = qiskit.QuantumRegister(w, "anc")
    cregs = [qiskit.ClassicalRegister(w, f"m{layer}") for layer in range(hidden)]
    qc = qiskit.QuantumCircuit(neurons, ancillas, *cregs)
    vectors = _outcome_vectors(w)
    for layer in range(hidden):
        g = model.last_g if layer == hidden - 1 else model.g
        if layer == 0:
            z = weights[0] @ x
            for j in range(w):
                qc.ry(rotation_angle_value(float(z[j]), 1, model.a), neurons[j])
        else:
            for v, d in enumerate(vectors):
                z = weights[layer] @ d
                with qc.if_test((cregs[layer - 1], v)):
                    for j in range(w):
                        qc.ry(rotation_angle_value(float(z[j]), int(d[j]), model.a), neurons[j])
            qc.reset(ancillas)
        for j in range(w):
            zy_coupling(qc, neurons[j], ancillas[j], g)
            qc.h(ancillas[j])
            qc.measure(ancillas[j], cregs[layer][j])
    return qc


def circuit_hidden_distribution(
    model: NaturalQuantizedMLP,
    x: Any,
    backend: Any = None,
    *,
    shots: int = 4000,
    seed: int | None = None,
    sampler: Any = None,
) -> dict[tuple[int, ...], int]:
    """Counts of the last hidden layer's activation vectors ``d_L`` from running
    :func:`network_circuit` on ``backend`` (default ``AerSimulator()``); keys are tuples of
    +/-1 (the logits are ``W_out d_L``)."""
    circuit = network_circuit(model, x)
    bits = run_circuits(circuit, backend, shots=shots, seed=seed, sampler=sampler)[0]
    last = bits[f"m{model.hidden_layers - 1}"]
    counts: dict[tuple[int, ...], int] = {}
    for row in last:
        key = tuple(int(1 - 2 * b) for b in row)
        counts[key] = counts.get(key, 0) + 1
    return counts


def exact_hidden_distribution(
    model: NaturalQuantizedMLP, x: Any, update: str | None = None
) -> dict[tuple[int, ...], float]:
    """The exact distribution of the last hidden activation vector ``d_L`` of ``model`` on one
    input, by enumerating every measurement branch with the module's closed forms
    (:func:`~hybridqnn.nn.natural.rotation_angle`,
    :func:`~hybridqnn.nn.natural.measurement_probability`,
    :func:`~hybridqnn.nn.natural.post_measurement_angle`), in float64.

    Args:
        model: A :class:`~hybridqnn.nn.natural.NaturalQuantizedMLP` with ``width <= 8``.
        x: One input sample.
        update: ``"paper"`` or ``"exact"``; None uses ``model.update``.

    Returns:
        ``{d_L: probability}`` over all ``2**width`` vectors (probabilities sum to 1).
    """
    from hybridqnn.nn.natural.physics import (
        UPDATES,
        measurement_probability,
        post_measurement_angle,
        rotation_angle,
    )

    x = _check_model(model, x)
    update = model.update if update is None else check_choice("update", update, UPDATES)
    w, hidden = model.width, model.hidden_layers
    weights = [torch.from_numpy(wt) for wt in _weights(model)]
    vectors = torch.from_numpy(_outcome_vectors(w)).to(torch.float64)  # (2^w, w)
    # branches: (probability, phi (w,), d (w,))
    phi = torch.zeros(1, w, dtype=torch.float64)
    d = torch.ones(1, w, dtype=torch.float64)
    prob = torch.ones(1, dtype=torch.float64)
    h = torch.from_numpy(x)[None, :]
    for layer in range(hidden):
        g = model.last_g if layer == hidden - 1 else model.g
        z = h @ weights[layer].T  # (B, w)
        phi = phi + rotation_angle(z, d, model.a)
        p_plus = measurement_probability(phi, g).clamp(0.0, 1.0)  # (B, w)
        # every branch times every outcome vector
        m = vectors[None, :, :]  # (1, V, w)
        p = torch.where(m > 0, p_plus[:, None, :], 1.0 - p_plus[:, None, :]).prod(-1)  # (B, V)
        new_phi = post_measurement_angle(phi[:, None, :], m, g, update)  # (B, V, w)
        prob = (prob[:, None] * p).reshape(-1)
        phi = new_phi.reshape(-1, w)
        d = m.expand(phi.shape[0] // m.shape[1], -1, -1).reshape(-1, w)
        h = d
        keep = prob > 0
        prob, phi, d, h = prob[keep], phi[keep], d[keep], h[keep]
    out: dict[tuple[int, ...], float] = {tuple(int(v) for v in row): 0.0 for row in vectors}
    for pr, row in zip(prob.tolist(), d.to(torch.int64).tolist(), strict=True):
        out[tuple(row)] += pr
    return out


def module_hidden_distribution(
    model: NaturalQuantizedMLP, x: Any, shots: int = 4000, generator: torch.Generator | None = None
) -> dict[tuple[int, ...], int]:
    """Counts of the last hidden activation vector from ``shots`` stochastic passes of the
    module itself (one batched forward)."""
    x = _check_model(model, x)
    shots = check_int("shots", shots, 1)
    inp = torch.from_numpy(x).to(model.layers[0].weight.dtype)[None, :]
    with torch.no_grad():
        acts = model.sample_activations(inp, shots=shots, generator=generator)
    last = acts[-1][:, 0, :].to(torch.int64).tolist()
    counts: dict[tuple[int, ...], int] = {}
    for row in last:
        counts[tuple(row)] = counts.get(tuple(row), 0) + 1
    return counts
