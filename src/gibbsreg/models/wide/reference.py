"""NumPy twin of the wide kernel (gibbsreg.kernels.wide): the same arguments, the same streams in the same
order, the same algebra written with NumPy/LAPACK; it agrees with the kernel to rounding."""

from __future__ import annotations

import math

import numpy as np

from ...kernels.wide.shapes import BHATTACHARYA, HORSESHOE, LASSO, SLICE_SHRINKS, SLICE_STEPS, SLICE_WIDTH, \
    wide_gamma_shapes


def inverse_gaussian(mu, lam, z, u):
    """Vectorised Michael-Schucany-Haas draws (the kernel's inverse_gaussian, same formula)."""
    w = mu * z * z
    s = w + np.sqrt(w * (4.0 * lam + w))
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.where(s == 0.0, mu, 4.0 * mu * lam * w / (s * s))
        return np.where(u * (mu + x) <= mu, x, mu * mu / x)


def block_draw(method, Xt, ys, G, h, rr, D, z, gamma_sigma, sigma_b, fixed_s2=-1.0):
    """(sigma^2, gamma) | D: sigma^2 = (b + y*'(I + X* D X*')^{-1} y*/2) / gamma_sigma, then
    gamma = sd theta, theta ~ N(A^{-1} h/sd, A^{-1}), A = X*'X* + D^{-1}: Cholesky on G or Bhattacharya et al.
    fixed_s2 > 0 replaces the sigma^2 draw."""
    p = h.shape[0]
    if method == BHATTACHARYA:
        m = Xt.shape[1]
        W = np.sqrt(D)[:, None] * Xt
        L = np.linalg.cholesky(W.T @ W + np.eye(m))
        s2 = (sigma_b + 0.5 * float(np.sum(np.linalg.solve(L, ys) ** 2))) / gamma_sigma
        s2 = fixed_s2 if fixed_s2 > 0 else s2
        sd = math.sqrt(s2)
        u = np.sqrt(D) * z[:p]
        rhs = ys / sd - u @ Xt - z[p:p + m]
        w = np.linalg.solve(L.T, np.linalg.solve(L, rhs))
        return s2, sd * (u + D * (Xt @ w))
    L = np.linalg.cholesky(G + np.diag(1.0 / D))
    v = np.linalg.solve(L, h)
    s2 = fixed_s2 if fixed_s2 > 0 else (sigma_b + 0.5 * max(rr - float(v @ v), 0.0)) / gamma_sigma
    sd = math.sqrt(s2)
    return s2, sd * np.linalg.solve(L.T, v / sd + z[:p])


def log_marginal_tau(K, ys, x, a_post, b, inv_scale2):
    """The kernel's log_marginal_tau: log p(log tau^2 = x | local scales, y), beta and sigma^2 integrated."""
    t = math.exp(x) if x < 709.0 else math.inf
    if not t < math.inf:
        return -math.inf
    try:
        L = np.linalg.cholesky(np.eye(ys.shape[0]) + t * K)
    except np.linalg.LinAlgError:
        return -math.inf
    q = float(np.sum(np.linalg.solve(L, ys) ** 2))
    return (-float(np.sum(np.log(np.diag(L)))) - a_post * math.log(b + 0.5 * q) + 0.5 * x
            - math.log1p(t * inv_scale2))


def slice_log_tau(ng, K, ys, glob, a_post, b, inv_scale2):
    """The kernel's slice_log_tau (same uniforms in the same order): tau^2's slice step on log tau^2."""
    def f(x):
        return log_marginal_tau(K, ys, x, a_post, b, inv_scale2)
    x0 = math.log(glob)
    with np.errstate(divide="ignore"):
        level = f(x0) + math.log(ng.random())
    lo = x0 - SLICE_WIDTH * ng.random()
    hi = lo + SLICE_WIDTH
    j = int(math.floor(SLICE_STEPS * ng.random()))
    k = SLICE_STEPS - 1 - j
    while j > 0 and level < f(lo):
        lo -= SLICE_WIDTH
        j -= 1
    while k > 0 and level < f(hi):
        hi += SLICE_WIDTH
        k -= 1
    for _ in range(SLICE_SHRINKS):
        x1 = lo + ng.random() * (hi - lo)
        if level < f(x1):
            return math.exp(x1)
        if x1 < x0:
            lo = x1
        else:
            hi = x1
    return glob


def prior_variances(prior_kind, glob, loc, slab):
    if prior_kind == HORSESHOE:
        return glob * loc
    if prior_kind == LASSO:
        return loc.copy()
    t = glob * loc
    return t * slab / (slab + t)


def wide_gibbs(syrk, potrf, scaled, method, prior_kind, Xt, ys, G, h, rr, R, c1, X1, col_scale, pen_idx, unpen_idx,
               sigma_shape,
               sigma_b, hs_inv_scale2, lasso_shape, lasso_delta, slab_shape, slab_b, block, gamma_state,
               sigma2_state, local_state, aux_state, glob_state, aux_glob_state, slab_state, normal_gens,
               gamma_gens, n_iter, thin, out_start, out_beta, out_sigma2, out_global, out_local, out_slab):
    """NumPy twin of gibbsreg.kernels.wide.wide_gibbs: chain by chain, sweep by sweep (``syrk``, ``potrf`` unused)."""
    C, p = gamma_state.shape
    r = R.shape[0]
    shapes = wide_gamma_shapes(prior_kind, p, float(sigma_shape), float(lasso_shape), float(slab_shape))
    n_z = p + Xt.shape[1] if method == BHATTACHARYA else p
    for c in range(C):
        ng, gg = normal_gens[c], gamma_gens[c]
        g, loc, aux = gamma_state[c].copy(), local_state[c].copy(), aux_state[c].copy()
        s2, glob, auxg = float(sigma2_state[c]), float(glob_state[c]), float(aux_glob_state[c])
        slab = float(slab_state[c])
        alpha = np.zeros(r)
        blocked = method == BHATTACHARYA and prior_kind == HORSESHOE and scaled
        for t in range(n_iter):
            if blocked:  # tau by a slice step on log tau^2, beta and sigma^2 integrated out
                K = (Xt * loc[:, None]).T @ Xt
                glob = slice_log_tau(ng, K, ys, glob, sigma_shape, sigma_b, hs_inv_scale2)
            D = prior_variances(prior_kind, glob, loc, slab)
            z = ng.standard_normal(n_z)
            gam = gg.standard_gamma(shapes)
            if scaled:
                s2, g = block_draw(method, Xt, ys, G, h, rr, D, z, gam[0], sigma_b)
                s2s = s2
            else:  # the sigma-free form: beta | sigma^2, then sigma^2 | beta; the scales see gamma itself
                _, g = block_draw(method, Xt, ys, G, h, rr, D / s2, z, gam[0], sigma_b, s2)
                if method == BHATTACHARYA:
                    rss = float(np.sum((ys - g @ Xt) ** 2))
                else:
                    rss = max(rr - 2.0 * float(h @ g) + float(g @ G @ g), 0.0)
                s2 = (sigma_b + 0.5 * rss) / gam[0]
                s2s = 1.0
            if prior_kind == HORSESHOE:
                loc = (1.0 / aux + g * g * (0.5 / (glob * s2s))) / gam[1:p + 1]
                aux = (1.0 + 1.0 / loc) / gam[p + 1:2 * p + 1]
                glob = (1.0 / auxg + 0.5 * np.sum(g * g / loc) / s2s) / gam[2 * p + 1]
                auxg = (hs_inv_scale2 + 1.0 / glob) / gam[2 * p + 2]
            elif prior_kind == LASSO:
                zl = ng.standard_normal(p)
                ul = ng.random(p)
                with np.errstate(divide="ignore"):
                    mu = np.sqrt(glob * s2s / (g * g))
                loc = 1.0 / inverse_gaussian(mu, glob, zl, ul)
                glob = gam[1] / (lasso_delta + 0.5 * np.sum(loc))
            else:  # regularised horseshoe: Metropolis steps with the horseshoe's conditionals as proposals
                u = ng.random(p + 2)
                tc = glob / slab
                prop = (1.0 / aux + g * g * (0.5 / (glob * s2s))) / gam[1:p + 1]
                take = np.log(u[:p]) <= 0.5 * (np.log1p(tc * prop) - np.log1p(tc * loc))
                loc = np.where(take, prop, loc)
                aux = (1.0 + 1.0 / loc) / gam[p + 1:2 * p + 1]
                prop = (1.0 / auxg + 0.5 * np.sum(g * g / loc) / s2s) / gam[2 * p + 1]
                if math.log(u[p]) <= 0.5 * np.sum(np.log1p(prop * loc / slab) - np.log1p(glob * loc / slab)):
                    glob = prop
                auxg = (hs_inv_scale2 + 1.0 / glob) / gam[2 * p + 2]
                prop = (slab_b + 0.5 * np.sum(g * g) / s2s) / gam[2 * p + 3]
                if math.log(u[p + 1]) <= 0.5 * np.sum(np.log1p(glob * loc / prop) - np.log1p(glob * loc / slab)):
                    slab = prop
            if r > 0:
                zr = ng.standard_normal(r)
                alpha = np.linalg.solve(R, c1 - X1 @ g + math.sqrt(s2) * zr)
            if (t + 1) % thin == 0:
                k = out_start + (t + 1) // thin - 1
                if out_beta.shape[1] > 0:
                    out_beta[c, k, pen_idx] = g / col_scale
                    out_beta[c, k, unpen_idx] = alpha
                if out_sigma2.shape[1] > 0:
                    out_sigma2[c, k] = s2
                if out_global.shape[1] > 0:
                    out_global[c, k] = glob
                if out_local.shape[1] > 0:
                    out_local[c, k] = loc
                if out_slab.shape[1] > 0:
                    out_slab[c, k] = slab
        gamma_state[c], local_state[c], aux_state[c] = g, loc, aux
        sigma2_state[c], glob_state[c], aux_glob_state[c], slab_state[c] = s2, glob, auxg, slab
    return 0
