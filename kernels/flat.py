"""Gibbs kernel of the flat regression (semi-conjugate or conjugate NIG prior).

Coordinates and statistics follow gibbsreg.data: the state is gamma (p,) with
RSS(gamma) = rr - 2 gamma'h + gamma'G gamma.  Per iteration and chain it draws
p standard normals from the chain's normal generator and one standard gamma
from its gamma generator, in that order, so the NumPy reference consuming the
same two streams in blocks reproduces the same chain.
"""

import math

import numpy as np
from numba import njit, prange

from .linalg import backward_solve_transpose, cholesky_lower, forward_solve, quadratic_form


@njit(cache=True, parallel=True)
def flat_gibbs(
    G, h, rr, P, Pm, m, sigma_shape, b0, conjugate, L_conj, mean_conj,
    gamma_state, sigma2_state, normal_gens, gamma_gens,
    n_iter, thin, out_start, out_gamma, out_sigma2, work, vec,
):
    """Run n_iter Gibbs iterations for every chain, writing every thin-th draw.

    Semi-conjugate: gamma | s2 ~ N(A^{-1}(Pm + h/s2), A^{-1}), A = P + G/s2.
    Conjugate:      gamma | s2 ~ N(mean_conj, s2 (P + G)^{-1}), L_conj = chol(P + G).
    Then s2 | gamma ~ IG(sigma_shape, b0 + RSS/2 [+ (gamma-m)'P(gamma-m)/2 if conjugate]).
    Draws go to out_gamma[c, out_start + t//thin] (skipped when out_gamma has no draws).
    Returns the number of chains whose precision matrix failed to factorise.
    """
    n_chains = gamma_state.shape[0]
    p = gamma_state.shape[1]
    store = out_gamma.shape[1] > 0
    failures = np.zeros(n_chains, dtype=np.int64)
    for c in prange(n_chains):
        chain = np.int64(c)  # prange indices are unsigned; typed.List wants a signed index
        normal = normal_gens[chain]
        gamma_rng = gamma_gens[chain]
        A = work[c]
        v = vec[c]
        g = gamma_state[c]
        s2 = sigma2_state[c]
        for t in range(n_iter):
            if conjugate:
                for i in range(p):
                    v[i] = normal.standard_normal()
                backward_solve_transpose(L_conj, v, p)
                s = math.sqrt(s2)
                for i in range(p):
                    g[i] = mean_conj[i] + s * v[i]
            else:
                inv_s2 = 1.0 / s2
                for i in range(p):
                    for j in range(i + 1):
                        A[i, j] = P[i, j] + G[i, j] * inv_s2
                    v[i] = Pm[i] + h[i] * inv_s2
                if not cholesky_lower(A, p):
                    failures[c] += 1
                    continue
                forward_solve(A, v, p)
                for i in range(p):
                    v[i] += normal.standard_normal()
                backward_solve_transpose(A, v, p)
                for i in range(p):
                    g[i] = v[i]
            hg = 0.0
            for i in range(p):
                hg += h[i] * g[i]
            rss = rr - 2.0 * hg + quadratic_form(g, G, p)
            if rss < 0.0:
                rss = 0.0
            scale = b0 + 0.5 * rss
            if conjugate:
                for i in range(p):
                    v[i] = g[i] - m[i]
                scale += 0.5 * quadratic_form(v, P, p)
            s2 = scale / gamma_rng.standard_gamma(sigma_shape)
            if store and (t + 1) % thin == 0:
                k = out_start + (t + 1) // thin - 1
                for i in range(p):
                    out_gamma[c, k, i] = g[i]
                out_sigma2[c, k] = s2
        sigma2_state[c] = s2
    return failures.sum()
