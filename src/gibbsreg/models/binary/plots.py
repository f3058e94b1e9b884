"""Posterior predictive checks that suit binary data: a calibration plot and a separation plot (matplotlib, imported
inside the functions; each returns the Figure, or the Axes when ``ax=`` is given).

Both read the fitted probabilities p_i = E[F(eta_i) | y] (the posterior mean over draws) of the rows the model
was fitted on (or explicit ``X, y`` / ``X, y, groups``), through the kind's rows hook.
"""

from __future__ import annotations

import numpy as np

from ...analysis.loglik import rows_of
from .analysis import probabilities


def fitted_probabilities(post, X=None, y=None, groups=None):
    """(p, y, trials): the posterior mean of each row's success probability, its successes and its trials."""
    rows = rows_of(post, X, y, groups)
    link = post.attrs.get("link", "logit")
    total = np.zeros(rows.n)
    for c in range(post.nchains):
        total += probabilities(rows._eta(post, slice(None), c), link).sum(axis=0)
    return total / (post.nchains * post.ndraws), rows.data.y.astype(float), rows.data.trials.astype(float)


def plot_calibration(post, X=None, y=None, groups=None, *, bins: int = 10, ax=None):
    """Observed share of successes against the mean fitted probability in ``bins`` bins of equal size (sorted by
    the fitted probability), with binomial 95% intervals of the observed share; a calibrated model lies on the
    diagonal."""
    import matplotlib.pyplot as plt

    p, yy, t = fitted_probabilities(post, X, y, groups)
    order = np.argsort(p, kind="stable")
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.2, 4.0))
    for part in np.array_split(order, min(bins, len(order))):
        if part.size == 0:
            continue
        n = t[part].sum()
        obs = yy[part].sum() / n
        pred = (p[part] * t[part]).sum() / n
        half = 1.96 * np.sqrt(max(pred * (1 - pred), 1e-12) / n)
        ax.errorbar(pred, obs, yerr=half, fmt="o", color="C0", ms=4, capsize=2)
    ax.plot([0, 1], [0, 1], color="0.5", lw=1, ls="--")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("mean fitted probability")
    ax.set_ylabel("observed share of successes")
    ax.set_title("calibration")
    return fig if fig is not None else ax


def plot_separation(post, X=None, y=None, groups=None, *, ax=None):
    """Greenhill, Ward & Sacks's (2011) separation plot: rows sorted by fitted probability, a bar per row coloured
    by its outcome (dark: success), the fitted probability as a line; a model that separates well puts the dark
    bars to the right.  Bernoulli rows only (binomial rows are split into their trials)."""
    import matplotlib.pyplot as plt

    p, yy, t = fitted_probabilities(post, X, y, groups)
    p_rep = np.repeat(p, t.astype(int))
    outcome = np.concatenate([np.r_[np.ones(int(k)), np.zeros(int(n - k))] for k, n in zip(yy, t)])
    order = np.argsort(p_rep, kind="stable")
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(7.0, 1.6))
    m = len(order)
    ax.bar(np.arange(m), np.ones(m), width=1.0, color=np.where(outcome[order] > 0, "#8b1a1a", "#f2dede"),
           linewidth=0)
    ax.plot(np.arange(m), p_rep[order], color="k", lw=1)
    expected = int(round(p_rep.sum()))
    ax.axvline(m - expected - 0.5, color="k", lw=0.8, ls=":")
    ax.set_xlim(-0.5, m - 0.5)
    ax.set_ylim(0, 1)
    ax.set_yticks([])
    ax.set_xticks([])
    ax.set_title("separation plot (rows by fitted probability; dark = success)")
    return fig if fig is not None else ax
