"""Autocovariance, autocorrelation and effective sample sizes (bulk, tail, quantile, mean, sd)."""

from __future__ import annotations

import numpy as np

from ..kernels import diagnostics as K
from ._core import (
    _as_draws,
    _blockwise,
    _check_prob,
    _column,
    _diagnostic,
    _indicator_ess,
    _quiet,
    _result,
    _twiddles,
)


@_quiet
def autocovariance(x):
    r"""Per-chain autocovariance along the draw axis.

    For every chain ``m`` and lag ``t = 0..D-1``

    .. math:: \hat\gamma_m(t) = \frac1D \sum_{i=0}^{D-1-t}
              (x_{m,i} - \bar x_m)(x_{m,i+t} - \bar x_m),

    computed with zero-padded FFTs (the kernel the ESS uses for slowly mixing chains).
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
    out = np.empty((n_par, n_chain, n))
    twr, twi = _twiddles(max(n, 2))
    _blockwise(a, lambda: None,
               lambda state, block, lo, hi: K.block_autocovariance(block, twr, twi, out[lo:hi]))
    return out.transpose(1, 2, 0).reshape(n_chain, n, *param_shape)


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


@_diagnostic
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
    """
    return _column(x, K.ESS_BULK, K.BULK)


@_diagnostic(prob=True)
def ess_quantile(x, prob):
    r"""Effective sample size for the ``prob`` quantile (Vehtari et al. 2021):
    split-chain ESS (see :func:`ess_bulk`) of the indicator
    :math:`I(\theta \le \hat q_{prob})`, with :math:`\hat q` the type-7
    quantile over all draws.  Matches ``arviz.ess(method="quantile", prob=prob)``.
    """
    ess, _, param_shape = _indicator_ess(x, [_check_prob(prob)])
    return _result(ess[:, 0], param_shape)


@_diagnostic
def ess_tail(x):
    r"""Tail effective sample size (Vehtari et al. 2021):
    :math:`\min(\mathrm{ESS}_{q_{0.05}}, \mathrm{ESS}_{q_{0.95}})`, the
    smaller of the 5% and 95% quantile ESS (:func:`ess_quantile`).
    Matches ``arviz.ess(method="tail")``.
    """
    ess, _, param_shape = _indicator_ess(x, [0.05, 0.95])
    low, high = ess.T
    return _result(np.where(high < low, high, low), param_shape)


@_diagnostic
def ess_mean(x):
    r"""Effective sample size for the mean: split-chain ESS (see
    :func:`ess_bulk`) of the untransformed draws.  Matches
    ``arviz.ess(method="mean")``.
    """
    return _column(x, K.ESS_MEAN, K.ESSMEAN)


@_diagnostic
def ess_sd(x):
    r"""Effective sample size for the standard deviation as in ArviZ 0.23
    (``arviz.ess(method="sd")``): split-chain ESS of
    :math:`(\theta - \bar\theta)^2`, :math:`\bar\theta` the mean of all draws.
    """
    return _column(x, K.ESS_SD, K.ESSSD)
