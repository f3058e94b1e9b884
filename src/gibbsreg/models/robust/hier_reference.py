"""NumPy twin of gibbsreg.kernels.robust.hier.robust_hier_gibbs: the same arguments (Generators in place of stream
addresses), the same streams in the same order (that module's docstring), the shared steps of
gibbsreg.rowhier, the joint (nu, sigma^2) move of kernels/robust/joint.py and the nu step of kernels/robust/nu.py
(plain Python here)."""

from __future__ import annotations

import numpy as np

from ...kernels.robust.joint import joint_step
from ...kernels.robust.nu import T_DF, nu_step
from ...reference import SIGMA_INVGAMMA, noise_log_prior
from ...rowhier import group_predictor, hier_steps
from .reference import MIN_WEIGHT


def robust_hier_gibbs(X, y, start, q, S0inv, S0inv_mu0, Sainv, Sainv_a0, tau_kind, tau_a, tau_b, hc_inv_scale2,
                      iw_df, iw_Psi, asis, sigma_shape, sigma_b, sigma_kind, sigma_par, learn_nu, nu_a, nu_b,
                      beta_state, alpha_state, mu_state, Sinv_state, lam_state, sigma2_state, nu_state, normal_gens,
                      gamma_gens, n_iter, thin, out_start, out_beta, out_alpha, out_mu, out_Sigma, out_sigma2, out_nu):
    """n_iter sweeps of every chain, one chain after another (see the kernel); returns 0."""
    n = X.shape[0]
    J = start.shape[0] - 1
    codes = np.repeat(np.arange(J), np.diff(start))
    store = out_mu.shape[1] > 0
    Xv, Xp = X[:, :q], X[:, q:]
    bounds = list(zip(start[:-1], start[1:]))
    joint = learn_nu and sigma_kind == SIGMA_INVGAMMA
    nu_by_w = learn_nu and not joint
    sigma_a = sigma_shape - 0.5 * n  # sigma^2 ~ IG(sigma_a, sigma_b) a priori (the joint move)
    for c in range(beta_state.shape[0]):
        ng, gg = normal_gens[c], gamma_gens[c]
        beta, alpha, mu = beta_state[c].copy(), alpha_state[c].copy(), mu_state[c].copy()
        Sinv, lam = Sinv_state[c].copy(), lam_state[c].copy()
        s2, nu = float(sigma2_state[c]), float(nu_state[c])
        for t in range(n_iter):
            resid = y - group_predictor(Xv, Xp, codes, beta, alpha)
            if joint:
                z1, z2 = ng.standard_normal(), ng.standard_normal()
                gt = gg.standard_gamma(0.5 * T_DF)
                nu, s2 = joint_step(resid * resid, float(n), nu, s2, nu_a, nu_b, sigma_a, sigma_b, z1, z2, gt,
                                    gg.standard_gamma(1.0))
            g = gg.standard_gamma(0.5 * (nu + 1.0), n)
            w = np.maximum(2.0 * g / (nu + resid * resid / s2), MIN_WEIGHT)
            D = float(np.sum(w - np.log(w) - 1.0)) if nu_by_w else 0.0
            ws = w / s2
            G = np.stack([X[a:b].T @ (ws[a:b, None] * X[a:b]) for a, b in bounds])
            h = np.stack([X[a:b].T @ (ws[a:b] * y[a:b]) for a, b in bounds])
            beta, alpha, mu, Sinv, lam, Sigma = hier_steps(
                G, h, q, J, S0inv, S0inv_mu0, Sainv, Sainv_a0, tau_kind, tau_a, tau_b, hc_inv_scale2, iw_df, iw_Psi,
                asis, beta, alpha, mu, Sinv, lam, ng, gg)
            resid = y - group_predictor(Xv, Xp, codes, beta, alpha)
            proposal = (sigma_b + 0.5 * float(w @ (resid * resid))) / gg.standard_gamma(sigma_shape)
            if sigma_kind == SIGMA_INVGAMMA or (noise_log_prior(sigma_kind, sigma_par, proposal)
                                                - noise_log_prior(sigma_kind, sigma_par, s2)
                                                >= -gg.standard_gamma(1.0)):
                s2 = proposal
            if nu_by_w:
                zn = ng.standard_normal()
                gt = gg.standard_gamma(0.5 * T_DF)
                nu = nu_step(nu, float(n), D, nu_a, nu_b, zn, gt, gg.standard_gamma(1.0))
            if store and (t + 1) % thin == 0:
                k = out_start + (t + 1) // thin - 1
                if out_beta.shape[1] > 0:
                    out_beta[c, k] = beta
                out_alpha[c, k] = alpha
                out_mu[c, k] = mu
                out_Sigma[c, k] = Sigma
                out_sigma2[c, k] = s2
                if learn_nu:
                    out_nu[c, k] = nu
        beta_state[c], alpha_state[c], mu_state[c], Sinv_state[c], lam_state[c] = beta, alpha, mu, Sinv, lam
        sigma2_state[c], nu_state[c] = s2, nu
    return 0
