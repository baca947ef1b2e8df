"""Binary least squares: min over g in {-1, +1}^n of ||v - X g||^2.

The per-neuron binary-gradient projection of QP-SBGD (Krahn et al., arXiv 2310.15128): X holds a
layer's input activations over the batch (B x n_in) and v the gradient at one output neuron.
Expanding with g_i^2 = 1,

    ||v - X g||^2 = v^T v + tr(X^T X) - 2 (X^T v)^T g + sum_{i != j} (X^T X)_ij g_i g_j,

i.e. the spin model E(g) = offset + h^T g + 1/2 g^T J g with J = 2 offdiag(X^T X),
h = -2 X^T v and offset = v^T v + tr(X^T X). With U = I this reduces to g = sign(v) (signSGD).
"""

from __future__ import annotations

import numpy as np

from hybridqnn.problems.dense import DenseIsing


def binary_least_squares(x: np.ndarray, v: np.ndarray) -> DenseIsing:
    """The spin model of ||v - X g||^2 over g in {-1, +1}^n (module docstring)."""
    xm = np.asarray(x, dtype=np.float64)
    vv = np.asarray(v, dtype=np.float64)
    if xm.ndim != 2 or vv.shape != (xm.shape[0],):
        raise ValueError(f"'x' must be (B, n) and 'v' (B,), got {xm.shape} and {vv.shape}")
    gram = xm.T @ xm
    diag = np.diag(gram).copy()
    coupling = 2.0 * gram
    np.fill_diagonal(coupling, 0.0)
    return DenseIsing(-2.0 * xm.T @ vv, coupling, float(vv @ vv + diag.sum()))
