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

# np.finfo(float).resolution: the range below which ArviZ calls draws constant (ESS = S).
RESOLUTION = float(np.finfo(np.float64).resolution)

# what a call computes (bits of ``want``)
MOMENTS = 1  # mean and sd over all draws
RANK_RHAT = 2  # rank-normalised split R-hat: max of the bulk and folded ones
SPLIT_RHAT = 4  # classic split R-hat
ESS_BULK = 8  # split ESS of the rank-normal scores
ESS_MEAN = 16  # split ESS of the draws
ESS_SD = 32  # split ESS of the centred squares, with their first two moments

# columns of a result row; quantile k is column QUANT + k, the ESS of its indicator
# column QUANT + n_probs + k
MEAN, SD, RHAT, SPLIT, BULK, ESSMEAN, ESSSD, SQMEAN, SQ2MEAN, QUANT = range(10)

# per-thread work buffers: float rows of length chains x draws, int rows of that length + 1
# (and the bucket counts, count_size)
F_SPLIT, F_SORTED, F_TEMP, F_DEV, F_SERIES, F_BULK = range(6)
N_FLOAT = 6
I_INDEX, I_TEMP, I_BUCKET = range(3)
N_INT = 3
# and short float rows (chain means and variances, lags, FFT buffers)
S_MEANS, S_VARS, S_ACOV, S_RHO, S_RE, S_IM, S_POWER = range(7)
N_SMALL = 7

_INSERTION = 16  # segments this short are insertion-sorted
_TOP_BUCKETS = 1024  # buckets of the first level of the sort
_MAX_BUCKETS = 1 << 16  # buckets of any level (bounds the counts: 512 KiB)
_MAX_DEPTH = 12  # bucket levels before a segment is handed to a comparison sort
_DIRECT_LAGS = 64  # lags summed directly before the FFT computes all of them
_SUM_BLOCK = 1024  # block of the two-level sums
_REASSOC = {"reassoc", "contract"}  # fastmath flags of the vectorised reductions


def count_size(size):
    """Length of the sort's bucket counts for ``size`` values."""
    return min(2 * size, _MAX_BUCKETS) + 2


def stack_rows(size):
    """Rows of the sort's stack of pending segments for ``size`` values."""
    return size // _INSERTION + 2


def fft_size(n):
    """Power of two >= 2 n - 1: zero padding for the lags of chains of ``n`` draws."""
    return 1 << max(1, (2 * n - 2).bit_length())


def small_size(n_chain, n_draw):
    """Length of the short work rows for ``n_chain`` chains of ``n_draw`` draws."""
    return max(2 * n_chain, fft_size(max(n_draw // 2, 2)), n_draw // 2 + 4)


# ---------------------------------------------------------------------------
# copies (loops: Numba's slice assignment is slow to compile)
# ---------------------------------------------------------------------------
@njit(cache=True)
def _copy(dst, src):
    """``dst[i] = src[i]`` for ``i < src.size``."""
    for i in range(src.size):
        dst[i] = src[i]


@njit(cache=True)
def _fill(dst, value):
    for i in range(dst.size):
        dst[i] = value


# ---------------------------------------------------------------------------
# sums and chain moments
#
# Hot loops index slices from 0 (``seg[i]``, ``i`` in ``range(seg.size)``): with offsets
# (``a[lo + i]``) Numba's negative-index wraparound keeps LLVM from vectorising them.
# Reductions may be reassociated (partial sums, as NumPy's pairwise sums do).
# ---------------------------------------------------------------------------
@njit(cache=True, fastmath=_REASSOC)
def _sum(a, center, squares):
    """sum(a - center), or sum((a - center)^2) with ``squares``, in blocks of _SUM_BLOCK."""
    total = 0.0
    for b in range(0, a.size, _SUM_BLOCK):
        seg = a[b : b + _SUM_BLOCK]
        part = 0.0
        for i in range(seg.size):
            d = seg[i] - center
            part += d * d if squares else d
        total += part
    return total


@njit(cache=True, error_model="numpy")
def _shifted_mean(a):
    """mean(a), accumulated relative to a[0] (exact when all values are equal)."""
    return a[0] + _sum(a, a[0], False) / a.size


@njit(cache=True, error_model="numpy")
def chain_moments(y, n_chain, n, mean, var):
    """Mean and unbiased variance of each of the ``n_chain`` chains of ``n`` draws in ``y``,
    relative to the chain's first draw (a constant chain has exactly zero variance)."""
    for m in range(n_chain):
        seg = y[m * n : (m + 1) * n]
        mu = _shifted_mean(seg)
        mean[m] = mu
        var[m] = _sum(seg, mu, True) / (n - 1)


@njit(cache=True, error_model="numpy")
def _var_ddof1(a, k):
    """Unbiased variance of a[:k], relative to a[0] (exactly 0 for equal values)."""
    mu = _shifted_mean(a[:k])
    return _sum(a[:k], mu, True) / (k - 1)


@njit(cache=True, error_model="numpy")
def _rhat(y, n_chain, n, mean, var):
    r"""Split R-hat of the chains in ``y``: ``sqrt((B/W + n - 1) / n)`` with
    ``B = n var_m(mean_m)`` and ``W = mean_m(var_m)``."""
    chain_moments(y, n_chain, n, mean, var)
    within = 0.0
    for m in range(n_chain):
        within += var[m]
    within /= n_chain
    between = n * _var_ddof1(mean, n_chain)
    return math.sqrt((between / within + n - 1) / n)


# ---------------------------------------------------------------------------
# autocovariance
# ---------------------------------------------------------------------------
@njit(cache=True, fastmath=_REASSOC)
def _lag_sums(dev, n_chain, n, t0, out):
    """``out[t] = sum_m sum_i dev[m, i] dev[m, i + t]`` for the four lags ``t0 .. t0 + 3``
    (those below ``n``), in one pass over the draws."""
    s0 = s1 = s2 = s3 = 0.0
    body = max(0, n - t0 - 3)  # draws with all four partners i + t in the chain
    for m in range(n_chain):
        lo = m * n
        a = dev[lo : lo + n]
        b0 = dev[lo + t0 : lo + t0 + body]
        b1 = dev[lo + t0 + 1 : lo + t0 + 1 + body]
        b2 = dev[lo + t0 + 2 : lo + t0 + 2 + body]
        b3 = dev[lo + t0 + 3 : lo + t0 + 3 + body]
        for i in range(body):
            d = a[i]
            s0 += d * b0[i]
            s1 += d * b1[i]
            s2 += d * b2[i]
            s3 += d * b3[i]
        for i in range(body, n):
            if i + t0 < n:
                s0 += a[i] * a[i + t0]
            if i + t0 + 1 < n:
                s1 += a[i] * a[i + t0 + 1]
            if i + t0 + 2 < n:
                s2 += a[i] * a[i + t0 + 2]
    sums = (s0, s1, s2, s3)
    for j in range(4):
        if t0 + j < n:
            out[t0 + j] = sums[j]


@njit(cache=True)
def _fft(re, im, twr, twi, inverse):
    """In-place radix-2 complex FFT (unnormalised); ``twr + i twi = exp(-2 pi i k / N)``."""
    size = re.size
    j = 0
    for i in range(1, size):
        bit = size >> 1
        while j & bit:
            j ^= bit
            bit >>= 1
        j |= bit
        if i < j:
            re[i], re[j] = re[j], re[i]
            im[i], im[j] = im[j], im[i]
    sign = -1.0 if inverse else 1.0
    width = 2
    while width <= size:
        half = width >> 1
        stride = size // width
        for start in range(0, size, width):
            for k in range(half):
                wr = twr[k * stride]
                wi = sign * twi[k * stride]
                a = start + k
                b = a + half
                xr = re[b] * wr - im[b] * wi
                xi = re[b] * wi + im[b] * wr
                re[b] = re[a] - xr
                im[b] = im[a] - xi
                re[a] += xr
                im[a] += xi
        width <<= 1


@njit(cache=True)
def fft_lag_sums(dev, m0, m1, n, out, re, im, power, twr, twi):
    """``out[t] = sum_{m0 <= m < m1} sum_i dev[m, i] dev[m, i + t]`` for every lag ``t < n``.

    Zero-padded FFTs of length ``re.size >= 2 n - 1``, two real chains per complex transform;
    the power spectra are summed over chains before one inverse transform.
    """
    size = re.size
    _fill(power, 0.0)
    for m in range(m0, m1, 2):
        _fill(re, 0.0)
        _fill(im, 0.0)
        _copy(re, dev[m * n : (m + 1) * n])
        if m + 1 < m1:
            _copy(im, dev[(m + 1) * n : (m + 2) * n])
        _fft(re, im, twr, twi, False)
        for k in range(size):
            r = (size - k) & (size - 1)
            power[k] += 0.5 * (re[k] * re[k] + im[k] * im[k] + re[r] * re[r] + im[r] * im[r])
    _copy(re, power)
    _fill(im, 0.0)
    _fft(re, im, twr, twi, True)
    for t in range(n):
        out[t] = re[t] / size


# ---------------------------------------------------------------------------
# effective sample size
# ---------------------------------------------------------------------------
@njit(cache=True)
def _range(y):
    lo = y[0]
    hi = y[0]
    for i in range(y.size):
        lo = min(lo, y[i])
        hi = max(hi, y[i])
    return hi - lo


@njit(cache=True, error_model="numpy")
def _ess(y, n_chain, n, w, spread):
    """Split ESS of the ``n_chain`` chains of ``n`` draws in ``y`` (ArviZ's ``_ess``);
    ``spread`` is ``max(y) - min(y)`` when the caller knows it, else negative.

    The chain-averaged autocovariance at lag ``t`` is computed when Geyer's initial positive
    sequence first needs it: directly (four lags a pass) up to _DIRECT_LAGS lags, then all
    lags by FFT.
    """
    dev, means, acov, rho, re, im, power, twr, twi = w
    total = n_chain * n
    if spread < 0:
        spread = _range(y[:total])
    if spread < RESOLUTION:
        return float(total)
    for m in range(n_chain):
        seg = y[m * n : (m + 1) * n]
        mu = _sum(seg, 0.0, False) / n
        means[m] = mu
        out = dev[m * n : (m + 1) * n]
        for i in range(n):
            out[i] = seg[i] - mu
    scale = 1.0 / (n * n_chain)
    _lag_sums(dev, n_chain, n, 0, acov)
    known = min(4, n)
    mean_var = acov[0] * scale * n / (n - 1.0)
    var_plus = mean_var * (n - 1.0) / n + _var_ddof1(means, n_chain)

    # the raw estimates rho_t = 1 - (W - acov_t) / var_plus for the lags the recursion reads:
    # pairs (0, 1), (2, 3), ... up to the first pair whose sum is not positive, and while the
    # odd lag t < n - 3
    rho[0] = 1.0
    for t in range(1, n):
        if t >= known:
            if t < _DIRECT_LAGS:
                _lag_sums(dev, n_chain, n, t, acov)
                known = min(t + 4, n)
            else:
                fft_lag_sums(dev, 0, n_chain, n, acov, re, im, power, twr, twi)
                known = n
        rho[t] = 1.0 - (mean_var - acov[t] * scale) / var_plus
        if t % 2 == 1 and not (rho[t - 1] + rho[t] > 0.0 and t < n - 3):
            break
    # ArviZ's recursion on those estimates: Geyer's initial positive, then monotone, sequence
    out = acov  # no longer needed: holds the final sequence
    rho_even = 1.0
    out[0] = 1.0
    rho_odd = rho[1]
    out[1] = rho_odd
    for s in range(2, n):
        out[s] = 0.0
    t = 1
    while t < n - 3 and rho_even + rho_odd > 0.0:
        rho_even = rho[t + 1]
        rho_odd = rho[t + 2]
        if rho_even + rho_odd >= 0:
            out[t + 1] = rho_even
            out[t + 2] = rho_odd
        t += 2
    max_t = t - 2
    if rho_even > 0:
        out[max_t + 1] = rho_even
    t = 1
    while t <= max_t - 2:
        if out[t + 1] + out[t + 2] > out[t - 1] + out[t]:
            out[t + 1] = (out[t - 1] + out[t]) / 2.0
            out[t + 2] = out[t + 1]
        t += 2
    head = 0.0
    for s in range(max_t + 1):
        head += out[s]
    tau = -1.0 + 2.0 * head + (out[max_t + 1] if max_t + 1 < n else 0.0)
    floor = 1.0 / math.log10(total)
    if floor > tau:
        tau = floor
    for s in range(n):
        if math.isnan(out[s]):
            return np.nan
    return total / tau


# ---------------------------------------------------------------------------
# sorting and ranks
# ---------------------------------------------------------------------------
@njit(cache=True)
def _insertion_sort(v, ix, a, b):
    for i in range(a + 1, b):
        x = v[i]
        j = ix[i]
        k = i - 1
        while k >= a and v[k] > x:
            v[k + 1] = v[k]
            ix[k + 1] = ix[k]
            k -= 1
        v[k + 1] = x
        ix[k + 1] = j


@njit(cache=True)
def _sift(v, ix, a, root, end):
    while True:
        child = 2 * root + 1
        if child >= end:
            return
        if child + 1 < end and v[a + child + 1] > v[a + child]:
            child += 1
        if not v[a + child] > v[a + root]:
            return
        v[a + root], v[a + child] = v[a + child], v[a + root]
        ix[a + root], ix[a + child] = ix[a + child], ix[a + root]
        root = child


@njit(cache=True)
def _heapsort(v, ix, a, b):
    """Sort ``v[a:b]`` (no NaN) in place, permuting ``ix`` alongside: the comparison sort for
    segments the buckets cannot split (infinite range, or nested too deep)."""
    k = b - a
    for root in range(k // 2 - 1, -1, -1):
        _sift(v, ix, a, root, k)
    for end in range(k - 1, 0, -1):
        v[a], v[a + end] = v[a + end], v[a]
        ix[a], ix[a + end] = ix[a + end], ix[a]
        _sift(v, ix, a, 0, end)


@njit(cache=True)
def _first_at_least(v, size, x):
    """The first index ``i < size`` with ``v[i] >= x`` in ascending ``v`` (``size`` if none)."""
    lo = 0
    hi = size
    while lo < hi:
        mid = (lo + hi) // 2
        if v[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, error_model="numpy")
def _spread(sv, si, a, b, dv, di, bucket, count, stack, top, depth):
    """Counting sort of ``sv[a:b]`` (with ``si``) into ``dv[:k]``, ``di[:k]`` by ``2 k``
    equal-width buckets between its minimum and maximum (a monotone map: bucket order is
    value order), at most _TOP_BUCKETS at depth 0 (the counts and the write streams of the
    whole array stay in cache; the segments below are small enough for 2 k) and
    _MAX_BUCKETS below; buckets of more than _INSERTION values are pushed on ``stack`` (as
    segments of ``[a, b)``).  Returns the new stack top, or -1 (nothing done) when the values
    are all equal or their range is not finite."""
    k = b - a
    lo = sv[a]
    hi = sv[a]
    for i in range(a, b):
        lo = min(lo, sv[i])
        hi = max(hi, sv[i])
    n_bucket = min(2 * k, _TOP_BUCKETS if depth == 0 else _MAX_BUCKETS)
    scale = n_bucket / (hi - lo)
    if not (0.0 < scale < np.inf):
        return -1
    _fill(count[: n_bucket + 1], 0)
    for i in range(a, b):
        q = min(int((sv[i] - lo) * scale), n_bucket - 1)
        bucket[i - a] = q
        count[q + 1] += 1
    for q in range(n_bucket):
        count[q + 1] += count[q]
    for i in range(a, b):
        q = bucket[i - a]
        dst = count[q]
        count[q] = dst + 1
        dv[dst] = sv[i]
        di[dst] = si[i]
    start = 0
    for q in range(n_bucket):  # count[q] is now the end of bucket q
        end = count[q]
        if end - start > _INSERTION:
            stack[top, 0], stack[top, 1], stack[top, 2] = a + start, a + end, depth + 1
            top += 1
        start = end
    return top


@njit(cache=True)
def _all_equal(v, a, b):
    for i in range(a + 1, b):
        if v[i] != v[a]:
            return False
    return True


@njit(cache=True, error_model="numpy")
def _sort(src, size, v, ix, tv, tix, bucket, count, stack):
    """``v[:size]``: ``src[:size]`` (no NaN) ascending, ``ix[:size]`` their positions in ``src``.

    A segment of ``k`` values is spread over ``2 k`` equal-width buckets between its minimum
    and maximum and buckets of more than a few values are spread again the same way; one
    insertion sort of the whole array then orders the values inside the short buckets.
    Linear time whatever the scale of the draws (heavy tails cost a level or two more); a
    segment of equal values needs nothing, one with an infinite range, or nested too deep, is
    left to a comparison sort.  ``count`` holds ``count_size(size)`` values.
    """
    if size == 0:
        return
    for i in range(size):
        tix[i] = i
    top = -1
    if size > _INSERTION:
        top = _spread(src, tix, 0, size, v, ix, bucket, count, stack, 0, 0)
    if top < 0:  # short, constant or with an infinite range
        _copy(v, src[:size])
        _copy(ix, tix[:size])
        top = 0
        if size > _INSERTION and not _all_equal(v, 0, size):
            stack[0, 0], stack[0, 1], stack[0, 2] = 0, size, _MAX_DEPTH
            top = 1
    while top > 0:
        top -= 1
        a, b, depth = stack[top, 0], stack[top, 1], stack[top, 2]
        k = b - a
        if depth < _MAX_DEPTH:
            pushed = _spread(v, ix, a, b, tv, tix, bucket, count, stack, top, depth)
            if pushed >= 0:
                _copy(v[a:b], tv[:k])
                _copy(ix[a:b], tix[:k])
                top = pushed
                continue
            if _all_equal(v, a, b):
                continue
        _heapsort(v, ix, a, b)
    _insertion_sort(v, ix, 0, size)


@njit(cache=True)
def _scores(v, pos, size, table, z):
    """Rank-normal scores: ``v`` (``size``) ascending, ``pos`` where each value goes in ``z``.

    Ties share their mean rank ``(i + j) / 2 + 1`` (0-based first and last rank ``i``, ``j``),
    whose score is ``table[i + j]``.
    """
    i = 0
    while i < size:
        j = i + 1
        while j < size and v[j] == v[i]:
            j += 1
        score = table[i + j - 1]
        for r in range(i, j):
            z[pos[r]] = score
        i = j


@njit(cache=True)
def _folded_scores(v, pos, size, center, table, z, run):
    """Rank-normal scores of ``|v - center|`` into ``z`` (at ``pos``) from ascending ``v``.

    The folded values come in ascending order from a merge of the values below ``center``
    read downwards (``center - v`` is exactly ``|v - center|`` there) with those above read
    upwards; branch-free, as which side comes next is a coin flip.  A run of equal folded
    values (its positions kept in ``run``) shares the score of its mean rank, as in
    :func:`_scores`.
    """
    right = _first_at_least(v, size, center)
    left = right - 1
    start = 0
    count = 0
    prev = np.nan
    for k in range(size):
        if left >= 0 and right < size:
            below = center - v[left]
            above = v[right] - center
            take = below <= above
            d = below if take else above
            p = pos[left] if take else pos[right]
            left -= np.int64(take)
            right += np.int64(1 - take)
        elif left >= 0:
            d = center - v[left]
            p = pos[left]
            left -= 1
        else:
            d = v[right] - center
            p = pos[right]
            right += 1
        if d != prev:  # a new run: the previous one ends at rank k - 1
            score = table[start + k - 1]
            for r in range(count):
                z[run[r]] = score
            start = k
            count = 0
            prev = d
        run[count] = p
        count += 1
    score = table[start + size - 1]
    for r in range(count):
        z[run[r]] = score


@njit(cache=True)
def _quantiles(v, size, mids, merged, qk, qg, row):
    """Type-7 quantiles (``(1 - g) s[k - 1] + g s[k]``) of all draws ``s``: the sorted split
    draws ``v[:size]``, merged (into ``merged``) with the sorted middle draws ``mids`` of odd
    chains."""
    total = size + mids.size
    s = v
    if mids.size:
        i = 0
        j = 0
        for k in range(total):
            if j >= mids.size or (i < size and v[i] <= mids[j]):
                merged[k] = v[i]
                i += 1
            else:
                merged[k] = mids[j]
                j += 1
        s = merged
    for k in range(qk.size):
        if total == 1:
            row[QUANT + k] = s[0]
        else:
            row[QUANT + k] = (1.0 - qg[k]) * s[qk[k] - 1] + qg[k] * s[qk[k]]


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
    ys, v, tv, ser = fw[F_SPLIT], fw[F_SORTED], fw[F_TEMP], fw[F_SERIES]
    ix, tix = iw[I_INDEX], iw[I_TEMP]
    nq = qk.size
    mean = np.nan
    if want & (MOMENTS | ESS_SD):
        mean = _shifted_mean(x)
        row[MEAN] = mean
        row[SD] = math.sqrt(_sum(x, mean, True) / (size - 1))
    _split(x, n_chain, n_draw, ys)
    sorted_ = n_split > 0 and (nq > 0 or want & (RANK_RHAT | ESS_BULK) != 0)
    if sorted_:
        _sort(ys, n_split, v, ix, tv, tix, iw[I_BUCKET], counts, stack)
    if nq:
        n_mid = n_chain if n_draw % 2 else 0
        mids = fw[F_BULK][:n_mid]  # free until the scores below
        for c in range(n_mid):
            mids[c] = x[c * n_draw + half]
        _heapsort(mids, iw[I_BUCKET], 0, n_mid)
        _quantiles(v, n_split if sorted_ else 0, mids, ser, qk, qg, row)
    if sorted_ and want & (RANK_RHAT | ESS_BULK):
        zb = fw[F_BULK]
        _scores(v, ix, n_split, table, zb)
        if want & ESS_BULK:  # the scores are all equal when the draws are
            row[BULK] = _ess(zb, split, half, ew, 0.0 if v[n_split - 1] == v[0] else 1.0)
        if want & RANK_RHAT:
            bulk = _rhat(zb, split, half, means, variances)
            mid = n_split // 2
            center = v[mid] if n_split % 2 else (v[mid - 1] + v[mid]) / 2
            _folded_scores(v, ix, n_split, center, table, ser, tix)
            tail = _rhat(ser, split, half, means, variances)
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
                ser[i] = 1.0 if hit else 0.0
                below += hit
            row[QUANT + nq + k] = _ess(ser, split, half, ew, 1.0 if 0 < below < n_split else 0.0)
    if want & ESS_SD:
        sq = v  # the sort's buffers are free again
        for i in range(size):
            sq[i] = (x[i] - mean) ** 2
        row[SQMEAN] = _sum(sq[:size], 0.0, False) / size
        for i in range(size):
            tv[i] = sq[i] * sq[i]
        row[SQ2MEAN] = _sum(tv[:size], 0.0, False) / size
        _split(sq, n_chain, n_draw, ser)
        row[ESSSD] = _ess(ser, split, half, ew, -1.0)


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
    thread: ``fw`` (N_FLOAT, chains x draws), ``iw`` (N_INT, chains x draws + 1), ``counts``
    (count_size), ``stack`` (stack_rows, 3), ``small`` (N_SMALL, small_size).
    """
    n_par, n_chain, n_draw = blk.shape
    size = n_chain * n_draw
    half = max(n_draw // 2, 1)
    split = 2 * n_chain
    nfft = 2 * twr.size
    ew = (fw[F_DEV], small[S_MEANS, :split], small[S_ACOV, :half], small[S_RHO, :half],
          small[S_RE, :nfft], small[S_IM, :nfft], small[S_POWER, :nfft], twr, twi)
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
