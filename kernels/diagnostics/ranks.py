"""The bucket sort of the split draws, rank-normal scores (plain and folded) and type-7 quantiles."""

from __future__ import annotations

import numpy as np
from numba import njit

from .layout import QUANT, _INSERTION, _MAX_BUCKETS, _MAX_DEPTH, _TOP_BUCKETS
from .moments import _copy, _fill

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
