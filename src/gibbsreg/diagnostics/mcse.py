"""Monte Carlo standard errors of the mean, the sd and quantiles."""

from __future__ import annotations

import numpy as np
from scipy import stats as _stats

from ._core import (
    _MIN_DRAWS,
    _as_draws,
    _centered,
    _centered_squares,
    _check_prob,
    _ess_core,
    _ess_indicator,
    _flat,
    _nan_lanes,
    _per_parameter,
    _quantiles,
    _quiet,
    _result,
    _sd,
    _split_lanes,
)

# Quantiles of the standard normal at -1 and +1, used for the quantile MCSE.
_MCSE_QUANTILE_PROBS = np.array([0.1586553, 0.8413447])


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
