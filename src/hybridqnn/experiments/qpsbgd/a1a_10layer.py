"""``qpsbgd-a1a-10layer``: the 10-layer binary MLP on a1a, the protocol of the paper's Fig. 3
(Krahn et al., arXiv 2310.15128; notebook ``10LayerMLP``), protocol in :func:`run_a1a_10layer`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hybridqnn.experiments.context import RunContext
from hybridqnn.experiments.params import COUNT, MAX_WIDTH, POSITIVE, param
from hybridqnn.experiments.qpsbgd import common
from hybridqnn.experiments.toolkit import Timer

PAPER_A1A_10: tuple[dict[str, Any], ...] = (
    {"claim": "protocol", "paper": "123->128 (x9)->1 binary, B=16, 64 updates, torch seeds 5-9"},
    {
        "claim": "learning rates",
        "paper": "QP-SBGD(G) 0.1, BC-SGD 0.01, BC-signSGD 0.02, ProxQuant 0.1",
    },
    {
        "claim": "result",
        "paper": "training-loss curves (mean, min/max); QP-SBGD lowest (figure only, no numbers)",
    },
)

DESCRIPTION = "10-layer binary MLP on a1a, training-loss curves: QP-SBGD vs BC-SGD, BC-signSGD, ProxQuant (arXiv 2310.15128)"
#: The report's figure: file name and title.
FIGURE = ("a1a_10layer_loss", "10-layer binary MLP on a1a: batch training loss")


@dataclass(frozen=True)
class A1A10Params(common.MLPParams):
    """The 10-layer binary MLP on a1a (protocol in :func:`run_a1a_10layer`)."""

    hidden: int = param(128, help="hidden width", low=1, high=MAX_WIDTH)
    hidden_layers: int = param(9, help="hidden layers of width hidden", low=0, high=MAX_WIDTH)
    batch_size: int = param(16, help="mini-batch size", **COUNT)
    updates: int = param(64, help="parameter updates", **COUNT)
    batches_per_epoch: int | None = param(
        32, help="batches per epoch (the notebook: 32; None: all)", **COUNT
    )
    test_size: int | None = param(
        2000, help="a1a test rows evaluated (None: all 30956)", **COUNT
    )
    time_budget_s: float = param(
        120.0, help="the issue's target for the whole paper setting", **POSITIVE
    )



def _timing_row(ctx: RunContext, q: A1A10Params, name: str, seconds: float, budget: float) -> None:
    ctx.add_row(
        {
            "method": "all",
            "dataset": "a1a",
            "setting": name,
            "seeds": q.repeats,
            "runs": len(q.methods) * q.repeats,
            "updates": q.updates,
            "wall_time_s": seconds,
            "meets_time_budget": bool(seconds <= budget) if name == "paper" else None,
        }
    )
    ctx.note(
        f"{name} setting: {len(q.methods)} methods x {q.repeats} seeds x {q.updates} updates took "
        f"{seconds:.1f} s (target for the paper setting: <= {budget:g} s)."
    )


def run_a1a_10layer(ctx: RunContext, p: A1A10Params) -> None:
    """The 10-layer binary MLP on a1a (the paper's Fig. 3 right; notebook ``10LayerMLP``).

    Protocol from the authors' code: 123 → 128 (×9 hidden) → 1, ``BinaryLinear`` without bias,
    sign activations after every layer including the output (hardtanh STE), the ±1 output fed to
    ``BCEWithLogitsLoss`` against 0/1 labels; inputs as spins; latent weights U(−s, s),
    s = √(1.5/(fan_in + fan_out)) (:class:`~hybridqnn.nn.BinaryMLP`); the 1605 training rows
    shuffled once with numpy seed 2 and taken in order (:func:`hybridqnn.data.a1a_spins`), batch
    16, 32 batches per epoch (so both epochs use the first 512 rows, in the same order), 2 epochs
    = 64 updates; torch seeds 5–9 (here: five keyed seeds of the master ``--seed``, each the
    init generator's and the sampler's seed); learning rates QP-SBGD 0.1,
    BC-SGD 0.01, BC-signSGD 0.02, ProxQuant 0.1. The curve is the training loss of each batch
    before its update (mean and min/max band over the seeds).

    Deviations: the paper's QP-SBGD(G) solved the sign-matching problem with Gurobi over all
    128×128 weights of a layer at once; within the issue's 2-minute budget we run the
    least-squares projection (``qpsbgd-ls``, the default solver) instead; ``qpsbgd-sm`` can be
    selected with ``methods`` (very slow at this width). The notebook divides each column of X by
    its squared norm before the Gurobi solve; QPSBGD's least-squares problem uses X as recorded.
    Test accuracy is measured on ``test_size`` test rows (the notebook reports training loss only).
    Best effort (``best_effort``; shipped config: the STE window widened to √fan_in, 256 updates
    over all 100 batches of the training set, no column scaling).
    """
    from hybridqnn.data import a1a_spins, load_dataset

    a1a = load_dataset("a1a", data_dir=ctx.data_dir)
    rows: list[dict[str, Any]] = []
    panels = []
    timings: dict[str, float] = {}
    for name in p.settings:
        q = common.setting(p, name)
        x, y, xt, yt = a1a_spins(a1a)
        if q.test_size is not None:
            xt, yt = xt[: q.test_size], yt[: q.test_size]
        sizes = [x.shape[1], *([q.hidden] * q.hidden_layers), 1]
        with Timer() as t:
            r, c = common.run_mlp_grid(
                ctx,
                q,
                name,
                "a1a",
                sizes,
                (x, y, xt, yt),
                batch_seed=lambda s: None,
                saving=common.a1a_saving(None, q.test_size),
            )
        timings[name] = t.seconds
        rows += r
        panels.append(
            common.curve_panel(
                f"a1a 10-layer ({name})", "update", "batch training loss (BCE)", c["loss"]
            )
        )
    common.report(
        ctx,
        rows,
        panels,
        "train_loss",
        "final training loss (full training set)",
        FIGURE,
        higher_is_better=False,
    )
    for name, seconds in timings.items():
        _timing_row(ctx, common.setting(p, name), name, seconds, p.time_budget_s)


common.register_training(
    "qpsbgd-a1a-10layer", A1A10Params, run_a1a_10layer, DESCRIPTION, PAPER_A1A_10,
    metric="train_loss", paper_headline="QP-SBGD lowest training loss (figure only)",
    key_columns=("train_loss", "test_accuracy", "lr", "train_time_s", "gap_to_best_baseline"),
)
