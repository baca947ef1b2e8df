"""A simulated coherent Ising machine (CIM) with amplitude control, as a ``dimod.Sampler``.

A measurement-feedback CIM holds one degenerate optical parametric oscillator (OPO) pulse per
spin in a fibre ring. Each round trip, the in-phase amplitudes are measured and a feedback
signal proportional to the coupling term is injected back [McMahon 2016, Inagaki 2016]. As
the pump rises past threshold, the amplitudes bifurcate, and their signs are the spins. This
module integrates the standard mean-field (c-number) model of that machine. It adds the
error variables of amplitude-heterogeneity correction (AHC) [Leleu 2019], which destabilise
the local minima that a plain CIM gets trapped in. Each read is one independent machine run.
All reads run together as (R, n) tensors on ``device`` (CPU or CUDA).

Problem and sign convention
    hybridqnn's dense model is ``E(s) = offset + h^T s + 1/2 s^T J s``, to be *minimised*
    (J symmetric with zero diagonal; :class:`~hybridqnn.problems.DenseIsing`). The CIM
    literature maximises ``sum_ij w_ij s_i s_j`` with ``w = -J``. This conversion happens in
    one place, the minus sign of the feedback below, and nowhere else.

Equations
    Euler-Maruyama with step ``dt``, ``k = 1..num_steps``. The pump is linear,
    ``p_k = p0 + (p1 - p0) (k - 1) / (num_steps - 1)`` with ``(p0, p1) = pump_range``::

        x <- x + [(-1 + p_k - x^2) x - eps e * (J x + A h)] dt + sigma sqrt(dt) N(0, 1)
        e <- e - beta (x^2 - A^2) e dt           (amplitude control; otherwise e = 1)
        x <- clip(x, -1.5 A, 1.5 A),    e <- clip(e, 0, e_max)

    Here ``*`` is elementwise, ``A = target_amplitude``, ``eps = feedback_scale``,
    ``beta = error_rate`` and ``sigma = noise``. Without amplitude control this is the
    mean-field measurement-feedback CIM of [McMahon 2016] and [Wang 2013]. With it, ``e``
    is Leleu's error variable: it grows while a pulse is below the target amplitude and
    shrinks above it, so amplitudes stay homogeneous (``x_i^2 -> A^2``). That turns local
    minima into unstable fixed points [Leleu 2019].

Local fields (a choice)
    A CIM has no external field. The field enters as ``A h``: the field times the target
    amplitude. At the AHC fixed point ``|x_i| = A``, the feedback ``J x + A h`` then equals
    ``A (J s + h)``, which is proportional to the true local field of ``E``.

Deviations from the papers
    * Amplitudes are clipped at ``1.5 A``, and ``e`` at ``e_max = 1.5 / (dt eps rho(J))``
      (``rho`` is the spectral radius). Without the clips, explicit Euler blows up on stiff
      problems: ``eps e rho dt`` must stay below 2. An optical CIM saturates in a similar way.
    * Leleu et al. keep the pump fixed. Here it ramps, as in the experiments, so one set of
      defaults spans below and above threshold.
    * **Returned sample: the best seen.** Every ``check_every`` steps, and at the last step,
      each read's spins ``sign(x)`` (with ``sign(0) = +1``) are scored in batch, in
      ``dtype``, and the lowest-energy configuration seen along that read's trajectory is
      returned. This is how CIM simulators such as cim-optimizer report results. It is not
      the final state. A warm start's own configuration is among
      those scored, so a warm-started read never returns worse than its start.

Defaults, and why
    * ``num_steps = 2000``, ``dt = 0.1``: the step is small enough for explicit Euler on
      stiff penalty QUBOs. With dt = 0.2, a least-squares QUBO of n = 1000 ended 45% higher,
      and 10 times higher without the clip on ``e``. 2000 steps give AHC time to work
      (T = 200). At n = 1000 with 16 reads a run takes about 1.1 s on 2 CPU cores, about as
      long as hybridqnn's dense SA with 1000 sweeps.
    * ``feedback_scale = 1 / rho(J)`` (spectral radius, by power iteration; ``1 / max|h|``
      when J = 0): the fastest mode of ``-eps J`` then grows or decays at rate 1, like the
      OPO loss. The largest row sum of ``|J|`` (Gershgorin) also bounds ``rho``, but it is
      about sqrt(n) times too cautious on dense problems. AHC rescales the feedback through
      ``e`` anyway, and results hardly changed between 0.5/rho and 2/rho.
    * ``pump_range = (0.0, 1.5)``: with ``eps = 1/rho`` and ``e = 1``, the leading mode's
      threshold is ``1 - |lambda_min(J)| / rho``. That is 0 for a symmetric spectrum
      (Sherrington-Kirkpatrick), and at most 1 otherwise. The ramp starts there and ends
      above it. It stays below ``1 + A^2 = 2``,
      the bound under which AHC fixed points exist (``e_i > 0``).
    * ``target_amplitude = 1.0`` (``A``; Leleu's ``a = A^2 = 1``), ``error_rate = 0.5``
      (``beta``): the best of the settings tried on dense random problems of n = 1000
      (A in {0.5, 1}, beta in {0.1, 0.3, 0.5, 1}). beta = 1 was worse.
    * ``noise = 0.1``: a small quantum-noise-like term. It adds variety between reads and
      helped a little on problems with fields. Set 0 for deterministic mean-field dynamics
      (each read is still seeded).
    * ``check_every = 10``: scoring costs one extra matrix product, so about 10% overhead.
    * Start: ``x ~ U(-0.01, 0.01)`` (vacuum-level amplitudes) and ``e = 1``. With
      ``initial_states`` s0, ``x = 0.5 A s0 + U(-0.01, 0.01)``.

Limitations
    On penalty QUBOs whose couplings have one dominant eigenvalue, ``eps = 1/rho`` makes every
    other mode slow. On least squares with non-centred data (n = 1000) the CIM ended about 14
    times above simulated annealing; use simulated annealing for such problems. On centred
    least squares it did better than simulated annealing.

References:
    P. L. McMahon et al., "A fully programmable 100-spin coherent Ising machine with
    all-to-all connections", Science 354, 614 (2016).
    T. Inagaki et al., "A coherent Ising machine for 2000-node optimization problems",
    Science 354, 603 (2016).
    Z. Wang, A. Marandi, K. Wen, R. L. Byer, Y. Yamamoto, "Coherent Ising machine based on
    degenerate optical parametric oscillators", Phys. Rev. A 88, 063853 (2013).
    T. Leleu, Y. Yamamoto, P. L. McMahon, K. Aihara, "Destabilization of local minima in
    analog spin systems by correction of amplitude heterogeneity", Phys. Rev. Lett. 122,
    040607 (2019).
    T. Leleu et al., "Scaling advantage of chaotic amplitude control for high-performance
    combinatorial optimization", Commun. Phys. 4, 266 (2021).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from hybridqnn._checks import check_bool, check_float, check_int
from hybridqnn.solvers.bifurcation import spectral_radius
from hybridqnn.solvers.dense import DenseRun
from hybridqnn.solvers.keywords import MAX_SWEEPS
from hybridqnn.solvers.torch_device import TorchDenseSampler, seeded_generator, signs

AMPLITUDE_CLIP = 1.5  # |x| <= 1.5 A
STABILITY = 1.5  # e_max = STABILITY / (dt eps rho(J))


def default_feedback_scale(J: torch.Tensor, h: torch.Tensor, rho: float | None = None) -> float:
    """``1 / rho(J)`` (the spectral radius, computed unless given); ``1 / max|h|`` when J = 0;
    1 for a model with no coefficients."""
    rho = spectral_radius(J) if rho is None else rho
    if rho > 0.0:
        return 1.0 / rho
    hmax = float(h.abs().max()) if h.numel() else 0.0
    return 1.0 / hmax if hmax > 0.0 else 1.0


def _pump_range(value: Any) -> tuple[float, float]:
    if not isinstance(value, (tuple, list, np.ndarray)) or len(value) != 2:
        raise ValueError(f"'pump_range' must be a pair (start, end), got {value!r}")
    return check_float("pump_range[0]", value[0]), check_float("pump_range[1]", value[1])


class CIMSampler(TorchDenseSampler):
    """A simulated measurement-feedback coherent Ising machine with amplitude-heterogeneity correction.

    The module docstring gives the equations, the deviations from the papers, and the reasons
    for the defaults. Each read returns **the lowest-energy spin configuration seen along
    its trajectory**, not its final state.

    Args:
        device: the torch device the machine runs on ("cpu", "cuda", "cuda:1", ...).
        dtype: the floating dtype of amplitudes, error variables and couplings.

    Keywords of ``sample``, besides ``num_reads``, ``seed`` and ``initial_states``:
        num_steps: the number of Euler steps, i.e. round trips (default 2000).
        dt: the time step (default 0.1).
        pump_range: ``(p0, p1)``, the linear pump ramp (default (0.0, 1.5)).
        noise: sigma, the standard deviation of the noise per unit time (default 0.1).
        feedback_scale: eps (default ``1 / rho(J)``).
        amplitude_control: whether to use AHC error variables (default True).
        target_amplitude: A, the target pulse amplitude; it also scales the fields (default 1.0).
        error_rate: beta, the rate of the error variables (default 0.5).
        check_every: the number of steps between two scorings of the current spins (default 10).

    ``info["cim"]`` holds ``feedback_scale``, ``max_error`` (e_max; None without couplings),
    ``num_steps``, ``dt`` and ``device``.
    """

    info_key = "cim"

    _own_parameters = {
        "num_steps": [],
        "dt": [],
        "pump_range": [],
        "noise": [],
        "feedback_scale": [],
        "amplitude_control": [],
        "target_amplitude": [],
        "error_rate": [],
        "check_every": [],
    }

    def _sample_spins(
        self,
        run: DenseRun,
        *,
        num_steps: int = 2000,
        dt: float = 0.1,
        pump_range: tuple[float, float] = (0.0, 1.5),
        noise: float = 0.1,
        feedback_scale: float | None = None,
        amplitude_control: bool = True,
        target_amplitude: float = 1.0,
        error_rate: float = 0.5,
        check_every: int = 10,
    ) -> tuple[np.ndarray, dict[str, Any]]:
        num_steps = check_int("num_steps", num_steps, 1, MAX_SWEEPS)
        dt = check_float("dt", dt, 0.0, low_open=True)
        p0, p1 = _pump_range(pump_range)
        noise = check_float("noise", noise, 0.0)
        if feedback_scale is not None:
            feedback_scale = check_float("feedback_scale", feedback_scale, 0.0, low_open=True)
        amplitude_control = check_bool("amplitude_control", amplitude_control)
        amp = check_float("target_amplitude", target_amplitude, 0.0, low_open=True)
        error_rate = check_float("error_rate", error_rate, 0.0)
        check_every = check_int("check_every", check_every, 1)

        dev, dtype = self.device, self.dtype
        J, h = self._model_tensors(run.model)
        rho = spectral_radius(J)
        eps = default_feedback_scale(J, h, rho) if feedback_scale is None else feedback_scale
        e_max = STABILITY / (dt * eps * rho) if rho > 0.0 else None  # no couplings: nothing stiff
        field = amp * h  # the field, at the scale of the amplitudes it is added to
        gen = seeded_generator(dev, run.seed)
        shape = run.spins.shape
        x = 0.02 * torch.rand(shape, generator=gen, dtype=dtype, device=dev) - 0.01
        if run.warm:
            x += 0.5 * amp * self._as_tensor(run.spins)
        e = torch.ones(shape, dtype=dtype, device=dev)
        x_max, amp2 = AMPLITUDE_CLIP * amp, amp * amp
        kick = noise * dt**0.5

        def score(s: torch.Tensor) -> torch.Tensor:
            return ((0.5 * (s @ J) + h) * s).sum(dim=1)

        # the start is scored too: a warm start's own spins, or the signs of the random amplitudes
        best_s = self._as_tensor(run.spins) if run.warm else signs(x)
        best_e = score(best_s)
        for k in range(1, num_steps + 1):
            p = p0 + (p1 - p0) * (k - 1) / max(num_steps - 1, 1)
            x2 = x * x
            # E is minimised, so the feedback enters with a minus sign: w = -J in CIM terms.
            feedback = torch.addmm(field, x, J).mul_(e)
            dx = x * ((p - 1.0) - x2) - eps * feedback
            if amplitude_control:
                e.addcmul_(x2 - amp2, e, value=-error_rate * dt).clamp_(0.0, e_max)
            x.add_(dx, alpha=dt)
            if kick > 0.0:
                x.add_(torch.randn(shape, generator=gen, dtype=dtype, device=dev), alpha=kick)
            x.clamp_(-x_max, x_max)
            if k % check_every == 0 or k == num_steps:
                s = signs(x)
                energy = score(s)
                better = energy < best_e
                best_e = torch.where(better, energy, best_e)
                best_s = torch.where(better[:, None], s, best_s)
        out = best_s.to(torch.int8).cpu().numpy()
        info = {"feedback_scale": eps, "max_error": e_max, "num_steps": num_steps, "dt": dt, "device": str(dev)}
        return out, info
