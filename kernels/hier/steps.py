"""The once-per-sweep steps of the hierarchical kernel, between the stages over groups: alpha and mu, Sigma,
the interweaving move, the shared sigma^2 and the stores of a draw."""

import math

import numpy as np
from numba import njit

from ..linalg import backward_transpose, bartlett_precision, cholesky_forward, cholesky_inverse_column, cholesky_lower
from ..scales import SIGMA_INVGAMMA, TAU_EXPONENTIAL, TAU_HALFNORMAL, noise_accept, scale_log_ratio
from .layout import EXACT_ORDER, TAU_HALFCAUCHY, TAU_HUANGWAND, TAU_INVGAMMA, _spread_at, _wishart, sweep_layout


@njit(cache=True)
def _chain_workspaces(C, p, q):
    """The once-per-sweep steps' workspaces of C chains: A (C, p, p); (v, inv_diag, acc) (C, 3, p); (M, Bart,
    W, Q, Bm) (C, 5, q, q); (mu_old, tau, tau_old, fac, bvec, -, -, Sigma^{-1} mu) (C, 8, q); the scale
    step's prior (a, b) (C, 2, q)."""
    return np.zeros((C, p, p)), np.zeros((C, 3, p)), np.zeros((C, 5, q, q)), np.zeros((C, 8, q)), np.zeros((C, 2, q))


@njit(cache=True, _nrt=False)
def _draw_gaussian(A, v, inv_diag, z, n):
    """v <- a draw of N(A^{-1} v, A^{-1}) with the standard normals z[:n]; A's lower triangle is overwritten
    by its Cholesky factor."""
    if not cholesky_forward(A, v, inv_diag, n):
        return False
    for i in range(n):
        v[i] += z[i]
    backward_transpose(A, v, inv_diag, n)
    return True


@njit(cache=True, fastmath=EXACT_ORDER, error_model="numpy", _nrt=False)
def _alpha_mu_step(J, q, r, nb, part, Sainv, Sainv_a0, S0inv, S0inv_mu0, Sinv_c, alpha_c, mu_c, A, v, inv_diag,
                   acc, z_alpha, z_mu):
    """alpha | beta, sigma2 and mu | beta, Sigma from the block sums of _stage_beta (normals z_alpha[:r],
    z_mu[:q])."""
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
        if not _draw_gaussian(A, v, inv_diag, z_alpha, r):
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
    if not _draw_gaussian(A, v, inv_diag, z_mu, q):
        nfail += 1
    for a in range(q):
        mu_c[a] = v[a]
    return nfail


@njit(cache=True, fastmath=EXACT_ORDER, error_model="numpy", _nrt=False)
def _sigma_step(J, q, nb, part, tau_kind, tau_a, tau_b, hc_inv_scale2, iw_df, iw_Psi, Sinv_c, lam_c, M, Bart, W,
                acc, z_bartlett, g_tau, g_acc):
    """Sigma_beta | beta, mu (Inverse-Wishart by Bartlett, or the diagonal's inverse gammas) into Sinv_c,
    with the normals z_bartlett (q(q-1)/2, Inverse-Wishart) and the gammas g_tau[:q] of shapes
    (df + J - a)/2 (Bartlett), a + J/2 (inverse gamma) or (J + nu)/2 (half-t, nu = tau_a; half-Cauchy nu = 1).
    Half-normal and exponential tau: tau_k^2' = (S_k/2) / g_tau[k] (shape (J - 1)/2), the full conditional
    under a flat prior on tau, accepted with the prior ratio against the exponential g_acc[k] (an independence
    Metropolis step, docs/scale-priors.md).  Huang-Wand: Psi = 2 nu diag(1/a) (a in lam_c), then
    a_k | Sigma ~ IG((nu + q)/2, nu (Sigma^{-1})_kk + 1/A_k^2) with the gammas g_acc[:q]."""
    nfail = 0
    if _wishart(tau_kind):
        hw = tau_kind == TAU_HUANGWAND
        nu = iw_df - (q - 1)
        for a in range(q):
            for b in range(a + 1):
                M[a, b] = iw_Psi[a, b] if not hw else (2.0 * nu / lam_c[a] if a == b else 0.0)
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
        i = 0
        for a in range(q):
            for b in range(a):
                Bart[a, b] = z_bartlett[i]
                i += 1
        for a in range(q):
            Bart[a, a] = math.sqrt(2.0 * g_tau[a])
        bartlett_precision(M, Bart, W, acc, Sinv_c, q)
        if hw:
            for a in range(q):
                lam_c[a] = (nu * Sinv_c[a, a] + hc_inv_scale2[a]) / g_acc[a]
    else:
        for a in range(q):
            acc[a] = 0.0
        for k in range(nb):
            for a in range(q):
                acc[a] += part[k, a]
        for a in range(q):
            if tau_kind == TAU_INVGAMMA:
                tau2 = (tau_b[a] + 0.5 * acc[a]) / g_tau[a]
            elif tau_kind == TAU_HALFCAUCHY:
                tau2 = (tau_a[a] / lam_c[a] + 0.5 * acc[a]) / g_tau[a]
            else:
                tau2 = 0.5 * acc[a] / g_tau[a]
                if not scale_log_ratio(tau_kind, tau_b[a], tau2, 1.0 / Sinv_c[a, a]) >= -g_acc[a]:
                    continue
            Sinv_c[a, a] = 1.0 / tau2
    return nfail


@njit(cache=True, fastmath=EXACT_ORDER, error_model="numpy", _nrt=False)
def _asis_step(q, nb, part, scale_step, prior_kind, S0inv, S0inv_mu0, prior_a, prior_b, mu_c, Sinv_c, A, v,
               inv_diag, Q, Bm, bvec, tau, tau_old, fac, z_location, z_scale, g_exp):
    """Interweaving (ASIS, Yu & Meng 2011) for the group-level parameters, from the block sums, with the
    normals z_location[:q] and z_scale[:q] and the standard exponentials g_exp[:q].

    Location: with eta_j = beta_j - mu held fixed (non-centred), mu | eta, y is Gaussian with
    precision S0^{-1} + sum_j X_j'X_j/s_j^2; it is drawn exactly (q normals).
    Scale (diagonal Sigma, ``scale_step``): with xi_j = (beta_j - mu)/tau held fixed, tau enters
    the likelihood linearly with precision Q and linear term b - Bm mu; each tau_k is redrawn
    from its Gaussian conditional and accepted with the ratio of its prior density on the real
    line, |tau|^{-2a-1} exp(-b/tau^2) for tau^2 ~ IG(a, b) (independence Metropolis-Hastings
    within Gibbs: one normal and one standard exponential per coordinate; docs/maths.md); exp(-b |tau|)
    for the exponential prior (``prior_kind``); (1 + b tau^2)^{-(a + 1)/2} for half-t(nu = a, A), b = 1/(nu A^2),
    its lambda integrated out (lambda | tau is redrawn after the move, so the pair moves as a block: a
    lambda held fixed pins tau^2 near lambda and the chain crawls when tau is near zero); for the half-normal, exp(-b tau^2), the conditional is
    Gaussian and drawn exactly (the exponential is drawn and unused: fixed counts; docs/scale-priors.md).
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
    if not _draw_gaussian(A, v, inv_diag, z_location, q):
        return False
    if scale_step:
        # the sums over d_j = beta_j - mu, to eta_j = d_j / tau
        for a in range(q):
            bvec[a] = bvec[a] / tau_old[a]
            for b in range(q):
                Bm[a, b] = Bm[a, b] / tau_old[a]
            for b in range(a + 1):
                Q[a, b] = Q[a, b] / tau_old[a] / tau_old[b]
        for a in range(q):
            for b in range(q):
                bvec[a] -= Bm[a, b] * v[b]
            for b in range(a):
                Q[b, a] = Q[a, b]
        for a in range(q):
            tau[a] = tau_old[a]
        for a in range(q):
            z = z_scale[a]
            e = g_exp[a]
            prec = Q[a, a]
            if not prec > 0.0:
                continue
            lin = bvec[a]
            for b in range(q):
                if b != a:
                    lin -= Q[a, b] * tau[b]
            if prior_kind == TAU_HALFNORMAL:
                prec = prec + 2.0 * prior_b[a]
                proposal = lin / prec + z / math.sqrt(prec)
                if proposal != 0.0:
                    tau[a] = proposal
                continue
            proposal = lin / prec + z / math.sqrt(prec)
            if proposal == 0.0:
                continue
            if prior_kind == TAU_EXPONENTIAL:
                log_ratio = -prior_b[a] * (abs(proposal) - abs(tau[a]))
            elif prior_kind == TAU_HALFCAUCHY:  # the marginal half-t, lambda integrated out (then redrawn)
                log_ratio = -0.5 * (prior_a[a] + 1.0) * (math.log1p(proposal * proposal * prior_b[a])
                                                        - math.log1p(tau[a] * tau[a] * prior_b[a]))
            else:
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


@njit(cache=True, fastmath=EXACT_ORDER, error_model="numpy", _nrt=False)
def _spread_steps(J, q, r, nb, part, asis, group_variance, tau_kind, tau_a, tau_b, hc_inv_scale2, iw_df, iw_Psi,
                  S0inv, S0inv_mu0, Sinv_c, lam_c, mu_c, A, vec, qq, small, prior_ab, zh, g):
    """The steps after the spread stage, from its block sums: Sigma | beta, mu (_sigma_step), with ``asis`` the
    interweaving move's new mu and scales (_asis_step; mu_old, tau_old and fac left in ``small``), then the
    half-t lambdas (lam | tau^2 ~ IG((nu + 1)/2, 1/s^2 + nu/tau^2)).  zh: the sweep's hyperparameter normals, g its
    gammas, at sweep_layout's offsets; the workspaces as _chain_workspaces makes them, one chain's.  Returns
    (failed factorisations, whether the move shifts the beta_j)."""
    layout = sweep_layout(q, r, J, tau_kind, asis, group_variance, SIGMA_INVGAMMA)  # offsets before sigma's
    o_bartlett, o_location, o_scale, o_exp, o_lambda = layout[2], layout[3], layout[4], layout[6], layout[7]
    scale_step = asis and not _wishart(tau_kind)
    v, inv_diag, acc = vec[0], vec[1], vec[2]
    M, Bart, W, Q, Bm = qq[0], qq[1], qq[2], qq[3], qq[4]
    mu_old, tau, tau_old, fac, bvec = small[0], small[1], small[2], small[3], small[4]
    nfail = _sigma_step(J, q, nb, part[:, _spread_at(q):], tau_kind, tau_a, tau_b, hc_inv_scale2, iw_df, iw_Psi,
                        Sinv_c, lam_c, M, Bart, W, acc, zh[o_bartlett:], g, g[o_lambda:])
    shift = False
    if asis:
        for a in range(q):
            mu_old[a] = mu_c[a]
            tau_old[a] = 1.0 / math.sqrt(Sinv_c[a, a]) if scale_step else 1.0
        _hyper_prior(q, tau_kind, tau_a, tau_b, hc_inv_scale2, prior_ab)
        shift = _asis_step(q, nb, part, scale_step, tau_kind, S0inv, S0inv_mu0, prior_ab[0], prior_ab[1], mu_c,
                           Sinv_c, A, v, inv_diag, Q, Bm, bvec, tau, tau_old, fac, zh[o_location:], zh[o_scale:],
                           g[o_exp:])
    if tau_kind == TAU_HALFCAUCHY:
        for a in range(q):
            lam_c[a] = (hc_inv_scale2[a] + tau_a[a] * Sinv_c[a, a]) / g[o_lambda + a]
    return nfail, shift


@njit(cache=True, fastmath=EXACT_ORDER, error_model="numpy", _nrt=False)
def _finish_step(n_set, q, r, nb, part, group_variance, sigma_b, sigma_kind, sigma_par, Sinv_c, alpha_c, mu_c,
                 sigma2_c, M, acc, g_sigma, k, out_scale, out_ref, out_alpha_c, out_mu_c, out_Sigma_c, out_sigma2_c):
    """The shared sigma^2 | everything from the blocks' RSS sums (gamma g_sigma[0] of shape a + n/2), set in
    sigma2_c[:n_set] (J; or 1, when the blocks copy it to their groups themselves), and the stores of draw
    k (k >= 0).  A prior on sigma other than IG on sigma^2 (``sigma_kind``): the draw is the full conditional
    under a flat prior on sigma (a = -1/2, b = 0), accepted with the prior ratio against the exponential
    g_sigma[1] (an independence Metropolis step, docs/scale-priors.md)."""
    if not group_variance:
        total = 0.0
        for b in range(nb):
            total += part[b, 0]
        s2 = (sigma_b + 0.5 * total) / g_sigma[0]
        if sigma_kind != SIGMA_INVGAMMA:
            if not noise_accept(sigma_kind, sigma_par, s2, sigma2_c[0], g_sigma[1]):
                s2 = sigma2_c[0]
        for j in range(n_set):
            sigma2_c[j] = s2
    if k >= 0:
        for a in range(r):
            out_alpha_c[k, a] = alpha_c[a] / out_scale[q + a] + out_ref[q + a]
        for a in range(q):
            out_mu_c[k, a] = mu_c[a] / out_scale[a] + out_ref[a]
        # Sigma = (Sigma^{-1})^{-1}, via Cholesky of the precision
        for a in range(q):
            for b in range(a + 1):
                M[a, b] = Sinv_c[a, b]
        cholesky_lower(M, q)
        for b in range(q):
            cholesky_inverse_column(M, acc, b, q)
            if out_Sigma_c.shape[2] == q:
                for a in range(q):
                    out_Sigma_c[k, a, b] = acc[a] / (out_scale[a] * out_scale[b])
            else:  # a diagonal Sigma: its diagonal, tau^2, in column 0
                out_Sigma_c[k, b, 0] = acc[b] / (out_scale[b] * out_scale[b])
        if not group_variance:
            out_sigma2_c[k, 0] = sigma2_c[0]


@njit(cache=True, fastmath=EXACT_ORDER, error_model="numpy", _nrt=False)
def _hyper_prior(q, tau_kind, tau_a, tau_b, hc_inv_scale2, prior_ab):
    """The prior parameters (a, b) the interweaving scale step targets: tau_k^2 ~ IG(a, b); for half-t,
    nu in a and 1/(nu A^2) in b (its marginal density, not the IG given lambda); the half-normal's
    1/(2 s^2) or the exponential's rate in b."""
    for a in range(q):
        if tau_kind == TAU_INVGAMMA:
            prior_ab[0, a] = tau_a[a]
            prior_ab[1, a] = tau_b[a]
        elif tau_kind == TAU_HALFCAUCHY:
            prior_ab[0, a] = tau_a[a]
            prior_ab[1, a] = hc_inv_scale2[a] / tau_a[a]
        else:
            prior_ab[0, a] = 0.0
            prior_ab[1, a] = tau_b[a]



@njit(cache=True, fastmath=EXACT_ORDER, error_model="numpy", _nrt=False)
def _sinv_mu(q, Sinv_c, mu_c, out):
    for a in range(q):
        s = 0.0
        for b in range(q):
            s += Sinv_c[a, b] * mu_c[b]
        out[a] = s
