"""The classical baselines of QCBO training: quantization-aware training (:func:`fit_qat`) and
the line-search control with every weight voting (:func:`fit_greedy_moves`)."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np

from hybridqnn._checks import check_bool, check_choice, check_float, check_int
from hybridqnn.nn.functional import identity_straight_through
from hybridqnn.problems.qcbo import (
    WeightCode,
    check_network_data,
)
from hybridqnn.train.progress import Progress, check_progress
from hybridqnn.train.qcbo.moves import (
    SAMPLER_FREE_MOVES,
    MoveContext,
    _adjacent_moves,
    _line_search,
    apply_moves,
)
from hybridqnn.train.qcbo.network import (
    _Architecture,
    _best_qcbo_start,
    _best_start,
    _bit_scales,
    _checked_architecture,
    _codes,
    _history_rank,
    _network_keywords,
    _network_setup_from,
    _per_hidden,
    _rank,
    _signs,
    _start,
    _train_score,
)
from hybridqnn.train.qcbo.results import QATResult, QCBOResult


def fit_greedy_moves(
    X: np.ndarray,
    y: np.ndarray,
    sizes: Sequence[int],
    weights: WeightCode | Sequence[WeightCode] | None = None,
    *,
    iterations: int = 5,
    bit_scale: bool = True,
    scale_target: float = 1.0,
    select: str = "accuracy",
    seed: int | None = None,
    restarts: int = 1,
    warm_start: QCBOResult | QATResult | None = None,
    moves: Sequence[str] = (),
    progress: Progress | None = None,
    **network: Any,
) -> QCBOResult:
    """The classical control for :func:`fit_qcbo`'s ``line-search`` consensus: the same network,
    random start (same ``seed``: same starting weights), line search, bit-scale step and
    selection, with no subproblem solved: every weight votes, with equal strength, for each of
    its adjacent levels. Each iteration costs one forward pass per candidate (about two per
    weight). If this matches :func:`fit_qcbo`, the line search, not the QCBO subproblems, did
    the learning.

    The search stops at a start-dependent local optimum (no single or combined move of the
    ranked candidates improves the training score), usually within 5-20 iterations. With
    ``restarts`` > 1 it runs from that many random starts (child seeds of ``seed``) and returns
    the run whose selected network ranks best on the training set (``select``);
    ``timing['total_s']`` sums all runs. Measured on 300 Fashion-MNIST samples (16-4-1, 20
    iterations, 12 starts, about 12 s): the test accuracy of single starts spans 0.68-0.93 on
    T-shirt/trouser at 1 bit, and the best-of-12 run scores 0.928 against 0.910 for QAT (3
    restarts) on the same samples; over the 8 two-class settings it is 3.8 points above to 3.0
    below QAT.

    ``warm_start`` starts from a trained network instead. ``moves`` are registered moves that
    call no sampler (:data:`~hybridqnn.train.qcbo.moves.SAMPLER_FREE_MOVES`), applied after the
    line search as :func:`fit_qcbo` applies its ``moves``: ``moves=["pair"]`` beside
    ``fit_qcbo(moves=["qubo"])`` is the control with every classical part of QPH (line search,
    exact pair search) and none of its Ising solves. ``network`` takes :func:`fit_qcbo`'s
    network keywords with its defaults (``activations``, ``segments``, ``activation_bits``,
    ``loss``, ``loss_segments``, ``bias``, ``input_low``, ``input_high``, ``input_unit``: the
    integer grid; :data:`~hybridqnn.train.qcbo.network.NETWORK_DEFAULTS`).

    Returns a :class:`QCBOResult` with empty ``spins``; ``history`` records ``iteration``,
    ``train_loss``, ``train_accuracy``, ``moved_weights``, ``scales``, ``seconds`` and each
    move's record, its keys prefixed with the move's name (as :func:`fit_qcbo`'s).
    ``progress(t, iterations)`` is called after each iteration (:mod:`hybridqnn.train.progress`;
    restarts share one count).
    """
    network = _network_keywords("fit_greedy_moves", network)
    if check_int("restarts", restarts, 1) > 1:
        args = {k: v for k, v in locals().items() if k != "network"}
        return _best_qcbo_start(fit_greedy_moves, {**args, **network}, restarts, seed, select)
    setup = _greedy_setup(
        {"X": X, "y": y, "sizes": sizes, "weights": weights, **network},
        iterations, bit_scale, scale_target, select, seed, moves,
    )
    progress = check_progress(progress)
    start = time.perf_counter()
    init_seq = np.random.SeedSequence(setup.seed).spawn(3)[0]  # fit_qcbo's starting weights
    codes, ws, initial = _start(
        warm_start, np.random.default_rng(init_seq), setup.codes, setup.shapes, setup.X,
        setup.y_model, setup.y_pm, setup.arch, setup.bit_scale, setup.scale_target,
    )
    history, (best_t, best_w, best_codes) = _greedy_search(setup, ws, codes, progress)
    timing = {"total_s": time.perf_counter() - start}
    timing |= dict.fromkeys(("solve_s", "wall_solve_s", "oracle_s", "oracle_calls"), 0.0)
    net = setup.arch.network(best_codes)
    box = setup.arch.box
    return QCBOResult(best_w, best_codes, net, history, {}, timing, best_t, setup.seed, box, initial)


@dataclass(frozen=True, eq=False)
class _GreedySetup:
    """:func:`fit_greedy_moves`'s validated data, network and settings (fixed during a run)."""

    X: np.ndarray
    y_model: np.ndarray
    y_pm: np.ndarray
    codes: list[WeightCode]
    arch: _Architecture
    shapes: list[tuple[int, int]]
    iterations: int
    bit_scale: bool
    scale_target: float
    select: str
    seed: int | None
    moves: tuple[str, ...]


def _greedy_setup(
    network: dict[str, Any],
    iterations: int,
    bit_scale: bool,
    scale_target: float,
    select: str,
    seed: int | None,
    moves: Sequence[str],
) -> _GreedySetup:
    """Validate :func:`fit_greedy_moves`'s arguments: first ``network`` (the data, sizes,
    weights and network keywords, :func:`_network_setup_from`), then the settings in the
    signature's order, so the first bad one is the one reported."""
    X, sizes, codes, arch, y_model, y_pm = _network_setup_from(network)
    shapes = [(sizes[li], sizes[li - 1] + int(arch.bias)) for li in range(1, len(sizes))]
    return _GreedySetup(
        X,
        y_model,
        y_pm,
        codes,
        arch,
        shapes,
        iterations=check_int("iterations", iterations, 1),
        bit_scale=check_bool("bit_scale", bit_scale),
        scale_target=check_float("scale_target", scale_target, 0.0, low_open=True),
        select=check_choice("select", select, ("accuracy", "loss")),
        seed=None if seed is None else check_int("seed", seed, 0),
        moves=tuple(check_choice("moves", m, SAMPLER_FREE_MOVES) for m in moves),
    )


def _greedy_search(
    setup: _GreedySetup, ws: list[np.ndarray], codes: list[WeightCode], progress: Progress | None
) -> tuple[list[dict[str, Any]], tuple[int, list[np.ndarray], list[WeightCode]]]:
    """``setup.iterations`` greedy steps from ``(ws, codes)``: the history and the best network
    seen, ``(iteration, weights, codes)``, ranked by :func:`_history_rank` (``setup.select``;
    ties: the earliest)."""
    history: list[dict[str, Any]] = []
    best: tuple[tuple[float, float], int, list[np.ndarray], list[WeightCode]] | None = None
    for t in range(setup.iterations):
        ws, codes, record = _greedy_step(setup, ws, codes, t)
        history.append(record)
        key = _history_rank(record, setup.select)
        if best is None or key < best[0]:
            best = (key, t, [w.copy() for w in ws], list(codes))
        if progress is not None:
            progress(t + 1, setup.iterations)
    assert best is not None
    return history, best[1:]


def _greedy_step(
    setup: _GreedySetup, ws: list[np.ndarray], codes: list[WeightCode], t: int
) -> tuple[list[np.ndarray], list[WeightCode], dict[str, Any]]:
    """One iteration of :func:`fit_greedy_moves`: every weight votes, with equal strength, for
    each adjacent level; the line search applies the ranked votes; then the output bit-scale
    step. Returns the new weights, codes and the history record."""
    t0 = time.perf_counter()
    X, y_model, y_pm, arch = setup.X, setup.y_model, setup.y_pm, setup.arch
    moves = [(1.0, *m) for m in _adjacent_moves(ws, codes)]
    net = arch.network(codes)
    moved, ws = _line_search(ws, moves, partial(_train_score, net, X, y_model, y_pm, setup.select))
    # the sampler-free moves, as fit_qcbo applies its moves (no sampler, no spin cap)
    ctx = MoveContext(net, list(codes), X, y_model, y_pm, setup.select, None, {}, t)
    ws, move_info = apply_moves(setup.moves, ctx, ws)
    if setup.bit_scale:
        units = [w / c.scale for w, c in zip(ws, codes, strict=True)]
        new_codes = _bit_scales(units, codes, X, y_model, arch, setup.scale_target, hidden=False)
        ws = [u * c.scale for u, c in zip(units, new_codes, strict=True)]
        codes = new_codes
    net = arch.network(codes)
    record = {
        "iteration": t,
        "train_loss": net.loss_value(ws, X, y_model, ties="nearest") / X.shape[0],
        "train_accuracy": float(np.mean(net.predict(ws, X) == y_pm)),
        "moved_weights": moved,
        "scales": [c.scale for c in codes],
        "seconds": time.perf_counter() - t0,
        **move_info,
    }
    return ws, codes, record


def fit_qat(
    X: np.ndarray,
    y: np.ndarray,
    sizes: Sequence[int],
    weights: WeightCode | Sequence[WeightCode] | None = None,
    *,
    bias: bool = True,
    epochs: int = 50,
    lr: float = 1e-2,
    batch_size: int = 64,
    seed: int | None = None,
    device: str = "cpu",
    restarts: int = 1,
    activation_bits: int | Sequence[int] | None = None,
    segments: int | Sequence[int] = 2,
    input_low: np.ndarray | None = None,
    input_high: np.ndarray | None = None,
    progress: Progress | None = None,
) -> QATResult:
    """Quantization-aware training (straight-through estimator, Adam), or full precision.

    Same architecture as :func:`fit_qcbo` (ReLU hidden layers, optional bias inputs, linear
    output). With ``activation_bits=None`` the activations are full precision (plain ReLU).
    With ``activation_bits=K`` the network is :func:`fit_qcbo`'s own
    :class:`QuantizedSplineNetwork`: each hidden activation is the ReLU spline on its neuron's
    FIP grid (M = ``segments`` per hidden layer, FIP of the input box [``input_low``,
    ``input_high``], default the data's min/max, and of the current weight scales, recomputed
    every step) rounded to the K-bit grid on its activation range, with the straight-through
    estimator through the rounding. That variant tells how much of a gap between
    :func:`fit_qcbo` and QAT comes from the network (activations quantized on worst-case FIP
    ranges) rather than from the training method. Forward with latent weights V per layer and the
    code's integer levels c (sorted): scale s = mean|V| / mean|c| for binary and ternary
    (XNOR-Net / TWN style), s = max|V| / max|c| for ``kbit``; the quantized weight is
    s * nearest_level(V / s); the backward pass is the straight-through estimator (identity on
    V), scale treated as a constant. ``weights=None`` trains in full precision. Loss: logistic
    on the margin for one output, one-vs-rest logistic for several (the QCBO's loss before the
    spline). Mini-batch Adam with ``lr``, seeded shuffling. Returns the epoch with the highest
    training accuracy (ties: lower training loss), the rule :func:`fit_qcbo` uses for its
    consensus networks: with binary weights the straight-through iterates oscillate, and the
    last epoch can sit far below the best (measured on 1,000 T-shirt/trouser samples, 16-4-1
    binary: last-epoch training accuracy 0.58 with 0.93 reached earlier).

    Args:
        weights: the weight code(s); ``None`` trains in full precision (no default code here,
            so the full-precision baseline is explicit).
        restarts: independent runs (child seeds of ``seed``); the one whose returned epoch
            ranks best (highest training accuracy, then lower loss) is returned. With 4 hidden ReLU units a run sometimes ends with dead
            units at chance accuracy (measured: 2 of 4 seeds on T-shirt/trouser at lr 3e-2),
            so the experiments use 3 restarts; ``train_time_s`` sums all runs.
        activation_bits: K, the activations' bits, of the quantized spline network (above);
            ``None``: full-precision activations, and ``segments``, ``input_low`` and
            ``input_high`` are unused.
        segments: M, the spline segments per hidden layer of the quantized spline network.
        input_low: the FIP input box's lower corner (default: the data's per-feature min).
        input_high: the FIP input box's upper corner (default: the data's per-feature max).
        progress: called as ``progress(epoch, epochs)`` after each epoch
            (:mod:`hybridqnn.train.progress`; restarts share one count).
    """
    if check_int("restarts", restarts, 1) > 1:
        best, runs = _best_start(fit_qat, dict(locals()), restarts, seed, _qat_rank)
        best.train_time_s = sum(r.train_time_s for r in runs)
        return best
    X, y, sizes = check_network_data(X, y, sizes)
    import torch

    codes = None if weights is None else _codes(weights, len(sizes) - 1)
    bias = check_bool("bias", bias)
    arch = _qat_architecture(X, sizes, codes, bias, activation_bits, segments, input_low, input_high)
    epochs = check_int("epochs", epochs, 1)
    lr = check_float("lr", lr, 0.0, low_open=True)
    batch_size = check_int("batch_size", batch_size, 1)
    seed = None if seed is None else check_int("seed", seed, 0)
    progress = check_progress(progress)
    gen = torch.Generator().manual_seed(seed if seed is not None else 0)
    dev = torch.device(device)
    Xt, signs, target = _qat_tensors(X, y, sizes[-1], dev)
    net = _QATNet(sizes, codes, arch, bias, gen, dev)
    opt = torch.optim.Adam(net.params, lr=lr)
    start = time.perf_counter()
    history, best_epoch, (final, new_codes) = _qat_epochs(
        net, opt, (Xt, signs, target), gen, epochs, batch_size, progress
    )
    network = None if arch is None else arch.network(new_codes)  # type: ignore[arg-type]
    return QATResult(
        final, new_codes, history, time.perf_counter() - start, bias, best_epoch, network
    )


def _qat_tensors(X: np.ndarray, y: np.ndarray, n_out: int, dev: Any) -> tuple[Any, Any, Any]:
    """:func:`fit_qat`'s training data on ``dev``: the inputs (float32), the per-output signs
    s_c of the logistic margin loss (float32, (n, n_out)) and the labels its accuracy is
    checked against (+-1 for one output, else class indices)."""
    import torch

    labels = np.where(y > 0, 1, -1) if n_out == 1 else y
    Xt = torch.as_tensor(X, dtype=torch.float32, device=dev)
    signs = torch.as_tensor(_signs(labels, n_out), dtype=torch.float32, device=dev)
    return Xt, signs, torch.as_tensor(labels, device=dev)


def _qat_epochs(
    net: _QATNet,
    opt: Any,
    data: tuple[Any, Any, Any],
    gen: Any,
    epochs: int,
    batch_size: int,
    progress: Progress | None,
) -> tuple[list[dict[str, Any]], int, tuple[list[np.ndarray], list[WeightCode] | None]]:
    """``epochs`` epochs of :func:`_qat_epoch` on ``data`` (:func:`_qat_tensors`): the history,
    the best epoch and its quantized snapshot. Best: the highest training accuracy, ties the
    lower loss, then the earliest (:func:`_rank` with ``"accuracy"``)."""
    Xt, signs, target = data
    history: list[dict[str, Any]] = []
    best: tuple[tuple[float, float], int, tuple[list[np.ndarray], list[WeightCode] | None]]
    best = ((math.inf, math.inf), -1, ([], None))
    for epoch in range(epochs):
        loss = _qat_epoch(net, opt, Xt, signs, gen, batch_size)
        acc = net.accuracy(Xt, target)
        history.append({"epoch": epoch, "loss": loss, "train_accuracy": acc})
        if _rank(acc, loss, "accuracy") < best[0]:
            best = (_rank(acc, loss, "accuracy"), epoch, net.snapshot())
        if progress is not None:
            progress(epoch + 1, epochs)
    return history, best[1], best[2]


def _qat_epoch(net: Any, opt: Any, Xt: Any, signs: Any, gen: Any, batch_size: int) -> float:
    """One epoch of mini-batch Adam on the logistic margin loss, sum_c softplus(-s_c f_c(x)),
    in a seeded random order; returns the epoch's mean loss."""
    import torch

    n = Xt.shape[0]
    perm = torch.randperm(n, generator=gen).to(Xt.device)
    total = 0.0
    for i in range(0, n, batch_size):
        idx = perm[i : i + batch_size]
        loss = torch.nn.functional.softplus(-signs[idx] * net.forward(Xt[idx])).sum(dim=1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += float(loss.detach()) * len(idx)
    return total / n


def _qat_architecture(
    X: np.ndarray,
    sizes: Sequence[int],
    codes: list[WeightCode] | None,
    bias: bool,
    activation_bits: int | Sequence[int] | None,
    segments: int | Sequence[int],
    input_low: np.ndarray | None,
    input_high: np.ndarray | None,
) -> Any:
    """:func:`fit_qat`'s quantized spline network (None: full-precision activations)."""
    if activation_bits is None:
        return None
    if codes is None:
        raise ValueError(
            "'activation_bits' needs quantized weights: pass a WeightCode, got weights=None"
        )
    L = len(sizes) - 1
    return _checked_architecture(
        X,
        input_low,
        input_high,
        sizes=tuple(sizes),
        activations="relu",
        segments=_per_hidden("segments", segments, L, 1),
        bias=bias,
        activation_bits=_per_hidden("activation_bits", activation_bits, L, 1, 16),
        loss="logistic",  # unused: QAT trains on the logistic loss itself
        loss_segments=1,
    )


class _QATNet:
    """:func:`fit_qat`'s network: latent weights V per layer (N(0, 1/fan_in) from ``gen``), the
    quantized forward pass with the straight-through estimator, and the quantized snapshot."""

    def __init__(
        self,
        sizes: Sequence[int],
        codes: list[WeightCode] | None,
        arch: Any,
        bias: bool,
        gen: Any,
        dev: Any,
    ) -> None:
        import torch

        self.codes, self.arch, self.bias, self.dev = codes, arch, bias, dev
        self.L = len(sizes) - 1
        self.params = []
        for li in range(1, self.L + 1):
            fan_in = sizes[li - 1] + int(bias)
            w = torch.randn(sizes[li], fan_in, generator=gen) / math.sqrt(fan_in)
            self.params.append(torch.nn.Parameter(w.to(dev)))
        self.levels = (
            None
            if codes is None
            else [torch.as_tensor(c.levels / c.scale, dtype=torch.float32, device=dev) for c in codes]
        )

    def quantized(self, li: int, V: Any) -> tuple[Any, float]:
        """s * nearest_level(V / s) with s = mean|V| / mean|c| (binary, ternary) or
        max|V| / max|c| (kbit); the gradient passes straight through to V."""
        import torch

        if self.levels is None:
            return V, 1.0
        c = self.levels[li]
        if self.codes[li].kind == "kbit":  # type: ignore[index]
            s = V.detach().abs().max() / c.abs().max()
        else:
            s = V.detach().abs().mean() / c.abs().mean()
        s = torch.clamp(s, min=1e-8)
        idx = torch.argmin((V.detach()[..., None] / s - c).abs(), dim=-1)
        q = s * c[idx]
        return identity_straight_through(V, q), float(s)

    def forward(self, xb: Any) -> Any:
        import torch

        a = xb
        qs = [self.quantized(li, V) for li, V in enumerate(self.params)]
        fip = None
        if self.arch is not None:
            fip = self.arch.fip([replace(c, scale=sc) for c, (_, sc) in zip(self.codes, qs, strict=True)])  # type: ignore[arg-type]
        for li, (W, _) in enumerate(qs):
            if self.bias:
                a = torch.cat([a, torch.ones(a.shape[0], 1, device=self.dev)], dim=1)
            a = a @ W.T
            if li < self.L - 1:
                if fip is None:
                    a = torch.relu(a)
                else:
                    a = _quantized_spline_activation(a, fip.layers[li], self.arch.activation_bits[li])
        return a

    def accuracy(self, Xt: Any, target: Any) -> float:
        """Training accuracy: sign of the one output, or argmax of several."""
        import torch

        with torch.no_grad():
            out = self.forward(Xt)
            pred = (out[:, 0] >= 0).long() * 2 - 1 if out.shape[1] == 1 else out.argmax(1)
            return float((pred == target).float().mean())

    def snapshot(self) -> tuple[list[np.ndarray], list[WeightCode] | None]:
        """The quantized weights and their codes (scales) now. Quantized weights are the exact
        float64 levels of their code: the forward pass's straight-through value V + (q - V),
        in float32, misses the grid by a rounding step, and a network whose weights are off
        their grid by 3e-8 decides exact logit ties differently from the K-bit network it
        stands for (seen on a 10-class 2-bit network: 242 of 2,000 test labels)."""
        import torch

        with torch.no_grad():
            final, new_codes = [], None if self.codes is None else []
            for li, V in enumerate(self.params):
                q, s = self.quantized(li, V)
                w = q.detach().cpu().double().numpy()
                if new_codes is not None:
                    code = replace(self.codes[li], scale=float(s))  # type: ignore[index]
                    new_codes.append(code)
                    w = code.levels[np.abs(w[..., None] - code.levels).argmin(axis=-1)]
                final.append(w)
        return final, new_codes


def _quantized_spline_activation(z: Any, layer: Any, bits: int) -> Any:
    """Torch version of one hidden layer of :class:`QuantizedSplineNetwork`: per neuron j the
    linear spline on its FIP knots t_0 < ... < t_M, written as
    s(z) = v_0 + sum_k slope_k clamp(z - t_k, 0, t_{k+1} - t_k) (z clamped to [t_0, t_M];
    constant neurons give their value), then rounded to the ``bits``-bit grid on [A_j, B_j]
    with the straight-through estimator (identity gradient) through the rounding."""
    import torch

    out = []
    for j, sp in enumerate(layer.splines):
        zj = z[:, j]
        if sp is None:
            out.append(torch.full_like(zj, float(layer.act_low[j])))
            continue
        knots = torch.tensor(sp.knots, dtype=z.dtype, device=z.device)
        slopes = torch.tensor(sp.slopes, dtype=z.dtype, device=z.device)
        widths = knots[1:] - knots[:-1]
        zc = torch.clamp(zj, float(knots[0]), float(knots[-1]))[:, None]
        value = float(sp.values[0]) + (
            slopes * torch.minimum(torch.clamp(zc - knots[:-1], min=0.0), widths)
        ).sum(1)
        lo, hi = float(layer.act_low[j]), float(layer.act_high[j])
        step = (hi - lo) / (2**bits - 1)
        if step <= 0:
            out.append(torch.full_like(zj, lo))
            continue
        q = lo + torch.clamp(torch.round((value - lo) / step), 0, 2**bits - 1) * step
        out.append(identity_straight_through(value, q))
    return torch.stack(out, dim=1)


def _qat_rank(result: QATResult) -> tuple[float, float]:
    h = result.history[result.best_epoch]
    return _rank(h["train_accuracy"], h["loss"], "accuracy")
