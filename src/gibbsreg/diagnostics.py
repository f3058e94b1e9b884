r"""MCMC convergence diagnostics: R-hat, effective sample size and Monte Carlo error.

All functions take posterior draws shaped ``(chain, draw, *param_shape)`` and are
vectorised over chains and over the trailing parameter dimensions: there is no
Python loop over parameters or chains, only over fixed-size work blocks (of
chains for the FFTs, of draws for element-wise passes of the ranking) that keep
temporaries small.  Every per-parameter diagnostic returns an ``np.ndarray`` of
shape ``param_shape`` (a 0-d array for ``(chain, draw)`` input), in float64.

Rank normalisation sorts all draws of a parameter; on 1000 chains x 100 000
draws that dominates the cost of :func:`rhat` (two rankings) and
:func:`ess_bulk` (one).  :func:`summary_stats` shares the ranking, the
quantile partition and the chain statistics between its outputs.

The estimators follow

    Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021). "Rank-normalization,
    folding, and localization: An improved R-hat for assessing convergence of
    MCMC". Bayesian Analysis 16(2), 667-718. doi:10.1214/20-BA1221

and reproduce ArviZ 0.23 (``az.rhat``, ``az.ess``, ``az.mcse``) to floating-point
rounding, with the exceptions listed below.  Nested R-hat follows Margossian,
Hoffman, Sountsov, Riou-Durand, Vehtari & Gelman (2024), "Nested R-hat:
assessing the convergence of Markov chain Monte Carlo when running many short
chains", Bayesian Analysis, doi:10.1214/24-BA1453.

Conventions shared with ArviZ:

* "split" chains: each chain of ``D`` draws is cut into its first ``D // 2``
  and last ``D // 2`` draws (the middle draw is dropped when ``D`` is odd),
  giving ``M = 2 * chains`` chains of ``n = D // 2`` draws.
* Rank normalisation: average ranks ``r`` (ties share their mean rank) are
  taken jointly over all (split) chains and mapped to
  ``z = Phi^{-1}((r - 3/8) / (S + 1/4))`` where ``S`` is the number of draws
  (Blom offsets).
* Parameters whose draws contain NaN, or inputs with fewer than 4 draws per
  chain, give NaN (``nested_rhat`` has no minimum).  Draws that are all
  (numerically) equal give ``ESS = S`` (the number of split draws) and
  ``R-hat = NaN``, as in ArviZ; chains that are each constant but differ give
  ``R-hat = inf``.

Differences from ArviZ (deliberate):

* With a single chain, :func:`rhat` and :func:`split_rhat` are computed from
  the two halves of the chain (ArviZ returns NaN for fewer than 2 chains).
* Arrays of any parameter shape are accepted directly (ArviZ needs an
  ``xarray`` dataset for more than one parameter dimension).
* Variances are accumulated relative to the first draw of each chain, so
  constant draws give exactly zero variance: ``split_rhat`` is NaN and
  ``mcse_mean`` is 0 for any constant value (ArviZ returns rounding noise,
  e.g. ``split`` R-hat 0.99 for draws all equal to 3.3).
* ``summary_stats`` reports :func:`rhat` (``az.rhat``).  For an odd number of
  draws ``az.summary`` folds around the median of all draws rather than of
  the split draws, so its ``r_hat`` can differ in the last digits.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numpy.lib.stride_tricks import as_strided
from scipy import fft as _fft
from scipy import special as _special
from scipy import stats as _stats

__all__ = [
    "autocovariance",
    "autocorrelation",
    "split_rhat",
    "rhat",
    "nested_rhat",
    "ess_bulk",
    "ess_tail",
    "ess_mean",
    "ess_sd",
    "ess_quantile",
    "mcse_mean",
    "mcse_sd",
    "mcse_quantile",
    "summary_stats",
]

_MIN_DRAWS = 4
# np.finfo(float).resolution, the threshold ArviZ uses to call draws constant.
_RESOLUTION = float(np.finfo(np.float64).resolution)
# Number of float64 values in one work block (8 MiB): bounds the temporaries
# of blocked element-wise passes and of the FFT buffers.
_BLOCK = 1 << 20
# Quantiles of the standard normal at -1 and +1, used for the quantile MCSE.
_MCSE_QUANTILE_PROBS = np.array([0.1586553, 0.8413447])


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
# public API
# ----------------------------------------------------------------------------
@_quiet
def autocovariance(x):
    r"""Per-chain autocovariance along the draw axis.

    For every chain ``m`` and lag ``t = 0..D-1``

    .. math:: \hat\gamma_m(t) = \frac1D \sum_{i=0}^{D-1-t}
              (x_{m,i} - \bar x_m)(x_{m,i+t} - \bar x_m),

    computed with zero-padded FFTs (``scipy.fft``, ``next_fast_len``).
    Same as ``arviz.autocov(x, axis=1)``.

    Parameters
    ----------
    x : array_like, shape (chain, draw, *param_shape)

    Returns
    -------
    numpy.ndarray, shape (chain, draw, *param_shape)
    """
    a, param_shape = _as_draws(x)
    n_chain, n, n_par = a.shape
    out = np.empty((n_chain, n, n_par))
    y = _lanes(a)
    mean = y.mean(axis=3)
    nfft = _fft.next_fast_len(2 * n - 1, real=True)
    step = _chain_block(n_chain, n_par * nfft)
    buf = np.zeros((n_par, min(step, n_chain), 1, nfft))
    for i in range(0, n_chain, step):
        blk = y[:, i : i + step]
        c = blk.shape[1]
        work = buf[:, :c]
        np.subtract(blk, mean[:, i : i + step, :, None], out=work[..., :n])
        spec = np.ascontiguousarray(_fft.rfft(work, axis=-1, workers=-1))
        parts = spec.view(np.float64)
        np.square(parts, out=parts)
        power = parts.reshape(*spec.shape, 2).sum(axis=-1)
        acov = _fft.irfft(power, n=nfft, axis=-1, workers=-1)[..., :n]
        acov /= n
        out[i : i + c] = acov[:, :, 0, :].transpose(1, 2, 0)
    return out.reshape(n_chain, n, *param_shape)


def autocorrelation(x):
    r"""Per-chain autocorrelation ``rho_m(t) = gamma_m(t) / gamma_m(0)``.

    See :func:`autocovariance`; NaN for constant chains.  Same as
    ``arviz.autocorr(x, axis=1)``.  Input and output shape
    ``(chain, draw, *param_shape)``.
    """
    acov = autocovariance(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        acov /= acov[:, :1]
    return acov


@_quiet
def split_rhat(x):
    r"""Classic split R-hat (Gelman et al., BDA3; Vehtari et al. 2021, eq. 4).

    Each chain is split in two halves (``M`` chains of ``n`` draws) and

    .. math:: B = \frac{n}{M-1}\sum_m(\bar\theta_m - \bar\theta)^2,\quad
              W = \frac1M\sum_m s_m^2,\quad
              \hat R = \sqrt{\frac{\frac{n-1}{n}W + \frac1n B}{W}}.

    Matches ``arviz.rhat(method="split")``; unlike ArviZ a single chain is
    allowed (its two halves are compared).

    Parameters
    ----------
    x : array_like, shape (chain, draw, *param_shape)

    Returns
    -------
    numpy.ndarray, shape param_shape
    """
    def core(a):
        return _rhat_core(_split_lanes(a))

    return _per_parameter(x, core)


@_quiet
def rhat(x):
    r"""Rank-normalised split R-hat (Vehtari, Gelman, Simpson, Carpenter &
    Bürkner 2021).

    .. math:: \hat R = \max\big(\hat R_{\text{split}}(z(\theta)),\;
              \hat R_{\text{split}}(z(|\theta - \operatorname{median}\theta|))\big)

    where ``z`` rank-normalises the split chains jointly (average ranks,
    Blom offsets 3/8) and the median is over all split draws: the first term
    is the bulk R-hat, the second the folded (tail) R-hat.  Matches
    ``arviz.rhat(method="rank")`` (the ArviZ default) except that a single
    chain is allowed (its two halves are compared).

    Parameters
    ----------
    x : array_like, shape (chain, draw, *param_shape)

    Returns
    -------
    numpy.ndarray, shape param_shape
    """
    def core(a):
        return _rank_rhat(_split_lanes(a))

    return _per_parameter(x, core)


@_quiet
def nested_rhat(x, superchains):
    r"""Nested R-hat of Margossian, Hoffman, Sountsov, Riou-Durand, Vehtari &
    Gelman (2024) for many short chains grouped in superchains.

    The ``chain`` axis is cut into ``K = superchains`` groups of ``M``
    consecutive chains (chains ``k*M .. k*M+M-1`` form superchain ``k``); each
    chain has ``N`` draws (chains are not split).  With chain means
    :math:`\bar\theta_{km}`, superchain means
    :math:`\bar\theta_k = \frac1M\sum_m\bar\theta_{km}` and
    :math:`\bar\theta = \frac1K\sum_k\bar\theta_k`:

    .. math::

        \hat B_\nu &= \frac1{K-1}\sum_k(\bar\theta_k - \bar\theta)^2,\\
        \tilde B_k &= \frac1{M-1}\sum_m(\bar\theta_{km} - \bar\theta_k)^2
                      \quad(0 \text{ if } M = 1),\\
        \tilde W_k &= \frac1M\sum_m\frac1{N-1}\sum_n
                      (\theta_{kmn} - \bar\theta_{km})^2
                      \quad(0 \text{ if } N = 1),\\
        \hat W_\nu &= \frac1K\sum_k(\tilde B_k + \tilde W_k),\qquad
        \mathfrak{n}\hat R = \sqrt{1 + \hat B_\nu / \hat W_\nu}.

    A single draw per chain is allowed (then :math:`\tilde W_k = 0`, as in
    the paper), but not together with one chain per superchain.

    Parameters
    ----------
    x : array_like, shape (chain, draw, *param_shape)
    superchains : int
        Number of superchains ``K >= 2``; must divide the number of chains.

    Returns
    -------
    numpy.ndarray, shape param_shape
    """
    a, param_shape = _as_draws(x)
    n_chain, n_draw, n_par = a.shape
    if isinstance(superchains, bool) or not isinstance(superchains, (int, np.integer)):
        raise ValueError(f"superchains must be an integer; got {superchains!r}")
    superchains = int(superchains)
    if superchains < 2:
        raise ValueError(f"superchains must be at least 2; got {superchains}")
    if n_chain % superchains:
        raise ValueError(
            f"the number of chains ({n_chain}) is not divisible by "
            f"superchains ({superchains})"
        )
    per = n_chain // superchains
    if per == 1 and n_draw == 1:
        raise ValueError(
            "nested R-hat is undefined with one chain per superchain and one "
            "draw per chain"
        )
    y = _lanes(a)
    if n_draw > 1:
        mean, var = _chain_mean_var(y)
        within_chain = var.reshape(n_par, superchains, per).mean(axis=2)
    else:
        mean = y.mean(axis=3)
        within_chain = 0.0
    mean = mean.reshape(n_par, superchains, per)
    super_mean = mean.mean(axis=2)
    between_super = super_mean.var(axis=1, ddof=1)
    between_chain = mean.var(axis=2, ddof=1) if per > 1 else 0.0
    within_super = np.mean(between_chain + within_chain, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.sqrt(1.0 + between_super / within_super)
    return _result(out, param_shape)


@_quiet
def ess_bulk(x):
    r"""Bulk effective sample size (Vehtari et al. 2021): the split-chain ESS
    of the rank-normalised draws.

    With ``M`` split chains of ``n`` draws, chain-averaged autocovariance
    :math:`\hat\gamma_t`, :math:`W = \frac{n}{n-1}\hat\gamma_0` and
    :math:`\widehat{\mathrm{var}}^+ = \frac{n-1}{n}W + \frac1n B`,

    .. math:: \hat\rho_t = 1 - \frac{W - \hat\gamma_t}{\widehat{\mathrm{var}}^+},\quad
              \hat\tau = -1 + 2\sum_{t'=0}^{K}\hat P_{t'},\quad
              \mathrm{ESS} = \frac{Mn}{\hat\tau},

    with :math:`\hat P_{t'} = \hat\rho_{2t'} + \hat\rho_{2t'+1}` truncated at
    the first non-positive pair and made monotone (Geyer's initial monotone
    sequence).  Matches ``arviz.ess(method="bulk")``.

    Parameters
    ----------
    x : array_like, shape (chain, draw, *param_shape)

    Returns
    -------
    numpy.ndarray, shape param_shape
    """
    def core(a):
        ys = _split_lanes(a)
        v = _per_lane(ys)
        z, const, _ = _rank_scores(v, _normal_table(v.shape[1]), ends=True)
        out = _ess_core(z.reshape(ys.shape), const=const)
        return out

    return _per_parameter(x, core)


@_quiet
def ess_quantile(x, prob):
    r"""Effective sample size for the ``prob`` quantile (Vehtari et al. 2021):
    split-chain ESS (see :func:`ess_bulk`) of the indicator
    :math:`I(\theta \le \hat q_{prob})`, with :math:`\hat q` the type-7
    quantile over all draws.  Matches ``arviz.ess(method="quantile", prob=prob)``.

    Parameters
    ----------
    x : array_like, shape (chain, draw, *param_shape)
    prob : float in [0, 1]

    Returns
    -------
    numpy.ndarray, shape param_shape
    """
    prob = _check_prob(prob)
    def core(a):
        (q,) = _quantiles(a, [prob])
        out = _ess_indicator(a, q)
        return out

    return _per_parameter(x, core)


@_quiet
def ess_tail(x):
    r"""Tail effective sample size (Vehtari et al. 2021):
    :math:`\min(\mathrm{ESS}_{q_{0.05}}, \mathrm{ESS}_{q_{0.95}})`, the
    smaller of the 5% and 95% quantile ESS (:func:`ess_quantile`).
    Matches ``arviz.ess(method="tail")``.

    Parameters
    ----------
    x : array_like, shape (chain, draw, *param_shape)

    Returns
    -------
    numpy.ndarray, shape param_shape
    """
    def core(a):
        q05, q95 = _quantiles(a, [0.05, 0.95])
        low = _ess_indicator(a, q05)
        high = _ess_indicator(a, q95)
        out = np.where(high < low, high, low)
        return out

    return _per_parameter(x, core)


@_quiet
def ess_mean(x):
    r"""Effective sample size for the mean: split-chain ESS (see
    :func:`ess_bulk`) of the untransformed draws.  Matches
    ``arviz.ess(method="mean")``.

    Parameters
    ----------
    x : array_like, shape (chain, draw, *param_shape)

    Returns
    -------
    numpy.ndarray, shape param_shape
    """
    def core(a):
        return _ess_core(_split_lanes(a))

    return _per_parameter(x, core)


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


@_quiet
def ess_sd(x):
    r"""Effective sample size for the standard deviation as in ArviZ 0.23
    (``arviz.ess(method="sd")``): split-chain ESS of
    :math:`(\theta - \bar\theta)^2`, :math:`\bar\theta` the mean of all draws.

    Parameters
    ----------
    x : array_like, shape (chain, draw, *param_shape)

    Returns
    -------
    numpy.ndarray, shape param_shape
    """
    def core(a):
        return _ess_core(_split_lanes(_centered_squares(a)))

    return _per_parameter(x, core)


@_quiet
def mcse_mean(x):
    r"""Monte Carlo standard error of the posterior mean,
    :math:`\mathrm{sd}(\theta) / \sqrt{\mathrm{ESS}_{mean}}` with the sd over
    all draws (``ddof=1``).  Matches ``arviz.mcse(method="mean")``.

    Parameters
    ----------
    x : array_like, shape (chain, draw, *param_shape)

    Returns
    -------
    numpy.ndarray, shape param_shape
    """
    def core(a):
        ess = _ess_core(_split_lanes(a))
        out = _sd(_centered(a)[1]) / np.sqrt(ess)
        return out

    return _per_parameter(x, core)


@_quiet
def mcse_sd(x):
    r"""Monte Carlo standard error of the posterior sd (ArviZ 0.23
    ``arviz.mcse(method="sd")``).  With :math:`c = (\theta - \bar\theta)^2`,
    :math:`E = \bar c` and :math:`\mathrm{ESS}_c` the split ESS of ``c``:

    .. math:: \mathrm{MCSE}_{sd} = \sqrt{\frac{\overline{c^2} - E^2}
              {4\,E\,\mathrm{ESS}_c}}.

    Parameters
    ----------
    x : array_like, shape (chain, draw, *param_shape)

    Returns
    -------
    numpy.ndarray, shape param_shape
    """
    def core(a):
        sq = _centered_squares(a)
        ess = _ess_core(_split_lanes(sq))
        flat = _flat(sq)
        evar = flat.mean(axis=0)
        np.square(flat, out=flat)
        with np.errstate(divide="ignore", invalid="ignore"):
            varvar = (flat.mean(axis=0) - evar**2) / ess
            out = np.sqrt(varvar / evar / 4)
        return out

    return _per_parameter(x, core)


@_quiet
def mcse_quantile(x, prob):
    r"""Monte Carlo standard error of the ``prob`` quantile (Vehtari et al.
    2021, ``arviz.mcse(method="quantile", prob=prob)``).

    With :math:`S` = number of draws, :math:`E = \mathrm{ESS}_{prob}`
    (:func:`ess_quantile`) and :math:`a, b` the Beta(:math:`E\,prob + 1`,
    :math:`E(1-prob) + 1`) quantiles at :math:`\Phi(\mp 1)`, the MCSE is half
    the distance between the sorted draws with indices
    :math:`\lfloor aS - 1\rfloor` and :math:`\lceil bS - 1\rceil` (clipped to
    the sample).

    Parameters
    ----------
    x : array_like, shape (chain, draw, *param_shape)
    prob : float in [0, 1]

    Returns
    -------
    numpy.ndarray, shape param_shape
    """
    prob = _check_prob(prob)
    a, param_shape = _as_draws(x)
    n_par = a.shape[2]
    out = np.full(n_par, np.nan)
    if a.shape[1] >= _MIN_DRAWS:
        (q,) = _quantiles(a, [prob])
        ess = _ess_indicator(a, q)
        with np.errstate(invalid="ignore"):
            ppf = _stats.beta.ppf(
                _MCSE_QUANTILE_PROBS[:, None], ess * prob + 1, ess * (1 - prob) + 1
            )
        flat = np.sort(_flat(a), axis=0)
        size = flat.shape[0]
        pos = ppf * size - 1
        lo = np.floor(np.fmax(pos[0], 0)).astype(np.intp)
        hi = np.ceil(np.fmin(pos[1], size - 1)).astype(np.intp)
        th1 = np.take_along_axis(flat, lo[None, :], axis=0)[0]
        th2 = np.take_along_axis(flat, hi[None, :], axis=0)[0]
        out = (th2 - th1) / 2
        out[_nan_lanes(a)] = np.nan
    return _result(out, param_shape)


def _quantile_label(p):
    return "q" + format(round(100.0 * p, 10), "g")


@_quiet
def summary_stats(x, prob=0.95):
    r"""Posterior summary and convergence diagnostics for every parameter.

    Returns a dict of float64 arrays shaped ``param_shape``:

    * ``"mean"``, ``"sd"`` (``ddof=1``) over all draws;
    * equal-tailed quantiles at ``(1 - prob)/2`` and ``(1 + prob)/2``, keyed by
      percentage, e.g. ``"q2.5"`` and ``"q97.5"`` for ``prob=0.95`` (type-7
      quantiles);
    * ``"mcse_mean"`` (:func:`mcse_mean`), ``"ess_bulk"`` (:func:`ess_bulk`),
      ``"ess_tail"`` (:func:`ess_tail`) and ``"rhat"`` (:func:`rhat`), see
      Vehtari et al. (2021).

    The rank normalisation, quantile partition and autocovariances are shared
    between the statistics, so this is cheaper than calling the functions one
    by one.

    Parameters
    ----------
    x : array_like, shape (chain, draw, *param_shape)
    prob : float in (0, 1)

    Returns
    -------
    dict[str, numpy.ndarray]
    """
    prob = float(prob)
    if not 0.0 < prob < 1.0:
        raise ValueError(f"prob must be in (0, 1); got {prob}")
    a, param_shape = _as_draws(x)
    n_par = a.shape[2]
    lower, upper = (1.0 - prob) / 2.0, (1.0 + prob) / 2.0
    q_lo, q_hi, q05, q95 = _quantiles(a, [lower, upper, 0.05, 0.95])
    bad = _nan_lanes(a)
    q_lo[bad] = np.nan
    q_hi[bad] = np.nan
    mean, centred = _centered(a)
    sd = _sd(centred)
    del centred
    out = {
        "mean": mean,
        "sd": sd,
        _quantile_label(lower): q_lo,
        _quantile_label(upper): q_hi,
    }
    nan = np.full(n_par, np.nan)
    if a.shape[1] >= _MIN_DRAWS:
        ys = _split_lanes(a)
        mcse = sd / np.sqrt(_ess_core(ys))
        low = _ess_indicator(a, q05)
        high = _ess_indicator(a, q95)
        tail_ess = np.where(high < low, high, low)
        rhat_value, bulk_ess = _rank_rhat(ys, with_ess=True)
        diag = {
            "mcse_mean": mcse,
            "ess_bulk": bulk_ess,
            "ess_tail": tail_ess,
            "rhat": rhat_value,
        }
        for value in diag.values():
            value[bad] = np.nan
    else:
        diag = {k: nan.copy() for k in ("mcse_mean", "ess_bulk", "ess_tail", "rhat")}
    out.update(diag)
    return {k: _result(v, param_shape) for k, v in out.items()}
