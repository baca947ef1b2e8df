"""Training loops of natural quantization: fit_natural, train_natural_epoch, vote_error,
load_natural_data."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from hybridqnn.nn import NaturalQuantizedMLP, SignMLP
from hybridqnn.train import fit_natural, load_natural_data, train_natural_epoch, vote_error


def _data(n: int = 96, features: int = 12, classes: int = 3, seed: int = 0):
    """Linearly separable toy classes."""
    gen = torch.Generator().manual_seed(seed)
    centers = torch.randn(classes, features, generator=gen) * 2
    y = torch.arange(n) % classes
    x = centers[y] + 0.5 * torch.randn(n, features, generator=gen)
    return x, y


def _model(seed: int = 0) -> NaturalQuantizedMLP:
    return NaturalQuantizedMLP(12, 32, 2, 3, a=0.3, g=1.2, seed=seed)


def test_fit_learns_and_records_every_epoch() -> None:
    x, y = _data()
    logged: list[dict] = []
    result = fit_natural(
        _model(), x, y, x, y, epochs=6, batch_size=16, shots=5, eval_every=2,
        generator=torch.Generator().manual_seed(1), log=logged.append,
    )  # fmt: skip
    assert [r["epoch"] for r in result.history] == list(range(1, 7))
    assert logged == result.history
    votes = [r["val_error_vote"] for r in result.history]
    assert votes[0] is None and votes[1] is not None and votes[-1] is not None
    assert result.best_val_error == min(v for v in votes if v is not None)
    assert result.history[result.best_epoch - 1]["val_error_vote"] == result.best_val_error
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]
    assert result.best_val_error < 0.5 and result.train_seconds > 0


def test_same_seeds_same_run() -> None:
    x, y = _data()

    def run() -> list[dict]:
        gen = torch.Generator().manual_seed(3)
        return fit_natural(_model(2), x, y, x, y, epochs=2, shots=3, generator=gen).history

    assert run() == run()


def test_epoch_and_vote_error_work_for_the_sign_network() -> None:
    x, y = _data()
    model = SignMLP(12, 32, 2, 3, seed=0)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    gen = torch.Generator().manual_seed(0)
    loss, err = train_natural_epoch(model, opt, x, y, 32, gen)
    assert loss > 0 and 0 <= err <= 1
    # a deterministic network: every vote is the same single-shot prediction
    assert vote_error(model, x, y, 7, gen) == float((model(x).argmax(1) != y).float().mean())


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"epochs": 0}, "'epochs' must be an integer >= 1, got 0"),
        ({"batch_size": 0}, "'batch_size' must be an integer >= 1, got 0"),
        ({"lr": 0.0}, "'lr' must be a finite number > 0.0, got 0.0"),
        ({"momentum": 1.5}, "'momentum' must be a finite number in [0.0, 1.0], got 1.5"),
        ({"shots": 0}, "'shots' must be an integer >= 1, got 0"),
        ({"eval_every": 0}, "'eval_every' must be an integer >= 1, got 0"),
    ],
)
def test_bad_arguments_are_one_line_errors(kwargs: dict, text: str) -> None:
    x, y = _data(8)
    with pytest.raises(ValueError) as info:
        fit_natural(_model(), x, y, x, y, **kwargs)
    assert text in str(info.value) and "\n" not in str(info.value)


def test_load_natural_data_is_the_first_images_flattened(shared_data: Path) -> None:
    data_dir = shared_data
    xtr, ytr, xte, yte = load_natural_data("mnist", 300, 200, data_dir)
    assert xtr.shape == (300, 784) and xte.shape == (200, 784)
    assert xtr.dtype == torch.float32 and ytr.dtype == torch.int64
    assert 0.0 <= float(xtr.min()) and float(xtr.max()) <= 1.0
    again = load_natural_data("mnist", 100, None, data_dir)
    assert torch.equal(again[0], xtr[:100]) and again[2].shape == (10000, 784)
    with pytest.raises(ValueError, match="'train_size' must be an integer >= 1, got 0"):
        load_natural_data("mnist", 0)


