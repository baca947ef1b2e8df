"""The names of hybridqnn's optimizers (:func:`hybridqnn.optim.make_optimizer`), in a module
that imports no torch, so that the experiments' params can list them cheaply (``hybridqnn
validate`` and ``--dry-run`` load no torch)."""

from __future__ import annotations

__all__ = ["FULL_PRECISION_NAMES", "OPTIMIZER_NAMES", "QPSBGD_VARIANTS"]

#: The paper's three QP-SBGD variants: the name fixes QPSBGD's ``projection``. ``qpsbgd-ls``:
#: least squares; ``qpsbgd-sm``: the authors' sign-matching problem (their Gurobi runs);
#: ``qpsbgd-xnor``: the per-neuron XNOR/threshold penalty QUBO (their D-Wave runs).
QPSBGD_VARIANTS: dict[str, str] = {
    "qpsbgd-ls": "least-squares",
    "qpsbgd-sm": "sign-matching",
    "qpsbgd-xnor": "xnor-threshold",
}
#: Names of the full-precision (torch) optimizers among :data:`OPTIMIZER_NAMES`.
FULL_PRECISION_NAMES: tuple[str, ...] = ("sgd", "adam")
#: Names accepted by :func:`hybridqnn.optim.make_optimizer`.
OPTIMIZER_NAMES: tuple[str, ...] = (
    "qpsbgd",
    *QPSBGD_VARIANTS,
    "bc-sgd",
    "bc-signsgd",
    "proxquant",
    *FULL_PRECISION_NAMES,
)
