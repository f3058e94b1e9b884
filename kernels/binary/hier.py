"""The sweep of the one-factor hierarchical binary model (probit or logistic; kernels/binary/__init__ for the
streams' roles).

Row i of group j: eta_i = x_vi' beta_j + x_pi' alpha, beta_j ~ N(mu, Sigma), mu ~ N(m0, S0), alpha ~ N(a0, Sa),
Sigma = diag(tau^2) with tau^2_k ~ IG(a_k, b_k) (tau_kind 0); tau_k ~ half-t(nu_k = tau_a_k, A_k) (1;
half-Cauchy at nu = 1), by the auxiliary lam_k: tau^2_k | lam_k ~ IG(nu/2, nu/lam_k), lam_k ~ IG(1/2, 1/A_k^2); tau_k ~
half-normal (3, tau_b = 1/(2 s^2)) or exponential (4, tau_b = the rate), each by an independence Metropolis step
from the flat-prior conditional IG((J - 1)/2, ss/2) accepted on the prior's ratio; or Sigma ~ IW(df, Psi) (2).
The rows come sorted by group (group j is rows start[j]:start[j + 1]).

Per sweep and chain, in order:
1. eta; the latents row by row from the gamma stream (flat._latent_pass: the flat model's pass);
2. per group the weighted statistics G_j = X_j' W_j X_j (lower triangle, kernels/rowpass.py; probit: fixed,
   X_j' diag(n) X_j) and h_j (logistic: fixed X_j' kappa_j; probit: X_j' s_j);
3.-6. kernels/rowhier/steps.hier_steps, shared with the Student-t model (its docstring is the reference):
3. beta_j | rest for j = 0..J-1: precision Sigma^{-1} + G_j[vv], q normals each (normal stream);
4. alpha | rest (r normals), then mu | beta, Sigma (q normals);
5. Sigma | beta, mu: InvGamma, q gammas; half-t, q gammas for tau^2 (then, after 6., q for lam); half-normal
   and exponential, per coordinate the proposal's gamma then the acceptance's Exp(1) (as standard_gamma(1));
   InvWishart, q gammas (the Bartlett diagonal, B_aa^2 ~ chi2(df + J - a)) from the gamma stream, then
   q(q - 1)/2 normals for B's lower triangle, row by row, from the normal stream;
6. with ``asis`` (the Gaussian model's interweaving, Yu & Meng 2011, given the latents): mu with the
   deviations beta_j - mu fixed (q normals); then, for a diagonal Sigma, each tau_k with (beta_j - mu)/tau
   fixed, by a proposal from its likelihood-only conditional (q normals) accepted with the prior's ratio (q
   Exp(1) draws, as standard_gamma(1), from the gamma stream).
Per sweep the normal stream gives J q + r + q (+ q(q - 1)/2) (+ q or 2 q with asis) numbers; the gamma stream
the latents' numbers, then the scale's gammas in the order above.
"""

import numpy as np
from numba import njit

from ..draws import stream_at
from ..pool import over_chains
from ..rowhier.steps import (TAU_HALFCAUCHY, TAU_INVGAMMA, TAU_INVWISHART, group_predictor,  # noqa: F401
                             hier_steps, hier_work, store_draw)
from ..rowpass import weighted_cross
from ..scales import TAU_EXPONENTIAL, TAU_HALFNORMAL  # noqa: F401
from .flat import LOGIT, _latent_pass


@njit(cache=True, nogil=True, error_model="numpy")
def _one_chain(c, X, y, trials, start, link, q, Gfix, hfix, S0inv, S0inv_mu0, Sainv, Sainv_a0, tau_kind, tau_a,
               tau_b, hc_inv_scale2, iw_df, iw_Psi, asis, beta_state, alpha_state, mu_state, Sinv_state, lam_state,
               normal_streams, gamma_streams, n_iter, thin, out_start, out_beta, out_alpha, out_mu, out_Sigma):
    n, p = X.shape
    r = p - q
    J = start.shape[0] - 1
    normal = stream_at(normal_streams, c)
    latent = stream_at(gamma_streams, c)
    store = out_mu.shape[1] > 0
    beta = beta_state[c].copy()
    alpha = alpha_state[c].copy()
    mu = mu_state[c].copy()
    Sinv = Sinv_state[c].copy()
    lam = lam_state[c].copy()
    eta = np.empty(n)
    w = np.zeros(n)
    s = np.zeros(n)
    zero_u = np.zeros(n)
    G = np.zeros((J, p, p))
    h = np.zeros((J, p))
    dummy = np.zeros(p)
    work = hier_work(q, r)
    tau2 = np.zeros(q)
    Sigma = np.zeros((q, q))
    failed = 0
    countdown = thin
    for t in range(n_iter):
        group_predictor(X, start, q, beta, alpha, eta)
        _latent_pass(X, y, trials, link, eta, latent, w, s)
        for j in range(J):
            lo, hi = start[j], start[j + 1]
            if link == LOGIT:
                G[j] = 0.0
                weighted_cross(X[lo:hi], w[lo:hi], zero_u[lo:hi], G[j], dummy)
                h[j] = hfix[j]
            else:
                G[j] = Gfix[j]
                for a in range(p):
                    tot = 0.0
                    for i in range(lo, hi):
                        tot += X[i, a] * s[i]
                    h[j, a] = tot
        failed += hier_steps(G, h, q, r, J, S0inv, S0inv_mu0, Sainv, Sainv_a0, tau_kind, tau_a, tau_b, hc_inv_scale2,
                             iw_df, iw_Psi, asis, beta, alpha, mu, Sinv, lam, tau2, Sigma, normal, latent, work)
        countdown -= 1
        if store and countdown == 0:
            countdown = thin
            k = out_start + (t + 1) // thin - 1
            store_draw(c, k, q, r, J, beta, alpha, mu, Sigma, out_beta, out_alpha, out_mu, out_Sigma)
    beta_state[c] = beta
    alpha_state[c] = alpha
    mu_state[c] = mu
    Sinv_state[c] = Sinv
    lam_state[c] = lam
    return failed


def binary_hier_gibbs(X, y, trials, start, link, q, Gfix, hfix, S0inv, S0inv_mu0, Sainv, Sainv_a0, tau_kind, tau_a,
                      tau_b, hc_inv_scale2, iw_df, iw_Psi, asis, beta, alpha, mu, Sinv, lam, normal_streams,
                      gamma_streams, n_iter, thin, out_start, out_beta, out_alpha, out_mu, out_Sigma):
    """n_iter sweeps of every chain (module docstring), the chains shared out between threads; draws of beta
    (chains, draws, J, q), alpha (r,), mu (q,) and Sigma (q, q) from out_start.  Returns the failed
    factorisations."""
    return over_chains(_one_chain, beta.shape[0], (
        X, y, trials, start, link, q, Gfix, hfix, S0inv, S0inv_mu0, Sainv, Sainv_a0, tau_kind, tau_a, tau_b,
        hc_inv_scale2, iw_df, iw_Psi, asis, beta, alpha, mu, Sinv, lam, normal_streams, gamma_streams, n_iter, thin,
        out_start, out_beta, out_alpha, out_mu, out_Sigma))
