"""Pure-NumPy reference samplers: the same models as the Numba kernels.

Vectorised over chains with batched linear algebra; the only Python loop over
chains draws each chain's random numbers for a whole chunk at once, from the
same two per-chain streams (normal, gamma) the kernels use, in the same order.
They therefore reproduce the kernels' chains up to rounding, and are the
baseline the benchmarks compare against.
"""

from __future__ import annotations

import numpy as np

from .kernels.flat import flat_gamma_shapes


def normal_block(gens, n_iter: int, width: int) -> np.ndarray:
    """(chains, n_iter, width) standard normals, each chain from its own stream."""
    return np.stack([g.standard_normal((n_iter, width)) for g in gens])


def gamma_block(gens, n_iter: int, shapes) -> np.ndarray:
    """(chains, n_iter, len(shapes)) standard gammas with per-column shapes."""
    shapes = np.broadcast_to(np.atleast_1d(np.asarray(shapes, dtype=float)), (n_iter, np.size(shapes)))
    return np.stack([g.standard_gamma(shapes) for g in gens])


def gaussian_draw(A, b, z):
    """Batched draw of N(A^{-1} b, A^{-1}) as L^{-T}(L^{-1} b + z), A = L L' (same algebra as the kernels)."""
    L_inv = np.linalg.inv(np.linalg.cholesky(A))
    w = np.einsum("...ij,...j->...i", L_inv, b) + z
    return np.einsum("...ji,...j->...i", L_inv, w)


def flat_gibbs(
    inputs,
    gamma_state, sigma2_state, mu_state, tau2_state, lam_state, normal_gens, gamma_gens,
    n_iter, thin, out_start, out_gamma, out_sigma2, out_mu, out_tau2,
):
    """NumPy twin of gibbsreg.kernels.flat.flat_gibbs (same arguments, minus workspaces)."""
    (G, h, rr, P, Pm, sigma_shape, b0, conjugate, lam, gdiag, c_u, e_u, u_m, exch_mask, exch_scale, exch_ref, mu0,
     mu_prec, tau_kind, tau_a, tau_b, hc_inv_scale2, sigma_kind, sigma_par, out_map, out_ref) = inputs
    n_chains, p = gamma_state.shape
    store = out_gamma.shape[1] > 0
    exch = exch_mask > 0
    n_exch = float(exch.sum())
    shapes = flat_gamma_shapes(float(sigma_shape), n_exch, tau_kind, float(tau_a), sigma_kind, sigma_par)
    z = normal_block(normal_gens, n_iter, p + int(n_exch > 0))
    gam = gamma_block(gamma_gens, n_iter, shapes)
    mu = mu_state.copy()
    tau2 = tau2_state.copy()
    s2 = sigma2_state.copy()
    g = gamma_state.copy()
    for t in range(n_iter):
        if n_exch == 0:
            if conjugate:
                g = c_u + e_u + np.sqrt(s2)[:, None] * z[:, t, :p]
            else:
                inv_s2 = (1.0 / s2)[:, None]
                d = lam + gdiag * inv_s2
                g = (c_u + e_u * inv_s2) / d + z[:, t, :p] / np.sqrt(d)
            rss = rr - 2.0 * g @ e_u + (gdiag * g * g).sum(axis=1)
        else:
            inv_s2 = 1.0 / s2
            A = P + G * inv_s2[:, None, None]
            b = Pm + h * inv_s2[:, None]
            w = exch / (exch_scale**2 * tau2[:, None])
            A = A + w[:, :, None] * np.eye(p)
            b = b + exch * (mu[:, None] - exch_ref) / (exch_scale * tau2[:, None])
            g = gaussian_draw(A, b, z[:, t, :p])
            rss = rr - 2.0 * g @ h + np.einsum("ci,ij,cj->c", g, G, g)
        rss = np.maximum(rss, 0.0)
        scale = b0 + 0.5 * rss
        if conjugate:
            scale += 0.5 * (lam * (g - u_m) ** 2).sum(axis=1)
        if sigma_kind == SIGMA_HALFT:  # exact: lambda | sigma^2, then sigma^2 | beta, lambda (kernels/flat.py)
            lam_sigma = (sigma_par[0] / s2 + sigma_par[0] / sigma_par[1]) / gam[:, t, -1]
            scale = scale + sigma_par[0] / lam_sigma
        if sigma_kind in (SIGMA_INVGAMMA, SIGMA_HALFT):
            s2 = scale / gam[:, t, 0]
        else:  # the independence Metropolis step (kernels/scales.py noise_accept)
            proposal = scale / gam[:, t, 0]
            accept = (noise_log_prior(sigma_kind, sigma_par, proposal)
                      - noise_log_prior(sigma_kind, sigma_par, s2)) >= -gam[:, t, -1]
            s2 = np.where(accept, proposal, s2)
        if n_exch > 0:
            beta_k = (exch_ref + g / exch_scale)[:, exch]
            prec = mu_prec + n_exch / tau2
            mu = (mu_prec * mu0 + beta_k.sum(axis=1) / tau2) / prec + z[:, t, p] / np.sqrt(prec)
            ss = ((beta_k - mu[:, None]) ** 2).sum(axis=1)
            if tau_kind == 0:
                tau2 = (tau_b + 0.5 * ss) / gam[:, t, 1]
            else:
                tau2 = (1.0 / lam_state + 0.5 * ss) / gam[:, t, 1]
                lam_state[:] = (hc_inv_scale2 + 1.0 / tau2) / gam[:, t, 2]
        if store and (t + 1) % thin == 0:
            k = out_start + (t + 1) // thin - 1
            # summed column by column, then the reference point: each chain's row gets the same
            # rounding whatever the number of chains (a matrix product's blocking could change it)
            acc = g[:, :1] * out_map[:, 0]
            for j in range(1, g.shape[1]):
                acc += g[:, j:j + 1] * out_map[:, j]
            out_gamma[:, k] = acc + out_ref
            out_sigma2[:, k] = s2
            if n_exch > 0:
                out_mu[:, k] = mu
                out_tau2[:, k] = tau2
    gamma_state[:] = g
    sigma2_state[:] = s2
    mu_state[:] = mu
    tau2_state[:] = tau2
    return 0


TAU_INVGAMMA, TAU_HALFCAUCHY, TAU_INVWISHART, TAU_HALFNORMAL, TAU_EXPONENTIAL = 0, 1, 2, 3, 4
TAU_HUANGWAND = 5  # as kernels/hier/layout.py: inverse-Wishart with Psi = 2 nu diag(1/a), a_k ~ IG(1/2, 1/A_k^2)
SIGMA_INVGAMMA, SIGMA_HALFNORMAL, SIGMA_HALFT, SIGMA_EXPONENTIAL = 0, 1, 2, 3  # as kernels/scales.py


def scale_log_ratio(tau_kind, c, tau2_new, tau2_old):
    """log p(tau_new) - log p(tau_old): half-normal (c = 1/(2 s^2)) or exponential (c = rate) prior on tau."""
    if tau_kind == TAU_HALFNORMAL:
        return -c * (tau2_new - tau2_old)
    return -c * (np.sqrt(tau2_new) - np.sqrt(tau2_old))


def noise_log_prior(sigma_kind, sigma_par, s2):
    """log p(sigma) up to a constant at sigma^2 = s2 (kernels/hier/steps._noise_log_prior)."""
    if sigma_kind == SIGMA_HALFNORMAL:
        return -sigma_par[0] * s2
    if sigma_kind == SIGMA_EXPONENTIAL:
        return -sigma_par[0] * np.sqrt(s2)
    return -0.5 * (sigma_par[0] + 1.0) * np.log1p(s2 / sigma_par[1])


def noise_args(prior) -> tuple[int, np.ndarray]:
    """The kernels' (sigma_kind, sigma_par) of a resolved prior's noise fields (sigma_kind, sigma_scale, sigma_nu,
    sigma_rate; absent means inverse gamma).  sigma is not rescaled: y keeps its units."""
    kind = getattr(prior, "sigma_kind", "InvGamma")
    if kind == "HalfNormal":
        return SIGMA_HALFNORMAL, np.array([0.5 / prior.sigma_scale**2, 0.0])
    if kind == "HalfStudentT":
        return SIGMA_HALFT, np.array([prior.sigma_nu, prior.sigma_nu * prior.sigma_scale**2])
    if kind == "Exponential":
        return SIGMA_EXPONENTIAL, np.array([prior.sigma_rate, 0.0])
    return SIGMA_INVGAMMA, np.zeros(2)


def _group_residual_stats(G, h, q, alpha):
    """X_j'(y_j - W_j alpha) for every group (C, J, q) in scaled coordinates."""
    return h[None, :, :q] - np.einsum("jab,cb->cja", G[:, :q, q:], alpha)


def _asis_scale(G, h, q, beta, alpha, mu, tau2, w, prior_a, prior_b, z, expo, tau_kind=TAU_INVGAMMA):
    """NumPy twin of the kernel's interweaving step for tau given mu; updates beta, returns tau^2."""
    tau_old = np.sqrt(tau2)
    eta = (beta - mu[:, None, :]) / tau_old[:, None, :]
    XX = G[:, :q, :q]
    xr = _group_residual_stats(G, h, q, alpha) - np.einsum("jab,cb->cja", XX, mu)
    Q = np.einsum("cj,cja,jab,cjb->cab", w, eta, XX, eta)
    b = np.einsum("cj,cja,cja->ca", w, eta, xr)
    tau = tau_old.copy()
    for a in range(q):
        prec = Q[:, a, a]
        lin = b[:, a] - np.einsum("cl,cl->c", Q[:, a, :], tau) + Q[:, a, a] * tau[:, a]
        with np.errstate(divide="ignore", invalid="ignore"):
            if tau_kind == TAU_HALFNORMAL:  # Gaussian times Gaussian: drawn exactly
                prec2 = prec + 2.0 * prior_b[:, a]
                proposal = lin / prec2 + z[:, a] / np.sqrt(prec2)
                log_ratio = np.zeros_like(proposal)
            else:
                proposal = lin / prec + z[:, a] / np.sqrt(prec)
            if tau_kind == TAU_EXPONENTIAL:
                log_ratio = -prior_b[:, a] * (np.abs(proposal) - np.abs(tau[:, a]))
            elif tau_kind == TAU_HALFCAUCHY:  # the marginal half-t (nu in prior_a, 1/(nu A^2) in prior_b)
                log_ratio = -0.5 * (prior_a[:, a] + 1.0) * (np.log1p(proposal**2 * prior_b[:, a])
                                                           - np.log1p(tau[:, a] ** 2 * prior_b[:, a]))
            elif tau_kind != TAU_HALFNORMAL:
                log_ratio = (-(2.0 * prior_a[:, a] + 1.0) * (np.log(np.abs(proposal)) - np.log(np.abs(tau[:, a])))
                             - prior_b[:, a] * (1.0 / proposal**2 - 1.0 / tau[:, a] ** 2))
        accept = (prec > 0) & (proposal != 0) & ((log_ratio >= -expo[:, a]) | (tau_kind == TAU_HALFNORMAL))
        tau[:, a] = np.where(accept, proposal, tau[:, a])
    beta[:] = mu[:, None, :] + (tau / tau_old)[:, None, :] * (beta - mu[:, None, :])
    return tau**2


def _asis_location(G, h, q, beta, alpha, mu, w, S0inv, S0inv_mu0, z):
    """NumPy twin of the kernel's interweaving step for mu alone (beta_j = mu + eta_j)."""
    XX = G[:, :q, :q]
    eta = beta - mu[:, None, :]
    xr = _group_residual_stats(G, h, q, alpha) - np.einsum("jab,cjb->cja", XX, eta)
    A = S0inv + np.einsum("cj,jab->cab", w, XX)
    b = S0inv_mu0 + np.einsum("cj,cja->ca", w, xr)
    mu[:] = gaussian_draw(A, b, z)
    beta[:] = mu[:, None, :] + eta


def hier_gamma_shapes(tau_kind, tau_a, q, J, iw_df, sigma_a, nj, group_variance, asis,
                      sigma_kind=SIGMA_INVGAMMA) -> np.ndarray:
    """Shapes of the gamma draws of one hierarchical iteration, in the kernel's order (kernels/hier/layout.py
    sweep_layout): tau^2 (or Bartlett), the interweaving exponentials, the half-t lambdas (shape (nu + 1)/2,
    nu = tau_a) or the Metropolis steps' exponentials, sigma^2, the shared sigma's exponential."""
    wishart = tau_kind in (TAU_INVWISHART, TAU_HUANGWAND)
    exp = [1.0] * q if asis and not wishart else []
    nu = np.broadcast_to(np.asarray(tau_a, dtype=float), (q,))
    if tau_kind == TAU_INVGAMMA:
        sig = np.concatenate([np.asarray(tau_a, dtype=float) + 0.5 * J, exp])
    elif tau_kind == TAU_HALFCAUCHY:
        sig = np.concatenate([0.5 * (J + nu), exp, 0.5 * (nu + 1.0)])
    elif tau_kind in (TAU_HALFNORMAL, TAU_EXPONENTIAL):  # the flat-prior conditional, then the acceptances
        sig = np.concatenate([np.full(q, 0.5 * (J - 1)), exp, np.ones(q)])
    else:
        sig = 0.5 * (iw_df + J - np.arange(q))
        if tau_kind == TAU_HUANGWAND:  # the a_k, shape (nu + q)/2 = (df + 1)/2
            sig = np.concatenate([sig, np.full(q, 0.5 * (iw_df - (q - 1) + q))])
    noise = sigma_a + 0.5 * np.asarray(nj, dtype=float) if group_variance else np.array([sigma_a + 0.5 * np.sum(nj)])
    accept = [1.0] if sigma_kind != SIGMA_INVGAMMA else []
    return np.concatenate([sig, noise, accept])


def hier_gibbs(
    inputs,
    beta, alpha, mu, Sinv, lam, sigma2,
    normal_gens, gamma_gens,
    n_iter, thin, out_start,
    out_beta, out_alpha, out_mu, out_Sigma, out_sigma2,
):
    """NumPy twin of gibbsreg.kernels.hier.hier_gibbs, batched over chains and groups (draws stored in the
    original coordinates, the same layout); ``inputs`` a kernels.hier.HierInputs."""
    (G, h, rr, nj, q, S0inv, S0inv_mu0, Sainv, Sainv_a0, tau_kind, tau_a, tau_b, hc_inv_scale2, iw_df, iw_Psi,
     sigma_a, sigma_b, sigma_kind, sigma_par, group_variance, asis, out_scale, out_ref) = inputs
    C, J, _ = beta.shape
    p = G.shape[1]
    r = p - q
    iw = tau_kind in (TAU_INVWISHART, TAU_HUANGWAND)
    n_offdiag = q * (q - 1) // 2 if iw else 0
    n_base = J * q + r + q + n_offdiag
    n_normal = n_base + ((q if iw else 2 * q) if asis else 0)  # location step q, scale step q
    shapes = hier_gamma_shapes(tau_kind, tau_a, q, J, iw_df, sigma_a, nj, group_variance, asis, sigma_kind)
    Z = normal_block(normal_gens, n_iter, n_normal)
    Gam = gamma_block(gamma_gens, n_iter, shapes)
    n_exp = q if (asis and not iw) else 0
    n_sig = q + n_exp + (q if tau_kind in (TAU_HALFCAUCHY, TAU_HALFNORMAL, TAU_EXPONENTIAL, TAU_HUANGWAND) else 0)
    store = out_mu.shape[1] > 0
    store_beta = out_beta.shape[1] > 0
    Gvv, Gvp, Gpp = G[:, :q, :q], G[:, :q, q:], G[:, q:, q:]
    hv, hp = h[:, :q], h[:, q:]
    low = np.tril_indices(q, -1)
    sv, sp, rv, rp = out_scale[:q], out_scale[q:], out_ref[:q], out_ref[q:]
    outer = np.outer(sv, sv)
    for t in range(n_iter):
        z = Z[:, t]
        inv = 1.0 / sigma2  # (C, J)
        Sinv_mu = np.einsum("cab,cb->ca", Sinv, mu)
        A = Sinv[:, None] + Gvv[None] * inv[..., None, None]
        rhs = Sinv_mu[:, None, :] + (hv[None] - np.einsum("jab,cb->cja", Gvp, alpha)) * inv[..., None]
        beta[:] = gaussian_draw(A, rhs, z[:, : J * q].reshape(C, J, q))
        if r > 0:
            A = Sainv + np.einsum("cj,jab->cab", inv, Gpp)
            resid = hp[None] - np.einsum("jba,cjb->cja", Gvp, beta)
            rhs = Sainv_a0 + np.einsum("cj,cja->ca", inv, resid)
            alpha[:] = gaussian_draw(A, rhs, z[:, J * q: J * q + r])
        A = S0inv + J * Sinv
        rhs = S0inv_mu0 + np.einsum("cab,cb->ca", Sinv, beta.sum(axis=1))
        mu[:] = gaussian_draw(A, rhs, z[:, J * q + r: J * q + r + q])
        g = Gam[:, t]
        d = beta - mu[:, None, :]
        if iw:
            nu = iw_df - (q - 1)
            Psi = iw_Psi if tau_kind == TAU_INVWISHART else np.einsum("ca,ab->cab", 2.0 * nu / lam, np.eye(q))
            M = np.linalg.cholesky(Psi + np.einsum("cja,cjb->cab", d, d))
            B = np.zeros((C, q, q))
            B[:, low[0], low[1]] = z[:, J * q + r + q: n_base]
            B[:, np.arange(q), np.arange(q)] = np.sqrt(2.0 * g[:, :q])
            W = np.linalg.solve(np.swapaxes(M, 1, 2), B)
            Sinv[:] = W @ np.swapaxes(W, 1, 2)
            if tau_kind == TAU_HUANGWAND:
                lam[:] = (nu * np.diagonal(Sinv, axis1=1, axis2=2) + hc_inv_scale2) / g[:, q: 2 * q]
            if asis:
                _asis_location(G, h, q, beta, alpha, mu, 1.0 / sigma2, S0inv, S0inv_mu0, z[:, n_base:])
        else:
            ss = np.einsum("cja,cja->ca", d, d)
            if tau_kind == TAU_INVGAMMA:
                tau2 = (tau_b + 0.5 * ss) / g[:, :q]
            elif tau_kind == TAU_HALFCAUCHY:
                tau2 = (tau_a / lam + 0.5 * ss) / g[:, :q]
            else:  # independence Metropolis from the flat-prior conditional
                tau2_old = 1.0 / np.diagonal(Sinv, axis1=1, axis2=2)
                tau2 = 0.5 * ss / g[:, :q]
                accept = scale_log_ratio(tau_kind, tau_b, tau2, tau2_old) >= -g[:, q + n_exp: 2 * q + n_exp]
                tau2 = np.where(accept, tau2, tau2_old)
            if asis:
                _asis_location(G, h, q, beta, alpha, mu, 1.0 / sigma2, S0inv, S0inv_mu0, z[:, n_base: n_base + q])
                if tau_kind == TAU_HALFCAUCHY:
                    pa, pb = np.broadcast_to(tau_a, tau2.shape), np.broadcast_to(hc_inv_scale2 / tau_a, tau2.shape)
                else:
                    pa, pb = np.broadcast_to(tau_a, tau2.shape), np.broadcast_to(tau_b, tau2.shape)
                tau2 = _asis_scale(G, h, q, beta, alpha, mu, tau2, 1.0 / sigma2, pa, pb,
                                   z[:, n_base + q:], g[:, q: q + n_exp], tau_kind)
            if tau_kind == TAU_HALFCAUCHY:
                lam[:] = (hc_inv_scale2 + tau_a / tau2) / g[:, q + n_exp: 2 * q + n_exp]
            Sinv[:] = 0.0
            Sinv[:, np.arange(q), np.arange(q)] = 1.0 / tau2
        theta = np.concatenate([beta, np.broadcast_to(alpha[:, None, :], (C, J, r))], axis=2)
        rss = np.maximum(rr - 2.0 * np.einsum("cja,ja->cj", theta, h) + np.einsum("cja,jab,cjb->cj", theta, G, theta), 0.0)
        if group_variance:
            sigma2[:] = (sigma_b + 0.5 * rss) / g[:, n_sig:]
        else:
            s2 = (sigma_b + 0.5 * rss.sum(axis=1)) / g[:, n_sig]
            if sigma_kind != SIGMA_INVGAMMA:  # independence Metropolis from the flat-prior conditional
                old = sigma2[:, 0]
                keep = ~(noise_log_prior(sigma_kind, sigma_par, s2) - noise_log_prior(sigma_kind, sigma_par, old)
                         >= -g[:, n_sig + 1])
                s2 = np.where(keep, old, s2)
            sigma2[:] = s2[:, None]
        if store and (t + 1) % thin == 0:
            k = out_start + (t + 1) // thin - 1
            if store_beta:
                out_beta[:, k] = beta / sv + rv
            out_alpha[:, k] = alpha / sp + rp
            out_mu[:, k] = mu / sv + rv
            Sigma = np.linalg.inv(Sinv) / outer
            out_Sigma[:, k] = Sigma if out_Sigma.shape[3] == q else np.diagonal(Sigma, axis1=1, axis2=2)[..., None]
            out_sigma2[:, k] = sigma2[:, : out_sigma2.shape[2]]
    return 0
