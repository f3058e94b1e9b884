"""Posterior summary with convergence diagnostics: every statistic from one pass per parameter."""

from __future__ import annotations

import numpy as np

from ..kernels import diagnostics as K
from ._core import _columns, _quiet, _result

def _quantile_label(p):
    return "q" + format(round(100.0 * p, 10), "g")


def _summary_columns(x, prob=0.95, diagnostics_only=False):
    """:func:`summary_stats` as flat (P,) arrays, and the parameter shape.

    ``diagnostics_only`` leaves out what convergence checks do not read: ``mean``, ``sd``
    and ``mcse_mean`` are NaN (the interval comes free with the ranks).
    """
    prob = float(prob)
    if not 0.0 < prob < 1.0:
        raise ValueError(f"prob must be in (0, 1); got {prob}")
    lower, upper = (1.0 - prob) / 2.0, (1.0 + prob) / 2.0
    want = K.RANK_RHAT | K.ESS_BULK | (0 if diagnostics_only else K.MOMENTS | K.ESS_MEAN)
    rows, param_shape = _columns(x, want, [lower, upper, 0.05, 0.95], [False, False, True, True])
    low, high = rows[:, K.QUANT + 6], rows[:, K.QUANT + 7]  # ESS of the 5% and 95% indicators
    out = {
        "mean": rows[:, K.MEAN],
        "sd": rows[:, K.SD],
        _quantile_label(lower): rows[:, K.QUANT],
        _quantile_label(upper): rows[:, K.QUANT + 1],
        "mcse_mean": rows[:, K.SD] / np.sqrt(rows[:, K.ESSMEAN]),
        "ess_bulk": rows[:, K.BULK],
        "ess_tail": np.where(high < low, high, low),
        "rhat": rows[:, K.RHAT],
    }
    return out, param_shape


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

    All of it comes from one pass over each parameter's draws (one sort gives the
    quantiles, both rank normalisations and the tail indicators), so this is much
    cheaper than calling the functions one by one.

    Parameters
    ----------
    x : array_like, shape (chain, draw, *param_shape)
    prob : float in (0, 1)

    Returns
    -------
    dict[str, numpy.ndarray]
    """
    out, param_shape = _summary_columns(x, prob)
    return {k: _result(v, param_shape) for k, v in out.items()}
