"""Several grouping factors: the kernel's arguments in scaled coordinates and its random-number counts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...reference import SIGMA_INVGAMMA, TAU_EXPONENTIAL, TAU_HALFNORMAL
from .priors import TAU_HALFCAUCHY, TAU_INVGAMMA, TAU_INVWISHART, _TAU_KINDS, ResolvedCrossedPrior
from .cells import CellStats
from .nested import AUTO_CHILDREN, child_sums, joint_steps, nested_factor


# ---------------------------------------------------------------------------------------------
# kernel arguments


@dataclass
class CrossedProblem:
    """Kernel arguments in scaled coordinates theta' = D (theta - ref) (b_f' = D b_f for f >= 2)."""

    stats: CellStats
    J: np.ndarray  # (K,)
    q: np.ndarray  # (K,)
    vidx: np.ndarray  # (K, qmax) column indices (padded with 0)
    pidx: np.ndarray  # (r,) pooled column indices
    b_off: np.ndarray  # (K + 1,) offsets of each factor's effects in the flat b vector
    lv_off: np.ndarray  # (K + 1,) offsets of each factor's levels in Gsum
    Gsum: np.ndarray  # (sum J, qmax, qmax): sum over a level's cells of G_c[V_f, V_f]
    hsum: np.ndarray  # (sum J, qmax): sum over a level's cells of h_c[V_f]
    Gfp: np.ndarray  # (sum J, qmax, r): sum over a level's cells of G_c[V_f, P]
    Gpp: np.ndarray  # (r, r) sum over cells of G_c[P, P]
    hp: np.ndarray  # (r,) sum over cells of h_c[P]
    S0inv: np.ndarray
    S0inv_mu0: np.ndarray
    Sainv: np.ndarray
    Sainv_a0: np.ndarray
    tau_kind: np.ndarray  # (K,)
    tau_a: np.ndarray  # (K, qmax)
    tau_b: np.ndarray
    hc_inv_scale2: np.ndarray
    iw_df: np.ndarray  # (K,)
    iw_Psi: np.ndarray  # (K, qmax, qmax)
    shift_target: np.ndarray  # (K, qmax): index into mu (>= 0) or -(1 + index into alpha)
    parent_of: np.ndarray  # (sum J,): the first factor's level containing each level, -1 unless nested in it
    n_children: np.ndarray  # (K, J_1): levels of factor f inside each level of the first factor
    sigma_a: float
    sigma_b: float
    sigma_kind: int
    sigma_par: np.ndarray
    blocked: bool
    interweave: bool
    joint: int = -1  # the factor nested in the first drawn jointly with it (models/crossed/nested.py); -1: none
    joint_parent: np.ndarray = None  # (J_joint,): each child's level of the first factor
    Gchild: np.ndarray = None  # (J_joint, p, p): per child, the sum of its cells' G_c
    hchild: np.ndarray = None  # (J_joint, p): per child, the sum of its cells' h_c
    joint_scales: np.ndarray = None  # (T, 2): (factor, coordinate) of the scales moved with b_1, b_f integrated out
    joint_step: np.ndarray = None  # (steps, T): each Metropolis step's proposal sds on log tau^2

    def __post_init__(self):
        p = self.stats.G.shape[1]
        if self.joint_parent is None:
            self.joint_parent = np.zeros(0, dtype=np.int64)
            self.Gchild = np.zeros((0, p, p))
            self.hchild = np.zeros((0, p))
        if self.joint_scales is None:
            self.joint_scales = np.zeros((0, 2), dtype=np.int64)
            self.joint_step = np.zeros((0, 0))

    def kernel_args(self):
        from ...kernels.crossed.chains import CrossedInputs

        s = self.stats
        data = {"G": s.G, "h": s.h, "rr": s.rr, "nc": s.n, "level": s.level}
        # every other input is this problem's field of the same name
        return (CrossedInputs(**{f: data[f] if f in data else getattr(self, f) for f in CrossedInputs._fields}),)


def crossed_problem(cs: CellStats, prior: ResolvedCrossedPrior, vidx_list, pidx, J, blocked=True,
                    interweave=False, joint=False) -> CrossedProblem:
    """Express the resolved prior in the scaled coordinates and precompute the per-level Gram sums; ``joint``:
    draw a factor nested in the first jointly with it (when there is one and the sampler is blocked): True,
    False or "auto" (when it has at most AUTO_CHILDREN levels per level of the first on average)."""
    K = len(vidx_list)
    q = np.array([len(v) for v in vidx_list], dtype=np.int64)
    qmax = int(q.max())
    vidx = np.zeros((K, qmax), dtype=np.int64)
    for f, v in enumerate(vidx_list):
        vidx[f, : len(v)] = v
    pidx = np.asarray(pidx, dtype=np.int64)
    J = np.asarray(J, dtype=np.int64)
    b_off = np.concatenate([[0], np.cumsum(J * q)]).astype(np.int64)
    lv_off = np.concatenate([[0], np.cumsum(J)]).astype(np.int64)
    r = len(pidx)
    Gsum = np.zeros((int(lv_off[-1]), qmax, qmax))
    hsum = np.zeros((int(lv_off[-1]), qmax))
    Gfp = np.zeros((int(lv_off[-1]), qmax, r))
    for f, v in enumerate(vidx_list):
        k, lv = len(v), slice(lv_off[f], lv_off[f + 1])
        np.add.at(Gsum[lv, :k, :k], cs.level[:, f], cs.G[:, v][:, :, v])
        np.add.at(hsum[lv, :k], cs.level[:, f], cs.h[:, v])
        if r:
            np.add.at(Gfp[lv, :k, :], cs.level[:, f], cs.G[:, v][:, :, pidx])
    Gpp = cs.G[:, pidx][:, :, pidx].sum(axis=0) if r else np.zeros((0, 0))
    hp = cs.h[:, pidx].sum(axis=0) if r else np.zeros(0)
    D, ref = cs.scale, cs.ref
    with np.errstate(divide="ignore"):
        prec = np.where(np.isfinite(prior.fixed_scale), 1.0 / (D * prior.fixed_scale) ** 2, 0.0)
    pm = prec * (D * (prior.fixed_mean - ref))
    v1 = np.asarray(vidx_list[0])
    S0inv, S0inv_mu0 = np.diag(prec[v1]), pm[v1].copy()
    Sainv, Sainv_a0 = (np.diag(prec[pidx]), pm[pidx].copy()) if len(pidx) else (np.zeros((0, 0)), np.zeros(0))
    tau_kind = np.zeros(K, dtype=np.int64)
    tau_a = np.zeros((K, qmax))
    tau_b = np.zeros((K, qmax))
    hc = np.zeros((K, qmax))
    iw_df = np.zeros(K)
    iw_Psi = np.zeros((K, qmax, qmax))
    shift_target = np.zeros((K, qmax), dtype=np.int64)
    for f, (fp, v) in enumerate(zip(prior.factors, vidx_list)):
        d = D[np.asarray(v)]
        k = len(v)
        tau_kind[f] = _TAU_KINDS[fp["tau_kind"]]
        if fp["tau_kind"] == "InvGamma":
            tau_a[f, :k], tau_b[f, :k] = fp["tau_a"], fp["tau_b"] * d**2
        elif fp["tau_kind"] in ("HalfCauchy", "HalfStudentT"):  # tau_a holds nu
            hc[f, :k] = 1.0 / (d * fp["tau_scale"]) ** 2
            tau_a[f, :k] = 1.0 if fp["tau_kind"] == "HalfCauchy" else fp["tau_nu"]
        elif fp["tau_kind"] == "HalfNormal":  # tau_b = 1/(2 (D s)^2)
            tau_b[f, :k] = 0.5 / (d * fp["tau_scale"]) ** 2
        elif fp["tau_kind"] == "Exponential":  # Exp(rate) on tau is Exp(rate / D) on D tau
            tau_b[f, :k] = fp["tau_rate"] / d
        elif fp["tau_kind"] == "HuangWand":  # the inverse-Wishart kind with tau_a = nu, 1/(D A)^2 in hc
            iw_df[f] = fp["hw_nu"] + k - 1
            tau_a[f, :k] = fp["hw_nu"]
            hc[f, :k] = 1.0 / (d * fp["tau_scale"]) ** 2
        else:
            iw_df[f] = fp["iw_df"]
            iw_Psi[f, :k, :k] = fp["iw_scale"] * np.outer(d, d)
        for a, col in enumerate(v):
            where = np.flatnonzero(v1 == col)
            shift_target[f, a] = where[0] if len(where) else -(1 + int(np.flatnonzero(pidx == col)[0]))
    parent_of = np.full(int(lv_off[-1]), -1, dtype=np.int64)
    n_children = np.zeros((K, int(J[0])))
    for f in range(1, K):
        # nested in the first factor: every level of f sits inside exactly one level of factor 1
        pairs = np.unique(cs.level[:, [f, 0]], axis=0)
        if len(pairs) == J[f] and np.array_equal(pairs[:, 0], np.arange(J[f])) and \
                (shift_target[f, : q[f]] >= 0).any():
            parent_of[lv_off[f]: lv_off[f + 1]] = pairs[:, 1]
            n_children[f] = np.bincount(pairs[:, 1], minlength=int(J[0]))
    nest = {}
    if joint and blocked:
        f, parent = nested_factor(cs.level, J)
        if f >= 0 and (joint is True or J[f] <= AUTO_CHILDREN * J[0]):
            Gchild, hchild = child_sums(cs.G, cs.h, cs.level[:, f], int(J[f]))
            scales, step = joint_steps(f, tau_kind, q, J)
            nest = {"joint": f, "joint_parent": parent, "Gchild": Gchild, "hchild": hchild, "joint_scales": scales,
                    "joint_step": step}
    return CrossedProblem(cs, J, q, vidx, pidx, b_off, lv_off, Gsum, hsum, Gfp, Gpp, hp, S0inv, S0inv_mu0, Sainv,
                          Sainv_a0, tau_kind, tau_a, tau_b, hc, iw_df, iw_Psi, shift_target, parent_of, n_children,
                          *_noise(prior), bool(blocked), bool(interweave), **nest)


def _noise(prior: ResolvedCrossedPrior):
    sa, sb, kind, par = prior.noise_args()
    return float(sa), float(sb), int(kind), par


def crossed_gamma_shapes(tau_kind, tau_a, q, J, iw_df, sigma_a, n_total, interweave=False,
                         sigma_kind=SIGMA_INVGAMMA, joint_steps=0) -> np.ndarray:
    """Shapes of one iteration's gamma draws, in the kernel's order: with a joint nested update, one exponential
    per Metropolis step on the two factors' scales (``joint_steps``); per factor (tau^2 or Bartlett, then
    half-t lambdas, shape (nu + 1)/2 with nu = tau_a; for the half-normal and exponential, q_f proposals of
    shape (J_f - 1)/2 then q_f exponentials), with interweaving one exponential per interwoven scale and then one
    lambda per half-t scale (redrawn), then sigma^2 and, for a prior on sigma, its exponential."""
    out = []
    for f in range(len(q)):
        k = int(q[f])
        if tau_kind[f] == TAU_INVGAMMA:
            out.extend(tau_a[f, :k] + 0.5 * J[f])
        elif tau_kind[f] == TAU_HALFCAUCHY:
            out.extend(list(0.5 * (J[f] + tau_a[f, :k])) + list(0.5 * (tau_a[f, :k] + 1.0)))
        elif tau_kind[f] in (TAU_HALFNORMAL, TAU_EXPONENTIAL):
            out.extend([0.5 * (J[f] - 1)] * k + [1.0] * k)
        else:
            out.extend(0.5 * (iw_df[f] + J[f] - np.arange(k)))
            if tau_a[f, 0] > 0.0:  # Huang-Wand's a_k
                out.extend(0.5 * (tau_a[f, :k] + k))
    if interweave:
        out.extend([1.0] * _n_interwoven(tau_kind, q))
        for f in range(len(q)):
            if tau_kind[f] == TAU_HALFCAUCHY:
                out.extend(0.5 * (tau_a[f, : int(q[f])] + 1.0))
    out.append(sigma_a + 0.5 * n_total)
    if sigma_kind != SIGMA_INVGAMMA:
        out.append(1.0)
    return np.asarray([1.0] * joint_steps + out, dtype=float)


def _n_interwoven(tau_kind, q) -> int:
    """Number of scales the interweaving step redraws: q_f for every factor with a diagonal Sigma_f."""
    return int(sum(int(q[f]) for f in range(len(q)) if tau_kind[f] != TAU_INVWISHART))


def crossed_normal_count(tau_kind, q, J, r, blocked, parent_of=None, lv_off=None, shift_target=None,
                         interweave=False, joint_step=None) -> int:
    """Normals per iteration: effects (sum J_f q_f), alpha (r), mu (q_1), Bartlett off-diagonals, interwoven
    scales, shift moves (q_f per later factor, plus J_1 |V_f and V_1| for a factor nested in the first), and
    with a joint nested update T per Metropolis step on the scales (``joint_step`` (steps, T))."""
    n = int(np.sum(np.asarray(J) * np.asarray(q))) + r + int(q[0])
    n += sum(int(q[f]) * (int(q[f]) - 1) // 2 for f in range(len(q)) if tau_kind[f] == TAU_INVWISHART)
    if interweave:
        n += _n_interwoven(tau_kind, q)
    if blocked:
        n += int(np.sum(q[1:]))
        if parent_of is not None:
            for f in range(1, len(q)):
                if parent_of[lv_off[f]] >= 0:
                    n += int(J[0]) * int((shift_target[f, : int(q[f])] >= 0).sum())
    if joint_step is not None:
        n += int(joint_step.size)
    return n
