"""Monte Carlo standard errors of the mean, the sd and quantiles."""

from __future__ import annotations

import numpy as np
from scipy import stats as _stats

from ..kernels import diagnostics as K
from ._core import _as_draws, _check_prob, _columns, _diagnostic, _flat, _indicator_ess, _result

# Quantiles of the standard normal at -1 and +1, used for the quantile MCSE.
_MCSE_QUANTILE_PROBS = np.array([0.1586553, 0.8413447])


@_diagnostic
def mcse_mean(x):
    r"""Monte Carlo standard error of the posterior mean,
    :math:`\mathrm{sd}(\theta) / \sqrt{\mathrm{ESS}_{mean}}` with the sd over
    all draws (``ddof=1``).  Matches ``arviz.mcse(method="mean")``.
    """
    rows, param_shape = _columns(x, K.MOMENTS | K.ESS_MEAN)
    return _result(rows[:, K.SD] / np.sqrt(rows[:, K.ESSMEAN]), param_shape)


@_diagnostic
def mcse_sd(x):
    r"""Monte Carlo standard error of the posterior sd (ArviZ 0.23
    ``arviz.mcse(method="sd")``).  With :math:`c = (\theta - \bar\theta)^2`,
    :math:`E = \bar c` and :math:`\mathrm{ESS}_c` the split ESS of ``c``:

    .. math:: \mathrm{MCSE}_{sd} = \sqrt{\frac{\overline{c^2} - E^2}
              {4\,E\,\mathrm{ESS}_c}}.
    """
    rows, param_shape = _columns(x, K.ESS_SD)
    evar = rows[:, K.SQMEAN]
    varvar = (rows[:, K.SQ2MEAN] - evar**2) / rows[:, K.ESSSD]
    return _result(np.sqrt(varvar / evar / 4), param_shape)


@_diagnostic(prob=True)
def mcse_quantile(x, prob):
    r"""Monte Carlo standard error of the ``prob`` quantile (Vehtari et al.
    2021, ``arviz.mcse(method="quantile", prob=prob)``).

    With :math:`S` = number of draws, :math:`E = \mathrm{ESS}_{prob}`
    (:func:`ess_quantile`) and :math:`a, b` the Beta(:math:`E\,prob + 1`,
    :math:`E(1-prob) + 1`) quantiles at :math:`\Phi(\mp 1)`, the MCSE is half
    the distance between the sorted draws with indices
    :math:`\lfloor aS - 1\rfloor` and :math:`\lceil bS - 1\rceil` (clipped to
    the sample).
    """
    prob = _check_prob(prob)
    ess, _, param_shape = _indicator_ess(x, [prob])
    ess = ess[:, 0]
    ppf = _stats.beta.ppf(_MCSE_QUANTILE_PROBS[:, None], ess * prob + 1, ess * (1 - prob) + 1)
    a, _ = _as_draws(x)
    flat = _flat(a)  # a view: one parameter's draws are copied at a time, not all of them sorted
    size = flat.shape[0]
    pos = ppf * size - 1
    lo = np.floor(np.fmax(pos[0], 0))
    hi = np.ceil(np.fmin(pos[1], size - 1))
    bad = np.isnan(ess)  # too few draws, or NaN draws
    out = np.full(flat.shape[1], np.nan)
    for j in np.flatnonzero(~bad):
        k1, k2 = int(lo[j]), int(hi[j])
        col = np.partition(np.asarray(flat[:, j], dtype=np.float64), (k1, k2))  # the k-th smallest, exactly
        out[j] = (col[k2] - col[k1]) / 2
    return _result(out, param_shape)
