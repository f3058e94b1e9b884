"""NumPy twin of gibbsreg.kernels.binary.flat.binary_gibbs: the same arguments (Generators in place of stream
addresses), the same streams in the same order, the same algebra (reference.gaussian_draw)."""

from __future__ import annotations

import numpy as np

from ...reference import gaussian_draw
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


def binary_gibbs(X, y, trials, link, A0, b0, beta_state, normal_gens, gamma_gens, n_iter, thin, out_start, out_beta):
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
            if store and (t + 1) % thin == 0:
                out_beta[c, out_start + (t + 1) // thin - 1] = beta
        beta_state[c] = beta
    return 0
