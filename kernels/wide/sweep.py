"""One chain's sweeps of the wide model (the streams' order is in the package docstring).

(sigma^2, beta) | D, y in one block: sigma^2 from its conditional with beta integrated out,
IG(a + m/2, b + y*'(I + X* D X*')^{-1} y*/2) (D is free of sigma), then beta | sigma^2, D:
N(A^{-1} X*'y*, sigma^2 A^{-1}), A = X*'X* + D^{-1}, drawn as gamma = sigma theta with
theta ~ N(A^{-1} X*'y*/sigma, A^{-1}).  One factorisation serves both:

* Cholesky (p <= m): A from the precomputed G = X*'X*, factorised in place (LAPACK's dpotrf from p = 48,
  kernels/linalg.py below), O(p^3).
* Bhattacharya, Chakraborty & Mallick (2016) (p > m): u ~ N(0, D), delta ~ N(0, I_m), v = X* u + delta,
  (X* D X*' + I_m) w = y*/sigma - v, theta = u + D X*' w; O(m^2 p), the m x m matrix built by BLAS over
  blocks of ``block`` columns (dsyrk, kernels/wide/blas.py), factorised by dpotrf from m = LAPACK_MIN_P.

The sigma-scaled horseshoe under Bhattacharya's draw adds, at the start of each sweep, a slice-sampling step
on log tau^2 with beta and sigma^2 integrated out (the exact version of Johndrow, Orenstein & Bhattacharya
2020's blocked step; stepping out by SLICE_WIDTH), then (sigma^2, beta) | tau, lambda, which together update (tau, sigma^2, beta) as a
block; Makalic & Schmidt's Gibbs step for tau still follows the local scales.  X* Lambda X*' is formed once
per sweep and serves both (M = I + tau^2 X* Lambda X*').
"""

import math

import numpy as np
from numba import njit

from ..draws import fill_gammas, fill_normals, gamma_table, stream_at, uniform
from ..linalg import backward_solve_transpose, backward_transpose, cholesky_forward, cholesky_lower, \
    forward_solve, symmetric_quadratic_form
from .blas import potrf_lower, syrk_lower_add
from .shapes import SLICE_SHRINKS, SLICE_STEPS, SLICE_WIDTH, wide_gamma_shapes

EXACT_ORDER = {"contract"}  # fused multiply-adds, no reassociation: agrees with the NumPy twin to rounding
LAPACK_MIN_P = 48  # below this the hand-written Cholesky beats a LAPACK call (docs/wide.md)


@njit(cache=True, fastmath=EXACT_ORDER, error_model="numpy")
def inverse_gaussian(mu, lam, z, u):
    """An inverse-Gaussian(mu, lam) draw from one standard normal z and one uniform u (Michael, Schucany &
    Haas 1976).  The smaller root mu + mu^2 y/(2 lam) - mu/(2 lam) sqrt(4 mu lam y + mu^2 y^2), y = z^2, is
    written 4 mu lam w / (w + sqrt(w (4 lam + w)))^2 with w = mu y: no cancellation when mu y >> lam."""
    w = mu * z * z
    s = w + math.sqrt(w * (4.0 * lam + w))
    if s == 0.0:
        return mu
    x = 4.0 * mu * lam * w / (s * s)
    if u * (mu + x) <= mu:
        return x
    return mu * mu / x


@njit(cache=True, fastmath=EXACT_ORDER, error_model="numpy")
def gram(syrk, Xt, Dbase, K, Wb, blas_args, block):
    """K's lower triangle <- X* diag(Dbase) X*' by dsyrk over blocks of ``block`` columns (Wb (block, m):
    workspace; blas_args the scratch of blas.syrk_lower_add, syrk dsyrk's address).  O(m^2 p)."""
    p, m = Xt.shape
    K[:, :] = 0.0
    for j0 in range(0, p, block):
        j1 = min(p, j0 + block)
        W = Wb[:j1 - j0]
        for j in range(j0, j1):
            s = math.sqrt(Dbase[j])
            for i in range(m):
                W[j - j0, i] = s * Xt[j, i]
        syrk_lower_add(syrk, W, K, blas_args[0], blas_args[1], blas_args[2])  # K += W'W, lower triangle


@njit(cache=True, fastmath=EXACT_ORDER, error_model="numpy")
def log_marginal_tau(potrf, blas_args, K, ys, x, a_post, b, inv_scale2, M, r):
    """log p(log tau^2 = x | local scales, y) up to a constant, beta and sigma^2 integrated out
    (Johndrow, Orenstein & Bhattacharya 2020): -log|M|/2 - a_post log(b + y*'M^{-1}y*/2) with
    M = I + t K, t = e^x, plus the half-Cauchy prior of tau on the log scale, log(sqrt(t) / (1 + t / s^2)).
    M is factorised by LAPACK from m = LAPACK_MIN_P.  -inf when t overflows or M fails to factorise."""
    m = ys.shape[0]
    t = math.exp(x)
    if not t < np.inf:
        return -np.inf
    for a in range(m):
        for c in range(a + 1):
            M[a, c] = t * K[a, c]
        M[a, a] += 1.0
    if m >= LAPACK_MIN_P:
        if not potrf_lower(potrf, M, m, blas_args[0], blas_args[1]):
            return -np.inf
    elif not cholesky_lower(M, m):
        return -np.inf
    half_logdet = 0.0
    for i in range(m):
        half_logdet += math.log(M[i, i])
        r[i] = ys[i]
    forward_solve(M, r, m)
    q = 0.0
    for i in range(m):
        q += r[i] * r[i]
    return -half_logdet - a_post * math.log(b + 0.5 * q) + 0.5 * x - math.log1p(t * inv_scale2)


@njit(cache=True, fastmath=EXACT_ORDER, error_model="numpy")
def slice_log_tau(normal, potrf, blas_args, K, ys, glob, a_post, b, inv_scale2, M, r):
    """tau^2's blocked step: one slice-sampling update (Neal 2003: stepping out by SLICE_WIDTH at most
    SLICE_STEPS times, then shrinkage) of x = log tau^2 under log_marginal_tau, beta and sigma^2
    integrated out.  Exact, and free of a step size that would have to match the posterior's scale.
    Uniforms from ``normal``: the level, the interval's offset and split, then one per shrinkage proposal
    (the NumPy twin draws the same).  Returns the new tau^2."""
    x0 = math.log(glob)
    level = log_marginal_tau(potrf, blas_args, K, ys, x0, a_post, b, inv_scale2, M, r) + math.log(uniform(normal))
    lo = x0 - SLICE_WIDTH * uniform(normal)
    hi = lo + SLICE_WIDTH
    j = int(math.floor(SLICE_STEPS * uniform(normal)))
    k = SLICE_STEPS - 1 - j
    while j > 0 and level < log_marginal_tau(potrf, blas_args, K, ys, lo, a_post, b, inv_scale2, M, r):
        lo -= SLICE_WIDTH
        j -= 1
    while k > 0 and level < log_marginal_tau(potrf, blas_args, K, ys, hi, a_post, b, inv_scale2, M, r):
        hi += SLICE_WIDTH
        k -= 1
    for _ in range(SLICE_SHRINKS):
        x1 = lo + uniform(normal) * (hi - lo)
        if level < log_marginal_tau(potrf, blas_args, K, ys, x1, a_post, b, inv_scale2, M, r):
            return math.exp(x1)
        if x1 < x0:
            lo = x1
        else:
            hi = x1
    return glob


@njit(cache=True, fastmath=EXACT_ORDER, error_model="numpy")
def bhattacharya_draw(potrf, blas_args, Xt, ys, D, K, t, z, M, r, g, sigma_shape_gamma, sigma_b, fixed_s2):
    """(sigma^2, gamma) | D in one block, by Bhattacharya et al.: M = I + X* D X*' = I + t K (K = gram(...) of
    D / t) factorised, sigma^2 = (b + y*'M^{-1}y*/2) / sigma_shape_gamma (its conditional with gamma
    integrated out), then g <- sd theta with u ~ N(0, D), delta from z (p + m normals: u's then delta's),
    M w = y*/sd - X* u - delta, theta = u + D X*' w.  Xt is X*' (p, m); M (m, m) and r (m,) are workspaces.
    fixed_s2 > 0 replaces the sigma^2 draw (the sigma-free prior form).  M is factorised by LAPACK's dpotrf
    from m = LAPACK_MIN_P (potrf: its address).  Returns sigma^2, or -1 when M fails to factorise."""
    p, m = Xt.shape
    for a in range(m):
        for c in range(a + 1):
            M[a, c] = t * K[a, c]
        M[a, a] += 1.0
    if m >= LAPACK_MIN_P:
        if not potrf_lower(potrf, M, m, blas_args[0], blas_args[1]):
            return -1.0
    elif not cholesky_lower(M, m):
        return -1.0
    for i in range(m):
        r[i] = ys[i]
    forward_solve(M, r, m)
    q = 0.0
    for i in range(m):
        q += r[i] * r[i]
    s2 = fixed_s2 if fixed_s2 > 0.0 else (sigma_b + 0.5 * q) / sigma_shape_gamma
    sd = math.sqrt(s2)
    u = np.empty(p)
    for j in range(p):
        u[j] = math.sqrt(D[j]) * z[j]
    v = np.dot(u, Xt)
    inv_sd = 1.0 / sd
    for i in range(m):
        r[i] = ys[i] * inv_sd - v[i] - z[p + i]
    forward_solve(M, r, m)
    backward_solve_transpose(M, r, m)
    t = np.dot(Xt, r)
    for j in range(p):
        g[j] = sd * (u[j] + D[j] * t[j])
    return s2


@njit(cache=True, fastmath=EXACT_ORDER, error_model="numpy")
def cholesky_draw(potrf, G, h, rr, D, z, A, v, inv_diag, g, sigma_shape_gamma, sigma_b, blas_args, fixed_s2):
    """(sigma^2, gamma) | D in one block from the statistics: A = G + D^{-1} = L L' factorised in place with
    v = L^{-1} h, so y*'(I + X* D X*')^{-1} y* = rr - v'v (Woodbury); sigma^2 = (b + (rr - v'v)/2) /
    sigma_shape_gamma; then g <- sd L^{-T}(v / sd + z) (z: p normals).  From p = LAPACK_MIN_P the factor is
    LAPACK's dpotrf (potrf: its address), below it the row-by-row loop.  fixed_s2 > 0 replaces the sigma^2
    draw.  Returns sigma^2, or -1 when A fails to factorise."""
    p = h.shape[0]
    for i in range(p):
        for j in range(i):
            A[i, j] = G[i, j]
        A[i, i] = G[i, i] + 1.0 / D[i]
        v[i] = h[i]
    if p >= LAPACK_MIN_P:
        if not potrf_lower(potrf, A, p, blas_args[0], blas_args[1]):
            return -1.0
        for i in range(p):
            inv_diag[i] = 1.0 / A[i, i]
        forward_solve(A, v, p)
    elif not cholesky_forward(A, v, inv_diag, p):
        return -1.0
    q = rr
    for i in range(p):
        q -= v[i] * v[i]
    s2 = fixed_s2 if fixed_s2 > 0.0 else (sigma_b + 0.5 * max(q, 0.0)) / sigma_shape_gamma
    sd = math.sqrt(s2)
    inv_sd = 1.0 / sd
    for i in range(p):
        v[i] = v[i] * inv_sd + z[i]
    backward_transpose(A, v, inv_diag, p)
    for i in range(p):
        g[i] = sd * v[i]
    return s2


@njit(cache=True, fastmath=EXACT_ORDER, error_model="numpy")
def residual_ss(method, Xt, ys, G, h, rr, g):
    """||y* - X* gamma||^2: from the statistics (Cholesky draw, O(p^2)) or the rows (O(m p))."""
    if method == 0:
        hg = 0.0
        for i in range(h.shape[0]):
            hg += h[i] * g[i]
        return max(rr - 2.0 * hg + symmetric_quadratic_form(g, G, h.shape[0]), 0.0)
    fit = np.dot(g, Xt)
    rss = 0.0
    for i in range(ys.shape[0]):
        e = ys[i] - fit[i]
        rss += e * e
    return rss


@njit(cache=True, fastmath=EXACT_ORDER, error_model="numpy")
def unpenalised_draw(R, c1, X1, g, sd, zr, alpha):
    """alpha <- R^{-1}(c1 - X1 gamma + sd zr): N(R^{-1}(c1 - X1 gamma), sigma^2 (R'R)^{-1}), R upper (r, r)."""
    r = R.shape[0]
    for i in range(r):
        s = c1[i] + sd * zr[i]
        for j in range(g.shape[0]):
            s -= X1[i, j] * g[j]
        alpha[i] = s
    for i in range(r - 1, -1, -1):
        s = alpha[i]
        for k in range(i + 1, r):
            s -= R[i, k] * alpha[k]
        alpha[i] = s / R[i, i]


@njit(cache=True, fastmath=EXACT_ORDER, error_model="numpy")
def prior_variances(prior_kind, glob, loc, slab, D):
    """D_j, gamma_j's prior variance over sigma^2: tau^2 lambda_j^2 (horseshoe), tau_j^2 (lasso),
    1 / (1 / (tau^2 lambda_j^2) + 1 / c^2) (regularised horseshoe, Piironen & Vehtari 2017)."""
    for j in range(loc.shape[0]):
        if prior_kind == 0:
            D[j] = glob * loc[j]
        elif prior_kind == 1:
            D[j] = loc[j]
        else:
            t = glob * loc[j]
            D[j] = t * slab / (slab + t)


@njit(cache=True, fastmath=EXACT_ORDER, error_model="numpy")
def horseshoe_scales(g, s2, loc, aux, glob, auxg, inv_scale2, gbuf, with_global):
    """Makalic & Schmidt's Gibbs steps: lambda_j^2, nu_j, tau^2, xi, each an inverse gamma from the sweep's
    gammas gbuf; the new tau^2 and xi are left in gbuf[1 + 2p] and gbuf[2 + 2p] (unchanged tau^2 and xi
    when not ``with_global``: tau then has its own blocked step)."""
    p = g.shape[0]
    inv_2ts = 0.5 / (glob * s2)
    for j in range(p):
        loc[j] = (1.0 / aux[j] + g[j] * g[j] * inv_2ts) / gbuf[1 + j]
    ss = 0.0
    for j in range(p):
        aux[j] = (1.0 + 1.0 / loc[j]) / gbuf[1 + p + j]
        ss += g[j] * g[j] / loc[j]
    if not with_global:
        gbuf[1 + 2 * p] = glob
        gbuf[2 + 2 * p] = auxg
        return
    glob = (1.0 / auxg + 0.5 * ss / s2) / gbuf[1 + 2 * p]
    gbuf[1 + 2 * p] = glob
    gbuf[2 + 2 * p] = (inv_scale2 + 1.0 / glob) / gbuf[2 + 2 * p]


@njit(cache=True, fastmath=EXACT_ORDER, error_model="numpy")
def regularised_scales(g, s2, loc, aux, glob, auxg, slab, inv_scale2, slab_b, gbuf, u):
    """The regularised horseshoe's scales, exact Metropolis-within-Gibbs: each of lambda_j^2, tau^2 and c^2
    is proposed from its conditional without the slab's normalising factor (the horseshoe's inverse gamma;
    for c^2, IG(nu/2, nu s^2/2 + sum gamma_j^2 / (2 sigma^2))) and accepted with the ratio of that factor,
    prod_j sqrt(1 + tau^2 lambda_j^2 / c^2), new over old; u holds p + 2 uniforms.  nu_j and xi are Gibbs
    draws.  The new tau^2, xi and c^2 are left in gbuf[1 + 2p], gbuf[2 + 2p], gbuf[3 + 2p]."""
    p = g.shape[0]
    inv_2ts = 0.5 / (glob * s2)
    tc = glob / slab
    for j in range(p):
        prop = (1.0 / aux[j] + g[j] * g[j] * inv_2ts) / gbuf[1 + j]
        if math.log(u[j]) <= 0.5 * (math.log1p(tc * prop) - math.log1p(tc * loc[j])):
            loc[j] = prop
    ss = 0.0
    sb = 0.0
    for j in range(p):
        aux[j] = (1.0 + 1.0 / loc[j]) / gbuf[1 + p + j]
        ss += g[j] * g[j] / loc[j]
        sb += g[j] * g[j]
    prop = (1.0 / auxg + 0.5 * ss / s2) / gbuf[1 + 2 * p]
    log_ratio = 0.0
    for j in range(p):
        log_ratio += math.log1p(prop * loc[j] / slab) - math.log1p(glob * loc[j] / slab)
    if math.log(u[p]) <= 0.5 * log_ratio:
        glob = prop
    gbuf[1 + 2 * p] = glob
    gbuf[2 + 2 * p] = (inv_scale2 + 1.0 / glob) / gbuf[2 + 2 * p]
    prop = (slab_b + 0.5 * sb / s2) / gbuf[3 + 2 * p]
    log_ratio = 0.0
    for j in range(p):
        log_ratio += math.log1p(glob * loc[j] / prop) - math.log1p(glob * loc[j] / slab)
    gbuf[3 + 2 * p] = prop if math.log(u[p + 1]) <= 0.5 * log_ratio else slab


@njit(cache=True, nogil=True, fastmath=EXACT_ORDER, error_model="numpy")
def one_chain(c, syrk, potrf, scaled, method, prior_kind, Xt, ys, G, h, rr, R, c1, X1, col_scale, pen_idx, unpen_idx,
              sigma_shape,
              sigma_b, hs_inv_scale2, lasso_shape, lasso_delta, slab_shape, slab_b, block, gamma_state,
              sigma2_state, local_state, aux_state, glob_state, aux_glob_state, slab_state, normal_streams,
              gamma_streams, n_iter, thin, out_start, out_beta, out_sigma2, out_global, out_local, out_slab):
    """Chain c's n_iter sweeps; every thin-th is written at out_start + t // thin of the outputs that have
    draws: beta (original coordinates, unpenalised ones included), sigma^2, the global and the local scales
    (horseshoe: tau^2, lambda_j^2; lasso: lambda^2, tau_j^2) and the regularised horseshoe's slab c^2.
    Returns the number of failed factorisations."""
    p = gamma_state.shape[1]
    m = Xt.shape[1]
    r = R.shape[0]
    normal = stream_at(normal_streams, c)
    gamma_rng = stream_at(gamma_streams, c)
    table = gamma_table(wide_gamma_shapes(prior_kind, p, sigma_shape, lasso_shape, slab_shape))
    gbuf = np.zeros(table.shape[1])
    n_z = p + m if method == 1 else p
    z = np.zeros(n_z)
    zl = np.zeros(p if prior_kind == 1 else (p + 2 if prior_kind == 2 else 0))
    zr = np.zeros(r)
    alpha = np.zeros(r)
    D = np.empty(p)
    if method == 1:
        M = np.zeros((m, m))
        K = np.zeros((m, m))
        Wb = np.zeros((min(block, p), m))
        rv = np.zeros(m)
        A = np.zeros((0, 0))
    else:
        M = np.zeros((0, 0))
        K = np.zeros((0, 0))
        Wb = np.zeros((0, 0))
        rv = np.zeros(0)
        A = np.zeros((p, p))
    v = np.zeros(p)
    inv_diag = np.zeros(p)
    blas_args = (np.zeros(2, np.uint8), np.zeros(4, np.int32), np.zeros(2))
    g = gamma_state[c].copy()
    loc = local_state[c].copy()
    aux = aux_state[c].copy()
    s2 = sigma2_state[c]
    glob = glob_state[c]
    auxg = aux_glob_state[c]
    slab = slab_state[c]
    countdown = thin
    failed = 0
    for t in range(n_iter):
        blocked_tau = method == 1 and prior_kind == 0 and scaled == 1
        if blocked_tau:  # tau by a slice step on log tau^2 with beta and sigma^2 integrated out
            gram(syrk, Xt, loc, K, Wb, blas_args, block)
            glob = slice_log_tau(normal, potrf, blas_args, K, ys, glob, sigma_shape, sigma_b, hs_inv_scale2, M, rv)
        prior_variances(prior_kind, glob, loc, slab, D)
        fill_normals(normal, z, n_z)
        fill_gammas(gamma_rng, gbuf, table)
        fixed = -1.0
        if scaled == 0:  # the sigma-free form: beta | sigma^2 with variances D / sigma^2 over sigma^2
            fixed = s2
            for j in range(p):
                D[j] /= s2
        if method == 1:
            t_scale = 1.0
            if blocked_tau:
                t_scale = glob  # K = X* Lambda X*' already
            else:
                gram(syrk, Xt, D, K, Wb, blas_args, block)
            s2_new = bhattacharya_draw(potrf, blas_args, Xt, ys, D, K, t_scale, z, M, rv, g, gbuf[0], sigma_b,
                                       fixed)
        else:
            s2_new = cholesky_draw(potrf, G, h, rr, D, z, A, v, inv_diag, g, gbuf[0], sigma_b, blas_args, fixed)
        if not s2_new > 0.0:
            failed += 1
            continue
        s2 = s2_new
        s2_scales = s2
        if scaled == 0:  # then sigma^2 | beta, and the scales see gamma itself
            s2 = (sigma_b + 0.5 * residual_ss(method, Xt, ys, G, h, rr, g)) / gbuf[0]
            s2_scales = 1.0
        if prior_kind == 0:
            horseshoe_scales(g, s2_scales, loc, aux, glob, auxg, hs_inv_scale2, gbuf, True)
            glob = gbuf[1 + 2 * p]
            auxg = gbuf[2 + 2 * p]
        elif prior_kind == 2:
            for j in range(p + 2):
                zl[j] = uniform(normal)
            regularised_scales(g, s2_scales, loc, aux, glob, auxg, slab, hs_inv_scale2, slab_b, gbuf, zl)
            glob, auxg, slab = gbuf[1 + 2 * p], gbuf[2 + 2 * p], gbuf[3 + 2 * p]
        else:
            fill_normals(normal, zl, p)
            total = 0.0
            for j in range(p):
                mu = math.sqrt(glob * s2_scales / (g[j] * g[j]))
                loc[j] = 1.0 / inverse_gaussian(mu, glob, zl[j], uniform(normal))
                total += loc[j]
            glob = gbuf[1] / (lasso_delta + 0.5 * total)
        if r > 0:
            fill_normals(normal, zr, r)
            unpenalised_draw(R, c1, X1, g, math.sqrt(s2), zr, alpha)
        countdown -= 1
        if countdown == 0:
            countdown = thin
            k = out_start + (t + 1) // thin - 1
            if out_beta.shape[1] > 0:
                for j in range(p):
                    out_beta[c, k, pen_idx[j]] = g[j] / col_scale[j]
                for i in range(r):
                    out_beta[c, k, unpen_idx[i]] = alpha[i]
            if out_sigma2.shape[1] > 0:
                out_sigma2[c, k] = s2
            if out_global.shape[1] > 0:
                out_global[c, k] = glob
            if out_local.shape[1] > 0:
                for j in range(p):
                    out_local[c, k, j] = loc[j]
            if out_slab.shape[1] > 0:
                out_slab[c, k] = slab
    gamma_state[c, :] = g
    local_state[c, :] = loc
    aux_state[c, :] = aux
    sigma2_state[c] = s2
    glob_state[c] = glob
    aux_glob_state[c] = auxg
    slab_state[c] = slab
    return failed
