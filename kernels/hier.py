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

Each sweep passes over the groups three times (beta draws with the sums for alpha and mu; the
spread about mu with the interweaving sums; the interweaving move with RSS and sigma_j^2), in fixed
blocks of up to MAX_BLOCK groups (group_blocks: they depend on J alone).  Within a block the groups
sit side by side, one per vector lane: the kernels take G, h and beta lane-major (GT (p, p, J),
hT (p, J), betaT (C, q, J)), and every step of a group's update is a loop over the block's lanes,
which the compiler vectorises.  Every sum over groups is formed per
block and the block sums are added in block order, so a chain's draws are the same whether its
blocks run one after another on one thread (hier_gibbs_chains, threads over chains) or on several
(hier_gibbs_groups, when there are fewer chains than threads).
"""

import math

import numba
import numpy as np
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from .draws import fill_gammas, fill_normals, gamma_table, stream_at
from .linalg import (
    backward_solve_transpose,
    backward_transpose,
    bartlett_precision,
    cholesky_forward,
    cholesky_lower,
    forward_solve,
)

TAU_INVGAMMA = 0
TAU_HALFCAUCHY = 1
TAU_INVWISHART = 2


@njit(cache=True)
def _draw_gaussian(A, v, inv_diag, z, n):
    """v <- a draw of N(A^{-1} v, A^{-1}) with the standard normals z[:n]; A's lower triangle is overwritten
    by its Cholesky factor."""
    if not cholesky_forward(A, v, inv_diag, n):
        return False
    for i in range(n):
        v[i] += z[i]
    backward_transpose(A, v, inv_diag, n)
    return True


# Groups are processed in fixed blocks; every sum over groups is formed per block and the block sums
# are added in block order.  The blocks depend on J alone, so the draws are the same whether the
# blocks of a chain run on one thread or on several.
MAX_BLOCK = 128  # groups side by side in a block's vector loops: long enough to fill the vectors, short enough
# for the block's lane workspace (q^2 + 2p + 4 rows) to stay in the L1/L2 caches
GROUP_PARALLEL_MIN_J = 512  # below this, waking the threads at every stage costs more than it saves
LANE_ROWS = 4  # rows of per-group scratch in a block's lane workspace, besides 2p rows of per-coefficient values
# Contraction to fused multiply-adds, but no reassociation: the same function inlined into the
# chains kernel and into the groups kernel must round identically, which a reordered (vectorised)
# sum would not guarantee.
EXACT_ORDER = {"contract"}
# Block totals alone may be reassociated: a scalar sum of a block's lanes (about 100 dependent or 8 interleaved
# additions) cost as much as the products summed; vectorised it is 4x cheaper.  The reduction is one loop
# with the same operands wherever it is inlined, so the chains and groups kernels still round alike (tested
# at 1 and 2 threads, bit for bit).
LANE_SUM = {"reassoc", "contract"}
# error_model="numpy": a division by zero gives inf or NaN (caught by the pivot and positivity tests) instead of
# raising, so loops with a division carry no zero test and vectorise (the beta stage ran 1.5x slower with it).


@njit(cache=True)
def group_blocks(J):
    """(block size, number of blocks) for J groups: as few blocks as MAX_BLOCK allows, of near-equal sizes."""
    nb = (J + MAX_BLOCK - 1) // MAX_BLOCK
    size = (J + nb - 1) // nb
    return size, (J + size - 1) // size


@njit(cache=True)
def _spread_at(q):
    """Offset of the spread sums in a block's row of sums, after the interweaving sums (3q^2 + 2q)."""
    return 3 * q * q + 2 * q


@njit(cache=True)
def sweep_layout(q, r, J, tau_kind, asis, group_variance):
    """Where one sweep's random numbers sit in its buffers: (n_hyper, o_mu, o_bartlett, o_location, o_scale;
    n_gamma, o_exp, o_lambda, o_sigma).  Normals: J q for the beta_j (drawn first, block by block), then
    the hyperparameters' n_hyper (alpha r, mu q, Bartlett off-diagonals, interweaving location q and scale q);
    gammas: tau^2 or Bartlett q, exponentials q, half-Cauchy lambdas q, sigma^2 (J, or 1 when shared).
    Every count is fixed, whatever the state, so a sweep's numbers can be drawn ahead of it."""
    iw = tau_kind == TAU_INVWISHART
    scale_step = asis and not iw
    n_off = q * (q - 1) // 2 if iw else 0
    o_mu = r
    o_bartlett = r + q
    o_location = o_bartlett + n_off
    o_scale = o_location + (q if asis else 0)
    n_hyper = o_scale + (q if scale_step else 0)
    o_exp = q
    o_lambda = o_exp + (q if scale_step else 0)
    o_sigma = o_lambda + (q if tau_kind == TAU_HALFCAUCHY else 0)
    n_gamma = o_sigma + (J if group_variance else 1)
    return n_hyper, o_mu, o_bartlett, o_location, o_scale, n_gamma, o_exp, o_lambda, o_sigma


@njit(cache=True, fastmath=LANE_SUM, error_model="numpy")
def _lane_total(row, m):
    """sum(row[:m]) as the compiler vectorises it (partial sums in vector lanes, then folded): the order
    depends on m and the machine's vector width, never on how blocks are shared between threads."""
    s = 0.0
    for l in range(m):
        s += row[l]
    return s


@njit(cache=True, fastmath=LANE_SUM, error_model="numpy")
def _lane_dot(x, y, m):
    """sum(x[:m] * y[:m]) in vector lanes, as _lane_total."""
    s = 0.0
    for l in range(m):
        s += x[l] * y[l]
    return s


@njit(cache=True, fastmath=LANE_SUM, error_model="numpy")
def _lane_dot3(x, y, z, m):
    """sum(x[:m] * y[:m] * z[:m]) in vector lanes, as _lane_total."""
    s = 0.0
    for l in range(m):
        s += x[l] * y[l] * z[l]
    return s


@njit(cache=True, fastmath=EXACT_ORDER, error_model="numpy")
def _block_G_totals(GT, q, size, nb, shared_variance):
    """Per block, the sums of G_j's varying block (lower triangle), for A with one shared sigma^2; rows of
    length 0 with per-group variances."""
    J = GT.shape[2]
    if not shared_variance:
        return np.zeros((nb, 0))
    out = np.zeros((nb, q * q))
    for b in range(nb):
        j0 = b * size
        j1 = min(J, j0 + size)
        for a in range(q):
            for c in range(a + 1):
                out[b, a * q + c] = _lane_total(GT[a, c, j0:j1], j1 - j0)
    return out


@njit(cache=True, fastmath=EXACT_ORDER, error_model="numpy")
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
        h_a = hT[a, j0:j1]
        for l in range(m):
            t[l] = h_a[l]
        for b in range(r):
            ab = alpha_c[b]
            g_ab = GT[a, q + b, j0:j1]
            for l in range(m):
                t[l] -= g_ab[l] * ab
        sm = Sinv_mu[a]
        for l in range(m):
            rhs[a, l] = sm + t[l] * s[l]
        for b in range(a + 1):
            sab = Sinv_c[a, b]
            g_ab = GT[a, b, j0:j1]
            for l in range(m):
                Am[a, b, l] = sab + g_ab[l] * s[l]
    # Cholesky A = L L' row by row with the forward solve L^{-1} rhs
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
    # backward solve L' x = rhs
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


@njit(cache=True, fastmath=EXACT_ORDER, error_model="numpy")
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


@njit(cache=True, fastmath=EXACT_ORDER, error_model="numpy")
def _sigma_step(J, q, nb, part, tau_kind, tau_a, tau_b, iw_df, iw_Psi, Sinv_c, lam_c, M, Bart, W, acc,
                z_bartlett, g_tau):
    """Sigma_beta | beta, mu (Inverse-Wishart by Bartlett, or the diagonal's inverse gammas) into Sinv_c,
    with the normals z_bartlett (q(q-1)/2, Inverse-Wishart) and the gammas g_tau[:q] of shapes
    (df + J - a)/2 (Bartlett), a + J/2 (inverse gamma) or (J + 1)/2 (half-Cauchy)."""
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
        i = 0
        for a in range(q):
            for b in range(a):
                Bart[a, b] = z_bartlett[i]
                i += 1
        for a in range(q):
            Bart[a, a] = math.sqrt(2.0 * g_tau[a])
        bartlett_precision(M, Bart, W, acc, Sinv_c, q)
    else:
        for a in range(q):
            acc[a] = 0.0
        for k in range(nb):
            for a in range(q):
                acc[a] += part[k, a]
        for a in range(q):
            if tau_kind == TAU_INVGAMMA:
                tau2 = (tau_b[a] + 0.5 * acc[a]) / g_tau[a]
            else:
                tau2 = (1.0 / lam_c[a] + 0.5 * acc[a]) / g_tau[a]
            Sinv_c[a, a] = 1.0 / tau2
    return nfail


@njit(cache=True, fastmath=EXACT_ORDER, error_model="numpy")
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
        h_a = hT[a, j0:j1]
        for l in range(m):
            t[l] = h_a[l]
        for b in range(r):
            ab = alpha_c[b]
            g_ab = GT[a, q + b, j0:j1]
            for l in range(m):
                t[l] -= g_ab[l] * ab
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


@njit(cache=True, fastmath=EXACT_ORDER, error_model="numpy")
def _asis_step(q, nb, part, scale_step, S0inv, S0inv_mu0, prior_a, prior_b, mu_c, Sinv_c, A, v, inv_diag, Q, Bm,
               bvec, tau, tau_old, fac, z_location, z_scale, g_exp):
    """Interweaving (ASIS, Yu & Meng 2011) for the group-level parameters, from the block sums, with the
    normals z_location[:q] and z_scale[:q] and the standard exponentials g_exp[:q].

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


@njit(cache=True, fastmath=EXACT_ORDER, error_model="numpy")
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


@njit(cache=True, fastmath=EXACT_ORDER, error_model="numpy")
def _finish_step(J, q, r, nb, part, group_variance, sigma_b, Sinv_c, alpha_c, mu_c, sigma2_c, M, acc, g_sigma, k,
                 out_scale, out_ref, out_alpha_c, out_mu_c, out_Sigma_c, out_sigma2_c):
    """The shared sigma^2 | everything from the blocks' RSS sums (gamma g_sigma of shape a + n/2), and the
    stores of draw k (k >= 0)."""
    if not group_variance:
        total = 0.0
        for b in range(nb):
            total += part[b, 0]
        s2 = (sigma_b + 0.5 * total) / g_sigma
        for j in range(J):
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
            for a in range(q):
                acc[a] = 1.0 if a == b else 0.0
            forward_solve(M, acc, q)
            backward_solve_transpose(M, acc, q)
            if out_Sigma_c.shape[2] == q:
                for a in range(q):
                    out_Sigma_c[k, a, b] = acc[a] / (out_scale[a] * out_scale[b])
            else:  # a diagonal Sigma: its diagonal, tau^2, in column 0
                out_Sigma_c[k, b, 0] = acc[b] / (out_scale[b] * out_scale[b])
        if not group_variance:
            out_sigma2_c[k, 0] = sigma2_c[0]


@njit(cache=True, fastmath=EXACT_ORDER, error_model="numpy")
def _hyper_prior(q, tau_kind, tau_a, tau_b, lam_c, prior_ab):
    """The prior (a, b) of tau_k^2 ~ IG(a, b) that the interweaving scale step targets."""
    for a in range(q):
        if tau_kind == TAU_INVGAMMA:
            prior_ab[0, a] = tau_a[a]
            prior_ab[1, a] = tau_b[a]
        else:
            prior_ab[0, a] = 0.5
            prior_ab[1, a] = 1.0 / lam_c[a]


@njit(cache=True, fastmath=EXACT_ORDER, error_model="numpy")
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
    sigma_a, sigma_b, group_variance, asis, out_scale, out_ref,
    beta, alpha, mu, Sinv, lam, sigma2,
    normal_streams, gamma_streams,
    n_iter, thin, out_start,
    out_beta, out_alpha, out_mu, out_Sigma, out_sigma2,
):
    """Run n_iter centred Gibbs sweeps (plus interweaving) for every chain; returns the number of failed
    factorisations.

    With at least as many chains as threads (or few groups) the threads share out the chains
    (hier_gibbs_chains); otherwise every chain's groups are shared out in blocks, stage by stage
    (hier_gibbs_groups).  Both make the same arithmetic on the same random numbers, so the draws do
    not depend on the thread count.

    The draws are stored in the original coordinates, theta = theta' / out_scale + out_ref (elementwise; for
    Sigma, divided by out_scale_a out_scale_b), into out_* (C, draws, ...) at out_start: out_Sigma (q, q), or
    (q, 1) for a diagonal Sigma (its diagonal, tau^2), out_sigma2 (J) or (1).

    G (J, p, p), h (J, p) and beta (C, J, q) are handed to the kernels lane-major, as GT (p, p, J),
    hT (p, J) and betaT (C, q, J): a block's groups then sit side by side in memory, one per vector lane.
    """
    # the sweep's gamma shapes: one definition for both backends
    from ..reference import hier_gamma_shapes

    J = G.shape[0]
    gammas = gamma_table(hier_gamma_shapes(tau_kind, tau_a, q, J, iw_df, sigma_a, nj, group_variance, asis))
    GT = np.ascontiguousarray(G.transpose(1, 2, 0))
    hT = np.ascontiguousarray(h.T)
    betaT = np.ascontiguousarray(beta.transpose(0, 2, 1))
    args = (GT, hT, rr, nj, q, S0inv, S0inv_mu0, Sainv, Sainv_a0, tau_kind, tau_a, tau_b, hc_inv_scale2, iw_df,
            iw_Psi, sigma_a, sigma_b, group_variance, asis, out_scale, out_ref, gammas, betaT, alpha, mu, Sinv,
            lam, sigma2, normal_streams, gamma_streams, n_iter, thin, out_start, out_beta, out_alpha, out_mu, out_Sigma,
            out_sigma2)
    try:
        if betaT.shape[0] < numba.get_num_threads() and J >= GROUP_PARALLEL_MIN_J:
            return hier_gibbs_groups(*args, numba.get_num_threads())
        return hier_gibbs_chains(*args)
    finally:
        beta[...] = betaT.transpose(0, 2, 1)


@njit(cache=True, parallel=True, fastmath=EXACT_ORDER, error_model="numpy")
def hier_gibbs_chains(GT, hT, rr, nj, q, S0inv, S0inv_mu0, Sainv, Sainv_a0, tau_kind, tau_a, tau_b, hc_inv_scale2,
                      iw_df, iw_Psi, sigma_a, sigma_b, group_variance, asis, out_scale, out_ref, gammas, betaT,
                      alpha, mu, Sinv, lam, sigma2, normal_streams, gamma_streams, n_iter, thin, out_start, out_beta,
                      out_alpha, out_mu, out_Sigma, out_sigma2):
    """hier_gibbs with the chains shared out between threads."""
    n_chains = betaT.shape[0]
    failures = np.zeros(n_chains, dtype=np.int64)
    for c in prange(n_chains):
        failures[c] = _one_chain(np.int64(c), GT, hT, rr, nj, q, S0inv, S0inv_mu0, Sainv, Sainv_a0, tau_kind, tau_a,
                                 tau_b, hc_inv_scale2, iw_df, iw_Psi, sigma_a, sigma_b, group_variance, asis, out_scale,
                                 out_ref, gammas, betaT, alpha, mu, Sinv, lam, sigma2, normal_streams, gamma_streams,
                                 n_iter, thin, out_start, out_beta, out_alpha, out_mu, out_Sigma, out_sigma2)
    return failures.sum()


@njit(cache=True, fastmath=EXACT_ORDER, error_model="numpy")
def _one_chain(c, GT, hT, rr, nj, q, S0inv, S0inv_mu0, Sainv, Sainv_a0, tau_kind, tau_a, tau_b, hc_inv_scale2, iw_df,
               iw_Psi, sigma_a, sigma_b, group_variance, asis, out_scale, out_ref, gammas, betaT, alpha, mu, Sinv,
               lam, sigma2, normal_streams, gamma_streams, n_iter, thin, out_start, out_beta, out_alpha, out_mu, out_Sigma,
               out_sigma2):
    """Chain c's sweeps, its blocks one after another (workspaces are the chain's own: shared rows
    would false-share cache lines between threads).  The beta_j normals are drawn block by block, the
    hyperparameters' normals after them and the sweep's gammas at its start: the streams' order of
    sweep_layout."""
    J = GT.shape[2]
    p = GT.shape[0]
    r = p - q
    size, nb = group_blocks(J)
    normal = stream_at(normal_streams, c)
    gamma_rng = stream_at(gamma_streams, c)
    n_hyper, o_mu, o_bartlett, o_location, o_scale, n_gamma, o_exp, o_lambda, o_sigma = sweep_layout(
        q, r, J, tau_kind, asis, group_variance)
    iw = tau_kind == TAU_INVWISHART
    scale_step = asis and not iw
    part = np.zeros((nb, max(r * r + r + q, _spread_at(q) + q * q)))
    A = np.zeros((p, p))
    v = np.zeros(p)
    inv_diag = np.zeros(p)
    acc = np.zeros(p)
    Sinv_mu = np.zeros(q)
    M = np.zeros((q, q))
    Bart = np.zeros((q, q))
    W = np.zeros((q, q))
    Q = np.zeros((q, q))
    Bm = np.zeros((q, q))
    small = np.zeros((8, q))
    mu_old, tau, tau_old, fac, bvec = small[0], small[1], small[2], small[3], small[4]
    prior_ab = np.zeros((2, q))
    z = np.zeros(size * q)
    zh = np.zeros(n_hyper)
    g = np.zeros(n_gamma)
    Am = np.zeros((q, q, size))
    lanes = np.zeros((LANE_ROWS + 2 * p, size))
    G_totals = _block_G_totals(GT, q, size, nb, asis and not group_variance)
    inv_scale = 1.0 / out_scale  # J q stores per sweep: a multiply each, not a division
    # the chain's views made once, not at every call: each view costs a reference count up and down
    betaT_c, alpha_c, mu_c, Sinv_c, lam_c, sigma2_c = betaT[c], alpha[c], mu[c], Sinv[c], lam[c], sigma2[c]
    out_beta_c, out_alpha_c, out_mu_c = out_beta[c], out_alpha[c], out_mu[c]
    out_Sigma_c, out_sigma2_c = out_Sigma[c], out_sigma2[c]
    z_mu, z_bartlett, z_location, z_scale = zh[o_mu:], zh[o_bartlett:], zh[o_location:], zh[o_scale:]
    g_exp, g_sigma = g[o_exp:], g[o_sigma:]
    spread = part[:, _spread_at(q):]
    prior_a, prior_b = prior_ab[0], prior_ab[1]
    nfail = 0
    for t in range(n_iter):
        k = out_start + (t + 1) // thin - 1 if (out_mu.shape[1] > 0 and (t + 1) % thin == 0) else -1
        fill_gammas(gamma_rng, g, gammas)
        _sinv_mu(q, Sinv_c, mu_c, Sinv_mu)
        for b in range(nb):
            j0 = b * size
            j1 = min(J, j0 + size)
            fill_normals(normal, z, (j1 - j0) * q)
            nfail += _stage_beta(GT, hT, q, r, j0, j1, betaT_c, alpha_c, Sinv_c, Sinv_mu, sigma2_c, z, Am, lanes,
                                 part[b])
        fill_normals(normal, zh, n_hyper)
        nfail += _alpha_mu_step(J, q, r, nb, part, Sainv, Sainv_a0, S0inv, S0inv_mu0, Sinv_c, alpha_c, mu_c, A, v,
                                inv_diag, acc, zh, z_mu)
        for b in range(nb):
            _stage_spread_asis(GT, hT, q, r, b * size, min(J, (b + 1) * size), iw, asis, scale_step, betaT_c,
                               alpha_c, mu_c, sigma2_c, G_totals[b], lanes, part[b])
        nfail += _sigma_step(J, q, nb, spread, tau_kind, tau_a, tau_b, iw_df, iw_Psi, Sinv_c, lam_c, M, Bart, W, acc,
                             z_bartlett, g)
        shift = False
        if asis:
            for a in range(q):
                mu_old[a] = mu_c[a]
                tau_old[a] = 1.0 / math.sqrt(Sinv_c[a, a]) if scale_step else 1.0
            _hyper_prior(q, tau_kind, tau_a, tau_b, lam_c, prior_ab)
            shift = _asis_step(q, nb, part, scale_step, S0inv, S0inv_mu0, prior_a, prior_b, mu_c, Sinv_c, A, v,
                               inv_diag, Q, Bm, bvec, tau, tau_old, fac, z_location, z_scale, g_exp)
        if tau_kind == TAU_HALFCAUCHY:
            for a in range(q):
                lam_c[a] = (hc_inv_scale2[a] + Sinv_c[a, a]) / g[o_lambda + a]
        for b in range(nb):
            j0 = b * size
            j1 = min(J, j0 + size)
            part[b, 0] = _stage_noise(GT, hT, rr, q, r, j0, j1, shift, mu_c, mu_old, fac, betaT_c, alpha_c, sigma2_c,
                                      group_variance, sigma_b, g_sigma[j0:], lanes, k, inv_scale, out_ref, out_beta_c,
                                      out_sigma2_c)
        _finish_step(J, q, r, nb, part, group_variance, sigma_b, Sinv_c, alpha_c, mu_c, sigma2_c, M, acc,
                     g[o_sigma], k, out_scale, out_ref, out_alpha_c, out_mu_c, out_Sigma_c, out_sigma2_c)
    return nfail


# Costs (ns) for cutting a stage's tasks into segments, one per pair of workers, when the next sweep's random
# numbers are drawn beside it, as timed on x86-64 with AVX-512 (they only balance the pairs' loads): per random
# number (the inlined streams of kernels/draws.py, a buffer at a time), and per group and flop-like unit of the
# three stages.
FILL_NS_PER_NORMAL = 2.6
FILL_NS_PER_GAMMA = 7.9
STAGE_NS_PER_UNIT = 0.17


@njit(cache=True)
def _stage_units(q, p, asis):
    """Work per group of the three stages (beta, spread and interweaving sums, move and RSS), in units."""
    beta = q * q * q / 3.0 + 3.0 * q * q + 2.0 * p * q + 8.0
    sums = q * q + 4.0 + ((3.0 * q * q + 2.0 * p * q + 4.0) if asis else 0.0)
    noise = p * p + 5.0 * p + q + 4.0
    return beta, sums, noise


@njit(cache=True)
def _task_shares(C, fill_cost, T, block_cost, n_workers):
    """Contiguous ranges [first[w], last[w]) of the tasks 0..C+T-1 (C fills of ``fill_cost``, then T blocks of
    ``block_cost``) with about equal estimated cost per worker."""
    total = C * fill_cost + T * block_cost
    first = np.zeros(n_workers, dtype=np.int64)
    last = np.zeros(n_workers, dtype=np.int64)
    cum = 0.0
    w = 0
    for task in range(C + T):
        cost = fill_cost if task < C else block_cost
        mid = cum + 0.5 * cost
        while w < n_workers - 1 and mid >= total * (w + 1) / n_workers:
            w += 1
            first[w] = task
        last[w] = task + 1
        cum += cost
    for v in range(w + 1, n_workers):
        first[v] = last[w]
        last[v] = last[w]
    return first, last


@njit(cache=True)
def _ahead_plan(C, T, size, q, p, asis, n_normal, n_gamma, n_workers):
    """How the next sweep's random numbers are drawn beside the three stages: stage s draws the normals
    [cuts[0, s], cuts[0, s + 1]) and the gammas [cuts[1, s], cuts[1, s + 1]) of each chain (the streams are
    read in order, a part per stage), in proportion to the stage's work; the stage's C fills and T blocks are
    cut into segments [first[s, m], last[s, m]) of about equal estimated cost, one per pair of workers."""
    units = _stage_units(q, p, asis)
    total_units = units[0] + units[1] + units[2]
    cuts = np.zeros((2, 4), dtype=np.int64)
    n_segments = (n_workers + 1) // 2
    first = np.zeros((3, n_segments), dtype=np.int64)
    last = np.zeros((3, n_segments), dtype=np.int64)
    share = 0.0
    for s in range(3):
        share += units[s] / total_units
        cuts[0, s + 1] = n_normal if s == 2 else int(share * n_normal)
        cuts[1, s + 1] = n_gamma if s == 2 else int(share * n_gamma)
        fill_cost = (FILL_NS_PER_NORMAL * (cuts[0, s + 1] - cuts[0, s])
                     + FILL_NS_PER_GAMMA * (cuts[1, s + 1] - cuts[1, s]))
        f, l = _task_shares(C, fill_cost, T, size * STAGE_NS_PER_UNIT * units[s], n_segments)
        first[s] = f
        last[s] = l
    return cuts, first, last


CLAIM_STRIDE = 8  # int64s between the segments' counters: one cache line each


@intrinsic
def _claim(typingctx, counter, index):
    """counter[index] += 1, atomically; returns the value before."""
    if not (isinstance(counter, types.Array) and counter.dtype == types.int64 and counter.ndim == 1):
        return None
    sig = types.int64(counter, index)

    def codegen(context, builder, signature, args):
        arr = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, signature.args[0], arr, [args[1]])
        return builder.atomic_rmw("add", ptr, context.get_constant(types.int64, 1), "monotonic")

    return sig, codegen


@njit(cache=True)
def _next_task(claimed, s, w, first, last, taken):
    """Worker w's next task of stage s, or -1 when its segment is done.  Workers 2m and 2m + 1 share segment m,
    the first taking its tasks from the front and the second from the back; each claim counts on the segment's
    counter, so together they take every task once, and each keeps to its end of the segment (its blocks'
    data stay in its core's cache from stage to stage) while the two finish together."""
    m = w // 2
    lo = first[s, m]
    hi = last[s, m]
    if _claim(claimed, (s * first.shape[1] + m) * CLAIM_STRIDE) >= hi - lo:
        return -1
    return hi - 1 - taken if w % 2 == 1 else lo + taken


@njit(cache=True)
def _fill_part(normal, gamma_rng, z, g, gammas, cuts, s):
    """Stage s's part of a sweep's random numbers (_ahead_plan), continuing the streams in order."""
    fill_normals(normal, z[cuts[0, s]:], cuts[0, s + 1] - cuts[0, s])
    fill_gammas(gamma_rng, g[cuts[1, s]:], gammas[:, cuts[1, s]:cuts[1, s + 1]])


@njit(cache=True)
def _fill_task(task, C, ahead, normal_streams, gamma_streams, z_next, g_next, gammas, cuts, s):
    """Whether ``task`` of stage s is a chain's fill (tasks 0..C-1); draws that chain's part of the next
    sweep's random numbers when there is a next sweep in this call."""
    if task >= C:
        return False
    if ahead:
        c = np.int64(task)
        _fill_part(stream_at(normal_streams, c), stream_at(gamma_streams, c), z_next[task], g_next[task], gammas,
                   cuts, s)
    return True


@njit(cache=True)
def _task_block(task, C, nb, size, J):
    """Block task ``task`` (after the C fills) of a stage: (block index over chains, chain, block, j0, j1)."""
    i = task - C
    b = i % nb
    j0 = b * size
    return i, i // nb, b, j0, min(J, j0 + size)


@njit(cache=True, parallel=True, fastmath=EXACT_ORDER, error_model="numpy")
def hier_gibbs_groups(GT, hT, rr, nj, q, S0inv, S0inv_mu0, Sainv, Sainv_a0, tau_kind, tau_a, tau_b, hc_inv_scale2,
                      iw_df, iw_Psi, sigma_a, sigma_b, group_variance, asis, out_scale, out_ref, gammas, betaT,
                      alpha, mu, Sinv, lam, sigma2, normal_streams, gamma_streams, n_iter, thin, out_start, out_beta,
                      out_alpha, out_mu, out_Sigma, out_sigma2, n_workers):
    """hier_gibbs with every stage over groups run in parallel over (chain, block) pairs, the chains in
    lockstep: the same sweeps as _one_chain (the short per-chain steps between stages run on the calling
    thread: three parallel regions per sweep).  A sweep's random numbers do not depend on the state
    (sweep_layout), so each chain's next sweep's are drawn ahead, in _one_chain's order, a part beside each
    stage (_ahead_plan): no stage waits for one thread's drawing.  Within a stage, two workers share each
    segment of tasks from its two ends (_next_task), so they finish together whatever the tasks cost; a
    block's results do not depend on which worker ran it."""
    C = betaT.shape[0]
    J = GT.shape[2]
    p = GT.shape[0]
    r = p - q
    size, nb = group_blocks(J)
    T = C * nb
    n_hyper, o_mu, o_bartlett, o_location, o_scale, n_gamma, o_exp, o_lambda, o_sigma = sweep_layout(
        q, r, J, tau_kind, asis, group_variance)
    n_normal = J * q + n_hyper
    iw = tau_kind == TAU_INVWISHART
    scale_step = asis and not iw
    part = np.zeros((C, nb, max(r * r + r + q, _spread_at(q) + q * q)))
    # workspaces per worker, not per task: with many blocks, per-task ones would not stay in cache
    wAm = np.zeros((n_workers, q, q, size))
    wlanes = np.zeros((n_workers, LANE_ROWS + 2 * p, size))
    G_totals = _block_G_totals(GT, q, size, nb, asis and not group_variance)
    inv_scale = 1.0 / out_scale
    cA = np.zeros((C, p, p))
    cvec = np.zeros((C, 4, p))
    cqq = np.zeros((C, 5, q, q))
    small = np.zeros((C, 8, q))
    prior_ab = np.zeros((C, 2, q))
    zbuf = np.zeros((2, C, n_normal))  # this sweep's and the next sweep's
    gbuf = np.zeros((2, C, n_gamma))
    shift = np.zeros(C, dtype=np.bool_)
    cfail = np.zeros(C, dtype=np.int64)
    tfail = np.zeros(T, dtype=np.int64)
    cuts, first, last = _ahead_plan(C, T, size, q, p, asis, n_normal, n_gamma, n_workers)
    claimed = np.zeros(3 * first.shape[1] * CLAIM_STRIDE, dtype=np.int64)  # claims per stage and segment
    for s in range(3):
        for c in range(C):
            _fill_task(c, C, True, normal_streams, gamma_streams, zbuf[0], gbuf[0], gammas, cuts, s)
    for t in range(n_iter):
        k = out_start + (t + 1) // thin - 1 if (out_mu.shape[1] > 0 and (t + 1) % thin == 0) else -1
        z = zbuf[t % 2]
        g = gbuf[t % 2]
        z_next = zbuf[(t + 1) % 2]
        g_next = gbuf[(t + 1) % 2]
        # not after the last sweep: the streams' saved state must be that of a run stopped there
        ahead = t + 1 < n_iter
        for c in range(C):
            _sinv_mu(q, Sinv[c], mu[c], small[c, 7])
        # every stage's claim counters, once per sweep (a plain loop: claimed[:] = 0 would be a parallel region)
        for i in range(claimed.shape[0]):
            claimed[i] = 0
        for w in prange(n_workers):
            taken = 0
            while True:
                task = _next_task(claimed, 0, w, first, last, taken)
                if task < 0:
                    break
                taken += 1
                if _fill_task(task, C, ahead, normal_streams, gamma_streams, z_next, g_next, gammas, cuts, 0):
                    continue
                i, c, b, j0, j1 = _task_block(task, C, nb, size, J)
                tfail[i] += _stage_beta(GT, hT, q, r, j0, j1, betaT[c], alpha[c], Sinv[c], small[c, 7], sigma2[c],
                                        z[c, j0 * q:], wAm[w], wlanes[w], part[c, b])
        for c in range(C):
            zh = z[c, J * q:]
            cfail[c] += _alpha_mu_step(J, q, r, nb, part[c], Sainv, Sainv_a0, S0inv, S0inv_mu0, Sinv[c], alpha[c],
                                       mu[c], cA[c], cvec[c, 0], cvec[c, 1], cvec[c, 2], zh, zh[o_mu:])
        for w in prange(n_workers):
            taken = 0
            while True:
                task = _next_task(claimed, 1, w, first, last, taken)
                if task < 0:
                    break
                taken += 1
                if _fill_task(task, C, ahead, normal_streams, gamma_streams, z_next, g_next, gammas, cuts, 1):
                    continue
                i, c, b, j0, j1 = _task_block(task, C, nb, size, J)
                _stage_spread_asis(GT, hT, q, r, j0, j1, iw, asis, scale_step, betaT[c],
                                   alpha[c], mu[c], sigma2[c], G_totals[b], wlanes[w], part[c, b])
        for c in range(C):
            zh = z[c, J * q:]
            cfail[c] += _sigma_step(J, q, nb, part[c, :, _spread_at(q):], tau_kind, tau_a, tau_b, iw_df, iw_Psi,
                                    Sinv[c], lam[c], cqq[c, 0], cqq[c, 1], cqq[c, 2], cvec[c, 2], zh[o_bartlett:],
                                    g[c])
            shift[c] = False
            if asis:
                for a in range(q):
                    small[c, 0, a] = mu[c, a]
                    small[c, 2, a] = 1.0 / math.sqrt(Sinv[c, a, a]) if scale_step else 1.0
                _hyper_prior(q, tau_kind, tau_a, tau_b, lam[c], prior_ab[c])
                shift[c] = _asis_step(q, nb, part[c], scale_step, S0inv, S0inv_mu0, prior_ab[c, 0], prior_ab[c, 1],
                                      mu[c], Sinv[c], cA[c], cvec[c, 0], cvec[c, 1], cqq[c, 3], cqq[c, 4], small[c, 4],
                                      small[c, 1], small[c, 2], small[c, 3], zh[o_location:], zh[o_scale:],
                                      g[c, o_exp:])
            if tau_kind == TAU_HALFCAUCHY:
                for a in range(q):
                    lam[c, a] = (hc_inv_scale2[a] + Sinv[c, a, a]) / g[c, o_lambda + a]
        for w in prange(n_workers):
            taken = 0
            while True:
                task = _next_task(claimed, 2, w, first, last, taken)
                if task < 0:
                    break
                taken += 1
                if _fill_task(task, C, ahead, normal_streams, gamma_streams, z_next, g_next, gammas, cuts, 2):
                    continue
                i, c, b, j0, j1 = _task_block(task, C, nb, size, J)
                part[c, b, 0] = _stage_noise(GT, hT, rr, q, r, j0, j1, shift[c], mu[c], small[c, 0], small[c, 3],
                                             betaT[c], alpha[c], sigma2[c], group_variance, sigma_b,
                                             g[c, o_sigma + j0:], wlanes[w], k, inv_scale, out_ref, out_beta[c],
                                             out_sigma2[c])
        for c in range(C):
            _finish_step(J, q, r, nb, part[c], group_variance, sigma_b, Sinv[c], alpha[c], mu[c], sigma2[c],
                         cqq[c, 0], cvec[c, 2], g[c, o_sigma], k, out_scale, out_ref, out_alpha[c], out_mu[c],
                         out_Sigma[c], out_sigma2[c])
    return cfail.sum() + tfail.sum()
