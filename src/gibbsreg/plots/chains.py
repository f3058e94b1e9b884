"""Per-chain plots: trace, rank histograms, autocorrelation and marginal densities."""

from __future__ import annotations

import math

import numpy as np

from ._common import (
    _POSITIVE,
    MAX_CHAINS,
    _cap_note,
    _chain_colors,
    _chain_style,
    _check_prob,
    _default_bins,
    _diag_text,
    _fmt,
    _grid_figure,
    _kde_curve,
    _plt,
    _rank_counts,
    _rank_heatmap,
    _scalar_unit,
    _Selection,
    _title,
    _units,
    _with_unit,
)


# ----------------------------------------------------------------------------
# trace / rank / autocorrelation / density
# ----------------------------------------------------------------------------
def plot_trace(post, var_names=None, coords=None, max_panels: int = 10, *, kind: str = "auto",
               max_chains: int = MAX_CHAINS, seed=0):
    """Trace and marginal density of each selected scalar: one row per scalar.

    Left: per-chain KDEs (thin, coloured) and the pooled KDE (black).  Right:
    the trace of every chain against the draw index (at most 4,000 points per
    chain are drawn, evenly strided, when chains are long).  Titles carry the
    rank R-hat and bulk ESS.

    ``kind="auto"`` uses traces up to ``max_chains`` chains and the rank heat
    map above (module docstring); ``"rank"`` forces the heat map; ``"trace"``
    forces traces, of ``max_chains`` chains chosen at random (``seed``) when
    there are more.  Above ``max_chains`` chains the density column shows the
    pooled KDE and the per-chain means as ticks.  Returns the Figure
    (2 axes per scalar, plus one colour bar axis in rank mode).
    """
    if kind not in ("auto", "trace", "rank"):
        raise ValueError(f"kind must be 'auto', 'trace' or 'rank', got {kind!r}")
    sel = _Selection(post, var_names, coords)
    scalars = sel.scalars(max_panels)
    C, D = post.nchains, post.ndraws
    many = C > max_chains
    mode = ("rank" if many else "trace") if kind == "auto" else kind
    chains = np.arange(C)
    note_chains = None
    if mode == "trace" and many:
        rng = np.random.default_rng(seed)
        chains = np.sort(rng.choice(C, size=max_chains, replace=False))
        listed = ", ".join(str(c) for c in chains[:12]) + (", ..." if len(chains) > 12 else "")
        note_chains = f"traces of {len(chains)} of {C} chains chosen at random (seed={seed}): {listed}"
    elif mode == "rank":
        note_chains = (f"{C} chains: traces replaced by per-chain rank histograms "
                       "(colour = count / uniform expectation; Vehtari et al. 2021)")
    n = len(scalars)
    plt = _plt()
    fig = plt.figure(figsize=(10, 1.9 * n + 0.8), layout="constrained")
    gs = fig.add_gridspec(n, 2, width_ratios=[1, 2.2])
    units = _units(post)
    lw, alpha = _chain_style(len(chains))
    colors = _chain_colors(len(chains))
    step = max(1, int(math.ceil(D / 4000)))
    bins = _default_bins(D, heatmap=(mode == "rank"))
    rank_axes, im = [], None
    for row, (label, name, cdict, x) in enumerate(scalars):
        unit = _scalar_unit(units, name, cdict)
        ax_d = fig.add_subplot(gs[row, 0])
        ax_t = fig.add_subplot(gs[row, 1])
        positive = name in _POSITIVE
        pooled = _kde_curve(x, positive)
        if pooled is not None:
            grid = pooled[0]
            if not many:
                for i, c in enumerate(chains):
                    cur = _kde_curve(x[c], positive, grid=grid)
                    if cur is not None:
                        ax_d.plot(grid, cur[1], color=colors[i], lw=lw, alpha=alpha)
            ax_d.plot(grid, pooled[1], color="black", lw=1.3)
            if many:
                ax_d.plot(x.mean(axis=1), np.zeros(C), "|", color="C3", ms=8, alpha=min(1.0, 4 * alpha),
                          label="chain means")
        ax_d.set_yticks([])
        ax_d.set_title(label, fontsize=9, loc="left")
        ax_d.set_xlabel(_with_unit("value", unit) if unit else "", fontsize=8)
        if mode == "trace":
            t = np.arange(0, D, step)
            for i, c in enumerate(chains):
                ax_t.plot(t, x[c, ::step], color=colors[i], lw=lw * 0.8, alpha=alpha)
            ax_t.set_xlim(0, max(D - 1, 1))
            ax_t.set_ylabel(unit or "value", fontsize=8)
            if row == n - 1:
                kept = "draw (after warm-up)" if post.attrs.get("warmup", 1) else "draw (no warm-up)"
                ax_t.set_xlabel(kept + (f", 1 in {step} shown" if step > 1 else ""))
        else:
            im = _rank_heatmap(ax_t, x, bins)
            rank_axes.append(ax_t)
            if row != n - 1:
                ax_t.set_xlabel("")
        diag = _diag_text(x)
        ax_t.set_title(diag, fontsize=8, loc="right")
        ax_t.tick_params(labelsize=8)
        ax_d.tick_params(labelsize=8)
    if im is not None:
        fig.colorbar(im, ax=rank_axes, label="rank-bin count / expected", shrink=min(0.9, 3.0 / n), aspect=25)
    notes = [s for s in (note_chains, _cap_note(sel.total, n)) if s]
    _title(fig, f"Trace: {C} chains x {D} draws", "\n".join(notes) if notes else None)
    return fig


def plot_rank(post, var_names=None, coords=None, max_panels: int = 10, *, bins: int | None = None,
              kind: str = "auto", max_chains: int = MAX_CHAINS, ax=None):
    """Rank histograms per chain (Vehtari, Gelman, Simpson, Carpenter & Bürkner 2021).

    Draws are ranked jointly over all chains; if the chains sample the same
    distribution, each chain's ranks are uniform.  ``kind="bars"`` stacks one
    histogram per chain (dashed line: the uniform expectation); ``"heatmap"``
    shows one row per chain coloured by count / expectation (the default,
    ``"auto"``, uses bars up to ``max_chains`` chains).  ``bins`` defaults to
    D // 10 clipped to [5, 20].  One axis per scalar (plus a colour bar in
    heat-map mode); ``ax=`` is accepted for a single scalar.
    """
    if kind not in ("auto", "bars", "heatmap"):
        raise ValueError(f"kind must be 'auto', 'bars' or 'heatmap', got {kind!r}")
    sel = _Selection(post, var_names, coords)
    scalars = sel.scalars(max_panels)
    C, D = post.nchains, post.ndraws
    mode = ("heatmap" if C > max_chains else "bars") if kind == "auto" else kind
    bins = int(bins) if bins else _default_bins(D, heatmap=(mode == "heatmap"))
    if ax is not None and len(scalars) != 1:
        raise ValueError(f"ax= needs exactly one scalar; the selection has {sel.total}")
    if ax is None:
        fig, axes = _grid_figure(len(scalars), panel=(3.4, 1.2 + 0.25 * min(C, max_chains) if mode == "bars"
                                                      else 3.0))
    else:
        fig, axes = ax.figure, [ax]
    colors = _chain_colors(C)
    im = None
    for a, (label, name, cdict, x) in zip(axes, scalars):
        if mode == "bars":
            counts = _rank_counts(x, bins)
            expected = D / bins
            height = 2.2 * expected
            centers = np.arange(bins) + 0.5
            for c in range(C):
                a.bar(centers, counts[c], bottom=c * height, width=0.9, color=colors[c], alpha=0.8, lw=0)
                a.axhline(c * height + expected, color="0.3", ls="--", lw=0.7)
            a.set_yticks(np.arange(C) * height + expected / 2)
            a.set_yticklabels([str(c) for c in range(C)], fontsize=7)
            a.set_ylabel("chain")
            a.set_xlabel("rank bin (pooled ranks)")
            a.set_xlim(0, bins)
        else:
            im = _rank_heatmap(a, x, bins)
        a.set_title(f"{label}\n{_diag_text(x)}", fontsize=9)
    if ax is not None:
        if im is not None:
            fig.colorbar(im, ax=ax, label="count / expected")
        return ax
    if im is not None:
        fig.colorbar(im, ax=axes, label="rank-bin count / expected", shrink=0.9)
    _title(fig, f"Rank plot: {C} chains x {D} draws, {bins} bins"
           + (" (dashed: uniform expectation)" if mode == "bars" else ""), _cap_note(sel.total, len(scalars)))
    return fig


def plot_autocorr(post, var_names=None, coords=None, max_lag: int = 50, combined: bool = False,
                  max_panels: int = 10, ax=None):
    """Autocorrelation of each selected scalar: thin per-chain lines and the chain average (black).

    ``combined=True`` draws only the chain average.  The grey band is
    +-1.96 / sqrt(draws), the 95% range of a white-noise chain's estimates.
    Lines per axis: chains + 1 (1 if combined); above 20 chains the per-chain
    lines are one LineCollection.  ``ax=`` is accepted for a single scalar.
    """
    from matplotlib.collections import LineCollection

    from .. import diagnostics

    sel = _Selection(post, var_names, coords)
    scalars = sel.scalars(max_panels)
    C, D = post.nchains, post.ndraws
    L = int(min(max_lag, D - 1))
    if ax is not None and len(scalars) != 1:
        raise ValueError(f"ax= needs exactly one scalar; the selection has {sel.total}")
    if ax is None:
        fig, axes = _grid_figure(len(scalars), panel=(3.4, 2.3))
    else:
        fig, axes = ax.figure, [ax]
    lw, alpha = _chain_style(C)
    colors = _chain_colors(C)
    lags = np.arange(L + 1)
    for a, (label, name, cdict, x) in zip(axes, scalars):
        rho = diagnostics.autocorrelation(x)[:, : L + 1]
        a.axhspan(-1.96 / math.sqrt(D), 1.96 / math.sqrt(D), color="0.85", lw=0)
        a.axhline(0.0, color="0.5", lw=0.6)
        if not combined:
            if C <= MAX_CHAINS:
                for c in range(C):
                    a.plot(lags, rho[c], color=colors[c], lw=lw, alpha=alpha)
            else:
                segs = np.stack([np.broadcast_to(lags, rho.shape), rho], axis=-1)
                a.add_collection(LineCollection(segs, colors="C0", linewidths=lw, alpha=alpha))
        with np.errstate(invalid="ignore"):
            a.plot(lags, np.nanmean(rho, axis=0), color="black", lw=1.4)
        a.set_xlim(0, L)
        low = np.nanmin(rho) if np.isfinite(rho).any() else 0.0
        a.set_ylim(min(-0.2, low - 0.05), 1.05)
        a.set_title(label, fontsize=9)
        a.set_xlabel("lag (draws)")
        a.set_ylabel("autocorrelation")
    if ax is not None:
        return ax
    what = "chain average" if combined else f"{C} chains (thin) and their average (black)"
    _title(fig, f"Autocorrelation: {what}; band +-1.96/sqrt({D})", _cap_note(sel.total, len(scalars)))
    return fig


def plot_density(post, var_names=None, coords=None, prob: float = 0.95, max_panels: int = 10, ax=None):
    """Marginal posterior density (scipy.stats.gaussian_kde over all chains) per scalar.

    The shaded region is the equal-tailed ``prob`` credible interval, the
    vertical line the posterior mean; both are computed from all draws (the
    KDE from at most 20,000 of them), and printed in the title.  Densities of
    variances (sigma2, tau2) are reflected at 0.  ``ax=`` for a single scalar.
    """
    _check_prob(prob)
    sel = _Selection(post, var_names, coords)
    scalars = sel.scalars(max_panels)
    if ax is not None and len(scalars) != 1:
        raise ValueError(f"ax= needs exactly one scalar; the selection has {sel.total}")
    if ax is None:
        fig, axes = _grid_figure(len(scalars), panel=(3.4, 2.4))
    else:
        fig, axes = ax.figure, [ax]
    units = _units(post)
    lo_q, hi_q = (1 - prob) / 2, (1 + prob) / 2
    for i, (a, (label, name, cdict, x)) in enumerate(zip(axes, scalars)):
        flat = x.ravel()
        mean = float(np.mean(flat))
        lo, hi = np.quantile(flat, [lo_q, hi_q])
        curve = _kde_curve(flat, name in _POSITIVE)
        if curve is not None:
            g, d = curve
            a.plot(g, d, color="C0", lw=1.3)
            inside = (g >= lo) & (g <= hi)
            a.fill_between(g, 0, d, where=inside, color="C0", alpha=0.25, lw=0,
                           label=f"{prob:.0%} equal-tailed interval")
            a.set_ylim(bottom=0)
        a.axvline(mean, color="C3", lw=1.1, label="mean")
        a.set_yticks([])
        a.set_title(f"{label}\nmean {_fmt(mean)}, {prob:.0%} CI [{_fmt(lo)}, {_fmt(hi)}]", fontsize=9)
        unit = _scalar_unit(units, name, cdict)
        a.set_xlabel(_with_unit("value", unit) if unit else "", fontsize=8)
    if ax is not None:
        ax.legend(fontsize=7, loc="best", frameon=False)
        return ax
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=2, fontsize=8, frameon=False)
    _title(fig, f"Posterior densities ({post.nchains} chains x {post.ndraws} draws pooled)",
           _cap_note(sel.total, len(scalars)))
    return fig
