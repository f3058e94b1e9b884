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

from ..draws import fill_normals, standard_gamma, stream_at
from ..linalg import (backward_transpose, bartlett_precision, cholesky_forward, cholesky_inverse_column,
                      cholesky_lower)
from ..pool import over_chains
from ..rowpass import weighted_cross
from .flat import LOGIT, _latent_pass

TAU_INVGAMMA, TAU_HALFCAUCHY, TAU_INVWISHART, TAU_HALFNORMAL, TAU_EXPONENTIAL = 0, 1, 2, 3, 4


@njit(cache=True, error_model="numpy")
def _gaussian(A, v, z, inv, m):
    """v <- L^{-T}(L^{-1} v + z) with A = L L' (A, v overwritten; z already drawn); False if A is not PD."""
    if not cholesky_forward(A, v, inv, m):
        return False
    for a in range(m):
        v[a] += z[a]
    backward_transpose(A, v, inv, m)
    return True


@njit(cache=True, error_model="numpy")
def _scale_log_ratio(tau_kind, c, tau2_new, tau2_old):
    """log p(tau_new) - log p(tau_old) of a half-normal (c = 1/(2 s^2)) or exponential (c = rate) prior on tau."""
    if tau_kind == TAU_HALFNORMAL:
        return -c * (tau2_new - tau2_old)
    return -c * (np.sqrt(tau2_new) - np.sqrt(tau2_old))


@njit(cache=True, error_model="numpy")
def _asis_location(G, h, q, r, J, beta, alpha, mu, S0inv, S0inv_mu0, normal, A, v, z, inv):
    """Interweaving for mu alone (Yu & Meng 2011; the Gaussian model's step, given the latents): with
    eta_j = beta_j - mu fixed, mu | eta, alpha, latents ~ N, then beta_j = mu + eta_j.  q normals.  Returns 1
    when the factorisation failed (nothing changes then), else 0."""
    for a in range(q):
        for b in range(a + 1):
            tot = S0inv[a, b]
            for j in range(J):
                tot += G[j, a, b]
            A[a, b] = tot
        tot = S0inv_mu0[a]
        for j in range(J):
            x = h[j, a]
            for b in range(r):
                x -= G[j, q + b, a] * alpha[b]
            for b in range(q):
                gab = G[j, a, b] if b <= a else G[j, b, a]
                x -= gab * (beta[j, b] - mu[b])
            tot += x
        v[a] = tot
    fill_normals(normal, z, q)
    old = np.empty(q)
    for a in range(q):
        old[a] = mu[a]
    if not _gaussian(A, v, z, inv, q):
        return 1
    for a in range(q):
        mu[a] = v[a]
        for j in range(J):
            beta[j, a] += v[a] - old[a]
    return 0


@njit(cache=True, error_model="numpy")
def _asis_scale(G, h, q, r, J, beta, alpha, mu, tau2, lam, tau_kind, tau_a, tau_b, normal, latent, z, tau, Q, bq,
                eta_j):
    """Interweaving for tau given mu (the Gaussian model's step): with eta_j = (beta_j - mu) / tau fixed, each
    tau_a is proposed from its likelihood-only conditional (Gaussian, q normals) and accepted with the prior's
    ratio (tau^2 ~ IG(a, b), or IG(1/2, 1/lam) for the half-Cauchy; one Exp(1) per coordinate from the gamma
    stream, as standard_gamma(1)); beta_j = mu + tau eta_j and tau2 updated."""
    for a in range(q):
        tau[a] = np.sqrt(tau2[a])
        bq[a] = 0.0
        for b in range(q):
            Q[a, b] = 0.0
    for j in range(J):
        for a in range(q):
            eta_j[a] = (beta[j, a] - mu[a]) / tau[a]
        for a in range(q):
            x = h[j, a]
            for b in range(r):
                x -= G[j, q + b, a] * alpha[b]
            for b in range(q):
                gab = G[j, a, b] if b <= a else G[j, b, a]
                x -= gab * mu[b]
                Q[a, b] += eta_j[a] * gab * eta_j[b]
            bq[a] += eta_j[a] * x
    fill_normals(normal, z, q)
    old = np.empty(q)
    for a in range(q):
        old[a] = tau[a]
    for a in range(q):
        expo = standard_gamma(latent, 1.0)
        prec = Q[a, a]
        lin = bq[a]
        for b in range(q):
            lin -= Q[a, b] * tau[b]
        lin += Q[a, a] * tau[a]
        if prec > 0.0:
            if tau_kind == TAU_HALFNORMAL:  # Gaussian likelihood times Gaussian prior: drawn exactly
                prec2 = prec + 2.0 * tau_b[a]
                tau[a] = lin / prec2 + z[a] / np.sqrt(prec2)
            else:
                proposal = lin / prec + z[a] / np.sqrt(prec)
                if proposal != 0.0:
                    if tau_kind == TAU_EXPONENTIAL:
                        log_ratio = -tau_b[a] * (abs(proposal) - abs(tau[a]))
                    else:  # tau^2 ~ IG(pa, pb): InvGamma, or half-t given lam (IG(nu/2, nu/lam))
                        pa = tau_a[a] if tau_kind == TAU_INVGAMMA else 0.5 * tau_a[a]
                        pb = tau_b[a] if tau_kind == TAU_INVGAMMA else tau_a[a] / lam[a]
                        log_ratio = (-(2.0 * pa + 1.0) * (np.log(abs(proposal)) - np.log(abs(tau[a])))
                                     - pb * (1.0 / (proposal * proposal) - 1.0 / (tau[a] * tau[a])))
                    if log_ratio >= -expo:
                        tau[a] = proposal
    for a in range(q):
        ratio = tau[a] / old[a]
        for j in range(J):
            beta[j, a] = mu[a] + ratio * (beta[j, a] - mu[a])
        tau2[a] = tau[a] * tau[a]


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
    m = max(q, r, 1)
    A = np.zeros((m, m))
    v = np.zeros(m)
    z = np.zeros(max(m, q * (q - 1) // 2, 1))
    inv = np.zeros(m)
    M = np.zeros((q, q))
    B = np.zeros((q, q))
    W = np.zeros((q, q))
    acc = np.zeros(q)
    tau2 = np.zeros(q)
    col = np.zeros(q)
    Sigma = np.zeros((q, q))
    tau_new = np.zeros(q)
    Q = np.zeros((q, q))
    bq = np.zeros(q)
    eta_j = np.zeros(q)
    failed = 0
    countdown = thin
    for t in range(n_iter):
        for j in range(J):
            for i in range(start[j], start[j + 1]):
                e = 0.0
                for a in range(q):
                    e += X[i, a] * beta[j, a]
                for b in range(r):
                    e += X[i, q + b] * alpha[b]
                eta[i] = e
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
        # beta_j | latents, alpha, mu, Sigma
        for j in range(J):
            for a in range(q):
                for b in range(a + 1):
                    A[a, b] = Sinv[a, b] + G[j, a, b]
                tot = h[j, a]
                for b in range(q):
                    tot += Sinv[a, b] * mu[b]
                for b in range(r):
                    tot -= G[j, q + b, a] * alpha[b]
                v[a] = tot
            fill_normals(normal, z, q)
            if _gaussian(A, v, z, inv, q):
                for a in range(q):
                    beta[j, a] = v[a]
            else:
                failed += 1
        # alpha | beta, latents
        if r > 0:
            for a in range(r):
                for b in range(a + 1):
                    tot = Sainv[a, b]
                    for j in range(J):
                        tot += G[j, q + a, q + b]
                    A[a, b] = tot
                tot = Sainv_a0[a]
                for j in range(J):
                    tot += h[j, q + a]
                    for b in range(q):
                        tot -= G[j, q + a, b] * beta[j, b]
                v[a] = tot
            fill_normals(normal, z, r)
            if _gaussian(A, v, z, inv, r):
                for a in range(r):
                    alpha[a] = v[a]
            else:
                failed += 1
        # mu | beta, Sigma
        for a in range(q):
            for b in range(a + 1):
                A[a, b] = S0inv[a, b] + J * Sinv[a, b]
            tot = S0inv_mu0[a]
            for b in range(q):
                sb = 0.0
                for j in range(J):
                    sb += beta[j, b]
                tot += Sinv[a, b] * sb
            v[a] = tot
        fill_normals(normal, z, q)
        if _gaussian(A, v, z, inv, q):
            for a in range(q):
                mu[a] = v[a]
        else:
            failed += 1
        # Sigma | beta, mu
        if tau_kind == TAU_INVWISHART:
            for a in range(q):
                for b in range(q):
                    tot = iw_Psi[a, b]
                    for j in range(J):
                        tot += (beta[j, a] - mu[a]) * (beta[j, b] - mu[b])
                    M[a, b] = tot
            for a in range(q):
                B[a, a] = np.sqrt(2.0 * standard_gamma(latent, 0.5 * (iw_df + J - a)))
            n_low = q * (q - 1) // 2
            fill_normals(normal, z, n_low)
            k = 0
            for a in range(q):
                for b in range(a):
                    B[a, b] = z[k]
                    B[b, a] = 0.0
                    k += 1
            if cholesky_lower(M, q):
                bartlett_precision(M, B, W, acc, Sinv, q)
            else:
                failed += 1
            for a in range(q):
                for b in range(q):
                    M[a, b] = Sinv[a, b]
            if cholesky_lower(M, q):
                for b in range(q):
                    cholesky_inverse_column(M, col, b, q)
                    for a in range(q):
                        Sigma[a, b] = col[a]
            else:
                failed += 1
            if asis:
                failed += _asis_location(G, h, q, r, J, beta, alpha, mu, S0inv, S0inv_mu0, normal, A, v, z, inv)
        else:
            for a in range(q):
                ss = 0.0
                for j in range(J):
                    d = beta[j, a] - mu[a]
                    ss += d * d
                if tau_kind == TAU_INVGAMMA:
                    tau2[a] = (tau_b[a] + 0.5 * ss) / standard_gamma(latent, tau_a[a] + 0.5 * J)
                elif tau_kind == TAU_HALFCAUCHY:  # half-t(nu = tau_a) through lam
                    tau2[a] = (tau_a[a] / lam[a] + 0.5 * ss) / standard_gamma(latent, 0.5 * (J + tau_a[a]))
                else:
                    tau2[a] = 1.0 / Sinv[a, a]
                    proposal = 0.5 * ss / standard_gamma(latent, 0.5 * (J - 1))
                    expo = standard_gamma(latent, 1.0)
                    if _scale_log_ratio(tau_kind, tau_b[a], proposal, tau2[a]) >= -expo:
                        tau2[a] = proposal
            if asis:
                failed += _asis_location(G, h, q, r, J, beta, alpha, mu, S0inv, S0inv_mu0, normal, A, v, z, inv)
                _asis_scale(G, h, q, r, J, beta, alpha, mu, tau2, lam, tau_kind, tau_a, tau_b, normal, latent, z,
                            tau_new, Q, bq, eta_j)
            if tau_kind == TAU_HALFCAUCHY:
                for a in range(q):
                    lam[a] = (hc_inv_scale2[a] + tau_a[a] / tau2[a]) / standard_gamma(latent, 0.5 * (tau_a[a] + 1.0))
            for a in range(q):
                for b in range(q):
                    Sinv[a, b] = 0.0
                    Sigma[a, b] = 0.0
                Sinv[a, a] = 1.0 / tau2[a]
                Sigma[a, a] = tau2[a]
        countdown -= 1
        if store and countdown == 0:
            countdown = thin
            k = out_start + (t + 1) // thin - 1
            if out_beta.shape[1] > 0:
                for j in range(J):
                    for a in range(q):
                        out_beta[c, k, j, a] = beta[j, a]
            for b in range(r):
                out_alpha[c, k, b] = alpha[b]
            for a in range(q):
                out_mu[c, k, a] = mu[a]
                for b in range(q):
                    out_Sigma[c, k, a, b] = Sigma[a, b]
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
