"""The torch-based dense samplers' shared part: device, dtype and generator, checked in one place."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from hybridqnn.problems.dense import DenseIsing
from hybridqnn.solvers.dense import DenseSampler


def as_device(device: Any) -> torch.device:
    if isinstance(device, torch.device):
        return device
    if not isinstance(device, str):
        raise TypeError(f"'device' must be a str or torch.device, got {type(device).__name__}")
    try:
        return torch.device(device)
    except RuntimeError:
        raise ValueError(f"'device' must name a torch device such as 'cpu' or 'cuda:0', got {device!r}") from None


def check_available(device: torch.device) -> None:
    """Fail before any work when ``device`` is CUDA and torch sees no CUDA device."""
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"'device' is {str(device)!r} but torch sees no CUDA device; use device='cpu'")


def as_dtype(dtype: Any) -> torch.dtype:
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"'dtype' must be a floating torch.dtype such as torch.float32, got {dtype!r}")
    return dtype


def seeded_generator(device: torch.device, seed: int) -> torch.Generator:
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    return gen


def signs(x: torch.Tensor) -> torch.Tensor:
    """sign(x) with sign(0) = +1, as +-1 in ``x``'s dtype: the spins an amplitude stands for."""
    return torch.where(x >= 0, 1.0, -1.0).to(x.dtype)


class TorchDenseSampler(DenseSampler):
    """A :class:`DenseSampler` that integrates its dynamics in torch on ``device`` in ``dtype``."""

    def __init__(self, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32) -> None:
        self.device = as_device(device)
        self.dtype = as_dtype(dtype)

    @property
    def properties(self) -> dict[str, Any]:
        return {**super().properties, "device": str(self.device), "dtype": str(self.dtype)}

    def _as_tensor(self, values: np.ndarray) -> torch.Tensor:
        """``values`` as a tensor on ``device`` in ``dtype``."""
        return torch.as_tensor(values, dtype=self.dtype, device=self.device)

    def _model_tensors(self, model: DenseIsing) -> tuple[torch.Tensor, torch.Tensor]:
        """(J, h) of ``model`` on ``device`` in ``dtype``, once the device is known to exist."""
        check_available(self.device)
        return self._as_tensor(model.J), self._as_tensor(model.h)
