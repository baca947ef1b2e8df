"""``qpsbgd-a1a-2layer``: the 3→5→1 network of the D-Wave runs on a1a features 6, 22, 36
(Krahn et al., arXiv 2310.15128; notebook ``2LayerDWave``), protocol in :func:`run_a1a_2layer`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hybridqnn.experiments.context import RunContext
from hybridqnn.experiments.params import list_field
from hybridqnn.experiments.qpsbgd import common

PAPER_A1A_2: tuple[dict[str, Any], ...] = (
    {"claim": "protocol", "paper": "a1a features 6, 22, 36; 3->5->1; B=20, 30 updates; seeds 0-4"},
    {
        "claim": "learning rates",
        "paper": "SGD 0.01, signSGD 0.005, QP-SBGD(G) 0.008, QP-SBGD(D-Wave) 0.008",
    },
    {"claim": "result", "paper": "training-batch accuracy per update (figure only, no numbers)"},
)

DESCRIPTION = "3->5->1 binary net on a1a features 6, 22, 36: batch accuracy per update incl. the XNOR penalty QUBO (arXiv 2310.15128)"
#: The report's figure: file name and title.
FIGURE = ("a1a_2layer_batch_accuracy", "3->5->1 binary net on a1a")


@dataclass(frozen=True)
class A1A2Params(common.MLPParams):
    """The 3→5→1 network on a1a features 6, 22, 36 (protocol in :func:`run_a1a_2layer`)."""

    methods: list[str] = list_field(
        "qpsbgd-sm", "qpsbgd-xnor", "qpsbgd-ls", "bc-sgd", "bc-signsgd", help="methods to run", choices=common.METHODS, nonempty=True
    )
    lr: dict[str, float] = common.lr_default(**common.TWO_LAYER_LR)
    features: list[int] = list_field(6, 22, 36, help="0-based a1a feature columns", low=0, high=122, nonempty=True)

    def check_rules(self) -> None:
        super().check_rules()
        self.check_xnor_fan_in(len(self.features), f"{len(self.features)} features")



def run_a1a_2layer(ctx: RunContext, p: A1A2Params) -> None:
    """The 2-layer network of the D-Wave runs (notebook ``2LayerDWave``), per-update batch accuracy.

    Protocol from the authors' code: a1a columns 6, 22 and 36 (read as 0-based columns of the
    dense 123-feature matrix; the notebook's indexing base is not stated), as spins; 3 → 5 → 1
    binary, no bias, sign activations including the output, BCE on the ±1 output; the shuffled
    (numpy seed 2) training rows in order, batch 20, 30 updates (one pass over 600 rows); seeds
    0–4 (here: five keyed seeds of the master ``--seed``); learning rates SGD 0.01 (here BC-SGD), signSGD 0.005 (BC-signSGD), QP-SBGD 0.008 for
    both the exact (Gurobi, here ``milp``) and the D-Wave variant (here the XNOR/threshold penalty
    QUBO, λ = 50, solved by ``solver``: simulated annealing stands in for the QPU). The curve is the
    accuracy on the training batch after each update, as in the notebook; the least-squares
    variant is added for comparison. Best effort: more updates (several epochs, reshuffled with the
    seed) and the widened STE window.
    """
    from hybridqnn.data import a1a_spins, load_dataset

    a1a = load_dataset("a1a", data_dir=ctx.data_dir)
    rows: list[dict[str, Any]] = []
    panels = []
    for name in p.settings:
        q = common.setting(p, name)
        x, y, xt, yt = a1a_spins(a1a, features=q.features)
        if q.test_size is not None:
            xt, yt = xt[: q.test_size], yt[: q.test_size]
        one_pass = q.updates * q.batch_size <= len(x)
        r, c = common.run_mlp_grid(
            ctx,
            q,
            name,
            "a1a-3feat",
            [len(q.features), q.hidden, 1],
            (x, y, xt, yt),
            batch_seed=(lambda s: None) if one_pass else (lambda s: s),
            saving=common.a1a_saving(q.features, q.test_size),
        )
        rows += r
        title = f"a1a 3->{q.hidden}->1 ({name}): batch accuracy after update"
        panels.append(
            common.curve_panel(title, "update", "training-batch accuracy", c["batch_accuracy"])
        )
    common.report(
        ctx, rows, panels, "final_batch_accuracy", "batch accuracy after the last update", FIGURE
    )


common.register_training(
    "qpsbgd-a1a-2layer", A1A2Params, run_a1a_2layer, DESCRIPTION, PAPER_A1A_2,
    metric="final_batch_accuracy", paper_headline="batch accuracy curves (figure only)",
    key_columns=("final_batch_accuracy", "test_accuracy", "train_loss", "train_time_s", "gap_to_best_baseline"),
)
