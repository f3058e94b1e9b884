"""The blocks of one crossed sweep for one chain, in the order _one_chain calls them: the effects and the
population coefficients (plain or blocked), every factor's Sigma_f, the shift moves, sigma^2's residual sum
of squares and the store of a draw.

Compiled without fast-math (the options are inherited from crossed_gibbs): no contraction, so every sum is
rounded as the NumPy reference rounds it.  That is also why the sums of products here are not the helpers
of kernels/linalg.py, which contract to fused multiply-adds.
"""

import math

from numba import njit

from ..draws import standard_gamma, standard_normal
from ..linalg import (
    bartlett_precision,
    cholesky_forward_affine,
    cholesky_inverse_column,
    cholesky_lower,
    forward_solve,
)
from ..scales import TAU_HALFNORMAL, scale_log_ratio
from .layout import TAU_HALFCAUCHY, TAU_INVGAMMA, TAU_INVWISHART, _cell_theta, _draw, _finish_draw
from .steps import _draw_levels, _level_rhs, _mean_draw, _nested_shift, _pooled_rhs, _skip_draw


@njit(cache=True, _nrt=False)
def _effects_plain(G, level, J, q, vidx, b_off, lv_off, hsum, Gfp, Gsum, Gpp, hp, S0inv, S0inv_mu0, Sainv, Sainv_a0,
                   r, Sinv_c, bc, al, mc, inv, lev, A, v, acc, inv_diag, Sm, normal):
    """Block Gibbs: each factor's effects | the rest (levels independent given it), the r pooled coefficients
    | the effects, then mu | b_1, Sigma_1.  Returns the number of failed factorisations."""
    C = G.shape[0]
    K = J.shape[0]
    q1 = q[0]
    nfail = 0
    for f in range(K):
        _level_rhs(f, True, lev, G, level, J, q, vidx, b_off, lv_off, hsum, Gfp, bc, al, r, C, K)
        if not _draw_levels(f, lev, Sinv_c[f], Gsum, lv_off, J, q, b_off, bc, mc, inv, A, v, inv_diag, Sm, normal):
            nfail += 1
    # pooled coefficients | effects: rhs = h_P - sum_f sum_j Gfp_j' b_f,j, no cell pass
    if r > 0:
        _pooled_rhs(acc, hp, Gfp, lv_off, J, q, b_off, bc, r, 0, K)
        if cholesky_forward_affine(Sainv, Gpp, inv, Sainv_a0, acc, A, v, inv_diag, r):
            _finish_draw(A, v, inv_diag, normal, r)
        else:
            nfail += 1
        for a in range(r):
            al[a] = v[a]
    # mu | b_1, Sigma_1
    for a in range(q1):
        acc[a] = 0.0
    for j in range(J[0]):
        for a in range(q1):
            acc[a] += bc[j * q1 + a]
    for a in range(q1):
        for bb in range(a + 1):
            A[a, bb] = S0inv[a, bb]
        v[a] = S0inv_mu0[a]
    if not _mean_draw(A, v, inv_diag, Sinv_c[0], J[0], acc, q1, normal):
        nfail += 1
    for a in range(q1):
        mc[a] = v[a]
    return nfail


@njit(cache=True, _nrt=False)
def _first_factor_out(j, d, q1, Gsum, Gfp, S1, inv, lev, Lw, Uw, ew, acc, Pm, wv):
    """Level j of the first factor integrated out of (mu, alpha)'s precision Pm and linear term wv:
    with L L' = Sigma_1^{-1} + Gsum_j / sigma^2, U = L^{-1} [Sigma_1^{-1}, -G_j[V1, P] / sigma^2] and
    e = L^{-1} lev_j / sigma^2, wv += U'e and Pm -= U'U (lower triangle).  Returns False (nothing changed)
    when L fails to factorise."""
    for a in range(q1):
        for bb in range(a + 1):
            Lw[a, bb] = S1[a, bb] + Gsum[j, a, bb] * inv
    if not cholesky_lower(Lw, q1):
        return False
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
    for a in range(d):  # not linalg's products: those contract to fused multiply-adds (module docstring)
        s = 0.0
        for kk in range(q1):
            s += Uw[kk, a] * ew[kk]
        wv[a] += s
        for bb in range(a + 1):
            s = 0.0
            for kk in range(q1):
                s += Uw[kk, a] * Uw[kk, bb]
            Pm[a, bb] -= s
    return True


@njit(cache=True, _nrt=False)
def _effects_blocked(G, level, J, q, vidx, b_off, lv_off, hsum, Gfp, Gsum, Gpp, hp, S0inv, S0inv_mu0, Sainv,
                     Sainv_a0, r, Sinv_c, bc, al, mc, inv, lev, A, v, acc, inv_diag, Sm, Pm, wv, Lw, Uw, ew, normal):
    """The later factors' effects as in block Gibbs, then (mu, alpha) with the first factor's effects
    integrated out, then those effects | mu, alpha, the rest.  Returns the number of failed factorisations."""
    C = G.shape[0]
    K = J.shape[0]
    q1 = q[0]
    nfail = 0
    for f in range(1, K):
        _level_rhs(f, True, lev, G, level, J, q, vidx, b_off, lv_off, hsum, Gfp, bc, al, r, C, K)
        if not _draw_levels(f, lev, Sinv_c[f], Gsum, lv_off, J, q, b_off, bc, mc, inv, A, v, inv_diag, Sm, normal):
            nfail += 1
    # (mu, alpha) | later factors, with the first factor's effects integrated out
    _level_rhs(0, False, lev, G, level, J, q, vidx, b_off, lv_off, hsum, Gfp, bc, al, r, C, K)
    d = q1 + r
    for a in range(d):
        for bb in range(d):
            Pm[a, bb] = 0.0
        wv[a] = 0.0
    for a in range(q1):
        for bb in range(q1):
            Pm[a, bb] = S0inv[a, bb] + J[0] * Sinv_c[0, a, bb]
        wv[a] = S0inv_mu0[a]
    if r > 0:
        _pooled_rhs(acc, hp, Gfp, lv_off, J, q, b_off, bc, r, 1, K)
        for a in range(r):
            for bb in range(r):
                Pm[q1 + a, q1 + bb] = Sainv[a, bb] + Gpp[a, bb] * inv
            wv[q1 + a] = Sainv_a0[a] + acc[a] * inv
    S1 = Sinv_c[0]
    for j in range(J[0]):
        if not _first_factor_out(j, d, q1, Gsum, Gfp, S1, inv, lev, Lw, Uw, ew, acc, Pm, wv):
            nfail += 1
    if not _draw(Pm, wv, inv_diag, normal, d):
        nfail += 1
    for a in range(q1):
        mc[a] = wv[a]
    for a in range(r):
        al[a] = wv[q1 + a]
    # b_1 | mu, alpha, the rest
    for j in range(J[0]):
        for a in range(q1):
            s = 0.0
            for bb in range(r):
                s += Gfp[j, a, bb] * al[bb]
            lev[j, a] -= s
    if not _draw_levels(0, lev, Sinv_c[0], Gsum, lv_off, J, q, b_off, bc, mc, inv, A, v, inv_diag, Sm, normal):
        nfail += 1
    return nfail


@njit(cache=True, _nrt=False)
def _factor_scales(J, q, b_off, tau_kind, tau_a, tau_b, hc_inv_scale2, iw_df, iw_Psi, Sinv_c, lam_c, bc, mc, M,
                   Bart, W, acc, normal, gamma_rng):
    """Sigma_f | b_f for every factor (the effects centred at mu for the first factor, at 0 for the others):
    Inverse-Wishart by Bartlett (Huang-Wand: then the a_k), or the diagonal's inverse gammas, then the half-t
    lambdas (nu = tau_a; half-Cauchy nu = 1); half-normal and exponential scales: q_f proposals from the
    flat-prior conditional IG((J_f - 1)/2, S/2), then q_f exponentials deciding their independence Metropolis
    steps (kernels/scales.py).  Returns the number of failed factorisations."""
    nfail = 0
    for f in range(J.shape[0]):
        k = q[f]
        Sf = Sinv_c[f]
        if tau_kind[f] == TAU_INVWISHART:
            # Huang-Wand (tau_a = nu > 0): Psi = 2 nu diag(1/a), a in lam_c, 1/A^2 in hc_inv_scale2
            hw = tau_a[f, 0] > 0.0
            for a in range(k):
                for bb in range(a + 1):
                    M[a, bb] = iw_Psi[f, a, bb] if not hw else (2.0 * tau_a[f, a] / lam_c[f, a] if a == bb else 0.0)
            for j in range(J[f]):
                base = b_off[f] + j * k
                for a in range(k):
                    da = bc[base + a] - (mc[a] if f == 0 else 0.0)
                    for bb in range(a + 1):
                        M[a, bb] += da * (bc[base + bb] - (mc[bb] if f == 0 else 0.0))
            if not cholesky_lower(M, k):
                nfail += 1
            for a in range(k):
                for bb in range(k):
                    Bart[a, bb] = 0.0
            for a in range(k):
                for bb in range(a):
                    Bart[a, bb] = standard_normal(normal)
            for a in range(k):
                Bart[a, a] = math.sqrt(2.0 * standard_gamma(gamma_rng, 0.5 * (iw_df[f] + J[f] - a)))
            bartlett_precision(M, Bart, W, acc, Sf, k)
            if hw:  # a_k | Sigma ~ IG((nu + q)/2, nu (Sigma^{-1})_kk + 1/A_k^2)
                for a in range(k):
                    lam_c[f, a] = (tau_a[f, a] * Sf[a, a] + hc_inv_scale2[f, a]) / standard_gamma(
                        gamma_rng, 0.5 * (tau_a[f, a] + k))
        else:
            for a in range(k):
                acc[a] = 0.0
            for j in range(J[f]):
                base = b_off[f] + j * k
                for a in range(k):
                    d = bc[base + a] - (mc[a] if f == 0 else 0.0)
                    acc[a] += d * d
            if tau_kind[f] >= TAU_HALFNORMAL:
                for a in range(k):
                    acc[a] = 0.5 * acc[a] / standard_gamma(gamma_rng, 0.5 * (J[f] - 1))
                for a in range(k):
                    e = standard_gamma(gamma_rng, 1.0)
                    if scale_log_ratio(tau_kind[f], tau_b[f, a], acc[a], 1.0 / Sf[a, a]) >= -e:
                        Sf[a, a] = 1.0 / acc[a]
                continue
            for a in range(k):
                if tau_kind[f] == TAU_INVGAMMA:
                    tau2 = (tau_b[f, a] + 0.5 * acc[a]) / standard_gamma(gamma_rng, tau_a[f, a] + 0.5 * J[f])
                else:
                    tau2 = (tau_a[f, a] / lam_c[f, a] + 0.5 * acc[a]) / standard_gamma(gamma_rng,
                                                                                      0.5 * (J[f] + tau_a[f, a]))
                Sf[a, a] = 1.0 / tau2
            if tau_kind[f] == TAU_HALFCAUCHY:
                for a in range(k):
                    lam_c[f, a] = (hc_inv_scale2[f, a] + tau_a[f, a] * Sf[a, a]) / standard_gamma(
                        gamma_rng, 0.5 * (tau_a[f, a] + 1.0))
    return nfail


@njit(cache=True, _nrt=False)
def _shift_moves(J, q, b_off, lv_off, S0inv, S0inv_mu0, Sainv, Sainv_a0, shift_target, parent_of, n_children, Sinv_c,
                 bc, al, mc, A, v, acc, inv_diag, childsum, cvals, normal):
    """For every factor f >= 2: b_f - c, (mu or alpha) + c, b_1 + c leave the likelihood unchanged, so c is
    drawn exactly (c ~ N given the priors of the shifted coordinates and Sigma_f), then the per-parent shift
    of a factor nested in the first.  Returns the number of failed factorisations."""
    q1 = q[0]
    nfail = 0
    for f in range(1, J.shape[0]):
        k = q[f]
        Sf = Sinv_c[f]
        for a in range(k):
            acc[a] = 0.0
        for j in range(J[f]):
            base = b_off[f] + j * k
            for a in range(k):
                acc[a] += bc[base + a]
        # the shifted coordinates' prior precisions (diagonal) and linear terms at c = 0
        for a in range(k):
            tg = shift_target[f, a]
            if tg >= 0:
                prec = S0inv[tg, tg]
                v[a] = S0inv_mu0[tg] - prec * mc[tg]
            else:
                i = -1 - tg
                prec = Sainv[i, i]
                v[a] = Sainv_a0[i] - prec * al[i]
            for bb in range(a):
                A[a, bb] = 0.0
            A[a, a] = prec
        if not _mean_draw(A, v, inv_diag, Sf, J[f], acc, k, normal):
            nfail += 1
            _skip_draw(v, normal, k)
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
            _nested_shift(f, k, q1, J, b_off, lv_off, parent_of, n_children, shift_target, Sf, Sinv_c[0], bc, mc,
                          childsum, cvals, A, v, inv_diag, normal)
    return nfail


@njit(cache=True, _nrt=False)
def _residual_ss(G, level, J, q, vidx, pidx, b_off, lv_off, hsum, hp, rr_total, bc, al, theta):
    """RSS = sum rr - 2 theta'h (per-level sums) + sum_c theta_c'G_c theta_c (one cell pass)."""
    lin = 0.0
    for a in range(pidx.shape[0]):
        lin += al[a] * hp[a]
    for f in range(J.shape[0]):
        lo = lv_off[f]
        for j in range(J[f]):
            base = b_off[f] + j * q[f]
            for a in range(q[f]):
                lin += bc[base + a] * hsum[lo + j, a]
    p = G.shape[1]
    quad = 0.0
    for c in range(G.shape[0]):
        _cell_theta(c, theta, bc, al, level, vidx, q, pidx, b_off, -1, True)
        for a in range(p):
            row = 0.0
            for bb in range(a):
                row += G[c, a, bb] * theta[bb]
            quad += theta[a] * (2.0 * row + G[c, a, a] * theta[a])
    return rr_total - 2.0 * lin + quad


@njit(cache=True, _nrt=False)
def _store_draw(ch, kk, q, r, bc, al, mc, Sinv_c, s2, M, acc, out_b, out_alpha, out_mu, out_Sigma, out_sigma2):
    """Draw kk of chain ch into the outputs: b, alpha (r), mu, every Sigma_f = (Sigma_f^{-1})^{-1} and sigma^2."""
    for i in range(bc.shape[0]):
        out_b[ch, kk, i] = bc[i]
    for a in range(r):
        out_alpha[ch, kk, a] = al[a]
    for a in range(q[0]):
        out_mu[ch, kk, a] = mc[a]
    for f in range(q.shape[0]):
        k = q[f]
        for a in range(k):
            for bb in range(a + 1):
                M[a, bb] = Sinv_c[f, a, bb]
        cholesky_lower(M, k)
        for bb in range(k):
            cholesky_inverse_column(M, acc, bb, k)
            for a in range(k):
                out_Sigma[ch, kk, f, a, bb] = acc[a]
    out_sigma2[ch, kk] = s2
