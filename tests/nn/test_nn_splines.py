"""SplineActivation: the spline of hybridqnn.problems.splines in a torch forward pass."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hybridqnn.nn.splines import SplineActivation
from hybridqnn.problems.splines import activation_spline


def test_torch_module_matches_numpy_and_has_gradients() -> None:
    sp = activation_spline("tanh", -2.0, 2.0, 5)
    module = SplineActivation(sp)
    z = torch.linspace(-3, 3, 97, dtype=torch.float64, requires_grad=True)
    out = module(z)
    np.testing.assert_allclose(out.detach().numpy(), sp(z.detach().numpy()), rtol=1e-12, atol=1e-12)
    out.sum().backward()
    seg = sp.segment_index(z.detach().numpy())
    np.testing.assert_allclose(z.grad.numpy(), sp.slopes[seg])


def test_rejects_a_non_spline() -> None:
    with pytest.raises(TypeError, match="'spline' must be a LinearSpline"):
        SplineActivation(np.tanh)
