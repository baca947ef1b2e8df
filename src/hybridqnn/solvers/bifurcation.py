"""Simulated bifurcation (SB): Goto's ballistic and discrete variants as a ``dimod.Sampler``.

Simulated bifurcation integrates a classical Hamiltonian system, one position ``x_i`` and one
momentum ``y_i`` per spin, whose potential splits into two wells (the two signs of the spin)
as a pump ``a(t)`` rises, coupled through the Ising problem [Goto 2019, Goto 2021]. Each read
is one independent trajectory ("agent"). All reads run together as (R, n) tensors, with one
matrix product per step on ``device`` (CPU or CUDA).

Problem and sign convention
    hybridqnn's dense model is ``E(s) = offset + h^T s + 1/2 s^T J s``, to be *minimised*
    (J symmetric with zero diagonal; :class:`~hybridqnn.problems.DenseIsing`). Goto writes
    ``H = -1/2 sum_ij J'_ij s_i s_j``, so ``J' = -J``. This conversion happens in one place,
    the force ``f = -(J z + h)`` below, and nowhere else.

Equations
    Symplectic Euler with step ``dt``; ``k = 1..num_steps``, ``a0 = 1``,
    ``a_k = a0 k / num_steps`` (a linear pump, as in Goto 2021)::

        x <- x + a0 y dt
        y <- y + [-(a0 - a_k) x + c0 f] dt,    f = -(J z + h)
        heated SB only:   y <- y + gamma dt y_prev      (y_prev: y before this step)
        inelastic walls:  where |x| > 1:  x <- sign(x),  y <- 0

    Ballistic SB (bSB) uses ``z = x``; discrete SB (dSB) uses ``z = sign(x)`` [Goto 2021].
    Heated SB is from [Kanao & Goto 2022]. The returned spins are ``sign(x)``
    after the last step, with ``sign(0) = +1``.

Local fields (a choice)
    Goto's papers state SB for couplings only, and reach local fields through an ancillary
    spin. Here the field enters the force directly, as part of the gradient of E:
    ``f = -(J z + h)``, scaled by the same ``c0``. This is the form SB takes when it follows
    the gradient of a general cost function. It needs no extra variable and no sign
    correction.
    With an ancillary spin, bSB missed the ground state more often on random BQMs of 10
    variables in our tests (9 of 60 against 6 of 60).

Defaults, and why
    * ``num_steps = 1000``: matches the annealers' default of 1000 sweeps. One step is one
      (R, n) x (n, n) product; at n = 1000 and 16 reads a run takes about 0.4 s on 2 CPU cores.
    * ``dt = 0.5`` for bSB, ``1.0`` for dSB: the step size that gave the lowest energies on
      dense n = 1000 problems at ``num_steps = 1000``. Larger steps simulate more time per
      product. bSB loses accuracy from about 0.75 (it blows up at 1.25), while dSB still
      gains up to 1.0.
    * ``c0 = 0.5 / rms(f)``, where ``rms(f)^2 = (||J||_F^2 + ||h||^2) / n`` is the mean square of
      the local field ``J s + h`` over random spins. Without fields this is Goto 2019's
      ``0.5 / (sqrt(n) sigma_J)``. On nearly low-rank couplings (penalty-dominated QUBOs)
      that value makes the stiffest mode of the Euler map unstable, so ``c0`` is capped at
      ``((1.9 / dt)^2 - 1) / rho(J)``. ``rho(J)`` is the spectral radius, from a fixed-start
      power iteration. The cap keeps ``dt * omega_max <= 1.9 < 2``, where
      ``omega_max^2 = a0 + c0 rho``. It leaves Sherrington-Kirkpatrick-like problems alone.
    * ``heat_coefficient = 0.06`` (gamma): the value used by the ``simulated-bifurcation``
      package (its default) for heated SB. It is only used with ``heated=True``. Heating adds variety
      between reads. bSB on its own often sends every read to the same state.
    * ``early_stopping = True``, ``check_every = 10``, ``stop_window = 100``: stop when no
      read's sign pattern has changed for 100 steps. The check runs every 10 steps and
      compares two (R, n) sign tensors. ``info['sb']['num_steps_run']`` says how many steps ran.
      On dense problems of hundreds of variables some spin keeps moving, so it rarely stops
      early; on small or easy problems it saves most of the run.
    * Start: small random ``x, y ~ U(-0.1, 0.1)``. With ``initial_states`` s0 (a warm start),
      ``x = 0.5 s0 + U(-0.1, 0.1)`` and ``y ~ U(-0.1, 0.1)``. This only *biases* the
      trajectory toward s0. SB is not a local search, so it can return states with an energy
      above E(s0).

Limitations
    SB follows a continuous relaxation. It is at its best on Sherrington-Kirkpatrick-like and
    max-cut-like problems (couplings with a broad spectrum). It does poorly on penalty-dominated
    QUBOs whose coupling matrix is nearly rank one, such as number partitioning or least
    squares with non-centred data. bSB ends far above simulated annealing there, and dSB, whose
    force ``c0 J sign(x)`` does not shrink with the amplitudes, swings all spins together and
    ends orders of magnitude above it. Use simulated annealing for those problems. With
    strong random fields, bSB tends to follow a single adiabatic branch, so every read
    returns the same state; ``heated=True`` or dSB give more variety.

References:
    H. Goto, K. Tatsumura, A. R. Dixon, "Combinatorial optimization by simulating adiabatic
    bifurcations in nonlinear Hamiltonian systems", Sci. Adv. 5, eaav2372 (2019).
    H. Goto, K. Endo, M. Suzuki, Y. Sakai, T. Kanao, Y. Hamakawa, R. Hidaka, M. Yamasaki,
    K. Tatsumura, "High-performance combinatorial optimization based on classical
    mechanics", Sci. Adv. 7, eabe7953 (2021).
    T. Kanao, H. Goto, "Simulated bifurcation assisted by thermal fluctuation",
    Commun. Phys. 5, 153 (2022).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from hybridqnn._checks import check_bool, check_choice, check_float, check_int
from hybridqnn.solvers.dense import DenseRun
from hybridqnn.solvers.keywords import MAX_SWEEPS
from hybridqnn.solvers.torch_device import TorchDenseSampler, seeded_generator, signs

MODES = ("ballistic", "discrete")
DEFAULT_DT = {"ballistic": 0.5, "discrete": 1.0}


def spectral_radius(J: torch.Tensor, iterations: int = 50) -> float:
    """Largest |eigenvalue| of the symmetric matrix ``J``, by power iteration.

    The start vector is fixed, so the result is deterministic. The estimate approaches the
    true value from below and is within a few percent on dense random problems. It is used
    only to set scales.
    """
    gen = seeded_generator(J.device, 0)
    v = torch.rand(J.shape[0], generator=gen, dtype=J.dtype, device=J.device) + 0.5
    rho = 0.0
    for _ in range(iterations):
        norm = torch.linalg.vector_norm(v)
        if float(norm) == 0.0:
            return 0.0
        v = J @ (v / norm)
        rho = float(torch.linalg.vector_norm(v))
    return rho


def default_c0(J: torch.Tensor, h: torch.Tensor, dt: float) -> float:
    """Goto's ``c0 = 0.5 / rms(J s + h)``, capped at ``((1.9 / dt)^2 - 1) / rho(J)`` for stability.

    ``rms(J s + h)^2 = (||J||_F^2 + ||h||^2) / n`` is the mean square of the local field
    over random spins. The cap keeps the stiffest mode of the symplectic Euler map stable.
    It never goes below ``0.25 / rho(J)``, even for ``dt >= 1.7``. The result is 0.5 for a
    model with no coefficients.
    """
    norm2 = float((J * J).sum() + (h * h).sum())
    if norm2 == 0.0:
        return 0.5
    c0 = 0.5 * math.sqrt(J.shape[0] / norm2)
    rho = spectral_radius(J)
    if rho > 0.0:
        c0 = min(c0, max((1.9 / dt) ** 2 - 1.0, 0.25) / rho)
    return c0


class SimulatedBifurcationSampler(TorchDenseSampler):
    """Ballistic or discrete simulated bifurcation (Goto 2019/2021), batched in torch.

    The module docstring gives the equations, how fields are handled, and the reasons for
    the defaults.

    Args:
        device: the torch device the trajectories run on ("cpu", "cuda", "cuda:1", ...).
        dtype: the floating dtype of positions, momenta and couplings. float32 is enough,
            since the dynamics only needs the forces' signs and rough sizes.

    Keywords of ``sample``, besides ``num_reads``, ``seed`` and ``initial_states``:
        mode: "ballistic" (bSB, the default) or "discrete" (dSB, whose coupling sees sign(x)).
        num_steps: the number of Euler steps (default 1000). The pump reaches a0 = 1 at the last.
        dt: the time step (default 0.5 for ballistic, 1.0 for discrete).
        c0: the coupling scale (default :func:`default_c0`).
        heated: heated SB, ``y += heat_coefficient * dt * y_prev`` each step (default False).
        heat_coefficient: gamma of heated SB (default 0.06).
        early_stopping: stop once no sign has changed for ``stop_window`` steps (default True).
        stop_window: the number of steps without a sign change that stops the run (default 100).
        check_every: the number of steps between two sign checks (default 10).

    ``info["sb"]`` holds ``num_steps_run``, ``stopped_early``, ``c0``, ``dt``, ``mode``,
    ``heated`` and ``device``.
    """

    info_key = "sb"

    _own_parameters = {
        "mode": ["modes"],
        "num_steps": [],
        "dt": [],
        "c0": [],
        "heated": [],
        "heat_coefficient": [],
        "early_stopping": [],
        "stop_window": [],
        "check_every": [],
    }

    @property
    def properties(self) -> dict[str, Any]:
        return {**super().properties, "modes": MODES}

    def _sample_spins(
        self,
        run: DenseRun,
        *,
        mode: str = "ballistic",
        num_steps: int = 1000,
        dt: float | None = None,
        c0: float | None = None,
        heated: bool = False,
        heat_coefficient: float = 0.06,
        early_stopping: bool = True,
        stop_window: int = 100,
        check_every: int = 10,
    ) -> tuple[np.ndarray, dict[str, Any]]:
        check_choice("mode", mode, MODES)
        num_steps = check_int("num_steps", num_steps, 1, MAX_SWEEPS)
        dt = DEFAULT_DT[mode] if dt is None else check_float("dt", dt, 0.0, low_open=True)
        if c0 is not None:
            c0 = check_float("c0", c0, 0.0, low_open=True)
        heated = check_bool("heated", heated)
        heat_coefficient = check_float("heat_coefficient", heat_coefficient, 0.0)
        early_stopping = check_bool("early_stopping", early_stopping)
        stop_window = check_int("stop_window", stop_window, 1)
        check_every = check_int("check_every", check_every, 1)

        dev, dtype = self.device, self.dtype
        J, h = self._model_tensors(run.model)
        if c0 is None:
            c0 = default_c0(J, h, dt)
        gen = seeded_generator(dev, run.seed)
        x = 0.2 * torch.rand(run.spins.shape, generator=gen, dtype=dtype, device=dev) - 0.1
        y = 0.2 * torch.rand(run.spins.shape, generator=gen, dtype=dtype, device=dev) - 0.1
        if run.warm:
            x += 0.5 * self._as_tensor(run.spins)
        discrete = mode == "discrete"
        a0 = 1.0
        last = x >= 0
        stable = 0
        k = 0
        for k in range(1, num_steps + 1):
            y_prev = y.clone() if heated else None
            x.add_(y, alpha=a0 * dt)
            z = signs(x) if discrete else x
            # E is minimised, so the force is -(J z + h): J' = -J in Goto's convention.
            force = torch.addmm(h, z, J)
            y.add_(x, alpha=-(a0 - a0 * k / num_steps) * dt).add_(force, alpha=-c0 * dt)
            if heated:
                y.add_(y_prev, alpha=heat_coefficient * dt)
            wall = x.abs() > 1.0
            x.clamp_(-1.0, 1.0)
            y.masked_fill_(wall, 0.0)
            if early_stopping and k % check_every == 0:
                now = x >= 0
                if torch.equal(now, last):
                    stable += check_every
                    if stable >= stop_window:
                        break
                else:
                    stable = 0
                    last = now
        out = signs(x).to(torch.int8).cpu().numpy()
        info = {
            "num_steps_run": k,
            "stopped_early": k < num_steps,
            "c0": c0,
            "dt": dt,
            "mode": mode,
            "heated": heated,
            "device": str(dev),
        }
        return out, info
