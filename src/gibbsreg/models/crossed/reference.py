"""Several grouping factors: the NumPy reference of the Gibbs sweep (the kernel's twin, same streams)."""

from __future__ import annotations


import numpy as np

from ...reference import (SIGMA_INVGAMMA, TAU_EXPONENTIAL, TAU_HALFNORMAL, gamma_block, gaussian_draw, noise_log_prior,
                         normal_block, scale_log_ratio)
from .priors import TAU_HALFCAUCHY, TAU_INVGAMMA, TAU_INVWISHART
from .nested import _children_rhs_ref, collapsed_scales_ref, joint_columns, joint_effects_ref
from .problem import crossed_gamma_shapes, crossed_normal_count


# ---------------------------------------------------------------------------------------------
# the NumPy reference loop (vectorised over chains; same streams, same order as the kernel)


def _incidence(level_col, J):
    from scipy import sparse

    C = level_col.shape[0]
    return sparse.csr_matrix((np.ones(C), (level_col, np.arange(C))), shape=(J, C))


def _theta_cells(level, vidx, q, b_list, alpha, pidx, p, skip=-1, skip_alpha=False):
    """(chains, C, p) coefficient vector of every cell (scaled coordinates), leaving out factor ``skip``."""
    Ch = alpha.shape[0]
    C = level.shape[0]
    theta = np.zeros((Ch, C, p))
    if not skip_alpha and len(pidx):
        theta[:, :, pidx] += alpha[:, None, :]
    for f, b in enumerate(b_list):
        if f == skip:
            continue
        k = int(q[f])
        theta[:, :, vidx[f, :k]] += b[:, level[:, f], :]
    return theta


def _level_rhs_ref(f, with_alpha, level, vidx, q, b_list, alpha, pidx, p, G, h, inc, J, Ch):
    """(chains, J_f, q_f): per level, sum over its cells of h_c[V_f] - G_c[V_f, :] theta_c (factor f left out)."""
    k = int(q[f])
    v = vidx[f, :k]
    theta = _theta_cells(level, vidx, q, b_list, alpha, pidx, p, skip=f, skip_alpha=not with_alpha)
    resid = h[None][:, :, v] - np.einsum("cab,ncb->nca", G[:, v, :], theta)
    lev = (inc[f] @ resid.transpose(1, 0, 2).reshape(level.shape[0], Ch * k)).reshape(int(J[f]), Ch, k)
    return lev.transpose(1, 0, 2)


def _draw_levels_ref(f, lev, Sinv, mu, Gsum, lv_off, q, J, inv, z):
    k, Jf = int(q[f]), int(J[f])
    Ch = lev.shape[0]
    Sf = Sinv[:, f, :k, :k]
    centre = np.einsum("nab,nb->na", Sf, mu) if f == 0 else np.zeros((Ch, k))
    A = Sf[:, None] + Gsum[None, lv_off[f]: lv_off[f + 1], :k, :k] * inv[:, None, None, None]
    rhs = centre[:, None, :] + lev * inv[:, None, None]
    return gaussian_draw(A, rhs, z.reshape(Ch, Jf, k))


def _interweave_ref(G, h, rr, level, vidx, q, pidx, p, tau_kind, tau_a, tau_b, hc_inv_scale2, lam, b_list, alpha, mu,
                    Sinv, inv, tf, tk, z, zi, g, gi):
    """NumPy twin of kernels.crossed.interweave._interweave_scales (vectorised over chains); returns the stream
    positions and the residual sum of squares at the new state (Ch,)."""
    Ch = alpha.shape[0]
    T = len(tf)
    cols = vidx[tf, tk]
    tau_old = 1.0 / np.sqrt(Sinv[:, tf, tk, tk])  # (Ch, T)
    itau = 1.0 / tau_old
    # theta0_c: alpha, mu on V_1 when the first factor is interwoven, the inverse-Wishart factors' effects
    iw = [f for f in range(len(q)) if tau_kind[f] == TAU_INVWISHART]
    theta = np.zeros((Ch, level.shape[0], p))
    if len(pidx):
        theta[:, :, pidx] = alpha[:, None, :]
    if tau_kind[0] != TAU_INVWISHART:
        theta[:, :, vidx[0, : int(q[0])]] += mu[:, None, :]
    for f in iw:
        theta[:, :, vidx[f, : int(q[f])]] += b_list[f][:, level[:, f], :]
    eta = np.empty((Ch, level.shape[0], T))
    for i, (f, k) in enumerate(zip(tf, tk)):
        eta[:, :, i] = (b_list[f][:, level[:, f], k] - (mu[:, k][:, None] if f == 0 else 0.0)) * itau[:, i][:, None]
    rc = h[None] - np.einsum("cab,ncb->nca", G, theta)
    r0 = rr.sum() - np.einsum("nca,nca->n", theta, h[None] + rc)
    bv = np.einsum("nci,nci->ni", eta, rc[:, :, cols])
    Q = np.einsum("nci,ncl,cil->nil", eta, eta, G[:, cols][:, :, cols])
    tau = tau_old.copy()
    for i in range(T):
        zz, e = z[:, zi], g[:, gi]
        zi += 1
        gi += 1
        f, k = tf[i], tk[i]
        prec = Q[:, i, i]
        ok = prec > 0.0
        sp = np.where(ok, prec, 1.0)
        others = np.arange(T) != i
        lin = bv[:, i] - (Q[:, i, others] * tau[:, others]).sum(axis=1)
        prop = lin / sp + zz / np.sqrt(sp * inv)
        ok &= prop != 0.0
        prop = np.where(ok, prop, 1.0)
        if tau_kind[f] == TAU_HALFNORMAL:  # Gaussian times Gaussian: drawn exactly
            hp = sp * inv + 2.0 * tau_b[f, k]
            prop = np.where(ok, lin * inv / hp + zz / np.sqrt(hp), 1.0)
            ok &= prop != 0.0
            log_ratio = np.zeros_like(prop)
        elif tau_kind[f] == TAU_EXPONENTIAL:
            log_ratio = -tau_b[f, k] * (np.abs(prop) - np.abs(tau[:, i]))
        elif tau_kind[f] == TAU_INVGAMMA:
            pa, pb = tau_a[f, k], tau_b[f, k]
            log_ratio = -(2.0 * pa + 1.0) * (np.log(np.abs(prop)) - np.log(np.abs(tau[:, i])))
            log_ratio -= pb * (1.0 / (prop * prop) - 1.0 / (tau[:, i] * tau[:, i]))
        elif tau_a[f, k] == 1.0:  # half-Cauchy
            hc = hc_inv_scale2[f, k]
            log_ratio = np.log1p(hc * tau[:, i] * tau[:, i]) - np.log1p(hc * prop * prop)
        else:  # half-t(nu)
            hc = hc_inv_scale2[f, k] / tau_a[f, k]
            log_ratio = 0.5 * (tau_a[f, k] + 1.0) * (np.log1p(hc * tau[:, i] * tau[:, i]) - np.log1p(hc * prop * prop))
        tau[:, i] = np.where(ok & ((log_ratio >= -e) | (tau_kind[f] == TAU_HALFNORMAL)), prop, tau[:, i])
    for i, (f, k) in enumerate(zip(tf, tk)):
        m = mu[:, k][:, None] if f == 0 else 0.0
        b_list[f][:, :, k] = m + (tau[:, i] / tau_old[:, i])[:, None] * (b_list[f][:, :, k] - m)
        Sinv[:, f, k, k] = 1.0 / (tau[:, i] * tau[:, i])
    for i, (f, k) in enumerate(zip(tf, tk)):
        if tau_kind[f] == TAU_HALFCAUCHY:
            lam[:, f, k] = (hc_inv_scale2[f, k] + tau_a[f, k] * Sinv[:, f, k, k]) / g[:, gi]
            gi += 1
    rss = r0 + np.einsum("ni,nil,nl->n", tau, Q, tau) - 2.0 * np.einsum("ni,ni->n", tau, bv)
    return zi, gi, rss


def crossed_gibbs_reference(
    inputs,
    b, alpha, mu, Sinv, lam, sigma2,
    normal_gens, gamma_gens, n_iter, thin, out_start,
    out_b, out_alpha, out_mu, out_Sigma, out_sigma2,
):
    """NumPy twin of gibbsreg.kernels.crossed.crossed_gibbs (same arguments, same streams)."""
    (G, h, rr, nc, level, J, q, vidx, pidx, b_off, lv_off, Gsum,
     hsum, Gfp, Gpp, hp, S0inv, S0inv_mu0, Sainv, Sainv_a0, tau_kind, tau_a, tau_b, hc_inv_scale2,
     iw_df, iw_Psi, shift_target, parent_of, n_children, sigma_a, sigma_b, sigma_kind, sigma_par, blocked, interweave,
     joint, joint_parent, Gchild, hchild, joint_scales, joint_step) = inputs
    Ch = b.shape[0]
    K = len(J)
    p = G.shape[1]
    r = len(pidx)
    n_total = float(nc.sum())
    n_norm = crossed_normal_count(tau_kind, q, J, r, blocked, parent_of, lv_off, shift_target, interweave, joint_step)
    shapes = crossed_gamma_shapes(tau_kind, tau_a, q, J, iw_df, sigma_a, n_total, interweave, sigma_kind,
                                  joint_step.shape[0])
    tf = np.array([f for f in range(K) if tau_kind[f] != TAU_INVWISHART for _ in range(int(q[f]))], dtype=np.int64)
    tk = np.array([a for f in range(K) if tau_kind[f] != TAU_INVWISHART for a in range(int(q[f]))], dtype=np.int64)
    Z = normal_block(normal_gens, n_iter, n_norm)
    Gam = gamma_block(gamma_gens, n_iter, shapes)
    inc = [_incidence(level[:, f], int(J[f])) for f in range(K)]
    store = out_mu.shape[1] > 0
    b_list = [b[:, b_off[f]: b_off[f + 1]].reshape(Ch, int(J[f]), int(q[f])).copy() for f in range(K)]
    for t in range(n_iter):
        z = Z[:, t]
        g = Gam[:, t]
        zi = 0
        gi = 0
        inv = 1.0 / sigma2  # (Ch,)
        if not blocked:
            # ---- effects, one factor at a time
            for f in range(K):
                lev = _level_rhs_ref(f, True, level, vidx, q, b_list, alpha, pidx, p, G, h, inc, J, Ch)
                b_list[f][:] = _draw_levels_ref(f, lev, Sinv, mu, Gsum, lv_off, q, J, inv, z[:, zi: zi + J[f] * q[f]])
                zi += int(J[f] * q[f])
            # ---- pooled coefficients
            if r > 0:
                theta = _theta_cells(level, vidx, q, b_list, alpha, pidx, p, skip_alpha=True)
                resid = (h[None][:, :, pidx] - np.einsum("cab,ncb->nca", G[:, pidx, :], theta)).sum(axis=1)
                A = Sainv[None] + Gpp[None] * inv[:, None, None]
                alpha[:] = gaussian_draw(A, Sainv_a0[None] + resid * inv[:, None], z[:, zi: zi + r])
            zi += r
            # ---- population means of the first factor
            k1, J1 = int(q[0]), int(J[0])
            S1 = Sinv[:, 0, :k1, :k1]
            A = S0inv[None] + J1 * S1
            rhs = S0inv_mu0[None] + np.einsum("nab,nb->na", S1, b_list[0].sum(axis=1))
            mu[:] = gaussian_draw(A, rhs, z[:, zi: zi + k1])
            zi += k1
        else:
            for f in range(1, K):
                if f == joint:
                    continue
                lev = _level_rhs_ref(f, True, level, vidx, q, b_list, alpha, pidx, p, G, h, inc, J, Ch)
                b_list[f][:] = _draw_levels_ref(f, lev, Sinv, mu, Gsum, lv_off, q, J, inv, z[:, zi: zi + J[f] * q[f]])
                zi += int(J[f] * q[f])
        if blocked and joint >= 0:
            # (mu, alpha, b_1, b_f) as one exact block, the nested factor's children integrated out
            hc = _children_rhs_ref(joint, hchild, level, vidx, q, G, inc, b_list, Ch)
            if joint_step.shape[0]:  # the two factors' scales first, b_1 and b_f integrated out
                cols, vf = joint_columns(joint, vidx, q, pidx)
                zi, gi = collapsed_scales_ref(joint, joint_parent, Gchild, hc, cols, vf, int(q[0]), int(J[0]), Sinv,
                                              lam, mu, alpha, inv, joint_scales, joint_step, tau_kind, tau_a, tau_b,
                                              z, zi, g, gi)
            zi = joint_effects_ref(joint, joint_parent, Gchild, hc, vidx, q, pidx, J, b_list, alpha, mu, Sinv, S0inv,
                                   S0inv_mu0, Sainv, Sainv_a0, inv, z, zi)
        elif blocked:
            # ---- (mu, alpha) with the first factor's effects integrated out
            k1, J1 = int(q[0]), int(J[0])
            d = k1 + r
            lev = _level_rhs_ref(0, False, level, vidx, q, b_list, alpha, pidx, p, G, h, inc, J, Ch)
            S1 = Sinv[:, 0, :k1, :k1]
            P = np.zeros((Ch, d, d))
            w = np.zeros((Ch, d))
            P[:, :k1, :k1] = S0inv[None] + J1 * S1
            w[:, :k1] = S0inv_mu0[None]
            Gfp0 = Gfp[: J1, :k1, :]
            if r > 0:
                hpp = hp[None] - sum(np.einsum("jba,njb->na", Gfp[lv_off[f]: lv_off[f + 1], : int(q[f]), :], b_list[f])
                                     for f in range(1, K))
                P[:, k1:, k1:] = Sainv[None] + Gpp[None] * inv[:, None, None]
                w[:, k1:] = Sainv_a0[None] + hpp * inv[:, None]
            A = S1[:, None] + Gsum[None, :J1, :k1, :k1] * inv[:, None, None, None]
            Linv = np.linalg.inv(np.linalg.cholesky(A))  # (Ch, J1, k1, k1)
            Mj = np.concatenate([np.broadcast_to(S1[:, None], (Ch, J1, k1, k1)),
                                 -Gfp0[None] * inv[:, None, None, None]], axis=3)
            U = Linv @ Mj
            e = np.einsum("njab,njb->nja", Linv, lev * inv[:, None, None])
            P -= np.einsum("njka,njkb->nab", U, U)
            w += np.einsum("njka,njk->na", U, e)
            th = gaussian_draw(P, w, z[:, zi: zi + d])
            zi += d
            mu[:] = th[:, :k1]
            alpha[:] = th[:, k1:]
            lev = lev - np.einsum("jab,nb->nja", Gfp0, alpha)
            b_list[0][:] = _draw_levels_ref(0, lev, Sinv, mu, Gsum, lv_off, q, J, inv, z[:, zi: zi + J1 * k1])
            zi += J1 * k1
        # ---- covariances
        for f in range(K):
            k, Jf = int(q[f]), int(J[f])
            d = b_list[f] - (mu[:, None, :] if f == 0 else 0.0)
            if tau_kind[f] == TAU_INVWISHART:
                hw = tau_a[f, 0] > 0.0  # Huang-Wand: Psi = 2 nu diag(1/a)
                Psi = (np.einsum("na,ab->nab", 2.0 * tau_a[f, :k] / lam[:, f, :k], np.eye(k)) if hw
                       else iw_Psi[f, :k, :k])
                M = np.linalg.cholesky(Psi + np.einsum("nja,njb->nab", d, d))
                B = np.zeros((Ch, k, k))
                low = np.tril_indices(k, -1)
                m = k * (k - 1) // 2
                B[:, low[0], low[1]] = z[:, zi: zi + m]
                zi += m
                B[:, np.arange(k), np.arange(k)] = np.sqrt(2.0 * g[:, gi: gi + k])
                gi += k
                W = np.linalg.solve(np.swapaxes(M, 1, 2), B)
                Sinv[:, f, :k, :k] = W @ np.swapaxes(W, 1, 2)
                if hw:
                    lam[:, f, :k] = (tau_a[f, :k] * np.diagonal(Sinv[:, f, :k, :k], axis1=1, axis2=2)
                                     + hc_inv_scale2[f, :k]) / g[:, gi: gi + k]
                    gi += k
            else:
                ss = np.einsum("nja,nja->na", d, d)
                if tau_kind[f] == TAU_INVGAMMA:
                    tau2 = (tau_b[f, :k] + 0.5 * ss) / g[:, gi: gi + k]
                    gi += k
                elif tau_kind[f] == TAU_HALFCAUCHY:  # half-t, nu = tau_a (half-Cauchy: 1)
                    tau2 = (tau_a[f, :k] / lam[:, f, :k] + 0.5 * ss) / g[:, gi: gi + k]
                    gi += k
                    lam[:, f, :k] = (hc_inv_scale2[f, :k] + tau_a[f, :k] / tau2) / g[:, gi: gi + k]
                    gi += k
                else:  # independence Metropolis from the flat-prior conditional (kernels/scales.py)
                    old = 1.0 / np.diagonal(Sinv[:, f, :k, :k], axis1=1, axis2=2)
                    tau2 = 0.5 * ss / g[:, gi: gi + k]
                    gi += k
                    accept = scale_log_ratio(tau_kind[f], tau_b[f, :k], tau2, old) >= -g[:, gi: gi + k]
                    gi += k
                    tau2 = np.where(accept, tau2, old)
                Sinv[:, f, :k, :k] = 0.0
                Sinv[:, f, np.arange(k), np.arange(k)] = 1.0 / tau2
        # ---- interweaving: the diagonal scales redrawn in the non-centred parameterisation
        rss = None
        if interweave and len(tf):
            zi, gi, rss = _interweave_ref(G, h, rr, level, vidx, q, pidx, p, tau_kind, tau_a, tau_b, hc_inv_scale2,
                                          lam, b_list, alpha, mu, Sinv, inv, tf, tk, z, zi, g, gi)
        # ---- shift moves along the directions the likelihood cannot see
        if blocked:
            for f in range(1, K):
                k, Jf = int(q[f]), int(J[f])
                tgt = shift_target[f, :k]
                cur = np.empty((Ch, k))
                pprec = np.empty(k)
                pmean = np.empty(k)
                for a in range(k):
                    if tgt[a] >= 0:
                        cur[:, a] = mu[:, tgt[a]]
                        pprec[a], pmean[a] = S0inv[tgt[a], tgt[a]], S0inv_mu0[tgt[a]]
                    else:
                        i = -1 - tgt[a]
                        cur[:, a] = alpha[:, i]
                        pprec[a], pmean[a] = Sainv[i, i], Sainv_a0[i]
                Sf = Sinv[:, f, :k, :k]
                A = Jf * Sf + np.diag(pprec)[None]
                rhs = np.einsum("nab,nb->na", Sf, b_list[f].sum(axis=1)) + pmean[None] - pprec[None] * cur
                c = gaussian_draw(A, rhs, z[:, zi: zi + k])
                zi += k
                b_list[f] -= c[:, None, :]
                for a in range(k):
                    if tgt[a] >= 0:
                        mu[:, tgt[a]] += c[:, a]
                        b_list[0][:, :, tgt[a]] += c[:, a][:, None]
                    else:
                        alpha[:, -1 - tgt[a]] += c[:, a]
                if parent_of[lv_off[f]] >= 0:
                    # per-parent translation: b_1,s + c_s and b_f,j - c_s for the children j of s
                    par = parent_of[lv_off[f]: lv_off[f + 1]]
                    S = np.flatnonzero(tgt >= 0)
                    T = tgt[S]
                    k1, J1 = int(q[0]), int(J[0])
                    S1 = Sinv[:, 0, :k1, :k1]
                    Sf = Sinv[:, f, :k, :k]
                    onehot = np.zeros((J1, Jf))
                    onehot[par, np.arange(Jf)] = 1.0
                    childsum = np.einsum("sj,nja->nsa", onehot, b_list[f])
                    A = S1[:, T][:, :, T][:, None] + n_children[f][None, :, None, None] * Sf[:, S][:, :, S][:, None]
                    v = (np.einsum("nab,nsb->nsa", Sf[:, S, :], childsum)
                         - np.einsum("nab,nsb->nsa", S1[:, T, :], b_list[0] - mu[:, None, :]))
                    ns = len(S)
                    cs_ = gaussian_draw(A, v, z[:, zi: zi + J1 * ns].reshape(Ch, J1, ns))
                    zi += J1 * ns
                    b_list[0][:, :, T] += cs_
                    b_list[f][:, :, S] -= cs_[:, par, :]
        # ---- residual variance
        if rss is None:
            theta = _theta_cells(level, vidx, q, b_list, alpha, pidx, p)
            rss = rr[None] - 2.0 * np.einsum("nca,ca->nc", theta, h) + np.einsum("nca,cab,ncb->nc", theta, G, theta)
            rss = rss.sum(axis=1)
        rss = np.maximum(rss, 0.0)
        s2 = (sigma_b + 0.5 * rss) / g[:, gi]
        if sigma_kind != SIGMA_INVGAMMA:  # independence Metropolis from the flat-prior conditional
            keep = ~(noise_log_prior(sigma_kind, sigma_par, s2) - noise_log_prior(sigma_kind, sigma_par, sigma2)
                     >= -g[:, gi + 1])
            s2 = np.where(keep, sigma2, s2)
        sigma2[:] = s2
        for f in range(K):
            b[:, b_off[f]: b_off[f + 1]] = b_list[f].reshape(Ch, -1)
        if store and (t + 1) % thin == 0:
            kk = out_start + (t + 1) // thin - 1
            out_b[:, kk] = b
            out_alpha[:, kk] = alpha
            out_mu[:, kk] = mu
            for f in range(K):
                k = int(q[f])
                out_Sigma[:, kk, f, :k, :k] = np.linalg.inv(Sinv[:, f, :k, :k])
            out_sigma2[:, kk] = sigma2
    return 0
