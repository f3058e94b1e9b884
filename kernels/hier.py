"""Gibbs kernel of the hierarchical regression (centred parameterisation).

Coordinates: the first q coefficients vary by group (beta_j), the last r are
pooled (alpha).  Per-group sufficient statistics G[j] (p, p), h[j] (p,),
rr[j], n[j] with p = q + r, so RSS_j = rr_j - 2 theta_j'h_j + theta_j'G_j theta_j
for theta_j = (beta_j, alpha).

Per iteration and chain the normal stream gives, in order: J*q values for the
beta_j, r for alpha, q for mu, q(q-1)/2 Bartlett off-diagonals (Inverse-Wishart
only), then with interweaving q for the location step and, for a diagonal
Sigma, q for the scale step; the gamma stream gives the tau^2 (or Bartlett)
gammas (q), q exponentials for the scale step (diagonal Sigma), the half-Cauchy
lambdas (q), then the sigma^2 gammas (1, or J with per-group variances).  The NumPy
reference consumes the same streams in the same order.
"""

import math

import numpy as np
from numba import njit, prange

from .flat import FASTMATH
from .linalg import (backward_solve_transpose, backward_transpose, cholesky_forward, cholesky_forward_affine,
                     cholesky_lower, forward_solve, symmetric_quadratic_form)

TAU_INVGAMMA = 0
TAU_HALFCAUCHY = 1
TAU_INVWISHART = 2


@njit(cache=True)
def _draw_gaussian(A, v, inv_diag, normal, n):
    """v <- a draw of N(A^{-1} v, A^{-1}); A's lower triangle is overwritten by its Cholesky factor."""
    if not cholesky_forward(A, v, inv_diag, n):
        return False
    for i in range(n):
        v[i] += normal.standard_normal()
    backward_transpose(A, v, inv_diag, n)
    return True


@njit(cache=True, fastmath=FASTMATH)
def _interweave(G, h, q, r, J, beta, alpha, mu, Sinv, sigma2, S0inv, S0inv_mu0, scale_step, prior_a, prior_b,
                A, v, inv_diag, Q, Bm, scratch, normal, gamma_rng):
    """Interweaving (ASIS, Yu & Meng 2011) for the group-level parameters, in one pass over the groups.

    Location: with eta_j = beta_j - mu held fixed (non-centred), mu | eta, y is Gaussian with
    precision S0^{-1} + sum_j X_j'X_j/s_j^2; it is drawn exactly (q normals).
    Scale (diagonal Sigma, ``scale_step``): with xi_j = (beta_j - mu)/tau held fixed, tau enters
    the likelihood linearly with precision Q and linear term b - Bm mu; each tau_k is redrawn
    from its Gaussian conditional and accepted with the ratio of its prior density on the real
    line, |tau|^{-2a-1} exp(-b/tau^2) for tau^2 ~ IG(a, b) (independence Metropolis-Hastings
    within Gibbs: one normal and one standard exponential per coordinate; docs/maths.md).
    Finally beta_j = mu_new + (tau_new/tau) (beta_j - mu).
    """
    bvec = scratch[0:q]
    xr = scratch[q:2 * q]
    d = scratch[2 * q:3 * q]
    tau = scratch[3 * q:4 * q]
    tau_old = scratch[4 * q:5 * q]
    for a in range(q):
        for b in range(a + 1):
            A[a, b] = S0inv[a, b]
        v[a] = S0inv_mu0[a]
        bvec[a] = 0.0
        tau_old[a] = 1.0 / math.sqrt(Sinv[a, a]) if scale_step else 1.0
        tau[a] = tau_old[a]
        for b in range(q):
            Q[a, b] = 0.0
            Bm[a, b] = 0.0
    for j in range(J):
        w = 1.0 / sigma2[j]
        for a in range(q):
            d[a] = beta[j, a] - mu[a]
            t = h[j, a]
            for b in range(r):
                t -= G[j, a, q + b] * alpha[b]
            xr[a] = w * t
        for a in range(q):
            s = xr[a]
            for b in range(q):
                s -= w * G[j, a, b] * d[b]
            v[a] += s
            for b in range(a + 1):
                A[a, b] += w * G[j, a, b]
        if scale_step:
            for a in range(q):
                ea = d[a] / tau_old[a]
                bvec[a] += ea * xr[a]
                for b in range(q):
                    gab = w * G[j, a, b] * ea
                    Bm[a, b] += gab
                    if b <= a:
                        Q[a, b] += gab * d[b] / tau_old[b]
    if not _draw_gaussian(A, v, inv_diag, normal, q):
        return
    if scale_step:
        for a in range(q):
            for b in range(q):
                bvec[a] -= Bm[a, b] * v[b]
            for b in range(a):
                Q[b, a] = Q[a, b]
        for a in range(q):
            z = normal.standard_normal()
            e = gamma_rng.standard_gamma(1.0)
            prec = Q[a, a]
            if not prec > 0.0:
                continue
            lin = bvec[a]
            for b in range(q):
                if b != a:
                    lin -= Q[a, b] * tau[b]
            proposal = lin / prec + z / math.sqrt(prec)
            if proposal == 0.0:
                continue
            log_ratio = -(2.0 * prior_a[a] + 1.0) * (math.log(abs(proposal)) - math.log(abs(tau[a])))
            log_ratio -= prior_b[a] * (1.0 / (proposal * proposal) - 1.0 / (tau[a] * tau[a]))
            if log_ratio >= -e:
                tau[a] = proposal
    for a in range(q):
        factor = tau[a] / tau_old[a]
        for j in range(J):
            beta[j, a] = v[a] + factor * (beta[j, a] - mu[a])
        mu[a] = v[a]
        if scale_step:
            Sinv[a, a] = 1.0 / (tau[a] * tau[a])


@njit(cache=True, parallel=True, fastmath=FASTMATH)
def hier_gibbs(
    G, h, rr, nj, q,
    S0inv, S0inv_mu0, Sainv, Sainv_a0,
    tau_kind, tau_a, tau_b, hc_inv_scale2, iw_df, iw_Psi,
    sigma_a, sigma_b, group_variance, asis,
    beta, alpha, mu, Sinv, lam, sigma2,
    normal_gens, gamma_gens,
    n_iter, thin, out_start,
    out_beta, out_alpha, out_mu, out_Sigma, out_sigma2,
):
    """Run n_iter centred Gibbs sweeps for every chain; returns the number of failed factorisations."""
    n_chains = beta.shape[0]
    J = G.shape[0]
    p = G.shape[1]
    r = p - q
    store = out_mu.shape[1] > 0
    store_beta = out_beta.shape[1] > 0
    n_total = 0.0
    for j in range(J):
        n_total += nj[j]
    failures = np.zeros(n_chains, dtype=np.int64)
    for c in prange(n_chains):
        chain = np.int64(c)
        normal = normal_gens[chain]
        gamma_rng = gamma_gens[chain]
        # per-chain workspaces, allocated once per call (shared rows would false-share cache lines)
        A = np.zeros((p, p))
        v = np.zeros(p)
        Sinv_mu = np.zeros(q)
        M = np.zeros((q, q))
        Bart = np.zeros((q, q))
        W = np.zeros((q, q))
        acc = np.zeros(p)
        inv_diag = np.zeros(p)
        theta = np.zeros(p)
        resid = np.zeros(q)
        countdown = thin
        work2 = np.zeros((q, q))
        Bm = np.zeros((q, q))
        vec2 = np.zeros(5 * q)
        prior_ab = np.zeros((2, q))
        for t in range(n_iter):
            # ---- beta_j | mu, Sigma, alpha, sigma2  (independent across groups)
            for a in range(q):
                s = 0.0
                for b in range(q):
                    s += Sinv[c, a, b] * mu[c, b]
                Sinv_mu[a] = s
            Sinv_c = Sinv[c]
            for j in range(J):
                inv = 1.0 / sigma2[c, j]
                for a in range(q):
                    t_a = h[j, a]
                    for b in range(r):
                        t_a -= G[j, a, q + b] * alpha[c, b]
                    resid[a] = t_a
                if cholesky_forward_affine(Sinv_c, G[j], inv, Sinv_mu, resid, A, v, inv_diag, q):
                    for a in range(q):
                        v[a] += normal.standard_normal()
                    backward_transpose(A, v, inv_diag, q)
                else:
                    failures[c] += 1
                for a in range(q):
                    beta[c, j, a] = v[a]
            # ---- alpha | beta, sigma2
            if r > 0:
                for a in range(r):
                    for b in range(a + 1):
                        A[a, b] = Sainv[a, b]
                    v[a] = Sainv_a0[a]
                for j in range(J):
                    inv = 1.0 / sigma2[c, j]
                    for a in range(r):
                        for b in range(a + 1):
                            A[a, b] += G[j, q + a, q + b] * inv
                        t_a = h[j, q + a]
                        for b in range(q):
                            t_a -= G[j, q + a, b] * beta[c, j, b]
                        v[a] += t_a * inv
                if not _draw_gaussian(A, v, inv_diag, normal, r):
                    failures[c] += 1
                for a in range(r):
                    alpha[c, a] = v[a]
            # ---- mu | beta, Sigma
            for a in range(q):
                acc[a] = 0.0
            for j in range(J):
                for a in range(q):
                    acc[a] += beta[c, j, a]
            for a in range(q):
                for b in range(a + 1):
                    A[a, b] = S0inv[a, b] + J * Sinv[c, a, b]
                s = S0inv_mu0[a]
                for b in range(q):
                    s += Sinv[c, a, b] * acc[b]
                v[a] = s
            if not _draw_gaussian(A, v, inv_diag, normal, q):
                failures[c] += 1
            for a in range(q):
                mu[c, a] = v[a]
            # ---- Sigma_beta | beta, mu
            if tau_kind == TAU_INVWISHART:
                for a in range(q):
                    for b in range(a + 1):
                        M[a, b] = iw_Psi[a, b]
                for j in range(J):
                    for a in range(q):
                        da = beta[c, j, a] - mu[c, a]
                        for b in range(a + 1):
                            M[a, b] += da * (beta[c, j, b] - mu[c, b])
                if not cholesky_lower(M, q):
                    failures[c] += 1
                # Bartlett: Sigma^{-1} = F B B' F' with F = M^{-T}, B lower, B_aa^2 ~ chi2(df + J - a)
                for a in range(q):
                    for b in range(q):
                        Bart[a, b] = 0.0
                for a in range(q):
                    for b in range(a):
                        Bart[a, b] = normal.standard_normal()
                for a in range(q):
                    Bart[a, a] = math.sqrt(2.0 * gamma_rng.standard_gamma(0.5 * (iw_df + J - a)))
                for b in range(q):
                    for a in range(q):
                        acc[a] = Bart[a, b]
                    backward_solve_transpose(M, acc, q)
                    for a in range(q):
                        W[a, b] = acc[a]
                for a in range(q):
                    for b in range(q):
                        s = 0.0
                        for k in range(q):
                            s += W[a, k] * W[b, k]
                        Sinv[c, a, b] = s
                if asis:
                    _interweave(G, h, q, r, J, beta[c], alpha[c], mu[c], Sinv[c], sigma2[c], S0inv, S0inv_mu0, False,
                                prior_ab[0], prior_ab[1], A, v, inv_diag, work2, Bm, vec2, normal, gamma_rng)
            else:
                for a in range(q):
                    acc[a] = 0.0
                for j in range(J):
                    for a in range(q):
                        d = beta[c, j, a] - mu[c, a]
                        acc[a] += d * d
                for a in range(q):
                    if tau_kind == TAU_INVGAMMA:
                        tau2 = (tau_b[a] + 0.5 * acc[a]) / gamma_rng.standard_gamma(tau_a[a] + 0.5 * J)
                    else:
                        tau2 = (1.0 / lam[c, a] + 0.5 * acc[a]) / gamma_rng.standard_gamma(0.5 * (J + 1))
                    Sinv[c, a, a] = 1.0 / tau2
                if asis:
                    for a in range(q):
                        if tau_kind == TAU_INVGAMMA:
                            prior_ab[0, a] = tau_a[a]
                            prior_ab[1, a] = tau_b[a]
                        else:
                            prior_ab[0, a] = 0.5
                            prior_ab[1, a] = 1.0 / lam[c, a]
                    _interweave(G, h, q, r, J, beta[c], alpha[c], mu[c], Sinv[c], sigma2[c], S0inv, S0inv_mu0, True,
                                prior_ab[0], prior_ab[1], A, v, inv_diag, work2, Bm, vec2, normal, gamma_rng)
                if tau_kind == TAU_HALFCAUCHY:
                    for a in range(q):
                        lam[c, a] = (hc_inv_scale2[a] + Sinv[c, a, a]) / gamma_rng.standard_gamma(1.0)
            # ---- sigma2 | everything
            total = 0.0
            for a in range(r):
                theta[q + a] = alpha[c, a]
            for j in range(J):
                lin = 0.0
                for a in range(q):
                    theta[a] = beta[c, j, a]
                for a in range(p):
                    lin += theta[a] * h[j, a]
                rss = rr[j] - 2.0 * lin + symmetric_quadratic_form(theta, G[j], p)
                if rss < 0.0:
                    rss = 0.0
                if group_variance:
                    s2 = (sigma_b + 0.5 * rss) / gamma_rng.standard_gamma(sigma_a + 0.5 * nj[j])
                    sigma2[c, j] = s2
                else:
                    total += rss
            if not group_variance:
                s2 = (sigma_b + 0.5 * total) / gamma_rng.standard_gamma(sigma_a + 0.5 * n_total)
                for j in range(J):
                    sigma2[c, j] = s2
            # ---- store
            countdown -= 1
            if store and countdown == 0:
                countdown = thin
                k = out_start + (t + 1) // thin - 1
                if store_beta:
                    for j in range(J):
                        for a in range(q):
                            out_beta[c, k, j, a] = beta[c, j, a]
                for a in range(r):
                    out_alpha[c, k, a] = alpha[c, a]
                for a in range(q):
                    out_mu[c, k, a] = mu[c, a]
                # Sigma = (Sigma^{-1})^{-1}, via Cholesky of the precision
                for a in range(q):
                    for b in range(a + 1):
                        M[a, b] = Sinv[c, a, b]
                cholesky_lower(M, q)
                for b in range(q):
                    for a in range(q):
                        acc[a] = 1.0 if a == b else 0.0
                    forward_solve(M, acc, q)
                    backward_solve_transpose(M, acc, q)
                    for a in range(q):
                        out_Sigma[c, k, a, b] = acc[a]
                for j in range(out_sigma2.shape[2]):
                    out_sigma2[c, k, j] = sigma2[c, j]
    return failures.sum()
