"""The torch samplers' shared part: signs, and the model's tensors on the sampler's device."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from hybridqnn.problems import DenseIsing
from hybridqnn.solvers.bifurcation import SimulatedBifurcationSampler
from hybridqnn.solvers.torch_device import signs


@given(st.lists(st.floats(-10.0, 10.0, allow_nan=False), min_size=1, max_size=20))
def test_signs_are_plus_minus_one_with_sign_of_zero_plus_one(values: list[float]) -> None:
    x = torch.tensor(values, dtype=torch.float64)
    s = signs(x)
    assert s.dtype == torch.float64
    assert torch.equal(s, torch.tensor([1.0 if v >= 0 else -1.0 for v in values], dtype=torch.float64))


def test_signs_of_zero_and_negative_zero() -> None:
    assert signs(torch.tensor([0.0, -0.0, -1e-30])).tolist() == [1.0, 1.0, -1.0]


def test_model_tensors_on_the_samplers_device_and_dtype() -> None:
    model = DenseIsing(h=np.array([1.0, -2.0]), J=np.array([[0.0, 0.5], [0.5, 0.0]]))
    J, h = SimulatedBifurcationSampler(dtype=torch.float64)._model_tensors(model)
    assert J.dtype == h.dtype == torch.float64 and J.device.type == "cpu"
    np.testing.assert_array_equal(J.numpy(), model.J)
    np.testing.assert_array_equal(h.numpy(), model.h)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA message")
def test_model_tensors_fail_at_once_without_cuda() -> None:
    model = DenseIsing(h=np.zeros(2), J=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="torch sees no CUDA device"):
        SimulatedBifurcationSampler(device="cuda")._model_tensors(model)
