"""Copies, sums and chain moments, and split R-hat from them."""

from __future__ import annotations

import math

from numba import njit

from .layout import _REASSOC, _SUM_BLOCK

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
