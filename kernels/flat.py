"""Gibbs kernel of the flat regression (semi-conjugate or conjugate NIG prior).

Coordinates and statistics follow gibbsreg.data: gamma (p,) with
RSS(gamma) = rr - 2 gamma'h + gamma'G gamma.  With a fixed prior precision P the
kernel works in the coordinates u that diagonalise P and G together
(gamma = W u, W' P W = diag(lam), W' G W = diag(g), lam + g = 1; gibbsreg.flat):
the conditional precision P + G/s2 is then diag(lam + g/s2) for every s2, so an
iteration costs O(p) instead of a Cholesky factorisation.  Per iteration and
chain it draws p standard normals from the chain's normal generator and one
standard gamma from its gamma generator, in that order, so the NumPy reference
consuming the same two streams in blocks reproduces the same chain.

With the exchangeable prior (coefficients k with exch_mask[k] = 1 share
beta_k ~ N(mu, tau^2)), each iteration also draws one more normal (mu) and one
more gamma (tau^2), plus one for the half-Cauchy auxiliary lambda.  A half-normal or exponential prior on sigma
adds one standard exponential (a gamma of shape 1) last, a half-t one its lambda's gamma.
"""

import math

from typing import NamedTuple

import numpy as np
from numba import njit, prange
from numba.extending import register_jitable

from .draws import fill_gammas, fill_normals, gamma_table, standard_normal, stream_at
from .linalg import backward_transpose, cholesky_forward, symmetric_quadratic_form
from .scales import SIGMA_HALFT, SIGMA_INVGAMMA, noise_accept
from .simd import MATVEC_BLOCK, lane_matvec


# Reassociation and contraction (FMA) only: results change at the rounding level, never
# through NaN/inf assumptions or approximate reciprocals (checked against the NumPy reference).
FASTMATH = {"reassoc", "contract"}
@register_jitable
def flat_gamma_shapes(sigma_shape, n_exch, tau_kind, tau_a, sigma_kind, sigma_par):
    """Shapes of one flat iteration's gammas, in the gamma stream's order: sigma^2, then with exchangeable
    coefficients tau^2 (inverse gamma) or tau^2 and lambda (half-Cauchy), then for a prior on sigma other than
    the inverse gamma (sigma_kind > 0) one more, last (so the inverse-gamma layout is the old one): the half-t's
    auxiliary lambda (shape (nu + 1)/2, nu = sigma_par[0]) or the Metropolis step's standard exponential.  Plain
    Python (the NumPy twin calls it), compiled inline here: one definition for both backends, inside kernels/ so
    the kernels' cache digest sees its edits."""
    if n_exch == 0:
        shapes = np.array([sigma_shape])
    elif tau_kind == 0:
        shapes = np.array([sigma_shape, tau_a + 0.5 * n_exch])
    else:
        shapes = np.array([sigma_shape, 0.5 * (n_exch + 1.0), 1.0])
    if sigma_kind == 0:
        return shapes
    last = np.ones(1)
    if sigma_kind == SIGMA_HALFT:
        last[0] = 0.5 * (sigma_par[0] + 1.0)
    return np.concatenate((shapes, last))


GAMMA_AHEAD = 64  # iterations whose gammas are drawn at once


@njit(cache=True, fastmath=False, error_model="python")
def _gamma_plan(sigma_shape, n_exch, tau_kind, tau_a, sigma_kind, sigma_par):
    """An iteration's gammas (flat_gamma_shapes) do not depend on the state and come from their own stream,
    so they are drawn GAMMA_AHEAD iterations at a time (never past n_iter: the stream then stops where a run
    stopped there would).  Returns gamma_table of GAMMA_AHEAD iterations' shapes, in the stream's order,
    and the number per iteration."""
    per_iter = flat_gamma_shapes(sigma_shape, n_exch, tau_kind, tau_a, sigma_kind, sigma_par)
    m = per_iter.shape[0]
    shapes = np.empty(m * GAMMA_AHEAD)
    for t in range(GAMMA_AHEAD):
        shapes[m * t:m * (t + 1)] = per_iter
    return gamma_table(shapes), m


@njit(cache=True, fastmath=False, error_model="python")
def _padded_columns(out_map):
    """out_map' (p, p) zero-padded to (p, W), W the next multiple of MATVEC_BLOCK: lane_matvec's layout."""
    p = out_map.shape[0]
    cols = np.zeros((p, MATVEC_BLOCK * ((p + MATVEC_BLOCK - 1) // MATVEC_BLOCK)))
    for i in range(p):
        for j in range(p):
            cols[j, i] = out_map[i, j]
    return cols


class FlatInputs(NamedTuple):
    """The flat model's inputs to both backends, by name (models/flat/model.py FlatProblem says what each holds):
    the statistics in the sampler's coordinates (G, h, rr), the prior there (P, Pm), sigma^2's shape and scale
    (sigma_shape, b0), conjugate, the diagonalised basis (lam, gdiag, c_u, e_u, u_m), the exchangeable
    prior (exch_mask, exch_scale, exch_ref, mu0, mu_prec, tau_kind, tau_a, tau_b, hc_inv_scale2), the prior on
    sigma (sigma_kind, sigma_par: kernels/scales.py) and the map
    of the stored draws beta = out_ref + out_map @ state."""

    G: object
    h: object
    rr: object
    P: object
    Pm: object
    sigma_shape: object
    b0: object
    conjugate: object
    lam: object
    gdiag: object
    c_u: object
    e_u: object
    u_m: object
    exch_mask: object
    exch_scale: object
    exch_ref: object
    mu0: object
    mu_prec: object
    tau_kind: object
    tau_a: object
    tau_b: object
    hc_inv_scale2: object
    sigma_kind: object
    sigma_par: object
    out_map: object
    out_ref: object


def flat_gibbs(inputs: FlatInputs, gamma_state, sigma2_state, mu_state, tau2_state, lam_state, normal_streams,
               gamma_streams, n_iter, thin, out_start, out_gamma, out_sigma2, out_mu, out_tau2):
    """The kernel's entry: the model's inputs by name, then the state, streams and outputs (_flat_gibbs)."""
    return _flat_gibbs(*inputs, gamma_state, sigma2_state, mu_state, tau2_state, lam_state, normal_streams,
                       gamma_streams, n_iter, thin, out_start, out_gamma, out_sigma2, out_mu, out_tau2)


@njit(cache=True, parallel=True, fastmath=FASTMATH)
def _flat_gibbs(
    G, h, rr, P, Pm, sigma_shape, b0, conjugate, lam, gdiag, c_u, e_u, u_m,
    exch_mask, exch_scale, exch_ref, mu0, mu_prec, tau_kind, tau_a, tau_b, hc_inv_scale2, sigma_kind, sigma_par,
    out_map, out_ref, gamma_state, sigma2_state, mu_state, tau2_state, lam_state, normal_streams, gamma_streams,
    n_iter, thin, out_start, out_gamma, out_sigma2, out_mu, out_tau2,
):
    """Run n_iter Gibbs iterations for every chain, writing every thin-th draw.

    Semi-conjugate, in u: u_i | s2 ~ N((c_i + e_i/s2)/d_i, 1/d_i), d_i = lam_i + g_i/s2
    (c = W'Pm, e = W'h).  Conjugate: u | s2 ~ N(c + e, s2 I).
    RSS = rr - 2 e'u + sum_i g_i u_i^2; then s2 | u ~ IG(sigma_shape, b0 + RSS/2
    [+ sum_i lam_i (u_i - u_m,i)^2 / 2 if conjugate], u_m = W^{-1} m).
    Exchangeable (semi-conjugate only; the prior precision changes every iteration, so the
    state is gamma itself, drawn by Cholesky of A = P + G/s2 + diag(mask/(s^2 tau^2))):
    gamma_k's prior is N(s_k (mu - ref_k), s_k^2 tau^2) on the masked k; then
    mu | beta, tau^2 ~ N and tau^2 | beta, mu ~ IG (tau_kind 0) or the half-Cauchy pair
    tau^2 | lam, lam | tau^2 (tau_kind 1).
    A half-normal or exponential prior on sigma (sigma_kind, sigma_par as kernels/scales.py) comes with
    (sigma_shape, b0) of a flat prior on sigma, so the s2 draw is the proposal of an independence Metropolis
    step accepted with the prior's ratio; a half-t one is the exact inverse-gamma mixture (lambda redrawn
    given s2 just before s2, sigma_shape = (n + nu)/2).
    Draws go to out_gamma[c, out_start + t//thin] (skipped when out_gamma has no draws) as
    out_ref + out_map @ state: with out_map = T^{-1} W and out_ref = beta_ref that is beta itself,
    written once from the kernel (about p^2 multiply-adds per draw) instead of mapped back by
    later passes over the stored draws; out_map = I, out_ref = 0 stores the state unchanged.
    The output buffers may be float32 (rounded on store; state and arithmetic stay float64).
    Returns the number of chains whose precision matrix failed to factorise.

    Each chain works on its own freshly allocated workspace (once per call, not per
    iteration): sharing rows of one array between threads would put neighbouring
    chains on the same cache lines.
    """
    n_chains = gamma_state.shape[0]
    p = gamma_state.shape[1]
    store = out_gamma.shape[1] > 0
    n_exch = 0.0
    for i in range(p):
        n_exch += exch_mask[i]
    table, m_g = _gamma_plan(sigma_shape, n_exch, tau_kind, tau_a, sigma_kind, sigma_par)
    map_cols = _padded_columns(out_map)
    failures = np.zeros(n_chains, dtype=np.int64)
    for c in prange(n_chains):
        normal = stream_at(normal_streams, c)
        gamma_rng = stream_at(gamma_streams, c)
        z = np.zeros(p)
        A = np.zeros((p, p))
        v = np.zeros(p)
        inv_diag = np.zeros(p)
        countdown = thin
        mapped = np.zeros(map_cols.shape[1])
        gbuf = np.zeros(m_g * GAMMA_AHEAD)
        g_at = gbuf.shape[0]
        g = gamma_state[c].copy()
        n_failed = 0
        s2 = sigma2_state[c]
        mu = mu_state[c]
        tau2 = tau2_state[c]
        for t in range(n_iter):
            if n_exch == 0:
                fill_normals(normal, z, p)
                if conjugate:
                    s = math.sqrt(s2)
                    for i in range(p):
                        g[i] = c_u[i] + e_u[i] + s * z[i]
                else:
                    inv_s2 = 1.0 / s2
                    for i in range(p):
                        d = lam[i] + gdiag[i] * inv_s2
                        g[i] = (c_u[i] + e_u[i] * inv_s2) / d + z[i] / math.sqrt(d)
                lin = 0.0
                quad = 0.0
                for i in range(p):
                    lin += e_u[i] * g[i]
                    quad += gdiag[i] * g[i] * g[i]
                rss = rr - 2.0 * lin + quad
            else:
                inv_s2 = 1.0 / s2
                for i in range(p):
                    for j in range(i + 1):
                        A[i, j] = P[i, j] + G[i, j] * inv_s2
                    v[i] = Pm[i] + h[i] * inv_s2
                    if exch_mask[i] > 0:
                        A[i, i] += 1.0 / (exch_scale[i] * exch_scale[i] * tau2)
                        v[i] += (mu - exch_ref[i]) / (exch_scale[i] * tau2)
                if not cholesky_forward(A, v, inv_diag, p):
                    n_failed += 1
                    continue
                # not hier's _draw_gaussian: that takes normals drawn before the factorisation; here a failed
                # one draws none
                fill_normals(normal, z, p)
                for i in range(p):
                    v[i] += z[i]
                backward_transpose(A, v, inv_diag, p)
                hg = 0.0
                for i in range(p):
                    g[i] = v[i]
                    hg += h[i] * g[i]
                rss = rr - 2.0 * hg + symmetric_quadratic_form(g, G, p)
            if rss < 0.0:
                rss = 0.0
            scale = b0 + 0.5 * rss
            if conjugate:
                for i in range(p):
                    d = g[i] - u_m[i]
                    scale += 0.5 * lam[i] * d * d
            if g_at == gbuf.shape[0]:
                n_ahead = m_g * min(GAMMA_AHEAD, n_iter - t)
                fill_gammas(gamma_rng, gbuf, table[:, :n_ahead])
                g_at = 0
            if sigma_kind == SIGMA_HALFT:
                # the inverse-gamma mixture, exact: lambda | sigma^2 ~ IG((nu + 1)/2, nu/sigma^2 + 1/s^2) drawn
                # afresh (nothing else reads it, so it needs no state), then sigma^2 | beta, lambda ~
                # IG((n + nu)/2, nu/lambda + RSS/2): sigma_shape is (n + nu)/2 then, b0 = 0
                lam_sigma = (sigma_par[0] / s2 + sigma_par[0] / sigma_par[1]) / gbuf[g_at + m_g - 1]
                scale += sigma_par[0] / lam_sigma
            s2_new = scale / gbuf[g_at]
            # half-normal or exponential on sigma: the flat-prior conditional's draw is a proposal, accepted by the
            # prior's ratio against the iteration's last gamma, a standard exponential (docs/scale-priors.md)
            if (sigma_kind == SIGMA_INVGAMMA or sigma_kind == SIGMA_HALFT
                    or noise_accept(sigma_kind, sigma_par, s2_new, s2, gbuf[g_at + m_g - 1])):
                s2 = s2_new
            if n_exch > 0:
                total = 0.0
                for i in range(p):
                    if exch_mask[i] > 0:
                        total += exch_ref[i] + g[i] / exch_scale[i]
                prec = mu_prec + n_exch / tau2
                mu = (mu_prec * mu0 + total / tau2) / prec + standard_normal(normal) / math.sqrt(prec)
                ss = 0.0
                for i in range(p):
                    if exch_mask[i] > 0:
                        d = exch_ref[i] + g[i] / exch_scale[i] - mu
                        ss += d * d
                if tau_kind == 0:
                    tau2 = (tau_b + 0.5 * ss) / gbuf[g_at + 1]
                else:
                    tau2 = (1.0 / lam_state[c] + 0.5 * ss) / gbuf[g_at + 1]
                    lam_state[c] = (hc_inv_scale2 + 1.0 / tau2) / gbuf[g_at + 2]
            g_at += m_g
            countdown -= 1
            if store and countdown == 0:
                countdown = thin
                k = out_start + (t + 1) // thin - 1
                lane_matvec(map_cols, g, mapped)  # out_map @ g, in the NumPy reference's order
                for i in range(p):
                    out_gamma[c, k, i] = mapped[i] + out_ref[i]
                out_sigma2[c, k] = s2
                if n_exch > 0:
                    out_mu[c, k] = mu
                    out_tau2[c, k] = tau2
        sigma2_state[c] = s2
        gamma_state[c, :] = g
        failures[c] = n_failed
        mu_state[c] = mu
        tau2_state[c] = tau2
    return failures.sum()
