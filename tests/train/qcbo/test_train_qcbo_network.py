"""QCBO training, network: the closed-form bit-scale step."""

from __future__ import annotations

import numpy as np
import pytest
from qcbo_toys import SIZES, _toy

from hybridqnn.problems.qcbo import WeightCode
from hybridqnn.train.qcbo.network import _Architecture, _bit_scales


def test_bit_scale_step_is_the_closed_form() -> None:
    X, y = _toy(8, seed=2)
    rng = np.random.default_rng(0)
    units = [rng.choice([-1.0, 1.0], size=(2, 4)), rng.choice([-1.0, 1.0], size=(1, 3))]
    codes = [WeightCode("binary"), WeightCode("binary", scale=1.0)]
    arch = _Architecture(SIZES, (np.zeros(3), np.ones(3)), "relu", (2,), True, (2,), "logistic", 3)
    new = _bit_scales(units, codes, X, y, arch, 1.5, hidden=True)
    a0 = np.concatenate([X, np.ones((8, 1))], axis=1)
    assert new[0].scale == pytest.approx(1 / np.sqrt(np.mean(np.sum(a0**2, axis=1))))
    net = arch.network(new)
    a1 = net.layer_inputs([u * c.scale for u, c in zip(units, new, strict=True)], X)[1]
    g = (a1 @ units[1].T)[:, 0]
    ls = 1.5 * np.sum(y * g) / np.sum(g * g)
    if ls > 0:
        assert new[1].scale == pytest.approx(np.clip(ls, 0.5, 2.0))
    else:
        assert new[1].scale == 1.0
    # between solves only the output scale moves: the same fit, the hidden scale kept
    between = _bit_scales(units, codes, X, y, arch, 1.5, hidden=False)
    assert between[0].scale == codes[0].scale
    a1 = arch.network(codes).layer_inputs(
        [u * c.scale for u, c in zip(units, codes, strict=True)], X
    )[1]
    g = (a1 @ units[1].T)[:, 0]
    ls = 1.5 * np.sum(y * g) / np.sum(g * g)
    assert between[1].scale == (pytest.approx(np.clip(ls, 0.5, 2.0)) if ls > 0 else 1.0)
