"""Frozen random convolutional features (Extreme-Learning-Machine style).

The feature extractor of the QUBO-trained head (Atallah & Herrman, arXiv 2603.02958): random,
frozen convolution filters, a nonlinearity, pooling to a fixed grid, flattening, and per-feature
standardisation fitted on the training set:

    phi(x) = (flatten(pool(sigma(conv(x; F) + b))) - mu) / s

with F drawn i.i.d. normal and each filter centred and scaled to unit norm (so features do not
depend on the filter scale), b = 0, and (mu, s) the training mean and standard deviation. The
output dimension is num_filters * pool_size^2. The paper does not give its architecture; the
defaults of :meth:`RandomConvFeatures.for_images` give d = 128 on 28x28 images and d = 32 on
8x8 digits.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hybridqnn._checks import check_choice, check_int

NONLINEARITIES = ("relu", "tanh", "abs", "identity")
POOLS = ("avg", "max")


class RandomConvFeatures(nn.Module):
    """Random frozen conv -> nonlinearity -> adaptive pooling -> flatten -> standardise.

    Args:
        in_channels: image channels.
        num_filters: number of random filters.
        kernel_size: filter size (square).
        nonlinearity: one of relu, tanh, abs, identity.
        pool: avg or max (adaptive pooling to ``pool_size`` x ``pool_size``).
        pool_size: the pooled grid side.
        seed: seed of the filters (a private ``torch.Generator``; nothing global is touched).
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_filters: int = 8,
        kernel_size: int = 5,
        nonlinearity: str = "relu",
        pool: str = "avg",
        pool_size: int = 4,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, 1)
        self.num_filters = check_int("num_filters", num_filters, 1)
        self.kernel_size = check_int("kernel_size", kernel_size, 1)
        self.nonlinearity = check_choice("nonlinearity", nonlinearity, NONLINEARITIES)
        self.pool = check_choice("pool", pool, POOLS)
        self.pool_size = check_int("pool_size", pool_size, 1)
        self.seed = check_int("seed", seed, 0)
        gen = torch.Generator().manual_seed(self.seed)
        w = torch.randn(num_filters, in_channels, kernel_size, kernel_size, generator=gen)
        w -= w.mean(dim=(1, 2, 3), keepdim=True)
        w /= w.flatten(1).norm(dim=1).clamp_min(1e-12)[:, None, None, None]
        self.register_buffer("weight", w)
        self.register_buffer("mean", torch.zeros(self.out_features))
        self.register_buffer("std", torch.ones(self.out_features))
        self.fitted = False
        self.requires_grad_(False)

    @classmethod
    def for_images(cls, image_shape: tuple[int, ...], seed: int = 0, **overrides: Any) -> RandomConvFeatures:
        """Defaults by image size: (C, H, W) with H >= 16 gets 8 5x5 filters pooled to 4x4
        (d = 128); smaller images (8x8 digits) get 8 3x3 filters pooled to 2x2 (d = 32)."""
        if len(image_shape) != 3:
            raise ValueError(f"'image_shape' must be (channels, height, width), got {tuple(image_shape)}")
        c, h, w = image_shape
        small = min(h, w) < 16
        params: dict[str, Any] = {
            "in_channels": c,
            "num_filters": 8,
            "kernel_size": 3 if small else 5,
            "pool_size": 2 if small else 4,
            "seed": seed,
        }
        params.update(overrides)
        return cls(**params)

    @property
    def out_features(self) -> int:
        """d = num_filters * pool_size^2."""
        return self.num_filters * self.pool_size**2

    def raw(self, x: torch.Tensor) -> torch.Tensor:
        """Features before standardisation."""
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"input must have shape (N, {self.in_channels}, H, W), got {tuple(x.shape)}")
        if x.shape[-1] < self.kernel_size or x.shape[-2] < self.kernel_size:
            raise ValueError(f"images of size {tuple(x.shape[-2:])} are smaller than kernel_size {self.kernel_size}")
        h = F.conv2d(x.to(self.weight.dtype), self.weight, padding=self.kernel_size // 2)
        if self.nonlinearity == "relu":
            h = F.relu(h)
        elif self.nonlinearity == "tanh":
            h = torch.tanh(h)
        elif self.nonlinearity == "abs":
            h = h.abs()
        if self.pool == "avg":
            h = F.adaptive_avg_pool2d(h, self.pool_size)
        else:
            h = F.adaptive_max_pool2d(h, self.pool_size)
        return h.flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.raw(x) - self.mean) / self.std

    def get_extra_state(self) -> dict[str, Any]:
        """``fitted`` travels with ``state_dict`` so a reloaded, fitted module can ``transform``."""
        return {"fitted": self.fitted}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        self.fitted = bool(state.get("fitted", False))

    @torch.no_grad()
    def fit(self, x: np.ndarray | torch.Tensor, batch_size: int = 8192) -> RandomConvFeatures:
        """Fit the standardisation (mean, std) on training images."""
        feats = self._batched(self.raw, x, batch_size)
        self.mean.copy_(feats.mean(dim=0))
        self.std.copy_(feats.std(dim=0).clamp_min(1e-6))
        self.fitted = True
        return self

    @torch.no_grad()
    def transform(self, x: np.ndarray | torch.Tensor, batch_size: int = 8192) -> np.ndarray:
        """Standardised features as a float64 numpy array (computed in batches on this module's device)."""
        if not self.fitted:
            raise RuntimeError("RandomConvFeatures.transform called before fit(); fit the standardisation on training images first")
        return self._batched(self.forward, x, batch_size).double().cpu().numpy()

    def _batched(self, fn: Any, x: np.ndarray | torch.Tensor, batch_size: int) -> torch.Tensor:
        device = self.weight.device
        data = torch.as_tensor(x)
        outs = [fn(data[i : i + batch_size].to(device=device, dtype=torch.float32)) for i in range(0, len(data), batch_size)]
        return torch.cat(outs) if outs else torch.zeros(0, self.out_features, device=device)
