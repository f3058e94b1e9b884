"""Posterior summary with convergence diagnostics, sharing the work between the statistics."""

from __future__ import annotations

import numpy as np

from ._core import (
    _MIN_DRAWS,
    _as_draws,
    _centered,
    _ess_core,
    _ess_indicator,
    _nan_lanes,
    _quantiles,
    _quiet,
    _rank_rhat,
    _result,
    _sd,
    _split_lanes,
)


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
