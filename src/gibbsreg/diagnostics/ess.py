"""Autocovariance, autocorrelation and effective sample sizes (bulk, tail, quantile, mean, sd)."""

from __future__ import annotations

import numpy as np
from scipy import fft as _fft

from ._core import (
    _as_draws,
    _centered_squares,
    _chain_block,
    _check_prob,
    _ess_core,
    _ess_indicator,
    _lanes,
    _normal_table,
    _per_lane,
    _per_parameter,
    _quantiles,
    _quiet,
    _rank_scores,
    _split_lanes,
)


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
