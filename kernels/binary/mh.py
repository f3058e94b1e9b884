"""An exact independence Metropolis-Hastings step for the flat binary models (``laplace_mh=True``): after the
Gibbs sweep, beta' = m + L^{-T} u / sqrt(W / nu), u ~ N(0, I_p), W ~ chi^2_nu, a multivariate t_nu centred at the
posterior mode m with the mode's precision H = L L' (the Laplace approximation), accepted with probability
min(1, pi(beta') q(beta) / (pi(beta) q(beta'))) on the exact posterior pi (the Bernoulli / binomial likelihood,
omega or the latents integrated out), log q(b) = -(nu + p)/2 log(1 + |L'(b - m)|^2 / nu).

Composed with the Gibbs sweep (each leaves the posterior invariant) the chain stays exact; the proposal does
not depend on the state, so a good Laplace fit makes draws nearly independent where augmentation mixes slowly
(imbalanced data: the intercept).  Streams: p normals on the normal stream (after the sweep's p), then a gamma
(W / 2 ~ Gamma(nu / 2)) and a uniform on the gamma stream, every sweep.  Cost: two passes X b (n p) and n
log-likelihood terms for each of beta and beta'.
"""

import math

import numpy as np
from numba import njit

from ..draws import fill_normals, standard_gamma, uniform
from ..rowpass import linear_predictor
from .latent import log_norm_cdf

LOGIT = 0


@njit(cache=True, error_model="numpy")
def log_target(X, y, trials, link, P, Pm, beta, eta):
    """log pi(beta) up to a constant: sum_i y_i log F(eta_i) + (n_i - y_i) log(1 - F(eta_i)) - beta' P beta / 2
    + beta' P m, eta = X beta (written to ``eta``)."""
    linear_predictor(X, beta, eta)
    total = 0.0
    for i in range(eta.shape[0]):
        e = eta[i]
        if link == LOGIT:  # y e - n log(1 + e^e), stable on both sides
            total += y[i] * e - trials[i] * (max(e, 0.0) + math.log1p(math.exp(-abs(e))))
        else:  # only the terms present: a 0/1 row needs one log Phi
            if y[i] > 0:
                total += y[i] * log_norm_cdf(e)
            if trials[i] > y[i]:
                total += (trials[i] - y[i]) * log_norm_cdf(-e)
    p = beta.shape[0]
    for a in range(p):
        row = 0.0
        for b in range(p):
            row += P[a, b] * beta[b]
        total += beta[a] * (Pm[a] - 0.5 * row)
    return total


@njit(cache=True, error_model="numpy")
def _proposal_log_density(Lm, mode, beta, df):
    """log q(beta) up to a constant: -(nu + p)/2 log(1 + |L'(beta - m)|^2 / nu)."""
    p = beta.shape[0]
    r2 = 0.0
    for b in range(p):  # (L'(beta - m))_b = sum_{a >= b} L[a, b] (beta - m)_a
        s = 0.0
        for a in range(b, p):
            s += Lm[a, b] * (beta[a] - mode[a])
        r2 += s * s
    return -0.5 * (df + p) * math.log1p(r2 / df)


@njit(cache=True, error_model="numpy")
def laplace_step(X, y, trials, link, P, Pm, mode, Lm, df, beta, eta, prop, u, normal, latent):
    """One independence MH step (module docstring) on ``beta`` in place; returns 1 if accepted, else 0."""
    p = beta.shape[0]
    fill_normals(normal, u, p)
    scale = 1.0 / math.sqrt(2.0 * standard_gamma(latent, 0.5 * df) / df)
    log_u = math.log(uniform(latent))
    for a in range(p):
        u[a] *= scale
    for i in range(p - 1, -1, -1):  # prop = m + L^{-T} u
        s = u[i]
        for k in range(i + 1, p):
            s -= Lm[k, i] * prop[k]
        prop[i] = s / Lm[i, i]
    for a in range(p):
        prop[a] += mode[a]
    ratio = (log_target(X, y, trials, link, P, Pm, prop, eta) - log_target(X, y, trials, link, P, Pm, beta, eta)
             + _proposal_log_density(Lm, mode, beta, df) - _proposal_log_density(Lm, mode, prop, df))
    if log_u < ratio:
        for a in range(p):
            beta[a] = prop[a]
        return 1
    return 0
