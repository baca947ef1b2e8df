"""Linear-spline activations as PyTorch modules.

The splines themselves (knots, slopes, the error bound) live in :mod:`hybridqnn.problems.splines`,
which the QCBO builders use without torch; this module evaluates one in the forward pass.
"""

from __future__ import annotations

import numpy as np
import torch

from hybridqnn.problems.splines import LinearSpline

__all__ = ["SplineActivation"]


class SplineActivation(torch.nn.Module):
    """A linear-spline activation as a ``torch.nn.Module`` (elementwise; one spline).

    ``forward(z)`` = alpha_{k(z)} z + beta_{k(z)}, k(z) the segment of z (end pieces
    extended), the function :class:`~hybridqnn.problems.splines.LinearSpline` evaluates in
    numpy; gradients flow to z. Works on any device and float dtype of ``z`` (the buffers follow
    ``.to(device)``).

    Args:
        spline: The spline to evaluate.
    """

    def __init__(self, spline: LinearSpline) -> None:
        super().__init__()
        if not isinstance(spline, LinearSpline):
            raise TypeError(f"'spline' must be a LinearSpline, got {type(spline).__name__}")
        self.register_buffer("knots", torch.as_tensor(np.array(spline.knots), dtype=torch.float64))
        self.register_buffer("slopes", torch.as_tensor(spline.slopes, dtype=torch.float64))
        self.register_buffer("intercepts", torch.as_tensor(spline.intercepts, dtype=torch.float64))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        knots = self.knots.to(z.dtype)
        k = torch.clamp(torch.bucketize(z.contiguous(), knots, right=True) - 1, 0, self.slopes.numel() - 1)
        return self.slopes.to(z.dtype)[k] * z + self.intercepts.to(z.dtype)[k]
