"""Numba kernels of the diagnostics: one pass per parameter, threads over parameters.

Every statistic of one parameter comes from the same pass over its draws: a bucket sort of
the split draws (O(S) for any continuous distribution, exact order, ties found), the type-7
quantiles read from the sorted draws, the rank-normal scores of the split chains and of the
folded split chains (the folded order is a merge of the two sides of the median, not a second
sort), split R-hat, and Geyer's ESS with the autocovariance lags computed directly and only as
far as the truncation of Geyer's sequence needs them (an FFT takes over for slowly mixing
chains).  The Python side (``_core``) hands over blocks of parameters laid out
(parameter, chain, draw), work buffers allocated once per call (fresh memory costs a page
fault per 4 KiB), and gets one row of statistics per parameter.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .autocov import _ess, fft_lag_sums
from .layout import (  # noqa: F401 (the constants and buffer sizes the Python side reads are re-exported)
    BULK, ESSMEAN, ESSSD, ESS_BULK, ESS_MEAN, ESS_SD, F_BULK, F_DEV, F_SORTED, F_SPLIT, F_TEMP,
    I_BUCKET, I_INDEX, I_TEMP, MEAN, MOMENTS, N_FLOAT, N_INT, N_SMALL, QUANT, RANK_RHAT, RHAT, SD, SPLIT,
    SPLIT_RHAT, SQ2MEAN, SQMEAN, S_ACOV, S_MEANS, S_RHO, S_VARS, count_size, fft_size,
    small_size, stack_rows,
)
from .moments import _copy, _fill, _rhat, _shifted_mean, _sum, chain_moments
from .ranks import _folded_scores, _heapsort, _quantiles, _scores, _sort

# ---------------------------------------------------------------------------
# one parameter, and the parallel loop over a block of parameters
# ---------------------------------------------------------------------------
@njit(cache=True)
def _split(x, n_chain, n_draw, out):
    """The split chains of ``x`` (``n_chain`` chains of ``n_draw``): first and last
    ``n_draw // 2`` draws of each chain (an odd chain's middle draw dropped)."""
    half = n_draw // 2
    for c in range(n_chain):
        _copy(out[2 * c * half :], x[c * n_draw : c * n_draw + half])
        _copy(out[(2 * c + 1) * half :], x[(c + 1) * n_draw - half : (c + 1) * n_draw])


@njit(cache=True, error_model="numpy")
def _one(x, n_chain, n_draw, want, qk, qg, qind, table, row, fw, iw, counts, stack, ew, variances):
    """All requested statistics of one parameter's draws ``x`` (chain-major) into ``row``."""
    size = x.size
    nan = False
    for i in range(size):
        nan |= x[i] != x[i]
    if nan:
        _fill(row, np.nan)
        return
    half = n_draw // 2
    split = 2 * n_chain
    n_split = split * half
    means = ew[1]  # the ESS's chain means, free between its calls
    v, tv, zb = fw[F_SORTED], fw[F_TEMP], fw[F_BULK]
    ix, tix = iw[I_INDEX], iw[I_TEMP]
    nq = qk.size
    mean = np.nan
    if want & (MOMENTS | ESS_SD):
        mean = _shifted_mean(x)
        row[MEAN] = mean
        row[SD] = math.sqrt(_sum(x, mean, True) / (size - 1))
    ys = x  # with an even number of draws the split chains are the chains, in place
    if n_draw % 2:
        ys = fw[F_SPLIT]
        _split(x, n_chain, n_draw, ys)
    sorted_ = n_split > 0 and (nq > 0 or want & (RANK_RHAT | ESS_BULK) != 0)
    if sorted_:
        _sort(ys, n_split, v, ix, tv, tix, iw[I_BUCKET], counts, stack)
    if nq:
        n_mid = n_chain if n_draw % 2 else 0
        mids = zb[:n_mid]  # free until the scores below
        for c in range(n_mid):
            mids[c] = x[c * n_draw + half]
        _heapsort(mids, tix, 0, n_mid)
        _quantiles(v, n_split if sorted_ else 0, mids, tv, qk, qg, row)
    if sorted_ and want & (RANK_RHAT | ESS_BULK):
        _scores(v, ix, n_split, table, zb)
        if want & ESS_BULK:  # the scores are all equal when the draws are
            row[BULK] = _ess(zb, split, half, ew, 0.0 if v[n_split - 1] == v[0] else 1.0)
        if want & RANK_RHAT:
            bulk = _rhat(zb, split, half, means, variances)
            mid = n_split // 2
            center = v[mid] if n_split % 2 else (v[mid - 1] + v[mid]) / 2
            _folded_scores(v, ix, n_split, center, table, tv, tix)  # the ESS's deviations are done with
            tail = _rhat(tv, split, half, means, variances)
            row[RHAT] = tail if tail > bulk else bulk
    if want & SPLIT_RHAT:
        row[SPLIT] = _rhat(ys, split, half, means, variances)
    if want & ESS_MEAN:
        row[ESSMEAN] = _ess(ys, split, half, ew, v[n_split - 1] - v[0] if sorted_ else -1.0)
    for k in range(nq):
        if qind[k]:
            q = row[QUANT + k]
            below = 0
            for i in range(n_split):
                hit = ys[i] <= q
                zb[i] = 1.0 if hit else 0.0
                below += hit
            row[QUANT + nq + k] = _ess(zb, split, half, ew, 1.0 if 0 < below < n_split else 0.0)
    if want & ESS_SD:
        sq = v  # the sort's buffers are free again
        for i in range(size):
            sq[i] = (x[i] - mean) ** 2
        row[SQMEAN] = _sum(sq[:size], 0.0, False) / size
        for i in range(size):
            tv[i] = sq[i] * sq[i]
        row[SQ2MEAN] = _sum(tv[:size], 0.0, False) / size
        if n_draw % 2:
            _split(sq, n_chain, n_draw, fw[F_SPLIT])
            sq = fw[F_SPLIT]
        row[ESSSD] = _ess(sq, split, half, ew, -1.0)


# The entry points below are serial and release the GIL: ``_core`` runs them on chunks of
# parameters from a few Python threads, which compiles in a fraction of the time of a
# ``prange`` kernel and does not depend on Numba's threading layer.
@njit(cache=True, nogil=True, error_model="numpy")
def block_stats(blk, want, qk, qg, qind, table, twr, twi, fw, iw, counts, stack, small, out):
    """Statistics of each parameter of ``blk`` (parameter, chain, draw) into ``out[p]``.

    ``want``: bits of the statistics to compute; ``qk``, ``qg``: type-7 quantile plan (the
    quantile is ``(1 - g) s[k - 1] + g s[k]`` of the sorted draws ``s``); ``qind``: which
    quantiles also get the ESS of their indicator; ``table``: scores of the half-integer
    ranks; ``twr``, ``twi``: FFT twiddles for the split chains.  Work buffers of the calling
    thread: ``fw`` (N_FLOAT, chains x draws), ``iw`` (N_INT, chains x draws; int32), ``counts``
    (count_size), ``stack`` (stack_rows, 3), ``small`` (N_SMALL, small_size).
    """
    n_par, n_chain, n_draw = blk.shape
    size = n_chain * n_draw
    half = max(n_draw // 2, 1)
    split = 2 * n_chain
    ew = (fw[F_DEV], small[S_MEANS, :split], small[S_ACOV, :half], small[S_RHO, :half], twr, twi)
    for p in range(n_par):
        _one(blk[p].reshape(size), n_chain, n_draw, want, qk, qg, qind, table, out[p],
             fw, iw, counts, stack, ew, small[S_VARS, :split])


@njit(cache=True, nogil=True)
def gather(a, lo, hi, out):
    """``out[p, c, d] = a[c, d, lo + p]`` for parameters ``lo <= p < hi`` (``a`` in any layout)."""
    n_chain, n_draw, _ = a.shape
    for c in range(n_chain):
        for d in range(n_draw):
            for p in range(hi - lo):
                out[p, c, d] = a[c, d, lo + p]


@njit(cache=True, nogil=True, error_model="numpy")
def block_chain_moments(blk, mean, var):
    """Per-chain mean and variance of each parameter of ``blk`` (parameter, chain, draw)."""
    n_par, n_chain, n_draw = blk.shape
    for p in range(n_par):
        chain_moments(blk[p].reshape(n_chain * n_draw), n_chain, n_draw, mean[p], var[p])


@njit(cache=True, nogil=True, error_model="numpy")
def block_autocovariance(blk, twr, twi, out):
    """Per-chain autocovariance ``(1/n) sum_i d_i d_{i+t}`` of each parameter of ``blk``
    (parameter, chain, draw) into ``out`` (same shape), ``d`` the draws less their chain
    mean."""
    n_par, n_chain, n = blk.shape
    nfft = 2 * twr.size
    dev = np.empty(n_chain * n)
    re, im, power = np.empty(nfft), np.empty(nfft), np.empty(nfft)
    acov = np.empty(n)
    for p in range(n_par):
        x = blk[p].reshape(n_chain * n)
        for c in range(n_chain):
            seg = x[c * n : (c + 1) * n]
            mu = _sum(seg, 0.0, False) / n
            for i in range(n):
                dev[c * n + i] = seg[i] - mu
            fft_lag_sums(dev, c, c + 1, n, acov, re, im, power, twr, twi)
            for t in range(n):
                out[p, c, t] = acov[t] / n
