"""The machinery the diagnostics share: input handling, per-parameter lanes of (split) chains,
chain means and variances, FFT autocovariances, Geyer's ESS, rank normalisation, quantiles and centring."""

from __future__ import annotations

import functools
import math

import numpy as np
from numpy.lib.stride_tricks import as_strided
from scipy import fft as _fft
from scipy import special as _special

_MIN_DRAWS = 4
# np.finfo(float).resolution, the threshold ArviZ uses to call draws constant.
_RESOLUTION = float(np.finfo(np.float64).resolution)
# Number of float64 values in one work block (8 MiB): bounds the temporaries
# of blocked element-wise passes and of the FFT buffers.
_BLOCK = 1 << 20


def _quiet(func):
    """Silence floating-point warnings: NaN/inf results are the documented
    outcome for degenerate inputs (constant draws, NaN, inf)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with np.errstate(all="ignore"):
            return func(*args, **kwargs)

    return wrapper


# ----------------------------------------------------------------------------
# input handling
# ----------------------------------------------------------------------------
def _as_draws(x):
    """Return ``(a, param_shape)`` with ``a`` a float64 (chain, draw, P) view."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim < 2:
        raise ValueError(
            "draws must be an array shaped (chain, draw, *param_shape); "
            f"got an array with shape {a.shape}"
        )
    n_chain, n_draw = a.shape[:2]
    if n_chain < 1 or n_draw < 1:
        raise ValueError(
            "draws shaped (chain, draw, *param_shape) need at least one chain "
            f"and one draw; got shape {a.shape}"
        )
    param_shape = a.shape[2:]
    return a.reshape(n_chain, n_draw, math.prod(param_shape)), param_shape


def _result(values, param_shape):
    return np.asarray(values, dtype=np.float64).reshape(param_shape)


def _per_parameter(x, core):
    """The frame every per-parameter diagnostic shares: draws (chain, draw, *param_shape) in,
    ``core(a)`` on the (chain, draw, n_param) view, NaN where there are too few draws or NaN
    draws, result shaped param_shape."""
    a, param_shape = _as_draws(x)
    out = np.full(a.shape[2], np.nan)
    if a.shape[1] >= _MIN_DRAWS:
        out = core(a)
        out[_nan_lanes(a)] = np.nan
    return _result(out, param_shape)


def _flat(a):
    """(C, D, P) -> (C * D, P)."""
    return a.reshape(a.shape[0] * a.shape[1], a.shape[2])


def _per_lane(y):
    """(P, ...) -> (P, prod(...))."""
    return y.reshape(y.shape[0], math.prod(y.shape[1:]))


def _nan_lanes(a):
    """(P,) mask of parameters with any NaN draw."""
    with np.errstate(invalid="ignore", over="ignore"):
        suspect = np.isnan(a.sum(axis=(0, 1)))  # cheap screen: NaN, or +inf with -inf
    if suspect.any():
        suspect[suspect] = np.isnan(a[:, :, suspect]).any(axis=(0, 1))
    return suspect


def _lanes(a):
    """(C, D, P) -> (P, C, 1, D) view (unsplit chains)."""
    return a.transpose(2, 0, 1)[:, :, None, :]


def _split_lanes(a):
    """(C, D, P) -> (P, C, 2, D // 2) view of the split chains.

    The first half holds draws ``[0, D//2)`` and the second ``[D - D//2, D)``,
    so the middle draw of an odd-length chain is dropped (as in ArviZ).
    """
    n_chain, n_draw, n_par = a.shape
    half = n_draw // 2
    s_chain, s_draw, s_par = a.strides
    return as_strided(
        a,
        shape=(n_par, n_chain, 2, half),
        strides=(s_par, s_chain, (n_draw - half) * s_draw, s_draw),
        writeable=False,
    )


def _chain_block(n_chain, per_chain):
    return max(1, min(n_chain, _BLOCK // max(per_chain, 1)))


# ----------------------------------------------------------------------------
# building blocks working on (P, C, S, n) arrays: P parameters, C x S chains,
# n draws per chain
# ----------------------------------------------------------------------------
def _chain_mean_var(y):
    """Per-chain mean and unbiased variance, each (P, C, S).

    Draws are shifted by the first draw of their chain before the usual
    two-pass computation, so a constant chain has exactly zero variance.
    """
    n_par, n_chain, n_sub, n = y.shape
    mean = np.empty((n_par, n_chain, n_sub))
    var = np.empty_like(mean)
    step = _chain_block(n_chain, n_par * n_sub * n)
    for i in range(0, n_chain, step):
        blk = y[:, i : i + step]
        first = blk[..., :1].astype(np.float64)
        d = np.subtract(blk, first)
        shift = d.mean(axis=3)
        mean[:, i : i + step] = first[..., 0] + shift
        d -= shift[..., None]
        np.square(d, out=d)
        var[:, i : i + step] = d.sum(axis=3)
    with np.errstate(divide="ignore", invalid="ignore"):
        var /= n - 1
    return mean, var


def _rhat_core(y):
    r"""Classic R-hat of the chains in ``y`` (P, C, S, n) -> (P,).

    ``B = n var_m(mean_m)``, ``W = mean_m(var_m)``,
    ``R = sqrt(((n - 1) / n W + B / n) / W)``.
    """
    n_par, n_chain, n_sub, n = y.shape
    mean, var = _chain_mean_var(y)
    between = n * _per_lane(mean).var(axis=1, ddof=1)
    within = _per_lane(var).mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt((between / within + n - 1) / n)


def _mean_autocov(y, mean):
    """Chain-averaged biased autocovariance (P, n) for ``y`` (P, C, S, n).

    ``acov(t) = 1/(C S) sum_m 1/n sum_i (y_mi - ybar_m)(y_m,i+t - ybar_m)``,
    via zero-padded real FFTs; the power spectra are summed over chains before
    a single inverse transform.
    """
    n_par, n_chain, n_sub, n = y.shape
    nfft = _fft.next_fast_len(2 * n - 1, real=True)
    nfreq = nfft // 2 + 1
    acc = np.zeros((n_par, nfreq))
    step = _chain_block(n_chain, n_par * n_sub * nfft)
    buf = np.zeros((n_par, min(step, n_chain), n_sub, nfft))
    for i in range(0, n_chain, step):
        blk = y[:, i : i + step]
        c = blk.shape[1]
        work = buf[:, :c]
        np.subtract(blk, mean[:, i : i + step, :, None], out=work[..., :n])
        spec = np.ascontiguousarray(_fft.rfft(work, axis=-1, workers=-1))
        parts = spec.view(np.float64)  # interleaved (re, im)
        np.square(parts, out=parts)
        acc += parts.reshape(n_par, c * n_sub, nfreq, 2).sum(axis=(1, 3))
    acov = _fft.irfft(acc, n=nfft, axis=-1, workers=-1)[:, :n]
    acov /= n * n_chain * n_sub
    return acov


def _geyer_tau(rho, n_total):
    r"""Integrated autocorrelation time from Geyer's initial monotone sequence.

    ``rho`` is (P, n) with the combined autocorrelation estimates
    ``rho_t = 1 - (W - acov_t) / var_plus`` (lag 0 is taken as 1).  With pair
    sums ``P_k = rho_{2k} + rho_{2k+1}`` the sum is truncated at the first
    non-positive ``P_k``, the pairs before it are made monotone (running
    minimum) and ``tau = -1 + 2 sum_{k<K} P_k + rho_{2K}`` (the last term kept
    when positive), bounded below by ``1 / log10(n_total)``; this is the
    ArviZ/Stan recursion written without a loop.
    """
    n_par, n = rho.shape
    kmax = (n - 1) // 2 - 1  # last pair index the recursion may visit
    n_pairs = max(kmax, 0) + 1
    r = rho[:, : 2 * n_pairs].copy()
    r[:, 0] = 1.0
    pairs = r[:, 0::2] + r[:, 1::2]
    stop = ~(pairs > 0)  # also true for NaN
    first = np.where(stop.any(axis=1), stop.argmax(axis=1), n_pairs)
    k_last = np.minimum(first, max(kmax, 0))[:, None]
    head = np.cumsum(np.minimum.accumulate(pairs, axis=1), axis=1)
    head = np.where(
        k_last > 0, np.take_along_axis(head, np.maximum(k_last - 1, 0), axis=1), 0.0
    )[:, 0]
    even = np.take_along_axis(r, 2 * k_last, axis=1)[:, 0]
    p_last = np.take_along_axis(pairs, k_last, axis=1)[:, 0]
    k_last = k_last[:, 0]
    last = np.where((k_last == 0) | (p_last >= 0) | (even > 0), even, 0.0)
    tau = -1.0 + 2.0 * head + last
    floor = 1.0 / np.log10(n_total)
    tau = np.where(floor > tau, floor, tau)  # NaN-propagating max, like ArviZ
    tau[np.isnan(rho[:, 1])] = np.nan
    return tau


def _ess_core(y, const=None):
    r"""ESS of the chains in ``y`` (P, C, S, n) -> (P,).

    ``W = mean_m s_m^2``, ``var_plus = (n-1)/n W + var_m(mean_m)``,
    ``rho_t = 1 - (W - mean_m acov_m(t)) / var_plus``,
    ``ESS = M n / tau`` with ``tau`` from :func:`_geyer_tau`.
    """
    n_par, n_chain, n_sub, n = y.shape
    n_total = n_chain * n_sub * n
    mean = y.mean(axis=3)
    acov = _mean_autocov(y, mean)
    mean_var = acov[:, 0] * n / (n - 1.0)
    var_plus = mean_var * (n - 1.0) / n + _per_lane(mean).var(axis=1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = 1.0 - (mean_var[:, None] - acov) / var_plus[:, None]
        ess = n_total / _geyer_tau(rho, n_total)
    if const is None:
        const = _constant_lanes(y)
    ess[const] = n_total
    return ess


def _constant_lanes(y):
    lo = y.min(axis=(1, 2, 3)).astype(np.float64)
    hi = y.max(axis=(1, 2, 3)).astype(np.float64)
    return (hi - lo) < _RESOLUTION


# ----------------------------------------------------------------------------
# ranks
# ----------------------------------------------------------------------------
# Exponent range kept below the smallest non-zero magnitude seen in a sample
# when compressing values into sort keys (in binades), and the sample size.
_KEY_FLOOR_BINADES = 8
_KEY_SAMPLE = 1 << 16
_MAGNITUDE_BITS = np.int64(0x7FFFFFFFFFFFFFFF)


def _column_step(n_par):
    return max(1, _BLOCK // max(n_par, 1))


def _transformed(values, center, lanes=None):
    """``values`` or ``|values - center|`` (the folded draws)."""
    if center is None:
        return values
    c = center[:, None] if lanes is None else center[lanes]
    out = np.subtract(values, c)
    return np.abs(out, out=out)


def _rank_scores(v, table, center=None, work=None, out=None, ends=False):
    """Rank-normal scores of each row of ``v`` (P, N), ranked jointly per row.

    ``z = Phi^{-1}((r - 3/8) / (N + 1/4))`` with ``r`` the average rank (ties
    share the mean of their ranks, as ``scipy.stats.rankdata(method="average")``).
    With ``center`` (P,) the folded values ``|v - center|`` are ranked instead.

    ``np.argsort`` of large float arrays is slow, so rows are ordered by a
    plain (SIMD) ``np.sort`` of 64-bit keys: the high bits hold a truncated
    monotone integer image of the value, the low bits the position.  Elements
    whose truncated keys collide are then ordered exactly by value (this also
    finds the ties); that touches only a small fraction of the data.
    Element-wise passes run over column blocks to keep temporaries in cache.

    Returns ``z`` (P, N) in the layout of ``v`` and, with ``ends=True``, also
    the mask of rows whose values are all equal and the median of each row.
    """
    v = np.ascontiguousarray(v)
    n_par, n = v.shape
    flat = v.reshape(-1)
    idx_bits = max(1, (n - 1).bit_length())
    step = _column_step(n_par)
    key = np.empty((n_par, n), dtype=np.int64) if work is None else work
    ukey = key.view(np.uint64)
    tmp = np.empty((n_par, min(step, n)), dtype=np.int64)

    # Floor below which magnitudes share a key: removes the empty exponent
    # range between 0 and the values present from the key space.
    sample = np.abs(_transformed(v[:, :: max(1, n // _KEY_SAMPLE)], center))
    sample[~(sample > 0)] = np.inf
    smallest = sample.min(axis=1)
    floor = smallest.view(np.int64) - (_KEY_FLOOR_BINADES << 52)
    floor = np.where(np.isfinite(smallest), np.maximum(floor, 0), 0)[:, None]

    # pass 1: monotone int64 images (negatives: magnitude bits flipped), with
    # magnitudes below the floor collapsed; track per-row extremes
    kmin = np.full(n_par, np.iinfo(np.int64).max)
    kmax = np.full(n_par, np.iinfo(np.int64).min)
    for j in range(0, n, step):
        k = key[:, j : j + step]
        t = tmp[:, : k.shape[1]]
        src = _transformed(v[:, j : j + step], center).view(np.int64)
        np.right_shift(src, 63, out=t)
        np.bitwise_and(t, _MAGNITUDE_BITS, out=t)
        np.bitwise_xor(src, t, out=k)
        np.clip(k, -floor, floor, out=t)
        k -= t
        np.minimum(kmin, k.min(axis=1), out=kmin)
        np.maximum(kmax, k.max(axis=1), out=kmax)

    # pass 2: offset to >= 0, truncate to the bits left by the index, add index
    span = (kmax.view(np.uint64) - kmin.view(np.uint64)).astype(np.float64)
    with np.errstate(divide="ignore"):
        span_bits = np.where(span > 0, np.floor(np.log2(span)) + 1, 0)  # >= bit length
    shift = np.maximum(span_bits - (64 - idx_bits), 0).astype(np.uint64)[:, None]
    umin = kmin.view(np.uint64)[:, None]
    for j in range(0, n, step):
        u = ukey[:, j : j + step]
        u -= umin  # modular arithmetic, exact
        u >>= shift
        u <<= np.uint64(idx_bits)
        u |= np.arange(j, j + u.shape[1], dtype=np.uint64)
    ukey.sort(axis=-1)

    # pass 3: neighbours with equal truncated keys (candidates for disorder and
    # ties), recorded as flat positions of the second element of each pair
    pairs = []
    for j in range(1, n, step):
        w = min(step, n - j)
        t = tmp[:, :w].view(np.uint64)
        np.bitwise_xor(ukey[:, j : j + w], ukey[:, j - 1 : j - 1 + w], out=t)
        t >>= np.uint64(idx_bits)
        lane, col = np.nonzero(t == 0)
        if lane.size:
            pairs.append(lane * n + col + j)
    del tmp
    np.bitwise_and(ukey, np.uint64((1 << idx_bits) - 1), out=ukey)
    order = key  # the same buffer now holds the positions, in sorted order
    if n_par > 1:
        order += (np.arange(n_par, dtype=np.int64) * n)[:, None]
    order = order.reshape(-1)

    fix = None
    if pairs:
        fix = _fix_collisions(flat, order, np.sort(np.concatenate(pairs)), n, center)
    if ends:
        o = order.reshape(n_par, n)
        lo, hi = flat[o[:, 0]], flat[o[:, -1]]
        median = (flat[o[:, (n - 1) // 2]] + flat[o[:, n // 2]]) / 2.0

    z = np.empty((n_par, n)) if out is None else out
    zf = z.reshape(-1)
    zf[order if n_par == 1 else order.reshape(n_par, n)] = table
    if fix is not None:
        zf[fix[0]] = fix[1]
    if ends:
        return z, lo == hi, median
    return z


def _fix_collisions(flat, order, second, n, center):
    """Order runs of equal truncated keys exactly; scores for those elements.

    ``second`` holds the sorted flat positions ``q`` (in sorted order) with
    the same truncated key as ``q - 1`` (within a row).  ``order`` is
    corrected in place; returns ``(indices into flat, scores)``.
    """
    members = np.concatenate((second - 1, second))
    members.sort()
    keep = np.ones(members.size, dtype=bool)
    np.not_equal(members[1:], members[:-1], out=keep[1:])
    members = members[keep]
    hit = np.searchsorted(second, members)
    is_second = second[np.minimum(hit, second.size - 1)] == members
    first = ~is_second
    idx = order[members]
    vals = _transformed(flat[idx], center, lanes=members // n)
    gid = np.cumsum(first)
    gstart = np.flatnonzero(first)
    mixed = ~(np.minimum.reduceat(vals, gstart) == np.maximum.reduceat(vals, gstart))
    if mixed.any():
        sel = np.flatnonzero(mixed[gid - 1])
        perm = sel[np.lexsort((vals[sel], gid[sel]))]
        idx[sel] = idx[perm]
        vals[sel] = vals[perm]
        order[members[sel]] = idx[sel]
    m = members.size
    new = np.ones(m, dtype=bool)
    new[1:] = (gid[1:] != gid[:-1]) | (vals[1:] != vals[:-1])
    rstart = np.flatnonzero(new)
    rsize = np.diff(rstart, append=m)
    mean_rank = (members[rstart] % n) + (rsize + 1) / 2.0
    return idx, np.repeat(_special.ndtri((mean_rank - 0.375) / (n + 0.25)), rsize)


def _normal_table(n):
    """``Phi^{-1}((i - 3/8) / (n + 1/4))`` for ``i = 1..n`` (untied ranks)."""
    h = (n + 1) // 2
    table = np.empty(n)
    table[:h] = _special.ndtri((np.arange(1, h + 1) - 0.375) / (n + 0.25))
    table[h:] = -table[: n - h][::-1]
    return table


def _rank_rhat(ys, with_ess=False):
    """Rank-normalised R-hat of the split chains (and optionally bulk ESS).

    ``ys`` is the (P, C, 2, n) split view.  The bulk R-hat uses the
    rank-normalised draws, the tail R-hat the rank-normalised folded draws
    ``|x - median(x)|`` (median over all split draws); the result is their
    maximum (NaN when the bulk value is NaN, like ArviZ's ``max``).
    Returns ``rhat`` or ``(rhat, ess_bulk)``.
    """
    shape = ys.shape
    v = np.ascontiguousarray(_per_lane(ys))
    table = _normal_table(v.shape[1])
    work = np.empty(v.shape, dtype=np.int64)
    z, const, median = _rank_scores(v, table, work=work, ends=True)
    bulk = _rhat_core(z.reshape(shape))
    ess = _ess_core(z.reshape(shape), const=const) if with_ess else None
    _rank_scores(v, table, center=median, work=work, out=z)
    tail = _rhat_core(z.reshape(shape))
    rhat_value = np.where(tail > bulk, tail, bulk)
    return (rhat_value, ess) if with_ess else rhat_value


# ----------------------------------------------------------------------------
# quantiles (R type 7, exactly as scipy.stats.mstats.mquantiles used by ArviZ)
# ----------------------------------------------------------------------------
def _quantiles(a, probs):
    """Type-7 quantiles over (chain, draw) for each parameter: list of (P,)."""
    flat = _flat(a)
    n = flat.shape[0]
    plan = []
    for p in probs:
        p = float(p)
        aleph = n * p + (1.0 + p * (1.0 - 1.0 - 1.0))
        k = int(np.floor(np.clip(aleph, 1, n - 1)))
        gamma = float(np.clip(aleph - k, 0.0, 1.0))
        plan.append((k, gamma))
    if n == 1:
        return [flat[0].copy() for _ in probs]
    kth = sorted({j for k, _ in plan for j in (k - 1, k)})
    part = np.partition(flat, kth, axis=0)
    return [(1.0 - g) * part[k - 1] + g * part[k] for k, g in plan]


def _check_prob(prob, name="prob"):
    prob = float(prob)
    if not 0.0 <= prob <= 1.0:
        raise ValueError(f"{name} must be in [0, 1]; got {prob}")
    return prob


def _ess_indicator(a, q):
    """Split-chain ESS of the indicator ``x <= q`` (q is (P,))."""
    ind = a <= q
    return _ess_core(_split_lanes(ind))


# ----------------------------------------------------------------------------
# centring (mean over all draws relative to the first draw)
# ----------------------------------------------------------------------------
def _centered(a):
    """Mean over (chain, draw) of each parameter and the centred draws.

    The mean is accumulated relative to the first draw, so constant draws
    are centred to exact zeros.
    """
    first = a[0, 0].copy()
    d = np.subtract(a, first)
    mean = first + _flat(d).mean(axis=0)
    np.subtract(a, mean, out=d)
    return mean, d


def _sd(centred):
    flat = _flat(centred)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt(np.einsum("ij,ij->j", flat, flat) / (flat.shape[0] - 1))


def _centered_squares(a):
    sq = _centered(a)[1]
    np.square(sq, out=sq)
    return sq
