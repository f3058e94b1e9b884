"""Predictive plots: posterior predictive checks (replicated data, test statistics) and the
fitted regression line with its credible and predictive bands."""

from __future__ import annotations

import math

import numpy as np

from ..checks import fmt_p_value
from ._common import (
    _GRID,
    _chain_style,
    _check_prob,
    _grid_figure,
    _kde_curve,
    _plt,
    _title,
    _units,
    _with_unit,
)


# ----------------------------------------------------------------------------
# posterior predictive checks
# ----------------------------------------------------------------------------
def plot_ppc(ppc_result, kind: str = "density", n_rep: int = 50, ax=None, seed=0):
    """Observed y (black) against ``n_rep`` replicated data sets (thin blue lines).

    ``kind="density"``: KDEs (gaussian_kde, at most 20,000 points each) on a
    common grid; ``kind="ecdf"``: empirical CDFs, better for large n or discrete
    y.  The replicated data sets are chosen at random (``seed``).  The grid
    covers the observed range and the central 99% of the replicated values.
    Returns the Figure, or ``ax``.
    """
    from matplotlib.collections import LineCollection

    if kind not in ("density", "ecdf"):
        raise ValueError(f"kind must be 'density' or 'ecdf', got {kind!r}")
    y_obs = np.asarray(ppc_result.y_obs, float)
    y_rep = np.asarray(ppc_result.y_rep, float)
    S = y_rep.shape[0]
    k = int(min(n_rep, S))
    rows = np.sort(np.random.default_rng(seed).choice(S, size=k, replace=False))
    reps = y_rep[rows]
    sample = reps[:, :: max(1, reps.shape[1] // 2000)].ravel()
    lo = min(y_obs.min(), np.quantile(sample, 0.005))
    hi = max(y_obs.max(), np.quantile(sample, 0.995))
    pad = 0.05 * (hi - lo) if hi > lo else 1.0
    grid = np.linspace(lo - pad, hi + pad, _GRID)
    if ax is None:
        plt = _plt()
        fig, ax_ = plt.subplots(figsize=(6.4, 4.0), layout="constrained")
    else:
        fig, ax_ = ax.figure, ax
    lw, alpha = _chain_style(k)
    if kind == "density":
        curves = []
        for r in reps:
            cur = _kde_curve(r, grid=grid)
            curves.append(cur[1] if cur is not None else np.zeros_like(grid))
        obs = _kde_curve(y_obs, grid=grid)
        obs_curve = obs[1] if obs is not None else np.zeros_like(grid)
        ylabel = "density"
    else:
        curves = [np.searchsorted(np.sort(r), grid, side="right") / r.size for r in reps]
        obs_curve = np.searchsorted(np.sort(y_obs), grid, side="right") / y_obs.size
        ylabel = "cumulative probability"
    segs = np.stack([np.broadcast_to(grid, (k, grid.size)), np.asarray(curves)], axis=-1)
    ax_.add_collection(LineCollection(segs, colors="C0", linewidths=max(lw, 0.5), alpha=max(alpha, 0.15)))
    ax_.plot(grid, obs_curve, color="black", lw=1.8, label="observed y")
    ax_.set_xlim(grid[0], grid[-1])
    ax_.set_ylim(bottom=0, top=max(np.max(curves), np.max(obs_curve)) * 1.05)
    ax_.set_xlabel(_with_unit(getattr(ppc_result, "y_name", "y"), getattr(ppc_result, "y_unit", None)))
    ax_.set_ylabel(ylabel)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color="C0", lw=1.2, alpha=0.7, label=f"replicated y_rep ({k} of {S})"),
               Line2D([], [], color="black", lw=1.8, label="observed y")]
    ax_.legend(handles=handles, fontsize=8, frameon=False, loc="upper left" if kind == "density" else "lower right")
    ax_.set_title(f"Posterior predictive check (n = {y_obs.size})", fontsize=10)
    return ax_ if ax is not None else fig


def _fmt_p(p, S):
    text = fmt_p_value(p, S)
    return f"p {text[0]} {text[1:]}" if text[0] in "<>" else f"p = {text}"


def plot_ppc_stats(ppc_result, statistics=None, bins: int = 30, ax=None):
    """One panel per test statistic: histogram of T(y_rep), T(y) as a vertical line, p-value in the title.

    The p-value is the mid-p posterior predictive p-value of
    :func:`gibbsreg.checks.ppc`.  ``ax=`` for a single statistic.
    """
    names = list(statistics) if statistics is not None else list(
        getattr(ppc_result, "statistics", None) or ppc_result.stats_obs)
    if isinstance(statistics, str):
        names = [statistics]
    for nm in names:
        if nm not in ppc_result.stats_obs:
            raise ValueError(f"no statistic {nm!r}; the result has {list(ppc_result.stats_obs)}")
    if ax is not None and len(names) != 1:
        raise ValueError(f"ax= needs exactly one statistic; got {names}")
    if ax is None:
        fig, axes = _grid_figure(len(names), ncols=min(len(names), 4), panel=(3.1, 2.5))
    else:
        fig, axes = ax.figure, [ax]
    S = np.asarray(ppc_result.y_rep).shape[0]
    for i, (a, nm) in enumerate(zip(axes, names)):
        rep = np.asarray(ppc_result.stats_rep[nm], float)
        rep = rep[np.isfinite(rep)]
        obs = float(ppc_result.stats_obs[nm])
        a.hist(rep, bins=bins, color="C0", alpha=0.6, label="T(y_rep)")
        a.axvline(obs, color="black", lw=1.8, label="T(y) observed")
        p = ppc_result.p_values[nm]
        a.set_title(f"{nm}: {_fmt_p(p, S)}", fontsize=10,
                    color="C3" if np.isfinite(p) and (p < 0.01 or p > 0.99) else "black")
        a.set_xlabel(f"T = {nm}")
        a.set_ylabel("replicates" if i == 0 else "")
        if np.isfinite(obs) and rep.size:
            lo, hi = min(rep.min(), obs), max(rep.max(), obs)
            pad = 0.05 * (hi - lo) if hi > lo else 1.0
            a.set_xlim(lo - pad, hi + pad)
        if i == 0:
            a.legend(fontsize=7, frameon=False)
    if ax is not None:
        return ax
    _title(fig, f"Posterior predictive test statistics ({S} replicates); p = P(T(y_rep) > T(y)) + P(=)/2")
    return fig


# ----------------------------------------------------------------------------
# regression line with bands
# ----------------------------------------------------------------------------
_MAX_PRED_DRAWS = 4000


def plot_predictive(post, X, y, predictor, groups=None, grid=None, prob: float = 0.95, ax=None, *,
                    group=None, n_grid: int = 100, seed=0):
    """Fitted regression line with its credible band and the predictive band, along one predictor.

    ``predictor`` is a column name (as in ``post.attrs["names"]``) or a column
    index of X (without the intercept).  The other predictors are held at their
    sample means; ``grid`` defaults to ``n_grid`` points over the observed range.
    Dark band: ``prob`` credible band of the mean x'beta; light band: ``prob``
    predictive interval of a new observation.  The raw data are scattered (at
    most 5,000 points, chosen at random).

    Hierarchical posteriors: with ``group=`` a fitted group label, the line is
    that group's x'beta_j (its rows highlighted); without, the line is the
    population mean x'mu (plus pooled terms) and the predictive band is for a new
    observation in a new group (beta_new ~ N(mu, Sigma_beta)).  At most 4,000
    posterior draws are used (evenly strided).
    """
    from ..checks import subset_posterior

    _check_prob(prob)
    attrs = post.attrs
    if "names" not in attrs:
        raise ValueError("this Posterior does not record its design (names/intercept)")
    names_x = list(attrs["names"][int(attrs["intercept"]):])
    Xa = np.asarray(X, dtype=float)
    if Xa.ndim == 1:
        Xa = Xa[:, None]
    ya = np.asarray(y, dtype=float).reshape(-1)
    if Xa.shape[1] != len(names_x):
        raise ValueError(f"X has {Xa.shape[1]} columns; the model was fitted with {len(names_x)} ({names_x})")
    if Xa.shape[0] != ya.shape[0]:
        raise ValueError(f"X has {Xa.shape[0]} rows but y has {ya.shape[0]}")
    if isinstance(predictor, str):
        if predictor not in names_x:
            raise ValueError(f"no predictor {predictor!r}; the predictors are {names_x}")
        k = names_x.index(predictor)
    else:
        k = int(predictor)
        if not -len(names_x) <= k < len(names_x):
            raise ValueError(f"predictor index {predictor} out of range for {len(names_x)} predictors")
        k %= len(names_x)
    xname = names_x[k]
    if grid is None:
        grid = np.linspace(Xa[:, k].min(), Xa[:, k].max(), int(n_grid))
    grid = np.asarray(grid, dtype=float).reshape(-1)
    Xg = np.tile(Xa.mean(axis=0), (grid.size, 1))
    Xg[:, k] = grid
    if isinstance(X, np.ndarray) or not hasattr(X, "columns"):
        Xg_in = Xg
    else:
        import pandas as pd  # X was a DataFrame: keep its column names for validation

        Xg_in = pd.DataFrame(Xg, columns=list(X.columns))
    total = post.nchains * post.ndraws
    sub = post if total <= _MAX_PRED_DRAWS else subset_posterior(
        post, np.linspace(0, total - 1, _MAX_PRED_DRAWS).round().astype(np.int64))
    hier = attrs.get("model_kind") == "hierarchical"
    highlight = None
    if not hier:
        pred = sub.predict(Xg_in, seed=seed, prob=prob)
        line_draws = pred.mean_draws.reshape(-1, grid.size)
        title = "flat model"
        line_label = "mean x'beta"
    else:
        labels = post.coords.get("group", [])
        if group is not None:
            if group not in labels:
                raise ValueError(f"group {group!r} is not one of the fitted groups")
            pred = sub.predict(Xg_in, groups=np.array([group] * grid.size, dtype=object), seed=seed, prob=prob)
            line_draws = pred.mean_draws.reshape(-1, grid.size)
            title = f"group {group}"
            line_label = "group mean x'beta_j"
            if groups is not None:
                g = np.asarray(groups)
                highlight = g == group if g.shape == (ya.size,) else None
        else:
            new = "__new_group__"
            while new in labels:
                new += "_"
            pred = sub.predict(Xg_in, groups=np.array([new] * grid.size, dtype=object), seed=seed, prob=prob)
            intercept = attrs["intercept"]
            full = np.hstack([np.ones((grid.size, 1)), Xg]) if intercept else Xg
            vi, pi = attrs["varying_index"], attrs["pooled_index"]
            mu = sub["mu"].reshape(-1, len(vi))
            line_draws = mu @ full[:, vi].T
            if pi:
                line_draws = line_draws + sub["alpha"].reshape(-1, len(pi)) @ full[:, pi].T
            title = "population (new group)"
            line_label = "population mean x'mu"
    lo_q, hi_q = (1 - prob) / 2, (1 + prob) / 2
    band = np.quantile(line_draws, [lo_q, hi_q], axis=0)
    ynew = pred.y.reshape(-1, grid.size)
    pband = np.quantile(ynew, [lo_q, hi_q], axis=0)
    if ax is None:
        plt = _plt()
        fig, ax_ = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
    else:
        fig, ax_ = ax.figure, ax
    n = ya.size
    rng = np.random.default_rng(seed)
    show = np.arange(n) if n <= 5000 else np.sort(rng.choice(n, 5000, replace=False))
    alpha = float(np.clip(25.0 / math.sqrt(len(show)), 0.08, 0.8))
    data_label = "data" if len(show) == n else f"data ({len(show):,} of {n:,} shown)"
    if highlight is not None:
        hs = highlight[show]
        ax_.scatter(Xa[show[~hs], k], ya[show[~hs]], s=6, color="0.75", alpha=alpha, lw=0, label="other groups")
        ax_.scatter(Xa[show[hs], k], ya[show[hs]], s=14, color="black", alpha=0.8, lw=0,
                    label=f"group {group}")
    else:
        ax_.scatter(Xa[show, k], ya[show], s=8, color="0.35", alpha=alpha, lw=0, label=data_label)
    ax_.fill_between(grid, pband[0], pband[1], color="C0", alpha=0.15, lw=0,
                     label=f"{prob:.0%} predictive interval (new observation)")
    ax_.fill_between(grid, band[0], band[1], color="C0", alpha=0.4, lw=0, label=f"{prob:.0%} credible band of mean")
    ax_.plot(grid, line_draws.mean(axis=0), color="C0", lw=1.8, label=line_label)
    units = _units(post)
    ax_.set_xlabel(_with_unit(xname, units.get(xname)))
    yname = getattr(y, "name", None) or "y"
    ax_.set_ylabel(_with_unit(str(yname), units.get("y")))
    others = "" if len(names_x) == 1 else "; other predictors at their means"
    ax_.set_title(f"{title}: y against {xname}{others}", fontsize=10)
    ax_.legend(fontsize=7, frameon=False, loc="best")
    return ax_ if ax is not None else fig
