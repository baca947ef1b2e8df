"""Resource figures of the decomposed QCBO: spins per solve (built and closed-form), bits per
weight, a sampler's declared size limit, spins per layer, and the weight blocks that keep every
solve within a spin budget (package docstring)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np

from hybridqnn._checks import check_int
from hybridqnn.problems.fip import FIPResult
from hybridqnn.problems.penalty import penalty_parts
from hybridqnn.problems.qcbo import (
    QCBOModel,
    WeightBlock,
    WeightCode,
)
from hybridqnn.train.qcbo.network import _Build


def declared_limit(sampler: Any) -> tuple[int, str] | None:
    """The largest problem (in variables) a sampler declares it can take, or None.

    A sampler declares a limit through ``sampler.properties`` with one of the keys
    ``max_variables``, ``num_qubits`` or ``num_spins`` (checked in that order), or as a
    structured sampler by its ``nodelist`` (its qubit count: a necessary, not sufficient, bound;
    see :func:`hybridqnn.solvers.check_fits` for couplers). Composites are searched through
    their first child. Returns (limit, where it came from).
    """
    props = getattr(sampler, "properties", None) or {}
    if isinstance(props, Mapping):
        for key in ("max_variables", "num_qubits", "num_spins"):
            if key in props and props[key] is not None:
                return int(props[key]), f"properties[{key!r}]"
    nodelist = getattr(sampler, "nodelist", None)
    if nodelist is not None:
        return len(nodelist), "nodelist"
    children = getattr(sampler, "children", None)
    if children:
        return declared_limit(children[0])
    return None


def bits_per_weight(sizes: Sequence[int], codes: Sequence[WeightCode], bias: bool) -> float:
    """Average bits per weight: sum_l n_l (n_{l-1} + bias) log2|levels_l| / sum_l n_l (n_{l-1} + bias)."""
    counts = [sizes[i + 1] * (sizes[i] + int(bias)) for i in range(len(sizes) - 1)]
    return float(
        sum(c * code.bits_per_weight for c, code in zip(counts, codes, strict=True)) / sum(counts)
    )


def spin_formula(
    sizes: Sequence[int],
    codes: Sequence[WeightCode],
    *,
    segments: int | Sequence[int],
    activation_bits: int | Sequence[int],
    loss_segments: int,
    bias: bool,
    num_samples: int,
    slack_bits: int = 3,
) -> dict[str, int]:
    """Closed-form upper bounds on the variables of the QCBO of ``build_qcbo`` on n samples.

    With L layers, widths n_l, weight bits B_l, M_l segments and K_l activation bits per hidden
    layer, M_loss loss segments, bias b in {0, 1} and S slack bits per real inequality:

        weights     W   = sum_{l=1}^{L} n_l (n_{l-1} + b) B_l                   (shared)
        per sample  sel <= sum_{l<L} n_l M_l,   act = sum_{l<L} n_l K_l,
                    prod = sum_{l=2}^{L} n_l n_{l-1} B_l K_{l-1},   lsel <= n_L M_loss,
                    slack <= S (sum_{l<L} n_l (2 + 2 M_l) + 2 n_L [M_loss > 1])
        monolithic  W + n (sel + act + prod + lsel + slack);  one subproblem of one sample:
                    W + sel + act + prod + lsel + slack.

    (Two interval and 2 M tie inequalities per hidden neuron, two interval inequalities per
    output with loss selectors; product equalities need no slack. Inequalities with integer
    data may need a few more or fewer slack bits than S; the built counts of
    :func:`spin_counts` are exact.) Independent of the training-set size per subproblem, as the
    paper's v1 bound says of its own spin bound.
    """
    L = len(sizes) - 1
    segs = (segments,) * (L - 1) if isinstance(segments, int) else tuple(segments)
    kb = (
        (activation_bits,) * (L - 1) if isinstance(activation_bits, int) else tuple(activation_bits)
    )
    b = int(bias)
    weights = sum(
        sizes[li] * (sizes[li - 1] + b) * codes[li - 1].num_bits for li in range(1, L + 1)
    )
    sel = sum(sizes[li] * segs[li - 1] for li in range(1, L))
    act = sum(sizes[li] * kb[li - 1] for li in range(1, L))
    prod = sum(
        sizes[li] * sizes[li - 1] * codes[li - 1].num_bits * kb[li - 2] for li in range(2, L + 1)
    )
    lsel = sizes[L] * loss_segments if loss_segments > 1 else 0
    slack = slack_bits * (
        sum(sizes[li] * (2 + 2 * segs[li - 1]) for li in range(1, L))
        + (2 * sizes[L] if loss_segments > 1 else 0)
    )
    per_sample = sel + act + prod + lsel + slack
    return {
        "weights": weights,
        "per_sample": per_sample,
        "subproblem": weights + per_sample,
        "monolithic": weights + num_samples * per_sample,
    }


def ising_spins(model: QCBOModel, slack_bits: int) -> int:
    """Bits of the Ising problem an oracle sees for ``model``: CQM variables + slack + aux bits."""
    return len(penalty_parts(model.cqm, slack_bits=slack_bits).variables)


def spins_by_layer(variables: Sequence[Any]) -> dict[int, int]:
    """Spins of a QCBO's Ising problem per layer l (1-based), from the variable labels of
    :func:`hybridqnn.problems.qcbo.build_qcbo` and the penalty reduction: weight bits
    ("w", l, ...), selectors, activation and product bits (kind, s, l, ...), loss selectors
    (the output layer), slack bits of the constraints of layer l (labels ".../s/l/j..." of
    neuron constraints, "loss/..." for the output layer) and auxiliary product bits (by
    their first factor)."""
    weights_layers = [v[1] for v in variables if isinstance(v, tuple) and v[0] == "w"]
    L = max(weights_layers, default=1)
    out: dict[int, int] = {}

    def layer(v: Any) -> int:
        if not isinstance(v, tuple):
            return L
        kind = v[0]
        if kind == "w":
            return int(v[1])
        if kind in ("sel", "a", "p"):
            return int(v[2])
        if kind == "aux":
            return layer(v[1])
        if kind == "slack":
            parts = str(v[1]).split("/")
            if parts[1] in ("z",):
                return int(parts[3])
            if parts[1] == "loss":
                return L
            return int(parts[2])
        return L

    for v in variables:
        li = layer(v)
        out[li] = out.get(li, 0) + 1
    return out


def spin_counts(
    X: np.ndarray,
    y: np.ndarray,
    sizes: Sequence[int],
    codes: Sequence[WeightCode],
    *,
    fip: FIPResult,
    activation_bits: Sequence[int],
    loss: str,
    loss_segments: int,
    batch_size: int = 1,
    slack_bits: int = 3,
    products: str = "variables",
    max_spins: int | None = None,
    weights: Sequence[np.ndarray] | None = None,
) -> dict[str, Any]:
    """Exact spins per solve: every subproblem built and reduced, and the monolithic total.

    Returns ``monolithic_spins`` (= weights + sum_b (spins_b - weights), exact with
    ``products="variables"``), ``subproblem_spins_max``/``_mean``, ``weight_spins``,
    ``monolithic_cqm_variables``, ``subproblem_cqm_variables_max`` and ``spin_ratio``
    (monolithic / largest subproblem). With ``max_spins``, the subproblems are the block
    subproblems of :func:`plan_blocks` (the other weights at ``weights``, default every weight
    at its code's largest level), so ``subproblem_*`` count what one solve sees, and the result
    adds ``max_spins`` and ``num_blocks``; the monolithic figures stay those of the full model.
    """
    build = _Build(
        tuple(sizes), tuple(codes), fip, tuple(activation_bits), loss, loss_segments, products
    )
    n = X.shape[0]
    batches = [list(range(start, min(n, start + batch_size))) for start in range(0, n, batch_size)]
    spins, cqm_vars = [], []
    wcount = 0
    for ids in batches:
        m = build.model(X[ids], y[ids], ids)
        wcount = m.counts["weights"]
        spins.append(ising_spins(m, slack_bits))
        cqm_vars.append(len(m.cqm.variables))
    mono = wcount + sum(s - wcount for s in spins)
    out = {
        "weight_spins": wcount,
        "monolithic_spins": mono,
        "monolithic_cqm_variables": wcount + sum(c - wcount for c in cqm_vars),
        "num_subproblems": len(spins),
        "spin_ratio": mono / max(spins),
    }
    if max_spins is not None:
        if weights is None:
            weights = [
                np.full((sizes[li], sizes[li - 1] + int(fip.bias)), codes[li - 1].levels[-1])
                for li in range(1, len(sizes))
            ]
        blocks = plan_blocks(build, X, y, batches, weights, max_spins, slack_bits)
        models = [build.model(X[ids], y[ids], ids, b, weights) for b in blocks for ids in batches]
        spins = [ising_spins(m, slack_bits) for m in models]
        cqm_vars = [len(m.cqm.variables) for m in models]
        out.update(max_spins=max_spins, num_blocks=len(blocks), num_subproblems=len(spins))
    return {
        **out,
        "subproblem_spins_max": max(spins),
        "subproblem_spins_mean": float(np.mean(spins)),
        "subproblem_cqm_variables_max": max(cqm_vars),
    }


def block_spins(
    build: _Build,
    X: np.ndarray,
    y: np.ndarray,
    slack_bits: int,
    block: WeightBlock | None,
    weights: Sequence[np.ndarray] | None,
    ids: Sequence[int],
) -> int:
    """Spins (:func:`ising_spins`) of the subproblem of samples ``ids`` (rows of X) over
    ``block`` with the other weights at ``weights`` (every weight free with ``block=None``)."""
    ids = [int(i) for i in ids]
    return ising_spins(build.model(X[ids], y[ids], ids, block, weights), slack_bits)


def plan_blocks(
    build: _Build,
    X: np.ndarray,
    y: np.ndarray,
    batches: Sequence[Sequence[int]],
    weights: Sequence[np.ndarray],
    max_spins: int,
    slack_bits: int = 3,
    map_: Callable[..., Iterable[int]] = map,
    probes: int = 8,
) -> list[WeightBlock | None]:
    """The fewest blocks whose subproblems all fit ``max_spins``: ``[None]`` (one block of every
    weight) when the full subproblems fit, else blocks of consecutive rows, layer by layer.

    A block's subproblem is the block model of each batch (:func:`block_spins`; our choice, see
    the package docstring, "Blocks"). Spins only grow with the rows of a block, so the greedy
    split is the fewest: from row 0, each block takes the most rows whose subproblems on
    ``probes`` evenly spaced batches fit (a binary search); every block is then measured on every
    batch and, where one does not fit, halved until all do.

    Args:
        build: the network's subproblem builder.
        X: the training inputs; ``batches`` index them.
        y: the training labels.
        batches: the subproblems' samples (rows of X).
        weights: the values of the weights outside each block (levels).
        max_spins: the budget, >= 1.
        slack_bits: as for :func:`ising_spins`.
        map_: how the measurements are mapped (``builtins.map`` or an executor's ``map``).
        probes: batches measured while the blocks are grown.

    Raises:
        ValueError: a single row whose subproblem needs more than ``max_spins`` spins (naming
            the layer, the row, its spin count and the budget).
    """
    max_spins = check_int("max_spins", max_spins, 1)
    count = partial(block_spins, build, X, y, slack_bits)

    def worst(block: WeightBlock | None, ids: Sequence[Sequence[int]]) -> tuple[int, Sequence[int]]:
        spins = list(map_(partial(count, block, weights), ids))
        k = int(np.argmax(spins))
        return spins[k], ids[k]

    pick = np.unique(np.linspace(0, len(batches) - 1, min(probes, len(batches))).astype(int))
    probe = [batches[i] for i in pick]
    if worst(None, probe)[0] <= max_spins and worst(None, batches)[0] <= max_spins:
        return [None]
    grown: list[WeightBlock] = []
    for layer, n_rows in enumerate(build.sizes[1:], start=1):
        start = 0
        while start < n_rows:
            stop = _longest_fit(
                lambda stop: worst(WeightBlock(layer, start, stop), probe),  # noqa: B023
                WeightBlock(layer, start, start + 1),
                n_rows,
                max_spins,
                build.sizes,
            )
            grown.append(WeightBlock(layer, start, stop))
            start = stop
    blocks: list[WeightBlock | None] = []
    while grown:
        block = grown.pop(0)
        spins, ids = worst(block, batches)
        if spins <= max_spins:
            blocks.append(block)
        elif len(block.rows) == 1:
            raise row_over_budget(block, spins, ids, max_spins, build.sizes)
        else:
            grown[:0] = split_block(block, build.sizes)
    return blocks


def split_block(block: WeightBlock | None, sizes: Sequence[int]) -> list[WeightBlock]:
    """``block``'s rows in two halves (the first one row shorter when odd); the block of every
    weight (None) into one block per layer."""
    if block is None:
        return [WeightBlock(li, 0, sizes[li]) for li in range(1, len(sizes))]
    mid = (block.start + block.stop) // 2
    return [WeightBlock(block.layer, block.start, mid), WeightBlock(block.layer, mid, block.stop)]


def _longest_fit(
    worst: Callable[[int], tuple[int, Sequence[int]]],
    first: WeightBlock,
    n_rows: int,
    max_spins: int,
    sizes: Sequence[int],
) -> int:
    """The largest stop in [first.stop, n_rows] whose block from ``first.start`` fits (spins
    grow with stop); ``first`` (one row) must fit."""
    spins, ids = worst(first.stop)
    if spins > max_spins:
        raise row_over_budget(first, spins, ids, max_spins, sizes)
    lo, hi = first.stop, n_rows
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if worst(mid)[0] <= max_spins:
            lo = mid
        else:
            hi = mid - 1
    return lo


def row_over_budget(
    block: WeightBlock, spins: int, ids: Sequence[int], max_spins: int, sizes: Sequence[int]
) -> ValueError:
    """The one-line error for a single row whose subproblem (samples ``ids``) needs ``spins``
    spins, over the budget ``max_spins``: when the blocks are planned, and when a later grid
    (after the bit-scale step) makes a one-row block outgrow the budget during training."""
    layer = block.layer
    return ValueError(
        f"'max_spins' is {max_spins}, but row {block.start} of layer {layer} "
        f"({sizes[layer - 1]} -> {sizes[layer]}) alone needs {spins} spins per solve (samples "
        f"{[int(i) for i in ids][:4]}): raise max_spins or use a narrower layer"
    )
