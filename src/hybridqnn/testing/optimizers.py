"""Optimizer conformance checks (DESIGN.md, "Tests"), usable on any ``torch.optim.Optimizer``
that trains hybridqnn binary layers:

- ``binary``: after training steps every binary layer still computes with +-1 weights
  (``binarize(weight)``), every parameter is finite, and an optimizer that says its latent
  weights are binary (``update == "projected"`` in every param group) keeps them in {-1, +1};
- ``closure``: ``step(closure)`` returns the closure's loss, and ``step()`` returns None;
- ``state_dict``: training k steps, saving model and optimizer, training k more, and restoring
  both into fresh objects that then train the same k steps gives the same weights;
- ``seed``: two runs built the same way (same seeds) give the same weights;
- ``non_finite``: a NaN or infinite loss returned by the closure, or a NaN or infinite entry of
  a gradient, makes ``step`` raise a one-line ``ValueError`` (naming ``loss`` or the gradient)
  and leaves every parameter as it was.

    from hybridqnn.testing.optimizers import check_optimizer, tiny_problem
    make_model, batches, loss_fn = tiny_problem()
    check_optimizer(make_model, lambda m: QPSBGD(binary_weights(m), 0.1, seed=0), batches, loss_fn)

Each check raises ``AssertionError`` naming the check and what was seen.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from hybridqnn.nn.binary import BinaryLayer, BinaryLinear, binarize

__all__ = ["OPTIMIZER_CHECKS", "OptimizerCase", "binary_weights", "check_optimizer", "tiny_problem"]

Batch = tuple[torch.Tensor, torch.Tensor]


def binary_weights(model: nn.Module) -> list[nn.Parameter]:
    """The ``weight`` of every binary layer of ``model``, in module order."""
    return [m.weight for m in model.modules() if isinstance(m, BinaryLayer)]


def tiny_problem(
    seed: int = 0, in_features: int = 6, hidden: int = 5, batch_size: int = 8, num_batches: int = 6
) -> tuple[Callable[[], nn.Module], list[Batch], Callable[..., torch.Tensor]]:
    """A 2-layer binary MLP on +-1 inputs with 0/1 targets, its batches and its loss
    (``BCEWithLogitsLoss``), all fixed by ``seed``."""
    gen = torch.Generator().manual_seed(seed)
    batches = []
    for _ in range(num_batches):
        x = torch.where(torch.rand(batch_size, in_features, generator=gen) < 0.5, -1.0, 1.0)
        y = (x[:, :1] * x[:, 1:2] > 0).to(torch.float32)
        batches.append((x, y))

    def make_model() -> nn.Module:
        torch.manual_seed(seed)
        return nn.Sequential(
            BinaryLinear(in_features, hidden, bias=False, binary_activation=True),
            BinaryLinear(hidden, 1, bias=False),
        )

    return make_model, batches, nn.BCEWithLogitsLoss()


@dataclass(frozen=True)
class OptimizerCase:
    """What every check gets: how to build the model and its optimizer, the batches and the loss.

    Attributes:
        make_model: builds the same model every call (seed inside it).
        make_optimizer: builds the optimizer for a model (fixed seed inside it).
        batches: (inputs, targets) pairs.
        loss_fn: ``loss_fn(output, target)``.
    """

    make_model: Callable[[], nn.Module]
    make_optimizer: Callable[[nn.Module], torch.optim.Optimizer]
    batches: Sequence[Batch]
    loss_fn: Callable[..., torch.Tensor]

    def fresh(self) -> tuple[nn.Module, torch.optim.Optimizer]:
        """A new model and its new optimizer."""
        model = self.make_model()
        return model, self.make_optimizer(model)

    def train(
        self, model: nn.Module, opt: torch.optim.Optimizer, batches: Sequence[Batch] | None = None
    ) -> list[float]:
        """One optimizer step per batch (default: all of :attr:`batches`); the losses."""
        losses = []
        for x, y in self.batches if batches is None else batches:
            opt.zero_grad()
            loss = self.loss_fn(model(x), y)
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
        return losses


def _weights(model: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


def _same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def check_binary(case: OptimizerCase) -> None:
    model, opt = case.fresh()
    case.train(model, opt)
    layers = [m for m in model.modules() if isinstance(m, BinaryLayer)]
    assert layers, "binary: the model has no binary layers"
    for p in model.parameters():
        assert torch.all(torch.isfinite(p)), "binary: a parameter became non-finite"
    for layer in layers:
        b = binarize(layer.weight.detach())
        assert torch.all(b.abs() == 1), "binary: binarize(weight) is not +-1"
    if all(group.get("update") == "projected" for group in opt.param_groups):
        for group in opt.param_groups:
            for p in group["params"]:
                assert torch.all(p.detach().abs() == 1), (
                    f"binary: projected update left latent weights outside {{-1, +1}}: {p.detach().flatten()[:6].tolist()}"
                )


def check_closure(case: OptimizerCase) -> None:
    model, opt = case.fresh()
    x, y = case.batches[0]
    seen: list[torch.Tensor] = []

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = case.loss_fn(model(x), y)
        loss.backward()
        seen.append(loss)
        return loss

    out = opt.step(closure)
    assert len(seen) >= 1, "closure: step(closure) did not call the closure"
    assert out is seen[-1] or (
        torch.is_tensor(out) and float(out.detach()) == float(seen[-1].detach())
    ), f"closure: step(closure) returned {out!r}, the closure returned {seen[-1]!r}"
    opt.zero_grad()
    case.loss_fn(model(x), y).backward()
    assert opt.step() is None, "closure: step() without a closure must return None"


def check_state_dict(case: OptimizerCase) -> None:
    half = max(len(case.batches) // 2, 1)
    first, second = case.batches[:half], case.batches[half:] or case.batches[:half]
    model, opt = case.fresh()
    case.train(model, opt, first)
    model_state = copy.deepcopy(model.state_dict())
    opt_state = copy.deepcopy(opt.state_dict())
    case.train(model, opt, second)
    expected = _weights(model)

    restored = case.make_model()
    restored.load_state_dict(model_state)
    opt2 = case.make_optimizer(restored)
    opt2.load_state_dict(opt_state)
    case.train(restored, opt2, second)
    assert _same(expected, _weights(restored)), (
        "state_dict: restoring the model and optimizer state did not continue the run identically"
    )


def check_seed(case: OptimizerCase) -> None:
    runs = []
    for _ in range(2):
        model, opt = case.fresh()
        losses = case.train(model, opt)
        assert all(math.isfinite(v) for v in losses), f"seed: non-finite loss {losses}"
        runs.append(_weights(model))
    assert _same(runs[0], runs[1]), (
        "seed: two runs with the same seeds ended with different weights"
    )


def check_non_finite(case: OptimizerCase) -> None:
    x, y = case.batches[0]
    for bad in (float("nan"), float("inf"), float("-inf")):
        for where in ("loss", "grad"):
            model, opt = case.fresh()

            def closure(model: nn.Module = model, opt: torch.optim.Optimizer = opt, where: str = where, bad: float = bad) -> torch.Tensor:
                opt.zero_grad()
                loss = case.loss_fn(model(x), y)
                loss.backward()
                if where == "loss":
                    return loss.detach() + bad
                next(p for p in model.parameters() if p.grad is not None).grad.view(-1)[0] = bad
                return loss

            before = _weights(model)
            try:
                opt.step(closure)
            except ValueError as exc:
                message = str(exc)
                named = "'loss'" if where == "loss" else "'grad of "
                assert named in message and "\n" not in message, f"non_finite: the error must name {named} on one line, got {message!r}"
                assert _same(before, _weights(model)), f"non_finite: a {bad} {where} raised but parameters changed"
                continue
            raise AssertionError(f"non_finite: step took a {bad} {where} without a ValueError")


OPTIMIZER_CHECKS: dict[str, Callable[[OptimizerCase], None]] = {
    "binary": check_binary,
    "closure": check_closure,
    "state_dict": check_state_dict,
    "seed": check_seed,
    "non_finite": check_non_finite,
}


def check_optimizer(
    make_model: Callable[[], nn.Module],
    make_optimizer: Callable[[nn.Module], torch.optim.Optimizer],
    batches: Sequence[Batch] | None = None,
    loss_fn: Callable[..., torch.Tensor] | None = None,
    *,
    checks: Iterable[str] | None = None,
) -> None:
    """Run the optimizer conformance checks (module docstring).

    Args:
        make_model: builds the same model every call (seed inside it).
        make_optimizer: builds the optimizer for a model (fixed seed inside it).
        batches: (inputs, targets) pairs, at least 2 (default: :func:`tiny_problem`'s).
        loss_fn: ``loss_fn(output, target)`` (default: :func:`tiny_problem`'s).
        checks: names from :data:`OPTIMIZER_CHECKS` (default: all).

    Raises:
        AssertionError: naming the failed check.
    """
    if batches is None or loss_fn is None:
        _, default_batches, default_loss = tiny_problem()
        batches = default_batches if batches is None else batches
        loss_fn = default_loss if loss_fn is None else loss_fn
    batches = list(batches)
    if len(batches) < 2:
        raise ValueError(f"'batches' must hold at least 2 batches, got {len(batches)}")
    names = list(OPTIMIZER_CHECKS) if checks is None else list(checks)
    for name in names:
        if name not in OPTIMIZER_CHECKS:
            raise ValueError(
                f"'checks' must name checks from {', '.join(OPTIMIZER_CHECKS)}; got {name!r}"
            )
    case = OptimizerCase(make_model, make_optimizer, batches, loss_fn)
    for name in names:
        OPTIMIZER_CHECKS[name](case)
