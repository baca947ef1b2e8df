"""BinaryConnect (SGD / signSGD) and ProxQuant: their update rules, conformance and errors."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from hybridqnn.nn.binary import BinaryLinear
from hybridqnn.optim import (
    OPTIMIZER_NAMES,
    QPSBGD,
    QPSBGD_VARIANTS,
    BinaryConnect,
    ProxQuant,
    make_optimizer,
)
from hybridqnn.testing.optimizers import (
    OPTIMIZER_CHECKS,
    OptimizerCase,
    check_optimizer,
    tiny_problem,
)


def _layer_with_grad(seed: int = 0) -> tuple[BinaryLinear, torch.Tensor, torch.Tensor]:
    torch.manual_seed(seed)
    layer = BinaryLinear(4, 3, bias=True)
    with torch.no_grad():
        layer.weight.mul_(8.0)  # some latent weights outside [-1, 1]
    layer(torch.randn(5, 4)).pow(2).sum().backward()
    return layer, layer.weight.detach().clone(), layer.bias.detach().clone()


@pytest.mark.parametrize("use_sign", [False, True])
def test_binaryconnect_rule_clips_only_binary_weights(use_sign: bool) -> None:
    layer, w0, b0 = _layer_with_grad()
    gw, gb = layer.weight.grad.clone(), layer.bias.grad.clone()
    BinaryConnect(layer.parameters(), 0.3, sign=use_sign).step()
    step_w = torch.sign(gw) if use_sign else gw
    step_b = torch.sign(gb) if use_sign else gb
    assert torch.allclose(layer.weight.detach(), (w0 - 0.3 * step_w).clamp(-1, 1))
    assert torch.allclose(layer.bias.detach(), b0 - 0.3 * step_b)  # no clip on the bias


def test_binaryconnect_without_clip() -> None:
    layer, w0, _ = _layer_with_grad()
    g = layer.weight.grad.clone()
    BinaryConnect([layer.weight], 0.1, clip=False).step()
    assert torch.allclose(layer.weight.detach(), w0 - 0.1 * g)


@given(p=st.lists(st.floats(-3, 3, allow_nan=False), min_size=1, max_size=20), lam=st.floats(0, 1))
def test_prox_formula(p: list[float], lam: float) -> None:
    t = torch.tensor(p, dtype=torch.float64)
    out = ProxQuant.prox(t, lam)
    for value, got in zip(p, out.tolist(), strict=True):
        s = 1.0 if value >= 0 else -1.0
        r = value - s
        expected = s + (1.0 if r > 0 else -1.0 if r < 0 else 0.0) * max(abs(r) - lam, 0.0)
        assert got == pytest.approx(expected)
        assert abs(got - s) <= abs(value - s) + 1e-12  # moves toward the nearest sign


def test_proxquant_step_and_epoch_schedule() -> None:
    layer, w0, b0 = _layer_with_grad(1)
    gw, gb = layer.weight.grad.clone(), layer.bias.grad.clone()
    opt = ProxQuant(layer.parameters(), 0.2)
    assert opt.param_groups[0]["lam"] == 0.01
    opt.set_epoch(1)
    assert opt.param_groups[0]["lam"] == pytest.approx(0.02)  # the paper's default (epoch 1)
    opt.step()
    assert torch.allclose(layer.weight.detach(), ProxQuant.prox(w0 - 0.2 * gw, 0.02))
    assert torch.allclose(layer.bias.detach(), b0 - 0.2 * gb)
    opt.set_epoch(4)
    assert opt.param_groups[0]["lam"] == pytest.approx(0.05)
    with pytest.raises(ValueError, match="'epoch' must be an integer >= 0, got -1"):
        opt.set_epoch(-1)


@pytest.mark.parametrize(
    "make",
    [
        lambda m: BinaryConnect(m.parameters(), 0.1),
        lambda m: BinaryConnect(m.parameters(), 0.05, sign=True),
        lambda m: ProxQuant(m.parameters(), 0.1),
    ],
    ids=["bc-sgd", "bc-signsgd", "proxquant"],
)
def test_conformance(make) -> None:
    make_model, batches, loss_fn = tiny_problem(seed=3, num_batches=4)
    check_optimizer(make_model, make, batches, loss_fn)


def test_one_check_runs_on_an_optimizer_case() -> None:
    case = OptimizerCase(*_case_parts(lambda m: BinaryConnect(m.parameters(), 0.1)))
    model, opt = case.fresh()
    losses = case.train(model, opt, case.batches[:2])
    assert len(losses) == 2 and all(math.isfinite(v) for v in losses)
    for name in OPTIMIZER_CHECKS:
        OPTIMIZER_CHECKS[name](case)
    # plain SGD leaves the latent weights real and claims nothing: only a projected claim is checked
    broken = OptimizerCase(*_case_parts(lambda m: _ClaimsProjected(m.parameters(), lr=0.1)))
    with pytest.raises(AssertionError, match="binary: projected update"):
        OPTIMIZER_CHECKS["binary"](broken)


class _ClaimsProjected(torch.optim.SGD):
    def __init__(self, params, lr: float) -> None:
        super().__init__(params, lr=lr)
        for group in self.param_groups:
            group["update"] = "projected"


def _case_parts(make):
    make_model, batches, loss_fn = tiny_problem(seed=3, num_batches=4)
    return make_model, make, batches, loss_fn


def test_make_optimizer_names() -> None:
    layer = BinaryLinear(3, 2, bias=False)
    kinds = {
        "qpsbgd": QPSBGD,
        "qpsbgd-ls": QPSBGD,
        "qpsbgd-sm": QPSBGD,
        "qpsbgd-xnor": QPSBGD,
        "bc-sgd": BinaryConnect,
        "bc-signsgd": BinaryConnect,
        "proxquant": ProxQuant,
        "sgd": torch.optim.SGD,
        "adam": torch.optim.Adam,
    }
    assert set(kinds) == set(OPTIMIZER_NAMES)
    for name, cls in kinds.items():
        assert isinstance(make_optimizer(name, [layer.weight], 0.1), cls)
    assert make_optimizer("bc-signsgd", [layer.weight], 0.1).param_groups[0]["sign"] is True
    with pytest.raises(ValueError, match="'optimizer' must be one of"):
        make_optimizer("lion", [layer.weight], 0.1)


def test_make_optimizer_qpsbgd_variants_fix_the_projection() -> None:
    layer = BinaryLinear(3, 2, bias=False)
    for name, projection in QPSBGD_VARIANTS.items():
        opt = make_optimizer(name, [layer.weight], 0.1)
        assert opt.param_groups[0]["projection"] == projection
    with pytest.raises(ValueError, match="'projection' is fixed by optimizer 'qpsbgd-ls'"):
        make_optimizer("qpsbgd-ls", [layer.weight], 0.1, projection="sign-matching")


def test_bad_input() -> None:
    layer = BinaryLinear(3, 2)
    for cls in (BinaryConnect, ProxQuant):
        with pytest.raises(ValueError, match=r"'lr' must be a finite number > 0"):
            cls(layer.parameters(), 0.0)
    with pytest.raises(TypeError, match="'sign' must be a bool"):
        BinaryConnect(layer.parameters(), 0.1, sign=1)
    with pytest.raises(ValueError, match="'lam'"):
        ProxQuant(layer.parameters(), 0.1, lam=-0.1)
    with pytest.raises(ValueError, match="'lr'"):
        make_optimizer("adam", layer.parameters(), -1.0)
