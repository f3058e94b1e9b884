"""Pure-NumPy reference samplers: the same models as the Numba kernels.

Vectorised over chains with batched linear algebra; the only Python loop over
chains draws each chain's random numbers for a whole chunk at once, from the
same two per-chain streams (normal, gamma) the kernels use, in the same order.
They therefore reproduce the kernels' chains up to rounding, and are the
baseline the benchmarks compare against.
"""

from __future__ import annotations

import numpy as np


def normal_block(gens, n_iter: int, width: int) -> np.ndarray:
    """(chains, n_iter, width) standard normals, each chain from its own stream."""
    return np.stack([g.standard_normal((n_iter, width)) for g in gens])


def gamma_block(gens, n_iter: int, shapes) -> np.ndarray:
    """(chains, n_iter, len(shapes)) standard gammas with per-column shapes."""
    shapes = np.broadcast_to(np.atleast_1d(np.asarray(shapes, dtype=float)), (n_iter, np.size(shapes)))
    return np.stack([g.standard_gamma(shapes) for g in gens])


def flat_gibbs(
    G, h, rr, P, Pm, m, sigma_shape, b0, conjugate, L_conj, mean_conj,
    gamma_state, sigma2_state, normal_gens, gamma_gens,
    n_iter, thin, out_start, out_gamma, out_sigma2,
):
    """NumPy twin of gibbsreg.kernels.flat.flat_gibbs (same arguments, minus workspaces)."""
    n_chains, p = gamma_state.shape
    store = out_gamma.shape[1] > 0
    z = normal_block(normal_gens, n_iter, p)
    gam = gamma_block(gamma_gens, n_iter, sigma_shape)[:, :, 0]
    s2 = sigma2_state.copy()
    g = gamma_state.copy()
    if conjugate:
        L_conj_inv_T = np.linalg.inv(L_conj).T
    for t in range(n_iter):
        if conjugate:
            g = mean_conj + np.sqrt(s2)[:, None] * (z[:, t] @ L_conj_inv_T.T)
        else:
            inv_s2 = 1.0 / s2
            A = P + G * inv_s2[:, None, None]
            L_inv = np.linalg.inv(np.linalg.cholesky(A))
            w = np.einsum("cij,cj->ci", L_inv, Pm + h * inv_s2[:, None]) + z[:, t]
            g = np.einsum("cji,cj->ci", L_inv, w)
        rss = np.maximum(rr - 2.0 * g @ h + np.einsum("ci,ij,cj->c", g, G, g), 0.0)
        scale = b0 + 0.5 * rss
        if conjugate:
            d = g - m
            scale += 0.5 * np.einsum("ci,ij,cj->c", d, P, d)
        s2 = scale / gam[:, t]
        if store and (t + 1) % thin == 0:
            k = out_start + (t + 1) // thin - 1
            out_gamma[:, k] = g
            out_sigma2[:, k] = s2
    gamma_state[:] = g
    sigma2_state[:] = s2
    return 0
