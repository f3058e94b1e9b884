"""Gibbs kernel of the hierarchical regression (centred parameterisation).

Coordinates: the first q coefficients vary by group (beta_j), the last r are
pooled (alpha).  Per-group sufficient statistics G[j] (p, p), h[j] (p,),
rr[j], n[j] with p = q + r, so RSS_j = rr_j - 2 theta_j'h_j + theta_j'G_j theta_j
for theta_j = (beta_j, alpha).

Per iteration and chain the normal stream gives, in order: J*q values for the
beta_j, r for alpha, q for mu, q(q-1)/2 Bartlett off-diagonals (Inverse-Wishart
only), then with interweaving q for the location step and, for a diagonal
Sigma, q for the scale step; the gamma stream gives the tau^2 (or Bartlett)
gammas (q), q exponentials for the scale step (diagonal Sigma), the half-Cauchy
lambdas (q), then the sigma^2 gammas (1, or J with per-group variances).  The NumPy
reference consumes the same streams in the same order.

Each sweep passes over the groups four times (beta draws with the sums for alpha and mu; the
spread about mu; the interweaving sums; the interweaving move with RSS and sigma_j^2), in fixed
blocks of groups (group_blocks: they depend on J alone).  Every sum over groups is formed per
block and the block sums are added in block order, so a chain's draws are the same whether its
blocks run one after another on one thread (hier_gibbs_chains, threads over chains) or on several
(hier_gibbs_groups, when there are fewer chains than threads).
"""

import math

import numba
import numpy as np
from numba import njit, prange

from .linalg import (backward_solve_transpose, backward_transpose, cholesky_forward, cholesky_forward_affine,
                     cholesky_lower, forward_solve, symmetric_quadratic_form)

TAU_INVGAMMA = 0
TAU_HALFCAUCHY = 1
TAU_INVWISHART = 2


@njit(cache=True)
def _draw_gaussian(A, v, inv_diag, normal, n):
    """v <- a draw of N(A^{-1} v, A^{-1}); A's lower triangle is overwritten by its Cholesky factor."""
    if not cholesky_forward(A, v, inv_diag, n):
        return False
    for i in range(n):
        v[i] += normal.standard_normal()
    backward_transpose(A, v, inv_diag, n)
    return True


# Groups are processed in fixed blocks; every sum over groups is formed per block and the block sums
# are added in block order.  The blocks depend on J alone, so the draws are the same whether the
# blocks of a chain run on one thread or on several.
MIN_BLOCK = 16
MAX_BLOCKS = 64
GROUP_PARALLEL_MIN_J = 512  # below this, waking the threads at every stage costs more than it saves
LANES = 8  # groups factorised side by side (two AVX2 vectors)
# Contraction to fused multiply-adds, but no reassociation: the same function inlined into the
# chains kernel and into the groups kernel must round identically, which a reordered (vectorised)
# sum would not guarantee.
EXACT_ORDER = {"contract"}


@njit(cache=True)
def group_blocks(J):
    """(block size, number of blocks) for J groups."""
    size = max(MIN_BLOCK, (J + MAX_BLOCKS - 1) // MAX_BLOCKS)
    return size, (J + size - 1) // size


@njit(cache=True)
def _fill_normals(normal, z, n):
    for i in range(n):
        z[i] = normal.standard_normal()


@njit(cache=True)
def _fill_noise_gammas(gamma_rng, g, nj, sigma_a, j0, j1):
    for j in range(j0, j1):
        g[j - j0] = gamma_rng.standard_gamma(sigma_a + 0.5 * nj[j])


@njit(cache=True, fastmath=EXACT_ORDER)
def _stage_beta(G, h, q, r, j0, j1, beta_c, alpha_c, Sinv_c, Sinv_mu, sigma2_c, z, Am, rhs, inv_diag, tmp, idx, part):
    """beta_j | mu, Sigma, alpha, sigma2 for groups j0..j1-1 (normals z[(j - j0) q + a]), and the block's
    sums for the next steps: part = [sum G_pp,j / s_j^2 (r x r), sum (h_p,j - G_pv,j beta_j) / s_j^2 (r),
    sum beta_j (q)].  Returns the number of failed factorisations.

    LANES groups at a time, each in its own lane of Am (q, q, LANES), rhs and inv_diag (q, LANES):
    one group's Cholesky is a chain of dependent square roots and divisions, and side by side the
    groups' chains overlap and vectorise (the lanes' arithmetic is the same whatever their number).
    """
    nfail = 0
    for i in range(r * r + r + q):
        part[i] = 0.0
    s = tmp[0]
    t = tmp[1]
    dd = tmp[2]
    tt = tmp[3]
    for j in range(j0, j1, LANES):
        n = min(LANES, j1 - j)
        for l in range(LANES):
            idx[l] = j + l if l < n else j  # spare lanes repeat the first group; their results are dropped
        for l in range(LANES):
            s[l] = 1.0 / sigma2_c[idx[l]]
        for a in range(q):
            for l in range(LANES):
                jl = idx[l]
                t_a = h[jl, a]
                for b in range(r):
                    t_a -= G[jl, a, q + b] * alpha_c[b]
                rhs[a, l] = Sinv_mu[a] + t_a * s[l]
            for b in range(a + 1):
                for l in range(LANES):
                    Am[a, b, l] = Sinv_c[a, b] + G[idx[l], a, b] * s[l]
        # Cholesky A = L L' row by row with the forward solve L^{-1} rhs
        for i in range(q):
            for c in range(i):
                for l in range(LANES):
                    t[l] = Am[i, c, l]
                for k in range(c):
                    for l in range(LANES):
                        t[l] -= Am[i, k, l] * Am[c, k, l]
                for l in range(LANES):
                    Am[i, c, l] = t[l] * inv_diag[c, l]
            for l in range(LANES):
                dd[l] = Am[i, i, l]
                tt[l] = rhs[i, l]
            for k in range(i):
                for l in range(LANES):
                    dd[l] -= Am[i, k, l] * Am[i, k, l]
                    tt[l] -= Am[i, k, l] * rhs[k, l]
            for l in range(n):
                if not dd[l] > 0.0:
                    nfail += 1
            for l in range(LANES):
                rinv = 1.0 / math.sqrt(dd[l])
                inv_diag[i, l] = rinv
                rhs[i, l] = tt[l] * rinv
        for a in range(q):
            for l in range(LANES):
                rhs[a, l] += z[(idx[l] - j0) * q + a]
        # backward solve L' x = rhs
        for i in range(q - 1, -1, -1):
            for l in range(LANES):
                rhs[i, l] *= inv_diag[i, l]
            for k in range(i):
                for l in range(LANES):
                    rhs[k, l] -= Am[i, k, l] * rhs[i, l]
        for l in range(n):
            jl = j + l
            for a in range(q):
                beta_c[jl, a] = rhs[a, l]
                part[r * r + r + a] += rhs[a, l]
            for a in range(r):
                for b in range(a + 1):
                    part[a * r + b] += G[jl, q + a, q + b] * s[l]
                t_a = h[jl, q + a]
                for b in range(q):
                    t_a -= G[jl, q + a, b] * rhs[b, l]
                part[r * r + a] += t_a * s[l]
    return nfail


@njit(cache=True, fastmath=EXACT_ORDER)
def _alpha_mu_step(J, q, r, nb, part, Sainv, Sainv_a0, S0inv, S0inv_mu0, Sinv_c, alpha_c, mu_c, A, v, inv_diag,
                   acc, normal):
    """alpha | beta, sigma2 and mu | beta, Sigma from the block sums of _stage_beta."""
    nfail = 0
    if r > 0:
        for a in range(r):
            for b in range(a + 1):
                A[a, b] = Sainv[a, b]
            v[a] = Sainv_a0[a]
        for k in range(nb):
            for a in range(r):
                for b in range(a + 1):
                    A[a, b] += part[k, a * r + b]
                v[a] += part[k, r * r + a]
        if not _draw_gaussian(A, v, inv_diag, normal, r):
            nfail += 1
        for a in range(r):
            alpha_c[a] = v[a]
    for a in range(q):
        acc[a] = 0.0
    for k in range(nb):
        for a in range(q):
            acc[a] += part[k, r * r + r + a]
    for a in range(q):
        for b in range(a + 1):
            A[a, b] = S0inv[a, b] + J * Sinv_c[a, b]
        s = S0inv_mu0[a]
        for b in range(q):
            s += Sinv_c[a, b] * acc[b]
        v[a] = s
    if not _draw_gaussian(A, v, inv_diag, normal, q):
        nfail += 1
    for a in range(q):
        mu_c[a] = v[a]
    return nfail


@njit(cache=True, fastmath=EXACT_ORDER)
def _stage_spread(q, j0, j1, full, beta_c, mu_c, part):
    """The block's sum of (beta_j - mu)(beta_j - mu)' (lower triangle, ``full``) or of its diagonal."""
    if full:
        for i in range(q * q):
            part[i] = 0.0
        for j in range(j0, j1):
            for a in range(q):
                da = beta_c[j, a] - mu_c[a]
                for b in range(a + 1):
                    part[a * q + b] += da * (beta_c[j, b] - mu_c[b])
    else:
        for a in range(q):
            part[a] = 0.0
        for j in range(j0, j1):
            for a in range(q):
                d = beta_c[j, a] - mu_c[a]
                part[a] += d * d


@njit(cache=True, fastmath=EXACT_ORDER)
def _sigma_step(J, q, nb, part, tau_kind, tau_a, tau_b, iw_df, iw_Psi, Sinv_c, lam_c, M, Bart, W, acc,
                normal, gamma_rng):
    """Sigma_beta | beta, mu (Inverse-Wishart by Bartlett, or the diagonal's inverse gammas) into Sinv_c."""
    nfail = 0
    if tau_kind == TAU_INVWISHART:
        for a in range(q):
            for b in range(a + 1):
                M[a, b] = iw_Psi[a, b]
        for k in range(nb):
            for a in range(q):
                for b in range(a + 1):
                    M[a, b] += part[k, a * q + b]
        if not cholesky_lower(M, q):
            nfail += 1
        # Bartlett: Sigma^{-1} = F B B' F' with F = M^{-T}, B lower, B_aa^2 ~ chi2(df + J - a)
        for a in range(q):
            for b in range(q):
                Bart[a, b] = 0.0
        for a in range(q):
            for b in range(a):
                Bart[a, b] = normal.standard_normal()
        for a in range(q):
            Bart[a, a] = math.sqrt(2.0 * gamma_rng.standard_gamma(0.5 * (iw_df + J - a)))
        for b in range(q):
            for a in range(q):
                acc[a] = Bart[a, b]
            backward_solve_transpose(M, acc, q)
            for a in range(q):
                W[a, b] = acc[a]
        for a in range(q):
            for b in range(q):
                s = 0.0
                for k in range(q):
                    s += W[a, k] * W[b, k]
                Sinv_c[a, b] = s
    else:
        for a in range(q):
            acc[a] = 0.0
        for k in range(nb):
            for a in range(q):
                acc[a] += part[k, a]
        for a in range(q):
            if tau_kind == TAU_INVGAMMA:
                tau2 = (tau_b[a] + 0.5 * acc[a]) / gamma_rng.standard_gamma(tau_a[a] + 0.5 * J)
            else:
                tau2 = (1.0 / lam_c[a] + 0.5 * acc[a]) / gamma_rng.standard_gamma(0.5 * (J + 1))
            Sinv_c[a, a] = 1.0 / tau2
    return nfail


@njit(cache=True, fastmath=EXACT_ORDER)
def _stage_asis(G, h, q, r, j0, j1, scale_step, beta_c, alpha_c, mu_c, sigma2_c, tau_old, acc, dl, xl, idx, part):
    """The block's sums for interweaving: [A = sum X_j'X_j/s_j^2 (q x q), v = sum X_j'(y_j - X_j eta_j -
    W_j alpha)/s_j^2 (q), then with ``scale_step`` b (q), Q (q x q lower) and Bm (q x q)].

    LANES groups at a time: lane l of acc (3q^2 + 2q, LANES) sums the groups j0 + l, j0 + l + LANES, ...
    (vectorised, in registers and L1 rather than one memory round trip per group and term); the lanes
    are added in order at the end, so the sums do not depend on how the blocks are scheduled.
    """
    oA, ov, ob, oQ, oB = 0, q * q, q * q + q, q * q + 2 * q, 2 * q * q + 2 * q
    ne = 3 * q * q + 2 * q if scale_step else q * q + q
    for e in range(ne):
        for l in range(LANES):
            acc[e, l] = 0.0
    for j in range(j0, j1, LANES):
        n = min(LANES, j1 - j)
        for l in range(LANES):
            idx[l] = j + l if l < n else j
        # spare lanes get weight 0: they add exact zeros
        for l in range(LANES):
            xl[q, l] = 1.0 / sigma2_c[idx[l]] if l < n else 0.0
        for a in range(q):
            for l in range(LANES):
                jl = idx[l]
                dl[a, l] = beta_c[jl, a] - mu_c[a]
                t = h[jl, a]
                for b in range(r):
                    t -= G[jl, a, q + b] * alpha_c[b]
                xl[a, l] = xl[q, l] * t
        for a in range(q):
            for l in range(LANES):
                acc[ov + a, l] += xl[a, l]
            for b in range(q):
                for l in range(LANES):
                    wg = xl[q, l] * G[idx[l], a, b]
                    acc[ov + a, l] -= wg * dl[b, l]
                    if b <= a:
                        acc[oA + a * q + b, l] += wg
        if scale_step:
            for a in range(q):
                for l in range(LANES):
                    dl[a, l] = dl[a, l] / tau_old[a]  # eta_j = (beta_j - mu) / tau
            for a in range(q):
                for l in range(LANES):
                    acc[ob + a, l] += dl[a, l] * xl[a, l]
                for b in range(q):
                    for l in range(LANES):
                        gab = xl[q, l] * G[idx[l], a, b] * dl[a, l]
                        acc[oB + a * q + b, l] += gab
                        if b <= a:
                            acc[oQ + a * q + b, l] += gab * dl[b, l]
    for e in range(ne):
        s = 0.0
        for l in range(LANES):
            s += acc[e, l]
        part[e] = s


@njit(cache=True, fastmath=EXACT_ORDER)
def _asis_step(q, nb, part, scale_step, S0inv, S0inv_mu0, prior_a, prior_b, mu_c, Sinv_c, A, v, inv_diag, Q, Bm,
               bvec, tau, tau_old, fac, normal, gamma_rng):
    """Interweaving (ASIS, Yu & Meng 2011) for the group-level parameters, from the block sums.

    Location: with eta_j = beta_j - mu held fixed (non-centred), mu | eta, y is Gaussian with
    precision S0^{-1} + sum_j X_j'X_j/s_j^2; it is drawn exactly (q normals).
    Scale (diagonal Sigma, ``scale_step``): with xi_j = (beta_j - mu)/tau held fixed, tau enters
    the likelihood linearly with precision Q and linear term b - Bm mu; each tau_k is redrawn
    from its Gaussian conditional and accepted with the ratio of its prior density on the real
    line, |tau|^{-2a-1} exp(-b/tau^2) for tau^2 ~ IG(a, b) (independence Metropolis-Hastings
    within Gibbs: one normal and one standard exponential per coordinate; docs/maths.md).
    Sets mu_c <- mu_new and fac = tau_new / tau (beta_j = mu_new + fac (beta_j - mu_old) follows in
    _stage_noise); returns False (nothing changed) when the location precision fails to factorise.
    """
    oA, ov, ob, oQ, oB = 0, q * q, q * q + q, q * q + 2 * q, 2 * q * q + 2 * q
    for a in range(q):
        for b in range(a + 1):
            A[a, b] = S0inv[a, b]
        v[a] = S0inv_mu0[a]
        bvec[a] = 0.0
        for b in range(q):
            Q[a, b] = 0.0
            Bm[a, b] = 0.0
    for k in range(nb):
        for a in range(q):
            v[a] += part[k, ov + a]
            for b in range(a + 1):
                A[a, b] += part[k, oA + a * q + b]
        if scale_step:
            for a in range(q):
                bvec[a] += part[k, ob + a]
                for b in range(q):
                    Bm[a, b] += part[k, oB + a * q + b]
                for b in range(a + 1):
                    Q[a, b] += part[k, oQ + a * q + b]
    for a in range(q):
        fac[a] = 1.0
    if not _draw_gaussian(A, v, inv_diag, normal, q):
        return False
    if scale_step:
        for a in range(q):
            for b in range(q):
                bvec[a] -= Bm[a, b] * v[b]
            for b in range(a):
                Q[b, a] = Q[a, b]
        for a in range(q):
            tau[a] = tau_old[a]
        for a in range(q):
            z = normal.standard_normal()
            e = gamma_rng.standard_gamma(1.0)
            prec = Q[a, a]
            if not prec > 0.0:
                continue
            lin = bvec[a]
            for b in range(q):
                if b != a:
                    lin -= Q[a, b] * tau[b]
            proposal = lin / prec + z / math.sqrt(prec)
            if proposal == 0.0:
                continue
            log_ratio = -(2.0 * prior_a[a] + 1.0) * (math.log(abs(proposal)) - math.log(abs(tau[a])))
            log_ratio -= prior_b[a] * (1.0 / (proposal * proposal) - 1.0 / (tau[a] * tau[a]))
            if log_ratio >= -e:
                tau[a] = proposal
        for a in range(q):
            fac[a] = tau[a] / tau_old[a]
            Sinv_c[a, a] = 1.0 / (tau[a] * tau[a])
    for a in range(q):
        mu_c[a] = v[a]
    return True


@njit(cache=True, fastmath=EXACT_ORDER)
def _stage_noise(G, h, rr, q, r, j0, j1, shift, mu_new, mu_old, fac, beta_c, alpha_c, sigma2_c, group_variance,
                 sigma_b, gam, theta, k, out_beta_c, out_sigma2_c):
    """For groups j0..j1-1: the interweaving move beta_j = mu_new + fac (beta_j - mu_old) (``shift``), RSS_j,
    then sigma_j^2 from the gammas gam[j - j0] (``group_variance``) and the stores of draw k (k >= 0).
    Returns the block's sum of RSS_j."""
    p = q + r
    total = 0.0
    for a in range(r):
        theta[q + a] = alpha_c[a]
    for j in range(j0, j1):
        if shift:
            for a in range(q):
                beta_c[j, a] = mu_new[a] + fac[a] * (beta_c[j, a] - mu_old[a])
        lin = 0.0
        for a in range(q):
            theta[a] = beta_c[j, a]
        for a in range(p):
            lin += theta[a] * h[j, a]
        rss = rr[j] - 2.0 * lin + symmetric_quadratic_form(theta, G[j], p)
        if rss < 0.0:
            rss = 0.0
        if group_variance:
            sigma2_c[j] = (sigma_b + 0.5 * rss) / gam[j - j0]
        total += rss
        if k >= 0:
            if out_beta_c.shape[0] > 0:
                for a in range(q):
                    out_beta_c[k, j, a] = beta_c[j, a]
            if group_variance:
                out_sigma2_c[k, j] = sigma2_c[j]
    return total


@njit(cache=True, fastmath=EXACT_ORDER)
def _finish_step(J, q, r, nb, part, n_total, group_variance, sigma_a, sigma_b, tau_kind, hc_inv_scale2, Sinv_c, lam_c,
                 alpha_c, mu_c, sigma2_c, M, acc, gamma_rng, k, out_alpha_c, out_mu_c, out_Sigma_c, out_sigma2_c):
    """The shared sigma^2 | everything from the blocks' RSS sums, and the stores of draw k (k >= 0)."""
    if not group_variance:
        total = 0.0
        for b in range(nb):
            total += part[b, 0]
        s2 = (sigma_b + 0.5 * total) / gamma_rng.standard_gamma(sigma_a + 0.5 * n_total)
        for j in range(J):
            sigma2_c[j] = s2
    if k >= 0:
        for a in range(r):
            out_alpha_c[k, a] = alpha_c[a]
        for a in range(q):
            out_mu_c[k, a] = mu_c[a]
        # Sigma = (Sigma^{-1})^{-1}, via Cholesky of the precision
        for a in range(q):
            for b in range(a + 1):
                M[a, b] = Sinv_c[a, b]
        cholesky_lower(M, q)
        for b in range(q):
            for a in range(q):
                acc[a] = 1.0 if a == b else 0.0
            forward_solve(M, acc, q)
            backward_solve_transpose(M, acc, q)
            for a in range(q):
                out_Sigma_c[k, a, b] = acc[a]
        if not group_variance:
            out_sigma2_c[k, 0] = sigma2_c[0]


@njit(cache=True, fastmath=EXACT_ORDER)
def _hyper_prior(q, tau_kind, tau_a, tau_b, lam_c, prior_ab):
    """The prior (a, b) of tau_k^2 ~ IG(a, b) that the interweaving scale step targets."""
    for a in range(q):
        if tau_kind == TAU_INVGAMMA:
            prior_ab[0, a] = tau_a[a]
            prior_ab[1, a] = tau_b[a]
        else:
            prior_ab[0, a] = 0.5
            prior_ab[1, a] = 1.0 / lam_c[a]


@njit(cache=True, fastmath=EXACT_ORDER)
def _sinv_mu(q, Sinv_c, mu_c, out):
    for a in range(q):
        s = 0.0
        for b in range(q):
            s += Sinv_c[a, b] * mu_c[b]
        out[a] = s


def hier_gibbs(
    G, h, rr, nj, q,
    S0inv, S0inv_mu0, Sainv, Sainv_a0,
    tau_kind, tau_a, tau_b, hc_inv_scale2, iw_df, iw_Psi,
    sigma_a, sigma_b, group_variance, asis,
    beta, alpha, mu, Sinv, lam, sigma2,
    normal_gens, gamma_gens,
    n_iter, thin, out_start,
    out_beta, out_alpha, out_mu, out_Sigma, out_sigma2,
):
    """Run n_iter centred Gibbs sweeps (plus interweaving) for every chain; returns the number of failed
    factorisations.

    With at least as many chains as threads (or few groups) the threads share out the chains
    (hier_gibbs_chains); otherwise every chain's groups are shared out in blocks, stage by stage
    (hier_gibbs_groups).  Both make the same arithmetic on the same random numbers, so the draws do
    not depend on the thread count.
    """
    args = (G, h, rr, nj, q, S0inv, S0inv_mu0, Sainv, Sainv_a0, tau_kind, tau_a, tau_b, hc_inv_scale2, iw_df, iw_Psi,
            sigma_a, sigma_b, group_variance, asis, beta, alpha, mu, Sinv, lam, sigma2, normal_gens, gamma_gens,
            n_iter, thin, out_start, out_beta, out_alpha, out_mu, out_Sigma, out_sigma2)
    if beta.shape[0] < numba.get_num_threads() and G.shape[0] >= GROUP_PARALLEL_MIN_J:
        return hier_gibbs_groups(*args)
    return hier_gibbs_chains(*args)


@njit(cache=True, parallel=True, fastmath=EXACT_ORDER)
def hier_gibbs_chains(G, h, rr, nj, q, S0inv, S0inv_mu0, Sainv, Sainv_a0, tau_kind, tau_a, tau_b, hc_inv_scale2,
                      iw_df, iw_Psi, sigma_a, sigma_b, group_variance, asis, beta, alpha, mu, Sinv, lam, sigma2,
                      normal_gens, gamma_gens, n_iter, thin, out_start, out_beta, out_alpha, out_mu, out_Sigma,
                      out_sigma2):
    """hier_gibbs with the chains shared out between threads."""
    n_chains = beta.shape[0]
    failures = np.zeros(n_chains, dtype=np.int64)
    for c in prange(n_chains):
        failures[c] = _one_chain(np.int64(c), G, h, rr, nj, q, S0inv, S0inv_mu0, Sainv, Sainv_a0, tau_kind, tau_a,
                                 tau_b, hc_inv_scale2, iw_df, iw_Psi, sigma_a, sigma_b, group_variance, asis, beta,
                                 alpha, mu, Sinv, lam, sigma2, normal_gens, gamma_gens, n_iter, thin, out_start,
                                 out_beta, out_alpha, out_mu, out_Sigma, out_sigma2)
    return failures.sum()


@njit(cache=True, fastmath=EXACT_ORDER)
def _one_chain(c, G, h, rr, nj, q, S0inv, S0inv_mu0, Sainv, Sainv_a0, tau_kind, tau_a, tau_b, hc_inv_scale2, iw_df,
               iw_Psi, sigma_a, sigma_b, group_variance, asis, beta, alpha, mu, Sinv, lam, sigma2, normal_gens,
               gamma_gens, n_iter, thin, out_start, out_beta, out_alpha, out_mu, out_Sigma, out_sigma2):
    """Chain c's sweeps, its blocks one after another (workspaces are the chain's own: shared rows
    would false-share cache lines between threads)."""
    J = G.shape[0]
    p = G.shape[1]
    r = p - q
    size, nb = group_blocks(J)
    normal = normal_gens[c]
    gamma_rng = gamma_gens[c]
    n_total = 0.0
    for j in range(J):
        n_total += nj[j]
    iw = tau_kind == TAU_INVWISHART
    scale_step = asis and not iw
    part = np.zeros((nb, max(r * r + r + q, 3 * q * q + 2 * q)))
    A = np.zeros((p, p))
    v = np.zeros(p)
    inv_diag = np.zeros(p)
    vec = np.zeros(p)
    acc = np.zeros(p)
    Sinv_mu = np.zeros(q)
    M = np.zeros((q, q))
    Bart = np.zeros((q, q))
    W = np.zeros((q, q))
    Q = np.zeros((q, q))
    Bm = np.zeros((q, q))
    small = np.zeros((8, q))
    mu_old, tau, tau_old, fac, bvec = small[0], small[1], small[2], small[3], small[4]
    asis_acc = np.zeros((3 * q * q + 2 * q, LANES))
    asis_d = np.zeros((q, LANES))
    asis_x = np.zeros((q + 1, LANES))
    prior_ab = np.zeros((2, q))
    z = np.zeros(size * q)
    gam = np.zeros(size)
    Am = np.zeros((q, q, LANES))
    lanes = np.zeros((2, q, LANES))
    ltmp = np.zeros((4, LANES))
    lidx = np.zeros(LANES, dtype=np.int64)
    nfail = 0
    for t in range(n_iter):
        k = out_start + (t + 1) // thin - 1 if (out_mu.shape[1] > 0 and (t + 1) % thin == 0) else -1
        _sinv_mu(q, Sinv[c], mu[c], Sinv_mu)
        for b in range(nb):
            j0 = b * size
            j1 = min(J, j0 + size)
            _fill_normals(normal, z, (j1 - j0) * q)
            nfail += _stage_beta(G, h, q, r, j0, j1, beta[c], alpha[c], Sinv[c], Sinv_mu, sigma2[c], z, Am, lanes[0],
                                 lanes[1], ltmp, lidx, part[b])
        nfail += _alpha_mu_step(J, q, r, nb, part, Sainv, Sainv_a0, S0inv, S0inv_mu0, Sinv[c], alpha[c], mu[c], A, v,
                                inv_diag, acc, normal)
        for b in range(nb):
            _stage_spread(q, b * size, min(J, (b + 1) * size), iw, beta[c], mu[c], part[b])
        nfail += _sigma_step(J, q, nb, part, tau_kind, tau_a, tau_b, iw_df, iw_Psi, Sinv[c], lam[c], M, Bart, W, acc,
                             normal, gamma_rng)
        shift = False
        if asis:
            for a in range(q):
                mu_old[a] = mu[c, a]
                tau_old[a] = 1.0 / math.sqrt(Sinv[c, a, a]) if scale_step else 1.0
            _hyper_prior(q, tau_kind, tau_a, tau_b, lam[c], prior_ab)
            for b in range(nb):
                _stage_asis(G, h, q, r, b * size, min(J, (b + 1) * size), scale_step, beta[c], alpha[c], mu[c],
                            sigma2[c], tau_old, asis_acc, asis_d, asis_x, lidx, part[b])
            shift = _asis_step(q, nb, part, scale_step, S0inv, S0inv_mu0, prior_ab[0], prior_ab[1], mu[c], Sinv[c],
                               A, v, inv_diag, Q, Bm, bvec, tau, tau_old, fac, normal, gamma_rng)
        if tau_kind == TAU_HALFCAUCHY:
            for a in range(q):
                lam[c, a] = (hc_inv_scale2[a] + Sinv[c, a, a]) / gamma_rng.standard_gamma(1.0)
        for b in range(nb):
            j0 = b * size
            j1 = min(J, j0 + size)
            if group_variance:
                _fill_noise_gammas(gamma_rng, gam, nj, sigma_a, j0, j1)
            part[b, 0] = _stage_noise(G, h, rr, q, r, j0, j1, shift, mu[c], mu_old, fac, beta[c], alpha[c], sigma2[c],
                                      group_variance, sigma_b, gam, vec, k, out_beta[c], out_sigma2[c])
        _finish_step(J, q, r, nb, part, n_total, group_variance, sigma_a, sigma_b, tau_kind, hc_inv_scale2, Sinv[c],
                     lam[c], alpha[c], mu[c], sigma2[c], M, acc, gamma_rng, k, out_alpha[c], out_mu[c], out_Sigma[c],
                     out_sigma2[c])
    return nfail


@njit(cache=True, parallel=True, fastmath=EXACT_ORDER)
def hier_gibbs_groups(G, h, rr, nj, q, S0inv, S0inv_mu0, Sainv, Sainv_a0, tau_kind, tau_a, tau_b, hc_inv_scale2, iw_df,
               iw_Psi, sigma_a, sigma_b, group_variance, asis, beta, alpha, mu, Sinv, lam, sigma2, normal_gens,
               gamma_gens, n_iter, thin, out_start, out_beta, out_alpha, out_mu, out_Sigma, out_sigma2):
    """hier_gibbs with every stage over groups run in parallel over (chain, block) pairs, the chains in
    lockstep: the same sweeps as _one_chain (the short per-chain steps between stages run on the calling
    thread: four parallel regions per sweep);
    each chain's random numbers for a stage are drawn first, in _one_chain's order, into a buffer."""
    C = beta.shape[0]
    J = G.shape[0]
    p = G.shape[1]
    r = p - q
    size, nb = group_blocks(J)
    T = C * nb
    n_total = 0.0
    for j in range(J):
        n_total += nj[j]
    iw = tau_kind == TAU_INVWISHART
    scale_step = asis and not iw
    part = np.zeros((C, nb, max(r * r + r + q, 3 * q * q + 2 * q)))
    tAm = np.zeros((T, q, q, LANES))
    tlanes = np.zeros((T, 2, q, LANES))
    tltmp = np.zeros((T, 4, LANES))
    tlidx = np.zeros((T, LANES), dtype=np.int64)
    tvec = np.zeros((T, 5, p))
    tacc = np.zeros((T, 3 * q * q + 2 * q, LANES)) if asis else np.zeros((T, 1, LANES))
    tdl = np.zeros((T, q, LANES))
    txl = np.zeros((T, q + 1, LANES))
    cA = np.zeros((C, p, p))
    cvec = np.zeros((C, 4, p))
    cqq = np.zeros((C, 5, q, q))
    small = np.zeros((C, 8, q))
    prior_ab = np.zeros((C, 2, q))
    z = np.zeros((C, J * q))
    gam = np.zeros((C, J if group_variance else 1))
    shift = np.zeros(C, dtype=np.bool_)
    kk = np.zeros(C, dtype=np.int64)
    cfail = np.zeros(C, dtype=np.int64)
    tfail = np.zeros(T, dtype=np.int64)
    for t in range(n_iter):
        k = out_start + (t + 1) // thin - 1 if (out_mu.shape[1] > 0 and (t + 1) % thin == 0) else -1
        for c in range(C):
            ci = np.int64(c)
            _sinv_mu(q, Sinv[c], mu[c], small[c, 7])
            _fill_normals(normal_gens[ci], z[c], J * q)
        for i in prange(T):
            c = i // nb
            b = i % nb
            j0 = b * size
            j1 = min(J, j0 + size)
            tfail[i] += _stage_beta(G, h, q, r, j0, j1, beta[c], alpha[c], Sinv[c], small[c, 7], sigma2[c],
                                    z[c, j0 * q:], tAm[i], tlanes[i, 0], tlanes[i, 1], tltmp[i], tlidx[i], part[c, b])
        for c in range(C):
            ci = np.int64(c)
            cfail[c] += _alpha_mu_step(J, q, r, nb, part[c], Sainv, Sainv_a0, S0inv, S0inv_mu0, Sinv[c], alpha[c],
                                       mu[c], cA[c], cvec[c, 0], cvec[c, 1], cvec[c, 2], normal_gens[ci])
        for i in prange(T):
            c = i // nb
            b = i % nb
            _stage_spread(q, b * size, min(J, (b + 1) * size), iw, beta[c], mu[c], part[c, b])
        for c in range(C):
            ci = np.int64(c)
            cfail[c] += _sigma_step(J, q, nb, part[c], tau_kind, tau_a, tau_b, iw_df, iw_Psi, Sinv[c], lam[c],
                                    cqq[c, 0], cqq[c, 1], cqq[c, 2], cvec[c, 2], normal_gens[ci], gamma_gens[ci])
            if asis:
                for a in range(q):
                    small[c, 0, a] = mu[c, a]
                    small[c, 2, a] = 1.0 / math.sqrt(Sinv[c, a, a]) if scale_step else 1.0
                _hyper_prior(q, tau_kind, tau_a, tau_b, lam[c], prior_ab[c])
        if asis:
            for i in prange(T):
                c = i // nb
                b = i % nb
                _stage_asis(G, h, q, r, b * size, min(J, (b + 1) * size), scale_step, beta[c], alpha[c], mu[c],
                            sigma2[c], small[c, 2], tacc[i], tdl[i], txl[i], tlidx[i], part[c, b])
        for c in range(C):
            ci = np.int64(c)
            shift[c] = False
            if asis:
                shift[c] = _asis_step(q, nb, part[c], scale_step, S0inv, S0inv_mu0, prior_ab[c, 0], prior_ab[c, 1],
                                      mu[c], Sinv[c], cA[c], cvec[c, 0], cvec[c, 1], cqq[c, 3], cqq[c, 4], small[c, 4],
                                      small[c, 1], small[c, 2], small[c, 3], normal_gens[ci], gamma_gens[ci])
            if tau_kind == TAU_HALFCAUCHY:
                for a in range(q):
                    lam[c, a] = (hc_inv_scale2[a] + Sinv[c, a, a]) / gamma_gens[ci].standard_gamma(1.0)
            if group_variance:
                _fill_noise_gammas(gamma_gens[ci], gam[c], nj, sigma_a, 0, J)
        for i in prange(T):
            c = i // nb
            b = i % nb
            j0 = b * size
            j1 = min(J, j0 + size)
            part[c, b, 0] = _stage_noise(G, h, rr, q, r, j0, j1, shift[c], mu[c], small[c, 0], small[c, 3], beta[c],
                                         alpha[c], sigma2[c], group_variance, sigma_b, gam[c, j0:], tvec[i, 0], k,
                                         out_beta[c], out_sigma2[c])
        for c in range(C):
            ci = np.int64(c)
            _finish_step(J, q, r, nb, part[c], n_total, group_variance, sigma_a, sigma_b, tau_kind, hc_inv_scale2,
                         Sinv[c], lam[c], alpha[c], mu[c], sigma2[c], cqq[c, 0], cvec[c, 2], gamma_gens[ci], k,
                         out_alpha[c], out_mu[c], out_Sigma[c], out_sigma2[c])
    return cfail.sum() + tfail.sum()
