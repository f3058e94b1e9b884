"""The one pass over the rows that makes the statistics (gibbsreg.kernels.statpass), blocks of rows at a time.

Flat: the rows are shifted by the first rows' means a and the response replaced by its residual at slopes
b0 fitted on those first rows, block by block into a cache-resident buffer Z = [x - a_x, r] (numba), and
Z'Z is one BLAS syrk per block; fixed segments of blocks are shared between threads (each its own Z and
sums, added in segment order at the end: the same shift and anchor, so no merge, and the same bits at any
number of threads).  From Z'Z and the sums: the centred C = X'X, h = X'r,
r'r at the anchor b0, then one exact Newton step moves the anchor to the least-squares slopes (as the
merges do).  Because r is formed row by row before the products, r'r keeps its relative precision for a
near-perfect fit, and the shift keeps C free of cancellation for data far from the origin.

Grouped (per group or per cell): one read of the rows in their own order; each group's rows are shifted
by that group's first row and accumulated into its own Gram, then centred; residuals at the pooled slopes.

Known observation weights w (precisions, docs/weights.md): every sum is weighted (the means are weighted
means, C = sum w (x - x̄)(x - x̄)', h, rr likewise) and the first value returned is the weights' total W in
place of the row count; weights of 1 give every bit of the unweighted pass.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .arith import _refine, _scaled_solve

BLOCK_ROWS = 4096  # a block's buffer (rows x (p + 1) doubles) stays in the core's L2 cache up to p of about 50
PILOT_ROWS = 1024
THREAD_ROWS = 200_000  # fewer rows than this per thread: the threads' start-up costs more than they save
SEGMENT_ROWS = 1 << 17  # rows a thread sums alone; the segments' sums are added in order


def _threads(n: int) -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, n // THREAD_ROWS))


def _pilot(X, y, w=None):
    """The shift a (p + 1) and the anchor b0 (p): the first rows' (weighted) means and least-squares slopes
    (zeros when those rows are not finite: the pass then finds and reports the bad value)."""
    m = min(X.shape[0], PILOT_ROWS)
    px = X.shape[1]
    head = np.empty((m, px + 1))
    head[:, :px] = X[:m]
    head[:, px] = y[:m]
    if not np.isfinite(head).all():
        return np.zeros(px + 1), np.zeros(px)
    if w is None:
        shift = head.mean(axis=0)
        head -= shift
    else:
        shift = (w[:m, None] * head).sum(axis=0) / w[:m].sum()
        head -= shift
        head *= np.sqrt(w[:m])[:, None]
    S = head.T @ head
    b0 = _scaled_solve(S[None, :px, :px], S[None, :px, px], 1e-12)[0] if px else np.zeros(0)
    return shift, (b0 if np.isfinite(b0).all() else np.zeros(px))


def _blocks(X, y, w, start, stop, shift, anchor):
    from ...kernels.statpass import fill_block

    q = X.shape[1] + 1
    Z = np.empty((min(BLOCK_ROWS, max(stop - start, 1)), q))
    sums = np.zeros(q)
    S = np.zeros((q, q))
    for lo in range(start, stop, BLOCK_ROWS):
        hi = min(stop, lo + BLOCK_ROWS)
        bad = fill_block(X, y, w, lo, hi, shift, anchor, Z, sums)
        if bad >= 0:
            return bad, S, sums
        v = Z[: hi - lo]
        S += v.T @ v  # syrk: NumPy spots the transposed pair
    return -1, S, sums


def _nonfinite(X, y, row, on_nonfinite):
    if on_nonfinite is not None:
        on_nonfinite()
    from .arith import check_finite_block

    check_finite_block(X[row:row + 1], y[row:row + 1], None, row0=row)
    raise ValueError(f"the data contain NaN or inf at row {row}")


def _weights_arg(w):
    return _NO_WEIGHTS if w is None else np.ascontiguousarray(w, dtype=np.float64)


_NO_WEIGHTS = np.zeros(0)


def flat_arrays(X, y, on_nonfinite=None, w=None):
    """(n, x mean, y mean, C, anchor, h, rr) of rows X (n, p) and y (n,) (n >= 1), each with a leading axis of 1,
    anchored at the least-squares slopes.  ``on_nonfinite()`` raises the caller's message for a NaN or inf.
    ``w`` (n,) validated positive weights: the sums are weighted and the first value is their total W."""
    n, px = X.shape
    shift, anchor = _pilot(X, y, w)
    wk = _weights_arg(w)
    # fixed segments of rows, summed in their order: the bits do not depend on how many threads ran them
    edges = list(range(0, n, SEGMENT_ROWS)) + [n]
    segments = range(len(edges) - 1)
    threads = min(_threads(n), len(segments))

    def run(k):
        return _blocks(X, y, wk, edges[k], edges[k + 1], shift, anchor)

    if threads == 1:
        parts = [run(k) for k in segments]
    else:
        with ThreadPoolExecutor(threads) as pool:
            parts = list(pool.map(run, segments))
    bad = [b for b, _, _ in parts if b >= 0]
    if bad:
        _nonfinite(X, y, min(bad), on_nonfinite)
    S, s = parts[0][1].copy(), parts[0][2].copy()
    for _, S_k, s_k in parts[1:]:
        S += S_k
        s += s_k
    if not (np.isfinite(s).all() and np.isfinite(S).all()):
        raise ValueError("the data are too large in magnitude: their squares overflow float64; rescale them")
    total = float(n) if w is None else float(np.sum(wk))
    e = s / total
    Sc = S - total * np.outer(e, e)
    Sc = 0.5 * (Sc + Sc.T)
    C = Sc[:px, :px].copy()
    h = Sc[:px, px].copy()
    rr = max(float(Sc[px, px]), 0.0)
    xm = shift[:px] + e[:px]
    ym = float(shift[px] + e[px] + e[:px] @ anchor)
    b, h, rr = _refine(C[None], anchor[None], h[None], np.array([rr]))
    return (np.array([total]), xm[None], np.array([ym]), C[None], b, h, rr)


def grouped_arrays(X, y, codes, n_groups: int, anchor, on_nonfinite=None, w=None):
    """(n_j, x means, y means, C_j, anchors, h_j, rr_j) of every group 0..n_groups-1 (codes (n,); every group must
    have rows), the residuals anchored at ``anchor`` (p,) for every group.  With weights ``w`` (n,) the sums are
    weighted and n_j is the group's weight total W_j."""
    from ...kernels.statpass import group_order, group_pass

    n, px = X.shape
    q = px + 1
    order, offsets = group_order(np.ascontiguousarray(codes, dtype=np.int64), n_groups)
    counts = np.diff(offsets)
    first = np.zeros((n_groups, q))
    sums = np.zeros((n_groups, q))
    gram = np.zeros((n_groups, q, q))
    anchor = np.ascontiguousarray(anchor, dtype=float)
    wk = _weights_arg(w)
    threads = _threads(n)
    # the threads take runs of whole groups of about equal rows: each group's sums in one thread, so the
    # bits do not depend on the number of threads
    edges = np.searchsorted(offsets, np.linspace(0, n, threads + 1)).clip(0, n_groups)
    edges[0], edges[-1] = 0, n_groups

    def run(k):
        return group_pass(X, y, wk, order, offsets, edges[k], edges[k + 1], anchor, first, sums, gram)

    if threads == 1:
        bad = [run(0)]
    else:
        with ThreadPoolExecutor(threads) as pool:
            bad = list(pool.map(run, range(threads)))
    bad = [b for b in bad if b >= 0]
    if bad:
        _nonfinite(X, y, min(bad), on_nonfinite)
    full = gram + np.swapaxes(gram, 1, 2)
    idx = np.arange(q)
    full[:, idx, idx] *= 0.5
    nk = counts.astype(float) if w is None else np.bincount(codes, weights=wk, minlength=n_groups)
    e = sums / nk[:, None]
    Sc = full - nk[:, None, None] * e[:, :, None] * e[:, None, :]
    C = np.ascontiguousarray(Sc[:, :px, :px])
    h = np.ascontiguousarray(Sc[:, :px, px])
    rr = np.maximum(Sc[:, px, px], 0.0)
    xm = first[:, :px] + e[:, :px]
    ym = first[:, px] + e[:, px] + e[:, :px] @ anchor
    b = np.broadcast_to(np.asarray(anchor, dtype=float), (n_groups, px)).copy()
    return nk, xm, ym, C, b, h, rr
