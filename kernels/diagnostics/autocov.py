"""Autocovariance lags (directly, or by FFT past the first lags) and Geyer's effective sample size."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .layout import RESOLUTION, _DIRECT_LAGS, _REASSOC
from .moments import _copy, _fill, _sum, _var_ddof1

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
    dev, means, acov, rho, twr, twi = w
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
                nfft = 2 * twr.size  # rows for a slowly mixing parameter only: rare, and cheap beside its FFTs
                re, im, power = np.empty(nfft), np.empty(nfft), np.empty(nfft)
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
