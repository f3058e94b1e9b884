"""The hierarchical kernel with the chains shared out between threads, each chain's blocks one after another."""

import numpy as np
from numba import njit

from ..draws import fill_gammas, fill_normals, stream_at
from ..pool import over_chains
from .layout import EXACT_ORDER, _block_range, _draw_index, _sweep_buffers, _wishart, sweep_layout
from .stages import _stage_beta, _stage_noise, _stage_spread_asis
from .steps import _alpha_mu_step, _chain_workspaces, _finish_step, _sinv_mu, _spread_steps


def hier_gibbs_chains(*args):
    """hier_gibbs with the chains shared out between threads (kernels/pool.py): _one_chain per chain."""
    return over_chains(_one_chain, args[24].shape[0], args)


@njit(cache=True, nogil=True, fastmath=EXACT_ORDER, error_model="numpy")
def _one_chain(c, GT, hT, rr, nj, q, S0inv, S0inv_mu0, Sainv, Sainv_a0, tau_kind, tau_a, tau_b, hc_inv_scale2, iw_df,
               iw_Psi, sigma_a, sigma_b, sigma_kind, sigma_par, group_variance, asis, out_scale, out_ref, gammas, betaT,
               alpha, mu, Sinv, lam, sigma2, normal_streams, gamma_streams, n_iter, thin, out_start, out_beta,
               out_alpha, out_mu, out_Sigma, out_sigma2):
    """Chain c's sweeps, its blocks one after another (workspaces are the chain's own: shared rows
    would false-share cache lines between threads).  The beta_j normals are drawn block by block, the
    hyperparameters' normals after them and the sweep's gammas at its start: the streams' order of
    sweep_layout."""
    J = GT.shape[2]
    p = GT.shape[0]
    r = p - q
    normal = stream_at(normal_streams, c)
    gamma_rng = stream_at(gamma_streams, c)
    size, nb, parts, Ams, laness, G_totals = _sweep_buffers(GT, q, asis, group_variance, 1, 1)
    n_hyper, o_mu, _, _, _, n_gamma, _, _, o_sigma = sweep_layout(q, r, J, tau_kind, asis, group_variance, sigma_kind)
    As, vecs, qqs, smalls, prior_abs = _chain_workspaces(1, p, q)
    # the one chain's and the one worker's rows
    part, Am, lanes = parts[0], Ams[0], laness[0]
    A, vec, qq, small, prior_ab = As[0], vecs[0], qqs[0], smalls[0], prior_abs[0]
    z = np.zeros(size * q)
    zh = np.zeros(n_hyper)
    g = np.zeros(n_gamma)
    inv_scale = 1.0 / out_scale  # J q stores per sweep: a multiply each, not a division
    # the chain's views made once, not at every call: each view costs a reference count up and down
    betaT_c, alpha_c, mu_c, Sinv_c, lam_c, sigma2_c = betaT[c], alpha[c], mu[c], Sinv[c], lam[c], sigma2[c]
    out_beta_c, out_alpha_c, out_mu_c = out_beta[c], out_alpha[c], out_mu[c]
    out_Sigma_c, out_sigma2_c = out_Sigma[c], out_sigma2[c]
    v, inv_diag, acc, M = vec[0], vec[1], vec[2], qq[0]
    mu_old, fac, Sinv_mu = small[0], small[3], small[7]
    z_mu = zh[o_mu:]
    g_sigma = g[o_sigma:]
    iw = _wishart(tau_kind)
    scale_step = asis and not iw
    store = out_mu.shape[1] > 0
    nfail = 0
    for t in range(n_iter):
        k = _draw_index(t, thin, out_start, store)
        fill_gammas(gamma_rng, g, gammas)
        _sinv_mu(q, Sinv_c, mu_c, Sinv_mu)
        for b in range(nb):
            j0, j1 = _block_range(b, size, J)
            fill_normals(normal, z, (j1 - j0) * q)
            nfail += _stage_beta(GT, hT, q, r, j0, j1, betaT_c, alpha_c, Sinv_c, Sinv_mu, sigma2_c, z, Am, lanes,
                                 part[b])
        fill_normals(normal, zh, n_hyper)
        nfail += _alpha_mu_step(J, q, r, nb, part, Sainv, Sainv_a0, S0inv, S0inv_mu0, Sinv_c, alpha_c, mu_c, A, v,
                                inv_diag, acc, zh, z_mu)
        for b in range(nb):
            j0, j1 = _block_range(b, size, J)
            _stage_spread_asis(GT, hT, q, r, j0, j1, iw, asis, scale_step, betaT_c, alpha_c, mu_c, sigma2_c,
                               G_totals[b], lanes, part[b])
        failed, shift = _spread_steps(J, q, r, nb, part, asis, group_variance, tau_kind, tau_a, tau_b, hc_inv_scale2,
                                      iw_df, iw_Psi, S0inv, S0inv_mu0, Sinv_c, lam_c, mu_c, A, vec, qq, small, prior_ab,
                                      zh, g)
        nfail += failed
        for b in range(nb):
            j0, j1 = _block_range(b, size, J)
            part[b, 0] = _stage_noise(GT, hT, rr, q, r, j0, j1, shift, mu_c, mu_old, fac, betaT_c, alpha_c, sigma2_c,
                                      group_variance, sigma_b, g_sigma[j0:], lanes, k, inv_scale, out_ref, out_beta_c,
                                      out_sigma2_c)
        _finish_step(J, q, r, nb, part, group_variance, sigma_b, sigma_kind, sigma_par, Sinv_c, alpha_c, mu_c,
                     sigma2_c, M, acc, g_sigma, k, out_scale, out_ref, out_alpha_c, out_mu_c, out_Sigma_c, out_sigma2_c)
    return nfail
