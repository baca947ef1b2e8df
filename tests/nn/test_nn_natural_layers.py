"""Natural quantization, layers: rotation and measurement compose, the straight-through
gradient of both backends."""

from __future__ import annotations

import math

import torch

from hybridqnn.nn.natural.layers import NaturalActivation, QubitRotation, WeakMeasurement
from hybridqnn.nn.natural.physics import rotation_angle

BACKENDS = ["torch", "numba"]


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_straight_through_gradient() -> None:
    z = torch.linspace(-2, 2, 41).reshape(1, -1).requires_grad_(True)
    weights = torch.randn(1, 41, generator=_gen(0))
    for backend in BACKENDS:
        act = NaturalActivation(0.3, 0.7, backend=backend)
        d, _ = act(z, None, _gen(1))
        (d * weights).sum().backward()
        torch.testing.assert_close(z.grad, weights * (z.detach().abs() < 1))
        z.grad = None


def test_rotation_and_measurement_compose() -> None:
    z = torch.randn(4, 8, generator=_gen(3))
    state = QubitRotation(0.5)(z)
    torch.testing.assert_close(state.phi, rotation_angle(z, 1.0, 0.5))
    d, new = WeakMeasurement(math.pi / 2)(state, _gen(4))
    assert set(d.unique().tolist()) <= {-1.0, 1.0}
    # a projective measurement leaves the qubit in |0> (m = +1) or |1> (m = -1)
    torch.testing.assert_close(new.alpha.abs(), (d > 0).float())
