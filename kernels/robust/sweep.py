"""Gibbs kernel of the flat regression with Student-t errors (gibbsreg.models.robust).

y_i = x_i'beta + e_i, e_i | w_i ~ N(0, sigma^2 / w_i), w_i ~ Gamma(nu/2, rate nu/2).  The rows stay in memory
in the sampler's coordinates: Z = X T^{-1} (n, p) row-major and r0 = y - X beta_ref, with the state
gamma = T (beta - beta_ref), so r_i = r0_i - z_i'gamma.  One sweep per chain, in this order:

1. w_i | gamma, sigma^2, nu ~ Gamma((nu + 1)/2, rate (nu + r_i^2/sigma^2)/2), i = 0..n-1 (O(n p) for the
   residuals, then O(n));
2. the weighted statistics G = Z'WZ, h = Z'W r0, rr = r0'W r0 (kernels/rowpass.py, O(n p^2));
3. gamma | w, sigma^2 ~ N(A^{-1}(Pm + h/sigma^2), A^{-1}), A = P + G/sigma^2 (Cholesky, O(p^3));
4. sigma^2 | gamma, w ~ IG(sigma_shape, b0 + RSS_w/2), RSS_w = rr - 2 gamma'h + gamma'G gamma.
With nu learned, before 1. (from the residuals of the current gamma): (nu, sigma^2) | gamma with the weights
integrated out, by the independence Metropolis-Hastings move of kernels/robust/joint.py; step 1 then draws the
weights given the new pair, so (nu, sigma^2, w) moves as a block.  (The one-at-a-time nu | w move of
kernels/robust/nu.py, which the hierarchical Student-t kernel runs, mixed 5-10x slower along the nu-sigma ridge.)

The weights are not state: step 1 redraws them from the state (gamma, sigma^2, nu), so a checkpoint holds
O(p) numbers per chain and a resumed run equals the uninterrupted one bit for bit.

Streams, per sweep and chain, in order:

* gamma stream: with nu learned, one of shape T_DF/2 (the joint proposal's chi-square) and one of shape 1 (the
  acceptance's exponential); then n standard gammas of shape (nu + 1)/2 (the weights, row order), one of
  shape sigma_shape (sigma^2);
* normal stream: with nu learned two (the joint proposal), then p normals (gamma).

The counts are fixed; the weights' shape moves with nu, so unlike the flat kernel nothing is drawn ahead:
each sweep draws its own gammas once the current nu is known (the Marsaglia-Tsang constants are recomputed
only when nu has changed).  The NumPy twin (gibbsreg.models.robust.reference) makes the same calls on the
same streams, so the two agree to rounding.
"""

import math

import numpy as np
from numba import njit, prange

from ..draws import fill_gammas, fill_normals, gamma_table, standard_normal, stream_at
from ..linalg import backward_transpose, cholesky_forward_affine, symmetric_quadratic_form
from ..rowpass import linear_predictor, weighted_cross
from .joint import joint_step
from .nu import T_DF

MIN_WEIGHT = 1e-300  # a weight that underflows to 0 (probability ~2^-53 per draw) would make log w infinite


@njit(cache=True, fastmath=False, error_model="python", _nrt=False)
def _spread_shape(table, one):
    """Copy the single shape's (a, b, c) column ``one`` into every column of ``table``."""
    for i in range(table.shape[1]):
        table[0, i] = one[0, 0]
        table[1, i] = one[1, 0]
        table[2, i] = one[2, 0]


@njit(cache=True, fastmath={"contract"}, error_model="numpy", _nrt=False)
def _weights(r0, eta, w, nu, inv_s2, learn_nu):
    """w_i <- 2 g_i / (nu + r_i^2 / sigma^2) from the standard gammas g_i in w, r_i = r0_i - eta_i; returns
    (r0'W r0, D) with D = sum_i (w_i - log w_i - 1), the weights' statistic of nu's full conditional (0 when nu
    is fixed).

    sum_i log w_i is the log of running products, flushed when they leave [1e-150, 1e150] (a weight outside
    [1e-100, 1e100] is logged alone), so there is about one log per hundred rows instead of one per row (the
    logs were a fifth of a sweep); it agrees with the sum of the logs to rounding."""
    n = r0.shape[0]
    rr = 0.0
    wsum = 0.0
    logsum = 0.0
    prod = 1.0
    for i in range(n):
        r = r0[i] - eta[i]
        wi = 2.0 * w[i] / (nu + r * r * inv_s2)
        if wi < MIN_WEIGHT:
            wi = MIN_WEIGHT
        w[i] = wi
        rr += wi * r0[i] * r0[i]
        if learn_nu:
            wsum += wi
            if 1e-100 < wi < 1e100:
                prod *= wi
                if not 1e-150 < prod < 1e150:
                    logsum += math.log(prod)
                    prod = 1.0
            else:
                logsum += math.log(wi)
    if not learn_nu:
        return rr, 0.0
    return rr, (wsum - n) - (logsum + math.log(prod))


@njit(cache=True, parallel=True, fastmath={"contract"})
def robust_gibbs(Z, r0, P, Pm, sigma_shape, b0, learn_nu, nu_a, nu_b, out_map, out_ref,
                 gamma_state, sigma2_state, nu_state, normal_streams, gamma_streams,
                 n_iter, thin, out_start, out_beta, out_sigma2, out_nu):
    """Run n_iter sweeps (module docstring) for every chain, writing every thin-th draw: beta =
    out_ref + out_map gamma (out_map = T^{-1}), sigma^2 and nu at out_*[c, out_start + t // thin].

    Z (n, p) C-contiguous, r0 (n,), P (p, p) and Pm (p,) the prior precision and precision times mean of
    gamma; state gamma (C, p), sigma2 (C,), nu (C,).  Returns the number of failed factorisations (the
    chain then keeps its gamma; the normals are drawn anyway, so the streams stay aligned)."""
    n, p = Z.shape
    n_chains = gamma_state.shape[0]
    store = out_beta.shape[1] > 0
    sig_table = gamma_table(np.array([sigma_shape]))
    t_table = gamma_table(np.array([0.5 * T_DF]))
    e_table = gamma_table(np.array([1.0]))
    n_real = float(n)
    s_a = sigma_shape - 0.5 * n  # sigma^2 ~ IG(s_a, b0) a priori
    failures = np.zeros(n_chains, dtype=np.int64)
    for c in prange(n_chains):
        normal = stream_at(normal_streams, c)
        grng = stream_at(gamma_streams, c)
        g = gamma_state[c].copy()
        s2 = sigma2_state[c]
        nu = nu_state[c]
        eta = np.empty(n)
        r2 = np.empty(n if learn_nu else 0)
        w = np.empty(n)
        table = np.empty((3, n))
        table_nu = -1.0
        G = np.zeros((p, p))
        h = np.zeros(p)
        L = np.zeros((p, p))
        v = np.zeros(p)
        inv_diag = np.zeros(p)
        z = np.zeros(p)
        one = np.zeros(1)
        countdown = thin
        n_failed = 0
        for t in range(n_iter):
            linear_predictor(Z, g, eta)
            if learn_nu:
                for i in range(n):
                    ri = r0[i] - eta[i]
                    r2[i] = ri * ri
                z1 = standard_normal(normal)
                z2 = standard_normal(normal)
                fill_gammas(grng, one, t_table)
                gt = one[0]
                fill_gammas(grng, one, e_table)
                nu, s2 = joint_step(r2, n_real, nu, s2, nu_a, nu_b, s_a, b0, z1, z2, gt, one[0])
            if nu != table_nu:
                _spread_shape(table, gamma_table(np.array([0.5 * (nu + 1.0)])))
                table_nu = nu
            fill_gammas(grng, w, table)
            inv_s2 = 1.0 / s2
            rr, D = _weights(r0, eta, w, nu, inv_s2, False)
            G[:, :] = 0.0
            h[:] = 0.0
            weighted_cross(Z, w, r0, G, h)
            fill_normals(normal, z, p)
            if cholesky_forward_affine(P, G, inv_s2, Pm, h, L, v, inv_diag, p):
                for i in range(p):
                    v[i] += z[i]
                backward_transpose(L, v, inv_diag, p)
                for i in range(p):
                    g[i] = v[i]
            else:
                n_failed += 1
            hg = 0.0
            for i in range(p):
                hg += h[i] * g[i]
            rss = rr - 2.0 * hg + symmetric_quadratic_form(g, G, p)
            if rss < 0.0:
                rss = 0.0
            fill_gammas(grng, one, sig_table)
            s2 = (b0 + 0.5 * rss) / one[0]
            countdown -= 1
            if store and countdown == 0:
                countdown = thin
                k = out_start + (t + 1) // thin - 1
                for i in range(p):
                    acc = 0.0
                    for j in range(p):
                        acc += out_map[i, j] * g[j]
                    out_beta[c, k, i] = acc + out_ref[i]
                out_sigma2[c, k] = s2
                if learn_nu:  # (a fixed nu's buffer holds no draws)
                    out_nu[c, k] = nu
        gamma_state[c, :] = g
        sigma2_state[c] = s2
        nu_state[c] = nu
        failures[c] = n_failed
    return failures.sum()
