"""The per-factor updates of a crossed sweep: a factor's level sums and effect draws, the pooled
coefficients' right-hand side, and the per-parent shift of a factor nested in the first."""

from numba import njit

from ..draws import standard_normal
from ..linalg import cholesky_forward_affine
from .layout import _draw, _finish_draw


@njit(cache=True, _nrt=False)
def _level_rhs(f, with_alpha, lev, G, level, J, q, vidx, b_off, lv_off, hsum, Gfp, bc, al, r, C, K):
    """lev[j] <- sum_{c in j} (h_c[V_f] - [G_c[V_f, P] alpha] - sum_{g != f} G_c[V_f, V_g] b_g[level_g(c)]).

    The first two sums are per-level constants; only the cross-factor terms need the cells.
    """
    k = q[f]
    lo = lv_off[f]
    for j in range(J[f]):
        for a in range(k):
            s = hsum[lo + j, a]
            if with_alpha:
                for bb in range(r):
                    s -= Gfp[lo + j, a, bb] * al[bb]
            lev[j, a] = s
    if K > 1:
        for c in range(C):
            j = level[c, f]
            for g in range(K):
                if g == f:
                    continue
                base = b_off[g] + level[c, g] * q[g]
                for a in range(k):
                    row = vidx[f, a]
                    s = 0.0
                    for bb in range(q[g]):
                        s += G[c, row, vidx[g, bb]] * bc[base + bb]
                    lev[j, a] -= s


@njit(cache=True, _nrt=False)
def _draw_levels(f, lev, Sf, Gsum, lv_off, J, q, b_off, bc, mc, inv, A, v, inv_diag, Sm, normal):
    """b_f,j ~ N(A_j^{-1}(Sigma_f^{-1} m + lev_j / sigma^2), A_j^{-1}), A_j = Sigma_f^{-1} + Gsum_j / sigma^2,
    m = mu for the first factor and 0 for the others.  Returns False if a factorisation failed."""
    k = q[f]
    lo = lv_off[f]
    ok = True
    for a in range(k):
        s = 0.0
        if f == 0:
            for bb in range(k):
                s += Sf[a, bb] * mc[bb]
        Sm[a] = s
    for j in range(J[f]):
        if cholesky_forward_affine(Sf, Gsum[lo + j], inv, Sm, lev[j], A, v, inv_diag, k):
            _finish_draw(A, v, inv_diag, normal, k)
        else:
            ok = False
            for a in range(k):
                standard_normal(normal)
        base = b_off[f] + j * k
        for a in range(k):
            bc[base + a] = v[a]
    return ok


@njit(cache=True, _nrt=False)
def _pooled_rhs(acc, hp, Gfp, lv_off, J, q, b_off, bc, r, first, K):
    """acc <- h_P - sum_{f >= first} sum_j Gfp_{f,j}' b_f,j (per-level sums, no cell pass)."""
    for a in range(r):
        acc[a] = hp[a]
    for f in range(first, K):
        lo = lv_off[f]
        for j in range(J[f]):
            base = b_off[f] + j * q[f]
            for bb in range(q[f]):
                bv = bc[base + bb]
                for a in range(r):
                    acc[a] -= Gfp[lo + j, bb, a] * bv


@njit(cache=True, _nrt=False)
def _mean_draw(A, v, inv_diag, S, n, sums, k, normal):
    """v <- a draw of N(A^{-1} w, A^{-1}) with A = A0 + n S and w = w0 + S sums, where A0 (its lower triangle)
    and w0 are A and v on entry: the common shift of n effects of precision S whose sum is ``sums`` (mu of
    the first factor's effects; a later factor's shift move).  Returns False, drawing nothing, when A fails
    to factorise.  (hier's _alpha_mu_step forms mu's A and w alike, but contracted to fused multiply-adds: not
    shared, as that would round differently.)"""
    for a in range(k):
        for bb in range(a + 1):
            A[a, bb] += n * S[a, bb]
        s = v[a]
        for bb in range(k):
            s += S[a, bb] * sums[bb]
        v[a] = s
    return _draw(A, v, inv_diag, normal, k)


@njit(cache=True, _nrt=False)
def _skip_draw(v, normal, k):
    """A shift that failed to factorise: its k normals are still drawn (the stream stays aligned with the
    reference's) and the shift is 0."""
    for a in range(k):
        standard_normal(normal)
        v[a] = 0.0


@njit(cache=True, _nrt=False)
def _nested_shift(f, k, q1, J, b_off, lv_off, parent_of, n_children, shift_target, Sf, S1, bc, mc, childsum, cvals,
                  A, v, inv_diag, normal):
    """Per-parent translation for a factor nested in the first: b_1,s + c_s, b_f,j - c_s for the children j of s.

    Only the coordinates that also vary in the first factor move (S = V_f and V_1).  The likelihood is
    unchanged, so c_s ~ N(A^{-1} v, A^{-1}) with A = Sigma_1^{-1}[S, S] + n_s Sigma_f^{-1}[S, S] and
    v = Sigma_f^{-1}[S, :] sum_{j in s} b_f,j - Sigma_1^{-1}[S, :] (b_1,s - mu).
    """
    lo = lv_off[f]
    for s in range(J[0]):
        for a in range(k):
            childsum[s, a] = 0.0
    for j in range(J[f]):
        s = parent_of[lo + j]
        base = b_off[f] + j * k
        for a in range(k):
            childsum[s, a] += bc[base + a]
    for s in range(J[0]):
        ns = 0
        for a in range(k):
            ta = shift_target[f, a]
            if ta < 0:
                continue
            nb = 0
            for bb in range(a + 1):
                tb = shift_target[f, bb]
                if tb < 0:
                    continue
                A[ns, nb] = S1[ta, tb] + n_children[f, s] * Sf[a, bb]
                nb += 1
            t = 0.0
            for m in range(k):
                t += Sf[a, m] * childsum[s, m]
            for m in range(q1):
                t -= S1[ta, m] * (bc[s * q1 + m] - mc[m])
            v[ns] = t
            ns += 1
        if not _draw(A, v, inv_diag, normal, ns):
            _skip_draw(v, normal, ns)
        ns = 0
        for a in range(k):
            ta = shift_target[f, a]
            if ta < 0:
                cvals[s, a] = 0.0
                continue
            cvals[s, a] = v[ns]
            bc[s * q1 + ta] += v[ns]
            ns += 1
    for j in range(J[f]):
        s = parent_of[lo + j]
        base = b_off[f] + j * k
        for a in range(k):
            bc[base + a] -= cvals[s, a]

