"""The flat model's hooks for the analysis layers: its rows, prediction and prior draws."""

from __future__ import annotations

import numpy as np

from ...analysis.inference import gaussian_draws, tau2_draws
from ...analysis.loglik import design_rows


def rows(post, X=None, y=None, groups=None):
    """The rows (gibbsreg.analysis.loglik.Rows with one coefficient vector); ``groups`` is not used."""
    return design_rows(post, X, y, grouped=False)


def predict(post, full: np.ndarray, groups, rng):
    """Regression function x'beta (chains, draws, m) at full design rows (m, p), and sigma^2 (chains, draws, 1)."""
    return np.einsum("cdp,mp->cdm", post["beta"], full), post["sigma2"][..., None]


def prior_draws(post, draws: int, rng):
    """beta ~ N(m0, S0) (times sigma2 under the NIG prior), sigma2 from its prior (IG(a, b), or sigma half-normal,
    half-t or exponential); the exchangeable prior draws
    mu, tau2, the shared coefficients ~ N(mu, tau2) and the others from their Gaussian prior given the
    shared ones.  None when a coefficient has a flat prior."""
    prior = post.prior
    if getattr(prior, "kind", "") == "Exchangeable":
        fixed = prior.fixed
        mask = prior.mask
        sigma2 = fixed.sigma2_draws(rng, draws)
        mu = prior.mu_mean + prior.mu_scale * rng.standard_normal(draws)
        tau2 = tau2_draws(rng, prior.tau_kind, prior.tau_a, prior.tau_b, prior.tau_scale, draws, 1)[:, 0]
        beta = np.empty((draws, len(mask)))
        beta[:, mask] = mu[:, None] + np.sqrt(tau2)[:, None] * rng.standard_normal((draws, int(mask.sum())))
        ex = ~mask
        if ex.any():
            # the fixed part's precision P has rank |excluded| and P_EE is invertible: given the shared
            # coefficients, the excluded ones are N(m_E - P_EE^{-1} P_EM (beta_M - m_M), P_EE^{-1})
            P = fixed.precision
            Pee, Pem = P[np.ix_(ex, ex)], P[np.ix_(ex, mask)]
            shift = np.linalg.solve(Pee, Pem @ (beta[:, mask] - fixed.mean[mask]).T).T
            beta[:, ex] = gaussian_draws(rng, np.zeros(int(ex.sum())), Pee, draws) + fixed.mean[ex] - shift
        out = {"beta": beta, "sigma2": sigma2, "mu": mu, "tau2": tau2}
        return out
    if np.asarray(prior.flat).any():
        return None  # a flat coefficient: no prior draws
    sigma2 = prior.sigma2_draws(rng, draws)
    z = gaussian_draws(rng, np.zeros(len(prior.mean)), prior.precision, draws)
    scale = np.sqrt(sigma2)[:, None] if prior.conjugate else 1.0
    out = {"beta": prior.mean + scale * z, "sigma2": sigma2}
    return out
