"""NumPy twin of gibbsreg.kernels.binary.flat.binary_gibbs: the same arguments (Generators in place of stream
addresses), the same streams in the same order, the same algebra (reference.gaussian_draw)."""

from __future__ import annotations

import numpy as np

from ...reference import gaussian_draw
from ...rowhier import hier_steps
from ...kernels.binary.latent import log_norm_cdf
from .latent import polya_gamma, truncated_normal_above

LOGIT, PROBIT = 0, 1


def latent_pass(X, y, trials, link, eta, rng):
    """(w, s): logistic, w_i ~ PG(n_i, eta_i); probit, s_i = the sum of row i's truncated normals."""
    n = X.shape[0]
    w = np.zeros(n)
    s = np.zeros(n)
    for i in range(n):
        e = float(eta[i])
        if link == LOGIT:
            w[i] = polya_gamma(rng, int(trials[i]), e)
        else:
            total = 0.0
            for k in range(int(trials[i])):
                if k < y[i]:
                    total += e + truncated_normal_above(rng, -e)
                else:
                    total += e - truncated_normal_above(rng, e)
            s[i] = total
    return w, s


def log_target(X, y, trials, link, P, Pm, beta):
    """The kernel's mh.log_target: the exact log posterior up to a constant."""
    eta = X @ beta
    if link == LOGIT:
        ll = y * eta - trials * (np.maximum(eta, 0.0) + np.log1p(np.exp(-np.abs(eta))))
    else:
        ll = [(yi * log_norm_cdf(e) if yi > 0 else 0.0) + ((ti - yi) * log_norm_cdf(-e) if ti > yi else 0.0)
              for yi, ti, e in zip(y, trials, eta)]
    return float(np.sum(ll)) + float(beta @ (Pm - 0.5 * P @ beta))


def laplace_step(X, y, trials, link, P, Pm, mode, Lm, df, beta, normal_gen, gamma_gen):
    """The kernel's mh.laplace_step: (beta after the independence Metropolis-Hastings step, accepted)."""
    p = beta.shape[0]
    u = normal_gen.standard_normal(p) / np.sqrt(2.0 * gamma_gen.standard_gamma(0.5 * df) / df)
    log_u = np.log(gamma_gen.random())
    prop = mode + np.linalg.solve(Lm.T, u)

    def log_q(b):
        return -0.5 * (df + p) * np.log1p(float(np.sum((Lm.T @ (b - mode)) ** 2)) / df)

    ratio = (log_target(X, y, trials, link, P, Pm, prop) - log_target(X, y, trials, link, P, Pm, beta)
             + log_q(beta) - log_q(prop))
    return (prop, True) if log_u < ratio else (beta, False)


def binary_gibbs(X, y, trials, link, A0, b0, P, Pm, mode, Lm, df, beta_state, normal_gens, gamma_gens, n_iter, thin,
                 out_start, out_beta):
    """n_iter sweeps of every chain, one chain after another (the latent draws are scalar calls in order)."""
    store = out_beta.shape[1] > 0
    p = X.shape[1]
    for c in range(beta_state.shape[0]):
        beta = beta_state[c].copy()
        for t in range(n_iter):
            w, s = latent_pass(X, y, trials, link, X @ beta, gamma_gens[c])
            if link == LOGIT:
                A, b = A0 + X.T @ (w[:, None] * X), b0
            else:
                A, b = A0, b0 + X.T @ s
            z = normal_gens[c].standard_normal(p)
            beta = gaussian_draw(A, b, z)
            if df > 0:
                beta = laplace_step(X, y, trials, link, P, Pm, mode, Lm, df, beta, normal_gens[c], gamma_gens[c])[0]
            if store and (t + 1) % thin == 0:
                out_beta[c, out_start + (t + 1) // thin - 1] = beta
        beta_state[c] = beta
    return 0


def binary_hier_gibbs(X, y, trials, start, link, q, Gfix, hfix, S0inv, S0inv_mu0, Sainv, Sainv_a0, tau_kind, tau_a,
                      tau_b, hc_inv_scale2, iw_df, iw_Psi, asis, beta_state, alpha_state, mu_state, Sinv_state,
                      lam_state, normal_gens, gamma_gens, n_iter, thin, out_start, out_beta, out_alpha, out_mu,
                      out_Sigma):
    """NumPy twin of gibbsreg.kernels.binary.hier.binary_hier_gibbs (its docstring has the sweep and streams)."""
    J = start.shape[0] - 1
    codes = np.repeat(np.arange(J), np.diff(start))
    store = out_mu.shape[1] > 0
    Xv, Xp = X[:, :q], X[:, q:]
    for c in range(beta_state.shape[0]):
        ng, gg = normal_gens[c], gamma_gens[c]
        beta, alpha, mu = beta_state[c].copy(), alpha_state[c].copy(), mu_state[c].copy()
        Sinv, lam = Sinv_state[c].copy(), lam_state[c].copy()
        Sigma = np.zeros((q, q))
        for t in range(n_iter):
            eta = (Xv * beta[codes]).sum(axis=1) + Xp @ alpha
            w, s = latent_pass(X, y, trials, link, eta, gg)
            if link == LOGIT:
                G = np.stack([X[a:b].T @ (w[a:b, None] * X[a:b]) for a, b in zip(start[:-1], start[1:])])
                h = hfix
            else:
                G = Gfix
                h = np.stack([X[a:b].T @ s[a:b] for a, b in zip(start[:-1], start[1:])])
            beta, alpha, mu, Sinv, lam, Sigma = hier_steps(
                G, h, q, J, S0inv, S0inv_mu0, Sainv, Sainv_a0, tau_kind, tau_a, tau_b, hc_inv_scale2, iw_df, iw_Psi,
                asis, beta, alpha, mu, Sinv, lam, ng, gg)
            if store and (t + 1) % thin == 0:
                k = out_start + (t + 1) // thin - 1
                if out_beta.shape[1] > 0:
                    out_beta[c, k] = beta
                out_alpha[c, k] = alpha
                out_mu[c, k] = mu
                out_Sigma[c, k] = Sigma
        beta_state[c], alpha_state[c], mu_state[c], Sinv_state[c], lam_state[c] = beta, alpha, mu, Sinv, lam
    return 0
