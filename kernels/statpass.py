"""The statistics pass: one read of the rows per block, shifted and anchored for exact cross-products.

``fill_block`` copies rows start..stop of X (n, p) and y (n,) into a small buffer Z (m, p + 1) as
Z = [x - a_x, (y - a_y) - (x - a_x)' b], adds Z's column sums into ``sums`` and checks every value is
finite (with known observation weights w (n,), precisions: the sums are of w_i z_i and the rows are then
scaled by sqrt(w_i), so that Z'Z is the weighted Gram; a weight of 1 leaves every bit as without weights); the caller forms Z'Z with BLAS (``Z.T @ Z``, a syrk on a cache-resident block).  The shift a
(the first rows' means) keeps the Gram free of cancellation, and the anchor b (slopes close to the
least-squares ones) makes the last column the residuals, so X'r and r'r come out of the same syrk at
full relative precision even for a near-perfect fit (gibbsreg.io.stats.fused).

``group_pass`` is the same pass per group (or per cell) in one read of the rows in their own order: each
group's rows are shifted by the group's first row and accumulated into its own Gram (the lower triangle),
which is exact for the same reason; the caller centres them (weighted: sums of w_i z_i, Gram of w_i z_i z_i').

Both read X in its own layout (C: row by row; F, as a frame's columns: column by column within a block).
"""

import numpy as np
from numba import njit

from .rowpass import weighted_cross

EXACT = {"contract"}  # multiply-adds fused, sums in order: the same bits for the same rows and blocks


@njit(inline="always", fastmath=EXACT, error_model="numpy")
def _row_dot(Z, i, b, p):
    """Z[i, :p]' b in four interleaved partial sums: one running sum is a chain of p dependent multiply-adds."""
    a0 = a1 = a2 = a3 = 0.0
    k = 0
    while k + 4 <= p:
        a0 += Z[i, k] * b[k]
        a1 += Z[i, k + 1] * b[k + 1]
        a2 += Z[i, k + 2] * b[k + 2]
        a3 += Z[i, k + 3] * b[k + 3]
        k += 4
    while k < p:
        a0 += Z[i, k] * b[k]
        k += 1
    return (a0 + a1) + (a2 + a3)


@njit(cache=True, nogil=True, fastmath=EXACT, error_model="numpy")
def fill_block(X, y, w, start, stop, shift, anchor, Z, sums):
    """Z[:m] = [x - shift[:p], (y - shift[p]) - (x - shift[:p])' anchor] for rows start..stop (m = stop - start);
    sums (p + 1,) += Z[:m]'s column sums.  Weights w (n,) (an empty array: none): the sums are weighted and
    Z's rows are then scaled by sqrt(w_i).  Returns -1, or the first row (absolute) holding a NaN or inf."""
    p = X.shape[1]
    m = stop - start
    weighted = w.shape[0] > 0
    if X.strides[1] == X.itemsize or p == 1:  # rows contiguous
        for i in range(m):
            for k in range(p):
                Z[i, k] = X[start + i, k] - shift[k]
            Z[i, p] = (y[start + i] - shift[p]) - _row_dot(Z, i, anchor, p)
    else:  # columns contiguous (a frame's columns): read each column's stretch of rows in turn
        for i in range(m):
            Z[i, p] = y[start + i] - shift[p]
        for k in range(p):
            s, a = shift[k], anchor[k]
            for i in range(m):
                z = X[start + i, k] - s
                Z[i, k] = z
                Z[i, p] -= z * a
    bad = -1
    for k in range(p + 1):
        total = 0.0
        if weighted:
            for i in range(m):
                total += w[start + i] * Z[i, k]
        else:
            for i in range(m):
                total += Z[i, k]
        sums[k] += total
        if not np.isfinite(total) and bad < 0:
            bad = start
    if bad >= 0:
        for i in range(m):
            for k in range(p + 1):
                if not np.isfinite(Z[i, k]):
                    return start + i
    if weighted:
        for i in range(m):
            s = np.sqrt(w[start + i])
            for k in range(p + 1):
                Z[i, k] *= s
    return -1


@njit(cache=True, nogil=True)
def group_order(codes, n_groups):
    """(order (n,), offsets (n_groups + 1,)): the rows grouped by code, each group's rows in their own order
    (a counting sort, O(n))."""
    counts = np.zeros(n_groups + 1, dtype=np.int64)
    for i in range(codes.shape[0]):
        counts[codes[i] + 1] += 1
    offsets = np.cumsum(counts)
    fill = offsets[:-1].copy()
    order = np.empty(codes.shape[0], dtype=np.int64)
    for i in range(codes.shape[0]):
        g = codes[i]
        order[fill[g]] = i
        fill[g] += 1
    return order, offsets


GATHER_ROWS = 256  # a group's rows are gathered this many at a time into a buffer that stays in L1/L2


@njit(cache=True, nogil=True, fastmath=EXACT, error_model="numpy")
def group_pass(X, y, w, order, offsets, g_start, g_stop, anchor, first, sums, gram):
    """Groups g_start..g_stop (rows ``order[offsets[g]:offsets[g + 1]]``, at least one each): first[g] (p + 1) the
    group's first row [x, y]; sums[g] and the lower triangle of gram[g] ((p + 1) x (p + 1)) of
    z = [x - x_f, (y - y_f) - (x - x_f)' anchor], the rows shifted by the group's first row.  A group's rows
    are gathered into a small buffer and their products summed by rowpass.weighted_cross (four rows per
    update of the sums), with the rows' weights w (an empty array: all 1).  Returns -1, or a row holding a
    NaN or inf."""
    p = X.shape[1]
    q = p + 1
    Z = np.empty((GATHER_ROWS, q))
    wt = np.ones(GATHER_ROWS)
    weighted = w.shape[0] > 0
    zeros = np.zeros(GATHER_ROWS)
    unused = np.zeros(q)
    for g in range(g_start, g_stop):
        i0 = order[offsets[g]]
        for k in range(p):
            first[g, k] = X[i0, k]
        first[g, p] = y[i0]
        for lo in range(offsets[g], offsets[g + 1], GATHER_ROWS):
            m = min(GATHER_ROWS, offsets[g + 1] - lo)
            for t in range(m):
                i = order[lo + t]
                if weighted:
                    wt[t] = w[i]
                for k in range(p):
                    Z[t, k] = X[i, k] - first[g, k]
                Z[t, p] = (y[i] - first[g, p]) - _row_dot(Z, t, anchor, p)
            for k in range(q):
                total = 0.0
                for t in range(m):
                    total += wt[t] * Z[t, k]
                if not np.isfinite(total):
                    for t in range(m):
                        if not np.isfinite(Z[t, k]):
                            return order[lo + t]
                sums[g, k] += total
            weighted_cross(Z[:m], wt[:m], zeros[:m], gram[g], unused)
    return -1
