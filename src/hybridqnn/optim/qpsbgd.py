"""QP-SBGD: projected stochastic gradient descent with binary gradients from binary quadratic
problems (Krahn, Sasdelli, Yang, Golyanik, Kannala, Chin, Birdal, "Projected Stochastic Gradient
Descent with Quantum Annealed Binary Gradients", arXiv 2310.15128, BMVC 2024; code
github mk2510/QPSBGD).

For every binary layer (:class:`hybridqnn.nn.binary.BinaryLayer`) with latent weights W
(viewed as W in R^{m x n}, one row per output neuron), one step reads the layer's input X
(B x n; for convolutions the unfolded patches) and the gradient V (B x m) at its output from the
last forward/backward pass, solves a binary problem for a direction G in {-1, +1}^{m x n} and
updates

    continuous:  W <- W - lr G                (latent weights; the forward pass uses sign(W))
    projected:   W <- sign(W - lr G)          (sign(0) = +1; W stays in {-1, +1}; since
                                               |W - lr G| only crosses 0 for lr >= 1, a weight
                                               flips only when lr > 1 and G agrees with W)

Projections (``projection``):

- ``"least-squares"`` (the paper's per-neuron QUBO): g_j = argmin_{g in {+-1}^n} ||v_j - X g||^2,
  couplings 2 X^T X (shared by all neurons), fields -2 X^T v_j
  (:func:`hybridqnn.problems.binary_least_squares`). Layers wider than ``max_block_size`` are
  solved by one pass of block-coordinate descent: blocks of at most ``max_block_size``
  variables, in order, each a least-squares problem with the target v_j - X_rest g_rest.
  **Scale (deviation, ``scale="auto"``, the default).** Output gradients are typically orders
  of magnitude smaller than X g, so the literal problem mostly asks for g in the null space of X
  and ignores v. With ``scale="auto"`` each v_j is first divided by
  alpha_j = argmin_alpha ||v_j - alpha X g0_j||^2 = ||X^T v_j||_1 / ||X g0_j||^2, the best step
  length along the signSGD direction g0_j = sign(X^T v_j), so the QUBO compares directions at a
  matched scale. ``scale="none"`` solves the literal problem.
  **Separable fast path.** If X^T X is diagonal the problem separates and its solution is
  g_j = sign(X^T v_j): signSGD on the layer's gradient. QP-SBGD then uses this closed form.
- ``"sign-matching"`` (the authors' Gurobi model): min over G, S in {+-1} of
  sum_ij (S_ij - Y_ij)^2 s.t. (sum_k X_ik G_jk + eps) S_ij >= 0, eps = 0.01, Y = V
  (:func:`hybridqnn.problems.binary_gradient.sign_matching_cqm`). It separates by output neuron;
  each neuron's CQM goes to ``sampler.sample_cqm`` if the sampler has one (e.g.
  :class:`hybridqnn.solvers.milp.MILPSolver`, exact; the authors used Gurobi), else its penalty
  BQM (:func:`~hybridqnn.problems.binary_gradient.sign_matching_bqm`) goes to ``sampler``.
- ``"xnor-threshold"`` (the authors' D-Wave path): per neuron the XNOR/majority-threshold penalty
  QUBO with lambda = ``lagrange_multiplier`` (50), target t = (Y + 1)/2 with Y = -V
  (:func:`~hybridqnn.problems.binary_gradient.xnor_threshold_bqm`), giving weight bits w and
  the authors' step W_j <- W_j + lr (2 w - 1), i.e. G_j = 1 - 2 w. Inputs are binarised with
  sign (sign(0) = +1) if they are not +-1 already (deviation: the authors' inputs were +-1).
  Fan-in at most 15 (as in the authors' code).

Solvers. ``sampler`` is any ``dimod.Sampler`` (default: the registry's default, ``dense-sa``).
The path of a least-squares solve is the sampler's to advertise
(:mod:`hybridqnn.solvers.sampling`, "fast paths"): a sampler with the ``least_squares`` path
(hybridqnn's dense SA: one numba call for all neurons of a layer that never forms the n x n
couplings) gets every neuron's problem at once, a sampler with the ``dense`` path gets one
:class:`~hybridqnn.problems.DenseIsing` per neuron/block, any other sampler one BQM per
neuron/block; a path is taken only if it takes every keyword of ``sample_kwargs``. Every least-squares solve is warm started from the signSGD solution when the
sampler takes ``initial_states``, and the better of that start and the sampler's answer is
kept, so the energy is never above signSGD's.

Choices where the paper is silent or differs (documented deviations):
- V is the gradient at the layer's output *after* its sign activation (``output_gradient=
  "post-activation"``, the code's Y); ``"pre-activation"`` uses the V with dL/dW = V^T X.
- A neuron whose output gradient is zero over the batch gets G_j = 0 (no step) instead of an
  arbitrary binary row.
- ``input_scaling="column-sq-norm"`` divides each column of X by its squared norm over the batch,
  as the 10-layer notebook does; the default ``"none"`` uses X as is (2-layer notebook).
- Seeds: part p (convolution group) of the layer with index l at its step t is solved with
  the child seed ``SeedSequence(seed, spawn_key=(t, l, p))`` (and each neuron with a child of
  that), so a run is reproducible whatever the executor, and a restored ``state_dict`` (which
  holds the seed and each layer's step count) continues it exactly.

Statistics. :attr:`QPSBGD.stats` gets one dict per (step, layer): ``step``, ``layer``,
``projection``, ``path`` (``closed-form``, ``batched`` (the least-squares fast path), ``dense``,
``bqm`` or ``cqm``),
``num_problems``, ``qubo_size`` (the most variables of one problem), ``solve_seconds``,
``energy`` (the **sum** over the layer's problems of their objective at the returned G:
||v_j - X g_j||^2 with the scaled v_j, the sign-matching objective, or the XNOR objective),
``start_energy`` (least squares: the same sum at the signSGD start) and ``codirectionality``
(the fraction of weights with nonzero gradient and nonzero G where sign(G) = sign(dL/dW): the
paper's co-directionality probability; NaN if there is none).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any

import dimod
import numpy as np
import torch

from hybridqnn._checks import check_choice, check_finite_step, check_float, check_int
from hybridqnn.nn.binary import OUTPUT_GRADIENTS, BinaryLayer, LayerData, binary_layer_of, sign
from hybridqnn.parallel import get_executor
from hybridqnn.problems.binary_gradient import (
    SIGN_MATCHING_EPS,
    XNOR_LAGRANGE,
    sign_matching_bqm,
    sign_matching_cqm,
    sign_matching_objective,
    xnor_threshold_bqm,
    xnor_threshold_objective,
)
from hybridqnn.problems.least_squares import binary_least_squares
from hybridqnn.solvers.sampling import (
    best_sample,
    fast_path,
    sample_bqm,
    solve_dense,
    supports_dense,
)

__all__ = ["PROJECTIONS", "QPSBGD", "UPDATES", "least_squares_directions"]

PROJECTIONS = ("least-squares", "sign-matching", "xnor-threshold")
UPDATES = ("continuous", "projected")
SCALES = ("auto", "none")
INPUT_SCALINGS = ("none", "column-sq-norm")
_RESERVED_KWARGS = ("seed", "initial_states")


def _child_seed(seed: int, step: int, layer: int, problem: int = 0) -> int:
    ss = np.random.SeedSequence(seed, spawn_key=(step, layer, problem))
    return int(ss.generate_state(1, dtype=np.uint32)[0])


def _sign_np(a: np.ndarray) -> np.ndarray:
    return np.where(a >= 0, 1.0, -1.0)


def _check_sampler(sampler: Any) -> dimod.Sampler:
    if sampler is None:
        from hybridqnn.solvers.registry import DEFAULT_SOLVER, get_sampler

        return get_sampler(DEFAULT_SOLVER)
    if isinstance(sampler, str):
        raise TypeError(
            f"'sampler' must be a dimod.Sampler object, got the name {sampler!r}; resolve names with hybridqnn.solvers.get_sampler"
        )
    if not (
        isinstance(sampler, dimod.Sampler)
        or hasattr(sampler, "sample")
        or hasattr(sampler, "sample_cqm")
    ):
        raise TypeError(f"'sampler' must be a dimod.Sampler, got {type(sampler).__name__}")
    return sampler


def _solve_row(
    sampler: Any,
    x: np.ndarray,
    blocks: list[np.ndarray],
    kwargs: dict[str, Any],
    target: np.ndarray,
    g: np.ndarray,
    seed: int,
) -> np.ndarray:
    """One neuron's least-squares problem, block by block, by the sampler's dense path or a BQM."""
    g = g.copy()
    n = x.shape[1]
    for bi, blk in enumerate(blocks):
        rest = np.setdiff1d(np.arange(n), blk, assume_unique=True)
        model = binary_least_squares(x[:, blk], target - x[:, rest] @ g[rest])
        start = g[blk].astype(np.int8)
        spins, _ = solve_dense(sampler, model, seed=_child_seed(seed, bi, 0), initial_state=start, sample_kwargs=kwargs)
        new = spins.astype(np.float64)
        # keep the better of the start and the answer (samplers without warm starts)
        if model.energies(new[None])[0] <= model.energies(start[None].astype(np.float64))[0]:
            g[blk] = new
    return g


def least_squares_directions(
    x: np.ndarray,
    v: np.ndarray,
    sampler: Any,
    *,
    scale: str = "auto",
    max_block_size: int | None = None,
    sample_kwargs: Mapping[str, Any] | None = None,
    seed: int = 0,
    closed_form: bool = True,
    executor: str | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """The least-squares binary directions of one layer-local problem (module docstring).

    Args:
        x: X, (B, n).
        v: V, (B, m), the output gradients.
        sampler: a ``dimod.Sampler``.
        scale: ``"auto"`` or ``"none"``.
        max_block_size: most variables per solved problem (None: n).
        sample_kwargs: passed to the sampler.
        seed: seeds the solves.
        closed_form: use sign(X^T v_j) when X^T X is diagonal (False: always solve the QUBOs).
        executor: executor spec for the per-neuron solves of generic samplers
            (:func:`hybridqnn.parallel.get_executor`; the batched path does not use it).

    Returns:
        (G (m, n) float64 with zero rows for neurons with zero gradient, stats dict).
    """
    kwargs = dict(sample_kwargs or {})
    b, n = x.shape
    m = v.shape[1]
    g_out = np.zeros((m, n))
    active = np.flatnonzero(np.any(v != 0.0, axis=0))
    stats: dict[str, Any] = {
        "num_problems": int(active.size),
        "qubo_size": 0,
        "energy": 0.0,
        "start_energy": 0.0,
        "path": "closed-form",
    }
    if active.size == 0:
        return g_out, stats
    va = v[:, active].T.copy()  # (k, B)
    grad = va @ x  # (k, n): X^T v_j
    g = _sign_np(grad)
    if scale == "auto":
        xg = g @ x.T
        denom = np.einsum("kb,kb->k", xg, xg)
        alpha = np.abs(grad).sum(axis=1) / np.where(denom > 0, denom, 1.0)
        ok = (denom > 0) & (alpha > 0)
        va[ok] /= alpha[ok, None]
    start_energy = float(np.sum((va - g @ x.T) ** 2))
    gram = x.T @ x
    diag = np.diag(gram)
    off = np.abs(gram - np.diag(diag))
    separable = closed_form and (
        n <= 1 or float(off.max()) <= 1e-12 * max(float(diag.max()), 1e-300)
    )
    blocks = [np.arange(n)]
    if max_block_size is not None and n > max_block_size:
        blocks = [np.arange(lo, min(lo + max_block_size, n)) for lo in range(0, n, max_block_size)]
    stats["qubo_size"] = int(max(len(blk) for blk in blocks))
    if not separable:
        if fast_path(sampler, "least_squares", kwargs):
            stats["path"] = "batched"
            for bi, blk in enumerate(blocks):
                g, _ = sampler.sample_least_squares(x, va, g, var_index=blk, seed=_child_seed(seed, 0, 0, bi), **kwargs)
        else:
            stats["path"] = "dense" if supports_dense(sampler, kwargs) else "bqm"
            solve = partial(_solve_row, sampler, x, blocks, kwargs)
            seeds = [_child_seed(seed, 0, k) for k in range(va.shape[0])]
            with get_executor(executor) as pool:
                g = np.stack(list(pool.map(solve, va, g, seeds)))
    stats["energy"] = float(np.sum((va - g @ x.T) ** 2))
    stats["start_energy"] = start_energy
    g_out[active] = g
    return g_out, stats


class QPSBGD(torch.optim.Optimizer):
    """Projected SGD with binary gradients from binary quadratic problems (module docstring).

    Args:
        params: the ``weight`` parameters of hybridqnn binary layers (iterable of tensors or of
            param-group dicts). Anything else (biases, full-precision layers) is an error: train
            it with a second optimizer such as ``torch.optim.Adam``.
        lr: step size eta > 0.
        sampler: any ``dimod.Sampler`` (None: ``hybridqnn.solvers.get_sampler(DEFAULT_SOLVER)``).
            Samplers with ``sample_cqm`` solve the sign-matching CQM directly.
        projection: ``"least-squares"``, ``"sign-matching"`` or ``"xnor-threshold"``.
        update: ``"continuous"`` or ``"projected"``.
        max_block_size: most variables per least-squares problem (None: the whole fan-in).
        sample_kwargs: passed verbatim to the sampler (``seed`` and ``initial_states`` are set
            by QPSBGD and may not be given).
        seed: master seed (None: drawn from the OS and kept in ``param_groups``).
        output_gradient: ``"post-activation"`` (default, the authors' Y) or ``"pre-activation"``.
        scale: least squares only: ``"auto"`` (default) or ``"none"``.
        input_scaling: ``"none"`` or ``"column-sq-norm"``.
        eps: the sign-matching margin (0.01).
        lagrange_multiplier: penalty weight: the XNOR QUBO's lambda (default 50) or the
            sign-matching penalty form's (default 4 max|Y| + 1).
        executor: executor spec for the per-neuron solves of generic samplers (None: a thread
            pool, or ``HYBRIDQNN_EXECUTOR``; see :mod:`hybridqnn.parallel`). Results do not
            depend on it: every neuron has its own child seed.
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float,
        *,
        sampler: Any = None,
        projection: str = "least-squares",
        update: str = "continuous",
        max_block_size: int | None = None,
        sample_kwargs: Mapping[str, Any] | None = None,
        seed: int | None = None,
        output_gradient: str = "post-activation",
        scale: str = "auto",
        input_scaling: str = "none",
        eps: float = SIGN_MATCHING_EPS,
        lagrange_multiplier: float | None = None,
        executor: str | None = None,
    ) -> None:
        lr = check_float("lr", lr, 0.0, low_open=True)
        check_choice("projection", projection, PROJECTIONS)
        check_choice("update", update, UPDATES)
        if max_block_size is not None:
            max_block_size = check_int("max_block_size", max_block_size, 1)
        check_choice("output_gradient", output_gradient, OUTPUT_GRADIENTS)
        check_choice("scale", scale, SCALES)
        check_choice("input_scaling", input_scaling, INPUT_SCALINGS)
        eps = check_float("eps", eps, 0.0)
        if lagrange_multiplier is not None:
            lagrange_multiplier = check_float(
                "lagrange_multiplier", lagrange_multiplier, 0.0, low_open=True
            )
        if sample_kwargs is not None and not isinstance(sample_kwargs, Mapping):
            raise TypeError(
                f"'sample_kwargs' must be a mapping or None, got {type(sample_kwargs).__name__}"
            )
        kwargs = dict(sample_kwargs or {})
        reserved = sorted(set(kwargs) & set(_RESERVED_KWARGS))
        if reserved:
            raise ValueError(
                f"'sample_kwargs' must not set {', '.join(map(repr, reserved))}: QPSBGD derives them from 'seed' and the signSGD start"
            )
        self.sampler = _check_sampler(sampler)
        if seed is None:
            seed = int(np.random.SeedSequence().generate_state(1, dtype=np.uint32)[0])
        seed = check_int("seed", seed, 0)
        defaults = dict(
            lr=lr,
            projection=projection,
            update=update,
            max_block_size=max_block_size,
            seed=seed,
            output_gradient=output_gradient,
            scale=scale,
            input_scaling=input_scaling,
            eps=eps,
            lagrange_multiplier=lagrange_multiplier,
        )
        if executor is not None and not isinstance(executor, str):
            raise TypeError(
                f"'executor' must be a string such as 'thread' or 'serial' or None, got {type(executor).__name__}"
            )
        self.sample_kwargs = kwargs
        self.executor = executor
        super().__init__(params, defaults)
        self.stats: list[dict[str, Any]] = []
        for gi, group in enumerate(self.param_groups):
            check_float(f"param_groups[{gi}]['lr']", group["lr"], 0.0, low_open=True)
            for pi, p in enumerate(group["params"]):
                layer = binary_layer_of(p)
                if layer is None:
                    raise ValueError(
                        f"QPSBGD trains only the weights of hybridqnn binary layers; param_groups[{gi}] parameter {pi} "
                        f"(shape {tuple(p.shape)}) is not one: use a second optimizer, such as torch.optim.Adam, for it"
                    )
                if group["projection"] == "xnor-threshold" and p[0].numel() > 15:
                    raise ValueError(
                        f"projection 'xnor-threshold' supports a fan-in of at most 15 (the authors' encoding); param_groups[{gi}] "
                        f"parameter {pi} has fan-in {p[0].numel()}"
                    )

    @property
    def seed(self) -> int:
        """The master seed of the first parameter group."""
        return int(self.param_groups[0]["seed"])

    def _layer_index(self, p: torch.Tensor) -> int:
        idx = 0
        for group in self.param_groups:
            for q in group["params"]:
                if q is p:
                    return idx
                idx += 1
        raise KeyError("parameter not in this optimizer")

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One QP-SBGD step on every binary layer that has a gradient.

        A NaN or infinite loss (from ``closure``), gradient ``p.grad`` or recorded layer data
        (input X, output gradient V) is a one-line ValueError naming it, raised before any
        parameter changes, whatever the sampler.

        Args:
            closure: re-evaluates the model (forward and backward) and returns the loss.

        Returns:
            The closure's loss, or None.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for layer_idx, group, p, layer, parts in self._checked_work(loss):
            state = self.state[p]
            step = int(state.get("step", 0))
            direction, stats = self._direction(layer, parts, p, group, step, layer_idx)
            d = torch.as_tensor(direction, dtype=p.dtype, device=p.device).view_as(p)
            if group["update"] == "continuous":
                p.add_(d, alpha=-group["lr"])
            else:
                p.copy_(sign(p - group["lr"] * d))
            state["step"] = step + 1
            grad = p.grad.detach().reshape(p.shape[0], -1).to("cpu", torch.float64).numpy()
            mask = (grad != 0) & (direction != 0)
            cdp = (
                float(np.mean(np.sign(direction[mask]) == np.sign(grad[mask])))
                if mask.any()
                else float("nan")
            )
            self.stats.append(
                {
                    "step": step,
                    "layer": layer_idx,
                    "projection": group["projection"],
                    **stats,
                    "codirectionality": cdp,
                }
            )
        return loss

    def _checked_work(self, loss: Any) -> list[tuple[int, dict[str, Any], torch.Tensor, BinaryLayer, list[LayerData]]]:
        """(layer index, group, parameter, its layer, the layer's recorded problems) for every
        parameter with a gradient, once the loss, every gradient and every recorded layer input X
        and output gradient V are known to be finite: a NaN or inf anywhere is a ValueError before any
        parameter changes, whatever the sampler (the directions come from X and V, which a NaN
        loss poisons; a sampler would otherwise fail, or not, on its own terms)."""
        work, named = [], []
        index = 0
        for gi, group in enumerate(self.param_groups):
            for pi, p in enumerate(group["params"]):
                layer_idx = index
                index += 1
                if p.grad is None:
                    continue
                layer = binary_layer_of(p)
                if layer is None:
                    raise RuntimeError(
                        "a QPSBGD parameter lost the link to its binary layer; build the optimizer on the model's own weights"
                    )
                parts = layer.qpsbgd_data(group["output_gradient"])
                where = f"param_groups[{gi}] parameter {pi}"
                named.append((f"grad of {where}", p.grad))
                for part, data in enumerate(parts):
                    named.append((f"recorded layer input X of {where} (part {part})", data.x))
                    named.append((f"recorded output gradient V of {where} (part {part})", data.v))
                work.append((layer_idx, group, p, layer, parts))
        check_finite_step("QPSBGD", loss, named)
        return work

    def _direction(
        self, layer: BinaryLayer, parts: list[LayerData], p: torch.Tensor, group: dict[str, Any], step: int, layer_idx: int
    ) -> tuple[np.ndarray, dict[str, Any]]:
        rows_total = p.shape[0]
        n_flat = p[0].numel()
        direction = np.zeros((rows_total, n_flat))
        totals: dict[str, Any] = {
            "num_problems": 0,
            "qubo_size": 0,
            "solve_seconds": 0.0,
            "energy": 0.0,
            "start_energy": 0.0,
            "path": "",
        }
        for part, data in enumerate(parts):
            x = data.x.detach().to("cpu", torch.float64).numpy()
            v = data.v.detach().to("cpu", torch.float64).numpy()
            if x.shape[1] != n_flat:
                raise RuntimeError(
                    f"{type(layer).__name__}.qpsbgd_data gave inputs of width {x.shape[1]}, expected the fan-in {n_flat}"
                )
            if group["input_scaling"] == "column-sq-norm":
                sq = (x * x).sum(axis=0)
                x = x / np.where(sq > 0, sq, 1.0)
            seed = _child_seed(group["seed"], step, layer_idx, part)
            t0 = time.perf_counter()
            if group["projection"] == "least-squares":
                g, st = least_squares_directions(
                    x,
                    v,
                    self.sampler,
                    scale=group["scale"],
                    max_block_size=group["max_block_size"],
                    sample_kwargs=self.sample_kwargs,
                    seed=seed,
                    executor=self.executor,
                )
            elif group["projection"] == "sign-matching":
                g, st = self._sign_matching(x, v, group, seed)
            else:
                g, st = self._xnor(x, v, group, seed)
            totals["solve_seconds"] += time.perf_counter() - t0
            direction[data.rows] = g
            totals["num_problems"] += st["num_problems"]
            totals["qubo_size"] = max(totals["qubo_size"], st["qubo_size"])
            totals["energy"] += st["energy"]
            totals["start_energy"] += st.get("start_energy", float("nan"))
            totals["path"] = (
                st["path"] if not totals["path"] or totals["path"] == st["path"] else "mixed"
            )
        return direction, totals

    def _sign_matching(
        self, x: np.ndarray, v: np.ndarray, group: dict[str, Any], seed: int
    ) -> tuple[np.ndarray, dict[str, Any]]:
        use_cqm = hasattr(self.sampler, "sample_cqm")
        solve = partial(
            _sign_matching_row,
            self.sampler,
            x,
            group["eps"],
            group["lagrange_multiplier"],
            self.sample_kwargs,
            use_cqm,
        )
        g, stats = self._solve_columns(solve, v, x.shape[1], seed, 1)
        return g, {**stats, "path": "cqm" if use_cqm else "bqm"}

    def _xnor(
        self, x: np.ndarray, v: np.ndarray, group: dict[str, Any], seed: int
    ) -> tuple[np.ndarray, dict[str, Any]]:
        xs = _sign_np(x)
        lam = group["lagrange_multiplier"]
        lam = XNOR_LAGRANGE if lam is None else lam
        solve = partial(_xnor_row, self.sampler, xs, lam, self.sample_kwargs)
        g, stats = self._solve_columns(solve, v, x.shape[1], seed, 2)
        return g, {**stats, "path": "bqm"}

    def _solve_columns(
        self,
        solve: Callable[[np.ndarray, int], tuple[np.ndarray, float, int]],
        v: np.ndarray,
        width: int,
        seed: int,
        stream: int,
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """The direction rows of the per-output problems: row j of the (n_out, ``width``) result
        is ``solve(v[:, j], seed_j)``'s for every column j of ``v`` with a nonzero entry (zero
        elsewhere), solved on the executor; ``seed_j`` is the child ``(seed, stream, j)``.

        Returns:
            The rows and ``num_problems``, ``qubo_size`` (the largest) and ``energy`` (the sum).
        """
        g = np.zeros((v.shape[1], width))
        active = np.flatnonzero(np.any(v != 0.0, axis=0))
        seeds = [_child_seed(seed, stream, int(j)) for j in active]
        with get_executor(self.executor) as pool:
            rows = list(pool.map(solve, [v[:, j] for j in active], seeds))
        for j, (row, _, _) in zip(active, rows, strict=True):
            g[j] = row
        return g, {
            "num_problems": int(active.size),
            "qubo_size": max((r[2] for r in rows), default=0),
            "energy": float(sum(r[1] for r in rows)),
        }


def _solve_bqm(
    sampler: Any, bqm: dimod.BinaryQuadraticModel, kwargs: dict[str, Any], seed: int
) -> dimod.SampleView:
    return best_sample(sample_bqm(sampler, bqm, seed=seed, sample_kwargs=kwargs), sampler)


def _sign_matching_row(
    sampler: Any,
    x: np.ndarray,
    eps: float,
    lam: float | None,
    kwargs: dict[str, Any],
    use_cqm: bool,
    y: np.ndarray,
    seed: int,
) -> tuple[np.ndarray, float, int]:
    """One neuron's sign-matching problem: (g, objective at g, problem size)."""
    n = x.shape[1]
    if use_cqm:
        cqm = sign_matching_cqm(x, y, eps)
        size = len(cqm.variables)
        params = dict(kwargs)
        if "seed" in (getattr(sampler, "parameters", {}) or {}):
            params["seed"] = seed
        best = best_sample(sampler.sample_cqm(cqm, **params), sampler)
    else:
        bqm = sign_matching_bqm(x, y, eps, lagrange_multiplier=lam)
        size = bqm.num_variables
        best = _solve_bqm(sampler, bqm, kwargs, seed)
    g = _sign_np(np.array([best.sample[("g", 0, k)] for k in range(n)], dtype=np.float64))
    return g, float(sign_matching_objective(x, y, g[None], eps)), size


def _xnor_row(
    sampler: Any, xs: np.ndarray, lam: float, kwargs: dict[str, Any], v: np.ndarray, seed: int
) -> tuple[np.ndarray, float, int]:
    """One neuron's XNOR/threshold QUBO: (G row = 1 - 2 w, objective at w, problem size)."""
    n = xs.shape[1]
    bqm = xnor_threshold_bqm(xs, -v, lam)
    best = _solve_bqm(sampler, bqm, kwargs, seed)
    w = np.array([best.sample[("w", k)] for k in range(n)], dtype=np.float64)
    if np.any(w < 0):  # a SPIN-vartype answer
        w = (w + 1.0) / 2.0
    return 1.0 - 2.0 * w, float(xnor_threshold_objective(xs, -v, w)), bqm.num_variables
