"""R-hat: classic split R-hat, rank-normalised split R-hat and nested R-hat."""

from __future__ import annotations

import numpy as np

from ..kernels import diagnostics as K
from ._core import _as_draws, _chain_moments, _column, _columns, _diagnostic, _quiet, _result


@_diagnostic
def split_rhat(x):
    r"""Classic split R-hat (Gelman et al., BDA3; Vehtari et al. 2021, eq. 4).

    Each chain is split in two halves (``M`` chains of ``n`` draws) and

    .. math:: B = \frac{n}{M-1}\sum_m(\bar\theta_m - \bar\theta)^2,\quad
              W = \frac1M\sum_m s_m^2,\quad
              \hat R = \sqrt{\frac{\frac{n-1}{n}W + \frac1n B}{W}}.

    Matches ``arviz.rhat(method="split")``; unlike ArviZ a single chain is
    allowed (its two halves are compared).
    """
    return _column(x, K.SPLIT_RHAT, K.SPLIT)


@_diagnostic
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
    """
    return _column(x, K.RANK_RHAT, K.RHAT)


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
    mean, var = _chain_moments(a)
    return _result(_nested(mean, var, superchains, n_draw), param_shape)


def _nested(mean, var, superchains, n_draw):
    """Nested R-hat (P,) from the chain means and variances (P, chains), superchain ``k`` the
    chains ``k * M .. k * M + M - 1`` of the columns."""
    n_par, n_chain = mean.shape
    per = n_chain // superchains
    within_chain = var.reshape(n_par, superchains, per).mean(axis=2) if n_draw > 1 else 0.0
    mean = mean.reshape(n_par, superchains, per)
    super_mean = mean.mean(axis=2)
    between_super = super_mean.var(axis=1, ddof=1)
    between_chain = mean.var(axis=2, ddof=1) if per > 1 else 0.0
    within_super = np.mean(between_chain + within_chain, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt(1.0 + between_super / within_super)


@_quiet
def _grid_stats(x, superchains=None):
    """Rank R-hat, split R-hat, bulk ESS (one pass) and nested R-hat (``superchains``: chain ``k``
    in superchain ``k mod superchains``; None: NaN) of draws ``x`` (chain, draw, P), as (P,)
    arrays: what a convergence study tabulates, without copying the draws."""
    rows, _ = _columns(x, K.RANK_RHAT | K.SPLIT_RHAT | K.ESS_BULK)
    nested = np.full(rows.shape[0], np.nan)
    if superchains is not None:
        mean, var = _chain_moments(_as_draws(x)[0])
        order = np.argsort(np.arange(mean.shape[1]) % superchains, kind="stable")  # consecutive blocks
        nested = _nested(mean[:, order], var[:, order], superchains, x.shape[1])
    return rows[:, K.RHAT], rows[:, K.SPLIT], rows[:, K.BULK], nested
