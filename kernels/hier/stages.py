"""The three passes over a block of groups in each sweep, the block's groups side by side in vector lanes:
the beta_j draws, the spread and interweaving sums, and the interweaving move with RSS and sigma_j^2."""

import math

from numba import njit

from .layout import EXACT_ORDER, _lane_dot, _lane_dot3, _lane_total, _spread_at


@njit(cache=True, fastmath=EXACT_ORDER, error_model="numpy", _nrt=False)
def _lane_residual(GT, hT, alpha_c, q, r, a, j0, j1, t):
    """t[:m] <- h_a,j - G_a,pooled,j alpha for groups j0..j1-1: coefficient a's row of X_j'(y_j - W_j alpha)."""
    m = j1 - j0
    h_a = hT[a, j0:j1]
    for l in range(m):
        t[l] = h_a[l]
    for b in range(r):
        ab = alpha_c[b]
        g_ab = GT[a, q + b, j0:j1]
        for l in range(m):
            t[l] -= g_ab[l] * ab


@njit(cache=True, fastmath=EXACT_ORDER, error_model="numpy", _nrt=False)
def _stage_beta(GT, hT, q, r, j0, j1, betaT_c, alpha_c, Sinv_c, Sinv_mu, sigma2_c, z, Am, W, part):
    """beta_j | mu, Sigma, alpha, sigma2 for groups j0..j1-1 (normals z[(j - j0) q + a]), and the block's
    sums for the next steps: part = [sum G_pp,j / s_j^2 (r x r), sum (h_p,j - G_pv,j beta_j) / s_j^2 (r),
    sum beta_j (q)].  Returns the number of failed factorisations.

    The block's groups side by side, one per lane (the last axis of GT, hT, betaT_c, Am (q, q, m) and
    the rows of W): one group's Cholesky is a chain of dependent square roots and divisions; side by side
    the chains overlap and every step is a vector loop over the lanes.
    """
    m = j1 - j0
    # the lane loops read the block through one-dimensional views such as GT[a, b, j0:j1]: counted from 0
    # (no wrap-around test) and known to be contiguous (a view GT[:, :, j0:j1] is not, and its loops
    # vectorise with gathers), so the loops vectorise with plain loads
    sb = sigma2_c[j0:j1]
    nfail = 0
    s = W[0]
    t = W[1]
    dd = W[2]
    tt = W[3]
    rhs = W[4:4 + q]
    inv_diag = W[4 + q:4 + 2 * q]
    for l in range(m):
        s[l] = 1.0 / sb[l]
    for a in range(q):
        _lane_residual(GT, hT, alpha_c, q, r, a, j0, j1, t)
        sm = Sinv_mu[a]
        for l in range(m):
            rhs[a, l] = sm + t[l] * s[l]
        for b in range(a + 1):
            sab = Sinv_c[a, b]
            g_ab = GT[a, b, j0:j1]
            for l in range(m):
                Am[a, b, l] = sab + g_ab[l] * s[l]
    # Cholesky A = L L' row by row with the forward solve L^{-1} rhs: linalg.cholesky_forward_affine's operations
    # per lane, kept here because the scalar helper called per group would not vectorise over the block
    for i in range(q):
        for c in range(i):
            for l in range(m):
                t[l] = Am[i, c, l]
            for k in range(c):
                for l in range(m):
                    t[l] -= Am[i, k, l] * Am[c, k, l]
            for l in range(m):
                Am[i, c, l] = t[l] * inv_diag[c, l]
        for l in range(m):
            dd[l] = Am[i, i, l]
            tt[l] = rhs[i, l]
        for k in range(i):
            for l in range(m):
                dd[l] -= Am[i, k, l] * Am[i, k, l]
                tt[l] -= Am[i, k, l] * rhs[k, l]
        for l in range(m):
            if not dd[l] > 0.0:
                nfail += 1
        for l in range(m):
            rinv = 1.0 / math.sqrt(dd[l])
            inv_diag[i, l] = rinv
            rhs[i, l] = tt[l] * rinv
    for a in range(q):
        for l in range(m):
            rhs[a, l] += z[l * q + a]
    # backward solve L' x = rhs (linalg.backward_transpose per lane)
    for i in range(q - 1, -1, -1):
        for l in range(m):
            rhs[i, l] *= inv_diag[i, l]
        for k in range(i):
            for l in range(m):
                rhs[k, l] -= Am[i, k, l] * rhs[i, l]
    for a in range(q):
        b_a = betaT_c[a, j0:j1]
        for l in range(m):
            b_a[l] = rhs[a, l]
        part[r * r + r + a] = _lane_total(rhs[a], m)
    for a in range(r):
        for b in range(a + 1):
            g_ab = GT[q + a, q + b, j0:j1]
            for l in range(m):
                t[l] = g_ab[l] * s[l]
            part[a * r + b] = _lane_total(t, m)
        h_a = hT[q + a, j0:j1]
        for l in range(m):
            t[l] = h_a[l]
        for b in range(q):
            g_ab = GT[q + a, b, j0:j1]
            for l in range(m):
                t[l] -= g_ab[l] * rhs[b, l]
        for l in range(m):
            t[l] *= s[l]
        part[r * r + a] = _lane_total(t, m)
    return nfail


@njit(cache=True, fastmath=EXACT_ORDER, error_model="numpy", _nrt=False)
def _stage_spread_asis(GT, hT, q, r, j0, j1, full, asis, scale_step, betaT_c, alpha_c, mu_c, sigma2_c, G_total, W,
                       part):
    """One pass over the block for the sums that follow the mu draw, with d_j = beta_j - mu and the groups
    side by side in lanes as in _stage_beta:
    part[_spread_at(q):] = sum d_j d_j' (lower triangle, ``full``) or its diagonal, for Sigma | beta, mu;
    with ``asis``, the interweaving sums A = sum X_j'X_j/s_j^2 (q x q), v = sum X_j'(y_j - X_j d_j - W_j alpha)
    /s_j^2 (q), then with ``scale_step`` b = sum d_j * x_j (q), Q = sum (X_j'X_j/s_j^2) * d_j d_j' (q x q
    lower) and Bm = sum (X_j'X_j/s_j^2) * d_j 1' (q x q), x_j = X_j'(y_j - W_j alpha)/s_j^2 (elementwise
    products).  The scale step's eta_j = d_j / tau is applied later (_asis_step): tau is drawn from the
    spread, so both sums come from this one pass.  With one shared sigma^2 (G_total has rows), A is the
    block's sum of X_j'X_j (G_total, summed once per call) divided by sigma^2.
    """
    oA, ov, ob, oQ, oB, oS = 0, q * q, q * q + q, q * q + 2 * q, 2 * q * q + 2 * q, _spread_at(q)
    m = j1 - j0
    sb = sigma2_c[j0:j1]  # one-dimensional views from j0, as in _stage_beta
    w = W[0]
    t = W[1]
    dl = W[2:2 + q]
    xl = W[2 + q:2 + 2 * q]
    for a in range(q):
        mu_a = mu_c[a]
        b_a = betaT_c[a, j0:j1]
        for l in range(m):
            dl[a, l] = b_a[l] - mu_a
    # every sum of products is a lane dot product: no product row is stored and read back
    if full:
        for a in range(q):
            for b in range(a + 1):
                part[oS + a * q + b] = _lane_dot(dl[a], dl[b], m)
    else:
        for a in range(q):
            part[oS + a] = _lane_dot(dl[a], dl[a], m)
    if not asis:
        return
    for l in range(m):
        w[l] = 1.0 / sb[l]
    for a in range(q):
        _lane_residual(GT, hT, alpha_c, q, r, a, j0, j1, t)
        for l in range(m):
            xl[a, l] = w[l] * t[l]
    if G_total.shape[0] > 0:
        for a in range(q):
            for b in range(a + 1):
                part[oA + a * q + b] = G_total[a * q + b] / sb[0]
    else:
        for a in range(q):
            for b in range(a + 1):
                part[oA + a * q + b] = _lane_dot(w, GT[a, b, j0:j1], m)
    for a in range(q):
        part[ov + a] = _lane_total(xl[a], m)
        if scale_step:
            part[ob + a] = _lane_dot(dl[a], xl[a], m)
    wd = xl  # from here on w_j d_j
    for a in range(q):
        for l in range(m):
            wd[a, l] = w[l] * dl[a, l]
    # v = sum x_j - sum (X_j'X_j/s_j^2) d_j, from Bm_ab = sum (X_j'X_j/s_j^2)_ab d_a,j (X_j'X_j is symmetric)
    for a in range(q):
        for b in range(q):
            g_ab = GT[a, b, j0:j1]
            bm = _lane_dot(g_ab, wd[a], m)
            part[ov + b] -= bm
            if scale_step:
                part[oB + a * q + b] = bm
                if b <= a:
                    part[oQ + a * q + b] = _lane_dot3(g_ab, wd[a], dl[b], m)


@njit(cache=True, fastmath=EXACT_ORDER, error_model="numpy", _nrt=False)
def _stage_noise(GT, hT, rr, q, r, j0, j1, shift, mu_new, mu_old, fac, betaT_c, alpha_c, sigma2_c, group_variance,
                 sigma_b, gam, W, k, out_inv_scale, out_ref, out_beta_c, out_sigma2_c):
    """For groups j0..j1-1: the interweaving move beta_j = mu_new + fac (beta_j - mu_old) (``shift``), RSS_j,
    then sigma_j^2 from the gammas gam[j - j0] (``group_variance``) and the stores of draw k (k >= 0),
    the groups side by side in lanes as in _stage_beta.  Returns the block's sum of RSS_j."""
    p = q + r
    m = j1 - j0
    sb = sigma2_c[j0:j1]  # one-dimensional views from j0, as in _stage_beta
    rb = rr[j0:j1]
    lin = W[0]
    quad = W[1]
    row = W[2]
    theta = W[3:3 + p]
    for a in range(q):
        b_a = betaT_c[a, j0:j1]
        if shift:
            mn = mu_new[a]
            mo = mu_old[a]
            fa = fac[a]
            for l in range(m):
                b_a[l] = mn + fa * (b_a[l] - mo)
        for l in range(m):
            theta[a, l] = b_a[l]
    for a in range(r):
        for l in range(m):
            theta[q + a, l] = alpha_c[a]
    # RSS_j = rr_j - 2 theta_j'h_j + theta_j'G_j theta_j with theta_j = (beta_j, alpha), G_j's lower triangle
    for l in range(m):
        lin[l] = 0.0
        quad[l] = 0.0
    for a in range(p):
        h_a = hT[a, j0:j1]
        for l in range(m):
            lin[l] += theta[a, l] * h_a[l]
    for a in range(p):
        for l in range(m):
            row[l] = 0.0
        for b in range(a):
            g_ab = GT[a, b, j0:j1]
            for l in range(m):
                row[l] += g_ab[l] * theta[b, l]
        g_aa = GT[a, a, j0:j1]
        for l in range(m):
            quad[l] += theta[a, l] * (2.0 * row[l] + g_aa[l] * theta[a, l])
    for l in range(m):
        rss = rb[l] - 2.0 * lin[l] + quad[l]
        row[l] = 0.0 if rss < 0.0 else rss  # noqa: FURB136 (NaN stays NaN)
    if group_variance:
        for l in range(m):
            sb[l] = (sigma_b + 0.5 * row[l]) / gam[l]
    if k >= 0:
        if out_beta_c.shape[0] > 0:
            for l in range(m):
                for a in range(q):
                    out_beta_c[k, j0 + l, a] = theta[a, l] * out_inv_scale[a] + out_ref[a]
        if group_variance:
            for l in range(m):
                out_sigma2_c[k, j0 + l] = sb[l]
    total = 0.0
    for l in range(m):
        total += row[l]
    return total
