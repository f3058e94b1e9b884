"""NumPy twin of kernels/rowhier/steps.py: the shared steps of the row-weighted one-factor hierarchical sweep
(beta_j, alpha, mu, every group-scale prior, the interweaving), given the per-group weighted statistics G
(J, p, p) and h (J, p).  Same Generators' calls in the same order as the kernel (its docstring), the same
algebra (reference.gaussian_draw); used by the Student-t hierarchical twin (and meant for the binary one, whose
reference.py still holds its own copy of these steps)."""

from __future__ import annotations

import numpy as np

from .reference import (TAU_EXPONENTIAL, TAU_HALFCAUCHY, TAU_HALFNORMAL, TAU_INVGAMMA, TAU_INVWISHART, gaussian_draw,
                        scale_log_ratio)


def group_predictor(Xv, Xp, codes, beta, alpha):
    """eta_i = x_vi' beta_j[i] + x_pi' alpha."""
    return (Xv * beta[codes]).sum(axis=1) + Xp @ alpha


def asis_location(G, h, q, beta, alpha, mu, S0inv, S0inv_mu0, z):
    """mu with beta_j - mu fixed (returns the new beta and mu)."""
    eta = beta - mu
    xr = h[:, :q] - G[:, :q, q:] @ alpha - np.einsum("jab,jb->ja", G[:, :q, :q], eta)
    mu = gaussian_draw(S0inv + G[:, :q, :q].sum(axis=0), S0inv_mu0 + xr.sum(axis=0), z)
    return mu + eta, mu


def asis_scale(G, h, q, beta, alpha, mu, tau2, tau_kind, tau_a, tau_b, lam, z, expo):
    """Each tau_k with (beta_j - mu)/tau fixed, Metropolis on the prior's ratio (returns beta, tau2)."""
    tau_old = np.sqrt(tau2)
    eta = (beta - mu) / tau_old
    XX = G[:, :q, :q]
    xr = h[:, :q] - G[:, :q, q:] @ alpha - XX @ mu
    Q = np.einsum("ja,jab,jb->ab", eta, XX, eta)
    b = (eta * xr).sum(axis=0)
    tau = tau_old.copy()
    for a in range(q):
        prec = Q[a, a]
        lin = b[a] - Q[a] @ tau + Q[a, a] * tau[a]
        if prec > 0.0:
            if tau_kind == TAU_HALFNORMAL:
                prec2 = prec + 2.0 * tau_b[a]
                tau[a] = lin / prec2 + z[a] / np.sqrt(prec2)
            else:
                proposal = lin / prec + z[a] / np.sqrt(prec)
                if proposal != 0.0:
                    if tau_kind == TAU_EXPONENTIAL:
                        log_ratio = -tau_b[a] * (abs(proposal) - abs(tau[a]))
                    elif tau_kind == TAU_HALFCAUCHY:  # the marginal half-t (1/A^2 in tau_b here)
                        c = tau_b[a] / tau_a[a]
                        log_ratio = -0.5 * (tau_a[a] + 1.0) * (np.log1p(proposal * proposal * c)
                                                               - np.log1p(tau[a] * tau[a] * c))
                    else:
                        log_ratio = (-(2.0 * tau_a[a] + 1.0) * (np.log(abs(proposal)) - np.log(abs(tau[a])))
                                     - tau_b[a] * (1.0 / proposal**2 - 1.0 / tau[a] ** 2))
                    if log_ratio >= -expo[a]:
                        tau[a] = proposal
    return mu + (tau / tau_old) * (beta - mu), tau**2


def hier_steps(G, h, q, J, S0inv, S0inv_mu0, Sainv, Sainv_a0, tau_kind, tau_a, tau_b, hc_inv_scale2, iw_df, iw_Psi,
               asis, beta, alpha, mu, Sinv, lam, ng, gg):
    """The kernel's hier_steps: returns (beta, alpha, mu, Sinv, lam, Sigma) after one pass (ng, gg the chain's
    normal and gamma Generators)."""
    r = G.shape[1] - q
    lam = lam.copy()
    for j in range(J):
        A = Sinv + G[j, :q, :q]
        b = Sinv @ mu + h[j, :q] - G[j, :q, q:] @ alpha
        beta[j] = gaussian_draw(A, b, ng.standard_normal(q))
    if r > 0:
        A = Sainv + G[:, q:, q:].sum(axis=0)
        b = Sainv_a0 + (h[:, q:] - np.einsum("jba,ja->jb", G[:, q:, :q], beta)).sum(axis=0)
        alpha = gaussian_draw(A, b, ng.standard_normal(r))
    mu = gaussian_draw(S0inv + J * Sinv, S0inv_mu0 + Sinv @ beta.sum(axis=0), ng.standard_normal(q))
    d = beta - mu
    if tau_kind == TAU_INVWISHART:
        L = np.linalg.cholesky(iw_Psi + d.T @ d)
        B = np.zeros((q, q))
        B[np.arange(q), np.arange(q)] = [np.sqrt(2.0 * gg.standard_gamma(0.5 * (iw_df + J - a))) for a in range(q)]
        B[np.tril_indices(q, -1)] = ng.standard_normal(q * (q - 1) // 2)
        Wm = np.linalg.solve(L.T, B)
        Sinv = Wm @ Wm.T
        Sigma = np.linalg.inv(Sinv)
        if asis:
            beta, mu = asis_location(G, h, q, beta, alpha, mu, S0inv, S0inv_mu0, ng.standard_normal(q))
        return beta, alpha, mu, Sinv, lam, Sigma
    ss = (d * d).sum(axis=0)
    tau2 = 1.0 / np.diag(Sinv)
    for a in range(q):
        if tau_kind == TAU_INVGAMMA:
            tau2[a] = (tau_b[a] + 0.5 * ss[a]) / gg.standard_gamma(tau_a[a] + 0.5 * J)
        elif tau_kind == TAU_HALFCAUCHY:
            tau2[a] = (tau_a[a] / lam[a] + 0.5 * ss[a]) / gg.standard_gamma(0.5 * (J + tau_a[a]))
        else:
            proposal = 0.5 * ss[a] / gg.standard_gamma(0.5 * (J - 1))
            if scale_log_ratio(tau_kind, tau_b[a], proposal, tau2[a]) >= -gg.standard_gamma(1.0):
                tau2[a] = proposal
    if asis:
        beta, mu = asis_location(G, h, q, beta, alpha, mu, S0inv, S0inv_mu0, ng.standard_normal(q))
        z = ng.standard_normal(q)
        expo = [gg.standard_gamma(1.0) for _ in range(q)]
        beta, tau2 = asis_scale(G, h, q, beta, alpha, mu, tau2, tau_kind, tau_a,
                                hc_inv_scale2 if tau_kind == TAU_HALFCAUCHY else tau_b, lam, z, expo)
    if tau_kind == TAU_HALFCAUCHY:
        for a in range(q):
            lam[a] = (hc_inv_scale2[a] + tau_a[a] / tau2[a]) / gg.standard_gamma(0.5 * (tau_a[a] + 1.0))
    return beta, alpha, mu, np.diag(1.0 / tau2), lam, np.diag(tau2)


TAU_KINDS = {"InvGamma": TAU_INVGAMMA, "HalfCauchy": TAU_HALFCAUCHY, "HalfStudentT": TAU_HALFCAUCHY,
             "InvWishart": TAU_INVWISHART, "HalfNormal": TAU_HALFNORMAL, "Exponential": TAU_EXPONENTIAL}


def tau_args(prior, q: int):
    """The kernels' (tau_kind, tau_a, tau_b, hc_inv_scale2, iw_df, iw_Psi) of a resolved group-scale prior in the
    original coordinates (fields tau_kind, tau_a, tau_b, tau_scale, tau_nu, tau_rate, iw_df, iw_scale):
    InvGamma (a, b); half-t with nu in tau_a (1: half-Cauchy) and 1/A^2; half-normal tau_b = 1/(2 s^2);
    exponential tau_b = the rate; InvWishart (df, Psi)."""
    if prior.tau_kind not in TAU_KINDS:
        raise ValueError(f"the row-weighted hierarchical sweep takes InvGamma, HalfCauchy, HalfStudentT, HalfNormal, "
                         f"Exponential or InvWishart group scales, not {prior.tau_kind}")
    kind = TAU_KINDS[prior.tau_kind]
    ones = np.ones(q)
    tau_a, tau_b, hc = ones, ones, ones
    if kind == TAU_INVGAMMA:
        tau_a, tau_b = prior.tau_a, prior.tau_b
    elif kind == TAU_HALFCAUCHY:
        tau_a = ones if prior.tau_nu is None else prior.tau_nu
        hc = 1.0 / prior.tau_scale**2
    elif kind == TAU_HALFNORMAL:
        tau_b = 0.5 / prior.tau_scale**2
    elif kind == TAU_EXPONENTIAL:
        tau_b = prior.tau_rate
    iw_df, iw_Psi = (prior.iw_df, prior.iw_scale) if kind == TAU_INVWISHART else (0.0, np.eye(q))
    return (kind, np.asarray(tau_a, dtype=float), np.asarray(tau_b, dtype=float), np.asarray(hc, dtype=float),
            float(iw_df), np.ascontiguousarray(iw_Psi, dtype=float))
