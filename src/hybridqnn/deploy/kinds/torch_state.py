"""Rebuilding torch modules from a saved config without trusting the config's sizes.

A saved model's ``config`` says how large a module to build (layer widths, filter counts...) and
its weights file holds the tensors. A config edited to say ``width = 200000`` would make the
constructor allocate gigabytes before any shape check could refuse it. :func:`build_checked`
builds the module on torch's ``meta`` device first (shapes only, no memory), compares every
entry of its state with the saved tensors, and only then builds the real module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

__all__ = ["build_checked", "check_state_shapes"]


def check_state_shapes(expected: Mapping[str, Any], tensors: Mapping[str, np.ndarray], prefix: str = "") -> None:
    """One ``ValueError`` line unless ``tensors`` holds exactly the entries of ``expected``
    (a ``state_dict``; names taken after ``prefix``) with the same shapes."""
    expected = {k: v for k, v in expected.items() if hasattr(v, "shape")}  # not extra state
    names = {name[len(prefix):] for name in tensors if name.startswith(prefix)}
    missing, extra = sorted(set(expected) - names), sorted(names - set(expected))
    if missing or extra:
        raise ValueError(
            f"the saved tensors must be exactly {sorted(expected)} for this config, "
            f"got missing {missing} and extra {extra}"
        )
    for name, ref in expected.items():
        shape = tuple(np.shape(tensors[prefix + name]))
        if shape != tuple(ref.shape):
            raise ValueError(f"tensor {prefix + name!r} must have shape {tuple(ref.shape)} for this config, got {shape}")


def build_checked(
    build: Callable[..., Any], tensors: Mapping[str, np.ndarray], *args: Any, prefix: str = "", **kwargs: Any
) -> Any:
    """``build(*args, **kwargs)``, a torch module, once its state's names and shapes (built on the
    meta device) match ``tensors``; the real build does not touch torch's global RNG."""
    import torch

    with torch.device("meta"), torch.random.fork_rng(devices=[]):
        probe = build(*args, **kwargs)
    check_state_shapes(probe.state_dict(), tensors, prefix)
    with torch.random.fork_rng(devices=[]):
        return build(*args, **kwargs)
