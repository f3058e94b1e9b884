"""crossed_gibbs: the crossed kernel's entry point, a block-Gibbs sweep per iteration with the chains
shared out between threads."""

import math

import numpy as np
from numba import njit, prange

from ..draws import standard_gamma, standard_normal, stream_at
from ..linalg import (
    backward_solve_transpose,
    bartlett_precision,
    cholesky_forward,
    cholesky_forward_affine,
    cholesky_lower,
    forward_solve,
)
from .interweave import _interweave_scales
from .layout import TAU_HALFCAUCHY, TAU_INVGAMMA, TAU_INVWISHART, _cell_theta, _finish_draw
from .steps import _draw_levels, _level_rhs, _nested_shift, _pooled_rhs


@njit(cache=True, parallel=True)
def crossed_gibbs(
    G, h, rr, nc, level, J, q, vidx, pidx, b_off, lv_off, Gsum, hsum, Gfp, Gpp, hp, S0inv, S0inv_mu0, Sainv,
    Sainv_a0, tau_kind, tau_a, tau_b, hc_inv_scale2, iw_df, iw_Psi, shift_target, parent_of, n_children, sigma_a,
    sigma_b, blocked, interweave,
    b, alpha, mu, Sinv, lam, sigma2,
    normal_streams, gamma_streams, n_iter, thin, out_start,
    out_b, out_alpha, out_mu, out_Sigma, out_sigma2,
):
    """Run n_iter block-Gibbs sweeps for every chain; returns the number of failed factorisations."""
    n_chains = b.shape[0]
    C = G.shape[0]
    p = G.shape[1]
    K = J.shape[0]
    r = pidx.shape[0]
    qmax = vidx.shape[1]
    q1 = q[0]
    J_max = 0
    for f in range(K):
        if J[f] > J_max:
            J_max = J[f]
    n_total = 0.0
    rr_total = 0.0
    for c in range(C):
        n_total += nc[c]
        rr_total += rr[c]
    store = out_mu.shape[1] > 0
    failures = np.zeros(n_chains, dtype=np.int64)
    # the interwoven scales: (factor, coordinate) of every diagonal Sigma_f, factor by factor
    n_scales = 0
    for f in range(K):
        if tau_kind[f] != TAU_INVWISHART:
            n_scales += q[f]
    tf = np.zeros(n_scales, dtype=np.int64)
    tk = np.zeros(n_scales, dtype=np.int64)
    pos = 0
    for f in range(K):
        if tau_kind[f] != TAU_INVWISHART:
            for a in range(q[f]):
                tf[pos] = f
                tk[pos] = a
                pos += 1
    for ch in prange(n_chains):
        chain = np.int64(ch)
        normal = stream_at(normal_streams, chain)
        gamma_rng = stream_at(gamma_streams, chain)
        bc = b[ch]
        al = alpha[ch]
        mc = mu[ch]
        theta = np.zeros(p)
        lev = np.zeros((J_max, qmax))
        m = max(p, qmax)
        A = np.zeros((m, m))
        v = np.zeros(m)
        acc = np.zeros(m)
        inv_diag = np.zeros(m)
        Sm = np.zeros(qmax)
        M = np.zeros((qmax, qmax))
        Bart = np.zeros((qmax, qmax))
        W = np.zeros((qmax, qmax))
        pprec = np.zeros(qmax)
        pmean = np.zeros(qmax)
        Pm = np.zeros((p, p))
        wv = np.zeros(p)
        Lw = np.zeros((qmax, qmax))
        Uw = np.zeros((qmax, p))
        ew = np.zeros(qmax)
        childsum = np.zeros((J[0], qmax))
        cvals = np.zeros((J[0], qmax))
        tau_old = np.zeros(n_scales)
        itau = np.zeros(n_scales)
        tcol = np.zeros(n_scales, dtype=np.int64)
        theta_base = np.zeros(p)
        tau_new = np.zeros(n_scales)
        eta = np.zeros(n_scales)
        rc = np.zeros(p)
        Qt = np.zeros((n_scales, n_scales))
        bt = np.zeros(n_scales)
        countdown = thin
        for t in range(n_iter):
            inv = 1.0 / sigma2[ch]
            if not blocked:
                # ---- effects of each factor | everything else (levels independent given the rest)
                for f in range(K):
                    _level_rhs(f, True, lev, G, level, J, q, vidx, b_off, lv_off, hsum, Gfp, bc, al, r, C, K)
                    if not _draw_levels(f, lev, Sinv[ch, f], Gsum, lv_off, J, q, b_off, bc, mc, inv, A, v, inv_diag,
                                        Sm, normal):
                        failures[ch] += 1
                # ---- pooled coefficients | effects: rhs = h_P - sum_f sum_j Gfp_j' b_f,j, no cell pass
                if r > 0:
                    _pooled_rhs(acc, hp, Gfp, lv_off, J, q, b_off, bc, r, 0, K)
                    if cholesky_forward_affine(Sainv, Gpp, inv, Sainv_a0, acc, A, v, inv_diag, r):
                        _finish_draw(A, v, inv_diag, normal, r)
                    else:
                        failures[ch] += 1
                    for a in range(r):
                        al[a] = v[a]
                # ---- mu | b_1, Sigma_1
                for a in range(q1):
                    acc[a] = 0.0
                for j in range(J[0]):
                    for a in range(q1):
                        acc[a] += bc[j * q1 + a]
                S1 = Sinv[ch, 0]
                for a in range(q1):
                    for bb in range(a + 1):
                        A[a, bb] = S0inv[a, bb] + J[0] * S1[a, bb]
                    s = S0inv_mu0[a]
                    for bb in range(q1):
                        s += S1[a, bb] * acc[bb]
                    v[a] = s
                if cholesky_forward(A, v, inv_diag, q1):
                    _finish_draw(A, v, inv_diag, normal, q1)
                else:
                    failures[ch] += 1
                for a in range(q1):
                    mc[a] = v[a]
            else:
                # ---- later factors' effects, as in plain block Gibbs
                for f in range(1, K):
                    _level_rhs(f, True, lev, G, level, J, q, vidx, b_off, lv_off, hsum, Gfp, bc, al, r, C, K)
                    if not _draw_levels(f, lev, Sinv[ch, f], Gsum, lv_off, J, q, b_off, bc, mc, inv, A, v, inv_diag,
                                        Sm, normal):
                        failures[ch] += 1
                # ---- (mu, alpha) | later factors, with the first factor's effects integrated out
                _level_rhs(0, False, lev, G, level, J, q, vidx, b_off, lv_off, hsum, Gfp, bc, al, r, C, K)
                d = q1 + r
                for a in range(d):
                    for bb in range(d):
                        Pm[a, bb] = 0.0
                    wv[a] = 0.0
                for a in range(q1):
                    for bb in range(q1):
                        Pm[a, bb] = S0inv[a, bb] + J[0] * Sinv[ch, 0, a, bb]
                    wv[a] = S0inv_mu0[a]
                if r > 0:
                    _pooled_rhs(acc, hp, Gfp, lv_off, J, q, b_off, bc, r, 1, K)
                    for a in range(r):
                        for bb in range(r):
                            Pm[q1 + a, q1 + bb] = Sainv[a, bb] + Gpp[a, bb] * inv
                        wv[q1 + a] = Sainv_a0[a] + acc[a] * inv
                S1 = Sinv[ch, 0]
                for j in range(J[0]):
                    for a in range(q1):
                        for bb in range(a + 1):
                            Lw[a, bb] = S1[a, bb] + Gsum[j, a, bb] * inv
                    if not cholesky_lower(Lw, q1):
                        failures[ch] += 1
                        continue
                    # U = L^{-1} [Sigma_1^{-1}, -G_j[V1, P] / sigma^2], e = L^{-1} lev_j / sigma^2
                    for bb in range(d):
                        for a in range(q1):
                            Uw[a, bb] = S1[a, bb] if bb < q1 else -Gfp[j, a, bb - q1] * inv
                        for a in range(q1):
                            acc[a] = Uw[a, bb]
                        forward_solve(Lw, acc, q1)
                        for a in range(q1):
                            Uw[a, bb] = acc[a]
                    for a in range(q1):
                        ew[a] = lev[j, a] * inv
                    forward_solve(Lw, ew, q1)
                    for a in range(d):
                        s = 0.0
                        for kk in range(q1):
                            s += Uw[kk, a] * ew[kk]
                        wv[a] += s
                        for bb in range(a + 1):
                            s = 0.0
                            for kk in range(q1):
                                s += Uw[kk, a] * Uw[kk, bb]
                            Pm[a, bb] -= s
                if cholesky_forward(Pm, wv, inv_diag, d):
                    _finish_draw(Pm, wv, inv_diag, normal, d)
                else:
                    failures[ch] += 1
                for a in range(q1):
                    mc[a] = wv[a]
                for a in range(r):
                    al[a] = wv[q1 + a]
                # ---- b_1 | mu, alpha, the rest
                for j in range(J[0]):
                    for a in range(q1):
                        s = 0.0
                        for bb in range(r):
                            s += Gfp[j, a, bb] * al[bb]
                        lev[j, a] -= s
                if not _draw_levels(0, lev, Sinv[ch, 0], Gsum, lv_off, J, q, b_off, bc, mc, inv, A, v, inv_diag,
                                    Sm, normal):
                    failures[ch] += 1
            # ---- Sigma_f | b_f (centred at mu for the first factor, at 0 for the others)
            for f in range(K):
                k = q[f]
                Sf = Sinv[ch, f]
                if tau_kind[f] == TAU_INVWISHART:
                    for a in range(k):
                        for bb in range(a + 1):
                            M[a, bb] = iw_Psi[f, a, bb]
                    for j in range(J[f]):
                        base = b_off[f] + j * k
                        for a in range(k):
                            da = bc[base + a] - (mc[a] if f == 0 else 0.0)
                            for bb in range(a + 1):
                                M[a, bb] += da * (bc[base + bb] - (mc[bb] if f == 0 else 0.0))
                    if not cholesky_lower(M, k):
                        failures[ch] += 1
                    for a in range(k):
                        for bb in range(k):
                            Bart[a, bb] = 0.0
                    for a in range(k):
                        for bb in range(a):
                            Bart[a, bb] = standard_normal(normal)
                    for a in range(k):
                        Bart[a, a] = math.sqrt(2.0 * standard_gamma(gamma_rng, 0.5 * (iw_df[f] + J[f] - a)))
                    bartlett_precision(M, Bart, W, acc, Sf, k)
                else:
                    for a in range(k):
                        acc[a] = 0.0
                    for j in range(J[f]):
                        base = b_off[f] + j * k
                        for a in range(k):
                            d = bc[base + a] - (mc[a] if f == 0 else 0.0)
                            acc[a] += d * d
                    for a in range(k):
                        if tau_kind[f] == TAU_INVGAMMA:
                            tau2 = (tau_b[f, a] + 0.5 * acc[a]) / standard_gamma(gamma_rng, tau_a[f, a] + 0.5 * J[f])
                        else:
                            tau2 = (1.0 / lam[ch, f, a] + 0.5 * acc[a]) / standard_gamma(gamma_rng, 0.5 * (J[f] + 1))
                        Sf[a, a] = 1.0 / tau2
                    if tau_kind[f] == TAU_HALFCAUCHY:
                        for a in range(k):
                            lam[ch, f, a] = (hc_inv_scale2[f, a] + Sf[a, a]) / standard_gamma(gamma_rng, 1.0)
            # ---- interweaving: redraw the diagonal scales in the non-centred parameterisation
            rss_known = interweave and n_scales > 0
            total = 0.0
            if rss_known:
                total = _interweave_scales(G, h, rr, level, J, q, vidx, pidx, b_off, tau_kind, tau_a, tau_b,
                                           hc_inv_scale2, lam[ch], bc, al, mc, Sinv[ch], 1.0 / sigma2[ch], tf, tk,
                                           tcol, tau_old, itau, tau_new, eta, theta_base, theta, rc, Qt, bt, normal,
                                           gamma_rng)
            # ---- shift moves: b_f - c, (mu or alpha) + c, b_1 + c leave the likelihood unchanged
            if blocked:
                for f in range(1, K):
                    k = q[f]
                    Sf = Sinv[ch, f]
                    for a in range(k):
                        acc[a] = 0.0
                    for j in range(J[f]):
                        base = b_off[f] + j * k
                        for a in range(k):
                            acc[a] += bc[base + a]
                    for a in range(k):
                        tg = shift_target[f, a]
                        if tg >= 0:
                            pprec[a] = S0inv[tg, tg]
                            pmean[a] = S0inv_mu0[tg] - pprec[a] * mc[tg]
                        else:
                            i = -1 - tg
                            pprec[a] = Sainv[i, i]
                            pmean[a] = Sainv_a0[i] - pprec[a] * al[i]
                    for a in range(k):
                        for bb in range(a + 1):
                            A[a, bb] = J[f] * Sf[a, bb]
                        A[a, a] += pprec[a]
                        s = pmean[a]
                        for bb in range(k):
                            s += Sf[a, bb] * acc[bb]
                        v[a] = s
                    if cholesky_forward(A, v, inv_diag, k):
                        _finish_draw(A, v, inv_diag, normal, k)
                    else:
                        failures[ch] += 1
                        for a in range(k):
                            standard_normal(normal)
                            v[a] = 0.0
                    for j in range(J[f]):
                        base = b_off[f] + j * k
                        for a in range(k):
                            bc[base + a] -= v[a]
                    for a in range(k):
                        tg = shift_target[f, a]
                        if tg >= 0:
                            mc[tg] += v[a]
                            for j in range(J[0]):
                                bc[j * q1 + tg] += v[a]
                        else:
                            al[-1 - tg] += v[a]
                    if parent_of[lv_off[f]] >= 0:
                        _nested_shift(f, k, q1, J, b_off, lv_off, parent_of, n_children, shift_target, Sf,
                                      Sinv[ch, 0], bc, mc, childsum, cvals, A, v, inv_diag, normal)
            # ---- sigma^2 | everything: RSS = sum rr - 2 theta'h (per-level sums) + sum_c theta_c'G_c theta_c
            # (already known from the interweaving pass: the shift moves leave the fitted values unchanged)
            if not rss_known:
                lin = 0.0
                for a in range(r):
                    lin += al[a] * hp[a]
                for f in range(K):
                    lo = lv_off[f]
                    for j in range(J[f]):
                        base = b_off[f] + j * q[f]
                        for a in range(q[f]):
                            lin += bc[base + a] * hsum[lo + j, a]
                quad = 0.0
                for c in range(C):
                    _cell_theta(c, theta, bc, al, level, vidx, q, pidx, b_off, -1, True)
                    for a in range(p):
                        row = 0.0
                        for bb in range(a):
                            row += G[c, a, bb] * theta[bb]
                        quad += theta[a] * (2.0 * row + G[c, a, a] * theta[a])
                total = rr_total - 2.0 * lin + quad
            if total < 0.0:
                total = 0.0
            sigma2[ch] = (sigma_b + 0.5 * total) / standard_gamma(gamma_rng, sigma_a + 0.5 * n_total)
            # ---- store
            countdown -= 1
            if store and countdown == 0:
                countdown = thin
                kk = out_start + (t + 1) // thin - 1
                for i in range(bc.shape[0]):
                    out_b[ch, kk, i] = bc[i]
                for a in range(r):
                    out_alpha[ch, kk, a] = al[a]
                for a in range(q1):
                    out_mu[ch, kk, a] = mc[a]
                for f in range(K):
                    k = q[f]
                    for a in range(k):
                        for bb in range(a + 1):
                            M[a, bb] = Sinv[ch, f, a, bb]
                    cholesky_lower(M, k)
                    for bb in range(k):
                        for a in range(k):
                            acc[a] = 1.0 if a == bb else 0.0
                        forward_solve(M, acc, k)
                        backward_solve_transpose(M, acc, k)
                        for a in range(k):
                            out_Sigma[ch, kk, f, a, bb] = acc[a]
                out_sigma2[ch, kk] = sigma2[ch]
    return failures.sum()
