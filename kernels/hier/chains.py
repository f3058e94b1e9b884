"""The hierarchical kernel with the chains shared out between threads, each chain's blocks one after another."""

import math

import numpy as np
from numba import njit, prange

from ..draws import fill_gammas, fill_normals, stream_at
from .layout import (
    EXACT_ORDER,
    LANE_ROWS,
    TAU_HALFCAUCHY,
    TAU_INVWISHART,
    _block_G_totals,
    _spread_at,
    group_blocks,
    sweep_layout,
)
from .stages import _stage_beta, _stage_noise, _stage_spread_asis
from .steps import _alpha_mu_step, _asis_step, _finish_step, _hyper_prior, _sigma_step, _sinv_mu


@njit(cache=True, parallel=True, fastmath=EXACT_ORDER, error_model="numpy")
def hier_gibbs_chains(GT, hT, rr, nj, q, S0inv, S0inv_mu0, Sainv, Sainv_a0, tau_kind, tau_a, tau_b, hc_inv_scale2,
                      iw_df, iw_Psi, sigma_a, sigma_b, group_variance, asis, out_scale, out_ref, gammas, betaT,
                      alpha, mu, Sinv, lam, sigma2, normal_streams, gamma_streams, n_iter, thin, out_start, out_beta,
                      out_alpha, out_mu, out_Sigma, out_sigma2):
    """hier_gibbs with the chains shared out between threads."""
    n_chains = betaT.shape[0]
    failures = np.zeros(n_chains, dtype=np.int64)
    for c in prange(n_chains):
        failures[c] = _one_chain(np.int64(c), GT, hT, rr, nj, q, S0inv, S0inv_mu0, Sainv, Sainv_a0, tau_kind, tau_a,
                                 tau_b, hc_inv_scale2, iw_df, iw_Psi, sigma_a, sigma_b, group_variance, asis, out_scale,
                                 out_ref, gammas, betaT, alpha, mu, Sinv, lam, sigma2, normal_streams, gamma_streams,
                                 n_iter, thin, out_start, out_beta, out_alpha, out_mu, out_Sigma, out_sigma2)
    return failures.sum()


@njit(cache=True, fastmath=EXACT_ORDER, error_model="numpy")
def _one_chain(c, GT, hT, rr, nj, q, S0inv, S0inv_mu0, Sainv, Sainv_a0, tau_kind, tau_a, tau_b, hc_inv_scale2, iw_df,
               iw_Psi, sigma_a, sigma_b, group_variance, asis, out_scale, out_ref, gammas, betaT, alpha, mu, Sinv,
               lam, sigma2, normal_streams, gamma_streams, n_iter, thin, out_start, out_beta, out_alpha, out_mu, out_Sigma,
               out_sigma2):
    """Chain c's sweeps, its blocks one after another (workspaces are the chain's own: shared rows
    would false-share cache lines between threads).  The beta_j normals are drawn block by block, the
    hyperparameters' normals after them and the sweep's gammas at its start: the streams' order of
    sweep_layout."""
    J = GT.shape[2]
    p = GT.shape[0]
    r = p - q
    size, nb = group_blocks(J)
    normal = stream_at(normal_streams, c)
    gamma_rng = stream_at(gamma_streams, c)
    n_hyper, o_mu, o_bartlett, o_location, o_scale, n_gamma, o_exp, o_lambda, o_sigma = sweep_layout(
        q, r, J, tau_kind, asis, group_variance)
    iw = tau_kind == TAU_INVWISHART
    scale_step = asis and not iw
    part = np.zeros((nb, max(r * r + r + q, _spread_at(q) + q * q)))
    A = np.zeros((p, p))
    v = np.zeros(p)
    inv_diag = np.zeros(p)
    acc = np.zeros(p)
    Sinv_mu = np.zeros(q)
    M = np.zeros((q, q))
    Bart = np.zeros((q, q))
    W = np.zeros((q, q))
    Q = np.zeros((q, q))
    Bm = np.zeros((q, q))
    small = np.zeros((8, q))
    mu_old, tau, tau_old, fac, bvec = small[0], small[1], small[2], small[3], small[4]
    prior_ab = np.zeros((2, q))
    z = np.zeros(size * q)
    zh = np.zeros(n_hyper)
    g = np.zeros(n_gamma)
    Am = np.zeros((q, q, size))
    lanes = np.zeros((LANE_ROWS + 2 * p, size))
    G_totals = _block_G_totals(GT, q, size, nb, asis and not group_variance)
    inv_scale = 1.0 / out_scale  # J q stores per sweep: a multiply each, not a division
    # the chain's views made once, not at every call: each view costs a reference count up and down
    betaT_c, alpha_c, mu_c, Sinv_c, lam_c, sigma2_c = betaT[c], alpha[c], mu[c], Sinv[c], lam[c], sigma2[c]
    out_beta_c, out_alpha_c, out_mu_c = out_beta[c], out_alpha[c], out_mu[c]
    out_Sigma_c, out_sigma2_c = out_Sigma[c], out_sigma2[c]
    z_mu, z_bartlett, z_location, z_scale = zh[o_mu:], zh[o_bartlett:], zh[o_location:], zh[o_scale:]
    g_exp, g_sigma = g[o_exp:], g[o_sigma:]
    spread = part[:, _spread_at(q):]
    prior_a, prior_b = prior_ab[0], prior_ab[1]
    nfail = 0
    for t in range(n_iter):
        k = out_start + (t + 1) // thin - 1 if (out_mu.shape[1] > 0 and (t + 1) % thin == 0) else -1
        fill_gammas(gamma_rng, g, gammas)
        _sinv_mu(q, Sinv_c, mu_c, Sinv_mu)
        for b in range(nb):
            j0 = b * size
            j1 = min(J, j0 + size)
            fill_normals(normal, z, (j1 - j0) * q)
            nfail += _stage_beta(GT, hT, q, r, j0, j1, betaT_c, alpha_c, Sinv_c, Sinv_mu, sigma2_c, z, Am, lanes,
                                 part[b])
        fill_normals(normal, zh, n_hyper)
        nfail += _alpha_mu_step(J, q, r, nb, part, Sainv, Sainv_a0, S0inv, S0inv_mu0, Sinv_c, alpha_c, mu_c, A, v,
                                inv_diag, acc, zh, z_mu)
        for b in range(nb):
            _stage_spread_asis(GT, hT, q, r, b * size, min(J, (b + 1) * size), iw, asis, scale_step, betaT_c,
                               alpha_c, mu_c, sigma2_c, G_totals[b], lanes, part[b])
        nfail += _sigma_step(J, q, nb, spread, tau_kind, tau_a, tau_b, iw_df, iw_Psi, Sinv_c, lam_c, M, Bart, W, acc,
                             z_bartlett, g)
        shift = False
        if asis:
            for a in range(q):
                mu_old[a] = mu_c[a]
                tau_old[a] = 1.0 / math.sqrt(Sinv_c[a, a]) if scale_step else 1.0
            _hyper_prior(q, tau_kind, tau_a, tau_b, lam_c, prior_ab)
            shift = _asis_step(q, nb, part, scale_step, S0inv, S0inv_mu0, prior_a, prior_b, mu_c, Sinv_c, A, v,
                               inv_diag, Q, Bm, bvec, tau, tau_old, fac, z_location, z_scale, g_exp)
        if tau_kind == TAU_HALFCAUCHY:
            for a in range(q):
                lam_c[a] = (hc_inv_scale2[a] + Sinv_c[a, a]) / g[o_lambda + a]
        for b in range(nb):
            j0 = b * size
            j1 = min(J, j0 + size)
            part[b, 0] = _stage_noise(GT, hT, rr, q, r, j0, j1, shift, mu_c, mu_old, fac, betaT_c, alpha_c, sigma2_c,
                                      group_variance, sigma_b, g_sigma[j0:], lanes, k, inv_scale, out_ref, out_beta_c,
                                      out_sigma2_c)
        _finish_step(J, q, r, nb, part, group_variance, sigma_b, Sinv_c, alpha_c, mu_c, sigma2_c, M, acc,
                     g[o_sigma], k, out_scale, out_ref, out_alpha_c, out_mu_c, out_Sigma_c, out_sigma2_c)
    return nfail
