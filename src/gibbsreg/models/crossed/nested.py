"""A factor nested in the first: the design's tree, and the NumPy twin of the joint parent-children update.

A factor f is nested in the first factor when each of its levels j (a child) lies inside exactly one level
s = parent[j] of factor 1.  Given Sigma_1, Sigma_f, sigma^2 and the other factors' effects, the children of
one parent are independent Gaussians, so (mu, alpha, b_1, b_f) can be drawn as one exact block, linear in the
number of levels (Papaspiliopoulos, Roberts & Zanella 2020): (mu, alpha) with b_f and b_1 integrated out,
then b_1,s | mu, alpha with its children integrated out, then b_f,j | b_1,s, alpha.  docs/maths.md §14.
"""

from __future__ import annotations

import numpy as np

from ...kernels.crossed.nested import scale_log_prior_u
from ...reference import gaussian_draw
from .priors import TAU_INVWISHART


def nested_factor(level, J) -> tuple[int, np.ndarray]:
    """(f, parent): the first factor f >= 2 (index >= 1) nested in the first factor and its levels' parents
    (J_f,); (-1, empty) when none is."""
    for f in range(1, level.shape[1]):
        pairs = np.unique(level[:, [f, 0]], axis=0)
        if len(pairs) == J[f] and np.array_equal(pairs[:, 0], np.arange(J[f])):
            return f, pairs[:, 1].astype(np.int64)
    return -1, np.zeros(0, dtype=np.int64)


# the random-walk proposal sds on log tau^2 of the first factor's and the nested factor's scales, in units of
# sqrt(2 / J_f) (the sd of log tau^2 given the effects): ladders, as the marginal posterior's sd ranges from that
# (a well identified variance) to many times it (a parent variance confounded with its children's)
# (measured on the README's radon example, docs/maths.md §14: the parent's steps are cheap, the children's
# collapse is reused, so the first factor gets six)
STEP_LADDER = ((2.0, 8.0, 32.0, 2.0, 8.0, 32.0), (2.0, 8.0))


# automatic use (CrossedRegression(joint=None) with sampler "asis"): when the nested factor has at most this many
# levels per level of the first on average.  Measured (benchmarks/CROSSED.md): the README radon example (1.9
# floors per county) gains 3-6x min-ESS/s, a tree with 20 children per parent mixes as well without it and pays
# 2.5x per iteration (0.4x min-ESS/s); between the two it is not measured.
AUTO_CHILDREN = 5.0


def joint_steps(f, tau_kind, q, J, ladder=STEP_LADDER):
    """(scales (T, 2), step (steps, T)): the diagonal scales of the first factor and factor f, and the Metropolis
    steps, rung by rung (the first factor's ladder then factor f's at each rung), each moving one scale alone by
    rung sqrt(2 / J) z."""
    scales = [(g, a) for g in (0, f) if tau_kind[g] != TAU_INVWISHART for a in range(int(q[g]))]
    T = len(scales)
    rows = []
    for i in range(max(len(x) for x in ladder)):
        for t, (g, _) in enumerate(scales):
            lad = ladder[0 if g == 0 else 1]
            if i < len(lad):
                row = np.zeros(T)
                row[t] = lad[i] * np.sqrt(2.0 / J[g])
                rows.append(row)
    return np.asarray(scales, dtype=np.int64).reshape(T, 2), np.asarray(rows).reshape(len(rows), T)


def child_sums(G, h, level_col, Jf):
    """Per child (level of the nested factor): the sums of its cells' G_c (Jf, p, p) and h_c (Jf, p)."""
    p = G.shape[1]
    Gc = np.zeros((Jf, p, p))
    hc = np.zeros((Jf, p))
    np.add.at(Gc, level_col, G)
    np.add.at(hc, level_col, h)
    return Gc, hc


def joint_columns(f, vidx, q, pidx):
    """(cols, vf): the coordinates of (b_1,s, alpha), the first factor's columns then the pooled ones (all p), and
    the nested factor's columns."""
    return np.concatenate([vidx[0, : int(q[0])], pidx]).astype(np.int64), vidx[f, : int(q[f])]


def _children_rhs_ref(f, hchild, level, vidx, q, G, inc, b_list, Ch):
    """(Ch, J_f, p): per child, h minus the fits of the factors other than the first and f (none when K = 2)."""
    Jf, p = hchild.shape
    hc = np.broadcast_to(hchild[None], (Ch, Jf, p))
    others = [g for g in range(len(b_list)) if g not in (0, f)]
    if others:
        theta = np.zeros((Ch, level.shape[0], p))
        for g in others:
            theta[:, :, vidx[g, : int(q[g])]] += b_list[g][:, level[:, g], :]
        fit = np.einsum("cab,ncb->nca", G, theta)
        per_child = inc[f] @ fit.transpose(1, 0, 2).reshape(level.shape[0], Ch * p)
        hc = hc - per_child.reshape(Jf, Ch, p).transpose(1, 0, 2)
    return hc


def _collapse_ref(f, parent, Gchild, hc, cols, vf, J1, Sf, inv):
    """The children integrated out, per chain: M_j, W_j, l_j, the parents' sums P_s (p, p), w_s (p), and the
    children's log-marginal terms sum_j (-log|L_j| + |e_j|^2 / 2)."""
    i4 = inv[:, None, None, None]
    M = Sf[:, None] + Gchild[None][:, :, vf][:, :, :, vf] * i4
    W = Gchild[None][:, :, vf][:, :, :, cols] * i4
    lf = hc[:, :, vf] * inv[:, None, None]
    L = np.linalg.cholesky(M)
    Li = np.linalg.inv(L)
    U = Li @ W
    e = np.einsum("njab,njb->nja", Li, lf)
    Pc = Gchild[None][:, :, cols][:, :, :, cols] * i4 - np.einsum("njka,njkb->njab", U, U)
    wc = hc[:, :, cols] * inv[:, None, None] - np.einsum("njka,njk->nja", U, e)
    onehot = np.zeros((J1, len(parent)))
    onehot[parent, np.arange(len(parent))] = 1.0
    Ps = np.einsum("sj,njab->nsab", onehot, Pc)
    ws = np.einsum("sj,nja->nsa", onehot, wc)
    logm = (0.5 * np.einsum("nja,nja->nj", e, e) - np.log(np.diagonal(L, axis1=2, axis2=3)).sum(axis=2)).sum(axis=1)
    return M, W, lf, Ps, ws, logm


def _log_marginal_ref(f, parent, Gchild, hc, cols, vf, k1, J1, Sinv, mu, alpha, inv):
    """log p(y | Sigma_1, Sigma_f, mu, alpha, sigma^2, the other factors) up to a constant, b_1 and b_f
    integrated out (the twin of kernels.crossed.nested._log_marginal)."""
    kf = len(vf)
    Sf = Sinv[:, f, :kf, :kf]
    S1 = Sinv[:, 0, :k1, :k1]
    _, _, _, Ps, ws, logm = _collapse_ref(f, parent, Gchild, hc, cols, vf, J1, Sf, inv)
    A = S1[:, None] + Ps[:, :, :k1, :k1]
    L = np.linalg.cholesky(A)
    rhs = (np.einsum("nab,nb->na", S1, mu)[:, None] + ws[:, :, :k1]
           - np.einsum("nsab,nb->nsa", Ps[:, :, :k1, k1:], alpha))
    t = np.linalg.solve(L, rhs[..., None])[..., 0]
    logm += (0.5 * np.einsum("nsa,nsa->ns", t, t) - np.log(np.diagonal(L, axis1=2, axis2=3)).sum(axis=2)).sum(axis=1)
    logm += len(parent) * np.log(np.diagonal(np.linalg.cholesky(Sf), axis1=1, axis2=2)).sum(axis=1)
    logm += J1 * (np.log(np.diagonal(np.linalg.cholesky(S1), axis1=1, axis2=2)).sum(axis=1)
                  - 0.5 * np.einsum("na,nab,nb->n", mu, S1, mu))
    logm += -0.5 * np.einsum("na,nab,nb->n", alpha, Ps[:, :, k1:, k1:].sum(axis=1), alpha)
    logm += np.einsum("na,na->n", alpha, ws[:, :, k1:].sum(axis=1))
    return logm


def collapsed_scales_ref(f, parent, Gchild, hc, cols, vf, k1, J1, Sinv, lam, mu, alpha, inv, scales, step, tau_kind,
                         tau_a, tau_b, z, zi, g, gi):
    """NumPy twin of kernels.crossed.nested._collapsed_scales: random-walk Metropolis steps on u = log tau^2 of
    the diagonal scales ``scales`` (T, 2: factor, coordinate) of the first and the nested factor, b_1 and b_f
    integrated out; step t moves every scale i with step[t, i] > 0 by step[t, i] z (T normals and one standard
    exponential per step).  Returns (zi, gi)."""
    T = scales.shape[0]
    logm = _log_marginal_ref(f, parent, Gchild, hc, cols, vf, k1, J1, Sinv, mu, alpha, inv)
    for t in range(step.shape[0]):
        old = Sinv.copy()
        ratio = np.zeros_like(logm)
        for i in range(T):
            fi, k = scales[i]
            if step[t, i] > 0.0:
                t2 = 1.0 / Sinv[:, fi, k, k]
                new = t2 * np.exp(step[t, i] * z[:, zi + i])
                ratio += (scale_log_prior_u(tau_kind[fi], tau_a[fi, k], tau_b[fi, k], lam[:, fi, k], new)
                          - scale_log_prior_u(tau_kind[fi], tau_a[fi, k], tau_b[fi, k], lam[:, fi, k], t2))
                Sinv[:, fi, k, k] = 1.0 / new
        zi += T
        prop = _log_marginal_ref(f, parent, Gchild, hc, cols, vf, k1, J1, Sinv, mu, alpha, inv)
        ratio += prop - logm
        ok = ratio >= -g[:, gi]
        gi += 1
        Sinv[~ok] = old[~ok]
        logm = np.where(ok, prop, logm)
    return zi, gi


def joint_effects_ref(f, parent, Gchild, hc, vidx, q, pidx, J, b_list, alpha, mu, Sinv, S0inv, S0inv_mu0, Sainv,
                      Sainv_a0, inv, z, zi):
    """NumPy twin of kernels.crossed.nested._joint_effects (vectorised over chains): draws (mu, alpha), then
    b_1, then b_f in place, consuming q_1 + r, J_1 q_1 and J_f q_f normals from z at zi; returns zi."""
    Ch = alpha.shape[0]
    k1, kf, J1, Jf = int(q[0]), int(q[f]), int(J[0]), int(J[f])
    r = len(pidx)
    cols, vf = joint_columns(f, vidx, q, pidx)
    p = len(cols)
    S1 = Sinv[:, 0, :k1, :k1]
    M, W, lf, Ps, ws, _ = _collapse_ref(f, parent, Gchild, hc, cols, vf, J1, Sinv[:, f, :kf, :kf], inv)
    # parents integrated out of (mu, alpha)
    A = S1[:, None] + Ps[:, :, :k1, :k1]
    Ls = np.linalg.inv(np.linalg.cholesky(A))
    B = np.concatenate([np.broadcast_to(S1[:, None], (Ch, J1, k1, k1)), -Ps[:, :, :k1, k1:]], axis=3)
    Us = Ls @ B
    es = np.einsum("nsab,nsb->nsa", Ls, ws[:, :, :k1])
    P = np.zeros((Ch, p, p))
    w = np.zeros((Ch, p))
    P[:, :k1, :k1] = S0inv[None] + J1 * S1
    w[:, :k1] = S0inv_mu0[None]
    if r:
        P[:, k1:, k1:] = Sainv[None] + Ps[:, :, k1:, k1:].sum(axis=1)
        w[:, k1:] = Sainv_a0[None] + ws[:, :, k1:].sum(axis=1)
    P -= np.einsum("nska,nskb->nab", Us, Us)
    w += np.einsum("nska,nsk->na", Us, es)
    th = gaussian_draw(P, w, z[:, zi: zi + p])
    zi += p
    mu[:] = th[:, :k1]
    alpha[:] = th[:, k1:]
    # b_1,s | mu, alpha (children integrated out)
    rhs = (np.einsum("nab,nb->na", S1, mu)[:, None] + ws[:, :, :k1]
           - np.einsum("nsab,nb->nsa", Ps[:, :, :k1, k1:], alpha))
    b_list[0][:] = gaussian_draw(A, rhs, z[:, zi: zi + J1 * k1].reshape(Ch, J1, k1))
    zi += J1 * k1
    # b_f,j | b_1,parent(j), alpha
    u = np.concatenate([b_list[0][:, parent, :], np.broadcast_to(alpha[:, None], (Ch, Jf, r))], axis=2)
    b_list[f][:] = gaussian_draw(M, lf - np.einsum("njab,njb->nja", W, u), z[:, zi: zi + Jf * kf].reshape(Ch, Jf, kf))
    return zi + Jf * kf
