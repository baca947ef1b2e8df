"""Dummy experiments and shipped configs for the experiments/CLI tests.

Opt in with ``pytestmark = pytest.mark.usefixtures("toy_registry")``: the built-in experiment
modules are then never imported (``BUILTIN_MODULES`` is emptied), the registry is replaced by
one holding only the toys (and restored after the test) and the shipped-config directory points
at a temporary directory holding ``toy.toml`` and ``bench-toy.toml``. Tests of the real shipped
configs in this directory simply don't use the fixture.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pytest

from hybridqnn.experiments import config as config_mod
from hybridqnn.experiments import registry
from hybridqnn.experiments.registry import Experiment, register


@dataclass(frozen=True)
class ToyParams:
    epochs: int = field(default=2, metadata={"help": "number of epochs"})
    lr: float = 0.1
    dataset: str = "digits"
    bits: list[int] = field(default_factory=lambda: [4, 8])
    tags: list[str] = field(default_factory=list)
    scale: float | None = None
    verbose: bool = False
    mode: Literal["fast", "slow"] = "fast"
    fail_at: int | None = field(default=None, metadata={"help": "raise RuntimeError at this epoch"})
    interrupt_at: int | None = None
    plot: bool = True

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"'epochs' must be >= 1, got {self.epochs}")


def toy_run(ctx, p: ToyParams) -> None:
    rng = np.random.default_rng(ctx.seed)
    for epoch in ctx.progress(range(p.epochs), total=p.epochs, desc="epochs"):
        if p.fail_at == epoch:
            raise RuntimeError("boom\nat epoch")
        if p.interrupt_at == epoch:
            raise KeyboardInterrupt
        loss = float(rng.random())
        ctx.log(epoch=epoch, loss=np.float32(loss))
        for bits in p.bits:
            ctx.add_row(
                {
                    "method": "toy",
                    "dataset": p.dataset,
                    "bits": np.int64(bits),
                    "epoch": epoch,
                    "test_accuracy": np.float64(rng.random()),
                    "seed": ctx.seed,
                }
            )
    if p.plot:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(2, 2))
        fig.add_subplot().plot([0, 1], [1, 0])
        ctx.save_figure("loss", fig)
    ctx.note("A toy note.")


@dataclass(frozen=True)
class BenchParams:
    repeats: int = 2
    drop_key: str | None = None


def bench_run(ctx, p: BenchParams) -> None:
    for impl, seconds in (("dense", 0.5), ("reference", 1.0)):
        row = {
            "case": "n=8",
            "impl": impl,
            "seconds": seconds,
            "energy": -3.0,
            "baseline": "reference",
            "speedup_vs_baseline": 1.0 / seconds,
        }
        if p.drop_key:
            row.pop(p.drop_key)
        ctx.add_row(row)


TOY = Experiment(
    name="toy",
    params=ToyParams,
    run=toy_run,
    description="A toy experiment.",
    paper=({"method": "toy", "dataset": "digits", "test_accuracy": 0.9},),
)
TOY_BENCH = Experiment(
    name="toy-bench", params=BenchParams, run=bench_run, description="A toy bench.", kind="bench"
)

TOY_TOML = """\
experiment = "toy"
description = "Toy config."
seed = 7
[params]
epochs = 2
bits = [4]
[quick]
epochs = 1
dataset = "tiny"
"""

BENCH_TOML = """\
experiment = "toy-bench"
description = "Toy benchmark."
[params]
repeats = 3
"""


@pytest.fixture
def toy_registry(monkeypatch, tmp_path_factory):
    """Register the toy experiments and ship two toy configs; restore everything after."""
    monkeypatch.setattr(registry, "BUILTIN_MODULES", ())
    monkeypatch.setattr(registry, "_REGISTRY", {})
    register(TOY)
    register(TOY_BENCH)
    shipped = tmp_path_factory.mktemp("shipped")
    (shipped / "toy.toml").write_text(TOY_TOML)
    (shipped / "bench-toy.toml").write_text(BENCH_TOML)
    monkeypatch.setattr(config_mod, "_config_root", lambda: shipped)
    monkeypatch.delenv("HYBRIDQNN_DEBUG", raising=False)
    return shipped


@pytest.fixture
def toy(toy_registry) -> Experiment:
    """The registered toy experiment (its ``params`` is ToyParams)."""
    return TOY


@pytest.fixture
def write_config(toy_registry, tmp_path):
    """Write a TOML config into tmp_path and return its path."""

    def write(text: str = TOY_TOML, name: str = "cfg.toml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write
