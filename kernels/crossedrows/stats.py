"""The per-sweep statistics of a row-weighted crossed sweep: each row's linear predictor from its cell's
coefficients, the weighted cell statistics and their per-level sums.

The rows come sorted by cell (cell c is rows start[c]:start[c + 1]), so a cell's statistics are one call of
kernels/rowpass.weighted_cross on a contiguous block.  The cross-factor terms of the crossed sweep read both
triangles of G_c, so each cell's G is mirrored after its pass.
"""

from numba import njit

from ..crossed.layout import _cell_theta
from ..rowpass import mirror_lower, weighted_cross


@njit(cache=True, error_model="numpy")
def cell_linear_predictor(Z, start, level, vidx, q, pidx, b_off, b, alpha, theta, eta):
    """eta_i = z_i' theta_c(i) (scaled coordinates) for every row; O(n p) plus O(C p)."""
    p = Z.shape[1]
    for c in range(start.shape[0] - 1):
        _cell_theta(c, theta, b, alpha, level, vidx, q, pidx, b_off, -1, True)
        for i in range(start[c], start[c + 1]):
            s = 0.0
            for a in range(p):
                s += Z[i, a] * theta[a]
            eta[i] = s


@njit(cache=True, error_model="numpy")
def cell_cross(Z, w, u, start, G, h, rr):
    """Per cell: G_c = Z_c' W_c Z_c (both triangles), h_c = Z_c' W_c u_c and rr_c = u_c' W_c u_c; O(n p^2 / 2)."""
    p = Z.shape[1]
    for c in range(start.shape[0] - 1):
        s, e = start[c], start[c + 1]
        Gc = G[c]
        hc = h[c]
        for a in range(p):
            hc[a] = 0.0
            for bb in range(p):
                Gc[a, bb] = 0.0
        weighted_cross(Z[s:e], w[s:e], u[s:e], Gc, hc)
        mirror_lower(Gc, p)
        t = 0.0
        for i in range(s, e):
            t += w[i] * u[i] * u[i]
        rr[c] = t


@njit(cache=True, error_model="numpy")
def cell_linear(Z, u, start, h):
    """Per cell: h_c = Z_c' u_c (unit weights; the probit's sums of latents); O(n p)."""
    p = Z.shape[1]
    for c in range(start.shape[0] - 1):
        for a in range(p):
            h[c, a] = 0.0
        for i in range(start[c], start[c + 1]):
            ui = u[i]
            for a in range(p):
                h[c, a] += Z[i, a] * ui


@njit(cache=True, error_model="numpy")
def level_sums(G, h, level, J, q, vidx, pidx, lv_off, Gsum, hsum, Gfp, Gpp, hp, with_G, with_h):
    """The crossed sweep's per-level sums of the cell statistics (models/crossed/problem.py names them):
    Gsum, Gfp and Gpp from G (``with_G``), hsum and hp from h (``with_h``); O(C K (q^2 + q r) + C r^2)."""
    C = G.shape[0]
    K = J.shape[0]
    r = pidx.shape[0]
    if with_G:
        Gsum[:] = 0.0
        Gfp[:] = 0.0
        Gpp[:] = 0.0
    if with_h:
        hsum[:] = 0.0
        hp[:] = 0.0
    for c in range(C):
        for f in range(K):
            j = lv_off[f] + level[c, f]
            for a in range(q[f]):
                ra = vidx[f, a]
                if with_h:
                    hsum[j, a] += h[c, ra]
                if with_G:
                    for bb in range(q[f]):
                        Gsum[j, a, bb] += G[c, ra, vidx[f, bb]]
                    for bb in range(r):
                        Gfp[j, a, bb] += G[c, ra, pidx[bb]]
        for a in range(r):
            if with_h:
                hp[a] += h[c, pidx[a]]
            if with_G:
                for bb in range(r):
                    Gpp[a, bb] += G[c, pidx[a], pidx[bb]]


@njit(cache=True, error_model="numpy")
def child_sums(G, h, level, f, Gchild, hchild):
    """Per level j of factor f (the nested factor of the joint update, kernels/crossed/nested.py): Gchild[j] and
    hchild[j], the sums of its cells' G_c and h_c; O(C p^2)."""
    Gchild[:] = 0.0
    hchild[:] = 0.0
    p = G.shape[1]
    for c in range(G.shape[0]):
        j = level[c, f]
        for a in range(p):
            hchild[j, a] += h[c, a]
            for bb in range(p):
                Gchild[j, a, bb] += G[c, a, bb]
