"""Natural quantization: binary networks whose hidden neurons are qubits.

Implements Barney, Lakhdar-Hamina and Galitski, "Natural Quantization of Neural Networks"
(arXiv 2503.15482, 2025), following the authors' code (Galitski-theory-group/quantum-nn,
``src/quantum_nn/anc.py`` and ``notebooks/mnist_train.ipynb``).

Model. Each sample carries one register of ``width`` qubits, reused from layer to layer. Qubit
``j`` is in the real state ``|psi> = cos(phi_j/2)|0> + sin(phi_j/2)|1>`` and carries the last
activation ``d_j`` in {-1, +1}. A forward pass starts at ``phi = 0``, ``d = +1``. Each hidden
layer takes the pre-activation ``z = W d_prev`` (no bias) and then

1. **rotates** (Method 1, stretch ``a``): ``phi <- phi + theta`` with

   - ``theta = (pi/2) (d_prev - tanh(z/a))`` for ``a > 0``,
   - ``theta = (pi/2) (d_prev - sign z)`` for ``a = 0`` (the classical limit);

2. **measures** (Method 2, entangling angle ``g``, ``s = sin g``) through an ancilla: the outcome
   ``m`` in {-1, +1} has ``P(m = +/-1) = (1 +/- s cos phi) / 2``; the neuron is left in

   ``phi' = 2 arcsin( sin(phi/2) sqrt((1 - m s) / (1 + m s cos phi)) )``

   (Kraus operators ``M_+/- = diag(sqrt((1 +/- s)/2), sqrt((1 -/+ s)/2))``), and ``d = m`` is the
   activation sent forward.

After a strong measurement (``g = pi/2``) from a fresh qubit, ``P(d = +1) = cos^2[(pi/4)(1 -
tanh(z/a))]`` and ``E[d] = sin[(pi/2) tanh(z/a)]``. With ``a = 0`` and ``g = pi/2`` the network
is the deterministic sign network (for ``z != 0``), bit for bit. The last hidden layer always
uses ``g = pi/2`` (as in the authors' code; ``last_g`` changes it). Backward is a
straight-through estimator: ``dL/dz = dL/dd * 1{|z| < 1}``, whatever ``a`` and ``g`` are; ``a``
and ``g`` are fixed hyperparameters.

Post-measurement update. ``update="paper"`` (the default) is the published formula above.
Its ``arcsin`` returns ``phi'/2`` in ``[-pi/2, pi/2]``, i.e. it forces ``cos(phi'/2) >= 0``.
That is the true post-measurement state only while ``cos(phi/2) >= 0`` (``|phi| <= pi``). After
a weak measurement the next rotation can take ``phi`` beyond ``pi`` (``theta`` is in
``[0, pi]`` when ``d_prev = +1``), and there the formula reflects the state: the physical state
``(alpha', beta')`` with ``alpha' < 0`` equals ``(|alpha'|, -beta')`` up to a global phase,
whereas the formula keeps ``(|alpha'|, beta')``. ``update="exact"`` uses the exact update
``phi' = 2 atan2(sin(phi/2) sqrt(1 - m s), cos(phi/2) sqrt(1 + m s))``, which is what a
circuit does (see :mod:`hybridqnn.quantum.circuits`, whose tests show the difference). Both
agree whenever ``|phi| <= pi``, in particular always for ``g = pi/2``.

Representation. The register is held as the real amplitudes ``(alpha, beta) = (cos(phi/2),
sin(phi/2))`` (:class:`QubitState`; ``QubitState.phi`` gives the angle). A rotation is a 2x2
rotation of ``(alpha, beta)`` by ``theta/2``; a measurement multiplies by the Kraus diagonal and
renormalises; ``"paper"`` replaces ``alpha`` by ``|alpha|`` first, which is exactly the
``arcsin`` formula (its ``cos(phi'/2) = +sqrt(1 - sin^2(phi'/2))``). This is the same state as the
angle form, needs no inverse trigonometry, and in the classical limit keeps the states exactly at
``|0>`` and ``|1>``, so that ``a = 0, g = pi/2`` is bit for bit the sign network.

Deviations from the authors' code, none of which changes the model:

- sampling compares one uniform draw per neuron with ``P(m = +1)`` instead of
  ``torch.distributions.Categorical`` on the global RNG: ``torch.rand(generator=...)`` in the
  torch backend; a counter-based generator keyed by one draw from ``generator`` in the fused CPU
  kernel (see :class:`NaturalActivation`);
- the majority vote of :meth:`NaturalQuantizedMLP.predict` draws fresh samples for every shot,
  like the original script (the library's ``get_err_from_out`` reuses one output, so its
  15-shot vote is effectively single-shot; that bug is not reproduced). Ties go to the smallest
  class, as with ``scipy.stats.mode``;
- a k-shot forward computes the first layer's matmul and rotation once and shares them across
  the shots (they are deterministic); only the measurements are drawn per shot.

Layout: :mod:`~hybridqnn.nn.natural.physics` (closed forms and the register),
:mod:`~hybridqnn.nn.natural.kernels` (the fused numba kernel),
:mod:`~hybridqnn.nn.natural.layers` (rotation, measurement, activation modules) and
:mod:`~hybridqnn.nn.natural.models` (the networks). The straight-through estimators are
:func:`hybridqnn.nn.functional.natural_straight_through` and
:func:`hybridqnn.nn.functional.sign_natural`.
"""

from hybridqnn.nn.natural.layers import BACKENDS, NaturalActivation, QubitRotation, WeakMeasurement
from hybridqnn.nn.natural.models import NaturalQuantizedMLP, SignMLP, majority_vote
from hybridqnn.nn.natural.physics import (
    UPDATES,
    QubitState,
    expected_activation,
    measurement_probability,
    post_measurement_angle,
    rotation_angle,
    strong_measurement_probability,
)

__all__ = [
    "BACKENDS",
    "UPDATES",
    "NaturalActivation",
    "NaturalQuantizedMLP",
    "QubitRotation",
    "QubitState",
    "SignMLP",
    "WeakMeasurement",
    "expected_activation",
    "majority_vote",
    "measurement_probability",
    "post_measurement_angle",
    "rotation_angle",
    "strong_measurement_probability",
]
