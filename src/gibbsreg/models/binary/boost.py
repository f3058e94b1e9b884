"""The boosted flat binary sweep (marginal data augmentation, docs/binary-boost.md): its settings from the prior
(:func:`boost_settings`) and the NumPy twin of gibbsreg.kernels.binary.boost.boost_gibbs (same streams, same
order, the algebra of reference.gaussian_draw)."""

from __future__ import annotations

import math

import numpy as np

from ...kernels.binary.latent import logistic_utility
from ...reference import gaussian_draw
from .latent import polya_gamma, truncated_normal_above, truncated_normal_between
from .reference import LOGIT

D0_SHAPE, D0_SCALE = 2.5, 1.5  # delta ~ IG(d0, D0), the working prior of UPG (mean 1)
G0_FRACTION = 0.5  # G0 = this fraction of 1 / P_00, the intercept's conditional prior variance
G0_FLAT = 100.0  # G0 when the intercept's prior is flat


def boost_settings(prior, data):
    """(Pt, Pcol, G0): the expanded prior precision Pt = (B0 - G0 e_0 e_0')^{-1} = P + G0 P e_0 e_0' P /
    (1 - G0 P_00), P's first column and the location's working variance G0.  ValueError when boosting does not
    apply (no intercept, a non-zero prior mean, binomial trials)."""
    if not data.intercept:
        raise ValueError("boost=True moves the intercept with the utilities: it needs a model with an intercept")
    if not data.bernoulli:
        raise ValueError("boost=True is implemented for 0/1 outcomes; binomial trials take boost=False")
    if np.any(np.where(prior.flat, 0.0, prior.mean) != 0.0):
        raise ValueError("boost=True needs a zero prior mean (the working parameters rescale beta); centre the prior "
                         "or use boost=False")
    P = np.asarray(prior.precision, dtype=np.float64)
    col = np.ascontiguousarray(P[:, 0])
    G0 = G0_FRACTION / P[0, 0] if P[0, 0] > 0 else G0_FLAT
    Pt = P + G0 * np.outer(col, col) / (1.0 - G0 * P[0, 0])
    return np.ascontiguousarray(0.5 * (Pt + Pt.T)), col, float(G0)


def utility_pass(y, link, eta, rng):
    """The kernel's utility_pass: (z, w, max_{y=0} z, min_{y=1} z)."""
    n = eta.shape[0]
    z = np.zeros(n)
    w = np.ones(n)
    lo, hi = -math.inf, math.inf
    for i in range(n):
        e = float(eta[i])
        if link == LOGIT:
            zi = logistic_utility(e, int(y[i]), 1.0 - rng.random())
            w[i] = polya_gamma(rng, 2, zi - e)
        elif y[i] > 0:
            zi = e + truncated_normal_above(rng, -e)
        else:
            zi = e - truncated_normal_above(rng, e)
        z[i] = zi
        if y[i] > 0:
            hi = min(hi, zi)
        else:
            lo = max(lo, zi)
    return z, w, lo, hi


def boost_gibbs(X, y, link, Pt, Pcol, G0, d0, D0, beta_state, normal_gens, gamma_gens, n_iter, thin, out_start,
                out_beta):
    """n_iter boosted sweeps of every chain, one chain after another."""
    store = out_beta.shape[1] > 0
    n, p = X.shape
    gamma_sd = math.sqrt(G0 * (1.0 - G0 * Pcol[0]))
    for c in range(beta_state.shape[0]):
        beta = beta_state[c].copy()
        rng = gamma_gens[c]
        for t in range(n_iter):
            z, w, lo, hi = utility_pass(y, link, X @ beta, rng)
            G = X.T @ (w[:, None] * X)
            h = X.T @ (w * z)
            d_star = D0 / rng.standard_gamma(d0)
            r_star = math.sqrt(d_star)
            g_star = r_star * (-G0 * float(Pcol @ beta) + gamma_sd * rng.standard_normal())
            szz = d_star * float(w @ (z * z)) + 2.0 * r_star * g_star * h[0] + g_star * g_star * G[0, 0]
            ht = r_star * h + g_star * G[:, 0]
            A = Pt + G
            xi = normal_gens[c].standard_normal(p)
            L_inv = np.linalg.inv(np.linalg.cholesky(A))
            v = L_inv @ ht
            S = max(szz - float(v @ v), 0.0)
            delta = (D0 + 0.5 * S + 0.5 * g_star * g_star / G0) / rng.standard_gamma(d0 + 0.5 * (n + 1))
            sd = math.sqrt(delta * G0)
            gam = sd * truncated_normal_between(rng, (r_star * lo + g_star) / sd, (r_star * hi + g_star) / sd)
            bt = gaussian_draw(A, ht, math.sqrt(delta) * xi)
            bt[0] -= gam
            beta = bt / math.sqrt(delta)
            if store and (t + 1) % thin == 0:
                out_beta[c, out_start + (t + 1) // thin - 1] = beta
        beta_state[c] = beta
    return 0
