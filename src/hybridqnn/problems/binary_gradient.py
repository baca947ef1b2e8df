"""The binary-gradient projections of QP-SBGD (Krahn et al., arXiv 2310.15128, BMVC 2024).

For a layer with inputs X (B x n, one row x_i per sample) and output gradients Y (B x m), QP-SBGD
replaces the weight gradient by a binary matrix G in {-1, +1}^{m x n}. Three projections:

1. **Least squares** (the per-neuron QUBO of the paper's summary):
   :func:`hybridqnn.problems.binary_least_squares`, min_g ||v_j - X g||^2.

2. **Sign matching** (the authors' Gurobi model, notebooks ``10LayerMLP/train_bnn.ipynb`` and
   ``2LayerDWave/train_bnn.ipynb``), :func:`sign_matching_cqm`: over G in {+-1}^{m x n} and
   S in {+-1}^{B x m},

       min  sum_ij (S_ij - Y_ij)^2    s.t.  (sum_k X_ik G_jk + eps) * S_ij >= 0,   eps = 0.01.

   As S_ij^2 = 1 the objective is sum_ij (1 + Y_ij^2) - 2 sum_ij Y_ij S_ij. The constraints are
   quadratic (G times S). :func:`sign_matching_bqm` is its penalty form for any BQM sampler:
   with b = (1 + S_ij)/2 and z = x_i^T g_j + eps, each quadratic constraint is the pair of
   linear big-M constraints

       C1:  z + M_i (1 - b) >= 0      (S_ij = +1  =>  z >= 0)
       C2:  M_i b - z       >= 0      (S_ij = -1  =>  z <= 0)

   with M_i = sum_k |X_ik| + eps >= |z|; a pair holds exactly when the quadratic constraint
   does. Each linear constraint e >= 0 becomes the penalty lambda (e - sigma)^2 with a slack
   sigma on slack bits. The constraints are written over integers (integer X as is, real X
   quantized to ``input_bits``; see :func:`sign_matching_bqm`), so the slack bits represent
   every feasible value exactly: the penalty is zero exactly on feasible points and at least
   lambda on the others, and with lambda > 4 max|Y| the penalty model's minimum is the
   constrained minimum (tested by enumeration). dimod's ``cqm_to_bqm`` is not used: it does not
   take quadratic constraints.

3. **XNOR / threshold penalty QUBO** (the authors' D-Wave path, ``old_qubo`` and
   ``BNN_on_QPU_libraries_dimod_10.py``, built there with qubovert's PCBO),
   :func:`xnor_threshold_bqm`, one per output neuron, over bits:

   - weight bits w_k (k < n); inputs as bits x = (1 + x_spin)/2;
   - per sample i and input k an auxiliary p_ik = XNOR(w_k, x_ik): for x = 1 the BUFFER
     constraint p = w, penalty lambda (p + w - 2 p w); for x = 0 the NOT constraint p = 1 - w,
     penalty lambda (1 - p - w + 2 p w);
   - the majority threshold o_i = [sum_k p_ik >= threshold] through the slack equality
     sum_k p_ik + delta = sum_l 2^l a_il with o_i the top slack bit, penalty
     lambda (sum_k p_ik + delta - sum_l 2^l a_il)^2:
     n < 2: p = o;  n < 4: p = a_1 + 2 o;  n < 8: p + delta = a_1 + 2 a_2 + 4 o with
     delta = (8 - n - n mod 2)/2;  n < 16: the same with 4 slack bits and 16;
     n >= 16 is unsupported (as in the authors' code);
   - objective sum_i (t_i - o_i)^2 with target t = (Y + 1)/2, where Y is the *negative* output
     gradient (the authors' Y = -grad); o_i^2 = o_i.

   lambda = 50 as in the paper. The BQM's minimum over the auxiliary bits, for fixed w, is
   sum_i (t_i - o_i(w))^2 with o_i(w) the threshold neuron (tested by enumeration); the step is
   W_j <- W_j + eta (2 w - 1), i.e. G_j = 1 - 2 w in W <- W - eta G.
"""

from __future__ import annotations

import math

import dimod
import numpy as np

__all__ = [
    "SIGN_MATCHING_EPS",
    "XNOR_LAGRANGE",
    "sign_matching_bqm",
    "sign_matching_cqm",
    "sign_matching_objective",
    "quantize_inputs",
    "threshold_neuron",
    "xnor_threshold_bqm",
    "xnor_threshold_objective",
    "xnor_threshold_parameters",
]

SIGN_MATCHING_EPS = 0.01
XNOR_LAGRANGE = 50.0


def _check_xy(x: np.ndarray, y: np.ndarray, y_name: str = "y") -> tuple[np.ndarray, np.ndarray]:
    xm = np.asarray(x, dtype=np.float64)
    ym = np.asarray(y, dtype=np.float64)
    if ym.ndim == 1:
        ym = ym[:, None]
    if xm.ndim != 2 or ym.ndim != 2 or ym.shape[0] != xm.shape[0]:
        raise ValueError(
            f"'x' must be (B, n) and {y_name!r} (B,) or (B, m) with the same B, got {xm.shape} and {np.shape(y)}"
        )
    if not (np.all(np.isfinite(xm)) and np.all(np.isfinite(ym))):
        raise ValueError(f"'x' and {y_name!r} must be finite")
    return xm, ym


def _check_eps(eps: float) -> float:
    from hybridqnn._checks import check_float

    return check_float("eps", eps, 0.0)


def sign_matching_cqm(
    x: np.ndarray, y: np.ndarray, eps: float = SIGN_MATCHING_EPS
) -> dimod.ConstrainedQuadraticModel:
    """The authors' constrained model over G and S (module docstring, item 2).

    Args:
        x: X, (B, n), the layer's inputs.
        y: Y, (B,) or (B, m), the gradient at the layer's output (m = 1 for a 1-D ``y``).
        eps: the margin epsilon (0.01 in the paper).

    Returns:
        A CQM over SPIN variables ``("g", j, k)`` (G_jk) and ``("s", i, j)`` (S_ij) whose
        objective is sum_ij (S_ij - Y_ij)^2 (constant included) and whose constraints
        ``("c", i, j)`` are (sum_k X_ik G_jk + eps) S_ij >= 0.
    """
    xm, ym = _check_xy(x, y)
    eps = _check_eps(eps)
    b, n = xm.shape
    m = ym.shape[1]
    cqm = dimod.ConstrainedQuadraticModel()
    g_labels = [("g", j, k) for j in range(m) for k in range(n)]
    objective = dimod.BinaryQuadraticModel(dimod.SPIN)
    objective.add_variables_from((v, 0.0) for v in g_labels)
    objective.add_linear_from((("s", i, j), -2.0 * ym[i, j]) for i in range(b) for j in range(m))
    objective.offset = float(np.sum(1.0 + ym**2))
    cqm.set_objective(objective)
    for i in range(b):
        for j in range(m):
            lhs = dimod.BinaryQuadraticModel({("s", i, j): eps}, {}, 0.0, dimod.SPIN)
            lhs.add_quadratic_from(
                (("g", j, k), ("s", i, j), xm[i, k]) for k in range(n) if xm[i, k] != 0.0
            )
            cqm.add_constraint_from_model(lhs, ">=", 0.0, label=("c", i, j), copy=False)
    return cqm


def sign_matching_objective(
    x: np.ndarray, y: np.ndarray, g: np.ndarray, eps: float = SIGN_MATCHING_EPS
) -> np.ndarray:
    """The sign-matching objective with S eliminated: for G (m, n) (or (R, m, n)),
    sum_ij (sign(x_i^T g_j + eps) - Y_ij)^2, with sign(0) = +1 (the cheaper feasible choice
    is taken when x_i^T g_j + eps = 0, where both signs are feasible)."""
    xm, ym = _check_xy(x, y)
    gm = np.asarray(g, dtype=np.float64)
    z = np.einsum("bk,...jk->...bj", xm, gm) + eps
    s = np.where(z > 0, 1.0, -1.0)
    cost = (s - ym) ** 2
    tie = z == 0
    cost = np.where(tie, np.minimum((1.0 - ym) ** 2, (1.0 + ym) ** 2), cost)
    return cost.sum(axis=(-2, -1))


def _slack_coefficients(upper: int) -> np.ndarray:
    """Slack bit weights 1, 2, 4, ... (the last one trimmed) that represent every integer in
    [0, upper]."""
    if upper <= 0:
        return np.zeros(0)
    k = int(math.floor(math.log2(upper))) + 1
    coeffs = 2.0 ** np.arange(k)
    coeffs[-1] = upper - (2.0 ** (k - 1) - 1)
    return coeffs


def quantize_inputs(x: np.ndarray, input_bits: int = 8) -> tuple[np.ndarray, float]:
    """(Q, scale) with Q = round(scale X) integer valued: scale = 1 if X already is integer
    valued, else (2^(input_bits - 1) - 1) / max|X|."""
    xm = np.asarray(x, dtype=np.float64)
    if np.all(xm == np.round(xm)):
        return xm, 1.0
    top = float(np.max(np.abs(xm)))
    scale = (2.0 ** (input_bits - 1) - 1.0) / top
    return np.round(xm * scale), scale


def sign_matching_bqm(
    x: np.ndarray,
    y: np.ndarray,
    eps: float = SIGN_MATCHING_EPS,
    *,
    lagrange_multiplier: float | None = None,
    input_bits: int = 8,
) -> dimod.BinaryQuadraticModel:
    """The penalty form of :func:`sign_matching_cqm` (module docstring, item 2) as a SPIN BQM.

    The constraints are written over integers, which makes the slack encoding exact. Integer
    valued X (e.g. +-1 activations) is used as is. Real-valued X is first quantized,
    Q = round(c X) with c = (2^(input_bits - 1) - 1) / max|X| (the constraint
    (x^T g + eps) S >= 0 is scale free, so it becomes (Q^T g + c eps) S >= 0): the model is then
    exact for the quantized inputs (a documented deviation; use an exact CQM solver such as
    :class:`hybridqnn.solvers.milp.MILPSolver` on :func:`sign_matching_cqm` for unquantized X).
    With integer z = q^T g and e = c eps: S = +1 needs z >= L = ceil(-e), S = -1 needs
    z <= L' = floor(-e), so with b = (1 + S)/2

        C1:  z - L + M1 (1 - b) >= 0,   M1 = sum|q| + L
        C2:  M2 b - z + L'      >= 0,   M2 = sum|q| - L'

    and each e_c >= 0 with e_c in [0, U_c] (integers) becomes lambda (e_c - sigma_c)^2 with
    sigma_c = sum_l w_l beta_l, w = 1, 2, 4, ... (last trimmed to reach U_c exactly). The
    penalty is 0 on feasible points and >= lambda elsewhere, so lambda > 4 max|Y| (a sign flip of
    S_ij changes the objective by at most 4|Y_ij|) makes the minimum the constrained minimum.

    Args:
        x: X, (B, n), the layer's inputs (as for :func:`sign_matching_cqm`).
        y: Y, (B,) or (B, m), the gradient at the layer's output (as for
            :func:`sign_matching_cqm`).
        eps: the margin epsilon (as for :func:`sign_matching_cqm`).
        lagrange_multiplier: lambda; default 4 max|Y| + 1.
        input_bits: quantization of real-valued X (ignored for integer X), in [2, 24].

    Returns:
        A SPIN BQM over ``("g", j, k)``, ``("s", i, j)`` and slack spins
        ``("slack", c, i, j, l)`` (c = 1, 2; slack bit beta = (1 + spin)/2), whose energy is
        sum_ij (S_ij - Y_ij)^2 plus lambda times the squared slack residuals.
    """
    from hybridqnn._checks import check_float, check_int

    xm, ym = _check_xy(x, y)
    eps = _check_eps(eps)
    input_bits = check_int("input_bits", input_bits, 2, 24)
    q, scale = quantize_inputs(xm, input_bits)
    e = eps * scale
    low, high = math.ceil(-e), math.floor(-e)
    b, n = q.shape
    m = ym.shape[1]
    abs_sum = np.abs(q).sum(axis=1)
    if lagrange_multiplier is None:
        lam = 4.0 * float(np.max(np.abs(ym), initial=0.0)) + 1.0
    else:
        lam = check_float("lagrange_multiplier", lagrange_multiplier, 0.0, low_open=True)

    bqm = dimod.BinaryQuadraticModel(dimod.SPIN)
    bqm.add_variables_from((("g", j, k), 0.0) for j in range(m) for k in range(n))
    for i in range(b):
        for j in range(m):
            bqm.add_linear(("s", i, j), -2.0 * ym[i, j])
    bqm.offset += float(np.sum(1.0 + ym**2))
    for i in range(b):
        m1, m2 = max(abs_sum[i] + low, 0.0), max(abs_sum[i] - high, 0.0)
        # C1 = z - L + M1 (1 - S)/2, range [0, sum|q| - L + M1];  C2 = M2 (1 + S)/2 - z + L'
        specs = (
            (1, 1.0, -m1 / 2.0, -low + m1 / 2.0, abs_sum[i] - low + m1),
            (2, -1.0, m2 / 2.0, high + m2 / 2.0, abs_sum[i] + high + m2),
        )
        for j in range(m):
            for c, sgn, s_coef, const0, upper in specs:
                terms: dict = {("g", j, k): sgn * q[i, k] for k in range(n) if q[i, k] != 0.0}
                terms[("s", i, j)] = s_coef
                const = const0
                # slack sigma = sum_l w_l (1 + t_l)/2
                for ell, w in enumerate(_slack_coefficients(int(round(upper)))):
                    terms[("slack", c, i, j, ell)] = -w / 2.0
                    const -= w / 2.0
                _add_squared(bqm, terms, const, lam)
    return bqm


def _add_squared(bqm: dimod.BinaryQuadraticModel, terms: dict, const: float, lam: float) -> None:
    """bqm += lam (sum_v a_v s_v + c)^2 over spins (s_v^2 = 1)."""
    labels = list(terms)
    a = np.array([terms[v] for v in labels])
    bqm.offset += lam * (const**2 + float(a @ a))
    bqm.add_linear_from((v, 2.0 * lam * const * a[idx]) for idx, v in enumerate(labels))
    bqm.add_quadratic_from(
        (labels[p], labels[q], 2.0 * lam * a[p] * a[q])
        for p in range(len(labels))
        for q in range(p + 1, len(labels))
    )


def xnor_threshold_parameters(n: int) -> tuple[int, int]:
    """(number of slack bits including o, delta) of the threshold encoding for fan-in ``n``."""
    from hybridqnn._checks import check_int

    n = check_int("n_in", n, 1, 15)
    if n < 2:
        return 1, 0
    if n < 4:
        return 2, 0
    if n < 8:
        return 3, (8 - n - n % 2) // 2
    return 4, (16 - n - n % 2) // 2


def threshold_neuron(x: np.ndarray, w_bits: np.ndarray) -> np.ndarray:
    """o_i = [sum_k XNOR(w_k, x_ik) + delta >= 2^(K-1)] (the encoded majority threshold) for
    inputs ``x`` (B, n) in +-1 and weight bits ``w_bits`` (n,) or (R, n); returns (B,) or (R, B)."""
    xm = np.asarray(x, dtype=np.float64)
    nbits, delta = xnor_threshold_parameters(xm.shape[1])
    xb = (xm + 1.0) / 2.0
    w = np.asarray(w_bits, dtype=np.float64)
    p = np.einsum("...k,bk->...b", w, xb) + np.einsum("...k,bk->...b", 1.0 - w, 1.0 - xb)
    return (p + delta >= 2 ** (nbits - 1)).astype(np.float64)


def xnor_threshold_objective(x: np.ndarray, y: np.ndarray, w_bits: np.ndarray) -> np.ndarray:
    """sum_i (t_i - o_i(w))^2 with t = (Y + 1)/2 (the QUBO's minimum over the auxiliary bits)."""
    t = (np.asarray(y, dtype=np.float64) + 1.0) / 2.0
    return ((t - threshold_neuron(x, w_bits)) ** 2).sum(axis=-1)


def xnor_threshold_bqm(
    x: np.ndarray, y: np.ndarray, lagrange_multiplier: float = XNOR_LAGRANGE
) -> dimod.BinaryQuadraticModel:
    """The per-neuron XNOR/threshold penalty QUBO of the authors' D-Wave path (module
    docstring, item 3).

    Args:
        x: X, (B, n) inputs in {-1, +1} (converted to bits (1 + x)/2), 1 <= n <= 15.
        y: Y, (B,), the *negative* gradient at the neuron's output (target t = (Y + 1)/2).
        lagrange_multiplier: lambda of every constraint penalty (50 in the paper).

    Returns:
        A BINARY BQM over ``("w", k)``, ``("p", i, k)``, ``("a", i, l)`` (l = 1..K-1) and
        ``("o", i)``.
    """
    from hybridqnn._checks import check_float

    xm, ym = _check_xy(x, y)
    if ym.shape[1] != 1:
        raise ValueError(f"'y' must be (B,) for one neuron, got shape {np.shape(y)}")
    if not np.all(np.abs(xm) == 1.0):
        raise ValueError("'x' must hold +-1 values for the XNOR/threshold QUBO")
    lam = check_float("lagrange_multiplier", lagrange_multiplier, 0.0, low_open=True)
    b, n = xm.shape
    nbits, delta = xnor_threshold_parameters(n)
    t = (ym[:, 0] + 1.0) / 2.0
    bqm = dimod.BinaryQuadraticModel(dimod.BINARY)
    bqm.add_variables_from((("w", k), 0.0) for k in range(n))
    for i in range(b):
        # objective (t - o)^2 = t^2 + (1 - 2t) o
        o = ("o", i)
        bqm.add_linear(o, 1.0 - 2.0 * t[i])
        bqm.offset += t[i] ** 2
        for k in range(n):
            p, w = ("p", i, k), ("w", k)
            if xm[i, k] > 0:  # BUFFER p = w: lam (p + w - 2 p w)
                bqm.add_linear(p, lam)
                bqm.add_linear(w, lam)
                bqm.add_quadratic(p, w, -2.0 * lam)
            else:  # NOT p = 1 - w: lam (1 - p - w + 2 p w)
                bqm.offset += lam
                bqm.add_linear(p, -lam)
                bqm.add_linear(w, -lam)
                bqm.add_quadratic(p, w, 2.0 * lam)
        # lam (sum_k p_k + delta - sum_l 2^(l-1) a_l - 2^(K-1) o)^2 over bits (z^2 = z)
        terms = [(("p", i, k), 1.0) for k in range(n)]
        terms += [(("a", i, ell), -(2.0 ** (ell - 1))) for ell in range(1, nbits)]
        terms.append((o, -(2.0 ** (nbits - 1))))
        _add_squared_bits(bqm, terms, float(delta), lam)
    return bqm


def _add_squared_bits(
    bqm: dimod.BinaryQuadraticModel, terms: list, const: float, lam: float
) -> None:
    """bqm += lam (sum_v a_v z_v + c)^2 over bits (z_v^2 = z_v)."""
    bqm.offset += lam * const**2
    for idx, (v, a) in enumerate(terms):
        bqm.add_linear(v, lam * (a * a + 2.0 * const * a))
        for v2, a2 in terms[idx + 1 :]:
            bqm.add_quadratic(v, v2, 2.0 * lam * a * a2)
