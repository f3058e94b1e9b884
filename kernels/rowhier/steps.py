"""The shared steps of the row-weighted one-factor hierarchical sweep (kernels/rowhier/__init__).

Given the per-group weighted statistics G (J, p, p) (lower triangle read) and h (J, p) of the current latent
pass (binary: X_j' W_j X_j and X_j' kappa_j or X_j' s_j; Student-t: X_j' (W_j / sigma^2) X_j and
X_j' (W_j / sigma^2) y_j), with the first q columns varying and the last r = p - q pooled:

1. beta_j | rest for j = 0..J-1: precision Sigma^{-1} + G_j[vv], q normals each (normal stream);
2. alpha | rest (r normals), then mu | beta, Sigma (q normals);
3. Sigma | beta, mu: InvGamma (tau_kind 0), q gammas; half-t (1; nu = tau_a, half-Cauchy at 1, through the
   auxiliary lam), q gammas for tau^2 (then, after 4., q for lam); half-normal (3) and exponential (4), per
   coordinate the flat-prior proposal's gamma then the acceptance's Exp(1) (as standard_gamma(1));
   InvWishart (2), q gammas (the Bartlett diagonal, B_aa^2 ~ chi2(df + J - a)) from the gamma stream, then
   q(q - 1)/2 normals for B's lower triangle, row by row, from the normal stream;
4. with ``asis`` (Yu & Meng 2011, given the latent pass): mu with the deviations beta_j - mu fixed (q
   normals); then, for a diagonal Sigma, each tau_k with (beta_j - mu)/tau fixed (q normals, q Exp(1) from
   the gamma stream).

Per call the normal stream gives J q + r + q (+ q(q - 1)/2) (+ q or 2 q with asis) numbers; the gamma stream
the scale's gammas in the order above.  No fast-math: the binary draws are pinned bit for bit.
"""

import numpy as np
from numba import njit

from ..draws import fill_normals, standard_gamma
from ..linalg import (backward_transpose, bartlett_precision, cholesky_forward, cholesky_inverse_column,
                      cholesky_lower)
from ..scales import TAU_EXPONENTIAL, TAU_HALFNORMAL, scale_log_ratio

TAU_INVGAMMA, TAU_HALFCAUCHY, TAU_INVWISHART = 0, 1, 2


@njit(cache=True, error_model="numpy")
def gaussian_step(A, v, z, inv, m):
    """v <- L^{-T}(L^{-1} v + z) with A = L L' (A, v overwritten; z already drawn); False if A is not PD."""
    if not cholesky_forward(A, v, inv, m):
        return False
    for a in range(m):
        v[a] += z[a]
    backward_transpose(A, v, inv, m)
    return True


@njit(cache=True, error_model="numpy")
def asis_location(G, h, q, r, J, beta, alpha, mu, S0inv, S0inv_mu0, normal, A, v, z, inv):
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
    if not gaussian_step(A, v, z, inv, q):
        return 1
    for a in range(q):
        mu[a] = v[a]
        for j in range(J):
            beta[j, a] += v[a] - old[a]
    return 0


@njit(cache=True, error_model="numpy")
def asis_scale(G, h, q, r, J, beta, alpha, mu, tau2, lam, tau_kind, tau_a, tau_b, normal, latent, z, tau, Q, bq,
                eta_j):
    """Interweaving for tau given mu (the Gaussian model's step): with eta_j = (beta_j - mu) / tau fixed, each
    tau_a is proposed from its likelihood-only conditional (Gaussian, q normals) and accepted with the prior's
    ratio (tau^2 ~ IG(a, b); for the half-Cauchy kind the marginal half-t density, 1/A^2 then in tau_b, lam
    integrated out and redrawn after; one Exp(1) per coordinate from the gamma stream, as standard_gamma(1));
    beta_j = mu + tau eta_j and tau2 updated."""
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
                    elif tau_kind == TAU_HALFCAUCHY:  # the marginal half-t(nu, A), lam integrated out (1/A^2 in
                        c = tau_b[a] / tau_a[a]      # tau_b here), then redrawn: docs/scale-priors.md
                        log_ratio = -0.5 * (tau_a[a] + 1.0) * (np.log1p(proposal * proposal * c)
                                                               - np.log1p(tau[a] * tau[a] * c))
                    else:  # tau^2 ~ IG(a, b)
                        log_ratio = (-(2.0 * tau_a[a] + 1.0) * (np.log(abs(proposal)) - np.log(abs(tau[a])))
                                     - tau_b[a] * (1.0 / (proposal * proposal) - 1.0 / (tau[a] * tau[a])))
                    if log_ratio >= -expo:
                        tau[a] = proposal
    for a in range(q):
        ratio = tau[a] / old[a]
        for j in range(J):
            beta[j, a] = mu[a] + ratio * (beta[j, a] - mu[a])
        tau2[a] = tau[a] * tau[a]


@njit(cache=True, error_model="numpy")
def group_predictor(X, start, q, beta, alpha, eta):
    """eta_i = x_vi' beta_j + x_pi' alpha for the rows of every group j (rows start[j]:start[j + 1])."""
    r = X.shape[1] - q
    for j in range(start.shape[0] - 1):
        for i in range(start[j], start[j + 1]):
            e = 0.0
            for a in range(q):
                e += X[i, a] * beta[j, a]
            for b in range(r):
                e += X[i, q + b] * alpha[b]
            eta[i] = e


@njit(cache=True)
def hier_work(q, r):
    """The small workspaces hier_steps needs (allocated once per chain): a tuple passed through unchanged."""
    m = max(q, r, 1)
    return (np.zeros((m, m)), np.zeros(m), np.zeros(max(m, q * (q - 1) // 2, 1)), np.zeros(m), np.zeros((q, q)),
            np.zeros((q, q)), np.zeros((q, q)), np.zeros(q), np.zeros(q), np.zeros(q), np.zeros((q, q)),
            np.zeros(q), np.zeros(q))


@njit(cache=True, error_model="numpy")
def hier_steps(G, h, q, r, J, S0inv, S0inv_mu0, Sainv, Sainv_a0, tau_kind, tau_a, tau_b, hc_inv_scale2, iw_df,
               iw_Psi, asis, beta, alpha, mu, Sinv, lam, tau2, Sigma, normal, latent, work):
    """Steps 1-4 of the module docstring, in place on beta (J, q), alpha (r,), mu (q,), Sinv and Sigma (q, q),
    lam and tau2 (q,); ``normal`` and ``latent`` the chain's normal and gamma streams; ``work`` from
    hier_work.  Returns the number of failed factorisations (the streams stay aligned: the numbers are drawn
    anyway)."""
    A, v, z, inv, M, B, W, acc, col, tau_new, Q, bq, eta_j = work
    failed = 0
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
        if gaussian_step(A, v, z, inv, q):
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
        if gaussian_step(A, v, z, inv, r):
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
    if gaussian_step(A, v, z, inv, q):
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
            failed += asis_location(G, h, q, r, J, beta, alpha, mu, S0inv, S0inv_mu0, normal, A, v, z, inv)
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
                if scale_log_ratio(tau_kind, tau_b[a], proposal, tau2[a]) >= -expo:
                    tau2[a] = proposal
        if asis:
            failed += asis_location(G, h, q, r, J, beta, alpha, mu, S0inv, S0inv_mu0, normal, A, v, z, inv)
            asis_scale(G, h, q, r, J, beta, alpha, mu, tau2, lam, tau_kind, tau_a,
                       hc_inv_scale2 if tau_kind == TAU_HALFCAUCHY else tau_b, normal, latent, z, tau_new, Q, bq, eta_j)
        if tau_kind == TAU_HALFCAUCHY:
            for a in range(q):
                lam[a] = (hc_inv_scale2[a] + tau_a[a] / tau2[a]) / standard_gamma(latent, 0.5 * (tau_a[a] + 1.0))
        for a in range(q):
            for b in range(q):
                Sinv[a, b] = 0.0
                Sigma[a, b] = 0.0
            Sinv[a, a] = 1.0 / tau2[a]
            Sigma[a, a] = tau2[a]
    return failed


@njit(cache=True, _nrt=False)
def store_draw(c, k, q, r, J, beta, alpha, mu, Sigma, out_beta, out_alpha, out_mu, out_Sigma):
    """Chain c's draw k of beta (J, q; when kept), alpha (r), mu (q) and Sigma (q, q)."""
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
